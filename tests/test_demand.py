"""Demand at the plan's horizon year (``demand:``): the rate and factor, the rate from the real 2010
and 2020 census tables, the projection applied to the siting only, and bad inputs refused."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from click.testing import CliRunner, Result

from carecircle.cli import _demand_line, main
from carecircle.errors import DataError
from carecircle.outputs.layers import output_layers
from carecircle.outputs.report import render_report
from carecircle.pipeline import RunResult, run_scenario
from carecircle.planning.demand import census_growth, growth_factor, growth_rate, project
from carecircle.scenario import Demand, Scenario, scenario_from_dict
from tests.conftest import ROOT, SHARED_DATA

CENSUS = SHARED_DATA / "china" / "census-2020-county"
CENSUS_2010 = CENSUS / "census_county_2010_v1.xlsx"
PACKAGED_2020 = ROOT / "carecircle" / "sources" / "data" / "census2020_county.csv"


# --- the arithmetic ------------------------------------------------------------------------------


def test_rate_and_factor_by_hand() -> None:
    # 100 -> 121 over ten years is 1.21^(1/10) - 1 = 1.9245 % a year; five years of it is
    # sqrt(1.21) = 1.1.
    rate = growth_rate(100, 121, 2010, 2020)
    assert rate == pytest.approx(0.019245, abs=5e-7)
    assert growth_factor(rate, 2020, 2025) == pytest.approx(1.1, rel=1e-12)
    assert growth_factor(0.04, 2020, 2025) == pytest.approx(1.2166529, rel=1e-7)  # 1.04^5
    assert growth_factor(-0.02, 2020, 2025) == pytest.approx(0.9039208, rel=1e-7)  # 0.98^5
    assert growth_factor(0.04, 2020, 2020) == 1.0
    assert growth_rate(121, 100, 2010, 2020) == pytest.approx(1 / 1.019245 - 1, abs=5e-7)
    with pytest.raises(ValueError):
        growth_rate(0, 121, 2010, 2020)
    with pytest.raises(ValueError):
        growth_rate(100, 121, 2020, 2020)


def test_no_demand_section_is_no_projection(demo_scenario: Scenario) -> None:
    p = project(demo_scenario, 1234.5)
    assert (p.base_year, p.horizon_year, p.rate, p.factor, p.source) == (2020, 2020, 0, 1, "none")
    assert p.older_base == p.older_horizon == 1234.5
    assert not p.projected


# --- the real census tables ----------------------------------------------------------------------


def _older_2010_by_hand(code: str) -> int:
    """The 2010 workbook's 60+ of one county, summed straight from its twelve age-band cells."""
    wb = openpyxl.load_workbook(CENSUS_2010, read_only=True, data_only=True)
    rows = wb.worksheets[0].iter_rows(values_only=True)
    header = [str(h) for h in next(rows)]
    bands = [
        i
        for i, h in enumerate(header)
        if re.match(r"(60-64|65-69|70-74|75-79|80-84|85岁及以上)", h) and ("男" in h or "女" in h)
    ]
    assert len(bands) == 12, [header[i] for i in bands]
    code_col = header.index("区划代码")
    for row in rows:
        if row[code_col] is not None and str(int(float(row[code_col]))) == code:
            wb.close()
            return round(sum(float(row[i]) for i in bands))
    raise AssertionError(f"{code} not in the 2010 workbook")


def _older_2020_packaged(code: str) -> int:
    with PACKAGED_2020.open(encoding="utf-8") as fh:
        return next(int(r["older_60"]) for r in csv.DictReader(fh) if r["code"] == code)


def _with_demand(scenario: Scenario, **demand: Any) -> Scenario:
    return scenario.model_copy(update={"demand": Demand.model_validate(demand)})


def test_yueqing_rate_from_the_2010_and_2020_censuses(demo_scenario: Scenario) -> None:
    older_2010 = _older_2010_by_hand("330382")
    older_2020 = _older_2020_packaged("330382")
    assert (older_2010, older_2020) == (152622, 237685)  # 乐清市: the yearbooks' 60+ bands
    expected = (older_2020 / older_2010) ** 0.1 - 1  # 4.53 % a year
    scenario = _with_demand(
        demo_scenario, horizon_year=2025, census_2010=CENSUS_2010, census_county="乐清市"
    )
    rate, growth = census_growth(scenario)
    assert rate == pytest.approx(expected, rel=1e-12)
    assert rate == pytest.approx(0.045294, abs=5e-7)
    assert (growth.older_2010, growth.older_2020, growth.code_2010) == (152622, 237685, "330382")
    p = project(scenario, 10_000)
    assert p.source == "census"
    assert p.factor == pytest.approx((1 + expected) ** 5, rel=1e-12)
    assert p.older_horizon == pytest.approx(10_000 * (older_2020 / older_2010) ** 0.5, rel=1e-12)


def test_a_county_whose_code_changed_is_refused_then_named(demo_scenario: Scenario) -> None:
    # 密云区 110118 (2020) was 密云县 110228 in 2010: refused with the code and the fix, never guessed.
    scenario = _with_demand(
        demo_scenario, horizon_year=2025, census_2010=CENSUS_2010, census_county="110118"
    )
    with pytest.raises(DataError) as caught:
        census_growth(scenario)
    message = str(caught.value)
    assert "\n" not in message
    assert "110118" in message and "demand.census_2010_code" in message
    assert "密云县 110228" in message  # the row of the same name, pointed at
    named = _with_demand(
        demo_scenario,
        horizon_year=2025,
        census_2010=CENSUS_2010,
        census_county="110118",
        census_2010_code="110228",
    )
    rate, growth = census_growth(named)
    older_2010 = _older_2010_by_hand("110228")
    assert growth.older_2010 == older_2010
    assert rate == pytest.approx((_older_2020_packaged("110118") / older_2010) ** 0.1 - 1)


# --- a run: the siting plans for the horizon, today's score stays --------------------------------


@pytest.fixture(scope="module")
def run_2025(demo_scenario: Scenario) -> RunResult:
    return run_scenario(_with_demand(demo_scenario, horizon_year=2025, older_growth_rate=0.04))


def test_run_projects_the_siting_not_the_score(run_2025: RunResult, demo_run: RunResult) -> None:
    demand, today = run_2025.summary["demand"], demo_run.summary
    base = today["village_circle"]["older"]  # 17,441 older residents in the demo county
    assert demand["older_base"] == pytest.approx(base)
    assert demand["older_horizon"] == pytest.approx(base * 1.04**5)
    assert (demand["horizon_year"], demand["rate"], demand["source"]) == (
        2025,
        0.04,
        "older_growth_rate",
    )
    assert today["demand"]["factor"] == 1 and today["demand"]["horizon_year"] == 2020
    # Coverage, gaps and the cells written out stay on 2020.
    assert run_2025.summary["village_circle"] == today["village_circle"]
    assert run_2025.summary["gaps"]["counts"] == today["gaps"]["counts"]
    assert run_2025.cells["older"].sum() == pytest.approx(base)
    # The village centres close the circle for 2025's older residents out of reach ...
    before = today["siting"]["village_centres"]["older_beyond_before"]
    after = run_2025.summary["siting"]["village_centres"]["older_beyond_before"]
    assert after == pytest.approx(before * 1.04**5)
    # ... and the regional homes' demand is 2025's: those no candidate reaches grow by 1.04^5,
    # and the beds needed (3 % of the older) pass the 600 new beds asked for.
    homes_today = today["siting"]["regional_homes"]["older_reach_no_candidate"]
    homes = run_2025.summary["siting"]["regional_homes"]["older_reach_no_candidate"]
    assert homes_today > 0
    assert homes == pytest.approx(homes_today * 1.04**5, abs=0.1)
    assert base * 0.03 < 600 < demand["older_horizon"] * 0.03


def test_report_and_console_say_the_horizon(run_2025: RunResult, demo_run: RunResult) -> None:
    html = render_report(run_2025, output_layers(run_2025))
    assert 'id="demand"' in html
    assert "推荐选址按 2025 年需求" in html and "21,219" in html and "17,441" in html
    assert 'id="demand"' not in render_report(demo_run, output_layers(demo_run))
    line = _demand_line(run_2025.summary["demand"])
    assert line is not None
    assert line.startswith("需求按 2025 年预测：60岁及以上 17,441 → 21,219（年增 4.0%")
    assert "demand projected to 2025" in line
    assert _demand_line(demo_run.summary["demand"]) is None


# --- bad inputs: exit 2, one line ----------------------------------------------------------------


def _scenario_file(tmp_path: Path, demo_root: Path, demand: dict[str, Any]) -> Path:
    text = (demo_root / "scenarios" / "demo.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text.replace("../data/demo", str(demo_root / "data" / "demo")))
    raw["demand"] = demand
    path = tmp_path / "demand.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(main, ["-q", *args])


@pytest.mark.parametrize(
    ("demand", "key", "words"),
    [
        (
            {"horizon_year": 2025, "older_growth_rate": 0.03, "census_2010": str(CENSUS_2010)},
            "demand",
            "got both",
        ),
        ({"horizon_year": 2015, "older_growth_rate": 0.03}, "demand", "before base_year 2020"),
        ({"horizon_year": 2025}, "demand", "got neither"),
        ({"older_growth_rate": 0.03}, "demand", "need horizon_year"),
        ({"horizon_year": 2025, "older_growth_rate": 3.5}, "demand", "write 0.035"),
        ({"horizon_year": 2025, "horizon": 2030}, "demand.horizon", "did you mean 'horizon_year'"),
        (
            {"horizon_year": 2025, "census_2010": str(CENSUS_2010), "census_county": "999999"},
            "demand.census_county",
            "no county with this code",
        ),
        (
            {"horizon_year": 2025, "census_2010": str(CENSUS_2010)},
            "demand.census_2010",
            "give demand.census_county",
        ),
    ],
)
def test_validate_refuses_bad_demand(
    tmp_path: Path, demo_root: Path, demand: dict[str, Any], key: str, words: str
) -> None:
    result = _invoke("validate", str(_scenario_file(tmp_path, demo_root, demand)))
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert f": {key}: " in lines[0] and words in lines[0], lines[0]


def test_run_refuses_a_missing_2010_row_before_writing(tmp_path: Path, demo_root: Path) -> None:
    scenario = _scenario_file(
        tmp_path,
        demo_root,
        {"horizon_year": 2025, "census_2010": str(CENSUS_2010), "census_county": "110118"},
    )
    out = tmp_path / "out"
    result = _invoke("run", str(scenario), "--out", str(out))
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "110118" in lines[0] and "census_2010_code" in lines[0]
    assert not out.exists()


def test_scenario_reads_demand_relative_to_its_file(tmp_path: Path) -> None:
    raw = {"horizon_year": 2025, "census_2010": "c.xlsx", "census_county": 330382}
    (tmp_path / "c.xlsx").write_bytes(b"")
    spec = scenario_from_dict(
        {
            "name": "x",
            "area": {"boundary": {"path": "c.xlsx"}},
            "data": {
                "network": {"place": "x"},
                "population": {"older_share": 0.2, "raster": "c.xlsx"},
            },
            "demand": raw,
        },
        base_dir=tmp_path,
    ).demand
    assert spec.census_2010 == (tmp_path / "c.xlsx").resolve()
    assert spec.census_county == "330382"  # the code YAML read as a number, as text
