"""No silent wrong answer on real data: each defect class reproduced on real inputs, loudly.

Two real settings: the 贵溪市 Guixi kit (benchmarks/guixi.py: the real, sparsely mapped OSM file
of a Chinese county town, townships from its admin relations, villages from its place nodes, the
2020 census), and the real Kathmandu WorldPop raster under a street grid that covers only the
western third of it. Every figure a warning carries is recomputed here independently (shapely
distances to the mapped streets, the raster read with rasterio, the run's own tables).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import rasterio
import shapely
import yaml
from click.testing import CliRunner
from pyproj import Geod

from benchmarks import guixi
from carecircle.cli import main
from carecircle.pipeline import RunResult, run_scenario
from carecircle.planning.landuse import land_use
from carecircle.rules import ownership
from carecircle.scenario import load_scenario
from carecircle.sources import coords

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
GEOD = Geod(ellps="WGS84")
KATHMANDU = SHARED / "population" / "kathmandu-worldpop" / "NPL_ppp_v2c_2020.tif"


def invoke(*args: str, cache: Path) -> Any:
    return CliRunner().invoke(main, ["-q", *args], env={"CARECIRCLE_CACHE": str(cache)})


def warnings_of(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {w["code"]: w for w in summary["data_quality"]["warnings"]}


# --- the Guixi kit ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("road-cache")


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return guixi.build(tmp_path_factory.mktemp("guixi"))


@pytest.fixture(scope="module")
def guixi_run(kit: Path, cache: Path) -> tuple[Path, dict[str, Any]]:
    out = kit.parent / "out"
    result = invoke("run", str(kit), "--out", str(out), cache=cache)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return out, summary | {"_console": result.output}


def test_a_centre_off_the_mapped_roads_is_named_and_its_gap_says_why(
    kit: Path, guixi_run: tuple[Path, dict[str, Any]]
) -> None:
    out, summary = guixi_run
    register = pd.read_csv(kit.parent / "facilities.csv", encoding="utf-8-sig")
    facilities = gpd.read_file(out / "results.gpkg", layer="facilities")
    far = facilities.sort_values("access_m").iloc[-1]
    assert far["access_m"] > 500
    w = warnings_of(summary)["facilities_off_network"]
    assert w["count"] == 1 and w["banner"]
    assert w["items"][0]["name"] == far["name"] and w["items"][0]["access_m"] == round(
        far["access_m"]
    )
    assert far["name"] in set(register["机构名称"])
    gap = next(
        g
        for g in summary["gaps"]["items"]
        if g["kind"] == "village-not-covered" and g["object_id"] == far["village"]
    )
    assert "off the mapped road network" in gap["reason_en"] and "未测绘" in gap["reason_zh"]
    assert "[facilities_off_network]" in summary["_console"]


def test_villages_whose_roads_look_unmapped_are_flagged(
    guixi_run: tuple[Path, dict[str, Any]],
) -> None:
    out, summary = guixi_run
    villages = gpd.read_file(out / "results.gpkg", layer="villages")
    w = warnings_of(summary)["villages_sparse_roads"]
    flagged = {i["id"] for i in w["items"]}
    assert flagged and w["count"] == len(flagged)
    # Independently: road km per km² of every village from the run's road_km column and the
    # polygons' areas; the flagged ones are those under a quarter of the median.
    lived = villages[villages["older"] > 0]
    density = lived["road_km"] / (lived.geometry.area / 1e6)
    expected = set(lived.loc[density < 0.25 * density.median(), "id"].astype(str))
    assert flagged == expected


def test_older_residents_no_home_site_reaches_are_counted(
    guixi_run: tuple[Path, dict[str, Any]],
) -> None:
    _, summary = guixi_run
    homes = summary["siting"]["regional_homes"]
    w = warnings_of(summary)["older_reach_no_home_site"]
    assert w["count"] == round(homes["older_reach_no_candidate"]) > 0
    assert set(i["name"] for i in w["items"]) == set(homes["villages_reach_no_candidate"])


def test_local_spellings_stop_the_run_naming_each_unknown_type(kit: Path, cache: Path) -> None:
    folder = kit.parent.parent / "guixi-local"
    scenario = guixi.build(folder, local_spellings=True)
    register = pd.read_csv(folder / "facilities.csv", encoding="utf-8-sig")
    result = invoke("run", str(scenario), "--out", str(folder / "out"), cache=cache)
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert len(message.splitlines()) == 1 and "data.facilities.types" in message
    known = set(load_scenario(scenario).data.facilities.tier_of())
    unknown = sorted(set(register["机构类型"]) - known)
    assert unknown, "the kit's local spellings include a type no mapping knows"
    for value in unknown:
        assert f"'{value}'" in message
    assert not (folder / "out").exists()


def test_a_home_typed_with_a_village_centres_beds_is_doubted(kit: Path, cache: Path) -> None:
    folder = kit.parent.parent / "guixi-mapped"
    scenario = guixi.build(folder, local_spellings=True, map_local_types=True)
    run = run_scenario(load_scenario(scenario))
    doubtful = warnings_of(run.summary).get("facility_type_doubtful")
    assert doubtful is not None
    f = run.facilities
    small = f[
        f["tier"].isin(["institution", "jingloyuan", "regional", "county"])
        & (f["beds"].fillna(0) < 10)
    ]
    assert {i["id"] for i in doubtful["items"]} >= set(small["id"])
    assert len(small) >= 1


def test_run_and_check_plan_agree_on_villages_with_centres(
    kit: Path, guixi_run: tuple[Path, dict[str, Any]], cache: Path
) -> None:
    _, summary = guixi_run
    plan = guixi.plan(kit.parent / "plan-scenario")
    out = kit.parent / "plan-check"
    result = invoke("check-plan", str(plan), "--scenario", str(kit), "--out", str(out), cache=cache)
    assert result.exit_code in (0, 1), result.output
    check = json.loads((out / "verdicts.json").read_text(encoding="utf-8"))
    run_lacking = len([g for g in summary["gaps"]["items"] if g["kind"] == "village-no-centre"])
    before = check["village_circle"]["before"]["villages_without_centre"]
    after = check["village_circle"]["after"]["villages_without_centre"]
    assert before == run_lacking
    planned = pd.read_csv(plan, encoding="utf-8-sig")
    assert before - len(planned) <= after <= before  # three new centres can only close gaps


def test_plan_columns_spelled_otherwise_exit_2_naming_both(kit: Path, cache: Path) -> None:
    plan = guixi.plan(kit.parent / "plan-register", spellings="register")
    out = kit.parent / "plan-register-out"
    result = invoke("check-plan", str(plan), "--scenario", str(kit), "--out", str(out), cache=cache)
    assert result.exit_code == 2, result.output
    for phrase in (
        "'床位' looks like '床位数' (beds)",
        "'建筑面积（平方米）' looks like '建筑面积' (floor_m2)",
    ):
        assert phrase in result.output
    assert not out.exists()


def test_no_recommended_site_stands_on_forbidden_land(
    kit: Path, guixi_run: tuple[Path, dict[str, Any]], cache: Path
) -> None:
    out, summary = guixi_run
    parcels = gpd.read_file(kit.parent / "parcels.gpkg")
    forbidden = parcels[[not land_use(c).allowed for c in parcels["用地代码"].astype(str)]]
    assert len(forbidden) >= 1, "the kit has a farmland parcel"
    sites = gpd.read_file(out / "recommended_plan.gpkg", layer="养老设施").to_crs(parcels.crs)
    inside = sites.sjoin(forbidden, predicate="within")
    assert inside.empty, inside
    excluded = {e["id"] for e in summary["siting"]["candidates"]["excluded"]}
    assert excluded == set(forbidden["地块编号"].astype(str))
    result = invoke(
        "check-plan",
        str(out / "recommended_plan.gpkg"),
        "--scenario",
        str(kit),
        "--out",
        str(out / "own-check"),
        cache=cache,
    )
    verdicts = json.loads((out / "own-check" / "verdicts.json").read_text(encoding="utf-8"))
    failed = {
        v["rule_id"]
        for v in verdicts["verdicts"]
        if v["status"] == "fail" and v.get("scope") in ("facility", "plan")
    }
    assert not failed & {"land-use-compatible", "site-in-county", "village-center-150"}, failed
    assert result.exit_code in (0, 1)


@pytest.mark.parametrize("minutes", [10, 20])
def test_the_circle_rule_is_judged_at_15_minutes_whatever_the_tier(
    kit: Path, cache: Path, minutes: int
) -> None:
    raw = yaml.safe_load(kit.read_text(encoding="utf-8"))
    raw["tiers"]["village"]["minutes"] = minutes
    raw.pop("siting", None)
    path = kit.parent / f"tier-{minutes}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    run = run_scenario(load_scenario(path))
    seconds, older = run.cells["seconds"].to_numpy(), run.cells["older"].to_numpy()
    at_15 = float(older[seconds <= 900].sum() / older.sum())
    tier_s = run.cells["village_seconds"].to_numpy()  # village centres only, not the circle's
    at_tier = float(older[tier_s <= minutes * 60].sum() / older.sum())
    assert at_15 != pytest.approx(at_tier)  # the kit tells the two apart
    verdict = next(
        v
        for v in run.summary["verdicts"]
        if v["rule_id"] == "circle-15min" and v["object_id"] == "county"
    )
    assert verdict["measured"] == pytest.approx(at_15)
    circle, tier = run.summary["village_circle"], run.summary["tiers"]["village"]
    assert circle["share"] == pytest.approx(at_15) and circle["minutes"] == 15
    assert tier["share"] == pytest.approx(at_tier) and tier["minutes"] == minutes
    # Villages, their gaps and the map are all at the rule's 15 minutes too.
    seconds_ok = run.cells["seconds"].to_numpy() <= 900
    by_village = run.cells[seconds_ok].groupby("village")["older"].sum()
    lived = run.villages[run.villages["older"] > 0]
    assert np.allclose(
        lived["older_covered"], [by_village.get(i, 0.0) for i in lived.index], atol=1e-6
    )
    assert "circle_at_rule_minutes" in warnings_of(run.summary)
    assert "15-minute circle" in verdict["reason_en"] or "15-minute" in verdict["reason_en"]


def test_county_verdicts_carry_the_county_name_and_defaults_are_marked(
    guixi_run: tuple[Path, dict[str, Any]],
) -> None:
    _, summary = guixi_run
    county = [v for v in summary["verdicts"] if v["object_id"] == "county"]
    assert county and all(v["object_name"] == "贵溪市" for v in county)
    w = warnings_of(summary)["rules_cite_catalogue_documents"]
    defaults = {i["rule"] for i in w["items"]}
    assert defaults == {v["rule_id"] for v in summary["verdicts"] if v.get("citation_default")}
    assert "circle-15min" in defaults  # Tongxiang's clause, not a Guixi document


def test_cells_join_to_villages_by_code(guixi_run: tuple[Path, dict[str, Any]]) -> None:
    out, _ = guixi_run
    cells = gpd.read_file(out / "results.gpkg", layer="cells")
    villages = gpd.read_file(out / "results.gpkg", layer="villages")
    inside = cells[cells["village"] != ""]
    assert set(inside["village"]) <= set(villages["id"].astype(str))
    joined = inside.merge(
        villages[["id", "older"]], left_on="village", right_on="id", suffixes=("", "_v")
    )
    sums = joined.groupby("village")["older"].sum()
    assert np.allclose(
        sums.sort_index(), villages.set_index("id").loc[sums.index, "older"], rtol=1e-6
    )


def test_headline_figures_keep_homes_and_village_centres_apart(
    guixi_run: tuple[Path, dict[str, Any]],
) -> None:
    out, summary = guixi_run
    page = (out / "index.html").read_text(encoding="utf-8")
    sites = summary["siting"]["sites"]
    homes = [s for s in sites if s["kind"] != "village-centre"]
    centres = [s for s in sites if s["kind"] == "village-centre"]
    assert 'data-figure="sites"' in page and 'data-figure="centres"' in page
    assert (
        "recommended nursing homes" in page and "recommended new village day-care centres" in page
    )
    assert len(homes) == summary["siting"]["regional_homes"]["sites"]
    assert len(centres) == summary["siting"]["village_centres"]["new_centres"]
    assert 'id="cc-quality"' in page and 'data-warning="facilities_off_network"' in page
    report = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="quality-banner"' in report


# --- a real raster under a network that covers a third of it ------------------------------------------


@pytest.fixture(scope="module")
def partial(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, shapely.Polygon]:
    from tests.test_real_inputs import KTM_BOUNDS, admin_layers, grid_osm

    folder = tmp_path_factory.mktemp("partial")
    west, south, east, north = KTM_BOUNDS
    streets = (west, south, west + (east - west) / 3, north)
    grid_osm(folder / "roads.osm", streets)
    admin_layers(folder, KTM_BOUNDS)
    shutil.copy(KATHMANDU, folder / "population.tif")
    scenario = {
        "name": "partial",
        "crs": "auto",
        "area": {
            "boundary": {
                "path": "admin.gpkg",
                "layer": "county",
                "columns": {"code": "id", "name": "name"},
            },
            "buffer_m": 0,
        },
        "data": {
            "network": {"path": "roads.osm"},
            "population": {"raster": "population.tif", "older_share": 0.1},
            "townships": {
                "path": "admin.gpkg",
                "layer": "townships",
                "columns": {"code": "id", "name": "name"},
            },
            "villages": {
                "path": "admin.gpkg",
                "layer": "villages",
                "columns": {"code": "id", "name": "name", "town": "township"},
            },
            "facilities": {
                "path": "facilities.csv",
                "x": "lon",
                "y": "lat",
                "crs": "EPSG:4326",
                "columns": {"fid": "id", "fname": "name", "ftype": "type"},
            },
        },
    }
    lon, lat = west + (east - west) / 6, (south + north) / 2
    pd.DataFrame(
        {
            "fid": ["C1"],
            "fname": ["网格中心"],
            "ftype": ["村级居家养老服务照料中心"],
            "lon": [lon],
            "lat": [lat],
        }
    ).to_csv(folder / "facilities.csv", index=False)
    path = folder / "partial.yaml"
    path.write_text(yaml.safe_dump(scenario, allow_unicode=True), encoding="utf-8")
    return run_scenario(load_scenario(path)), shapely.box(*streets)


def test_older_residents_beyond_a_partial_network_are_a_banner_warning(
    partial: tuple[RunResult, shapely.Polygon],
) -> None:
    run, streets = partial
    w = warnings_of(run.summary)["older_off_network"]
    # Independently: every populated raster cell, read with rasterio, whose centre lies farther
    # than max_access_m from the street grid's box (streets run every ~200 m inside it).
    with rasterio.open(KATHMANDU) as src:
        values = np.ma.filled(src.read(1, masked=True).astype(float), 0.0)
        rows, cols = np.nonzero(values > 0)
        xs, ys = rasterio.transform.xy(src.transform, rows, cols, offset="center")
    points = gpd.GeoSeries(gpd.points_from_xy(xs, ys), crs=4326)
    metric = points.estimate_utm_crs()
    box = gpd.GeoSeries([streets], crs=4326).to_crs(metric).iloc[0]
    far = points.to_crs(metric).distance(box).to_numpy() > run.scenario.travel.max_access_m
    expected = float(values[rows, cols][far].sum() / values[rows, cols].sum())
    assert w["share"] == pytest.approx(expected, abs=0.02)
    assert w["share"] > 0.5 and w["banner"]
    assert run.summary["data_quality"]["banner"][0] == "older_off_network"
    assert math.isclose(
        run.summary["village_circle"]["older_off_network"] / run.summary["village_circle"]["older"],
        w["share"],
        rel_tol=1e-3,
    )


# --- the fresh-eyed pass: coordinates from Baidu, population that misses villages, ownership -------


def _variant(kit: Path, name: str, edit: Any) -> Path:
    """A copy of the kit's scenario beside it, changed by ``edit(raw)``, without siting."""
    raw = yaml.safe_load(kit.read_text(encoding="utf-8"))
    raw.pop("siting", None)
    edit(raw)
    path = kit.parent / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_baidu_coordinates_taken_for_wgs84_are_a_banner_and_bd09_reads_them_right(
    kit: Path, guixi_run: tuple[Path, dict[str, Any]]
) -> None:
    _, summary = guixi_run
    register = pd.read_csv(kit.parent / "facilities.csv", encoding="utf-8-sig")
    lon, lat = coords.wgs84_to_bd09(register["经度"].to_numpy(), register["纬度"].to_numpy())
    shift = GEOD.inv(register["经度"].to_numpy(), register["纬度"].to_numpy(), lon, lat)[2]
    assert 800 < float(np.median(shift)) < 1500  # Baidu's offset here is about a kilometre
    baidu = kit.parent / "facilities-bd09.csv"
    register.assign(经度=lon.round(6), 纬度=lat.round(6)).to_csv(baidu, index=False, encoding="gbk")

    def as_wgs84(raw: dict[str, Any]) -> None:
        raw["data"]["facilities"]["path"] = baidu.name

    wrong = run_scenario(load_scenario(_variant(kit, "bd09-as-wgs84", as_wgs84)))
    named = warnings_of(wrong.summary)["facility_name_names_another_village"]
    assert named["banner"] and "coords: bd09" in named["message_en"]
    # The figure recomputed: facilities whose name holds a village's full name, standing elsewhere.
    villages = dict(zip(wrong.villages["id"], wrong.villages["name"], strict=True))
    elsewhere = [
        (f["name"], villages.get(f["village"]))
        for _, f in wrong.facilities.iterrows()
        if any(v in f["name"] for v in villages.values())
        and villages.get(f["village"], "") not in f["name"]
    ]
    assert named["count"] == len(elsewhere) >= 3
    assert wrong.summary["village_circle"]["share"] < summary["village_circle"]["share"] - 0.2

    def declared(raw: dict[str, Any]) -> None:
        as_wgs84(raw)
        raw["data"]["facilities"]["coords"] = "bd09"

    right = run_scenario(load_scenario(_variant(kit, "bd09-declared", declared)))
    assert right.summary["village_circle"]["share"] == pytest.approx(
        summary["village_circle"]["share"], abs=1e-6
    )
    assert "facility_name_names_another_village" not in warnings_of(right.summary)


def test_population_that_misses_villages_is_a_banner_naming_them(kit: Path) -> None:
    population = pd.read_csv(kit.parent / "population.csv", encoding="utf-8-sig")
    west = population[population["经度"] <= population["经度"].median()]
    west.to_csv(kit.parent / "population-west.csv", index=False, encoding="utf-8-sig")

    def half(raw: dict[str, Any]) -> None:
        raw["data"]["population"]["points"]["path"] = "population-west.csv"

    run = run_scenario(load_scenario(_variant(kit, "population-west", half)))
    w = warnings_of(run.summary)["villages_without_population"]
    empty = run.villages[run.villages["older"] <= 0]
    assert w["banner"] and w["count"] == len(empty) >= len(population) - len(west) - 2
    assert {i["village"] for i in w["items"]} == set(empty["name"])
    area = run.villages.geometry.area
    assert w["share"] == pytest.approx(float(area[empty.index].sum() / area.sum()), abs=1e-4)


def test_an_ownership_value_no_list_knows_exits_2_naming_it(kit: Path, cache: Path) -> None:
    plan = guixi.plan(kit.parent / "plan-ownership")
    table = pd.read_csv(plan, encoding="utf-8-sig")
    table.loc[0, "性质"] = "混合所有制"
    table.to_csv(plan, index=False, encoding="utf-8-sig")
    out = kit.parent / "plan-ownership-out"
    result = invoke("check-plan", str(plan), "--scenario", str(kit), "--out", str(out), cache=cache)
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert len(line.splitlines()) == 1 and "'混合所有制'" in line and "'性质'" in line
    assert not out.exists()
    # 民营 is private, 公建民营 public: both known, neither refused.
    assert (
        ownership.ownership_of("民营") == "private"
        and ownership.ownership_of("公建民营") == "public"
    )


def test_the_map_labels_carry_the_rule_minutes(kit: Path, cache: Path) -> None:
    def twenty(raw: dict[str, Any]) -> None:
        raw["policy"]["targets"]["circle-15min"] = {"minutes": 20}

    out = kit.parent / "r20-out"
    result = invoke("run", str(_variant(kit, "r20", twenty)), "--out", str(out), cache=cache)
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "20\\u5206\\u949f\\u5708\\u5916" in page  # 20分钟圈外, JSON-escaped in the layer control
    assert "15\\u5206\\u949f\\u5708\\u5916" not in page
    assert "carecircle.cellTooltip(20" in page


def test_the_workbook_lists_every_warning(guixi_run: tuple[Path, dict[str, Any]]) -> None:
    out, summary = guixi_run
    sheet = openpyxl.load_workbook(out / "tables.xlsx")["数据质量 data quality"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    warnings = summary["data_quality"]["warnings"]
    assert [r[0] for r in rows] == [w["code"] for w in warnings] and len(rows) >= 3
    assert [bool(r[1]) for r in rows] == [w["banner"] for w in warnings]
