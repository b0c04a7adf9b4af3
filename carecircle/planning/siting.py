"""Exact facility-location models on demand × candidate matrices, solved with HiGHS.

Every model here sees arrays only: a ``cost`` matrix whose rows are demand points and whose columns
are candidate sites (travel seconds, metres, or any cost), plus per-row and per-candidate arrays.
Geometry, networks and policy lookups live elsewhere; the pipeline builds the matrices (for example
from :func:`carecircle.engine.catchments`, transposed to demand × candidate) and calls these.

``cost`` may be a dense array or a ``scipy.sparse`` matrix. In a dense array ``inf`` (or ``nan``)
means "this candidate cannot serve this row". In a sparse matrix **a missing entry means "not
reachable"**, not zero; an explicitly stored ``0`` is a reachable pair at cost 0. For models with a
radius only entries ``<= radius`` matter.

Models (each docstring writes out its formulation):

* :func:`solve_lscp` -- location set covering: fewest sites covering every coverable row.
* :func:`solve_mclp` -- maximal covering: ``p`` sites covering the most weight.
* :func:`solve_pmedian` -- ``p`` sites minimising the weighted cost to the nearest open site.
* :func:`solve_pcenter` -- ``p`` sites minimising the largest cost to the nearest open site.
* :func:`solve_capacitated_pmedian` -- single-source capacitated p-median.
* :func:`solve_cflp` -- capacitated facility location with opening costs, split or single-source.
* :func:`site_regional_homes` -- the planner's model: where to build regional nursing homes and how
  many beds each, under bed, nursing-share, land, budget and zone rules.
* :func:`site_village_centres` -- fewest new village care centres so every village reaches one.

Every result reports ``status`` (``"optimal"``, ``"time_limit"`` or ``"infeasible"``), the best
``objective`` found, the solver's proven ``bound`` and the relative ``gap``. A solve stopped by its
time limit is never reported as optimal, even when its incumbent happens to be: scipy's
``res.status == 1`` maps to ``"time_limit"`` and the gap is computed from HiGHS's dual bound.
``"optimal"`` means proven within the relative tolerance ``mip_gap`` (default ``1e-6``, tighter
than HiGHS's own ``1e-4`` so that objectives of a million are exact to about one unit).

Limits that make a model infeasible and can be seen before solving raise
:class:`carecircle.errors.InfeasibleError` with a bilingual one-line message naming the numbers;
infeasibility that only the solver can find is returned as ``status == "infeasible"``.

Demand rows that the model cannot tell apart (identical catchment sets for the covering models,
identical cost rows for the p-median) are merged with summed weights before the model is built,
and results are mapped back to the original rows.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from time import perf_counter
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from carecircle.errors import InfeasibleError
from carecircle.planning.policy import MU_M2, get_rule

__all__ = [
    "HomeCandidates",
    "HomeTargets",
    "RegionalHomesResult",
    "SiteReport",
    "SitingResult",
    "Status",
    "site_regional_homes",
    "site_village_centres",
    "solve_capacitated_pmedian",
    "solve_cflp",
    "solve_lscp",
    "solve_mclp",
    "solve_pcenter",
    "solve_pmedian",
]

logger = logging.getLogger(__name__)

Status = Literal["optimal", "time_limit", "infeasible"]
FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
#: A dense array or any scipy.sparse matrix/array, rows = demand, columns = candidates.
CostMatrix: TypeAlias = npt.ArrayLike | sp.sparray | sp.spmatrix

DEFAULT_TIME_LIMIT = 60.0
DEFAULT_MIP_GAP = 1e-6
# Up to this many cells the p-median works on a dense matrix (sparse input is densified with inf
# for missing pairs) and runs its Lagrangian pre-phase; above it the sparse model goes straight to
# HiGHS (8 bytes a cell: 2e7 cells is 160 MB per temporary).
_DENSE_CELLS = 20_000_000
_PRESOLVE_COLUMNS = 100_000
# Regional homes: the first restricted model holds the sites the LP relaxation uses most.
_FIRST_SITES = 10


def _empty_int() -> IntArray:
    return np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class SitingResult:
    """The outcome of one siting model.

    Attributes
    ----------
    status
        ``"optimal"`` (proven within ``mip_gap``), ``"time_limit"`` (stopped early: ``objective``
        is the best solution found, ``bound`` what is proven) or ``"infeasible"``.
    objective
        Objective of the best solution (``nan`` if none was found).
    bound
        Best bound proven by the solver (a lower bound when minimising, an upper bound when
        maximising). Equal to ``objective`` within tolerance when optimal.
    gap
        ``|objective - bound| / max(|objective|, 1e-9)``; ``0`` when optimal, ``inf`` without a
        solution.
    selected
        Candidate (column) indices opened, sorted, including forced ones.
    assignment
        Per original demand row, the candidate serving it (the nearest selected one for
        uncapacitated models, the largest share for split models), ``-1`` if none.
    seconds
        Wall time of the whole call, model building included.
    model
        ``"lscp"``, ``"mclp"``, ``"p-median"``, ``"p-center"``, ``"capacitated-p-median"``,
        ``"cflp"`` or ``"village-centres"``.
    message
        What happened, in Chinese and English.
    uncoverable
        Demand rows that no candidate can reach (never silently dropped; their assignment is -1).
    allocation
        Split-demand models only: share of each row's demand served by each candidate (CSR).
    """

    status: Status
    objective: float
    bound: float
    gap: float
    selected: IntArray
    assignment: IntArray
    seconds: float
    model: str
    message: str
    uncoverable: IntArray = field(default_factory=_empty_int)
    allocation: sp.csr_array | None = None


# --- HiGHS through scipy.optimize.milp ---------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Model:
    """``min/max c·x + constant`` s.t. ``lo <= A x <= hi``, ``lb <= x <= ub``, some x integer."""

    c: FloatArray
    A: sp.csr_array
    lo: FloatArray
    hi: FloatArray
    lb: FloatArray
    ub: FloatArray
    integrality: npt.NDArray[np.uint8]
    constant: float = 0.0
    maximize: bool = False


@dataclass(frozen=True, eq=False)
class _Outcome:
    status: Status
    x: FloatArray | None
    objective: float
    bound: float
    message: str


class _Rows:
    """Collects constraint rows as COO triplets; ``add`` returns the new rows' indices."""

    def __init__(self, n_vars: int) -> None:
        self.n_vars = n_vars
        self.n_rows = 0
        self._r: list[IntArray] = []
        self._c: list[IntArray] = []
        self._v: list[FloatArray] = []
        self._lo: list[FloatArray] = []
        self._hi: list[FloatArray] = []

    def add(
        self,
        rows: npt.ArrayLike,
        cols: npt.ArrayLike,
        vals: npt.ArrayLike,
        lo: npt.ArrayLike,
        hi: npt.ArrayLike,
        n: int,
    ) -> range:
        """Add ``n`` rows; ``rows`` are local (0..n-1), ``lo``/``hi`` scalars or length ``n``."""
        r = np.asarray(rows, dtype=np.int64).ravel()
        c = np.asarray(cols, dtype=np.int64).ravel()
        v = np.broadcast_to(np.asarray(vals, dtype=np.float64), r.shape)
        self._r.append(r + self.n_rows)
        self._c.append(c)
        self._v.append(np.array(v))
        self._lo.append(np.broadcast_to(np.asarray(lo, dtype=np.float64), (n,)).copy())
        self._hi.append(np.broadcast_to(np.asarray(hi, dtype=np.float64), (n,)).copy())
        start = self.n_rows
        self.n_rows += n
        return range(start, self.n_rows)

    def build(self) -> tuple[sp.csr_array, FloatArray, FloatArray]:
        if not self._r:
            return sp.csr_array((0, self.n_vars)), np.zeros(0), np.zeros(0)
        A = sp.csr_array(
            (np.concatenate(self._v), (np.concatenate(self._r), np.concatenate(self._c))),
            shape=(self.n_rows, self.n_vars),
        )
        return A, np.concatenate(self._lo), np.concatenate(self._hi)


@contextlib.contextmanager
def _solver_chatter_hidden() -> Iterator[None]:
    """Keep HiGHS's C++ debug lines (``HighsMipSolverData::transformNewIntegerFeasibleSolution
    tmpSolver.run();``, printed even with ``disp=False``) out of the user's terminal.

    They go straight to file descriptor 1, so the descriptor itself is pointed at /dev/null for
    the solve. Where stdout is not a real descriptor (pytest's capture, a notebook) nothing is
    done. The solver's status and bound are logged at DEBUG level instead.
    """
    try:
        fd = sys.__stdout__.fileno() if sys.__stdout__ is not None else -1
    except (OSError, ValueError):
        fd = -1
    if fd < 0:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _run(model: _Model, *, time_limit: float, mip_gap: float) -> _Outcome:
    """Solve with HiGHS and read scipy's status honestly.

    scipy documents ``res.status``: 0 optimal, 1 iteration or time limit, 2 infeasible,
    3 unbounded, 4 other. Only 0 is "optimal"; on 1 the incumbent (if any) is kept together with
    HiGHS's dual bound. 3 and 4 cannot come from a correctly built location model and raise.
    """
    sign = -1.0 if model.maximize else 1.0
    options: dict[str, Any] = {
        "time_limit": max(float(time_limit), 1e-3),
        "mip_rel_gap": mip_gap,
        # HiGHS 1.12's presolve does not watch the clock and takes minutes on models with
        # several hundred thousand columns (measured: 141 s for 600k assignment columns);
        # above this size the solve goes straight to the LP, which does.
        "presolve": model.c.size <= _PRESOLVE_COLUMNS,
    }
    constraints = [LinearConstraint(model.A, model.lo, model.hi)] if model.A.shape[0] else []
    with _solver_chatter_hidden():
        res = milp(
            sign * model.c,
            integrality=model.integrality if model.integrality.any() else None,
            bounds=Bounds(model.lb, model.ub),
            constraints=constraints,
            options=options,
        )
    logger.debug(
        "HiGHS: %d rows, %d columns (%d integer), %d nonzeros -> status %s: %s",
        model.A.shape[0],
        model.c.size,
        int(model.integrality.sum()),
        model.A.nnz,
        res.status,
        res.message,
    )
    if res.status in (3, 4):
        raise RuntimeError(f"HiGHS 求解失败 / HiGHS failed: {res.message}")
    if res.status == 2:
        return _Outcome("infeasible", None, math.nan, math.nan, "无可行解 / infeasible")
    x = None if res.x is None else np.asarray(res.x, dtype=np.float64)
    objective = math.nan if x is None else sign * float(res.fun) + model.constant
    dual = getattr(res, "mip_dual_bound", None)
    if dual is None or not np.isfinite(dual):
        # An LP (no integer variables) reports no MIP bound: at optimality its value is the bound.
        bound = objective if res.status == 0 else (math.inf if model.maximize else -math.inf)
    else:
        bound = sign * float(dual) + model.constant
    status: Status = "optimal" if res.status == 0 else "time_limit"
    return _Outcome(status, x, objective, bound, str(res.message))


def _gap(status: Status, objective: float, bound: float) -> float:
    if status == "optimal":
        return 0.0
    if not (np.isfinite(objective) and np.isfinite(bound)):
        return math.inf
    return abs(objective - bound) / max(abs(objective), 1e-9)


def _message(status: Status, gap: float, time_limit: float, extra: str = "") -> str:
    if status == "optimal":
        text = "已证明最优 / proven optimal"
    elif status == "infeasible":
        text = "模型无可行解 / the model has no feasible solution"
    elif np.isfinite(gap):
        text = (
            f"达到时间上限 {time_limit:g} 秒，最优性差距 {gap:.3%} / time limit of {time_limit:g} s "
            f"reached, best solution within {gap:.3%} of the bound"
        )
    else:
        text = (
            f"达到时间上限 {time_limit:g} 秒，未找到可行解 / time limit of {time_limit:g} s reached "
            "before any feasible solution was found"
        )
    return f"{text}; {extra}" if extra else text


def _result(
    model: str,
    status: Status,
    objective: float,
    bound: float,
    selected: IntArray,
    assignment: IntArray,
    *,
    start: float,
    time_limit: float,
    extra: str = "",
    **more: Any,
) -> SitingResult:
    """A solver's answer: its gap to the bound, time since ``start`` and message derived."""
    gap = _gap(status, objective, bound)
    return SitingResult(
        status=status,
        objective=objective,
        bound=bound,
        gap=gap,
        selected=selected,
        assignment=assignment,
        seconds=perf_counter() - start,
        model=model,
        message=_message(status, gap, time_limit, extra),
        **more,
    )


# --- inputs --------------------------------------------------------------------------------------


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


# --- covering models -----------------------------------------------------------------------------


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


# --- p-median ------------------------------------------------------------------------------------


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


# --- p-center ------------------------------------------------------------------------------------


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


# --- capacitated models --------------------------------------------------------------------------


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
    cap = np.broadcast_to(np.asarray(capacity, dtype=np.float64), (m,)).copy()
    if np.any(cap < 0) or np.any(np.isnan(cap)):
        raise ValueError("capacity 应为非负数 / capacity must be non-negative")
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
    f = _weights(fixed_cost, m, "fixed_cost")
    _capacity_checks(matrix, q, cap, None, single_source)
    _, _, d = _pairs(matrix)
    model, r, c = _capacitated_model(matrix, d, q, cap, f, None, fixed, single_source)
    out = _run(model, time_limit=time_limit, mip_gap=mip_gap)
    return _capacitated_result(out, model, (r, c), (n, m), "cflp", start, time_limit)


# --- the planner's models ------------------------------------------------------------------------


def _default_land_per_bed() -> float:
    return get_rule("land-m2-per-bed").value("planning")


def _column(values: npt.ArrayLike | None, m: int, default: float, name: str) -> FloatArray:
    if values is None:
        return np.full(m, float(default))
    out = np.broadcast_to(np.asarray(values, dtype=np.float64), (m,)).copy()
    if np.isnan(out).any() or (out < 0).any():
        raise ValueError(f"{name} 应为非负数 / {name} must be non-negative numbers")
    return out


@dataclass(frozen=True, eq=False)
class HomeCandidates:
    """Candidate sites for regional nursing homes, one per column of the coverage matrix.

    Lists or scalars are accepted and stored as arrays of length ``m``.

    Attributes
    ----------
    min_beds, max_beds
        New beds a site gets if it is selected (e.g. 100 and 300).
    land_m2
        Land available for the new beds, m² (``inf``, the default, for no limit).
    existing_beds
        Beds already operating there (an existing 敬老院 that may be expanded); they serve demand
        whether or not the site is selected. Default 0 (a new parcel).
    zone
        Zone label of each site (e.g. 乳山's ``"south"``, ``"central"``, ``"north"``), or None.
    cost_per_bed, fixed_cost
        Construction cost per new bed and per site selected (yuan), default 0.
    max_nursing_share
        Largest share of a site's new beds that can be nursing-type (护理型), default 1; lower
        it for a site that cannot host a medical or nursing unit.
    """

    min_beds: IntArray
    max_beds: IntArray
    land_m2: FloatArray | None = None
    existing_beds: IntArray | None = None
    zone: npt.NDArray[np.str_] | None = None
    cost_per_bed: FloatArray | None = None
    fixed_cost: FloatArray | None = None
    max_nursing_share: FloatArray | None = None

    def __post_init__(self) -> None:
        m = np.asarray(self.max_beds).size
        ints = {"min_beds": 0.0, "max_beds": 0.0, "existing_beds": 0.0}
        floats = {"land_m2": math.inf, "cost_per_bed": 0.0, "fixed_cost": 0.0}
        for name, default in ints.items():
            value = _column(getattr(self, name), m, default, name)
            if not np.array_equal(value, np.round(value)):
                raise ValueError(f"{name} 应为整数 / {name} must be whole numbers of beds")
            object.__setattr__(self, name, value.astype(np.int64))
        for name, default in floats.items():
            object.__setattr__(self, name, _column(getattr(self, name), m, default, name))
        share = _column(self.max_nursing_share, m, 1.0, "max_nursing_share")
        if (share > 1).any():
            raise ValueError("max_nursing_share 应在 0..1 / max_nursing_share must lie in 0..1")
        object.__setattr__(self, "max_nursing_share", share)
        if self.zone is not None:
            zone = np.asarray(self.zone, dtype=np.str_)
            if zone.shape != (m,):
                raise ValueError(f"zone 应有 {m} 个标签 / zone must hold {m} labels")
            object.__setattr__(self, "zone", zone)
        if (self.min_beds > self.max_beds).any():
            bad = np.flatnonzero(self.min_beds > self.max_beds).tolist()
            raise ValueError(f"候选点 {bad} 的 min_beds > max_beds / min_beds > max_beds at {bad}")

    @property
    def size(self) -> int:
        return int(np.asarray(self.max_beds).size)


@dataclass(frozen=True)
class HomeTargets:
    """What the plan must achieve (POLICY.md sections 2 and 3).

    Attributes
    ----------
    new_beds
        Total new beds, at least (rule ``regional-homes``: 乐清 ≥ 1000).
    nursing_share
        Nursing-type (护理型) share, at least (rules ``nursing-share-51/55/60``: 0.51-0.60). The
        rules count *all institutional beds*, so the constraint is
        ``baseline_nursing_beds + Σ nursing ≥ share · (baseline_beds + Σ new beds)``; with the
        default baseline of 0 it applies to the new beds alone.
    land_m2_per_bed
        Land per bed (rule ``land-m2-per-bed``, planning value 40 m²).
    land_quota_m2, land_quota_mu
        Total land for the new beds, in m² or in 亩 (1 亩 = 666.67 m²); give at most one.
    budget
        Total cost limit, yuan (``fixed_cost`` + ``cost_per_bed`` × beds).
    zone_limits
        ``{zone: (min, max)}`` number of selected sites per zone (乳山 rule ``rushan-zones``).
    max_sites
        Number of sites selected, at most.
    baseline_beds, baseline_nursing_beds
        Institutional and nursing-type beds the county already has, for the nursing share.
    """

    new_beds: int = 0
    nursing_share: float = 0.0
    land_m2_per_bed: float = field(default_factory=_default_land_per_bed)
    land_quota_m2: float | None = None
    land_quota_mu: float | None = None
    budget: float = math.inf
    zone_limits: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    max_sites: int | None = None
    baseline_beds: int = 0
    baseline_nursing_beds: int = 0

    def __post_init__(self) -> None:
        if self.land_quota_m2 is not None and self.land_quota_mu is not None:
            raise ValueError(
                "用地指标请只给 land_quota_m2 或 land_quota_mu 之一 / give the land quota in m² "
                "or in mu, not both"
            )
        if not 0.0 <= self.nursing_share <= 1.0:
            raise ValueError(
                f"nursing_share 应在 0..1 / nursing_share must lie in 0..1, got {self.nursing_share}"
            )
        if self.land_m2_per_bed <= 0:
            raise ValueError("land_m2_per_bed 应为正数 / land_m2_per_bed must be positive")

    @property
    def quota_m2(self) -> float:
        """The land quota in m² (``inf`` when none is set)."""
        if self.land_quota_mu is not None:
            return float(self.land_quota_mu) * MU_M2
        return math.inf if self.land_quota_m2 is None else float(self.land_quota_m2)


@dataclass(frozen=True, eq=False)
class SiteReport:
    """Why one recommended site is there.

    ``covered_weight`` is the need-weighted older population whose institutional demand is
    mostly served at this site (rows whose ``assignment`` is this site, times their covered
    share); where sites' catchments overlap, which site "mostly" serves a row is the solver's
    choice. ``reach_weight`` is the need-weighted older population within the threshold of this
    site, whoever serves it. ``marginal_gain`` is the exact drop in the objective if this site
    were not built (or not expanded) while every other site keeps its beds: an LP re-solve of
    the assignment, not a bound, and not a re-optimisation of the other sites.
    """

    candidate: int
    zone: str | None
    beds: int
    nursing_beds: int
    existing_beds: int
    land_m2: float
    covered_weight: float
    rows: IntArray
    marginal_gain: float
    reach_weight: float = 0.0

    @property
    def land_mu(self) -> float:
        return self.land_m2 / MU_M2


@dataclass(frozen=True, eq=False)
class RegionalHomesResult:
    """Recommended regional nursing homes.

    ``objective`` is the need-weighted older population whose institutional demand is served
    within the drive-time threshold; ``baseline`` is the same with existing beds only (no site
    selected), so ``objective - baseline`` is what the plan adds. ``beds``, ``nursing_beds`` and
    ``land_m2`` are per candidate (0 where not selected); ``covered`` is each demand row's
    served share (0..1) and ``assignment`` the site serving most of it (-1 if none).
    """

    status: Status
    objective: float
    bound: float
    gap: float
    selected: IntArray
    beds: IntArray
    nursing_beds: IntArray
    land_m2: FloatArray
    covered: FloatArray
    assignment: IntArray
    baseline: float
    sites: tuple[SiteReport, ...]
    seconds: float
    message: str
    uncoverable: IntArray = field(default_factory=_empty_int)
    model: str = "regional-homes"

    def explain(self) -> list[dict[str, object]]:
        """One row per selected site, for a table: beds, land (m² and 亩), coverage, gain."""
        return [
            {
                "candidate": s.candidate,
                "zone": s.zone,
                "new_beds": s.beds,
                "nursing_beds": s.nursing_beds,
                "existing_beds": s.existing_beds,
                "land_m2": round(s.land_m2, 1),
                "land_mu": round(s.land_mu, 2),
                "older_covered": round(s.covered_weight, 2),
                "demand_rows": int(s.rows.size),
                "marginal_gain": round(s.marginal_gain, 2),
            }
            for s in self.sites
        ]


@dataclass(frozen=True, eq=False)
class _HomeModel:
    """The regional-homes MILP and the maps between its variables and the input rows.

    Variables, in order: ``y`` (m, site selected), ``b`` (m, new beds), ``n`` (m, new nursing
    beds), ``a`` (one per pair (group, reachable site): demand of the group served there) and
    ``z`` (one per sub-group: its covered share). The first ``n_cover`` constraint rows are the
    coverage block, which the explanation re-solves as an LP with ``y`` and ``b`` fixed.
    """

    model: _Model
    n_cover: int
    m: int
    pair_group: IntArray
    pair_site: IntArray
    row_sub: IntArray  # per input row, its sub-group (-1 if not in the model)
    sub_group: IntArray

    def offsets(self) -> tuple[int, int, int, int, int]:
        m, P = self.m, self.pair_group.size
        return 0, m, 2 * m, 3 * m, 3 * m + P

    def coverage(self, x: FloatArray) -> float:
        """The covered weight of a solution."""
        Z = self.offsets()[4]
        return float(self.model.c[Z:] @ x[Z:])

    def coverage_of(self, x: FloatArray, cols: IntArray) -> float:
        """The covered weight of a solution given on the columns ``cols`` only."""
        return float(self.model.c[cols] @ x)


def _reach_matrix(coverage: CostMatrix, threshold: float | None) -> sp.csr_array:
    if threshold is not None:
        return _within(_as_matrix(coverage), threshold)
    kind = sp.csr_array(coverage).dtype if sp.issparse(coverage) else np.asarray(coverage).dtype
    if kind != np.bool_:
        raise ValueError(
            "coverage 不是布尔矩阵时须给出 threshold（秒）/ coverage holds travel times, so give "
            "threshold= (seconds); or pass a boolean matrix"
        )
    reach = sp.csr_array(coverage, dtype=bool)
    reach.eliminate_zeros()
    return reach


def _home_capacity(c: HomeCandidates, t: HomeTargets) -> tuple[IntArray, BoolArray]:
    """New beds each site can take (max beds, capped by its land) and whether it can be built."""
    assert c.land_m2 is not None
    by_land = np.floor(np.where(np.isfinite(c.land_m2), c.land_m2, 0.0) / t.land_m2_per_bed + 1e-9)
    cap = np.where(np.isfinite(c.land_m2), np.minimum(c.max_beds, by_land), c.max_beds)
    cap = cap.astype(np.int64)
    return cap, cap >= np.maximum(c.min_beds, 1)


def _home_checks(
    c: HomeCandidates, t: HomeTargets, fixed: BoolArray, cap: IntArray, ok: BoolArray
) -> None:
    """Every infeasibility visible before solving, in one bilingual message."""
    assert c.land_m2 is not None
    problems: list[str] = []
    for j in np.flatnonzero(fixed & ~ok):
        problems.append(
            f"必选候选点 {j} 用地 {c.land_m2[j]:.0f} m² 只够 {cap[j]} 张床，少于每点最少 "
            f"{c.min_beds[j]} 张 / forced site {j} has land for {cap[j]} beds "
            f"({c.land_m2[j]:,.0f} m²), fewer than its minimum of {c.min_beds[j]}"
        )
    target, lpb, quota = int(t.new_beds), t.land_m2_per_bed, t.quota_m2
    room = int(cap[ok].sum())
    if target > room:
        problems.append(
            f"新增床位目标 {target} 张超过全部候选点最多可建的 {room} 张 / the bed target of "
            f"{target} beds exceeds the {room:,} beds all candidates can take together"
        )
    if target * lpb > quota + 1e-6:
        problems.append(
            f"新增床位目标 {target} 张所需用地 {target * lpb:.0f} m² 超过用地指标 {quota:.0f} m²"
            f"（{quota / MU_M2:.1f} 亩） / the bed target of {target:,} beds needs "
            f"{target * lpb:,.0f} m² of land, more than the quota of {quota:,.0f} m² "
            f"({quota / MU_M2:.1f} mu)"
        )
    if t.max_sites is not None:
        k = int(t.max_sites)
        best_k = int(np.sort(cap[ok])[::-1][:k].sum())
        if target > best_k:
            problems.append(
                f"最多 {k} 个选址最多可建 {best_k} 张床，少于新增床位目标 {target} 张 / at most "
                f"{k} sites can take at most {best_k:,} beds, fewer than the bed target of {target:,}"
            )
        if int(fixed.sum()) > k:
            problems.append(
                f"必选 {int(fixed.sum())} 个点多于选址上限 {k} / {int(fixed.sum())} forced sites, "
                f"more than the limit of {k}"
            )
    assert c.cost_per_bed is not None and c.fixed_cost is not None
    # A lower bound on any plan's cost: every bed at the cheapest rate, plus the forced sites.
    cheapest = float(np.where(ok, c.cost_per_bed, np.inf).min(initial=np.inf))
    least = (target * cheapest if target else 0.0) + float(c.fixed_cost[fixed].sum())
    if least > t.budget + 1e-6:
        problems.append(
            f"新增 {target} 张床至少需要 {least:.0f} 元，超过预算 {t.budget:.0f} 元 / {target:,} new "
            f"beds cost at least {least:,.0f} yuan, more than the budget of {t.budget:,.0f} yuan"
        )
    problems += _zone_problems(c, t, fixed, ok)
    if problems:
        raise InfeasibleError("; ".join(problems))


def _zone_problems(c: HomeCandidates, t: HomeTargets, fixed: BoolArray, ok: BoolArray) -> list[str]:
    if not t.zone_limits:
        return []
    if c.zone is None:
        raise ValueError("zone_limits 需要候选点的 zone 标签 / zone_limits needs candidates.zone")
    unknown = sorted(set(t.zone_limits) - set(c.zone.tolist()))
    if unknown:
        raise ValueError(
            f"zone_limits 中的分区 {unknown} 没有候选点；已有分区：{sorted(set(c.zone.tolist()))} / "
            f"zones {unknown} in zone_limits have no candidates; zones present: "
            f"{sorted(set(c.zone.tolist()))}"
        )
    problems = []
    for zone, (low, high) in t.zone_limits.items():
        inside = c.zone == zone
        avail, must = int((inside & ok).sum()), int((inside & fixed).sum())
        if low > avail:
            problems.append(
                f"分区 {zone} 至少要 {low} 个点，但只有 {avail} 个可建候选点 / zone {zone} needs "
                f"at least {low} sites but has only {avail} buildable candidate(s)"
            )
        if must > high or low > high:
            problems.append(
                f"分区 {zone} 最多 {high} 个点，但下限为 {low}、必选 {must} 个 / zone {zone} allows at "
                f"most {high} sites, but its minimum is {low} and {must} are forced"
            )
    lows = sum(low for low, _ in t.zone_limits.values())
    if t.max_sites is not None and lows > t.max_sites:
        problems.append(
            f"各分区下限合计 {lows} 个点，超过选址上限 {t.max_sites} / the zone minimums add up "
            f"to {lows} sites, more than the limit of {t.max_sites}"
        )
    return problems


def _subgroups(
    reach: sp.csr_array, w: FloatArray, d: FloatArray
) -> tuple[sp.csr_array, IntArray, IntArray, FloatArray, FloatArray]:
    """Merge rows: by catchment set, then by weight per unit of demand.

    Rows in one catchment group compete for the same sites; among them the model should serve
    the highest ``w/d`` first, so rows are merged further only when ``w/d`` is equal (rows with no
    demand, ``d = 0``, form their own sub-group). Both merges are exact.
    Returns ``(groups, row_sub, sub_group, sub_w, sub_d)``; ``row_sub`` is -1 for rows left out.
    """
    n = reach.shape[0]
    active = np.flatnonzero((w > 0) & (np.diff(reach.indptr) > 0))
    groups, inverse = _group_rows(reach[active])
    ratio = np.where(d[active] > 0, w[active] / np.where(d[active] > 0, d[active], 1.0), np.inf)
    order = np.lexsort((ratio, inverse))
    new = np.r_[True, (np.diff(inverse[order]) != 0) | (np.diff(ratio[order]) != 0)]
    sub = np.empty(active.size, dtype=np.int64)
    sub[order] = np.cumsum(new) - 1
    row_sub = np.full(n, -1, dtype=np.int64)
    row_sub[active] = sub
    n_sub = int(sub.max(initial=-1)) + 1
    sub_group = np.zeros(n_sub, dtype=np.int64)
    sub_group[sub] = inverse
    sub_w = np.bincount(sub, weights=w[active], minlength=n_sub).astype(np.float64)
    sub_d = np.bincount(sub, weights=d[active], minlength=n_sub).astype(np.float64)
    return groups, row_sub, sub_group, sub_w, sub_d


def _home_model(
    reach: sp.csr_array,
    w: FloatArray,
    d: FloatArray,
    c: HomeCandidates,
    t: HomeTargets,
    fixed: BoolArray,
    cap: IntArray,
    ok: BoolArray,
) -> _HomeModel:
    r"""Build the regional-homes MILP (formulation in :func:`site_regional_homes`)."""
    assert c.existing_beds is not None
    m = c.size
    usable = ok | (c.existing_beds > 0)
    coo = reach.tocoo()
    keep = usable[coo.col]
    reach = sp.csr_array((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=reach.shape)
    groups, row_sub, sub_group, sub_w, sub_d = _subgroups(reach, w, d)
    pairs = groups.tocoo()
    pg, pj = pairs.row.astype(np.int64), pairs.col.astype(np.int64)
    P, S, G = pg.size, sub_group.size, groups.shape[0]
    Y, B, A, Z = 0, m, 3 * m, 3 * m + P
    D_g = np.bincount(sub_group, weights=sub_d, minlength=G)
    served_by_existing = np.bincount(pg, weights=(c.existing_beds[pj] > 0), minlength=G) > 0
    rows = _Rows(Z + S)
    # (1) what a group's covered rows need is what its sites serve it
    has_d = np.flatnonzero(sub_d > 0)
    rows.add(
        np.r_[sub_group[has_d], pg],
        np.r_[Z + has_d, A + np.arange(P)],
        np.r_[sub_d[has_d], -np.ones(P)],
        0.0,
        0.0,
        G,
    )
    # (2) a site serves no more than its existing plus new beds
    rows.add(
        np.r_[pj, np.arange(m)],
        np.r_[A + np.arange(P), B + np.arange(m)],
        np.r_[np.ones(P), -np.ones(m)],
        -np.inf,
        c.existing_beds,
        m,
    )
    _reach_rows(rows, groups, sub_group, sub_d, served=served_by_existing, y0=Y, z0=Z)
    n_cover = rows.n_rows
    _home_plan_rows(rows, c, t, cap)
    Amat, lo, hi = rows.build()
    cap_sel = np.where(ok, cap, 0).astype(np.float64)
    model = _Model(
        c=np.r_[np.zeros(3 * m + P), sub_w],
        A=Amat,
        lo=lo,
        hi=hi,
        lb=np.r_[fixed.astype(np.float64), np.zeros(2 * m + P + S)],
        ub=np.r_[ok.astype(np.float64), cap_sel, cap_sel, D_g[pg], np.ones(S)],
        integrality=np.r_[np.ones(3 * m), np.zeros(P + S)].astype(np.uint8),
        maximize=True,
    )
    return _HomeModel(model, n_cover, m, pg, pj, row_sub, sub_group)


def _reach_rows(
    rows: _Rows,
    groups: sp.csr_array,
    sub_group: IntArray,
    sub_d: FloatArray,
    *,
    served: BoolArray,
    y0: int,
    z0: int,
) -> None:
    """(3) A sub-group without demand is covered only if a site within its reach is open.

    Sub-groups with demand need beds, which only selected or existing sites have, so for them
    this is implied; adding it (or ``a_gj <= D_g y_j``) leaves the LP bound unchanged on the
    cases measured but makes the LP about ten times slower.
    """
    subs = np.flatnonzero(~served[sub_group] & (sub_d == 0))
    deg = np.diff(groups.indptr)[sub_group[subs]]
    local = np.repeat(np.arange(subs.size), deg)
    starts = np.repeat(groups.indptr[sub_group[subs]], deg)
    within = np.arange(local.size) - np.repeat(np.cumsum(deg) - deg, deg)
    rows.add(
        np.r_[np.arange(subs.size), local],
        np.r_[z0 + subs, y0 + groups.indices[starts + within]],
        np.r_[np.ones(subs.size), -np.ones(local.size)],
        -np.inf,
        0.0,
        subs.size,
    )


def _home_plan_rows(rows: _Rows, c: HomeCandidates, t: HomeTargets, cap: IntArray) -> None:
    """Bed, nursing, land, budget, zone and site-count rows (variables y, b, n at 0, m, 2m)."""
    assert c.max_nursing_share is not None and c.cost_per_bed is not None
    assert c.fixed_cost is not None
    m = cap.size
    j = np.arange(m)
    Y, B, N = j, m + j, 2 * m + j
    two = np.r_[j, j]
    rows.add(two, np.r_[B, Y], np.r_[np.ones(m), -c.min_beds], 0.0, np.inf, m)
    rows.add(two, np.r_[B, Y], np.r_[np.ones(m), -cap], -np.inf, 0.0, m)
    rows.add(two, np.r_[N, B], np.r_[np.ones(m), -c.max_nursing_share], -np.inf, 0.0, m)
    zeros = np.zeros(m)
    rows.add(zeros, B, 1.0, float(t.new_beds), np.inf, 1)
    if t.nursing_share > 0:
        s = t.nursing_share
        rhs = s * t.baseline_beds - t.baseline_nursing_beds
        rows.add(np.zeros(2 * m), np.r_[N, B], np.r_[np.ones(m), -s * np.ones(m)], rhs, np.inf, 1)
    if math.isfinite(t.quota_m2):
        # Beds are whole, so the quota holds floor(quota / land per bed) of them: the same rule,
        # with a tighter LP bound (measured: it closes the root gap on the county demo).
        rows.add(zeros, B, 1.0, -np.inf, math.floor(t.quota_m2 / t.land_m2_per_bed + 1e-9), 1)
    if math.isfinite(t.budget):
        rows.add(
            np.zeros(2 * m), np.r_[Y, B], np.r_[c.fixed_cost, c.cost_per_bed], -np.inf, t.budget, 1
        )
    for zone, (low, high) in t.zone_limits.items():
        assert c.zone is not None
        inside = np.flatnonzero(c.zone == zone)
        rows.add(np.zeros(inside.size), inside, 1.0, low, high, 1)
    if t.max_sites is not None:
        rows.add(zeros, Y, 1.0, -np.inf, t.max_sites, 1)


def _coverage_lp(
    hm: _HomeModel, y: FloatArray, b: FloatArray, existing: IntArray, time_limit: float
) -> _Outcome:
    """Best coverage with the sites and beds fixed: the coverage block alone, as an LP.

    Only pairs whose site is open (selected or with existing beds) are kept, so the LP is small
    whatever the size of the full model; the returned ``x`` is in the full model's layout.
    """
    m, model = hm.m, hm.model
    _, _, _, A, Z = hm.offsets()
    open_site = (y > 0.5) | (existing > 0)
    cols = np.r_[
        np.arange(A), A + np.flatnonzero(open_site[hm.pair_site]), np.arange(Z, model.c.size)
    ]
    lb, ub = model.lb[cols].copy(), model.ub[cols].copy()
    lb[:m], ub[:m] = y, y
    lb[m : 2 * m], ub[m : 2 * m] = b, b
    lb[2 * m : 3 * m], ub[2 * m : 3 * m] = 0.0, 0.0
    lp = _Model(
        c=model.c[cols],
        A=sp.csr_array(sp.csr_array(model.A[: hm.n_cover])[:, cols]),
        lo=model.lo[: hm.n_cover],
        hi=model.hi[: hm.n_cover],
        lb=lb,
        ub=ub,
        integrality=np.zeros(cols.size, dtype=np.uint8),
        maximize=True,
    )
    out = _run(lp, time_limit=time_limit, mip_gap=DEFAULT_MIP_GAP)
    if out.x is None:
        return out
    x = np.zeros(model.c.size)
    x[cols] = out.x
    return _Outcome(out.status, x, out.objective, out.bound, out.message)


def _served(
    hm: _HomeModel, y: FloatArray, b: FloatArray, existing: IntArray, time_limit: float
) -> float:
    out = _coverage_lp(hm, y, b, existing, time_limit)
    return hm.coverage(out.x) if out.status == "optimal" and out.x is not None else math.nan


def _polish(hm: _HomeModel, x: FloatArray, existing: IntArray, deadline: float) -> FloatArray:
    """``x`` with the best assignment for its sites and beds.

    A time-limited incumbent's coverage variables need not be the best for its sites and beds,
    and trimming beds leaves a hair of tolerance; re-solving the assignment with ``y`` and ``b``
    fixed (an LP) can only raise the coverage.
    """
    better = _full_plan(hm, x, existing, deadline)
    return x if better is None or hm.coverage(better) <= hm.coverage(x) else better


def _trim_plan(hm: _HomeModel, x: FloatArray, existing: IntArray, deadline: float) -> FloatArray:
    """Fewest sites, then fewest new beds, among those of ``x`` that keep its coverage."""
    time_limit = max(deadline - perf_counter(), 5.0)
    m, model = hm.m, hm.model
    _, _, _, A, Z = hm.offsets()
    y = np.round(x[:m])
    open_site = (y > 0.5) | (existing > 0)
    cols = np.r_[
        np.arange(A), A + np.flatnonzero(open_site[hm.pair_site]), np.arange(Z, model.c.size)
    ]
    keep = hm.coverage(x) - 1e-9 * abs(hm.coverage(x)) - 1e-6
    cover_row = sp.csr_array(model.c[cols][None, :])
    lb, ub = model.lb[cols].copy(), model.ub[cols].copy()
    ub[:m] = y  # forced sites keep their lower bound of 1
    # One site more costs more than every new bed the plan could hold: fewest sites first.
    per_site = float(model.ub[m : 2 * m].sum()) + 1.0
    trim = _Model(
        c=np.r_[np.full(m, per_site), np.ones(m), np.zeros(cols.size - 2 * m)],
        A=sp.csr_array(sp.vstack([sp.csr_array(model.A)[:, cols], cover_row])),
        lo=np.r_[model.lo, keep],
        hi=np.r_[model.hi, np.inf],
        lb=lb,
        ub=ub,
        integrality=model.integrality[cols],
    )
    out = _run(trim, time_limit=time_limit, mip_gap=DEFAULT_MIP_GAP)
    if out.x is None or hm.coverage_of(out.x, cols) < keep:
        return x
    full = np.zeros(model.c.size)
    full[cols] = out.x
    return full


def _home_assignment(
    hm: _HomeModel, x: FloatArray, existing: IntArray
) -> tuple[FloatArray, IntArray]:
    """Covered share and serving site of every input row."""
    _, _, _, A, Z = hm.offsets()
    a = x[A:Z]
    z = np.clip(x[Z:], 0.0, 1.0)
    n_groups = int(hm.sub_group.max(initial=-1)) + 1
    # The site serving most of each group's demand; for a group with no demand served, any
    # open site within reach (rows with weight but no demand are covered by being in reach).
    is_open = (x[: hm.m] > 0.5) | (existing > 0)
    score = a + np.where(is_open[hm.pair_site], 1e-9, -np.inf)
    best = np.full(n_groups, -1, dtype=np.int64)
    order = np.lexsort((-score, hm.pair_group))
    first = order[np.r_[True, np.diff(hm.pair_group[order]) != 0]] if order.size else order
    ok = np.isfinite(score[first])
    best[hm.pair_group[first[ok]]] = hm.pair_site[first[ok]]
    covered = np.zeros(hm.row_sub.size)
    modelled = hm.row_sub >= 0
    covered[modelled] = z[hm.row_sub[modelled]]
    covered[covered < 1e-9] = 0.0
    assignment = np.full(hm.row_sub.size, -1, dtype=np.int64)
    hit = np.flatnonzero(covered > 0)
    assignment[hit] = best[hm.sub_group[hm.row_sub[hit]]]
    return covered, assignment


def _site_reports(
    hm: _HomeModel,
    x: FloatArray,
    c: HomeCandidates,
    t: HomeTargets,
    w: FloatArray,
    covered: FloatArray,
    assignment: IntArray,
    deadline: float,
) -> tuple[tuple[SiteReport, ...], float]:
    """Per selected site: beds, land, who it serves and its marginal gain; and the baseline."""
    assert c.existing_beds is not None
    m = hm.m
    y = np.round(x[:m])
    b = np.round(x[m : 2 * m])
    nb = np.round(x[2 * m : 3 * m])

    def budget() -> float:
        return max(deadline - perf_counter(), 5.0)

    served = _served(hm, y, b, c.existing_beds, budget())
    baseline = _served(hm, np.zeros(m), np.zeros(m), c.existing_beds, budget())
    modelled = np.flatnonzero(hm.row_sub >= 0)
    row_group = hm.sub_group[hm.row_sub[modelled]]

    def in_reach(j: int) -> IntArray:
        """Input rows within the threshold of candidate ``j``."""
        return modelled[np.isin(row_group, hm.pair_group[hm.pair_site == j])]

    reports = []
    for j in np.flatnonzero(y > 0.5):
        y_j, b_j = y.copy(), b.copy()
        y_j[j], b_j[j] = 0.0, 0.0
        mine = np.flatnonzero(assignment == j)
        reports.append(
            SiteReport(
                candidate=int(j),
                zone=None if c.zone is None else str(c.zone[j]),
                beds=int(b[j]),
                nursing_beds=int(nb[j]),
                existing_beds=int(c.existing_beds[j]),
                land_m2=float(b[j] * t.land_m2_per_bed),
                covered_weight=float(np.sum(w[mine] * covered[mine])),
                rows=mine.astype(np.int64),
                marginal_gain=served - _served(hm, y_j, b_j, c.existing_beds, budget()),
                reach_weight=float(w[in_reach(int(j))].sum()),
            )
        )
    return tuple(reports), baseline


def site_regional_homes(
    coverage: CostMatrix,
    weights: npt.ArrayLike,
    demand: npt.ArrayLike,
    candidates: HomeCandidates,
    targets: HomeTargets,
    *,
    threshold: float | None = None,
    forced: npt.ArrayLike | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    mip_gap: float = DEFAULT_MIP_GAP,
) -> RegionalHomesResult:
    r"""Where to build regional nursing homes, and how many beds each.

    Maximise the need-weighted older population whose institutional demand is served by a home
    within the drive-time threshold, subject to the bed target, the nursing-type share, parcel
    land, the land quota, an optional budget, per-zone counts and a site limit. Rows are merged
    into groups ``g`` with the same catchment set :math:`N_g` and, within a group, into
    sub-groups ``s`` with the same weight per unit of demand (exact; see :func:`_subgroups`).

    Variables: :math:`y_j\in\{0,1\}` (site selected: built, or an existing 敬老院 expanded),
    :math:`b_j\in\mathbb{Z}` new beds, :math:`n_j\in\mathbb{Z}` new nursing-type beds,
    :math:`a_{gj}\ge 0` demand of group ``g`` served at ``j`` (beds), :math:`z_s\in[0,1]` the
    covered share of sub-group ``s`` (weight :math:`W_s`, demand :math:`D_s`).

    .. math::

        \max \sum_s W_s z_s \quad\text{s.t.}\quad
        \sum_{s\in g} D_s z_s = \sum_{j\in N_g} a_{gj}\ \ \forall g,\qquad
        \sum_g a_{gj} \le E_j + b_j\ \ \forall j,

        z_s \le \sum_{j\in N_g} y_j\ \ (D_s = 0,\ \text{no existing home in } N_g),\qquad
        \underline{b}_j y_j \le b_j \le \bar b_j y_j,\qquad
        n_j \le \sigma_j b_j,\qquad \sum_j b_j \ge T,

        N_0 + \sum_j n_j \ge s\,(B_0 + \sum_j b_j),\qquad
        \lambda \sum_j b_j \le Q,\qquad \sum_j (f_j y_j + k_j b_j) \le \text{budget},

        \ell_z \le \sum_{j\in z} y_j \le u_z\ \ \forall \text{zones } z,\qquad
        \sum_j y_j \le K,\qquad y_F = 1.

    :math:`E_j` are existing beds (they serve demand whether or not the site is selected),
    :math:`\bar b_j` = ``min(max_beds, floor(land_m2 / λ))`` with :math:`\lambda` the land per
    bed (so each parcel's land holds its beds), :math:`\sigma_j` the site's largest nursing share
    and :math:`s` the target share. Nursing beds are a separate integer per site, so sites that
    cannot host nursing care (σ < 1) shape the plan. The share follows POLICY.md's rules
    ``nursing-share-51/55/60``, which count all institutional beds: ``B_0``/``N_0`` are the
    county's existing beds (``HomeTargets.baseline_*``); with the default 0 the share applies to
    the new beds only. Coverage is fractional where capacity is short: a row is covered in the
    share of its demand that the beds within reach can take.

    Coverage does not care about sites or beds it does not use, so the plan is then trimmed:
    among the chosen sites, a second small MILP finds the fewest sites, then the fewest new beds,
    that keep the coverage and every other rule (a lexicographic second stage; no site outside
    the first plan is added).

    Parameters
    ----------
    coverage
        Demand × candidate matrix: boolean (True = within the threshold), or travel seconds with
        ``threshold`` given (sparse: a missing entry is *not reachable*).
    weights
        Need-weighted older residents per demand row (the objective).
    demand
        Institutional demand per row in beds (older residents × institutionalisation rate).
    candidates
        The candidate sites (:class:`HomeCandidates`).
    targets
        The plan's targets (:class:`HomeTargets`).
    threshold
        Seconds; pairs with ``coverage <= threshold`` are within reach.
    forced
        Candidates that must be selected.
    time_limit
        Seconds for the MILP; after it the best plan is reported with ``"time_limit"`` and its gap.
    mip_gap
        Relative optimality tolerance.

    Returns
    -------
    RegionalHomesResult
        With ``explain()``: one row per selected site. Marginal gains are exact LP re-solves of
        the assignment with that site removed and the other sites' beds unchanged.

    Raises
    ------
    InfeasibleError
        Before solving, when the bed target exceeds what the candidates (or ``max_sites`` of
        them) can take, the target's land exceeds the quota, the cheapest plan exceeds the
        budget, or zone limits cannot be met; the message names the numbers.
    """
    start = perf_counter()
    reach = _reach_matrix(coverage, threshold)
    n, m = reach.shape
    if candidates.size != m:
        raise ValueError(
            f"候选点数组长度 {candidates.size} 与覆盖矩阵的 {m} 列不符 / candidates describe "
            f"{candidates.size} sites but coverage has {m} columns"
        )
    w = _weights(weights, n)
    d = _weights(demand, n, "demand")
    fixed = _forced(forced, m)
    cap, ok = _home_capacity(candidates, targets)
    _home_checks(candidates, targets, fixed, cap, ok)

    def build(usable: BoolArray) -> _HomeModel:
        return _home_model(reach, w, d, candidates, targets, fixed, cap, usable)

    hm = build(ok)
    out = _home_solve(hm, build, candidates, targets, fixed, cap, ok, start + time_limit, mip_gap)
    return _home_result(
        out, hm, lambda sites: build(ok & sites), candidates, targets, w, reach, start, time_limit
    )


def _home_solve(
    hm: _HomeModel,
    build: Callable[[BoolArray], _HomeModel],
    c: HomeCandidates,
    t: HomeTargets,
    fixed: BoolArray,
    cap: IntArray,
    ok: BoolArray,
    deadline: float,
    mip_gap: float,
) -> _Outcome:
    """The LP bound and LP-guided plans first; HiGHS's branch and bound on the full model last.

    HiGHS's own heuristics rarely find a plan when the LP relaxation spreads beds thinly over
    many sites (measured on the county demo and Imperial County: no plan within 5 % after 60 s),
    while the LP bound is close to the optimum. So, in order, until a plan is within
    ``mip_gap`` of the LP bound (then it is optimal, proven by that bound):

    1. the LP's bed mass ``b̄`` guides a plan-only MILP (``y, b, n`` under every plan rule,
       maximising ``Σ b̄_j b_j``) whose coverage is re-solved exactly;
    2. the MILP restricted to the 10, 20, 40, ... sites the LP uses most (forced sites always
       in), each solve given a third of the time left; the growth stops when a restricted solve
       runs out of its time or the sites include every candidate (then the bound is the MILP's);
    3. the full MILP in the time left; the better of the plans is kept with the better bound.

    Plans from steps 1-2 are feasible for the full model (the same plan rules; the coverage is
    re-solved on the full model), so a plan short of the bound is reported with its true gap.
    """

    def left() -> float:
        return max(deadline - perf_counter(), 0.0)

    relaxed = replace(hm.model, integrality=np.zeros_like(hm.model.integrality))
    lp = _run(relaxed, time_limit=left(), mip_gap=mip_gap)
    if lp.status != "optimal" or lp.x is None:  # infeasible, or no LP answer in time
        return _run(hm.model, time_limit=left(), mip_gap=mip_gap)
    m, bound = hm.m, lp.objective

    def better(x: FloatArray | None, than: FloatArray | None) -> FloatArray | None:
        if x is None or (than is not None and hm.coverage(than) >= hm.coverage(x)):
            return than
        return x

    def proven(x: FloatArray | None) -> bool:
        return x is not None and bound - hm.coverage(x) <= mip_gap * abs(bound)

    assert c.existing_beds is not None
    best = _home_guess(hm, lp.x, c, t, fixed, cap, ok, deadline)
    order = np.lexsort((-lp.x[m : 2 * m], -lp.x[:m]))  # the sites the LP uses most first
    size, full = _FIRST_SITES, False
    while not proven(best) and not full and left() > 0:
        keep = fixed.copy()
        keep[order[:size]] = True
        full = bool((ok & ~keep).sum() == 0)
        sub = build(ok & keep)
        out = _run(sub.model, time_limit=left() if full else left() / 3, mip_gap=mip_gap)
        if out.x is not None:
            best = better(_full_plan(hm, out.x, c.existing_beds, deadline), best)
        if full:  # the restricted model was the full one: its answer is the answer
            return _Outcome(out.status, best, hm.coverage(best) if best is not None else math.nan, min(bound, out.bound), out.message)  # fmt: skip
        if out.status == "time_limit":
            break
        size *= 2
    if proven(best):
        assert best is not None
        return _Outcome("optimal", best, hm.coverage(best), bound, "LP-guided plan")
    if left() >= 1.0:
        last = _run(hm.model, time_limit=left(), mip_gap=mip_gap)
        if last.status == "optimal":
            return last
        if last.x is not None:
            bound = min(bound, last.bound)
            best = better(last.x, best)
    if best is None:
        return _Outcome("time_limit", None, math.nan, bound, "no plan in time")
    return _Outcome("time_limit", best, hm.coverage(best), bound, "LP-guided plan")


def _home_guess(
    hm: _HomeModel,
    lp_x: FloatArray,
    c: HomeCandidates,
    t: HomeTargets,
    fixed: BoolArray,
    cap: IntArray,
    ok: BoolArray,
    deadline: float,
) -> FloatArray | None:
    """A feasible plan built where the LP relaxation puts its beds (see :func:`_home_solve`)."""
    assert c.existing_beds is not None
    m = hm.m
    mass = lp_x[m : 2 * m]
    rows = _Rows(3 * m)
    _home_plan_rows(rows, c, t, cap)
    A, lo, hi = rows.build()
    cap_sel = np.where(ok, cap, 0).astype(np.float64)
    plan = _Model(
        c=np.r_[np.zeros(m), mass + 1e-6, np.zeros(m)],
        A=A,
        lo=lo,
        hi=hi,
        lb=np.r_[fixed.astype(np.float64), np.zeros(2 * m)],
        ub=np.r_[ok.astype(np.float64), cap_sel, cap_sel],
        integrality=np.ones(3 * m, dtype=np.uint8),
        maximize=True,
    )
    out = _run(plan, time_limit=max(deadline - perf_counter(), 1.0), mip_gap=DEFAULT_MIP_GAP)
    return None if out.x is None else _full_plan(hm, out.x, c.existing_beds, deadline)


def _full_plan(
    hm: _HomeModel, plan: FloatArray, existing: IntArray, deadline: float
) -> FloatArray | None:
    """A plan's ``y, b, n`` (the first 3m values of ``plan``) with its best coverage in ``hm``."""
    m = hm.m
    y, b = np.round(plan[:m]), np.round(plan[m : 2 * m])
    served = _coverage_lp(hm, y, b, existing, max(deadline - perf_counter(), 5.0))
    if served.status != "optimal" or served.x is None:
        return None
    return np.r_[y, b, np.round(plan[2 * m : 3 * m]), served.x[3 * m :]]


def _home_without_plan(
    out: _Outcome, n: int, m: int, uncoverable: IntArray, seconds: float, time_limit: float
) -> RegionalHomesResult:
    extra = ""
    if out.status == "infeasible":
        extra = (
            "护理型床位占比、预算、分区数量与选址上限无法同时满足 / the nursing share, budget, "
            "zone counts and site limit cannot all be met together"
        )
    gap = _gap(out.status, out.objective, out.bound)
    none = np.zeros(m, dtype=np.int64)
    return RegionalHomesResult(
        status=out.status,
        objective=out.objective,
        bound=out.bound,
        gap=gap,
        selected=_empty_int(),
        beds=none,
        nursing_beds=none.copy(),
        land_m2=np.zeros(m),
        covered=np.zeros(n),
        assignment=np.full(n, -1, dtype=np.int64),
        baseline=math.nan,
        sites=(),
        seconds=seconds,
        message=_message(out.status, gap, time_limit, extra),
        uncoverable=uncoverable,
    )


def _home_result(
    out: _Outcome,
    hm: _HomeModel,
    chosen_sites: Callable[[BoolArray], _HomeModel],
    c: HomeCandidates,
    t: HomeTargets,
    w: FloatArray,
    reach: sp.csr_array,
    start: float,
    time_limit: float,
) -> RegionalHomesResult:
    assert c.existing_beds is not None
    n, m = reach.shape
    uncoverable = np.flatnonzero(np.diff(reach.indptr) == 0).astype(np.int64)
    if out.x is None:
        return _home_without_plan(out, n, m, uncoverable, perf_counter() - start, time_limit)
    x = out.x
    deadline = start + time_limit
    # What follows concerns the chosen sites only: the model of just those sites (its rows merge
    # into far fewer groups) gives the same coverage for them, and its LPs are much smaller.
    chosen = chosen_sites(np.round(x[:m]) > 0.5)
    polished = _full_plan(chosen, x, c.existing_beds, deadline)
    if polished is not None and chosen.coverage(polished) >= hm.coverage(x):
        hm, x = chosen, polished
    else:
        x = _polish(hm, x, c.existing_beds, deadline)
    x = _polish(hm, _trim_plan(hm, x, c.existing_beds, deadline), c.existing_beds, deadline)
    objective, bound = hm.coverage(x), out.bound
    covered, assignment = _home_assignment(hm, x, c.existing_beds)
    sites, baseline = _site_reports(hm, x, c, t, w, covered, assignment, deadline)
    beds = np.round(x[m : 2 * m]).astype(np.int64)
    gap = _gap(out.status, objective, bound)
    return RegionalHomesResult(
        status=out.status,
        objective=objective,
        bound=bound,
        gap=gap,
        selected=_selected(x, m),
        beds=beds,
        nursing_beds=np.round(x[2 * m : 3 * m]).astype(np.int64),
        land_m2=(beds * t.land_m2_per_bed).astype(np.float64),
        covered=covered,
        assignment=assignment,
        baseline=baseline,
        sites=sites,
        seconds=perf_counter() - start,
        message=_message(out.status, gap, time_limit),
        uncoverable=uncoverable,
    )


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
