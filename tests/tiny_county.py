"""A hand-built county whose gaps are known in advance, written as real files.

One straight road runs east-west along y=0 (nodes every 50 m). Five villages, 1.6 km wide each,
line it; groups of 100 residents (30 aged 60+) sit on the road:

====  =============  ==================================  ==================================
name  x (m)          care centre                         expected
====  =============  ==================================  ==================================
甲村   0-1600        at 800, 200 m²; people at 800       covered
乙村   1600-3200     none; people at 2400                no centre; 1.6 km to the nearest
丙村   3200-4800     at 4000, 120 m²; people at 4000     covered, centre under 150 m²
丁村   4800-6400     at 4900; people at 6250 (1.35 km)   its centre is ~22 min away
戊村   6400-8000     at 7900; people at 7400 and 6900    half covered; the 6900 group is
                                                         16.7 min away at 1.0 m/s, 13.9 min
                                                         at 1.2 m/s: a fragile verdict
====  =============  ==================================  ==================================

Townships: 东镇 (甲乙丙) has a township centre; 西镇 (丁戊) has none. 敬老院: 60 beds (18 nursing)
in 东镇 — under 75 beds — and 120 beds (50 nursing) in 西镇; nursing share 68/180 = 37.8 %.
No county institution.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from pyproj import Transformer
from rasterio.transform import from_origin

ROOT = Path(__file__).resolve().parents[1]
ORIGIN = (430_000.0, 3_185_000.0)  # EPSG:4549 metres, near 120.3 E, 28.8 N
TO_LONLAT = Transformer.from_crs("EPSG:4549", "EPSG:4326", always_xy=True)

VILLAGES = [  # code, name, township code, x0, x1
    ("339099101201", "甲村", "339099101000", 0, 1600),
    ("339099101202", "乙村", "339099101000", 1600, 3200),
    ("339099101203", "丙村", "339099101000", 3200, 4800),
    ("339099102201", "丁村", "339099102000", 4800, 6400),
    ("339099102202", "戊村", "339099102000", 6400, 8000),
]
TOWNSHIPS = [("339099101000", "东镇", 0, 4800), ("339099102000", "西镇", 4800, 8000)]
PEOPLE_X = [800, 2400, 4000, 6250, 7400, 6900]
FACILITIES = [  # id, name, type, village code, x, floor, beds, nursing
    ("F1", "甲村居家养老服务照料中心", "村级居家养老服务照料中心", "339099101201", 800, 200, 0, 0),
    ("F2", "丙村居家养老服务照料中心", "村级居家养老服务照料中心", "339099101203", 4000, 120, 0, 0),
    ("F3", "丁村居家养老服务照料中心", "村级居家养老服务照料中心", "339099102201", 4900, 300, 0, 0),
    ("F4", "戊村居家养老服务照料中心", "村级居家养老服务照料中心", "339099102202", 7900, 300, 0, 0),
    ("F5", "东镇居家养老服务中心", "乡镇（街道）居家养老服务中心", "339099101201", 1000, 800, 0, 0),
    ("F6", "东镇敬老院", "敬老院", "339099101202", 2000, 1500, 60, 18),
    ("F7", "西镇敬老院", "敬老院", "339099102201", 6000, 3000, 120, 50),
]


def lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = TO_LONLAT.transform(ORIGIN[0] + x, ORIGIN[1] + y)
    return float(lon), float(lat)


def _box(x0: float, x1: float) -> shapely.Polygon:
    corners = [lonlat(x0, -600), lonlat(x1, -600), lonlat(x1, 600), lonlat(x0, 600)]
    return shapely.Polygon(corners)


def _roads(path: Path) -> None:
    xs = np.arange(-500, 8501, 50)
    nodes = [
        f'  <node id="{i + 1}" lat="{lonlat(x, 0)[1]:.8f}" lon="{lonlat(x, 0)[0]:.8f}"/>'
        for i, x in enumerate(xs)
    ]
    refs = "".join(f'<nd ref="{i + 1}"/>' for i in range(len(xs)))
    way = f'  <way id="1">{refs}<tag k="highway" v="residential"/><tag k="name" v="长街"/></way>'
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n'
        + "\n".join(nodes)
        + "\n"
        + way
        + "\n</osm>\n",
        encoding="utf-8",
    )


def _raster(path: Path) -> None:
    res = 1 / 1200
    west, south = lonlat(-1000, -1000)
    east, north = lonlat(9000, 1000)
    west, north = np.floor(west / res) * res, np.ceil(north / res) * res
    width, height = int(np.ceil((east - west) / res)), int(np.ceil((north - south) / res))
    transform = from_origin(west, north, res, res)
    grid = np.zeros((height, width), dtype=np.float32)
    for x in PEOPLE_X:
        lon, lat = lonlat(x, 0)
        row, col = rasterio.transform.rowcol(transform, lon, lat)
        grid[row, col] += 100.0
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4326",
        "transform": transform,
        "nodata": -99999.0,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(grid, 1)


def build(root: Path, *, targets: dict[str, object] | None = None) -> Path:
    """Write the tiny county under ``root/data/demo`` and its scenario; return the scenario path."""
    data = root / "data" / "demo"
    data.mkdir(parents=True, exist_ok=True)
    _roads(data / "roads.osm")
    _raster(data / "population.tif")
    county = gpd.GeoDataFrame(
        {"XZQDM": ["339099"], "XZQMC": ["小县"]}, geometry=[_box(0, 8000)], crs="EPSG:4490"
    )
    towns = gpd.GeoDataFrame(
        {
            "XZQDM": [t[0] for t in TOWNSHIPS],
            "XZQMC": [t[1] for t in TOWNSHIPS],
            "XZQLX": ["镇", "镇"],
        },
        geometry=[_box(t[2], t[3]) for t in TOWNSHIPS],
        crs="EPSG:4490",
    )
    villages = gpd.GeoDataFrame(
        {
            "XZQDM": [v[0] for v in VILLAGES],
            "XZQMC": [v[1] for v in VILLAGES],
            "SSXZDM": [v[2] for v in VILLAGES],
            "CJLX": ["村"] * 5,
        },
        geometry=[_box(v[3], v[4]) for v in VILLAGES],
        crs="EPSG:4490",
    )
    for layer, frame in (("county", county), ("townships", towns), ("villages", villages)):
        frame.to_file(data / "admin.gpkg", layer=layer, driver="GPKG")
    rows = [
        {
            "机构编号": f[0],
            "机构名称": f[1],
            "机构类型": f[2],
            "所在村社区代码": f[3],
            "经度": round(lonlat(f[4], 0)[0], 7),
            "纬度": round(lonlat(f[4], 0)[1], 7),
            "建筑面积（平方米）": f[5],
            "床位数": f[6],
            "护理型床位数": f[7],
        }
        for f in FACILITIES
    ]
    pd.DataFrame(rows).to_csv(data / "facilities.csv", index=False, encoding="utf-8-sig")
    census = pd.DataFrame(
        {
            "乡镇街道代码": [t[0] for t in TOWNSHIPS],
            "乡镇街道名称": [t[1] for t in TOWNSHIPS],
            "常住人口": [300, 300],
            "60岁及以上人口": [90, 90],
            "65岁及以上人口": [60, 60],
        }
    )
    census.to_csv(data / "township_population.csv", index=False, encoding="utf-8-sig")
    parcels = gpd.GeoDataFrame(
        {
            "DKBH": ["P1"],
            "DKMC": ["空地"],
            "YDMJ": [5000.0],
            "YDDM": ["0807"],
            "XZ": ["新增建设用地"],
        },
        geometry=[_box(3000, 3070)],
        crs="EPSG:4490",
    )
    parcels.to_file(data / "parcels.gpkg", layer="parcels", driver="GPKG")
    (root / "scenarios").mkdir(exist_ok=True)
    scenario = root / "scenarios" / "tiny.yaml"
    shutil.copy(ROOT / "scenarios" / "demo.yaml", scenario)
    if targets is not None:
        import yaml

        raw = yaml.safe_load(scenario.read_text(encoding="utf-8"))
        raw["policy"]["targets"] = targets
        raw["name"] = "tiny"
        raw.pop("siting", None)
        scenario.write_text(
            yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
    return scenario
