"""Terrain of the demo county: outline, rivers, river island, hills and routing lattice."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree
from shapely import affinity, ops
from shapely.geometry import LineString, Point, Polygon

from carecircle.demo.geometry import _blob, _insert, _largest, _perp, _to_local, _unit
from carecircle.demo.sizes import (
    _ST_HILLS,
    _ST_OUTLINE,
    _ST_RIVERS,
    CENTRE_LONLAT,
    BoolArray,
    DemoSize,
    FloatArray,
    IntArray,
    Rng,
    _rng,
    _words,
)


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
