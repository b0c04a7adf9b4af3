"""What is missing, where, how big, why, and which clause it breaks.

``find_gaps`` checks each rule the scenario picked against the scored villages, townships and
facilities. Every rule gives a county-level verdict (pass, fail or not assessable — with the reason
when data is missing, never silently skipped) and, where the rule applies to places, a finding per
village, township or facility. Failed findings are the gaps.

Inputs are plain tables (pandas), built by the pipeline from a run:

- villages: ``id, name, township, kind, older, older_covered, older_off_network, share,
  has_centre`` and ``share_<speed>mps`` for each walking speed of the band;
- townships: ``id, name, kind, area_km2, residents, older``;
- facilities: ``id, name, type, tier, village, in_township, floor_m2, beds, nursing_beds`` and,
  when the register has them, ``dementia_beds, land_m2, ownership, has_medical, social_workers,
  caregivers``;
- county: ``name, older, older_covered, older_off_network, share, share_by_walk_speed``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from carecircle.planning.findings import Finding, Severity, finding
from carecircle.rules import Rule
from carecircle.rules import ownership as ownership_words

__all__ = [
    "EVALUATED_ELSEWHERE",
    "EVALUATORS",
    "RULE_STATUS",
    "GapInputs",
    "GapReport",
    "RuleStatus",
    "find_gaps",
    "is_private",
    "residential",
    "with_siting",
]

INSTITUTION_TIERS = ("jingloyuan", "regional", "county", "institution")


def residential(facilities: pd.DataFrame) -> pd.DataFrame:
    """Facilities whose beds are residential care beds: 敬老院, regional homes, county and other
    institutions, and township centres that have beds. A village centre's beds are day-care
    beds (日间照料床位) and count for no nursing-home rule."""
    f = facilities
    return f[
        f["tier"].isin(INSTITUTION_TIERS) | ((f["tier"] == "township") & (f["beds"].fillna(0) > 0))
    ]


@dataclass(frozen=True)
class GapInputs:
    villages: pd.DataFrame
    townships: pd.DataFrame
    facilities: pd.DataFrame
    county: Mapping[str, Any]

    @property
    def county_name(self) -> str:
        return str(self.county.get("name", "全县 / county"))

    def township_name(self, township_id: str) -> str:
        names = dict(zip(self.townships["id"], self.townships["name"], strict=True))
        return str(names.get(township_id, ""))

    def institutions(self) -> pd.DataFrame:
        """Facilities with residential beds: see :func:`residential`."""
        return residential(self.facilities)


@dataclass(frozen=True)
class GapReport:
    findings: tuple[Finding, ...]
    counts: Mapping[str, Any] = field(default_factory=dict)

    @property
    def gaps(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status == "fail" and f.object_id != "county")

    @property
    def verdicts(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.object_id == "county")


Evaluator = Callable[[GapInputs, Rule], list[Finding]]


@dataclass(frozen=True)
class RuleStatus:
    """Where a rule without a gap-finder evaluator is judged, or why it cannot be from geodata.

    ``where``: ``check-plan`` (judged on an allocation plan's rows), ``siting`` (a constraint of
    the siting model), ``applied`` (a norm the run uses as an input, not a verdict) or
    ``not-evaluable`` (``needs`` says what input would make it evaluable).
    """

    where: str
    zh: str
    en: str
    needs_zh: str = ""
    needs_en: str = ""

    def reason(self) -> tuple[str, str]:
        if not self.needs_zh:
            return self.zh, self.en
        return f"{self.zh}；需要：{self.needs_zh}", f"{self.en}; needs {self.needs_en}"


_PLAN = (
    "由规划审查（carecircle check-plan）按方案逐项评估",
    "judged row by row on a plan by `carecircle check-plan`",
)
_SITING = (
    "由选址模型作为约束满足（scenario 的 siting:）",
    "met as a constraint of the siting model (the scenario's `siting:`)",
)
_MONEY = (
    "补助与运营资金规则：不是现状可核对的目标",
    "a subsidy or grant rule: not a target the mapped state can meet or miss",
)


def _not(zh: str, en: str, needs_zh: str, needs_en: str) -> RuleStatus:
    return RuleStatus(
        "not-evaluable",
        f"无法由现有数据评估：{zh}",
        f"not evaluable from the data: {en}",
        needs_zh,
        needs_en,
    )


# Every catalogue rule without an evaluator here says where it is judged, or why it is not
# (tests/test_rule_status.py holds the catalogue to it: no rule in neither, none in both).
RULE_STATUS: Mapping[str, RuleStatus] = {
    **{
        r: RuleStatus("check-plan", *_PLAN)
        for r in ("residential-2permille", "community-800", "building-m2-per-bed")
    },
    "new-beds": RuleStatus(
        "check-plan",
        "由规划审查按方案新增床位评估，选址模型按目标床位求解",
        "judged on a plan's new beds by `carecircle check-plan`; the siting model places the target's beds",
    ),
    "land-quota-250mu": RuleStatus(
        "check-plan",
        "由规划审查按方案用地评估，选址模型以其为用地上限",
        "judged on a plan's land by `carecircle check-plan`; the siting model keeps within it (`siting.land_quota_mu`)",
    ),
    "land-m2-per-bed": RuleStatus(
        "check-plan",
        "由规划审查按方案每床用地评估；选址模型按规划值 40 m²/床 计算用地",
        "judged on a plan's land per bed by `carecircle check-plan`; the siting model sizes land at the planning value",
    ),
    "rushan-zones": RuleStatus("siting", *_SITING),
    "walk-speed-older": RuleStatus(
        "applied",
        "作为运行的步行速度与敏感性区间采用（travel.walk_speed_mps、walk_speed_band）",
        "applied as the run's walking speed and its band (`travel.walk_speed_mps`, `walk_speed_band`)",
    ),
    "life-circle-tiers": RuleStatus(
        "applied",
        "居住区生活圈分级规模，作为参照，服务圈按 circle-15min 的分钟数评估",
        "the residential life-circle tiers, a reference; the circle is judged at circle-15min's minutes",
    ),
    **{
        r: _not(
            *_MONEY, "方案的建设与运营成本表（计划中：#24）", "the plan's cost table (planned: #24)"
        )
        for r in (
            "subsidy-nursing-bed",
            "subsidy-operation",
            "subsidy-town-center",
            "subsidy-embedded",
            "rural-operation",
            "village-center-rating",
        )
    },
    "medical-adjacency": _not(
        "医养结合需要医疗机构位置",
        "co-location with health care needs the health facilities' locations",
        "卫生院、社区卫生服务站、医院的图层（计划中：#24）",
        "a layer of health stations, township health centres and hospitals (planned: #24)",
    ),
    "embedded-30-100": _not(
        "嵌入式机构需要知道哪些机构由闲置用房改建",
        "embedded institutions need to know which were converted from idle buildings",
        "登记表的改建来源字段",
        "a register column saying what each institution was converted from",
    ),
    "adjacent-projects": _not(
        "相邻项目合并配置需要项目相邻关系与出入口",
        "pooling neighbouring projects' care space needs their adjacency and entrances",
        "住宅项目的地块与出入口",
        "the projects' parcels and entrances",
    ),
    "idle-assets": _not(
        "闲置资产需要候选地块的原用途",
        "idle assets need each candidate site's former use",
        "候选地块的闲置资产类型（学校、卫生院、机关、厂房、村委会）",
        "the candidates' idle-asset kind (school, township hospital, office, factory, village office)",
    ),
    "idle-admin-20": _not(
        "需要行政事业单位闲置用房清单及其用途",
        "needs the inventory of idle public buildings and their use",
        "闲置用房清单",
        "the idle public buildings' inventory",
    ),
    "conversion-1000": _not(
        "这是审批程序的简化规定，不是空间目标",
        "an approval-procedure exemption, not a spatial target",
        "改建项目的审批材料",
        "the conversion projects' approval files",
    ),
    "old-community-40": _not(
        "需要老旧小区社区服务用房的分项面积",
        "needs each old community's service floor space by use",
        "社区用房分项面积",
        "community floor space by use",
    ),
    "rushan-jingloyuan": _not(
        "需要敬老院的等级与入住人数",
        "needs each 敬老院's grade and residents",
        "登记表的等级、入住人数字段",
        "register columns for grade and residents",
    ),
}
# The old name: rules whose verdict comes from another stage.
EVALUATED_ELSEWHERE: Mapping[str, tuple[str, str]] = {
    rid: status.reason() for rid, status in RULE_STATUS.items() if status.where != "not-evaluable"
}


def find_gaps(inputs: GapInputs, rules: Mapping[str, Rule]) -> GapReport:
    """Check every rule in ``rules`` (already resolved with the scenario's overrides)."""
    findings: list[Finding] = []
    for rule in rules.values():
        evaluate = EVALUATORS.get(rule.id)
        if evaluate is not None:
            findings.extend(evaluate(inputs, rule))
        else:
            status = RULE_STATUS.get(rule.id)
            zh, en = (
                status.reason()
                if status is not None
                else ("暂无评估方法", "no evaluation for this rule yet")
            )
            kind = (
                "not-evaluable"
                if status is None or status.where == "not-evaluable"
                else "applied-as-input"
                if status.where == "applied"
                else f"judged-by-{status.where}"
            )
            findings.append(_county(inputs, rule, kind, None, None, "", None, (zh, en)))
    return GapReport(tuple(findings), _counts(inputs))


def with_siting(
    report: GapReport, rules: Mapping[str, Rule], homes: Mapping[str, Any]
) -> GapReport:
    """The report with ``new-beds`` judged on the recommendation (``homes``: the siting summary's
    ``regional_homes``) instead of "judged by the plan check": a run that sited the beds says
    whether they meet the document's target."""
    rule = rules.get("new-beds")
    if rule is None or "new_beds" not in homes:
        return report
    beds, target = float(homes["new_beds"]), rule.value()
    out = []
    for f in report.findings:
        if f.rule_id == "new-beds" and f.object_id == "county":
            f = finding(
                rule,
                kind="siting-new-beds",
                object_id="county",
                object_name=f.object_name,
                measured=beds,
                required=target,
                unit="beds",
                passed=_ge(beds, target),
                reason=(
                    f"推荐方案新增床位 {beds:,.0f} 张（选址目标 siting.new_beds）",
                    f"the recommendation adds {beds:,.0f} beds (the siting target siting.new_beds)",
                ),
                scope="county",
                action=(
                    "提高 siting.new_beds 或分期补足",
                    "raise siting.new_beds or add them in later phases",
                )
                if beds < target
                else ("", ""),
            )
        out.append(f)
    return GapReport(tuple(out), report.counts)


def _counts(inputs: GapInputs) -> dict[str, Any]:
    """The consistency figures: villages and older residents split without remainder."""
    v = inputs.villages
    c = inputs.county
    has_older = v["older"] > 0
    not_covered = int((has_older & (v["share"] < 1.0 - 1e-12)).sum())
    return {
        "villages": {
            "total": len(v),
            "covered": len(v) - not_covered,
            "not_covered": not_covered,
            "of_covered_without_older_residents": int((~has_older).sum()),
        },
        "older": {
            "total": float(c["older"]),
            "covered": float(c["older_covered"]),
            "not_covered": float(c["older"] - c["older_covered"] - c["older_off_network"]),
            "off_network": float(c["older_off_network"]),
        },
    }


# --- helpers -------------------------------------------------------------------------------------


def _county(
    inputs: GapInputs,
    rule: Rule,
    kind: str,
    measured: float | None,
    required: float | None,
    unit: str,
    passed: bool | None,
    reason: tuple[str, str],
    **kw: Any,
) -> Finding:
    return finding(
        rule,
        kind=kind,
        object_id="county",
        object_name=inputs.county_name,
        measured=measured,
        required=required,
        unit=unit,
        passed=passed,
        reason=reason,
        scope="county",
        **kw,
    )


def _missing(inputs: GapInputs, rule: Rule, columns: Sequence[str]) -> list[Finding] | None:
    """A not-assessable verdict when the facility register lacks the columns a rule needs."""
    absent = [
        c
        for c in columns
        if c not in inputs.facilities.columns or inputs.facilities[c].isna().all()
    ]
    if not absent:
        return None
    names = ", ".join(absent)
    reason = (
        f"设施登记表缺少字段 {names}",
        f"the facility register has no {names} column; map it in the scenario",
    )
    return [_county(inputs, rule, "missing-input", None, None, "", None, reason)]


def _share(part: float, whole: float) -> float:
    return part / whole if whole else float("nan")


def _ge(measured: float, required: float) -> bool:
    return bool(np.isfinite(measured) and measured >= required - 1e-9)


def _speed_verdicts(shares: Mapping[str, float], target: float) -> dict[str, bool]:
    return {speed: _ge(share, target) for speed, share in shares.items()}


# --- service circle and coverage ------------------------------------------------------------------


# Fewer older residents than this outside a village's circle round to none: the village passes.
_HALF_PERSON = 0.5


def _circle(inputs: GapInputs, rule: Rule) -> list[Finding]:
    """The circle at the rule's own minutes: the pipeline scores villages and the county at them,
    never at whatever threshold the village tier has (that figure is kept apart)."""
    target = rule.value("coverage")
    minutes = f"{rule.value('minutes'):g}"
    c = inputs.county
    band = {k: float(v) for k, v in c.get("share_by_walk_speed", {}).items()}
    verdicts = _speed_verdicts(band, target)
    outside = float(c["older"]) - float(c["older_covered"])
    out = [
        _county(
            inputs,
            rule,
            "circle-share",
            float(c["share"]),
            target,
            "share",
            _ge(float(c["share"]), target),
            (
                f"{outside:,.0f} 名老年人不在{minutes}分钟服务圈内",
                f"{outside:,.0f} older residents are outside the {minutes}-minute circle",
            ),
            fragile=len(set(verdicts.values())) > 1,
            detail={f"share_{k}mps": v for k, v in band.items()},
        )
    ]
    v_all = inputs.villages
    speed_cols = [col for col in v_all.columns if col.startswith("share_") and col.endswith("mps")]
    for _, v in v_all[v_all["older"] > 0].iterrows():
        covered, share = float(v["older_covered"]), float(v["share"])
        missing = float(v["older"]) - covered
        by_speed = {
            col.removeprefix("share_").removesuffix("mps"): float(v[col]) for col in speed_cols
        }
        flips = len(set(_speed_verdicts(by_speed, target).values())) > 1
        reason = _village_reason(v, missing, minutes)
        out.append(
            finding(
                rule,
                kind="village-not-covered",
                object_id=str(v["id"]),
                object_name=str(v["name"]),
                township=inputs.township_name(str(v["township"])),
                measured=share,
                required=target,
                unit="share",
                # Below half a resident outside is a raster's fraction of a person, not a gap a
                # reviewer can act on ("0 older residents are more than 15 minutes away").
                passed=_ge(share, target) or (target >= 1.0 and missing < _HALF_PERSON),
                reason=reason,
                fragile=flips,
                detail={
                    "older_not_covered": round(missing, 1),
                    **{f"share_{k}mps": s for k, s in by_speed.items()},
                },
            )
        )
    return out


def _village_reason(v: pd.Series, missing: float, minutes: str = "15") -> tuple[str, str]:
    """Why a village's older residents are outside the circle; off-network causes first, since
    then the likely fault is the map, not the service."""
    off = float(v.get("older_off_network", 0.0) or 0.0)
    centre_off = bool(v.get("centre_off_network", False))
    if centre_off:
        return (
            f"本村照料中心距已测绘道路过远（可能是道路未测绘），{missing:,.0f} 名老年人无法计入{minutes}分钟服务圈",
            f"the village's care centre is off the mapped road network (its roads are probably unmapped); "
            f"{missing:,.0f} older residents cannot be counted within {minutes} minutes",
        )
    if off >= 0.5 * missing and off > 0:
        return (
            f"{off:,.0f} 名老年人距已测绘道路过远（道路可能未测绘），共 {missing:,.0f} 名不在{minutes}分钟服务圈内",
            f"{off:,.0f} older residents live off the mapped road network (the roads there are probably "
            f"unmapped); {missing:,.0f} in all are outside the {minutes}-minute circle",
        )
    if not bool(v["has_centre"]):
        return (
            f"本村无照料中心，{missing:,.0f} 名老年人{minutes}分钟内到不了任何中心",
            f"no centre in the village; {missing:,.0f} older residents cannot reach any centre in {minutes} minutes",
        )
    return (
        f"有照料中心，但 {missing:,.0f} 名老年人步行超过{minutes}分钟",
        f"the village has a centre but {missing:,.0f} older residents are more than {minutes} minutes' walk away",
    )


def _village_centres(inputs: GapInputs, rule: Rule) -> list[Finding]:
    target = rule.value()
    v = inputs.villages
    share = _share(float(v["has_centre"].sum()), len(v))
    out = [
        _county(
            inputs,
            rule,
            "village-centre-coverage",
            share,
            target,
            "share",
            _ge(share, target),
            (
                f"{int((~v['has_centre']).sum())} 个村（社区）没有照料中心",
                f"{int((~v['has_centre']).sum())} villages/communities have no care centre",
            ),
        )
    ]
    for _, row in v.iterrows():
        out.append(
            finding(
                rule,
                kind="village-no-centre",
                object_id=str(row["id"]),
                object_name=str(row["name"]),
                township=inputs.township_name(str(row["township"])),
                measured=float(bool(row["has_centre"])),
                required=1.0,
                unit="count",
                passed=bool(row["has_centre"]),
                reason=(
                    "本村（社区）没有居家养老服务照料中心",
                    "no home-care centre in this village/community",
                ),
                action=("新建或利用闲置用房设立照料中心", "build one or convert an idle building"),
            )
        )
    return out


def _centre_floor(inputs: GapInputs, rule: Rule) -> list[Finding]:
    target = rule.value()
    centres = inputs.facilities[inputs.facilities["tier"] == "village"]
    out = []
    for _, f in centres.iterrows():
        floor = float(f["floor_m2"])
        known = bool(np.isfinite(floor))
        out.append(
            finding(
                rule,
                kind="centre-small",
                object_id=str(f["id"]),
                object_name=str(f["name"]),
                township=inputs.township_name(str(f["in_township"])),
                measured=floor if known else None,
                required=target,
                unit="m2",
                passed=floor >= target if known else None,
                reason=(
                    f"建筑面积 {floor:,.0f} m²，低于 {target:,.0f} m²",
                    f"floor area {floor:,.0f} m², under {target:,.0f} m²",
                )
                if known and floor < target
                else (f"建筑面积 {floor:,.0f} m²", f"floor area {floor:,.0f} m²")
                if known
                else ("登记表未填建筑面积", "the register gives no floor area"),
                action=("扩建或迁建", "expand or relocate")
                if not known or floor < target
                else ("", ""),
            )
        )
    small = sum(1 for f in out if f.status == "fail")
    unknown = sum(1 for f in out if f.status == "not_assessable")
    verdict = _county(
        inputs,
        rule,
        "centres-small",
        float(small),
        0.0,
        "count",
        small == 0,
        (
            f"{small} 个照料中心不足 {target:,.0f} m²（{unknown} 个未填面积）",
            f"{small} centres are under {target:,.0f} m² ({unknown} without a floor area)",
        ),
        higher_is_better=False,
    )
    return [verdict, *out]


def _township_centres(inputs: GapInputs, rule: Rule) -> list[Finding]:
    target = rule.value()
    t = inputs.townships
    have = set(inputs.facilities.loc[inputs.facilities["tier"] == "township", "in_township"])
    has = t["id"].isin(have).to_numpy()
    # A township with no older residents in the study area (a sliver the area clips, an
    # uninhabited strip) is not judged: it would count as a gap nobody could close.
    populated = (
        (t["older"].to_numpy(dtype=float) > 0) if "older" in t.columns else np.ones(len(t), bool)
    )
    share = _share(float((has & populated).sum()), int(populated.sum()))
    lacking = int((~has & populated).sum())
    out = [
        _county(
            inputs,
            rule,
            "township-centre-coverage",
            share,
            target,
            "share",
            _ge(share, target),
            (
                f"{lacking} 个乡镇（街道）没有养老服务中心",
                f"{lacking} townships have no elderly service centre",
            ),
        )
    ]
    for (_, row), ok, lived in zip(t.iterrows(), has, populated, strict=True):
        if not lived and not ok:
            out.append(
                finding(
                    rule,
                    kind="township-no-centre",
                    object_id=str(row["id"]),
                    object_name=str(row["name"]),
                    township=str(row["name"]),
                    measured=None,
                    required=1.0,
                    unit="count",
                    passed=None,
                    reason=(
                        "研究区内本乡镇（街道）没有老年人口，不评估",
                        "no older residents of this township lie in the study area; not judged",
                    ),
                )
            )
            continue
        out.append(
            finding(
                rule,
                kind="township-no-centre",
                object_id=str(row["id"]),
                object_name=str(row["name"]),
                township=str(row["name"]),
                measured=float(ok),
                required=1.0,
                unit="count",
                passed=bool(ok),
                reason=(
                    "本乡镇（街道）没有养老服务中心",
                    "no elderly service centre in this township",
                ),
                action=(
                    "建设乡镇（街道）居家养老服务中心",
                    "build a township home-care service centre",
                ),
            )
        )
    return out


def _subcentres(inputs: GapInputs, rule: Rule) -> list[Finding]:
    area, residents = rule.value("min_area_km2"), rule.value("min_residents")
    t = inputs.townships
    counts = inputs.facilities[inputs.facilities["tier"] == "township"][
        "in_township"
    ].value_counts()
    out = []
    for _, row in t[(t["area_km2"] >= area) & (t["residents"] >= residents)].iterrows():
        n = int(counts.get(row["id"], 0))
        out.append(
            finding(
                rule,
                kind="township-needs-subcentre",
                object_id=str(row["id"]),
                object_name=str(row["name"]),
                township=str(row["name"]),
                measured=float(n),
                required=2.0,
                unit="count",
                passed=n >= 2,
                reason=(
                    f"面积 {row['area_km2']:,.0f} km²、常住人口 {row['residents']:,.0f}，现有中心 {n} 个",
                    f"{row['area_km2']:,.0f} km² and {row['residents']:,.0f} residents with {n} centre(s)",
                ),
                action=("按区域和人口增建分中心", "add a sub-centre by area and population"),
            )
        )
    short = sum(1 for f in out if f.status == "fail")
    verdict = _county(
        inputs,
        rule,
        "subcentres",
        float(short),
        0.0,
        "count",
        short == 0,
        (
            f"{len(out)} 个大乡镇中 {short} 个缺分中心",
            f"{short} of {len(out)} large townships lack a sub-centre",
        ),
        higher_is_better=False,
    )
    return [verdict, *out]


def _complex_3000(inputs: GapInputs, rule: Rule) -> list[Finding]:
    """Advisory: the document encourages (鼓励) one comprehensive ≥3000 m² centre per township."""
    target = rule.value()
    centres = inputs.facilities[inputs.facilities["tier"] == "township"]
    largest = centres.groupby("in_township")["floor_m2"].max()
    out = []
    for _, row in inputs.townships.iterrows():
        floor = float(largest.get(row["id"], float("nan")))
        known = bool(np.isfinite(floor))
        out.append(
            finding(
                rule,
                kind="township-centre-under-3000",
                object_id=str(row["id"]),
                object_name=str(row["name"]),
                township=str(row["name"]),
                measured=floor if known else 0.0,
                required=target,
                unit="m2",
                passed=known and floor >= target,
                severity="advisory",
                reason=(
                    f"最大的乡镇中心 {floor:,.0f} m²" if known else "没有乡镇中心",
                    f"largest township centre {floor:,.0f} m²" if known else "no township centre",
                ),
            )
        )
    short = sum(1 for f in out if f.status == "fail")
    verdict = _county(
        inputs,
        rule,
        "complex-3000",
        float(short),
        0.0,
        "count",
        short == 0,
        (
            f"{short} 个乡镇没有3000 m²以上综合中心",
            f"{short} townships lack a centre of {target:,.0f} m²",
        ),
        higher_is_better=False,
        severity="advisory",
    )
    return [verdict, *out]


def _jingloyuan(inputs: GapInputs, rule: Rule) -> list[Finding]:
    limit = rule.value("min_beds")
    homes = inputs.facilities[inputs.facilities["tier"] == "jingloyuan"]
    out = []
    for _, f in homes.iterrows():
        beds = float(f["beds"])
        small = bool(np.isfinite(beds) and beds < limit)
        out.append(
            finding(
                rule,
                kind="jingloyuan-convert" if small else "jingloyuan-upgrade",
                object_id=str(f["id"]),
                object_name=str(f["name"]),
                township=inputs.township_name(str(f["in_township"])),
                measured=beds,
                required=limit,
                unit="beds",
                passed=not small if np.isfinite(beds) else None,
                reason=(
                    f"床位 {beds:,.0f} 张，不足 {limit:,.0f} 张",
                    f"{beds:,.0f} beds, under {limit:,.0f}",
                )
                if small
                else (f"床位 {beds:,.0f} 张", f"{beds:,.0f} beds"),
                action=("整改并向社会开放（转型）", "rectify and open to the public (convert)")
                if small
                else ("提升至国家二级标准", "upgrade to national level 2"),
            )
        )
    n_small = sum(1 for f in out if f.kind == "jingloyuan-convert")
    verdict = _county(
        inputs,
        rule,
        "jingloyuan",
        float(n_small),
        0.0,
        "count",
        n_small == 0,
        (
            f"{n_small} 所敬老院不足 {limit:,.0f} 张床位，需整改",
            f"{n_small} 敬老院 have under {limit:,.0f} beds and must be rectified",
        ),
        higher_is_better=False,
    )
    return [verdict, *out]


def _mutual_aid(inputs: GapInputs, rule: Rule) -> list[Finding]:
    target = rule.value()
    rural = inputs.villages[inputs.villages["kind"] != "社区"]
    have = set(inputs.facilities.loc[inputs.facilities["tier"] == "mutual_aid", "village"])
    share = _share(float(rural["id"].isin(have).sum()), len(rural))
    return [
        _county(
            inputs,
            rule,
            "mutual-aid-coverage",
            share,
            target,
            "share",
            _ge(share, target),
            (
                f"{len(rural)} 个行政村中 {int(rural['id'].isin(have).sum())} 个有互助点或幸福院",
                f"{int(rural['id'].isin(have).sum())} of {len(rural)} rural villages have a mutual-aid point or 幸福院",
            ),
        )
    ]


# --- beds and institutions ------------------------------------------------------------------------


def _nursing_share(inputs: GapInputs, rule: Rule) -> list[Finding]:
    target = rule.value()
    inst = inputs.institutions()
    beds, nursing = float(inst["beds"].fillna(0).sum()), float(inst["nursing_beds"].fillna(0).sum())
    if beds == 0 or inst["nursing_beds"].isna().all():
        return [
            _county(
                inputs,
                rule,
                "nursing-share",
                None,
                target,
                "share",
                None,
                ("没有床位或护理型床位数据", "no bed or nursing-bed figures in the register"),
            )
        ]
    share = nursing / beds
    return [
        _county(
            inputs,
            rule,
            "nursing-share",
            share,
            target,
            "share",
            _ge(share, target),
            (
                f"护理型床位 {nursing:,.0f} / 总床位 {beds:,.0f}",
                f"{nursing:,.0f} nursing beds of {beds:,.0f}",
            ),
            detail={
                "beds": beds,
                "nursing_beds": nursing,
                "nursing_beds_needed": max(target * beds - nursing, 0.0),
            },
        )
    ]


def _beds_per_1000(inputs: GapInputs, rule: Rule) -> list[Finding]:
    """The county's beds per 1,000 older residents, then each township's and village's beds
    within the regional tier's reach ("机构跟着老人走": 2SFCA, ``beds_per_1000_older``), when
    the run measured them."""
    target = rule.value()
    beds = float(inputs.institutions()["beds"].fillna(0).sum())
    older = float(inputs.county["older"])
    rate = beds / older * 1000 if older else float("nan")
    severity: Severity = "required" if rule.binding else "advisory"
    out = [
        _county(
            inputs,
            rule,
            "beds-per-1000",
            rate,
            target,
            "per_1000_older",
            _ge(rate, target),
            (
                f"{beds:,.0f} 张床位 / {older:,.0f} 名老年人",
                f"{beds:,.0f} beds for {older:,.0f} older residents",
            ),
            severity=severity,
            detail={"beds": beds, "beds_needed": max(target * older / 1000 - beds, 0.0)},
        )
    ]
    reach = inputs.county.get("regional_reach") or {}
    minutes = f"{float(reach.get('minutes', 30)):g}"
    mode_zh = {"walk": "步行", "ebike": "电动车", "drive": "车程"}.get(reach.get("mode", ""), "")
    mode_en = {"walk": "walk", "ebike": "e-bike ride", "drive": "drive"}.get(
        reach.get("mode", ""), "trip"
    )
    for scope, frame in (("township", inputs.townships), ("village", inputs.villages)):
        if "beds_per_1000_older" not in frame.columns:
            continue
        for _, place in frame[frame["older"] > 0].iterrows():
            value = float(place["beds_per_1000_older"])
            people = float(place["older"])
            township = (
                str(place["name"])
                if scope == "township"
                else inputs.township_name(str(place["township"]))
            )
            out.append(
                finding(
                    rule,
                    kind="beds-per-1000-reach",
                    scope=scope,
                    object_id=str(place["id"]),
                    object_name=str(place["name"]),
                    township=township,
                    measured=value,
                    required=target,
                    unit="per_1000_older",
                    passed=_ge(value, target),
                    reason=_bed_reason(place, value, people, minutes, (mode_zh, mode_en)),
                    action=(
                        "在其车程范围内增设或扩建养老机构床位",
                        "add nursing-home beds within its reach",
                    )
                    if value < target
                    else ("", ""),
                    severity=severity,
                    detail={
                        "beds_allotted": round(float(place["beds_allotted"]), 1),
                        # Whole beds: the beds the place would need for the norm.
                        "beds_short": math.ceil(
                            max(target * people / 1000 - place["beds_allotted"], 0.0) - 1e-9
                        ),
                    },
                )
            )
    return out


def _bed_reason(
    place: pd.Series, value: float, people: float, minutes: str, mode: tuple[str, str]
) -> tuple[str, str]:
    """Beds within reach per 1,000 older residents, and why none when none: off the mapped
    roads first (then the likely fault is the map), else no home within the tier's reach."""
    off = float(place.get("older_off_network", 0.0) or 0.0)
    zh = f"{minutes}分钟{mode[0]}内可用床位折合每千名老年人 {value:,.1f} 张（{people:,.0f} 名老年人）"
    en = (
        f"{value:,.1f} beds per 1,000 older residents within a {minutes}-minute {mode[1]} "
        f"({people:,.0f} older residents)"
    )
    if value > 0:
        return zh, en
    if off >= 0.5 * people:
        return (
            zh + f"：其中 {off:,.0f} 人距已测绘道路过远，道路可能未测绘",
            en + f": {off:,.0f} of them live off the mapped roads (probably unmapped)",
        )
    return (
        zh + f"：{minutes}分钟{mode[0]}内没有任何养老机构",
        en + f": no nursing home lies within a {minutes}-minute {mode[1]}",
    )


def _county_public(inputs: GapInputs, rule: Rule) -> list[Finding]:
    need, size = rule.value("institutions"), rule.value("min_beds")
    f = inputs.facilities
    big = f[(f["tier"] == "county") & (f["beds"].fillna(0) >= size)]
    return [
        _county(
            inputs,
            rule,
            "county-public-200",
            float(len(big)),
            need,
            "count",
            len(big) >= need,
            (
                f"{len(big)} 所县级公办机构达到 {size:,.0f} 张床位",
                f"{len(big)} county public institutions with {size:,.0f}+ beds",
            ),
        )
    ]


def _regional(inputs: GapInputs, rule: Rule) -> list[Finding]:
    homes, total = rule.value("homes"), rule.value("total_beds")
    regional = inputs.facilities[inputs.facilities["tier"] == "regional"]
    beds = float(regional["beds"].fillna(0).sum())
    ok = len(regional) >= homes and beds >= total
    return [
        _county(
            inputs,
            rule,
            "regional-homes",
            float(len(regional)),
            homes,
            "count",
            ok,
            (
                f"现有区域性养老服务中心 {len(regional)} 所、{beds:,.0f} 张床位；目标 {homes:g} 所、{total:,.0f} 张",
                f"{len(regional)} regional homes with {beds:,.0f} beds; target {homes:g} homes, {total:,.0f} beds",
            ),
            detail={"beds": beds, "beds_target": total, "beds_short": max(total - beds, 0.0)},
        )
    ]


def _dementia_beds(inputs: GapInputs, rule: Rule) -> list[Finding]:
    missing = _missing(inputs, rule, ["dementia_beds"])
    if missing:
        return missing
    target = rule.value()
    beds = float(inputs.facilities["dementia_beds"].fillna(0).sum())
    rate = beds / float(inputs.county["older"]) * 10000
    return [
        _county(
            inputs,
            rule,
            "dementia-beds",
            rate,
            target,
            "per_10000_older",
            _ge(rate, target),
            (f"认知障碍床位 {beds:,.0f} 张", f"{beds:,.0f} dementia beds"),
        )
    ]


def _dementia_zone(inputs: GapInputs, rule: Rule) -> list[Finding]:
    missing = _missing(inputs, rule, ["dementia_beds"])
    if missing:
        return missing
    n = int((inputs.facilities["dementia_beds"].fillna(0) > 0).sum())
    return [
        _county(
            inputs,
            rule,
            "dementia-zone",
            float(n),
            rule.value(),
            "count",
            n >= rule.value(),
            (f"{n} 所机构设有认知障碍照护床位", f"{n} institutions with dementia beds"),
        )
    ]


def _private_share(inputs: GapInputs, rule: Rule) -> list[Finding]:
    missing = _missing(inputs, rule, ["ownership"])
    if missing:
        return missing
    inst = inputs.institutions()
    private = is_private(inst["ownership"])
    out = []
    for param, measured in (
        ("institutions", _share(float(private.sum()), len(inst))),
        (
            "beds",
            _share(
                float(inst.loc[private, "beds"].fillna(0).sum()),
                float(inst["beds"].fillna(0).sum()),
            ),
        ),
    ):
        target = rule.value(param)
        out.append(
            _county(
                inputs,
                rule,
                f"private-share-{param}",
                measured,
                target,
                "share",
                _ge(measured, target),
                (f"民营{param}占比 {measured:.1%}", f"private share of {param}: {measured:.1%}"),
            )
        )
    return out


def is_private(ownership: pd.Series) -> pd.Series:
    """True where an ownership value (公办/民办, ...) names a private operator
    (:mod:`carecircle.rules.ownership`; unknown values were refused on reading)."""
    return pd.Series(ownership_words.is_private(ownership), index=ownership.index, dtype=bool)


def _medical(inputs: GapInputs, rule: Rule) -> list[Finding]:
    missing = _missing(inputs, rule, ["has_medical"])
    if missing:
        return missing
    inst = inputs.institutions()
    big = inst[inst["beds"].fillna(0) >= rule.value("min_beds")]
    yes = big["has_medical"].astype(str).str.lower().isin({"1", "true", "yes", "是", "有"})
    share = _share(float(yes.sum()), len(big))
    target = rule.value("share")
    return [
        _county(
            inputs,
            rule,
            "medical-100",
            share,
            target,
            "share",
            _ge(share, target),
            (
                f"{len(big)} 所百床以上机构中 {int(yes.sum())} 所内设医疗机构",
                f"{int(yes.sum())} of {len(big)} institutions with 100+ beds have a medical unit",
            ),
        )
    ]


def _land_per_capita(inputs: GapInputs, rule: Rule) -> list[Finding]:
    missing = _missing(inputs, rule, ["land_m2"])
    if missing:
        return missing
    urban = float(inputs.townships.loc[inputs.townships["kind"] == "街道", "residents"].sum())
    if urban == 0:
        return [
            _county(
                inputs,
                rule,
                "land-per-capita",
                None,
                rule.value(),
                "m2_per_person",
                None,
                ("无街道（城镇）人口", "no urban (街道) residents to divide by"),
            )
        ]
    land = float(inputs.facilities["land_m2"].fillna(0).sum())
    rate = land / urban
    return [
        _county(
            inputs,
            rule,
            "land-per-capita",
            rate,
            rule.value(),
            "m2_per_person",
            _ge(rate, rule.value()),
            (
                f"养老设施用地 {land:,.0f} m² / 城镇人口 {urban:,.0f}",
                f"{land:,.0f} m² of land for {urban:,.0f} urban residents",
            ),
        )
    ]


def _staff(inputs: GapInputs, rule: Rule) -> list[Finding]:
    missing = _missing(inputs, rule, ["social_workers"])
    if missing:
        return missing
    workers = float(inputs.facilities["social_workers"].fillna(0).sum())
    needed = _workers_needed(
        rule, float(inputs.institutions()["beds"].fillna(0).sum()), float(inputs.county["older"])
    )
    return [
        _county(
            inputs,
            rule,
            "social-workers",
            workers,
            needed,
            "count",
            _ge(workers, needed),
            (
                f"社会工作者 {workers:,.0f} 名，需 {needed:,.0f} 名",
                f"{workers:,.0f} social workers, {needed:,.0f} needed",
            ),
        )
    ]


def _workers_needed(rule: Rule, beds: float, older: float) -> float:
    if rule.id == "sw-per-beds-60":
        return beds / rule.value()
    if rule.id == "sw-per-elderly-500":
        return older / rule.value()
    if rule.id == "sw-minqing":
        return max(older / rule.value("older_per_worker"), beds / rule.value("beds_per_worker"))
    return older / 10000 * rule.value("social_workers")  # sw-tongxiang


def _minqing(inputs: GapInputs, rule: Rule) -> list[Finding]:
    f, v, t = inputs.facilities, inputs.villages, inputs.townships
    by_tier = {tier: set(f.loc[f["tier"] == tier, "village"]) for tier in ("village", "mutual_aid")}
    towns_with = set(f.loc[f["tier"] == "township", "in_township"])
    communities, villages = v[v["kind"] == "社区"], v[v["kind"] != "社区"]
    measures = {
        "town_centres": _share(float(t["id"].isin(towns_with).sum()), len(t)),
        "community_stations": _share(
            float(communities["id"].isin(by_tier["village"]).sum()), len(communities)
        ),
        "happiness_homes": _share(
            float(villages["id"].isin(by_tier["mutual_aid"]).sum()), len(villages)
        ),
        "regional_centres": float((f["tier"] == "regional").sum()),
    }
    out = []
    for name, measured in measures.items():
        target = rule.value(name)
        unit = "count" if name == "regional_centres" else "share"
        out.append(
            _county(
                inputs,
                rule,
                f"minqing-{name}",
                measured,
                target,
                unit,
                _ge(measured, target),
                (
                    f"{rule.params[name].name_zh}：{measured:.3g}",
                    f"{rule.params[name].name_en}: {measured:.3g}",
                ),
            )
        )
    return out


def _rushan(inputs: GapInputs, rule: Rule) -> list[Finding]:
    f, v, t = inputs.facilities, inputs.villages, inputs.townships
    streets = t[t["kind"] == "街道"]
    communities = v[v["kind"] == "社区"]
    measures = {
        "street_institutions": _share(
            float(streets["id"].isin(set(f.loc[f["tier"] == "township", "in_township"])).sum()),
            len(streets),
        ),
        "day_care_centres": _share(
            float(communities["id"].isin(set(f.loc[f["tier"] == "village", "village"])).sum()),
            len(communities),
        ),
    }
    return [
        _county(
            inputs,
            rule,
            f"rushan-{name}",
            m,
            rule.value(name),
            "share",
            _ge(m, rule.value(name)),
            (f"{rule.params[name].name_zh}：{m:.1%}", f"{rule.params[name].name_en}: {m:.1%}"),
        )
        for name, m in measures.items()
    ]


def _meal_points(inputs: GapInputs, rule: Rule) -> list[Finding]:
    n = float((inputs.facilities["tier"] == "meal").sum())
    return [
        _county(
            inputs,
            rule,
            "meal-points",
            n,
            rule.value(),
            "count",
            n >= rule.value(),
            (f"助餐服务场所 {n:,.0f} 个", f"{n:,.0f} meal-service sites"),
        )
    ]


EVALUATORS: Mapping[str, Evaluator] = {
    "circle-15min": _circle,
    "village-center-coverage": _village_centres,
    "village-center-150": _centre_floor,
    "town-center-coverage": _township_centres,
    "town-subcenters": _subcentres,
    "town-complex-3000": _complex_3000,
    "small-jingloyuan": _jingloyuan,
    "mutual-aid-coverage": _mutual_aid,
    "minqing-coverage": _minqing,
    "rushan-coverage": _rushan,
    "meal-points": _meal_points,
    "nursing-share-55": _nursing_share,
    "nursing-share-60": _nursing_share,
    "nursing-share-51": _nursing_share,
    "nursing-share-national": _nursing_share,
    "beds-per-1000-older": _beds_per_1000,
    "county-public-200": _county_public,
    "regional-homes": _regional,
    "dementia-beds": _dementia_beds,
    "dementia-zone": _dementia_zone,
    "private-share": _private_share,
    "medical-100": _medical,
    "land-per-capita": _land_per_capita,
    "sw-per-beds-60": _staff,
    "sw-per-elderly-500": _staff,
    "sw-minqing": _staff,
    "sw-tongxiang": _staff,
}
