"""Verdicts for an allocation plan, rule by rule: does it meet the scenario's rules?

A plan (:class:`carecircle.sources.plan.Plan`: proposed facilities and residential projects) is
checked against the rules the scenario selects (``policy.targets``, with its overrides), each at
its scope:

- the plan's own objects -- every proposed facility or project: ``village-center-150`` (through
  the gap finder's own check), ``town-complex-3000`` (centres the plan calls comprehensive),
  ``small-jingloyuan``, ``land-m2-per-bed`` (land given vs beds × the scenario's
  ``siting.land_m2_per_bed`` or the catalogue's planning value; checked whenever the scenario
  has a ``siting:`` section too), ``building-m2-per-bed``, ``residential-2permille`` (three
  verdicts a project: 2‰, 30 m² per 100 households, 300 m² a site) and ``community-800``;
- the plan's totals: ``new-beds``, ``land-quota-250mu`` (land of private institutions);
- the county after the plan (the register plus the plan, run through the pipeline again): every
  other rule the gap finder evaluates -- nursing-type share, beds, coverage, land per urban
  resident, ... -- with the figure before the plan alongside;
- every gap the gap finder found before the plan: closed (pass) or remaining (fail).

Two structural checks always apply, whatever the scenario selects: ``site-in-county`` and
``land-use-compatible`` (:mod:`carecircle.rules.landuse`).

A plan answers for what it changes. A county figure the plan leaves as it was (a plan of nursing
homes does not move the village circle) is reported with severity ``advisory``: the county's
state, not the plan's doing; so are the gaps of that rule. A figure the plan changes is judged
(``required``), and so are the remaining gaps of its rule. :attr:`PlanCheck.exit_code` is 1 when a
required verdict fails, else 0; not-assessable verdicts are listed and never fail.

``check_plan`` works on tables (two runs and the plan); ``review_plan`` runs the pipeline for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from carecircle import rules as policy
from carecircle.pipeline import Progress, RunResult, read_inputs, run_scenario
from carecircle.planning import gaps
from carecircle.planning.findings import Finding, finding
from carecircle.rules import MU_M2, Citation, Rule, land_use
from carecircle.scenario import Scenario
from carecircle.sources.plan import Plan, check_plan_fits

__all__ = [
    "LAND_USE_COMPATIBLE",
    "PLAN_EVALUATORS",
    "SITE_IN_COUNTY",
    "STRUCTURAL_RULES",
    "PlanCheck",
    "check_plan",
    "review_plan",
    "rule_of",
]

_YQ, _WZ = "yueqing-2020", "wenzhou-2020"

SITE_IN_COUNTY = Rule(
    id="site-in-county",
    title_zh="选址位于本县（市）域内",
    title_en="Site inside the county",
    description_zh="县（市）养老服务设施布局规划只安排本县（市）域内的用地。",
    description_en="A county's facility layout plan and its land supply cover its own territory "
    "only; a site outside the county boundary is not the county's to allocate.",
    scope="facility",
    kind="S",
    params={},
    citations=(
        Citation(_WZ, "第6项", "市、县（市）分级编制养老服务设施布局规划"),
        Citation(_YQ, "二(一)1", "完成全市养老设施布局规划修编"),
    ),
)

LAND_USE_COMPATIBLE = Rule(
    id="land-use-compatible",
    title_zh="用地性质可建设养老设施",
    title_en="Land use compatible with elderly care",
    description_zh="选址用地为社会福利用地、社区服务设施用地，或为文件允许改建的闲置公共服务用房、"
    "商业办公工业仓储存量房屋、闲置住宅、闲置存量土地；耕地、林地、水域等不得使用。",
    description_en="Sites stand on social-welfare or community-service land, or on the idle "
    "public buildings, commercial/office/industrial/storage stock, idle housing or idle land the "
    "documents allow to be converted; farmland, forest, water and the like are refused. Codes "
    "of the 用地用海分类 (see carecircle.rules.landuse).",
    scope="facility",
    kind="S",
    params={},
    citations=(
        Citation("land-use-guide", "—", "社会福利用地"),
        Citation(_YQ, "二(一)1", "利用校网调整后闲置的中小学校、医改后闲置的乡镇卫生院"),
        Citation(
            _YQ,
            "二(一)1",
            "对利用商业、办公、工业、仓储、教育、医疗存量房屋以及社区用房等举办养老机构",
        ),
        Citation(_YQ, "二(一)1", "鼓励利用闲置住宅改建养老机构"),
        Citation(_YQ, "二(二)6", "在农村利用闲置村办公楼、老年活动中心等进行改建或新建"),
        Citation(_YQ, "二(二)8", "鼓励村集体利用闲置存量土地建设养老机构"),
        Citation(_WZ, "第8项", "利用商业、办公、工业、仓储存量房屋以及社区用房等举办养老机构"),
    ),
)

STRUCTURAL_RULES: Mapping[str, Rule] = {r.id: r for r in (SITE_IN_COUNTY, LAND_USE_COMPATIBLE)}


def rule_of(rule_id: str) -> Rule:
    """A catalogue rule or one of the plan checker's structural rules."""
    return STRUCTURAL_RULES.get(rule_id) or policy.get_rule(rule_id)


@dataclass(frozen=True)
class PlanCheck:
    """Every verdict on a plan, and the figures before and after it."""

    plan: Plan
    verdicts: tuple[Finding, ...]
    summary: Mapping[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> tuple[Finding, ...]:
        """Verdicts that fail the plan (required ones; advisory failures are listed only)."""
        return tuple(v for v in self.verdicts if v.status == "fail" and v.severity == "required")

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


@dataclass(frozen=True)
class _Context:
    plan: Plan
    before: RunResult
    after: RunResult
    rules: Mapping[str, Rule]
    facilities: gpd.GeoDataFrame  # the plan's, in the run's CRS, with `township` names
    projects: gpd.GeoDataFrame

    @property
    def scenario(self) -> Scenario:
        return self.before.scenario


def review_plan(
    plan: Plan,
    scenario: Scenario,
    *,
    before: RunResult | None = None,
    progress: Progress | None = None,
) -> PlanCheck:
    """Run the scenario without and with the plan's facilities, then check the plan.

    Parameters
    ----------
    plan
        The plan under review (:func:`carecircle.sources.plan.read_plan`).
    scenario
        Its scenario: the data, the rules and their overrides.
    before
        A run of the same scenario already at hand (it is not run again).
    progress
        Called at each pipeline stage of both runs.

    Raises
    ------
    DataError
        When a site lies more than 50 km from the county or a facility id is already the
        register's (bad input, not a verdict).
    """
    # The runs score the county without and with the plan; the siting models (the slowest
    # stage) recommend sites and judge nothing here, so they are left out. The scenario itself,
    # siting section included (land per bed), still defines the rules.
    scoring = scenario.model_copy(update={"siting": None})
    inputs = read_inputs(scoring) if before is None or len(plan.facilities_for_run()) else None

    def run(extra: Any = None) -> RunResult:
        scored = run_scenario(scoring, extra_facilities=extra, progress=progress, inputs=inputs)
        return replace(scored, scenario=scenario)

    before = before if before is not None else run()
    check_plan_fits(plan, before.boundary, set(before.facilities["id"].astype(str)))
    extra = plan.facilities_for_run()
    after = run(extra) if len(extra) else before
    return check_plan(plan, before, after)


def check_plan(plan: Plan, before: RunResult, after: RunResult) -> PlanCheck:
    """Verdicts on ``plan`` from a run without it (``before``) and one with it (``after``).

    Every rule the scenario selects gives its verdicts (see the module docstring), then one per
    gap it found before the plan; the structural rules come first.
    """
    rules = policy.resolve(before.scenario.policy.targets)
    ctx = _Context(
        plan, before, after, rules, _located(plan.facilities, after), _located(plan.projects, after)
    )
    verdicts = [*_site_in_county(ctx), *_land_use(ctx)]
    for rule in _rules_to_check(ctx):
        evaluate = PLAN_EVALUATORS.get(rule.id)
        if evaluate is not None:
            verdicts.extend(evaluate(ctx, rule))
        elif rule.id in gaps.EVALUATORS:
            verdicts.extend(_after_plan(ctx, rule))
        else:
            verdicts.append(_not_checked(ctx, rule))
        verdicts.extend(_gap_closures(ctx, rule))
    return PlanCheck(plan, tuple(verdicts), _summary(ctx, verdicts))


def _rules_to_check(ctx: _Context) -> list[Rule]:
    """The scenario's rules, plus land per bed whenever the scenario plans sites with it."""
    rules = list(ctx.rules.values())
    if ctx.scenario.siting is not None and "land-m2-per-bed" not in ctx.rules:
        rules.append(policy.get_rule("land-m2-per-bed"))
    return rules


def _located(frame: gpd.GeoDataFrame, run: RunResult) -> gpd.GeoDataFrame:
    """The plan's rows in the run's CRS, with the name of the township each stands in."""
    out = frame.to_crs(run.crs)
    towns = run.townships
    hits = towns.sindex.query(out.geometry.to_numpy(), predicate="within")
    names = np.full(len(out), "", dtype=object)
    names[hits[0][::-1]] = towns["name"].to_numpy()[hits[1][::-1]]
    return out.assign(township=names)


# --- structural checks ---------------------------------------------------------------------------


def _plan_finding(rule: Rule, row: pd.Series, scope: str, **kw: Any) -> Finding:
    """A finding on one row of the plan, naming where the row is in the file."""
    detail = {"plan_row": f"{row['row_zh']} / {row['row_en']}", **kw.pop("detail", {})}
    return finding(
        rule,
        object_id=str(row["id"]),
        object_name=str(row["name"] or row["id"]),
        township=str(row["township"]),
        scope=scope,
        detail=detail,
        **kw,
    )


def _objects(ctx: _Context) -> Iterable[tuple[str, pd.Series]]:
    for scope, frame in (("facility", ctx.facilities), ("project", ctx.projects)):
        for _, row in frame.iterrows():
            yield scope, row


def _site_in_county(ctx: _Context) -> list[Finding]:
    area = shapely.union_all(ctx.before.boundary.geometry.to_numpy())
    out = []
    for scope, row in _objects(ctx):
        metres = float(shapely.distance(row.geometry, area))
        inside = metres <= 0.0
        out.append(
            _plan_finding(
                SITE_IN_COUNTY,
                row,
                scope,
                kind="site-location",
                measured=round(metres, 1),
                required=0.0,
                unit="m",
                passed=inside,
                higher_is_better=False,
                reason=("位于县域内", "inside the county")
                if inside
                else (
                    f"位于县界外 {metres:,.0f} 米",
                    f"{metres:,.0f} m outside the county boundary",
                ),
                action=("", "")
                if inside
                else ("在本县域内另行选址", "find a site inside the county"),
            )
        )
    return out


def _land_use(ctx: _Context) -> list[Finding]:
    out = []
    for _, row in ctx.facilities.iterrows():
        entry = land_use(row["land_use"]) if row["land_use"] else None
        if entry is None:
            out.append(
                _plan_finding(
                    LAND_USE_COMPATIBLE,
                    row,
                    "facility",
                    kind="land-use",
                    measured=None,
                    required=None,
                    unit="",
                    passed=None,
                    reason=(
                        "方案未填用地代码",
                        "the plan gives no land-use code; map a column to land_use",
                    ),
                )
            )
            continue
        label = f"{entry.code} {entry.name_zh}"
        out.append(
            _plan_finding(
                LAND_USE_COMPATIBLE,
                row,
                "facility",
                kind="land-use",
                measured=None,
                required=None,
                unit="",
                passed=entry.allowed,
                reason=(f"{label}：{entry.basis_zh}", f"{label}: {entry.basis_en}"),
                action=("", "")
                if entry.allowed
                else (
                    "改选社会福利用地（0807）等可用地块",
                    "choose a site on social-welfare land (0807) or another allowed use",
                ),
                detail={
                    "land_use": entry.code,
                    "land_use_name": entry.name_zh,
                    "host": entry.host,
                    "basis": entry.clause,
                },
            )
        )
    return out


# --- the plan's own objects ----------------------------------------------------------------------


def _at_least(measured: float, required: float) -> bool:
    return bool(np.isfinite(measured) and measured >= required - 1e-9)


def _land_per_bed(ctx: _Context, rule: Rule) -> list[Finding]:
    siting = ctx.scenario.siting
    per_bed = (
        siting.land_m2_per_bed
        if siting is not None and siting.land_m2_per_bed is not None
        else rule.value("planning")
    )
    out = []
    homes = gaps.residential(ctx.facilities)  # day-care beds of village centres excepted
    homes = homes[homes["beds"].fillna(0) > 0]
    for _, row in homes.iterrows():
        need, land = float(row["beds"]) * per_bed, float(row["land_m2"])
        known = bool(np.isfinite(land))
        out.append(
            _plan_finding(
                rule,
                row,
                "facility",
                kind="land-per-bed",
                measured=land if known else None,
                required=need,
                unit="m2",
                passed=_at_least(land, need) if known else None,
                reason=(
                    f"{row['beds']:,.0f} 张床位需用地 {need:,.0f} m²（每床 {per_bed:g} m²），方案给 {land:,.0f} m²",
                    f"{row['beds']:,.0f} beds need {need:,.0f} m² of land ({per_bed:g} m² a bed); the plan gives {land:,.0f} m²",
                )
                if known
                else ("方案未填用地面积", "the plan gives no land area (land_m2 or land_mu)"),
                action=("增加用地或减少床位", "add land or plan fewer beds"),
                detail={"m2_per_bed": per_bed},
            )
        )
    return out


def _floor_per_bed(ctx: _Context, rule: Rule) -> list[Finding]:
    per_bed = rule.value()
    homes = gaps.residential(ctx.facilities)  # day-care beds of village centres excepted
    homes = homes[homes["beds"].fillna(0) > 0]
    out = []
    for _, row in homes.iterrows():
        need, floor = float(row["beds"]) * per_bed, float(row["floor_m2"])
        known = bool(np.isfinite(floor))
        out.append(
            _plan_finding(
                rule,
                row,
                "facility",
                kind="floor-per-bed",
                measured=floor if known else None,
                required=need,
                unit="m2",
                passed=_at_least(floor, need) if known else None,
                severity="required" if rule.binding else "advisory",
                reason=(
                    f"建筑面积 {floor:,.0f} m²，{row['beds']:,.0f} 张床位需 {need:,.0f} m²",
                    f"{floor:,.0f} m² of floor for {row['beds']:,.0f} beds; {need:,.0f} m² needed",
                )
                if known
                else ("方案未填建筑面积", "the plan gives no floor area"),
            )
        )
    return out


def _comprehensive(ctx: _Context, rule: Rule) -> list[Finding]:
    target = rule.value()
    out = []
    for _, row in ctx.facilities[ctx.facilities["comprehensive"].astype(bool)].iterrows():
        floor = float(row["floor_m2"])
        known = bool(np.isfinite(floor))
        out.append(
            _plan_finding(
                rule,
                row,
                "facility",
                kind="comprehensive-centre",
                measured=floor if known else None,
                required=target,
                unit="m2",
                passed=_at_least(floor, target) if known else None,
                reason=(
                    f"综合型养老服务中心建筑面积 {floor:,.0f} m²",
                    f"comprehensive centre of {floor:,.0f} m²",
                )
                if known
                else ("方案未填建筑面积", "the plan gives no floor area"),
                action=(f"扩大至 {target:,.0f} m² 以上", f"enlarge it to {target:,.0f} m² or more"),
            )
        )
    return out


def _allocation(ctx: _Context, rule: Rule) -> list[Finding]:
    """Residential allocation: 2‰ of the floor area, 30 m² per 100 households, 300 m² a site."""
    out = []
    for _, row in ctx.projects.iterrows():
        given = float(row["elderly_floor_m2"])
        needs = {
            "project-permille": (
                float(row["gross_floor_m2"]) * rule.value("permille") / 1000,
                f"住宅总建筑面积 {row['gross_floor_m2']:,.0f} m² 的 {rule.value('permille'):g}‰",
                f"{rule.value('permille'):g}‰ of {row['gross_floor_m2']:,.0f} m² of housing",
            ),
            "project-per-households": (
                float(row["households"]) / 100 * rule.value("per_100_households_m2"),
                f"{row['households']:,.0f} 户 × 每百户 {rule.value('per_100_households_m2'):g} m²",
                f"{row['households']:,.0f} households at {rule.value('per_100_households_m2'):g} m² per 100",
            ),
            "project-min-site": (
                rule.value("min_site_m2"),
                "每处集中布置的下限",
                "the least for one site",
            ),
        }
        for kind, (need, why_zh, why_en) in needs.items():
            out.append(
                _plan_finding(
                    rule,
                    row,
                    "project",
                    kind=kind,
                    measured=given,
                    required=round(need, 2),
                    unit="m2",
                    passed=_at_least(given, need),
                    reason=(
                        f"配建养老用房 {given:,.0f} m²，应不低于 {need:,.0f} m²（{why_zh}）",
                        f"{given:,.0f} m² of care space; {need:,.0f} m² required ({why_en})",
                    ),
                    action=("增加配建养老服务用房", "allocate more care space"),
                )
            )
    return out


def _community_space(ctx: _Context, rule: Rule) -> list[Finding]:
    target = rule.value()
    out = []
    for _, row in ctx.projects[ctx.projects["community"].astype(bool)].iterrows():
        given = float(row["elderly_floor_m2"])
        out.append(
            _plan_finding(
                rule,
                row,
                "project",
                kind="community-space",
                measured=given,
                required=target,
                unit="m2",
                passed=_at_least(given, target),
                reason=(
                    f"社区级项目配建养老用房 {given:,.0f} m²",
                    f"community-level project with {given:,.0f} m² of care space",
                ),
                action=(f"配建不低于 {target:,.0f} m²", f"provide at least {target:,.0f} m²"),
            )
        )
    return out


# --- the plan's totals ---------------------------------------------------------------------------


def _plan_total(
    ctx: _Context, rule: Rule, kind: str, measured: float | None, unit: str, reason: tuple[str, str]
) -> Finding:
    """A county-scope verdict on a figure of the plan alone (nothing before it)."""
    target = rule.value()
    return finding(
        rule,
        kind=kind,
        object_id="plan",
        object_name=ctx.plan.path.name,
        measured=measured,
        required=target,
        unit=unit,
        passed=None if measured is None else _at_least(measured, target),
        reason=reason,
        scope="plan",
        # A plan that adds nothing of this kind does not answer for the county's target.
        severity="required" if measured else "advisory",
    )


def _new_beds(ctx: _Context, rule: Rule) -> list[Finding]:
    beds = float(ctx.facilities["beds"].fillna(0).sum())
    return [
        _plan_total(
            ctx,
            rule,
            "plan-new-beds",
            beds,
            "beds",
            (f"方案新增床位 {beds:,.0f} 张", f"the plan adds {beds:,.0f} beds"),
        )
    ]


def _land_quota(ctx: _Context, rule: Rule) -> list[Finding]:
    f = ctx.facilities
    if not (f["ownership"].astype(str) != "").any():
        return [
            _plan_total(
                ctx,
                rule,
                "plan-land-quota",
                None,
                "mu",
                (
                    "方案未填机构性质（公办/民办）",
                    "the plan gives no ownership (公办/民办); map a column to ownership",
                ),
            )
        ]
    private = gaps.is_private(f["ownership"]) & (f["beds"].fillna(0) > 0)
    mu = float(f.loc[private, "land_m2"].fillna(0).sum()) / MU_M2
    return [
        _plan_total(
            ctx,
            rule,
            "plan-land-quota",
            round(mu, 2),
            "mu",
            (f"民办养老机构用地 {mu:,.1f} 亩", f"{mu:,.1f} 亩 of land for private nursing homes"),
        )
    ]


Evaluator = Callable[[_Context, Rule], list[Finding]]

PLAN_EVALUATORS: Mapping[str, Evaluator] = {
    "land-m2-per-bed": _land_per_bed,
    "building-m2-per-bed": _floor_per_bed,
    "town-complex-3000": _comprehensive,
    "residential-2permille": _allocation,
    "community-800": _community_space,
    "new-beds": _new_beds,
    "land-quota-250mu": _land_quota,
}


# --- the county after the plan, and the gaps it closes -------------------------------------------


def _findings(run: RunResult, rule_id: str) -> list[Finding]:
    return [f for f in run.gaps.findings if f.rule_id == rule_id]


def _number(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _changed(before: float | None, after: float | None) -> bool:
    a, b = _number(before), _number(after)
    if a is None or b is None:
        return a is not b
    return abs(a - b) > 1e-9


def _after_plan(ctx: _Context, rule: Rule) -> list[Finding]:
    """The gap finder's verdicts with the plan in the register, judged where the plan changed them."""
    after = _findings(ctx.after, rule.id)
    if rule.scope == "facility":
        # Facility rules judge each facility: the plan's are its own (the register's gaps follow).
        rows = ctx.facilities.set_index("id")
        return [
            replace(
                f,
                detail={
                    **f.detail,
                    "plan_row": f"{rows.at[f.object_id, 'row_zh']} / {rows.at[f.object_id, 'row_en']}",
                },
            )
            for f in after
            if f.object_id in rows.index
        ]
    before = {f.kind: f for f in _findings(ctx.before, rule.id) if f.object_id == "county"}
    out = []
    for f in (f for f in after if f.object_id == "county"):
        was = before.get(f.kind)
        changed = _changed(was.measured if was else None, f.measured)
        judged = changed and f.severity == "required"
        note = (
            ("", "")
            if changed
            else ("（方案未改变此项）", " (the plan does not change this figure)")
        )
        out.append(
            replace(
                f,
                severity="required" if judged else "advisory",
                reason_zh=f"方案实施后：{f.reason_zh}{note[0]}",
                reason_en=f"after the plan: {f.reason_en}{note[1]}",
                detail={
                    **f.detail,
                    "before": was.measured if was else None,
                    "after": f.measured,
                    "changed_by_plan": changed,
                },
            )
        )
    return out


def _gap_closures(ctx: _Context, rule: Rule) -> list[Finding]:
    """One verdict per gap found before the plan: pass when the plan closes it."""
    found = [g for g in ctx.before.gaps.gaps if g.rule_id == rule.id]
    if not found:
        return []
    after = {f.object_id: f for f in _findings(ctx.after, rule.id) if f.object_id != "county"}
    county_before = next(
        (f for f in _findings(ctx.before, rule.id) if f.object_id == "county"), None
    )
    county_after = next((f for f in _findings(ctx.after, rule.id) if f.object_id == "county"), None)
    county_changed = rule.scope != "facility" and _changed(
        county_before.measured if county_before else None,
        county_after.measured if county_after else None,
    )
    out = []
    for gap in found:
        now = after.get(gap.object_id)
        if now is None:  # cannot happen: the same places are scored with and without the plan
            continue
        judged = gap.severity == "required" and (
            county_changed or _changed(gap.measured, now.measured)
        )
        closed = now.status != "fail"
        change = (
            f"（实施前 {_shown(gap.measured)}，实施后 {_shown(now.measured)}）",
            f" (before {_shown(gap.measured)}, after {_shown(now.measured)})",
        )
        out.append(
            replace(
                now,
                kind=gap.kind,
                severity="required" if judged else "advisory",
                reason_zh="缺口已由方案消除" + change[0]
                if closed
                else f"缺口仍在：{now.reason_zh}",
                reason_en="gap closed by the plan" + change[1]
                if closed
                else f"gap remains: {now.reason_en}",
                detail={
                    **now.detail,
                    "gap": "closed" if closed else "remains",
                    "before": gap.measured,
                    "after": now.measured,
                },
            )
        )
    return out


def _shown(value: float | None) -> str:
    return "—" if _number(value) is None else f"{value:,.4g}"


def _not_checked(ctx: _Context, rule: Rule) -> Finding:
    return finding(
        rule,
        kind="not-checked",
        object_id="plan",
        object_name=ctx.plan.path.name,
        measured=None,
        required=None,
        unit="",
        passed=None,
        scope="plan",
        reason=("方案审查不评估此规则", "the plan checker does not evaluate this rule"),
    )


def _summary(ctx: _Context, verdicts: list[Finding]) -> dict[str, Any]:
    """Counts, the plan's figures and the village circle before and after the plan."""
    closures = [v for v in verdicts if "gap" in v.detail]
    failed = [v for v in verdicts if v.status == "fail"]
    required = sum(1 for v in failed if v.severity == "required")
    f = ctx.plan.facilities
    return {
        "result": "fail" if required else "pass",
        "exit_code": 1 if required else 0,
        "counts": {
            "verdicts": len(verdicts),
            "pass": sum(1 for v in verdicts if v.status == "pass"),
            "fail_required": required,
            "fail_advisory": len(failed) - required,
            "not_assessable": sum(1 for v in verdicts if v.status == "not_assessable"),
        },
        "plan": {
            "file": ctx.plan.path.name,
            "facilities": len(f),
            "projects": len(ctx.plan.projects),
            "beds": float(f["beds"].fillna(0).sum()),
            "nursing_beds": float(f["nursing_beds"].fillna(0).sum()),
            "land_m2": float(f["land_m2"].fillna(0).sum()),
            "columns_not_in_file": list(ctx.plan.absent_columns),
        },
        "village_circle": {
            "minutes": ctx.before.summary["village_circle"]["minutes"],
            **{
                key: {
                    "share": run.summary["village_circle"]["share"],
                    "villages_without_centre": int(
                        (~run.villages["has_centre"].astype(bool)).sum()
                    ),
                }
                for key, run in (("before", ctx.before), ("after", ctx.after))
            },
        },
        "gaps": {
            "found": len(closures),
            "closed": sum(1 for v in closures if v.detail["gap"] == "closed"),
            "remaining": sum(1 for v in closures if v.detail["gap"] == "remains"),
        },
        # The county after the plan is scored on the same data as before: its warnings are the
        # data's, and they qualify every county verdict above.
        "data_quality": ctx.after.summary.get("data_quality", {"warnings": [], "banner": []}),
    }
