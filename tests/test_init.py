"""`carecircle init` against local stand-ins for Nominatim, Overpass and WorldPop's file server.

Every answer comes from real files, served by tests/_servers.py on 127.0.0.1 (no internet):

- OSM: the extract ../shared/data/osm/guixi-jiangxi.osm (贵溪市's core, an OSM API export)
  answers Nominatim's /search and Overpass's /api/interpreter. Of its admin_level=8 relations
  only 东门街道 (r6662718) has every outer way in the extract, so the Guixi kit is for
  "东门街道, 贵溪市": a part of 贵溪市, whose population gets the county's census 60+ share
  (census_county 360681), never the county's total.
- Population for Guixi: no real raster covers Guixi. The test writes the real WorldPop grid of
  Kathmandu (kathmandu-worldpop/NPL_ppp_v2c_2020_UNadj.tif) with the same pixel values and its
  geotransform moved so that it is centred on the Guixi extract, and serves it under WorldPop's
  CHN path. The people in it are Kathmandu's, not Guixi's: these tests check the plumbing
  (windows read over HTTP, the census share, the run), not Guixi's figures.
- Wuhan: the real WorldPop 60+ age-sex rasters of Wuhan, served under WorldPop's CHN age-sex
  paths, read through /vsicurl/ by the kit's population step and calibrated to the 2020 census of
  武汉市 (420100). No Wuhan OSM exists here, so that step is tested on its own, not a whole init.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pytest
import rasterio
import rasterio.features
import rasterio.windows
import requests
import shapely
import yaml
from _servers import OsmServer
from affine import Affine
from click.testing import CliRunner, Result
from shapely.geometry import mapping

from carecircle.cli import main
from carecircle.kit import worldpop
from carecircle.kit.manifest import kit_notes
from carecircle.scenario import load_scenario
from carecircle.sources import census2020

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
OSM_FILE = SHARED_DATA / "osm" / "guixi-jiangxi.osm"
KATHMANDU = SHARED_DATA / "population" / "kathmandu-worldpop" / "NPL_ppp_v2c_2020_UNadj.tif"
WUHAN = SHARED_DATA / "population" / "wuhan-worldpop-agesex-60plus"
DONGMEN = "东门街道, 贵溪市"
DONGMEN_RELATION = 6662718
GUIXI_CENSUS = (96_509, 540_572)  # 60+ and residents of 贵溪市 (360681), 2020 census
VILLAGE_PLACES = {"village", "hamlet", "town", "quarter", "neighbourhood"}


# --- real data, read here independently of carecircle ----------------------------------------


def _dongmen() -> shapely.Geometry:
    """东门街道 as osmnx assembles it from the extract (the oracle for the boundary)."""
    features = ox.features_from_xml(OSM_FILE, tags={"admin_level": "8"})
    return features.loc[("relation", DONGMEN_RELATION), "geometry"]


def _osm() -> tuple[
    dict[int, tuple[float, float, dict[str, str]]], dict[int, tuple[list[int], dict[str, str]]]
]:
    root = ET.parse(OSM_FILE).getroot()

    def tags(el: ET.Element) -> dict[str, str]:
        return {t.get("k", ""): t.get("v", "") for t in el.iter("tag")}

    nodes = {
        int(n.get("id", "0")): (float(n.get("lon", "0")), float(n.get("lat", "0")), tags(n))
        for n in root.iter("node")
    }
    ways = {
        int(w.get("id", "0")): ([int(nd.get("ref", "0")) for nd in w.iter("nd")], tags(w))
        for w in root.iter("way")
    }
    return nodes, ways


def _moved_kathmandu(dst: Path, centre: tuple[float, float]) -> Path:
    """The real Kathmandu WorldPop grid, pixel values unchanged, its origin moved so its centre
    is ``centre`` (lon, lat)."""
    with rasterio.open(KATHMANDU) as src:
        profile, values, t = src.profile, src.read(1), src.transform
        profile["transform"] = Affine(
            t.a, 0.0, centre[0] - t.a * src.width / 2, 0.0, t.e, centre[1] - t.e * src.height / 2
        )
    dst.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(dst, "w", **profile) as out:
        out.write(values, 1)
    return dst


def _guixi_centre() -> tuple[float, float]:
    bounds = ET.parse(OSM_FILE).getroot().find("bounds")
    assert bounds is not None
    lon = (float(bounds.get("minlon", "0")) + float(bounds.get("maxlon", "0"))) / 2
    lat = (float(bounds.get("minlat", "0")) + float(bounds.get("maxlat", "0"))) / 2
    return lon, lat


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- running the command -------------------------------------------------------------------------


def _invoke(args: list[str], cache: Path) -> Result:
    env = {"CARECIRCLE_CACHE": str(cache), "NO_PROXY": "127.0.0.1,localhost"}
    for name in ("CARECIRCLE_NOMINATIM_URL", "CARECIRCLE_OVERPASS_URL", "CARECIRCLE_WORLDPOP_URL"):
        env[name] = ""  # only what the test passes
    return CliRunner().invoke(main, args, env=env)


def _servers(server: OsmServer) -> list[str]:
    return [
        "--nominatim-url", server.url,
        "--overpass-url", f"{server.url}/api",
        "--worldpop-url", f"{server.url}/files",
    ]  # fmt: skip


def _error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("错误 / error")]


@pytest.fixture(scope="module")
def guixi_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file root holding the moved Kathmandu grid at WorldPop's CHN residents path."""
    root = tmp_path_factory.mktemp("worldpop-guixi")
    _moved_kathmandu(root / worldpop.RESIDENTS_PATHS[0], _guixi_centre())
    return root


@pytest.fixture(scope="module")
def guixi(tmp_path_factory: pytest.TempPathFactory, guixi_files: Path) -> Iterator[dict[str, Any]]:
    """One init of 东门街道 against a live server; the server is stopped by a later test."""
    work = tmp_path_factory.mktemp("guixi-init")
    server = OsmServer(OSM_FILE, guixi_files)
    result = _invoke(
        ["init", DONGMEN, "--out", str(work / "kit"), *_servers(server)], work / "cache"
    )
    try:
        yield {
            "server": server,
            "work": work,
            "kit": work / "kit",
            "result": result,
            "requests": dict(server.requests),
            "statuses": dict(server.statuses),
        }
    finally:
        server.stop()


def _kit(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "data" / "kit.json").read_text(encoding="utf-8"))


# --- the Guixi kit ----------------------------------------------------------------------------


def test_init_writes_a_kit_from_the_servers(guixi: dict[str, Any]) -> None:
    result, kit_dir = guixi["result"], guixi["kit"]
    assert result.exit_code == 0, result.output
    # Progress on stderr, Chinese first; the scenario's path on stdout.
    assert "[1/6] 行政边界 / boundary" in result.stderr
    assert str((kit_dir / "scenario.yaml").resolve()) in result.stdout
    # One geocoding, one road and one feature query, the raster as range requests.
    assert guixi["requests"]["nominatim"] == 1
    assert guixi["requests"]["overpass"] == 2
    assert guixi["statuses"].get(("files", 206), 0) >= 1
    kit = _kit(kit_dir)
    assert kit["area"]["code"] == "360681" and kit["area"]["whole_county"] is False
    assert kit["area"]["osm"]["osm_id"] == DONGMEN_RELATION
    trust = {name: layer["trust"] for name, layer in kit["layers"].items()}
    assert trust == {
        "boundary": "draft",
        "roads": "draft",
        "population": "approximate",
        "townships": "draft",
        "villages": "approximate",
        "facilities": "draft",
        "candidates": "draft",
    }
    for layer in kit["layers"].values():
        assert layer["source"] and layer["licence"] and layer["date"]
        for file in layer["files"]:
            assert (kit_dir / "data" / file).is_file(), file
    sources = (kit_dir / "data" / "SOURCES.md").read_text(encoding="utf-8")
    assert "| villages | **approximate** |" in sources

    # The boundary is the relation's polygon.
    boundary = gpd.read_file(kit_dir / "data" / "boundary.geojson").geometry.iloc[0]
    oracle = _dongmen()
    assert shapely.symmetric_difference(boundary, oracle).area < 1e-9 * oracle.area + 1e-12

    sc = load_scenario(kit_dir / "scenario.yaml")
    pop = sc.data.population
    assert pop.census_county == "360681" and pop.older_rasters == ()  # a part: the share
    assert pop.raster is not None and pop.raster.name == "residents.tif"
    assert sc.data.facilities is None  # OSM maps no care facility here: no register
    assert sc.data.network.path is not None and sc.data.network.path.suffix == ".graphml"


def test_the_kit_layers_match_the_extract(guixi: dict[str, Any]) -> None:
    kit_dir = guixi["kit"]
    polygon = _dongmen()
    nodes, ways = _osm()
    # Villages: every named place point inside 东门街道 but the 街道's own label node.
    expected = {
        tags["name"]
        for lon, lat, tags in nodes.values()
        if tags.get("place") in VILLAGE_PLACES
        and tags.get("name")
        and polygon.contains(shapely.Point(lon, lat))
        and tags["name"] != "东门街道"
    }
    villages = gpd.read_file(kit_dir / "data" / "villages.geojson")
    assert set(villages["name"]) == expected and len(expected) == 7
    assert villages["id"].is_unique and (villages.geometry.geom_type == "Point").all()
    townships = gpd.read_file(kit_dir / "data" / "townships.geojson")
    assert list(townships["name"]) == ["东门街道"]
    candidates = gpd.read_file(kit_dir / "data" / "candidates_draft.geojson")
    assert list(candidates["name"]) == ["东门街道办事处"]  # the one townhall inside
    register = pd.read_csv(kit_dir / "data" / "facilities_draft.csv", encoding="utf-8-sig")
    assert list(register.columns) == ["id", "name", "type", "lon", "lat", "osm_id", "osm_tags"]
    assert len(register) == 0
    # Roads: every highway way with a node inside the boundary is in the GraphML, nothing else.
    G = nx.read_graphml(kit_dir / "data" / "roads.graphml")
    edges = list(G.edges(data=True))
    assert edges and all("highway" in data for _, _, data in edges)
    in_graph = {int(data["osmid"]) for _, _, data in edges}
    inside = {
        w
        for w, (refs, tags) in ways.items()
        if "highway" in tags
        and any(r in nodes and polygon.contains(shapely.Point(nodes[r][:2])) for r in refs)
    }
    assert inside and inside <= in_graph
    assert in_graph <= {w for w, (_, tags) in ways.items() if "highway" in tags}
    # Population: the window holds the served grid's pixel values unchanged.
    served = guixi["server"].files / worldpop.RESIDENTS_PATHS[0]
    with rasterio.open(kit_dir / "data" / "population" / "residents.tif") as kit_tif:
        window_values = kit_tif.read(1, masked=True)
        bounds = kit_tif.bounds
    with rasterio.open(served) as src:
        window = rasterio.windows.from_bounds(*bounds, transform=src.transform)
        original = src.read(1, window=window.round_offsets().round_lengths(), masked=True)
    assert window_values.shape == original.shape
    assert np.array_equal(window_values.mask, original.mask)
    assert np.array_equal(window_values.compressed(), original.compressed())


def test_run_scores_the_kit(guixi: dict[str, Any]) -> None:
    work, kit_dir = guixi["work"], guixi["kit"]
    result = _invoke(
        ["run", str(kit_dir / "scenario.yaml"), "--out", str(work / "maps")], work / "cache"
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((work / "maps" / "summary.json").read_text(encoding="utf-8"))
    circle = summary["village_circle"]
    assert 0.0 <= circle["share"] <= 1.0
    census = summary["inputs"]["census"]
    older_60, residents = GUIXI_CENSUS
    assert census["source"] == "census_county" and census["county"]["code"] == "360681"
    assert census["share"] == pytest.approx(older_60 / residents, abs=1e-6)
    # The part's older residents are its residents times the county's share, not the county's
    # 96,509.
    raster = summary["inputs"]["raster"]
    assert circle["older"] == pytest.approx(raster["total_in_area"] * census["share"], rel=1e-6)
    assert circle["older"] != pytest.approx(older_60, rel=0.05)
    # Independently: the moved grid's cells with their centre inside 东门街道.
    served = guixi["server"].files / worldpop.RESIDENTS_PATHS[0]
    with rasterio.open(served) as src:
        values = src.read(1, masked=True).filled(0.0).astype(np.float64)
        inside = rasterio.features.geometry_mask(
            [mapping(_dongmen())], out_shape=values.shape, transform=src.transform, invert=True
        )
    assert raster["total_in_area"] == pytest.approx(values[inside].sum(), rel=0.02)
    codes = {w["code"]: w for w in summary["data_quality"]["warnings"]}
    assert {"village_territories_approximate", "no_facility_register"} <= set(codes)
    kit_warning = codes["kit_layers_not_official"]
    assert [i["layer"] for i in kit_warning["items"]] == [
        "boundary", "roads", "population", "townships", "villages"
    ]  # fmt: skip
    assert "[kit_layers_not_official]" in result.stderr


def test_a_second_init_needs_no_network(guixi: dict[str, Any]) -> None:
    server: OsmServer = guixi["server"]
    work, first = guixi["work"], guixi["kit"]
    before = server.total()
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/search", timeout=5)
    result = _invoke(
        ["init", DONGMEN, "--out", str(work / "kit2"), *_servers(server)], work / "cache"
    )
    assert result.exit_code == 0, result.output
    assert server.total() == before
    second = work / "kit2"
    for name in ("boundary.geojson", "roads.graphml", "villages.geojson", "townships.geojson"):
        assert _sha(first / "data" / name) == _sha(second / "data" / name), name
    with (
        rasterio.open(first / "data/population/residents.tif") as a,
        rasterio.open(second / "data/population/residents.tif") as b,
    ):
        assert a.transform == b.transform
        assert np.array_equal(a.read(1), b.read(1))
    assert _kit(first)["layers"] == _kit(second)["layers"]


def test_from_files_replaces_those_layers_and_keeps_the_rest(
    guixi: dict[str, Any], tmp_path: Path
) -> None:
    """The bureau's villages and townships replace the drafts; nothing else changes, and no
    server is needed. (Here the "bureau's" files are the extract's real place nodes written as a
    民政-style table, and 东门街道's real outline as a 国土调查-style layer, with OSM ids as
    codes.)"""
    work, kit_dir = guixi["work"], tmp_path / "kit"
    shutil.copytree(guixi["kit"], kit_dir)  # the other tests' kit stays as it was
    before = _kit(kit_dir)
    hashes = {
        p.name: _sha(p)
        for p in (kit_dir / "data").glob("*.*")
        if p.name not in ("kit.json", "SOURCES.md")
    }
    polygon = _dongmen()
    nodes, _ = _osm()
    rows = [
        {"村社区代码": str(i), "村社区名称": tags["name"], "经度": lon, "纬度": lat}
        for i, (lon, lat, tags) in nodes.items()
        if tags.get("place") in ("quarter", "village") and polygon.contains(shapely.Point(lon, lat))
    ]
    table = tmp_path / "村社区.csv"
    pd.DataFrame(rows).to_csv(table, index=False, encoding="utf-8-sig")
    towns = tmp_path / "乡镇界.geojson"
    gpd.GeoDataFrame(
        {"XZQDM": [str(DONGMEN_RELATION)], "XZQMC": ["东门街道"]}, geometry=[polygon], crs=4326
    ).to_file(towns)
    # The brief's spelling: one --from-files, then LAYER=PATH pairs.
    result = _invoke(
        ["init", DONGMEN, "--out", str(kit_dir), "--from-files", f"villages={table}", f"townships={towns}"],
        work / "cache",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    after = _kit(kit_dir)
    villages, townships = after["layers"]["villages"], after["layers"]["townships"]
    assert villages["trust"] == townships["trust"] == "official"
    assert villages["count"] == len(rows) == 7 and townships["count"] == 1
    assert villages["spec"]["x"] == "经度" and villages["spec"]["y"] == "纬度"
    assert villages["spec"]["columns"] == {"村社区代码": "id", "村社区名称": "name"}
    assert townships["spec"]["columns"] == {"XZQDM": "id", "XZQMC": "name"}
    replaced = {"villages", "townships"}
    others = {k: v for k, v in after["layers"].items() if k not in replaced}
    assert others == {k: v for k, v in before["layers"].items() if k not in replaced}
    for name, digest in hashes.items():
        assert _sha(kit_dir / "data" / name) == digest, name
    sc = load_scenario(kit_dir / "scenario.yaml")
    assert sc.data.villages is not None
    assert (
        sc.data.villages.path == (kit_dir / "data" / "bureau" / "villages" / table.name).resolve()
    )
    assert [n.layer for n in kit_notes(sc)] == ["boundary", "roads", "population"]
    ran = _invoke(
        ["run", str(kit_dir / "scenario.yaml"), "--out", str(tmp_path / "maps")], work / "cache"
    )
    assert ran.exit_code == 0, ran.output
    summary = json.loads((tmp_path / "maps" / "summary.json").read_text(encoding="utf-8"))
    assert summary["inputs"]["villages"] == 7 and summary["inputs"]["townships"] == 1
    kit_warning = next(
        w for w in summary["data_quality"]["warnings"] if w["code"] == "kit_layers_not_official"
    )
    assert [i["layer"] for i in kit_warning["items"]] == ["boundary", "roads", "population"]


def test_a_rerun_keeps_the_planners_edits_and_init_says_what_run_would_refuse(
    guixi: dict[str, Any], tmp_path: Path
) -> None:
    """Found by a new user: rerunning init --from-files erased the `types:` they had added to
    scenario.yaml, and init said "next: carecircle run" for a register run then refused."""
    work, kit_dir = guixi["work"], tmp_path / "kit"
    shutil.copytree(guixi["kit"], kit_dir)
    register = tmp_path / "机构名录.csv"
    pd.DataFrame(
        {
            "编号": ["1", "2"],
            "机构名称": ["江边社区颐养之家", "东门街道养老服务中心"],
            "类型": ["颐养之家", "乡镇（街道）养老服务中心"],
            "经度": [117.21339, 117.21152],
            "纬度": [28.28432, 28.28744],
        }
    ).to_csv(register, index=False, encoding="utf-8-sig")
    first = _invoke(
        ["init", DONGMEN, "--out", str(kit_dir), "--from-files", f"facilities={register}"],
        work / "cache",
    )
    assert first.exit_code == 0, first.output
    # The unknown type is named now, not by the run.
    assert "to fix before run" in first.stderr and "颐养之家" in first.stderr
    assert "carecircle run" not in first.stdout
    scenario = kit_dir / "scenario.yaml"
    doc = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    doc["data"]["facilities"]["types"] = {"颐养之家": "mutual_aid"}
    doc["policy"]["targets"]["mutual-aid-coverage"] = None
    doc["tiers"] = {"village": {"mode": "walk", "minutes": 10}}
    scenario.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    villages = tmp_path / "村.csv"
    pd.DataFrame(
        {"行政区划代码": ["a", "b"], "村名": ["江边社区", "城北社区"],
         "经度": [117.21339, 117.20426], "纬度": [28.28432, 28.29066]}
    ).to_csv(villages, index=False, encoding="gbk")  # fmt: skip
    again = _invoke(
        ["init", DONGMEN, "--out", str(kit_dir), "--from-files", f"villages={villages}"],
        work / "cache",
    )
    assert again.exit_code == 0, again.output
    assert "carecircle run" in again.stdout, again.stderr
    sc = load_scenario(scenario)
    assert sc.data.facilities is not None and sc.data.facilities.types["颐养之家"] == "mutual_aid"
    assert "mutual-aid-coverage" in sc.policy.targets
    assert sc.tiers["village"].minutes == 10
    assert sc.data.villages is not None and sc.data.villages.columns["行政区划代码"] == "id"
    ran = _invoke(["run", str(scenario), "--out", str(tmp_path / "maps")], work / "cache")
    assert ran.exit_code == 0, ran.output


def test_offline_init_from_local_files(guixi_files: Path, tmp_path: Path) -> None:
    """--boundary, --osm and --population: no server at all; the bureau's outline is official."""
    outline = tmp_path / "东门街道.geojson"
    gpd.GeoDataFrame({"XZQMC": ["东门街道"]}, geometry=[_dongmen()], crs="EPSG:4326").to_file(
        outline
    )
    grid = guixi_files / worldpop.RESIDENTS_PATHS[0]
    result = _invoke(
        ["init", DONGMEN, "--out", str(tmp_path / "kit"), "--boundary", str(outline),
         "--osm", str(OSM_FILE), "--population", str(grid)],
        tmp_path / "cache",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    kit = _kit(tmp_path / "kit")
    assert kit["layers"]["boundary"]["trust"] == "official"
    assert kit["layers"]["boundary"]["spec"]["columns"] == {"XZQMC": "name"}
    assert "guixi-jiangxi.osm" in kit["layers"]["roads"]["source"]
    assert kit["layers"]["villages"]["count"] == 7
    assert not (tmp_path / "cache" / "worldpop").exists()  # a local file is read, not cached
    load_scenario(tmp_path / "kit" / "scenario.yaml")


# --- bad input -----------------------------------------------------------------------------------


@pytest.fixture
def live(guixi_files: Path) -> Iterator[OsmServer]:
    server = OsmServer(OSM_FILE, guixi_files)
    yield server
    server.stop()


def test_an_unknown_county_is_one_line(live: OsmServer, tmp_path: Path) -> None:
    result = _invoke(
        ["init", "不存在县", "--out", str(tmp_path / "kit"), *_servers(live)], tmp_path
    )
    assert result.exit_code == 2
    (line,) = _error_lines(result)
    assert "'不存在县'" in line and "区划代码" in line
    assert live.total() == 0 and not (tmp_path / "kit").exists()


def test_nominatim_finding_nothing_is_one_line(live: OsmServer, tmp_path: Path) -> None:
    # The census knows 乐清市; the Guixi extract (the server's only data) does not.
    result = _invoke(
        ["init", "乐清市, 温州市, 浙江省", "--out", str(tmp_path / "kit"), *_servers(live)],
        tmp_path,
    )
    assert result.exit_code == 2
    (line,) = _error_lines(result)
    assert "Nominatim" in line and "--boundary FILE" in line
    assert live.requests["nominatim"] == 1 and live.requests["overpass"] == 0
    assert not (tmp_path / "kit").exists()


def test_a_raster_that_misses_the_area_is_one_line(tmp_path: Path) -> None:
    """The real Kathmandu grid where it is (85 E), served as China's: it does not cover Guixi."""
    root = tmp_path / "files"
    (root / worldpop.RESIDENTS_PATHS[0]).parent.mkdir(parents=True)
    os.symlink(KATHMANDU, root / worldpop.RESIDENTS_PATHS[0])
    server = OsmServer(OSM_FILE, root)
    try:
        result = _invoke(
            ["init", DONGMEN, "--out", str(tmp_path / "kit"), *_servers(server)], tmp_path / "cache"
        )
    finally:
        server.stop()
    assert result.exit_code == 2
    (line,) = _error_lines(result)
    assert "does not cover the area" in line and "chn_ppp_2020_UNadj_constrained.tif" in line
    assert not (tmp_path / "kit").exists()


# --- Wuhan: the 60+ bands over HTTP, calibrated to the census ------------------------------------


def test_wuhan_age_bands_over_http_are_calibrated_to_the_census(tmp_path: Path) -> None:
    root = tmp_path / "files"
    for sex in ("f", "m"):
        for age in worldpop.AGE_BANDS:
            target = root / worldpop.BAND_PATH.format(sex=sex, age=age)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(WUHAN / f"pop_{age}_{sex}_wuhan.tif", target)
    outline = gpd.read_file(WUHAN / "wuhan-boundary-shp" / "wuhan-boundary.shp").to_crs(4326)
    area = shapely.union_all(outline.geometry.to_numpy())
    county = census2020.lookup("武汉市")
    assert county.code == "420100" and county.older_60 == 2_145_288
    server = OsmServer(None, root)
    try:
        result = worldpop.build_population(
            area,
            county=county,
            whole_county=True,
            data_dir=tmp_path / "data",
            base_url=f"{server.url}/files",
            cache_folder=tmp_path / "cache",
        )
        statuses = dict(server.statuses)
        again = worldpop.build_population(
            area,
            county=county,
            whole_county=True,
            data_dir=tmp_path / "data2",
            base_url=f"{server.url}/files",
            cache_folder=tmp_path / "cache",
        )
        assert server.total() == sum(statuses.values())  # the second read: the cache alone
        assert again.remote_reads == 0 and again.older == result.older
    finally:
        server.stop()
    # Read over HTTP with range requests: 10 bands; the residents grid is not there (404 twice).
    assert statuses.get(("files", 206), 0) >= 10
    assert statuses.get(("files", 404), 0) == len(worldpop.RESIDENTS_PATHS)
    assert result.remote_reads == 10
    assert result.spec == {
        "older_rasters": ["population/older_60plus.tif"],
        "census_county": "420100",
    }
    assert result.older_raw == pytest.approx(1_942_653, rel=0.01)
    assert result.older == pytest.approx(2_145_288, rel=1e-6)
    assert result.factor == pytest.approx(2_145_288 / result.older_raw, rel=1e-9)
    # The written grid: its total is the census figure, its pattern the bands' own.
    with rasterio.open(result.files["older"]) as kit_tif:
        calibrated = kit_tif.read(1, masked=True).astype(np.float64)
        bounds, transform = kit_tif.bounds, kit_tif.transform
    assert calibrated.sum() == pytest.approx(2_145_288, rel=1e-6)
    raw = np.zeros(calibrated.shape)
    for sex in ("f", "m"):
        for age in worldpop.AGE_BANDS:
            with rasterio.open(WUHAN / f"pop_{age}_{sex}_wuhan.tif") as src:
                window = rasterio.windows.from_bounds(*bounds, transform=src.transform)
                band = src.read(1, window=window.round_offsets().round_lengths(), masked=True)
                assert src.window_transform(window.round_offsets().round_lengths()).almost_equals(
                    transform
                )
                raw += band.filled(0.0)
    both = ~calibrated.mask
    r = np.corrcoef(calibrated.compressed(), raw[both])[0, 1]
    assert r > 0.999999
    assert result.record.trust == "approximate" and "×1.1043" in result.record.note


# --- the draft register's types, on real names ---------------------------------------------------


def test_osm_facility_types_map_to_tiers_on_real_names() -> None:
    """The 500 real nursing-home names of the Baidu POI lists (常州, 广州, 海口, 南京, 上海), tagged
    as OSM maps such a place (amenity=nursing_home), get a type the run knows: 敬老院 as
    敬老院 (jingloyuan), the rest as institutions or their own care tier; never a type that
    would stop the run."""
    from carecircle.kit.osm import COMMUNITY_CENTRE, facility_type
    from carecircle.scenario import DEFAULT_FACILITY_TYPES

    folder = SHARED_DATA / "china" / "nursing-homes-baidu-poi"
    names = pd.concat(
        pd.read_csv(p, encoding="utf-8")["名称"] for p in sorted(folder.glob("*.csv"))
    ).astype(str)
    assert len(names) == 500
    kinds = names.map(lambda n: facility_type({"amenity": "nursing_home", "name": n}))
    assert kinds.map(lambda k: k in DEFAULT_FACILITY_TYPES).all()
    tiers = kinds.map(DEFAULT_FACILITY_TYPES.get)
    jingloyuan = names.str.contains("敬老院")
    assert (tiers[jingloyuan] == "jingloyuan").all() and jingloyuan.sum() > 50
    assert set(tiers[~jingloyuan]) <= {"institution", "village", "mutual_aid", "meal"}
    # A community centre is listed but ignored until checked; a children's home is not care
    # for older people.
    assert facility_type({"amenity": "community_centre", "name": names.iloc[0]}) == COMMUNITY_CENTRE
    assert facility_type({"amenity": "social_facility", "social_facility:for": "child"}) is None
