"""Vector layers and tables as offices deliver them: any OGR format, or CSV/XLSX with coordinates.

Columns are renamed to carecircle's canonical names through the scenario's ``columns`` mapping
(``{床位数: beds}``); what is missing is reported with the columns that are there.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from carecircle.errors import DataError, ScenarioError
from carecircle.scenario import LayerSource, Scenario

__all__ = [
    "SCHEMAS",
    "LayerSchema",
    "check_columns",
    "column_problems",
    "read_layer",
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
        numbers=("floor_m2", "beds", "nursing_beds"),
        texts=("village",),
        geometry="point",
    ),
    "candidates": LayerSchema(
        required=("id",),
        numbers=("land_m2", "land_mu"),
        texts=("name", "land_use", "status"),
    ),
}


def read_layer(spec: LayerSource, *, kind: str, to_crs: CRS | str) -> gpd.GeoDataFrame:
    """Read one layer, map its columns, check it and project it.

    Returns a GeoDataFrame with the canonical columns of ``SCHEMAS[kind]`` that the source has
    (required ones always) and the geometry in ``to_crs``. Invalid geometries are repaired and
    counted in ``gdf.attrs["repaired_geometries"]``.
    """
    schema = SCHEMAS[kind]
    path = Path(spec.path)
    frame = _read_any(spec, path)
    frame = _map_columns(frame, spec, schema, path, kind)
    if len(frame) == 0:
        raise DataError(
            f"{path}: 图层为空 / layer {kind!r} has no features; check the file and the layer name"
        )
    frame = _coerce(frame, schema, path)
    frame = _repair(frame, path)
    if "id" in frame.columns:
        _check_unique(frame["id"], path, kind, spec)
    return frame.to_crs(to_crs)


def _read_any(spec: LayerSource, path: Path) -> gpd.GeoDataFrame:
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
    frame = gpd.read_file(path, layer=spec.layer, engine="pyogrio")
    if frame.crs is None:
        if spec.crs is None:
            raise DataError(
                f"{path}: 缺少坐标系 / the layer has no CRS; add `crs: EPSG:4490` (or its real CRS) "
                "to this source in the scenario"
            )
        frame = frame.set_crs(spec.crs)
    return frame


def _read_table(spec: LayerSource, path: Path) -> gpd.GeoDataFrame:
    if spec.x is None or spec.y is None:
        raise DataError(
            f"{path}: 表格需要坐标列 / a table needs coordinate columns; add `x:` and `y:` (e.g. 经度, 纬度)"
        )
    if path.suffix.lower() in {".xlsx", ".xls"}:
        table = pd.read_excel(path, sheet_name=spec.layer or 0, dtype=str)
    else:
        table = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
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
    geometry = gpd.points_from_xy(xs, ys)
    return gpd.GeoDataFrame(
        table.drop(columns=[spec.x, spec.y]), geometry=geometry, crs=spec.crs or "EPSG:4326"
    )


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


def _header(spec: LayerSource) -> list[str]:
    path = Path(spec.path)
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xls"}:
        return [str(c) for c in pd.read_excel(path, sheet_name=spec.layer or 0, nrows=0).columns]
    if suffix in _TABLE_SUFFIXES:
        return [str(c) for c in pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns]
    return [str(c) for c in pyogrio.read_info(path, layer=spec.layer)["fields"]]


def column_problems(spec: LayerSource, kind: str, where: str) -> list[tuple[str, str]]:
    """Columns the scenario names that the file lacks, and canonical fields nobody provides."""
    try:
        found = _header(spec)
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
            found = _header(
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
