"""The rule catalogue: every policy target of the seed documents as data, with its citation.

Each :class:`Rule` carries its numbers as named :class:`Param` values (with units), its scope and
kind (``S`` spatial, ``A`` attribute, ``R`` reported only, as in ``POLICY.md``) and one or more
:class:`Citation` objects that point at the clause *as the document itself numbers it* together
with a short verbatim quote, so every verdict can be traced back to the text.

Clause notation (ASCII parentheses, no spaces):

* ``一`` / ``二(二)6`` -- part 一、…; section （二）; item 6. (乐清, 闽清, 桐乡 number their items
  continuously across sections; the part and section are kept anyway so the clause can be found
  by reading down the document's own headings.)
* ``一1`` -- item 1 directly under part 一 (闽清 一、工作目标 1.服务网络更加健全).
* ``二(七)`` / ``四(二十一)2`` -- 乳山: part, section, sub-item.
* ``第4项`` -- row 4 (序号 4) of the 温州 annex table; ``附件第3项`` -- row 3 of 乐清's own annex.
* ``—`` -- the clause of a national standard that has not been checked against the official text.

The seed documents are the authority; where ``POLICY.md`` summarises a target differently the
seed text was followed and the difference is noted in a comment beside the rule (``# SEED:``).

Scope is the unit a rule is evaluated over: ``village`` (administrative village or urban
community), ``township`` (乡镇/街道), ``county`` (the whole county-level city), ``facility`` (one
institution, centre or site), ``project`` (one residential development) or ``plan`` (a figure of
the plan or of the model itself).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from types import MappingProxyType

from carecircle.rules import beds, circle, land, money, national, staff
from carecircle.rules.model import Rule

__all__ = [
    "CATALOGUE",
    "NATIONAL_RULES",
    "PLACES",
    "catalogue_table",
    "circle_minutes",
    "get_rule",
    "resolve",
]

# Places named by rules whose check needs them (spelled as in the seed text).
PLACES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        # 乐清 二(一)2: the four new regional 敬老院.
        "regional-homes": ("虹桥镇", "清江镇", "大荆镇", "城东街道"),
        # 乐清 二(二)6: large towns that add township-centre sub-centres.
        "town-subcenters": ("柳市", "北白象", "虹桥", "大荆"),
        # 乐清 二(一)2: the public township 敬老院 of 75 beds and more, to reach national level 2.
        # (The 2020 annex, 附件第4项, lists only 柳市、北白象、淡溪、白石 as the 4 retained homes;
        # 磐石's becomes part of the 磐石镇医养结合中心.)
        "small-jingloyuan": ("柳市", "北白象", "磐石", "淡溪", "白石"),
    }
)


_TABLES = (circle.RULES, beds.RULES, land.RULES, staff.RULES, money.RULES, national.RULES)

NATIONAL_RULES: tuple[str, ...] = tuple(r.id for r in national.RULES)

CATALOGUE: Mapping[str, Rule] = MappingProxyType({r.id: r for table in _TABLES for r in table})


def _check_catalogue() -> None:
    """Fail at import on a citation of an unknown document or a duplicate rule id."""
    if sum(len(table) for table in _TABLES) != len(CATALOGUE):
        raise ValueError("duplicate rule id in the catalogue")
    for rule in CATALOGUE.values():
        for citation in rule.citations:
            citation.document()


_check_catalogue()


# --- access ---------------------------------------------------------------------------------------


def get_rule(rule_id: str) -> Rule:
    """The catalogue rule ``rule_id``; a :class:`KeyError` suggests close matches."""
    try:
        return CATALOGUE[rule_id]
    except KeyError:
        close = difflib.get_close_matches(str(rule_id), list(CATALOGUE), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `carecircle rules`"
        raise KeyError(f"no rule {rule_id!r}{hint}") from None


def circle_minutes(targets: Mapping[str, float | Mapping[str, float] | None]) -> float:
    """The minutes the circle rule (circle-15min) is judged at: the catalogue's 15, or the
    scenario's override of the rule's ``minutes``; the village tier's threshold never decides."""
    rule = resolve(targets).get("circle-15min") or resolve({"circle-15min": None})["circle-15min"]
    return float(rule.value("minutes"))


def resolve(targets: Mapping[str, float | Mapping[str, float] | None]) -> dict[str, Rule]:
    """Catalogue rules with a scenario's overrides applied, keyed in the order given."""
    return {rule_id: get_rule(rule_id).with_values(value) for rule_id, value in targets.items()}


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def catalogue_table() -> list[dict[str, object]]:
    """One flat row per rule, for reports and ``carecircle rules``."""
    return [
        {
            "id": rule.id,
            "title_zh": rule.title_zh,
            "title_en": rule.title_en,
            "scope": rule.scope,
            "kind": rule.kind,
            "binding": rule.binding,
            "params": "; ".join(f"{n}={_fmt(p.value)} {p.unit}" for n, p in rule.params.items()),
            "citation": rule.cite(),
        }
        for rule in CATALOGUE.values()
    ]
