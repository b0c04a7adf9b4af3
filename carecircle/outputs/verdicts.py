"""A plan check's verdicts: verdicts.json, verdicts.csv and verdicts.html, written atomically."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from carecircle.outputs.files import clean_json, staged_dir, write_csv, write_json
from carecircle.outputs.html import render
from carecircle.planning.findings import findings_table
from carecircle.quality import mark_defaults
from carecircle.review import STRUCTURAL_RULES, PlanCheck, rule_of
from carecircle.scenario import Scenario

__all__ = ["VERDICT_FILES", "render_verdicts", "write_verdicts"]

VERDICT_FILES = ("verdicts.json", "verdicts.csv", "verdicts.html")

# Leading columns of verdicts.csv, in the order a bureau reads them; detail columns follow.
_COLUMNS = (
    "rule_id",
    "scope",
    "object_id",
    "object_name",
    "township",
    "measured",
    "required",
    "unit",
    "status",
    "status_zh",
    "severity",
    "citation",
    "reason_zh",
    "reason_en",
    "action_zh",
    "action_en",
    "kind",
    "shortfall",
)


def write_verdicts(check: PlanCheck, scenario: Scenario, out_dir: str | Path) -> dict[str, Path]:
    """Write the three verdict files into ``out_dir`` (all or none); return their paths."""
    out = Path(out_dir)
    rows = _rows(check, scenario)
    with staged_dir(out) as stage:
        write_json(stage / "verdicts.json", _document(check, scenario, rows))
        write_csv(stage / "verdicts.csv", rows, columns=_COLUMNS)
        (stage / "verdicts.html").write_text(render_verdicts(check, scenario), encoding="utf-8")
    return {name: out / name for name in VERDICT_FILES}


def _document(check: PlanCheck, scenario: Scenario, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "scenario": {"name": scenario.name, "title": scenario.title},
        **check.summary,
        "verdicts": rows,
    }


def render_verdicts(check: PlanCheck, scenario: Scenario) -> str:
    """The readable page: the result, then every rule with its clause and its verdicts."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in clean_json(_rows(check, scenario)):
        groups.setdefault(row["rule_id"], []).append(row)
    rules = [
        {
            "rule": rule_of(rule_id),
            "rows": rows,
            "failed": _failed(rows),
            "default": any(r.get("citation_default") for r in rows),
        }
        for rule_id, rows in groups.items()
    ]
    return render(
        "verdicts.html.j2",
        title=scenario.title or scenario.name,
        s=clean_json(dict(check.summary)),
        rules=rules,
    )


def _rows(check: PlanCheck, scenario: Scenario) -> list[dict[str, Any]]:
    """The verdict rows, their clauses marked where they are the catalogue's defaults."""
    rows = findings_table(check.verdicts)
    mark_defaults(rows, scenario, tuple(STRUCTURAL_RULES.values()))
    return rows


def _failed(rows: list[Mapping[str, Any]]) -> int:
    return sum(1 for r in rows if r["status"] == "fail" and r["severity"] == "required")
