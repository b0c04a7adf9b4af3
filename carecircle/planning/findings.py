"""Findings: one checked rule on one object (a village, a township, a facility, the county, a plan).

The gap finder and the plan checker both speak in findings, so reports, maps and CSV files need
one writer. Every finding carries its rule id and the clause it comes from.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from carecircle.rules import Rule

__all__ = ["Finding", "Severity", "Status", "finding", "findings_table"]

Status = Literal["pass", "fail", "not_assessable"]
Severity = Literal["required", "advisory"]

STATUS_ZH: Mapping[str, str] = {"pass": "达标", "fail": "未达标", "not_assessable": "无法评估"}


@dataclass(frozen=True)
class Finding:
    """A rule checked on one object.

    ``measured`` and ``required`` are in ``unit``; ``shortfall`` is how far the object is from the
    target in the same unit (0 when it passes, None when not assessable). ``fragile`` marks a
    verdict that flips within the walking-speed band (0.8-1.2 m/s).
    """

    rule_id: str
    kind: str
    scope: str
    object_id: str
    object_name: str
    township: str
    measured: float | None
    required: float | None
    unit: str
    status: Status
    shortfall: float | None
    citation: str
    reason_zh: str
    reason_en: str
    action_zh: str = ""
    action_en: str = ""
    severity: Severity = "required"
    fragile: bool = False
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_gap(self) -> bool:
        return self.status == "fail"

    def row(self) -> dict[str, Any]:
        """A flat record for CSV and JSON (detail values spread into ``detail_*`` columns)."""
        out = asdict(self)
        detail = out.pop("detail")
        out["status_zh"] = STATUS_ZH[self.status]
        for key, value in sorted(detail.items()):
            out[f"detail_{key}"] = value
        return out


def finding(
    rule: Rule,
    *,
    kind: str,
    object_id: str,
    object_name: str,
    measured: float | None,
    required: float | None,
    unit: str,
    passed: bool | None,
    reason: tuple[str, str],
    township: str = "",
    scope: str | None = None,
    higher_is_better: bool = True,
    action: tuple[str, str] = ("", ""),
    severity: Severity = "required",
    fragile: bool = False,
    detail: Mapping[str, Any] | None = None,
) -> Finding:
    """Build a finding for ``rule``; ``passed=None`` means not assessable (reason says why)."""
    status: Status = "not_assessable" if passed is None else "pass" if passed else "fail"
    shortfall: float | None = None
    if passed is not None and measured is not None and required is not None:
        gap = (required - measured) if higher_is_better else (measured - required)
        shortfall = max(gap, 0.0) if math.isfinite(gap) else gap
    return Finding(
        rule_id=rule.id,
        kind=kind,
        scope=scope or rule.scope,
        object_id=object_id,
        object_name=object_name,
        township=township,
        measured=measured,
        required=required,
        unit=unit,
        status=status,
        shortfall=shortfall,
        citation=rule.cite(),
        reason_zh=reason[0],
        reason_en=reason[1],
        action_zh=action[0],
        action_en=action[1],
        severity=severity,
        fragile=fragile,
        detail=dict(detail or {}),
    )


def findings_table(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    """Rows with the same columns for every finding (missing detail columns left empty)."""
    rows = [f.row() for f in findings]
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    return [{c: row.get(c) for c in columns} for row in rows]
