"""Floating-catchment and gravity access (carecircle.engine.accessibility) against hand-worked
values and the ``access`` package (PySAL spatial-access), its published examples and random
dense and sparse matrices."""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from access import Access
from access import weights as access_weights
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from carecircle.engine.accessibility import fca, gravity
from carecircle.errors import DataError

RTOL = 1e-9

# --- a hand-built 3 x 2 case -------------------------------------------------------------------
#
# Three villages (rows) and two care centres (columns), costs in minutes, catchment 30 minutes:
#
#              centre 0   centre 1      demand
#   village 0      5         25          100
#   village 1     15         35 (out)    200
#   village 2     --         10          300     (-- : no road; inf dense, missing sparse)
#   supply        10         20
HAND_COST = np.array([[5.0, 25.0], [15.0, 35.0], [np.inf, 10.0]])
HAND_SUPPLY = np.array([10.0, 20.0])
HAND_DEMAND = np.array([100.0, 200.0, 300.0])
HAND_STEPS = {10: 1.0, 20: 0.5, 30: 0.25}  # cost <= 10: 1, <= 20: 0.5, <= 30: 0.25


def _hand_sparse() -> sp.csr_array:
    finite = np.isfinite(HAND_COST)
    rows, cols = np.nonzero(finite)
    return sp.csr_array((HAND_COST[finite], (rows, cols)), shape=HAND_COST.shape)


@pytest.mark.parametrize("as_sparse", [False, True])
def test_hand_2sfca(as_sparse: bool) -> None:
    # step 1, demand in each centre's catchment:
    #   centre 0: villages 0, 1 -> 100 + 200 = 300, R0 = 10 / 300 = 1/30
    #   centre 1: villages 0, 2 -> 100 + 300 = 400, R1 = 20 / 400 = 1/20 (village 1 at 35 is out)
    # step 2, sum of the ratios in each village's catchment:
    #   A0 = 1/30 + 1/20 = 1/12;  A1 = 1/30;  A2 = 1/20
    cost = _hand_sparse() if as_sparse else HAND_COST
    got = fca(cost, HAND_SUPPLY, HAND_DEMAND, max_cost=30, method="2sfca")
    np.testing.assert_allclose(got, [1 / 12, 1 / 30, 1 / 20], rtol=1e-15)
    # supply is shared out, not created: sum_i D_i A_i = total supply
    assert HAND_DEMAND @ got == pytest.approx(HAND_SUPPLY.sum(), rel=1e-15)


@pytest.mark.parametrize("as_sparse", [False, True])
def test_hand_e2sfca(as_sparse: bool) -> None:
    # weights: W00 = 1 (5 <= 10), W01 = 0.25 (25 <= 30), W10 = 0.5 (15 <= 20), W21 = 1 (10 <= 10)
    # step 1 (the demand sum includes the weight):
    #   V0 = 100 * 1 + 200 * 0.5 = 200,      R0 = 10 / 200 = 1/20
    #   V1 = 100 * 0.25 + 300 * 1 = 325,     R1 = 20 / 325 = 4/65
    # step 2 (the same weights):
    #   A0 = 1 * 1/20 + 0.25 * 4/65 = 1/20 + 1/65 = 17/260
    #   A1 = 0.5 * 1/20 = 1/40
    #   A2 = 1 * 4/65 = 4/65
    cost = _hand_sparse() if as_sparse else HAND_COST
    got = fca(cost, HAND_SUPPLY, HAND_DEMAND, max_cost=30, method="e2sfca", weight=HAND_STEPS)
    np.testing.assert_allclose(got, [17 / 260, 1 / 40, 4 / 65], rtol=1e-15)
    # the same weights as a vectorised function of the cost
    as_function = fca(
        cost,
        HAND_SUPPLY,
        HAND_DEMAND,
        max_cost=30,
        method="e2sfca",
        weight=lambda c: np.select([c <= 10, c <= 20, c <= 30], [1.0, 0.5, 0.25], 0.0),
    )
    np.testing.assert_array_equal(as_function, got)
    assert HAND_DEMAND @ got == pytest.approx(HAND_SUPPLY.sum(), rel=1e-15)


@pytest.mark.parametrize("as_sparse", [False, True])
def test_hand_3sfca(as_sparse: bool) -> None:
    # selection weights G_ij = W_ij / sum of W over the centres in village i's reach:
    #   village 0: W = 1, 0.25 (sum 1.25) -> G00 = 0.8, G01 = 0.2
    #   village 1: W10 = 0.5 only -> G10 = 1;  village 2: W21 = 1 only -> G21 = 1
    # G * W: f00 = 0.8, f01 = 0.05, f10 = 0.5, f21 = 1
    # step 1: V0 = 100 * 0.8 + 200 * 0.5 = 180,   R0 = 10 / 180 = 1/18
    #         V1 = 100 * 0.05 + 300 * 1 = 305,    R1 = 20 / 305 = 4/61
    # step 2: A0 = 0.8 * 1/18 + 0.05 * 4/61 = 2/45 + 1/305 = 131/2745
    #         A1 = 0.5 * 1/18 = 1/36
    #         A2 = 1 * 4/61 = 4/61
    cost = _hand_sparse() if as_sparse else HAND_COST
    got = fca(cost, HAND_SUPPLY, HAND_DEMAND, max_cost=30, method="3sfca", weight=HAND_STEPS)
    np.testing.assert_allclose(got, [131 / 2745, 1 / 36, 4 / 61], rtol=1e-15)
    assert HAND_DEMAND @ got == pytest.approx(HAND_SUPPLY.sum(), rel=1e-15)
    # without a weight every centre in reach weighs 1, so G = 1 / (centres in reach):
    #   f00 = f01 = 0.5, f10 = 1, f21 = 1; V0 = 50 + 200 = 250, V1 = 50 + 300 = 350
    #   A0 = 0.5 * 10/250 + 0.5 * 20/350 = 1/50 + 1/35;  A1 = 10/250;  A2 = 20/350
    plain = fca(cost, HAND_SUPPLY, HAND_DEMAND, max_cost=30, method="3sfca")
    np.testing.assert_allclose(plain, [1 / 50 + 1 / 35, 1 / 25, 2 / 35], rtol=1e-15)


def test_hand_gravity() -> None:
    # Hansen: A_i = sum_j W_ij S_j with W = 1 / cost over every reachable pair (no cut-off):
    #   A0 = 10/5 + 20/25 = 2.8;  A1 = 10/15 + 20/35;  A2 = 20/10 = 2
    def decay(c: np.ndarray) -> np.ndarray:
        return 1.0 / c

    got = gravity(HAND_COST, HAND_SUPPLY, weight=decay)
    np.testing.assert_allclose(got, [2.8, 10 / 15 + 20 / 35, 2.0], rtol=1e-15)
    # competition-adjusted: V0 = 100/5 + 200/15 = 100/3, V1 = 100/25 + 200/35 + 300/10
    v0, v1 = 100 / 5 + 200 / 15, 100 / 25 + 200 / 35 + 300 / 10
    adjusted = gravity(HAND_COST, HAND_SUPPLY, weight=decay, demand=HAND_DEMAND)
    expected = [10 / 5 / v0 + 20 / 25 / v1, 10 / 15 / v0 + 20 / 35 / v1, 20 / 10 / v1]
    np.testing.assert_allclose(adjusted, expected, rtol=1e-14)
    # a cut-off at 30 drops village 1's 35-minute pair
    cut = gravity(HAND_COST, HAND_SUPPLY, weight=decay, max_cost=30)
    np.testing.assert_allclose(cut, [2.8, 10 / 15, 2.0], rtol=1e-15)


def test_nothing_in_reach_is_nan_and_zero_weights_are_zero() -> None:
    # village 3 reaches nothing within 30 (NaN); centre 2 is reached by nobody (changes nothing);
    # village 4 reaches centre 1 at 40, in the catchment of 45 but past the last step (weight 0).
    cost = np.array(
        [
            [5.0, 25.0, np.inf],
            [15.0, 35.0, np.inf],
            [np.inf, 10.0, np.inf],
            [np.inf, 60.0, np.inf],
            [np.inf, 40.0, np.inf],
        ]
    )
    supply, demand = np.array([10.0, 20.0, 99.0]), np.array([100.0, 200.0, 300.0, 7.0, 0.0])
    got = fca(cost, supply, demand, max_cost=30, method="2sfca")
    np.testing.assert_allclose(got[:3], [1 / 12, 1 / 30, 1 / 20], rtol=1e-15)
    assert math.isnan(got[3]) and math.isnan(got[4])
    steps = fca(cost, supply, demand, max_cost=45, method="e2sfca", weight=HAND_STEPS)
    assert math.isnan(steps[3]) and steps[4] == 0.0


def test_explicit_zero_cost_is_reachable() -> None:
    # a sparse matrix: (0, 0) stored with cost 0 (the centre is in the village), (1, 0) missing
    cost = sp.csr_array((np.array([0.0, 5.0]), (np.array([0, 2]), np.array([0, 0]))), shape=(3, 1))
    assert cost.nnz == 2
    got = fca(cost, [6.0], [1.0, 1.0, 2.0], max_cost=10)
    np.testing.assert_allclose(got, [2.0, np.nan, 2.0], rtol=1e-15)
    got = fca(cost, [6.0], [1.0, 1.0, 2.0], max_cost=0)
    np.testing.assert_allclose(got, [6.0, np.nan, np.nan], rtol=1e-15)


def test_zero_demand_in_reach_gives_inf_as_access_does() -> None:
    # centre 0 is reached only by a village with no older residents: 10 / 0 = inf
    cost = np.array([[5.0, np.inf], [np.inf, 5.0]])
    got = fca(cost, [10.0, 0.0], [0.0, 0.0], max_cost=10)
    assert got[0] == np.inf and got[1] == 0.0  # 0 / 0 counts as 0
    np.testing.assert_allclose(got, _access_fca(cost, [10.0, 0.0], [0.0, 0.0], 10, "2sfca"))


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cost": np.array([1.0, 2.0])}, "2-D"),
        ({"cost": np.array([[1.0, np.nan]])}, "NaN"),
        ({"cost": np.array([[1.0, -2.0]])}, "negative"),
        ({"cost": sp.csr_array(np.array([[1.0, -2.0]]))}, "negative"),
        ({"supply": [1.0, 2.0, 3.0]}, "supply must be 1-D with 2 values"),
        ({"supply": [1.0, -2.0]}, "supply has 1 negative"),
        ({"supply": [1.0, np.nan]}, "supply has 1 NaN"),
        ({"demand": [1.0, 2.0]}, "demand must be 1-D with 1 values"),
        ({"demand": [[1.0]], "supply": [1.0], "cost": np.array([[1.0]])}, "demand must be 1-D"),
        ({"demand": [-1.0]}, "negative"),
        ({"max_cost": -1.0}, "max_cost must be >= 0"),
        ({"max_cost": float("nan")}, "max_cost must be >= 0"),
        ({"max_cost": "far"}, "max_cost must be a number"),
        ({"method": "4sfca"}, "unknown method"),
        ({"weight": {10: 1.0}}, "2sfca takes no weight"),
        ({"method": "e2sfca"}, "e2sfca needs a weight"),
        ({"method": "e2sfca", "weight": {10: -1.0}}, "weights must be finite and >= 0"),
        ({"method": "e2sfca", "weight": {}}, "must not be empty"),
        ({"method": "e2sfca", "weight": {"near": 1.0}}, "step weights must map numbers"),
        ({"method": "3sfca", "weight": lambda c: 1.0 / c}, "minimum cost"),
        ({"method": "3sfca", "weight": lambda c: c[:1]}, "one weight per cost"),
        ({"method": "3sfca", "weight": 3}, "weight must be None, a mapping"),
    ],
)
def test_bad_inputs_are_refused_in_both_languages(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {
        "cost": np.array([[0.0, 1.0]]),
        "supply": [1.0, 2.0],
        "demand": [3.0],
        "max_cost": 5.0,
    }
    args.update(kwargs)
    with pytest.raises(DataError, match=message) as info:
        fca(args.pop("cost"), args.pop("supply"), args.pop("demand"), **args)
    assert isinstance(info.value, ValueError)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(info.value))  # Chinese first
    assert " / " in str(info.value)


def test_gravity_needs_a_weight_and_checks_demand() -> None:
    with pytest.raises(DataError, match="gravity needs a weight"):
        gravity(np.ones((1, 1)), [1.0], weight=None)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="demand must be 1-D with 1 values"):
        gravity(np.ones((1, 1)), [1.0], weight={1: 1.0}, demand=[1.0, 2.0])


# --- the access package as the reference -------------------------------------------------------


@contextlib.contextmanager
def _peer() -> Iterator[None]:
    """Run access quietly: pandas warns about access's own code (``inplace=``, ...)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"access(\.|$)")
        yield


def _pairs(cost: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if sp.issparse(cost):
        coo = sp.coo_array(sp.csr_array(cost))
        rows, cols, c = coo.row, coo.col, coo.data
    else:
        rows, cols = np.nonzero(np.isfinite(cost))
        c = cost[rows, cols]
    keep = np.isfinite(c)
    return rows[keep], cols[keep], c[keep]


def _access(cost: Any, supply: Any, demand: Any, keep_below: float | None = None) -> Access:
    """An ``access.Access`` on the (origin, dest, cost) pairs of a matrix; demand ids 0..n-1,
    supply ids n..n+m-1 (``access`` keys both by id); only pairs within ``keep_below`` if given."""
    n, m = cost.shape
    rows, cols, c = _pairs(cost)
    if keep_below is not None:
        rows, cols, c = rows[c <= keep_below], cols[c <= keep_below], c[c <= keep_below]
    return Access(
        demand_df=pd.DataFrame({"geoid": np.arange(n), "pop": np.asarray(demand, float)}),
        demand_index="geoid",
        demand_value="pop",
        supply_df=pd.DataFrame({"geoid": np.arange(m) + n, "beds": np.asarray(supply, float)}),
        supply_index="geoid",
        supply_value="beds",
        cost_df=pd.DataFrame({"origin": rows, "dest": cols + n, "cost": c}),
        cost_origin="origin",
        cost_dest="dest",
        cost_name="cost",
    )


def _column(frame: pd.DataFrame, n: int) -> np.ndarray:
    values = frame.iloc[:, -1]
    return values.reindex(np.arange(n)).to_numpy(dtype=np.float64)


def _access_fca(
    cost: Any,
    supply: Any,
    demand: Any,
    max_cost: float,
    method: str,
    weight_fn: Callable[[float], float] | None = None,
    *,
    reach_only: bool = False,
) -> np.ndarray:
    n = cost.shape[0]
    with _peer():
        a = _access(cost, supply, demand, keep_below=max_cost if reach_only else None)
        if method == "2sfca":
            return _column(a.two_stage_fca(name="x", max_cost=max_cost), n)
        if method == "e2sfca":
            return _column(
                a.enhanced_two_stage_fca(name="x", max_cost=max_cost, weight_fn=weight_fn), n
            )
        fn = weight_fn if weight_fn is not None else (lambda c: 1.0)
        return _column(a.three_stage_fca(name="x", max_cost=max_cost, weight_fn=fn), n)


def _access_gravity(
    cost: Any,
    supply: Any,
    weight_fn: Callable[[float], float],
    demand: Any = None,
    max_cost: float | None = None,
) -> np.ndarray:
    n = cost.shape[0]
    with _peer():
        a = _access(cost, supply, np.ones(n) if demand is None else demand)
        if demand is None:
            return _column(
                a.weighted_catchment(name="g", weight_fn=weight_fn, max_cost=max_cost), n
            )
        return _column(a.two_stage_fca(name="g", weight_fn=weight_fn, max_cost=max_cost), n)


# access's published hospital example (access/tests/test_hospital_example.py): three tracts that
# are both demand and supply, four traffic scenarios, 2SFCA and 3SFCA with a gravity weight
# (scale 1, power -1), max_cost 61. Cost rows are origins, columns destinations.
HOSPITAL_POP = np.array([100.0, 50.0, 10.0])
HOSPITAL_DOCS = np.array([15.0, 20.0, 100.0])
HOSPITAL_COSTS = {
    "gridlock": [[1, 80, 40], [80, 1, 40], [40, 40, 1]],
    "faster inbound": [[1, 80, 20], [80, 1, 20], [40, 40, 1]],
    "faster outbound": [[1, 80, 40], [80, 1, 40], [20, 20, 1]],
    "symmetric, faster": [[1, 40, 20], [40, 1, 20], [20, 20, 1]],
}


def _hospital_access(cost: np.ndarray) -> Access:
    """The example exactly as published: one table of tracts for both demand and supply."""
    pairs = [
        {"origin": i + 1, "dest": j + 1, "cost": float(cost[i, j])}
        for i in range(3)
        for j in range(3)
    ]
    tracts = pd.DataFrame({"geoid": [1, 2, 3], "pop": HOSPITAL_POP, "doc": HOSPITAL_DOCS})
    return Access(
        demand_df=tracts,
        demand_index="geoid",
        demand_value="pop",
        supply_df=tracts,
        supply_index="geoid",
        supply_value="doc",
        cost_df=pd.DataFrame(pairs),
        cost_origin="origin",
        cost_dest="dest",
        cost_name="cost",
    )


def _inverse(c: np.ndarray) -> np.ndarray:
    return np.power(np.maximum(c, 0.0) / 1.0, -1.0)  # access.weights.gravity(1, -1), vectorised


@pytest.mark.parametrize("scenario", list(HOSPITAL_COSTS))
def test_access_hospital_example_2sfca(scenario: str) -> None:
    cost = np.array(HOSPITAL_COSTS[scenario], dtype=float)
    with _peer():
        frame = _hospital_access(cost).two_stage_fca(
            name="2sfca", weight_fn=access_weights.gravity(1, -1), max_cost=61
        )
    expected = frame["2sfca_doc"].to_numpy()
    for got in (
        fca(cost, HOSPITAL_DOCS, HOSPITAL_POP, max_cost=61, method="e2sfca", weight=_inverse),
        gravity(cost, HOSPITAL_DOCS, weight=_inverse, demand=HOSPITAL_POP, max_cost=61),
        fca(
            sp.csr_array(cost),
            HOSPITAL_DOCS,
            HOSPITAL_POP,
            max_cost=61,
            method="e2sfca",
            weight=_inverse,
        ),
    ):
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=0)


@pytest.mark.parametrize("scenario", list(HOSPITAL_COSTS))
def test_access_hospital_example_3sfca(scenario: str) -> None:
    cost = np.array(HOSPITAL_COSTS[scenario], dtype=float)
    got = fca(cost, HOSPITAL_DOCS, HOSPITAL_POP, max_cost=61, method="3sfca", weight=_inverse)
    with _peer():
        frame = _hospital_access(cost).three_stage_fca(
            name="3sfca", weight_fn=access_weights.gravity(1, -1), max_cost=61
        )
    published = frame["3sfca_doc"].to_numpy()
    # access sums the selection weights over every pair of its table; Wan et al. (and carecircle)
    # over the pairs in reach. Given only the pairs in reach, access agrees to 1e-9 everywhere ...
    in_reach = np.where(cost <= 61, cost, np.inf)
    np.testing.assert_allclose(got, _hospital_3sfca_in_reach(in_reach), rtol=RTOL, atol=0)
    if (cost <= 61).all():
        # ... and on the published table when every pair is in reach (the symmetric scenario)
        np.testing.assert_allclose(got, published, rtol=RTOL, atol=0)
    else:
        # the 80-minute cross-city pairs lie beyond 61 but still dilute access's G: results
        # differ by up to 0.2 % here
        assert 1e-5 < np.max(np.abs(got / published - 1)) < 1e-2


def _hospital_3sfca_in_reach(cost: np.ndarray) -> np.ndarray:
    return _access_fca(
        cost,
        HOSPITAL_DOCS,
        HOSPITAL_POP,
        61,
        "3sfca",
        access_weights.gravity(1, -1),
        reach_only=True,
    )


def _grid_case() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """access/tests/test_floating_catchment_area.py: a 5 x 5 grid of unit supply, five of its
    points (here a fixed draw) as unit demand, Euclidean costs."""
    xy = np.array([(x, y) for x in range(5) for y in range(5)], dtype=float)
    demand_at = np.random.default_rng(44).choice(25, size=5, replace=False)
    cost = np.hypot(*(xy[demand_at, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    return cost, np.ones(25), np.ones(5)


@pytest.mark.parametrize(
    ("method", "weight", "access_weight", "max_cost", "published"),
    [
        ("2sfca", None, None, 100.0, 5.0),  # "large catchment": every supply in reach
        ("2sfca", None, None, 0.9, 1.0),  # "small catchment": only the point itself
        (
            "e2sfca",
            {10: 1, 20: 0.68, 30: 0.22},
            access_weights.step_fn({10: 1, 20: 0.68, 30: 0.22}),
            100.0,
            5.0,
        ),
        (
            "e2sfca",
            {10: 1, 20: 0.68, 30: 0.22},
            access_weights.step_fn({10: 1, 20: 0.68, 30: 0.22}),
            0.9,
            1.0,
        ),
        ("3sfca", {10: 25}, access_weights.step_fn({10: 25}), 100.0, 5.0),
        ("3sfca", {10: 25}, access_weights.step_fn({10: 25}), 0.9, 1.0),
    ],
)
def test_access_grid_examples(
    method: str, weight: Any, access_weight: Any, max_cost: float, published: float
) -> None:
    cost, supply, demand = _grid_case()
    got = fca(cost, supply, demand, max_cost=max_cost, method=method, weight=weight)  # type: ignore[arg-type]
    np.testing.assert_allclose(got, published, rtol=RTOL)
    expected = _access_fca(
        cost, supply, demand, max_cost, method, access_weight, reach_only=method == "3sfca"
    )
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=0)


# --- random matrices against access ------------------------------------------------------------

COSTS = st.one_of(
    st.just(np.inf),
    st.just(0.0),
    st.integers(0, 60).map(float),  # hits the thresholds exactly (inclusive)
    st.floats(0.0, 80.0, allow_nan=False),
)
AMOUNTS = st.one_of(st.just(0.0), st.floats(0.0, 500.0, allow_nan=False))


@st.composite
def problems(draw: st.DrawFn) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray]:
    n, m = draw(st.integers(1, 9)), draw(st.integers(1, 6))
    cost = draw(arrays(np.float64, (n, m), elements=COSTS))
    if draw(st.booleans()):
        cost[draw(st.integers(0, n - 1)), :] = np.inf  # a row with nothing reachable
    if draw(st.booleans()):
        cost[:, draw(st.integers(0, m - 1))] = np.inf  # a column nobody reaches
    supply = draw(arrays(np.float64, m, elements=AMOUNTS))
    demand = draw(arrays(np.float64, n, elements=AMOUNTS))
    if draw(st.booleans()):
        rows, cols = np.nonzero(np.isfinite(cost))
        matrix: Any = sp.csr_array((cost[rows, cols], (rows, cols)), shape=(n, m))
    else:
        matrix = cost
    return matrix, cost, supply, demand


STEPS = st.dictionaries(
    st.integers(1, 70).map(float), st.floats(0.0, 2.0, allow_nan=False), min_size=1, max_size=4
)


def _close(got: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=0, equal_nan=True)


@settings(max_examples=40, deadline=None)
@given(problems(), st.floats(0.0, 70.0, allow_nan=False))
def test_random_2sfca_matches_access(case: Any, max_cost: float) -> None:
    matrix, cost, supply, demand = case
    got = fca(matrix, supply, demand, max_cost=max_cost)
    _close(got, _access_fca(cost, supply, demand, max_cost, "2sfca"))
    np.testing.assert_array_equal(got, fca(cost, supply, demand, max_cost=max_cost))


@settings(max_examples=40, deadline=None)
@given(problems(), st.floats(0.0, 70.0, allow_nan=False), STEPS)
def test_random_e2sfca_matches_access(
    case: Any, max_cost: float, steps: dict[float, float]
) -> None:
    matrix, cost, supply, demand = case
    got = fca(matrix, supply, demand, max_cost=max_cost, method="e2sfca", weight=steps)
    _close(
        got, _access_fca(cost, supply, demand, max_cost, "e2sfca", access_weights.step_fn(steps))
    )


@settings(max_examples=40, deadline=None)
@given(problems(), st.floats(0.0, 70.0, allow_nan=False), st.one_of(st.none(), STEPS))
def test_random_3sfca_matches_access_on_pairs_in_reach(
    case: Any, max_cost: float, steps: dict[float, float] | None
) -> None:
    matrix, cost, supply, demand = case
    got = fca(matrix, supply, demand, max_cost=max_cost, method="3sfca", weight=steps)
    fn = None if steps is None else access_weights.step_fn(steps)
    _close(got, _access_fca(cost, supply, demand, max_cost, "3sfca", fn, reach_only=True))
    if steps is not None and max(steps) <= max_cost:
        # weights are 0 beyond max_cost: access's G over its whole table is the same
        _close(got, _access_fca(cost, supply, demand, max_cost, "3sfca", fn))


@settings(max_examples=40, deadline=None)
@given(
    problems(),
    st.one_of(st.none(), st.floats(0.0, 70.0, allow_nan=False)),
    st.floats(5.0, 40.0),
    st.booleans(),
)
def test_random_gravity_matches_access(
    case: Any, max_cost: float | None, sigma: float, competition: bool
) -> None:
    matrix, cost, supply, demand = case
    decay = access_weights.gaussian(sigma)  # vectorised already: exp(-x^2 / 2 sigma^2)
    got = gravity(
        matrix, supply, weight=decay, demand=demand if competition else None, max_cost=max_cost
    )
    expected = _access_gravity(cost, supply, decay, demand if competition else None, max_cost)
    _close(got, expected)


@settings(max_examples=40, deadline=None)
@given(problems(), st.floats(0.0, 70.0, allow_nan=False), st.sampled_from(["2sfca", "3sfca"]))
def test_supply_is_shared_out_not_created(case: Any, max_cost: float, method: str) -> None:
    # sum_i D_i A_i = the supply of the centres whose weighted demand in reach is positive
    matrix, cost, supply, demand = case
    got = fca(matrix, supply, demand, max_cost=max_cost, method=method)  # type: ignore[arg-type]
    assume(np.isfinite(got[demand > 0]).all())  # no overflow (supply / a subnormal demand)
    in_reach = cost <= max_cost
    served = (demand[:, None] * in_reach).sum(axis=0) > 0
    total = float(np.nansum(demand * np.where(np.isinf(got), 0.0, got)))
    assert total == pytest.approx(supply[served].sum(), rel=1e-9, abs=1e-9)
