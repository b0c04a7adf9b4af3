"""Street grids, village lanes, farm tracks, hill paths and island paths of the demo county."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import Delaunay, cKDTree
from shapely import ops
from shapely.geometry import LineString, Point, Polygon

from carecircle.demo.geometry import _cumlen, _insert, _interp, _perp, _split_at, _unit
from carecircle.demo.roads import _chains, _wavy_field, _Way
from carecircle.demo.settlements import _Layout, _Township
from carecircle.demo.sizes import (
    _ST_BRIDGES,
    _ST_FIELDS,
    _ST_LANES,
    _ST_STREETS,
    _ST_TRAILS,
    BoolArray,
    FloatArray,
    IntArray,
    Rng,
    _rng,
    _words,
)

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
