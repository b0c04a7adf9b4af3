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

from carecircle.engine.chains import ChainView, _ranges
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
    view = graph.chains.backward if direction == "to" else graph.chains.forward
    if np.unique(nodes).size == nodes.size:
        return view.nearest(nodes, offsets, limit)
    # Several sources on one node: the one with the shortest access leg wins there.
    order = np.lexsort((offsets, nodes))
    first = np.ones(order.size, dtype=bool)
    first[1:] = nodes[order][1:] != nodes[order][:-1]
    best = order[first]
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
    batch_nodes: int = 250_000,
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
        Bound on the junctions searched in one batch (all sources' copies together), which
        bounds the working memory: about 350 bytes each, so ~90 MB by default; each batch's
        pairs are sorted into the result as the batch ends (12 bytes a pair). Larger batches
        are not faster: the demo county's 30-minute drive catchments of 80 sites (3.3 million
        pairs) take 1.5 s and +150 MB at 250,000, 2.7 s and +880 MB at 2,000,000.

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
    then take their times from the reached ends of their chains, each (copy, chain) once, so
    no pair is computed twice. Times are exact: the same as a search of the whole graph.
    Where some arc is faster than any straight line allows (zero seconds over a distance), each
    source searches the whole graph instead, ``batch_nodes // n_nodes`` sources at a time.
    """
    nodes, offsets = _sources(graph, source_nodes, source_seconds)
    if not (math.isfinite(max_seconds) and max_seconds >= 0):
        raise DataError(f"max_seconds must be finite and >= 0 (got {max_seconds!r})")
    budget = max_seconds - offsets
    live = np.flatnonzero(budget >= 0)  # a source whose access leg alone exceeds the threshold
    speed = graph.max_speed_mps
    shape = (nodes.size, graph.n_nodes)
    blocks: list[_Block] = []  # one per batch, assembled as it ends (bounded memory)
    if math.isfinite(speed):
        view = graph.chains.backward if direction == "to" else graph.chains.forward
        # Slack for rounding, so a node exactly at the threshold is never left outside the disc
        # (offset + time may round down to the threshold: a few units in its last place).
        slack = 4 * np.spacing(max_seconds)
        with np.errstate(over="ignore"):  # an absurd speed makes the disc the whole plane
            radius = (budget + slack) * speed * (1 + 1e-9) + 1e-6
        for batch in _batches_by_size(graph, nodes, radius, live, batch_nodes):
            parts = _local_search(graph, view, nodes, offsets, radius, batch, max_seconds)
            blocks.append(_block(parts, shape[1]))
    else:
        base = graph.csr_reversed if direction == "to" else graph.csr
        step = max(1, batch_nodes // max(graph.n_nodes, 1))
        for start in range(0, live.size, step):
            batch = live[start : start + step]
            blocks.append(
                _block([_full_search(base, nodes, offsets, batch, max_seconds)], shape[1])
            )
    return _stack(blocks, shape)


def _batches_by_size(
    graph: TravelGraph, nodes: IntArray, radius: FloatArray, live: IntArray, batch_nodes: int
) -> Iterator[IntArray]:
    """Consecutive runs of sources whose discs hold at most ``batch_nodes`` junctions together.

    A disc's junctions are bounded from above by those in the grid cells its bounding box
    touches, counted on a summed-area table (cells as wide as the largest radius, between
    2 and 1024 a side), which costs far less than counting each disc's junctions exactly.
    """
    if live.size == 0:
        return
    junctions = graph.junction_tree[0]
    sizes = np.zeros(live.size, dtype=np.int64)
    if junctions.size:
        x, y = graph.x[junctions], graph.y[junctions]
        x0, y0 = x.min(), y.min()
        extent = max(x.max() - x0, y.max() - y0)
        cell = max(min(float(radius[live].max()), extent), extent / 1024, 1e-9)
        side = int(extent // cell) + 1
        ix, iy = ((x - x0) // cell).astype(np.int64), ((y - y0) // cell).astype(np.int64)
        table = np.zeros((side + 1, side + 1), dtype=np.int64)
        table[1:, 1:] = np.bincount(ix * side + iy, minlength=side * side).reshape(side, side)
        table = table.cumsum(axis=0).cumsum(axis=1)
        sx, sy, r = graph.x[nodes[live]], graph.y[nodes[live]], radius[live]

        def cells(low: FloatArray, high: FloatArray) -> tuple[IntArray, IntArray]:
            first = np.clip(np.floor(low / cell), 0, side).astype(np.int64)
            last = np.clip(np.floor(high / cell) + 1, 0, side).astype(np.int64)
            return first, last

        with np.errstate(invalid="ignore", over="ignore"):  # an infinite radius: every cell
            x1, x2 = cells(sx - r - x0, sx + r - x0)
            y1, y2 = cells(sy - r - y0, sy + r - y0)
        sizes = table[x2, y2] - table[x1, y2] - table[x2, y1] + table[x1, y1]
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

    Returns (source, node, seconds) parts; each pair appears once.
    """
    ch = view.chains
    sources, o = nodes[batch], offsets[batch]
    xy = np.column_stack([graph.x[sources], graph.y[sources]])
    junctions, tree, position = graph.junction_tree
    near = cKDTree(xy).sparse_distance_matrix(tree, radius[batch].max(), output_type="ndarray")
    near = near[near["v"] <= radius[batch][near["i"]]]
    # Each copy's members (positions in the tree), as keys sorted by (copy, junction).
    width = junctions.size
    keys = np.sort(near["i"].astype(np.int64) * width + near["j"])
    copy, member = np.divmod(keys, width)
    at = junctions[member]  # the members' nodes

    def lookups(*pairs: tuple[IntArray, IntArray]) -> list[IntArray]:
        """Member positions of the nodes in the copies (-1: none), for (copy, node) pairs."""
        return _locate(keys, width, [(k, position[v]) for k, v in pairs])

    seed_row, seed_node, seed_s = view.seeds(sources, o, max_seconds)
    tails, heads, weights = _arcs_of(view.graph, at)
    # A source's own chain is left to `own`: the others at each member, by end a and end b.
    own = ch.chain[sources]
    ends, chain, at_b = ch.ends
    e = _ranges(ends[at], ends[at + 1])
    q = np.repeat(np.arange(at.size), ends[at + 1] - ends[at])
    c, is_b, k = chain[e], at_b[e], copy[q]
    mine = c == own[k]
    q, c, is_b, k = q[~mine], c[~mine], is_b[~mine], k[~mine]
    inner = np.flatnonzero(own >= 0)
    outer = np.flatnonzero(own < 0)
    starts, local, other, own_a, own_b, lone = lookups(
        (seed_row, seed_node),
        (copy[tails], heads),
        (k, np.where(is_b, ch.a[c], ch.b[c])),
        (inner, ch.a[own[inner]]),
        (inner, ch.b[own[inner]]),
        (outer, sources[outer]),
    )
    inside = local >= 0  # arcs leaving a disc cannot lie on a path within the threshold
    indptr = np.zeros(member.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(tails[inside], minlength=member.size), out=indptr[1:])
    found = starts >= 0  # a source with no arcs is in no search
    seconds, _ = search(
        indptr, local[inside], weights[inside], starts[found], seed_s[found], max_seconds
    )
    hit = np.flatnonzero(seconds <= max_seconds)
    time_at = np.append(seconds, np.inf)  # by member position; -1 (no member) reads inf
    parts = [(copy[hit], at[hit], seconds[hit])]
    # Each (copy, chain) once: by its end a when that is reached, else by its end b.
    t_self, t_other = time_at[q], time_at[other]
    keep = (t_self <= max_seconds) & ~(is_b & (t_other <= max_seconds))
    ta = np.where(is_b, np.inf, t_self)[keep]
    tb = np.where(is_b, t_self, t_other)[keep]
    parts += view.between(k[keep], c[keep], ta, tb, max_seconds)
    # Interior sources: their own chain, along it or by way of its ends.
    parts.append(
        view.own(inner, sources[inner], o[inner], time_at[own_a], time_at[own_b], max_seconds)
    )
    # Junction sources with no arcs reach only their own node.
    lone = outer[lone < 0]
    parts.append((lone, sources[lone], o[lone]))
    return [(batch[r], columns, times) for r, columns, times in parts]


# Entries of the table that :func:`_locate` reads positions from (int32: 4 MB).
_TABLE = 1 << 20


def _locate(keys: IntArray, width: int, queries: list[tuple[IntArray, IntArray]]) -> list[IntArray]:
    """Where each ``copy * width + j`` of the queries sits in ``keys`` (-1 where it is not).

    ``keys`` are sorted, distinct ``copy * width + j`` (``0 <= j < width``); each query is a
    pair of arrays (copy, j), sorted by copy, where ``j < 0`` is never found. Instead of a binary
    search (numpy's takes 20-40 ns a query here), the positions of the keys of a group of copies
    are written into a dense table over their key range and read back, one group at a time. The
    table is never cleared: every answer is checked against ``keys``, so a stale or unwritten
    entry reads as absent.
    """
    per = max(1, _TABLE // max(width, 1))  # copies per group
    full = [(k * width + np.maximum(j, 0), k) for k, j in queries]
    got = [np.zeros(k.size, dtype=np.int64) for k, _ in queries]
    present = [k for k, _ in queries if k.size]
    if keys.size and present:
        first = min(int(k[0]) for k in present) // per
        last = max(int(k[-1]) for k in present) // per
        cuts = np.arange(first, last + 2) * per
        kb = np.searchsorted(keys, cuts * width)
        qb = [np.searchsorted(k, cuts) for k, _ in queries]
        top = max(int(keys[-1]), *(int(q.max()) for q, k in full if k.size)) + 1
        kind = np.int32 if keys.size < 2**31 else np.int64
        table = np.empty(min(per * width, top - first * per * width), dtype=kind)
        for t in range(last - first + 1):
            base = cuts[t] * width
            table[keys[kb[t] : kb[t + 1]] - base] = np.arange(kb[t], kb[t + 1])
            for (q, _), b, out in zip(full, qb, got, strict=True):
                out[b[t] : b[t + 1]] = table[q[b[t] : b[t + 1]] - base]
    result = []
    for (q, _), (_, j), out in zip(full, queries, got, strict=True):
        np.clip(out, 0, max(keys.size - 1, 0), out=out)
        there = (j >= 0) & (keys[out] == q) if keys.size else np.zeros(q.size, dtype=bool)
        result.append(np.where(there, out, -1))
    return result


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


# A block of sorted matrix entries: its first row, the entries of each row from there, their
# columns and values.
_Block = tuple[int, IntArray, IntArray, FloatArray]


def _block(parts: Iterable[tuple[IntArray, IntArray, FloatArray]], n_cols: int) -> _Block:
    """(row, column, value) triples as a block, sorted; a pair given twice keeps its smallest."""
    chunks = list(parts)
    rows = np.concatenate([c[0] for c in chunks] + [np.empty(0, np.int64)])
    cols = np.concatenate([c[1] for c in chunks] + [np.empty(0, np.int64)])
    data = np.concatenate([c[2] for c in chunks] + [np.empty(0)])
    keys, data = _min_by_key(rows.astype(np.int64) * n_cols + cols, data)
    rows, cols = np.divmod(keys, n_cols)
    first = int(rows[0]) if rows.size else 0
    index_type = np.int32 if n_cols < 2**31 else np.int64
    return first, np.bincount(rows - first), cols.astype(index_type), data


def _stack(blocks: list[_Block], shape: tuple[int, int]) -> sp.csr_matrix:
    """A CSR matrix (explicit zeros kept) from blocks in order of rows, no row in two blocks."""
    counts = np.zeros(shape[0], dtype=np.int64)
    for first, per_row, _, _ in blocks:
        counts[first : first + per_row.size] += per_row
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    index_type = np.int32 if shape[1] < 2**31 else np.int64
    indices = np.concatenate([b[2] for b in blocks] + [np.empty(0, index_type)])
    data = np.concatenate([b[3] for b in blocks] + [np.empty(0)])
    return sp.csr_matrix((data, indices, indptr), shape=shape)


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
    if first.all():
        return keys, values[order]
    start = np.flatnonzero(first)
    return keys[start], np.minimum.reduceat(values[order], start)


def demand_catchments(
    node_catchments: sp.csr_matrix,
    demand: Snap,
    max_seconds: float,
    *,
    batch_pairs: int = 1_000_000,
) -> sp.csr_matrix:
    """Source x demand-point times within ``max_seconds``, from node catchments and demand snaps.

    Each point's time is its access leg plus its node's time; points off the network (node -1)
    or beyond the threshold are left out. The siting models take demand x candidate matrices:
    pass ``result.T.tocsr()``. Sources are taken a block of rows at a time, about
    ``batch_pairs`` (source, node) pairs each, which bounds the working memory.
    """
    on = np.flatnonzero(demand.node >= 0)
    by_node = on[np.argsort(demand.node[on], kind="stable")]
    sorted_nodes = demand.node[by_node]
    csr = sp.csr_matrix(node_catchments)
    n_points = demand.node.shape[0]
    blocks: list[_Block] = []
    first = 0
    while True:
        last = int(np.searchsorted(csr.indptr, csr.indptr[first] + batch_pairs, side="right")) - 1
        last = min(max(last, first + 1), csr.shape[0])
        coo = csr[first:last].tocoo()
        lo = np.searchsorted(sorted_nodes, coo.col, side="left")
        count = np.searchsorted(sorted_nodes, coo.col, side="right") - lo
        before = np.cumsum(count) - count
        points = by_node[np.repeat(lo - before, count) + np.arange(int(count.sum()))]
        rows = np.repeat(coo.row.astype(np.int64) + first, count)
        seconds = np.repeat(coo.data, count) + demand.access_s[points]
        keep = seconds <= max_seconds
        blocks.append(_block([(rows[keep], points[keep], seconds[keep])], n_points))
        if last >= csr.shape[0]:
            break
        first = last
    return _stack(blocks, (csr.shape[0], n_points))


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
