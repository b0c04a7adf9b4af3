"""Every catalogue rule is judged somewhere, or says why it cannot be: never a silent
"not assessable" that reads as "checked elsewhere"."""

from __future__ import annotations

from pathlib import Path

import pytest
import tiny_county
from test_plancheck import VIOLATING_FACILITIES, VIOLATING_PROJECTS, write_csv

from carecircle.pipeline import run_scenario
from carecircle.planning.gaps import EVALUATORS, RULE_STATUS
from carecircle.review import review_plan
from carecircle.rules.catalogue import CATALOGUE
from carecircle.scenario import load_scenario
from carecircle.sources.plan import read_plan


def test_every_rule_has_an_evaluator_or_a_status_and_never_both() -> None:
    evaluated, placed = set(EVALUATORS), set(RULE_STATUS)
    assert not evaluated & placed
    assert set(CATALOGUE) == evaluated | placed, sorted(set(CATALOGUE) - evaluated - placed)
    for rule_id, status in RULE_STATUS.items():
        assert status.where in {"check-plan", "siting", "applied", "not-evaluable"}, rule_id
        zh, en = status.reason()
        assert zh and en
        if status.where == "not-evaluable":
            assert status.needs_zh and status.needs_en, (
                f"{rule_id}: say what would make it evaluable"
            )


def test_a_run_says_where_each_rule_is_judged(tmp_path: Path) -> None:
    targets = {rule_id: None for rule_id in RULE_STATUS}
    run = run_scenario(load_scenario(tiny_county.build(tmp_path, targets=targets)))
    verdicts = {v["rule_id"]: v for v in run.summary["verdicts"]}
    assert set(verdicts) == set(RULE_STATUS)
    for rule_id, status in RULE_STATUS.items():
        v = verdicts[rule_id]
        assert v["status"] == "not_assessable"
        assert v["kind"] == {"not-evaluable": "not-evaluable", "applied": "applied-as-input"}.get(
            status.where, f"judged-by-{status.where}"
        )
    medical = verdicts["medical-adjacency"]
    assert medical["reason_en"].startswith("not evaluable from the data")
    assert "health" in medical["reason_en"]


@pytest.mark.parametrize("rule_id", [r for r, s in RULE_STATUS.items() if s.where == "check-plan"])
def test_rules_said_to_be_judged_by_the_plan_check_are(rule_id: str, tmp_path: Path) -> None:
    targets = {"circle-15min": None, rule_id: None}
    path = tiny_county.build(tmp_path, targets=targets)
    scenario = load_scenario(path)
    plan = read_plan(write_csv(tmp_path, VIOLATING_FACILITIES, VIOLATING_PROJECTS), scenario)
    check = review_plan(plan, scenario, before=run_scenario(scenario))
    judged = [v for v in check.verdicts if v.rule_id == rule_id]
    assert judged and any(v.status in {"pass", "fail"} for v in judged), rule_id


def test_a_run_that_sites_the_beds_judges_the_bed_target(demo_root: Path, tmp_path: Path) -> None:
    import yaml

    raw = yaml.safe_load((demo_root / "scenarios" / "demo.yaml").read_text(encoding="utf-8"))
    raw["policy"]["targets"] = {"new-beds": 800}
    for sited, status in ((600, "fail"), (800, "pass")):
        raw["siting"]["new_beds"] = sited
        path = demo_root / "scenarios" / f"beds-{sited}.yaml"
        path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        run = run_scenario(load_scenario(path))
        verdict = next(v for v in run.summary["verdicts"] if v["rule_id"] == "new-beds")
        # The siting places exactly the beds asked for: 600 fall short of 800, 800 meet it.
        assert verdict["kind"] == "siting-new-beds" and verdict["measured"] == sited
        assert verdict["status"] == status and verdict["required"] == 800
