"""New village centres as a decision: the coverage curve, a limit, a minimum per centre, names.

The hand case (5 demand rows, 4 candidates) has answers worked out below; the demo county and
the real Guixi OSM kit check the same promises inside a run: the curve is monotone, starts at
today's coverage and ends at the cover's, a limit of N gives N centres at the curve's value, no
centre serves fewer than the minimum, and no site is named by an internal id.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import scipy.sparse as sp

from benchmarks import guixi
from carecircle.outputs import write_outputs
from carecircle.pipeline import RunResult, run_scenario
from carecircle.planning.centres import centre_curve
from carecircle.scenario import load_scenario

# Rows (older residents) 10, 8, 6, 3, 1; candidate 0 reaches rows 0-1, 1 rows 1-2, 2 rows 2-3,
# 3 row 4.  One centre: candidate 0 (18).  Two: 0 and 2 (10+8+6+3 = 27; 0 and 1 give 24).
# Three: 0, 2, 3 (28, everyone; row 4 only 3 reaches, row 3 only 2, row 0 only 0).
REACH = np.zeros((5, 4), dtype=bool)
REACH[[0, 1], 0] = REACH[[1, 2], 1] = REACH[[2, 3], 2] = REACH[4, 3] = True
OLDER = [10.0, 8.0, 6.0, 3.0, 1.0]


def test_the_hand_case_curve_is_the_maximal_covering_optimum_at_every_count() -> None:
    curve = centre_curve(sp.csr_array(REACH), OLDER)
    assert [p.older_covered for p in curve.points] == [0.0, 18.0, 27.0, 28.0]
    assert all(p.status == "optimal" for p in curve.points)
    assert sorted(curve.cover.selected.tolist()) == [0, 2, 3]
    # each centre counted for what it brings first: 18, then 9, then 1
    assert curve.cover.served.tolist() == [18.0, 9.0, 1.0]


def test_a_minimum_leaves_out_centres_that_cannot_reach_it() -> None:
    # Minimum 2: candidate 3 reaches 1 resident only, so row 4 is for mobile service.
    two = centre_curve(sp.csr_array(REACH), OLDER, min_older=2.0)
    assert two.unusable.tolist() == [3]
    assert [p.older_covered for p in two.points] == [0.0, 18.0, 27.0]
    # Minimum 10: candidate 2 reaches 9 (unusable).  After candidate 0, candidate 1 brings only
    # 6 new residents, so greedy stops at one centre; but assigning row 1 to candidate 1 gives
    # 0 → {row 0} = 10 and 1 → {rows 1, 2} = 14: two centres, 24, each at least 10.
    ten = centre_curve(sp.csr_array(REACH), OLDER, min_older=10.0)
    assert ten.unusable.tolist() == [2, 3]
    assert [p.older_covered for p in ten.points] == [0.0, 18.0, 24.0]
    assert sorted(ten.cover.served.tolist()) == [10.0, 14.0]


def _centres(run: RunResult) -> tuple[dict, object]:
    sites = run.siting.sites  # type: ignore[union-attr]
    return run.summary["siting"]["village_centres"], sites[sites["kind"] == "village-centre"]


def _check_curve(run: RunResult) -> None:
    vc, new = _centres(run)
    curve = vc["curve"]
    values = [p["older_covered"] for p in curve]
    assert [p["centres"] for p in curve] == list(range(len(curve)))
    assert (np.diff(values) >= -1e-9).all(), "the curve must not fall"
    assert all(p["bound"] >= p["older_covered"] - 0.05 for p in curve)
    # first point: today's coverage, the run's own figure
    assert values[0] == pytest.approx(vc["older_total"] - vc["older_beyond_before"], abs=0.1)
    # last point: the plan without a limit, whose centres are the sites
    assert len(new) == vc["new_centres"] == curve[-1]["centres"]
    assert values[-1] == pytest.approx(values[0] + new["older_covered"].sum(), abs=0.5)
    # every resident beyond reach after the plan is listed, by village, for mobile service
    assert vc["older_beyond_after"] == pytest.approx(vc["older_mobile_service"], abs=0.1)
    assert vc["older_unreachable"] <= vc["older_mobile_service"] + 0.1
    listed = sum(m["older"] for m in vc["mobile_service"])
    assert listed == pytest.approx(vc["older_mobile_service"], abs=0.5 * (len(run.villages) + 1))
    assert all(m["older"] >= 0.5 for m in vc["mobile_service"])
    # villages without a centre today: given one, or named as still without
    assert (
        vc["in_villages_without_centre"] + len(vc["villages_still_without_centre"])
        == vc["villages_without_centre"]
    )
    # no centre below the minimum; names are places, with coordinates
    assert (new["older_covered"] >= vc["min_older_per_centre"] - 0.05).all()
    villages = set(run.villages["name"].astype(str))
    for name, village in zip(new["name"], new["village"], strict=True):
        assert not re.search(r"[NVP]\d+", name), name
        assert village in villages and name.startswith(village), (name, village)
    west, south, east, north = run.boundary.to_crs(4326).total_bounds
    assert new["lon"].between(west - 0.05, east + 0.05).all()
    assert new["lat"].between(south - 0.05, north + 0.05).all()


def test_demo_curve_runs_from_today_to_the_cover(demo_run: RunResult) -> None:
    _check_curve(demo_run)
    vc, new = _centres(demo_run)
    # The old cover gave 77 centres, 25 of them for fewer than 5 residents; 20 each is the floor.
    assert vc["min_older_per_centre"] == 20.0 and len(new) < 40


def test_a_limit_of_n_centres_gives_n_at_the_curves_value(demo_run: RunResult) -> None:
    siting = demo_run.scenario.siting
    assert siting is not None
    full = demo_run.summary["siting"]["village_centres"]["curve"]
    for update, n in (
        ({"max_new_centres": 5}, 5),
        ({"centre_budget_yuan": 1_000_000, "cost_per_centre_yuan": 300_000}, 3),
    ):
        scenario = demo_run.scenario.model_copy(update={"siting": siting.model_copy(update=update)})
        run = run_scenario(scenario)
        vc, new = _centres(run)
        assert vc["limit"] == n and len(new) == vc["new_centres"] == n
        point = vc["curve"][n]
        assert point["exact"] and point["older_covered"] == pytest.approx(full[n]["older_covered"])
        assert vc["older_brought"] == pytest.approx(new["older_covered"].sum(), abs=0.5)
        assert point["older_covered"] == pytest.approx(
            vc["curve"][0]["older_covered"] + new["older_covered"].sum(), abs=0.5
        )
        # the residents the limit leaves out are listed, with the limit as their reason
        assert vc["mobile_service"] and all(
            "limit" in m["reason_en"]
            for m in vc["mobile_service"]
            if "scattered" not in m["reason_en"]
        )


def test_the_report_and_workbook_show_the_curve(demo_run: RunResult, tmp_path: Path) -> None:
    paths = write_outputs(demo_run, tmp_path / "out")
    report = paths["report.html"].read_text(encoding="utf-8")
    vc = demo_run.summary["siting"]["village_centres"]
    assert 'id="centre-curve"' in report and 'id="centre-curve-table"' in report
    assert f"推荐 {vc['new_centres']} 处" in report
    book = openpyxl.load_workbook(paths["tables.xlsx"], read_only=True)
    rows = list(book["照料中心覆盖曲线 centre curve"].values)
    assert len(rows) - 1 == len(vc["curve"])  # one header row
    mobile = list(book["流动互助服务 mobile service"].values)
    assert len(mobile) - 1 == len(vc["mobile_service"])


@pytest.mark.skipif(not guixi.OSM_FILE.exists(), reason="../shared/data is not available")
def test_real_network_curve(tmp_path: Path) -> None:
    """Guixi (real OSM, sparsely mapped villages): the same promises on a real road network."""
    scenario = load_scenario(guixi.build(tmp_path / "guixi"))
    run = run_scenario(scenario)
    _check_curve(run)
    # a limit of 3 centres on the real network: 3 centres, at the curve's value for 3
    assert scenario.siting is not None
    limited = run_scenario(
        scenario.model_copy(
            update={"siting": scenario.siting.model_copy(update={"max_new_centres": 3})}
        )
    )
    lvc, lnew = _centres(limited)
    assert len(lnew) == lvc["new_centres"] == 3 and lvc["limit"] == 3
    full = run.summary["siting"]["village_centres"]["curve"]
    assert lvc["curve"][3]["older_covered"] == pytest.approx(full[3]["older_covered"])
    assert lvc["curve"][3]["older_covered"] == pytest.approx(
        lvc["curve"][0]["older_covered"] + lnew["older_covered"].sum(), abs=0.5
    )
    assert (lnew["older_covered"] >= lvc["min_older_per_centre"] - 0.05).all()
    vc, _ = _centres(run)
    assert len(vc["curve"]) >= 3 and vc["curve"][-1]["share"] > vc["curve"][0]["share"]
    # 黄坑村, which no site reaches on the mapped roads, is listed, not dropped
    unreachable = [m for m in vc["mobile_service"] if "mapped roads" in m["reason_en"]]
    assert vc["older_unreachable"] > 0 and sum(m["older"] for m in unreachable) == pytest.approx(
        vc["older_unreachable"], abs=0.5
    )
    # the kit's village layer holds sub-districts and an office from OSM place names: flagged
    odd = next(
        w
        for w in run.summary["data_quality"]["warnings"]
        if w["code"] == "villages_named_like_townships"
    )
    names = {i["name"] for i in odd["items"]}
    assert {"花园街道", "东门街道", "贵溪市滨江镇人民政府"} <= names
    assert not any(n.endswith(("村", "社区")) for n in names)
