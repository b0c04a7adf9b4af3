"""Phasing: the year each recommended site opens in, an exact assignment over the plan's years.

Seed plans are phased (乐政办函〔2020〕24号: 1,000 new beds and a 51 % nursing share in 2020,
8,000 beds and 55 % by the end of 2022; budgets are yearly). Given the sites the single-horizon
models chose, :func:`schedule` gives each one a year:

- ``x[j, t] ∈ {0, 1}``, ``Σ_t x[j, t] = 1``: every site opens in exactly one year of the horizon;
- by the end of year ``t``: new beds ``Σ_{s≤t} beds·x ≥ beds_by_end[t]``, new centres
  ``Σ_{s≤t} x ≥ centres_by_end[t]``, and the nursing share of all institution beds, the
  baseline included, ``base_nursing + Σ_{s≤t} nursing·x ≥ share[t]·(base_beds + Σ_{s≤t} beds·x)``;
- in year ``t``: ``Σ cost·x[·, t] ≤ budget[t]``, ``Σ land·x[·, t] ≤ land[t]`` (homes),
  ``Σ_{centres} x[·, t] ≤ max_new_centres[t]``;
- maximise ``Σ weight[j]·(Y_T − y_t + 1)·x[j, t]``: older-resident-years served within the
  horizon (``y_t`` the calendar year, so a skipped year counts), the most residents earliest.

The schedule is optimal for the given sites; which sites there are comes from the single-horizon
models under the horizon's totals (:func:`horizon_limits`), not from this model. When no
schedule exists, simple necessary conditions are checked first and the first year whose rules
cannot be met is named; the status is then ``"infeasible"``, never an exception.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from time import perf_counter
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from carecircle.locate._highs import (
    DEFAULT_MIP_GAP,
    DEFAULT_TIME_LIMIT,
    FloatArray,
    IntArray,
    Status,
    _gap,
    _message,
    _Model,
    _Rows,
    _run,
)
from carecircle.scenario import Phase, Siting

__all__ = [
    "CENTRE",
    "HOME",
    "HorizonLimits",
    "PhaseSites",
    "Schedule",
    "horizon_limits",
    "schedule",
]

HOME = "home"
CENTRE = "centre"


@dataclass(frozen=True)
class HorizonLimits:
    """What the single-horizon homes model must respect so that a schedule can exist.

    ``budget_yuan``: the smaller of ``siting.budget_yuan`` and the phases' budgets summed (a
    sum only when every phase gives one; a year without a budget has none); ``land_quota_mu``
    likewise; ``nursing_share``: the last phase's share, which applies to every site (all are
    open by then), else 0.
    """

    budget_yuan: float | None
    land_quota_mu: float | None
    nursing_share: float


def _total(values: list[float | None]) -> float | None:
    return None if not values or any(v is None for v in values) else float(sum(values))  # type: ignore[arg-type]


def horizon_limits(spec: Siting) -> HorizonLimits:
    """The horizon's totals from ``spec`` (a scenario's ``siting:``) and its phases."""
    phases = list(spec.phases)
    budgets = [spec.budget_yuan, _total([p.budget_yuan for p in phases])]
    lands = [spec.land_quota_mu, _total([p.land_mu for p in phases])]
    kept_b = [float(b) for b in budgets if b is not None]
    kept_l = [float(x) for x in lands if x is not None]
    share = phases[-1].nursing_share if phases and phases[-1].nursing_share is not None else 0.0
    return HorizonLimits(
        budget_yuan=min(kept_b) if kept_b else None,
        land_quota_mu=min(kept_l) if kept_l else None,
        nursing_share=float(share),
    )


@dataclass(frozen=True, eq=False)
class Schedule:
    """The year each site opens in, and each year's totals against its targets and limits.

    ``year`` holds the calendar year of each site (0 when there is no schedule); ``years`` one
    dict per phase (see :meth:`rows`); ``infeasible_year`` the first year whose rules cannot be
    met (0 when a schedule exists or none is to blame alone).
    """

    status: Status
    objective: float
    bound: float
    gap: float
    year: IntArray
    years: list[dict[str, Any]]
    claim: str
    message: str
    seconds: float
    infeasible_year: int = 0
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def holds(self) -> bool:
        """Every year's targets and limits hold."""
        return bool(self.years) and all(y["holds"] for y in self.years)

    def summary(self) -> dict[str, Any]:
        """The JSON-ready record of ``summary["siting"]["phasing"]``."""
        return {
            "status": self.status,
            "claim": self.claim,
            "message": self.message,
            "infeasible_year": self.infeasible_year or None,
            "years": self.years,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
        }


@dataclass(frozen=True, eq=False)
class PhaseSites:
    """The sites to schedule, one entry of each array per site (lists or scalars accepted).

    Attributes
    ----------
    kind
        ``"home"`` (a new or expanded nursing home) or ``"centre"`` (a new village centre).
    beds, nursing_beds
        New beds and nursing-type beds of each site (0 for centres).
    cost_yuan, land_mu
        What a site costs, and the land a home takes (亩; unknown, ``inf`` or NaN, counts 0).
    weight
        Older residents the site serves (the plan's ``older_covered``).
    """

    kind: npt.NDArray[np.str_]
    beds: FloatArray
    nursing_beds: FloatArray
    cost_yuan: FloatArray
    land_mu: FloatArray
    weight: FloatArray

    def __post_init__(self) -> None:
        k = np.asarray(self.kind, dtype=object).astype(str)
        bad = sorted(set(k.tolist()) - {HOME, CENTRE})
        if bad:
            raise ValueError(
                f"kind 应为 home 或 centre / kind must be 'home' or 'centre', got {bad[:3]}"
            )
        object.__setattr__(self, "kind", k)
        for name in ("beds", "nursing_beds", "cost_yuan", "land_mu", "weight"):
            a = np.broadcast_to(np.asarray(getattr(self, name), dtype=np.float64), k.shape).copy()
            a = np.nan_to_num(a, nan=0.0, posinf=0.0)
            if (a < 0).any():
                raise ValueError(f"{name} 应为非负数 / {name} must be non-negative")
            object.__setattr__(self, name, a)

    @property
    def n(self) -> int:
        return int(self.kind.size)

    @property
    def home(self) -> npt.NDArray[np.bool_]:
        return np.asarray(self.kind == HOME)


def schedule(
    sites: PhaseSites,
    phases: Sequence[Phase],
    *,
    baseline_beds: float = 0,
    baseline_nursing_beds: float = 0,
    time_limit: float = DEFAULT_TIME_LIMIT,
    mip_gap: float = DEFAULT_MIP_GAP,
) -> Schedule:
    """Give each site the year it opens in (see the module docstring for the model).

    Parameters
    ----------
    sites
        The sites the single-horizon models chose (:class:`PhaseSites`).
    phases
        The plan's years, in increasing order (:class:`carecircle.scenario.Phase`).
    baseline_beds, baseline_nursing_beds
        Institution beds the county already has, for the nursing share.
    time_limit, mip_gap
        HiGHS's limits.
    """
    start = perf_counter()
    s = sites
    phases = list(phases)
    if not phases:
        raise ValueError("schedule() needs at least one phase")
    base = (float(baseline_beds), float(baseline_nursing_beds))
    why = _necessary(s, phases, base)
    if why is not None:
        year, text = why
        return _infeasible(phases, start, year, text)
    if s.n == 0:
        x = np.zeros((0, len(phases)))
        return _done(s, phases, base, x, "optimal", 0.0, 0.0, start, time_limit)
    model = _model(s, phases, base)
    outcome = _run(model, time_limit=time_limit, mip_gap=mip_gap)
    if outcome.status == "infeasible" or outcome.x is None:
        if outcome.status == "infeasible":
            year = _first_failing_year(s, phases, base, time_limit)
            earlier = "在前几年的安排下" if year != phases[0].year else ""
            text = (
                f"{year} 年的目标与限额{earlier}无法同时满足 / year {year}'s targets and limits "
                "cannot all be met"
                + (" together with the earlier years'" if earlier else "")
                + " (no single simple rule is to blame: check that year's budget, land and "
                "targets against the sites)"
            )
            return _infeasible(phases, start, year, text)
        return _done(
            s, phases, base, None, outcome.status, math.nan, outcome.bound, start, time_limit
        )
    x = np.round(outcome.x).reshape(s.n, len(phases))
    if outcome.status == "optimal":
        x = _earliest_among_optima(model, x, outcome.objective, phases, time_limit)
        outcome = replace(outcome, objective=float(model.c @ x.ravel()))
    return _done(
        s, phases, base, x, outcome.status, outcome.objective, outcome.bound, start, time_limit
    )


# --- the model -----------------------------------------------------------------------------------


def _served_years(phases: Sequence[Phase]) -> FloatArray:
    last = phases[-1].year
    return np.array([last - p.year + 1 for p in phases], dtype=np.float64)


def _model(
    s: PhaseSites,
    phases: Sequence[Phase],
    base: tuple[float, float],
    *,
    open_after: int | None = None,
) -> _Model:
    """The assignment MILP; variable ``j * T' + t``. With ``open_after`` = t, only the rules of
    years up to t are kept and a site may also open "later" (one more column per site, no
    rules): the prefix model the infeasibility diagnosis solves."""
    phases = list(phases if open_after is None else phases[: open_after + 1])
    T = len(phases)
    cols = T + (open_after is not None)
    n = s.n
    var = np.arange(n * cols).reshape(n, cols)
    rows = _Rows(n * cols)
    rows.add(np.repeat(np.arange(n), cols), var.ravel(), 1.0, 1.0, 1.0, n)
    centre = ~s.home

    def row(cols: IntArray, vals: npt.ArrayLike, lo: float, hi: float) -> None:
        rows.add(np.zeros(cols.size), cols, vals, lo, hi, 1)

    for t, p in enumerate(phases):
        upto = var[:, : t + 1]
        if p.beds_by_end:
            row(upto.ravel(), np.repeat(s.beds, t + 1), p.beds_by_end, math.inf)
        if p.centres_by_end:
            row(upto[centre].ravel(), 1.0, p.centres_by_end, math.inf)
        if p.nursing_share is not None and p.nursing_share > 0:
            coef = s.nursing_beds - p.nursing_share * s.beds
            need = p.nursing_share * base[0] - base[1]
            row(upto.ravel(), np.repeat(coef, t + 1), need, math.inf)
        if p.budget_yuan is not None:
            row(var[:, t], s.cost_yuan, -math.inf, p.budget_yuan)
        if p.land_mu is not None:
            row(var[s.home, t], s.land_mu[s.home], -math.inf, p.land_mu)
        if p.max_new_centres is not None:
            row(var[centre, t], 1.0, -math.inf, p.max_new_centres)
    A, lo, hi = rows.build()
    served = np.zeros(cols)
    served[:T] = _served_years(phases)
    c = (s.weight[:, None] * served[None, :]).ravel()
    return _Model(
        c=c,
        A=A,
        lo=lo,
        hi=hi,
        lb=np.zeros(n * cols),
        ub=np.ones(n * cols),
        integrality=np.ones(n * cols, dtype=np.uint8),
        maximize=True,
    )


def _earliest_among_optima(
    model: _Model, x: FloatArray, best: float, phases: Sequence[Phase], time_limit: float
) -> FloatArray:
    """Among the optimal schedules, the one opening sites earliest (site-years served summed): a
    site serving no one mostly (weight 0) has no year of its own to prefer, and is not left to
    the solver's whim. The older-resident-years stay at their optimum ``best``."""
    earliest = np.tile(_served_years(phases), x.shape[0])
    tol = max(1e-7 * abs(best), 1e-6)
    second = replace(
        model,
        c=earliest,
        A=sp.csr_array(sp.vstack([model.A, sp.csr_array(model.c[None, :])])),
        lo=np.append(model.lo, best - tol),
        hi=np.append(model.hi, math.inf),
    )
    outcome = _run(second, time_limit=time_limit, mip_gap=DEFAULT_MIP_GAP)
    if outcome.status != "optimal" or outcome.x is None:
        return x
    return np.asarray(np.round(outcome.x).reshape(x.shape))


def _first_failing_year(
    s: PhaseSites, phases: Sequence[Phase], base: tuple[float, float], time_limit: float
) -> int:
    """The first year t whose rules, with those of the years before, admit no schedule (sites
    may open after t); the last year when every prefix has one (all sites must open by then)."""
    for t in range(len(phases) - 1):
        outcome = _run(_model(s, phases, base, open_after=t), time_limit=time_limit, mip_gap=1.0)
        if outcome.status == "infeasible":
            return phases[t].year
    return phases[-1].year


# --- simple necessary conditions -----------------------------------------------------------------


def _cheapest(values: FloatArray, sizes: FloatArray, need: float) -> float:
    """The least total ``values`` of a set whose ``sizes`` sum to ``need`` or more (a small
    knapsack solved exactly); ``inf`` when even every item falls short."""
    if need <= 0:
        return 0.0
    if sizes.sum() < need:
        return math.inf
    if not values.any():
        return 0.0
    res = milp(
        values,
        integrality=np.ones(values.size),
        bounds=Bounds(0, 1),
        constraints=[LinearConstraint(sizes[None, :], need, math.inf)],
        options={"time_limit": 10.0},
    )
    if res.status != 0 or res.x is None:  # not proven: no claim (the full model decides)
        return 0.0
    return float(values @ np.round(res.x))


def _running(values: list[float | None]) -> list[float]:
    """Cumulative sums of yearly limits; ``inf`` from the first year without one."""
    out, total = [], 0.0
    for v in values:
        total = math.inf if v is None else total + v
        out.append(total)
    return out


def _necessary(
    s: PhaseSites, phases: Sequence[Phase], base: tuple[float, float]
) -> tuple[int, str] | None:
    """The first simple rule no schedule can meet, as (year, message); None when all pass."""
    homes, centres = s.home, ~s.home
    n_centres = int(centres.sum())
    cum_budget = _running([p.budget_yuan for p in phases])
    cum_land = _running([p.land_mu for p in phases])
    cum_centres = _running(
        [None if p.max_new_centres is None else float(p.max_new_centres) for p in phases]
    )
    best_budget = max((p.budget_yuan for p in phases if p.budget_yuan is not None), default=None)
    every_budget = all(p.budget_yuan is not None for p in phases)
    if every_budget and best_budget is not None and (s.cost_yuan > best_budget + 1e-6).any():
        j = int(np.argmax(s.cost_yuan))
        year = phases[-1].year
        return year, (
            f"第 {j + 1} 处选址造价 {s.cost_yuan[j]:,.0f} 元超过任何一年的预算（最多 {best_budget:,.0f} 元）"
            f" / site {j + 1} costs {s.cost_yuan[j]:,.0f} yuan, more than any year's budget "
            f"(at most {best_budget:,.0f}): raise a year's budget_yuan or lower the costs"
        )
    for t, p in enumerate(phases):
        y = p.year
        if p.beds_by_end and s.beds.sum() < p.beds_by_end:
            return y, (
                f"{y} 年底新增床位目标 {p.beds_by_end:,} 张超过全部选址床位 {s.beds.sum():,.0f} 张 / "
                f"year {y}'s beds_by_end {p.beds_by_end:,} exceeds the {s.beds.sum():,.0f} new beds "
                "of all sites: lower the target or raise siting.new_beds"
            )
        if p.centres_by_end and n_centres < p.centres_by_end:
            return y, (
                f"{y} 年底新增照料中心目标 {p.centres_by_end} 处超过推荐的 {n_centres} 处 / year {y}'s "
                f"centres_by_end {p.centres_by_end} exceeds the {n_centres} new centres recommended"
            )
        if p.centres_by_end and cum_centres[t] < p.centres_by_end:
            return y, (
                f"{y} 年底前每年新增中心上限合计 {cum_centres[t]:.0f} 处，少于目标 {p.centres_by_end} 处 / "
                f"the max_new_centres of the years to {y} add up to {cum_centres[t]:.0f}, below "
                f"centres_by_end {p.centres_by_end}"
            )
        if p.nursing_share:
            gain = np.clip(s.nursing_beds - p.nursing_share * s.beds, 0, None).sum()
            if base[1] + gain < p.nursing_share * base[0] - 1e-6:
                return y, (
                    f"{y} 年护理型床位占比目标 {p.nursing_share:.0%} 无法达到：现有床位占比过低，全部"
                    f"选址也补不足 / year {y}'s nursing share {p.nursing_share:.0%} cannot be "
                    "reached even with every site open: the existing beds' share is too low"
                )
        need = float(p.beds_by_end or 0)
        if math.isfinite(cum_budget[t]):
            spend = _cheapest(s.cost_yuan[homes], s.beds[homes], need)
            spend += float(np.sort(s.cost_yuan[centres])[: p.centres_by_end or 0].sum())
            if spend > cum_budget[t] + 1e-6:
                return y, (
                    f"{y} 年底前预算合计 {cum_budget[t]:,.0f} 元，达到该年目标最少需 {spend:,.0f} 元 / "
                    f"the budgets to {y} add up to {cum_budget[t]:,.0f} yuan, and the cheapest sites "
                    f"meeting that year's targets cost {spend:,.0f}: raise the budgets to {y} or "
                    "lower its targets"
                )
        if math.isfinite(cum_land[t]):
            area = _cheapest(s.land_mu[homes], s.beds[homes], need)
            if area > cum_land[t] + 1e-6:
                return y, (
                    f"{y} 年底前用地合计 {cum_land[t]:,.1f} 亩，达到该年床位目标最少需 {area:,.1f} 亩 / "
                    f"the land to {y} adds up to {cum_land[t]:,.1f} mu, and the sites meeting that "
                    f"year's beds_by_end need {area:,.1f}: raise the land to {y} or lower its target"
                )
    last = phases[-1].year
    if math.isfinite(cum_budget[-1]) and s.cost_yuan.sum() > cum_budget[-1] + 1e-6:
        return last, (
            f"全部选址造价 {s.cost_yuan.sum():,.0f} 元超过各年预算合计 {cum_budget[-1]:,.0f} 元 / all "
            f"sites cost {s.cost_yuan.sum():,.0f} yuan, more than the years' budgets "
            f"({cum_budget[-1]:,.0f}); every site must open by {last}: raise the budgets"
        )
    if math.isfinite(cum_land[-1]) and s.land_mu[homes].sum() > cum_land[-1] + 1e-6:
        return last, (
            f"全部新建养老机构用地 {s.land_mu[homes].sum():,.1f} 亩超过各年用地合计 {cum_land[-1]:,.1f} 亩 / "
            f"the homes need {s.land_mu[homes].sum():,.1f} mu, more than the years' land "
            f"({cum_land[-1]:,.1f}); every site must open by {last}: raise the land"
        )
    if math.isfinite(cum_centres[-1]) and n_centres > cum_centres[-1]:
        return last, (
            f"推荐的 {n_centres} 处照料中心超过各年上限合计 {cum_centres[-1]:.0f} 处 / the "
            f"{n_centres} new centres exceed the years' max_new_centres ({cum_centres[-1]:.0f})"
        )
    return None


# --- results -------------------------------------------------------------------------------------


def _claim(status: Status, gap: float, phases: Sequence[Phase]) -> str:
    span = f"{phases[0].year}–{phases[-1].year}" if len(phases) > 1 else f"{phases[0].year}"
    if status == "optimal":
        head = "各处选址的建设年度已证明最优 / the year of each site is proven optimal"
    elif status == "time_limit" and math.isfinite(gap):
        head = (
            f"建设年度为时间上限内的最好安排（差距 {gap:.2%}） / the years are the best found within "
            f"the time limit ({gap:.2%} from the bound)"
        )
    else:
        return (
            f"{span} 无可行的分期安排 / no phasing over {span} meets every year's rules for these "
            "sites"
        )
    return (
        f"{head}（{span}，按老年人受益年数）；选址本身来自按全期总量求解的单期模型，分期不改变选哪些地块 / "
        f"({span}, by older-resident-years served) for the given sites; which sites there are "
        "comes from the single-horizon model under the horizon's totals, not from the phasing"
    )


def _infeasible(phases: Sequence[Phase], start: float, year: int, text: str) -> Schedule:
    years = [_empty_year(p) for p in phases]
    return Schedule(
        status="infeasible",
        objective=math.nan,
        bound=math.nan,
        gap=math.inf,
        year=np.zeros(0, dtype=np.int64),
        years=years,
        claim=_claim("infeasible", math.inf, phases),
        message=text,
        seconds=perf_counter() - start,
        infeasible_year=year,
    )


def _empty_year(p: Phase) -> dict[str, Any]:
    return {
        "year": p.year,
        "sites": [],
        "beds_opened": None,
        "beds_by_end": None,
        "beds_target": p.beds_by_end,
        "nursing_share": None,
        "nursing_target": p.nursing_share,
        "centres_opened": None,
        "centres_by_end": None,
        "centres_target": p.centres_by_end,
        "max_new_centres": p.max_new_centres,
        "spend_yuan": None,
        "budget_yuan": p.budget_yuan,
        "land_mu": None,
        "land_limit_mu": p.land_mu,
        "holds": False,
    }


def _done(
    s: PhaseSites,
    phases: Sequence[Phase],
    base: tuple[float, float],
    x: FloatArray | None,
    status: Status,
    objective: float,
    bound: float,
    start: float,
    time_limit: float,
) -> Schedule:
    gap = _gap(status, objective, bound)
    if x is None:
        return Schedule(
            status=status,
            objective=objective,
            bound=bound,
            gap=gap,
            year=np.zeros(s.n, dtype=np.int64),
            years=[_empty_year(p) for p in phases],
            claim=_claim(status, gap, phases),
            message=_message(status, gap, time_limit),
            seconds=perf_counter() - start,
        )
    t_of = x.argmax(axis=1) if s.n else np.zeros(0, dtype=np.int64)
    years_of = np.array([phases[t].year for t in t_of.tolist()], dtype=np.int64)
    rows = []
    beds_total, nursing_total, centres_total = 0.0, 0.0, 0
    for t, p in enumerate(phases):
        now = t_of == t
        beds_total += float(s.beds[now].sum())
        nursing_total += float(s.nursing_beds[now].sum())
        opened_centres = int((now & ~s.home).sum())
        centres_total += opened_centres
        spend = float(s.cost_yuan[now].sum())
        land = float(s.land_mu[now & s.home].sum())
        all_beds = base[0] + beds_total
        share = (base[1] + nursing_total) / all_beds if all_beds > 0 else None
        checks = [
            p.beds_by_end is None or beds_total >= p.beds_by_end,
            p.centres_by_end is None or centres_total >= p.centres_by_end,
            p.nursing_share is None or base[1] + nursing_total >= p.nursing_share * all_beds - 1e-6,
            p.budget_yuan is None or spend <= p.budget_yuan + 1e-6,
            p.land_mu is None or land <= p.land_mu + 1e-6,
            p.max_new_centres is None or opened_centres <= p.max_new_centres,
        ]
        rows.append(
            {
                **_empty_year(p),
                "sites": np.flatnonzero(now).tolist(),
                "beds_opened": round(float(s.beds[now].sum())),
                "beds_by_end": round(beds_total),
                "nursing_share": share,
                "centres_opened": opened_centres,
                "centres_by_end": centres_total,
                "spend_yuan": spend,
                "land_mu": land,
                "holds": all(checks),
            }
        )
    return Schedule(
        status=status,
        objective=objective,
        bound=bound,
        gap=gap,
        year=years_of,
        years=rows,
        claim=_claim(status, gap, phases),
        message=_message(status, gap, time_limit),
        seconds=perf_counter() - start,
    )
