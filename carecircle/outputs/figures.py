"""Headline figures against their targets, the same on the map panel, the report and the workbook.

Each figure is read from the run's summary (the verdicts of ``summary["verdicts"]``) so that every
page shows what ``summary.json`` says; counts that the summary holds only as shares (villages with
a centre) are counted from the run's tables, which the shares were computed from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from carecircle.outputs.text import MODES, SERVICES, amount, count, pct, services_words, tier_label
from carecircle.outputs.text import TIERS as TIER_TEXT
from carecircle.pipeline import RunResult
from carecircle.planning.gaps import residential

__all__ = ["Headline", "headlines", "site_totals", "tier_rows", "verdict_rows"]

CIRCLE_RULES = ("circle-15min", "rushan-coverage", "minqing-coverage")


@dataclass(frozen=True)
class Headline:
    """One figure of the panel: what was measured, the target, and whether it is met.

    ``value`` and ``target`` are display text; ``status`` is a verdict status (pass, fail,
    not_assessable) or None for a figure without a target.
    """

    key: str
    label_zh: str
    label_en: str
    value: str
    target: str | None = None
    status: str | None = None
    detail_zh: str = ""
    detail_en: str = ""
    rule_id: str = ""
    citation: str = ""
    number: float | None = None
    unit: str = ""


def headlines(result: RunResult) -> list[Headline]:
    """The panel's figures, most important first."""
    s = result.summary
    verdicts = {str(v.get("rule_id")): v for v in s.get("verdicts", [])}
    out = [_circle(s, verdicts)]
    out.append(
        _centres(
            "villages",
            ("有照料中心的村（社区）", "villages with a care centre"),
            verdicts.get("village-center-coverage"),
            result.villages,
        )
    )
    out.append(
        _centres(
            "townships",
            ("有养老服务中心的乡镇（街道）", "townships with a service centre"),
            verdicts.get("town-center-coverage"),
            result.townships,
        )
    )
    out.extend(_tiers(s))
    nursing = next((v for k, v in verdicts.items() if k.startswith("nursing-share")), None)
    out.append(_nursing(nursing, result.facilities))
    if "beds-per-1000-older" in verdicts:
        out.append(
            _from_verdict(
                "beds", ("每千名老人床位", "beds per 1,000 older"), verdicts["beds-per-1000-older"]
            )
        )
    circle = s["village_circle"]
    not_covered = circle["older"] - circle["older_covered"]
    items = s.get("gaps", {}).get("items", [])
    places = len({(g.get("scope"), g.get("object_id")) for g in items})
    out.append(
        Headline(
            "uncovered",
            "未覆盖的老年人",
            "older residents not covered",
            count(not_covered),
            number=not_covered,
            unit="count",
        )
    )
    out.append(
        Headline(
            "gaps",
            "缺口（项）",
            "gaps found",
            count(len(items)),
            detail_zh=f"涉及 {places} 处村（社区）、乡镇或设施",
            detail_en=f"at {places} villages, townships or facilities",
            number=float(len(items)),
            unit="count",
        )
    )
    sites = site_totals(result)
    if sites is not None:
        demand = result.summary.get("demand") or {}
        year = demand.get("horizon_year") if demand.get("source", "none") != "none" else None
        when_zh = f"（按 {year} 年需求）" if year else ""
        when_en = f" (for {year}'s demand)" if year else ""
        centres = result.summary.get("siting", {}).get("village_centres") or {}
        curve = centres.get("curve") or []
        # Nursing homes (beds) and village day-care centres are different things: never one sum.
        out.append(
            Headline(
                "sites",
                f"推荐新建、扩建养老机构{when_zh}",
                f"recommended nursing homes (new or expanded){when_en}",
                count(sites["homes"]),
                detail_zh=f"床位 {count(sites['beds'])} 张，用地 {amount(sites['land_mu'], 'count')} 亩",
                detail_en=f"{count(sites['beds'])} beds on {amount(sites['land_mu'], 'count')} mu",
                number=sites["homes"],
                unit="count",
            )
        )
        out.append(
            Headline(
                "centres",
                f"推荐新增村级照料中心{when_zh}",
                f"recommended new village day-care centres{when_en}",
                count(sites["centres"]),
                detail_zh=_centre_detail(curve, centres, "zh"),
                detail_en=_centre_detail(curve, centres, "en"),
                number=sites["centres"],
                unit="count",
            )
        )
    return out


def _tiers(s: Mapping[str, Any]) -> list[Headline]:
    """The township and regional tiers at their own mode and minutes, and the beds within the
    regional tier's reach per 1,000 older residents against the catalogue's norm."""
    out = []
    equity = s.get("equity", {})
    for name in ("township", "regional"):
        tier = s.get("tiers", {}).get(name)
        if not tier:
            continue
        zh, en = tier_label(name, tier["mode"], float(tier["minutes"]))
        spread = equity.get(f"{name}_tier", {}).get("townships", {})
        worst = spread.get("worst") or []
        detail_zh = f"{count(tier['older_covered'])} / {count(tier['older'])} 名老人"
        detail_en = f"{count(tier['older_covered'])} of {count(tier['older'])} older residents"
        if worst:  # the name in Chinese only: the English page carries no Chinese but 敬老院
            detail_zh += f"；最低 {worst[0]['name']} {pct(worst[0]['value'])}"
            detail_en += f"; lowest township {pct(worst[0]['value'])}"
        out.append(
            Headline(
                f"tier-{name}",
                zh,
                en,
                pct(tier["share"]),
                detail_zh=detail_zh,
                detail_en=detail_en,
                number=float(tier["share"]),
                unit="share",
            )
        )
    regional = s.get("tiers", {}).get("regional") or {}
    beds = equity.get("beds_per_1000_older")
    if "beds_per_1000_older" in regional and beds:
        rate = float(regional["beds_per_1000_older"])
        target = float(beds["target"])
        towns = beds.get("townships", {})
        out.append(
            Headline(
                "beds-reach",
                f"{regional['minutes']:g}分钟车程内每千名老人床位",
                f"beds within {regional['minutes']:g} min per 1,000 older",
                amount(rate, "count"),
                amount(target, "count"),
                # The norm (GB 50437, 40 per 1,000) is judged here whether or not the scenario
                # lists the rule; the rule decides only whether places below it are gaps.
                "pass" if rate >= target else "fail",
                f"来自 {count(regional.get('bed_sites'))} 处有床位的养老机构（含敬老院）；"
                f"{count(towns.get('meeting_target'))} / {count(towns.get('places'))} 个乡镇达到标准",
                f"beds of {count(regional.get('bed_sites'))} homes with beds (敬老院 included); "
                f"{count(towns.get('meeting_target'))} of {count(towns.get('places'))} townships meet the norm",
                number=rate,
                unit="per_1000_older",
            )
        )
    return out


def _centre_detail(curve: list[Any], centres: Mapping[str, Any], lang: str) -> str:
    """What the recommended centres bring: the circle's share before and after them."""
    if not curve:
        return ""
    n = min(int(centres.get("new_centres") or 0), len(curve) - 1)
    before, after = curve[0].get("share"), curve[n].get("share")
    if before is None or after is None:
        return ""
    if lang == "zh":
        return f"服务圈覆盖 {before * 100:.1f}% → {after * 100:.1f}%"
    return f"circle {before * 100:.1f} % → {after * 100:.1f} %"


def _circle(s: Mapping[str, Any], verdicts: Mapping[str, Mapping[str, Any]]) -> Headline:
    """The circle at its rule's own minutes; the village tier's figure alongside when the tier
    uses other minutes (``summary.tiers.village``)."""
    circle = s["village_circle"]
    tier = s.get("tiers", {}).get("village", {})
    verdict = next((verdicts[r] for r in CIRCLE_RULES if r in verdicts), None)
    required = verdict.get("required") if verdict else None
    target = 1.0 if required is None else float(required)
    status = verdict["status"] if verdict else ("pass" if circle["share"] >= target else "fail")
    minutes = f"{circle['minutes']:g}"
    what_zh, what_en = services_words(circle.get("services") or ["village"])
    detail_zh = f"{count(circle['older_covered'])} / {count(circle['older'])} 名60岁及以上老人步行{minutes}分钟内可达{what_zh}"
    detail_en = f"{count(circle['older_covered'])} of {count(circle['older'])} residents aged 60+ within {minutes} min walk of {what_en}"
    if tier and not tier.get("same_as_circle", True):
        detail_zh += f"；村级设施圈（{tier['minutes']:g} 分钟）{pct(tier['share'])}"
        detail_en += f"; village tier ({tier['minutes']:g} min) {pct(tier['share'])}"
    return Headline(
        "circle",
        f"{minutes}分钟养老服务圈覆盖率",
        f"{minutes}-minute elderly-service circle",
        pct(circle["share"]),
        pct(target),
        status,
        detail_zh,
        detail_en,
        verdict["rule_id"] if verdict else "",
        verdict.get("citation", "") if verdict else "",
        float(circle["share"]),
        "share",
    )


def _centres(
    key: str, label: tuple[str, str], verdict: Mapping[str, Any] | None, frame: pd.DataFrame
) -> Headline:
    judged = frame
    if key == "townships" and "older" in frame.columns:
        judged = frame[frame["older"] > 0]  # as the rule judges them (gaps._township_centres)
    n, total = int(judged["has_centre"].sum()), len(judged)
    detail = f"{n} / {total}"
    if len(judged) < len(frame):
        detail += f" (+{len(frame) - len(judged)} 无老年人口 / with no older residents)"
    if verdict is None:
        share = n / total if total else float("nan")
        return Headline(
            key, *label, pct(share), detail_zh=detail, detail_en=detail, number=share, unit="share"
        )
    return _from_verdict(key, label, verdict, detail=(detail, detail))


def _nursing(verdict: Mapping[str, Any] | None, facilities: pd.DataFrame) -> Headline:
    label = ("护理型床位占比", "nursing beds, share of all beds")
    homes = residential(facilities)  # the beds the rule counts: no day-care beds
    beds = float(np.nansum(homes["beds"].to_numpy(dtype=float)))
    nursing = float(np.nansum(homes["nursing_beds"].to_numpy(dtype=float)))
    detail = (
        f"护理型 {count(nursing)} / 总床位 {count(beds)} 张",
        f"{count(nursing)} of {count(beds)} beds",
    )
    if verdict is None:
        share = nursing / beds if beds else None
        return Headline(
            "nursing", *label, pct(share), None, None, *detail, number=share, unit="share"
        )
    return _from_verdict("nursing", label, verdict, detail=detail)


def _from_verdict(
    key: str,
    label: tuple[str, str],
    verdict: Mapping[str, Any],
    *,
    detail: tuple[str, str] = ("", ""),
) -> Headline:
    unit = str(verdict.get("unit", ""))
    return Headline(
        key,
        *label,
        amount(verdict.get("measured"), unit),
        amount(verdict.get("required"), unit),
        str(verdict.get("status")),
        *detail,
        rule_id=str(verdict.get("rule_id", "")),
        citation=str(verdict.get("citation", "")),
        number=verdict.get("measured"),
        unit=unit,
    )


def verdict_rows(summary: Mapping[str, Any]) -> list[dict[str, str]]:
    """Every checked rule as display text: rule, measured, target, status (zh, en), clause."""
    rows = []
    for v in summary.get("verdicts", []):
        unit = str(v.get("unit", ""))
        rows.append(
            {
                "rule_id": str(v.get("rule_id", "")),
                "measured_zh": amount(v.get("measured"), unit, "zh"),
                "measured_en": amount(v.get("measured"), unit, "en"),
                "required_zh": amount(v.get("required"), unit, "zh"),
                "required_en": amount(v.get("required"), unit, "en"),
                "status": str(v.get("status", "")),
                "reason_zh": str(v.get("reason_zh", "")),
                "reason_en": str(v.get("reason_en", "")),
                "citation": str(v.get("citation", "")),
            }
        )
    return rows


def site_totals(result: RunResult) -> dict[str, float] | None:
    """Recommended nursing homes (new and expanded: count, beds, land in 亩) and new village
    centres (count), or None without a siting result."""
    siting = getattr(result, "siting", None)
    sites = getattr(siting, "sites", None)
    if sites is None:
        return None
    centre = (
        (sites["kind"].astype(str) == "village-centre").to_numpy()
        if len(sites)
        else np.zeros(0, bool)
    )
    homes = sites[~centre] if len(sites) else sites
    return {
        "homes": float(len(homes)),
        "centres": float(centre.sum()),
        "beds": float(np.nansum(homes["beds"].to_numpy(dtype=float))) if len(homes) else 0.0,
        "land_mu": float(np.nansum(homes["land_mu"].to_numpy(dtype=float))) if len(homes) else 0.0,
    }


def tier_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The circle, then each tier at its own mode and minutes, with how its figure spreads over
    townships and villages (``summary.equity``): one row each for the report and the workbook."""
    equity = summary.get("equity", {})
    circle = summary["village_circle"]
    rows = [
        {
            "key": "circle",
            "label_zh": f"{circle['minutes']:g}分钟养老服务圈",
            "label_en": f"{circle['minutes']:g}-minute circle",
            "mode_zh": f"{MODES.get(circle['mode'], ('', ''))[0]}{circle['minutes']:g}分钟",
            "mode_en": f"{circle['minutes']:g} min {MODES.get(circle['mode'], ('', ''))[1]}",
            "services": circle.get("services", []),
            "sites": None,
            "older": circle["older"],
            "older_covered": circle["older_covered"],
            "share": circle["share"],
            "equity": equity.get("circle", {}),
        }
    ]
    for name, tier in summary.get("tiers", {}).items():
        zh, en = TIER_TEXT.get(name, (name, name))
        mode_zh, mode_en = MODES.get(tier["mode"], (tier["mode"], tier["mode"]))
        rows.append(
            {
                "key": name,
                "label_zh": zh,
                "label_en": en,
                "mode_zh": f"{mode_zh}{tier['minutes']:g}分钟",
                "mode_en": f"{tier['minutes']:g} min {mode_en}",
                "services": tier.get("services", []),
                "sites": tier.get("sites"),
                "older": tier["older"],
                "older_covered": tier["older_covered"],
                "share": tier["share"],
                "equity": equity.get(f"{name}_tier", {}),
            }
        )
    for row in rows:
        row["services_zh"] = "、".join(SERVICES.get(x, (x, x))[0] for x in row["services"])
        row["services_en"] = ", ".join(SERVICES.get(x, (x, x))[1] for x in row["services"])
    return rows
