"""The planner's models and judgements: gaps against the rules, recommended sites.

``carecircle.planning.siting`` (the old home of the location models, re-exporting
:mod:`carecircle.locate` and the planner's models) is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["findings", "gaps", "siting"]


def __getattr__(name: str) -> Any:
    """Import a submodule on first use (PEP 562): ``cc.planning.siting.solve_mclp`` works."""
    if name in {"findings", "gaps", "siting", "policy", "landuse", "orlib"}:
        return importlib.import_module(f"carecircle.planning.{name}")
    raise AttributeError(f"module 'carecircle.planning' has no attribute {name!r}")
