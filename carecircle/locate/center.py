"""The p-center: the largest cost to the nearest open site, by bisection on covering models."""

from __future__ import annotations

import math
from time import perf_counter

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from carecircle.errors import InfeasibleError
from carecircle.locate._highs import (
    DEFAULT_TIME_LIMIT,
    BoolArray,
    CostMatrix,
    FloatArray,
    IntArray,
    SitingResult,
    Status,
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
    _nearest_open,
    _row_min,
    _selected,
    _within,
)
from carecircle.locate.covering import _cover, _cover_result, _covering_model
from carecircle.locate.median import _DENSE_CELLS, _check_reachable, _finite, _take_cols


def _radius(matrix: FloatArray | sp.csr_array, selected: IntArray) -> float:
    """Largest cost from a row to its nearest selected candidate (``inf`` if one is unserved)."""
    if selected.size == 0:
        return math.inf if matrix.shape[0] else 0.0
    return float(_row_min(_take_cols(matrix, selected)).max(initial=0.0))


def _pc_greedy(matrix: FloatArray, p: int, forced: BoolArray) -> IntArray:
    """Open, p times, the candidate that lowers the largest row cost most (forced ones first)."""
    Wb = _finite(matrix)
    is_open = forced.copy()
    cur = Wb[:, is_open].min(axis=1) if is_open.any() else np.full(Wb.shape[0], np.inf)
    for _ in range(p - int(is_open.sum())):
        worst = np.minimum(cur[:, None], Wb).max(axis=0)
        worst[is_open] = np.inf
        j = int(np.argmin(worst))
        is_open[j] = True
        cur = np.minimum(cur, Wb[:, j])
    return np.flatnonzero(is_open).astype(np.int64)


def _pc_feasible(
    matrix: FloatArray | sp.csr_array,
    radius: float,
    p: int,
    forced: BoolArray,
    time_limit: float,
) -> _Outcome:
    """Can ``p`` sites (forced ones among them) cover every row within ``radius``?"""
    m = forced.size
    cover = _cover(_within(matrix, radius))
    if cover.uncoverable.size:
        return _Outcome("infeasible", None, math.nan, math.nan, "")
    model = _covering_model(cover.groups, np.zeros(m), forced)
    rows = _Rows(m)
    rows.add(np.zeros(m), np.arange(m), 1.0, -np.inf, p, 1)
    extra, lo, hi = rows.build()
    model = _Model(
        c=model.c,
        A=sp.csr_array(sp.vstack([model.A, extra])),
        lo=np.r_[model.lo, lo],
        hi=np.r_[model.hi, hi],
        lb=model.lb,
        ub=model.ub,
        integrality=model.integrality,
    )
    # The objective is 0: any cover of at most p sites answers the question.
    return _run(model, time_limit=time_limit, mip_gap=0.0)


def _pc_bisect(
    matrix: FloatArray | sp.csr_array,
    values: FloatArray,
    lo: int,
    hi: int,
    best: IntArray,
    p: int,
    forced: BoolArray,
    deadline: float,
) -> tuple[IntArray, int, Status]:
    """Bisection over ``values``: every radius below ``values[lo]`` is shown impossible and
    ``best`` (if any) achieves ``values[hi]``; stops when they meet or time runs out."""
    m = forced.size
    while lo < hi or best.size == 0:
        mid = (lo + hi) // 2 if best.size else hi
        out = _pc_feasible(matrix, values[mid], p, forced, deadline - perf_counter())
        if out.x is not None:
            best = _selected(out.x, m)
            hi = int(np.searchsorted(values, _radius(matrix, best)))
        elif out.status == "infeasible":
            if best.size == 0:
                return best, lo, "infeasible"
            lo = mid + 1
        else:
            return best, lo, "time_limit"
    return best, lo, "optimal"


def solve_pcenter(
    cost: CostMatrix,
    p: int,
    *,
    forced: npt.ArrayLike | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> SitingResult:
    r"""Vertex p-center (Hakimi 1965): ``p`` sites minimising the largest cost to the nearest.

    .. math::

        \min_{S\subseteq J,\ |S|\le p,\ F\subseteq S}\ \max_i\ \min_{j\in S} c_{ij}

    The optimum is one of the matrix's distinct costs, so it is found exactly by bisection over
    them (Minieka 1970): radius ``r`` is achievable iff the covering MILP

    .. math::

        \sum_{j:\,c_{ij}\le r} y_j \ge 1\ \ \forall i,\qquad \sum_j y_j \le p,\qquad
        y_F = 1,\qquad y\in\{0,1\}^m

    is feasible. The search starts between ``max_i min_j c_ij`` (no radius below it works) and
    the radius of a greedy solution; every feasible cover found lowers the upper end to its own
    radius. ``bound`` is the smallest radius not yet shown impossible, so after a time limit the
    result reports the best radius found and how far it may be from optimal.

    Parameters
    ----------
    cost
        Demand × candidate cost, dense or sparse (sparse: a missing entry is *not reachable*).
    p
        Maximum number of open sites (forced ones included); more never hurts, so the result
        opens at most ``p``.
    forced
        Candidate indices that must be open.
    time_limit
        Seconds for the whole search.

    Returns
    -------
    SitingResult
        ``objective`` = the largest cost from a row to its nearest open site.
    """
    start = perf_counter()
    deadline = start + time_limit
    matrix = _as_matrix(cost)
    n, m = matrix.shape
    fixed = _forced(forced, m)
    p = _check_p(p, m, int(fixed.sum()))
    _check_reachable(matrix, np.ones(n, dtype=bool))
    if p == 0 and n:
        raise InfeasibleError("p = 0 时无法服务任何需求点 / p = 0 sites cannot serve any demand")
    if n == 0:
        out = _Outcome("optimal", np.r_[fixed.astype(np.float64)], 0.0, 0.0, "")
        return _cover_result(
            out, matrix, math.inf, _cover(_within(matrix, 0.0)), "p-center", start, time_limit
        )
    values = np.unique(
        matrix[np.isfinite(matrix)] if isinstance(matrix, np.ndarray) else matrix.data
    )
    lo = int(np.searchsorted(values, _row_min(matrix).max(initial=-math.inf)))
    best, hi = _empty_int(), values.size - 1
    if isinstance(matrix, np.ndarray) and matrix.size <= _DENSE_CELLS and p > 0:
        best = _pc_greedy(matrix, p, fixed)
        if math.isfinite(_radius(matrix, best)):
            hi = int(np.searchsorted(values, _radius(matrix, best)))
        else:
            best = _empty_int()  # the greedy sites leave a row unserved: no upper end yet
    best, lo, status = _pc_bisect(matrix, values, lo, hi, best, p, fixed, deadline)
    objective = _radius(matrix, best) if best.size else math.nan
    bound = float(values[lo]) if status != "infeasible" and values.size else math.nan
    if status == "optimal":
        bound = objective
    return _result(
        "p-center",
        status,
        objective,
        bound,
        best,
        _nearest_open(matrix, best),
        start=start,
        time_limit=time_limit,
    )
