"""Tests of carecircle.demo: the generated (fictional) demo county 青溪县, small size.

Every check reads the written files back with the readers real data goes through (osmnx, rasterio,
pyogrio/geopandas, pandas) and asserts something a person can verify by hand.
"""

from __future__ import annotations

import hashlib
import json
import math
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from pyproj import Transformer
from shapely.geometry import LineString

from carecircle import demo

SEED = 2022
TO_LOCAL = Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True)
CENTRE_TYPES = {"村级居家养老服务照料中心", "社区居家养老服务照料中心"}
EXPECTED_HIGHWAYS = {
    "motorway",
    "motorway_link",
    "primary",
    "secondary",
    "tertiary",
    "unclassified",
    "residential",
    "service",
    "track",
    "footway",
    "path",
    "steps",
}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], list[str]]:
    out = tmp_path_factory.mktemp("demo") / "small"
    messages: list[str] = []
    manifest = demo.generate_demo(out, size="small", seed=SEED, progress=messages.append)
    return out, manifest, messages


@pytest.fixture(scope="module")
def out(small: tuple[Path, dict[str, Any], list[str]]) -> Path:
    return small[0]


@pytest.fixture(scope="module")
def manifest(small: tuple[Path, dict[str, Any], list[str]]) -> dict[str, Any]:
    return small[1]


@pytest.fixture(scope="module")
def layout() -> Any:
    """The generator's own plan (hills, rivers) for checks the files alone cannot express."""
    return demo._plan_layout(demo.SIZES["small"], SEED)


@pytest.fixture(scope="module")
def osm(out: Path) -> dict[str, Any]:
    """roads.osm parsed: node coordinates (lon/lat and local metres) and ways."""
    root = ET.parse(out / "roads.osm").getroot()
    ids = np.array([int(n.get("id")) for n in root.iter("node")])
    lonlat = np.array([[float(n.get("lon")), float(n.get("lat"))] for n in root.iter("node")])
    x, y = TO_LOCAL.transform(lonlat[:, 0], lonlat[:, 1])
    index = {int(i): k for k, i in enumerate(ids)}
    ways = []
    for w in root.iter("way"):
        refs = np.array([index[int(nd.get("ref"))] for nd in w.iter("nd")])
        tags = {t.get("k"): t.get("v") for t in w.iter("tag")}
        ways.append((int(w.get("id")), refs, tags))
    return {"root": root, "ids": ids, "lonlat": lonlat, "xy": np.column_stack([x, y]), "ways": ways}


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _walk_graph(osm: dict[str, Any]) -> nx.Graph:
    g = nx.Graph()
    for _, refs, tags in osm["ways"]:
        if "highway" in tags and tags["highway"] not in {"motorway", "motorway_link"}:
            g.add_edges_from(zip(refs[:-1].tolist(), refs[1:].tolist(), strict=True))
    return g


# ---------------------------------------------------------------------------------------------
# Files, manifest, determinism
# ---------------------------------------------------------------------------------------------


def test_writes_every_file_and_the_manifest(small: tuple[Path, dict[str, Any], list[str]]) -> None:
    out, manifest, messages = small
    assert sorted(p.name for p in out.iterdir()) == sorted(demo.FILES)
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8")) == manifest
    assert manifest["name"] == "青溪县" and manifest["fictional"] is True
    assert "虚构" in manifest["note"] and "fictional" in manifest["note"]
    assert manifest["files"] == sorted(demo.FILES)
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # staging dir gone
    assert messages and all(" / " in m for m in messages)
    assert str(out) not in (out / "manifest.json").read_text(encoding="utf-8")


def test_same_seed_gives_identical_bytes(out: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    demo.generate_demo(again, size="small", seed=SEED)
    assert _digests(again) == _digests(out)


def test_different_seed_gives_different_roads(out: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    manifest = demo.generate_demo(other, size="small", seed=SEED + 1)
    assert (other / "roads.osm").read_bytes() != (out / "roads.osm").read_bytes()
    assert (other / "admin.gpkg").read_bytes() != (out / "admin.gpkg").read_bytes()
    assert manifest["seed"] == SEED + 1


def test_unknown_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"small.*county"):
        demo.generate_demo(tmp_path / "x", size="province")  # type: ignore[arg-type]
    assert not (tmp_path / "x").exists()


def test_failed_run_leaves_no_partial_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(demo, "_write_parcels", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        demo.generate_demo(tmp_path / "broken", size="small", seed=SEED)
    assert not (tmp_path / "broken").exists() or not any((tmp_path / "broken").iterdir())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_sizes_are_a_read_only_documented_table() -> None:
    assert set(demo.SIZES) == {"small", "county"}
    with pytest.raises(TypeError):
        demo.SIZES["huge"] = demo.SIZES["small"]  # type: ignore[index]
    county = demo.SIZES["county"]
    assert county.township_kinds.count("街道") == 2 and county.township_kinds.count("乡") == 2
    assert 140 <= county.villages[0] <= county.villages[1] <= 170


def test_counts_are_in_the_documented_ranges(manifest: dict[str, Any]) -> None:
    c = manifest["counts"]
    size = demo.SIZES["small"]
    assert c["townships_by_type"] == {"街道": 1, "镇": 2}
    assert 20 <= c["villages"] <= 28 and size.villages[0] <= c["villages"] <= size.villages[1]
    assert c["villages_by_type"]["社区"] >= 3 and c["villages_by_type"]["村"] >= 10
    assert 8_000 <= c["walk_nodes"] <= 20_000
    assert 45 <= manifest["area_km2"] <= 55
    assert 50_000 <= manifest["population"]["census_resident"] <= 80_000
    assert 8 <= c["parcels"] <= 12
    assert c["rivers"] == 1 and 1 <= c["hills"] <= 2
    assert c["bridges"] >= 4 and 10 <= c["island_nodes"] <= 100
    assert set(c["osm_ways_by_highway"]) == EXPECTED_HIGHWAYS


# ---------------------------------------------------------------------------------------------
# Admin layers
# ---------------------------------------------------------------------------------------------


def test_admin_layers_have_the_bureau_fields(out: Path, manifest: dict[str, Any]) -> None:
    layers = dict(pyogrio.list_layers(out / "admin.gpkg").tolist())
    assert set(layers) == {"county", "townships", "villages"}
    county = gpd.read_file(out / "admin.gpkg", layer="county")
    towns = gpd.read_file(out / "admin.gpkg", layer="townships")
    villages = gpd.read_file(out / "admin.gpkg", layer="villages")
    assert list(county.columns) == ["XZQDM", "XZQMC", "geometry"]
    assert list(towns.columns) == ["XZQDM", "XZQMC", "XZQLX", "geometry"]
    assert list(villages.columns) == ["XZQDM", "XZQMC", "SSXZDM", "CJLX", "geometry"]
    assert all(g.crs.to_epsg() == 4490 for g in (county, towns, villages))
    assert county.XZQDM.tolist() == ["339021"] and county.XZQMC.tolist() == ["青溪县"]
    assert len(villages) == manifest["counts"]["villages"]
    assert villages.XZQDM.is_unique and villages.XZQMC.is_unique and towns.XZQMC.is_unique
    assert "城关街道" in towns.XZQMC.tolist()


def test_codes_follow_the_statistical_code_rules(out: Path) -> None:
    towns = gpd.read_file(out / "admin.gpkg", layer="townships")
    villages = gpd.read_file(out / "admin.gpkg", layer="villages")
    ranges = {"街道": (1, 99), "镇": (100, 199), "乡": (200, 299)}
    for code, kind, name in towns[["XZQDM", "XZQLX", "XZQMC"]].itertuples(index=False):
        assert len(code) == 12 and code.startswith("339021") and code.endswith("000")
        lo, hi = ranges[kind]
        assert lo <= int(code[6:9]) <= hi and name.endswith(kind)
    for code, parent, kind, name in villages[["XZQDM", "SSXZDM", "CJLX", "XZQMC"]].itertuples(
        index=False
    ):
        assert len(code) == 12 and code[:9] == parent[:9] and parent in set(towns.XZQDM)
        lo, hi = (1, 199) if kind == "社区" else (200, 399)
        assert lo <= int(code[9:]) <= hi and name.endswith(kind)


def test_villages_partition_townships_and_townships_the_county(out: Path) -> None:
    county = gpd.read_file(out / "admin.gpkg", layer="county").to_crs(4549)
    towns = gpd.read_file(out / "admin.gpkg", layer="townships").to_crs(4549)
    villages = gpd.read_file(out / "admin.gpkg", layer="villages").to_crs(4549)
    assert villages.is_valid.all() and towns.is_valid.all()
    by_town = villages.groupby("SSXZDM").geometry.apply(lambda g: g.area.sum())
    for code, geom in towns[["XZQDM", "geometry"]].itertuples(index=False):
        assert by_town[code] == pytest.approx(geom.area, rel=1e-3)
        inside = villages[villages.SSXZDM.eq(code)].union_all()
        assert inside.symmetric_difference(geom).area < 1e-3 * geom.area
    total = county.area.iloc[0]
    assert towns.area.sum() == pytest.approx(total, rel=1e-3)
    assert villages.area.sum() == pytest.approx(total, rel=1e-3)
    assert villages.union_all().area == pytest.approx(total, rel=1e-3)  # no overlaps


# ---------------------------------------------------------------------------------------------
# Population raster and census
# ---------------------------------------------------------------------------------------------


def test_raster_is_worldpop_style_and_aligned(out: Path, manifest: dict[str, Any]) -> None:
    with rasterio.open(out / "population.tif") as src:
        assert src.crs.to_epsg() == 4326
        assert src.dtypes == ("float32",) and src.nodata == -99999
        t = src.transform
        assert t.a == pytest.approx(1 / 1200, abs=1e-15) and t.e == pytest.approx(
            -1 / 1200, abs=1e-15
        )
        assert abs(t.c * 1200 - round(t.c * 1200)) < 1e-6
        assert abs(t.f * 1200 - round(t.f * 1200)) < 1e-6
        values = src.read(1)
        west, south, east, north = src.bounds
    assert (values >= 0).all()
    assert values.sum(dtype=np.float64) == pytest.approx(
        manifest["population"]["raster_sum"], abs=0.1
    )
    lon0, lat0, lon1, lat1 = manifest["bbox"]
    assert (
        west < lon0 - 0.008
        and east > lon1 + 0.008
        and south < lat0 - 0.008
        and north > lat1 + 0.008
    )


def test_census_equals_raster_inside_each_township(out: Path) -> None:
    census = pd.read_csv(out / "township_population.csv", dtype={"乡镇街道代码": str})
    assert list(census.columns) == list(demo.CENSUS_COLUMNS)
    assert (out / "township_population.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    towns = gpd.read_file(out / "admin.gpkg", layer="townships").set_index("XZQDM")
    with rasterio.open(out / "population.tif") as src:
        values = src.read(1).astype(np.float64)
        rows, cols = np.indices(values.shape)
        lon, lat = rasterio.transform.xy(src.transform, rows.ravel(), cols.ravel())
    lon, lat = np.asarray(lon), np.asarray(lat)
    in_county = np.zeros(lon.shape, dtype=bool)
    for code, resident, old60, old65 in census[
        ["乡镇街道代码", "常住人口", "60岁及以上人口", "65岁及以上人口"]
    ].itertuples(index=False):
        inside = shapely.contains_xy(towns.geometry[code], lon, lat)
        in_county |= inside
        assert abs(values.ravel()[inside].sum() - resident) <= 1.0
        share = old60 / resident
        lo, hi = (0.16, 0.24) if towns.XZQLX[code] == "街道" else (0.25, 0.38)
        assert lo - 0.001 <= share <= hi + 0.001
        assert 0.69 <= old65 / old60 <= 0.76
    assert abs(values.ravel()[in_county].sum() - census["常住人口"].sum()) <= len(census)


def test_people_live_in_towns_not_on_hills_or_in_rivers(out: Path, layout: Any) -> None:
    with rasterio.open(out / "population.tif") as src:
        values = src.read(1).ravel()
        rows, cols = np.indices(src.shape)
        lon, lat = rasterio.transform.xy(src.transform, rows.ravel(), cols.ravel())
    x, y = TO_LOCAL.transform(np.asarray(lon), np.asarray(lat))
    ter = layout.terrain
    hills = shapely.contains_xy(ter.hills_union, x, y)
    water = shapely.contains_xy(ter.water, x, y)
    city = shapely.contains_xy(layout.city, x, y)
    assert values[water].sum() == 0
    assert values[hills].mean() < 0.1 * values.mean()
    assert values[city].mean() > 5 * values.mean()


# ---------------------------------------------------------------------------------------------
# Roads
# ---------------------------------------------------------------------------------------------


def test_osm_loads_with_osmnx(out: Path, manifest: dict[str, Any]) -> None:
    graph = ox.graph_from_xml(
        out / "roads.osm", simplify=False, retain_all=True, bidirectional=False
    )
    highways = {d["highway"] for _, _, d in graph.edges(data=True) if "highway" in d}
    assert highways == EXPECTED_HIGHWAYS
    assert len(graph) == manifest["counts"]["osm_nodes"]
    assert any(d.get("bridge") == "yes" for _, _, d in graph.edges(data=True))
    names = {d.get("name") for _, _, d in graph.edges(data=True)}
    assert {"人民路", "青溪"} <= names


def test_osm_xml_is_plain_and_ordered(
    out: Path, osm: dict[str, Any], manifest: dict[str, Any]
) -> None:
    root = osm["root"]
    assert root.get("version") == "0.6" and root.get("generator") == "carecircle demo"
    assert root[0].tag == "bounds"
    ids = osm["ids"]
    assert ids[0] >= 1 and (np.diff(ids) > 0).all()
    way_ids = [w for w, _, _ in osm["ways"]]
    assert way_ids == sorted(way_ids) and way_ids[0] >= 1
    assert all(set(n.attrib) == {"id", "lat", "lon"} for n in root.iter("node"))
    text = (out / "roads.osm").read_text(encoding="utf-8")
    assert 'lat="' in text and "timestamp" not in text and "user=" not in text
    kinds = [c.tag for c in root]
    assert kinds.index("way") > len(kinds) - 1 - kinds[::-1].index("node")  # nodes, then ways
    counts = Counter(t["highway"] for _, _, t in osm["ways"] if "highway" in t)
    assert dict(sorted(counts.items())) == manifest["counts"]["osm_ways_by_highway"]


def test_consecutive_way_nodes_are_at_most_100_m_apart(osm: dict[str, Any]) -> None:
    xy = osm["xy"]
    for _, refs, tags in osm["ways"]:
        if "highway" in tags:
            assert np.hypot(*np.diff(xy[refs], axis=0).T).max() <= 100.0


def _segments(
    osm: dict[str, Any], keep: Any
) -> tuple[np.ndarray, list[dict[str, str]], np.ndarray]:
    segs, tags_of, ends = [], [], []
    for _, refs, tags in osm["ways"]:
        if keep(tags):
            segs.append(np.stack([osm["xy"][refs[:-1]], osm["xy"][refs[1:]]], axis=1))
            ends.append(np.column_stack([refs[:-1], refs[1:]]))
            tags_of += [tags] * (len(refs) - 1)
    return shapely.linestrings(np.concatenate(segs)), tags_of, np.concatenate(ends)


def test_roads_cross_rivers_only_on_bridges(osm: dict[str, Any]) -> None:
    rivers = [LineString(osm["xy"][r]) for _, r, t in osm["ways"] if t.get("waterway") == "river"]
    segs, tags, _ = _segments(osm, lambda t: "highway" in t)
    tree = shapely.STRtree(segs)
    hits = {int(i) for river in rivers for i in tree.query(river, predicate="intersects")}
    assert hits, "no road crosses the river at all"
    assert all(tags[i].get("bridge") == "yes" for i in hits)
    assert {tags[i]["highway"] for i in hits} >= {"motorway", "secondary"}


def test_roads_meet_at_shared_nodes(osm: dict[str, Any]) -> None:
    """Crossing segments share a node, unless one of them is a bridge or the motorway."""
    segs, tags, ends = _segments(osm, lambda t: "highway" in t)
    a, b = shapely.STRtree(segs).query(segs, predicate="crosses")
    over = {"motorway", "motorway_link"}
    for i, j in zip(a.tolist(), b.tolist(), strict=True):
        exempt = any(tags[k].get("bridge") == "yes" or tags[k]["highway"] in over for k in (i, j))
        assert exempt, (tags[i], tags[j])
    # and the motorway really has no junction with ordinary roads except through its ramps
    motorway = {int(n) for k, t in enumerate(tags) if t["highway"] == "motorway" for n in ends[k]}
    ordinary = {int(n) for k, t in enumerate(tags) if t["highway"] not in over for n in ends[k]}
    assert not motorway & ordinary


def test_hills_have_no_roads_but_footpaths(osm: dict[str, Any], layout: Any) -> None:
    xy = osm["xy"]
    inside = shapely.contains_xy(layout.terrain.hills_union.buffer(-1.0), xy[:, 0], xy[:, 1])
    uphill = {
        tags["highway"] for _, refs, tags in osm["ways"] if "highway" in tags and inside[refs].any()
    }
    assert uphill <= {"path", "steps"}


def test_walk_graph_is_one_component_plus_the_island(
    osm: dict[str, Any], manifest: dict[str, Any]
) -> None:
    g = _walk_graph(osm)
    assert g.number_of_nodes() == manifest["counts"]["walk_nodes"]
    assert g.number_of_edges() == manifest["counts"]["walk_edges"]
    sizes = sorted((len(c) for c in nx.connected_components(g)), reverse=True)
    assert len(sizes) == 2 and sizes[1] == manifest["counts"]["island_nodes"]


def test_the_island_lies_between_two_river_channels(osm: dict[str, Any], layout: Any) -> None:
    g = _walk_graph(osm)
    island = min(nx.connected_components(g), key=len)
    pts = osm["xy"][sorted(island)]
    assert shapely.contains_xy(layout.terrain.island_land.buffer(1.0), pts[:, 0], pts[:, 1]).all()
    channels = [t for _, _, t in osm["ways"] if t.get("waterway") == "river"]
    assert len(channels) == 2 and {t["name"] for t in channels} == {"青溪"}


# ---------------------------------------------------------------------------------------------
# Facilities and parcels
# ---------------------------------------------------------------------------------------------


def test_facility_register(out: Path, manifest: dict[str, Any]) -> None:
    raw = (out / "facilities.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    fac = pd.read_csv(out / "facilities.csv", dtype={"所在村社区代码": str})
    assert list(fac.columns) == list(demo.FACILITY_COLUMNS)
    assert set(fac["机构类型"]) <= set(demo.FACILITY_TYPES)
    assert fac["机构编号"].is_unique and fac["机构名称"].is_unique
    for col in ("建筑面积（平方米）", "床位数", "护理型床位数"):
        assert fac[col].dtype.kind == "i"
    by_type = dict(sorted(Counter(fac["机构类型"]).items()))
    assert by_type == manifest["counts"]["facilities_by_type"]
    county = fac[fac["机构类型"] == "县级公办养老机构"]
    assert len(county) == 1
    beds, nursing = int(county["床位数"].iloc[0]), int(county["护理型床位数"].iloc[0])
    assert 200 <= beds <= 300 and nursing >= 0.6 * beds
    homes = fac[fac["机构类型"] == "敬老院"]
    assert len(homes) == 2 and homes["床位数"].between(30, 160).all()
    assert ((homes["护理型床位数"] / homes["床位数"]).between(0.19, 0.61)).all()
    centres = fac[fac["机构类型"].isin(CENTRE_TYPES)]
    assert (centres["床位数"] == 0).all()
    assert centres["建筑面积（平方米）"].between(80, 600).all()
    town = fac[fac["机构类型"] == "乡镇（街道）居家养老服务中心"]
    assert len(town) == 2 and town["建筑面积（平方米）"].between(500, 3500).all()


def test_facilities_lie_in_their_village(out: Path) -> None:
    fac = pd.read_csv(out / "facilities.csv", dtype={"所在村社区代码": str})
    villages = gpd.read_file(out / "admin.gpkg", layer="villages").set_index("XZQDM")
    for code, lon, lat in fac[["所在村社区代码", "经度", "纬度"]].itertuples(index=False):
        assert villages.geometry[code].contains(shapely.Point(lon, lat))


def test_planted_planning_problems(out: Path, manifest: dict[str, Any]) -> None:
    fac = pd.read_csv(out / "facilities.csv", dtype={"所在村社区代码": str})
    villages = gpd.read_file(out / "admin.gpkg", layer="villages")
    planted = manifest["planted"]
    with_centre = set(fac.loc[fac["机构类型"].isin(CENTRE_TYPES), "所在村社区代码"])
    assert 0.70 <= len(with_centre) / len(villages) <= 0.80
    assert sorted(set(villages.XZQDM) - with_centre) == planted["villages_without_centre"]
    assert len(planted["townships_without_centre"]) == 1
    assert len(planted["small_centres"]) >= 2 and len(planted["far_edge_centres"]) == 2
    small = fac[fac["机构编号"].isin(planted["small_centres"])]
    assert (small["建筑面积（平方米）"] < 150).all()
    assert len(planted["small_jingloyuan"]) >= 1
    helpers = fac[fac["机构类型"].isin({"农村幸福院", "互助养老服务点"})]
    assert not set(helpers["所在村社区代码"]) & with_centre
    assert helpers["建筑面积（平方米）"].between(40, 200).all()


def test_far_edge_centres_are_far_from_the_village_core(
    out: Path, manifest: dict[str, Any], layout: Any
) -> None:
    fac = pd.read_csv(out / "facilities.csv", dtype={"所在村社区代码": str}).set_index("机构编号")
    cores = {v.code: v.xy for v in layout.villages}
    for fid in manifest["planted"]["far_edge_centres"]:
        x, y = TO_LOCAL.transform(fac.loc[fid, "经度"], fac.loc[fid, "纬度"])
        assert (
            math.hypot(
                x - cores[fac.loc[fid, "所在村社区代码"]][0],
                y - cores[fac.loc[fid, "所在村社区代码"]][1],
            )
            > 500
        )


def test_parcels(out: Path, layout: Any) -> None:
    parcels = gpd.read_file(out / "parcels.gpkg", layer="parcels")
    assert list(parcels.columns) == ["DKBH", "DKMC", "YDMJ", "YDDM", "XZ", "geometry"]
    assert parcels.crs.to_epsg() == 4490
    assert 8 <= len(parcels) <= 12 and parcels.DKBH.is_unique and parcels.DKMC.is_unique
    local = parcels.to_crs(4549)
    assert (local.area.round().astype(int) == parcels.YDMJ).all()
    assert parcels.YDMJ.between(3000, 40000).all()
    assert set(parcels.YDDM) <= {"0807", "0801", "0804", "0806", "1001", "0901", "0703"}
    assert set(parcels.XZ) <= {"闲置学校", "闲置卫生院", "闲置办公楼", "闲置厂房", "新增建设用地"}
    ter = layout.terrain
    assert not local.intersects(ter.hills_union).any() and not local.intersects(ter.water).any()
