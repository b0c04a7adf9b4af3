"""The engine on hand-built graphs whose answers can be checked by eye, and against networkx."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carecircle.engine import (
    Labels,
    RoadTable,
    Snap,
    TravelGraph,
    covered_share,
    nearest_times,
    segment_seconds,
    snap_points,
)
from carecircle.engine.roads import maxspeed_kmh, road_table_from_networkx
from carecircle.errors import DataError


def line_graph() -> TravelGraph:
    """0 -- 1 -- 2 -- 3 on a line, 100 m apart, 100 s per hop both ways."""
    tail = [0, 1, 1, 2, 2, 3]
    head = [1, 0, 2, 1, 3, 2]
    return TravelGraph.from_arrays(tail, head, [100.0] * 6, [0, 100, 200, 300], [0, 0, 0, 0])


def test_nearest_times_on_a_line() -> None:
    g = line_graph()
    seconds, nearest = nearest_times(g, [0, 3])
    assert seconds.tolist() == [0, 100, 100, 0]
    assert nearest[[0, 1, 3]].tolist() == [0, 0, 1]
    assert nearest[2] in (0, 1) or nearest[2] == 1


def test_source_offsets_shift_the_split() -> None:
    g = line_graph()
    # Source 0 needs 150 s from the road to its door: node 1 is now closer to source 1 (at 3).
    seconds, nearest = nearest_times(g, [0, 3], source_seconds=[150.0, 0.0])
    assert seconds.tolist() == pytest.approx([150, 200, 100, 0])
    assert nearest.tolist() == [0, 1, 1, 1]


def test_unreachable_and_limit() -> None:
    g = TravelGraph.from_arrays([0, 1], [1, 0], [10.0, 10.0], [0, 1, 5], [0, 0, 0])
    seconds, nearest = nearest_times(g, [0])
    assert seconds[2] == np.inf and nearest[2] == -1
    seconds, nearest = nearest_times(g, [0], limit=5.0)
    assert seconds[1] == np.inf and nearest[1] == -1


def test_one_way_direction() -> None:
    # 0 -> 1 costs 10 s, 1 -> 0 costs 50 s (a detour around a one-way street).
    g = TravelGraph.from_arrays([0, 1], [1, 0], [10.0, 50.0], [0, 1], [0, 0])
    to_source, _ = nearest_times(g, [1], direction="to")
    from_source, _ = nearest_times(g, [1], direction="from")
    assert to_source[0] == pytest.approx(10.0)
    assert from_source[0] == pytest.approx(50.0)


def test_parallel_arcs_keep_the_fastest_and_loops_go() -> None:
    g = TravelGraph.from_arrays([0, 0, 0, 1], [1, 1, 0, 0], [30.0, 20.0, 5.0, 20.0], [0, 1], [0, 0])
    assert g.n_arcs == 2
    seconds, _ = nearest_times(g, [1])
    assert seconds[0] == pytest.approx(20.0)


def test_zero_length_arcs_are_kept() -> None:
    g = TravelGraph.from_arrays(
        [0, 1, 1, 2], [1, 0, 2, 1], [0.0, 0.0, 7.0, 7.0], [0, 0, 7], [0, 0, 0]
    )
    seconds, _ = nearest_times(g, [2])
    assert seconds[0] == pytest.approx(7.0, abs=1e-6)


def test_bad_arrays_are_refused() -> None:
    with pytest.raises(DataError, match="negative"):
        TravelGraph.from_arrays([0], [1], [-1.0], [0, 1], [0, 0])
    with pytest.raises(DataError, match="node positions"):
        TravelGraph.from_arrays([0], [5], [1.0], [0, 1], [0, 0])
    with pytest.raises(DataError, match="source_seconds"):
        nearest_times(line_graph(), [0, 1], source_seconds=[1.0])


def test_snapping_prefers_the_main_network() -> None:
    # Main network: nodes 0-1-2-3 on y=0. Island: nodes 4-5 at y=60 (a stray footway fragment).
    tail = [0, 1, 1, 2, 2, 3, 4, 5]
    head = [1, 0, 2, 1, 3, 2, 5, 4]
    g = TravelGraph.from_arrays(
        tail, head, [100.0] * 8, [0, 100, 200, 300, 1000, 1010], [0, 0, 0, 0, 60, 60]
    )
    assert g.islands() == {"components": 2, "main_component_nodes": 4, "island_nodes": 2}
    snap = snap_points(
        g, [100, 1000, 1009, 5000], [50, 55, 400, 0], max_distance_m=500, walk_speed_mps=1.0
    )
    # Points 1 and 2 are ~700 m from the main network and within 500 m of the island only.
    assert snap.status.tolist() == [Snap.MAIN, Snap.ISLAND, Snap.ISLAND, Snap.OFF_NETWORK]
    assert snap.node[:3].tolist() == [1, 4, 5]
    assert snap.access_s[0] == pytest.approx(50.0)
    assert snap.node[3] == -1 and snap.access_s[3] == np.inf
    assert snap.distance_m[3] == pytest.approx(np.hypot(5000 - 1010, 60))
    assert snap.counts() == {"main": 1, "island": 2, "off_network": 1}
    # A point within reach of both prefers the main network even when the island is nearer.
    near_both = snap_points(g, [300], [40], max_distance_m=500)
    assert near_both.node.tolist() == [3] and near_both.status.tolist() == [Snap.MAIN]


def test_from_networkx_modes() -> None:
    G = nx.MultiDiGraph(crs="EPSG:32651")
    for n, x in enumerate([0.0, 100.0, 200.0, 300.0]):
        G.add_node(n + 10, x=x, y=0.0)
    # A one-way residential street 10 -> 11, a two-way motorway 11 <-> 12, a footway 12 <-> 13.
    G.add_edge(10, 11, highway="residential", oneway=True, length=100.0)
    G.add_edge(11, 12, highway="motorway", length=100.0, maxspeed="72")
    G.add_edge(12, 11, highway="motorway", length=100.0, maxspeed="72")
    G.add_edge(12, 13, highway="footway", length=100.0)
    G.add_edge(13, 12, highway="footway", length=100.0)
    walk = TravelGraph.from_networkx(G, mode="walk", walk_speed_mps=1.0)
    drive = TravelGraph.from_networkx(G, mode="drive")
    # Walking: both ways along the street, never on the motorway.
    assert walk.n_arcs == 4
    assert walk.node_ids.tolist() == [10, 11, 12, 13]
    s, _ = nearest_times(walk, [0])
    assert s[1] == pytest.approx(100.0) and s[2] == np.inf
    # Driving: the street one way only (25 km/h), the motorway at its maxspeed (72 km/h = 20 m/s).
    assert drive.n_arcs == 3
    s_from, _ = nearest_times(drive, [0], direction="from")
    assert s_from[1] == pytest.approx(100 / (25 / 3.6))
    assert s_from[2] == pytest.approx(100 / (25 / 3.6) + 5.0)
    s_to, _ = nearest_times(drive, [0], direction="to")
    assert s_to[1] == np.inf


def test_access_tags_close_edges() -> None:
    G = nx.MultiDiGraph()
    G.add_node(1, x=0.0, y=0.0)
    G.add_node(2, x=10.0, y=0.0)
    G.add_edge(1, 2, highway="service", access="private", length=10.0)
    G.add_edge(2, 1, highway="service", access="private", foot="yes", length=10.0)
    assert TravelGraph.from_networkx(G, mode="drive").n_arcs == 0
    assert (
        TravelGraph.from_networkx(G, mode="walk").n_arcs == 2
    )  # foot=yes opens one; walking is two-way


def test_covered_share_by_group() -> None:
    total, covered, share = covered_share(
        [100, 900, 901, np.inf, 5], [1, 2, 3, 4, 0], np.array([0, 0, 1, 1, -1]), 3, 900
    )
    assert total.tolist() == [3, 7, 0]
    assert covered.tolist() == [3, 0, 0]
    assert share[0] == 1.0 and share[1] == 0.0 and np.isnan(share[2])


@st.composite
def random_graphs(
    draw: st.DrawFn,
) -> tuple[int, list[tuple[int, int, float]], list[int], list[float]]:
    n = draw(st.integers(2, 25))
    arcs = draw(
        st.lists(
            st.tuples(
                st.integers(0, n - 1), st.integers(0, n - 1), st.floats(0, 500, allow_nan=False)
            ),
            max_size=80,
        )
    )
    sources = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=5))
    offsets = draw(
        st.lists(st.floats(0, 100, allow_nan=False), min_size=len(sources), max_size=len(sources))
    )
    return n, arcs, sources, offsets


@settings(max_examples=150, deadline=None)
@given(random_graphs())
def test_nearest_times_match_networkx(
    case: tuple[int, list[tuple[int, int, float]], list[int], list[float]],
) -> None:
    n, arcs, sources, offsets = case
    g = TravelGraph.from_arrays(
        [a[0] for a in arcs],
        [a[1] for a in arcs],
        [a[2] for a in arcs],
        np.arange(n, dtype=float),
        np.zeros(n),
    )
    seconds, nearest = nearest_times(g, sources, source_seconds=offsets)
    # Independent answer: networkx on the reversed graph from a super source.
    D = nx.DiGraph()
    D.add_nodes_from(range(n))
    for u, v, w in arcs:
        if u != v and (not D.has_edge(v, u) or D[v][u]["weight"] > w):
            D.add_edge(v, u, weight=w)
    for k, (s, o) in enumerate(zip(sources, offsets, strict=True)):
        if not D.has_edge("S", s) or D["S"][s]["weight"] > o:
            D.add_edge("S", s, weight=o, k=k)
    expected = nx.single_source_dijkstra_path_length(D, "S")
    for node in range(n):
        if node in expected:
            assert seconds[node] == pytest.approx(expected[node], abs=1e-6)
            k = nearest[node]
            # The named source really achieves the time: offset + its own distance to the node.
            own = nx.single_source_dijkstra_path_length(D, sources[k]).get(node, np.inf)
            assert offsets[k] + own == pytest.approx(seconds[node], abs=1e-6)
        else:
            assert seconds[node] == np.inf and nearest[node] == -1


# --- road tables and the mode rules --------------------------------------------------------------


def road_table(rows: list[dict[str, object]], n_nodes: int) -> RoadTable:
    """Segments i -> i+1 ... given as dicts: u, v, length, oneway and any tags."""
    keys = sorted({k for r in rows for k in r} - {"u", "v", "length", "oneway", "highway"})
    keys = [k for k in keys if k != "maxspeed"]
    return RoadTable(
        node_ids=np.arange(n_nodes) + 100,
        x=np.arange(n_nodes, dtype=float) * 100,
        y=np.zeros(n_nodes),
        u=np.array([r["u"] for r in rows], dtype=np.int64),
        v=np.array([r["v"] for r in rows], dtype=np.int64),
        length_m=np.array([r.get("length", 100.0) for r in rows], dtype=float),
        oneway=np.array([bool(r.get("oneway", False)) for r in rows]),
        highway=Labels.from_values([r.get("highway") for r in rows]),
        maxspeed_kmh=np.array([maxspeed_kmh(r.get("maxspeed")) for r in rows]),
        tags={k: Labels.from_values([r.get(k) for r in rows]) for k in keys},
    )


def test_maxspeed_parsing() -> None:
    assert maxspeed_kmh("60") == 60 and maxspeed_kmh("60 km/h") == 60
    assert maxspeed_kmh("30 mph") == pytest.approx(48.28032)
    assert maxspeed_kmh("40;60") == 40 and maxspeed_kmh(["80", "60"]) == 60
    for nothing in (None, "none", "signals", "0", ""):
        assert np.isnan(maxspeed_kmh(nothing))


def test_labels_store_each_value_once() -> None:
    lab = Labels.from_values(["a", None, "b", "a", float("nan")])
    assert lab.levels == ("a", "b") and lab.codes.tolist() == [0, -1, 1, 0, -1]
    assert lab.isin({"a"}).tolist() == [True, False, False, True, False]
    assert lab.values().tolist() == ["a", None, "b", "a", None]
    assert lab.take([2, 3]).values().tolist() == ["b", "a"]
    assert len(Labels.absent(3)) == 3 and not Labels.absent(3).present().any()


def test_mode_rules_by_segment() -> None:
    rows: list[dict[str, object]] = [
        {"u": 0, "v": 1, "highway": "primary", "maxspeed": "72"},  # 20 m/s by car
        {"u": 1, "v": 2, "highway": "residential"},  # 25 km/h by class
        {"u": 2, "v": 3, "highway": "footway", "access": "no", "foot": "yes"},  # walkers only
        {"u": 3, "v": 4, "highway": "service", "access": "private"},  # nobody
        {"u": 4, "v": 5, "highway": "motorway", "maxspeed": "30 mph"},  # cars only
        {"u": 5, "v": 6, "highway": "pedestrian", "area": "yes"},  # a square, not a way
        {"u": 6, "v": 7, "highway": "weird_class"},  # unknown class: as "road"
        {"u": 7, "v": 8, "highway": "tertiary", "maxspeed": "8"},  # e-bikes keep to 8 km/h
        {"u": 8, "v": 9},  # no highway tag
    ]
    roads = road_table(rows, 10)
    walk = segment_seconds(roads, "walk", walk_speed_mps=0.8)
    ebike = segment_seconds(roads, "ebike", ebike_speed_kmh=12.0)
    drive = segment_seconds(roads, "drive", drive_speeds_kmh={"residential": 36.0})
    nan = np.nan
    np.testing.assert_allclose(walk, [125, 125, 125, nan, nan, nan, 125, 125, nan])
    np.testing.assert_allclose(ebike, [30, 30, nan, nan, nan, nan, 30, 45, nan])
    np.testing.assert_allclose(
        drive, [5, 10, nan, nan, 100 / (30 * 1.609344 / 3.6), nan, 12, 45, nan]
    )
    with pytest.raises(DataError, match="unknown travel mode"):
        segment_seconds(roads, "bus")  # type: ignore[arg-type]


def test_one_way_segments_bind_vehicles_not_walkers() -> None:
    roads = road_table(
        [
            {"u": 0, "v": 1, "highway": "residential", "oneway": True},
            {"u": 1, "v": 2, "highway": "residential"},
        ],
        3,
    )
    walk = TravelGraph.from_roads(roads, mode="walk")
    drive = TravelGraph.from_roads(roads, mode="drive")
    assert walk.n_arcs == 4 and drive.n_arcs == 3
    assert drive.node_ids.tolist() == [100, 101, 102]
    assert drive.metadata == {"edges_in": 2, "edges_excluded_for_mode": 0}
    s, _ = nearest_times(drive, [0], direction="to")
    assert s[1] == np.inf and s[2] == np.inf  # nobody drives back against the one-way
    s, _ = nearest_times(drive, [0], direction="from")
    assert s[2] == pytest.approx(2 * 100 / (25 / 3.6))


def test_networkx_graphs_become_the_same_table() -> None:
    """osmnx's twin edges of a two-way way become one two-way segment; one-way edges stay."""
    G = nx.MultiDiGraph()
    for n in range(3):
        G.add_node(n + 1, x=float(n), y=0.0)
    tags = {"highway": "residential", "length": 50.0, "name": "环城路"}
    G.add_edge(1, 2, oneway=False, reversed=False, **tags)
    G.add_edge(2, 1, oneway=False, reversed=True, **tags)
    G.add_edge(2, 3, oneway=True, reversed=False, maxspeed=["30", "50"], **tags)
    roads = road_table_from_networkx(G)
    assert roads.n_segments == 2
    assert roads.oneway.tolist() == [False, True]
    assert roads.maxspeed_kmh[1] == 30 and roads.tag("name").values().tolist() == ["环城路"] * 2
    for mode in ("walk", "ebike", "drive"):
        a = TravelGraph.from_networkx(G, mode=mode)  # type: ignore[arg-type]
        b = TravelGraph.from_roads(roads, mode=mode)  # type: ignore[arg-type]
        np.testing.assert_array_equal(a.indptr, b.indptr)
        np.testing.assert_array_equal(a.seconds, b.seconds)
    with pytest.raises(DataError, match="no nodes"):
        road_table_from_networkx(nx.MultiDiGraph())


def test_road_table_checks_its_arrays() -> None:
    good = road_table([{"u": 0, "v": 1, "highway": "path"}], 2)
    with pytest.raises(DataError, match="node positions"):
        RoadTable(
            good.node_ids,
            good.x,
            good.y,
            np.array([0]),
            np.array([5]),
            good.length_m,
            good.oneway,
            good.highway,
            good.maxspeed_kmh,
        )
    with pytest.raises(DataError, match="differ in length"):
        RoadTable(
            good.node_ids,
            good.x,
            good.y,
            good.u,
            good.v,
            np.array([1.0, 2.0]),
            good.oneway,
            good.highway,
            good.maxspeed_kmh,
        )
    assert good.select([0]).n_nodes == 2 and good.select([], nodes=[1]).node_ids.tolist() == [101]


def test_max_speed_bounds_straight_line_travel() -> None:
    g = TravelGraph.from_arrays([0, 1], [1, 2], [50.0, 10.0], [0, 100, 300], [0, 0, 0])
    assert g.max_speed_mps == pytest.approx(20.0)  # 200 m in 10 s
    teleport = TravelGraph.from_arrays([0], [1], [0.0], [0, 100], [0, 0])
    assert teleport.max_speed_mps == np.inf
    same_place = TravelGraph.from_arrays([0], [1], [0.0], [5, 5], [0, 0])
    assert same_place.max_speed_mps == 0.0
