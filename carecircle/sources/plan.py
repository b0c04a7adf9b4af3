"""Allocation plans as land-resource bureaus hold them: proposed facilities and residential projects.

A plan file is a GeoPackage, Shapefile, GeoJSON, CSV or XLSX (CSV/XLSX with coordinate columns)
read through :func:`carecircle.sources.layers.read_layer`, so encodings, CRS, GCJ-02, 亩 and the
column mapping work as for every other layer. The scenario's ``plan:`` section says how
(:class:`carecircle.scenario.PlanSpec`):

- a file with two or more layers (GeoPackage layers, workbook sheets) holds the facilities and the
  projects as the layers named by ``plan.facilities.layer`` and ``plan.projects.layer``;
- a file with one layer (Shapefile, GeoJSON, CSV, a one-sheet workbook) holds one table whose
  column mapped to ``record`` says which row is which (:data:`RECORD_VALUES`: 设施, 养老设施,
  养老服务设施, facility / 项目, 住宅项目, 居住项目, project, residential). Without a ``record``
  column every row is a facility (or every row a project, when only project columns are mapped).

Canonical fields. Facilities: ``id``, ``name``, ``type`` (mapped to a tier as the register's
types are, plus ``plan.types``) or ``tier``, ``beds``, ``nursing_beds``, ``floor_m2``,
``land_m2`` or ``land_mu`` (亩), ``land_use`` (用地用海分类 code), ``ownership`` (公办/民办),
``level`` (a township centre whose type or level says 综合 is a comprehensive centre), ``year``
(建设年度, the year a phased run opens a recommended site in; carried, no rule reads it). Projects:
``id``, ``name``, ``gross_floor_m2``, ``households``, ``elderly_floor_m2``, ``level``
(:data:`COMMUNITY_LEVELS`: 社区级 for community-level projects).

Without a ``plan:`` section the columns are :data:`DEFAULT_PLAN`'s Chinese names (those present in
the file are used; each fits a Shapefile's 10-byte GBK field name) and the layers are 养老设施 and
住宅项目.

Bad input stops with a one-line :class:`~carecircle.errors.DataError` naming the file, the row and
the fix: missing columns (with those found), numbers that are not numbers, negative or beyond
:data:`LIMITS`, unknown land-use codes, record values, facility types or project levels,
duplicate or empty ids, no CRS, an empty plan, sites more than :data:`MAX_OUTSIDE_M` from the
county (a site just outside it is a failed ``site-in-county`` verdict, not bad input).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from carecircle import guard
from carecircle.errors import DataError, InputFileNotFound, excerpt
from carecircle.rules import CODE_PATTERN, land_use, normalise_code
from carecircle.scenario import (
    IGNORE,
    TIERS,
    InputLimits,
    LayerFormat,
    LayerSource,
    PlanSpec,
    Scenario,
)
from carecircle.sources import layers

__all__ = [
    "COMMUNITY_LEVELS",
    "DEFAULT_PLAN",
    "FACILITY_FIELDS",
    "LIMITS",
    "MAX_OUTSIDE_M",
    "PROJECT_FIELDS",
    "RECORD_VALUES",
    "Plan",
    "check_plan_fits",
    "plan_from_sites",
    "read_plan",
]

Part = Literal["facility", "project"]

RECORD_VALUES: Mapping[str, Part] = {
    **dict.fromkeys(("设施", "养老设施", "养老服务设施", "facility", "facilities"), "facility"),
    **dict.fromkeys(
        ("项目", "住宅项目", "居住项目", "project", "projects", "residential"), "project"
    ),
}

# Project levels: community-level (社区级) projects owe 800 m² of care space (rule community-800).
COMMUNITY_LEVELS: Mapping[str, bool] = {
    **dict.fromkeys(("社区级", "社区", "community", "是", "yes", "true", "1"), True),
    **dict.fromkeys(("", "否", "no", "false", "0", "小区级", "组团级", "项目级"), False),
}

# Beyond these a figure is a typo or a unit slip (m² for 亩, a 90,000-bed home), not a proposal:
# China's largest nursing homes have about 3,000 beds; 200,000 m² of floor is a whole town
# centre; 1,000,000 m² is 1 km² (1,500 亩); a residential project of 5 million m² would house
# some 50,000 households.
LIMITS: Mapping[str, float] = {
    "beds": 3_000,
    "nursing_beds": 3_000,
    "floor_m2": 200_000,
    "land_m2": 1_000_000,
    "gross_floor_m2": 5_000_000,
    "households": 50_000,
    "elderly_floor_m2": 200_000,
}

# A site this far from the county is not a site of this county's plan but wrong coordinates
# (swapped longitude/latitude, a missing CRS, another county's file).
MAX_OUTSIDE_M = 50_000.0

FACILITY_FIELDS = (
    "id",
    "name",
    "type",
    "tier",
    "beds",
    "nursing_beds",
    "floor_m2",
    "land_m2",
    "land_use",
    "ownership",
    "level",
)
PROJECT_FIELDS = ("id", "name", "gross_floor_m2", "households", "elderly_floor_m2", "level")
_PROJECT_NUMBERS = ("gross_floor_m2", "households", "elderly_floor_m2")

_SHARED = {"编号": "id", "名称": "name", "级别": "level", "记录类型": "record"}
DEFAULT_PLAN = PlanSpec(
    facilities=LayerFormat(
        layer="养老设施",
        columns={
            **_SHARED,
            "类型": "type",
            "床位数": "beds",
            "护理床位": "nursing_beds",
            "建筑面积": "floor_m2",
            "用地面积": "land_m2",
            "用地亩数": "land_mu",
            "用地代码": "land_use",
            "性质": "ownership",
            "建设年度": "year",
        },
        x="经度",
        y="纬度",
    ),
    projects=LayerFormat(
        layer="住宅项目",
        columns={
            **_SHARED,
            "总建筑面积": "gross_floor_m2",
            "户数": "households",
            "养老用房": "elderly_floor_m2",
        },
        x="经度",
        y="纬度",
    ),
)
_LAYER_NAMES: Mapping[Part, tuple[str, ...]] = {
    "facility": ("养老设施", "设施", "facilities"),
    "project": ("住宅项目", "项目", "projects"),
}


@dataclass(frozen=True)
class Plan:
    """A plan under review: its facilities and projects in EPSG:4326.

    ``facilities`` holds :data:`FACILITY_FIELDS` (``tier`` resolved, ``land_m2`` in m²) plus
    ``comprehensive`` (a township comprehensive centre); ``projects`` holds
    :data:`PROJECT_FIELDS` plus ``community`` (a community-level project). Both carry
    ``row_zh``/``row_en``, where the row is in the file, for messages and verdicts.
    ``absent_columns`` lists columns the scenario maps that the file does not have.
    """

    path: Path
    facilities: gpd.GeoDataFrame
    projects: gpd.GeoDataFrame
    absent_columns: tuple[str, ...] = ()

    def facilities_for_run(self) -> gpd.GeoDataFrame:
        """The facilities as ``run_scenario(extra_facilities=...)`` takes them."""
        cols = [c for c in FACILITY_FIELDS if c in self.facilities.columns]
        # An empty village code lets the run place each facility in the village it stands in
        # (a missing one would stay NaN and never count as that village's centre).
        return self.facilities[[*cols, "geometry"]].assign(village="")


@dataclass(frozen=True)
class _Table:
    frame: gpd.GeoDataFrame
    layer: str | None
    is_table: bool
    columns: list[str]
    absent: dict[str, str]  # mapped columns the file lacks: source -> canonical


def read_plan(path: str | Path, scenario: Scenario) -> Plan:
    """Read and check a plan file as the scenario's ``plan:`` section describes it.

    Parameters
    ----------
    path
        The plan: GeoPackage, Shapefile, GeoJSON, CSV or XLSX.
    scenario
        Its ``plan:`` section (else :data:`DEFAULT_PLAN`) and facility types are used.

    Raises
    ------
    InputFileNotFound
        When ``path`` does not exist.
    DataError
        On bad input, naming the file, the row and the fix (see the module docstring).
    """
    path = Path(path)
    if not path.exists():
        raise InputFileNotFound(f"方案文件不存在 / plan file not found: {path}; check the path")
    guard.data_file(path, "方案文件 / plan file")
    spec = scenario.plan or DEFAULT_PLAN
    limits = scenario.limits
    names = layers.layer_names(path, limits=limits, plan=True)
    parts: dict[Part, _Table | None]
    if len(names) >= 2:
        parts = {
            "facility": _read_part(path, names, spec, "facility", limits),
            "project": _read_part(path, names, spec, "project", limits),
        }
        if parts["facility"] is None and parts["project"] is None:
            raise DataError(
                f"{path}: 找不到设施或项目图层 / no layer or sheet of facilities or projects; "
                f"layers: {_names(names)}; name them in plan.facilities.layer and "
                "plan.projects.layer"
            )
    else:
        parts = _split(path, _read_one(path, names, spec, limits))
    tiers = {**scenario.data.facility_types(), **spec.types}
    facilities = _facilities(path, parts["facility"], tiers)
    projects = _projects(path, parts["project"])
    if len(facilities) + len(projects) == 0:
        raise DataError(
            f"{path}: 方案为空 / the plan has no facilities and no projects; check the file and "
            f"its layers ({_names(names)})"
        )
    absent = {
        c for t in parts.values() if t is not None for c, v in t.absent.items() if v != "year"
    }
    return Plan(path, facilities, projects, tuple(sorted(absent)))


def plan_from_sites(
    sites: gpd.GeoDataFrame,
    *,
    tier: str = "regional",
    path: str | Path = "recommended_plan",
    centre_floor_m2: float | None = None,
) -> Plan:
    """The siting model's recommended sites (``RunResult.siting.sites``) as a plan of facilities.

    New homes and expanded 敬老院 (``kind`` ``parcel``/``expand``) become facilities of ``tier``
    (the scenario's ``siting.tier``) with the beds and land the model gave them; new village
    centres (``village-centre``) become village-tier facilities. Unknown land (``inf``) is left
    empty, so land per bed is reported as not assessable rather than passed. New village centres
    are given ``centre_floor_m2`` of floor (the floor area the recommendation asks for, e.g. the
    scenario's village-center-150 value), else none.
    """
    frame = sites.to_crs("EPSG:4326").reset_index(drop=True)
    n = len(frame)

    def column(name: str, default: object) -> pd.Series:
        values = frame[name] if name in frame.columns else pd.Series([default] * n)
        return values.replace([np.inf, -np.inf], np.nan)

    village = (column("kind", "") == "village-centre").to_numpy()
    facilities = gpd.GeoDataFrame(
        {
            "id": frame["id"].astype(str),
            "name": column("name", "").fillna("").astype(str),
            "type": "",
            "tier": np.where(village, "village", tier),
            "beds": column("beds", np.nan).astype(float),
            "nursing_beds": column("nursing_beds", np.nan).astype(float),
            "floor_m2": np.where(
                village, np.nan if centre_floor_m2 is None else centre_floor_m2, np.nan
            ),
            "land_m2": column("land_m2", np.nan).astype(float),
            "land_use": column("land_use", "")
            .fillna("")
            .map(lambda v: normalise_code(v) if land_use(v) is not None else ""),
            "ownership": "",
            "level": "",
            "comprehensive": False,
            # The year a phased run opens the site in (0 or absent: no phases): empty then.
            "year": column("year", 0).astype(float).replace(0, np.nan),
            "row_zh": [f"推荐选址第 {i + 1} 处" for i in range(n)],
            "row_en": [f"recommended site {i + 1}" for i in range(n)],
        },
        geometry=frame.geometry.to_numpy(),
        crs="EPSG:4326",
    )
    return Plan(Path(path), facilities, _empty(PROJECT_FIELDS, {"community": ""}))


# --- reading -------------------------------------------------------------------------------------


def _names(names: list[str]) -> str:
    """Layer or column names from the file, sanitised and cut short, for a message."""
    shown = ", ".join(excerpt(n, 30, quote=False) for n in names[:30])
    return shown + (f", … (+{len(names) - 30})" if len(names) > 30 else "")


def _source(
    path: Path, fmt: LayerFormat, layer: str | None, limits: InputLimits
) -> tuple[LayerSource, dict[str, str]]:
    """The LayerSource for one table, and the mapped columns the file lacks (dropped).

    Every field of a plan but the few a row needs is optional (a plan of village centres has no
    beds column), so mapped columns a file lacks are left out and reported, not refused.
    """
    is_table = path.suffix.lower() in {".csv", ".txt", ".xlsx", ".xls"}
    spec = LayerSource.model_construct(
        path=path,
        layer=layer,
        columns=dict(fmt.columns),
        x=fmt.x if is_table else None,
        y=fmt.y if is_table else None,
        crs=fmt.crs,
        encoding=fmt.encoding,
        coords=fmt.coords,
    )
    columns = layers.layer_columns(spec, limits=limits, plan=True)
    found = set(columns)
    kept = {k: v for k, v in spec.columns.items() if k in found and v != IGNORE}
    absent = {k: v for k, v in spec.columns.items() if k not in found and v != IGNORE}
    # Columns named by their canonical name (a file carecircle wrote: ``tier``) map themselves.
    canonical = set(layers.SCHEMAS["plan"].all)
    unmapped = [
        c
        for c in columns
        if c not in spec.columns and c not in (spec.x, spec.y) and c not in canonical
    ]
    _refuse_look_alikes(path, absent, unmapped, kept)
    return spec.model_copy(update={"columns": kept}), absent


def _bare(name: str) -> str:
    """A column name without its unit in brackets and without spaces: 建筑面积（平方米） -> 建筑面积."""
    return re.sub(r"[（(\[【].*?[）)\]】]|\s", "", name)


_FACILITY_ONLY = frozenset(
    {
        "type",
        "tier",
        "beds",
        "nursing_beds",
        "floor_m2",
        "land_m2",
        "land_mu",
        "land_use",
        "ownership",
    }
)
_PROJECT_ONLY = frozenset({"gross_floor_m2", "households", "elderly_floor_m2"})
# Columns no rule reads: a file without them is no misspelt file (a recommended plan's 建设年度,
# the year a phased run gives each site, is carried for the reader, not checked).
_INFORMATIONAL = frozenset({"record", "year"})


def _likeness(a: str, b: str) -> tuple[int, float]:
    """Characters two names share (in order), then their similarity: 护理型床位数 is more like
    护理床位 (4 shared) than 床位数 (3)."""
    m = difflib.SequenceMatcher(None, a, b)
    return sum(block.size for block in m.get_matching_blocks()), m.ratio()


def _refuse_look_alikes(
    path: Path, absent: Mapping[str, str], unmapped: list[str], kept: Mapping[str, str]
) -> None:
    """Mapped columns a file lacks while it has columns the mapping does not know: the file
    spells them otherwise (床位 for 床位数, 核定床位, 用地分类), and reading them as missing would
    turn beds into 0 and land-use checks into "not assessable". Refuse, naming both sides, with
    the likeliest pairing as a hint; columns really not needed are mapped to ``ignore``.

    Only the parts the file holds count: a table of facilities lacks the projects' columns by
    design."""
    present = set(kept.values())
    parts = set()
    if present & _FACILITY_ONLY:
        parts.add("facilities")
    if present & _PROJECT_ONLY:
        parts.add("projects")
    relevant = {
        src: canonical
        for src, canonical in absent.items()
        if (canonical in _FACILITY_ONLY and "facilities" in parts)
        or (canonical in _PROJECT_ONLY and "projects" in parts)
        or canonical not in _FACILITY_ONLY | _PROJECT_ONLY | _INFORMATIONAL
    }
    if not relevant or not unmapped:
        return
    hints = []
    for have in unmapped:
        h = _bare(have)
        scored = [(_likeness(_bare(w), h), w, c) for w, c in relevant.items()]
        best = max(scored, default=None)
        if best is not None and best[0][0] >= 2 and best[0][1] >= 0.5:
            hints.append((have, best[1], best[2]))
    lacking = ", ".join(f"{excerpt(w, 30)} ({c})" for w, c in list(relevant.items())[:8])
    extra = ", ".join(excerpt(c, 30) for c in unmapped[:12]) + (" …" if len(unmapped) > 12 else "")
    like = "; ".join(f"{excerpt(h, 30)} looks like {excerpt(w, 30)} ({c})" for h, w, c in hints[:5])
    example = ", ".join(f"{excerpt(h, 30, quote=False)}: {c}" for h, _, c in hints[:3]) or (
        f"{excerpt(unmapped[0], 30, quote=False)}: ignore"
    )
    part = "facilities" if "facilities" in parts or not parts else "projects"
    raise DataError(
        f"{path}: 方案的字段名与情景映射不符 / the plan lacks mapped column(s) {lacking} and has "
        f"column(s) the mapping does not know: {extra}"
        + (f" ({like})" if like else "")
        + f"; map the file's own names under plan.{part}.columns (e.g. {{{example}}}), and map "
        "columns not needed to ignore"
    )


def _read(spec: LayerSource, absent: dict[str, str], limits: InputLimits) -> _Table:
    path = Path(spec.path)
    is_table = path.suffix.lower() in {".csv", ".txt", ".xlsx", ".xls"}
    columns = layers.layer_columns(spec, limits=limits, plan=True)
    frame = layers.read_layer(spec, kind="plan", to_crs="EPSG:4326", limits=limits)
    frame = frame.reset_index(drop=True)
    first = 2 if is_table else 1  # a sheet's first data row is row 2, under its header
    rows = np.arange(len(frame)) + first
    where = f"{spec.layer} " if spec.layer and path.suffix.lower() != ".csv" else ""
    frame["row_zh"] = [f"{where}第 {r} {'行' if is_table else '个要素'}" for r in rows]
    frame["row_en"] = [f"{where}{'row' if is_table else 'feature'} {r}" for r in rows]
    return _Table(frame, spec.layer, is_table, columns, absent)


def _read_part(
    path: Path, names: list[str], spec: PlanSpec, part: Part, limits: InputLimits
) -> _Table | None:
    """One part of a multi-layer file, or None when the file has no (or an empty) layer for it."""
    fmt = spec.facilities if part == "facility" else spec.projects
    layer = next((n for n in (fmt.layer, *_LAYER_NAMES[part]) if n in names), None)
    if layer is None or _is_empty(path, layer, limits):
        return None
    return _read(*_source(path, fmt, layer, limits), limits)


def _is_empty(path: Path, layer: str, limits: InputLimits) -> bool:
    if path.suffix.lower() in {".xlsx", ".xls"}:
        table, _ = layers.read_table(path, sheet=layer, nrows=1, limits=limits)
        return len(table) == 0
    try:
        return len(gpd.read_file(path, layer=layer, rows=1, engine="pyogrio")) == 0
    except Exception as exc:  # GDAL's reader raises many kinds for a malformed file
        raise DataError(
            f"{path}: 无法读取图层 {excerpt(layer)} / cannot read the layer "
            f"({type(exc).__name__}: {excerpt(str(exc), 80)}); check the file"
        ) from None


def _read_one(path: Path, names: list[str], spec: PlanSpec, limits: InputLimits) -> _Table:
    """The one table of a single-layer file, read with both parts' columns merged."""
    fac, pro = spec.facilities, spec.projects
    clash = sorted(
        src for src in set(fac.columns) & set(pro.columns) if fac.columns[src] != pro.columns[src]
    )
    if clash:
        raise DataError(
            f"{path}: 单表方案中字段 {clash[0]!r} 对应两个标准字段 / in a one-table plan column "
            f"{clash[0]!r} maps to both {fac.columns[clash[0]]!r} and {pro.columns[clash[0]]!r}; "
            "map it once (plan.facilities.columns and plan.projects.columns are merged)"
        )
    merged = LayerFormat.model_construct(
        layer=None,
        columns={**pro.columns, **fac.columns},
        x=fac.x or pro.x,
        y=fac.y or pro.y,
        crs=fac.crs or pro.crs,
        encoding=fac.encoding or pro.encoding,
        coords=fac.coords,
    )
    layer = names[0] if path.suffix.lower() in {".xlsx", ".xls", ".gpkg"} else None
    return _read(*_source(path, merged, layer, limits), limits)


def _split(path: Path, table: _Table) -> dict[Part, _Table | None]:
    """Rows of a one-table plan by their record value."""
    frame = table.frame
    if "record" not in frame.columns:
        has_projects = any(c in frame.columns for c in _PROJECT_NUMBERS)
        has_facilities = bool({"type", "tier"} & set(frame.columns))
        if has_projects and has_facilities:
            raise DataError(
                f"{path}: 设施与项目同表时需要记录类型字段 / a table holding facilities and "
                f"projects needs a column mapped to `record` (values {', '.join(RECORD_VALUES)}); "
                f"columns found: {_names(table.columns)}"
            )
        return (
            {"project": table, "facility": None}
            if has_projects
            else {"facility": table, "project": None}
        )
    kinds = frame["record"].map(lambda v: RECORD_VALUES.get(str(v).strip().lower()))
    if kinds.isna().any():
        i = int(np.flatnonzero(kinds.isna().to_numpy())[0])
        value = frame["record"].iloc[i]
        raise _bad(
            path,
            frame,
            i,
            (f"记录类型 {excerpt(value)} 无法识别", f"unknown record value {excerpt(value)}"),
            f"use one of {', '.join(RECORD_VALUES)}",
        )
    return {
        part: _Table(
            frame[kinds == part].reset_index(drop=True),
            table.layer,
            table.is_table,
            table.columns,
            table.absent,
        )
        for part in ("facility", "project")
    }


def _bad(path: Path, frame: pd.DataFrame, i: int, problem: tuple[str, str], fix: str) -> DataError:
    """One-line error naming the file, the row (and its id), the problem and the fix."""
    ident = excerpt(frame["id"].iloc[i], 30, quote=False) if "id" in frame.columns else ""
    zh = f"{frame['row_zh'].iloc[i]}（编号 {ident}）" if ident else frame["row_zh"].iloc[i]
    en = f"{frame['row_en'].iloc[i]} (id {ident})" if ident else frame["row_en"].iloc[i]
    return DataError(f"{path}: {zh}{problem[0]} / {en}: {problem[1]}; {fix}")


def _missing(path: Path, table: _Table, fields: list[str], key: str) -> DataError:
    """Missing columns, with the scenario's name for each and the columns the file has."""
    named = {canonical: source for source, canonical in table.absent.items()}
    wanted = ", ".join(f"{f} ({named[f]!r})" if f in named else f for f in fields)
    where = f"{table.layer} " if table.layer else ""
    return DataError(
        f"{path}: {where}缺少字段 / missing column(s) for {key}: {wanted}; columns found: "
        f"{_names(table.columns)}; rename them in the file or map them in plan.{key}.columns"
    )


# --- checking ------------------------------------------------------------------------------------


def _empty(fields: tuple[str, ...], extra: dict[str, str]) -> gpd.GeoDataFrame:
    columns = {c: pd.Series(dtype=object) for c in (*fields, *extra, "row_zh", "row_en")}
    return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries([], crs="EPSG:4326"))


def _numbers(path: Path, frame: gpd.GeoDataFrame, fields: tuple[str, ...]) -> None:
    """Figures within LIMITS (negative and non-numeric values were refused on reading)."""
    for col in fields:
        if col not in frame.columns:
            continue
        limit = LIMITS[col]
        over = (frame[col] > limit).to_numpy()
        if over.any():
            i = int(np.flatnonzero(over)[0])
            value = float(frame[col].iloc[i])
            raise _bad(
                path,
                frame,
                i,
                (
                    f"{col} = {value:,.0f} 超出合理范围",
                    f"{col} = {value:,.0f} is beyond {limit:,.0f}",
                ),
                "check the figure and its unit (m², not 亩; beds, not yuan); a real project this "
                "large should be split into its phases",
            )


def _no_more_than(path: Path, frame: gpd.GeoDataFrame, part: str, whole: str) -> None:
    if part not in frame.columns or whole not in frame.columns:
        return
    over = (frame[part] > frame[whole]).to_numpy()
    if over.any():
        i = int(np.flatnonzero(over)[0])
        a, b = float(frame[part].iloc[i]), float(frame[whole].iloc[i])
        raise _bad(
            path,
            frame,
            i,
            (f"{part} {a:,.0f} 大于 {whole} {b:,.0f}", f"{part} {a:,.0f} exceeds {whole} {b:,.0f}"),
            f"{part} is part of {whole}; correct one of them",
        )


def _ids(path: Path, frame: gpd.GeoDataFrame) -> None:
    empty = (frame["id"] == "").to_numpy()
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise _bad(path, frame, i, ("编号为空", "the id is empty"), "give every row its own id")


def _facilities(path: Path, table: _Table | None, tiers: Mapping[str, str]) -> gpd.GeoDataFrame:
    if table is None or len(table.frame) == 0:
        return _empty(FACILITY_FIELDS, {"comprehensive": ""})
    frame = table.frame.copy()
    if not {"type", "tier"} & set(frame.columns):
        raise _missing(path, table, ["type"], "facilities")
    _ids(path, frame)
    _numbers(path, frame, ("beds", "nursing_beds", "floor_m2", "land_m2"))
    _no_more_than(path, frame, "nursing_beds", "beds")
    for col in FACILITY_FIELDS:
        if col not in frame.columns:
            frame[col] = (
                "" if col in ("name", "type", "tier", "land_use", "ownership", "level") else np.nan
            )
    frame["tier"] = [_tier(path, frame, i, tiers) for i in range(len(frame))]
    frame["land_use"] = [_land_use(path, frame, i) for i in range(len(frame))]
    said = frame["type"].astype(str) + frame["level"].astype(str)
    frame["comprehensive"] = (frame["tier"] == "township") & said.str.contains("综合")
    return frame[[*FACILITY_FIELDS, "comprehensive", "row_zh", "row_en", "geometry"]]


def _tier(path: Path, frame: gpd.GeoDataFrame, i: int, tiers: Mapping[str, str]) -> str:
    given, kind = str(frame["tier"].iloc[i]), str(frame["type"].iloc[i])
    if given:
        if given in TIERS:
            return given
        raise _bad(
            path,
            frame,
            i,
            (f"层级 {excerpt(given)} 无法识别", f"unknown tier {excerpt(given)}"),
            f"use one of {', '.join(TIERS)}",
        )
    if kind in tiers and tiers[kind] != IGNORE:
        return tiers[kind]
    known = ", ".join(list(tiers)[:8])
    raise _bad(
        path,
        frame,
        i,
        (f"设施类型 {excerpt(kind)} 无法识别", f"unknown facility type {excerpt(kind)}"),
        f"use a known type ({known}, ...) or map it to a tier under plan.types in the scenario",
    )


def _land_use(path: Path, frame: gpd.GeoDataFrame, i: int) -> str:
    raw = frame["land_use"].iloc[i]
    if raw == "":
        return ""
    if land_use(raw) is None:
        raise _bad(
            path,
            frame,
            i,
            (
                f"用地代码 {excerpt(raw)} 不在用地用海分类中",
                f"land-use code {excerpt(raw)} is not in the 用地用海分类",
            ),
            f"use {CODE_PATTERN}",
        )
    return normalise_code(raw)


def _projects(path: Path, table: _Table | None) -> gpd.GeoDataFrame:
    if table is None or len(table.frame) == 0:
        return _empty(PROJECT_FIELDS, {"community": ""})
    frame = table.frame.copy()
    absent = [c for c in _PROJECT_NUMBERS if c not in frame.columns]
    if absent:
        raise _missing(path, table, absent, "projects")
    _ids(path, frame)
    for col in _PROJECT_NUMBERS:
        blank = frame[col].isna().to_numpy()
        if blank.any():
            i = int(np.flatnonzero(blank)[0])
            raise _bad(path, frame, i, (f"{col} 为空", f"{col} is empty"), "fill it in (0 if none)")
    _numbers(path, frame, _PROJECT_NUMBERS)
    _no_more_than(path, frame, "elderly_floor_m2", "gross_floor_m2")
    for col in ("name", "level"):
        if col not in frame.columns:
            frame[col] = ""
    frame["community"] = [_community(path, frame, i) for i in range(len(frame))]
    return frame[[*PROJECT_FIELDS, "community", "row_zh", "row_en", "geometry"]]


def _community(path: Path, frame: gpd.GeoDataFrame, i: int) -> bool:
    value = str(frame["level"].iloc[i]).strip().lower()
    if value not in COMMUNITY_LEVELS:
        raise _bad(
            path,
            frame,
            i,
            (f"项目级别 {excerpt(value)} 无法识别", f"unknown project level {excerpt(value)}"),
            f"use one of {', '.join(repr(v) for v in COMMUNITY_LEVELS)}",
        )
    return COMMUNITY_LEVELS[value]


# --- against the county --------------------------------------------------------------------------


def check_plan_fits(plan: Plan, boundary: gpd.GeoDataFrame, register_ids: set[str]) -> None:
    """Refuse sites far outside the county and facility ids the register already uses."""
    clash = sorted(set(plan.facilities["id"]) & register_ids)
    if clash:
        i = int(np.flatnonzero((plan.facilities["id"] == clash[0]).to_numpy())[0])
        raise _bad(
            plan.path,
            plan.facilities,
            i,
            ("编号与现有设施重复", "the id is already a facility of the register"),
            "give the planned facilities ids of their own (e.g. a prefix such as GH-)",
        )
    area = shapely.union_all(boundary.geometry.to_numpy())
    for frame in (plan.facilities, plan.projects):
        if len(frame):
            _near(plan.path, frame, area, boundary.crs)


def _near(path: Path, frame: gpd.GeoDataFrame, area: shapely.Geometry, crs: object) -> None:
    with np.errstate(invalid="ignore"):
        metres = frame.geometry.to_crs(crs).distance(area).to_numpy()
    far = ~(metres <= MAX_OUTSIDE_M)  # NaN and inf (impossible coordinates) count as far
    if not far.any():
        return
    i = int(np.flatnonzero(far)[0])
    lon, lat = float(frame.geometry.x.iloc[i]), float(frame.geometry.y.iloc[i])
    swapped = gpd.GeoSeries([shapely.Point(lat, lon)], crs="EPSG:4326")
    with np.errstate(invalid="ignore"):
        near_if_swapped = bool(swapped.to_crs(crs).distance(area).iloc[0] <= MAX_OUTSIDE_M)
    fix = (
        "longitude and latitude look swapped; swap the coordinate columns (x: longitude, y: latitude)"
        if near_if_swapped
        else "check the coordinates and the CRS (a projected file needs its .prj or `crs:`; "
        "Gaode/Amap coordinates need `coords: gcj02`, Baidu ones `coords: bd09`)"
    )
    km = f"{metres[i] / 1000:,.0f} km" if np.isfinite(metres[i]) else "far"
    raise _bad(
        path,
        frame,
        i,
        (
            f"位置（{lon:.5f}, {lat:.5f}）远在县域之外",
            f"the site ({lon:.5f}, {lat:.5f}) is {km} outside the county (more than {MAX_OUTSIDE_M / 1000:.0f} km)",
        ),
        fix,
    )
