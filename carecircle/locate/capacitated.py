"""Capacitated models: single-source capacitated p-median and capacitated facility location."""

from __future__ import annotations

from time import perf_counter

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from carecircle.errors import DataError, InfeasibleError
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
from carecircle.locate._inputs import _as_matrix, _check_p, _forced, _selected, _weights
from carecircle.locate.median import _check_reachable


def _capacity_checks(
    matrix: FloatArray | sp.csr_array,
    demand: FloatArray,
    capacity: FloatArray,
    p: int | None,
    single_source: bool,
) -> None:
    """Raise InfeasibleError, listing every problem, when the capacities cannot hold the demand."""
    _check_reachable(matrix, np.ones(matrix.shape[0], dtype=bool))
    problems = []
    total = float(demand.sum())
    usable = np.sort(capacity)[::-1][: (capacity.size if p is None else p)]
    if total > usable.sum() + 1e-9:
        which = "全部候选点" if p is None else f"最大的 {p} 个候选点"
        what = "all candidates" if p is None else f"the {p} largest candidates"
        problems.append(
            f"总需求 {total:g} 超过{which}的容量 {usable.sum():g} / total demand {total:g} "
            f"exceeds the capacity of {what}, {usable.sum():g}"
        )
    if single_source:
        reach_cap = _row_max_capacity(matrix, capacity)
        too_big = np.flatnonzero(demand > reach_cap + 1e-9)
        if too_big.size:
            i = int(too_big[0])
            problems.append(
                f"{too_big.size} 个需求点的需求大于其可达候选点的最大容量（如行 {i}：{demand[i]:g} > "
                f"{reach_cap[i]:g}）/ {too_big.size} rows need more than any reachable candidate "
                f"holds (e.g. row {i}: {demand[i]:g} > {reach_cap[i]:g}); allow split demand"
            )
    if problems:
        raise InfeasibleError("; ".join(problems))


def _row_max_capacity(matrix: FloatArray | sp.csr_array, capacity: FloatArray) -> FloatArray:
    if not isinstance(matrix, np.ndarray):
        coo = matrix.tocoo()
        out = np.zeros(matrix.shape[0])
        np.maximum.at(out, coo.row, capacity[coo.col])
        return out
    return np.where(np.isfinite(matrix), capacity[None, :], 0.0).max(axis=1, initial=0.0)


def _pairs(matrix: FloatArray | sp.csr_array) -> tuple[IntArray, IntArray, FloatArray]:
    if not isinstance(matrix, np.ndarray):
        coo = matrix.tocoo()
        return coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data
    r, c = np.nonzero(np.isfinite(matrix))
    return r.astype(np.int64), c.astype(np.int64), matrix[r, c]


def _capacitated_model(
    matrix: FloatArray | sp.csr_array,
    assign_cost: FloatArray,
    demand: FloatArray,
    capacity: FloatArray,
    fixed_cost: FloatArray,
    p: int | None,
    forced: BoolArray,
    single_source: bool,
) -> tuple[_Model, IntArray, IntArray]:
    """The shared capacitated formulation; returns the model and the pair (row, col) arrays.

    Variables: ``y_j`` (open), then ``x_e`` per reachable pair ``e = (i, j)``.
    """
    n, m = matrix.shape
    r, c, _ = _pairs(matrix)
    E = r.size
    x = m + np.arange(E)
    cons = _Rows(m + E)
    cons.add(r, x, 1.0, 1.0, 1.0, n)  # every row served exactly once (in total)
    cons.add(
        np.r_[c, np.arange(m)], np.r_[x, np.arange(m)], np.r_[demand[r], -capacity], -np.inf, 0.0, m
    )
    cons.add(
        np.r_[np.arange(E), np.arange(E)],
        np.r_[x, c],
        np.r_[np.ones(E), -np.ones(E)],
        -np.inf,
        0.0,
        E,
    )
    # Redundant for integers but a strong cut for the LP: open capacity covers total demand.
    cons.add(np.zeros(m), np.arange(m), capacity, demand.sum(), np.inf, 1)
    if p is not None:
        cons.add(np.zeros(m), np.arange(m), 1.0, p, p, 1)
    A, lo, hi = cons.build()
    model = _Model(
        c=np.r_[fixed_cost, assign_cost],
        A=A,
        lo=lo,
        hi=hi,
        lb=np.r_[forced.astype(np.float64), np.zeros(E)],
        ub=np.ones(m + E),
        integrality=np.r_[np.ones(m), np.full(E, 1 if single_source else 0)].astype(np.uint8),
    )
    return model, r, c


def _capacitated_result(
    out: _Outcome,
    model: _Model,
    rc: tuple[IntArray, IntArray],
    shape: tuple[int, int],
    name: str,
    start: float,
    time_limit: float,
) -> SitingResult:
    n, m = shape
    r, c = rc
    objective = out.objective
    if out.x is None:
        selected, assignment, allocation = _empty_int(), np.full(n, -1, dtype=np.int64), None
    else:
        selected = _selected(out.x, m)
        share = np.clip(out.x[m:], 0.0, 1.0)
        share[share < 1e-9] = 0.0
        # The value of the solution as returned (integers rounded), not HiGHS's float sum.
        x = np.where(model.integrality > 0, np.round(out.x), np.r_[np.zeros(m), share])
        objective = float(model.c @ x) + model.constant
        allocation = sp.csr_array((share, (r, c)), shape=shape)
        allocation.eliminate_zeros()
        assignment = np.full(n, -1, dtype=np.int64)
        order = np.lexsort((-share, r))
        first = order[np.r_[True, r[order][1:] != r[order][:-1]]] if r.size else order
        assignment[r[first]] = c[first]
    return _result(
        name,
        out.status,
        objective,
        out.bound,
        selected,
        assignment,
        start=start,
        time_limit=time_limit,
        allocation=allocation,
    )


def _capacity(capacity: npt.ArrayLike, m: int) -> FloatArray:
    try:
        cap = np.broadcast_to(np.asarray(capacity, dtype=np.float64), (m,)).copy()
    except (TypeError, ValueError):
        size = np.size(capacity)
        raise DataError(
            f"capacity 应为一个数或每个候选点一个数 / capacity must be one number or {m} (one per "
            f"candidate), got {size} value(s)"
        ) from None
    bad = (cap < 0) | np.isnan(cap)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"capacity 第 {j} 项为 {cap[j]:g}，须为非负数 / capacity of candidate {j} is "
            f"{cap[j]:g}; capacities must be >= 0"
        )
    return cap


def solve_capacitated_pmedian(
    cost: CostMatrix,
    p: int,
    demand: npt.ArrayLike,
    capacity: npt.ArrayLike,
    *,
    weights: npt.ArrayLike | None = None,
    forced: npt.ArrayLike | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    mip_gap: float = DEFAULT_MIP_GAP,
) -> SitingResult:
    r"""Single-source capacitated p-median (e.g. Osman & Christofides 1994).

    .. math::

        \min \sum_{(i,j)} w_i c_{ij} x_{ij}\quad\text{s.t.}\quad \sum_j x_{ij} = 1\ \forall i,\quad
        \sum_i q_i x_{ij} \le Q_j y_j\ \forall j,\quad x_{ij} \le y_j,\quad \sum_j Q_j y_j \ge
        \sum_i q_i,\quad \sum_j y_j = p,\quad y_F = 1,\quad x, y \text{ binary}

    over reachable pairs only. Each row is served whole by one site (single source); rows are not
    merged, since two rows with equal costs may still need different sites.

    Parameters
    ----------
    cost
        Demand × candidate cost, dense or sparse (sparse: a missing entry is *not reachable*).
    p
        Number of sites.
    demand
        Demand ``q_i`` of each row (e.g. beds needed).
    capacity
        Capacity ``Q_j`` of each candidate, or one number for all.
    weights
        Multiplier of each row's assignment cost, default 1 (OR-Library's pmedcap: 1).
    forced, time_limit, mip_gap
        As in :func:`solve_pmedian`.

    Raises
    ------
    InfeasibleError
        When a row reaches no candidate, the demand exceeds the ``p`` largest capacities, or a
        row's demand exceeds every capacity it can reach.
    """
    start = perf_counter()
    matrix = _as_matrix(cost)
    n, m = matrix.shape
    fixed = _forced(forced, m)
    p = _check_p(p, m, int(fixed.sum()))
    q = _weights(demand, n, "demand")
    cap = _capacity(capacity, m)
    _capacity_checks(matrix, q, cap, p, single_source=True)
    r, _, d = _pairs(matrix)
    w = _weights(weights, n)
    model, r, c = _capacitated_model(matrix, w[r] * d, q, cap, np.zeros(m), p, fixed, True)
    out = _run(model, time_limit=time_limit, mip_gap=mip_gap)
    return _capacitated_result(
        out, model, (r, c), (n, m), "capacitated-p-median", start, time_limit
    )


def solve_cflp(
    cost: CostMatrix,
    fixed_cost: npt.ArrayLike,
    demand: npt.ArrayLike,
    capacity: npt.ArrayLike,
    *,
    single_source: bool = False,
    forced: npt.ArrayLike | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    mip_gap: float = DEFAULT_MIP_GAP,
) -> SitingResult:
    r"""Capacitated facility location with opening costs (OR-Library's ``cap``; Beasley 1988).

    .. math::

        \min \sum_j f_j y_j + \sum_{(i,j)} c_{ij} x_{ij}\quad\text{s.t.}\quad
        \sum_j x_{ij} = 1\ \forall i,\quad \sum_i q_i x_{ij} \le Q_j y_j\ \forall j,\quad
        x_{ij} \le y_j,\quad \sum_j Q_j y_j \ge \sum_i q_i,\quad y_F = 1,\quad y \text{ binary}

    ``x_ij`` is the *share* of row ``i``'s demand served by ``j`` and ``c_ij`` the cost of
    serving **all** of it from ``j`` (the capinfo convention). With ``single_source=False``
    (default) ``0 <= x <= 1`` and demand may be split; with ``True`` ``x`` is binary.

    Parameters
    ----------
    cost
        Demand × candidate cost of serving each row's whole demand; dense or sparse (sparse: a
        missing entry is *not reachable*).
    fixed_cost
        Opening cost ``f_j`` per candidate.
    demand
        Demand ``q_i`` per row.
    capacity
        Capacity ``Q_j`` per candidate (or one number).
    single_source
        Serve each row from one site only.
    forced, time_limit, mip_gap
        As in :func:`solve_pmedian`.

    Returns
    -------
    SitingResult
        ``allocation`` holds the shares; ``assignment`` the site with each row's largest share.
    """
    start = perf_counter()
    matrix = _as_matrix(cost)
    n, m = matrix.shape
    fixed = _forced(forced, m)
    q = _weights(demand, n, "demand")
    cap = _capacity(capacity, m)
    f = _weights(fixed_cost, m, "fixed_cost", per="candidate")
    _capacity_checks(matrix, q, cap, None, single_source)
    _, _, d = _pairs(matrix)
    model, r, c = _capacitated_model(matrix, d, q, cap, f, None, fixed, single_source)
    out = _run(model, time_limit=time_limit, mip_gap=mip_gap)
    return _capacitated_result(out, model, (r, c), (n, m), "cflp", start, time_limit)
