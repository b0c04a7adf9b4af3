"""OR-Library readers: hand-checked graphs, and the real files in ../shared/data."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from carecircle.errors import DataError, InputFileNotFound
from carecircle.locate.orlib import (
    read_cap,
    read_optima,
    read_pmed,
    read_pmedcap,
    shortest_path_costs,
)

ORLIB = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "benchmarks" / "orlib"


def test_a_later_duplicate_edge_overrides_an_earlier_one() -> None:
    # pmedinfo: lines are read in turn and each sets c(i,j) = c(j,i), so (2,1,7) replaces (1,2,1)
    # even though it is longer; the path through 3 (3 + 1) is then the shortest from 1 to 2.
    edges = [(1, 2, 1), (2, 3, 1), (2, 1, 7), (1, 3, 3)]
    d = shortest_path_costs(3, edges)
    assert d.tolist() == [[0, 4, 3], [4, 0, 1], [3, 1, 0]]


def test_without_the_detour_the_overriding_cost_is_used() -> None:
    d = shortest_path_costs(3, [(1, 2, 1), (2, 3, 1), (1, 2, 7)])
    assert d[0, 1] == 7 and d[0, 2] == 8


def test_disconnected_vertices_are_infinitely_far() -> None:
    d = shortest_path_costs(3, [(1, 2, 5)])
    assert d[0, 1] == 5 and np.isinf(d[0, 2]) and d[2, 2] == 0


def test_edge_outside_the_vertex_range_is_refused() -> None:
    with pytest.raises(DataError, match=r"1\.\.3"):
        shortest_path_costs(3, [(1, 4, 5)])


def test_pmed1_matches_floyd_warshall_with_last_edge_wins() -> None:
    inst = read_pmed(ORLIB / "pmed" / "pmed1.txt")
    assert (inst.name, inst.n, inst.p) == ("pmed1", 100, 5)
    tokens = (ORLIB / "pmed" / "pmed1.txt").read_text().split()
    graph = nx.Graph()
    for i, j, k in np.asarray(tokens[3:], dtype=int).reshape(-1, 3):
        graph.add_edge(int(i) - 1, int(j) - 1, weight=int(k))  # add_edge overwrites: last wins
    expected = nx.floyd_warshall_numpy(graph, nodelist=range(100))
    np.testing.assert_array_equal(inst.cost, expected)
    assert np.all(np.diag(inst.cost) == 0) and np.all(inst.cost == inst.cost.T)


def test_pmedcap01_uses_floored_euclidean_distances() -> None:
    inst = read_pmedcap(ORLIB / "pmedcap" / "pmedcap01.txt")
    assert (inst.n, inst.p, inst.optimum) == (50, 5, 713.0)
    assert np.all(inst.capacity == 120)
    # customers 1 and 2 sit at (2, 62) and (80, 25): sqrt(78² + 37²) = 86.33 -> 86
    assert (inst.x[0], inst.y[0], inst.x[1], inst.y[1]) == (2, 62, 80, 25)
    assert inst.cost[0, 1] == 86
    assert inst.demand[:2].tolist() == [3, 14]


def test_cap41_layout() -> None:
    inst = read_cap(ORLIB / "cap" / "cap41.txt")
    assert inst.cost.shape == (50, 16)
    assert np.all(inst.capacity == 5000)
    assert inst.fixed_cost[10] == 0 and np.all(np.delete(inst.fixed_cost, 10) == 7500)
    assert inst.demand[0] == 146 and inst.cost[0, 0] == pytest.approx(6739.725)


def test_optima_tables() -> None:
    median = read_optima(ORLIB / "pmed" / "pmedopt_from_nicholasio.txt")
    center = read_optima(ORLIB / "pmed" / "kcenteropt_from_timothy-ch-cheung.txt")
    assert len(median) == len(center) == 40
    assert median["pmed1"] == 5819 and median["pmed40"] == 5128
    assert center["pmed1"] == 127 and center["pmed40"] == 13


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputFileNotFound, match=r"nope\.txt"):
        read_pmed(tmp_path / "nope.txt")


def test_a_malformed_file_says_which_format(tmp_path: Path) -> None:
    bad = tmp_path / "pmed0.txt"
    bad.write_text("3 2 1\n1 2 5\n")
    with pytest.raises(DataError, match="2 edges"):
        read_pmed(bad)
    bad.write_text("three vertices\n")
    with pytest.raises(DataError, match="pmed"):
        read_pmed(bad)
