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

__all__ = ["STATUS", "UNITS", "amount", "count", "pct"]

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
