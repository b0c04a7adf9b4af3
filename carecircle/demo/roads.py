"""Roads of the demo county laid on the lattice: motorway, main roads and village roads."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree
from shapely.geometry import LineString, Point, Polygon

from carecircle.demo.geometry import _chaikin, _insert, _simplify, _unit
from carecircle.demo.settlements import _Layout, _Township
from carecircle.demo.sizes import _ST_MAIN_ROADS, FloatArray, IntArray, Rng, _rng, _words, logger
from carecircle.demo.terrain import _Lattice

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
