"""Checks on untrusted input files, made before anything heavy reads them.

Layers come from other offices and allocation plans from developers; either may be huge, a
decompression bomb, a device, or a path into the system. Every check here reads at most a few
kilobytes (or streams, counting) and raises a one-line :class:`~carecircle.errors.DataError`
naming the file, the limit's key (see :class:`carecircle.scenario.InputLimits`) and how to raise
it. Depends on nothing but :mod:`carecircle.errors`, so the scenario loader and every reader can
use it.
"""

from __future__ import annotations

import bz2
import gzip
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from carecircle.errors import DataError, LimitExceeded, excerpt

__all__ = [
    "CHUNK",
    "MB",
    "check_osm_xml",
    "check_pbf",
    "check_rows",
    "check_size",
    "check_workbook",
    "data_file",
    "over_limit",
    "system_path",
]

MB = 1024 * 1024
CHUNK = 1 * MB
# Where no county's data lives: kernel and device files read as endless or secret text.
_SYSTEM_ROOTS = ("/proc", "/sys", "/dev")


def system_path(path: Path) -> bool:
    """True for paths into /proc, /sys or /dev (after resolving links and ``..``)."""
    resolved = str(Path(os.path.realpath(path)))
    return any(resolved == root or resolved.startswith(root + "/") for root in _SYSTEM_ROOTS)


def data_file(path: Path, what: str = "文件 / file") -> Path:
    """``path`` as a regular data file: not a folder, device, pipe or system file.

    /dev/zero would be read forever and /proc/self/environ would put the environment into an
    error message; neither is ever a county's data.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise DataError(f"{path}: {what}不存在 / file not found; check the path") from None
    except OSError as exc:
        raise DataError(
            f"{path}: 无法访问 / cannot access the file ({exc.strerror}); check the path"
        ) from None
    if system_path(path) or not stat.S_ISREG(info.st_mode):
        kind = "folder" if stat.S_ISDIR(info.st_mode) else "device, pipe or system file"
        raise DataError(
            f"{path}: 不是数据文件 / not a data file (a {kind}); give the path of the data file itself"
        )
    return path


def over_limit(
    path: Path | str,
    zh: str,
    en: str,
    value: float | None,
    limit: float,
    key: str,
    unit: str = "",
) -> LimitExceeded:
    """The one-line refusal: what exceeds which limit, and the key that raises it.

    ``value`` None means "more than the limit" (a stream stopped as soon as it passed it).
    """
    if value is None:
        measured = ""
        zh, en = f"{zh}超过", f"{en} is more than"
    else:
        digits = 1 if unit == " MB" and value < 100 else 0
        measured = f" {value:,.{digits}f}{unit}"
    suggested = _round_up(value if value is not None else limit * 10)
    raise_with = f"`limits: {{{key}: {suggested}}}`"
    cli = f" or with `check-plan --limit {key}={suggested}`" if key.startswith("plan") else ""
    return LimitExceeded(
        f"{path}: {zh}{measured}{'' if value is None else ' 超过'}上限 {limit:,.0f}{unit} / "
        f"{en}{measured}{'' if value is None else ' exceeds'} the limit of {limit:,.0f}{unit} "
        f"(limits.{key}); if the data really is this large, raise it in the scenario "
        f"({raise_with}){cli}"
    )


def _round_up(value: float) -> int:
    """A generous round figure above ``value`` for the message's suggestion."""
    target = max(value * 1.5, 1.0)
    step = 10 ** max(len(str(int(target))) - 1, 0)
    return int(-(-target // step) * step)


def check_size(path: Path, limit_mb: float, key: str) -> int:
    """The file's size in bytes, refused above ``limit_mb``."""
    size = data_file(path).stat().st_size
    if size > limit_mb * MB:
        raise over_limit(path, "文件大小", "the file's size", size / MB, limit_mb, key, " MB")
    return size


def check_rows(path: Path | str, rows: int, limit: int, key: str, *, exact: bool = True) -> None:
    """Refuse more than ``limit`` rows; ``exact`` False when ``rows`` only shows there are more
    (a read that stopped one row past the limit)."""
    if rows > limit:
        raise over_limit(
            path,
            "行数（要素数）",
            "the number of rows (features)",
            rows if exact else None,
            limit,
            key,
        )


# --- workbooks ------------------------------------------------------------------------------------

_DIMENSION = re.compile(rb'<dimension[^>]*\sref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def check_workbook(path: Path, *, unzipped_mb: float, sheet_cells: int) -> None:
    """An .xlsx: a real workbook, within the decompressed size and cell limits, with no DTD.

    Reads the zip's central directory and the first 64 KB of each XML part only. The declared
    sizes bind: Python's zipfile (which openpyxl reads through) stops at an entry's declared size.
    A DTD or entity declaration has no place in a workbook (Excel and WPS never write one) and
    is how XML bombs expand.
    """
    try:
        book = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise DataError(
            f"{path}: 不是Excel工作簿 / not an Excel workbook (.xlsx is a zip file and this is "
            "not one); save it again from Excel or WPS as .xlsx, or export it as CSV"
        ) from None
    with book:
        entries = book.infolist()
        names = {e.filename for e in entries}
        if "xl/workbook.xml" not in names:
            raise DataError(
                f"{path}: 不是Excel工作簿 / not an Excel workbook (a zip without xl/workbook.xml); "
                "save it again from Excel or WPS as .xlsx, or export it as CSV"
            )
        total = sum(e.file_size for e in entries)
        if total > unzipped_mb * MB:
            raise over_limit(
                path,
                "解压后大小",
                "its decompressed size",
                total / MB,
                unzipped_mb,
                "unzipped_mb",
                " MB",
            )
        for entry in entries:
            if not entry.filename.endswith((".xml", ".rels", ".vml")):
                continue
            try:
                with book.open(entry) as f:
                    head = f.read(64 * 1024)
            except (zipfile.BadZipFile, zlib.error, OSError, NotImplementedError, RuntimeError):
                raise DataError(
                    f"{path}: 工作簿已损坏 / the workbook is damaged (part {excerpt(entry.filename)} "
                    "cannot be read); save it again from Excel or WPS"
                ) from None
            if _DTD.search(head):
                raise DataError(
                    f"{path}: 工作簿含有DTD或实体声明 / the workbook declares a DTD or XML entities "
                    f"(in {excerpt(entry.filename)}), which spreadsheets never need; save it again "
                    "from Excel or WPS"
                )
            if entry.filename.startswith("xl/worksheets/"):
                found = _DIMENSION.search(head)
                if found and found.group(3):
                    rows = int(found.group(4)) - int(found.group(2)) + 1
                    cols = _column_number(found.group(3)) - _column_number(found.group(1)) + 1
                    if rows * cols > sheet_cells:
                        raise over_limit(
                            path,
                            "工作表单元格数",
                            "the cells of a worksheet",
                            rows * cols,
                            sheet_cells,
                            "sheet_cells",
                        )


# --- OSM files ------------------------------------------------------------------------------------


def _stream(path: Path, limit_bytes: float, key: str) -> Iterator[bytes]:
    """The file's bytes, decompressed (.gz, .bz2), a chunk at a time, refused past the limit."""
    name = path.name.lower()
    opener = gzip.open if name.endswith(".gz") else bz2.open if name.endswith(".bz2") else open
    seen = 0
    try:
        with opener(path, "rb") as f:
            while chunk := f.read(CHUNK):
                seen += len(chunk)
                if seen > limit_bytes:
                    raise over_limit(
                        path,
                        "解压后大小",
                        "its decompressed size",
                        None,
                        limit_bytes / MB,
                        key,
                        " MB",
                    )
                yield chunk
    except DataError:
        raise
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        raise DataError(
            f"{path}: 无法解压或读取 / cannot read or decompress the file ({type(exc).__name__}); "
            "check the file"
        ) from None


def check_osm_xml(path: Path, *, unzipped_mb: float, nodes: int) -> int:
    """Stream an OSM XML file once: its decompressed size and ``<node`` count within the limits,
    and no DTD. Returns the node count. Stops at the first limit passed."""
    count, tail = 0, b""
    for i, chunk in enumerate(_stream(path, unzipped_mb * MB, "osm_unzipped_mb")):
        if i == 0 and _DTD.search(chunk[: 64 * 1024]):
            raise DataError(
                f"{path}: OSM文件含有DTD或实体声明 / the OSM file declares a DTD or XML entities, "
                "which OSM data never has; export it again"
            )
        data = tail + chunk
        count += data.count(b"<node")
        tail = data[-4:] if not data.endswith(b"<node") else b""
        if count > nodes:
            raise over_limit(path, "OSM节点数", "its number of OSM nodes", None, nodes, "osm_nodes")
    return count


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if i >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[i]
        value |= (byte & 0x7F) << shift
        i += 1
        if not byte & 0x80:
            return value, i
        shift += 7


def _fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of a protobuf message's varint and length-delimited fields."""
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        kind = key & 7
        if kind == 0:
            value, i = _varint(data, i)
            yield key >> 3, value
        elif kind == 2:
            n, i = _varint(data, i)
            yield key >> 3, data[i : i + n]
            i += n
        elif kind == 1:
            i += 8
        elif kind == 5:
            i += 4
        else:
            raise ValueError("unsupported wire type")


def check_pbf(path: Path, *, unzipped_mb: float) -> int:
    """The decompressed size an OSM PBF declares, blob by blob, refused above the limit.

    Reads only the blob headers and each blob's ``raw_size`` (a few bytes a blob, seeking over
    the data), so a bomb is refused before pyrosm inflates it. Hand-written because no PBF
    reader (pyrosm, pyosmium) reports sizes without decoding every blob.
    """
    total = 0
    try:
        with path.open("rb") as f:
            while head := f.read(4):
                if len(head) < 4:
                    raise ValueError("truncated blob header length")
                size = int.from_bytes(head, "big")
                if size > 64 * 1024:
                    raise ValueError("blob header too large")
                header = dict(_fields(f.read(size)))
                datasize = header.get(3)
                if not isinstance(datasize, int) or datasize > 32 * MB:
                    raise ValueError("blob size missing or too large")
                start = f.tell()
                blob = f.read(min(datasize, 32))
                raw = next((v for k, v in _fields_prefix(blob) if k == 2), None)
                total += raw if isinstance(raw, int) else datasize
                if total > unzipped_mb * MB:
                    raise over_limit(
                        path,
                        "解压后大小",
                        "its decompressed size",
                        None,
                        unzipped_mb,
                        "osm_unzipped_mb",
                        " MB",
                    )
                f.seek(start + datasize)
    except DataError:
        raise
    except (ValueError, OSError) as exc:
        raise DataError(
            f"{path}: 不是有效的OSM PBF文件 / not a valid OSM PBF file ({exc}); check the file"
        ) from None
    return total


def _fields_prefix(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """The leading fields of a truncated message (a Blob's raw_size comes before its data)."""
    try:
        for key, value in _fields(data):
            yield key, value
            if isinstance(value, bytes):
                return
    except ValueError:
        return
