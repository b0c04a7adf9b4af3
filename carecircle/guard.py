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
    check_content(path)
    return path


# GDAL picks a reader by a file's bytes, not its name: an XML "pointer" dataset (VRT, WMS, WFS,
# MRF) named .gpkg or .shp would read /etc/shadow or fetch an internal URL. Each format a layer
# or raster comes in must start as that format does, and no file may be such a pointer.
_POINTER = re.compile(
    rb"<\s*(?:OGRVRTDataSource|VRTDataset|GDAL_WMS|GDAL_WMTS|OGRWFSDataSource|WFS_GetCapabilities"
    rb"|MRF_META|GDAL_WCS|WCS_GDAL|OGRSQLiteVirtual|GDALTileIndexDataset|PAMDataset)",
    re.IGNORECASE,
)
_TIFF = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_MAGIC: dict[str, tuple[bytes, ...]] = {
    ".gpkg": (b"SQLite format 3\x00",),
    ".sqlite": (b"SQLite format 3\x00",),
    ".shp": (b"\x00\x00\x27\x0a",),
    ".fgb": (b"fgb",),
    ".parquet": (b"PAR1",),
    ".xls": (b"\xd0\xcf\x11\xe0",),
    ".tif": _TIFF,
    ".tiff": _TIFF,
    ".gz": (b"\x1f\x8b",),
    ".bz2": (b"BZh",),
}
_JSON = {".geojson", ".json", ".geojsonl"}
_TIFF_SUFFIXES = {".tif", ".tiff"}
_WHAT = {
    ".tif": "a readable GeoTIFF",
    ".tiff": "a readable GeoTIFF",
    ".gpkg": "a GeoPackage",
    ".shp": "a Shapefile",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".xls": "an Excel workbook",
}


def check_content(path: Path) -> None:
    """The file's first bytes are those of the format its name says, and it is no GDAL pointer
    dataset (a VRT or WMS that would make the reader open another file or a URL)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64 * 1024)
    except OSError as exc:
        raise DataError(
            f"{path}: 无法读取 / cannot read the file ({exc.strerror}); check the path"
        ) from None
    suffix = path.suffix.lower()
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    expected = _MAGIC.get(suffix)
    wrong = (expected is not None and head and not head.startswith(expected)) or (
        suffix in _JSON and text and text[:1] not in (b"{", b"[")
    )
    if wrong or _POINTER.search(head):
        what = _WHAT.get(suffix, f"a {suffix or 'data'} file")
        pointer = (
            " (a GDAL pointer dataset naming other files or URLs)" if _POINTER.search(head) else ""
        )
        raise DataError(
            f"{path}: 文件内容与扩展名 {excerpt(suffix or '(none)')} 不符 / the file's content is not "
            f"what its name says: not {what}{pointer}; "
            + (
                "export it again as GeoTIFF"
                if suffix in _TIFF_SUFFIXES
                else "save it again in that format"
            )
        )
    if suffix == ".zip":
        _check_zip_members(path)


def _check_zip_members(path: Path) -> None:
    """A zipped layer (a shapefile's parts) holds no pointer dataset under any name."""
    try:
        with zipfile.ZipFile(path) as book:
            for entry in book.infolist()[:1000]:
                with book.open(entry) as f:
                    if _POINTER.search(f.read(64 * 1024)):
                        raise DataError(
                            f"{path}: 压缩包中的 {excerpt(entry.filename)} 是 GDAL 指针数据集 / "
                            f"{excerpt(entry.filename)} in the zip is a GDAL pointer dataset naming "
                            "other files or URLs; give the layer's own files"
                        )
    except DataError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, NotImplementedError, RuntimeError, ValueError):
        raise DataError(f"{path}: 压缩包已损坏 / the zip is damaged; zip the layer again") from None


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
            scan = XmlScan()
            try:
                with book.open(entry) as f:
                    head = f.read(64 * 1024)
                    chunk = head
                    while chunk:  # the whole part: a DTD may follow a long comment
                        scan.feed(chunk)
                        chunk = f.read(CHUNK)
            except (zipfile.BadZipFile, zlib.error, OSError, NotImplementedError, RuntimeError):
                raise DataError(
                    f"{path}: 工作簿已损坏 / the workbook is damaged (part {excerpt(entry.filename)} "
                    "cannot be read); save it again from Excel or WPS"
                ) from None
            if scan.longest > XML_TOKEN:
                raise _long_token(path, entry.filename)
            if scan.dtd:
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


def check_csv_header(path: Path, max_columns: int) -> None:
    """A table's header line, read bounded before pandas parses it: at most ``max_columns``
    columns, and a line end within 1 MB."""
    with open(path, "rb") as f:
        head = f.read(MB + 1)
    line = head.split(b"\n", 1)[0]
    columns = 1 + max(line.count(b","), line.count(b"\t"), line.count(b";"))
    more = "+" if b"\n" not in head and len(head) > MB else ""
    if columns > max_columns:
        raise DataError(
            f"{path}: 表头有 {columns:,}{more} 列 / the header has {columns:,}{more} columns, more "
            f"than the {max_columns:,} a table may have; check the delimiter and the file"
        )
    if more:
        raise DataError(
            f"{path}: 表头超过 1 MB / the header line runs past 1 MB with no line end; check "
            "that the file is a table (CSV) with one header row"
        )


# One tag, attribute or text run between two "<" longer than this is refused before any XML
# parser sees it: expat before 2.6 parses such a token in quadratic time (CVE-2023-52425), and no
# workbook cell (32,767 characters) or OSM tag comes near it.
XML_TOKEN = 1 << 20


class XmlScan:
    """Fed a file's bytes a chunk at a time: whether a DTD or entity declaration appears anywhere
    (after a long comment too), and the longest run of bytes between two ``<``."""

    def __init__(self) -> None:
        self.dtd = False
        self.longest = 0
        self._run = 0  # bytes since the last "<"
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        if not self.dtd and _DTD.search(self._tail + chunk):
            self.dtd = True
        self._tail = chunk[-16:]
        parts = chunk.split(b"<")
        if len(parts) == 1:
            self._run += len(chunk)
        else:
            self.longest = max(self.longest, self._run + len(parts[0]), *map(len, parts[1:-1]))
            self._run = len(parts[-1])
        self.longest = max(self.longest, self._run)


def _long_token(path: Path, part: str) -> DataError:
    where = f" (in {excerpt(part)})" if part else ""
    return DataError(
        f"{path}: 含有超过 1 MB 的XML标记或文本{where} / an XML tag, attribute or text over 1 MB"
        f"{where}, which real data never has; export the file again"
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
    scan = XmlScan()
    for chunk in _stream(path, unzipped_mb * MB, "osm_unzipped_mb"):
        scan.feed(chunk)
        if scan.dtd:
            raise DataError(
                f"{path}: OSM文件含有DTD或实体声明 / the OSM file declares a DTD or XML entities, "
                "which OSM data never has; export it again"
            )
        if scan.longest > XML_TOKEN:
            raise _long_token(path, "")
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
