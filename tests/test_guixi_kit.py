"""The 贵溪市 Guixi kit (benchmarks/guixi.py) builds a scenario from the real OSM and census files.

Checks the files against the manifest and against the OSM file read independently here: the
counts, every village node inside its township, facilities inside the boundary (also after the
GCJ-02 shift), the forbidden 0103 parcel next to many older residents, and the off-road centre.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from benchmarks import guixi
from carecircle.scenario import load_scenario
from carecircle.sources.coords import gcj02_to_wgs84

pytestmark = pytest.mark.skipif(
    not (guixi.OSM_FILE.exists() and (guixi.CENSUS / "census_county_2020_v1.xlsx").exists()),
    reason="../shared/data (the Guixi OSM file and the 2020 census tables) is not available",
)

REGISTER = ("机构编号", "机构名称", "机构类型", "经度", "纬度")
REGISTER += ("建筑面积（平方米）", "床位数", "护理型床位数")
FILES = ("guixi.yaml", "admin.gpkg", "population.csv", "facilities.csv", "parcels.gpkg")


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("guixi")
    scenario = guixi.build(folder)
    return scenario, json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def _place_nodes() -> dict[str, tuple[str, float, float]]:
    """Named place=town/quarter/village/locality nodes of the OSM file: name -> (place, lon, lat)."""
    out = {}
    for node in ET.parse(guixi.OSM_FILE).getroot().iter("node"):
        tags = {t.get("k"): t.get("v") for t in node.iter("tag")}
        if tags.get("place") in ("town", "quarter", "village", "locality") and tags.get("name"):
            out[tags["name"]] = (tags["place"], float(node.get("lon")), float(node.get("lat")))
    return out


def test_files_exist_and_the_scenario_loads(kit: tuple[Path, dict]) -> None:
    scenario, manifest = kit
    for name in (*FILES, "manifest.json"):
        assert (scenario.parent / name).stat().st_size > 0, name
    loaded = load_scenario(scenario)
    assert loaded.crs == "EPSG:4548"
    assert loaded.data.network.path == guixi.OSM_FILE.resolve()
    assert loaded.siting is not None and loaded.siting.new_beds == 200
    assert "贵溪" in (loaded.policy.document or "")
    assert manifest["boundary"]["method"] == "admin6-within-bounds"
    assert manifest["boundary"]["admin6_relation"]["closed_in_file"] is False


def test_counts_match_the_manifest_and_the_osm_file(kit: tuple[Path, dict]) -> None:
    scenario, manifest = kit
    admin = scenario.parent / "admin.gpkg"
    townships = gpd.read_file(admin, layer="townships")
    villages = gpd.read_file(admin, layer="villages")
    points = pd.read_csv(scenario.parent / "population.csv", dtype=str, encoding="utf-8-sig")
    assert len(townships) == manifest["townships"]["count"] == 6
    assert len(points) == manifest["villages"]["count"] == len(_place_nodes()) == 24
    assert len(villages) == manifest["villages"]["with_territory"]
    assert set(points["村社区名称"]) == set(_place_nodes())
    assert points["村社区代码"].str.fullmatch(r"3606810\d{5}").all()
    assert points["村社区代码"].is_unique and townships["XZQDM"].is_unique
    dropped = {d["name"] for d in manifest["townships"]["dropped"]}
    assert dropped == {"圭峰镇"}  # 弋阳县's, not 贵溪市's
    older = points["60岁及以上人口"].astype(int)
    assert older.sum() == manifest["population"]["older_total"]
    census = manifest["population"]["census"]
    assert census["older_60plus"] == 96_509  # 男/女 60-64 ... 85+ of the census row
    assert abs(census["tudigong_older"] - census["older_60plus"]) / census["older_60plus"] < 0.002
    assert 0.2 * census["older_60plus"] < older.sum() < 0.5 * census["older_60plus"]


def test_every_village_point_is_inside_its_township(kit: tuple[Path, dict]) -> None:
    scenario, _ = kit
    townships = gpd.read_file(scenario.parent / "admin.gpkg", layer="townships").set_index("XZQDM")
    villages = gpd.read_file(scenario.parent / "admin.gpkg", layer="villages")
    points = pd.read_csv(scenario.parent / "population.csv", dtype=str, encoding="utf-8-sig")
    nodes = _place_nodes()
    for _, row in points.iterrows():
        lon, lat = float(row["经度"]), float(row["纬度"])
        assert nodes[row["村社区名称"]][1:] == pytest.approx((lon, lat), abs=1e-6)
        polygon = townships.loc[row["所属乡镇代码"], "geometry"]
        assert polygon.contains(shapely.Point(lon, lat)), row["村社区名称"]
        assert row["村社区代码"].startswith(row["所属乡镇代码"][:9])
    # Territories: within their township, and together they tile the townships that have villages.
    metric = townships.to_crs(4548)
    for v in villages.to_crs(4548).itertuples():
        outside = shapely.difference(v.geometry, metric.loc[v.SSXZDM, "geometry"]).area
        assert outside < 1.0, f"{v.XZQMC}: {outside:.1f} m² outside its township"
    with_villages = townships.loc[sorted(set(villages["SSXZDM"]))]
    assert villages.to_crs(4548).area.sum() == pytest.approx(
        with_villages.to_crs(4548).area.sum(), rel=1e-6
    )


@pytest.mark.parametrize("coords", ["wgs84", "gcj02"])
def test_facilities_inside_the_boundary(
    kit: tuple[Path, dict], tmp_path: Path, coords: str
) -> None:
    scenario, manifest = kit
    if coords == "gcj02":
        scenario = guixi.build(tmp_path, coords="gcj02")
        assert "coords: gcj02" in scenario.read_text(encoding="utf-8")
    boundary = gpd.read_file(scenario.parent / "admin.gpkg", layer="county").geometry.iloc[0]
    register = pd.read_csv(scenario.parent / "facilities.csv", encoding="utf-8-sig")
    assert (scenario.parent / "facilities.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert list(register.columns) == list(REGISTER)
    lon, lat = register["经度"].to_numpy(), register["纬度"].to_numpy()
    if coords == "gcj02":
        lon, lat = gcj02_to_wgs84(lon, lat)
    assert shapely.contains_xy(boundary, lon, lat).all()
    assert len(register) == manifest["facilities"]["count"] == 7
    off = manifest["facilities"]["off_network"]
    assert [f["id"] for f in off] == [guixi.OFF_NETWORK_FACILITY]
    assert 700 < off[0]["road_m"] < 900


def test_forbidden_farmland_parcel_sits_among_older_residents(kit: tuple[Path, dict]) -> None:
    scenario, _ = kit
    parcels = gpd.read_file(scenario.parent / "parcels.gpkg").to_crs(4548)
    farmland = parcels[parcels["用地代码"] == "0103"]
    assert list(farmland["地块编号"]) == [guixi.FARMLAND_PARCEL]
    assert (parcels["用地代码"] != "0103").sum() >= 5
    points = pd.read_csv(scenario.parent / "population.csv", encoding="utf-8-sig")
    xy = gpd.GeoSeries(gpd.points_from_xy(points["经度"], points["纬度"]), crs=4326).to_crs(4548)
    near = xy.distance(farmland.geometry.iloc[0]) < 1_000
    assert points.loc[near.to_numpy(), "60岁及以上人口"].sum() > 5_000
    # The largest parcel: the only one that holds a 200-bed home at 40 m² a bed.
    assert farmland["用地面积"].iloc[0] == parcels["用地面积"].max() > 200 * 40
    assert np.isclose(parcels.area, parcels["用地面积"], rtol=0.01).all()


def test_plan_spellings(tmp_path: Path) -> None:
    scenario_names = pd.read_csv(guixi.plan(tmp_path / "a"), encoding="utf-8-sig")
    register_names = pd.read_csv(
        guixi.plan(tmp_path / "b", spellings="register"), encoding="utf-8-sig"
    )
    assert {"床位数", "建筑面积"} <= set(scenario_names.columns)
    assert {"床位", "建筑面积（平方米）"} <= set(register_names.columns)
    assert len(scenario_names) == 3 and set(scenario_names["记录类型"]) == {"设施"}
    places = {(round(lon, 6), round(lat, 6)) for _, lon, lat in _place_nodes().values()}
    sites = set(zip(scenario_names["经度"].round(6), scenario_names["纬度"].round(6), strict=True))
    assert sites <= places
