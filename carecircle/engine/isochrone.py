"""Shortest travel times over a TravelGraph.

- :func:`nearest_times`: every node's time to its nearest source, in one multi-source pass;
- :func:`catchments`: for many sources, the sparse source x node matrix of times within a
  threshold, searched around each source only, in batches of bounded size;
- :func:`demand_catchments`: the same matrix for demand points (their access legs added);
- :func:`isochrone_segments`: the reached pieces of arcs, for drawing isochrone polygons.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from carecircle.engine.chains import ChainView
from carecircle.engine.dijkstra import search
from carecircle.engine.graph import FloatArray, IntArray, Snap, TravelGraph
from carecircle.errors import DataError

__all__ = [
    "Segments",
    "catchments",
    "demand_catchments",
    "isochrone_segments",
    "nearest_times",
]

Direction = Literal["to", "from"]


def nearest_times(
    graph: TravelGraph,
    source_nodes: npt.ArrayLike,
    *,
    source_seconds: npt.ArrayLike | None = None,
    limit: float = np.inf,
    direction: Literal["to", "from"] = "to",
) -> tuple[FloatArray, IntArray]:
    """Time between every node and its nearest source, and which source that is.

    Parameters
    ----------
    graph
        The travel graph.
    source_nodes
        Node position of each source (facility); several sources may share a node.
    source_seconds
        Extra seconds at each source (its access leg from the road to the door), default 0.
    limit
        Stop searching beyond this many seconds; nodes farther away get ``inf``.
    direction
        ``"to"`` (default): time from each node *to* the nearest source — what an older resident
        travels to reach a centre, which differs from ``"from"`` only where one-way streets are.

    Returns
    -------
    seconds, nearest
        ``seconds[i]`` is the time for node ``i`` (``inf`` if unreachable within ``limit``);
        ``nearest[i]`` indexes ``source_nodes`` (``-1`` if unreachable).
    """
    nodes, offsets = _sources(graph, source_nodes, source_seconds)
    n = graph.n_nodes
    if nodes.size == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    # Several sources on one node: the one with the shortest access leg wins there.
    order = np.lexsort((offsets, nodes))
    first = np.ones(order.size, dtype=bool)
    first[1:] = nodes[order][1:] != nodes[order][:-1]
    best = order[first]
    view = graph.chains.backward if direction == "to" else graph.chains.forward
    seconds, owner = view.nearest(nodes[best], offsets[best], limit)
    nearest = np.where(owner >= 0, best[np.maximum(owner, 0)], -1)
    return seconds, nearest


def _sources(
    graph: TravelGraph, source_nodes: npt.ArrayLike, source_seconds: npt.ArrayLike | None
) -> tuple[IntArray, FloatArray]:
    """Validated source node positions and their extra seconds (0 by default)."""
    nodes = np.asarray(source_nodes, dtype=np.int64).ravel()
    offsets = (
        np.zeros(nodes.size)
        if source_seconds is None
        else np.asarray(source_seconds, dtype=np.float64).ravel()
    )
    _check_sources(nodes, offsets, graph.n_nodes)
    return nodes, offsets


def _check_sources(nodes: IntArray, offsets: FloatArray, n: int) -> None:
    if offsets.shape != nodes.shape:
        raise DataError(
            f"source_seconds has {offsets.size} entries for {nodes.size} sources; give one per source"
        )
    if nodes.size and (nodes.min() < 0 or nodes.max() >= n):
        raise DataError(
            f"source nodes must be node positions 0..{n - 1} (got {nodes.min()}..{nodes.max()})"
        )
    if np.any(~np.isfinite(offsets) | (offsets < 0)):
        raise DataError("source_seconds must be finite and >= 0")


# --- catchments ----------------------------------------------------------------------------------


def catchments(
    graph: TravelGraph,
    source_nodes: npt.ArrayLike,
    max_seconds: float,
    *,
    source_seconds: npt.ArrayLike | None = None,
    direction: Direction = "to",
    batch_nodes: int = 2_000_000,
) -> sp.csr_matrix:
    """Travel times within ``max_seconds`` between each source and every node, as a sparse matrix.

    Parameters
    ----------
    graph
        The travel graph.
    source_nodes
        Node position of each source (candidate site or facility); duplicates give equal rows.
    max_seconds
        The threshold; pairs farther apart are left out (a time equal to it is kept).
    source_seconds
        Extra seconds at each source (its access leg), included in the times; default 0.
    direction
        ``"to"`` (default): time from each node to the source, as a resident travels to a site.
    batch_nodes
        Bound on the nodes searched in one batch, which bounds memory: about 100 bytes each.

    Returns
    -------
    scipy.sparse.csr_matrix
        Shape ``(n_sources, n_nodes)``. A stored entry is a pair within the threshold, including
        zero times (a source's own node), so test membership with the sparsity structure
        (``.indices``, ``.getrow(i).indices``), not with ``!= 0``.

    Notes
    -----
    No trip of ``t`` seconds ends farther than ``t * graph.max_speed_mps`` in a straight line from
    where it starts, so every shortest path within the threshold stays inside that disc around its
    source. Each source gets its own copy of the junctions in its disc (see
    :mod:`carecircle.engine.chains`); the copies of a batch are disjoint pieces of one junction
    graph, searched by a single limited Dijkstra run from every copy's seeds; the chain nodes
    then take their times from the reached ends of their chains. Times are exact: the same as
    a search of the whole graph.
    Where some arc is faster than any straight line allows (zero seconds over a distance), each
    source searches the whole graph instead, ``batch_nodes // n_nodes`` sources at a time.
    """
    nodes, offsets = _sources(graph, source_nodes, source_seconds)
    if not (math.isfinite(max_seconds) and max_seconds >= 0):
        raise DataError(f"max_seconds must be finite and >= 0 (got {max_seconds!r})")
    budget = max_seconds - offsets
    live = np.flatnonzero(budget >= 0)  # a source whose access leg alone exceeds the threshold
    speed = graph.max_speed_mps
    parts: list[tuple[IntArray, IntArray, FloatArray]] = []
    if math.isfinite(speed):
        view = graph.chains.backward if direction == "to" else graph.chains.forward
        # Slack for rounding, so a node exactly at the threshold is never left outside the disc
        # (offset + time may round down to the threshold: a few units in its last place).
        slack = 4 * np.spacing(max_seconds)
        with np.errstate(over="ignore"):  # an absurd speed makes the disc the whole plane
            radius = (budget + slack) * speed * (1 + 1e-9) + 1e-6
        for batch in _batches_by_size(graph, nodes, radius, live, batch_nodes):
            parts.extend(_local_search(graph, view, nodes, offsets, radius, batch, max_seconds))
    else:
        base = graph.csr_reversed if direction == "to" else graph.csr
        step = max(1, batch_nodes // max(graph.n_nodes, 1))
        for start in range(0, live.size, step):
            batch = live[start : start + step]
            parts.append(_full_search(base, nodes, offsets, batch, max_seconds))
    return _csr_from_parts(parts, (nodes.size, graph.n_nodes))


def _batches_by_size(
    graph: TravelGraph, nodes: IntArray, radius: FloatArray, live: IntArray, batch_nodes: int
) -> Iterator[IntArray]:
    """Consecutive runs of sources whose discs hold at most ``batch_nodes`` junctions together."""
    if live.size == 0:
        return
    xy = np.column_stack([graph.x[nodes[live]], graph.y[nodes[live]]])
    tree = graph.junction_tree[1]
    sizes = np.asarray(tree.query_ball_point(xy, radius[live], return_length=True))
    start = 0
    while start < live.size:
        total = np.cumsum(sizes[start:])
        stop = start + max(1, int(np.searchsorted(total, batch_nodes, side="right")))
        yield live[start:stop]
        start = stop


def _local_search(
    graph: TravelGraph,
    view: ChainView,
    nodes: IntArray,
    offsets: FloatArray,
    radius: FloatArray,
    batch: IntArray,
    max_seconds: float,
) -> list[tuple[IntArray, IntArray, FloatArray]]:
    """Times within the threshold for a batch of sources, each searched in its own disc.

    Returns (source, node, seconds) parts; a chain node may be in several, each time by another
    way (the smallest counts).
    """
    sources = nodes[batch]
    xy = np.column_stack([graph.x[sources], graph.y[sources]])
    junctions, tree = graph.junction_tree
    near = cKDTree(xy).sparse_distance_matrix(tree, radius[batch].max(), output_type="ndarray")
    near = near[near["v"] <= radius[batch][near["i"]]]
    # Each copy's members, as keys sorted by (copy, node).
    keys = np.sort(near["i"].astype(np.int64) * graph.n_nodes + junctions[near["j"]])
    copy, members = np.divmod(keys, graph.n_nodes)
    (seed_copy, seed_node, seed_s), direct = view.source_seeds(sources, offsets[batch], max_seconds)
    tails, heads, weights = _arcs_of(view.graph, members)
    local = _position(keys, copy[tails] * graph.n_nodes + heads)
    starts = _position(keys, seed_copy * graph.n_nodes + seed_node)
    inside = local >= 0  # arcs leaving a disc cannot lie on a path within the threshold
    indptr = np.zeros(members.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(tails[inside], minlength=members.size), out=indptr[1:])
    found = starts >= 0  # a source off every arc (a node with none) is only in `direct`
    seconds, _ = search(
        indptr, local[inside], weights[inside], starts[found], seed_s[found], max_seconds
    )
    hit = np.flatnonzero(seconds <= max_seconds)
    reached = (copy[hit], members[hit], seconds[hit])
    parts = [reached, direct, *view.expand(*reached, max_seconds)]
    return [(batch[rows], columns, times) for rows, columns, times in parts]


def _position(sorted_keys: IntArray, keys: IntArray) -> IntArray:
    """Where each of ``keys`` sits in ``sorted_keys`` (-1 where it is not there)."""
    at = np.searchsorted(sorted_keys, keys)
    clipped = np.minimum(at, max(sorted_keys.size - 1, 0))
    there = (at < sorted_keys.size) & (sorted_keys[clipped] == keys) if sorted_keys.size else at < 0
    return np.where(there, at, -1)


def _arcs_of(base: sp.csr_matrix, rows: IntArray) -> tuple[IntArray, IntArray, FloatArray]:
    """Arcs leaving each of ``rows``: (position in ``rows``, head node, seconds)."""
    first = base.indptr[rows].astype(np.int64)
    degree = base.indptr[rows + 1] - first
    total = int(degree.sum())
    before = np.cumsum(degree) - degree
    where = np.repeat(first - before, degree) + np.arange(total)
    tails = np.repeat(np.arange(rows.size), degree)
    return tails, base.indices[where].astype(np.int64), base.data[where]


def _full_search(
    base: sp.csr_matrix, nodes: IntArray, offsets: FloatArray, batch: IntArray, max_seconds: float
) -> tuple[IntArray, IntArray, FloatArray]:
    """One search of the whole graph per source (when no speed bound limits the search area)."""
    # With slack: time + offset may round to within the threshold when time > threshold - offset.
    limit = (max_seconds - offsets[batch].min()) * (1 + 1e-9) + 1e-9
    dist = dijkstra(base, directed=True, indices=nodes[batch], limit=limit)
    dist += offsets[batch, None]
    row, col = np.nonzero(dist <= max_seconds)
    return batch[row], col.astype(np.int64), dist[row, col]


def _csr_from_parts(
    parts: Iterable[tuple[IntArray, IntArray, FloatArray]], shape: tuple[int, int]
) -> sp.csr_matrix:
    """A CSR matrix from (row, column, value) triples, keeping explicit zeros.

    A (row, column) given more than once (a chain node reached from both ends) keeps its
    smallest value.
    """
    chunks = list(parts)
    rows = np.concatenate([c[0] for c in chunks] + [np.empty(0, np.int64)])
    cols = np.concatenate([c[1] for c in chunks] + [np.empty(0, np.int64)])
    data = np.concatenate([c[2] for c in chunks] + [np.empty(0)])
    keys, data = _min_by_key(rows.astype(np.int64) * shape[1] + cols, data)
    rows, cols = np.divmod(keys, shape[1])
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    index_type = np.int32 if shape[1] < 2**31 else np.int64
    return sp.csr_matrix((data, cols.astype(index_type), indptr), shape=shape)


def _min_by_key(keys: IntArray, values: FloatArray) -> tuple[IntArray, FloatArray]:
    """The distinct keys, sorted, each with its smallest value."""
    if keys.size == 0:
        return keys, values
    bits = int(keys.size - 1).bit_length()
    if int(keys.max()) < 1 << (62 - bits):
        # Sorting plain integers is several times faster than argsort: carry the position along.
        packed = np.sort((keys << bits) | np.arange(keys.size))
        keys, order = packed >> bits, packed & ((1 << bits) - 1)
    else:
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
    first = np.ones(keys.size, dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    start = np.flatnonzero(first)
    return keys[start], np.minimum.reduceat(values[order], start)


def demand_catchments(
    node_catchments: sp.csr_matrix, demand: Snap, max_seconds: float
) -> sp.csr_matrix:
    """Source x demand-point times within ``max_seconds``, from node catchments and demand snaps.

    Each point's time is its access leg plus its node's time; points off the network (node -1)
    or beyond the threshold are left out. The siting models take demand x candidate matrices:
    pass ``result.T.tocsr()``.
    """
    on = np.flatnonzero(demand.node >= 0)
    by_node = on[np.argsort(demand.node[on], kind="stable")]
    sorted_nodes = demand.node[by_node]
    coo = node_catchments.tocoo()
    lo = np.searchsorted(sorted_nodes, coo.col, side="left")
    count = np.searchsorted(sorted_nodes, coo.col, side="right") - lo
    before = np.cumsum(count) - count
    points = by_node[np.repeat(lo - before, count) + np.arange(int(count.sum()))]
    rows = np.repeat(coo.row.astype(np.int64), count)
    seconds = np.repeat(coo.data, count) + demand.access_s[points]
    keep = seconds <= max_seconds
    shape = (node_catchments.shape[0], demand.node.shape[0])
    return _csr_from_parts([(rows[keep], points[keep], seconds[keep])], shape)


# --- isochrone pieces ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Segments:
    """Straight pieces of arcs reached within a threshold: from ``(x0, y0)`` to ``(x1, y1)``.

    ``full`` marks whole arcs (each stored once, whichever way it was reached); the others are
    the reached part of an arc, cut where the remaining time runs out.
    """

    x0: FloatArray
    y0: FloatArray
    x1: FloatArray
    y1: FloatArray
    full: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.x0.shape[0])


def isochrone_segments(
    graph: TravelGraph,
    node_seconds: npt.ArrayLike,
    thresholds: Iterable[float],
    *,
    direction: Direction = "to",
) -> dict[float, Segments]:
    """The reached pieces of arcs for each threshold (seconds), given every node's time.

    ``node_seconds`` are times to the nearest source (``direction="to"``, as from
    :func:`nearest_times`) or from it (``"from"``). A point part-way along an arc counts as
    reached when travelling on along the arc gets it to a source within the threshold.
    """
    t = np.asarray(node_seconds, dtype=np.float64).ravel()
    if t.shape != (graph.n_nodes,):
        raise DataError(f"node_seconds has {t.size} entries for {graph.n_nodes} nodes")
    # Searching outwards: on the reversed graph, a time "to" the source is a time "from" it.
    base = (graph.csr_reversed if direction == "to" else graph.csr).tocoo()
    return {
        float(limit): _reached(graph, base.row, base.col, base.data, t, float(limit))
        for limit in thresholds
    }


def _reached(
    graph: TravelGraph,
    tail: npt.NDArray[np.int32],
    head: npt.NDArray[np.int32],
    weight: FloatArray,
    t: FloatArray,
    limit: float,
) -> Segments:
    """Pieces of arcs ``tail -> head`` reached from the tail within ``limit``."""
    start = np.flatnonzero(t[tail] <= limit)
    a, b, w = tail[start], head[start], weight[start]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(w > 0, (limit - t[a]) / w, 1.0)
    share = np.minimum(share, 1.0)
    full = share >= 1.0
    # A street reached whole is one piece, whichever way and however often it was reached; the
    # partial pieces of it add nothing.
    pair = np.minimum(a, b).astype(np.int64) * graph.n_nodes + np.maximum(a, b)
    whole_pairs, first = np.unique(pair[full], return_index=True)
    partial = np.flatnonzero(~full & (share > 0) & ~np.isin(pair, whole_pairs))
    pick = np.concatenate([np.flatnonzero(full)[np.sort(first)], partial])
    a, b, s = a[pick], b[pick], share[pick]
    x0, y0 = graph.x[a], graph.y[a]
    return Segments(
        x0=x0,
        y0=y0,
        x1=x0 + s * (graph.x[b] - x0),
        y1=y0 + s * (graph.y[b] - y0),
        full=full[pick],
    )
