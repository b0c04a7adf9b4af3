"""Whole runs on real inputs: the Kathmandu WorldPop raster on a generated street grid, and Yuba County."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml
from click.testing import CliRunner

from benchmarks import realcounty
from carecircle.cli import main

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
KATHMANDU = SHARED / "population" / "kathmandu-worldpop" / "NPL_ppp_v2c_2020.tif"
KATHMANDU_TOTAL = 2_063_744.8  # the whole raster (SOURCES.md: 2.06 M)
KTM_BOUNDS = (85.2577, 27.6595, 85.3860, 27.7595)  # the raster's bounds
ACCRA = SHARED / "population" / "accra-worldpop-agesex-2015"
Bounds = tuple[float, float, float, float]
CENTRE_TYPE = "村级居家养老服务照料中心"


def grid_osm(path: Path, bounds: Bounds, step_deg: float = 0.002) -> tuple[int, int]:
    """A street grid over ``bounds`` as OSM XML (~200 m blocks), every 10th street primary.

    Returns the node and way counts written.
    """
    WEST, SOUTH, EAST, NORTH = bounds
    lons = np.arange(WEST, EAST + 1e-9, step_deg)
    lats = np.arange(SOUTH, NORTH + 1e-9, step_deg)
    ids = np.arange(1, lons.size * lats.size + 1).reshape(lats.size, lons.size)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for i, lat in enumerate(lats):
        for j, lon in enumerate(lons):
            lines.append(f'  <node id="{ids[i, j]}" lat="{lat:.7f}" lon="{lon:.7f}"/>')
    way = 0
    for k, row in enumerate([*ids, *ids.T]):
        way += 1
        highway = "primary" if k % 10 == 0 else "residential"
        refs = "".join(f'<nd ref="{n}"/>' for n in row)
        lines.append(f'  <way id="{way}">{refs}<tag k="highway" v="{highway}"/></way>')
    lines.append("</osm>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return int(ids.size), way


def admin_layers(folder: Path, bounds: Bounds) -> None:
    """The area (``bounds``), 2 x 2 townships and 6 x 6 villages as a GeoPackage."""
    WEST, SOUTH, EAST, NORTH = bounds
    area = shapely.box(WEST, SOUTH, EAST, NORTH)
    gpd.GeoDataFrame(
        {"code": ["KTM"], "name": ["加德满都谷地"]}, geometry=[area], crs=4326
    ).to_file(folder / "admin.gpkg", layer="county")
    xs = np.linspace(WEST, EAST, 7)
    ys = np.linspace(SOUTH, NORTH, 7)
    towns, villages = [], []
    for i in range(6):
        for j in range(6):
            town = f"T{i // 3}{j // 3}"
            villages.append(
                (f"V{i}{j}", f"村{i}{j}", town, shapely.box(xs[j], ys[i], xs[j + 1], ys[i + 1]))
            )
    for a in range(2):
        for b in range(2):
            towns.append(
                (
                    f"T{a}{b}",
                    f"镇{a}{b}",
                    shapely.box(xs[3 * b], ys[3 * a], xs[3 * b + 3], ys[3 * a + 3]),
                )
            )
    gpd.GeoDataFrame(
        [(c, n) for c, n, _ in towns],
        columns=["code", "name"],
        geometry=[g for *_, g in towns],
        crs=4326,
    ).to_file(folder / "admin.gpkg", layer="townships")
    gpd.GeoDataFrame(
        [(c, n, t) for c, n, t, _ in villages],
        columns=["code", "name", "town"],
        geometry=[g for *_, g in villages],
        crs=4326,
    ).to_file(folder / "admin.gpkg", layer="villages")


def centres(folder: Path, bounds: Bounds, n_side: int) -> Path:
    """n_side x n_side village care centres evenly over ``bounds``, as a CSV register."""
    WEST, SOUTH, EAST, NORTH = bounds
    lons = np.linspace(WEST, EAST, n_side + 2)[1:-1]
    lats = np.linspace(SOUTH, NORTH, n_side + 2)[1:-1]
    rows = [
        {
            "编号": f"C{i}{j}",
            "名称": f"照料中心{i}{j}",
            "类型": CENTRE_TYPE,
            "经度": lon,
            "纬度": lat,
        }
        for i, lat in enumerate(lats)
        for j, lon in enumerate(lons)
    ]
    path = folder / f"centres_{n_side}.csv"
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def kathmandu_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("kathmandu")
    nodes, ways = grid_osm(folder / "grid.osm", KTM_BOUNDS)
    assert (nodes, ways) == (65 * 51, 65 + 51)
    admin_layers(folder, KTM_BOUNDS)
    return folder


def grid_scenario(
    folder: Path, bounds: Bounds, n_side: int, population: dict[str, object], name: str
) -> Path:
    admin = realcounty.admin_sources()  # admin_layers writes the same layout
    raw = {
        "name": name,
        "area": {"boundary": admin["boundary"], "buffer_m": 0},
        "data": {
            "network": {"path": "grid.osm"},
            "population": population,
            "townships": admin["townships"],
            "villages": admin["villages"],
            "facilities": {
                "path": centres(folder, bounds, n_side).name,
                "x": "经度",
                "y": "纬度",
                "columns": {"编号": "id", "名称": "name", "类型": "type"},
            },
        },
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def run(scenario: Path, out: Path) -> dict:  # type: ignore[type-arg]
    result = CliRunner().invoke(main, ["run", str(scenario), "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("index.html", "report.html", "summary.json", "results.gpkg"):
        assert (out / name).stat().st_size > 0
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_kathmandu_raster_drives_a_coverage_run(kathmandu_folder: Path) -> None:
    """WorldPop residents x 8.6 % aged 60+, on a 200 m street grid: more centres, more covered."""
    population = {"raster": str(KATHMANDU), "older_share": 0.086}
    summaries = {
        n: run(
            grid_scenario(kathmandu_folder, KTM_BOUNDS, n, population, f"kathmandu-{n}"),
            kathmandu_folder / f"out{n}",
        )
        for n in (2, 4, 8)
    }
    s = summaries[4]
    raster = s["inputs"]["raster"]
    assert raster["file"] == KATHMANDU.name and raster["method"] == "cells"
    # The area is the raster's own extent: everything read is used (cells on the rim aside).
    assert raster["window_total"] == pytest.approx(KATHMANDU_TOTAL, abs=1)
    assert raster["total_in_area"] == pytest.approx(KATHMANDU_TOTAL, rel=0.001)
    assert raster["total_in_area"] + raster["outside_area"] == pytest.approx(
        raster["window_total"], abs=1
    )
    circle = s["village_circle"]
    assert circle["older"] == pytest.approx(0.086 * raster["total_in_area"], rel=1e-6)
    assert s["network"]["nodes"] == 65 * 51
    assert s["inputs"]["facilities_by_tier"]["village"] == 16
    shares = {n: summaries[n]["village_circle"]["share"] for n in (2, 4, 8)}
    assert 0 < shares[2] < shares[4] < shares[8] < 1
    # A 15-minute walk at 1 m/s reaches ~900 m along the grid: 16 centres over ~140 km² reach
    # a small part of the valley, 64 centres a good deal more.
    assert shares[4] < 0.35 and shares[8] > 0.4
    by_minutes = [circle["share_by_minutes"][str(m)] for m in range(0, 61, 5)]
    assert by_minutes == sorted(by_minutes)
    band = circle["share_by_walk_speed"]
    assert band["0.8"] < circle["share"] < band["1.2"]


def test_village_counts_drive_a_run(kathmandu_folder: Path) -> None:
    """The same valley with its 36 village polygons carrying older residents (e.g. a 民政 table)."""
    villages = gpd.read_file(kathmandu_folder / "admin.gpkg", layer="villages")
    villages["older"] = [100.0 * (k + 1) for k in range(len(villages))]  # 100 ... 3,600
    villages.to_file(kathmandu_folder / "village_counts.gpkg")
    points = {
        "path": "village_counts.gpkg",
        "columns": {"code": "id", "older": "older"},
    }
    s = run(
        grid_scenario(kathmandu_folder, KTM_BOUNDS, 4, {"points": points}, "kathmandu-villages"),
        kathmandu_folder / "out-villages",
    )
    expected = sum(100.0 * (k + 1) for k in range(36))  # 66,600
    report = s["inputs"]["raster"]
    assert report["method"] == "village counts" and report["polygons_spread"] == 36
    # Every count is used or reported: the rim villages' edges, projected through more vertices
    # than the area's, leave a few grid points a metre outside it (~1.5 people in 66,600).
    used, outside = report["older_in_area"], report["older_outside_area"]
    assert used + outside == pytest.approx(expected)
    assert outside < 0.0001 * expected
    assert s["inputs"]["census"] == {"source": "points", "older": pytest.approx(used)}
    assert s["village_circle"]["older"] == pytest.approx(used)
    assert 0 < s["village_circle"]["share"] < 1


ACCRA_BOX = (-0.26, 5.53, -0.16, 5.63)  # central Accra, ~11 x 11 km


def test_accra_age_bands_drive_a_run(tmp_path: Path) -> None:
    """Older residents = WorldPop 60-65 + 65+ in the area; residents from the 2015 total raster."""
    grid_osm(tmp_path / "grid.osm", ACCRA_BOX)
    admin_layers(tmp_path, ACCRA_BOX)
    bands = [ACCRA / "GHA14_A6065_adjv1.tif", ACCRA / "GHA14_A65PL_adjv1.tif"]
    population = {
        "raster": str(ACCRA / "GHA15adj_040213.tif"),
        "older_rasters": [str(b) for b in bands],
    }
    s = run(grid_scenario(tmp_path, ACCRA_BOX, 4, population, "accra"), tmp_path / "out")
    report = s["inputs"]["raster"]
    assert report["file"] == "GHA15adj_040213.tif" and report["method"] == "cells"
    a6065, a65pl = report["older_rasters"]
    assert (a6065["file"], a65pl["file"]) == ("GHA14_A6065_adjv1.tif", "GHA14_A65PL_adjv1.tif")
    # The bands' totals in the area add up to the older residents the run scores.
    older = a6065["total_in_area"] + a65pl["total_in_area"]
    assert s["inputs"]["census"]["source"] == "older_rasters"
    assert s["village_circle"]["older"] == pytest.approx(older, abs=0.01)
    assert report["older_in_area"] == pytest.approx(older, abs=0.01)
    # Central Accra holds part of each band (whole-raster totals 46,796 and 90,811).
    assert (
        0.2 < a6065["total_in_area"] / 46_795.6 < 1 and 0.2 < a65pl["total_in_area"] / 90_810.8 < 1
    )
    assert 0.02 < older / report["total_in_area"] < 0.08
    assert 0 < s["village_circle"]["share"] < 1


# --- Yuba County, California: a real county network (PBF) and its real hospitals and clinics ------
# The scenario kit (county outline and facilities from the PBF, a generated population raster and
# admin grids) is shared with benchmarks/county.py.


def test_yuba_county_pbf_with_its_hospitals_and_clinics(tmp_path: Path) -> None:
    expected = realcounty.county_inputs(realcounty.YUBA, tmp_path)
    assert expected["facilities"] == 4  # 2 hospitals (outlines), 2 clinics (points)
    scenario = realcounty.scenario(realcounty.YUBA, tmp_path)
    s = run(scenario, tmp_path / "out")
    raster = s["inputs"]["raster"]
    assert raster["total_in_area"] == pytest.approx(expected["in_county"], rel=1e-4)
    # The window covers the county's bounds, not the raster's margin beyond them.
    assert expected["in_county"] <= raster["window_total"] <= expected["raster_total"]
    assert raster["total_in_area"] + raster["outside_area"] == pytest.approx(
        raster["window_total"], rel=1e-6
    )
    assert s["inputs"]["facilities_by_tier"]["village"] == 4
    assert s["network"]["nodes"] > 20_000
    circle = s["village_circle"]
    assert circle["older"] == pytest.approx(0.2 * raster["total_in_area"], rel=1e-6)
    # Four health sites in a 1,650 km² county, three of them in the Marysville-Linda-Olivehurst
    # towns: a 15-minute walk reaches some of the town people and none of the hills.
    assert 0.02 < circle["share"] < 0.5
    band = circle["share_by_walk_speed"]
    assert band["0.8"] < circle["share"] < band["1.2"]
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "Rideout Regional Medical Center" in page or "T11" in page
