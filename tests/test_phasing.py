"""Phasing: every recommended site gets a year, and every year's targets and limits hold.

The hand cases are small enough to solve on paper (worked out in the comments); the demo run is
checked by recomputing each year's beds, spend and land from the sites table itself, not from
the model's own per-year totals.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import yaml
from click.testing import CliRunner

from carecircle.cli import main
from carecircle.errors import ScenarioError
from carecircle.outputs import write_outputs
from carecircle.pipeline import run_scenario
from carecircle.planning.phasing import PhaseSites, horizon_limits, schedule
from carecircle.scenario import Phase, Siting, load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]

# --- the hand case -------------------------------------------------------------------------------
#
# Four sites, three years (2023, 2024, 2025: a site opened in 2023 serves 3 years of the horizon,
# 2024 two, 2025 one):
#
#   site  kind    beds  nursing  cost  weight (older residents served)
#   A     home    100   20       10    50
#   B     home    100   100      10    40
#   C     home    100   60       10    30
#   D     centre    0   0         5    20
#
# Targets: beds by the end of 2023/2024/2025 at least 100/200/300; budgets 12/15/20 a year.
# 2023's budget of 12 holds one home (10) and no centre beside it (15), and 100 beds need a home:
# exactly one home in 2023. 2024's 15 holds a home and D (15); 2025's 20 two homes or a home and
# D. Every site opens by 2025, so the homes open one a year and D in 2024 or 2025. The most
# residents earliest: A (50) in 2023, B (40) in 2024 with D (20), C in 2025:
#   3·50 + 2·40 + 2·20 + 1·30 = 150 + 80 + 40 + 30 = 300 older-resident-years.
# (D in 2025 instead gives 280; B before A gives 3·40 + 2·50 + 40 + 30 = 290.)


def _hand_sites(nursing: tuple[int, int, int] = (20, 100, 60)) -> PhaseSites:
    return PhaseSites(
        kind=["home", "home", "home", "centre"],
        beds=[100, 100, 100, 0],
        nursing_beds=[*nursing, 0],
        cost_yuan=[10, 10, 10, 5],
        land_mu=[6, 6, 6, 0],
        weight=[50, 40, 30, 20],
    )


def _hand_phases(**first: Any) -> list[Phase]:
    return [
        Phase(**{"year": 2023, "beds_by_end": 100, "budget_yuan": 12, **first}),
        Phase(year=2024, beds_by_end=200, budget_yuan=15),
        Phase(year=2025, beds_by_end=300, budget_yuan=20),
    ]


def test_the_hand_case_is_solved_as_on_paper() -> None:
    result = schedule(_hand_sites(), _hand_phases())
    assert result.status == "optimal" and result.gap == 0.0
    assert result.objective == pytest.approx(300.0) == pytest.approx(result.bound)
    assert result.year.tolist() == [2023, 2024, 2025, 2024]
    by_year = {y["year"]: y for y in result.years}
    assert [by_year[t]["beds_by_end"] for t in (2023, 2024, 2025)] == [100, 200, 300]
    assert [by_year[t]["spend_yuan"] for t in (2023, 2024, 2025)] == [10, 15, 10]
    assert all(y["holds"] for y in result.years)
    assert "optimal" in result.claim and "single-horizon" in result.claim


def test_a_nursing_share_with_the_baseline_picks_the_first_home() -> None:
    # 1,000 existing beds, 500 nursing (50 %); 2023 asks 51 % of all beds: with one new home of
    # 100 beds, 0.51 · 1,100 = 561 nursing beds, so the home brings 61 or more. Only B (100)
    # does: C gives 560/1100 = 50.9 %, A 520/1100. Then A (50) and D in 2024, C in 2025:
    #   3·40 + 2·50 + 2·20 + 1·30 = 120 + 100 + 40 + 30 = 290.
    result = schedule(
        _hand_sites(),
        _hand_phases(nursing_share=0.51),
        baseline_beds=1000,
        baseline_nursing_beds=500,
    )
    assert result.status == "optimal"
    assert result.objective == pytest.approx(290.0)
    assert result.year.tolist() == [2024, 2023, 2025, 2024]
    assert result.years[0]["nursing_share"] == pytest.approx(600 / 1100)


def test_without_limits_every_site_opens_in_the_first_year() -> None:
    phases = [Phase(year=2023), Phase(year=2024), Phase(year=2025)]
    result = schedule(_hand_sites(), phases)
    assert result.year.tolist() == [2023] * 4
    assert result.objective == pytest.approx(3 * 140)


def test_a_budget_too_small_names_its_year() -> None:
    # 2023's 100 beds need a home of cost 10; the budget to 2023 is 8.
    result = schedule(_hand_sites(), _hand_phases(budget_yuan=8))
    assert result.status == "infeasible" and result.infeasible_year == 2023
    assert "2023" in result.message and "budget" in result.message
    assert not result.holds and result.summary()["infeasible_year"] == 2023


def test_a_rule_only_the_model_can_refute_names_its_year() -> None:
    # 2023 asks 200 beds (two homes) and 51 % nursing of 1,000 + 200 beds = 612, that is 112 of
    # the 200 new beds. Nursing (20, 40, 70): the best pair, B and C, brings 110. Each simple
    # check passes (two homes cost 20 <= 25; C alone lifts the share), yet 2023 cannot be met.
    phases = [
        Phase(year=2023, beds_by_end=200, budget_yuan=25, nursing_share=0.51),
        Phase(year=2024, beds_by_end=300, budget_yuan=15),
    ]
    result = schedule(
        _hand_sites((20, 40, 70)), phases, baseline_beds=1000, baseline_nursing_beds=500
    )
    assert result.status == "infeasible" and result.infeasible_year == 2023
    assert "2023" in result.message


def test_beds_beyond_every_site_name_the_year() -> None:
    phases = [Phase(year=2023, beds_by_end=100), Phase(year=2024, beds_by_end=400)]
    result = schedule(_hand_sites(), phases)
    assert result.status == "infeasible" and result.infeasible_year == 2024
    assert "400" in result.message


def test_horizon_limits_are_the_smaller_of_the_totals() -> None:
    spec = Siting(
        new_beds=300,
        budget_yuan=100,
        cost_per_bed_yuan=1,
        land_quota_mu=50,
        phases=[
            Phase(year=2023, budget_yuan=30, land_mu=10),
            Phase(year=2024, budget_yuan=40, land_mu=60, nursing_share=0.55),
        ],
    )
    limits = horizon_limits(spec)
    assert limits.budget_yuan == 70 and limits.land_quota_mu == 50
    assert limits.nursing_share == 0.55
    # A year without a budget has none: the sum bounds nothing.
    spec = Siting(
        new_beds=300,
        budget_yuan=100,
        cost_per_bed_yuan=1,
        phases=[Phase(year=2023, budget_yuan=30), Phase(year=2024)],
    )
    assert horizon_limits(spec).budget_yuan == 100


@pytest.mark.parametrize(
    ("phases", "words"),
    [
        ([{"year": 2024}, {"year": 2023}], "years must increase"),
        (
            [{"year": 2023, "beds_by_end": 400}, {"year": 2024, "beds_by_end": 300}],
            "phases[1].beds_by_end 300",
        ),
        ([{"year": 2023, "beds_by_end": 700}], "raise new_beds to at least 700"),
        ([{"year": 2023, "budget_yuan": 1e6}], "a phase's budget needs costs"),
        ([{"year": 1900}], "phases.0.year"),
    ],
)
def test_bad_phases_are_refused_naming_the_key(
    phases: list[dict[str, Any]], words: str, tmp_path: Path
) -> None:
    raw = yaml.safe_load((ROOT / "scenarios" / "demo.yaml").read_text(encoding="utf-8"))
    raw["siting"]["phases"] = phases
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(raw, base_dir=ROOT / "scenarios", check_files=False)
    assert words in str(info.value) and "siting" in str(info.value)


# --- the phased demo run -------------------------------------------------------------------------

DEMO_PHASES = [
    {"year": 2023, "beds_by_end": 300, "centres_by_end": 10, "budget_yuan": 50_000_000},
    {"year": 2024, "beds_by_end": 600, "centres_by_end": 20, "budget_yuan": 50_000_000},
    {"year": 2025, "beds_by_end": 900, "budget_yuan": 50_000_000, "land_mu": 20},
]


def _phased_demo(demo_root: Path) -> Path:
    raw = yaml.safe_load((demo_root / "scenarios" / "demo.yaml").read_text(encoding="utf-8"))
    raw["name"] = "demo-phased"
    raw["siting"].update(
        new_beds=900,
        cost_per_bed_yuan=100_000,  # 10万元/床
        cost_per_site_yuan=5_000_000,
        cost_per_centre_yuan=300_000,
        phases=DEMO_PHASES,
    )
    path = demo_root / "scenarios" / "demo-phased.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_a_phased_demo_run_meets_every_year_recomputed_from_the_sites(
    demo_root: Path, tmp_path: Path
) -> None:
    scenario = load_scenario(_phased_demo(demo_root))
    result = run_scenario(scenario)
    phasing = result.summary["siting"]["phasing"]
    assert phasing["status"] == "optimal" and phasing["gap"] == 0.0
    sites = result.siting.sites  # type: ignore[union-attr]
    assert set(sites["year"]) <= {2023, 2024, 2025} and (sites["year"] > 0).all()
    # Independent recomputation: group the site rows by year and compare with each phase.
    home = sites["kind"] != "village-centre"
    cost = home * (5_000_000 + 100_000 * sites["beds"]) + (~home) * 300_000
    beds_so_far, centres_so_far = 0, 0
    for phase in DEMO_PHASES:
        now = sites["year"] == phase["year"]
        beds_so_far += int(sites.loc[now & home, "beds"].sum())
        centres_so_far += int((now & ~home).sum())
        assert beds_so_far >= phase["beds_by_end"], phase
        assert centres_so_far >= phase.get("centres_by_end", 0), phase
        assert cost[now].sum() <= phase["budget_yuan"], phase
        if "land_mu" in phase:
            assert sites.loc[now & home, "land_mu"].sum() <= phase["land_mu"] + 1e-6, phase
    assert beds_so_far == int(sites.loc[home, "beds"].sum()) >= 900
    # The homes model kept to the horizon's budget (3 × 50 M yuan) and land (min of 60 and none).
    assert cost[home].sum() <= 150_000_000
    # The outputs: the report's timeline, the plan file's year, the CLI line.
    paths = write_outputs(result, tmp_path / "out")
    report = paths["report.html"].read_text(encoding="utf-8")
    assert 'id="phasing"' in report and 'id="phasing-timeline"' in report
    for phase in DEMO_PHASES:
        assert f'data-year="{phase["year"]}"' in report
    assert "✘" not in report.split('id="phasing-years"')[1].split("</table>")[0]
    plan = gpd.read_file(paths["recommended_plan.gpkg"], layer="养老设施")
    assert sorted(plan["建设年度"].astype(int).tolist()) == sorted(sites["year"].tolist())
    # The plan with its year reads back in check-plan.
    out = tmp_path / "check"
    run = CliRunner().invoke(
        main,
        [
            "-q",
            "check-plan",
            str(paths["recommended_plan.gpkg"]),
            "--scenario",
            str(scenario.source_file),
            "--out",
            str(out),
        ],
    )
    # exit 1: circle-15min fails for the residents left to mobile service (each new centre must
    # serve 20); nothing the plan's years or sites answer for fails
    assert run.exit_code == 1, run.output
    verdicts = json.loads((out / "verdicts.json").read_text(encoding="utf-8"))
    failing = {v["rule_id"] for v in verdicts["verdicts"] if v["status"] == "fail"}
    assert failing <= {"circle-15min", "town-center-coverage", "village-center-150"}, failing
    assert verdicts["plan"]["facilities"] == len(sites)
    assert "建设年度" not in verdicts["plan"].get("columns_not_in_file", [])


def test_the_phased_yueqing_scenario_runs_on_the_demo_county(
    demo_root: Path, tmp_path: Path
) -> None:
    shutil.copy(ROOT / "scenarios" / "yueqing-phased.yaml", demo_root / "scenarios")
    shutil.copy(ROOT / "scenarios" / "yueqing-2022.yaml", demo_root / "scenarios")
    out = tmp_path / "yq"
    path = demo_root / "scenarios" / "yueqing-phased.yaml"
    run = CliRunner().invoke(main, ["run", str(path), "--data", "demo", "--out", str(out)])
    assert run.exit_code == 0, run.output
    assert (
        "分期 / phasing 2020–2022: 3 年每年目标均满足 / every year's targets hold; 最优 / optimal"
        in run.output
    )
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    phasing = summary["siting"]["phasing"]
    assert [y["year"] for y in phasing["years"]] == [2020, 2021, 2022]
    assert all(y["holds"] for y in phasing["years"])
    # The document's nursing shares (附件 3: 51 % in 2020; 一: 55 % by 2022), of all beds.
    assert phasing["years"][0]["nursing_target"] == 0.51
    assert phasing["years"][0]["nursing_share"] >= 0.51
    assert phasing["years"][2]["nursing_share"] >= 0.55
    assert phasing["years"][2]["beds_by_end"] >= 1000
