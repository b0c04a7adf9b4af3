"""Vector layers and tables as offices deliver them: any OGR format, or CSV/XLSX with coordinates.

Columns are renamed to carecircle's canonical names through the scenario's ``columns`` mapping
(``{床位数: beds}``); what is missing is reported with the columns that are there.

What Chinese data brings with it, and what happens to it here:

- Shapefiles whose .dbf is GBK/GB18030 with no .cpg beside it (GDAL would read them as Latin-1
  and garble every name): the encoding is the scenario's ``encoding:``, else the .cpg's, else
  detected from the .dbf's bytes (UTF-8 if they decode as UTF-8, else GB18030, a superset of
  GBK). CSV files likewise (UTF-8 with or without BOM, else GB18030, as Excel saves them).
  ``gdf.attrs["encoding"]`` says which was used and why.
- Land in 亩: a column mapped to ``land_mu`` becomes ``land_m2`` (× ``policy.MU_M2``).
- CRS: whatever the file declares (EPSG:4326, EPSG:4490 CGCS2000, CGCS2000 Gauss-Krüger zones
  EPSG:4513-4554, ...); a file that declares none is refused with a guess from its coordinates.
- GCJ-02 (Gaode/Amap) or BD-09 (Baidu) longitudes/latitudes, when the scenario says ``coords:
  gcj02`` or ``coords: bd09``: converted to WGS84 (``carecircle.sources.coords``) and counted in
  ``gdf.attrs["gcj02_converted"]`` (``"bd09_converted"``).
"""

from __future__ import annotations

import codecs
import logging
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from carecircle import guard
from carecircle.errors import DataError, ScenarioError, excerpt
from carecircle.rules import MU_M2, ownership
from carecircle.scenario import InputLimits, LayerSource, Scenario, text_codec
from carecircle.sources import coords

__all__ = [
    "SCHEMAS",
    "LayerRead",
    "LayerSchema",
    "check_columns",
    "column_problems",
    "layer_columns",
    "layer_names",
    "load_layer",
    "read_layer",
    "read_table",
    "working_crs",
]

log = logging.getLogger(__name__)

_TABLE_SUFFIXES = {".csv", ".txt", ".xlsx", ".xls"}
# A register or plan has tens of columns; a header of 200,000 stalled pandas for a minute.
MAX_COLUMNS = 2000
# GIS formats a layer may come in (read through GDAL); anything else is refused before reading,
# so a path such as /etc/shadow never reaches a reader whose error would quote the file.
_VECTOR_SUFFIXES = {
    ".gpkg",
    ".shp",
    ".dbf",
    ".geojson",
    ".json",
    ".geojsonl",
    ".fgb",
    ".gml",
    ".kml",
    ".sqlite",
    ".tab",
    ".mif",
    ".parquet",
    ".zip",
}
_DEFAULT_LIMITS = InputLimits()


@dataclass(frozen=True)
class LayerSchema:
    """Canonical columns of one kind of layer."""

    required: tuple[str, ...]
    numbers: tuple[str, ...] = ()
    texts: tuple[str, ...] = ()
    geometry: str = "polygon"

    @property
    def all(self) -> tuple[str, ...]:
        return self.required + self.numbers + self.texts


SCHEMAS: Mapping[str, LayerSchema] = {
    "boundary": LayerSchema(required=(), texts=("id", "name")),
    "townships": LayerSchema(required=("id", "name"), texts=("kind",)),
    "villages": LayerSchema(required=("id", "name"), texts=("township", "kind")),
    "facilities": LayerSchema(
        required=("id", "name", "type"),
        numbers=(
            "floor_m2",
            "beds",
            "nursing_beds",
            "dementia_beds",
            "land_m2",
            "social_workers",
            "caregivers",
        ),
        texts=("village", "ownership", "has_medical"),
        geometry="point",
    ),
    "candidates": LayerSchema(
        required=("id",),
        numbers=("land_m2", "land_mu"),
        texts=("name", "land_use", "status"),
    ),
    # Allocation plans under review (carecircle check-plan): facilities and residential projects,
    # as two layers or as one table whose `record` column says which row is which.
    "plan": LayerSchema(
        required=("id",),
        numbers=(
            "beds",
            "nursing_beds",
            "floor_m2",
            "land_m2",
            "land_mu",
            "gross_floor_m2",
            "households",
            "elderly_floor_m2",
            "year",
        ),
        texts=("record", "name", "type", "tier", "land_use", "ownership", "level"),
        geometry="point",
    ),
    # Village points or polygons with head counts (data.population.points).
    "population": LayerSchema(
        required=(),
        numbers=("older", "residents"),
        texts=("id", "name", "village", "township"),
        geometry="any",
    ),
}


@dataclass(frozen=True)
class LayerRead:
    """A layer as read and checked (``frame``), with what the reading did to it."""

    frame: gpd.GeoDataFrame
    repaired_geometries: int
    encoding: str
    gcj02_converted: int
    bd09_converted: int
    polygons_as_points: int

    def report(self) -> dict[str, Any]:
        """What the reading did, as plain data."""
        return {
            "repaired_geometries": self.repaired_geometries,
            "encoding": self.encoding,
            "gcj02_converted": self.gcj02_converted,
            "bd09_converted": self.bd09_converted,
            "polygons_as_points": self.polygons_as_points,
        }


def read_layer(
    spec: LayerSource, *, kind: str, to_crs: CRS | str, limits: InputLimits | None = None
) -> gpd.GeoDataFrame:
    """Read one layer, map its columns, check it and project it (see :func:`load_layer`).

    For notebooks, the frame's ``attrs`` say what was done (:meth:`LayerRead.report`):
    ``repaired_geometries`` (invalid ones made valid), ``encoding`` (and how it was chosen),
    ``gcj02_converted`` / ``bd09_converted`` and, for point layers given as polygons,
    ``polygons_as_points``. The pipeline uses :func:`load_layer`'s typed report instead.
    """
    read = load_layer(spec, kind=kind, to_crs=to_crs, limits=limits)
    read.frame.attrs.update(read.report())
    return read.frame


def load_layer(
    spec: LayerSource, *, kind: str, to_crs: CRS | str, limits: InputLimits | None = None
) -> LayerRead:
    """Read one layer, map its columns, check it and project it.

    The frame has the canonical columns of ``SCHEMAS[kind]`` that the source has (required ones
    always) and the geometry in ``to_crs``. ``limits`` (the scenario's, else the defaults) bound
    the file's size, rows, decompressed size and text lengths; they are checked before the heavy
    read.
    """
    schema = SCHEMAS[kind]
    path = Path(spec.path)
    bounds = _Bounds.of(limits or _DEFAULT_LIMITS, plan=kind == "plan")
    frame, encoding = _read_any(spec, path, bounds)
    frame = _map_columns(frame, spec, schema, path, kind)
    if len(frame) == 0:
        raise DataError(
            f"{path}: 图层为空 / layer {kind!r} has no features; check the file and the layer name"
        )
    frame = _coerce(frame, schema, path, bounds.field_chars)
    _check_ownership(frame, spec, path)
    frame = _land_in_m2(frame, path)
    frame, repaired = _repair(frame, path)
    _check_geometry_types(frame, schema, path, kind)
    if "id" in frame.columns:
        _check_unique(frame["id"], path, kind, spec)
    converted = 0
    if spec.coords in ("gcj02", "bd09"):
        frame, converted = _from_chinese_map(frame, spec.coords)
    frame, as_points = _as_points(frame) if schema.geometry == "point" else (frame, 0)
    return LayerRead(
        frame=frame.to_crs(to_crs),
        repaired_geometries=repaired,
        encoding=encoding,
        gcj02_converted=converted if spec.coords == "gcj02" else 0,
        bd09_converted=converted if spec.coords == "bd09" else 0,
        polygons_as_points=as_points,
    )


@dataclass(frozen=True)
class _Bounds:
    """The limits one read obeys, with the keys that raise them (plans have their own)."""

    file_mb: float
    file_key: str
    rows: int
    rows_key: str
    unzipped_mb: float
    sheet_cells: int
    field_chars: int

    @classmethod
    def of(cls, limits: InputLimits, *, plan: bool = False) -> _Bounds:
        return cls(
            file_mb=limits.plan_file_mb if plan else limits.file_mb,
            file_key="plan_file_mb" if plan else "file_mb",
            rows=limits.plan_rows if plan else limits.rows,
            rows_key="plan_rows" if plan else "rows",
            unzipped_mb=limits.unzipped_mb,
            sheet_cells=limits.sheet_cells,
            field_chars=limits.field_chars,
        )


def _gis_error(path: Path, exc: Exception, what: str = "cannot open as a GIS layer") -> DataError:
    """A reader's failure as one line: its kind and a short, sanitised excerpt of its words."""
    return DataError(
        f"{path}: 无法读取 / {what} ({type(exc).__name__}: {excerpt(str(exc), 80)}); check the "
        "format (GeoPackage, Shapefile, GeoJSON, or CSV/XLSX with x: and y:)"
    )


def check_input_file(path: Path, bounds: _Bounds) -> None:
    """A layer file as a reader may take it: a known format, a regular file, within the limits."""
    suffix = path.suffix.lower()
    if suffix not in _TABLE_SUFFIXES | _VECTOR_SUFFIXES:
        raise DataError(
            f"{path}: 不支持的文件格式 / unsupported file format {excerpt(suffix or '(none)')}; "
            "use GeoPackage (.gpkg), Shapefile (.shp), GeoJSON, or CSV/XLSX with coordinate columns"
        )
    guard.check_size(path, bounds.file_mb, bounds.file_key)
    if suffix == ".dbf" or suffix == ".shp":
        dbf = _sidecar(path, ".dbf")
        if dbf is not None:
            guard.check_size(dbf, bounds.file_mb, bounds.file_key)
    if suffix in {".xlsx", ".zip"}:
        if suffix == ".xlsx":
            guard.check_workbook(
                path, unzipped_mb=bounds.unzipped_mb, sheet_cells=bounds.sheet_cells
            )
        else:
            _check_zip(path, bounds)


def _check_zip(path: Path, bounds: _Bounds) -> None:
    try:
        with zipfile.ZipFile(path) as z:
            total = sum(e.file_size for e in z.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise DataError(
            f"{path}: 不是有效的zip文件 / not a valid zip file; check the file"
        ) from None
    if total > bounds.unzipped_mb * guard.MB:
        raise guard.over_limit(
            path,
            "解压后大小",
            "its decompressed size",
            total / guard.MB,
            bounds.unzipped_mb,
            "unzipped_mb",
            " MB",
        )


def _read_any(spec: LayerSource, path: Path, bounds: _Bounds) -> tuple[gpd.GeoDataFrame, str]:
    check_input_file(path, bounds)
    if path.suffix.lower() in _TABLE_SUFFIXES or spec.x is not None:
        return _read_table(spec, path, bounds)
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio raises DataSourceError subclasses of Exception
        raise _gis_error(path, exc) from None
    if spec.layer is not None and spec.layer not in layers:
        raise DataError(
            f"{path}: 没有图层 {excerpt(spec.layer)} / no layer {excerpt(spec.layer)}; layers: "
            f"{_listing(layers)}"
        )
    encoding, how = _vector_encoding(spec, path)
    try:
        info = pyogrio.read_info(path, layer=spec.layer, encoding=encoding)
        n = int(info.get("features", -1))
        guard.check_rows(path, n, bounds.rows, bounds.rows_key)
        frame = gpd.read_file(
            path,
            layer=spec.layer,
            engine="pyogrio",
            encoding=encoding,
            max_features=bounds.rows + 1,
        )
    except DataError:
        raise
    except UnicodeDecodeError:
        raise DataError(
            f"{path}: 文本不是 {encoding or 'UTF-8'} 编码 / the text is not {encoding or 'UTF-8'} "
            f"({how}); give the real `encoding:` for this source (e.g. gbk, gb18030) or fix the .cpg"
        ) from None
    except Exception as exc:  # GDAL's reader raises many kinds for a malformed file
        raise _gis_error(path, exc, "cannot read the layer") from None
    guard.check_rows(path, len(frame), bounds.rows, bounds.rows_key, exact=False)
    if frame.crs is None:
        if spec.crs is None:
            raise DataError(
                f"{path}: 缺少坐标系 / the layer has no CRS; add `crs: {_guess_crs(frame)}` "
                "(or its real CRS) to this source in the scenario"
            )
        frame = frame.set_crs(spec.crs)
    elif spec.crs is not None and CRS.from_user_input(spec.crs) != frame.crs:
        log.warning(
            "%s: the file's own CRS %s wins over the scenario's %s", path, frame.crs, spec.crs
        )
    return frame, f"{encoding or 'as declared by the file'} ({how})"


def _vector_encoding(spec: LayerSource, path: Path) -> tuple[str | None, str]:
    """The .dbf encoding to read with, and why: the scenario's, the .cpg's, or detected."""
    if spec.encoding is not None:
        return spec.encoding, "scenario"
    dbf = _sidecar(path, ".dbf")
    if path.suffix.lower() not in {".shp", ".dbf"} or dbf is None:
        return None, "format"
    cpg = _sidecar(path, ".cpg")
    if cpg is not None:
        declared = _cpg_encoding(cpg)
        if declared is not None:
            _check_declared(dbf, declared, cpg)
            return declared, ".cpg"
    return _detect(_dbf_text_bytes(dbf), dbf), "detected, no .cpg"


def _cpg_encoding(cpg: Path) -> str | None:
    """The Python codec a .cpg names (``UTF-8``, ``GBK``, ``936``, ``ANSI 936``); None if empty.

    A .cpg naming no known encoding is refused rather than ignored.
    """
    with cpg.open("rb") as f:
        text = f.read(200).decode("ascii", errors="replace").strip()
    if not text:
        return None
    name = text.upper().removeprefix("ANSI").strip()
    if name.isdigit():
        name = "utf-8" if name == "65001" else f"cp{name}"
    try:
        return text_codec(name)
    except (LookupError, ValueError):
        raise DataError(
            f"{cpg}: .cpg 中的字符编码无法识别 / the .cpg names an unknown encoding {excerpt(text)}; "
            "write the real one in it (e.g. UTF-8 or GBK) or give `encoding:` for this source"
        ) from None


def _check_declared(dbf: Path, encoding: str, cpg: Path) -> None:
    """Refuse a .cpg that lies: the .dbf's text must decode as it says."""
    data = _dbf_text_bytes(dbf)
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        actual = next((e for e in ("utf-8", "gb18030") if _decodes(data, e)), None)
        hint = f" (it reads as {actual})" if actual else ""
        raise DataError(
            f"{cpg}: .cpg 声明的编码与 .dbf 不符 / the .cpg says {excerpt(encoding)} but the .dbf's "
            f"text is not {encoding}{hint}; fix the .cpg or give `encoding:` for this source"
        ) from None


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _sidecar(path: Path, suffix: str) -> Path | None:
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.is_file():
            return candidate
    return None


def _dbf_text_bytes(dbf: Path, limit: int = 4_000_000) -> bytes:
    """The field names and records of a .dbf: the bytes whose encoding is in question.

    The header's binary counts (record count, lengths) would confuse a UTF-8 check, so skip them.
    """
    with dbf.open("rb") as f:
        head = f.read(limit)
    if len(head) < 32:
        return b""
    header_len = int.from_bytes(head[8:10], "little")
    names = b"".join(head[i : i + 11] for i in range(32, max(32, header_len - 1), 32))
    return names.replace(b"\x00", b"") + head[header_len:]


def _detect_file(path: Path) -> str:
    """:func:`_detect` on a whole file, streamed a chunk at a time (bounded memory)."""
    for encoding in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as f:
                while chunk := f.read(guard.CHUNK):
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise DataError(
        f"{path}: 无法识别字符编码 / cannot tell the text encoding (neither UTF-8 nor GB18030); "
        "give `encoding:` for this source in the scenario"
    )


def _detect(data: bytes, path: Path) -> str:
    """UTF-8 when the bytes decode as UTF-8 (plain ASCII does too), else GB18030 (GBK's superset)."""
    for encoding in ("utf-8", "gb18030"):
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    raise DataError(
        f"{path}: 无法识别字符编码 / cannot tell the text encoding (neither UTF-8 nor GB18030); "
        "give `encoding:` for this source in the scenario"
    )


def _guess_crs(frame: gpd.GeoDataFrame) -> str:
    """A likely CRS from the coordinates, for the missing-CRS message."""
    if len(frame) == 0 or frame.geometry.isna().all():
        return "EPSG:4490"
    x0, y0, x1, _ = frame.total_bounds
    if -180 <= x0 <= x1 <= 180 and -90 <= y0 <= 90:
        return "EPSG:4490"
    zone = int(x0 // 1_000_000)
    if 25 <= zone <= 45 and int(x1 // 1_000_000) == zone:
        return f"EPSG:{4513 + zone - 25}"  # CGCS2000 3-degree GK zone with the zone prefix
    return "EPSG:45xx, the CGCS2000 Gauss-Krüger CM of the county"


def _read_table(spec: LayerSource, path: Path, bounds: _Bounds) -> tuple[gpd.GeoDataFrame, str]:
    if spec.x is None or spec.y is None:
        raise DataError(
            f"{path}: 表格需要坐标列 / a table needs coordinate columns; add `x:` and `y:` (e.g. 经度, 纬度)"
        )
    table, encoding = _bounded_table(path, spec.layer, spec.encoding, bounds)
    missing = [c for c in (spec.x, spec.y) if c not in table.columns]
    if missing:
        raise DataError(_missing_message(path, missing, list(table.columns)))
    xs = pd.to_numeric(table[spec.x], errors="coerce")
    ys = pd.to_numeric(table[spec.y], errors="coerce")
    bad = ~(np.isfinite(xs.to_numpy(np.float64)) & np.isfinite(ys.to_numpy(np.float64)))
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 2  # +1 header, +1 one-based
        raise DataError(
            f"{path}: 第 {row} 行坐标无效 / row {row}: {spec.x}/{spec.y} is not a finite number "
            f"({excerpt(table[spec.x].iloc[row - 2])}, {excerpt(table[spec.y].iloc[row - 2])}); "
            "fix or remove the row"
        )
    crs = CRS.from_user_input(spec.crs or "EPSG:4326")
    if crs.is_geographic and not (xs.abs().le(180).all() and ys.abs().le(90).all()):
        row = int(np.flatnonzero((xs.abs() > 180) | (ys.abs() > 90))[0]) + 2
        x, y = xs.iloc[row - 2], ys.iloc[row - 2]
        fix = (
            f"longitude and latitude look swapped: map `x:` to the longitude column and `y:` to "
            f"the latitude column (now x: {spec.x}, y: {spec.y})"
            if abs(x) <= 90 and abs(y) <= 180
            else "give the table's real `crs:` (e.g. EPSG:4549)"
        )
        raise DataError(
            f"{path}: 第 {row} 行坐标不是经纬度 / row {row}: ({x:.6g}, {y:.6g}) "
            f"is not a longitude/latitude in {crs.name}; {fix}"
        )
    geometry = gpd.points_from_xy(xs, ys)
    frame = gpd.GeoDataFrame(table.drop(columns=[spec.x, spec.y]), geometry=geometry, crs=crs)
    return frame, encoding


def _bounded_table(
    path: Path, sheet: str | None, encoding: str | None, bounds: _Bounds
) -> tuple[pd.DataFrame, str]:
    """A table read within the row limit (one row more is read, to tell that there are more)."""
    table, used = read_table(
        path, sheet=sheet, encoding=encoding, nrows=bounds.rows + 1, bounds=bounds
    )
    guard.check_rows(path, len(table), bounds.rows, bounds.rows_key, exact=False)
    return table, used


def read_table(
    path: str | Path,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    nrows: int | None = None,
    limits: InputLimits | None = None,
    bounds: _Bounds | None = None,
) -> tuple[pd.DataFrame, str]:
    """A CSV or Excel sheet as text columns, and the encoding used (and how it was chosen).

    CSV without a given ``encoding`` is read as UTF-8 (with or without BOM) when its bytes decode
    as UTF-8, else as GB18030 (GBK's superset, what Excel writes on Chinese Windows); the check
    streams the file (it is never read whole to sniff). ``limits`` bound the file's size, the
    workbook's decompressed size and cells and the rows read (``nrows`` at most ``rows + 1``).
    """
    path = Path(path)
    bounds = bounds or _Bounds.of(limits or _DEFAULT_LIMITS)
    check_input_file(path, bounds)
    nrows = bounds.rows + 1 if nrows is None else min(nrows, bounds.rows + 1)
    if path.suffix.lower() in {".xlsx", ".xls"}:
        try:
            table = pd.read_excel(path, sheet_name=sheet or 0, dtype=str, nrows=nrows)
        except Exception as exc:  # a missing sheet, a damaged or foreign file: many kinds
            raise DataError(
                f"{path}: 无法读取工作表 / cannot read the sheet ({type(exc).__name__}: "
                f"{excerpt(str(exc), 80)}); check the sheet name, or save the file again as .xlsx"
            ) from None
        # A workbook's header cell may hold line breaks (Alt+Enter: '性别比\n（女=100）').
        return _text_columns(table.fillna(""), path, breaks=True), "xlsx"
    guard.check_csv_header(path, MAX_COLUMNS)
    how = "scenario"
    if encoding is None:
        encoding, how = _detect_file(path), "detected"
        encoding = "utf-8-sig" if encoding == "utf-8" else encoding
    try:
        table = pd.read_csv(path, dtype=str, encoding=encoding, keep_default_na=False, nrows=nrows)
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{path}: 表格为空 / the table is empty (no header row); check the file"
        ) from None
    except UnicodeDecodeError:
        raise DataError(
            f"{path}: 文本不是 {encoding} 编码 / the text is not {encoding} ({how}); give the "
            "real `encoding:` for this source (e.g. gbk, gb18030, utf-8)"
        ) from None
    except (pd.errors.ParserError, ValueError, OverflowError) as exc:
        raise DataError(
            f"{path}: 无法解析CSV / cannot parse as CSV ({excerpt(str(exc), 80)}); check the "
            "delimiter (a comma) and the quotes"
        ) from None
    return _text_columns(table, path), f"{encoding} ({how})"


def _text_columns(table: pd.DataFrame, path: Path, *, breaks: bool = False) -> pd.DataFrame:
    """Refuse a header that is not text: NUL bytes and control characters mean a binary file
    (``breaks``: line breaks are text, as in a workbook's header cells)."""
    allowed = "\t\n\r" if breaks else "\t"
    for name in table.columns:
        text = str(name)
        if "\x00" in text or any(ord(c) < 0x20 and c not in allowed for c in text):
            raise DataError(
                f"{path}: 不是文本表格 / not a text table (its first line holds binary data); "
                "give a CSV or XLSX file"
            )
    return table


def _listing(names: Sequence[Any], most: int = 30) -> str:
    """Names from a file for a message: each sanitised and cut short, at most ``most`` of them."""
    shown = [excerpt(n, 30, quote=False) for n in list(names)[:most]]
    more = f", … (+{len(names) - most})" if len(names) > most else ""
    return ", ".join(shown) + more


def _missing_message(path: Path, missing: Sequence[str], found: Sequence[Any]) -> str:
    return (
        f"{path}: 缺少字段 / missing column(s) {', '.join(excerpt(m) for m in missing)}; "
        f"columns found: {_listing(found)}; map them in the scenario's `columns:`"
    )


def _map_columns(
    frame: gpd.GeoDataFrame, spec: LayerSource, schema: LayerSchema, path: Path, kind: str
) -> gpd.GeoDataFrame:
    unknown = sorted(set(spec.columns.values()) - set(schema.all) - {"ignore"})
    if unknown:
        raise DataError(
            f"{path}: 未知的标准字段 / unknown canonical name(s) {', '.join(unknown)} for a {kind} layer; "
            f"valid: {', '.join(schema.all)}"
        )
    absent = [src for src in spec.columns if src not in frame.columns]
    if absent:
        raise DataError(
            _missing_message(path, absent, [c for c in frame.columns if c != "geometry"])
        )
    renamed = frame.rename(columns=dict(spec.columns))
    missing = [c for c in schema.required if c not in renamed.columns]
    if missing:
        raise DataError(
            _missing_message(path, missing, [c for c in frame.columns if c != "geometry"])
        )
    keep = [c for c in schema.all if c in renamed.columns]
    return gpd.GeoDataFrame(renamed[keep], geometry=renamed.geometry, crs=renamed.crs)


def _coerce(
    frame: gpd.GeoDataFrame, schema: LayerSchema, path: Path, field_chars: int
) -> gpd.GeoDataFrame:
    frame = frame.copy()
    for col in schema.required + schema.texts:
        if col in frame.columns:
            frame[col] = frame[col].map(_as_text)
            long = (frame[col].str.len() > field_chars).to_numpy()
            if long.any():
                i = int(np.flatnonzero(long)[0])
                raise guard.over_limit(
                    f"{path}: 第 {i + 1} 条记录 {col} / feature {i + 1}: {col}",
                    "的长度",
                    "has a length of",
                    len(frame[col].iloc[i]),
                    field_chars,
                    "field_chars",
                    " chars",
                )
    for col in schema.numbers:
        if col not in frame.columns:
            continue
        raw = frame[col].map(lambda v: np.nan if _as_text(v) == "" else v)
        values = pd.to_numeric(raw, errors="coerce")
        bad = values.isna() & raw.notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{path}: 第 {i + 1} 条记录 {col} 不是数值 / feature {i + 1}: {col} is not a number "
                f"({excerpt(frame[col].iloc[i])}); use plain numbers"
            )
        infinite = np.isinf(values.to_numpy(np.float64))
        if infinite.any():
            i = int(np.flatnonzero(infinite)[0])
            raise DataError(
                f"{path}: 第 {i + 1} 条记录 {col} 为无穷大 / feature {i + 1}: {col} is infinite "
                f"({excerpt(frame[col].iloc[i])}); give the real figure, or leave it empty if unknown"
            )
        if (values < 0).any():
            i = int(np.flatnonzero((values < 0).to_numpy())[0])
            raise DataError(
                f"{path}: 第 {i + 1} 条记录 {col} 为负数 / feature {i + 1}: {col} is negative ({values.iloc[i]}); fix it"
            )
        frame[col] = values.astype(np.float64)
    return frame


# Geometry types each kind of layer takes. Point layers also take polygons (a building's
# footprint stands for the building) and one-point multipoints (what some writers make of a point).
_GEOMETRY_TYPES: Mapping[str, frozenset[str]] = {
    "point": frozenset({"Point", "MultiPoint", "Polygon", "MultiPolygon"}),
    "polygon": frozenset({"Polygon", "MultiPolygon"}),
    "any": frozenset({"Point", "MultiPoint", "Polygon", "MultiPolygon"}),
}
_GEOMETRY_WORDS = {
    "point": "points (or building polygons)",
    "polygon": "polygons",
    "any": "points or polygons",
}


def _check_geometry_types(
    frame: gpd.GeoDataFrame, schema: LayerSchema, path: Path, kind: str
) -> None:
    """Refuse geometries a layer of this kind cannot mean (a facility drawn as a road line)."""
    wanted = "point" if kind == "candidates" else schema.geometry
    # Candidates may be parcels or buildings; villages may be points (a village list with
    # coordinates, no territories drawn yet).
    allowed = _GEOMETRY_TYPES[wanted] | ({"Point"} if kind in ("candidates", "villages") else set())
    types = frame.geometry.geom_type.to_numpy()
    bad = ~np.isin(types, list(allowed))
    if wanted == "point":
        parts = shapely.get_num_geometries(frame.geometry.to_numpy())
        bad |= (types == "MultiPoint") & (parts != 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        got = types[i] if types[i] != "MultiPoint" else f"MultiPoint of {parts[i]} points"
        raise DataError(
            f"{path}: 第 {i + 1} 条记录的几何类型为 {got} / feature {i + 1} is a {got} "
            f"({int(bad.sum())} such); a {kind} layer holds {_GEOMETRY_WORDS[wanted]}: "
            "give one point or polygon per feature"
        )


def _as_text(value: object) -> str:
    """Codes stay text: 12-digit village codes must not become floats (3.39021e+11)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    # "360681001001.0": a code column saved through Excel or pandas as a float, then as text.
    if _FLOAT_CODE.fullmatch(text):
        return text.split(".", 1)[0]
    return text


_FLOAT_CODE = re.compile(r"\d{4,}\.0+")


def _check_ownership(frame: gpd.GeoDataFrame, spec: LayerSource, path: Path) -> None:
    """Ownership values must be known words: a guess would move private shares and quotas."""
    if "ownership" not in frame.columns:
        return
    unknown = ownership.unknown_ownership(frame["ownership"])
    if not unknown:
        return
    column = next((k for k, v in spec.columns.items() if v == "ownership"), "ownership")
    listing = ", ".join(excerpt(v, 20) for v in unknown[:5])
    private = "、".join(k for k, v in ownership.OWNERSHIP.items() if v == "private")
    public = "、".join(k for k, v in ownership.OWNERSHIP.items() if v == "public")
    raise DataError(
        f"{path}: 列 {excerpt(column, 30)} 中有无法识别的机构性质 / unknown ownership value(s) in "
        f"column {excerpt(column, 30)}: {listing}; use one of 民办 (private: {private}) or 公办 "
        f"(public: {public})"
    )


def _land_in_m2(frame: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    """Land given in 亩 becomes m²; where both are given they must agree (within 1 %)."""
    if "land_mu" not in frame.columns:
        return frame
    from_mu = frame["land_mu"] * MU_M2
    if "land_m2" in frame.columns:
        both = frame["land_m2"].notna() & from_mu.notna()
        off = both & ((frame["land_m2"] - from_mu).abs() > 0.01 * from_mu)
        if off.any():
            i = int(np.flatnonzero(off.to_numpy())[0])
            raise DataError(
                f"{path}: 第 {i + 1} 条记录面积不一致 / feature {i + 1}: land_m2 "
                f"{frame['land_m2'].iloc[i]:g} m² disagrees with land_mu {frame['land_mu'].iloc[i]:g} 亩 "
                f"(= {from_mu.iloc[i]:.0f} m²); map only one of them or fix the row"
            )
        from_mu = frame["land_m2"].where(frame["land_m2"].notna(), from_mu)
    return frame.drop(columns=["land_mu"]).assign(land_m2=from_mu)


def _from_chinese_map(frame: gpd.GeoDataFrame, system: str) -> tuple[gpd.GeoDataFrame, int]:
    """GCJ-02 (Gaode/Amap) or BD-09 (Baidu) longitudes/latitudes to WGS84 (in EPSG:4326)."""
    frame = frame.to_crs("EPSG:4326")
    to_wgs84 = coords.bd09_to_wgs84 if system == "bd09" else coords.gcj02_to_wgs84

    def shift(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        lon, lat = to_wgs84(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    geoms = frame.geometry.to_numpy()
    inside = shapely.get_coordinates(geoms)
    n = int(coords.in_china(inside[:, 0], inside[:, 1]).sum())
    frame = frame.set_geometry(
        gpd.GeoSeries(shapely.transform(geoms, shift), index=frame.index, crs=4326)
    )
    return frame, n


def _as_points(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    """Point layers given as polygons (building footprints) use a point inside each polygon."""
    polys = frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    if polys.any():
        frame = frame.copy()
        frame.loc[polys, "geometry"] = frame.geometry[polys].representative_point()
    return frame, int(polys.sum())


def _repair(frame: gpd.GeoDataFrame, path: Path) -> tuple[gpd.GeoDataFrame, int]:
    """Refuse features without geometry or with non-finite coordinates; make invalid ones
    valid, and say how many."""
    empty = frame.geometry.isna() | frame.geometry.is_empty
    if empty.any():
        raise DataError(
            f"{path}: {int(empty.sum())} 条记录没有几何 / feature(s) without geometry "
            f"(first: row {int(np.flatnonzero(empty.to_numpy())[0]) + 1}); add coordinates or remove them"
        )
    coords_ = shapely.get_coordinates(frame.geometry.to_numpy())
    if not np.isfinite(coords_).all():
        finite = np.array(
            [np.isfinite(shapely.get_coordinates(g)).all() for g in frame.geometry.to_numpy()]
        )
        i = int(np.flatnonzero(~finite)[0])
        raise DataError(
            f"{path}: 第 {i + 1} 条记录坐标无效 / feature {i + 1} has coordinates that are not finite "
            f"numbers (Infinity or NaN; {int((~finite).sum())} such); fix or remove them"
        )
    invalid = ~frame.geometry.is_valid
    repaired = int(invalid.sum())
    if repaired:
        log.warning("%s: repaired %d invalid geometries", path, repaired)
        frame = frame.copy()
        frame.loc[invalid, "geometry"] = shapely.make_valid(frame.geometry[invalid].to_numpy())
    return frame, repaired


def _check_unique(ids: pd.Series, path: Path, kind: str, spec: LayerSource) -> None:
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        source = next((src for src, dst in spec.columns.items() if dst == "id"), "id")
        examples = ", ".join(excerpt(v, 30, quote=False) for v in sorted(set(dup.astype(str)))[:5])
        raise DataError(
            f"{path}: 编号重复 / duplicate ids in column {excerpt(source)} of the {kind} layer ({examples}); "
            "every feature needs its own id"
        )


def working_crs(setting: str, area: gpd.GeoDataFrame) -> CRS:
    """The metric CRS everything is projected to: a given EPSG code, or the area's UTM zone."""
    if setting == "auto":
        crs = area.to_crs("EPSG:4326").estimate_utm_crs()
        if crs is None:
            raise DataError(
                "无法确定UTM分带 / cannot pick a UTM zone for the study area; set `crs:` in the scenario"
            )
        return crs
    try:
        crs = CRS.from_user_input(setting)
    except Exception:
        raise DataError(
            f"坐标系无效 / unknown CRS {setting!r}; use e.g. EPSG:4549 or auto"
        ) from None
    if not crs.is_projected:
        raise DataError(
            f"坐标系 {setting} 不是投影坐标系 / CRS {setting} is not projected (metres needed); "
            "use e.g. EPSG:4549 (CGCS2000 3-degree GK CM 120E) or auto"
        )
    return crs


def layer_names(
    path: str | Path, *, limits: InputLimits | None = None, plan: bool = False
) -> list[str]:
    """The layers of a GIS file or the sheets of a workbook (one name for single-layer files)."""
    path = Path(path)
    check_input_file(path, _Bounds.of(limits or _DEFAULT_LIMITS, plan=plan))
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xls"}:
        try:
            with pd.ExcelFile(path) as book:
                return [str(name) for name in book.sheet_names]
        except Exception as exc:  # not a workbook, or a damaged one: readers raise many kinds
            raise DataError(
                f"{path}: 无法读取工作簿 / cannot open the workbook ({type(exc).__name__}: "
                f"{excerpt(str(exc), 80)}); save it again from Excel or WPS as .xlsx"
            ) from None
    if suffix in _TABLE_SUFFIXES:
        return [path.stem]
    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio raises DataSourceError subclasses of Exception
        raise _gis_error(path, exc) from None


def layer_columns(
    spec: LayerSource, *, limits: InputLimits | None = None, plan: bool = False
) -> list[str]:
    """The column names of the layer or table ``spec`` names, as the file spells them."""
    path = Path(spec.path)
    bounds = _Bounds.of(limits or _DEFAULT_LIMITS, plan=plan)
    if path.suffix.lower() in _TABLE_SUFFIXES or spec.x is not None:
        table, _ = read_table(
            path, sheet=spec.layer, encoding=spec.encoding, nrows=0, bounds=bounds
        )
        return [str(c) for c in table.columns]
    check_input_file(path, bounds)
    encoding, how = _vector_encoding(spec, path)
    try:
        info = pyogrio.read_info(path, layer=spec.layer, encoding=encoding)
    except UnicodeDecodeError:
        raise DataError(
            f"{path}: 文本不是 {encoding or 'UTF-8'} 编码 / the text is not {encoding or 'UTF-8'} "
            f"({how}); give the real `encoding:` for this source (e.g. gbk, gb18030) or fix the .cpg"
        ) from None
    except Exception as exc:  # GDAL's reader raises many kinds for a malformed file
        raise _gis_error(path, exc) from None
    return [str(c) for c in info["fields"]]


def column_problems(
    spec: LayerSource, kind: str, where: str, limits: InputLimits | None = None
) -> list[tuple[str, str]]:
    """Columns the scenario names that the file lacks, and canonical fields nobody provides."""
    try:
        found = layer_columns(spec, limits=limits)
    except DataError as exc:  # its message names the file, the problem and the fix
        return [(f"{where}.path", str(exc))]
    except Exception as exc:  # any other reader error means the file cannot be used as this layer
        return [(f"{where}.path", f"无法读取 / cannot read {spec.path} ({type(exc).__name__})")]
    problems = []
    listing = _listing(found)
    for src in list(spec.columns) + [c for c in (spec.x, spec.y) if c]:
        if src not in found:
            problems.append(
                (
                    f"{where}.columns",
                    f"文件中没有字段 {src!r} / column {src!r} not in {Path(spec.path).name}; columns found: {listing}",
                )
            )
    provided = set(spec.columns.values()) | (set(found) - set(spec.columns))
    for name in SCHEMAS[kind].required:
        if name not in provided:
            problems.append(
                (
                    f"{where}.columns",
                    f"未映射必填字段 {name!r} / no column mapped to {name!r}; columns found: {listing}",
                )
            )
    return problems


def check_columns(scenario: Scenario) -> None:
    """Raise ScenarioError listing every column problem of every layer named by the scenario."""
    data = scenario.data
    specs: list[tuple[LayerSource | None, str, str]] = [
        (scenario.area.boundary, "boundary", "area.boundary"),
        (data.townships, "townships", "data.townships"),
        (data.villages, "villages", "data.villages"),
        (data.facilities, "facilities", "data.facilities"),
        (data.candidates, "candidates", "data.candidates"),
        (data.population.points, "population", "data.population.points"),
    ]
    problems = [
        p
        for spec, kind, where in specs
        if spec is not None
        for p in column_problems(spec, kind, where, scenario.limits)
    ]
    table = data.population.older_table
    if table is not None:
        try:
            found = layer_columns(
                LayerSource.model_construct(
                    path=table.path, layer=table.sheet, x=None, y=None, columns={}
                ),
                limits=scenario.limits,
            )
        except DataError as exc:  # unreadable table
            found = []
            problems.append(("data.population.older_table.path", str(exc)))
        for attr in ("key", "total", "older"):
            col = getattr(table, attr)
            if found and col not in found:
                problems.append(
                    (
                        f"data.population.older_table.{attr}",
                        f"文件中没有字段 {col!r} / column {col!r} not found; columns: {_listing(found)}",
                    )
                )
    if problems:
        raise ScenarioError(str(scenario.source_file or scenario.name), problems)
