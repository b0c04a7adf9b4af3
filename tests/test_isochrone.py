"""Catchments, demand catchments and isochrone pieces on graphs small enough to check by eye."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from reach import assert_same_reach

from carecircle.engine import (
    Snap,
    TravelGraph,
    catchments,
    demand_catchments,
    isochrone,
    isochrone_segments,
    nearest_times,
)
from carecircle.errors import DataError
from carecircle.outputs.isochrones import isochrone_polygons, isochrones


def line(n: int = 5, step: float = 100.0, seconds: float = 100.0) -> TravelGraph:
    """Nodes 0..n-1 on the x axis ``step`` metres apart, ``seconds`` per hop both ways."""
    tail = [i for i in range(n - 1)] + [i + 1 for i in range(n - 1)]
    head = [i + 1 for i in range(n - 1)] + [i for i in range(n - 1)]
    x = np.arange(n) * step
    return TravelGraph.from_arrays(tail, head, [seconds] * len(tail), x, np.zeros(n))


def as_dict(matrix: object, row: int) -> dict[int, float]:
    r = matrix.getrow(row)  # type: ignore[attr-defined]
    return dict(zip(r.indices.tolist(), r.data.tolist(), strict=True))


# --- catchments ----------------------------------------------------------------------------------


def test_catchments_on_a_line() -> None:
    g = line()
    m = catchments(g, [0, 4, 2], 200.0)
    assert m.shape == (3, 5)
    assert as_dict(m, 0) == {0: 0.0, 1: 100.0, 2: 200.0}  # the threshold itself is within
    assert as_dict(m, 1) == {2: 200.0, 3: 100.0, 4: 0.0}
    assert as_dict(m, 2) == {0: 200.0, 1: 100.0, 2: 0.0, 3: 100.0, 4: 200.0}
    # A source's own node is stored even though its time is 0.
    assert m.nnz == 11


def test_access_legs_shrink_a_catchment() -> None:
    g = line()
    m = catchments(g, [0, 4, 1], 250.0, source_seconds=[60.0, 300.0, 0.0])
    assert as_dict(m, 0) == {0: 60.0, 1: 160.0}  # 60 s from the road to the door
    assert as_dict(m, 1) == {}  # its access leg alone is beyond the threshold
    assert as_dict(m, 2) == {0: 100.0, 1: 0.0, 2: 100.0, 3: 200.0}


def test_catchments_follow_one_way_streets() -> None:
    # 0 -> 1 -> 2 one way, 20 s each; back from 2 to 0 directly in 100 s.
    g = TravelGraph.from_arrays([0, 1, 2], [1, 2, 0], [20.0, 20.0, 100.0], [0, 10, 20], [0, 0, 0])
    to_source = catchments(g, [2], 60.0, direction="to")
    from_source = catchments(g, [2], 60.0, direction="from")
    assert as_dict(to_source, 0) == {0: 40.0, 1: 20.0, 2: 0.0}
    assert as_dict(from_source, 0) == {2: 0.0}


def test_bad_thresholds_and_sources_are_refused() -> None:
    with pytest.raises(DataError, match="max_seconds"):
        catchments(line(), [0], -1.0)
    with pytest.raises(DataError, match="node positions"):
        catchments(line(), [9], 10.0)


def test_small_batches_change_nothing() -> None:
    rng = np.random.default_rng(3)
    g = grid(12)
    sources = rng.choice(g.n_nodes, 30)
    # Some access legs beyond the threshold: empty rows between the batches.
    access = np.where(rng.random(30) < 0.2, 500.0, rng.uniform(0, 60, 30))
    whole = catchments(g, sources, 450.0, source_seconds=access)
    assert whole.nnz and np.diff(whole.indptr)[access > 450].sum() == 0
    for batch_nodes in (1, 10, 100):
        batched = catchments(g, sources, 450.0, source_seconds=access, batch_nodes=batch_nodes)
        np.testing.assert_array_equal(whole.indptr, batched.indptr)
        np.testing.assert_array_equal(whole.indices, batched.indices)
        np.testing.assert_array_equal(whole.data, batched.data)


def test_lookup_tables_filled_one_copy_at_a_time_change_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each copy's junctions are found in a table filled a group of copies at a time and never
    # cleared. With room for one copy, every entry but the current copy's is stale.
    rng = np.random.default_rng(4)
    g = grid(10, pieces=4)
    sources = rng.choice(g.n_nodes, 60)
    whole = catchments(g, sources, 450.0)
    monkeypatch.setattr(isochrone, "_TABLE", 1)
    small = catchments(g, sources, 450.0)
    assert g.chains.n_chains > 100 and whole.nnz > 1000 and (whole != small).nnz == 0
    np.testing.assert_array_equal(whole.indptr, small.indptr)


def test_locate_finds_the_keys_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = np.array([3, 7, 12, 33, 39])  # copy * 10 + junction: copies 0, 1 and 3
    monkeypatch.setattr(isochrone, "_TABLE", 10)  # one copy per table fill
    copies = np.array([0, 0, 1, 1, 2, 3, 3, 3])
    junctions = np.array([3, 2, 2, 3, 3, 3, 9, -1])
    (found,) = isochrone._locate(keys, 10, [(copies, junctions)])
    assert found.tolist() == [0, -1, 2, -1, -1, 3, 4, -1]


def test_batches_hold_at_most_batch_nodes_junctions() -> None:
    rng = np.random.default_rng(5)
    g = grid(12)
    sources = rng.choice(g.n_nodes, 30)
    radius = rng.uniform(0, 600, sources.size)
    radius[3] = np.inf
    xy = np.column_stack([g.x[sources], g.y[sources]])
    tree = g.junction_tree[1]
    for batch_nodes in (1, 50, 400, 10**6):
        batches = list(
            isochrone._batches_by_size(g, sources, radius, np.arange(sources.size), batch_nodes)
        )
        assert np.concatenate(batches).tolist() == list(range(sources.size))
        for b in batches:
            exact = tree.query_ball_point(xy[b], radius[b], return_length=True).sum()
            assert b.size == 1 or exact <= batch_nodes
    assert len(batches) == 1  # 10**6 junctions hold every disc at once


def grid(k: int, seed: int = 0, pieces: int = 1) -> TravelGraph:
    """A k x k street grid, 100 m blocks, random speeds between 0.8 and 1.2 m/s; each block side
    made of ``pieces`` arcs."""
    rng = np.random.default_rng(seed)
    idx = np.arange(k * k).reshape(k, k)
    pairs = np.concatenate(
        [
            np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()]),
            np.column_stack([idx[:-1].ravel(), idx[1:].ravel()]),
        ]
    )
    xs, ys = np.meshgrid(np.arange(k) * 100.0, np.arange(k) * 100.0)
    x, y = xs.ravel(), ys.ravel()
    if pieces > 1:  # each block side cut into pieces, as OSM shapes a street with nodes
        u, v = pairs[:, 0], pairs[:, 1]
        share = np.arange(1, pieces) / pieces
        extra = k * k + np.arange(len(pairs) * (pieces - 1)).reshape(len(pairs), pieces - 1)
        x = np.r_[x, (x[u, None] + share * (x[v] - x[u])[:, None]).ravel()]
        y = np.r_[y, (y[u, None] + share * (y[v] - y[u])[:, None]).ravel()]
        path = np.column_stack([u, extra, v])
        pairs = np.column_stack([path[:, :-1].ravel(), path[:, 1:].ravel()])
    seconds = 100.0 / pieces / rng.uniform(0.8, 1.2, len(pairs))
    return TravelGraph.from_arrays(
        np.r_[pairs[:, 0], pairs[:, 1]],
        np.r_[pairs[:, 1], pairs[:, 0]],
        np.r_[seconds, seconds],
        x,
        y,
    )


@st.composite
def graphs_with_sources(
    draw: st.DrawFn, min_seconds: float
) -> tuple[TravelGraph, list[int], list[float], float]:
    n = draw(st.integers(2, 20))
    arcs = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.floats(min_seconds, 300)),
            max_size=60,
        )
    )
    # Coordinates are drawn too. With zero-second arcs, some graphs have an arc faster than any
    # straight line allows, which takes the whole-graph path instead of the local search.
    xs = draw(st.lists(st.floats(0, 500), min_size=n, max_size=n))
    sources = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=6))
    offsets = draw(st.lists(st.floats(0, 200), min_size=len(sources), max_size=len(sources)))
    limit = draw(st.floats(0, 600))
    g = TravelGraph.from_arrays(
        [a[0] for a in arcs], [a[1] for a in arcs], [a[2] for a in arcs], xs, np.zeros(n)
    )
    return g, sources, offsets, limit


@settings(max_examples=100, deadline=None)
@given(st.one_of(graphs_with_sources(0.0), graphs_with_sources(0.5)))
def test_catchments_match_networkx(case: tuple[TravelGraph, list[int], list[float], float]) -> None:
    g, sources, offsets, limit = case
    m = catchments(g, sources, limit, source_seconds=offsets)
    D = nx.DiGraph()
    D.add_nodes_from(range(g.n_nodes))
    coo = g.csr_reversed.tocoo()
    D.add_weighted_edges_from(
        zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
    )
    for k, (s, o) in enumerate(zip(sources, offsets, strict=True)):
        want = {
            node: o + t
            for node, t in nx.single_source_dijkstra_path_length(D, s).items()
            if o + t <= limit
        }
        assert_same_reach(as_dict(m, k), want, limit)


# --- demand catchments ---------------------------------------------------------------------------


def test_demand_catchments_add_the_access_legs() -> None:
    g = line()
    node_catch = catchments(g, [0, 4], 300.0, source_seconds=[10.0, 0.0])
    # Four demand points: two at node 1 (5 s and 200 s from it), one off-network, one at node 3.
    demand = Snap(
        node=np.array([1, 1, -1, 3]),
        distance_m=np.array([5.0, 200.0, np.inf, 0.0]),
        access_s=np.array([5.0, 200.0, np.inf, 0.0]),
        status=np.array([0, 0, 2, 0], dtype=np.int8),
    )
    m = demand_catchments(node_catch, demand, 300.0)
    assert m.shape == (2, 4)
    assert as_dict(m, 0) == {0: 115.0}  # the second point's 310 s is beyond 300 s
    assert as_dict(m, 1) == {3: 100.0}
    # What the siting models take: demand x candidate.
    assert m.T.tocsr().shape == (4, 2)


def test_demand_catchments_agree_with_nearest_times() -> None:
    rng = np.random.default_rng(5)
    g = grid(10)
    cands = rng.choice(g.n_nodes, 12, replace=False)
    access = rng.uniform(0, 60, 12)
    px, py = rng.uniform(0, 900, 200), rng.uniform(0, 900, 200)
    from carecircle.engine import snap_points

    snap = snap_points(g, px, py, max_distance_m=80)
    m = demand_catchments(catchments(g, cands, 600.0, source_seconds=access), snap, 600.0)
    nearest, _ = nearest_times(g, cands, source_seconds=access)
    best = np.where(snap.node >= 0, snap.access_s + nearest[np.maximum(snap.node, 0)], np.inf)
    dense = np.full(m.shape, np.inf)
    coo = m.tocoo()
    dense[coo.row, coo.col] = coo.data
    from_matrix = dense.min(axis=0)
    within = best <= 600.0
    np.testing.assert_allclose(from_matrix[within], best[within], atol=1e-9)
    assert np.all(np.isinf(from_matrix[~within]))

    # Taken a few sources at a time, the matrix is the same, zero times included.
    sources = catchments(g, cands, 600.0, source_seconds=access)
    for batch_pairs in (1, 50, 10**9):
        part = demand_catchments(sources, snap, 600.0, batch_pairs=batch_pairs)
        assert part.shape == m.shape and part.nnz == m.nnz
        assert (part.indptr == m.indptr).all() and (part.indices == m.indices).all()
        assert (part.data == m.data).all()
    at_zero = Snap(
        node=np.array([cands[0]]),
        distance_m=np.zeros(1),
        access_s=np.zeros(1),
        status=np.zeros(1, dtype=np.int8),
    )
    zero = demand_catchments(catchments(g, cands[:3], 600.0), at_zero, 600.0, batch_pairs=1)
    assert zero.nnz >= 1 and zero[0, 0] == 0.0 and 0 in zero.getrow(0).indices
    none = demand_catchments(catchments(g, [], 600.0), snap, 600.0)
    assert none.shape == (0, snap.node.size) and none.nnz == 0


# --- isochrone pieces ----------------------------------------------------------------------------


def test_isochrone_cuts_partly_reached_arcs_where_time_runs_out() -> None:
    g = line(n=4)  # 0 -- 1 -- 2 -- 3, 100 m and 100 s per hop
    seconds, _ = nearest_times(g, [0])
    pieces = isochrone_segments(g, seconds, [150.0, 300.0, 0.0])
    half = pieces[150.0]
    # Arc 0-1 whole (once, although both directions reach it), then half of 1-2.
    assert half.full.tolist() == [True, False]
    assert [half.x0.tolist(), half.x1.tolist()] == [[0.0, 100.0], [100.0, 150.0]]
    assert pieces[300.0].full.all() and len(pieces[300.0]) == 3
    assert len(pieces[0.0]) == 0


def test_isochrone_on_one_way_streets() -> None:
    # 0 -> 1 -> 2 one way (100 m, 100 s each); the source is node 2.
    g = TravelGraph.from_arrays([0, 1], [1, 2], [100.0, 100.0], [0, 100, 200], [0, 0, 0])
    to_source, _ = nearest_times(g, [2], direction="to")
    p = isochrone_segments(g, to_source, [150.0], direction="to")[150.0]
    # Within 150 s of node 2: all of 1->2, and the last half of 0->1 (travelling on to 2).
    got = sorted(zip(p.x0.tolist(), p.x1.tolist(), strict=True))
    assert got == [(100.0, 50.0), (200.0, 100.0)]
    from_source, _ = nearest_times(g, [2], direction="from")
    assert len(isochrone_segments(g, from_source, [150.0], direction="from")[150.0]) == 0
    with pytest.raises(DataError, match="node_seconds"):
        isochrone_segments(g, [0.0], [1.0])


def test_polygons_for_5_10_15_minutes() -> None:
    g = line(n=30, step=60.0, seconds=60.0)  # 1 m/s, 60 m per hop, 1,740 m long
    seconds, _ = nearest_times(g, [0])
    gdf = isochrones(g, seconds, "EPSG:32650", buffer_m=10.0)
    assert gdf["minutes"].tolist() == [5.0, 10.0, 15.0]
    assert gdf.crs.to_epsg() == 32650
    for minutes, geom in zip(gdf["minutes"], gdf.geometry, strict=True):
        reach = minutes * 60.0  # metres along the line at 1 m/s
        assert geom.is_valid
        assert geom.bounds == pytest.approx((-10.0, -10.0, reach + 10.0, 10.0))
        assert geom.area == pytest.approx(reach * 20 + np.pi * 100, rel=0.02)
    assert gdf.geometry.iloc[0].within(gdf.geometry.iloc[2])


def test_polygons_of_nothing_are_empty() -> None:
    g = line()
    seconds = np.full(g.n_nodes, np.inf)
    gdf = isochrone_polygons(isochrone_segments(g, seconds, [300.0]), "EPSG:32650")
    assert gdf.geometry.iloc[0].is_empty
    with pytest.raises(DataError, match="buffer_m"):
        isochrone_polygons({}, "EPSG:32650", buffer_m=0)
    assert isinstance(gdf.geometry.iloc[0], shapely.Polygon)
