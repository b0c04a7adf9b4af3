"""The gap finder on a hand-built county whose gaps are known in advance (see tiny_county.py)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import geopandas as gpd
import pytest
import tiny_county
from click.testing import CliRunner

from carecircle.cli import main
from carecircle.pipeline import RunResult, run_scenario
from carecircle.planning import policy
from carecircle.quality import DEFAULT_MARK
from carecircle.scenario import load_scenario

TARGETS = {
    "circle-15min": None,
    "village-center-coverage": None,
    "village-center-150": None,
    "town-center-coverage": None,
    "small-jingloyuan": None,
    "nursing-share-55": None,
    "county-public-200": None,
    "dementia-beds": None,
    "new-beds": None,
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunResult]:
    scenario = tiny_county.build(tmp_path_factory.mktemp("tiny"), targets=dict(TARGETS))
    return scenario, run_scenario(load_scenario(scenario))


def gaps_of(result: RunResult, kind: str) -> set[str]:
    return {g.object_name for g in result.gaps.gaps if g.kind == kind}


def test_each_gap_type_finds_exactly_the_planted_ones(tiny: tuple[Path, RunResult]) -> None:
    _, result = tiny
    assert gaps_of(result, "village-no-centre") == {"乙村"}
    assert gaps_of(result, "village-not-covered") == {"乙村", "丁村", "戊村"}
    assert gaps_of(result, "centre-small") == {"丙村居家养老服务照料中心"}
    assert gaps_of(result, "township-no-centre") == {"西镇"}
    assert gaps_of(result, "jingloyuan-convert") == {"东镇敬老院"}
    kinds = {g.kind for g in result.gaps.gaps}
    assert kinds == {
        "village-no-centre",
        "village-not-covered",
        "centre-small",
        "township-no-centre",
        "jingloyuan-convert",
    }


def test_measures_shortfalls_and_reasons(tiny: tuple[Path, RunResult]) -> None:
    _, result = tiny
    by = {(g.kind, g.object_name): g for g in result.gaps.findings}
    small = by[("centre-small", "丙村居家养老服务照料中心")]
    assert (small.measured, small.required, small.shortfall, small.unit) == (
        120.0,
        150.0,
        30.0,
        "m2",
    )
    far = by[("village-not-covered", "丁村")]
    assert far.measured == 0.0 and far.detail["older_not_covered"] == pytest.approx(30.0)
    assert "有照料中心" in far.reason_zh and not far.fragile
    # 戊村: half its older residents are 16.7 minutes away at 1.0 m/s but 13.9 at 1.2 m/s.
    half = by[("village-not-covered", "戊村")]
    assert half.measured == pytest.approx(0.5) and half.fragile
    assert half.detail["share_1.2mps"] == pytest.approx(1.0)
    convert = by[("jingloyuan-convert", "东镇敬老院")]
    assert (convert.measured, convert.shortfall) == (60.0, 15.0) and "整改" in convert.action_zh
    upgrade = by[("jingloyuan-upgrade", "西镇敬老院")]
    assert upgrade.status == "pass" and "二级" in upgrade.action_zh
    assert by[("township-no-centre", "西镇")].township == "西镇"
    assert by[("village-no-centre", "乙村")].township == "东镇"


def test_county_verdicts(tiny: tuple[Path, RunResult]) -> None:
    _, result = tiny
    verdicts = {v.rule_id: v for v in result.gaps.verdicts}
    assert set(verdicts) == set(TARGETS)
    assert verdicts["circle-15min"].measured == pytest.approx(0.5)
    assert verdicts["circle-15min"].status == "fail"
    assert verdicts["village-center-coverage"].measured == pytest.approx(0.8)
    assert verdicts["nursing-share-55"].measured == pytest.approx(68 / 180)
    assert verdicts["nursing-share-55"].detail["nursing_beds_needed"] == pytest.approx(
        0.55 * 180 - 68
    )
    assert verdicts["county-public-200"].status == "fail"
    # Data the register does not have, and rules checked by the siting model, are reported, not dropped.
    assert (
        verdicts["dementia-beds"].status == "not_assessable"
        and "dementia_beds" in verdicts["dementia-beds"].reason_en
    )
    assert verdicts["new-beds"].status == "not_assessable"
    for v in verdicts.values():
        assert v.citation == policy.get_rule(v.rule_id).cite()


def test_figures_add_up(tiny: tuple[Path, RunResult]) -> None:
    _, result = tiny
    counts = result.gaps.counts
    assert (
        counts["villages"]["covered"] + counts["villages"]["not_covered"]
        == counts["villages"]["total"]
        == 5
    )
    assert counts["villages"]["not_covered"] == 3
    older = counts["older"]
    assert older["covered"] + older["not_covered"] + older["off_network"] == pytest.approx(
        older["total"]
    )

    assert older["total"] == pytest.approx(180.0) and older["covered"] == pytest.approx(90.0)


def test_outputs_carry_rule_ids_and_citations(tiny: tuple[Path, RunResult], tmp_path: Path) -> None:
    scenario, _ = tiny
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(scenario), "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    with (out / "gaps.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["object_name"] for r in rows if r["kind"] == "village-no-centre"} == {"乙村"}
    assert len(rows) == len(summary["gaps"]["items"])
    for item in summary["verdicts"] + summary["gaps"]["items"]:
        # The tiny county's scenario names no document of its own: every clause is the
        # catalogue's default, and says so.
        assert item["citation"] == policy.get_rule(item["rule_id"]).cite() + DEFAULT_MARK
        assert item["citation_default"] is True
    page = (out / "index.html").read_text(encoding="utf-8")
    # The layer control lists the gap layer, tagged with its key, and the count of places.
    assert 'data-layer=\\"gaps\\"' in page  # inside the JSON-escaped layer control
    assert "\\u7f3a\\u53e3\\uff08" in page  # 缺口（, JSON-escaped


SEEDS = ("yueqing-2022", "minqing-2022", "rushan-2022", "tongxiang-2025", "wenzhou-2020")


@pytest.mark.parametrize("name", SEEDS)
def test_seed_scenarios_run_on_the_demo_county(name: str, demo_root: Path, tmp_path: Path) -> None:
    shutil.copy(Path(__file__).parents[1] / "scenarios" / f"{name}.yaml", demo_root / "scenarios")
    out = tmp_path / name
    result = CliRunner().invoke(
        main,
        ["run", str(demo_root / "scenarios" / f"{name}.yaml"), "--data", "demo", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    scenario = load_scenario(demo_root / "scenarios" / f"{name}.yaml", data_from="demo")
    assert [v["rule_id"] for v in summary["verdicts"] if v["rule_id"]] and set(
        scenario.policy.targets
    ) == {v["rule_id"] for v in summary["verdicts"]}
    for item in summary["verdicts"] + summary["gaps"]["items"]:
        rule = policy.get_rule(item["rule_id"])
        assert item["citation"] == rule.cite() and item["citation"]
        assert item["status"] in ("pass", "fail", "not_assessable")
    counts = summary["gaps"]["counts"]
    assert (
        counts["villages"]["covered"] + counts["villages"]["not_covered"]
        == counts["villages"]["total"]
    )
    older = counts["older"]
    assert older["covered"] + older["not_covered"] + older["off_network"] == pytest.approx(
        older["total"]
    )
    # The run's recommended plan passes its own check-plan on every rule a plan answers for
    # (where and on what land its sites stand, their floor and land per bed): no failure the
    # plan could have avoided.
    plan = out / "recommended_plan.gpkg"
    if plan.exists():
        check = CliRunner().invoke(
            main,
            [
                "-q",
                "check-plan",
                str(plan),
                "--scenario",
                str(demo_root / "scenarios" / f"{name}.yaml"),
                "--data",
                "demo",
                "--out",
                str(tmp_path / "check"),
            ],
        )
        assert check.exit_code in (0, 1), check.output
        verdicts = json.loads((tmp_path / "check" / "verdicts.json").read_text(encoding="utf-8"))
        avoidable = {
            "site-in-county",
            "land-use-compatible",
            "village-center-150",
            "land-m2-per-bed",
            "building-m2-per-bed",
            "town-complex-3000",
            "small-jingloyuan",
        }
        own = set(gpd.read_file(plan, layer="养老设施")["编号"].astype(str))
        failed = {
            (v["rule_id"], v["object_name"])
            for v in verdicts["verdicts"]
            if v["status"] == "fail" and v["rule_id"] in avoidable and v["object_id"] in own
        }
        assert own
        assert not failed, failed
