"""Writing results: maps, reports, tables; always atomically."""

from __future__ import annotations

from carecircle.outputs.report import write_outputs

__all__ = ["write_outputs"]
