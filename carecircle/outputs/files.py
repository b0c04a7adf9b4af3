"""Atomic output: everything is written into a staging folder and moved into place at the end.

An interrupted or failed run (Ctrl-C, a killed process, an exception) leaves the previous outputs
untouched and no half-written file behind.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import math
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from carecircle.errors import InterruptedAfterWriting
from carecircle.safe import defuse_formula

__all__ = ["clean_json", "staged_dir", "write_csv", "write_json"]

log = logging.getLogger(__name__)


@contextlib.contextmanager
def staged_dir(out_dir: str | Path) -> Iterator[Path]:
    """Yield a private staging folder; on success move its entries into ``out_dir``.

    The staging folder is ``.{name}.staging-{pid}`` beside ``out_dir``. Staging folders of the
    same output name left by processes that no longer run (a run killed with SIGKILL never
    reaches its clean-up) are removed first; those of live processes are left alone.

    Each entry is moved with an atomic rename on the same file system, so every output file is
    either the previous one or the new one, never a partial write. Entries of ``out_dir`` the
    run does not write (another command's subfolder, another county's files) are left alone;
    that is why the entries are moved one by one rather than the folder swapped as a whole.

    The moves as a set: in the main thread, Ctrl-C (SIGINT) and SIGTERM arriving while the
    entries are moved are held until the last one is in place, then delivered (Ctrl-C as
    :class:`InterruptedAfterWriting`, a KeyboardInterrupt), so they leave either every previous
    output or every new one. A process killed outright (SIGKILL, a power cut) between two of those
    renames can leave ``out_dir`` with some entries new and the others previous, each complete;
    its staging folder then still holds the rest and is removed by the next run. Files are not
    fsynced: a power cut may still lose what was written just before it.
    """
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_stages(out)
    stage = out.parent / f".{out.name}.staging-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        yield stage
        with _signals_held():
            _commit(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _commit(stage: Path, out: Path) -> None:
    """Move every entry of ``stage`` into ``out``; a folder replaced is first moved into the stage."""
    out.mkdir(exist_ok=True)
    entries = sorted(stage.iterdir())
    aside: Path | None = None
    for item in entries:
        target = out / item.name
        if (item.is_dir() or target.is_dir()) and (target.exists() or target.is_symlink()):
            # os.replace cannot put a folder over a folder (or a file): move the old one out of
            # the way with one rename; the stage's clean-up deletes it.
            aside = aside or Path(tempfile.mkdtemp(prefix=".replaced-", dir=stage))
            os.replace(target, aside / item.name)
        os.replace(item, target)


def _remove_stale_stages(out: Path) -> None:
    """Delete ``.{name}.staging-{pid}`` folders beside ``out`` whose process no longer runs."""
    prefix = f".{out.name}.staging-"
    for stale in out.parent.iterdir():
        pid = stale.name.removeprefix(prefix)
        if not (stale.name.startswith(prefix) and pid.isdigit() and stale.is_dir()):
            continue
        if int(pid) == os.getpid() or _pid_alive(int(pid)):
            continue
        log.info("removing the staging folder of an interrupted run: %s", stale)
        shutil.rmtree(stale, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (on this machine)."""
    if os.name != "posix":
        import psutil  # comes with dask.distributed; on Windows os.kill(pid, 0) would kill

        return bool(psutil.pid_exists(pid))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: a live process of another user
        return True
    return True


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM for the duration; deliver them afterwards (main thread only).

    A Ctrl-C held here becomes :class:`InterruptedAfterWriting` (a KeyboardInterrupt), raised after
    the block, so the command line can say the outputs were written rather than that nothing was.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous: dict[int, Any] = {}
    for signum in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
        handler = signal.getsignal(signum) if signum is not None else None
        if signum is None or handler is None:  # a handler installed outside Python: keep it
            continue
        previous[signum] = handler
        signal.signal(signum, lambda number, _frame: held.append(number))
    try:
        yield
    finally:  # an error in the block propagates as it is; the signals held are then moot
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    for signum in dict.fromkeys(held):
        if signum == signal.SIGINT and previous[signum] is signal.default_int_handler:
            raise InterruptedAfterWriting
        signal.raise_signal(signum)


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
