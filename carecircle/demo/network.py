"""The demo road network: cut at banks and hill feet, bridged, noded, numbered, pruned."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree
from shapely.geometry import LineString, Point, Polygon

from carecircle.demo.geometry import _cumlen, _insert, _polygons, _split_at, _to_lonlat
from carecircle.demo.roads import _lattice_roads, _Way
from carecircle.demo.settlements import _Layout
from carecircle.demo.sizes import (
    MAX_NODE_SPACING_M,
    SNAP_M,
    WALK_EXCLUDED,
    BoolArray,
    FloatArray,
    IntArray,
    _words,
    logger,
)
from carecircle.demo.streets import (
    _fields,
    _island_paths,
    _lanes,
    _minor_bridges,
    _polygons_lines,
    _river_ways,
    _streets,
    _trails,
)


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
