"""Constants of the demo county, its size table (SIZES) and the per-stage random generators."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import numpy as np
import numpy.typing as npt

logger = logging.getLogger("carecircle.demo")  # one logger for every stage
logger.addHandler(logging.NullHandler())

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Rng = np.random.Generator
TownshipKind = Literal["街道", "镇", "乡"]

GENERATOR_VERSION = "1.0"
COUNTY_NAME = "青溪县"
COUNTY_CODE = "339021"  # fictional: 3390xx is not a real Zhejiang prefecture
LOCAL_CRS = "EPSG:4549"  # CGCS2000 / 3-degree Gauss-Kruger CM 120E
GEO_CRS = "EPSG:4490"  # CGCS2000 lon/lat, as the land-resource bureau delivers
WGS84 = "EPSG:4326"  # OSM, WorldPop and the civil-affairs register
CENTRE_LONLAT = (120.30, 28.80)
PIXEL_DEG = 1.0 / 1200.0  # 3 arc-seconds, the WorldPop 100 m grid
NODATA = -99999.0
MAX_NODE_SPACING_M = 95.0  # under the 100 m the project's snapping relies on
SNAP_M = 0.25  # road vertices closer than this are one junction
FIXED_GPKG_DATE = "2022-01-01T00:00:00Z"
FILES = (
    "admin.gpkg",
    "facilities.csv",
    "manifest.json",
    "parcels.gpkg",
    "population.tif",
    "roads.osm",
    "township_population.csv",
)
FACILITY_TYPES = (
    "村级居家养老服务照料中心",
    "社区居家养老服务照料中心",
    "农村幸福院",
    "互助养老服务点",
    "乡镇（街道）居家养老服务中心",
    "敬老院",
    "县级公办养老机构",
)
FACILITY_COLUMNS = (
    "机构编号",
    "机构名称",
    "机构类型",
    "所在村社区代码",
    "经度",
    "纬度",
    "建筑面积（平方米）",
    "床位数",
    "护理型床位数",
)
CENSUS_COLUMNS = ("乡镇街道代码", "乡镇街道名称", "常住人口", "60岁及以上人口", "65岁及以上人口")
WALK_EXCLUDED = frozenset({"motorway", "motorway_link"})


DemoSizeName = Literal["small", "county"]


@dataclass(frozen=True)
class DemoSize:
    """Parameters of one demo-county size.

    Ranges are inclusive ``(low, high)``; the generator draws inside them from the seed.

    Attributes
    ----------
    width_km, height_km
        Extent of the outline before it is perturbed and scaled to ``area_km2``.
    area_km2
        Area of the county.
    township_kinds
        Kind of each township in code order: 街道 first, then 镇, then 乡.
    villages
        Number of administrative villages and communities (行政村 + 社区).
    population
        Resident population of the county (the raster total inside the county).
    shares
        Shares of the population living in the county town, the other town seats, the villages
        and dispersed over the countryside.
    hills, hill_area_km2
        Number of hills and the area of one hill.
    tributaries
        Number of tributaries joining the main river (the main river is always there).
    river_half_width_m
        Half the width of the main river; tributaries are about half as wide.
    island_m
        Length and greatest width of the river island (江心洲).
    jiedao_radius_km
        Radius of the territory of the county-town 街道.
    city_radius_km
        Radius of the county town's built-up street grid.
    town_radius_km
        Radius of a 镇 seat's built-up area; 乡 seats get 60 % of the lower bound.
    seat_gap_km, seat_edge_km
        Least distance of a 镇 seat from the county town and of any seat from the boundary.
    lattice_m
        Spacing of the routing lattice on which main and village roads are laid.
    field_spacing_m
        Mean spacing of the junctions of farm tracks and field paths.
    bridge_penalty_m
        Extra cost (metres) of a new river crossing for main roads and for village roads.
    exits
        Numbers of primary, secondary and tertiary roads leaving the county.
    minor_bridges
        Number of extra footbridges and village bridges.
    parcels
        Number of candidate parcels.
    townships_without_centre
        Number of townships given no township centre.
    far_edge_centres
        Number of village centres placed at the far edge of a large village.
    """

    width_km: float
    height_km: float
    area_km2: float
    township_kinds: tuple[TownshipKind, ...]
    villages: tuple[int, int]
    population: tuple[int, int]
    shares: tuple[float, float, float, float]
    hills: tuple[int, int]
    hill_area_km2: tuple[float, float]
    tributaries: tuple[int, int]
    river_half_width_m: float
    island_m: tuple[float, float]
    jiedao_radius_km: float
    city_radius_km: float
    town_radius_km: tuple[float, float]
    seat_gap_km: float
    seat_edge_km: float
    lattice_m: float
    field_spacing_m: float
    bridge_penalty_m: tuple[float, float]
    exits: tuple[int, int, int]
    minor_bridges: int
    parcels: tuple[int, int]
    townships_without_centre: tuple[int, int]
    far_edge_centres: int


SIZES: Mapping[str, DemoSize] = MappingProxyType(
    {
        "small": DemoSize(
            width_km=7.3,
            height_km=7.0,
            area_km2=50.0,
            township_kinds=("街道", "镇", "镇"),
            villages=(22, 26),
            population=(58_000, 72_000),
            shares=(0.50, 0.16, 0.29, 0.05),
            hills=(1, 2),
            hill_area_km2=(1.2, 3.0),
            tributaries=(0, 0),
            river_half_width_m=30.0,
            island_m=(650.0, 170.0),
            jiedao_radius_km=1.75,
            city_radius_km=1.15,
            town_radius_km=(0.45, 0.6),
            seat_gap_km=2.2,
            seat_edge_km=0.7,
            lattice_m=100.0,
            field_spacing_m=110.0,
            bridge_penalty_m=(600.0, 2500.0),
            exits=(2, 1, 0),
            minor_bridges=2,
            parcels=(8, 12),
            townships_without_centre=(1, 1),
            far_edge_centres=2,
        ),
        "county": DemoSize(
            width_km=44.0,
            height_km=38.0,
            area_km2=1500.0,
            township_kinds=("街道", "街道", "镇", "镇", "镇", "镇", "镇", "镇", "镇", "乡", "乡"),
            villages=(145, 165),
            population=(330_000, 420_000),
            shares=(0.30, 0.22, 0.42, 0.06),
            hills=(5, 8),
            hill_area_km2=(2.0, 40.0),
            tributaries=(1, 2),
            river_half_width_m=45.0,
            island_m=(900.0, 220.0),
            jiedao_radius_km=4.3,
            city_radius_km=2.6,
            town_radius_km=(0.55, 0.9),
            seat_gap_km=6.0,
            seat_edge_km=2.5,
            lattice_m=200.0,
            field_spacing_m=130.0,
            bridge_penalty_m=(1500.0, 5000.0),
            exits=(2, 2, 1),
            minor_bridges=6,
            parcels=(60, 90),
            townships_without_centre=(1, 2),
            far_edge_centres=3,
        ),
    }
)

# Each stage draws from np.random.default_rng([seed, stage]) so stages are independent.
_ST_OUTLINE, _ST_RIVERS, _ST_HILLS, _ST_TOWNSHIPS, _ST_VILLAGES, _ST_NAMES = range(1, 7)
_ST_MAIN_ROADS, _ST_STREETS, _ST_LANES, _ST_FIELDS, _ST_TRAILS, _ST_BRIDGES = range(7, 13)
_ST_POPULATION, _ST_CENSUS, _ST_FACILITIES, _ST_PARCELS = range(13, 17)


def _rng(seed: int, stage: int) -> Rng:
    return np.random.default_rng([seed, stage])


def _words(text: str) -> tuple[str, ...]:
    """Space-separated names as a tuple (compact for long lists of Chinese names)."""
    return tuple(text.split())
