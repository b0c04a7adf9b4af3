"""The generated demo county: 青溪县 (Qingxi County), fictional.

Every layer is invented by this module from a seed, so the project can be tried, tested and
benchmarked without downloading anything, and so nobody mistakes the demo for a real county.
Each layer is written in the format real data arrives in (OSM XML, a WorldPop-style GeoTIFF,
三调-style GeoPackages, census and civil-affairs CSV tables) so the project's real-data readers
read it back unchanged.

How the county is built, in order (each stage draws from its own random generator, derived from the
seed and the stage number, so changing one stage does not reshuffle the others):

1. an irregular outline (a perturbed superellipse) in the local metric CRS (EPSG:4549);
2. a main river flowing away from the mountain side, tributaries, and a river island (江心洲)
   between the main channel and a side channel;
3. hills, mostly on the mountain side, kept clear of rivers and of each other;
4. a routing lattice over the county without hills, with river-crossing edges marked;
5. township seats (county town on the river, 镇 seats spread out, 乡 seats in the mountains) and a
   Voronoi partition; villages by weighted k-means of lattice nodes and Voronoi within townships,
   rural ones with a few outlying hamlets (自然村);
6. roads: the motorway, provincial, county, township and village roads are shortest paths on the
   lattice (so they detour around hills and share bridges), smoothed; street grids in towns; lanes
   in villages; farm tracks and field paths over the countryside; hill footpaths; island paths.
   Lines are cut at river banks and hill feet except bridges, noded at crossings and near-touches,
   densified to <= 95 m between nodes and pruned to one walkable component plus the island;
7. a population raster concentrated on towns and villages, census totals summed from it, and the
   civil-affairs facility register and candidate parcels, with planted planning problems.
"""

from __future__ import annotations

import csv
import functools
import itertools
import json
import logging
import math
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal
from xml.sax.saxutils import quoteattr

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import Delaunay, cKDTree
from shapely import affinity, ops
from shapely.geometry import LineString, MultiPoint, Point, Polygon

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

__all__ = ["SIZES", "DemoSize", "DemoSizeName", "generate_demo"]

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


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def generate_demo(
    out_dir: str | Path,
    *,
    size: DemoSizeName = "small",
    seed: int = 2022,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write the demo county into out_dir (created if needed) and return the manifest dict (also written as manifest.json).

    Parameters
    ----------
    out_dir
        Directory to write into. Files are built in a hidden sibling directory and moved in one by
        one when all are complete, so an interrupted run never leaves a half-written dataset.
    size
        ``"small"`` (about 50 km², 3 townships) or ``"county"`` (about 1,500 km², 11
        townships); see :data:`SIZES`.
    seed
        Seed of every random draw. The same size and seed give byte-identical files.
    progress
        Called with a short Chinese + English message at the start of each stage.

    Returns
    -------
    dict
        The manifest: name, size, seed, CRS of each file, bounding box, counts, population totals,
        the planted planning problems and the file list.

    Raises
    ------
    ValueError
        If ``size`` is not one of the keys of :data:`SIZES`.
    """
    if size not in SIZES:
        raise ValueError(
            f"未知的示例规模 / unknown demo size: {size!r}; choose one of {', '.join(SIZES)}"
        )
    params = SIZES[size]
    say = _Reporter(progress)
    layout = _plan_layout(params, seed, say)
    say("生成道路网 / generating roads")
    network = _build_network(layout, seed, say)
    say("生成人口栅格 / generating population raster")
    raster = _population_raster(layout, seed)
    say("统计乡镇人口 / tabulating township population")
    census = _census(layout, raster, seed)
    say("生成养老设施 / generating care facilities")
    facilities = _facilities(layout, network, seed)
    say("生成候选地块 / generating candidate parcels")
    parcels = _parcels(layout, network, seed)
    out = Path(out_dir)
    with _staging_dir(out) as tmp:
        say("写出文件 / writing files")
        _write_osm(tmp / "roads.osm", network, layout)
        _write_raster(tmp / "population.tif", raster)
        _write_csv(tmp / "township_population.csv", CENSUS_COLUMNS, census.rows)
        _write_admin(tmp / "admin.gpkg", layout)
        _write_csv(tmp / "facilities.csv", FACILITY_COLUMNS, [f.row() for f in facilities])
        _write_parcels(tmp / "parcels.gpkg", parcels)
        manifest = _manifest(size, seed, layout, network, raster, census, facilities, parcels)
        text = json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        (tmp / "manifest.json").write_text(text, encoding="utf-8")
        _publish(tmp, out)
    say("完成 / done")
    return manifest


class _Reporter:
    """Send stage messages to the caller's callback and to the log."""

    def __init__(self, progress: Callable[[str], None] | None) -> None:
        self._progress = progress

    def __call__(self, message: str) -> None:
        logger.info("%s", message)
        if self._progress is not None:
            self._progress(message)


# --------------------------------------------------------------------------------------------
# Coordinates
# --------------------------------------------------------------------------------------------


@functools.cache
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def _to_lonlat(xy: FloatArray) -> FloatArray:
    """Local metric coordinates -> CGCS2000 lon/lat (used as WGS84 too: they differ by cm)."""
    lon, lat = _transformer(LOCAL_CRS, GEO_CRS).transform(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat]).astype(np.float64)


def _to_local(lonlat: FloatArray) -> FloatArray:
    x, y = _transformer(GEO_CRS, LOCAL_CRS).transform(lonlat[:, 0], lonlat[:, 1])
    return np.column_stack([x, y]).astype(np.float64)


def _geom_to_lonlat(geom: Any) -> Any:
    """Project a local geometry to lon/lat after densifying so edges keep their shape."""
    dense = shapely.segmentize(geom, 50.0)
    return shapely.transform(dense, _to_lonlat)


def _geom_to_local(geom: Any) -> Any:
    return shapely.transform(geom, _to_local)


def _unit(angle: float) -> FloatArray:
    return np.array([math.cos(angle), math.sin(angle)])


def _perp(v: FloatArray) -> FloatArray:
    return np.array([-v[1], v[0]])


def _cumlen(coords: FloatArray) -> FloatArray:
    seg = np.hypot(*np.diff(coords, axis=0).T)
    return np.concatenate([[0.0], np.cumsum(seg)])


def _interp(coords: FloatArray, cum: FloatArray, at: FloatArray) -> FloatArray:
    return np.column_stack([np.interp(at, cum, coords[:, 0]), np.interp(at, cum, coords[:, 1])])


def _insert(coords: FloatArray, dists: FloatArray, points: FloatArray) -> FloatArray:
    """Insert points (lying on the line at the given distances along it) as vertices.

    The points are inserted with their exact coordinates, so another line holding the same point
    shares the vertex bit for bit; that is how junctions get shared node ids.
    """
    if len(dists) == 0:
        return coords
    order = np.argsort(dists, kind="stable")
    pos = np.searchsorted(_cumlen(coords), dists[order], side="right")
    pos = np.clip(pos, 1, len(coords) - 1)
    return np.insert(coords, pos, points[order], axis=0)


def _split_at(coords: FloatArray, cuts: Sequence[float]) -> list[FloatArray]:
    """Split a line at distances along it; neighbouring pieces share the cut point exactly."""
    cum = _cumlen(coords)
    bounds = np.concatenate([[0.0], np.asarray(cuts, dtype=np.float64), [cum[-1]]])
    points = _interp(coords, cum, bounds)
    points[0], points[-1] = coords[0], coords[-1]
    pieces = []
    for k in range(len(bounds) - 1):
        inner = coords[(cum > bounds[k]) & (cum < bounds[k + 1])]
        pieces.append(np.vstack([points[k], inner, points[k + 1]]))
    return pieces


def _chaikin(coords: FloatArray, iterations: int) -> FloatArray:
    """Corner-cutting smoothing with both end points kept exactly (they are junctions)."""
    for _ in range(iterations):
        if len(coords) < 3:
            break
        p, q = coords[:-1], coords[1:]
        cut = np.empty((2 * len(p), 2))
        cut[0::2] = 0.75 * p + 0.25 * q
        cut[1::2] = 0.25 * p + 0.75 * q
        coords = np.vstack([coords[0], cut[1:-1], coords[-1]])
    return coords


def _simplify(coords: FloatArray, tolerance: float) -> FloatArray:
    """Drop vertices that smoothing left on near-straight stretches (end points are kept)."""
    return np.asarray(shapely.get_coordinates(shapely.simplify(LineString(coords), tolerance)))


def _blob(centre: FloatArray, radius: float, rng: Rng, wobble: float = 0.12) -> Polygon:
    """A roundish polygon with a wobbly edge (built-up areas, hills, the 街道 territory)."""
    theta = np.linspace(0.0, 2 * math.pi, 96, endpoint=False)
    k = np.arange(2, 7)
    amp = rng.uniform(0.0, wobble, k.size) / np.sqrt(k - 1)
    phase = rng.uniform(0.0, 2 * math.pi, k.size)
    r = radius * (1 + (amp[:, None] * np.cos(np.outer(k, theta) + phase[:, None])).sum(axis=0))
    return Polygon(np.column_stack([centre[0] + r * np.cos(theta), centre[1] + r * np.sin(theta)]))


def _polygons(geom: Any) -> list[Polygon]:
    return [g for g in shapely.get_parts(geom) if isinstance(g, Polygon) and g.area > 0]


def _largest(geom: Any) -> Polygon:
    parts = _polygons(geom)
    return max(parts, key=lambda g: g.area)


# --------------------------------------------------------------------------------------------
# Terrain: outline, rivers, island, hills, routing lattice
# --------------------------------------------------------------------------------------------


@dataclass
class _River:
    name: str
    coords: FloatArray  # upstream to downstream, local metres
    half_width: float

    @property
    def line(self) -> LineString:
        return LineString(self.coords)


@dataclass
class _Lattice:
    """A square routing lattice (16 headings) over the county, without hills, island or water."""

    xy: FloatArray  # (n, 2)
    edges: IntArray  # (m, 2)
    length: FloatArray  # (m,)
    crossing: BoolArray  # (m,) the edge crosses a river: usable only as a bridge
    main: BoolArray  # (n,) node in the largest connected part
    spacing: float

    @functools.cached_property
    def tree(self) -> cKDTree:
        return cKDTree(self.xy)

    def nearest(self, point: FloatArray, *, main_only: bool = True) -> int:
        """Index of the lattice node nearest to a point (in the main part by default)."""
        k = min(64, len(self.xy))
        _, idx = self.tree.query(point, k=k)
        for i in np.atleast_1d(idx):
            if not main_only or self.main[i]:
                return int(i)
        return int(np.flatnonzero(self.main)[np.argmin(np.hypot(*(self.xy[self.main] - point).T))])


@dataclass
class _Terrain:
    params: DemoSize
    centre: FloatArray
    radius: float  # radius of the circle with the county's area
    mountain: FloatArray  # unit vector pointing to the mountain side
    outline: Polygon
    rivers: list[_River]
    channel: FloatArray  # side channel around the island
    island: Polygon  # area enclosed by main channel and side channel
    island_land: Polygon  # the island without the water
    water: Any  # river zones (buffers of all channels)
    hills: list[Polygon]
    hill_names: list[str]
    city_centre: FloatArray
    lattice: _Lattice

    @functools.cached_property
    def hills_union(self) -> Any:
        return shapely.union_all(self.hills)

    @functools.cached_property
    def edge_distance(self) -> FloatArray:
        """Distance of each lattice node from the county boundary."""
        pts = shapely.points(self.lattice.xy)
        return np.asarray(shapely.distance(pts, self.outline.exterior), dtype=np.float64)

    def mountain_coord(self, xy: FloatArray) -> FloatArray:
        """How far a point lies towards the mountain side, in county radii (-1 .. 1)."""
        return np.asarray(((xy - self.centre) @ self.mountain) / self.radius, dtype=np.float64)


def _outline(params: DemoSize, centre: FloatArray, rng: Rng) -> Polygon:
    """A perturbed superellipse scaled to the county area: box-like, but no straight edges."""
    theta = np.linspace(0.0, 2 * math.pi, 720, endpoint=False)
    a, b, n = params.width_km * 500.0, params.height_km * 500.0, 2.6
    r = (np.abs(np.cos(theta) / a) ** n + np.abs(np.sin(theta) / b) ** n) ** (-1.0 / n)
    k = np.arange(2, 40)
    amp = np.where(k < 9, rng.uniform(0.015, 0.06, k.size), rng.uniform(0.0, 0.006, k.size))
    amp = amp / np.sqrt(k - 1.0)
    phase = rng.uniform(0.0, 2 * math.pi, k.size)
    r = r * (1 + (amp[:, None] * np.cos(np.outer(k, theta) + phase[:, None])).sum(axis=0))
    turn = theta + rng.uniform(-0.2, 0.2)
    poly = Polygon(np.column_stack([r * np.cos(turn), r * np.sin(turn)]))
    scale = math.sqrt(params.area_km2 * 1e6 / poly.area)
    return Polygon(np.asarray(poly.exterior.coords)[:-1] * scale + centre)


def _main_river(terrain_box: tuple[Polygon, FloatArray, float, FloatArray], rng: Rng) -> FloatArray:
    """A meandering line from the mountain side across the county, passing the centre closely."""
    outline, centre, radius, mountain = terrain_box
    for _ in range(100):
        u = -mountain @ _rotation(rng.uniform(-0.3, 0.3))
        v = _perp(u)
        t = np.arange(-1.8 * radius, 1.8 * radius, 40.0)
        a1, l1 = rng.uniform(0.05, 0.09) * radius, rng.uniform(0.9, 1.4) * radius
        a2, l2 = rng.uniform(0.015, 0.03) * radius, rng.uniform(0.25, 0.45) * radius
        p1, p2 = rng.uniform(0, 2 * math.pi, 2)
        f = a1 * np.sin(2 * math.pi * t / l1 + p1) + a2 * np.sin(2 * math.pi * t / l2 + p2)
        shift = rng.uniform(0.07, 0.14) * radius * rng.choice([-1.0, 1.0])
        f += shift - (a1 * math.sin(p1) + a2 * math.sin(p2))
        line = LineString(centre + np.outer(t, u) + np.outer(f, v)).intersection(outline)
        if isinstance(line, LineString) and line.length > 1.6 * radius:
            return shapely.get_coordinates(shapely.segmentize(line, 40.0))
    raise RuntimeError("could not draw the main river")  # pragma: no cover


def _rotation(angle: float) -> FloatArray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, s], [-s, c]])


def _boundary_point(
    outline: Polygon, centre: FloatArray, angle: float, radius: float
) -> FloatArray:
    """Where a ray from the centre leaves the outline."""
    ray = LineString([centre, centre + 4 * radius * _unit(angle)])
    hit = ray.intersection(outline.exterior)
    pts = shapely.get_coordinates(hit)
    return np.asarray(pts[np.argmax(np.hypot(*(pts - centre).T))], dtype=np.float64)


def _tributary(
    box: tuple[Polygon, FloatArray, float, FloatArray],
    main: FloatArray,
    avoid: list[Any],
    side: float,
    rng: Rng,
) -> FloatArray | None:
    """A smaller river from the boundary on a flank of the mountains to the main river."""
    outline, centre, radius, mountain = box
    main_line = LineString(main)
    for _ in range(60):
        angle = math.atan2(mountain[1], mountain[0]) + side * rng.uniform(0.8, 1.5)
        start = _boundary_point(outline, centre, angle, radius)
        at = rng.uniform(0.1, 0.38) if rng.random() < 0.6 else rng.uniform(0.62, 0.9)
        end = np.asarray(main_line.interpolate(at, normalized=True).coords[0], dtype=np.float64)
        if np.hypot(*(end - centre)) < 0.25 * radius:
            continue
        span = end - start
        t = np.linspace(0.0, 1.0, max(int(np.hypot(*span) / 40.0), 10))
        wig = rng.uniform(-0.12, 0.12) * np.sin(math.pi * t) + 0.025 * np.sin(
            2 * math.pi * rng.integers(2, 4) * t + rng.uniform(0, 6.28)
        ) * np.sin(math.pi * t)
        pts = (
            start
            + np.outer(t, span)
            + np.outer(wig * np.hypot(*span), _perp(span / np.hypot(*span)))
        )
        pts[-1] = end
        line = LineString(pts)
        upstream = ops.substring(line, 0.0, line.length - 1500.0)
        if upstream.distance(main_line) < 400.0 or not line.is_simple:
            continue
        if ops.substring(line, 0.0, line.length - 60.0).intersects(main_line):
            continue
        if any(upstream.distance(o) < 1500.0 for o in avoid):
            continue
        inside = line.intersection(outline)
        part = min(shapely.get_parts(inside), key=lambda g: g.distance(Point(end)))
        if part.length > 0.3 * radius:
            coords = shapely.get_coordinates(part)
            coords[-1] = end  # exactly on the main river: the confluence is a shared node
            return np.asarray(coords, dtype=np.float64)
    return None


def _island(
    main: FloatArray, params: DemoSize, avoid: list[FloatArray], outline: Polygon, rng: Rng
) -> tuple[FloatArray, FloatArray, Polygon]:
    """A side channel leaving and rejoining the main river; the land between is an island.

    Returns the main river with the two fork points inserted, the side channel and the island.
    """
    length, width = params.island_m
    clear = max(1200.0, params.city_radius_km * 1e3 + 800.0)  # away from the town's streets
    line = LineString(main)
    for _ in range(200):
        s0 = rng.uniform(0.08, 0.92) * line.length - length / 2
        if s0 < 0 or s0 + length > line.length:
            continue
        s = np.linspace(s0, s0 + length, int(length / 20.0) + 1)
        centre_pt = np.asarray(line.interpolate(s0 + length / 2).coords[0])
        if any(np.hypot(*(centre_pt - a)) < clear for a in avoid):
            continue
        if outline.exterior.distance(Point(centre_pt)) < 800.0:
            continue
        base = np.asarray([line.interpolate(d).coords[0] for d in s], dtype=np.float64)
        tangent = np.gradient(base, axis=0)
        normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])
        normal /= np.hypot(*normal.T)[:, None]
        offset = width * np.sin(math.pi * (s - s0) / length) * rng.choice([-1.0, 1.0])
        channel = base + normal * offset[:, None]
        channel[0], channel[-1] = base[0], base[-1]
        island = Polygon(np.vstack([base, channel[::-1]]))
        if not island.is_valid or not LineString(channel).is_simple:
            continue
        main = _insert(main, np.array([s[0], s[-1]]), base[[0, -1]])
        return main, channel, island
    raise RuntimeError("could not place the river island")  # pragma: no cover


def _rivers(
    params: DemoSize,
    outline: Polygon,
    centre: FloatArray,
    radius: float,
    mountain: FloatArray,
    rng: Rng,
) -> tuple[list[_River], FloatArray, Polygon, FloatArray]:
    """The main river (青溪), tributaries, the side channel and island, and the county town."""
    box = (outline, centre, radius, mountain)
    main = _main_river(box, rng)
    main_line = LineString(main)
    city = np.asarray(main_line.interpolate(main_line.project(Point(centre))).coords[0])
    tribs: list[FloatArray] = []
    names = list(rng.permutation(["梅溪", "白沙溪", "南溪", "龙溪", "双溪", "桃溪", "黄坛溪"]))
    for k in range(int(rng.integers(params.tributaries[0], params.tributaries[1] + 1))):
        avoid = [Point(city), *(LineString(t) for t in tribs)]
        trib = _tributary(box, main, avoid, 1.0 if k % 2 == 0 else -1.0, rng)
        if trib is not None:
            tribs.append(trib)
    main, channel, island = _island(main, params, [city] + [t[-1] for t in tribs], outline, rng)
    for trib in tribs:
        d = main_line.project(Point(trib[-1]))
        main = _insert(main, np.array([d]), trib[-1:])
    hw = params.river_half_width_m
    rivers = [_River("青溪", main, hw)] + [
        _River(str(names[i]), t, round(hw * 0.45, 1)) for i, t in enumerate(tribs)
    ]
    side = -1.0 if rng.random() < 0.5 else 1.0
    tangent = np.asarray(main_line.interpolate(main_line.project(Point(city)) + 5).coords[0]) - city
    city = city + side * _perp(tangent / np.hypot(*tangent)) * (hw + 160.0)
    return rivers, channel, island, city


def _water(params: DemoSize, rivers: list[_River], channel: FloatArray) -> Any:
    zones = [shapely.buffer(r.line, r.half_width) for r in rivers]
    zones.append(shapely.buffer(LineString(channel), params.river_half_width_m * 0.4))
    return shapely.union_all(zones)


def _hills(
    params: DemoSize,
    outline: Polygon,
    centre: FloatArray,
    radius: float,
    mountain: FloatArray,
    keep_clear: Any,
    rng: Rng,
) -> list[Polygon]:
    """Hill polygons, mostly on the mountain side, apart from each other, rivers and the town."""
    want = int(rng.integers(params.hills[0], params.hills[1] + 1))
    lo, hi = params.hill_area_km2
    gap = 3.0 * params.lattice_m
    hills: list[Polygon] = []
    base = math.atan2(mountain[1], mountain[0])
    for attempt in range(600):
        if len(hills) == want:
            break
        area = math.exp(rng.uniform(math.log(lo), math.log(hi))) * 1e6
        if attempt > 300:
            area = max(lo * 1e6, area * 0.5)  # crowded: settle for smaller hills
        angle = base + rng.normal(0.0, 0.9 if rng.random() < 0.75 else 2.5)
        where = centre + radius * rng.uniform(0.35, 1.0) * _unit(angle)
        aspect = rng.uniform(1.0, 2.2)
        shape = _blob(np.zeros(2), 1.0, rng, wobble=0.2)
        shape = affinity.scale(shape, aspect, 1.0 / aspect, origin=(0, 0))
        shape = affinity.rotate(shape, rng.uniform(0, 180), origin=(0, 0))
        k = math.sqrt(area / shape.area)
        shape = affinity.affine_transform(shape, [k, 0, 0, k, where[0], where[1]])
        hill = _largest(shape.intersection(outline)) if shape.intersects(outline) else None
        if hill is None or hill.area < max(0.6 * shape.area, lo * 1e6 * 0.9):
            continue
        if hill.distance(keep_clear) < gap or any(hill.distance(h) < 2 * gap for h in hills):
            continue
        hills.append(hill)
    return hills


def _lattice(
    params: DemoSize, outline: Polygon, hills: Any, water: Any, island: Polygon, rivers: Any
) -> _Lattice:
    """Lattice nodes outside hills and water; edges inside the county, off hills and island."""
    step = params.lattice_m
    x0, y0, x1, y1 = outline.bounds
    gx, gy = np.meshgrid(np.arange(x0 + step / 2, x1, step), np.arange(y0 + step / 2, y1, step))
    ok_area = outline.buffer(-0.3 * step)
    bad_area = shapely.union_all(
        [shapely.buffer(hills, 0.75 * step), water.buffer(20.0), island.buffer(20.0)]
    )
    shapely.prepare(ok_area)
    shapely.prepare(bad_area)
    valid = shapely.contains_xy(ok_area, gx, gy) & ~shapely.contains_xy(bad_area, gx, gy)
    ids = np.full(gx.shape, -1, dtype=np.int64)
    ids[valid] = np.arange(int(valid.sum()))
    xy = np.column_stack([gx[valid], gy[valid]])
    rows, cols = np.nonzero(valid)
    pairs = []
    # Knight's moves besides the 8 neighbours let routes run at 16 headings, not just 8.
    for di, dj in ((0, 1), (1, 0), (1, 1), (1, -1), (1, 2), (2, 1), (2, -1), (1, -2)):
        r2, c2 = rows + di, cols + dj
        inside = (r2 < gx.shape[0]) & (c2 >= 0) & (c2 < gx.shape[1])
        other = np.full(rows.shape, -1, dtype=np.int64)
        other[inside] = ids[r2[inside], c2[inside]]
        keep = other >= 0
        pairs.append(np.column_stack([ids[rows[keep], cols[keep]], other[keep]]))
    edges = np.vstack(pairs)
    tree = shapely.STRtree(shapely.linestrings(xy[edges]))

    def hit(geom: Any) -> BoolArray:
        mask = np.zeros(len(edges), dtype=bool)
        for part in shapely.get_parts(geom):
            mask[tree.query(part, predicate="intersects")] = True
        return mask

    crossing = hit(rivers)
    drop = hit(outline.exterior) | hit(shapely.buffer(hills, 0.3 * step)) | hit(island)
    drop |= hit(water) & ~crossing
    edges, crossing = edges[~drop], crossing[~drop]
    length = np.hypot(*(xy[edges[:, 0]] - xy[edges[:, 1]]).T)
    graph = sparse.coo_matrix(
        (np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(len(xy),) * 2
    )
    _, label = csgraph.connected_components(graph, directed=False)
    main = label == np.argmax(np.bincount(label))
    return _Lattice(xy, edges.astype(np.int64), length, crossing, main, step)


def _terrain(params: DemoSize, seed: int) -> _Terrain:
    rng = _rng(seed, _ST_OUTLINE)
    lon, lat = CENTRE_LONLAT
    centre = _to_local(np.array([[lon, lat]]))[0]
    outline = _outline(params, centre, rng)
    radius = math.sqrt(outline.area / math.pi)
    mountain = _unit(rng.uniform(0, 2 * math.pi))
    rivers, channel, island, city = _rivers(
        params, outline, centre, radius, mountain, _rng(seed, _ST_RIVERS)
    )
    water = _water(params, rivers, channel)
    keep_clear = shapely.union_all(
        [water, island, Point(city).buffer(params.city_radius_km * 1e3 + 800)]
    )
    rng_h = _rng(seed, _ST_HILLS)
    hills = _hills(params, outline, centre, radius, mountain, keep_clear, rng_h)
    names = [str(n) for n in rng_h.permutation(_HILL_NAMES)[: len(hills)]]
    river_lines = shapely.union_all([r.line for r in rivers] + [LineString(channel)])
    lattice = _lattice(params, outline, shapely.union_all(hills), water, island, river_lines)
    island_land = _largest(island.difference(water))
    return _Terrain(
        params,
        centre,
        radius,
        mountain,
        outline,
        rivers,
        channel,
        island,
        island_land,
        water,
        hills,
        names,
        city,
        lattice,
    )


_HILL_NAMES = _words(
    "狮子山 笔架山 鸡冠岩 大岭尖 白云山 牛头山 金鸡山 凤凰山 乌岩尖 五峰山 龙门山 天堂尖 "
    "观音岩 马鞍山"
)


# --------------------------------------------------------------------------------------------
# Townships and villages
# --------------------------------------------------------------------------------------------


@dataclass
class _Township:
    code: str
    name: str
    kind: TownshipKind
    stem: str  # the name without 街道/镇/乡, used in road and facility names
    seat: int  # lattice node
    xy: FloatArray
    polygon: Polygon
    built: Polygon  # built-up area with a street grid

    @functools.cached_property
    def lonlat(self) -> Any:
        """The polygon as written to admin.gpkg (densified, in lon/lat)."""
        return _geom_to_lonlat(self.polygon)


@dataclass
class _Village:
    code: str
    name: str
    kind: Literal["村", "社区"]
    township: int
    seat: int  # lattice node at the village core
    xy: FloatArray
    polygon: Polygon
    people: float  # relative size, drives lanes and the village population kernel
    mountain: bool
    urban: bool  # inside a town's street grid (no separate village lanes)
    hamlets: list[tuple[FloatArray, float]] = field(default_factory=list)  # 自然村: (xy, people)

    @property
    def settlements(self) -> list[tuple[FloatArray, float]]:
        """The core and the hamlets with their shares of the people."""
        core = self.people - sum(p for _, p in self.hamlets)
        return [(self.xy, core), *self.hamlets]

    @functools.cached_property
    def lonlat(self) -> Any:
        """The polygon as written to admin.gpkg (densified, in lon/lat)."""
        return _geom_to_lonlat(self.polygon)


@dataclass
class _Layout:
    terrain: _Terrain
    townships: list[_Township]
    villages: list[_Village]
    city: Polygon  # the county town's built-up area

    @property
    def params(self) -> DemoSize:
        return self.terrain.params


def _plan_layout(
    params: DemoSize, seed: int, say: Callable[[str], None] = lambda _: None
) -> _Layout:
    """Everything except roads, people and facilities: terrain, townships and villages."""
    say("生成县域轮廓、河流与山体 / generating outline, rivers and hills")
    terrain = _terrain(params, seed)
    say("划分乡镇街道与村社区 / partitioning townships and villages")
    townships, city = _townships(terrain, seed)
    villages = _villages(terrain, townships, city, seed)
    return _Layout(terrain, townships, villages, city)


def _lloyd(
    points: FloatArray,
    weight: FloatArray,
    fixed: FloatArray,
    n_free: int,
    allowed: BoolArray,
    rng: Rng,
    iterations: int = 6,
) -> IntArray:
    """Spread n_free seats over weighted points (weighted k-means), the fixed seats staying put.

    Seats are always points where ``allowed`` holds, so they land on lattice nodes. Returns the
    indices of the free seats in ``points``.
    """
    cand = np.flatnonzero(allowed)
    d = np.full(len(points), np.inf)
    for f in fixed:
        d = np.minimum(d, np.hypot(*(points - f).T))
    jitter = rng.uniform(0.75, 1.0, len(points))
    chosen: list[int] = []
    for _ in range(n_free):
        score = np.where(allowed, np.where(np.isfinite(d), d, 1.0) * jitter, -1.0)
        j = int(np.argmax(score))
        chosen.append(j)
        d = np.minimum(d, np.hypot(*(points - points[j]).T))
    cand_tree = cKDTree(points[cand])
    for _ in range(iterations):
        seats = np.vstack([fixed.reshape(-1, 2), points[chosen]])
        _, owner = cKDTree(seats).query(points)
        for k in range(n_free):
            mine = owner == len(fixed) + k
            if mine.any():
                centroid = np.average(points[mine], axis=0, weights=weight[mine])
                chosen[k] = int(cand[cand_tree.query(centroid)[1]])
    return np.asarray(chosen, dtype=np.int64)


def _partition(points: FloatArray, region: Any) -> list[Polygon]:
    """Voronoi cells of the points clipped to the region, each made a single polygon."""
    if len(points) == 1:
        return [_largest(region)]
    envelope = shapely.box(*region.bounds).buffer(1e4)
    cells = shapely.voronoi_polygons(MultiPoint(points), extend_to=envelope, ordered=True)
    parts = [shapely.intersection(cell, region) for cell in shapely.get_parts(cells)]
    return _fix_partition(parts, points)


def _fix_partition(cells: list[Any], seats: FloatArray) -> list[Polygon]:
    """Give stray pieces of a cell (cut off by the region's edge) to the neighbour touched most."""
    out: list[Any] = list(cells)
    for i in range(len(out)):
        parts = _polygons(out[i])
        if len(parts) <= 1:
            continue
        seat = Point(seats[i])
        keep = next((p for p in parts if p.covers(seat)), max(parts, key=lambda g: g.area))
        out[i] = keep
        for piece in parts:
            if piece is keep:
                continue
            touch = [
                (piece.buffer(0.01).intersection(out[j].boundary).length, j)
                for j in range(len(out))
                if j != i
            ]
            best = max(touch)[1]
            out[best] = shapely.union(out[best], piece)
    return [_largest(g) for g in out]


def _townships(terrain: _Terrain, seed: int) -> tuple[list[_Township], Polygon]:
    rng = _rng(seed, _ST_TOWNSHIPS)
    p = terrain.params
    lat = terrain.lattice
    seats, core = _township_seats(terrain, rng)
    kinds = p.township_kinds
    n_jd = kinds.count("街道")
    xy = lat.xy[seats]
    polys = _partition(xy[:n_jd], core) + _partition(xy[n_jd:], terrain.outline.difference(core))
    names = _township_names(kinds, xy, _rng(seed, _ST_NAMES))
    city = _largest(
        _blob(xy[0], p.city_radius_km * 1e3, rng)
        .intersection(terrain.outline)
        .difference(terrain.hills_union.buffer(50.0))
    )
    lo, hi = p.town_radius_km
    townships = []
    counters = {"街道": 1, "镇": 100, "乡": 200}
    for i, kind in enumerate(kinds):
        if kind == "街道":
            built = city
        else:
            r = rng.uniform(lo, hi) if kind == "镇" else 0.6 * lo
            built = _blob(xy[i], r * 1e3, rng).difference(terrain.hills_union.buffer(50.0))
        built = (
            _largest(built.intersection(polys[i]).buffer(0))
            if built.intersects(polys[i])
            else built
        )
        code = f"{COUNTY_CODE}{counters[kind]:03d}000"
        counters[kind] += 1
        name, stem = names[i]
        townships.append(_Township(code, name, kind, stem, int(seats[i]), xy[i], polys[i], built))
    return townships, city


def _township_seats(terrain: _Terrain, rng: Rng) -> tuple[list[int], Polygon]:
    """Seats: county town on the river, second 街道 across it, 乡 in the mountains, 镇 spread."""
    p = terrain.params
    lat = terrain.lattice
    kinds = p.township_kinds
    ct = lat.nearest(terrain.city_centre)
    core = _largest(_blob(lat.xy[ct], p.jiedao_radius_km * 1e3, rng).intersection(terrain.outline))
    seats = [ct]
    if kinds.count("街道") == 2:
        main = terrain.rivers[0].line
        foot = np.asarray(main.interpolate(main.project(Point(lat.xy[ct]))).coords[0])
        across = (foot - lat.xy[ct]) / max(np.hypot(*(foot - lat.xy[ct])), 1.0)
        seats.append(lat.nearest(foot + across * 0.45 * p.jiedao_radius_km * 1e3))
    pts = lat.xy
    edge = terrain.edge_distance
    m = terrain.mountain_coord(pts)
    rural = lat.main & ~shapely.contains_xy(core, pts[:, 0], pts[:, 1])
    rural &= edge >= p.seat_edge_km * 1e3
    xiang: list[int] = []
    for k in range(kinds.count("乡")):
        cand = rural & (m >= (0.45 if k == 0 else 0.3))
        for s in xiang:
            cand &= np.hypot(*(pts - pts[s]).T) >= 0.45 * terrain.radius
        xiang.append(int(np.argmax(np.where(cand, m + rng.uniform(0, 0.3, len(m)), -np.inf))))
    n_town = kinds.count("镇")
    allowed = rural & (np.hypot(*(pts - pts[ct]).T) >= p.seat_gap_km * 1e3)
    if xiang:
        allowed &= m <= 0.05  # the mountain side is left to the 乡, so theirs are the big ones
    domain = lat.main & ~shapely.contains_xy(core, pts[:, 0], pts[:, 1])
    weight = 1.0 / (1.0 + 6.0 * np.clip(m, 0, None))
    fixed = pts[[ct, *seats[1:], *xiang]]
    sub = np.flatnonzero(domain)
    found = sub[_lloyd(pts[sub], weight[sub], fixed, n_town, allowed[sub], rng)].tolist()
    towns = sorted(found, key=lambda s: float(np.hypot(*(pts[s] - pts[ct]))))
    return [*seats, *towns, *xiang], core


_TOWN_FIRST = "白梅石黄龙凤双大新高清金桐枫珠芦柳樟桃竹云松丰永安长仙横汤鹤岩湖"
_TOWN_SECOND = "沙溪门坛岭桥山湖洋口头坑川田塘埠港渡峰坪源岙浦宅墩林阳泉"
_XIANG_FIRST = "岭高上坑云竹岩峰黄石双大外里"
_XIANG_SECOND = "后坪岙源岩坑口头峰山垟岗"
# Awkward words, and names of real cities and counties a reader would mistake the demo for.
_AWKWARD_STEMS = frozenset(
    _words("上头 里头 外头 大头 上口 下口 高头 长沙 黄山 龙泉 松阳 安阳 丰田 金门 黄岩 长兴 永嘉")
)
_JIEDAO_STEMS = {"E": "东城", "W": "西城", "N": "城北", "S": "城南"}


def _township_names(
    kinds: Sequence[TownshipKind], xy: FloatArray, rng: Rng
) -> list[tuple[str, str]]:
    """Names like 城关街道, 东城街道, 白沙镇, 岭后乡; the second 街道 is named by its direction."""
    used = {"青溪", "城关"}
    out = []
    for i, kind in enumerate(kinds):
        if kind == "街道":
            if i == 0:
                stem = "城关"
            else:
                dx, dy = xy[i] - xy[0]
                stem = _JIEDAO_STEMS[
                    ("E" if dx > 0 else "W") if abs(dx) > abs(dy) else ("N" if dy > 0 else "S")
                ]
        else:
            first, second = (
                (_TOWN_FIRST, _TOWN_SECOND) if kind == "镇" else (_XIANG_FIRST, _XIANG_SECOND)
            )
            while True:
                stem = str(rng.choice(list(first))) + str(rng.choice(list(second)))
                fresh = stem not in used and all(stem[0] != u[0] for u in used)
                if stem[0] != stem[1] and fresh and stem not in _AWKWARD_STEMS:
                    break
        used.add(stem)
        out.append((stem + kind, stem))
    return out


def _settlement_weight(
    terrain: _Terrain, townships: Sequence[_Township], pts: FloatArray
) -> FloatArray:
    """Relative density of village seats: dense near the county town and seats, sparse uphill."""
    p = terrain.params
    d_city = np.hypot(*(pts - townships[0].xy).T) / (p.city_radius_km * 1e3)
    spacing = 1.0 - 0.82 * np.exp(-(d_city**2))
    for t in townships[1:]:
        d = np.hypot(*(pts - t.xy).T) / (1.5e3 * p.town_radius_km[1])
        spacing *= 1.0 - 0.45 * np.exp(-(d**2))
    spacing *= 1.0 + 0.8 * np.clip(terrain.mountain_coord(pts), 0, 1)
    return np.asarray(1.0 / spacing**2, dtype=np.float64)


def _allocate(total: int, weight: FloatArray, minimum: int) -> IntArray:
    """Largest-remainder apportionment of ``total`` by ``weight`` with a floor."""
    share = np.maximum(weight / weight.sum() * total, minimum)
    share *= total / share.sum()
    base = np.maximum(np.floor(share).astype(np.int64), minimum)
    while base.sum() < total:
        base[np.argmax(share - base)] += 1
    while base.sum() > total:
        over = np.where(base > minimum, base - share, -np.inf)
        base[np.argmax(over)] -= 1
    return base


def _villages(
    terrain: _Terrain, townships: list[_Township], city: Polygon, seed: int
) -> list[_Village]:
    rng = _rng(seed, _ST_VILLAGES)
    p = terrain.params
    lat = terrain.lattice
    pts = lat.xy
    weight = _settlement_weight(terrain, townships, pts)
    owner = np.full(len(pts), -1)
    for i, t in enumerate(townships):
        owner[lat.main & shapely.contains_xy(t.polygon, pts[:, 0], pts[:, 1])] = i
    totals = np.array([weight[owner == i].sum() for i in range(len(townships))])
    n_total = int(rng.integers(p.villages[0], p.villages[1] + 1))
    counts = _allocate(n_total, totals, 4)
    namer = _VillageNamer(_rng(seed, _ST_NAMES + 100))
    villages: list[_Village] = []
    for i, t in enumerate(townships):
        mine = np.flatnonzero(owner == i)
        inner = shapely.contains_xy(
            t.polygon.buffer(-1.5 * lat.spacing), pts[mine, 0], pts[mine, 1]
        )
        free = _lloyd(pts[mine], weight[mine], t.xy[None, :], int(counts[i]) - 1, inner, rng)
        seat_ids = np.concatenate([[t.seat], mine[free]])
        polys = _partition(pts[seat_ids], t.polygon)
        villages.extend(_make_villages(terrain, t, i, seat_ids, polys, city, namer, rng))
    for v in villages:
        _add_hamlets(v, terrain, rng)
    return villages


def _add_hamlets(v: _Village, terrain: _Terrain, rng: Rng) -> None:
    """Outlying natural villages (自然村) of a rural administrative village."""
    if v.urban or v.kind == "社区":
        return
    lat = terrain.lattice
    pts = lat.xy
    gap = 3.5 * lat.spacing if terrain.params.lattice_m < 150 else 2.5 * lat.spacing
    inner = v.polygon.buffer(-80.0)
    ok = lat.main & shapely.contains_xy(inner, pts[:, 0], pts[:, 1])
    ok &= np.hypot(*(pts - v.xy).T) >= gap
    cand = rng.permutation(np.flatnonzero(ok))
    want = int(rng.integers(2, 5)) if v.mountain else int(rng.integers(1, 4))
    for i in cand.tolist():
        if len(v.hamlets) == want:
            break
        if all(np.hypot(*(pts[i] - h)) >= 300.0 for h, _ in v.hamlets):
            v.hamlets.append((pts[i], v.people * rng.uniform(0.1, 0.2)))


def _make_villages(
    terrain: _Terrain,
    t: _Township,
    index: int,
    seat_ids: IntArray,
    polys: list[Polygon],
    city: Polygon,
    namer: _VillageNamer,
    rng: Rng,
) -> list[_Village]:
    """Kinds, sizes, names and 12-digit codes of one township's villages and communities."""
    pts = terrain.lattice.xy[seat_ids]
    dist = np.hypot(*(pts - t.xy).T)
    in_city = shapely.contains_xy(city, pts[:, 0], pts[:, 1])
    community = _communities(terrain, t, dist, in_city, rng)
    mountain = (terrain.mountain_coord(pts) > 0.3) | (t.kind == "乡")
    if terrain.hills:
        mountain |= shapely.distance(shapely.points(pts), terrain.hills_union) < 1500.0
    numbers = {"社区": iter(range(1, 200)), "村": iter(range(200, 400))}
    out = []
    for j in np.lexsort((dist, ~community)).tolist():  # communities first, then by distance
        kind: Literal["村", "社区"] = "社区" if community[j] else "村"
        if kind == "社区":
            people = rng.uniform(5000, 9000) if in_city[j] else rng.uniform(2500, 5000)
            name = namer.community(t.stem if dist[j] == 0 and t.kind != "街道" else None)
        else:
            people = rng.lognormal(math.log(650.0 if mountain[j] else 1300.0), 0.45)
            name = namer.village(bool(mountain[j]))
        code = f"{t.code[:9]}{next(numbers[kind]):03d}"
        urban = bool(in_city[j] or t.built.contains(Point(pts[j])))
        out.append(
            _Village(code, name, kind, index, int(seat_ids[j]), pts[j], polys[j], float(people),
                     bool(mountain[j]), urban)
        )  # fmt: skip
    return out


def _communities(
    terrain: _Terrain, t: _Township, dist: FloatArray, in_city: BoolArray, rng: Rng
) -> BoolArray:
    """Which villages are urban communities (社区): the county town's, and town-seat ones."""
    if t.kind == "街道":
        return in_city
    seat = dist == 0
    community = seat & ((t.kind == "镇") | (rng.random() < 0.5))
    if t.kind == "镇" and len(dist) >= 10:  # a big town's seat has a second community
        second = dist == np.sort(dist)[1]
        community |= second & (dist < 1.6e3 * terrain.params.town_radius_km[1])
    return np.asarray(community, dtype=bool)


class _VillageNamer:
    """Unique village and community names from common place-name morphemes of Zhejiang."""

    _DIRECTION = "上下前后东西南北大小新中里外"
    _FEATURE = "岭溪石林竹岩枫樟桃梅松山塘河湖沙洋桥"
    _SURNAME = "陈王李张吴徐郑潘叶杨林周黄金胡朱何蔡余"
    _PLAIN = "洋垟塘桥埠浦湾田宅庄港河墩畈堡埭浜"
    _HILL = "岙岭坑坪岩源山垄坦岗湾"
    _PLACE = ("头", "口", "坑", "下", "边", "背", "脚")
    _COMMUNITIES = _words(
        "东门 西门 南门 北门 新华 人民 解放 城东 城西 文昌 学前 府前 县前 中山 兴园 锦绣 "
        "和平 建设 振兴 新城 望江 滨江 桥头 河滨 朝阳 长安 鼓楼 仓前 紫荆 金城 青云 凤凰"
    )

    def __init__(self, rng: Rng) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def _pick(self, chars: str | Sequence[str]) -> str:
        return str(self._rng.choice(list(chars)))

    def village(self, mountain: bool) -> str:
        suffix = self._HILL if mountain else self._PLAIN
        while True:
            roll = self._rng.random()
            if roll < 0.45:
                stem = self._pick(self._DIRECTION) + self._pick(suffix)
            elif roll < 0.7:
                stem = self._pick(self._FEATURE) + self._pick(self._PLACE)
            elif roll < 0.9:
                sur = self._pick(self._SURNAME)
                stem = sur + (
                    "家" + self._pick(suffix) if self._rng.random() < 0.4 else self._pick(suffix)
                )
            else:
                stem = self._pick(self._DIRECTION) + self._pick(self._FEATURE) + self._pick(suffix)
            if len(set(stem)) == len(stem) and stem + "村" not in self._used:
                self._used.add(stem + "村")
                return stem + "村"

    def community(self, town_stem: str | None) -> str:
        if town_stem is not None and town_stem + "社区" not in self._used:
            self._used.add(town_stem + "社区")
            return town_stem + "社区"
        free = [c for c in self._COMMUNITIES if c + "社区" not in self._used]
        name = (self._pick(free) if free else self._pick(self._DIRECTION) + "新") + "社区"
        self._used.add(name)
        return name


# --------------------------------------------------------------------------------------------
# Roads: lattice routing of the motorway, main roads and village roads
# --------------------------------------------------------------------------------------------

WayKind = Literal[
    "lattice", "motorway", "link", "street", "lane", "field", "trail", "island", "bridge", "river"
]


@dataclass
class _Way:
    coords: FloatArray
    tags: dict[str, str]
    kind: WayKind
    bridge_ok: bool = False  # may cross a river as a bridge; otherwise it is cut at the banks
    noded: bool = True  # shares a node with every way it crosses (false for bridges, motorway)


@dataclass
class _Route:
    start: int
    end: int
    tags: dict[str, str]


class _Router:
    """Shortest paths on the lattice whose edge weights change as roads are laid.

    Edges already used become cheaper (and lose their river-crossing penalty), so later roads
    follow earlier ones and share their bridges, as real road networks grow.
    """

    def __init__(self, lattice: _Lattice, weight: FloatArray) -> None:
        n, e = len(lattice.xy), lattice.edges
        rows = np.concatenate([e[:, 0], e[:, 1]])
        cols = np.concatenate([e[:, 1], e[:, 0]])
        eid = np.concatenate([np.arange(len(e)), np.arange(len(e))])
        order = np.lexsort((cols, rows))
        self.indices = cols[order]
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])
        self.edge_of = eid[order]
        self.weight = weight.astype(np.float64)
        self.matrix = sparse.csr_matrix(
            (self.weight[self.edge_of], self.indices, self.indptr), shape=(n, n)
        )
        self.xy = lattice.xy

    def set_weight(self, edges: IntArray, values: FloatArray) -> None:
        self.weight[edges] = values
        self.matrix.data[:] = self.weight[self.edge_of]

    def path(self, a: int, b: int) -> IntArray:
        """Node sequence of the cheapest path from a to b (empty if unreachable)."""
        limit = 3.0 * float(np.hypot(*(self.xy[a] - self.xy[b]))) + 2e4
        dist, pred = csgraph.dijkstra(
            self.matrix, directed=True, indices=a, return_predecessors=True, limit=limit
        )
        if not np.isfinite(dist[b]):
            return np.zeros(0, dtype=np.int64)
        nodes = [b]
        while nodes[-1] != a:
            nodes.append(int(pred[nodes[-1]]))
        return np.asarray(nodes[::-1], dtype=np.int64)

    def edges(self, nodes: IntArray) -> IntArray:
        out = np.empty(max(len(nodes) - 1, 0), dtype=np.int64)
        for k, (u, v) in enumerate(itertools.pairwise(nodes.tolist())):
            lo, hi = self.indptr[u], self.indptr[u + 1]
            out[k] = self.edge_of[lo + np.searchsorted(self.indices[lo:hi], v)]
        return out

    def costs(self, sources: IntArray) -> FloatArray:
        span = self.xy[sources].max(axis=0) - self.xy[sources].min(axis=0)
        limit = 3.0 * float(np.hypot(*span)) + 2e4
        return np.asarray(
            csgraph.dijkstra(self.matrix, directed=True, indices=sources, limit=limit)
        )


def _wavy_field(
    xy: FloatArray, wavelength: tuple[float, float], rng: Rng, n: int = 12
) -> FloatArray:
    """A smooth random field (sum of random plane waves) with values of about -1 .. 1."""
    angle = rng.uniform(0, 2 * math.pi, n)
    k = 2 * math.pi / rng.uniform(*wavelength, n)
    phase = rng.uniform(0, 2 * math.pi, n)
    waves = np.cos(xy @ (np.column_stack([np.cos(angle), np.sin(angle)]) * k[:, None]).T + phase)
    return np.asarray(waves.sum(axis=1) / math.sqrt(n / 2), dtype=np.float64)


def _base_weights(layout: _Layout, rng: Rng) -> FloatArray:
    """Edge cost: length, made dearer near hill feet and by a smooth random 'terrain' field."""
    lat = layout.terrain.lattice
    mid = (lat.xy[lat.edges[:, 0]] + lat.xy[lat.edges[:, 1]]) / 2
    step = lat.spacing
    wiggle = np.exp(0.3 * _wavy_field(mid, (10 * step, 40 * step), rng))
    hill = np.ones(len(mid))
    if layout.terrain.hills:
        rim = shapely.get_coordinates(
            shapely.segmentize(layout.terrain.hills_union.boundary, step / 2)
        )
        d, _ = cKDTree(rim).query(mid)
        hill += 1.5 * np.exp(-d / (2 * step))
    return np.asarray(lat.length * wiggle * hill, dtype=np.float64)


def _exit_node(layout: _Layout, angle: float) -> int:
    """The main-part lattice node near the boundary lying furthest in a direction."""
    ter = layout.terrain
    lat = ter.lattice
    near = lat.main & (ter.edge_distance < 2.0 * lat.spacing)
    cand = np.flatnonzero(near)
    rel = lat.xy[cand] - ter.centre
    score = rel @ _unit(angle) / np.hypot(*rel.T)
    return int(cand[np.argmax(score)])


def _abbrev(stem: str) -> str:
    return "青" if "城" in stem else stem[0]


def _road_name(a: str, b: str) -> str:
    """County-road style names from the first characters of both ends: 青白线, 梅岭线."""
    x, y = _abbrev(a), _abbrev(b)
    return f"{x}{y if y != x else b[-1]}线"


_NEIGHBOURS = _words("岩 枫 临 宁 浦 平")  # first characters of (fictional) neighbouring counties


def _plan_routes(layout: _Layout, junction: int, rng: Rng) -> list[_Route]:
    """Provincial, county and township roads between seats, exits and the interchange."""
    ts = layout.townships
    refs = iter(rng.permutation(np.arange(10, 99)).tolist())
    neighbours = iter(_NEIGHBOURS)
    routes, linked = _primary_routes(layout, junction, refs, neighbours, rng)
    hubs = [i for i, t in enumerate(ts) if t.kind != "乡"]
    for i, j in _euclid_mst(np.array([ts[k].xy for k in hubs])):
        a, b = sorted((hubs[i], hubs[j]))
        if (a, b) not in linked:
            tags = {"ref": f"X1{next(refs):02d}", "name": _road_name(ts[a].stem, ts[b].stem)}
            if rng.random() < 0.6:
                tags["maxspeed"] = "60"
            routes.append(_Route(ts[a].seat, ts[b].seat, {"highway": "secondary", **tags}))
    m_angle = math.atan2(layout.terrain.mountain[1], layout.terrain.mountain[0])
    for k in range(layout.params.exits[1]):
        turn = (1 if k % 2 else -1) * math.pi / 2 + rng.uniform(-0.4, 0.4)
        node = _exit_node(layout, m_angle + turn)
        near = min(
            hubs, key=lambda h: float(np.hypot(*(ts[h].xy - layout.terrain.lattice.xy[node])))
        )
        tags = {"ref": f"X1{next(refs):02d}", "name": _road_name(ts[near].stem, next(neighbours))}
        routes.append(_Route(ts[near].seat, node, {"highway": "secondary", **tags}))
    return routes + _tertiary_routes(layout, hubs, next(neighbours), rng)


def _primary_routes(
    layout: _Layout, junction: int, refs: Iterator[int], neighbours: Iterator[str], rng: Rng
) -> tuple[list[_Route], set[tuple[int, int]]]:
    """The provincial road through the county town, the motorway link, roads to big towns.

    Returns the routes and the township pairs they already link.
    """
    ts = layout.townships
    ct = ts[0]
    m_angle = math.atan2(layout.terrain.mountain[1], layout.terrain.mountain[0])
    ends = [m_angle + rng.uniform(-0.3, 0.3), m_angle + math.pi + rng.uniform(-0.3, 0.3)]
    tags = {"highway": "primary", "ref": f"S2{next(refs):02d}", "maxspeed": "80"}
    tags["name"] = _road_name(ct.stem, next(neighbours))
    routes = [
        _Route(_exit_node(layout, a), ct.seat, dict(tags)) for a in ends[: layout.params.exits[0]]
    ]
    routes.append(
        _Route(ct.seat, junction, {"highway": "primary", "name": "高速连接线", "maxspeed": "60"})
    )
    linked = set()
    towns = [i for i, t in enumerate(ts) if t.kind == "镇"]
    if len(towns) > 3:
        for i in sorted(towns, key=lambda i: float(np.hypot(*(ts[i].xy - ct.xy))))[:2]:
            name = _road_name(ct.stem, ts[i].stem)
            routes.append(
                _Route(
                    ct.seat,
                    ts[i].seat,
                    {"highway": "primary", "ref": f"S2{next(refs):02d}", "name": name},
                )
            )
            linked.add((0, i))
    return routes, linked


def _tertiary_routes(layout: _Layout, hubs: list[int], neighbour: str, rng: Rng) -> list[_Route]:
    """乡 seats to the nearest hub, a mountain road out of the county, big villages to seats."""
    ts = layout.townships
    ter = layout.terrain

    def nearest(among: Sequence[int], xy: FloatArray) -> _Township:
        return ts[min(among, key=lambda h: float(np.hypot(*(ts[h].xy - xy))))]

    def road(a: int, b: int, x: str, y: str) -> _Route:
        return _Route(a, b, {"highway": "tertiary", "name": _road_name(x, y)})

    out = [
        road(t.seat, nearest(hubs, t.xy).seat, nearest(hubs, t.xy).stem, t.stem)
        for t in ts
        if t.kind == "乡"
    ]
    if layout.params.exits[2]:
        node = _exit_node(
            layout, math.atan2(ter.mountain[1], ter.mountain[0]) + rng.uniform(-0.6, 0.6)
        )
        hub = nearest(range(len(ts)), ter.lattice.xy[node])
        out.append(road(hub.seat, node, hub.stem, neighbour))
    for i, t in enumerate(ts):
        mine = [
            v for v in layout.villages if v.township == i and v.kind == "村" and v.seat != t.seat
        ]
        for v in sorted(mine, key=lambda v: -v.people)[: 1 if len(mine) < 12 else 2]:
            out.append(road(v.seat, t.seat, t.stem, v.name))
    return out


def _euclid_mst(xy: FloatArray) -> list[tuple[int, int]]:
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    tree = csgraph.minimum_spanning_tree(d).tocoo()
    return sorted(zip(tree.row.tolist(), tree.col.tolist(), strict=True))


def _village_routes(layout: _Layout, router: _Router, rng: Rng) -> list[_Route]:
    """Village roads: per township a spanning tree of seat and villages plus a few loops."""
    out = []
    name_of = {v.seat: v.name for v in layout.villages}
    for i, t in enumerate(layout.townships):
        # Urban communities are reached by the street grid, not by village roads.
        mine = [
            v.seat for v in layout.villages if v.township == i and v.seat != t.seat and not v.urban
        ]
        seats = np.array([t.seat, *mine], dtype=np.int64)
        if len(seats) < 2:
            continue
        cost = router.costs(seats)[:, seats]
        cost = np.where(np.isfinite(cost), np.maximum(cost, cost.T), 0.0)
        tree = csgraph.minimum_spanning_tree(np.triu(cost)).tocoo()
        pairs = set(zip(tree.row.tolist(), tree.col.tolist(), strict=True))
        extra = sorted(
            (cost[a, b], a, b)
            for a in range(len(seats))
            for b in range(a + 1, len(seats))
            if (a, b) not in pairs and cost[a, b] > 0
        )
        pairs.update((a, b) for _, a, b in extra[: max(1, len(seats) // 5)])
        for a, b in sorted(pairs, key=lambda ab: (cost[ab], ab)):
            tags = {"highway": "unclassified"}
            if rng.random() < 0.3:
                tags["name"] = name_of[int(seats[b])].removesuffix("村").removesuffix("社区") + "路"
            out.append(_Route(int(seats[a]), int(seats[b]), tags))
    return out


def _chains(edges: IntArray, key: IntArray, fixed: set[int]) -> list[tuple[list[int], int]]:
    """Split an edge set into maximal paths through nodes of degree 2 carrying one key.

    Ends are junctions, dead ends, ``fixed`` nodes (seats: other layers attach there) and nodes
    where the key changes, so each path can become one OSM way and be smoothed with its ends kept.
    """
    adj: dict[int, list[tuple[int, int]]] = {}
    for k, (u, v) in enumerate(edges.tolist()):
        adj.setdefault(u, []).append((k, v))
        adj.setdefault(v, []).append((k, u))

    def is_break(n: int) -> bool:
        inc = adj[n]
        return n in fixed or len(inc) != 2 or key[inc[0][0]] != key[inc[1][0]]

    used = np.zeros(len(edges), dtype=bool)

    def walk(start: int, edge: int, node: int) -> list[int]:
        path = [start]
        while True:
            used[edge] = True
            path.append(node)
            if is_break(node):
                return path
            (e1, n1), (e2, n2) = adj[node]
            edge, node = (e2, n2) if e1 == edge else (e1, n1)
            if used[edge]:
                return path

    out = []
    for n in sorted(adj):
        if is_break(n):
            for k, nb in adj[n]:
                if not used[k]:
                    out.append((walk(n, k, nb), int(key[k])))
    for k in np.flatnonzero(~used).tolist():
        if not used[k]:
            u, v = edges[k].tolist()
            out.append((walk(u, k, v), int(key[k])))
    return out


def _lattice_roads(layout: _Layout, seed: int) -> list[_Way]:
    """Motorway with its interchange, main roads and village roads laid on the lattice."""
    rng = _rng(seed, _ST_MAIN_ROADS)
    lat = layout.terrain.lattice
    base = _base_weights(layout, rng)
    main_pen, minor_pen = layout.params.bridge_penalty_m
    router = _Router(lat, base + lat.crossing * main_pen)
    motorway, mw_edges = _motorway(layout, router, base, rng)
    junction, at = _junction(layout, motorway, mw_edges)
    router.set_weight(mw_edges, base[mw_edges] * 5.0)  # others cross it, never run along it
    owner = np.full(len(lat.edges), -1, dtype=np.int64)
    routes = _plan_routes(layout, junction, rng)
    for k, route in enumerate(routes):
        _lay(router, route, k, owner, base)
    fresh = lat.crossing & (owner < 0)
    router.set_weight(np.flatnonzero(fresh), base[fresh] + minor_pen)
    village_routes = _village_routes(layout, router, rng)
    for k, route in enumerate(village_routes, start=len(routes)):
        _lay(router, route, k, owner, base)
    routes += village_routes
    # Lanes start at settlement centres (lattice nodes): a road passing one must keep it as a
    # vertex, or the lanes would touch the road without a shared node.
    fixed = {r.start for r in routes} | {r.end for r in routes}
    fixed |= {lat.nearest(xy, main_only=False) for v in layout.villages for xy, _ in v.settlements}
    used = owner >= 0
    ways = _carriageways(layout, motorway, junction, at)
    for nodes, k in _chains(lat.edges[used], owner[used], fixed):
        coords = _simplify(_chaikin(lat.xy[nodes], 3), 1.0)
        ways.append(_Way(coords, dict(routes[k].tags), "lattice", bridge_ok=True))
    return ways


def _lay(router: _Router, route: _Route, k: int, owner: IntArray, base: FloatArray) -> None:
    nodes = router.path(route.start, route.end)
    if len(nodes) < 2:
        logger.debug("no lattice path for route %s", route)
        return
    edges = router.edges(nodes)
    owner[edges[owner[edges] < 0]] = k
    router.set_weight(edges, base[edges] * 0.6)


def _motorway(
    layout: _Layout, router: _Router, base: FloatArray, rng: Rng
) -> tuple[FloatArray, IntArray]:
    """The expressway: a smooth line across the county that keeps away from towns."""
    ter = layout.terrain
    lat = ter.lattice
    m_angle = math.atan2(ter.mountain[1], ter.mountain[0])
    a = _exit_node(layout, m_angle + math.pi / 2 + rng.uniform(-0.35, 0.35))
    b = _exit_node(layout, m_angle - math.pi / 2 + rng.uniform(-0.35, 0.35))
    mid = (lat.xy[lat.edges[:, 0]] + lat.xy[lat.edges[:, 1]]) / 2
    towns = shapely.union_all([t.built.buffer(400.0) for t in layout.townships])
    city = layout.city.buffer(0.5 * layout.params.city_radius_km * 1e3)
    dear = 1 + 3 * shapely.contains_xy(towns, mid[:, 0], mid[:, 1])
    dear = dear + 8 * shapely.contains_xy(city, mid[:, 0], mid[:, 1])
    saved = router.weight.copy()
    router.set_weight(np.arange(len(base)), base * dear + lat.crossing * 300.0)
    nodes = router.path(a, b)
    edges = router.edges(nodes)
    router.set_weight(np.arange(len(base)), saved)
    return _simplify(_chaikin(lat.xy[nodes], 5), 0.5), edges


def _junction(layout: _Layout, motorway: FloatArray, mw_edges: IntArray) -> tuple[int, float]:
    """The lattice node where the interchange's ramps meet the road to the county town.

    Tried at the motorway point nearest the town first, then further along, until the ramps
    stay clear of rivers and hills. Returns the node and the interchange's distance along the
    motorway.
    """
    ter = layout.terrain
    lat = ter.lattice
    line = LineString(motorway)
    town = layout.townships[0].xy
    s0 = line.project(Point(town))
    taken = set(lat.edges[mw_edges].ravel().tolist())
    avoid = shapely.union_all([ter.water.buffer(40.0), ter.hills_union, ter.island])
    for ds in np.arange(0.0, 4000.0, 200.0).repeat(2) * np.tile([1.0, -1.0], 20):
        s = float(np.clip(s0 + ds, 600.0, line.length - 600.0))
        foot = np.asarray(line.interpolate(s).coords[0])
        toward = (town - foot) / max(float(np.hypot(*(town - foot))), 1.0)
        for off in (300.0, 400.0, 500.0, 650.0, 800.0):
            node = lat.nearest(foot + toward * off)
            ramps = Polygon(
                [line.interpolate(s - 450.0), lat.xy[node], line.interpolate(s + 450.0)]
            )
            if node not in taken and not ramps.intersects(avoid):
                return node, s
    return lat.nearest(town), s0  # pragma: no cover


def _carriageways(layout: _Layout, centre: FloatArray, junction: int, at: float) -> list[_Way]:
    """Two one-way carriageways 24 m apart and a four-ramp interchange meeting at one node."""
    line = LineString(centre)
    fwd = shapely.get_coordinates(shapely.offset_curve(line, -12.0))
    bwd = shapely.get_coordinates(shapely.offset_curve(line, 12.0))[::-1]
    j = layout.terrain.lattice.xy[junction]
    tags = {
        "highway": "motorway",
        "name": "青岩高速",
        "ref": "S36",
        "oneway": "yes",
        "maxspeed": "100",
        "lanes": "2",
    }
    ways = []
    ramps = []
    marks = [line.interpolate(at + d) for d in (-450.0, 0.0, 450.0)]
    for coords in (fwd, bwd):
        cl = LineString(coords)
        ends = np.sort([cl.project(marks[0]), cl.project(marks[2])])  # off-ramp first
        pts = np.asarray([cl.interpolate(d).coords[0] for d in ends])
        ways.append(
            _Way(_insert(coords, ends, pts), dict(tags), "motorway", bridge_ok=True, noded=False)
        )
        bend = np.asarray(cl.interpolate(cl.project(marks[1])).coords[0]) * 0.7 + j * 0.3
        ramps.append(_bezier(pts[0], bend, j))  # off-ramp
        ramps.append(_bezier(j, bend, pts[1]))  # on-ramp
    link = {"highway": "motorway_link", "oneway": "yes"}
    ways += [_Way(r, dict(link), "link", noded=False) for r in ramps]
    return ways


def _bezier(a: FloatArray, c: FloatArray, b: FloatArray) -> FloatArray:
    t = np.linspace(0.0, 1.0, 24)[:, None]
    out = (1 - t) ** 2 * a + 2 * (1 - t) * t * c + t**2 * b
    out[0], out[-1] = a, b
    return np.asarray(out, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Roads: street grids, village lanes, farm tracks, hill paths, the island
# --------------------------------------------------------------------------------------------

_CITY_LONG = _words(
    "人民路 解放路 中山路 新华路 建设路 文化路 学府路 兴园路 振兴路 和平路 朝阳路 环城北路 "
    "环城南路 滨江路 商贸路 育才路 长安路 金城路 迎宾路 青溪大道"
)
_CITY_CROSS = _words(
    "府前街 县前街 东门街 西门街 南门街 北门街 仓前街 鼓楼街 后街 横街 文昌街 学前街 胜利街 "
    "新街 大井巷 米行街 书院街 城隍街 井头巷 花园街"
)
_TOWN_STREETS = _words(
    "老街 新街 中心路 学前路 环镇路 工业路 文化路 建设路 兴业路 溪滨路 站前路 长寿路 商贸街 "
    "振兴路 东街 西街"
)
_MORPHEMES = "安康福寿兴盛和顺永泰新民富华光明平宁昌荣"


def _grid_lines(
    area: Polygon, centre: FloatArray, angle: float, rng: Rng
) -> list[tuple[FloatArray, int, float]]:
    """Street lines of a grid (80-150 m blocks) clipped to the built-up area.

    Returns (coords, family, offset from the centre) for each street piece.
    """
    reach = float(np.max(np.hypot(*(shapely.get_coordinates(area) - centre).T))) + 100.0
    out = []
    for family, theta in enumerate((angle, angle + math.pi / 2)):
        across = _perp(_unit(theta))
        start = -rng.uniform(0.0, 120.0)
        offsets = [start]
        while offsets[-1] < reach:
            offsets.append(offsets[-1] + rng.uniform(80.0, 150.0))
        while offsets[0] > -reach:
            offsets.insert(0, offsets[0] - rng.uniform(80.0, 150.0))
        for off in offsets:
            tilt = _unit(theta + rng.normal(0.0, 0.02))
            ends = np.array(
                [centre + off * across - reach * tilt, centre + off * across + reach * tilt]
            )
            for part in _polygons_lines(LineString(ends).intersection(area)):
                coords = shapely.get_coordinates(part)
                if rng.random() < 0.2 and part.length > 400.0:  # some streets stop short
                    cut = rng.uniform(60.0, 250.0)
                    coords = shapely.get_coordinates(ops.substring(part, cut, part.length))
                out.append((coords, family, abs(off)))
    return out


def _polygons_lines(geom: Any) -> list[LineString]:
    return [g for g in shapely.get_parts(geom) if isinstance(g, LineString) and g.length > 20.0]


def _streets(layout: _Layout, seed: int) -> list[_Way]:
    """Street grids of the county town and the town seats, with service lanes into blocks."""
    rng = _rng(seed, _ST_STREETS)
    main = layout.terrain.rivers[0].line
    ct = layout.townships[0]
    t = np.asarray(main.interpolate(main.project(Point(ct.xy)) + 10.0).coords[0])
    t0 = np.asarray(main.interpolate(main.project(Point(ct.xy))).coords[0])
    ways = _street_grid(layout.city, ct, math.atan2(*(t - t0)[::-1]), True, rng)
    for town in layout.townships:
        if town.kind != "街道":
            ways += _street_grid(town.built, town, rng.uniform(0, math.pi), False, rng)
    return ways


def _street_grid(area: Polygon, town: _Township, angle: float, city: bool, rng: Rng) -> list[_Way]:
    lines = _grid_lines(area, town.xy, angle, rng)
    pools = [list(_CITY_LONG), list(_CITY_CROSS)] if city else [list(_TOWN_STREETS)] * 2
    used: set[str] = set()
    names: dict[tuple[int, float], str] = {}
    ways = []
    for coords, family, off in sorted(lines, key=lambda x: (x[2], x[1])):
        rank = sorted({o for _, f, o in lines if f == family}).index(off)
        key = (family, off)
        if key not in names:
            names[key] = _street_name(pools[family], used, town, family, rank, city, rng)
        tags = {"highway": "residential"}
        if rank == 0:
            tags["highway"] = "secondary" if city else "tertiary"
        elif rank == 1 and city:
            tags["highway"] = "tertiary"
        if names[key]:
            tags["name"] = names[key]
        if city and tags["highway"] == "residential" and off < 700.0 and rng.random() < 0.25:
            tags["oneway"] = "yes"
        arterial = tags["highway"] != "residential"
        if not arterial:
            coords, stubs = _service_stubs(coords, rng)
            ways += stubs
        ways.append(_Way(coords, tags, "street", bridge_ok=arterial))
    return ways


def _street_name(
    pool: list[str], used: set[str], town: _Township, family: int, rank: int, city: bool, rng: Rng
) -> str:
    if not city:
        if rank == 0:
            return town.stem + ("大街" if family == 0 else "中路")
        if rng.random() > 0.45:
            return ""
    free = [n for n in pool if n not in used]
    name = free[0] if free and (city or rank < 6) else ""
    if city and not name:
        while not name or name in used:
            name = str(rng.choice(list(_MORPHEMES))) + str(rng.choice(list(_MORPHEMES))) + "路"
    if not city and not name:
        return ""
    used.add(name)
    return name


def _service_stubs(coords: FloatArray, rng: Rng) -> tuple[FloatArray, list[_Way]]:
    """Short dead-end lanes into the blocks, attached at vertices inserted into the street."""
    cum = _cumlen(coords)
    at = np.arange(rng.uniform(40.0, 120.0), cum[-1] - 30.0, 140.0)
    at = at[rng.random(len(at)) < 0.55]
    if len(at) == 0:
        return coords, []
    pts = _interp(coords, cum, at)
    coords = _insert(coords, at, pts)
    d = coords[-1] - coords[0]
    normal = _perp(d / max(np.hypot(*d), 1e-9))
    stubs = []
    for p in pts:
        tip = p + normal * rng.choice([-1.0, 1.0]) * rng.uniform(30.0, 65.0)
        stubs.append(_Way(np.vstack([p, tip]), {"highway": "service"}, "street"))
    return coords, stubs


def _delaunay_edges(pts: FloatArray, longest: float) -> IntArray:
    if len(pts) < 3:
        return np.array([[0, 1]], dtype=np.int64) if len(pts) == 2 else np.zeros((0, 2), np.int64)
    tri = Delaunay(pts)
    s = tri.simplices
    e = np.sort(np.vstack([s[:, [0, 1]], s[:, [1, 2]], s[:, [2, 0]]]), axis=1)
    e = np.unique(e, axis=0)
    return np.asarray(e[np.hypot(*(pts[e[:, 0]] - pts[e[:, 1]]).T) <= longest], dtype=np.int64)


def _sparse_tree(pts: FloatArray, edges: IntArray, extra: float, rng: Rng) -> BoolArray:
    """Keep a random spanning forest of the edges plus a share of the others (loops)."""
    length = np.hypot(*(pts[edges[:, 0]] - pts[edges[:, 1]]).T)
    w = length * rng.uniform(0.7, 1.3, len(length)) + 1e-3
    g = sparse.coo_matrix((w, (edges[:, 0], edges[:, 1])), shape=(len(pts), len(pts)))
    tree = csgraph.minimum_spanning_tree(g).tocoo()
    in_tree = set(zip(tree.row.tolist(), tree.col.tolist(), strict=True))
    keep = np.array([(a, b) in in_tree or (b, a) in in_tree for a, b in edges.tolist()], dtype=bool)
    return keep | (rng.random(len(edges)) < extra)


def _lanes(layout: _Layout, seed: int) -> tuple[list[_Way], list[Polygon]]:
    """Irregular lanes of village cores: a sparse Delaunay net around the core node.

    Returns the lanes and the village core disks (kept free of field tracks).
    """
    rng = _rng(seed, _ST_LANES)
    ter = layout.terrain
    avoid = shapely.union_all([ter.water.buffer(15.0), ter.hills_union.buffer(15.0), ter.island])
    shapely.prepare(avoid)
    ways: list[_Way] = []
    disks: list[Polygon] = []
    for v in layout.villages:
        if v.urban:
            continue
        for k, (xy, people) in enumerate(v.settlements):
            radius = 80.0 + 5.0 * math.sqrt(people)
            pts = _core_points(xy, people, radius, avoid, rng)
            if k == 0:  # the core keeps field tracks out; hamlets are reached by them
                disks.append(Point(xy).buffer(0.8 * radius))
            edges = _delaunay_edges(pts, 130.0)
            edges = edges[_sparse_tree(pts, edges, 0.35, rng)]
            kind = _lane_kinds(pts, edges, v.mountain, rng)
            for nodes, kk in _chains(edges, kind, {0}):
                ways.append(_Way(pts[nodes], {"highway": _LANE_TAGS[kk]}, "lane"))
    return ways, disks


_LANE_TAGS = ("residential", "service", "footway", "path", "steps")


def _core_points(xy: FloatArray, people: float, radius: float, avoid: Any, rng: Rng) -> FloatArray:
    """Lane junctions around a settlement centre (which is always the first point)."""
    n = int(np.clip(people / 40.0, 5, 80))
    r = radius * np.sqrt(rng.random(4 * n))
    a = rng.uniform(0, 2 * math.pi, 4 * n)
    cand = xy + np.column_stack([r * np.cos(a), r * np.sin(a)])
    cand = cand[~shapely.contains_xy(avoid, cand[:, 0], cand[:, 1])]
    pts = [xy]
    for c in cand:
        if len(pts) > n:
            break
        if min(np.hypot(*(np.asarray(pts) - c).T)) >= 28.0:
            pts.append(c)
    return np.asarray(pts, dtype=np.float64)


def _lane_kinds(pts: FloatArray, edges: IntArray, mountain: bool, rng: Rng) -> IntArray:
    """Lanes near the core are village streets; further out service lanes, footways, steps."""
    mid = (pts[edges[:, 0]] + pts[edges[:, 1]]) / 2
    d = np.hypot(*(mid - pts[0]).T)
    roll = rng.random(len(edges))
    kind = np.where(d < 0.5 * np.max(d, initial=1.0), 0, 1)
    kind = np.where(roll < 0.35, 2, kind)
    kind = np.where(roll < 0.12, 3, kind)
    if mountain:
        kind = np.where(roll > 0.9, 4, kind)
    return np.asarray(kind, dtype=np.int64)


def _fields(layout: _Layout, disks: list[Polygon], seed: int) -> tuple[list[_Way], FloatArray]:
    """Farm tracks and field paths along the edges of field plots over the open countryside.

    Each township's plots follow their own jittered grid orientation; a random spanning tree of
    the grid plus some loops gives the tracks. Returns the ways and their junction points (minor
    bridges connect to them).
    """
    rng = _rng(seed, _ST_FIELDS)
    ter = layout.terrain
    s = layout.params.field_spacing_m
    blocked = shapely.union_all(
        [
            ter.water.buffer(25.0),
            ter.hills_union.buffer(25.0),
            ter.island.buffer(60.0),
            *(t.built for t in layout.townships),
            *disks,
        ]
    )
    inside = ter.outline.buffer(-20.0)
    shapely.prepare(blocked)
    pts_list, angle_list = [], []
    for t in layout.townships:
        turn = rng.uniform(0.0, math.pi / 2)
        corners = _plot_grid(t.polygon, turn, s * rng.uniform(0.9, 1.1), rng)
        pts_list.append(corners)
        angle_list.append(np.full(len(corners), turn))
    pts, angle = np.vstack(pts_list), np.concatenate(angle_list)
    ok = shapely.contains_xy(inside, pts[:, 0], pts[:, 1])
    ok &= ~shapely.contains_xy(blocked, pts[:, 0], pts[:, 1])
    pts, angle = pts[ok], angle[ok]
    edges = _delaunay_edges(pts, 1.7 * s)
    edges = edges[_plot_edges(pts, angle, edges, s)]
    edges = edges[_sparse_tree(pts, edges, 0.55, rng)]
    mid = (pts[edges[:, 0]] + pts[edges[:, 1]]) / 2
    field = _wavy_field(mid, (6 * s, 25 * s), rng)
    kind = np.where(field > -0.5, 0, 1)
    kind = np.where(field > 1.4, 2, kind)
    ways = []
    for nodes, k in _chains(edges, kind, set()):
        ways.append(_Way(pts[nodes], {"highway": ("track", "path", "footway")[k]}, "field"))
    return ways, pts


def _plot_grid(area: Polygon, angle: float, s: float, rng: Rng) -> FloatArray:
    """Jittered corners of field plots on a rotated grid covering an area."""
    c = np.asarray(area.centroid.coords[0])
    reach = float(np.max(np.hypot(*(shapely.get_coordinates(area) - c).T)))
    g = np.arange(-reach, reach + s, s)
    gx, gy = np.meshgrid(g, g * rng.uniform(1.0, 1.3))
    local = np.column_stack([gx.ravel(), gy.ravel()]) + rng.uniform(
        -0.18 * s, 0.18 * s, (gx.size, 2)
    )
    rot = np.array([[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]])
    pts = local @ rot + c
    return np.asarray(pts[shapely.contains_xy(area, pts[:, 0], pts[:, 1])], dtype=np.float64)


def _plot_edges(pts: FloatArray, angle: FloatArray, edges: IntArray, s: float) -> BoolArray:
    """Keep grid-aligned edges (plot sides, not diagonals); any short edge between townships."""
    d = pts[edges[:, 1]] - pts[edges[:, 0]]
    heading = np.arctan2(d[:, 1], d[:, 0]) - angle[edges[:, 0]]
    off = np.abs((heading + math.pi / 4) % (math.pi / 2) - math.pi / 4)
    same = angle[edges[:, 0]] == angle[edges[:, 1]]
    length = np.hypot(*d.T)
    return np.asarray(np.where(same, off < 0.35, length < 1.3 * s), dtype=bool)


def _trails(layout: _Layout, seed: int) -> list[_Way]:
    """Old stone footpaths (古道) over some hills, with a flight of steps where they climb in."""
    rng = _rng(seed, _ST_TRAILS)
    ter = layout.terrain
    ways = []
    order = np.argsort([-h.area for h in ter.hills])
    for rank, i in enumerate(order.tolist()):
        if rank > 0 and rng.random() < 0.5:
            continue
        hill = ter.hills[i]
        box = np.asarray(hill.minimum_rotated_rectangle.exterior.coords)[:4]
        sides = [box[1] - box[0], box[2] - box[1]]
        axis = max(sides, key=lambda v: float(np.hypot(*v)))
        half = np.hypot(*axis) / 2 + 300.0
        u = axis / np.hypot(*axis)
        c = np.asarray(hill.centroid.coords[0])
        t = np.linspace(-half, half, int(2 * half / 25.0))
        wig = (
            80.0
            * np.sin(2 * math.pi * rng.integers(3, 6) * (t + half) / (2 * half))
            * np.exp(-((t / half) ** 8))
        )
        coords = c + np.outer(t, u) + np.outer(wig, _perp(u))
        name = ter.hill_names[i] + "古道"
        line = LineString(coords)
        inside = _polygons_lines(line.intersection(hill))
        if not inside:
            continue
        first = line.project(Point(inside[0].coords[0]))
        cuts = [first + 100.0, first + 250.0]
        pieces = _split_at(coords, cuts)
        for k, piece in enumerate(pieces):
            kind = "steps" if k == 1 else "path"
            ways.append(_Way(piece, {"highway": kind, "name": name}, "trail"))
    return ways


def _island_paths(layout: _Layout) -> list[_Way]:
    """A path along the river island with a few cross paths: a deliberately unreachable cluster."""
    ter = layout.terrain
    main = ter.rivers[0].line
    ch = ter.channel
    s0 = main.project(Point(ch[0]))
    s1 = main.project(Point(ch[-1]))
    base = np.asarray([main.interpolate(d).coords[0] for d in np.linspace(s0, s1, len(ch))])
    spine = (base + ch) / 2
    ways = []
    for part in _polygons_lines(LineString(spine).intersection(ter.island_land)):
        ways.append(
            _Way(
                shapely.get_coordinates(part), {"highway": "footway", "name": "江心洲路"}, "island"
            )
        )
    for f in (0.3, 0.5, 0.7):
        k = int(f * (len(ch) - 1))
        cross = LineString([base[k] * 1.2 - ch[k] * 0.2, ch[k] * 1.2 - base[k] * 0.2])
        for part in _polygons_lines(cross.intersection(ter.island_land)):
            ways.append(_Way(shapely.get_coordinates(part), {"highway": "path"}, "island"))
    return ways


def _minor_bridges(
    layout: _Layout, field_pts: FloatArray, avoid: list[FloatArray], seed: int
) -> list[_Way]:
    """Footbridges and village bridges, joined by short paths to the field net on both banks."""
    rng = _rng(seed, _ST_BRIDGES)
    ter = layout.terrain
    want = layout.params.minor_bridges
    tree = cKDTree(field_pts)
    taken = [*avoid]
    ways: list[_Way] = []
    rivers = list(ter.rivers)
    for attempt in range(400):
        if len(ways) >= 3 * want:
            break
        river = rivers[attempt % len(rivers)]
        line = river.line
        s = rng.uniform(0.05, 0.95) * line.length
        p = np.asarray(line.interpolate(s).coords[0])
        if any(np.hypot(*(p - q)) < 600.0 for q in taken) or ter.island.distance(Point(p)) < 500.0:
            continue
        if ter.hills_union.distance(Point(p)) < 300.0 or not ter.outline.buffer(-300.0).contains(
            Point(p)
        ):
            continue
        tangent = np.asarray(line.interpolate(s + 5.0).coords[0]) - p
        normal = _perp(tangent / np.hypot(*tangent))
        reach = river.half_width + 30.0
        ends = [p - normal * reach, p + normal * reach]
        links = []
        for e in ends:
            d, j = tree.query(e)
            if d > 250.0 or LineString([e, field_pts[j]]).intersects(ter.water):
                break
            links.append(field_pts[j])
        if len(links) != 2:
            continue
        highway = "footway" if rng.random() < 0.6 else "unclassified"
        tags = {"highway": highway, "name": f"{river.name}{len(ways) // 3 + 1}号桥"}
        ways.append(_Way(np.vstack([ends[0], ends[1]]), tags, "bridge", bridge_ok=True))
        ways += [_Way(np.vstack([links[k], ends[k]]), {"highway": "path"}, "field") for k in (0, 1)]
        taken.append(p)
    return ways


def _river_ways(layout: _Layout) -> list[_Way]:
    ter = layout.terrain
    ways = [
        _Way(r.coords, {"waterway": "river", "name": r.name}, "river", noded=False)
        for r in ter.rivers
    ]
    ways.append(
        _Way(ter.channel, {"waterway": "river", "name": ter.rivers[0].name}, "river", noded=False)
    )
    return ways


# --------------------------------------------------------------------------------------------
# Roads: cutting at banks and hill feet, bridges, noding, node ids, pruning
# --------------------------------------------------------------------------------------------


class _Cutter:
    """Cut many lines by one large area quickly.

    The area is split into square tiles so each line is cut only by the few small tiles it
    meets, instead of by the whole (many-thousand-vertex) area.
    """

    def __init__(self, area: Any, tile: float) -> None:
        x0, y0, x1, y1 = area.bounds
        xs, ys = np.meshgrid(np.arange(x0, x1, tile), np.arange(y0, y1, tile))
        boxes = shapely.box(xs.ravel(), ys.ravel(), xs.ravel() + tile, ys.ravel() + tile)
        box_tree = shapely.STRtree(boxes)
        pieces = []
        for part in _polygons(area):
            near = box_tree.query(part, predicate="intersects")
            pieces.append(shapely.intersection(part, boxes[near]))
        flat = np.concatenate(pieces) if pieces else np.zeros(0, dtype=object)
        self.pieces = flat[~shapely.is_empty(flat)]
        self.tree = shapely.STRtree(self.pieces)

    def groups(self, geoms: Any) -> Iterator[tuple[int, Any]]:
        """(line index, union of the tiles it meets) for each line meeting the area."""
        line, piece = self.tree.query(geoms, predicate="intersects")
        order = np.argsort(line, kind="stable")
        line, piece = line[order], piece[order]
        if len(line) == 0:
            return
        starts = np.flatnonzero(np.concatenate([[True], line[1:] != line[:-1]]))
        for k, start in enumerate(starts):
            stop = starts[k + 1] if k + 1 < len(starts) else len(line)
            yield int(line[start]), shapely.union_all(self.pieces[piece[start:stop]])


def _line_geoms(ways: Sequence[_Way]) -> Any:
    coords = np.vstack([w.coords for w in ways])
    index = np.repeat(np.arange(len(ways)), [len(w.coords) for w in ways])
    return shapely.linestrings(coords, indices=index)


def _cut(ways: list[_Way], cutter: _Cutter) -> list[_Way]:
    """Remove the parts of the ways inside the cutter's area (dead ends at banks and hill feet)."""
    if not ways:
        return []
    geoms = _line_geoms(ways)
    replaced: dict[int, list[_Way]] = {}
    for i, area in cutter.groups(geoms):
        rest = shapely.difference(geoms[i], area)
        w = ways[i]
        replaced[i] = [
            _Way(shapely.get_coordinates(g), w.tags, w.kind, w.bridge_ok, w.noded)
            for g in _polygons_lines(rest)
        ]
    out = []
    for i, w in enumerate(ways):
        out.extend(replaced.get(i, [w]))
    return out


def _bridge(ways: list[_Way], cutter: _Cutter, longest: float) -> list[_Way]:
    """Split ways where they cross water into a bridge way (bridge=yes, layer=1) and the rest.

    Bridge pieces get no junctions with the ways they pass over; a piece reaching a way's end
    (a road ending in the river) is dropped instead.
    """
    if not ways:
        return []
    geoms = _line_geoms(ways)
    replaced: dict[int, list[_Way]] = {}
    for i, area in cutter.groups(geoms):
        replaced[i] = _bridge_one(ways[i], geoms[i], area, longest)
    out = []
    for i, w in enumerate(ways):
        out.extend(replaced.get(i, [w]))
    return out


def _bridge_one(w: _Way, geom: Any, area: Any, longest: float) -> list[_Way]:
    spans = []
    for part in _polygons_lines(shapely.intersection(geom, area)):
        a, b = sorted(geom.project(Point(c)) for c in (part.coords[0], part.coords[-1]))
        spans.append([a, b])
    spans = _merge_spans(sorted(spans))
    if not spans:
        return [w]
    cuts = [d for s in spans for d in s]
    pieces = _split_at(w.coords, cuts)
    out = []
    for k, piece in enumerate(pieces):
        wet = k % 2 == 1
        at_end = k in (0, len(pieces) - 1)
        along = wet and _cumlen(piece)[-1] > longest  # running along the river, not across
        if wet and (at_end or along):
            continue
        if len(piece) < 2 or np.hypot(*(piece[-1] - piece[0])) < 0.5:
            continue
        if wet:
            tags = {**w.tags, "bridge": "yes", "layer": "1"}
            out.append(_Way(piece, tags, w.kind, False, False))
        else:
            out.append(_Way(piece, w.tags, w.kind, w.bridge_ok, w.noded))
    return out


def _merge_spans(spans: list[list[float]]) -> list[list[float]]:
    out: list[list[float]] = []
    for a, b in spans:
        if out and a <= out[-1][1] + 1.0:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [s for s in out if s[1] - s[0] > 1.0]


def _node(ways: list[_Way]) -> None:
    """Give noded ways a shared vertex wherever they cross or (nearly) touch (in place)."""
    idx = [i for i, w in enumerate(ways) if w.noded]
    geoms = _line_geoms([ways[i] for i in idx])
    a, b = shapely.STRtree(geoms).query(geoms, predicate="crosses")
    keep = a < b
    a, b = a[keep], b[keep]
    parts, k = shapely.get_parts(shapely.intersection(geoms[a], geoms[b]), return_index=True)
    point = shapely.get_type_id(parts) == 0
    parts, k = parts[point], k[point]
    line = np.concatenate([a[k], b[k]])
    xy = shapely.get_coordinates(np.concatenate([parts, parts]))
    _insert_many([ways[i] for i in idx], geoms, line, xy)
    _snap_touches([ways[i] for i in idx])


def _snap_touches(ways: list[_Way]) -> None:
    """Put a vertex lying within SNAP_M of another way into that way too.

    Such near-touches (a track ending a few centimetres from a road) would otherwise turn into
    crossings without a junction once coordinates are rounded to 7 decimals in the OSM file.
    """
    geoms = _line_geoms(ways)
    xy, owner = shapely.get_coordinates(geoms, return_index=True)
    pts = shapely.points(xy)
    p, line = shapely.STRtree(geoms).query(pts, predicate="dwithin", distance=SNAP_M)
    keep = line != owner[p]
    p, line = p[keep], line[keep]
    vertices = shapely.multipoints(xy, indices=owner)
    far = shapely.distance(pts[p], vertices[line]) > SNAP_M  # else merged as one node anyway
    _insert_many(ways, geoms, line[far], xy[p[far]])


def _insert_many(ways: list[_Way], geoms: Any, line: IntArray, xy: FloatArray) -> None:
    """Insert points into the ways they lie on (or next to), grouped by way."""
    if len(line) == 0:
        return
    at = shapely.line_locate_point(geoms[line], shapely.points(xy))
    order = np.argsort(line, kind="stable")
    line, at, xy = line[order], at[order], xy[order]
    starts = np.flatnonzero(np.concatenate([[True], line[1:] != line[:-1]]))
    for s, e in itertools.pairwise([*starts.tolist(), len(line)]):
        w = ways[int(line[s])]
        w.coords = _insert(w.coords, at[s:e], xy[s:e])


@dataclass
class _Network:
    """The final road network: node coordinates and ways as node-index sequences."""

    xy: FloatArray  # local metres; node id = index + 1
    lonlat: FloatArray
    ways: list[tuple[IntArray, dict[str, str]]]
    walk: BoolArray  # node used by a walkable way
    main: BoolArray  # node in the main walking component
    island: BoolArray  # node in the island component
    walk_edges: int


def _assemble(ways: list[_Way], layout: _Layout) -> _Network:
    """Cut, bridge, node, densify, number and prune the ways into a network."""
    ter = layout.terrain
    tile = 25.0 * layout.params.lattice_m / 5.0
    cut_all = _Cutter(shapely.union_all([ter.water, ter.hills_union, ter.island]), tile)
    cut_dry = _Cutter(shapely.union_all([ter.hills_union, ter.island]), tile)
    cut_trail = _Cutter(shapely.union_all([ter.water, ter.island]), tile)
    abut = _Cutter(ter.water.buffer(10.0), tile)
    out: list[_Way] = []
    pick = _by_kind(_clip(ways, ter.outline))
    longest = 4.0 * layout.params.river_half_width_m + 120.0  # a skewed crossing, at most
    out += _bridge(pick("lattice", "motorway", "bridge"), abut, longest)
    out += _bridge(_cut([w for w in pick("street") if w.bridge_ok], cut_dry), abut, longest)
    out += _cut([w for w in pick("street") if not w.bridge_ok] + pick("lane", "field"), cut_all)
    out += _cut(pick("trail"), cut_trail)
    for w in pick("island"):
        for g in _polygons_lines(LineString(w.coords).intersection(ter.island_land)):
            out.append(_Way(shapely.get_coordinates(g), w.tags, w.kind))
    out += pick("link", "river")
    _node(out)
    dense = shapely.segmentize(_line_geoms(out), MAX_NODE_SPACING_M)
    for w, g in zip(out, dense, strict=True):
        w.coords = shapely.get_coordinates(g)
    return _number(out)


def _clip(ways: list[_Way], outline: Polygon) -> list[_Way]:
    """Clip roads leaving the county (only the few crossing the boundary are touched)."""
    roads = [w for w in ways if w.kind not in ("motorway", "link", "river")]
    geoms = _line_geoms(roads)
    leaving = set(shapely.STRtree(geoms).query(outline.exterior, predicate="intersects").tolist())
    out = [w for w in ways if w.kind in ("motorway", "link", "river")]
    for i, w in enumerate(roads):
        if i not in leaving:
            out.append(w)
            continue
        for g in _polygons_lines(shapely.intersection(geoms[i], outline)):
            out.append(_Way(shapely.get_coordinates(g), w.tags, w.kind, w.bridge_ok, w.noded))
    return out


def _by_kind(ways: list[_Way]) -> Callable[..., list[_Way]]:
    def pick(*kinds: str) -> list[_Way]:
        return [w for w in ways if w.kind in kinds]

    return pick


def _number(ways: list[_Way]) -> _Network:
    """Give every distinct position one node id (ascending by first use), then prune."""
    coords = np.vstack([w.coords for w in ways])
    order = np.lexsort((coords[:, 1], coords[:, 0]))
    srt = coords[order]
    new = np.concatenate([[True], np.any(srt[1:] != srt[:-1], axis=1)])
    uniq = srt[new]
    inverse = np.empty(len(coords), dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    # Positions closer than SNAP_M on ways that take junctions are one node (float noise of cuts,
    # crossings next to a vertex); bridge and motorway vertices only merge when identical.
    noded = np.zeros(len(uniq), dtype=bool)
    noded[inverse[np.repeat([w.noded for w in ways], [len(w.coords) for w in ways])]] = True
    pairs = cKDTree(uniq).query_pairs(SNAP_M, output_type="ndarray")
    pairs = pairs[noded[pairs[:, 0]] & noded[pairs[:, 1]]]
    graph = sparse.coo_matrix(
        (np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(uniq),) * 2
    )
    _, label = csgraph.connected_components(graph, directed=False)
    node = label[inverse]
    seq = np.split(node, np.cumsum([len(w.coords) for w in ways])[:-1])
    node_ways = []
    for w, s in zip(ways, seq, strict=True):
        s = s[np.concatenate([[True], s[1:] != s[:-1]])]
        if len(s) >= 2:
            node_ways.append((s, w))
    return _prune(node_ways, uniq[np.unique(label, return_index=True)[1]], label.max() + 1)


def _walkable(tags: dict[str, str]) -> bool:
    return "highway" in tags and tags["highway"] not in WALK_EXCLUDED


def _prune(node_ways: list[tuple[IntArray, _Way]], xy: FloatArray, n: int) -> _Network:
    """Keep the main walking component, the island and the motorway; renumber by first use."""
    walk_ways = [s for s, w in node_ways if _walkable(w.tags)]
    tail = np.concatenate([s[:-1] for s in walk_ways])
    head = np.concatenate([s[1:] for s in walk_ways])
    graph = sparse.coo_matrix((np.ones(len(tail)), (tail, head)), shape=(n, n))
    _, label = csgraph.connected_components(graph, directed=False)
    is_walk = np.zeros(n, dtype=bool)
    is_walk[tail] = is_walk[head] = True
    sizes = np.bincount(label[is_walk], minlength=n)
    main = int(np.argmax(sizes))
    # The island keeps its largest cluster only, so the walk graph has exactly two components.
    on_island = {int(label[s[0]]) for s, w in node_ways if w.kind == "island"} - {main}
    island = {max(on_island, key=lambda k: (sizes[k], -k))} if on_island else set()
    if not island:
        logger.warning("the river island has no paths left")
    keep_labels = {main} | island
    kept = [
        (s, w) for s, w in node_ways if not _walkable(w.tags) or int(label[s[0]]) in keep_labels
    ]
    kept.sort(key=lambda sw: _WAY_ORDER.index(sw[1].kind))
    used = np.concatenate([s for s, _ in kept])
    first = np.unique(used, return_index=True)
    order = first[0][np.argsort(first[1], kind="stable")]
    new_id = np.full(n, -1, dtype=np.int64)
    new_id[order] = np.arange(len(order))
    ways = [(new_id[s], dict(w.tags)) for s, w in kept]
    walk = np.zeros(len(order), dtype=bool)
    edges: set[tuple[int, int]] = set()
    for s, tags in ways:
        if _walkable(tags):
            walk[s] = True
            edges.update(
                zip(
                    np.minimum(s[:-1], s[1:]).tolist(),
                    np.maximum(s[:-1], s[1:]).tolist(),
                    strict=True,
                )
            )
    lab = label[order]
    return _Network(
        xy[order],
        _to_lonlat(xy[order]),
        ways,
        walk,
        walk & (lab == main),
        walk & np.isin(lab, sorted(island)),
        len(edges),
    )


_WAY_ORDER = _words("motorway link lattice bridge street lane field trail island river")


def _build_network(layout: _Layout, seed: int, say: Callable[[str], None]) -> _Network:
    ways = _lattice_roads(layout, seed)
    ways += _streets(layout, seed)
    lanes, disks = _lanes(layout, seed)
    fields, field_pts = _fields(layout, disks, seed)
    crossings = _river_crossings(layout, ways)
    ways += lanes + fields
    ways += _trails(layout, seed)
    ways += _island_paths(layout)
    ways += _minor_bridges(layout, field_pts, crossings, seed)
    ways += _river_ways(layout)
    say("结点化与连通性检查 / noding and connectivity")
    return _assemble(ways, layout)


def _river_crossings(layout: _Layout, ways: list[_Way]) -> list[FloatArray]:
    rivers = shapely.union_all([r.line for r in layout.terrain.rivers])
    geoms = _line_geoms([w for w in ways if w.bridge_ok])
    hits = shapely.intersection(geoms, rivers)
    return list(shapely.get_coordinates(hits))


# --------------------------------------------------------------------------------------------
# Population raster and census table
# --------------------------------------------------------------------------------------------


@dataclass
class _Raster:
    """A float32 grid on the global 3-arc-second grid; col0/row0 count 1/1200 degrees."""

    values: npt.NDArray[np.float32]
    col0: int  # west edge = col0 / 1200
    row0: int  # north edge = row0 / 1200
    in_county: float  # sum of pixels whose centre lies in the county

    def centres(self) -> tuple[FloatArray, FloatArray]:
        rows, cols = self.values.shape
        lon = (self.col0 + np.arange(cols) + 0.5) * PIXEL_DEG
        lat = (self.row0 - np.arange(rows) - 0.5) * PIXEL_DEG
        glon, glat = np.meshgrid(lon, lat)
        return np.asarray(glon, dtype=np.float64), np.asarray(glat, dtype=np.float64)


def _raster_grid(layout: _Layout) -> tuple[int, int, int, int]:
    """Pixel bounds (col0, row0, cols, rows) of the county bbox plus about 1 km."""
    lon0, lat0, lon1, lat1 = _geom_to_lonlat(layout.terrain.outline).bounds
    dlat = 1000.0 / 110_600.0
    dlon = 1000.0 / (111_320.0 * math.cos(math.radians((lat0 + lat1) / 2)))
    col0, col1 = math.floor((lon0 - dlon) * 1200), math.ceil((lon1 + dlon) * 1200)
    row1, row0 = math.floor((lat0 - dlat) * 1200), math.ceil((lat1 + dlat) * 1200)
    return col0, row0, col1 - col0, row0 - row1


def _population_raster(layout: _Layout, seed: int) -> _Raster:
    """Residents per pixel, WorldPop-like.

    Dense in the county town and town seats, moderate around village cores and hamlets, a thin
    scatter elsewhere (also just outside the county), none in rivers, almost none on hills.
    """
    rng = _rng(seed, _ST_POPULATION)
    ter = layout.terrain
    col0, row0, cols, rows = _raster_grid(layout)
    empty = _Raster(np.zeros((rows, cols), np.float32), col0, row0, 0.0)
    glon, glat = empty.centres()
    xy = _to_local(np.column_stack([glon.ravel(), glat.ravel()]))
    total = float(rng.integers(layout.params.population[0], layout.params.population[1] + 1))
    parts = [_city_density(layout, xy), _town_density(layout, xy), _village_density(layout, xy)]
    disp = np.exp(0.6 * _wavy_field(xy, (2e3, 8e3), rng))
    parts.append(disp * np.where(shapely.contains_xy(ter.outline, xy[:, 0], xy[:, 1]), 1.0, 0.5))
    dens = sum(sh * part / part.sum() for sh, part in zip(layout.params.shares, parts, strict=True))
    dens = dens * rng.lognormal(0.0, 0.25, len(xy))
    dens = dens * np.where(shapely.contains_xy(ter.hills_union, xy[:, 0], xy[:, 1]), 0.02, 1.0)
    dens = dens * ~shapely.contains_xy(ter.water.union(ter.island), xy[:, 0], xy[:, 1])
    county = shapely.contains_xy(ter.outline, xy[:, 0], xy[:, 1])
    island = shapely.contains_xy(ter.island_land, xy[:, 0], xy[:, 1])
    island_people = rng.uniform(40.0, 90.0)
    dens = dens * (total - island_people) / dens[county].sum()
    if island.any():
        dens[island] = island_people / island.sum()
    values = dens.reshape(rows, cols).astype(np.float32)
    in_county = float(values.ravel()[county].astype(np.float64).sum())
    return _Raster(values, col0, row0, in_county)


def _city_density(layout: _Layout, xy: FloatArray) -> FloatArray:
    r = layout.params.city_radius_km * 1e3
    d = np.hypot(*(xy - layout.townships[0].xy).T)
    inside = shapely.contains_xy(layout.city.buffer(100.0), xy[:, 0], xy[:, 1])
    return np.asarray(inside * (0.35 + np.exp(-((d / (0.55 * r)) ** 2))), dtype=np.float64)


def _town_density(layout: _Layout, xy: FloatArray) -> FloatArray:
    out = np.zeros(len(xy))
    for t in layout.townships:
        if t.kind == "街道":
            continue
        r = math.sqrt(t.built.area / math.pi)
        d = np.hypot(*(xy - t.xy).T)
        inside = shapely.contains_xy(t.built.buffer(60.0), xy[:, 0], xy[:, 1])
        dens = inside * (0.4 + np.exp(-((d / (0.6 * r)) ** 2)))
        out += dens / max(dens.sum(), 1e-9) * t.built.area**0.8
    return out


def _village_density(layout: _Layout, xy: FloatArray) -> FloatArray:
    out = np.zeros(len(xy))
    tree = cKDTree(xy)
    for v in layout.villages:
        if v.urban:
            continue
        for at, people in v.settlements:
            sigma = 0.45 * (80.0 + 5.0 * math.sqrt(people))
            near = np.asarray(tree.query_ball_point(at, 3.0 * sigma), dtype=np.int64)
            if len(near) == 0:
                near = np.array([tree.query(at)[1]])
            k = np.exp(-0.5 * (np.hypot(*(xy[near] - at).T) / sigma) ** 2)
            out[near] += people * k / k.sum()
    return out


@dataclass
class _Census:
    rows: list[list[str]]
    resident: int
    age60: int
    age65: int


def _census(layout: _Layout, raster: _Raster, seed: int) -> _Census:
    """第七次人口普查-style table: residents per township summed from the raster, older shares."""
    rng = _rng(seed, _ST_CENSUS)
    glon, glat = raster.centres()
    values = raster.values.astype(np.float64)
    rows = []
    totals = np.zeros(3, dtype=np.int64)
    for t in layout.townships:
        inside = shapely.contains_xy(t.lonlat, glon, glat)
        resident = round(float(values[inside].sum()))
        share = rng.uniform(0.16, 0.24) if t.kind == "街道" else rng.uniform(0.25, 0.38)
        age60 = round(resident * share)
        age65 = round(age60 * rng.uniform(0.70, 0.75))
        rows.append([t.code, t.name, str(resident), str(age60), str(age65)])
        totals += (resident, age60, age65)
    return _Census(rows, int(totals[0]), int(totals[1]), int(totals[2]))


# --------------------------------------------------------------------------------------------
# Facilities: the civil-affairs register, with planted planning problems
# --------------------------------------------------------------------------------------------

_ID_PREFIX = {
    "县级公办养老机构": "JG",
    "敬老院": "JG",
    "乡镇（街道）居家养老服务中心": "ZX",
    "村级居家养老服务照料中心": "JZ",
    "社区居家养老服务照料中心": "JZ",
    "农村幸福院": "XF",
    "互助养老服务点": "HZ",
}


@dataclass
class _Facility:
    name: str
    kind: str
    xy: FloatArray
    area: int
    beds: int = 0
    nursing: int = 0
    fid: str = ""
    village: str = ""
    lon: float = 0.0
    lat: float = 0.0
    note: str = ""  # which planted problem it carries, for the manifest

    def row(self) -> list[str]:
        return [
            self.fid,
            self.name,
            self.kind,
            self.village,
            f"{self.lon:.6f}",
            f"{self.lat:.6f}",
            str(self.area),
            str(self.beds),
            str(self.nursing),
        ]


class _Placer:
    """Picks distinct walk nodes (main component) well inside a village or township."""

    def __init__(self, layout: _Layout, net: _Network, rng: Rng) -> None:
        self.xy = net.xy[net.main]
        self.rng = rng
        inner = [v.polygon.buffer(-30.0) for v in layout.villages]
        pts = shapely.points(self.xy)
        node, vill = shapely.STRtree(inner).query(pts, predicate="within")
        self.village = np.full(len(self.xy), -1, dtype=np.int64)
        self.village[node] = vill
        township_of = np.array([v.township for v in layout.villages])
        self.township = np.where(self.village >= 0, township_of[np.maximum(self.village, 0)], -1)
        self.taken = np.zeros(len(self.xy), dtype=bool)

    def near(
        self, mask: BoolArray, target: FloatArray, lo: float = 0.0, hi: float = np.inf
    ) -> FloatArray | None:
        """The free node in ``mask`` nearest to target among those lo..hi metres away."""
        d = np.hypot(*(self.xy - target).T)
        ok = mask & ~self.taken & (d >= lo) & (d <= hi)
        if not ok.any():
            return None
        i = int(np.flatnonzero(ok)[np.argmin(d[ok])])
        self.taken[i] = True
        return np.asarray(self.xy[i], dtype=np.float64)

    def anywhere(
        self, mask: BoolArray, target: FloatArray, lo: float, hi: float
    ) -> FloatArray | None:
        """A random free node in ``mask`` lo..hi metres from target (nearest if none)."""
        d = np.hypot(*(self.xy - target).T)
        ok = mask & ~self.taken & (d >= lo) & (d <= hi)
        if not ok.any():
            return self.near(mask, target)
        i = int(self.rng.choice(np.flatnonzero(ok)))
        self.taken[i] = True
        return np.asarray(self.xy[i], dtype=np.float64)

    def farthest(self, mask: BoolArray, target: FloatArray) -> tuple[FloatArray, float] | None:
        d = np.where(mask & ~self.taken, np.hypot(*(self.xy - target).T), -1.0)
        i = int(np.argmax(d))
        if d[i] < 0:
            return None
        self.taken[i] = True
        return np.asarray(self.xy[i], dtype=np.float64), float(d[i])


def _facilities(layout: _Layout, net: _Network, seed: int) -> list[_Facility]:
    """The register: county home, township centres and 敬老院, village-level centres and points."""
    rng = _rng(seed, _ST_FACILITIES)
    place = _Placer(layout, net, rng)
    out = _county_home(layout, place, rng)
    out += _township_centres(layout, place, rng)
    out += _nursing_homes(layout, place, rng)
    out += _village_centres(layout, place, rng)
    _finish_facilities(out, layout)
    return out


def _county_home(layout: _Layout, place: _Placer, rng: Rng) -> list[_Facility]:
    jd = np.array([t.kind == "街道" for t in layout.townships])
    xy = place.anywhere(
        (place.township >= 0) & jd[np.maximum(place.township, 0)],
        layout.townships[0].xy,
        800.0,
        2200.0,
    )
    if xy is None:  # pragma: no cover - the county town always has streets
        raise RuntimeError("no road node in the county town for the county home")
    beds = int(rng.integers(200, 301))
    nursing = math.ceil(beds * rng.uniform(0.6, 0.75))
    return [
        _Facility(
            f"{COUNTY_NAME}社会福利中心",
            "县级公办养老机构",
            xy,
            int(beds * rng.uniform(38, 48)),
            beds,
            nursing,
        )
    ]


def _township_centres(layout: _Layout, place: _Placer, rng: Rng) -> list[_Facility]:
    p = layout.params
    rural = [i for i, t in enumerate(layout.townships) if t.kind != "街道"]
    n_missing = int(rng.integers(p.townships_without_centre[0], p.townships_without_centre[1] + 1))
    missing = set(rng.choice(rural, size=n_missing, replace=False).tolist())
    present = [i for i in range(len(layout.townships)) if i not in missing]
    big_set = set(rng.choice(present, size=max(1, len(present) // 5), replace=False).tolist())
    out = []
    for i, t in enumerate(layout.townships):
        if i in missing:
            continue
        xy = place.near(place.township == i, t.xy, 80.0)
        if xy is None:
            continue
        area = int(rng.uniform(3000, 3500)) if i in big_set else int(rng.uniform(500, 2800))
        beds = int(rng.integers(10, 31)) if area >= 1500 else 0
        nursing = int(beds * rng.uniform(0.0, 0.5))
        out.append(
            _Facility(
                f"{t.name}居家养老服务中心", "乡镇（街道）居家养老服务中心", xy, area, beds, nursing
            )
        )
    return out


def _nursing_homes(layout: _Layout, place: _Placer, rng: Rng) -> list[_Facility]:
    """One 敬老院 per 镇 and 乡; a few under 75 beds (due for conversion under the policy)."""
    towns = [i for i, t in enumerate(layout.townships) if t.kind != "街道"]
    n_small = max(1, round(len(towns) / 3))
    small = set(rng.choice(towns, size=n_small, replace=False).tolist())
    out = []
    for i in towns:
        t = layout.townships[i]
        xy = place.anywhere(place.township == i, t.xy, 400.0, 1500.0)
        if xy is None:
            continue
        beds = int(rng.integers(30, 75)) if i in small else int(rng.integers(75, 161))
        nursing = round(beds * rng.uniform(0.2, 0.6))
        area = int(beds * rng.uniform(30, 45))
        note = "small_jingloyuan" if beds < 75 else ""
        out.append(_Facility(f"{t.name}敬老院", "敬老院", xy, area, beds, nursing, note=note))
    return out


def _village_centres(layout: _Layout, place: _Placer, rng: Rng) -> list[_Facility]:
    """照料中心 in 70-80 % of villages (some small or at the far edge); 幸福院, 互助点 elsewhere."""
    vs = layout.villages
    n = len(vs)
    order = rng.permutation(n)
    count = min(max(round(n * rng.uniform(0.72, 0.8)), math.ceil(0.7 * n)), math.floor(0.8 * n))
    with_centre = set(order[:count].tolist())
    far = _far_edge_villages(layout, with_centre)
    small = set(
        rng.permutation(sorted(with_centre - far))[: max(2, round(0.1 * len(with_centre)))].tolist()
    )
    out = []
    for j, v in enumerate(vs):
        mask = place.village == j
        if j in with_centre:
            kind = "社区居家养老服务照料中心" if v.kind == "社区" else "村级居家养老服务照料中心"
            lo, hi = (80, 140) if j in small else (250, 600) if v.kind == "社区" else (150, 450)
            area = rng.uniform(lo, hi)
            spot = place.farthest(mask, v.xy) if j in far else None
            xy = spot[0] if spot else place.near(mask, v.xy)
            note = "far_edge_centre" if spot else "small_centre" if j in small else ""
        elif rng.random() < 0.45:
            kind = "农村幸福院" if v.kind == "村" and rng.random() < 0.6 else "互助养老服务点"
            area, note = rng.uniform(40, 200), ""
            xy = place.near(mask, v.xy)
        else:
            continue
        if xy is None:
            continue
        suffix = {"农村幸福院": "幸福院", "互助养老服务点": "互助养老服务点"}.get(
            kind, "居家养老服务照料中心"
        )
        out.append(_Facility(f"{v.name}{suffix}", kind, xy, int(area), note=note))
    return out


def _far_edge_villages(layout: _Layout, with_centre: set[int]) -> set[int]:
    """The largest villages with a centre: their centre goes to the far edge of the village."""
    p = layout.params
    cand = sorted(
        (-layout.villages[j].polygon.area, j)
        for j in with_centre
        if layout.villages[j].kind == "村"
    )
    return {j for _, j in cand[: p.far_edge_centres]}


def _finish_facilities(out: list[_Facility], layout: _Layout) -> None:
    """Ids, WGS84 coordinates (6 decimals) and the village each point really lies in."""
    counters: dict[str, int] = {}
    lonlat = np.round(_to_lonlat(np.array([f.xy for f in out])), 6)
    polys = [v.lonlat for v in layout.villages]
    tree = shapely.STRtree(polys)
    pt, vi = tree.query(shapely.points(lonlat), predicate="within")
    where = dict(zip(pt.tolist(), vi.tolist(), strict=True))
    for k, f in enumerate(out):
        prefix = _ID_PREFIX[f.kind]
        counters[prefix] = counters.get(prefix, 0) + 1
        f.fid = f"QX-{prefix}-{counters[prefix]:04d}"
        f.lon, f.lat = float(lonlat[k, 0]), float(lonlat[k, 1])
        f.village = layout.villages[where[k]].code


# --------------------------------------------------------------------------------------------
# Candidate parcels
# --------------------------------------------------------------------------------------------

# 现状 -> (share, area range m², land-use codes of 国土空间用地用海分类 with weights)
_PARCEL_KINDS: dict[str, tuple[float, tuple[float, float], dict[str, float]]] = {
    "闲置学校": (0.25, (6000.0, 40000.0), {"0804": 1.0}),
    "闲置卫生院": (0.10, (3000.0, 10000.0), {"0806": 1.0}),
    "闲置办公楼": (0.20, (3000.0, 8000.0), {"0801": 1.0}),
    "闲置厂房": (0.20, (8000.0, 40000.0), {"1001": 1.0}),
    "新增建设用地": (0.25, (5000.0, 30000.0), {"0807": 0.7, "0901": 0.15, "0703": 0.15}),
}
_FACTORIES = _words("机械 农机 纺织 竹木制品 茶叶加工 电器 五金 服装 食品 造纸")
_AGENCIES = ("农技站", "粮管所", "供销社", "林业站", "水利站")
_ANCHOR_ROADS = frozenset({"secondary", "tertiary", "unclassified", "residential"})
_MAIN_ROADS = frozenset({"motorway", "motorway_link", "primary", "secondary", "tertiary"})


@dataclass
class _Parcel:
    dkbh: str
    dkmc: str
    yddm: str
    xz: str
    lonlat: Any  # polygon in EPSG:4490
    ydmj: int


def _parcels(layout: _Layout, net: _Network, seed: int) -> list[_Parcel]:
    """Idle schools, clinics, offices, factories and new land beside roads, over all townships."""
    rng = _rng(seed, _ST_PARCELS)
    ter = layout.terrain
    anchors, heading = _parcel_anchors(net)
    mains = [LineString(net.xy[s]) for s, t in net.ways if t.get("highway") in _MAIN_ROADS]
    avoid = shapely.union_all(
        [
            ter.hills_union,
            ter.water.buffer(20.0),
            ter.island.buffer(20.0),
            shapely.union_all(mains).buffer(8.0),
        ]
    )
    shapely.prepare(avoid)
    inside = ter.outline.buffer(-30.0)
    n = int(rng.integers(layout.params.parcels[0], layout.params.parcels[1] + 1))
    towns = rng.permutation(len(layout.townships))
    placed: list[Polygon] = []
    out: list[tuple[int, str, Polygon]] = []
    for k in range(4 * n):  # a township without room for a parcel passes its turn on
        if len(out) == n:
            break
        ti = int(towns[k % len(towns)])
        kind = _parcel_kind(ti, [(t, x) for t, x, _ in out], rng)
        poly = _place_parcel(
            layout.townships[ti], kind, anchors, heading, avoid, inside, placed, rng
        )
        if poly is not None:
            placed.append(poly)
            out.append((ti, kind, poly))
    return _name_parcels(layout, out, rng)


def _parcel_kind(township: int, done: list[tuple[int, str]], rng: Rng) -> str:
    """Draw a 现状; a township has one 卫生院 and one 中学 at most, so those are not repeated."""
    kinds = list(_PARCEL_KINDS)
    share = np.array([_PARCEL_KINDS[k][0] for k in kinds])
    if (township, "闲置卫生院") in done:
        share[kinds.index("闲置卫生院")] = 0.0
    return str(rng.choice(kinds, p=share / share.sum()))


def _parcel_anchors(net: _Network) -> tuple[FloatArray, FloatArray]:
    """Points on ordinary roads with the road's heading there."""
    pts, heading = [], []
    for s, tags in net.ways:
        if tags.get("highway") in _ANCHOR_ROADS and "bridge" not in tags and len(s) >= 2:
            xy = net.xy[s]
            d = np.diff(xy, axis=0)
            pts.append((xy[:-1] + xy[1:]) / 2)
            heading.append(np.arctan2(d[:, 1], d[:, 0]))
    return np.vstack(pts), np.concatenate(heading)


def _place_parcel(
    town: _Township,
    kind: str,
    anchors: FloatArray,
    heading: FloatArray,
    avoid: Any,
    inside: Polygon,
    placed: list[Polygon],
    rng: Rng,
) -> Polygon | None:
    """A slightly irregular rectangle set back 10 m from a road in the township."""
    lo, hi = _PARCEL_KINDS[kind][1]
    central = kind in ("闲置学校", "闲置卫生院", "闲置办公楼")
    d = np.hypot(*(anchors - town.xy).T)
    band = (d < 1800.0) if central else (d > 500.0) & (d < 4000.0)
    ok = band & shapely.contains_xy(town.polygon, anchors[:, 0], anchors[:, 1])
    cand = np.flatnonzero(ok)
    for _ in range(60):
        if len(cand) == 0:
            return None
        i = int(rng.choice(cand))
        area = rng.uniform(lo + 5.0, hi - 5.0)
        aspect = rng.uniform(1.0, 1.8)
        w, depth = math.sqrt(area * aspect), math.sqrt(area / aspect)
        u = _unit(float(heading[i]))
        n = _perp(u) * rng.choice([-1.0, 1.0])
        base = anchors[i] + n * 10.0
        corners = np.array(
            [
                base - u * w / 2,
                base + u * w / 2,
                base + u * w / 2 + n * depth,
                base - u * w / 2 + n * depth,
            ]
        )
        corners += rng.uniform(-0.04, 0.04, (4, 2)) * min(w, depth)
        poly = Polygon(corners)
        k = math.sqrt(area / poly.area)  # the corner jitter must not push the area out of range
        poly = affinity.scale(poly, k, k, origin=poly.centroid)
        if not poly.is_valid or not inside.contains(poly) or avoid.intersects(poly):
            continue
        if any(poly.distance(q) < 30.0 for q in placed):
            continue
        return poly
    return None


def _name_parcels(
    layout: _Layout, found: list[tuple[int, str, Polygon]], rng: Rng
) -> list[_Parcel]:
    vs = layout.villages
    tree = shapely.STRtree([v.polygon for v in vs])
    used: set[str] = set()
    out = []
    for k, (ti, kind, poly) in enumerate(
        sorted(found, key=lambda f: (layout.townships[f[0]].code, f[1]))
    ):
        t = layout.townships[ti]
        hit = tree.query(poly.centroid, predicate="within")
        v = vs[int(hit[0])] if len(hit) else vs[0]
        name = _parcel_name(kind, t, v, poly, used, rng)
        base, n = name, 2
        while name in used:
            name = base.replace("地块", f"{'二三四五六七八九'[min(n - 2, 7)]}号地块")
            n += 1
        used.add(name)
        codes = dict(_PARCEL_KINDS[kind][2])
        if v.kind == "社区":
            codes.pop("0703", None)  # rural homestead land only in villages
        share = np.array(list(codes.values()))
        yddm = str(rng.choice(list(codes), p=share / share.sum()))
        ll = shapely.transform(poly, _to_lonlat)
        ydmj = round(_geom_to_local(ll).area)
        out.append(_Parcel(f"QX2022-{k + 1:03d}", name, yddm, kind, ll, ydmj))
    return out


def _parcel_name(
    kind: str, t: _Township, v: _Village, poly: Polygon, used: set[str], rng: Rng
) -> str:
    village = v.name.removesuffix("村").removesuffix("社区")
    if kind == "闲置学校":
        middle = poly.area >= 15000 and f"原{t.stem}中学闲置校舍地块" not in used
        return f"原{t.stem}中学闲置校舍地块" if middle else f"原{village}小学闲置校舍地块"
    if kind == "闲置卫生院":
        return f"原{t.name}卫生院闲置用房地块"
    if kind == "闲置办公楼":
        if rng.random() < 0.5:
            return (
                f"原{v.name}村委会闲置办公楼地块"
                if v.kind == "村"
                else f"原{v.name}居委会闲置办公楼地块"
            )
        return f"原{t.name}{rng.choice(_AGENCIES)}闲置办公楼地块"
    if kind == "闲置厂房":
        return f"原{t.stem}{rng.choice(_FACTORIES)}厂闲置厂房地块"
    dx, dy = np.asarray(poly.centroid.coords[0]) - v.xy
    side = ("东" if dx > 0 else "西") if abs(dx) > abs(dy) else ("北" if dy > 0 else "南")
    return f"{v.name}{side}侧新增建设用地地块"


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------


def _write_osm(path: Path, net: _Network, layout: _Layout) -> None:
    """OSM XML 0.6 built as one string: nodes then ways, ids ascending, no history metadata."""
    ll = net.lonlat
    lon0, lat0 = ll.min(axis=0)
    lon1, lat1 = ll.max(axis=0)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<osm version="0.6" generator="carecircle demo">',
        f'  <bounds minlat="{lat0:.7f}" minlon="{lon0:.7f}" '
        f'maxlat="{lat1:.7f}" maxlon="{lon1:.7f}"/>',
    ]
    parts += [
        f'  <node id="{i}" lat="{lat:.7f}" lon="{lon:.7f}"/>'
        for i, (lon, lat) in enumerate(ll.tolist(), start=1)
    ]
    for k, (nodes, tags) in enumerate(net.ways, start=1):
        parts.append(f'  <way id="{k}">')
        parts += [f'    <nd ref="{n}"/>' for n in (nodes + 1).tolist()]
        parts += [f"    <tag k={quoteattr(key)} v={quoteattr(val)}/>" for key, val in tags.items()]
        parts.append("  </way>")
    parts.append("</osm>\n")
    path.write_text("\n".join(parts), encoding="utf-8")


def _write_raster(path: Path, raster: _Raster) -> None:
    """WorldPop-style GeoTIFF: EPSG:4326, 3 arc-seconds, float32, nodata -99999."""
    import rasterio
    from rasterio.transform import Affine

    rows, cols = raster.values.shape
    transform = Affine(
        PIXEL_DEG, 0.0, raster.col0 * PIXEL_DEG, 0.0, -PIXEL_DEG, raster.row0 * PIXEL_DEG
    )
    profile = {
        "driver": "GTiff",
        "width": cols,
        "height": rows,
        "count": 1,
        "dtype": "float32",
        "crs": WGS84,
        "transform": transform,
        "nodata": NODATA,
        "compress": "deflate",
        "predictor": 3,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(raster.values, 1)
        dst.update_tags(
            SOURCE="carecircle demo: fictional Qingxi County", UNITS="residents per pixel"
        )


def _write_csv(path: Path, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """UTF-8 with BOM, as Chinese government tables are usually exported (opens in Excel)."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)


@contextmanager
def _fixed_gpkg_date() -> Iterator[None]:
    """Pin GDAL's timestamp in gpkg_contents so GeoPackages are byte-identical run to run."""
    import pyogrio

    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_GPKG_DATE})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})


def _write_layers(
    path: Path, layers: Sequence[tuple[str, dict[str, list[Any]], list[Any]]]
) -> None:
    import geopandas as gpd
    import pyogrio

    with _fixed_gpkg_date():
        for name, columns, geoms in layers:
            frame = gpd.GeoDataFrame(columns, geometry=geoms, crs=GEO_CRS)
            pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG")


def _write_admin(path: Path, layout: _Layout) -> None:
    """三调-style admin layers: county, townships, villages (EPSG:4490)."""
    ts, vs = layout.townships, layout.villages
    county: dict[str, list[Any]] = {"XZQDM": [COUNTY_CODE], "XZQMC": [COUNTY_NAME]}
    towns: dict[str, list[Any]] = {
        "XZQDM": [t.code for t in ts],
        "XZQMC": [t.name for t in ts],
        "XZQLX": [t.kind for t in ts],
    }
    villages: dict[str, list[Any]] = {
        "XZQDM": [v.code for v in vs],
        "XZQMC": [v.name for v in vs],
        "SSXZDM": [ts[v.township].code for v in vs],
        "CJLX": [v.kind for v in vs],
    }
    _write_layers(
        path,
        [
            ("county", county, [_geom_to_lonlat(layout.terrain.outline)]),
            ("townships", towns, [t.lonlat for t in ts]),
            ("villages", villages, [v.lonlat for v in vs]),
        ],
    )


def _write_parcels(path: Path, parcels: list[_Parcel]) -> None:
    columns: dict[str, list[Any]] = {
        "DKBH": [p.dkbh for p in parcels],
        "DKMC": [p.dkmc for p in parcels],
        "YDMJ": [p.ydmj for p in parcels],
        "YDDM": [p.yddm for p in parcels],
        "XZ": [p.xz for p in parcels],
    }
    _write_layers(path, [("parcels", columns, [p.lonlat for p in parcels])])


@contextmanager
def _staging_dir(out: Path) -> Iterator[Path]:
    """A hidden sibling directory to build the files in; removed whatever happens."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _publish(tmp: Path, out: Path) -> None:
    """Move the finished files in, the manifest last, so its presence means the set is complete."""
    out.mkdir(parents=True, exist_ok=True)
    for name in sorted(FILES, key=lambda n: n == "manifest.json"):
        os.replace(tmp / name, out / name)


# --------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------


def _manifest(
    size: str,
    seed: int,
    layout: _Layout,
    net: _Network,
    raster: _Raster,
    census: _Census,
    facilities: list[_Facility],
    parcels: list[_Parcel],
) -> dict[str, Any]:
    ter = layout.terrain
    lon0, lat0, lon1, lat1 = _geom_to_lonlat(ter.outline).bounds
    return {
        "name": COUNTY_NAME,
        "name_en": "Qingxi County",
        "fictional": True,
        "note": "虚构县，由 carecircle 随机生成，非真实行政区 / "
        "fictional county generated by carecircle, "
        "not a real place",
        "county_code": COUNTY_CODE,
        "size": size,
        "seed": seed,
        "generator": "carecircle.demo",
        "generator_version": GENERATOR_VERSION,
        "crs": {
            "admin.gpkg": GEO_CRS,
            "parcels.gpkg": GEO_CRS,
            "roads.osm": WGS84,
            "population.tif": WGS84,
            "facilities.csv": WGS84,
            "township_population.csv": None,
        },
        "local_crs": LOCAL_CRS,
        "bbox": [round(lon0, 6), round(lat0, 6), round(lon1, 6), round(lat1, 6)],
        "area_km2": round(ter.outline.area / 1e6, 2),
        "counts": _counts(layout, net, facilities, parcels),
        "population": {
            "raster_sum": round(float(raster.values.astype(np.float64).sum()), 1),
            "raster_sum_in_county": round(raster.in_county, 1),
            "census_resident": census.resident,
            "census_60_plus": census.age60,
            "census_65_plus": census.age65,
        },
        "planted": _planted(layout, net, facilities),
        "files": sorted(FILES),
    }


def _tally(values: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))


def _counts(
    layout: _Layout, net: _Network, facilities: list[_Facility], parcels: list[_Parcel]
) -> dict[str, Any]:
    highways = [t["highway"] for _, t in net.ways if "highway" in t]
    return {
        "townships": len(layout.townships),
        "townships_by_type": _tally([t.kind for t in layout.townships]),
        "villages": len(layout.villages),
        "villages_by_type": _tally([v.kind for v in layout.villages]),
        "facilities": len(facilities),
        "facilities_by_type": _tally([f.kind for f in facilities]),
        "parcels": len(parcels),
        "osm_nodes": len(net.xy),
        "osm_ways": len(net.ways),
        "osm_ways_by_highway": _tally(highways),
        "osm_waterways": sum("waterway" in t for _, t in net.ways),
        "walk_nodes": int(net.walk.sum()),
        "walk_edges": net.walk_edges,
        "island_nodes": int(net.island.sum()),
        "rivers": len(layout.terrain.rivers),
        "bridges": sum(t.get("bridge") == "yes" for _, t in net.ways),
        "hills": len(layout.terrain.hills),
    }


def _planted(layout: _Layout, net: _Network, facilities: list[_Facility]) -> dict[str, Any]:
    """The planning problems built in on purpose, so tests and demos can check they are found."""
    centre_kinds = {"村级居家养老服务照料中心", "社区居家养老服务照料中心"}
    served = {f.village for f in facilities if f.kind in centre_kinds}
    with_town_centre = {
        f.name.removesuffix("居家养老服务中心")
        for f in facilities
        if f.kind == "乡镇（街道）居家养老服务中心"
    }
    return {
        "villages_without_centre": sorted(v.code for v in layout.villages if v.code not in served),
        "small_centres": sorted(
            f.fid for f in facilities if f.kind in centre_kinds and f.area < 150
        ),
        "far_edge_centres": sorted(f.fid for f in facilities if f.note == "far_edge_centre"),
        "townships_without_centre": sorted(
            t.code for t in layout.townships if t.name not in with_town_centre
        ),
        "small_jingloyuan": sorted(f.fid for f in facilities if f.kind == "敬老院" and f.beds < 75),
        "island": {"nodes": int(net.island.sum()), "name": "江心洲"},
        "hills": [
            {"name": n, "area_km2": round(h.area / 1e6, 2)}
            for n, h in zip(layout.terrain.hill_names, layout.terrain.hills, strict=True)
        ],
        "rivers": [r.name for r in layout.terrain.rivers],
    }
