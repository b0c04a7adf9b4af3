"""Siting models: tiny cases checkable by eye, OR-Library optima, and hypothesis properties."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from carecircle.errors import InfeasibleError
from carecircle.locate import (
    solve_capacitated_pmedian,
    solve_cflp,
    solve_lscp,
    solve_mclp,
    solve_pcenter,
    solve_pmedian,
)
from carecircle.locate.orlib import read_cap, read_optima, read_pmed, read_pmedcap
from carecircle.planning.centres import site_village_centres
from carecircle.planning.regional import HomeCandidates, HomeTargets, site_regional_homes
from carecircle.rules import MU_M2

ORLIB = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "benchmarks" / "orlib"

# Five villages on a road at km 0..4; candidates at the same places.
LINE = np.abs(np.arange(5)[:, None] - np.arange(5)[None, :]).astype(float)


# --- covering ------------------------------------------------------------------------------------


def test_lscp_covers_a_line_with_two_sites() -> None:
    r = solve_lscp(LINE, 1.0)
    assert r.status == "optimal" and r.objective == 2 and r.gap == 0
    assert r.selected.tolist() == [1, 3]
    assert np.all(LINE[np.arange(5), r.assignment] <= 1)


def test_lscp_lists_rows_no_candidate_reaches() -> None:
    cost = np.c_[LINE, np.full(5, np.inf)]
    cost = np.r_[cost, [[9.0, 9, 9, 9, 9, 9]]]  # a sixth village 9 km from everything
    r = solve_lscp(cost, 1.0)
    assert r.uncoverable.tolist() == [5]
    assert r.assignment[5] == -1 and np.all(r.assignment[:5] >= 0)
    assert "1 demand rows have no candidate" in r.message


def test_lscp_forced_sites_stay_open_and_count() -> None:
    r = solve_lscp(LINE, 1.0, forced=[2])  # 2 covers km 1..3; km 0 and km 4 need one each
    assert 2 in r.selected and r.objective == 3


def test_sparse_missing_means_unreachable_not_zero() -> None:
    # Row 0 stores only candidate 1 at cost 5; if the gap read as 0, candidate 0 would serve it.
    dense = np.array([[np.inf, 5.0], [1.0, np.inf]])
    sparse = sp.csr_array(([5.0, 1.0], ([0, 1], [1, 0])), shape=(2, 2))
    for cost in (dense, sparse):
        r = solve_pmedian(cost, 2)
        assert r.objective == 6 and r.assignment.tolist() == [1, 0]
        assert solve_lscp(cost, 5.0).objective == 2
        # one site cannot serve both rows: found by the solver, reported, not raised
        assert solve_pmedian(cost, 1).status == "infeasible"


def test_sparse_explicit_zero_is_a_reachable_pair() -> None:
    cost = sp.csr_array((np.array([0.0, 3.0]), ([0, 1], [0, 0])), shape=(2, 2))
    r = solve_lscp(cost, 0.5)
    assert r.selected.tolist() == [0] and r.uncoverable.tolist() == [1]


def test_mclp_takes_the_heavier_cluster() -> None:
    w = np.array([1.0, 1, 1, 10, 10])
    r = solve_mclp(LINE, 0.0, 1, w)
    assert r.objective == 10 and r.selected.tolist() in ([3], [4])
    r = solve_mclp(LINE, 1.0, 1, w)
    assert r.objective == 21 and r.selected.tolist() == [3]


def test_mclp_refuses_more_sites_than_candidates() -> None:
    with pytest.raises(InfeasibleError, match="only 5 candidates"):
        solve_mclp(LINE, 1.0, 6)
    with pytest.raises(InfeasibleError, match="more than p = 1"):
        solve_mclp(LINE, 1.0, 1, forced=[0, 4])


# --- p-median and p-center -----------------------------------------------------------------------


def test_pmedian_two_clusters() -> None:
    x = np.array([0.0, 1, 10, 11])
    cost = np.abs(x[:, None] - x[None, :])
    r = solve_pmedian(cost, 2)
    assert r.status == "optimal" and r.objective == 2
    heavy = solve_pmedian(cost, 2, weights=[1, 5, 1, 5])
    assert heavy.selected.tolist() == [1, 3] and heavy.objective == 2


def test_pmedian_merges_identical_rows_exactly() -> None:
    rng = np.random.default_rng(3)
    cost = rng.integers(1, 50, size=(8, 6)).astype(float)
    doubled = solve_pmedian(np.r_[cost, cost], 2)
    weighted = solve_pmedian(cost, 2, weights=np.full(8, 2.0))
    assert doubled.objective == weighted.objective
    assert doubled.assignment.size == 16


def test_pmedian_forced_site() -> None:
    x = np.array([0.0, 1, 10, 11])
    cost = np.abs(x[:, None] - x[None, :])
    r = solve_pmedian(cost, 2, forced=[2])
    assert 2 in r.selected and r.objective == 2


def test_pmedian_unreachable_row_is_explained() -> None:
    cost = np.array([[1.0, 2.0], [np.inf, np.inf]])
    with pytest.raises(InfeasibleError, match=r"rows 1\b"):
        solve_pmedian(cost, 1)
    # ... unless it carries no weight
    assert solve_pmedian(cost, 1, weights=[1, 0]).objective == 1


def test_pcenter_line() -> None:
    r = solve_pcenter(LINE, 2)
    assert r.status == "optimal" and r.objective == 1 and r.bound == 1
    assert solve_pcenter(LINE, 1).objective == 2


def test_time_limited_solves_never_claim_optimality() -> None:
    inst = read_pmed(ORLIB / "pmed" / "pmed16.txt")
    for result in (
        solve_pmedian(inst.cost, inst.p, time_limit=0.3),
        solve_pcenter(inst.cost, inst.p, time_limit=0.3),
    ):
        assert result.status == "time_limit"
        assert result.bound < result.objective and result.gap > 0
        assert "time limit" in result.message


# --- capacitated ---------------------------------------------------------------------------------


def test_capacity_splits_a_cluster() -> None:
    x = np.array([0.0, 1, 2, 20])
    cost = np.abs(x[:, None] - x[None, :])
    free = solve_pmedian(cost, 2)
    assert free.objective == 2  # a median at 1 serves 0, 1, 2
    capped = solve_capacitated_pmedian(cost, 2, demand=[1, 1, 1, 1], capacity=2)
    assert capped.status == "optimal"
    assert np.all(np.bincount(capped.assignment, minlength=4) <= 2)
    assert capped.objective == 19  # two of 0..2 at one median, the third joins 20's


def test_capacitated_pmedian_explains_why_it_cannot() -> None:
    with pytest.raises(InfeasibleError, match="total demand 6"):
        solve_capacitated_pmedian(LINE, 2, demand=np.full(5, 1.2), capacity=2.5)
    with pytest.raises(InfeasibleError, match="row 0: 3 > 2"):
        solve_capacitated_pmedian(LINE, 2, demand=[3, 0, 0, 0, 0], capacity=2)


def test_cflp_split_is_never_worse_than_single_source() -> None:
    cost = np.array([[1.0, 4.0], [1.0, 4.0], [2.0, 1.0]])
    args = (cost, [10.0, 10.0], [2.0, 2.0, 2.0], [3.0, 10.0])
    split = solve_cflp(*args)
    single = solve_cflp(*args, single_source=True)
    assert split.objective <= single.objective
    assert split.allocation is not None
    assert np.allclose(split.allocation.sum(axis=1), 1.0)


# --- the planner's models ------------------------------------------------------------------------

# Six demand rows, four candidates: 0 and 1 in the south, 2 in the north, 3 an existing home.
HOMES_COVER = np.array(
    [[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1], [0, 0, 0, 0]],
    dtype=bool,
)
HOMES_W = np.array([100.0, 50, 80, 60, 40, 10])


def _homes(**kw: object) -> HomeCandidates:
    args: dict[str, object] = {
        "min_beds": [100, 100, 100, 0],
        "max_beds": [300, 300, 300, 0],
        "existing_beds": [0, 0, 0, 50],
        "land_m2": [20000, np.inf, 40000, np.inf],
        "zone": ["south", "south", "north", "north"],
    }
    args.update(kw)
    return HomeCandidates(**args)  # type: ignore[arg-type]


def test_regional_homes_by_eye() -> None:
    t = HomeTargets(new_beds=200, nursing_share=0.6, land_quota_m2=24000, max_sites=2)
    r = site_regional_homes(HOMES_COVER, HOMES_W, HOMES_W * 0.05, _homes(), t)
    # The existing home covers row 4 (40); sites 0 and 1 add rows 0, 1, 2 (230).
    assert r.status == "optimal" and r.objective == 270 and r.baseline == 40
    assert r.selected.tolist() == [0, 1] and r.beds.tolist() == [100, 100, 0, 0]
    assert r.nursing_beds.sum() >= 0.6 * r.beds.sum()
    assert r.covered.tolist() == [1, 1, 1, 0, 1, 0] and r.assignment[5] == -1
    table = {row["candidate"]: row for row in r.explain()}
    assert table[0]["marginal_gain"] == 100 and table[1]["marginal_gain"] == 80
    assert table[0]["land_m2"] == 4000 and table[0]["land_mu"] == round(4000 / MU_M2, 2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_regional_homes_match_the_plain_milp(seed: int) -> None:
    """The LP-guided solve (LP bound, guided plans, restricted models) against HiGHS alone.

    600 rows and 40 candidates at random on a 30 x 30 km square, reach 5 km, beds for about as
    much demand as there is: where the homes go matters, and the LP spreads its beds.
    """
    from carecircle.locate._highs import _run
    from carecircle.planning import regional

    rng = np.random.default_rng(seed)
    rows, sites = rng.uniform(0, 30, (600, 2)), rng.uniform(0, 30, (40, 2))
    dist = np.hypot(*(rows[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
    w = rng.gamma(2.0, 50.0, 600)
    c = HomeCandidates(
        min_beds=np.full(40, 100), max_beds=np.full(40, 300), land_m2=rng.uniform(4e3, 12e3, 40)
    )
    t = HomeTargets(new_beds=600, land_quota_mu=60)
    r = site_regional_homes(dist, w, w * 0.01, c, t, threshold=5.0)
    cap, ok = regional._home_capacity(c, t)
    plain = regional._home_model(
        regional._reach_matrix(dist, 5.0), w, w * 0.01, c, t, np.zeros(40, bool), cap, ok
    )
    reference = _run(plain.model, time_limit=60, mip_gap=1e-9)
    assert reference.status == "optimal" and r.status == "optimal"
    assert r.objective == pytest.approx(reference.objective, rel=1e-6)
    assert 600 <= r.beds.sum() <= 1000 and r.land_m2.sum() <= 60 * MU_M2 + 1e-6


def test_capacity_limits_coverage() -> None:
    # One site of at most 100 beds; rows 0..2 need 60 beds each and all reach it.
    cover = np.ones((3, 1), dtype=bool)
    c = HomeCandidates(min_beds=[50], max_beds=[100])
    r = site_regional_homes(cover, [3.0, 2.0, 1.0], [60.0, 60.0, 60.0], c, HomeTargets())
    # the 100 beds go to the heaviest need first: all of row 0, 40/60 of row 1
    assert r.objective == pytest.approx(3 + 2 * 40 / 60)
    assert r.covered == pytest.approx([1.0, 40 / 60, 0.0])


def test_land_quota_below_the_bed_target_names_both_numbers() -> None:
    t = HomeTargets(new_beds=500, land_quota_mu=20)  # 500 beds × 40 m² = 20,000 m² > 13,333 m²
    with pytest.raises(InfeasibleError) as err:
        site_regional_homes(HOMES_COVER, HOMES_W, HOMES_W * 0.05, _homes(), t)
    text = str(err.value)
    assert "20000 m²" in text and "13333 m²（20.0 亩）" in text
    assert "500 beds needs 20,000 m²" in text and "quota of 13,333 m² (20.0 mu)" in text


def test_parcel_land_caps_the_beds() -> None:
    # site 0 has 4,000 m²: 100 beds at 40 m²; the target of 250 needs site 1 too
    c = _homes(land_m2=[4000, np.inf, 0, np.inf])
    r = site_regional_homes(HOMES_COVER, HOMES_W, HOMES_W * 0.05, c, HomeTargets(new_beds=250))
    assert r.beds[0] <= 100 and r.beds[2] == 0 and r.beds.sum() >= 250


def test_every_visible_infeasibility_is_listed() -> None:
    t = HomeTargets(new_beds=1000, max_sites=1, zone_limits={"north": (2, 3)})
    with pytest.raises(InfeasibleError) as err:
        site_regional_homes(HOMES_COVER, HOMES_W, HOMES_W, _homes(), t)
    text = str(err.value)
    assert "exceeds the 900 beds" in text
    assert "at most 1 sites can take at most 300 beds" in text
    assert "zone north needs at least 2 sites" in text


def test_zone_limits_and_nursing_capability_shape_the_plan() -> None:
    # Site 0 cannot host nursing beds; with a 100% nursing target the south must use site 1.
    c = _homes(max_nursing_share=[0.0, 1.0, 1.0, 1.0])
    t = HomeTargets(new_beds=100, nursing_share=1.0, zone_limits={"south": (1, 1)})
    r = site_regional_homes(HOMES_COVER, HOMES_W, HOMES_W * 0.05, c, t)
    assert 1 in r.selected and 0 not in r.selected


def test_budget_and_unknown_zone() -> None:
    c = _homes(cost_per_bed=[1000.0, 1000, 1000, 0])
    with pytest.raises(InfeasibleError, match="at least 200,000 yuan"):
        site_regional_homes(HOMES_COVER, HOMES_W, HOMES_W, c, HomeTargets(new_beds=200, budget=1e5))
    with pytest.raises(ValueError, match="zones present"):
        site_regional_homes(
            HOMES_COVER, HOMES_W, HOMES_W, c, HomeTargets(zone_limits={"east": (0, 1)})
        )


def test_coverage_as_seconds_needs_a_threshold() -> None:
    seconds = np.where(HOMES_COVER, 1200.0, 3600.0)
    with pytest.raises(ValueError, match="threshold"):
        site_regional_homes(seconds, HOMES_W, HOMES_W * 0.05, _homes(), HomeTargets())
    r = site_regional_homes(
        seconds, HOMES_W, HOMES_W * 0.05, _homes(), HomeTargets(max_sites=2), threshold=1800
    )
    assert r.objective == 270


def test_village_centres_prefer_existing_buildings() -> None:
    # Villages 0..2; candidate 0 (new) or 1 (an idle school) each reach all three.
    cover = np.ones((3, 3), dtype=bool)
    cover[:, 2] = [True, False, False]
    r = site_village_centres(cover, existing_building=[False, True, False])
    assert r.objective == 1 and r.selected.tolist() == [1]


def test_village_centres_report_unreachable_villages() -> None:
    cover = np.array([[True, False], [False, True], [False, False]])
    r = site_village_centres(cover, already_covered=[False, True, False])
    assert r.selected.tolist() == [0] and r.uncoverable.tolist() == [2]
    assert "need a new candidate site" in r.message


# --- OR-Library ----------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_orlib_pmedian_and_pcenter_optima(k: int) -> None:
    inst = read_pmed(ORLIB / "pmed" / f"pmed{k}.txt")
    median = read_optima(ORLIB / "pmed" / "pmedopt_from_nicholasio.txt")[inst.name]
    center = read_optima(ORLIB / "pmed" / "kcenteropt_from_timothy-ch-cheung.txt")[inst.name]
    r = solve_pmedian(inst.cost, inst.p)
    assert r.status == "optimal" and r.objective == median and r.selected.size == inst.p
    r = solve_pcenter(inst.cost, inst.p)
    assert r.status == "optimal" and r.objective == center


@pytest.mark.parametrize("k", [1, 2, 3])
def test_orlib_capacitated_pmedian_optima(k: int) -> None:
    inst = read_pmedcap(ORLIB / "pmedcap" / f"pmedcap{k:02d}.txt")
    r = solve_capacitated_pmedian(inst.cost, inst.p, inst.demand, inst.capacity)
    assert r.status == "optimal" and r.objective == pytest.approx(inst.optimum)
    load = np.bincount(r.assignment, weights=inst.demand, minlength=inst.n)
    assert np.all(load <= inst.capacity + 1e-9)


def test_orlib_cap41_split_demand() -> None:
    inst = read_cap(ORLIB / "cap" / "cap41.txt")
    r = solve_cflp(inst.cost, inst.fixed_cost, inst.demand, inst.capacity)
    assert r.status == "optimal" and r.objective == pytest.approx(1040444.375, abs=1e-3)


# --- properties ----------------------------------------------------------------------------------

costs = st.integers(min_value=3, max_value=9).flatmap(
    lambda n: st.integers(min_value=2, max_value=6).flatmap(
        lambda m: st.lists(
            st.integers(min_value=0, max_value=20), min_size=n * m, max_size=n * m
        ).map(lambda v: np.asarray(v, dtype=float).reshape(n, m))
    )
)


@settings(max_examples=40, deadline=None)
@given(cost=costs, radius=st.integers(0, 20), seed=st.integers(0, 2**16))
def test_mclp_coverage_never_falls_as_p_or_radius_grows(
    cost: np.ndarray, radius: int, seed: int
) -> None:
    w = np.random.default_rng(seed).integers(1, 10, cost.shape[0]).astype(float)
    m = cost.shape[1]
    by_p = [solve_mclp(cost, radius, p, w).objective for p in range(m + 1)]
    assert all(a <= b + 1e-9 for a, b in itertools.pairwise(by_p))
    by_r = [solve_mclp(cost, r, 1, w).objective for r in (radius, radius + 3, radius + 10)]
    assert all(a <= b + 1e-9 for a, b in itertools.pairwise(by_r))


@settings(max_examples=40, deadline=None)
@given(cost=costs, radius=st.integers(0, 20))
def test_lscp_covers_every_coverable_row(cost: np.ndarray, radius: int) -> None:
    r = solve_lscp(cost, radius)
    coverable = (cost <= radius).any(axis=1)
    assert r.status == "optimal"
    assert np.all(r.assignment[coverable] >= 0)
    rows = np.flatnonzero(coverable)
    assert np.all(cost[rows, r.assignment[rows]] <= radius)
    assert r.uncoverable.tolist() == np.flatnonzero(~coverable).tolist()


@settings(max_examples=30, deadline=None)
@given(cost=costs, seed=st.integers(0, 2**16))
def test_permuting_rows_or_columns_keeps_the_objective(cost: np.ndarray, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows, cols = rng.permutation(cost.shape[0]), rng.permutation(cost.shape[1])
    shuffled = cost[rows][:, cols]
    p = min(2, cost.shape[1])
    radius = float(np.median(cost))
    assert solve_pmedian(shuffled, p).objective == solve_pmedian(cost, p).objective
    assert solve_pcenter(shuffled, p).objective == solve_pcenter(cost, p).objective
    assert solve_mclp(shuffled, radius, p).objective == solve_mclp(cost, radius, p).objective
    assert solve_lscp(shuffled, radius).objective == solve_lscp(cost, radius).objective
