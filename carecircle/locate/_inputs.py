"""Checks and shapes of the models' inputs: cost matrices, radii, weights, forced sites, merged rows."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from carecircle.errors import InfeasibleError
from carecircle.locate._highs import BoolArray, CostMatrix, FloatArray, IntArray


def _as_matrix(cost: CostMatrix) -> FloatArray | sp.csr_array:
    """Dense float array (non-finite = unreachable) or canonical CSR (missing = unreachable)."""
    if sp.issparse(cost):
        csr = sp.csr_array(cost, dtype=np.float64)
        csr.sum_duplicates()
        csr.sort_indices()
        if np.isnan(csr.data).any():
            # nan is not a cost: drop it so that it reads as "not reachable", like a missing entry.
            coo = csr.tocoo()
            ok = ~np.isnan(coo.data)
            csr = sp.csr_array((coo.data[ok], (coo.row[ok], coo.col[ok])), shape=csr.shape)
        return csr
    dense = np.asarray(cost, dtype=np.float64)
    if dense.ndim != 2:
        raise ValueError(
            f"cost 应为二维矩阵（需求 × 候选点）/ cost must be 2-D (demand × candidate), "
            f"got shape {dense.shape}"
        )
    return np.where(np.isnan(dense), np.inf, dense)


def _within(cost: FloatArray | sp.csr_array, radius: float) -> sp.csr_array:
    """Boolean CSR of the pairs with ``cost <= radius`` (stored entries only for sparse input)."""
    if not isinstance(cost, np.ndarray):
        coo = cost.tocoo()
        ok = coo.data <= radius
        data = np.ones(int(ok.sum()), dtype=bool)
        return sp.csr_array((data, (coo.row[ok], coo.col[ok])), shape=cost.shape)
    return sp.csr_array(cost <= radius)


def _weights(weights: npt.ArrayLike | None, n: int, name: str = "weights") -> FloatArray:
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(
            f"{name} 应为 {n} 个非负有限数 / {name} must be {n} finite non-negative numbers, "
            f"got shape {w.shape}"
        )
    return w


def _forced(forced: npt.ArrayLike | None, n_cand: int) -> BoolArray:
    mask = np.zeros(n_cand, dtype=bool)
    if forced is None:
        return mask
    idx = np.asarray(forced, dtype=np.int64).ravel()
    bad = idx[(idx < 0) | (idx >= n_cand)]
    if bad.size:
        raise ValueError(
            f"forced 含无效候选点编号 {bad.tolist()} / forced holds candidate indices outside "
            f"0..{n_cand - 1}: {bad.tolist()}"
        )
    mask[idx] = True
    return mask


def _check_p(p: int, n_cand: int, n_forced: int) -> int:
    if int(p) != p or p < 0:
        raise ValueError(f"p 应为非负整数 / p must be a non-negative integer, got {p!r}")
    if p > n_cand:
        raise InfeasibleError(
            f"要选 {p} 个点但只有 {n_cand} 个候选点 / p = {p} sites asked for, but there are "
            f"only {n_cand} candidates"
        )
    if n_forced > p:
        raise InfeasibleError(
            f"必选的现有设施 {n_forced} 个多于 p = {p} / {n_forced} forced (existing) sites, "
            f"more than p = {p}"
        )
    return int(p)


def _group_rows(reach: sp.csr_array) -> tuple[sp.csr_array, IntArray]:
    """Merge rows with identical sparsity patterns: ``(unique rows, inverse)``.

    ``reach[i]`` equals ``unique[inverse[i]]`` for every row; rows are keyed by the bytes of
    their sorted column indices, so no two different patterns can collide.
    """
    reach = sp.csr_array(reach, dtype=bool)
    reach.sort_indices()
    indptr, indices = reach.indptr, reach.indices.astype(np.int64)
    seen: dict[bytes, int] = {}
    inverse = np.empty(reach.shape[0], dtype=np.int64)
    first: list[int] = []
    for i in range(reach.shape[0]):
        key = indices[indptr[i] : indptr[i + 1]].tobytes()
        g = seen.setdefault(key, len(seen))
        if g == len(first):
            first.append(i)
        inverse[i] = g
    unique = reach[np.asarray(first, dtype=np.int64)] if first else reach[:0]
    return sp.csr_array(unique), inverse


def _nearest_open(
    cost: FloatArray | sp.csr_array, selected: IntArray, radius: float = math.inf
) -> IntArray:
    """Per row, the selected candidate with the lowest cost ``<= radius`` (``-1`` if none)."""
    n = cost.shape[0]
    out = np.full(n, -1, dtype=np.int64)
    if selected.size == 0:
        return out
    if not isinstance(cost, np.ndarray):
        sub = sp.csr_array(cost[:, selected]).tocoo()
        ok = sub.data <= radius
        r, c, v = sub.row[ok], sub.col[ok], sub.data[ok]
        order = np.lexsort((v, r))
        r, c = r[order], c[order]
        first = np.r_[True, r[1:] != r[:-1]]
        out[r[first]] = selected[c[first]]
        return out
    sub = cost[:, selected]
    best = np.argmin(sub, axis=1)
    ok = sub[np.arange(n), best] <= radius
    out[ok] = selected[best[ok]]
    return out


def _row_min(cost: FloatArray | sp.csr_array) -> FloatArray:
    """Smallest reachable cost of every row (``inf`` if it has none)."""
    if not isinstance(cost, np.ndarray):
        out = np.full(cost.shape[0], np.inf)
        coo = cost.tocoo()
        np.minimum.at(out, coo.row, coo.data)
        return out
    if cost.shape[1] == 0:
        return np.full(cost.shape[0], np.inf)
    return np.asarray(cost.min(axis=1), dtype=np.float64)


def _selected(x: FloatArray, n_cand: int) -> IntArray:
    return np.flatnonzero(x[:n_cand] > 0.5).astype(np.int64)
