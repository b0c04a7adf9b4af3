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

from carecircle.cli import main

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
KATHMANDU = SHARED / "population" / "kathmandu-worldpop" / "NPL_ppp_v2c_2020.tif"
KATHMANDU_TOTAL = 2_063_744.8  # the whole raster (SOURCES.md: 2.06 M)
WEST, SOUTH, EAST, NORTH = 85.2577, 27.6595, 85.3860, 27.7595  # the raster's bounds
CENTRE_TYPE = "村级居家养老服务照料中心"


def grid_osm(path: Path, step_deg: float = 0.002) -> tuple[int, int]:
    """A street grid over the raster's bounds as OSM XML (~200 m blocks), every 10th street primary.

    Returns the node and way counts written.
    """
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


def admin_layers(folder: Path) -> None:
    """The area (the raster's bounds), 2 x 2 townships and 6 x 6 villages as a GeoPackage."""
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


def centres(folder: Path, n_side: int) -> Path:
    """n_side x n_side village care centres evenly over the valley, as a CSV register."""
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
    nodes, ways = grid_osm(folder / "grid.osm")
    assert (nodes, ways) == (65 * 51, 65 + 51)
    admin_layers(folder)
    return folder


def kathmandu_scenario(folder: Path, n_side: int) -> Path:
    layer = {"path": "admin.gpkg", "columns": {"code": "id", "name": "name"}}
    raw = {
        "name": f"kathmandu-{n_side}",
        "area": {"boundary": {**layer, "layer": "county"}, "buffer_m": 0},
        "data": {
            "network": {"path": "grid.osm"},
            "population": {"raster": str(KATHMANDU), "older_share": 0.086},
            "townships": {**layer, "layer": "townships"},
            "villages": {
                "path": "admin.gpkg",
                "layer": "villages",
                "columns": {"code": "id", "name": "name", "town": "township"},
            },
            "facilities": {
                "path": centres(folder, n_side).name,
                "x": "经度",
                "y": "纬度",
                "columns": {"编号": "id", "名称": "name", "类型": "type"},
            },
        },
    }
    path = folder / f"kathmandu-{n_side}.yaml"
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
    summaries = {
        n: run(kathmandu_scenario(kathmandu_folder, n), kathmandu_folder / f"out{n}")
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
