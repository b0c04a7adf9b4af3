"""The end-to-end run on the small demo county, cross-checked against networkx on the same graph."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import pytest
from click.testing import CliRunner

from carecircle.cli import main
from carecircle.pipeline import RunResult
from carecircle.scenario import Scenario


@pytest.fixture(scope="module")
def road_graph(demo_scenario: Scenario, demo_run: RunResult) -> nx.MultiDiGraph:
    """The same roads built independently with osmnx: read, keep highways, clip, project."""
    area = demo_run.boundary.buffer(demo_scenario.area.buffer_m).to_crs("EPSG:4326").iloc[0]
    G = ox.graph_from_xml(demo_scenario.data.network.path, simplify=False, retain_all=True)
    G.remove_edges_from(
        [(u, v, k) for u, v, k, d in G.edges(keys=True, data=True) if "highway" not in d]
    )
    G.remove_nodes_from([n for n, degree in G.degree() if degree == 0])
    G = ox.truncate.truncate_graph_polygon(G, area, truncate_by_edge=True)
    return ox.project_graph(G, to_crs=demo_run.crs)


def networkx_walk_times(
    G: nx.MultiDiGraph, sources: dict[int, float], speed: float
) -> dict[int, float]:
    """Independent answer: an undirected networkx graph, motorways excluded, one Dijkstra per run."""
    U = nx.Graph()
    for u, v, data in G.edges(data=True):
        if data["highway"] in ("motorway", "motorway_link") or u == v:
            continue
        w = data["length"] / speed
        if not U.has_edge(u, v) or U[u][v]["weight"] > w:
            U.add_edge(u, v, weight=w)
    for node, offset in sources.items():
        U.add_edge("S", node, weight=offset)
    return nx.single_source_dijkstra_path_length(U, "S")


@pytest.mark.parametrize(
    ("column", "services"),
    [("seconds", None), ("village_seconds", ("village",))],
    ids=["circle-services", "village-tier"],
)
def test_cell_times_match_networkx(
    demo_run: RunResult,
    road_graph: nx.MultiDiGraph,
    demo_scenario: Scenario,
    column: str,
    services: tuple[str, ...] | None,
) -> None:
    """The circle's times (to the nearest of its services: centres, mutual-aid and meal points,
    township centres) and the village tier's (centres only), against networkx."""
    cells = demo_run.cells
    facilities = demo_run.facilities
    node_ids = np.array(list(road_graph.nodes))
    services = services or tuple(demo_run.summary["village_circle"]["services"])
    # The circle's case is a different question: the demo county has township centres too.
    assert (set(services) & set(facilities["tier"])) - {"village"} or services == ("village",)
    fx = facilities[
        facilities["tier"].isin(services) & (facilities["network_part"] != "off_network")
    ]
    # Snapping, independently: osmnx's nearest node among main-network nodes.
    main = max(
        nx.weakly_connected_components(
            road_graph.edge_subgraph(
                [
                    (u, v, k)
                    for u, v, k, d in road_graph.edges(keys=True, data=True)
                    if d["highway"] not in ("motorway", "motorway_link")
                ]
            )
        ),
        key=len,
    )
    G_main = road_graph.subgraph(main)
    f_nodes = ox.distance.nearest_nodes(G_main, fx.geometry.x.to_numpy(), fx.geometry.y.to_numpy())
    f_access = np.hypot(
        fx.geometry.x.to_numpy() - np.array([road_graph.nodes[n]["x"] for n in f_nodes]),
        fx.geometry.y.to_numpy() - np.array([road_graph.nodes[n]["y"] for n in f_nodes]),
    )
    speed = demo_scenario.travel.walk_speed_mps
    sources: dict[int, float] = {}
    for node, metres in zip(f_nodes, f_access, strict=True):
        sources[node] = min(sources.get(node, np.inf), metres / speed)
    times = networkx_walk_times(road_graph, sources, speed)
    on_main = cells["network_part"].to_numpy() == "main"
    assert on_main.sum() > 0.9 * len(cells)
    c_nodes = ox.distance.nearest_nodes(
        G_main, cells["x"].to_numpy()[on_main], cells["y"].to_numpy()[on_main]
    )
    c_access = np.hypot(
        cells["x"].to_numpy()[on_main] - np.array([road_graph.nodes[n]["x"] for n in c_nodes]),
        cells["y"].to_numpy()[on_main] - np.array([road_graph.nodes[n]["y"] for n in c_nodes]),
    )
    np.testing.assert_allclose(cells["access_m"].to_numpy()[on_main], c_access, atol=1e-6)
    expected = c_access / speed + np.array([times.get(n, np.inf) for n in c_nodes])
    np.testing.assert_allclose(cells[column].to_numpy()[on_main], expected, atol=1e-6)
    assert node_ids.size == road_graph.number_of_nodes()


def test_village_shares_match_an_independent_tally(demo_run: RunResult) -> None:
    cells = demo_run.cells
    villages = demo_run.villages
    threshold = 15 * 60
    for i, row in villages.iterrows():
        mine = cells[cells["village"] == i]
        older = mine["older"].sum()
        if older == 0:
            assert np.isnan(row["share"])
            continue
        assert row["share"] == pytest.approx(
            mine.loc[mine["seconds"] <= threshold, "older"].sum() / older
        )
    county = demo_run.summary["village_circle"]
    assert county["share"] == pytest.approx(
        cells.loc[cells["seconds"] <= threshold, "older"].sum() / cells["older"].sum()
    )
    # Slower walkers reach fewer people; faster ones more.
    band = county["share_by_walk_speed"]
    assert band["0.8"] <= county["share"] <= band["1.2"]
    assert band["1"] == pytest.approx(county["share"])


def test_older_residents_add_up(demo_run: RunResult) -> None:
    s = demo_run.summary
    cells = demo_run.cells
    census = s["inputs"]["census"]
    assert s["inputs"]["raster"]["total_in_area"] == pytest.approx(
        cells["residents"].sum(), abs=0.01
    )
    # Older residents use the census township shares: the county total is close to the census 60+.
    assert cells["older"].sum() == pytest.approx(census["older"], rel=0.02)
    covered = (
        demo_run.villages["older_covered"].sum()
        + cells.loc[(cells["village"] < 0) & (cells["seconds"] <= 900), "older"].sum()
    )
    assert covered == pytest.approx(s["village_circle"]["older_covered"])
    assert demo_run.townships["older"].sum() + cells.loc[
        cells["township"] < 0, "older"
    ].sum() == pytest.approx(cells["older"].sum())


def test_the_island_is_reported(demo_run: RunResult) -> None:
    s = demo_run.summary
    assert s["network"]["island_nodes"] > 0
    assert s["snapping"]["cells"]["island"] >= 0
    assert sum(s["snapping"]["cells"].values()) == len(demo_run.cells)


def test_run_twice_gives_byte_identical_summary(demo_root: Path, tmp_path: Path) -> None:
    scenario = demo_root / "scenarios" / "demo.yaml"
    runner = CliRunner()
    outs = []
    for k in range(2):
        out = tmp_path / f"run{k}"
        result = runner.invoke(main, ["run", str(scenario), "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert "map" in result.stdout and str(out / "index.html") in result.stdout
        outs.append(out)
    a, b = ((o / "summary.json").read_bytes() for o in outs)
    assert a == b
    summary = json.loads(a)
    assert summary["scenario"]["name"] == "demo"
    for name in ("index.html", "report.html", "summary.json", "results.gpkg"):
        assert (outs[0] / name).stat().st_size > 0
    assert not list(tmp_path.glob(".*staging*"))


def test_map_is_self_contained(demo_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    assert (
        CliRunner()
        .invoke(main, ["run", str(demo_root / "scenarios" / "demo.yaml"), "--out", str(out)])
        .exit_code
        == 0
    )
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "L.map(" in page or "L.map (" in page
    assert "<script src=" not in page and 'rel="stylesheet" href=' not in page
    assert "15分钟养老服务圈覆盖率" in page
    report = (out / "report.html").read_text(encoding="utf-8")
    share = json.loads((out / "summary.json").read_text(encoding="utf-8"))["village_circle"][
        "share"
    ]
    assert f"{share * 100:.1f}%" in report
