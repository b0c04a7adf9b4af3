"""The p-median: weighted cost to the nearest open site, with its Lagrangian pre-phase."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from carecircle.errors import InfeasibleError
from carecircle.locate._highs import (
    DEFAULT_MIP_GAP,
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
    _weights,
)

# Up to this many cells the p-median works on a dense matrix (sparse input is densified with inf
# for missing pairs) and runs its Lagrangian pre-phase; above it the sparse model goes straight to
# HiGHS (8 bytes a cell: 2e7 cells is 160 MB per temporary).
_DENSE_CELLS = 20_000_000


@dataclass(frozen=True, eq=False)
class _Ranked:
    """Every row's reachable candidates sorted by cost, in CSR layout (row r: indptr[r]..)."""

    indptr: IntArray
    cols: IntArray
    cost: FloatArray

    @property
    def rows(self) -> IntArray:
        return np.repeat(np.arange(self.indptr.size - 1, dtype=np.int64), np.diff(self.indptr))

    def subset(self, keep: BoolArray) -> _Ranked:
        counts = np.bincount(self.rows[keep], minlength=self.indptr.size - 1)
        indptr = np.r_[0, np.cumsum(counts)].astype(np.int64)
        return _Ranked(indptr, self.cols[keep], self.cost[keep])


def _ranked(matrix: FloatArray | sp.csr_array) -> _Ranked:
    if not isinstance(matrix, np.ndarray):
        coo = matrix.tocoo()
        order = np.lexsort((coo.col, coo.data, coo.row))
        counts = np.bincount(coo.row, minlength=matrix.shape[0])
        cols, cost = coo.col[order].astype(np.int64), coo.data[order]
    else:
        order = np.argsort(matrix, axis=1, kind="stable")
        values = np.take_along_axis(matrix, order, axis=1)
        finite = np.isfinite(values)
        counts = finite.sum(axis=1)
        cols, cost = order[finite].astype(np.int64), values[finite]
    ok = np.isfinite(cost)
    if not ok.all():
        counts = np.bincount(np.repeat(np.arange(counts.size), counts)[ok], minlength=counts.size)
        cols, cost = cols[ok], cost[ok]
    return _Ranked(np.r_[0, np.cumsum(counts)].astype(np.int64), cols, cost)


def _truncate(
    rk: _Ranked, p: int, forced: BoolArray, open_ok: BoolArray, cap: FloatArray | None
) -> _Ranked:
    """Drop entries no optimal assignment can use.

    Among any ``k - p + 1`` of the ``k`` candidates that may open, one is open, so a row is
    served within its first ``k - p + 1`` usable entries; a forced candidate is always open, so
    nothing beyond a row's first forced entry is needed; and ``cap`` (from the Lagrangian test
    in :func:`_pm_reduce`) bounds the cost at which a row can be served in any solution better
    than the incumbent.
    """
    usable = open_ok[rk.cols]
    sub = rk.subset(usable)
    rows = sub.rows
    rank = np.arange(sub.cols.size) - sub.indptr[rows]
    keep = rank < int(open_ok.sum()) - p + 1
    cum = np.r_[0, np.cumsum(forced[sub.cols])]
    keep &= cum[:-1] == cum[sub.indptr[rows]]  # no forced entry earlier in the same row
    if cap is not None:
        capped = keep & (sub.cost <= cap[rows])
        # A row whose cap would leave nothing keeps its rank-truncated list (rounding safety).
        has = np.bincount(rows[capped], minlength=sub.indptr.size - 1) > 0
        keep = np.where(has[rows], capped, keep)
    return sub.subset(keep)


def _chain_model(rk: _Ranked, p: int, forced: BoolArray, open_ok: BoolArray) -> _Model:
    r"""The p-median over sorted distance levels (Elloumi 2010, in a compact chained form).

    Row ``i`` has distinct costs :math:`D_{i1} < \dots < D_{iK_i}` over its remaining entries
    and :math:`\Delta_{ik}` is the set of candidates at cost :math:`D_{ik}`. With
    :math:`z_{ik}` = "row i is not served within :math:`D_{ik}`" (:math:`z_{i0} = 1`,
    :math:`z_{iK_i} = 0` because every row is served within its list):

    .. math::

        \min \sum_i \Big(D_{i1} + \sum_{k<K_i} (D_{i,k+1} - D_{ik})\, z_{ik}\Big)
        \quad\text{s.t.}\quad z_{i,k-1} - z_{ik} \le \sum_{j\in\Delta_{ik}} y_j,\qquad
        \sum_j y_j = p,\qquad y\in\{0,1\}^m,\ z\ge 0.

    Summing the chain gives Elloumi's :math:`z_{ik} \ge 1 - \sum_{D_{ij}\le D_{ik}} y_j`; the LP
    bound equals the classical formulation's, with one constraint per distinct level and
    ``O(nnz)`` nonzeros instead of Elloumi's ``O(n m^2)``. Costs here are already weighted.
    """
    m = open_ok.size
    rows = rk.rows
    new_level = np.r_[True, (rows[1:] != rows[:-1]) | (rk.cost[1:] != rk.cost[:-1])]
    level = np.cumsum(new_level) - 1
    lvl_row, lvl_cost = rows[new_level], rk.cost[new_level]
    n_lvl = lvl_row.size
    first = np.r_[True, lvl_row[1:] != lvl_row[:-1]]
    last = np.r_[lvl_row[1:] != lvl_row[:-1], True]
    z_of = np.cumsum(~last) - 1  # z index of each non-last level
    nz = int((~last).sum())
    own = np.flatnonzero(~last)
    prev = np.flatnonzero(~first)
    cons = _Rows(m + nz)
    cons.add(
        np.r_[level, own, prev],
        np.r_[rk.cols, m + z_of[own], m + z_of[prev - 1]],
        np.r_[-np.ones(level.size), -np.ones(own.size), np.ones(prev.size)],
        -np.inf,
        np.where(first, -1.0, 0.0),
        n_lvl,
    )
    cons.add(np.zeros(m), np.arange(m), 1.0, p, p, 1)
    A, lo, hi = cons.build()
    return _Model(
        c=np.r_[np.zeros(m), lvl_cost[own + 1] - lvl_cost[own]],
        A=A,
        lo=lo,
        hi=hi,
        lb=np.r_[forced.astype(np.float64), np.zeros(nz)],
        ub=np.r_[open_ok.astype(np.float64), np.ones(nz)],
        integrality=np.r_[np.ones(m), np.zeros(nz)].astype(np.uint8),
        constant=float(lvl_cost[first].sum()),
    )


@dataclass(frozen=True, eq=False)
class _Incumbent:
    """Outcome of the p-median's dense pre-phase: a solution and a Lagrangian bound."""

    open: BoolArray
    value: float
    bound: float
    lam: FloatArray
    rho: FloatArray


def _finite(W: FloatArray) -> FloatArray:
    """``W`` with unreachable cells set to a cost larger than any solution using only real ones."""
    top = float(W[np.isfinite(W)].max(initial=0.0))
    return np.where(np.isfinite(W), W, (top + 1.0) * (W.shape[0] + 1))


def _greedy(Wb: FloatArray, p: int, forced: BoolArray) -> BoolArray:
    """Add, p times, the candidate that lowers the total cost most (forced ones first)."""
    is_open = forced.copy()
    cur = Wb[:, is_open].min(axis=1) if is_open.any() else np.full(Wb.shape[0], Wb.max() + 1.0)
    for _ in range(p - int(is_open.sum())):
        gain = np.maximum(cur[:, None] - Wb, 0.0).sum(axis=0)
        gain[is_open] = -1.0
        j = int(np.argmax(gain))
        is_open[j] = True
        cur = np.minimum(cur, Wb[:, j])
    return is_open


def _interchange(Wb: FloatArray, is_open: BoolArray, forced: BoolArray) -> BoolArray:
    """Best-improvement vertex substitution (Teitz & Bart) with Whitaker's fast swap evaluation.

    For a swap (r out, j in) the change is ``base_j + loss_r + S[r, j]``: what adding ``j``
    saves, what removing ``r`` costs its clients (moving them to their second-nearest), and a
    correction for clients of ``r`` that ``j`` serves; all three for every pair in O(n m).
    """
    is_open = is_open.copy()
    n = Wb.shape[0]
    rows = np.arange(n)
    fill = float(Wb.max())
    for _ in range(10 * max(int(is_open.sum()), 1) + 10):
        opens = np.flatnonzero(is_open)
        sub = Wb[:, opens]
        near = np.argmin(sub, axis=1)
        d1 = sub[rows, near]
        if opens.size > 1:
            sub = sub.copy()
            sub[rows, near] = np.inf
            d2 = sub.min(axis=1)
        else:
            d2 = np.full(n, fill)
        base = np.minimum(Wb - d1[:, None], 0.0).sum(axis=0)
        loss = np.bincount(near, weights=d2 - d1, minlength=opens.size)
        corr = np.maximum(d1[:, None] - Wb, 0.0) - np.maximum(d2[:, None] - Wb, 0.0)
        owner = sp.csr_array((np.ones(n), (near, rows)), shape=(opens.size, n))
        delta = base[None, :] + loss[:, None] + owner @ corr
        delta[:, is_open] = np.inf
        delta[forced[opens], :] = np.inf
        r, j = np.unravel_index(int(np.argmin(delta)), delta.shape)
        if not delta[r, j] < -1e-9 * max(1.0, float(d1.sum())):
            break
        is_open[opens[r]] = False
        is_open[j] = True
    return is_open


def _value(W: FloatArray, is_open: BoolArray) -> float:
    return float(W[:, is_open].min(axis=1).sum()) if is_open.any() else math.inf


def _rho(W: FloatArray, lam: FloatArray, buf: FloatArray) -> FloatArray:
    # inf - lam stays inf, so unreachable cells add nothing. Working in a reused buffer matters:
    # fresh temporaries of this size cost page faults, measured 7x slower on a 3000 x 150 matrix.
    np.subtract(W, lam[:, None], out=buf)
    np.minimum(buf, 0.0, out=buf)
    out: FloatArray = buf.sum(axis=0)
    return out


def _lagrangian_open(rho: FloatArray, p: int, forced: BoolArray) -> BoolArray:
    chosen = forced.copy()
    q = p - int(forced.sum())
    if q > 0:
        free = np.flatnonzero(~forced)
        chosen[free[np.argpartition(rho[free], q - 1)[:q]]] = True
    return chosen


def _pm_dense_phase(
    W: FloatArray,
    p: int,
    forced: BoolArray,
    deadline: float,
    target: Callable[[float, float], bool],
) -> _Incumbent:
    r"""Heuristic incumbent and Lagrangian bound (Beasley 1985) for the dense p-median.

    Relaxing :math:`\sum_j x_{ij} = 1` with multipliers :math:`\lambda_i` gives
    :math:`L(\lambda) = \sum_i \lambda_i + \min_{|S|=p} \sum_{j\in S} \rho_j`,
    :math:`\rho_j = \sum_i \min(0, W_{ij} - \lambda_i)`, a valid lower bound for every
    :math:`\lambda`, maximised by subgradient steps. Every tenth step the relaxation's sites are
    evaluated and, when better, polished by vertex substitution.
    """
    Wb = _finite(W)
    best = _interchange(Wb, _greedy(Wb, p, forced), forced)
    upper = _value(W, best)
    lam = Wb[:, best].min(axis=1)
    best_lam, lower, mu, stall = lam.copy(), -math.inf, 2.0, 0
    buf = np.empty_like(W)
    for it in range(3000):
        rho = _rho(W, lam, buf)
        chosen = _lagrangian_open(rho, p, forced)
        value = float(lam.sum() + rho[chosen].sum())
        if value > lower + 1e-12 * max(1.0, abs(value)):
            lower, best_lam, stall = value, lam.copy(), 0
        else:
            stall += 1
            if stall >= 20:
                mu, stall = mu / 2.0, 0
        g = 1.0 - (W[:, chosen] < lam[:, None]).sum(axis=1)
        norm = float(g @ g)
        # norm == 0: every row is served once by the relaxation's sites, so they are optimal.
        if (it % 10 == 0 or norm == 0.0) and _value(W, chosen) < upper:
            best = _interchange(Wb, chosen, forced)
            upper = _value(W, best)
        if norm == 0.0 or target(lower, upper) or mu < 1e-4 or perf_counter() > deadline:
            break
        # Polyak step towards the incumbent (a finite stand-in while none is feasible).
        goal = upper if math.isfinite(upper) else _value(Wb, best)
        lam = lam + mu * (goal - value) / norm * g
    return _Incumbent(best, upper, lower, best_lam, _rho(W, best_lam, buf))


def _pm_reduce(
    inc: _Incumbent, p: int, forced: BoolArray, goal: float
) -> tuple[BoolArray, BoolArray, FloatArray]:
    """Lagrangian fixing: what a solution of value ``<= goal`` can open and use.

    Opening a candidate ``j`` outside the relaxation's choice raises the bound by at least
    ``rho_j - rho_q`` (it replaces the q-th cheapest); closing a chosen one by
    ``rho_{q+1} - rho_j``; serving row ``i`` from ``j`` by ``max(0, W_ij - lambda_i)``. Whatever
    pushes the bound above ``goal`` cannot be part of a solution of value ``<= goal``.
    """
    m = forced.size
    q = p - int(forced.sum())
    open_ok, must = np.ones(m, dtype=bool), forced.copy()
    free = np.flatnonzero(~forced)
    if q > 0 and free.size > q:
        order = free[np.argsort(inc.rho[free], kind="stable")]
        kth, nxt = inc.rho[order[q - 1]], inc.rho[order[q]]
        chosen, rest = order[:q], order[q:]
        slack = 1e-9 * max(1.0, abs(goal))
        open_ok[rest[inc.bound + inc.rho[rest] - kth > goal + slack]] = False
        must[chosen[inc.bound - inc.rho[chosen] + nxt > goal + slack]] = True
    cap = inc.lam + (goal - inc.bound) + 1e-9 * max(1.0, abs(goal))
    return open_ok, must, cap


def _merge_rows(matrix: FloatArray | sp.csr_array) -> tuple[FloatArray | sp.csr_array, IntArray]:
    """Merge identical cost rows: ``(unique rows, inverse)``."""
    if not isinstance(matrix, np.ndarray):
        seen: dict[bytes, int] = {}
        inverse = np.empty(matrix.shape[0], dtype=np.int64)
        first: list[int] = []
        for i in range(matrix.shape[0]):
            a, b = matrix.indptr[i], matrix.indptr[i + 1]
            key = matrix.indices[a:b].astype(np.int64).tobytes() + matrix.data[a:b].tobytes()
            g = seen.setdefault(key, len(seen))
            if g == len(first):
                first.append(i)
            inverse[i] = g
        return sp.csr_array(matrix[np.asarray(first, dtype=np.int64)]), inverse
    unique, inverse = np.unique(matrix, axis=0, return_inverse=True)
    return unique, inverse.ravel().astype(np.int64)


def _check_reachable(matrix: FloatArray | sp.csr_array, active: BoolArray) -> None:
    stranded = np.flatnonzero(active & ~np.isfinite(_row_min(matrix)))
    if stranded.size:
        head = ", ".join(map(str, stranded[:5].tolist())) + (" ..." if stranded.size > 5 else "")
        raise InfeasibleError(
            f"{stranded.size} 个需求点没有任何可达的候选点（行 {head}）/ {stranded.size} demand "
            f"rows cannot reach any candidate (rows {head}); drop them or add candidates"
        )


def solve_pmedian(
    cost: CostMatrix,
    p: int,
    weights: npt.ArrayLike | None = None,
    *,
    forced: npt.ArrayLike | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    mip_gap: float = DEFAULT_MIP_GAP,
) -> SitingResult:
    r"""p-median (Hakimi 1964; ReVelle & Swain 1970): ``p`` sites minimising weighted cost.

    .. math::

        \min \sum_i w_i \min_{j\in S} c_{ij}\quad\text{over}\quad S\subseteq J,\ |S| = p,\
        F\subseteq S

    solved exactly as the level-based MILP of :func:`_chain_model` (Elloumi 2010) by HiGHS.
    On a dense matrix of up to 2·10⁷ cells a pre-phase first finds a strong solution (greedy +
    vertex substitution) and a Lagrangian bound; when they meet, that proves optimality and no
    MILP is built, otherwise the bound removes candidates and far assignments that no better
    solution can use (reduced-cost fixing), and HiGHS solves what is left. Rows with identical
    costs are merged with summed weights; rows of weight 0 do not enter the model.

    Parameters
    ----------
    cost
        Demand × candidate cost, dense or sparse (sparse: a missing entry is *not reachable*,
        so a row can only be assigned to its stored candidates).
    p
        Number of sites (forced ones included).
    weights
        Non-negative weight per demand row; default 1.
    forced
        Candidate indices that must be open (existing facilities).
    time_limit
        Seconds for the whole call; afterwards the best solution is returned as ``"time_limit"``.
    mip_gap
        Relative optimality tolerance.

    Returns
    -------
    SitingResult
        ``objective`` = :math:`\sum_i w_i \min_{j\in S} c_{ij}`; ``assignment`` = nearest open site.

    Raises
    ------
    InfeasibleError
        When a weighted row reaches no candidate, ``p`` exceeds the candidates, or more sites are
        forced than ``p``.
    """
    start = perf_counter()
    matrix = _as_matrix(cost)
    n, m = matrix.shape
    fixed = _forced(forced, m)
    p = _check_p(p, m, int(fixed.sum()))
    w = _weights(weights, n)
    active = w > 0
    _check_reachable(matrix, active)
    if p == 0 and active.any():
        raise InfeasibleError("p = 0 时无法服务任何需求点 / p = 0 sites cannot serve any demand")
    rows, inverse = _merge_rows(matrix[np.flatnonzero(active)])
    W_rows = np.bincount(inverse, weights=w[active], minlength=rows.shape[0]).astype(np.float64)
    selected, status, bound = _pm_solve(rows, W_rows, p, fixed, start + time_limit, mip_gap)
    value = float(np.sum(W_rows * _row_min(_take_cols(rows, selected)))) if selected.size else 0.0
    if selected.size == 0 and active.any():
        value = math.nan
    return _result(
        "p-median",
        status,
        value,
        bound,
        selected,
        _nearest_open(matrix, selected),
        start=start,
        time_limit=time_limit,
    )


def _take_cols(matrix: FloatArray | sp.csr_array, cols: IntArray) -> FloatArray | sp.csr_array:
    return matrix[:, cols] if isinstance(matrix, np.ndarray) else sp.csr_array(matrix[:, cols])


def _weighted(matrix: FloatArray | sp.csr_array, w: FloatArray) -> FloatArray | sp.csr_array:
    if not isinstance(matrix, np.ndarray):
        out = sp.csr_array(matrix, copy=True)
        out.data = out.data * w[out.tocoo().row]
        return out
    return matrix * w[:, None]


def _pm_solve(
    rows: FloatArray | sp.csr_array,
    w: FloatArray,
    p: int,
    forced: BoolArray,
    deadline: float,
    mip_gap: float,
) -> tuple[IntArray, Status, float]:
    """Selected sites, status and proven lower bound for the merged, weighted p-median."""
    m = forced.size
    W = _weighted(rows, w)
    if not isinstance(W, np.ndarray) and W.shape[0] * W.shape[1] <= _DENSE_CELLS:
        # Small enough to hold densely (missing = inf): the Lagrangian pre-phase applies.
        coo = W.tocoo()
        W = np.full(W.shape, np.inf)
        W[coo.row, coo.col] = coo.data
    data = W[np.isfinite(W)] if isinstance(W, np.ndarray) else W.data
    integral = bool(np.all(data == np.round(data)))

    def goal_of(upper: float) -> float:
        # Integral costs: only a solution at least 1 better is worth looking for.
        if integral:
            return upper - 1.0 + 1e-6
        return upper - mip_gap * max(abs(upper), 1e-9)

    def proved(lower: float, upper: float) -> bool:
        return math.isfinite(upper) and lower > goal_of(upper)

    if rows.shape[0] == 0 or p == int(forced.sum()):
        return np.flatnonzero(forced).astype(np.int64), "optimal", _pm_floor(W, forced)
    open_ok, must, cap = np.ones(m, dtype=bool), forced, None
    inc: _Incumbent | None = None
    if isinstance(W, np.ndarray) and W.size <= _DENSE_CELLS:
        budget = perf_counter() + 0.3 * max(deadline - perf_counter(), 0.0)
        inc = _pm_dense_phase(W, p, forced, budget, proved)
        if proved(inc.bound, inc.value):
            bound = inc.value if integral else inc.bound
            return np.flatnonzero(inc.open).astype(np.int64), "optimal", bound
        if math.isfinite(inc.value):
            open_ok, must, cap = _pm_reduce(inc, p, forced, goal_of(inc.value))
    rk = _truncate(_ranked(W), p, must, open_ok, cap)
    if np.any(np.diff(rk.indptr) == 0):
        # Fixing closed every site some row can reach: nothing beats the incumbent.
        out = _Outcome("infeasible", None, math.nan, math.nan, "")
    else:
        model = _chain_model(rk, p, must, open_ok)
        out = _run(model, time_limit=max(deadline - perf_counter(), 1e-3), mip_gap=mip_gap)
    return _pm_combine(out, inc, m, goal_of, integral)


def _pm_floor(W: FloatArray | sp.csr_array, is_open: BoolArray) -> float:
    return float(_row_min(_take_cols(W, np.flatnonzero(is_open))).sum())


def _pm_combine(
    out: _Outcome,
    inc: _Incumbent | None,
    m: int,
    goal_of: Callable[[float], float],
    integral: bool,
) -> tuple[IntArray, Status, float]:
    """Merge HiGHS's answer on the reduced model with the pre-phase incumbent and bound.

    The reduced model holds every solution of value ``<= goal(incumbent)``; everything it left
    out is worse than that, so the global bound is ``max(L, min(HiGHS bound, goal))``.
    """
    upper = inc.value if inc is not None else math.inf
    lower = inc.bound if inc is not None else -math.inf
    # Left-out solutions are worse than goal; with integral costs that means >= the incumbent.
    excluded = (upper if integral else goal_of(upper)) if math.isfinite(upper) else math.inf
    found = out.x is not None and out.objective < upper
    if found:
        assert out.x is not None
        sel, best = _selected(out.x, m), out.objective
    elif math.isfinite(upper):
        assert inc is not None
        sel, best = np.flatnonzero(inc.open).astype(np.int64), upper
    else:
        return _empty_int(), ("infeasible" if out.status == "infeasible" else "time_limit"), lower
    reduced = math.inf if out.status == "infeasible" else out.bound
    bound = max(lower, min(reduced, excluded))
    if integral:
        bound, best = math.ceil(bound - 1e-6), round(best)
    proven = out.status in ("optimal", "infeasible") or bound >= goal_of(best)
    return sel, ("optimal" if proven else "time_limit"), min(bound, best)
