"""The regional-homes model: where to build nursing homes and how many beds each, and its solve strategy."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from time import perf_counter
from typing import Literal

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
    Status,
    _empty_int,
    _gap,
    _message,
    _Model,
    _Outcome,
    _Rows,
    _run,
)
from carecircle.locate._inputs import _as_matrix, _forced, _group_rows, _selected, _weights, _within
from carecircle.rules import MU_M2, get_rule

# The first restricted model holds the sites the LP relaxation uses most.
_FIRST_SITES = 10


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
        Total new beds (rule ``regional-homes``: 乐清 ≥ 1000): at least, or exactly when
        ``beds_target`` is ``"exact"``.
    beds_target
        ``"at_least"`` (the default here): ``new_beds`` is a floor, and beds beyond it are taken
        where they add coverage. ``"exact"``: the plan has the smallest total of at least
        ``new_beds`` that every plan rule allows (``new_beds`` itself unless the bed range per
        site, land, budget, zones or site counts make it unreachable; the result then says
        why, :attr:`RegionalHomesResult.excess_reason_en`).
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
    beds_target: Literal["exact", "at_least"] = "at_least"
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
        if self.beds_target not in ("exact", "at_least"):
            raise ValueError(
                f"beds_target 应为 exact 或 at_least / beds_target must be 'exact' or 'at_least', "
                f"got {self.beds_target!r}"
            )

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

    ``served_weight`` is the fractional attribution of who the site's new beds serve: for every
    group of rows, the share of its served demand the site takes, times the group's covered
    need-weighted older residents, times the share of the site's beds that are new; scaled so
    that the sites' served weights add up to what the plan adds (``objective - baseline``).
    Without existing beds the scale is 1. With them it is not, because where beds are left over
    which of them (existing or new) serve a row is the solver's choice among equal plans.
    ``note`` says, in Chinese and English, why a site that serves (about) nobody is in the plan;
    it is empty otherwise.
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
    served_weight: float = 0.0
    note: str = ""

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

    ``bed_target`` is the asked-for total (``HomeTargets.new_beds``) and ``beds_target`` its
    mode; with ``"exact"``, ``bed_excess`` is how many beds the plan has over it because no
    plan under the rules can have exactly the target (0 when it can), and
    ``excess_reason_zh``/``excess_reason_en`` say why, with numbers a reader can check.
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
    bed_target: int = 0
    beds_target: str = "at_least"
    bed_excess: int = 0
    excess_reason_zh: str = ""
    excess_reason_en: str = ""

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
                # the residents the site serves (its share of each group it serves), as the
                # sites table's older_covered; mostly_served: rows it serves most of
                "older_covered": round(s.served_weight, 2),
                "older_mostly_served": round(s.covered_weight, 2),
                "demand_rows": int(s.rows.size),
                "marginal_gain": round(s.marginal_gain, 2),
                "note": s.note,
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


def within_reach(coverage: CostMatrix, threshold: float | None) -> sp.csr_array:
    """The boolean demand × candidate matrix the model reads: True where a pair is within reach."""
    return _reach_matrix(coverage, threshold)


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
    total_hi = float(t.new_beds) if t.beds_target == "exact" else np.inf
    rows.add(zeros, B, 1.0, float(t.new_beds), total_hi, 1)
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


# Relative slack for re-reading a solved row's bound from the solution (float sums, not the
# solver's tolerance: the plan is re-solved exactly afterwards).
_ROUNDING = 1e-12


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
    # The trim pushes the coverage down to its row's bound; its sum can then read a few ulps
    # below ``keep`` (measured: 5.7e-14 under, which used to throw the trimmed plan away).
    if out.x is None or hm.coverage_of(out.x, cols) < keep - _ROUNDING * max(abs(keep), 1.0):
        return x
    full = np.zeros(model.c.size)
    full[cols] = out.x
    return full


def _served_beds(hm: _HomeModel, x: FloatArray) -> FloatArray:
    """Demand each site serves in ``x`` (beds), from the assignment variables."""
    _, _, _, A, Z = hm.offsets()
    served = np.bincount(hm.pair_site, weights=np.clip(x[A:Z], 0.0, None), minlength=hm.m)
    return served.astype(np.float64)


def _place_surplus(
    hm: _HomeModel,
    x: FloatArray,
    chosen_sites: Callable[[BoolArray], _HomeModel],
    reach_w: FloatArray,
    ok: BoolArray,
    existing: IntArray,
    deadline: float,
) -> tuple[_HomeModel, FloatArray]:
    """Beds no one within reach needs, moved to where the most older residents live within reach.

    When the plan's open sites have beds left over (a site there for the bed total or a
    site-count rule), a MILP over the plan's sites and the :data:`_FIRST_SITES` unchosen
    candidates of largest reach keeps the coverage, at most the plan's sites and at most its
    beds (every plan rule too: with an exact total, the total), and maximises
    ``Σ r_j b_j`` (``r`` the reach weight, scaled to 0..1). Returns the model the plan is
    given in and the plan; the plan unchanged when nothing is left over or no better one is
    found in time.
    """
    m = hm.m
    y, b = np.round(x[:m]) > 0.5, np.round(x[m : 2 * m])
    spare = (b + existing - _served_beds(hm, x))[y]
    if not y.any() or float(spare.sum()) < 0.5 or float(reach_w.max(initial=0.0)) <= 0:
        return hm, x
    others = np.flatnonzero(ok & ~y & (reach_w > 0))
    pool = y.copy()
    pool[others[np.argsort(-reach_w[others], kind="stable")][:_FIRST_SITES]] = True
    sub = chosen_sites(pool)
    start = _full_plan(sub, x, existing, deadline)
    if start is None:
        return hm, x
    model = sub.model
    Z = sub.offsets()[4]
    cover = sub.coverage(start)
    keep = cover - 1e-9 * abs(cover) - 1e-6
    r = reach_w / float(reach_w.max())
    j = np.arange(m)
    extra = sp.csr_array(
        (
            np.r_[model.c[Z:], np.ones(m), np.ones(m)],
            (
                np.r_[np.zeros(model.c.size - Z), np.ones(m), np.full(m, 2)],
                np.r_[np.arange(Z, model.c.size), j, m + j],
            ),
        ),
        shape=(3, model.c.size),
    )
    place = _Model(
        c=np.r_[np.zeros(m), r, np.zeros(model.c.size - 2 * m)],
        A=sp.csr_array(sp.vstack([model.A, extra])),
        lo=np.r_[model.lo, keep, -np.inf, -np.inf],
        hi=np.r_[model.hi, np.inf, float(y.sum()), float(b.sum())],
        lb=model.lb,
        ub=model.ub,
        integrality=model.integrality,
        maximize=True,
    )
    out = _run(place, time_limit=max(deadline - perf_counter(), 5.0), mip_gap=DEFAULT_MIP_GAP)
    if out.x is None or sub.coverage(out.x) < keep - _ROUNDING * max(abs(keep), 1.0):
        return hm, x
    before = float(r @ b)
    if float(r @ np.round(out.x[m : 2 * m])) <= before + 1e-9:
        return hm, x
    placed = _full_plan(sub, out.x, existing, deadline)
    if placed is None or sub.coverage(placed) < keep - _ROUNDING * max(abs(keep), 1.0):
        return hm, x
    return sub, placed


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


def _served_weights(hm: _HomeModel, x: FloatArray, existing: IntArray) -> FloatArray:
    """Per candidate, the covered need-weighted older residents its new beds serve in ``x``.

    Each group's covered weight (``Σ_s W_s z_s``) is split over the sites serving it in
    proportion to the demand they serve (``a_gj / Σ_j a_gj``); a group covered without demand
    (weight but no demand, covered by being in reach) is split evenly over its open sites. A
    site's part is then scaled by the share of its beds that are new, ``b / (E + b)``.
    """
    m = hm.m
    _, _, _, A, Z = hm.offsets()
    y, b = np.round(x[:m]), np.round(x[m : 2 * m])
    a = np.clip(x[A:Z], 0.0, None)
    z = np.clip(x[Z:], 0.0, 1.0)
    n_groups = int(max(hm.sub_group.max(initial=-1), hm.pair_group.max(initial=-1))) + 1
    cw = np.bincount(hm.sub_group, weights=hm.model.c[Z:] * z, minlength=n_groups)
    cd = np.bincount(hm.pair_group, weights=a, minlength=n_groups)
    share = np.where(cd[hm.pair_group] > 0, a / np.where(cd > 0, cd, 1.0)[hm.pair_group], 0.0)
    is_open = ((y > 0.5) | (existing > 0))[hm.pair_site]
    bare = (cd[hm.pair_group] <= 0) & is_open
    count = np.bincount(hm.pair_group[bare], minlength=n_groups)
    share[bare] = 1.0 / count[hm.pair_group[bare]]
    per_site = np.bincount(hm.pair_site, weights=share * cw[hm.pair_group], minlength=m)
    beds = existing + b
    new_share = np.where(beds > 0, b / np.where(beds > 0, beds, 1.0), 0.0)
    return (per_site * new_share).astype(np.float64)


def _with_notes(
    result: RegionalHomesResult,
    c: HomeCandidates,
    t: HomeTargets,
    cap: IntArray,
    fixed: BoolArray,
) -> RegionalHomesResult:
    """Each selected site that serves (about) nobody, with the reason it is in the plan."""
    if not result.sites:
        return result
    added = max(result.objective - result.baseline, 0.0) if math.isfinite(result.baseline) else 0.0
    tiny = max(_NEGLIGIBLE * max(result.objective, added), 1e-9)
    chosen = np.zeros(c.size, dtype=bool)
    chosen[[s.candidate for s in result.sites]] = True
    sites = []
    for s in result.sites:
        note = ""
        if s.served_weight <= tiny:
            note = _site_note(s, result, c, t, cap, fixed, chosen)
        sites.append(replace(s, note=note))
    return replace(result, sites=tuple(sites))


# A site serving less than this share of the plan's objective serves "about nobody" (the note
# says "no" below a millionth, "almost no" up to this).
_NEGLIGIBLE = 1e-3


def _site_note(
    s: SiteReport,
    result: RegionalHomesResult,
    c: HomeCandidates,
    t: HomeTargets,
    cap: IntArray,
    fixed: BoolArray,
    chosen: BoolArray,
) -> str:
    """Why a site serving (about) nobody is in the plan, in Chinese and English."""
    j = s.candidate
    if s.reach_weight <= 0:
        where_zh, where_en = "可达范围内无老年人", "no older residents within reach"
    elif s.served_weight <= 1e-6 * max(result.objective, 1e-9):
        where_zh, where_en = "可达范围内无未满足需求", "serves no unmet demand within reach"
    else:
        where_zh = f"可达范围内几无未满足需求（约 {s.served_weight:,.0f} 人）"
        where_en = f"serves almost no unmet demand within reach (about {s.served_weight:,.0f})"
    total = int(result.beds.sum())
    others = chosen.copy()
    others[j] = False
    full = bool(others.any()) and bool((result.beds[others] >= cap[others]).all())
    target = int(result.bed_target) if result.bed_target else int(t.new_beds)
    if total > target:
        why_zh, why_en = (
            f"为达到 {total:,} 张床位而设（目标 {target:,} 张，选址床位下限使总数超出）",
            f"needed to reach {total:,} beds (target {target:,}; the per-site minimums "
            "push the total over it)",
        )
    else:
        why_zh, why_en = (
            f"为达到床位目标 {total:,} 张而设",
            f"needed to reach the bed target of {total:,}",
        )
    if fixed[j]:
        why_zh, why_en = "为必选选址", "a forced site"
    else:
        for zone, (low, _) in t.zone_limits.items():
            if low <= 0 or c.zone is None or c.zone[j] != zone:
                continue
            if int((chosen & (c.zone == zone)).sum()) <= low:
                if zone == "all" and len(t.zone_limits) == 1:
                    why_zh, why_en = (
                        f"选址数量下限 {low} 处",
                        f"the plan needs at least {low} sites",
                    )
                else:
                    why_zh = f"分区 {zone} 至少 {low} 处选址"
                    why_en = f"zone {zone} needs at least {low} sites"
                break
        else:
            if full:
                n_o, beds_o = int(others.sum()), int(result.beds[others].sum())
                why_zh += f"（其余 {n_o} 处选址已达上限，共 {beds_o:,} 张）"
                why_en += f" (the other {n_o} site(s) are at their maximum, {beds_o:,} beds)"
    return f"{where_zh}，{why_zh} / {where_en}: {why_en}"


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

    served_new = _served_weights(hm, x, c.existing_beds) * (y > 0.5)
    # Where existing beds share the work, who serves whom is the LP's choice among equals: the
    # split follows the assignment, scaled so the sites add up to what the plan adds.
    attributed = float(served_new.sum())
    if attributed > 0 and math.isfinite(served - baseline):
        served_new *= max(served - baseline, 0.0) / attributed

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
                served_weight=float(served_new[j]),
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

    The bed total: with ``targets.beds_target == "at_least"`` the row is :math:`\sum_j b_j \ge T`.
    With ``"exact"`` a plan-only MILP first finds the smallest total :math:`T^* \ge T` any plan
    under the rules can have (:math:`T` itself unless, e.g., 2 sites of at most 210 beds are
    too few for 450 and 3 sites of at least 200 make 600), and every model then has
    :math:`\sum_j b_j = T^*`; the result carries ``bed_excess`` and the reason in words.

    Coverage does not care about sites or beds it does not use, so the plan is then trimmed:
    among the chosen sites, a second small MILP finds the fewest sites, then the fewest new beds,
    that keep the coverage and every other rule (a lexicographic second stage; no site outside
    the first plan is added). When beds remain that no one within reach needs (a site there
    only for the bed total or a site-count rule), a third stage keeps the coverage, the site
    count and the bed total and puts those beds where the most older residents live within
    reach (maximising :math:`\sum_j r_j b_j`, ``r`` the reach weight), among the plan's sites
    and the 10 candidates of largest reach. A site that still serves (about) nobody carries a
    ``note`` saying why it is there.

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
    total = _exact_total(candidates, targets, cap, ok, fixed, start + time_limit)
    t = total.targets  # every model below has this bed total (exactly, with "exact")

    def build(usable: BoolArray) -> _HomeModel:
        return _home_model(reach, w, d, candidates, t, fixed, cap, usable)

    hm = build(ok)
    out = _home_solve(hm, build, candidates, t, fixed, cap, ok, start + time_limit, mip_gap)
    result = _home_result(
        out, hm, lambda sites: build(ok & sites), candidates, t, w, reach, start, time_limit
    )
    result = _with_notes(replace(result, bed_target=int(targets.new_beds)), candidates, t, cap, fixed)  # fmt: skip
    return replace(
        result,
        bed_target=int(targets.new_beds),
        beds_target=targets.beds_target,
        bed_excess=total.excess if result.sites else 0,
        excess_reason_zh=total.reason_zh if result.sites else "",
        excess_reason_en=total.reason_en if result.sites else "",
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
    out = _plan_only(
        c, t, cap, ok, fixed, np.r_[np.zeros(m), mass + 1e-6], True, deadline - perf_counter()
    )
    return None if out.x is None else _full_plan(hm, out.x, c.existing_beds, deadline)


def _plan_only(
    c: HomeCandidates,
    t: HomeTargets,
    cap: IntArray,
    ok: BoolArray,
    fixed: BoolArray,
    cost: FloatArray,
    maximize: bool,
    time_limit: float,
    max_sites: int | None = None,
) -> _Outcome:
    """A MILP over the plan variables only (``y, b, n``) under every plan rule of ``t``.

    ``cost`` holds the objective of ``y`` and ``b`` (2m values); ``max_sites`` adds a limit on
    the number of sites on top of ``t``'s own.
    """
    m = cap.size
    rows = _Rows(3 * m)
    _home_plan_rows(rows, c, t, cap)
    if max_sites is not None:
        rows.add(np.zeros(m), np.arange(m), 1.0, -np.inf, float(max_sites), 1)
    A, lo, hi = rows.build()
    cap_sel = np.where(ok, cap, 0).astype(np.float64)
    plan = _Model(
        c=np.r_[cost, np.zeros(m)],
        A=A,
        lo=lo,
        hi=hi,
        lb=np.r_[fixed.astype(np.float64), np.zeros(2 * m)],
        ub=np.r_[ok.astype(np.float64), cap_sel, cap_sel],
        integrality=np.ones(3 * m, dtype=np.uint8),
        maximize=maximize,
    )
    return _run(plan, time_limit=max(time_limit, 1.0), mip_gap=DEFAULT_MIP_GAP)


@dataclass(frozen=True)
class _BedTotal:
    """The bed total the models are given: the target, or the smallest total above it."""

    targets: HomeTargets  # what the models see (new_beds = the total)
    excess: int = 0
    reason_zh: str = ""
    reason_en: str = ""


def _exact_total(
    c: HomeCandidates,
    t: HomeTargets,
    cap: IntArray,
    ok: BoolArray,
    fixed: BoolArray,
    deadline: float,
) -> _BedTotal:
    """With ``beds_target="exact"``, the smallest total T* ≥ T any plan under the rules can have.

    A plan-only MILP minimising Σ b with Σ b ≥ T. When no plan exists the target is returned
    unchanged, so the solve reports the infeasibility as before.
    """
    if t.beds_target != "exact":
        return _BedTotal(t)
    m = cap.size
    floor = replace(t, beds_target="at_least")
    cost = np.r_[np.zeros(m), np.ones(m)]
    low = _plan_only(c, floor, cap, ok, fixed, cost, False, (deadline - perf_counter()) / 4)
    if low.x is None:
        return _BedTotal(t)
    total = round(float(low.x[m : 2 * m].sum()))
    if total <= t.new_beds:
        return _BedTotal(t)
    zh, en = _excess_reason(c, t, cap, ok, fixed, low.x, total, deadline)
    return _BedTotal(replace(t, new_beds=total), total - int(t.new_beds), zh, en)


def _beds_each(values: IntArray) -> tuple[str, str]:
    """The per-site minimum of the sites ``values`` in words: one number, or each."""
    unique = np.unique(values)
    if unique.size == 1:
        return f"每处不少于 {unique[0]:,} 张", f"the {unique[0]:,}-bed minimum each"
    listed = "+".join(f"{v:,}" for v in sorted(values.tolist()))
    return f"各处最少 {listed} 张", f"their minimums of {listed} beds"


def _site_floor_causes(c: HomeCandidates, t: HomeTargets, fixed: BoolArray) -> tuple[str, str]:
    """What makes a plan have more sites: site-count minimums and forced sites, in words."""
    zh, en = [], []
    for zone, (low, _) in t.zone_limits.items():
        if low <= 0:
            continue
        if zone == "all" and len(t.zone_limits) == 1:
            zh.append(f"选址数量下限 {low} 处")
            en.append(f"the minimum of {low} sites")
        else:
            zh.append(f"分区 {zone} 至少 {low} 处")
            en.append(f"zone {zone} needs at least {low}")
    if fixed.any():
        zh.append(f"必选 {int(fixed.sum())} 处")
        en.append(f"{int(fixed.sum())} forced site(s)")
    return "、".join(zh), ", ".join(en)


def _excess_reason(
    c: HomeCandidates,
    t: HomeTargets,
    cap: IntArray,
    ok: BoolArray,
    fixed: BoolArray,
    x: FloatArray,
    total: int,
    deadline: float,
) -> tuple[str, str]:
    """Why no plan has exactly ``t.new_beds`` beds, from the plan ``x`` at the smallest total.

    With ``k`` its sites: if no plan of ``k - 1`` sites exists, a site-count rule (minimum sites,
    zone minimums, forced sites) sets ``k``; if ``k - 1`` sites hold fewer beds than the target,
    the bed range per site does; otherwise the nursing share or, generically, the rules together.
    """
    assert c.max_nursing_share is not None
    m, target = cap.size, int(t.new_beds)
    chosen = np.round(x[:m]) > 0.5
    k = int(chosen.sum())
    each_zh, each_en = _beds_each(c.min_beds[chosen])
    at_minimum = total == int(c.min_beds[chosen].sum())
    if k == 1 and at_minimum:
        return (
            f"1 处选址至少 {total:,} 张（{each_zh}）",
            f"1 site has at least {total:,} beds ({each_en})",
        )
    most = None
    if k > 1:
        free = replace(t, new_beds=0, beds_target="at_least")
        cost = np.r_[np.zeros(m), np.ones(m)]
        left = (deadline - perf_counter()) / 4
        most = _plan_only(c, free, cap, ok, fixed, cost, True, left, max_sites=k - 1)
        if most.x is None and at_minimum:
            cause_zh, cause_en = _site_floor_causes(c, t, fixed)
            cause_zh = cause_zh or "规划约束"
            cause_en = cause_en or "the plan rules"
            return (
                f"须至少 {k} 处选址（{cause_zh}），{each_zh}，合计至少 {total:,} 张",
                f"at least {k} sites are required ({cause_en}), {each_en}: {total:,} beds at least",
            )
    held = None if most is None or most.x is None else round(float(most.x[m : 2 * m].sum()))
    if held is not None and held < target and at_minimum:
        limit_zh, limit_en = "", ""
        top = int(np.sort(cap[ok])[::-1][: k - 1].sum())
        quota_beds = top
        if math.isfinite(t.quota_m2):
            quota_beds = math.floor(t.quota_m2 / t.land_m2_per_bed + 1e-9)
        if quota_beds < top and held >= quota_beds:
            limit_zh = f"（用地指标 {t.quota_m2 / MU_M2:,.1f} 亩只够 {quota_beds:,} 张）"
            limit_en = f" (the land quota of {t.quota_m2 / MU_M2:,.1f} mu holds {quota_beds:,})"
        return (
            f"{k - 1} 处选址最多 {held:,} 张{limit_zh}，{k} 处选址至少 {total:,} 张（{each_zh}）",
            f"{k - 1} sites hold at most {held:,} beds{limit_en}, {k} sites at least {total:,} "
            f"({each_en})",
        )
    share, top_share = t.nursing_share, float(c.max_nursing_share[ok].max(initial=0.0))
    short = share * t.baseline_beds - t.baseline_nursing_beds
    if share > 0 and short > 0 and top_share > share:
        need = math.ceil(short / (top_share - share) - 1e-9)
        if need > target:
            return (
                f"护理型床位占比须不低于 {share:.0%}：现有 {t.baseline_beds:,} 张床位中护理型 "
                f"{t.baseline_nursing_beds:,} 张，新增床位至少 {need:,} 张",
                f"the nursing-type share of at least {share:.0%}: of the {t.baseline_beds:,} "
                f"existing beds {t.baseline_nursing_beds:,} are nursing-type, so at least "
                f"{need:,} new beds are needed",
            )
    return (
        f"在全部规划约束（每处床位范围、用地、预算、分区与选址数量、护理型占比）下，不少于 "
        f"{target:,} 张的最小床位合计为 {total:,} 张",
        f"under every plan rule together (beds per site, land, budget, zones and site counts, "
        f"the nursing share) the smallest total of at least {target:,} beds is {total:,}",
    )


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
    reach_w = np.asarray(reach.T.astype(np.float64) @ w, dtype=np.float64)
    ok = _home_capacity(c, t)[1]
    hm, x = _place_surplus(hm, x, chosen_sites, reach_w, ok, c.existing_beds, deadline)
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
