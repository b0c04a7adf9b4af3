"""Atomic output: everything is written into a staging folder and moved into place at the end.

An interrupted or failed run (Ctrl-C, a killed process, an exception) leaves the previous outputs
untouched and no half-written file behind.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = ["clean_json", "staged_dir", "write_csv", "write_json"]


@contextlib.contextmanager
def staged_dir(out_dir: str | Path) -> Iterator[Path]:
    """Yield a private staging folder; on success move its files into ``out_dir`` one by one.

    Each move is an atomic rename on the same file system, so every output file is either the
    previous one or the new one, never a partial write.
    """
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = out.parent / f".{out.name}.staging-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        yield stage
        out.mkdir(exist_ok=True)
        for item in sorted(stage.iterdir()):
            target = out / item.name
            if item.is_dir() and target.is_dir():
                shutil.rmtree(target)
            os.replace(item, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


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
    """UTF-8 with BOM so Excel on a Chinese Windows opens it correctly; NaN written as empty."""
    names = list(dict.fromkeys([*columns, *(k for row in rows for k in row)]))
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=names, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in clean_json(row).items()})
