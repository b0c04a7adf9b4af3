"""Checks and shapes of the models' inputs: cost matrices, radii, weights, forced sites, merged rows."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from carecircle.errors import DataError, InfeasibleError, excerpt
from carecircle.locate._highs import BoolArray, CostMatrix, FloatArray, IntArray


def _as_matrix(cost: CostMatrix) -> FloatArray | sp.csr_array:
    """Dense float array (non-finite = unreachable) or canonical CSR (missing = unreachable).

    Negative costs are refused (no travel time or distance is below zero, and the models would
    reward them); the first one is named by its row and column.
    """
    if sp.issparse(cost):
        try:
            csr = sp.csr_array(cost, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"cost 须为数值矩阵 / cost must hold numbers (seconds, metres), got "
                f"{type(cost).__name__} ({exc})"
            ) from None
        if csr.ndim != 2:
            raise _not_2d(csr.shape)
        csr.sum_duplicates()
        csr.sort_indices()
        if np.isnan(csr.data).any():
            # nan is not a cost: drop it so that it reads as "not reachable", like a missing entry.
            coo = csr.tocoo()
            ok = ~np.isnan(coo.data)
            csr = sp.csr_array((coo.data[ok], (coo.row[ok], coo.col[ok])), shape=csr.shape)
        if np.any(csr.data < 0):
            coo = csr.tocoo()
            order = np.lexsort((coo.col, coo.row))
            neg = order[coo.data[order] < 0]
            raise _negative(
                int(neg.size), int(coo.row[neg[0]]), int(coo.col[neg[0]]), coo.data[neg[0]]
            )
        return csr
    try:
        dense = np.asarray(cost, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"cost 须为数值矩阵 / cost must be a 2-D array of numbers (seconds, metres), got "
            f"{type(cost).__name__} ({exc})"
        ) from None
    if dense.ndim != 2:
        raise _not_2d(dense.shape)
    neg = dense < 0
    if neg.any():
        i, j = (int(k) for k in np.argwhere(neg)[0])
        raise _negative(int(neg.sum()), i, j, dense[i, j])
    return np.where(np.isnan(dense), np.inf, dense)


def _not_2d(shape: tuple[int, ...]) -> DataError:
    return DataError(
        f"cost 应为二维矩阵（需求 × 候选点）/ cost must be 2-D (demand × candidate), "
        f"got shape {shape}"
    )


def _negative(count: int, row: int, col: int, value: float) -> DataError:
    return DataError(
        f"cost 含 {count} 个负值（第一个：行 {row}，列 {col}，{value:g}）/ cost holds {count} "
        f"negative value(s) (first: row {row}, column {col}, {value:g}); costs are seconds or "
        "metres, >= 0 (to maximise, pass the cost of the opposite)"
    )


def _within(cost: FloatArray | sp.csr_array, radius: float) -> sp.csr_array:
    """Boolean CSR of the pairs with ``cost <= radius`` (stored entries only for sparse input)."""
    if not isinstance(cost, np.ndarray):
        coo = cost.tocoo()
        ok = coo.data <= radius
        data = np.ones(int(ok.sum()), dtype=bool)
        return sp.csr_array((data, (coo.row[ok], coo.col[ok])), shape=cost.shape)
    return sp.csr_array(cost <= radius)


def _weights(
    weights: npt.ArrayLike | None, n: int, name: str = "weights", per: str = "row"
) -> FloatArray:
    """One finite non-negative number per ``per`` (demand row, or candidate); the first bad
    value is named with its position."""
    if weights is None:
        return np.ones(n)
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"{name} 须为数值 / {name} must be {n} numbers (one per {per} of cost), got "
            f"{type(weights).__name__} ({exc})"
        ) from None
    if w.ndim > 1 and w.size == n:
        w = w.ravel()  # a column vector
    if w.shape != (n,):
        raise DataError(
            f"{name} 有 {w.size} 个值，应有 {n} 个 / {name} has {w.size} value(s) (shape "
            f"{w.shape}) for {n} {per}s of cost; give one per {per}"
        )
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        # A pandas Series: its label too, when it is not the position.
        index: Any = getattr(weights, "index", None) if hasattr(weights, "iloc") else None
        label = f" (label {excerpt(index[i])})" if index is not None and index[i] != i else ""
        raise DataError(
            f"{name} 第 {i} 项为 {w[i]:g}，须为非负有限数 / {name} {per} {i}{label} is {w[i]:g} "
            f"({int(bad.sum())} bad value(s) in all); {name} must be finite and >= 0"
        )
    return w


def _forced(forced: npt.ArrayLike | None, n_cand: int) -> BoolArray:
    """Candidate indices (column numbers) as a mask; the first bad one is named."""
    mask = np.zeros(n_cand, dtype=bool)
    if forced is None:
        return mask
    raw = np.asarray(forced).ravel()
    if raw.dtype == np.bool_:
        raise DataError(
            f"forced 应为候选点编号而非布尔掩码 / forced takes candidate indices (column "
            f"numbers), got {raw.size} booleans; pass np.flatnonzero(mask)"
        )
    try:
        values = raw.astype(np.float64)
    except (TypeError, ValueError):
        raise DataError(
            f"forced 应为候选点编号 / forced takes candidate indices 0..{n_cand - 1} (column "
            f"numbers), got {_head(raw)}"
        ) from None
    bad = ~np.isfinite(values) | (values != np.round(values)) | (values < 0) | (values >= n_cand)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        item = raw.tolist()[k]
        raise DataError(
            f"forced 第 {k} 项 {item!r} 不是有效候选点编号 / forced item {k} is {item!r}, not "
            f"a candidate index 0..{n_cand - 1} ({int(bad.sum())} bad in all)"
        )
    mask[values.astype(np.int64)] = True
    return mask


def _head(values: npt.NDArray[np.generic], limit: int = 3) -> str:
    """The first few values of an array, for a message."""
    head = ", ".join(repr(v) for v in values[:limit].tolist())
    return f"[{head}{', ...' if values.size > limit else ''}]"


def _check_p(p: int, n_cand: int, n_forced: int) -> int:
    try:
        whole = bool(int(p) == p) and p >= 0
    except (TypeError, ValueError, OverflowError):
        whole = False
    if not whole:
        raise DataError(
            f"p 应为非负整数 / p must be a non-negative whole number of sites, got {p!r}"
        )
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
        first = np.ones(r.size, dtype=bool)  # no entry at all (an empty matrix): no row served
        first[1:] = r[1:] != r[:-1]
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
