"""Data-poor runs (issue 21): a county scored from its boundary, roads and a raster alone;
villages from points; the county's census share when no township table exists. Every stand-in
is flagged where people look."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
import yaml
from click.testing import CliRunner

from carecircle.cli import main
from carecircle.pipeline import run_scenario
from carecircle.scenario import load_scenario
from carecircle.sources import territories

ROOT = Path(__file__).resolve().parents[1]


# --- territories from points: hand-built cases ---------------------------------------------------


def _townships(*boxes: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [f"T{i}" for i in range(len(boxes))], "name": [f"乡{i}" for i in range(len(boxes))]},
        geometry=[shapely.box(*b) for b in boxes],
        crs="EPSG:32650",
    )


def _points(rows: list[tuple[str, float, float, str]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": [r[0] for r in rows],
            "name": [r[0] for r in rows],
            "township": [r[3] for r in rows],
        },
        geometry=[shapely.Point(r[1], r[2]) for r in rows],
        crs="EPSG:32650",
    )


def test_two_points_split_a_township_at_their_bisector() -> None:
    towns = _townships((0, 0, 2000, 1000))
    villages, report = territories.village_territories(
        _points([("B", 1500, 500, "T0"), ("A", 500, 500, "T0")]), towns
    )
    by_id = dict(zip(villages["id"], villages.geometry, strict=True))
    # Input order is kept; each territory holds its own point and is the half on its side.
    assert list(villages["id"]) == ["B", "A"]
    assert by_id["A"].equals_exact(shapely.box(0, 0, 1000, 1000).normalize(), 1e-6) or (
        abs(by_id["A"].symmetric_difference(shapely.box(0, 0, 1000, 1000)).area) < 1e-6
    )
    assert abs(by_id["B"].symmetric_difference(shapely.box(1000, 0, 2000, 1000)).area) < 1e-6
    assert report["with_territory"] == 2 and report["townships_without_village"] == []


def test_territories_stay_inside_their_own_township() -> None:
    # A's nearest-point cell would reach into T1, but T1's places belong to T1's village C.
    towns = _townships((0, 0, 1000, 1000), (1000, 0, 3000, 1000))
    pts = _points([("A", 900, 500, "T0"), ("B", 100, 500, "T0"), ("C", 2900, 500, "T1")])
    villages, _report = territories.village_territories(pts, towns)
    geoms = dict(zip(villages["id"], villages.geometry, strict=True))
    assert abs(geoms["C"].area - towns.geometry.iloc[1].area) < 1e-6
    assert abs(geoms["A"].area + geoms["B"].area - 1e6) < 1e-6
    assert geoms["A"].within(towns.geometry.iloc[0].buffer(1e-6))
    for vid, (x, y) in {"A": (900, 500), "B": (100, 500), "C": (2900, 500)}.items():
        assert geoms[vid].contains(shapely.Point(x, y))


def test_shared_points_and_empty_townships_are_reported_not_dropped_silently() -> None:
    towns = _townships((0, 0, 1000, 1000), (1000, 0, 2000, 1000))
    pts = _points([("A", 500, 500, "T0"), ("A2", 500, 500, "T0"), ("X", 5000, 5000, "")])
    villages, report = territories.village_territories(pts, towns)
    assert list(villages["id"]) == ["A"]
    assert report["sharing_a_point"] == ["A2"]
    assert report["outside_townships"] == ["X"]
    assert report["townships_without_village"] == ["T1"]


def test_township_of_locates_by_position() -> None:
    towns = _townships((0, 0, 1000, 1000), (1000, 0, 2000, 1000))
    pts = _points([("A", 1500, 10, ""), ("B", 10, 10, ""), ("C", -5, 10, "")])
    assert list(territories.township_of(pts, towns)) == ["T1", "T0", ""]


# --- whole runs on the small demo county --------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo-poor") / "demo"
    result = CliRunner().invoke(main, ["-q", "demo-data", "--out", str(out), "--size", "small"])
    assert result.exit_code == 0, result.output
    return out


def _scenario(folder: Path, demo: Path, data: dict[str, object], name: str) -> Path:
    raw = yaml.safe_load((ROOT / "scenarios" / "demo.yaml").read_text(encoding="utf-8"))
    raw["name"] = name
    raw["area"]["boundary"]["path"] = str(demo / "admin.gpkg")
    raw["data"] = {"network": {"path": str(demo / "roads.osm")}, **data}
    raw.pop("siting", None)
    raw.pop("plan", None)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def _codes(summary: dict[str, object]) -> set[str]:
    return {w["code"] for w in summary["data_quality"]["warnings"]}  # type: ignore[index]


def test_boundary_roads_and_raster_alone_score_the_county(demo: Path, tmp_path: Path) -> None:
    """The raster-only run: one township (the outline), one village, no register; coverage 0,
    every stand-in flagged, the older total the raster's residents times the share."""
    path = _scenario(
        tmp_path,
        demo,
        {"population": {"raster": str(demo / "population.tif"), "older_share": 0.25}},
        "raster-only",
    )
    result = CliRunner().invoke(main, ["-q", "run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["inputs"]["townships"] == 1 and summary["inputs"]["villages"] == 1
    assert sum(summary["inputs"]["facilities_by_tier"].values()) == 0
    assert summary["village_circle"]["share"] == 0.0
    assert {"townships_from_outline", "villages_from_townships", "no_facility_register"} <= _codes(
        summary
    )
    boundary = gpd.read_file(demo / "admin.gpkg", layer="county")
    with rasterio.open(demo / "population.tif") as src:
        area = boundary.to_crs(src.crs).geometry.iloc[0]
        values = src.read(1, masked=True).filled(0)
        rows, cols = np.indices(values.shape)
        xs, ys = rasterio.transform.xy(src.transform, rows.ravel(), cols.ravel())
        inside = shapely.contains_xy(area, np.asarray(xs), np.asarray(ys))
    residents = float(values.ravel()[inside].sum())
    older = summary["village_circle"]["older"]
    assert older == pytest.approx(0.25 * residents, rel=1e-6)
    # The gaps speak of the county as it is: no centre anywhere.
    assert "没有" in result.output or "0.0%" in result.output or summary["gaps"]["items"]


def test_village_points_become_territories_that_match_the_real_villages_older(
    demo: Path, tmp_path: Path
) -> None:
    """The demo's villages given as points (their labels) with the real townships: every
    village gets a territory around its point, and the county total is unchanged."""
    villages = gpd.read_file(demo / "admin.gpkg", layer="villages")
    points = villages.copy()
    points["geometry"] = villages.geometry.representative_point()
    points[["XZQDM", "XZQMC", "geometry"]].to_file(tmp_path / "village_points.gpkg")
    raw = yaml.safe_load((ROOT / "scenarios" / "demo.yaml").read_text(encoding="utf-8"))
    data = raw["data"]
    polygons = dict(data["villages"], path=str(demo / "admin.gpkg"))
    for key in ("population", "townships", "facilities"):
        spec = data[key]
        for sub in ("path", "raster"):
            if sub in spec:
                spec[sub] = str(demo / Path(spec[sub]).name)
        if "older_table" in spec:
            spec["older_table"]["path"] = str(demo / Path(spec["older_table"]["path"]).name)
    data["villages"] = {
        "path": str(tmp_path / "village_points.gpkg"),
        "columns": {"XZQDM": "id", "XZQMC": "name"},
    }
    data.pop("network")
    data.pop("candidates")
    with_polygons = {**data, "villages": polygons}
    full = run_scenario(load_scenario(_scenario(tmp_path, demo, with_polygons, "village-polygons")))
    result = run_scenario(load_scenario(_scenario(tmp_path, demo, data, "village-points")))
    # The same people, split over approximate territories instead of the real ones.
    assert result.villages["older"].sum() == pytest.approx(full.villages["older"].sum(), rel=1e-9)
    assert result.summary["village_circle"]["older"] == pytest.approx(
        full.summary["village_circle"]["older"], rel=1e-9
    )
    assert len(result.villages) == len(villages)
    for v, p in zip(result.villages.geometry, points.to_crs(result.crs).geometry, strict=True):
        assert v.buffer(1e-6).contains(p)
    codes = _codes(result.summary)
    assert "village_territories_approximate" in codes
    assert "village_townships_located" in codes
    assert "older_outside_villages" not in codes
    # Every village point stands in its own township, as the real layer says.
    truth = dict(zip(villages["XZQDM"].astype(str), villages["SSXZDM"].astype(str), strict=True))
    assert dict(zip(result.villages["id"], result.villages["township"], strict=True)) == truth


def test_uncovered_cells_of_a_degree_raster_tile_without_gaps(demo: Path, tmp_path: Path) -> None:
    """The demo raster is square in degrees: its cells are cos(lat) narrower than tall. Drawn as
    squares of the same area they left a gap between every row (the map showed stripes)."""
    path = _scenario(
        tmp_path,
        demo,
        {"population": {"raster": str(demo / "population.tif"), "older_share": 0.25}},
        "raster-cells",
    )
    result = CliRunner().invoke(main, ["-q", "run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    grid = gpd.read_file(tmp_path / "out" / "results.gpkg", layer="uncovered_grid")
    with rasterio.open(demo / "population.tif") as src:
        assert src.crs.is_geographic
        lat = (src.bounds.bottom + src.bounds.top) / 2
    b = grid.geometry.bounds
    ratio = float(((b.maxx - b.minx) / (b.maxy - b.miny)).median())
    assert ratio == pytest.approx(np.cos(np.radians(lat)), rel=0.02)
    union = shapely.union_all(grid.geometry.to_numpy())
    # Neighbouring cells touch: the cells merge into a few blobs, not one strip per row.
    parts = len(getattr(union, "geoms", [union]))
    rows = len(np.unique(np.round(grid.geometry.centroid.y / 50)))
    assert parts < rows / 2
    assert union.area == pytest.approx(float(grid.area.sum()), rel=0.02)


def test_a_registered_facility_far_outside_the_county_is_flagged_not_counted(
    demo: Path, tmp_path: Path
) -> None:
    """Found by a new user: a 敬老院 typed 130 km away was counted (its beds in the total) and
    only blamed on unmapped roads."""
    import pandas as pd

    raw = yaml.safe_load((ROOT / "scenarios" / "demo.yaml").read_text(encoding="utf-8"))
    register = pd.read_csv(demo / "facilities.csv", dtype=str)
    far = register.iloc[[0]].copy()
    far.iloc[0, 0] = "FAR-1"
    lon_col = raw["data"]["facilities"]["x"]
    far[lon_col] = str(float(far[lon_col].iloc[0]) + 1.3)
    name_col = next(k for k, v in raw["data"]["facilities"]["columns"].items() if v == "name")
    far[name_col] = "远处敬老院"
    pd.concat([register, far]).to_csv(tmp_path / "facilities.csv", index=False)
    data = raw["data"]
    for key in ("townships", "villages"):
        data[key]["path"] = str(demo / "admin.gpkg")
    data["facilities"]["path"] = str(tmp_path / "facilities.csv")
    data["population"]["raster"] = str(demo / "population.tif")
    data["population"]["older_table"]["path"] = str(demo / "township_population.csv")
    data.pop("network")
    data.pop("candidates")
    result = run_scenario(load_scenario(_scenario(tmp_path, demo, data, "far-facility")))
    assert "FAR-1" not in set(result.facilities["id"])
    assert len(result.facilities) == len(register)
    warning = next(
        w
        for w in result.summary["data_quality"]["warnings"]
        if w["code"] == "facilities_outside_area"
    )
    assert warning["count"] == 1 and warning["items"][0]["name"] == "远处敬老院"
    assert warning["items"][0]["km"] > 100
