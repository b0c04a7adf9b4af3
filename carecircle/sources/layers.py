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
- GCJ-02 (Gaode/Amap) longitudes/latitudes, when the scenario says ``coords: gcj02``: converted
  to WGS84 (``carecircle.sources.coords``) and counted in ``gdf.attrs["gcj02_converted"]``.
"""

from __future__ import annotations

import logging
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

from carecircle.errors import DataError, ScenarioError
from carecircle.planning.policy import MU_M2
from carecircle.scenario import LayerSource, Scenario
from carecircle.sources import coords

__all__ = [
    "SCHEMAS",
    "LayerSchema",
    "check_columns",
    "column_problems",
    "layer_columns",
    "layer_names",
    "read_layer",
    "read_table",
    "working_crs",
]

log = logging.getLogger(__name__)

_TABLE_SUFFIXES = {".csv", ".txt", ".xlsx", ".xls"}


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
    "villages": LayerSchema(required=("id", "name", "township"), texts=("kind",)),
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


def read_layer(spec: LayerSource, *, kind: str, to_crs: CRS | str) -> gpd.GeoDataFrame:
    """Read one layer, map its columns, check it and project it.

    Returns a GeoDataFrame with the canonical columns of ``SCHEMAS[kind]`` that the source has
    (required ones always) and the geometry in ``to_crs``. ``gdf.attrs`` reports what was done:
    ``repaired_geometries`` (invalid ones made valid), ``encoding`` (and how it was chosen),
    ``gcj02_converted`` and, for point layers given as polygons, ``polygons_as_points``.
    """
    schema = SCHEMAS[kind]
    path = Path(spec.path)
    frame, encoding = _read_any(spec, path)
    frame = _map_columns(frame, spec, schema, path, kind)
    if len(frame) == 0:
        raise DataError(
            f"{path}: 图层为空 / layer {kind!r} has no features; check the file and the layer name"
        )
    frame = _coerce(frame, schema, path)
    frame = _land_in_m2(frame, path)
    frame = _repair(frame, path)
    if "id" in frame.columns:
        _check_unique(frame["id"], path, kind, spec)
    converted = 0
    if spec.coords == "gcj02":
        frame, converted = _from_gcj02(frame)
    frame, as_points = _as_points(frame) if schema.geometry == "point" else (frame, 0)
    attrs = {
        "repaired_geometries": frame.attrs.get("repaired_geometries", 0),
        "encoding": encoding,
        "gcj02_converted": converted,
        "polygons_as_points": as_points,
    }
    frame = frame.to_crs(to_crs)
    frame.attrs.update(attrs)
    return frame


def _read_any(spec: LayerSource, path: Path) -> tuple[gpd.GeoDataFrame, str]:
    if path.suffix.lower() in _TABLE_SUFFIXES or spec.x is not None:
        return _read_table(spec, path)
    try:
        layers = [name for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio raises DataSourceError subclasses of Exception
        raise DataError(
            f"{path}: 无法读取 / cannot open as a GIS layer ({exc}); check the format"
        ) from None
    if spec.layer is not None and spec.layer not in layers:
        raise DataError(
            f"{path}: 没有图层 {spec.layer!r} / no layer {spec.layer!r}; layers: {', '.join(layers)}"
        )
    encoding, how = _vector_encoding(spec, path)
    frame = gpd.read_file(path, layer=spec.layer, engine="pyogrio", encoding=encoding)
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
        return cpg.read_text(encoding="ascii", errors="replace").strip() or None, ".cpg"
    return _detect(_dbf_text_bytes(dbf), dbf), "detected, no .cpg"


def _sidecar(path: Path, suffix: str) -> Path | None:
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.is_file():
            return candidate
    return None


def _dbf_text_bytes(dbf: Path, limit: int = 4_000_000) -> bytes:
    """The field names and records of a .dbf: the bytes whose encoding is in question.

    The header's binary counts (record count, lengths) would confuse a UTF-8 check, so skip them.
    """
    head = dbf.read_bytes()[:limit]
    if len(head) < 32:
        return b""
    header_len = int.from_bytes(head[8:10], "little")
    names = b"".join(head[i : i + 11] for i in range(32, max(32, header_len - 1), 32))
    return names.replace(b"\x00", b"") + head[header_len:]


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


def _read_table(spec: LayerSource, path: Path) -> tuple[gpd.GeoDataFrame, str]:
    if spec.x is None or spec.y is None:
        raise DataError(
            f"{path}: 表格需要坐标列 / a table needs coordinate columns; add `x:` and `y:` (e.g. 经度, 纬度)"
        )
    table, encoding = read_table(path, sheet=spec.layer, encoding=spec.encoding)
    missing = [c for c in (spec.x, spec.y) if c not in table.columns]
    if missing:
        raise DataError(_missing_message(path, missing, list(table.columns)))
    xs = pd.to_numeric(table[spec.x], errors="coerce")
    ys = pd.to_numeric(table[spec.y], errors="coerce")
    bad = xs.isna() | ys.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2  # +1 header, +1 one-based
        raise DataError(
            f"{path}: 第 {row} 行坐标无效 / row {row}: {spec.x}/{spec.y} is not a number "
            f"({table[spec.x].iloc[row - 2]!r}, {table[spec.y].iloc[row - 2]!r}); fix or remove the row"
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
            f"{path}: 第 {row} 行坐标不是经纬度 / row {row}: ({x}, {y}) "
            f"is not a longitude/latitude in {crs.name}; {fix}"
        )
    geometry = gpd.points_from_xy(xs, ys)
    frame = gpd.GeoDataFrame(table.drop(columns=[spec.x, spec.y]), geometry=geometry, crs=crs)
    return frame, encoding


def read_table(
    path: str | Path,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    nrows: int | None = None,
) -> tuple[pd.DataFrame, str]:
    """A CSV or Excel sheet as text columns, and the encoding used (and how it was chosen).

    CSV without a given ``encoding`` is read as UTF-8 (with or without BOM) when its bytes decode
    as UTF-8, else as GB18030 (GBK's superset, what Excel writes on Chinese Windows).
    """
    path = Path(path)
    if path.suffix.lower() in {".xlsx", ".xls"}:
        try:
            table = pd.read_excel(path, sheet_name=sheet or 0, dtype=str, nrows=nrows)
        except ValueError as exc:  # a missing sheet, or not a workbook
            raise DataError(f"{path}: 无法读取工作表 / cannot read the sheet ({exc})") from None
        return table.fillna(""), "xlsx"
    how = "scenario"
    if encoding is None:
        encoding, how = _detect(path.read_bytes(), path), "detected"
        encoding = "utf-8-sig" if encoding == "utf-8" else encoding
    table = pd.read_csv(path, dtype=str, encoding=encoding, keep_default_na=False, nrows=nrows)
    return table, f"{encoding} ({how})"


def _missing_message(path: Path, missing: Sequence[str], found: Sequence[Any]) -> str:
    return (
        f"{path}: 缺少字段 / missing column(s) {', '.join(map(repr, missing))}; "
        f"columns found: {', '.join(map(str, found))}; map them in the scenario's `columns:`"
    )


def _map_columns(
    frame: gpd.GeoDataFrame, spec: LayerSource, schema: LayerSchema, path: Path, kind: str
) -> gpd.GeoDataFrame:
    unknown = sorted(set(spec.columns.values()) - set(schema.all))
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


def _coerce(frame: gpd.GeoDataFrame, schema: LayerSchema, path: Path) -> gpd.GeoDataFrame:
    frame = frame.copy()
    for col in schema.required + schema.texts:
        if col in frame.columns:
            frame[col] = frame[col].map(_as_text)
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
                f"({frame[col].iloc[i]!r}); use plain numbers"
            )
        if (values < 0).any():
            i = int(np.flatnonzero((values < 0).to_numpy())[0])
            raise DataError(
                f"{path}: 第 {i + 1} 条记录 {col} 为负数 / feature {i + 1}: {col} is negative ({values.iloc[i]}); fix it"
            )
        frame[col] = values.astype(np.float64)
    return frame


def _as_text(value: object) -> str:
    """Codes stay text: 12-digit village codes must not become floats (3.39021e+11)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


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


def _from_gcj02(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    """GCJ-02 longitudes/latitudes to WGS84 (the result is in EPSG:4326)."""
    frame = frame.to_crs("EPSG:4326")

    def shift(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        lon, lat = coords.gcj02_to_wgs84(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    geoms = frame.geometry.to_numpy()
    inside = shapely.get_coordinates(geoms)
    n = int(coords.in_china(inside[:, 0], inside[:, 1]).sum())
    attrs = dict(frame.attrs)
    frame = frame.set_geometry(
        gpd.GeoSeries(shapely.transform(geoms, shift), index=frame.index, crs=4326)
    )
    frame.attrs.update(attrs)
    return frame, n


def _as_points(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    """Point layers given as polygons (building footprints) use a point inside each polygon."""
    polys = frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    if polys.any():
        attrs = dict(frame.attrs)
        frame = frame.copy()
        frame.loc[polys, "geometry"] = frame.geometry[polys].representative_point()
        frame.attrs.update(attrs)
    return frame, int(polys.sum())


def _repair(frame: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    empty = frame.geometry.isna() | frame.geometry.is_empty
    if empty.any():
        raise DataError(
            f"{path}: {int(empty.sum())} 条记录没有几何 / feature(s) without geometry "
            f"(first: row {int(np.flatnonzero(empty.to_numpy())[0]) + 1}); add coordinates or remove them"
        )
    invalid = ~frame.geometry.is_valid
    repaired = int(invalid.sum())
    if repaired:
        log.warning("%s: repaired %d invalid geometries", path, repaired)
        frame = frame.copy()
        frame.loc[invalid, "geometry"] = shapely.make_valid(frame.geometry[invalid].to_numpy())
    frame.attrs["repaired_geometries"] = repaired
    return frame


def _check_unique(ids: pd.Series, path: Path, kind: str, spec: LayerSource) -> None:
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        source = next((src for src, dst in spec.columns.items() if dst == "id"), "id")
        examples = ", ".join(sorted(set(dup.astype(str)))[:5])
        raise DataError(
            f"{path}: 编号重复 / duplicate ids in column {source!r} of the {kind} layer ({examples}); "
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


def layer_names(path: str | Path) -> list[str]:
    """The layers of a GIS file or the sheets of a workbook (one name for single-layer files)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xls"}:
        try:
            with pd.ExcelFile(path) as book:
                return [str(name) for name in book.sheet_names]
        except ValueError as exc:  # not a workbook
            raise DataError(f"{path}: 无法读取工作簿 / cannot open the workbook ({exc})") from None
    if suffix in _TABLE_SUFFIXES:
        return [path.stem]
    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio raises DataSourceError subclasses of Exception
        raise DataError(
            f"{path}: 无法读取 / cannot open as a GIS layer ({exc}); check the format"
        ) from None


def layer_columns(spec: LayerSource) -> list[str]:
    """The column names of the layer or table ``spec`` names, as the file spells them."""
    path = Path(spec.path)
    if path.suffix.lower() in _TABLE_SUFFIXES or spec.x is not None:
        table, _ = read_table(path, sheet=spec.layer, encoding=spec.encoding, nrows=0)
        return [str(c) for c in table.columns]
    encoding, _ = _vector_encoding(spec, path)
    info = pyogrio.read_info(path, layer=spec.layer, encoding=encoding)
    return [str(c) for c in info["fields"]]


def column_problems(spec: LayerSource, kind: str, where: str) -> list[tuple[str, str]]:
    """Columns the scenario names that the file lacks, and canonical fields nobody provides."""
    try:
        found = layer_columns(spec)
    except Exception as exc:  # any reader error means the file cannot be used as this layer
        return [(f"{where}.path", f"无法读取 / cannot read {spec.path} ({exc})")]
    problems = []
    listing = ", ".join(found)
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
        for p in column_problems(spec, kind, where)
    ]
    table = data.population.older_table
    if table is not None:
        try:
            found = layer_columns(
                LayerSource.model_construct(
                    path=table.path, layer=table.sheet, x=None, y=None, columns={}
                )
            )
        except Exception as exc:  # unreadable table
            found = []
            problems.append(("data.population.older_table.path", f"无法读取 / cannot read ({exc})"))
        for attr in ("key", "total", "older"):
            col = getattr(table, attr)
            if found and col not in found:
                problems.append(
                    (
                        f"data.population.older_table.{attr}",
                        f"文件中没有字段 {col!r} / column {col!r} not found; columns: {', '.join(found)}",
                    )
                )
    if problems:
        raise ScenarioError(str(scenario.source_file or scenario.name), problems)
