"""Covering models: location set covering (LSCP) and maximal covering (MCLP)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from time import perf_counter

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from carecircle.locate._highs import (
    DEFAULT_MIP_GAP,
    DEFAULT_TIME_LIMIT,
    BoolArray,
    CostMatrix,
    FloatArray,
    IntArray,
    SitingResult,
    _empty_int,
    _Model,
    _Outcome,
    _result,
    _Rows,
    _run,
)
from carecircle.locate._inputs import (
    _as_matrix,
    _check_p,
    _forced,
    _group_rows,
    _nearest_open,
    _selected,
    _weights,
    _within,
)


@dataclass(frozen=True, eq=False)
class _Cover:
    """Coverable rows merged by catchment set: ``groups[g]`` is the set of group ``g``."""

    reach: sp.csr_array  # original rows × candidates, True where cost <= radius
    groups: sp.csr_array  # unique non-empty catchment sets
    group_of: IntArray  # per original row, its group (-1 if uncoverable)
    uncoverable: IntArray


def _cover(reach: sp.csr_array) -> _Cover:
    reach = sp.csr_array(reach, dtype=bool)
    counts = np.diff(reach.indptr)
    coverable = np.flatnonzero(counts > 0)
    groups, inverse = _group_rows(reach[coverable])
    group_of = np.full(reach.shape[0], -1, dtype=np.int64)
    group_of[coverable] = inverse
    return _Cover(reach, groups, group_of, np.flatnonzero(counts == 0).astype(np.int64))


def _covering_model(groups: sp.csr_array, col_cost: FloatArray, forced: BoolArray) -> _Model:
    """``min col_cost·y`` s.t. every group has an open candidate; forced ``y = 1``."""
    m = col_cost.size
    rows = _Rows(m)
    coo = groups.tocoo()
    rows.add(coo.row, coo.col, 1.0, 1.0, np.inf, groups.shape[0])
    A, lo, hi = rows.build()
    return _Model(
        c=col_cost,
        A=A,
        lo=lo,
        hi=hi,
        lb=forced.astype(np.float64),
        ub=np.ones(m),
        integrality=np.ones(m, dtype=np.uint8),
    )


def solve_lscp(
    cost: CostMatrix,
    radius: float,
    *,
    forced: npt.ArrayLike | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    mip_gap: float = DEFAULT_MIP_GAP,
) -> SitingResult:
    r"""Location set covering problem (Toregas et al., 1971): fewest sites covering every row.

    .. math::

        \min \sum_j y_j \quad\text{s.t.}\quad \sum_{j:\,c_{ij}\le r} y_j \ge 1
        \ \ \forall i \text{ coverable},\qquad y_j = 1\ \forall j\in F,\qquad y\in\{0,1\}^m

    A row no candidate reaches within ``radius`` cannot be covered by any choice; it is listed
    in ``result.uncoverable`` (and counted in the message), never silently dropped, and the other
    rows are still all covered. Rows with the same catchment set give one constraint.

    Parameters
    ----------
    cost
        Demand × candidate cost, dense or sparse (sparse: a missing entry is *not reachable*).
    radius
        Covering radius in the units of ``cost``; a pair covers when ``cost <= radius``.
    forced
        Candidate indices that are already open (existing facilities); they count in the total.
    time_limit
        Seconds for HiGHS; afterwards the best cover found is returned with ``"time_limit"``.
    mip_gap
        Relative optimality tolerance.

    Returns
    -------
    SitingResult
        ``objective`` = number of open sites (forced included); ``assignment`` = nearest open
        candidate within ``radius``.
    """
    start = perf_counter()
    matrix = _as_matrix(cost)
    m = matrix.shape[1]
    fixed = _forced(forced, m)
    cover = _cover(_within(matrix, radius))
    model = _covering_model(cover.groups, np.ones(m), fixed)
    out = _run(model, time_limit=time_limit, mip_gap=mip_gap)
    return _cover_result(out, matrix, radius, cover, "lscp", start, time_limit)


def _cover_result(
    out: _Outcome,
    matrix: FloatArray | sp.csr_array,
    radius: float,
    cover: _Cover,
    name: str,
    start: float,
    time_limit: float,
    weights: FloatArray | None = None,
) -> SitingResult:
    """Result of a covering model; the objective is recomputed from the solution itself.

    ``weights`` None: the number of open sites (LSCP); else the covered weight (MCLP).
    """
    m = matrix.shape[1]
    selected = _selected(out.x, m) if out.x is not None else _empty_int()
    assignment = _nearest_open(matrix, selected, radius)
    if out.x is None:
        objective = math.nan
    elif weights is None:
        objective = float(selected.size)
    else:
        objective = float(weights[assignment >= 0].sum())
    bound = out.bound
    extra = ""
    if cover.uncoverable.size:
        extra = (
            f"{cover.uncoverable.size} 个需求点在半径 {radius:g} 内没有任何候选点 / "
            f"{cover.uncoverable.size} demand rows have no candidate within {radius:g}"
        )
    return _result(
        name,
        out.status,
        objective,
        bound,
        selected,
        assignment,
        start=start,
        time_limit=time_limit,
        extra=extra,
        uncoverable=cover.uncoverable,
    )


def solve_mclp(
    cost: CostMatrix,
    radius: float,
    p: int,
    weights: npt.ArrayLike | None = None,
    *,
    forced: npt.ArrayLike | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    mip_gap: float = DEFAULT_MIP_GAP,
) -> SitingResult:
    r"""Maximal covering location problem (Church & ReVelle, 1974).

    .. math::

        \max \sum_g W_g z_g \quad\text{s.t.}\quad z_g \le \sum_{j\in N_g} y_j\ \ \forall g,\qquad
        \sum_j y_j = p,\qquad y_j = 1\ \forall j\in F,\qquad y\in\{0,1\}^m,\ 0\le z\le 1

    ``g`` runs over groups of rows with the same catchment set ``N_g = {j: c_ij <= r}`` and
    ``W_g`` is their summed weight (exact: rows with equal sets are covered together). ``z`` may
    be continuous because at an optimum ``z_g = min(1, Σ y)`` is 0 or 1.

    Parameters
    ----------
    cost
        Demand × candidate cost, dense or sparse (sparse: a missing entry is *not reachable*).
    radius
        Covering radius; a pair covers when ``cost <= radius``.
    p
        Number of sites to open (forced sites included).
    weights
        Non-negative weight per demand row (e.g. older residents); default 1.
    forced
        Candidate indices that must be open (existing facilities).
    time_limit, mip_gap
        As in :func:`solve_lscp`.

    Returns
    -------
    SitingResult
        ``objective`` = covered weight.
    """
    start = perf_counter()
    matrix = _as_matrix(cost)
    n, m = matrix.shape
    fixed = _forced(forced, m)
    p = _check_p(p, m, int(fixed.sum()))
    w = _weights(weights, n)
    cover = _cover(_within(matrix, radius))
    ok = cover.group_of >= 0
    W: FloatArray = np.bincount(
        cover.group_of[ok], weights=w[ok], minlength=cover.groups.shape[0]
    ).astype(np.float64)
    keep = np.flatnonzero(W > 0)
    groups = cover.groups[keep]
    G = keep.size
    rows = _Rows(m + G)
    coo = groups.tocoo()
    rows.add(
        np.r_[coo.row, np.arange(G)],
        np.r_[coo.col, m + np.arange(G)],
        np.r_[-np.ones(coo.nnz), np.ones(G)],
        -np.inf,
        0.0,
        G,
    )
    rows.add(np.zeros(m), np.arange(m), 1.0, p, p, 1)
    A, lo, hi = rows.build()
    model = _Model(
        c=np.r_[np.zeros(m), W[keep]],
        A=A,
        lo=lo,
        hi=hi,
        lb=np.r_[fixed.astype(np.float64), np.zeros(G)],
        ub=np.ones(m + G),
        integrality=np.r_[np.ones(m), np.zeros(G)].astype(np.uint8),
        maximize=True,
    )
    out = _mclp_shortcut(model, groups, W[keep], p, fixed, time_limit, mip_gap)
    if out is None:
        out = _run(
            model, time_limit=max(start + time_limit - perf_counter(), 1e-3), mip_gap=mip_gap
        )
    return _cover_result(out, matrix, radius, cover, "mclp", start, time_limit, w)


def _mclp_shortcut(
    model: _Model,
    groups: sp.csr_array,
    W: FloatArray,
    p: int,
    forced: BoolArray,
    time_limit: float,
    mip_gap: float,
) -> _Outcome | None:
    """A local-search solution that meets the LP bound is optimal: no branch and bound needed.

    HiGHS spends seconds in presolve and sub-MIP heuristics on dense coverage matrices whose LP
    bound is already tight; when the swap heuristic reaches ``floor(LP)`` (integral weights) or
    the LP within ``mip_gap``, that proves it. Otherwise ``None``: solve the MILP.
    """
    relaxed = np.zeros(model.c.size, dtype=np.uint8)
    lp = _run(
        _Model(model.c, model.A, model.lo, model.hi, model.lb, model.ub, relaxed, maximize=True),
        time_limit=time_limit,
        mip_gap=mip_gap,
    )
    if lp.status != "optimal":
        return None
    is_open = _mclp_swaps(groups, W, p, forced)
    count = groups @ is_open.astype(np.float64)
    value = float(W[count > 0].sum())
    integral = bool(np.all(np.round(W) == W))
    bound = math.floor(lp.objective + 1e-6) if integral else lp.objective
    if value < bound - mip_gap * max(abs(bound), 1e-9):
        return None
    x = np.r_[is_open.astype(np.float64), (count > 0).astype(np.float64)]
    return _Outcome("optimal", x, value, float(bound), "")


def _mclp_swaps(groups: sp.csr_array, W: FloatArray, p: int, forced: BoolArray) -> BoolArray:
    """Greedy, then best-improvement swaps (one site out, one in) for the maximal covering model.

    With ``count[g]`` open sites covering group ``g``: adding ``j`` gains the uncovered weight it
    reaches; removing ``r`` loses the weight only ``r`` covers, except what ``j`` also covers;
    all pairs are evaluated with two sparse products.
    """
    At = sp.csr_array(groups.T)
    is_open = forced.copy()
    count = groups @ is_open.astype(np.float64)
    for _ in range(p - int(forced.sum())):
        gain = At @ (W * (count == 0))
        gain[is_open] = -1.0
        j = int(np.argmax(gain))
        is_open[j] = True
        count[At.indices[At.indptr[j] : At.indptr[j + 1]]] += 1
    for _ in range(10 * p + 10):
        movable = np.flatnonzero(is_open & ~forced)
        if movable.size == 0:
            break
        sole = np.flatnonzero(count == 1)
        owner_cols = sp.csr_array(groups[sole][:, movable])
        has = np.diff(owner_cols.indptr) > 0
        owner = np.full(sole.size, -1, dtype=np.int64)
        owner[has] = owner_cols.indices[owner_cols.indptr[:-1][has]]
        keep = owner >= 0
        S = sp.csr_array((W[sole[keep]], (sole[keep], owner[keep])), shape=(W.size, movable.size))
        gain = At @ (W * (count == 0))
        loss = np.asarray(S.sum(axis=0)).ravel()
        delta = gain[:, None] - loss[None, :] + (At @ S).toarray()
        delta[is_open, :] = -np.inf
        j, r = (int(k) for k in np.unravel_index(int(np.argmax(delta)), delta.shape))
        if not delta[j, r] > 1e-9 * max(1.0, float(W.sum())):
            break
        out_site = movable[r]
        is_open[out_site], is_open[j] = False, True
        count[At.indices[At.indptr[out_site] : At.indptr[out_site + 1]]] -= 1
        count[At.indices[At.indptr[j] : At.indptr[j + 1]]] += 1
    return is_open
