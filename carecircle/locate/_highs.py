"""HiGHS through scipy.optimize.milp: the one solver driver, honest status, gap and bound, and the result type."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

logger = logging.getLogger(__name__)


Status = Literal["optimal", "time_limit", "infeasible"]


FloatArray: TypeAlias = npt.NDArray[np.float64]


IntArray: TypeAlias = npt.NDArray[np.int64]


BoolArray: TypeAlias = npt.NDArray[np.bool_]


#: A dense array or any scipy.sparse matrix/array, rows = demand, columns = candidates.
CostMatrix: TypeAlias = npt.ArrayLike | sp.sparray | sp.spmatrix


DEFAULT_TIME_LIMIT = 60.0


DEFAULT_MIP_GAP = 1e-6


_PRESOLVE_COLUMNS = 100_000


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

    def __repr__(self) -> str:
        """One line: model, status, objective, the sites (the first few) and the gap."""
        head = ", ".join(str(int(j)) for j in self.selected[:8])
        more = ", ..." if self.selected.size > 8 else ""
        gap = f"gap {self.gap:.2%}" if math.isfinite(self.gap) else "no solution"
        parts = [
            f"objective {self.objective:,.6g}",
            f"{self.selected.size:,} site{'' if self.selected.size == 1 else 's'} [{head}{more}]",
            gap,
        ]
        if self.uncoverable.size:
            parts.append(f"{self.uncoverable.size:,} rows uncoverable")
        return f"SitingResult({self.model} {self.status}: {'; '.join(parts)}; {self.seconds:.2f} s)"

    def sites(self, candidates: Any) -> Any:
        """The selected candidates picked out of ``candidates``, the sites in column order: a
        (Geo)DataFrame or Series gives its rows (``.iloc``; ids and geometry kept), an Index or
        sequence its items."""
        if hasattr(candidates, "iloc"):
            return candidates.iloc[self.selected]
        if hasattr(candidates, "take"):
            return candidates.take(self.selected)
        return [candidates[int(i)] for i in self.selected]


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


def _run(
    model: _Model, *, time_limit: float, mip_gap: float, node_limit: int | None = None
) -> _Outcome:
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
    if node_limit is not None:  # a limit in branch-and-bound nodes ends the same way every run
        options["node_limit"] = int(node_limit)
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
