"""The README's Python example runs as written and reproduces the CLI's figure for the demo county;
the public surface refuses what would give wrong numbers silently."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

import carecircle as cc
from carecircle.cli import main

ROOT = Path(__file__).resolve().parents[1]
GUIXI = ROOT.parent / "shared" / "data" / "osm" / "guixi-jiangxi.osm"


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1
    return blocks[0]


@pytest.mark.filterwarnings("ignore::carecircle.DataQualityWarning")  # a notebook shows them
def test_readme_example_reproduces_the_cli(demo_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    result = CliRunner().invoke(
        main, ["-q", "run", str(demo_root / "scenarios" / "demo.yaml"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    cli_share = json.loads((out / "summary.json").read_text(encoding="utf-8"))["village_circle"]
    here = Path.cwd()
    os.chdir(demo_root)
    try:
        namespace: dict[str, object] = {}
        exec(compile(readme_example(), "README.md", "exec"), namespace)
    finally:
        os.chdir(here)
    # summary.json rounds to 6 digits; the example's own figure is the unrounded one.
    assert namespace["share"] == pytest.approx(cli_share["share"], abs=1e-6)
    assert 0.5 < cli_share["share"] < 0.95  # the demo county's circle is neither empty nor full
    best = namespace["best"]
    assert best.status == "optimal" and len(best.selected) == 3  # type: ignore[attr-defined]
    assert best.objective > 0  # type: ignore[attr-defined]


def test_travel_times_match_networkx_on_a_tiny_graph() -> None:
    """Three nodes on a line, 100 m apart, one facility at the east end: the west point walks
    200 m of road plus its access leg."""
    G = nx.MultiDiGraph(crs="EPSG:32650")
    for i in range(3):
        G.add_node(i, x=500_000.0 + 100 * i, y=3_000_000.0)
    for a, b in ((0, 1), (1, 2)):
        for u, v in ((a, b), (b, a)):
            G.add_edge(u, v, length=100.0, highway="residential", oneway=False)
    graph = cc.engine.TravelGraph.from_networkx(G, mode="walk", walk_speed_mps=1.0)
    points = gpd.GeoDataFrame(
        geometry=[shapely.Point(500_000, 3_000_030), shapely.Point(500_100, 3_000_000)],
        crs="EPSG:32650",
        index=["west", "middle"],
    )
    facilities = gpd.GeoDataFrame(
        {"name": ["east"]},
        geometry=[shapely.Point(500_200, 2_999_990)],
        crs="EPSG:32650",
        index=["F7"],
    )
    t = cc.travel_times(points, facilities, graph, max_access_m=500)
    assert list(t.index) == ["west", "middle"] and list(t["facility"]) == ["F7", "F7"]
    assert t.loc["west", "seconds"] == pytest.approx(30 + 200 + 10)
    assert t.loc["middle", "seconds"] == pytest.approx(0 + 100 + 10)
    assert list(t["network_part"]) == ["main", "main"] and t["reachable"].all()
    cost = cc.cost_matrix(points, facilities, graph, max_seconds=150)
    assert cost.shape == (2, 1) and cost.nnz == 1 and cost[1, 0] == pytest.approx(110)
    # Points in another CRS are reprojected to the graph's; a point 600 m off the road is off
    # the network, not dropped.
    far = gpd.GeoDataFrame(geometry=[shapely.Point(500_000, 3_000_600)], crs="EPSG:32650")
    with pytest.warns(cc.DataQualityWarning, match="1 of 1 points reach no facility"):
        off = cc.travel_times(far.to_crs("EPSG:4326"), facilities, graph)
    assert off["network_part"].iloc[0] == "off_network" and np.isnan(off["seconds"].iloc[0])
    assert pd.isna(off["facility"].iloc[0]) and not off["reachable"].iloc[0]


def test_from_networkx_refuses_a_graph_in_degrees() -> None:
    G = ox.graph_from_xml(GUIXI, retain_all=True)
    with pytest.raises(cc.DataError, match=r"geographic CRS.*osmnx.project_graph"):
        cc.engine.TravelGraph.from_networkx(G, mode="walk")
    del G.graph["crs"]  # no CRS said: the coordinates themselves give the degrees away
    with pytest.raises(cc.DataError, match="degrees"):
        cc.engine.TravelGraph.from_networkx(G, mode="walk")
    projected = cc.engine.TravelGraph.from_networkx(
        ox.project_graph(ox.graph_from_xml(GUIXI)), mode="walk"
    )
    assert projected.n_nodes > 100 and projected.crs.is_projected


def test_geographic_points_against_a_graph_without_crs_are_refused() -> None:
    graph = cc.engine.TravelGraph.from_arrays([0], [1], [10.0], [0.0, 10.0], [0.0, 0.0])
    points = gpd.GeoDataFrame(geometry=[shapely.Point(117.2, 28.3)], crs="EPSG:4326")
    with pytest.raises(cc.DataError, match="geographic CRS"):
        cc.travel_times(points, points, graph)


def test_the_old_and_new_paths_both_work() -> None:
    assert cc.planning.siting.solve_mclp is cc.locate.solve_mclp
    assert cc.rules.get_rule("circle-15min").value("minutes") == 15
    assert set(cc.__all__) >= {
        "read_roads",
        "travel_graph",
        "travel_times",
        "cost_matrix",
        "isochrones",
        "load_scenario",
        "run_scenario",
        "check_plan",
    }
    for name in cc.__all__:
        assert getattr(cc, name) is not None
