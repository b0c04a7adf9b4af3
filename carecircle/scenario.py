"""Scenario files: YAML in, a frozen and validated :class:`Scenario` out.

A scenario names the study area, the data sources, the travel mode and threshold of each facility
tier, the policy targets to check and the siting problem to solve. Loading it checks everything at
once and reports every problem with its key path (``data.network.path: file not found ...``);
unknown keys are refused with the valid ones listed; relative paths resolve against the scenario
file's own folder.
"""

from __future__ import annotations

import codecs
import difflib
import math
import os
import re
import reprlib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from carecircle import guard
from carecircle import rules as policy
from carecircle.errors import ScenarioError

__all__ = [
    "CIRCLE_SERVICES",
    "SCORED_TIERS",
    "TIERS",
    "TIER_SERVICES",
    "Basemap",
    "Circle",
    "FacilityTier",
    "InputLimits",
    "LayerFormat",
    "LayerSource",
    "Phase",
    "PlanSpec",
    "Scenario",
    "load_scenario",
    "scenario_from_dict",
]

FacilityTier = Literal[
    "village", "mutual_aid", "meal", "township", "jingloyuan", "regional", "county", "institution"
]
TIERS: tuple[str, ...] = typing.get_args(FacilityTier)
TravelMode = Literal["walk", "ebike", "drive"]
CoordinateSystem = Literal["wgs84", "gcj02", "bd09"]

# Facility-type values as Chinese registers spell them, mapped to tiers. A scenario may extend or
# override this table (``data.facilities.types``) for its own register's wording.
DEFAULT_FACILITY_TYPES: Mapping[str, str] = {
    "村级居家养老服务照料中心": "village",
    "社区居家养老服务照料中心": "village",
    "居家养老服务照料中心": "village",
    "社区日间照料中心": "village",
    "城市社区日间照料中心": "village",
    "日间照料中心": "village",
    "社区养老服务照料中心": "village",
    "居家养老照料服务中心": "village",
    "社区居家养老服务站": "village",
    "居家养老服务站": "village",
    "养老服务站": "village",
    "养老驿站": "village",
    "农村幸福院": "mutual_aid",
    "互助养老服务点": "mutual_aid",
    "农村互助养老服务点": "mutual_aid",
    "农村养老互助点": "mutual_aid",
    "乡镇（街道）居家养老服务中心": "township",
    "乡镇(街道)居家养老服务中心": "township",
    "乡镇（街道）养老服务中心": "township",
    "乡镇（街道）综合型养老服务中心": "township",
    "镇街级综合型养老服务中心": "township",
    "综合型养老服务中心": "township",
    "居家养老服务中心": "township",
    "敬老院": "jingloyuan",
    "区域性敬老院": "regional",
    "区域性养老服务中心": "regional",
    "农村区域性养老服务中心": "regional",
    "县级公办养老机构": "county",
    "助餐点": "meal",
    "助餐服务点": "meal",
    "社区食堂": "meal",
    "老年食堂": "meal",
    "养老院": "institution",
    "养老机构": "institution",
    "民办养老机构": "institution",
    "护理院": "institution",
}


def _resolve_path(value: Path, info: ValidationInfo) -> Path:
    """Resolve against the scenario's folder and require the file to exist."""
    base = (info.context or {}).get("base_dir")
    try:
        path = Path(value).expanduser()
        if not path.is_absolute() and base is not None:
            path = Path(base) / path
        path = Path(path).resolve()
        exists = path.exists()
    except RuntimeError:  # "~user" naming no user (3.11 raises RuntimeError, later ones OSError)
        raise ValueError(
            f"无法展开 ~ / cannot expand '~' in {_short(str(value))}: no such user; give the full path"
        ) from None
    except OSError as exc:  # a name too long for the file system, a symlink loop, ...
        raise ValueError(
            f"路径无效 / unusable path {_short(str(value))} ({exc.strerror or exc}); fix the path"
        ) from None
    if (info.context or {}).get("check_files", True):
        if not exists:
            raise ValueError(f"文件不存在 / file not found: {path}{_missing_hint(path)}")
        if guard.system_path(path) or not path.is_file():
            raise ValueError(
                f"不是数据文件 / not a data file: {path} (a folder, device or system file); "
                "give the path of the data file itself"
            )
    return path


def _missing_hint(path: Path) -> str:
    """Generated demo data can be made on the spot: say how."""
    demo = next((p for p in path.parents if p.name.startswith("demo")), None)
    if demo is None:
        return ""
    size = "county" if "county" in demo.name else "small"
    return f" (生成演示数据 / generate it: carecircle demo-data --out {demo} --size {size})"


InputPath = Annotated[Path, AfterValidator(_resolve_path)]


def _code_as_text(value: object) -> object:
    """``census_county: 360681`` unquoted is the code YAML read as a number: the code."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def text_codec(name: str) -> str:
    """The Python codec of a text encoding's name; LookupError for an unknown one or a codec
    that is not a text encoding (rot13, zlib_codec, base64: they turn bytes into bytes)."""
    info = codecs.lookup(name)
    if not getattr(info, "_is_text_encoding", True):
        raise LookupError(f"{name!r} is not a text encoding")
    return info.name


def _known_encoding(value: str) -> str:
    try:
        return text_codec(value)
    except (LookupError, ValueError):  # ValueError: a NUL character in the name
        raise ValueError(
            f"未知的字符编码 / unknown text encoding {_short(value)}; use e.g. gbk, gb18030 or utf-8"
        ) from None


PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class _Model(BaseModel):
    # Field docstrings become the fields' descriptions (scripts/scenario_keys.py, the README table).
    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, use_attribute_docstrings=True
    )


class LayerFormat(_Model):
    """How to read a layer or table: everything :class:`LayerSource` says except its path.

    ``columns`` maps the file's column names to canonical ones, e.g. ``{床位数: beds}``.
    ``encoding`` is the text encoding of a Shapefile's .dbf or a CSV (e.g. ``gbk``, ``gb18030``);
    when absent it is detected (the .cpg, else UTF-8, else GB18030) and reported. ``coords:
    gcj02`` declares longitudes/latitudes taken from Gaode/Amap, Tencent or another Chinese map
    service (GCJ-02), ``coords: bd09`` those taken from Baidu Maps (BD-09); they are converted to
    WGS84 on reading.
    """

    layer: str | None = None
    """The layer of a GeoPackage (or other multi-layer file) or the sheet of a workbook."""
    columns: dict[str, str] = Field(default_factory=dict)
    """The file's column names mapped to carecircle's names, e.g. ``{床位数: beds}``."""
    x: str | None = None
    """The x (longitude) column of a table of points (CSV, XLSX); give ``y`` with it."""
    y: str | None = None
    """The y (latitude) column of a table of points; give ``x`` with it."""
    crs: str | None = None
    """The CRS of the coordinates when the file declares none (a table's ``x``/``y`` are EPSG:4326
    unless given)."""
    encoding: Annotated[str, AfterValidator(_known_encoding)] | None = None
    """The text encoding of a Shapefile's .dbf or a CSV (``gbk``, ``gb18030``, ``utf-8``); detected
    when absent."""
    coords: CoordinateSystem = "wgs84"
    """The coordinate system of longitudes/latitudes: ``wgs84``, ``gcj02`` (Gaode/Amap, Tencent) or
    ``bd09`` (Baidu), converted to WGS84 on reading."""

    @model_validator(mode="after")
    def _xy_together(self) -> LayerFormat:
        if (self.x is None) != (self.y is None):
            raise ValueError(
                "x 与 y 须同时给出 / give both x and y (the coordinate columns) or neither"
            )
        return self


class LayerSource(LayerFormat):
    """A vector layer or a table with coordinates, with its columns mapped to carecircle's names."""

    path: InputPath
    """The file (Shapefile, GeoPackage, GeoJSON, CSV, XLSX), relative to the scenario file."""


IGNORE = "ignore"
TypeMapping = FacilityTier | Literal["ignore"]


class FacilitySource(LayerSource):
    """The facility register; ``types`` maps the register's type values to tiers.

    Every type value of the register must map to a tier (the defaults of
    :data:`DEFAULT_FACILITY_TYPES`, extended or overridden here) or to ``ignore`` (kept out of
    the analysis on purpose, and counted); a value that maps to neither stops the run, naming it.
    """

    types: dict[str, TypeMapping] = Field(default_factory=dict)
    """The register's type values mapped to tiers or ``ignore``, over the built-in table."""

    def tier_of(self) -> dict[str, str]:
        return {**DEFAULT_FACILITY_TYPES, **self.types}


class NetworkSource(_Model):
    """Where the road network comes from: an OSM file, or a place name / bbox through osmnx."""

    path: InputPath | None = None
    """An OSM XML, PBF or GraphML file of the county's roads."""
    place: str | None = None
    """A place name whose roads osmnx downloads (once, then cached)."""
    bbox: tuple[float, float, float, float] | None = None
    """A box whose roads osmnx downloads: west, south, east, north in degrees."""

    @model_validator(mode="after")
    def _exactly_one(self) -> NetworkSource:
        given = [k for k in ("path", "place", "bbox") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "须且只须给出 path、place、bbox 之一 / give exactly one of path, place, bbox"
                f" (got {', '.join(given) or 'none'})"
            )
        return self


class OlderTable(_Model):
    """A census table of older residents by township (e.g. 第七次人口普查 township sheet)."""

    path: InputPath
    """The table file (CSV or XLSX)."""
    key: str
    """The column of township codes."""
    total: str
    """The column of residents."""
    older: str
    """The column of older residents (60+)."""
    sheet: str | None = None
    """The worksheet of a workbook."""


class PopulationSource(_Model):
    """Where residents and older residents (60+) come from. Three forms:

    - ``raster`` (residents per cell: WorldPop, GHS-POP; any CRS) with ``older_table`` (township
      census shares) or ``older_share`` (one county-wide share);
    - ``older_rasters``: age-band rasters summed into older residents (e.g. WorldPop 60-65 and
      65+), with ``raster`` optional for the residents;
    - ``points``: village points or polygons with counts, their columns mapped to ``older`` and/or
      ``residents`` (with ``older_table``/``older_share`` when only residents are given).

    ``grid_m`` is the working grid that rasters are summed onto when they are coarser than 250 m,
    finer than 50 m or on grids that differ; polygons are spread over it too.
    """

    raster: InputPath | None = None
    """Residents per cell (WorldPop, GHS-POP; any CRS)."""
    older_rasters: tuple[InputPath, ...] = ()
    """Age-band rasters summed into older residents (e.g. WorldPop 60-65 and 65+)."""
    older_table: OlderTable | None = None
    """A census table of older residents by township: each township's 60+ share."""
    older_share: Share | None = None
    """One county-wide share of older residents among residents (0-1)."""
    points: LayerSource | None = None
    """Village points or polygons with counts, columns mapped to ``older`` and/or ``residents``."""
    grid_m: PositiveFloat = 100.0
    """The working grid, in metres, that rasters are summed onto and polygons spread over."""
    census_county: Annotated[str | None, BeforeValidator(_code_as_text)] = None
    """The county's 2020 census (七普) figures, by 6-digit 区划代码 or name (``"360681"``,
    ``"贵溪市, 鹰潭市, 江西省"``), from the county table shipped with carecircle: with ``raster``
    alone, the county's 60+ share of residents; with ``older_rasters``, the older-resident total
    the age-band rasters are calibrated to (every cell scaled by one factor, reported)."""
    census_tolerance: Annotated[float, Field(ge=1, allow_inf_nan=False)] = 3.0
    """The residents raster and the census table (over the townships both cover) may differ by
    at most this factor; beyond it one of them is in the wrong unit, year or place."""

    @model_validator(mode="after")
    def _one_older_source(self) -> PopulationSource:
        shares = [
            k
            for k in ("older_table", "older_share", "census_county")
            if getattr(self, k) is not None
        ]
        if self.points is not None:
            _refuse_with(self, "points", ("raster", "older_rasters", "census_county"))
            if "older" in self.points.columns.values():
                _refuse_with(self, "points (with an `older` column)", tuple(shares))
            elif len(shares) != 1:
                raise ValueError(
                    "points 未映射 older 字段时须给出 older_table 或 older_share 之一 / points "
                    "without a column mapped to `older` need exactly one of older_table or older_share"
                )
        elif self.older_rasters:
            _refuse_with(self, "older_rasters", ("older_table", "older_share"))
        elif self.raster is None:
            raise ValueError(
                "须给出 raster、older_rasters 或 points / give raster (residents per cell), "
                "older_rasters (age bands) or points (village counts)"
            )
        elif len(shares) != 1:
            raise ValueError(
                "须给出 older_table、older_share 或 census_county 之一 / give exactly one of "
                "older_table (a township table of 60+ residents), older_share (one county-wide "
                "share) or census_county (the county's 2020 census share, e.g. census_county: "
                "'330382')"
            )
        return self


def _refuse_with(model: BaseModel, given: str, others: tuple[str, ...]) -> None:
    clash = [k for k in others if getattr(model, k, None) not in (None, ())]
    if clash:
        raise ValueError(
            f"{given} 不能与 {', '.join(clash)} 同时给出 / {given} cannot be combined with "
            f"{', '.join(clash)}; remove one"
        )


class DataSources(_Model):
    """The county's data. Only ``network`` and ``population`` are required: a data-poor run
    scores a county from its boundary, roads and a raster.

    Without ``townships`` the county outline is one township; ``villages`` may be polygons
    (territories) or points (a village list with coordinates, whose territories are then
    approximated inside each township, nearest village point, and flagged approximate); without
    ``villages`` each township is one village; without ``facilities`` no centre exists yet (every
    village is without one). Each stand-in is reported as a data-quality warning.
    """

    network: NetworkSource
    """The road network."""
    population: PopulationSource
    """Where residents and older residents come from."""
    townships: LayerSource | None = None
    """Township (乡镇街道) polygons; without them the county outline is one township."""
    villages: LayerSource | None = None
    """Village (村/社区) polygons or points; without them each township is one village."""
    facilities: FacilitySource | None = None
    """The facility register; without it no centre exists yet."""
    candidates: LayerSource | None = None
    """Candidate parcels for new sites (used with ``siting``)."""

    def facility_types(self) -> dict[str, str]:
        """Register type wording -> tier: the defaults with the register's own ``types:``."""
        if self.facilities is None:
            return dict(DEFAULT_FACILITY_TYPES)
        return self.facilities.tier_of()


class StudyArea(_Model):
    boundary: LayerSource
    """The county outline."""
    buffer_m: Annotated[float, Field(ge=0, le=50_000, allow_inf_nan=False)] = 2000.0
    """How far outside the county, in metres, roads still carry trips."""


# Plausible ranges: outside them a figure is a unit slip (km/h for m/s, seconds for minutes),
# not a county's choice. Older pedestrians walk 0.4-1.6 m/s; no service circle of the seed
# documents is more than an hour's walk or two hours' drive.
WALK_MPS = (0.3, 2.0)
EBIKE_KMH = (5.0, 40.0)
DRIVE_KMH = (5.0, 150.0)
TIER_MAX_MINUTES: Mapping[str, float] = {"walk": 60.0, "ebike": 60.0, "drive": 120.0}

WalkSpeed = Annotated[float, Field(ge=WALK_MPS[0], le=WALK_MPS[1], allow_inf_nan=False)]


class TierTravel(_Model):
    """A tier's service circle: how its centres are reached, and within how many minutes."""

    mode: TravelMode
    """How the tier's centres are reached: ``walk``, ``ebike`` or ``drive``."""
    minutes: PositiveFloat
    """The service circle's travel time, in minutes."""
    services: tuple[FacilityTier, ...] | None = None
    """The facility tiers whose sites this tier's reach counts, by default the tier itself (for
    ``regional`` the regional homes and county institutions, ``[regional, county]``)."""

    @field_validator("services")
    @classmethod
    def _some_services(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and not value:
            raise ValueError(
                "层级至少要计入一类设施 / a tier needs at least one service tier, e.g. "
                "[regional, county, jingloyuan]; leave the key out for the default"
            )
        return None if value is None else tuple(dict.fromkeys(value))

    @model_validator(mode="after")
    def _plausible(self) -> TierTravel:
        most = TIER_MAX_MINUTES[self.mode]
        if self.minutes > most:
            raise ValueError(
                f"{self.minutes:g} 分钟超出合理范围 / {self.minutes:g} minutes is beyond "
                f"{most:g} min for a {self.mode} tier (a unit slip? the threshold is in minutes)"
            )
        return self


class Travel(_Model):
    """Speeds. Walking is for older pedestrians: 1.0 m/s design speed, 0.8-1.2 m/s as a band.

    Each speed must be plausible (walking 0.3-2.0 m/s, e-bike 5-40 km/h, driving 5-150 km/h).
    """

    walk_speed_mps: WalkSpeed = 1.0
    """Walking speed of older pedestrians, in m/s (the design speed)."""
    walk_speed_band: tuple[WalkSpeed, WalkSpeed] = (0.8, 1.2)
    """Slow and fast walking speeds, in m/s, that coverage is also reported at."""
    ebike_speed_kmh: Annotated[
        float, Field(ge=EBIKE_KMH[0], le=EBIKE_KMH[1], allow_inf_nan=False)
    ] = 12.0
    """E-bike speed, in km/h."""
    drive_speeds_kmh: dict[
        str, Annotated[float, Field(ge=DRIVE_KMH[0], le=DRIVE_KMH[1], allow_inf_nan=False)]
    ] = Field(default_factory=dict)
    """Driving speeds, in km/h, by OSM highway class, over the built-in ones."""
    max_access_m: Annotated[float, Field(gt=0, le=5000, allow_inf_nan=False)] = 500.0
    """The farthest, in metres, a cell or facility joins the main road network."""

    @model_validator(mode="after")
    def _faster_than_walking(self) -> Travel:
        walk_kmh = self.walk_speed_mps * 3.6
        slow = {
            f"drive_speeds_kmh.{k}": v for k, v in self.drive_speeds_kmh.items() if v < walk_kmh
        }
        if self.ebike_speed_kmh < walk_kmh:
            slow["ebike_speed_kmh"] = self.ebike_speed_kmh
        if slow:
            listed = ", ".join(f"{k} = {v:g}" for k, v in slow.items())
            raise ValueError(
                f"比步行（{walk_kmh:.1f} km/h）还慢 / slower than walking ({walk_kmh:.1f} km/h at "
                f"walk_speed_mps = {self.walk_speed_mps:g}): {listed}; check the units (km/h)"
            )
        return self


Basemap = Literal["none", "osm", "tianditu", "tianditu_img", "gaode"]
TIANDITU_KEY_ENV = "TIANDITU_KEY"


class MapOptions(_Model):
    """How the HTML map is drawn.

    ``basemap`` is the background the page opens on: ``none`` (default: roads and boundaries from
    the data, no request leaves the page), or online tiles: ``osm`` (OpenStreetMap), ``tianditu``
    (天地图 map), ``tianditu_img`` (天地图 imagery), ``gaode`` (高德, drawn shifted from GCJ-02
    so it lines up with the data). The other online basemaps are offered in the layer control
    either way, off until the reader picks one. Tianditu needs a key: ``tianditu_key`` or the
    environment variable ``TIANDITU_KEY``. ``simplify_m`` is the tolerance, in metres, to which
    polygons are simplified for display (the exported layers keep their full detail).
    """

    basemap: Basemap = "none"
    """The background the map opens on: ``none`` or online tiles."""
    tianditu_key: str | None = None
    """The 天地图 (Tianditu) key; else ``$TIANDITU_KEY``."""
    simplify_m: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] = 10.0
    """The tolerance, in metres, to which polygons are simplified for display."""

    @model_validator(mode="after")
    def _tianditu_needs_a_key(self) -> MapOptions:
        if self.basemap.startswith("tianditu") and not self.key():
            raise ValueError(
                "天地图底图需要密钥 / the Tianditu basemap needs a key: set map.tianditu_key or "
                f"the environment variable {TIANDITU_KEY_ENV}"
            )
        return self

    def key(self) -> str | None:
        """The Tianditu key: the scenario's, else ``$TIANDITU_KEY``, else None."""
        return self.tianditu_key or os.environ.get(TIANDITU_KEY_ENV) or None


# The facility tiers a scored tier's reach counts when the scenario does not say.
TIER_SERVICES: Mapping[str, tuple[str, ...]] = {
    "village": ("village",),
    "township": ("township",),
    "regional": ("regional", "county"),
}
# The tiers scored in a run, each with its own mode and minutes (summary.tiers.<tier>).
SCORED_TIERS: tuple[str, ...] = ("village", "township", "regional")
# The services of the 15-minute circle by default: the basic services the seed documents count
# within the circle (village/community centres and 养老驿站, 幸福院 and other mutual-aid points,
# 助餐点, township centres); residential homes are reached by car and scored as their own tier.
CIRCLE_SERVICES: tuple[str, ...] = ("village", "mutual_aid", "meal", "township")


class Circle(_Model):
    """The 15-minute elderly-service circle: which services count for it. Its minutes are the
    circle-15min rule's (15, or the scenario's override) and its mode the village tier's."""

    services: tuple[FacilityTier, ...] = CIRCLE_SERVICES  # type: ignore[assignment]
    """The facility tiers whose sites put an older resident inside the circle (default
    ``[village, mutual_aid, meal, township]``)."""

    @field_validator("services")
    @classmethod
    def _some(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError(
                "服务圈至少要计入一类设施 / the circle needs at least one service tier, e.g. "
                "[village, mutual_aid, meal, township]"
            )
        return tuple(dict.fromkeys(value))


def _default_tiers() -> dict[FacilityTier, TierTravel]:
    return {
        name: TierTravel(mode=mode, minutes=minutes, services=TIER_SERVICES[name])  # type: ignore[arg-type, misc]
        for name, mode, minutes in (
            ("village", "walk", 15),
            ("township", "ebike", 15),
            ("regional", "drive", 30),
        )
    }


class Zone(_Model):
    """A siting zone: named townships, or a third of the county by latitude (south/central/north).

    乳山 (乳政发〔2022〕8号 一(一)) sets institution counts for its southern coastal area, the
    central city and the northern towns; ``band`` lets the same scenario run on any county.
    """

    townships: list[str] | None = None
    """The zone's townships, by name or id."""
    band: Literal["south", "central", "north"] | None = None
    """A third of the county by latitude."""
    min_sites: Annotated[int, Field(ge=0)] = 0
    """The fewest new sites in the zone."""
    max_sites: Annotated[int, Field(ge=0)] | None = None
    """The most new sites in the zone; no limit when absent."""

    @model_validator(mode="after")
    def _one_definition(self) -> Zone:
        if (self.townships is None) == (self.band is None):
            raise ValueError(
                "须给出 townships 或 band 之一 / give exactly one of townships or band"
            )
        if self.max_sites is not None and self.max_sites < self.min_sites:
            raise ValueError(
                f"max_sites {self.max_sites} 小于 min_sites {self.min_sites} / max_sites is below min_sites"
            )
        return self


class Phase(_Model):
    """One year of a phased plan: what must be open by its end and what it may spend.

    乐清 (乐政办函〔2020〕24号) asks for 1,000 new institution beds and a 51 % nursing share in
    2020 (附件 3) and 8,000 beds and 55 % by the end of 2022 (一); budgets are yearly.
    """

    year: Annotated[int, Field(ge=1949, le=2100)]
    """The calendar year (phases in increasing order)."""
    beds_by_end: Annotated[int, Field(ge=0)] | None = None
    """New beds open by the end of the year, counted from the start of the plan, at least."""
    nursing_share: Share | None = None
    """The nursing-type share of all institution beds (the existing ones included) by the end of
    the year, at least."""
    centres_by_end: Annotated[int, Field(ge=0)] | None = None
    """New village centres open by the end of the year, counted from the start, at least."""
    budget_yuan: PositiveFloat | None = None
    """The year's spending on the sites opened in it, in yuan, at most."""
    land_mu: PositiveFloat | None = None
    """The year's land for new homes, in 亩, at most."""
    max_new_centres: Annotated[int, Field(ge=0)] | None = None
    """New village centres opened in the year, at most."""


class Siting(_Model):
    """The regional nursing-home siting problem (solved by carecircle.planning.siting)."""

    tier: FacilityTier = "regional"
    """The tier of the new sites (its travel mode and minutes set their reach)."""
    new_beds: Annotated[int, Field(ge=0)]
    """The new beds to site: exactly, unless beds_target is at_least."""
    beds_target: Literal["exact", "at_least"] = "exact"
    """Whether new_beds is the plan's exact total or a floor (more beds taken where they serve more
    older residents); an exact total the bed range per site, land, budget, zones or site counts
    cannot meet becomes the smallest total above it, and the run says why."""
    beds_per_site: tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]] = (100, 300)
    """The fewest and the most beds of one site."""
    min_sites: Annotated[int, Field(ge=0)] = 0
    """The fewest sites."""
    max_sites: Annotated[int, Field(ge=1)] | None = None
    """The most sites; no limit when absent."""
    nursing_share: Share | None = None
    """The nursing-type (护理型) share of beds, at least; else the strictest ``nursing-share`` rule in
    ``policy``."""
    land_m2_per_bed: PositiveFloat | None = None
    """Land per bed, in m²; else the catalogue's planning value."""
    land_quota_mu: PositiveFloat | None = None
    """The land available for the new beds, in 亩."""
    budget_yuan: PositiveFloat | None = None
    """The total cost limit, in yuan."""
    cost_per_bed_yuan: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    """The cost of one new bed, in yuan."""
    cost_per_site_yuan: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    """The fixed cost of one site, in yuan."""
    cost_per_centre_yuan: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    """The cost of one new village centre, in yuan."""
    expand_jingloyuan: bool = True
    """Whether existing 敬老院 may be expanded as sites."""
    institutionalisation_rate: Share = 0.03
    """The share of older residents who need an institution bed."""
    zones: dict[str, Zone] = Field(default_factory=dict)
    """Named zones with their own numbers of sites (乳山's south, centre and north)."""
    max_new_centres: Annotated[int, Field(ge=0)] | None = None
    """The most new village centres (a budget in centres); the cover when absent."""
    centre_budget_yuan: PositiveFloat | None = None
    """The budget for new village centres, in yuan (needs ``cost_per_centre_yuan``)."""
    min_older_per_centre: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 20.0
    """Older residents every new village centre must bring within reach (each counted at one
    centre); those no such centre reaches are listed for mutual-aid or mobile services."""
    time_limit_s: PositiveFloat = 60.0
    """The solver's time limit, in seconds."""
    # New village centres are recommended for every older resident out of reach (0), or only
    # for settlements: 400 m squares with at least this many older residents out of reach.
    settlement_older: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    """Older residents out of reach a 400 m square needs for a new village centre (0: every one out
    of reach counts)."""
    phases: list[Phase] = Field(default_factory=list)
    """Years in order, each `year` with beds_by_end, centres_by_end, nursing_share (by its end),
    budget_yuan, land_mu, max_new_centres (in it).

    Every recommended site gets the year it opens in. Cumulative targets count from the start
    of the plan; a year without a budget or land limit has none. No phases: one horizon, the
    ``year`` of every site is 0."""

    @model_validator(mode="after")
    def _range_order(self) -> Siting:
        low, high = self.beds_per_site
        if low > high:
            raise ValueError(f"beds_per_site 下限大于上限 / minimum {low} exceeds maximum {high}")
        if self.max_sites is not None and self.max_sites < self.min_sites:
            raise ValueError(
                f"max_sites {self.max_sites} 小于 min_sites {self.min_sites} / max_sites is below min_sites"
            )
        if self.centre_budget_yuan is not None and self.cost_per_centre_yuan == 0:
            raise ValueError(
                "给出 centre_budget_yuan 时须给出 cost_per_centre_yuan / a centre budget needs "
                "the cost of one centre: give cost_per_centre_yuan"
            )
        if (
            self.budget_yuan is not None
            and self.cost_per_bed_yuan == 0
            and self.cost_per_site_yuan == 0
        ):
            raise ValueError(
                "给出 budget_yuan 时须给出 cost_per_bed_yuan 或 cost_per_site_yuan / a budget needs "
                "costs: give cost_per_bed_yuan and/or cost_per_site_yuan"
            )
        self._phases_in_order()
        return self

    def _phases_in_order(self) -> None:
        """Years strictly increasing, cumulative targets never falling, the last within new_beds."""
        last: dict[str, tuple[int, int]] = {}
        for k, phase in enumerate(self.phases):
            if k and phase.year <= self.phases[k - 1].year:
                raise ValueError(
                    f"phases[{k}].year {phase.year} 不晚于上一期 {self.phases[k - 1].year} / "
                    "years must increase strictly: list the phases in year order, each year once"
                )
            for key in ("beds_by_end", "centres_by_end"):
                value = getattr(phase, key)
                if value is None:
                    continue
                if key in last and value < last[key][0]:
                    before, earlier = last[key]
                    raise ValueError(
                        f"phases[{k}].{key} {value} 小于 {earlier} 年的 {before} / is below year "
                        f"{earlier}'s {before}: targets count from the start of the plan, give "
                        "the cumulative figure"
                    )
                last[key] = (value, phase.year)
        beds = [p.beds_by_end for p in self.phases if p.beds_by_end is not None]
        if beds and beds[-1] > self.new_beds:
            raise ValueError(
                f"phases 的 beds_by_end {beds[-1]} 超过 new_beds {self.new_beds} / the last "
                f"beds_by_end exceeds new_beds: raise new_beds to at least {beds[-1]}"
            )
        costs = self.cost_per_bed_yuan + self.cost_per_site_yuan + self.cost_per_centre_yuan
        if costs == 0 and any(p.budget_yuan is not None for p in self.phases):
            raise ValueError(
                "phases 给出 budget_yuan 时须给出造价 / a phase's budget needs costs: give "
                "cost_per_bed_yuan, cost_per_site_yuan and/or cost_per_centre_yuan"
            )


# Plausible annual growth of the older population: China's 60+ grew 3-6 % a year 2010-2020; a
# value beyond 20 % is a percentage written for a share (3.5 for 0.035).
MAX_GROWTH_RATE = 0.2


class Demand(_Model):
    """Older residents at the plan's horizon year (机构跟着老人走): the siting recommendations plan
    for them, while coverage, gaps and the map stay on the population data's year.

    With ``horizon_year`` set, give exactly one of ``older_growth_rate`` or ``census_2010`` (the
    rate then derived from the county's 2010 and 2020 censuses: r = (older_2020 /
    older_2010)^(1/10) - 1). Older residents are scaled by (1 + r)^(horizon_year - base_year).
    """

    base_year: Annotated[int, Field(ge=1950, le=2100)] = 2020
    """The year of the population data (WorldPop and the census: 2020)."""
    horizon_year: Annotated[int, Field(ge=1950, le=2100)] | None = None
    """The plan's year that sites are recommended for; none: no projection."""
    older_growth_rate: Annotated[float, Field(allow_inf_nan=False)] | None = None
    """The older population's growth per year, a share (0.035 for 3.5 %; may be negative; within
    ±0.2)."""
    census_2010: InputPath | None = None
    """A 2010 county census workbook (census_county_2010_v1.xlsx) the growth rate is derived
    from."""
    census_2020: InputPath | None = None
    """A 2020 county census workbook for the rate's 2020 end; else the table shipped with
    carecircle."""
    census_county: Annotated[str | None, BeforeValidator(_code_as_text)] = None
    """The county (6-digit 区划代码 or name) whose censuses give the rate; else
    ``data.population.census_county``."""
    census_2010_code: Annotated[
        str | None, BeforeValidator(_code_as_text), Field(pattern=r"^\d{6}$")
    ] = None
    """The county's 区划代码 in the 2010 table when it changed since (密云县 110228 for 密云区
    110118); else the 2020 code."""

    @model_validator(mode="after")
    def _one_rate(self) -> Demand:
        census = ("census_2010", "census_2020", "census_county", "census_2010_code")
        if self.horizon_year is None:
            given = [k for k in ("older_growth_rate", *census) if getattr(self, k) is not None]
            if given:
                raise ValueError(
                    f"给出 {', '.join(given)} 时须给出 horizon_year / {', '.join(given)} need "
                    "horizon_year (the plan's year, e.g. horizon_year: 2025)"
                )
            return self
        if self.horizon_year < self.base_year:
            raise ValueError(
                f"规划年 {self.horizon_year} 早于基准年 {self.base_year} / horizon_year "
                f"{self.horizon_year} is before base_year {self.base_year}; give the plan's year"
            )
        if (self.older_growth_rate is None) == (self.census_2010 is None):
            got = "both" if self.census_2010 is not None else "neither"
            raise ValueError(
                "须且只须给出 older_growth_rate 或 census_2010 之一 / give exactly one of "
                f"older_growth_rate (e.g. 0.035) or census_2010 (a 2010 county table; got {got})"
            )
        if self.census_2010 is None:
            _refuse_with(self, "older_growth_rate", census)
        rate = self.older_growth_rate
        if rate is not None and not (-MAX_GROWTH_RATE <= rate <= MAX_GROWTH_RATE):
            raise ValueError(
                f"年增长率 {rate:g} 超出 ±{MAX_GROWTH_RATE:g} / older_growth_rate {rate:g} is "
                f"beyond ±{MAX_GROWTH_RATE:g} a year: it is a share, write 0.035 for 3.5 %"
            )
        return self


class Policy(_Model):
    """Rules to check: catalogue ids mapped to ``null`` (catalogue value) or an override."""

    document: str | None = None
    """The policy document the targets come from."""
    targets: dict[str, float | dict[str, float] | None] = Field(default_factory=dict)
    """Catalogue rule ids mapped to ``null`` (the catalogue's value), a number or a mapping of
    parameters."""


class PlanSpec(_Model):
    """How to read an allocation plan under review (``carecircle check-plan PLAN``).

    ``facilities`` and ``projects`` are read like layers, without ``path``: the file is the
    command's PLAN argument. A GeoPackage or workbook with two or more layers (sheets) holds them
    as the layers named by ``layer``; a file with one layer (Shapefile, GeoJSON, CSV) holds one
    table whose column mapped to ``record`` says which row is which, read with the two parts'
    ``columns`` merged (see :mod:`carecircle.sources.plan`). ``types`` maps the plan's
    facility-type wording to tiers, over ``data.facilities.types``.
    """

    facilities: LayerFormat = Field(default_factory=LayerFormat)
    """How to read the plan's facilities (a layer without ``path``)."""
    projects: LayerFormat = Field(default_factory=LayerFormat)
    """How to read the plan's housing projects (a layer without ``path``)."""
    types: dict[str, FacilityTier] = Field(default_factory=dict)
    """The plan's facility-type wording mapped to tiers, over ``data.facilities.types``."""


PositiveInt = Annotated[int, Field(gt=0)]


class InputLimits(_Model):
    """Bounds on the input files a run or a plan check reads (layers and plans are untrusted).

    Each is checked before the heavy read and refused with exit 2 and one line naming the key;
    a county that really has more data raises the key here (``limits: {rows: 500000}``), and
    ``carecircle check-plan --limit plan_rows=20000`` raises one for a single check.
    """

    file_mb: PositiveFloat = 500.0
    """A layer or table file (GeoPackage, Shapefile .dbf, GeoJSON, CSV, XLSX), as stored."""
    plan_file_mb: PositiveFloat = 50.0
    """An allocation plan under review, as stored."""
    rows: PositiveInt = 200_000
    """Features or rows of one layer or table."""
    plan_rows: PositiveInt = 5_000
    """Rows of an allocation plan (a county plan has tens to hundreds)."""
    unzipped_mb: PositiveFloat = 1_000.0
    """What a workbook, .gz or .bz2 file holds once decompressed."""
    sheet_cells: PositiveInt = 5_000_000
    """Cells of one worksheet (rows × columns of its used range)."""
    field_chars: PositiveInt = 2_000
    """Characters of one text value (a name, a code, an address)."""
    road_file_mb: PositiveFloat = 2_000.0
    """A road file (OSM XML, PBF, GraphML), as stored."""
    osm_nodes: PositiveInt = 5_000_000
    """Nodes of an OSM XML file, counted before it is parsed (a county has well under 2 M)."""
    osm_unzipped_mb: PositiveFloat = 2_000.0
    """What an OSM XML (.gz/.bz2) or PBF file holds once decompressed."""
    raster_cells: PositiveInt = 400_000_000
    """Cells of the window read from one population raster (20,000 × 20,000)."""

    def raised(self, overrides: Mapping[str, float]) -> InputLimits:
        """These limits with ``overrides`` (``{"plan_rows": 20000}``) applied and validated."""
        return InputLimits.model_validate({**self.model_dump(), **overrides})


class QualityOptions(_Model):
    """When the data-quality warnings of a run show as a banner on the map and the report."""

    off_network_share: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.05
    """Older residents beyond the mapped roads (or outside every village) above this share put a
    banner on the map and the report."""
    sparse_roads_ratio: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 0.25
    """A village with less road length per km² than this fraction of the county's median is
    flagged: its roads are probably unmapped."""
    census_ratio_warn: Annotated[float, Field(ge=1, allow_inf_nan=False)] = 1.5
    """A residents raster and a census table that differ by this factor or more are flagged."""


class Scenario(_Model):
    """A validated scenario. Build it with :func:`load_scenario`."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    """The scenario's short name, used for output folders; the file's name when absent."""
    title: str | None = None
    """The title shown on the map and the report."""
    crs: str = "auto"
    """The metric CRS of the analysis (e.g. ``EPSG:4549``); ``auto`` picks the UTM zone."""
    area: StudyArea
    """The study area."""
    data: DataSources
    """The county's data."""
    tiers: dict[FacilityTier, TierTravel] = Field(default_factory=_default_tiers)
    """The travel mode and minutes of each facility tier."""
    circle: Circle = Field(default_factory=Circle)
    """Which services make the 15-minute circle."""
    travel: Travel = Field(default_factory=Travel)
    """Travel speeds."""
    map: MapOptions = Field(default_factory=MapOptions)
    """How the HTML map is drawn."""
    policy: Policy = Field(default_factory=Policy)
    """The rules to check."""
    siting: Siting | None = None
    """The regional nursing-home siting problem; none when absent."""
    demand: Demand = Field(default_factory=Demand)
    """Older residents at the plan's horizon year, for the siting recommendations."""
    plan: PlanSpec | None = None
    """How to read an allocation plan under review (``check-plan``)."""
    limits: InputLimits = Field(default_factory=InputLimits)
    """Bounds on the input files a run or a plan check reads."""
    quality: QualityOptions = Field(default_factory=QualityOptions)
    """When data-quality warnings show as a banner."""
    source_file: Path | None = Field(default=None, exclude=True)

    def tier(self, name: str) -> TierTravel:
        """Travel settings of a tier; the village tier always exists (15 min walk by default)."""
        found = self.tiers.get(name) or _default_tiers().get(name)  # type: ignore[call-overload]
        return found if found is not None else TierTravel(mode="drive", minutes=30)

    def tier_services(self, name: str) -> tuple[str, ...]:
        """The facility tiers a scored tier's reach counts (``tiers.<name>.services``)."""
        given = self.tier(name).services
        return tuple(given) if given else TIER_SERVICES.get(name, (name,))


# --- loading --------------------------------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last silently).

    It also turns what SafeLoader would crash on into YAML errors with their line: a list or
    mapping used as a key, and values its constructors cannot convert (``2024-13-45``,
    ``!!int abc``, an empty ``!!timestamp``, an integer of more than 4300 digits).
    """

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (yaml.YAMLError, RecursionError, MemoryError):
            raise
        except Exception as exc:  # a constructor fed a malformed scalar: any builtin error
            shown = _short(node.value) if isinstance(node, yaml.ScalarNode) else node.tag
            detail = str(exc).split(";")[0]
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"无法读取的值 / unreadable value {shown} ({detail}); fix the value",
                node.start_mark,
            ) from None


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:  # `<<: *defaults`; keys given here override merged ones
            continue
        key = loader.construct_object(key_node)
        try:
            repeated = key in seen
        except TypeError:  # unhashable: a list or mapping used as a key
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"键须为文本或数值 / a key must be text or a number, not a {type(key).__name__}",
                key_node.start_mark,
            ) from None
        if repeated:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"键 {_short(key)} 重复 / duplicate key {_short(key)} (first on line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_scenario(
    path: str | Path, *, check_files: bool = True, data_from: str | Path | None = None
) -> Scenario:
    """Read and validate a scenario file.

    Parameters
    ----------
    path
        The YAML file. Relative paths inside it resolve against its folder.
    check_files
        Require every input file to exist (default). Off, paths are still resolved.
    data_from
        Run the scenario's targets, tiers and siting problem on another scenario's data: its
        ``area``, ``data`` and ``crs`` replace this one's. A path to a scenario file, or a name
        such as ``demo`` for ``demo.yaml`` beside this scenario. The name becomes
        ``<name>-on-<other name>`` so outputs do not overwrite the real run's.

    Raises
    ------
    ScenarioError
        With every problem found, each with its key path.
    InputFileNotFound
        When ``path`` itself does not exist.
    """
    from carecircle.errors import InputFileNotFound

    path = Path(path)
    if not path.is_file():
        raise InputFileNotFound(
            f"情景文件不存在 / scenario file not found: {path} "
            "(check the path; scenarios live in scenarios/)"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            str(path),
            [("", f"不是 UTF-8 文本 / not UTF-8 text ({exc.reason}); save the file as UTF-8")],
        ) from None
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)
    except RecursionError:
        raise ScenarioError(
            str(path),
            [("", "YAML 嵌套过深 / malformed YAML, nested too deeply; flatten the document")],
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        context, opened = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and opened:  # e.g. "while parsing a flow sequence" and where it began
            problem += f" ({context}, from line {opened.line + 1})"
        if not isinstance(exc, yaml.constructor.ConstructorError):  # those say their own fix
            problem += "; check the brackets, quotes and indentation there"
        raise ScenarioError(
            str(path), [("", f"YAML 格式错误 / malformed YAML, {where}{problem}")]
        ) from None
    if data_from is None:
        return scenario_from_dict(
            raw, base_dir=path.parent, source=str(path), check_files=check_files
        )
    other = load_scenario(_data_scenario(path, data_from), check_files=check_files)
    own = scenario_from_dict(raw, base_dir=path.parent, source=str(path), check_files=False)
    return own.model_copy(
        update={
            "area": other.area,
            "data": other.data,
            "crs": other.crs,
            "name": f"{own.name}-on-{other.name}",
        }
    )


def _data_scenario(path: Path, data_from: str | Path) -> Path:
    candidate = Path(data_from)
    if candidate.suffix.lower() in {".yaml", ".yml"} or candidate.is_file():
        return candidate
    return path.parent / f"{data_from}.yaml"


def scenario_from_dict(
    raw: object,
    *,
    base_dir: str | Path = ".",
    source: str = "<scenario>",
    check_files: bool = True,
) -> Scenario:
    """Validate an already-parsed scenario mapping (see :func:`load_scenario`)."""
    if not isinstance(raw, dict):
        kind = type(raw).__name__ if raw is not None else "an empty file"
        raise ScenarioError(
            source,
            [("", f"顶层须为键值映射 / the top level must be a mapping of keys, got {kind}")],
        )
    raw = dict(raw)
    if source != "<scenario>":
        raw.setdefault("name", Path(source).stem)
    context = {"base_dir": Path(base_dir).resolve(), "check_files": check_files}
    problems: list[tuple[str, str]] = []
    scenario: Scenario | None = None
    try:
        try:
            scenario = Scenario.model_validate(raw, context=context)
        except ValidationError as exc:
            problems.extend(_explain(error) for error in exc.errors())
        problems.extend(_policy_problems(raw.get("policy")))
    except RecursionError:  # a value nested deeper than Python can walk
        problems.append(("", "嵌套过深 / a value is nested too deeply; flatten the document"))
    if problems or scenario is None:
        raise ScenarioError(source, sorted(set(problems), key=problems.index))
    if source != "<scenario>":
        scenario = scenario.model_copy(update={"source_file": Path(source).resolve()})
    return scenario


def _explain(error: Any) -> tuple[str, str]:
    """Turn one pydantic error into (key path, message naming what was received and the fix)."""
    loc = tuple(error["loc"])
    kind = error["type"]
    if loc and loc[-1] == "[key]":  # a mapping key outside its allowed set, e.g. a tier name
        loc = loc[:-1]
        valid = list(
            error.get("ctx", {})
            .get("expected", "")
            .replace("'", "")
            .replace(" or ", ", ")
            .split(", ")
        )
        hint = _closest(str(loc[-1]), valid)
        return _dotted(loc), f"未知的键 / unknown key{hint}; valid keys here: {', '.join(valid)}"
    if kind == "extra_forbidden":
        valid = _valid_keys(Scenario, loc[:-1])
        hint = _closest(str(loc[-1]), valid)
        return _dotted(loc), f"未知的键 / unknown key{hint}; valid keys here: {', '.join(valid)}"
    if kind == "missing":
        return _dotted(loc), "缺少必填项 / required key is missing"
    if kind == "literal_error":
        got = error.get("input")
        choices = error.get("ctx", {}).get("expected", "")
        words = re.findall(r"'([^']*)'", str(choices))
        hint = _closest(str(got), words) if isinstance(got, str) else ""
        return _dotted(loc), f"取值无效 / invalid value {_short(got)}{hint}; expected {choices}"
    message = str(error["msg"]).removeprefix("Value error, ")
    zh = _ZH.get(kind)
    if zh is not None:
        message = (
            f"{zh.format(**error.get('ctx', {}))} / {message} (got {_short(error.get('input'))})"
        )
    return _dotted(loc), message


# Chinese for the pydantic errors a scenario author meets most (value errors are already bilingual).
_ZH: Mapping[str, str] = {
    "greater_than": "须大于 {gt:g}",
    "greater_than_equal": "须不小于 {ge:g}",
    "less_than": "须小于 {lt:g}",
    "less_than_equal": "须不大于 {le:g}",
    "finite_number": "须为有限数值",
    "float_parsing": "须为数值",
    "float_type": "须为数值",
    "int_parsing": "须为整数",
    "int_type": "须为整数",
    "int_from_float": "须为整数",
    "bool_parsing": "须为 true 或 false",
    "bool_type": "须为 true 或 false",
    "string_type": "须为文本",
    "string_pattern_mismatch": "格式不符",
    "dict_type": "须为键值映射",
    "model_type": "须为键值映射",
    "list_type": "须为列表",
    "tuple_type": "须为列表",
    "too_short": "项数不足",
    "too_long": "项数过多",
}


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 3, 80, 80, 40


def _short(value: object) -> str:
    """``repr`` cut to a readable length, cheap even for huge or self-referencing values."""
    try:
        return _REPR.repr(value)
    except (ValueError, RecursionError):  # an int beyond the digit limit, a pathological nesting
        return f"<{type(value).__name__}>"


def _dotted(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if not (isinstance(p, str) and p.startswith("function-"))]
    return ".".join(parts)


def _closest(word: str, valid: list[str]) -> str:
    match = difflib.get_close_matches(word, valid, n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _valid_keys(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model found at ``loc`` below ``root`` (for 'valid keys' hints)."""
    annotation: Any = root
    for part in loc:
        annotation = _step(annotation, part)
        if annotation is None:
            return []
    model = _as_model(annotation)
    return sorted(model.model_fields) if model else []


def _step(annotation: Any, part: Any) -> Any:
    model = _as_model(annotation)
    if model is not None:
        field = model.model_fields.get(str(part))
        return field.annotation if field else None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (dict, Mapping) and len(args) == 2:
        return args[1]
    if origin in (list, tuple) and args:
        return args[0]
    return None


def _as_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, Annotated):
        for arg in typing.get_args(annotation):
            model = _as_model(arg)
            if model is not None:
                return model
    return None


def _policy_problems(raw_policy: object) -> list[tuple[str, str]]:
    """Rule ids and parameter names must exist in the catalogue; values must be finite."""
    if not isinstance(raw_policy, dict) or not isinstance(raw_policy.get("targets"), dict):
        return []
    problems: list[tuple[str, str]] = []
    for rule_id, value in raw_policy["targets"].items():
        where = f"policy.targets.{rule_id}"
        rule = policy.CATALOGUE.get(str(rule_id))
        if rule is None:
            hint = _closest(str(rule_id), list(policy.CATALOGUE))
            problems.append(
                (
                    where,
                    f"规则不存在 / no such rule{hint}; see `carecircle rules` for the catalogue",
                )
            )
            continue
        if isinstance(value, dict):
            for name, number in value.items():
                if name not in rule.params:
                    valid = ", ".join(rule.params)
                    problems.append(
                        (f"{where}.{name}", f"规则无此参数 / unknown parameter; valid: {valid}")
                    )
                elif not _finite(number):
                    problems.append(
                        (
                            f"{where}.{name}",
                            f"须为有限数值 / must be a finite number (got {_short(number)})",
                        )
                    )
                else:
                    problems.extend(_implausible(f"{where}.{name}", rule.params[name], number))
        elif value is not None and len(rule.params) == 1 and _finite(value):
            problems.extend(_implausible(where, next(iter(rule.params.values())), value))
        elif value is not None and len(rule.params) != 1:
            valid = ", ".join(rule.params)
            problems.append(
                (
                    where,
                    f"此规则有多个参数，请逐项给出 / this rule has several parameters; give a mapping of {valid}",
                )
            )
    return problems


def _implausible(where: str, param: Any, value: Any) -> list[tuple[str, str]]:
    """A rule value no county document can mean: negative, a share above 1, a circle of more
    than two hours, or ten times (a tenth of) the catalogue's value: a unit slip (% for a
    share, seconds for minutes, m² for 亩)."""
    v, default, unit = float(value), float(param.value), str(param.unit)
    problem = None
    if v < 0 or (unit == "minutes" and v <= 0):
        problem = "须为正数 / must be positive"
    elif unit == "share" and v > 1:
        problem = "比例须在 0–1 之间 / a share lies between 0 and 1 (write 0.55, not 55)"
    elif unit == "minutes" and v > 120:
        problem = "超过 120 分钟 / more than 120 minutes: the value is in minutes"
    elif default > 0 and v > 0 and not (default / 10 <= v <= default * 10):
        problem = (
            f"与目录值 {default:g} 相差十倍以上 / more than ten times off the catalogue's "
            f"{default:g} {unit}: check the unit"
        )
    return [(where, f"{problem} (got {_short(value)})")] if problem else []


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
