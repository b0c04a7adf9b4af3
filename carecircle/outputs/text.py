"""Bilingual text for the pages the public reads: Chinese first, English one click away.

A map page holds every label in both languages, as ``<span class="cc-zh">`` and
``<span class="cc-en">`` (the ``bi`` macro of ``templates/map.html.j2``); a style rule shows one of
them, and the page's language button switches the rule. Reports show both side by side. Numbers
are formatted here once, so the map panel, the report, the workbook and the comparison page print
the same figure the same way. The HTML itself is written by the templates (``outputs/html.py``),
which escape every value: nothing here returns markup.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "MODES",
    "SERVICES",
    "SERVICE_WORDS",
    "STATUS",
    "TIERS",
    "UNITS",
    "amount",
    "count",
    "pct",
    "services_words",
    "tier_label",
]

# Units of rule targets: (Chinese, English) suffixes.
UNITS: dict[str, tuple[str, str]] = {
    "share": ("", ""),
    "m2": (" m²", " m²"),
    "beds": (" 张", " beds"),
    "count": ("", ""),
    "per_1000_older": (" 张/千名老人", " per 1,000 older"),
    "per_10000_older": (" /万名老人", " per 10,000 older"),
    "m2_per_person": (" m²/人", " m² per person"),
    "mu": (" 亩", " mu"),
}

# Verdict statuses: (Chinese, English).
STATUS: dict[str, tuple[str, str]] = {
    "pass": ("达标", "met"),
    "fail": ("未达标", "not met"),
    "not_assessable": ("无法评估", "not assessable"),
}


# The scored tiers and their travel modes: (Chinese, English).
TIERS: dict[str, tuple[str, str]] = {
    "village": ("村级照料中心", "village centres"),
    "township": ("乡镇（街道）养老服务中心", "township centres"),
    "regional": ("区域性养老服务中心与县级机构", "regional homes and county institutions"),
}
MODES: dict[str, tuple[str, str]] = {
    "walk": ("步行", "on foot"),
    "ebike": ("电动车", "by e-bike"),
    "drive": ("驾车", "by car"),
}
# Facility tiers as services of the circle: (Chinese, English).
SERVICES: dict[str, tuple[str, str]] = {
    "village": ("村（社区）照料中心、养老驿站", "village/community centres, 养老驿站"),
    "mutual_aid": ("农村幸福院、互助点", "幸福院 and mutual-aid points"),
    "meal": ("助餐点", "meal points"),
    "township": ("乡镇（街道）养老服务中心", "township centres"),
    "jingloyuan": ("敬老院", "敬老院"),
    "regional": ("区域性养老服务中心", "regional homes"),
    "county": ("县级公办养老机构", "county institutions"),
    "institution": ("养老机构", "nursing homes"),
}


# The same, as short words for a line of text.
SERVICE_WORDS: dict[str, tuple[str, str]] = {
    "village": ("照料中心", "care centre"),
    "mutual_aid": ("幸福院", "mutual-aid point"),
    "meal": ("助餐点", "meal point"),
    "township": ("乡镇中心", "township centre"),
    "jingloyuan": ("敬老院", "敬老院"),
    "regional": ("区域中心", "regional home"),
    "county": ("县级机构", "county institution"),
    "institution": ("养老机构", "nursing home"),
}


def services_words(services: Any) -> tuple[str, str]:
    """The services of the circle as a short phrase: ('照料中心、幸福院、助餐点或乡镇中心',
    'a care centre, mutual-aid point, meal point or township centre')."""
    words = [SERVICE_WORDS.get(str(x), (str(x), str(x))) for x in services or ()]
    if not words:
        return "照料中心", "a care centre"
    zh = [w[0] for w in words]
    en = [w[1] for w in words]
    if len(words) == 1:
        return zh[0], f"a {en[0]}"
    return "、".join(zh[:-1]) + "或" + zh[-1], "a " + ", ".join(en[:-1]) + " or " + en[-1]


def tier_label(tier: str, mode: str, minutes: float) -> tuple[str, str]:
    """A tier with its own mode and minutes: ('乡镇（街道）养老服务中心 电动车15分钟',
    'township centres, 15 min by e-bike')."""
    zh, en = TIERS.get(tier, (tier, tier))
    mzh, men = MODES.get(mode, (mode, mode))
    return f"{zh} {mzh}{minutes:g}分钟", f"{en}, {minutes:g} min {men}"


def _finite(value: Any) -> bool:
    return value is not None and isinstance(value, int | float) and math.isfinite(value)


def pct(value: Any) -> str:
    """A share as a percentage with one decimal: 0.7603 -> '76.0%'; '—' when unknown."""
    return f"{value * 100:.1f}%" if _finite(value) else "—"


def count(value: Any) -> str:
    """A whole number with thousands separators: 4180.7 -> '4,181'; '—' when unknown."""
    return f"{value:,.0f}" if _finite(value) else "—"


def amount(value: Any, unit: str, lang: str = "zh") -> str:
    """A measured or required figure as a reader wants it: shares in %, counts whole."""
    if not _finite(value):
        return "—"
    if unit == "share":
        return pct(value)
    suffix = UNITS.get(unit, (f" {unit}", f" {unit}"))[0 if lang == "zh" else 1]
    whole = abs(value) >= 100 or float(value).is_integer()
    return f"{value:,.{0 if whole else 2}f}{suffix}"
