"""What an analyst meets in a notebook (``import carecircle as cc``), on real data.

Each test is one finding of a fresh-eyed try of the Python API: Guixi's OSM roads with its real
schools and town halls, the Huangpu drive network, the Guixi kit scenario, OR-Library pmed1 and
WorldPop rasters. Wrong input must be refused by name (one line, the project's error classes),
suspicious input warned about, and results must print and compute as a notebook expects.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import shapely
import yaml
from click.testing import CliRunner
from shapely import Point

import carecircle as cc
from benchmarks import guixi
from carecircle import api
from carecircle.cli import main
from carecircle.locate import read_pmed
from carecircle.sources import census, coords

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
GUIXI = DATA / "osm" / "guixi-jiangxi.osm"
HUANGPU = DATA / "osm" / "shanghai-huangpu.osm"
PMED1 = DATA / "benchmarks" / "orlib" / "pmed" / "pmed1.txt"
KATHMANDU = DATA / "population" / "kathmandu-worldpop" / "NPL_ppp_v2c_2020.tif"
WUHAN = DATA / "population" / "wuhan-worldpop-agesex-60plus"


@contextmanager
def caught() -> Iterator[list[warnings.WarningMessage]]:
    """Every warning raised inside, recorded (none is turned into an error meanwhile)."""
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        yield got


def messages(got: list[warnings.WarningMessage], category: type[Warning]) -> list[str]:
    return [str(w.message) for w in got if w.category is category]


def amenities(path: Path, kinds: tuple[str, ...]) -> gpd.GeoDataFrame:
    """The file's amenity nodes (points) and ways (polygons) of ``kinds``, indexed by OSM id."""
    root = ET.parse(path).getroot()
    lonlat = {n.get("id"): (float(n.get("lon")), float(n.get("lat"))) for n in root.iter("node")}
    rows = []
    for el in root:
        tags = {t.get("k"): t.get("v") for t in el.findall("tag")}
        if tags.get("amenity") not in kinds:
            continue
        if el.tag == "node":
            geom = Point(lonlat[el.get("id")])
        else:
            geom = shapely.Polygon([lonlat[nd.get("ref")] for nd in el.findall("nd")])
        rows.append((int(el.get("id")), tags.get("name"), tags["amenity"], geom))
    ids, names, kind, geoms = zip(*rows, strict=True)
    return gpd.GeoDataFrame(
        {"name": names, "amenity": kind}, geometry=list(geoms), crs="EPSG:4326", index=list(ids)
    )


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("road-cache")


@pytest.fixture(scope="module")
def roads(cache: Path) -> cc.RoadNetwork:
    return cc.read_roads(GUIXI, cache=cache)


@pytest.fixture(scope="module")
def walk(roads: cc.RoadNetwork) -> cc.TravelGraph:
    return cc.travel_graph(roads, mode="walk")


@pytest.fixture(scope="module")
def schools() -> gpd.GeoDataFrame:
    """Guixi's four schools: three OSM nodes and 贵溪市第九中学 drawn as a way (a polygon)."""
    found = amenities(GUIXI, ("school",))
    assert len(found) == 4 and (found.geom_type == "Polygon").sum() == 1
    return found


@pytest.fixture(scope="module")
def townhalls() -> gpd.GeoDataFrame:
    found = amenities(GUIXI, ("townhall",))
    assert list(found["name"]) == ["贵溪市人民政府", "东门街道办事处"]
    return found


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Guixi kit scenario (real OSM roads and villages, the 2020 census)."""
    return guixi.build(tmp_path_factory.mktemp("guixi-kit"))


@pytest.fixture(scope="module")
def kit_run(kit: Path) -> tuple[cc.RunResult, list[warnings.WarningMessage], list[tuple]]:
    stages: list[tuple] = []
    with caught() as got:
        run = cc.run_scenario(kit, progress=lambda *args: stages.append(args))
    return run, got, stages


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(exc.value)
    assert "\n" not in text, text
    return text


# --- 1. lon/lat swapped, metres labelled EPSG:4326 ----------------------------------------------------


CALLS: dict[str, Callable[[Any, Any, cc.TravelGraph], Any]] = {
    "travel_times": lambda pts, fac, g: cc.travel_times(pts, fac, g),
    "cost_matrix": lambda pts, fac, g: cc.cost_matrix(pts, fac, g, max_seconds=900),
    "isochrones": lambda pts, fac, g: cc.isochrones(pts, g),
}


@pytest.mark.parametrize("call", list(CALLS))
def test_lon_lat_swapped_is_refused_by_name(
    call: str, walk: cc.TravelGraph, townhalls: gpd.GeoDataFrame
) -> None:
    swapped = gpd.GeoDataFrame(geometry=[Point(28.29, 117.22)], crs="EPSG:4326")
    with pytest.raises(cc.DataError) as exc:
        CALLS[call](swapped, townhalls, walk)
    text = one_line(exc)
    assert "经纬度是否颠倒 / lon/lat swapped?" in text
    assert "1 of 1 point(s) labelled EPSG:4326" in text
    assert "first: row 0, x=28.29, y=117.22" in text


def test_metres_labelled_as_degrees_are_refused_by_name(
    walk: cc.TravelGraph, schools: gpd.GeoDataFrame, townhalls: gpd.GeoDataFrame
) -> None:
    homes = schools.to_crs(32650).set_crs(4326, allow_override=True)
    with pytest.raises(cc.DataError) as exc:
        cc.travel_times(homes, townhalls, walk)
    text = one_line(exc)
    first = homes.geometry.iloc[0]
    assert "4 of 4 point(s) labelled EPSG:4326 lie outside lon −180..180 / lat −90..90" in text
    assert f"first: row {schools.index[0]} (position 0), x={first.x:.6g}, y={first.y:.6g}" in text
    # The facilities are checked too, by their own name.
    with pytest.raises(cc.DataError, match=r"^facilities: 2 个点.*lon/lat swapped\?"):
        cc.travel_times(schools, townhalls.to_crs(32650).set_crs(4326, allow_override=True), walk)


def test_points_the_projection_cannot_place_are_refused(
    roads: cc.RoadNetwork, townhalls: gpd.GeoDataFrame
) -> None:
    """An orthographic view of Guixi has no coordinates for its antipode (inf): refused before
    the KD-tree sees it."""
    ortho = "+proj=ortho +lat_0=28.3 +lon_0=117.2 +datum=WGS84 +units=m +no_defs +type=crs"
    graph = cc.travel_graph(roads.project(ortho))
    here_and_antipode = gpd.GeoDataFrame(
        geometry=[Point(117.2, 28.3), Point(-62.8, -28.3)], crs="EPSG:4326"
    )
    with pytest.raises(cc.DataError) as exc:
        cc.travel_times(here_and_antipode, townhalls, graph)
    assert "1 point(s) have no finite coordinates in " in one_line(exc)
    assert "(first: row 1)" in str(exc.value)


def test_the_engine_refuses_non_finite_points_itself(walk: cc.TravelGraph) -> None:
    with pytest.raises(cc.DataError, match=r"1 point\(s\) have NaN or infinite coordinates"):
        cc.engine.snap_points(walk, [520_000.0, np.nan], [3_130_000.0, 0.0], max_distance_m=500)


# --- 2. degrees labelled as a metric CRS -------------------------------------------------------------


def test_degrees_labelled_as_metres_are_refused_when_all_are_far(
    walk: cc.TravelGraph, townhalls: gpd.GeoDataFrame
) -> None:
    degrees = gpd.GeoDataFrame(geometry=[Point(117.22, 28.29)], crs="EPSG:32650")
    with pytest.raises(cc.DataError) as exc:
        cc.travel_times(degrees, townhalls, walk)
    text = one_line(exc)
    nearest = float(np.hypot(walk.x[walk.active] - 117.22, walk.y[walk.active] - 28.29).min())
    assert f"the nearest {nearest / 1000:,.0f} km" in text and nearest > 3_000_000
    assert "labelled EPSG:32650" in text and "set_crs('EPSG:4326', allow_override=True)" in text


def test_some_far_points_are_warned_about_and_kept(
    walk: cc.TravelGraph, schools: gpd.GeoDataFrame, townhalls: gpd.GeoDataFrame
) -> None:
    stray = gpd.GeoDataFrame(geometry=[Point(117.22, 28.29)], crs="EPSG:32650", index=[7])
    homes = pd.concat([schools.to_crs(32650)[["geometry"]], stray])
    with caught() as got:
        t = cc.travel_times(homes, townhalls, walk)
    [far] = messages(got, cc.CareCircleWarning)
    assert far.startswith("points: 1 / 5 个点距路网超过 100 km / 1 of 5 point(s) are more than")
    assert "first: row 7 (position 4)" in far and "(EPSG:32650)" in far
    assert t.loc[7, "network_part"] == "off_network" and not t.loc[7, "reachable"]
    assert t["reachable"].sum() == 4


# --- 3. max_seconds in minutes; MCLP on an empty matrix ----------------------------------------------


def test_max_seconds_below_a_minute_is_warned_about(
    walk: cc.TravelGraph, schools: gpd.GeoDataFrame, townhalls: gpd.GeoDataFrame
) -> None:
    with caught() as got:
        cost = cc.cost_matrix(schools, townhalls, walk, max_seconds=15)
    [slip] = messages(got, cc.CareCircleWarning)
    assert "max_seconds 是秒 / max_seconds is in seconds, not minutes" in slip
    assert "max_seconds=15 * 60" in slip
    [empty] = messages(got, cc.DataQualityWarning)
    assert "no demand point reaches any site within max_seconds = 15 s" in empty
    assert cost.shape == (4, 2) and cost.nnz == 0
    with caught() as got:
        cc.travel_times(schools, townhalls, walk, max_seconds=15)
    assert any("not minutes" in m for m in messages(got, cc.CareCircleWarning))
    right = cc.cost_matrix(schools, townhalls, walk, max_seconds=60 * 60)  # no warning at all
    assert right.nnz > 0


def test_covering_models_on_an_empty_matrix_give_the_trivial_answer(
    walk: cc.TravelGraph, schools: gpd.GeoDataFrame, townhalls: gpd.GeoDataFrame
) -> None:
    with caught():
        empty = cc.cost_matrix(schools, townhalls, walk, max_seconds=15)
    mclp = cc.locate.solve_mclp(empty, 15, p=1)
    lscp = cc.locate.solve_lscp(empty, 15)
    for result in (mclp, lscp):
        assert result.status == "optimal" and result.objective == 0
        assert result.uncoverable.tolist() == [0, 1, 2, 3]
        assert result.assignment.tolist() == [-1, -1, -1, -1]
    assert mclp.selected.size == 1 and lscp.selected.size == 0
    with pytest.raises(cc.InfeasibleError, match="4 demand rows cannot reach any candidate"):
        cc.locate.solve_pmedian(empty, 1)


# --- 4. every graph carries its CRS ------------------------------------------------------------------


def test_the_run_graph_carries_its_crs(kit_run: tuple) -> None:
    run = kit_run[0]
    assert run.graph.crs == run.crs and run.crs.to_string() == "EPSG:4548"
    centres = run.facilities[run.facilities["tier"] == "village"]
    iso = cc.isochrones(centres, run.graph, minutes=15)
    assert iso.crs == run.crs
    with caught():
        here = cc.travel_times(run.cells, centres, run.graph)
        lonlat = cc.travel_times(run.cells.to_crs("EPSG:4326"), centres, run.graph)
    assert lonlat.crs.to_string() == "EPSG:4326"
    assert (here["reachable"] == lonlat["reachable"]).all()
    np.testing.assert_allclose(lonlat["seconds"], here["seconds"], rtol=1e-9)


def test_graphs_built_from_arrays_can_carry_a_crs(walk: cc.TravelGraph) -> None:
    g = cc.TravelGraph.from_arrays([0], [1], [10.0], [0.0, 10.0], [0.0, 0.0], crs=walk.crs)
    assert g.crs == walk.crs and repr(g) == "TravelGraph(custom, 2 nodes, 1 arcs, EPSG:32650)"


# --- 5. one-line reprs -------------------------------------------------------------------------------


def test_reprs_are_one_line(roads: cc.RoadNetwork, walk: cc.TravelGraph, kit_run: tuple) -> None:
    assert repr(roads) == "RoadNetwork(1,414 segments, EPSG:32650, from guixi-jiangxi.osm)"
    assert repr(walk) == "TravelGraph(walk, 1,274 nodes, 2,792 arcs, EPSG:32650)"
    run = kit_run[0]
    circle = run.summary["village_circle"]
    n = len(run.summary["data_quality"]["warnings"])
    assert repr(run) == (
        f"RunResult(guixi: 15-min circle {circle['share'] * 100:.1f} % of "
        f"{circle['older']:,.0f} older; {len(run.villages)} villages; {n} warnings)"
    )
    assert len(repr(run)) < 120 and n > 2
    best = cc.locate.solve_pmedian(read_pmed(PMED1).cost, 5)
    text = repr(best)
    assert text.startswith("SitingResult(p-median optimal: objective 5,819; 5 sites [")
    assert "gap 0.00%" in text and "\n" not in text


# --- 6, 7. network_part, NaN seconds, reachable, nullable facility -----------------------------------


def test_travel_times_columns(
    walk: cc.TravelGraph, schools: gpd.GeoDataFrame, townhalls: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    far = gpd.GeoDataFrame(geometry=[Point(117.1, 28.2)], crs="EPSG:4326", index=[99])
    homes = pd.concat([schools[["geometry"]], far])  # ~12 km from Guixi's mapped roads
    with caught() as got:
        t = cc.travel_times(homes, townhalls, walk)
    assert list(t.columns) == [
        "seconds",
        "reachable",
        "facility",
        "network_part",
        "access_m",
        "geometry",
    ]
    assert "snap" not in t.columns and callable(t.snap)  # GeoDataFrame.snap stays the method
    assert (t.network_part == "off_network").tolist() == [False] * 4 + [True]
    assert t["reachable"].dtype == bool and t["reachable"].tolist() == [True] * 4 + [False]
    assert np.isnan(t.loc[99, "seconds"]) and math.isfinite(t["seconds"].mean())
    assert t["facility"].dtype == "Int64" and pd.isna(t.loc[99, "facility"])
    assert set(t["facility"].dropna()) <= set(townhalls.index)
    [lost] = messages(got, cc.DataQualityWarning)
    assert "1 of 5 points reach no facility: 1 off the network" in lost
    t.to_file(tmp_path / "times.gpkg")
    back = gpd.read_file(tmp_path / "times.gpkg")
    assert pd.api.types.is_numeric_dtype(back["facility"])  # not strings
    assert back["facility"].iloc[:4].astype("int64").tolist() == t["facility"].iloc[:4].tolist()


def test_the_old_column_name_is_gone() -> None:
    source = (ROOT / "carecircle" / "api.py").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    python = readme.split("## Python", 1)[1].split("\n## ", 1)[0]
    init = (ROOT / "carecircle" / "__init__.py").read_text(encoding="utf-8")
    for text in (source, python, init):
        assert '"snap"' not in text and "snap ==" not in text and ", snap," not in text
    assert "network_part" in python and "reachable" in python


# --- 8. wrong types and out-of-order calls ---------------------------------------------------------


def test_wrong_types_are_refused_with_what_to_pass(
    roads: cc.RoadNetwork,
    walk: cc.TravelGraph,
    schools: gpd.GeoDataFrame,
    townhalls: gpd.GeoDataFrame,
) -> None:
    cases: list[tuple[Callable[[], Any], str]] = [
        (
            lambda: cc.travel_times([Point(117.23, 28.31)], townhalls, walk),
            r"^points: .*got a list of 1 shapely Points.*gpd\.GeoSeries\(geoms, crs='EPSG:4326'\)",
        ),
        (
            lambda: cc.travel_times(np.array([[117.23, 28.31]]), townhalls, walk),
            r"numpy array of shape \(1, 2\).*gpd\.points_from_xy\(a\[:, 0\], a\[:, 1\]\)",
        ),
        (
            lambda: cc.travel_times(
                pd.DataFrame({"lon": [117.23], "lat": [28.31]}), townhalls, walk
            ),
            r"pandas DataFrame \(columns: lon, lat\).*points_from_xy\(df\['lon'\], df\['lat'\]\)",
        ),
        (
            lambda: cc.travel_graph(str(GUIXI)),
            r"^roads: .*got the str '.*guixi-jiangxi\.osm', not a RoadNetwork; read it first: "
            r"roads = cc\.read_roads",
        ),
        (
            lambda: cc.travel_times(schools, townhalls, roads),
            r"got a RoadNetwork \(roads\), not a travel graph; call walk = cc\.travel_graph\(roads",
        ),
        (
            lambda: cc.travel_times(walk, schools, townhalls),
            r"arguments in the wrong order: travel_times\(points, facilities, graph\) takes the "
            r"graph last",
        ),
        (
            lambda: cc.cost_matrix(schools, walk, townhalls, max_seconds=900),
            r"wrong order: cost_matrix\(demand, sites, graph\)",
        ),
        (
            lambda: cc.travel_times(gpd.GeoDataFrame({"where": schools.geometry}), townhalls, walk),
            r"no active geometry column; call \.set_geometry\('where'\) first",
        ),
        (lambda: cc.load_scenario(["guixi.yaml"]), r"load_scenario takes the path"),
        (lambda: cc.read_roads(42), r"read_roads takes the path of a road file"),
        (lambda: cc.travel_graph(roads, mode="bike"), r"unknown travel mode 'bike'"),
    ]
    for call, pattern in cases:
        with pytest.raises(cc.DataError, match=pattern) as exc:
            call()
        one_line(exc)


def test_load_scenario_takes_a_dict(kit: Path) -> None:
    raw = yaml.safe_load(kit.read_text(encoding="utf-8"))
    from_dict = cc.load_scenario(raw, base_dir=kit.parent)
    from_file = cc.load_scenario(kit)
    assert from_dict.data == from_file.data and from_dict.area == from_file.area
    assert cc.load_scenario(from_file) is from_file


# --- 9. a missing road file ------------------------------------------------------------------------


def test_a_missing_road_file_raises_input_file_not_found() -> None:
    with pytest.raises(cc.InputFileNotFound) as exc:
        cc.read_roads("/missing.osm")
    assert isinstance(exc.value, cc.CareCircleError) and isinstance(exc.value, FileNotFoundError)
    assert one_line(exc).startswith("路网文件不存在 / road file not found: /missing.osm")
    with pytest.raises(cc.InputFileNotFound):
        cc.read_roads(Path("/missing/guixi"))  # a Path is a path, never a place name


# --- 10. the location models' inputs ---------------------------------------------------------------


def test_location_inputs_name_the_first_bad_value() -> None:
    cost = read_pmed(PMED1).cost
    weights = np.ones(100)
    weights[3] = -1
    cases: list[tuple[Callable[[], Any], str]] = [
        (
            lambda: cc.locate.solve_mclp(cost, 50, 5, weights=weights),
            r"weights row 3 is -1 \(1 bad value\(s\) in all\)",
        ),
        (
            lambda: cc.locate.solve_pmedian(cost, 5, pd.Series(weights, index=range(1, 101))),
            r"weights row 3 \(label '4'\) is -1",
        ),
        (
            lambda: cc.locate.solve_pmedian(cost, 5, np.ones(99)),
            r"weights has 99 value\(s\) \(shape \(99,\)\) for 100 rows of cost",
        ),
        (
            lambda: cc.locate.solve_pmedian(cost, 5, forced=[2, 100]),
            r"forced item 1 is 100, not a candidate index 0\.\.99",
        ),
        (
            lambda: cc.locate.solve_pmedian(cost, 5, forced=np.zeros(100, dtype=bool)),
            r"np\.flatnonzero\(mask\)",
        ),
        (
            lambda: cc.locate.solve_pmedian(cost, 2.5),
            r"p must be a non-negative whole number.*2\.5",
        ),
        (lambda: cc.locate.solve_lscp(cost, 50, forced=[1.5]), r"forced item 0 is 1\.5"),
        (
            lambda: cc.locate.solve_pmedian(-cost, 5),
            r"cost holds 9900 negative value\(s\) \(first: row 0, column 1, -\d+\)",
        ),
        (
            lambda: cc.locate.solve_mclp(sp.csr_array(-cost), 50, 5),
            r"negative value\(s\) \(first: row 0, column 1",
        ),
    ]
    for call, pattern in cases:
        with pytest.raises(cc.DataError, match=pattern) as exc:
            call()
        one_line(exc)
    assert cc.locate.solve_pmedian(cost, 5).objective == 5819  # the published optimum


# --- 11. data-quality warnings reach the notebook, once; the CLI prints them once ----------------


def test_run_scenario_emits_each_data_quality_warning_once(kit_run: tuple) -> None:
    run, got, stages = kit_run
    found = run.summary["data_quality"]["warnings"]
    emitted = messages(got, cc.DataQualityWarning)
    assert len(found) >= 3 and len(emitted) == len(found)
    for w in found:
        assert sum(m.startswith(f"[{w['code']}] ") for m in emitted) == 1
    assert cc.DataQualityWarning is api.DataQualityWarning
    assert issubclass(cc.DataQualityWarning, cc.CareCircleWarning)
    assert issubclass(cc.CareCircleWarning, UserWarning)
    assert [s[:2] for s in stages] == [(i, 9) for i in range(1, 10)]
    assert "progress(stage, stages, label)" in (cc.run_scenario.__doc__ or "")


def test_the_cli_prints_each_warning_once_and_warns_nothing(kit: Path, tmp_path: Path) -> None:
    with caught() as got:
        result = CliRunner().invoke(main, ["-q", "run", str(kit), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    codes = [w["code"] for w in summary["data_quality"]["warnings"]]
    assert len(codes) >= 3
    for code in codes:
        assert result.stderr.count(f"[{code}]") == 1, code
    assert not [w for w in got if issubclass(w.category, cc.CareCircleWarning)]


def test_check_plan_emits_its_warnings(kit: Path, kit_run: tuple) -> None:
    plan = guixi.plan(kit.parent)
    with caught() as got:
        check = cc.check_plan(plan, kit, before=kit_run[0])
    found = check.summary.get("data_quality", {}).get("warnings", [])
    assert found and len(messages(got, cc.DataQualityWarning)) == len(found)


# --- 12. points on the main network that reach nothing (one-way streets) -------------------------


def test_unreachable_points_on_the_drive_graph_are_counted(cache: Path) -> None:
    drive = cc.travel_graph(cc.read_roads(HUANGPU, cache=cache), mode="drive")
    xs, ys = np.meshgrid(np.linspace(121.4621, 121.4853, 20), np.linspace(31.2206, 31.2402, 20))
    homes = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xs.ravel(), ys.ravel()), crs=4326)
    centres = gpd.GeoDataFrame(
        {"name": ["人民广场", "外滩"]},
        geometry=[Point(121.4752, 31.2317), Point(121.4840, 31.2380)],
        crs=4326,
        index=["people-square", "bund"],
    )
    with caught() as got:
        t = cc.travel_times(homes, centres, drive)
    assert (t["network_part"] == "main").all()  # all 400 join the main (weakly connected) part
    lost = int((~t["reachable"]).sum())
    assert 50 < lost < 200
    [warning] = messages(got, cc.DataQualityWarning)
    assert f"{lost} of 400 points reach no facility: {lost} joined to it ({lost} of them" in warning
    assert "one-way streets" in warning
    assert t["facility"].dtype == "string" and t["facility"].isna().sum() == lost
    # Independently: a point reaches nothing exactly when no centre's node is downstream of its own.
    pts = homes.to_crs(drive.crs).geometry
    snap = cc.engine.snap_points(drive, pts.x, pts.y, max_distance_m=500)
    c = centres.to_crs(drive.crs).geometry
    targets = set(cc.engine.snap_points(drive, c.x, c.y, max_distance_m=500).node.tolist())
    targets.discard(-1)
    G = nx.DiGraph()
    G.add_nodes_from(range(drive.n_nodes))
    tails = np.repeat(np.arange(drive.n_nodes), np.diff(drive.indptr))
    G.add_edges_from(zip(tails.tolist(), drive.indices.tolist(), strict=True))
    for node, ok in zip(snap.node.tolist(), t["reachable"].tolist(), strict=True):
        assert ok == bool(({node} | nx.descendants(G, node)) & targets)


# --- 13. isochrones' minutes -----------------------------------------------------------------------


def test_isochrones_take_a_scalar_and_refuse_non_positive_minutes(
    walk: cc.TravelGraph, schools: gpd.GeoDataFrame
) -> None:
    one = cc.isochrones(schools, walk, minutes=15)
    assert one["minutes"].tolist() == [15.0] and one["seconds"].tolist() == [900.0]
    assert one.geometry.iloc[0].equals(cc.isochrones(schools, walk, minutes=[15]).geometry.iloc[0])
    for bad in ([-5], 0, [5, float("nan")]):
        with pytest.raises(cc.DataError, match="minutes must be positive"):
            cc.isochrones(schools, walk, minutes=bad)
    with pytest.raises(cc.DataError, match="minutes must be a number of minutes"):
        cc.isochrones(schools, walk, minutes="15")
    with caught() as got:
        cc.isochrones(schools, walk, minutes=900)
    assert any("minutes, not seconds" in m for m in messages(got, cc.CareCircleWarning))
    # A polygon starts from its representative point (in the graph's CRS), as documented.
    polygon = schools[schools.geom_type == "Polygon"]
    inside = polygon.to_crs(walk.crs).representative_point()
    a = cc.isochrones(polygon, walk, minutes=10).geometry.iloc[0]
    b = cc.isochrones(inside, walk, minutes=10).geometry.iloc[0]
    assert a.equals(b) and not a.is_empty
    assert "representative point" in (cc.isochrones.__doc__ or "")


# --- 15. dir(cc), the coordinate converters, population rasters ------------------------------------


def test_dir_lists_public_names_only() -> None:
    names = dir(cc)
    for hidden in ("Any", "TYPE_CHECKING", "annotations", "importlib", "logging"):
        assert hidden not in names
    assert {"read_population", "gcj02_to_wgs84", "bd09_to_wgs84", "DataQualityWarning"} <= set(
        names
    )
    for name in names:
        assert getattr(cc, name) is not None


def test_coordinate_converters_are_public(townhalls: gpd.GeoDataFrame) -> None:
    assert cc.gcj02_to_wgs84 is coords.gcj02_to_wgs84 and cc.bd09_to_wgs84 is coords.bd09_to_wgs84
    lon, lat = townhalls.geometry.x.to_numpy(), townhalls.geometry.y.to_numpy()
    glon, glat = cc.wgs84_to_gcj02(lon, lat)
    assert np.all(np.abs(glon - lon) > 1e-4)  # Guixi is inside China: GCJ-02 shifts it
    back = cc.gcj02_to_wgs84(glon, glat)
    np.testing.assert_allclose(back, (lon, lat), atol=1e-8)
    np.testing.assert_allclose(cc.bd09_to_wgs84(*cc.wgs84_to_bd09(lon, lat)), (lon, lat), atol=1e-8)


def test_read_population_turns_rasters_into_demand_cells() -> None:
    box = shapely.box(114.25, 30.55, 114.30, 30.60)
    bands = [WUHAN / "pop_60_f_wuhan.tif", WUHAN / "pop_60_m_wuhan.tif"]
    cells = cc.read_population(area=box, older=bands)
    expected = census.demand_from_rasters(None, bands, box, "EPSG:4326", to_crs=cells.crs)
    assert cells.crs.to_string() == "EPSG:32650" and len(cells) == len(expected) > 1000
    assert cells["older"].sum() == pytest.approx(expected.report["older_in_area"], abs=0.01)
    assert cells["residents"].isna().all()
    area = gpd.GeoDataFrame(geometry=[shapely.box(85.30, 27.68, 85.34, 27.72)], crs=4326)
    people = cc.read_population(KATHMANDU, area.to_crs(32645))
    assert list(people.columns) == ["residents", "geometry"]
    report = people.attrs["report"]
    assert people["residents"].sum() == pytest.approx(report["total_in_area"], abs=0.01)
    with pytest.raises(cc.InputFileNotFound, match="population raster not found"):
        cc.read_population(WUHAN / "missing.tif", box)
    with pytest.raises(cc.DataError, match="needs area="):
        cc.read_population(KATHMANDU)


# --- 16. speeds --------------------------------------------------------------------------------------


def test_speeds_are_checked(roads: cc.RoadNetwork, walk: cc.TravelGraph) -> None:
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(cc.DataError, match="walk_speed_mps must be a positive speed in m/s"):
            cc.travel_graph(roads, walk_speed_mps=bad)
    with pytest.raises(cc.DataError, match="walk_speed_mps must be a positive speed"):
        cc.TravelGraph.from_roads(roads.table, mode="walk", walk_speed_mps=0)  # the engine too
    with caught() as got:
        fast = cc.travel_graph(roads, walk_speed_mps=4.5)
    [slip] = messages(got, cc.CareCircleWarning)
    assert "walk_speed_mps = 4.5 m/s is faster than a brisk walk: km/h?" in slip
    np.testing.assert_allclose(fast.seconds * 4.5, walk.seconds)
    with caught() as got:
        cc.travel_graph(roads, mode="ebike", ebike_speed_kmh=3.3)
    assert any("km/h is slower than a walk: m/s?" in m for m in messages(got, cc.CareCircleWarning))
    with pytest.raises(cc.DataError, match=r"ebike_speed_kmh must be a positive speed in km/h"):
        cc.travel_graph(roads, mode="ebike", ebike_speed_kmh=0)
    with pytest.raises(cc.DataError, match=r"drive_speeds_kmh\['primary'\] must be a positive"):
        cc.travel_graph(roads, mode="drive", drive_speeds_kmh={"primary": 0})
    with caught() as got:
        cc.travel_graph(roads, mode="drive", drive_speeds_kmh={"primary": 500})
    assert any("500 km/h is faster" in m for m in messages(got, cc.CareCircleWarning))


# --- 17. python -m carecircle ----------------------------------------------------------------------


def test_python_dash_m_runs_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "carecircle", "--help"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Usage: carecircle ") and "run" in out.stdout
