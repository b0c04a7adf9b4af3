"""Atomic writes, the one way carecircle puts a file or a folder of outputs in place.

:func:`atomic_file` writes one file through a temporary sibling renamed over it at the end;
:func:`staged_dir` writes a set of outputs into a staging folder moved into place at the end. An
interrupted or failed write (Ctrl-C, a killed process, an exception) leaves the previous file or
outputs untouched and no half-written file behind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from carecircle.errors import InterruptedAfterWriting

__all__ = ["atomic_file", "staged_dir"]

log = logging.getLogger(__name__)


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); on success rename it over ``path``.

    Whatever the block writes to the temporary path replaces ``path`` in one rename; on an error
    the temporary file is removed and ``path`` is left as it was. The parent folder is created.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.stem}.tmp-{os.getpid()}{target.suffix}")
    tmp.unlink(missing_ok=True)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


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
