"""One multi-source Dijkstra over CSR arrays (scipy), with a start time for each source, and the
CSR arrays it runs on (parallel arcs reduced to the fastest)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def search(
    indptr: npt.NDArray[np.integer],
    indices: npt.NDArray[np.integer],
    data: FloatArray,
    seeds: IntArray,
    offsets: FloatArray,
    limit: float,
    *,
    extra: tuple[IntArray, IntArray, FloatArray] | None = None,
    which: bool = False,
) -> tuple[FloatArray, IntArray]:
    """One multi-source Dijkstra over CSR arrays, each seed starting at its offset.

    Each seed gets an extra node linked to it by its offset, and the search starts from all of
    those at once (scipy's ``min_only``, which has no start times of its own). ``extra`` arcs
    (tails, heads, seconds) are added to the graph for this search. Returns the times and, if
    ``which``, the seed each node was reached from (-1: not reached; otherwise empty).
    """
    n = indptr.size - 1
    if extra is not None and extra[0].size:
        # By tail, so that arcs inserted at one position (empty rows) land in their own rows.
        by_tail = np.argsort(extra[0], kind="stable")
        tails, heads, weights = (part[by_tail] for part in extra)
        at = indptr[tails + 1]  # at the end of each tail's row
        indices = np.insert(indices, at, heads)
        data = np.insert(data, at, weights)
        indptr = indptr + np.append(0, np.cumsum(np.bincount(tails, minlength=n)))
    k = seeds.size
    size = n + k
    indptr = np.concatenate([indptr, indptr[-1] + np.arange(1, k + 1)])
    indices = np.concatenate([indices, seeds]).astype(np.int32 if size < 2**31 else np.int64)
    # Built directly as CSR, so zero offsets stay explicit entries, which csgraph treats as arcs.
    graph = sp.csr_matrix((np.concatenate([data, offsets]), indices, indptr), shape=(size, size))
    starts = np.arange(n, size)
    if not which:
        dist = dijkstra(graph, directed=True, indices=starts, limit=limit, min_only=True)
        return dist[:n], np.empty(0, np.int64)
    dist, _, source = dijkstra(
        graph, directed=True, indices=starts, limit=limit, min_only=True, return_predecessors=True
    )
    return dist[:n], np.where(source[:n] >= n, source[:n] - n, -1).astype(np.int64)


def to_csr(
    t: IntArray, h: IntArray, w: FloatArray, n: int
) -> tuple[IntArray, npt.NDArray[np.int32], FloatArray]:
    """CSR arrays keeping the fastest of parallel arcs (scipy would *sum* duplicates)."""
    keep = t != h
    # Zero-second arcs (duplicate OSM nodes) stay as explicit entries: csgraph treats them as arcs,
    # and nothing here calls eliminate_zeros().
    t, h, w = t[keep], h[keep], w[keep]
    order = np.lexsort((w, h, t))
    t, h, w = t[order], h[order], w[order]
    first = np.ones(t.size, dtype=bool)
    first[1:] = (t[1:] != t[:-1]) | (h[1:] != h[:-1])
    t, h, w = t[first], h[first], w[first]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(t, minlength=n), out=indptr[1:])
    return indptr, h.astype(np.int32), w.astype(np.float64)
