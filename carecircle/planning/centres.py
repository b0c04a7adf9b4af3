"""The village-centre cover: fewest new village care centres so every village reaches one."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from time import perf_counter

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import linprog

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
    _result,
    _Rows,
    _run,
)
from carecircle.locate._inputs import _as_matrix, _group_rows, _nearest_open, _selected
from carecircle.locate.covering import _cover, _covering_model
from carecircle.planning.regional import _reach_matrix


def _flags(values: npt.ArrayLike | None, size: int, name: str) -> BoolArray:
    if values is None:
        return np.zeros(size, dtype=bool)
    flags = np.asarray(values, dtype=bool).ravel()
    if flags.shape != (size,):
        raise ValueError(
            f"{name} 应有 {size} 个值 / {name} must have {size} values, got {flags.size}"
        )
    return flags


def _village_note(in_existing: int, missing: IntArray) -> str:
    note = f"其中 {in_existing} 个利用现有建筑 / {in_existing} in existing buildings"
    if missing.size:
        note += (
            f"; {missing.size} 个需求点没有任何候选点可达，需要新增候选点 / {missing.size} demand "
            "points reach no candidate and need a new candidate site"
        )
    return note


def site_village_centres(
    coverage: CostMatrix,
    *,
    threshold: float | None = None,
    existing_building: npt.ArrayLike | None = None,
    already_covered: npt.ArrayLike | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    mip_gap: float = DEFAULT_MIP_GAP,
) -> SitingResult:
    r"""Fewest new village care centres so that every village reaches one (rule circle-15min).

    A set-covering model with a lexicographic tie-break towards existing buildings (idle
    schools, village offices: rule ``idle-assets``). With :math:`e_j = 1` for a candidate in an
    existing building and ``m`` candidates:

    .. math::

        \min \sum_j \big((m + 1) - e_j\big)\, y_j \quad\text{s.t.}\quad
        \sum_{j\in N_i} y_j \ge 1\ \ \forall i \text{ not yet covered and coverable},\qquad
        y\in\{0,1\}^m

    One centre more costs ``m + 1``, more than any number of existing buildings can save
    (at most ``m``), so the optimum opens the fewest centres and, among all such plans, uses
    the most existing buildings.

    Parameters
    ----------
    coverage
        Village × candidate matrix: boolean (True = reachable within 15 minutes), or walking
        seconds with ``threshold`` (e.g. 900); sparse: a missing entry is *not reachable*.
    threshold
        Seconds, when ``coverage`` holds times.
    existing_building
        Boolean per candidate: an existing building that can be converted.
    already_covered
        Boolean per village: already within reach of an operating centre (left out).
    time_limit, mip_gap
        As in :func:`solve_lscp`.

    Returns
    -------
    SitingResult
        ``objective`` = number of new centres; ``uncoverable`` lists the villages (not already
        covered) that no candidate reaches: they need a new candidate site, and are named in
        the message rather than dropped.
    """
    start = perf_counter()
    reach = _reach_matrix(coverage, threshold)
    n, m = reach.shape
    existing = _flags(existing_building, m, "existing_building")
    done = _flags(already_covered, n, "already_covered")
    todo = np.flatnonzero(~done)
    cover = _cover(reach[todo])
    weight = (m + 1.0) - existing.astype(np.float64)
    out = _run(
        _covering_model(cover.groups, weight, np.zeros(m, dtype=bool)),
        time_limit=time_limit,
        mip_gap=mip_gap,
    )
    selected = _selected(out.x, m) if out.x is not None else _empty_int()
    count = float(selected.size) if out.x is not None else math.nan
    bound = math.ceil(out.bound / (m + 1.0) - 1e-9) if math.isfinite(out.bound) else out.bound
    bound = count if out.status == "optimal" else float(bound)
    missing = todo[cover.uncoverable]
    extra = _village_note(int(existing[selected].sum()), missing)
    assignment = np.full(n, -1, dtype=np.int64)
    assignment[todo] = _nearest_open(
        _as_matrix(coverage) if threshold is not None else reach.astype(np.float64),
        selected,
        threshold if threshold is not None else math.inf,
    )[todo]
    return _result(
        "village-centres",
        out.status,
        count,
        bound,
        selected,
        assignment,
        start=start,
        time_limit=time_limit,
        extra=extra,
        uncoverable=missing.astype(np.int64),
    )


# --- the coverage curve: what each number of new centres brings --------------------------------

# Tie-breaks in the curve's objective, in older residents per site: small against any real gain
# (raster cells carry tenths of a resident at least) and reported apart from the coverage.
_PREFER = 1e-3
# The exact solves end after this many branch-and-bound nodes, not after a time, so that a run
# gives the same curve on any machine; a solve that stops there keeps its plan and its bound.
_NODES = 2000
# Past greedy, with a minimum per centre, the MILP tries more centres only on problems this small
# (demand groups × candidates within reach): on a county the tail adds little and costs minutes.
_EXTEND_PAIRS = 5000


@dataclass(frozen=True, eq=False)
class CurvePoint:
    """The best plan found with at most ``centres`` new centres.

    ``older_covered`` is what its centres newly bring within reach; ``bound`` an upper bound on
    any plan of that size (equal when ``status`` is optimal); ``selected`` the candidates, most
    served first, and ``served`` the older residents each serves (each resident counted once);
    ``share[g, k]`` the part of demand group ``g`` that centre ``k`` serves.
    """

    centres: int
    older_covered: float
    bound: float
    status: Status
    selected: IntArray
    served: FloatArray
    share: sp.csr_array


@dataclass(frozen=True, eq=False)
class CentreCurve:
    """Older residents newly within reach against the number of new centres, from 0 to the
    fewest centres that bring every resident any candidate can serve (the cover).

    ``group_of`` maps each demand row to its group (-1: no usable candidate reaches it, or it
    needs nothing); ``unusable`` lists the candidates that cannot serve ``min_older`` residents
    whoever else opens; ``most`` is the most any number of centres can bring.
    """

    points: tuple[CurvePoint, ...]
    group_of: IntArray
    unusable: IntArray
    most: float
    min_older: float
    seconds: float
    groups: sp.csr_array = field(default_factory=lambda: sp.csr_array((0, 0), dtype=bool))
    """Demand groups × candidates: which usable candidates reach each group."""

    def in_buildings(self, point: CurvePoint, building: npt.ArrayLike) -> CurvePoint:
        """``point`` with each new-build centre moved into an existing building (``building``,
        per candidate) that reaches every resident the centre serves: the same residents served
        by each centre, so the same value, in the stock the seed documents ask to use first."""
        flags = np.asarray(building, dtype=bool).ravel()
        if point.selected.size == 0 or not flags.any() or self.groups.shape[0] == 0:
            return point
        cols = sp.csc_array(self.groups)
        taken = set(point.selected.tolist())
        selected = point.selected.copy()
        share = point.share.tocsc()
        for k, j in enumerate(point.selected.tolist()):
            if flags[j]:
                continue
            mine = share.indices[share.indptr[k] : share.indptr[k + 1]]
            free = [e for e in np.flatnonzero(flags).tolist() if e not in taken]
            for e in free:
                reach = cols.indices[cols.indptr[e] : cols.indptr[e + 1]]
                if np.isin(mine, reach).all():
                    selected[k] = e
                    taken.discard(j)
                    taken.add(e)
                    break
        return replace(point, selected=selected)

    def at(self, centres: int) -> CurvePoint:
        """The point for ``centres`` new centres (the cover's for any number beyond it)."""
        return self.points[min(max(centres, 0), len(self.points) - 1)]

    @property
    def cover(self) -> CurvePoint:
        """The last point: the fewest centres that bring the most."""
        return self.points[-1]


def _curve_groups(
    reach: sp.csr_array, w: FloatArray, min_older: float
) -> tuple[sp.csr_array, FloatArray, IntArray, IntArray]:
    """Demand groups (rows with weight and the same usable candidates), their weights, the
    group of each row, and the candidates that cannot reach ``min_older`` residents at all."""
    m = reach.shape[1]
    reachable = np.asarray(reach.T @ w).ravel()
    usable = reachable >= min_older - 1e-9 if min_older > 0 else reachable > 0
    mask = sp.diags_array(usable.astype(np.float64))
    kept = sp.csr_array(reach.astype(np.float64) @ mask, dtype=bool)
    kept.eliminate_zeros()
    rows = np.flatnonzero((w > 0) & (np.diff(kept.indptr) > 0))
    group_of = np.full(reach.shape[0], -1, dtype=np.int64)
    if rows.size == 0:
        return sp.csr_array((0, m), dtype=bool), np.zeros(0), group_of, np.flatnonzero(~usable)
    groups, inverse = _group_rows(kept[rows])
    group_of[rows] = inverse
    W = np.bincount(inverse, weights=w[rows], minlength=groups.shape[0]).astype(np.float64)
    return groups, W, group_of, np.flatnonzero(~usable).astype(np.int64)


def _count_model(
    groups: sp.csr_array, W: FloatArray, n: int, min_older: float, prefer: FloatArray
) -> _Model:
    r"""Most older residents within reach with at most ``n`` centres.

    Without a minimum, the maximal covering model: :math:`\max \sum_g W_g z_g` with
    :math:`z_g \le \sum_{j\in N_g} y_j`. With a minimum :math:`m` per centre, each group's
    demand is assigned: :math:`\max \sum_{g,j} W_g u_{gj}` with :math:`\sum_j u_{gj} \le 1`,
    :math:`u_{gj} \le y_j` and :math:`\sum_g W_g u_{gj} \ge m\, y_j`. Both with
    :math:`\sum_j y_j \le n` and the tie-break ``prefer · y``.
    """
    G, m = groups.shape
    coo = groups.tocoo()
    g, j = coo.row.astype(np.int64), coo.col.astype(np.int64)
    if min_older <= 0:  # columns y, then z per group
        extra, value = G, W
        rows = _Rows(m + G)
        rows.add(np.r_[g, np.arange(G)], np.r_[j, m + np.arange(G)],
                 np.r_[-np.ones(g.size), np.ones(G)], -np.inf, 0.0, G)  # fmt: skip
    else:  # columns y, then u per (group, candidate) pair
        P = g.size
        extra, value = P, W[g]
        rows = _Rows(m + P)
        rows.add(g, m + np.arange(P), 1.0, -np.inf, 1.0, G)
        rows.add(np.r_[np.arange(P), np.arange(P)], np.r_[m + np.arange(P), j],
                 np.r_[np.ones(P), -np.ones(P)], -np.inf, 0.0, P)  # fmt: skip
        rows.add(np.r_[j, np.arange(m)], np.r_[m + np.arange(P), np.arange(m)],
                 np.r_[W[g], -min_older * np.ones(m)], 0.0, np.inf, m)  # fmt: skip
    rows.add(np.zeros(m), np.arange(m), 1.0, -np.inf, n, 1)
    A, lo, hi = rows.build()
    return _Model(
        c=np.r_[prefer, value],
        A=A,
        lo=lo,
        hi=hi,
        lb=np.zeros(m + extra),
        ub=np.ones(m + extra),
        integrality=np.r_[np.ones(m), np.zeros(extra)].astype(np.uint8),
        maximize=True,
    )


def _point(
    n: int, x: FloatArray, groups: sp.csr_array, W: FloatArray, min_older: float,
    status: Status, bound: float,
) -> CurvePoint:  # fmt: skip
    """A curve point from a model solution ``x`` (its ``y`` first)."""
    G, m = groups.shape
    open_ = np.flatnonzero(x[:m] > 0.5).astype(np.int64)
    if min_older <= 0:
        selected = _greedy_order(groups, W, open_)
        share = _order_shares(groups, selected)
    else:
        coo = groups.tocoo()
        u = np.clip(x[m:], 0.0, 1.0)
        on = (u > 1e-9) & np.isin(coo.col, open_)
        col_of = np.full(m, -1, dtype=np.int64)
        col_of[open_] = np.arange(open_.size)
        raw = sp.csr_array((u[on], (coo.row[on], col_of[coo.col[on]])), shape=(G, open_.size))
        served = np.asarray(raw.T @ W).ravel()
        order = np.argsort(-served, kind="stable")
        selected, share = open_[order], sp.csr_array(raw[:, order])
    served = np.asarray(share.T @ W).ravel()
    keep = served > 1e-9  # a count model may open centres it does not need
    selected, served, share = selected[keep], served[keep], sp.csr_array(share[:, keep])
    value = float(served.sum())
    return CurvePoint(n, value, max(bound, value), status, selected, served, share)


def _lp_bounds(groups: sp.csr_array, W: FloatArray, counts: list[int]) -> Callable[[int], float]:
    """Upper bounds on the maximal covering value for any number of centres, from the LP
    relaxation at a few ``counts``: its value there, and the tangent its dual gives elsewhere
    (the LP value is concave in the number of centres, so every tangent lies above it)."""
    G, m = groups.shape
    coo = groups.tocoo()
    A = sp.vstack(
        [
            sp.hstack(
                [
                    sp.csr_array((-np.ones(coo.nnz), (coo.row, coo.col)), shape=(G, m)),
                    sp.eye_array(G),
                ]
            ),
            sp.hstack([sp.csr_array(np.ones((1, m))), sp.csr_array((1, G))]),
        ]
    ).tocsr()
    c = np.r_[np.zeros(m), -W]
    lines: list[tuple[int, float, float]] = []
    for n in sorted(set(counts)):
        res = linprog(c, A_ub=A, b_ub=np.r_[np.zeros(G), n], bounds=(0.0, 1.0), method="highs")
        if res.status == 0:
            lines.append((n, -float(res.fun), -float(res.ineqlin.marginals[-1])))
    most = float(W.sum())

    def bound(n: int) -> float:
        tangents = [v + lam * (n - k) for k, v, lam in lines]
        return min([most, *tangents]) + 1e-9 * most

    return bound


def _greedy_min(groups: sp.csr_array, W: FloatArray, min_older: float) -> list[IntArray]:
    """Greedy plans under a minimum: each step opens the centre bringing the most residents not
    yet within reach, while that is at least ``min_older``; the plan after every step."""
    At = sp.csr_array(groups.T)
    covered = np.zeros(groups.shape[0], dtype=bool)
    is_open = np.zeros(groups.shape[1], dtype=bool)
    plans: list[IntArray] = []
    while True:
        gain = At @ (W * ~covered)
        gain[is_open] = -1.0
        j = int(np.argmax(gain))
        if gain[j] < max(min_older, 1e-9):
            return plans
        is_open[j] = True
        covered[At.indices[At.indptr[j] : At.indptr[j + 1]]] = True
        plans.append(np.asarray([*(plans[-1] if plans else []), j], dtype=np.int64))


def _order_shares(groups: sp.csr_array, order: IntArray) -> sp.csr_array:
    """Each group given whole to the first centre of ``order`` that reaches it."""
    cols = sp.csc_array(groups[:, order])
    owner = np.full(groups.shape[0], -1, dtype=np.int64)
    for k in range(order.size):
        r = cols.indices[cols.indptr[k] : cols.indptr[k + 1]]
        fresh = r[owner[r] < 0]
        owner[fresh] = k
    hit = np.flatnonzero(owner >= 0)
    return sp.csr_array((np.ones(hit.size), (hit, owner[hit])), shape=(groups.shape[0], order.size))


def _plan_point(
    n: int, order: IntArray, groups: sp.csr_array, W: FloatArray, status: Status, bound: float
) -> CurvePoint:
    share = _order_shares(groups, order)
    served = np.asarray(share.T @ W).ravel()
    value = float(served.sum())
    return CurvePoint(n, value, max(bound, value), status, order, served, share)


def centre_curve(
    reach: CostMatrix,
    weights: npt.ArrayLike,
    *,
    threshold: float | None = None,
    min_older: float = 0.0,
    prefer: npt.ArrayLike | None = None,
    exact_at: int | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    mip_gap: float = 1e-4,
) -> CentreCurve:
    """The coverage curve of new village centres: for n = 0, 1, 2, ... up to the cover, the most
    older residents (``weights``; 0 for those already within reach) n new centres bring within
    reach, each centre counted for the residents it brings first (in priority order).

    Each point is a plan (greedy: each next centre brings the most residents not yet within
    reach, while that is at least ``min_older``) with an upper bound from the LP relaxation
    of the maximal covering model (its value and dual tangents, valid for every n); a point
    whose plan meets its bound within ``mip_gap`` is ``optimal``. Within ``time_limit`` the
    maximal covering MILP is then solved with HiGHS at ``exact_at`` (the recommended count);
    nothing depends on the clock unless ``time_limit`` runs out, so a run repeats exactly. Values are monotone by
    construction (a plan for n - 1 centres is also one for n). Without a minimum the last
    point is the location set cover: the fewest centres bringing everyone a candidate reaches.

    With ``min_older`` every centre of a plan brings at least that many residents: candidates
    that cannot reach that many are left out (``unusable``), and the residents only they reach
    are for mobile or mutual-aid services.
    """
    start = perf_counter()
    deadline = start + time_limit
    reach_b = _reach_matrix(reach, threshold)
    n_rows, m = reach_b.shape
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.shape != (n_rows,) or not np.all(np.isfinite(w)) or (w < 0).any():
        raise ValueError(
            f"weights 应为 {n_rows} 个非负数 / weights must be {n_rows} non-negative numbers"
        )
    pref = _PREFER * np.clip(_column_or_zero(prefer, m), 0.0, 1.0)
    groups, W, group_of, unusable = _curve_groups(reach_b, w, min_older)
    empty = sp.csr_array((groups.shape[0], 0))
    points = [CurvePoint(0, 0.0, 0.0, "optimal", _empty_int(), np.zeros(0), empty)]
    if groups.shape[0] == 0:
        return CentreCurve(
            tuple(points), group_of, unusable, 0.0, min_older, perf_counter() - start
        )
    most = float(W.sum())
    none = np.zeros(m, dtype=bool)
    if min_older > 0:
        plans = _greedy_min(groups, W, min_older)
    else:  # the cover's size from the set-covering model, then swaps for each smaller count
        cover = _run(_covering_model(groups, 1.0 - pref, none), time_limit=max(deadline - perf_counter(), 1.0), mip_gap=0.0)  # fmt: skip
        top = np.flatnonzero(cover.x[:m] > 0.5) if cover.x is not None else np.arange(m)
        plans = [*_greedy_min(groups, W, 0.0)[: top.size - 1], top.astype(np.int64)]
    counts = [1, 2, 4, 8, 16, 32, 64, 128, 256, len(plans)]
    bound = _lp_bounds(groups, W, [k for k in counts if k <= len(plans)])
    for n, plan in enumerate(plans, start=1):
        greedy = min_older > 0 or n < len(plans)  # greedy plans come in priority order
        order = plan if greedy else _greedy_order(groups, W, plan)
        point = _plan_point(n, order, groups, W, "time_limit", bound(n))
        if point.older_covered < points[-1].older_covered:  # keep the better plan
            point = replace(points[-1], centres=n, bound=point.bound)
        if point.bound - point.older_covered <= mip_gap * max(point.bound, 1.0):
            point = replace(point, status="optimal")
        points.append(point)
    if min_older > 0 and groups.nnz <= _EXTEND_PAIRS:  # greedy stops when no single next
        # centre brings the minimum, though two together may: on small problems, ask the MILP
        while perf_counter() < deadline and len(points) <= most / min_older:
            n = len(points)
            out = _run(_count_model(groups, W, n, min_older, pref), time_limit=max(deadline - perf_counter(), 1.0), mip_gap=mip_gap, node_limit=_NODES)  # fmt: skip
            if out.x is None:
                break
            new = _point(n, out.x, groups, W, min_older, out.status, out.bound - float(pref.sum()))
            if new.older_covered <= points[-1].older_covered + max(1e-6 * most, 1e-6):
                break
            points.append(new)
    if min_older <= 0 and cover.status == "optimal":
        points[-1] = replace(points[-1], status="optimal", bound=points[-1].older_covered)
    # The exact solve at the recommended count (only there: a loop "while time lasts" would make
    # the curve depend on the machine's speed, and a run must give the same answer every time).
    if exact_at is not None and 0 < exact_at < len(points) and points[exact_at].status != "optimal":
        n = exact_at
        model = _count_model(groups, W, n, min_older, pref)
        out = _run(model, time_limit=max(deadline - perf_counter(), 1.0), mip_gap=mip_gap, node_limit=_NODES)  # fmt: skip
        if out.x is not None:
            new = _point(n, out.x, groups, W, min_older, out.status, out.bound - float(pref.sum()))
            old = points[n]
            best = new if new.older_covered > old.older_covered + 1e-9 else old
            status: Status = "optimal" if out.status == "optimal" else old.status
            points[n] = replace(best, status=status, bound=min(old.bound, max(new.bound, best.older_covered)))  # fmt: skip
    for k in range(1, len(points)):  # monotone after the exact solves too
        if points[k].older_covered < points[k - 1].older_covered:
            points[k] = replace(
                points[k - 1], centres=k, status=points[k].status, bound=points[k].bound
            )
    for k in range(len(points) - 2, 0, -1):  # the optimum never falls as centres are added
        if points[k + 1].bound < points[k].bound:
            points[k] = replace(points[k], bound=max(points[k + 1].bound, points[k].older_covered))
    return CentreCurve(
        tuple(points), group_of, unusable, most, min_older, perf_counter() - start, groups
    )


def _greedy_order(groups: sp.csr_array, W: FloatArray, plan: IntArray) -> IntArray:
    """``plan``'s centres as a priority list: each next brings the most residents not yet
    within reach (centres that bring none come last, in their order)."""
    plan = np.asarray(plan, dtype=np.int64)
    steps = _greedy_min(sp.csr_array(groups[:, plan]), W, 0.0)
    first = steps[-1] if steps else np.zeros(0, dtype=np.int64)
    rest = np.setdiff1d(np.arange(plan.size), first, assume_unique=True)
    return plan[np.r_[first, rest].astype(np.int64)]


def _column_or_zero(values: npt.ArrayLike | None, m: int) -> FloatArray:
    if values is None:
        return np.zeros(m)
    out = np.asarray(values, dtype=np.float64).ravel()
    if out.shape != (m,):
        raise ValueError(f"prefer 应有 {m} 个值 / prefer must have {m} values, got {out.size}")
    return out
