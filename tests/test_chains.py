"""Chains of degree-2 nodes: their structure on hand-built graphs, and searches that use them
against networkx on graphs made mostly of chains (streets cut into many short pieces)."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reach import ROUNDING, assert_same_reach

from carecircle.engine import TravelGraph, catchments, nearest_times


def two_way(pairs: list[tuple[int, int, float]], n: int) -> TravelGraph:
    tail = [u for u, v, _ in pairs] + [v for u, v, _ in pairs]
    head = [v for u, v, _ in pairs] + [u for u, v, _ in pairs]
    seconds = [w for *_, w in pairs] * 2
    return TravelGraph.from_arrays(tail, head, seconds, np.arange(n) * 10.0, np.zeros(n))


def test_a_street_cut_in_pieces_is_one_chain() -> None:
    # 0 - 1 - 2 - 3 - 4, with side streets 2 - 5, 0 - 6, 0 - 7, 4 - 8, 4 - 9: junctions 0, 2 and 4
    # split the street in two chains; each side street is a spur of its own.
    spurs = [(2, 5, 5.0), (0, 6, 1.0), (0, 7, 1.0), (4, 8, 1.0), (4, 9, 1.0)]
    g = two_way([(0, 1, 10.0), (1, 2, 20.0), (2, 3, 30.0), (3, 4, 40.0), *spurs], 10)
    ch = g.chains
    assert np.flatnonzero(~ch.interior).tolist() == [0, 2, 4]
    through = np.flatnonzero(~ch.pendant)
    assert sorted(zip(ch.a[through].tolist(), ch.b[through].tolist(), strict=True)) in (
        [(0, 2), (2, 4)],
        [(0, 2), (4, 2)],
        [(2, 0), (2, 4)],
        [(2, 0), (4, 2)],
    )
    assert ch.n_chains == 7
    # The junction graph joins the chain ends directly, with the chains' times; spurs stay out.
    j = ch.junction
    assert j[0, 2] == 30.0 and j[2, 4] == 70.0 and j.nnz == 4
    assert all(j[:, k].nnz == 0 for k in (1, 3, 5, 6, 7, 8, 9))


def test_dead_end_streets_are_spurs_of_their_junction() -> None:
    # 0 - 1 - 2 - 3 - 4 and 2 - 5: 2 is the only junction, with three spurs 2-1-0, 2-3-4, 2-5.
    g = two_way([(0, 1, 10.0), (1, 2, 20.0), (2, 3, 30.0), (3, 4, 40.0), (2, 5, 5.0)], 6)
    ch = g.chains
    assert np.flatnonzero(~ch.interior).tolist() == [2]
    assert ch.pendant.tolist() == [True] * 3 and ch.a.tolist() == ch.b.tolist() == [2] * 3
    spurs = {tuple(ch.order[ch.start[c] : ch.start[c + 1]].tolist()) for c in range(3)}
    assert spurs == {(1, 0), (3, 4), (5,)}  # each from its junction to its dead end
    assert ch.junction.nnz == 0
    assert np.isinf(ch.from_b).all() and np.isinf(ch.to_b).all()
    seconds, _ = nearest_times(g, [0])
    assert seconds.tolist() == [0.0, 10.0, 30.0, 60.0, 100.0, 35.0]
    seconds, nearest = nearest_times(g, [3, 5], source_seconds=[0.0, 20.0])
    assert seconds.tolist() == [55.0, 45.0, 25.0, 0.0, 40.0, 20.0]
    assert nearest.tolist() == [1, 1, 1, 0, 0, 1]
    m = catchments(g, [4, 1], 60.0)
    assert dict(zip(m.getrow(0).indices.tolist(), m.getrow(0).data.tolist(), strict=True)) == {
        3: 40.0
    } | {4: 0.0}
    assert dict(zip(m.getrow(1).indices.tolist(), m.getrow(1).data.tolist(), strict=True)) == {
        0: 10.0,
        1: 0.0,
        2: 20.0,
        3: 50.0,
        5: 25.0,
    }


def test_a_street_between_two_dead_ends_gets_a_junction() -> None:
    # 0 - 1 - 2 on its own, and 3 - 4 on its own: no junction on either.
    g = two_way([(0, 1, 1.0), (1, 2, 2.0), (3, 4, 4.0)], 5)
    ch = g.chains
    assert np.flatnonzero(~ch.interior).tolist() == [0, 3]  # their lowest nodes
    assert ch.pendant.all() and sorted(ch.a.tolist()) == [0, 3]
    seconds, nearest = nearest_times(g, [2])
    assert seconds.tolist() == [3.0, 2.0, 0.0, np.inf, np.inf]
    assert nearest.tolist() == [0, 0, 0, -1, -1]


def test_one_way_pieces_stay_junctions() -> None:
    # 0 -> 1 -> 2 one way; 2 - 3 - 4 two way.
    g = TravelGraph.from_arrays(
        [0, 1, 2, 3, 3, 4],
        [1, 2, 3, 2, 4, 3],
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        [0, 1, 2, 3, 4],
        [0] * 5,
    )
    # 3 - 4 is a spur of junction 2; the one-way dead end 0 stays a junction too.
    assert g.chains.interior.tolist() == [False, False, False, True, True]
    assert g.chains.pendant.tolist() == [True]


def test_a_ring_without_junction_gets_one() -> None:
    g = two_way([(0, 1, 1.0), (1, 2, 2.0), (2, 3, 3.0), (3, 0, 4.0)], 4)
    ch = g.chains
    assert ch.interior.tolist() == [False, True, True, True]  # its lowest node is the junction
    assert ch.a.tolist() == [0] and ch.b.tolist() == [0]
    seconds, _ = nearest_times(g, [2])
    assert seconds.tolist() == [3.0, 2.0, 0.0, 3.0]


def test_sources_inside_a_chain_split_it() -> None:
    # 0 - 1 - 2 - 3 - 4 - 5 - 6, 10 s a piece: sources at 2 (5 s to the door) and at 5.
    g = two_way([(i, i + 1, 10.0) for i in range(6)], 7)
    assert g.chains.n_chains == 1
    seconds, nearest = nearest_times(g, [2, 5], source_seconds=[5.0, 0.0])
    assert seconds.tolist() == [25.0, 15.0, 5.0, 15.0, 10.0, 0.0, 10.0]
    assert nearest.tolist() == [0, 0, 0, 0, 1, 1, 1]
    m = catchments(g, [2, 5], 30.0, source_seconds=[5.0, 0.0])
    rows = [
        dict(zip(m.getrow(k).indices.tolist(), m.getrow(k).data.tolist(), strict=True))
        for k in range(2)
    ]
    assert rows[0] == {0: 25.0, 1: 15.0, 2: 5.0, 3: 15.0, 4: 25.0}
    assert rows[1] == {2: 30.0, 3: 20.0, 4: 10.0, 5: 0.0, 6: 10.0}


@st.composite
def streets(
    draw: st.DrawFn,
) -> tuple[TravelGraph, list[int], list[float], float, str]:
    """A few junctions joined by streets cut into 0-5 pieces, some one way; rings too."""
    k = draw(st.integers(1, 6))
    links = draw(
        st.lists(
            st.tuples(
                st.integers(0, k - 1), st.integers(0, k - 1), st.integers(0, 5), st.booleans()
            ),
            max_size=10,
        )
    )
    tail: list[int] = []
    head: list[int] = []
    seconds: list[float] = []
    times = st.floats(0.0, 100.0, allow_nan=False)
    n = k
    for u, v, pieces, one_way in links:
        path = [u, *range(n, n + pieces), v]
        n += pieces
        for p, q in itertools.pairwise(path):
            tail.append(p)
            head.append(q)
            seconds.append(draw(times))
            if not one_way:
                tail.append(q)
                head.append(p)
                seconds.append(draw(times))
    ring = draw(st.integers(0, 4))
    if ring >= 3:  # a ring of two-way pieces with no junction on it
        nodes = list(range(n, n + ring))
        n += ring
        for p, q in zip(nodes, nodes[1:] + nodes[:1], strict=True):
            tail += [p, q]
            head += [q, p]
            seconds += [draw(times), draw(times)]
    sources = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=5))
    offsets = draw(st.lists(st.floats(0, 50), min_size=len(sources), max_size=len(sources)))
    limit = draw(st.floats(0, 400))
    direction = draw(st.sampled_from(["to", "from"]))
    # Coordinates 1 m apart at most, so that no arc is faster than a straight line (local search).
    g = TravelGraph.from_arrays(tail, head, seconds, np.linspace(0, 1e-3, n), np.zeros(n))
    return g, sources, offsets, limit, direction


def reference(g: TravelGraph, direction: str) -> nx.DiGraph:
    """The graph networkx searches outwards from a source in: reversed for times *to* it."""
    D = nx.DiGraph()
    D.add_nodes_from(range(g.n_nodes))
    coo = (g.csr_reversed if direction == "to" else g.csr).tocoo()
    D.add_weighted_edges_from(
        zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
    )
    return D


@settings(max_examples=300, deadline=None)
@given(streets())
def test_nearest_times_on_streets_match_networkx(
    case: tuple[TravelGraph, list[int], list[float], float, str],
) -> None:
    g, sources, offsets, limit, direction = case
    seconds, nearest = nearest_times(
        g,
        sources,
        source_seconds=offsets,
        limit=limit,
        direction=direction,  # type: ignore[arg-type]
    )
    D = reference(g, direction)
    own = [nx.single_source_dijkstra_path_length(D, s) for s in sources]
    best = {
        node: min(o + d[node] for o, d in zip(offsets, own, strict=True) if node in d)
        for node in range(g.n_nodes)
        if any(node in d for d in own)
    }
    want = {node: t for node, t in best.items() if t <= limit}
    got = {node: float(seconds[node]) for node in np.flatnonzero(np.isfinite(seconds)).tolist()}
    assert_same_reach(got, want, limit)
    for node, t in got.items():
        k = nearest[node]
        assert offsets[k] + own[k][node] == pytest.approx(t, abs=ROUNDING)
    assert np.all((nearest == -1) == ~np.isfinite(seconds))


@settings(max_examples=300, deadline=None)
@given(streets())
def test_catchments_on_streets_match_networkx(
    case: tuple[TravelGraph, list[int], list[float], float, str],
) -> None:
    g, sources, offsets, limit, direction = case
    m = catchments(g, sources, limit, source_seconds=offsets, direction=direction)  # type: ignore[arg-type]
    D = reference(g, direction)
    for k, (s, o) in enumerate(zip(sources, offsets, strict=True)):
        want = {
            node: o + t
            for node, t in nx.single_source_dijkstra_path_length(D, s).items()
            if o + t <= limit
        }
        row = m.getrow(k)
        assert_same_reach(
            dict(zip(row.indices.tolist(), row.data.tolist(), strict=True)), want, limit
        )
