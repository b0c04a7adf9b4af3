"""Output files: JSON and spreadsheet-safe CSV, written inside a :func:`~carecircle.atomic.staged_dir`."""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from carecircle.atomic import staged_dir
from carecircle.safe import defuse_formula

__all__ = ["clean_json", "staged_dir", "write_csv", "write_json"]

log = logging.getLogger(__name__)


def clean_json(value: Any, digits: int = 6) -> Any:
    """Plain JSON data: NaN/inf become null, floats rounded, numpy scalars unwrapped, keys as str."""
    if isinstance(value, dict):
        return {str(k): clean_json(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v, digits) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float):
        return round(value, digits) if math.isfinite(value) else None
    return value


def write_json(path: Path, data: Any) -> None:
    text = json.dumps(clean_json(data), ensure_ascii=False, indent=2, sort_keys=True)
    path.write_text(text + "\n", encoding="utf-8")


def write_csv(path: Path, rows: Sequence[dict[str, Any]], *, columns: Sequence[str] = ()) -> None:
    """UTF-8 with BOM so Excel on a Chinese Windows opens it correctly; NaN written as empty.

    Names come from the county's layers and from submitted plans, so every text cell (the header
    too) goes through :func:`~carecircle.safe.defuse_formula`: text beginning with ``=``,
    ``+``, ``-``, ``@``, a tab or a carriage return is written with a leading ``'`` and opens as
    text, not as a formula. Numbers are written as numbers (``-5.0`` stays ``-5.0``).
    """
    names = list(dict.fromkeys([*columns, *(k for row in rows for k in row)]))
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=names, extrasaction="ignore")
        writer.writerow({k: defuse_formula(k) for k in names})
        for row in rows:
            writer.writerow({k: _csv_cell(v) for k, v in clean_json(row).items()})


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | dict):  # written as its str(); defused like any other text
        value = str(value)
    return defuse_formula(value)
