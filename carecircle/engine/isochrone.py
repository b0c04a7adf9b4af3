"""Shortest travel times over a TravelGraph: nearest-facility times in one multi-source pass."""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from carecircle.engine.graph import FloatArray, IntArray, TravelGraph
from carecircle.errors import DataError

__all__ = ["nearest_times"]


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
    nodes = np.asarray(source_nodes, dtype=np.int64).ravel()
    n = graph.n_nodes
    offsets = (
        np.zeros(nodes.size)
        if source_seconds is None
        else np.asarray(source_seconds, dtype=np.float64).ravel()
    )
    _check_sources(nodes, offsets, n)
    if nodes.size == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    # Several sources on one node: the one with the shortest access leg wins there.
    order = np.lexsort((offsets, nodes))
    first = np.ones(order.size, dtype=bool)
    first[1:] = nodes[order][1:] != nodes[order][:-1]
    best = order[first]
    base = graph.csr_reversed if direction == "to" else graph.csr
    seconds, pred = _dijkstra_from_super_source(base, nodes[best], offsets[best], limit)
    root = _path_roots(pred, n)
    owner = np.full(n, -1, dtype=np.int64)
    owner[nodes[best]] = best
    nearest = np.where(np.isfinite(seconds), owner[root], -1)
    return seconds, nearest


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


def _dijkstra_from_super_source(
    base: sp.csr_matrix, sources: IntArray, offsets: FloatArray, limit: float
) -> tuple[FloatArray, IntArray]:
    """One Dijkstra from an extra node linked to every source by its offset.

    That is how per-source start times enter a multi-source search; scipy's ``min_only`` mode
    has no start times.
    """
    n = base.shape[0]
    indptr = np.append(base.indptr, base.indptr[-1] + sources.size)
    indices = np.concatenate([base.indices, sources])
    # Built directly as CSR, so zero offsets stay explicit entries, which csgraph treats as arcs.
    data = np.concatenate([base.data, offsets])
    graph = sp.csr_matrix((data, indices, indptr), shape=(n + 1, n + 1))
    dist, pred = dijkstra(graph, directed=True, indices=n, return_predecessors=True, limit=limit)
    return dist[:n], pred[:n].astype(np.int64)


def _path_roots(pred: IntArray, n: int) -> IntArray:
    """For each node, the first node of its shortest path after the super source (pointer jumping)."""
    parent = pred.copy()
    top = (parent < 0) | (parent >= n)  # unreachable, or hung directly from the super source
    parent[top] = np.flatnonzero(top)
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            return parent
        parent = grand
