"""An exact bed target: the plan has the target's beds, or the smallest total above it and why;
each home says who it serves and, when it serves nobody, why it is there."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from carecircle.pipeline import RunResult, run_scenario
from carecircle.planning.regional import HomeCandidates, HomeTargets, site_regional_homes
from carecircle.scenario import load_scenario


def _sites(m: int, low: int, high: int, **more: object) -> HomeCandidates:
    return HomeCandidates(min_beds=np.full(m, low), max_beds=np.full(m, high), **more)  # type: ignore[arg-type]


def _own_rows(m: int, demand: float, weight: float = 100.0) -> tuple[np.ndarray, ...]:
    """m candidates, each reaching its own demand row only (an identity reach matrix)."""
    return np.eye(m, dtype=bool), np.full(m, weight), np.full(m, demand)


def test_an_exact_target_is_met_exactly_though_more_beds_would_serve_more() -> None:
    # 4 sites of 100-200 beds, each alone within reach of 150 beds of demand (weight 100 per
    # row). Serving everyone takes 4 × 150 = 600 beds, so a floor of 400 takes 600; exactly 400
    # serve 400 of the 600 beds of demand: objective 4 × 100 × 400 / 600 = 266.67, on the fewest
    # sites that can (3: 150 + 150 + 100).
    reach, w, d = _own_rows(4, 150.0)
    c = _sites(4, 100, 200)
    exact = site_regional_homes(reach, w, d, c, HomeTargets(new_beds=400, beds_target="exact"))
    assert exact.status == "optimal"
    assert int(exact.beds.sum()) == 400 and exact.bed_excess == 0
    assert exact.objective == pytest.approx(400 * 100 / 150)
    assert exact.selected.size == 3
    assert exact.bed_target == 400 and exact.beds_target == "exact"
    floor = site_regional_homes(reach, w, d, c, HomeTargets(new_beds=400))
    assert floor.beds_target == "at_least"
    assert int(floor.beds.sum()) == 600 and floor.objective == pytest.approx(400.0)


def test_an_unreachable_exact_target_takes_the_smallest_total_above_it_and_says_why() -> None:
    # Sites of 200-210 beds: 2 sites hold at most 420 < 450, 3 sites at least 3 × 200 = 600.
    reach, w, d = _own_rows(4, 300.0)
    c = _sites(4, 200, 210)
    out = site_regional_homes(reach, w, d, c, HomeTargets(new_beds=450, beds_target="exact"))
    assert int(out.beds.sum()) == 600 and out.selected.size == 3
    assert out.bed_target == 450 and out.bed_excess == 150
    assert "2 处选址最多 420 张" in out.excess_reason_zh
    assert "3 处选址至少 600 张" in out.excess_reason_zh
    assert "每处不少于 200 张" in out.excess_reason_zh
    assert out.excess_reason_en == (
        "2 sites hold at most 420 beds, 3 sites at least 600 (the 200-bed minimum each)"
    )


def test_a_site_count_minimum_is_named_as_the_cause() -> None:
    # 3 sites of 100-300 beds must all be built (zone "all", minimum 3): at least 300 beds for a
    # target of 200, and 2 sites could hold 600, so the site count is the cause, not the range.
    reach, w, d = _own_rows(3, 50.0)
    c = _sites(3, 100, 300, zone=np.full(3, "all"))
    t = HomeTargets(new_beds=200, beds_target="exact", zone_limits={"all": (3, 3)})
    out = site_regional_homes(reach, w, d, c, t)
    assert int(out.beds.sum()) == 300 and out.bed_excess == 100
    assert out.excess_reason_en == (
        "at least 3 sites are required (the minimum of 3 sites), the 100-bed minimum each: "
        "300 beds at least"
    )


def test_at_least_keeps_the_floor_and_may_exceed_it() -> None:
    # The floor: 2 sites of 100-300 beds, each reaching 250 beds of demand; 300 beds are the
    # floor, serving everyone takes 500, so the plan has 500 > 300 beds.
    reach, w, d = _own_rows(2, 250.0)
    c = _sites(2, 100, 300)
    out = site_regional_homes(reach, w, d, c, HomeTargets(new_beds=300, beds_target="at_least"))
    assert int(out.beds.sum()) == 500 and out.bed_excess == 0 and out.excess_reason_en == ""
    assert out.objective == pytest.approx(200.0)


def _filler_case(with_b: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, HomeCandidates]:
    """One row (weight 100, demand 50) within reach of A and, if ``with_b``, of B; C1-C5 reach
    nobody. Every site holds 100-200 beds."""
    m = 7
    reach = np.zeros((1, m), dtype=bool)
    reach[0, 0] = True  # A
    reach[0, 1] = with_b  # B
    return reach, np.array([100.0]), np.array([50.0]), _sites(m, 100, 200)


def test_a_site_serving_nobody_appears_only_when_the_bed_total_needs_it() -> None:
    # 100 beds: one site (A or B) serves the row; nothing else is built.
    reach, w, d, c = _filler_case(with_b=True)
    one = site_regional_homes(reach, w, d, c, HomeTargets(new_beds=100, beds_target="exact"))
    assert one.selected.size == 1 and set(one.selected.tolist()) <= {0, 1}
    assert all(s.note == "" for s in one.sites)
    # 300 beds need 2 sites (at most 200 each); the second goes where older residents are within
    # reach (B), not to a site that reaches nobody (C1-C5).
    two = site_regional_homes(reach, w, d, c, HomeTargets(new_beds=300, beds_target="exact"))
    assert int(two.beds.sum()) == 300 and sorted(two.selected.tolist()) == [0, 1]
    for s in two.sites:  # whichever of A and B the assignment leaves idle says why it is there
        assert (s.note != "") == (s.served_weight < 1e-6)
    # Without B, the second site can only be one reaching nobody: it is built, and says why.
    reach, w, d, c = _filler_case(with_b=False)
    forced = site_regional_homes(reach, w, d, c, HomeTargets(new_beds=300, beds_target="exact"))
    assert int(forced.beds.sum()) == 300 and forced.selected.size == 2
    idle = [s for s in forced.sites if s.candidate != 0]
    assert len(idle) == 1 and idle[0].served_weight == 0.0 and idle[0].reach_weight == 0.0
    assert idle[0].note.startswith("可达范围内无老年人，为达到床位目标 300 张而设")
    assert "no older residents within reach: needed to reach the bed target of 300" in idle[0].note
    served = [s for s in forced.sites if s.candidate == 0]
    assert served[0].note == "" and served[0].served_weight == pytest.approx(100.0)


def test_served_weights_add_up_to_what_the_plan_adds() -> None:
    # Rows: r1 (weight 30, demand 10) reached by A only; r2 (50, 20) by A and B; r3 (40, 10) by
    # B only. Sites hold 10-20 beds; exactly 30 beds. Weight per bed: r3 4, r1 3, r2 2.5, so
    # r3 and r1 are served in full (10 beds each) and r2 with the last 10 beds (25): objective
    # 30 + 40 + 25 = 95, baseline 0 (no existing beds). The sites' served weights add up to 95.
    reach = np.array([[1, 0], [1, 1], [0, 1]], dtype=bool)
    w, d = np.array([30.0, 50.0, 40.0]), np.array([10.0, 20.0, 10.0])
    c = _sites(2, 10, 20)
    out = site_regional_homes(reach, w, d, c, HomeTargets(new_beds=30, beds_target="exact"))
    assert int(out.beds.sum()) == 30 and out.baseline == pytest.approx(0.0)
    assert out.objective == pytest.approx(95.0)
    total = sum(s.served_weight for s in out.sites)
    assert total == pytest.approx(out.objective - out.baseline, abs=1e-6)
    # Each site serves at least its own row: A r1 (30), B r3 (40).
    by_site = {s.candidate: s.served_weight for s in out.sites}
    assert by_site[0] >= 30.0 - 1e-6 and by_site[1] >= 40.0 - 1e-6
    assert [e["older_covered"] for e in out.explain()] == [
        round(by_site[0], 2),
        round(by_site[1], 2),
    ]


@pytest.fixture(scope="module")
def beds_400_run(demo_root: Path) -> RunResult:
    raw = yaml.safe_load((demo_root / "scenarios" / "demo.yaml").read_text(encoding="utf-8"))
    raw["siting"].update(new_beds=400, beds_per_site=[100, 200])
    path = demo_root / "scenarios" / "demo-400-exact.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return run_scenario(load_scenario(path))


def test_the_demo_with_400_beds_has_400_and_each_home_says_whom_it_serves(
    beds_400_run: RunResult,
) -> None:
    assert beds_400_run.scenario.siting is not None
    assert beds_400_run.scenario.siting.beds_target == "exact"  # the scenario's default
    homes = beds_400_run.summary["siting"]["regional_homes"]
    assert homes["new_beds"] == 400 and homes["beds_target"] == "exact"
    assert homes["bed_excess"] == 0 and homes["excess_reason_en"] == ""
    sites = beds_400_run.siting.sites  # type: ignore[union-attr]
    new = sites[sites["kind"].isin(["parcel", "expand"])]
    assert new["beds"].sum() == 400 and new["beds"].between(100, 200).all()
    assert ((new["older_covered"] > 0) | (new["note"] != "")).all()
    assert new["older_covered"].sum() == pytest.approx(
        homes["objective"] - homes["baseline"], abs=1.0
    )
    # The catchment names the run's own townships, largest first.
    names = set(beds_400_run.townships["name"].astype(str))
    for listed in new["townships"]:
        parts = [p.rsplit(" ", 1) for p in listed.split("、")]
        assert parts and all(name in names for name, _ in parts)
        counts = [float(n.replace(",", "")) for _, n in parts]
        assert counts == sorted(counts, reverse=True) and counts[0] > 0
    centres = sites[sites["kind"] == "village-centre"]
    assert (centres["townships"] == "").all() and (centres["note"] == "").all()
    assert [e["older_covered"] for e in homes["explain"]] == pytest.approx(
        new["older_covered"].tolist(), abs=0.1
    )
