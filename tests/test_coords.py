"""GCJ-02 and BD-09 <-> WGS84: published reference pairs, round trips, and real Amap-derived data."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from carecircle.scenario import LayerSource
from carecircle.sources import layers
from carecircle.sources.coords import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

CHINA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "china"
GEOD = Geod(ellps="WGS84")

# (WGS84 lat, lon) -> (GCJ-02 lat, lon), the test vectors of googollee/eviltransform
# (go/transform_test.go, also its python/test.py): Shanghai, Shenzhen, Beijing. The fourth, at
# Tiananmen, is the "wgs 2 gcj" vector of the geoChina R package's tests (wgs_to_gcj(39.90734,
# 116.39089) = 39.90874107, 116.39713094); its Amap-API answer, 39.90874539, 116.39713623, is
# 0.7 m away (the API adds noise on top of the formula).
REFERENCE = [
    ("Shanghai", (31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),
    ("Shenzhen", (22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),
    ("Beijing", (39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),
    ("Tiananmen", (39.90734, 116.39089), (39.90874107, 116.39713094)),
]


def metres(lon1: object, lat1: object, lon2: object, lat2: object) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


@pytest.mark.parametrize(("city", "wgs", "gcj"), REFERENCE)
def test_published_reference_pairs(
    city: str, wgs: tuple[float, float], gcj: tuple[float, float]
) -> None:
    lon, lat = wgs84_to_gcj02(wgs[1], wgs[0])
    assert metres(lon, lat, gcj[1], gcj[0]) < 0.01, city
    back_lon, back_lat = gcj02_to_wgs84(gcj[1], gcj[0])
    assert metres(back_lon, back_lat, wgs[1], wgs[0]) < 0.01, city
    # The shift itself is the familiar few hundred metres.
    assert 300 < metres(wgs[1], wgs[0], gcj[1], gcj[0]) < 700


@settings(max_examples=200, deadline=None)
@given(
    lon=st.floats(min_value=74.0, max_value=134.9),
    lat=st.floats(min_value=4.0, max_value=53.4),
)
def test_round_trip_within_a_millimetre(lon: float, lat: float) -> None:
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    w_lon, w_lat = gcj02_to_wgs84(g_lon, g_lat)
    assert metres(w_lon, w_lat, lon, lat) < 0.001


def test_arrays_in_any_shape_and_a_county_at_once() -> None:
    lon, lat = np.meshgrid(np.linspace(120.8, 121.2, 50), np.linspace(28.0, 28.4, 40))
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    assert g_lon.shape == lon.shape == g_lat.shape
    w_lon, w_lat = gcj02_to_wgs84(g_lon, g_lat)
    assert metres(w_lon.ravel(), w_lat.ravel(), lon.ravel(), lat.ravel()).max() < 0.001


def test_no_shift_outside_china() -> None:
    lon = np.array([-0.19, 85.3, -121.5, 139.7])  # Accra, Kathmandu (inside the box), Yuba, Tokyo
    lat = np.array([5.6, 27.7, 39.2, 35.7])
    assert in_china(lon, lat).tolist() == [False, True, False, False]
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    outside = ~in_china(lon, lat)
    assert np.array_equal(g_lon[outside], lon[outside])
    assert np.array_equal(g_lat[outside], lat[outside])
    w_lon, _ = gcj02_to_wgs84(lon, lat)
    assert np.array_equal(w_lon[outside], lon[outside])


ADCODE_COLUMNS = [
    "code",
    "parent",
    "name",
    "level",
    "rank",
    "adcode",
    "post_code",
    "area_code",
    "ur_code",
    "municipality",
    "virtual",
    "dummy",
    "longitude",
    "latitude",
    "center",
    "province",
    "city",
    "county",
    "town",
    "village",
]
COUNTIES = (330382, 330483, 350124, 371083)


def _admin_points(tmp_path: Path, coords: str) -> gpd.GeoDataFrame:
    """The four counties' town and village points with coordinates, through the real CSV reader.

    The shards have no header row; a planner would add one (as here) before naming columns.
    """
    frames = []
    for adcode in COUNTIES:
        rows = pd.read_csv(
            CHINA / "admin-codes-2016" / f"adcode_{adcode}.csv",
            header=None,
            names=ADCODE_COLUMNS,
            dtype=str,
            keep_default_na=False,
        )
        frames.append(rows[rows["level"].isin(["town", "village"]) & (rows["longitude"] != "")])
    table = pd.concat(frames)
    path = tmp_path / "admin_points.csv"
    table.to_csv(path, index=False, encoding="utf-8")
    spec = LayerSource(
        path=path,
        x="longitude",
        y="latitude",
        columns={"code": "id", "name": "name", "adcode": "township"},
        coords=coords,  # type: ignore[arg-type]
    )
    frame = layers.read_layer(spec, kind="villages", to_crs="EPSG:4326")
    frame["level"] = table["level"].to_numpy()
    return frame


def test_admin_codes_load_as_wgs84_points_inside_their_county(tmp_path: Path) -> None:
    counties = gpd.read_file(CHINA / "county-boundaries-cgcs2000.geojson").to_crs("EPSG:32650")
    raw = _admin_points(tmp_path, "wgs84")
    converted = _admin_points(tmp_path, "gcj02")
    assert converted.attrs["gcj02_converted"] == len(converted) == 254
    assert converted["level"].value_counts().to_dict() == {"village": 194, "town": 60}
    shift = metres(raw.geometry.x, raw.geometry.y, converted.geometry.x, converted.geometry.y)
    assert shift.min() > 300 and shift.max() < 700
    county = counties.set_index("gb").loc["156" + converted["township"], "geometry"].to_numpy()
    inside, clear = {}, {}
    for name, frame in (("before", raw), ("after", converted)):
        points = frame.geometry.to_crs("EPSG:32650").to_numpy()
        within = shapely.contains(county, points)
        depth = np.where(within, 1, -1) * shapely.distance(points, shapely.boundary(county))
        inside[name] = int(within.sum())
        # Inside by at least the point's own GCJ-02 offset: a point whose county an error of that
        # size could not change. That is where the conversion can show.
        clear[name] = int((depth >= shift).sum())
    # Every town and village with coordinates lies inside its county before and after (the
    # shift, ~0.5 km, is small against a county) ...
    assert inside["before"] == inside["after"] == len(converted)
    # ... but raw, 8 lie closer to the boundary than their own offset; converted, 2 do.
    assert (clear["before"], clear["after"]) == (246, 252)


@pytest.mark.parametrize("adcode", COUNTIES)
def test_converted_amap_fences_match_the_cgcs2000_boundaries_better(adcode: int) -> None:
    """The GCJ-02 county fences, converted, lie closer to the CGCS2000 boundaries than raw."""
    counties = gpd.read_file(CHINA / "county-boundaries-cgcs2000.geojson")
    truth = counties[counties["gb"] == f"156{adcode}"].to_crs("EPSG:32651").geometry.iloc[0]
    fence = CHINA / "admin-codes-2016" / f"fence_{adcode}.json"
    spec = LayerSource(path=fence, crs="EPSG:4326", coords="gcj02")
    converted = layers.read_layer(spec, kind="boundary", to_crs="EPSG:32651").geometry.iloc[0]
    raw = gpd.read_file(fence).set_crs("EPSG:4326").to_crs("EPSG:32651").geometry.iloc[0]

    def agreement(geom: shapely.Geometry) -> tuple[float, float]:
        iou = geom.intersection(truth).area / geom.union(truth).area
        vertices = shapely.points(shapely.get_coordinates(geom))
        return iou, float(np.median(shapely.distance(vertices, truth.boundary)))

    iou_raw, gap_raw = agreement(raw)
    iou_conv, gap_conv = agreement(converted)
    assert iou_conv > iou_raw
    assert gap_conv < 0.7 * gap_raw  # median vertex-to-boundary gap: ~330-430 m -> ~90-220 m


# --- BD-09 (Baidu) -----------------------------------------------------------------------------------

# Beijing railway station, as the baidumap R package documents it (bd2gcj's example): GCJ-02
# (39.90245, 116.42703), BD-09 (39.90851, 116.43351); five decimals, so about a metre.
BEIJING_STATION_GCJ = (116.42703, 39.90245)
BEIJING_STATION_BD = (116.43351, 39.90851)


def test_bd09_published_pair_both_ways() -> None:
    lon, lat = gcj02_to_bd09(*BEIJING_STATION_GCJ)
    assert metres(lon, lat, *BEIJING_STATION_BD) < 1.5
    lon, lat = bd09_to_gcj02(*BEIJING_STATION_BD)
    assert metres(lon, lat, *BEIJING_STATION_GCJ) < 1.5


@settings(max_examples=200, deadline=None)
@given(st.floats(74.0, 134.0), st.floats(4.0, 53.0))
def test_bd09_round_trip_within_a_millimetre(lon: float, lat: float) -> None:
    back = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert metres(lon, lat, *back) < 1e-3


def test_real_baidu_pois_read_with_bd09_move_by_baidus_offset(tmp_path: Path) -> None:
    """The 500 Baidu Maps nursing homes of five cities, read as a register with ``coords: bd09``:
    every one converted, each moved by Baidu's offset (GCJ-02's few hundred metres plus BD-09's
    ~1 km shift) and no more, and the same file read as GCJ-02 moves each by less."""
    folder = CHINA / "nursing-homes-baidu-poi"
    frames = [pd.read_csv(p, encoding="utf-8") for p in sorted(folder.glob("*.csv"))]
    pois = pd.concat(frames, ignore_index=True).reset_index(names="id").assign(类型="养老院")
    path = tmp_path / "baidu.csv"
    pois.to_csv(path, index=False, encoding="utf-8")
    spec = LayerSource(
        path=path,
        x="经度",
        y="纬度",
        crs="EPSG:4326",
        coords="bd09",
        columns={"id": "id", "名称": "name", "类型": "type"},
    )
    read = layers.read_layer(spec, kind="facilities", to_crs="EPSG:4326")
    assert read.attrs["bd09_converted"] == len(pois) == 500
    moved = metres(pois["经度"], pois["纬度"], read.geometry.x, read.geometry.y)
    assert moved.min() > 700 and moved.max() < 1500
    as_gcj = layers.read_layer(
        spec.model_copy(update={"coords": "gcj02"}), kind="facilities", to_crs="EPSG:4326"
    )
    assert (metres(pois["经度"], pois["纬度"], as_gcj.geometry.x, as_gcj.geometry.y) < moved).all()
