"""Population rasters, age bands, village counts and census tables -> demand, totals accounted for."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import rasterio.warp
import shapely
from affine import Affine
from pyproj import CRS

from carecircle.errors import DataError
from carecircle.scenario import OlderTable
from carecircle.sources import census

POPULATION = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "population"
ACCRA = POPULATION / "accra-worldpop-agesex-2015"
KATHMANDU = POPULATION / "kathmandu-worldpop" / "NPL_ppp_v2c_2020.tif"
BRISTOL = POPULATION / "bristol-ghs-pop" / "GHS_POP_GPW42015_GLOBE_R2015A_54009_250_v1_0.tif"

# Every raster in ../shared/data/population with its total (persons, nodata excluded). SOURCES.md
# gives: 65+ 90,811; 60-65 46,796; GHA15 3.88 M / adj 3.92 M; Kathmandu 2020 2.06 M / UNadj
# 2.20 M; Bristol 915,318; the Wuhan 60+ bands by sex sum to 1,942,653.
TOTALS = {
    "accra-worldpop-agesex-2015/GHA14_A0005_adjv1.tif": 336_486.1,
    "accra-worldpop-agesex-2015/GHA14_A0510_adjv1.tif": 328_917.6,
    "accra-worldpop-agesex-2015/GHA14_A1015_adjv1.tif": 345_060.4,
    "accra-worldpop-agesex-2015/GHA14_A1520_adjv1.tif": 427_127.6,
    "accra-worldpop-agesex-2015/GHA14_A2025_adjv1.tif": 469_653.9,
    "accra-worldpop-agesex-2015/GHA14_A2530_adjv1.tif": 381_618.5,
    "accra-worldpop-agesex-2015/GHA14_A3035_adjv1.tif": 294_605.5,
    "accra-worldpop-agesex-2015/GHA14_A3540_adjv1.tif": 252_240.2,
    "accra-worldpop-agesex-2015/GHA14_A4045_adjv1.tif": 198_194.0,
    "accra-worldpop-agesex-2015/GHA14_A4550_adjv1.tif": 153_588.2,
    "accra-worldpop-agesex-2015/GHA14_A5055_adjv1.tif": 112_456.3,
    "accra-worldpop-agesex-2015/GHA14_A5560_adjv1.tif": 83_254.1,
    "accra-worldpop-agesex-2015/GHA14_A6065_adjv1.tif": 46_795.6,
    "accra-worldpop-agesex-2015/GHA14_A65PL_adjv1.tif": 90_810.8,
    "accra-worldpop-agesex-2015/GHA15_040213.tif": 3_884_014.9,
    "accra-worldpop-agesex-2015/GHA15adj_040213.tif": 3_915_942.3,
    "bristol-ghs-pop/GHS_POP_GPW42015_GLOBE_R2015A_54009_250_v1_0.tif": 915_317.8,
    "kathmandu-worldpop/NPL_ppp_v2c_2020.tif": 2_063_744.8,
    "kathmandu-worldpop/NPL_ppp_v2c_2020_UNadj.tif": 2_196_646.9,
    "wuhan-worldpop-agesex-60plus/pop_60_f_wuhan.tif": 321_181.4,
    "wuhan-worldpop-agesex-60plus/pop_60_m_wuhan.tif": 333_791.0,
    "wuhan-worldpop-agesex-60plus/pop_65_f_wuhan.tif": 273_428.3,
    "wuhan-worldpop-agesex-60plus/pop_65_m_wuhan.tif": 277_983.8,
    "wuhan-worldpop-agesex-60plus/pop_70_f_wuhan.tif": 174_386.4,
    "wuhan-worldpop-agesex-60plus/pop_70_m_wuhan.tif": 166_971.7,
    "wuhan-worldpop-agesex-60plus/pop_75_f_wuhan.tif": 109_264.5,
    "wuhan-worldpop-agesex-60plus/pop_75_m_wuhan.tif": 97_802.4,
    "wuhan-worldpop-agesex-60plus/pop_80_f_wuhan.tif": 109_949.0,
    "wuhan-worldpop-agesex-60plus/pop_80_m_wuhan.tif": 77_894.8,
}


def test_wuhan_60_plus_bands_sum_to_the_published_total() -> None:
    wuhan = [v for k, v in TOTALS.items() if k.startswith("wuhan")]
    assert len(wuhan) == 10 and sum(wuhan) == pytest.approx(1_942_653, abs=1)


def test_every_shared_raster_is_listed() -> None:
    found = {str(p.relative_to(POPULATION)) for p in POPULATION.rglob("*.tif")}
    assert found == set(TOTALS)


def bounds_of(path: Path, inset: float = 0.0) -> tuple[shapely.Polygon, CRS]:
    with rasterio.open(path) as src:
        b = src.bounds
        return shapely.box(
            b.left + inset, b.bottom + inset, b.right - inset, b.top - inset
        ), src.crs


# The ten Wuhan bands share one grid: reprojecting one of them shows what reprojecting any does.
REPROJECTED = [n for n in sorted(TOTALS) if not n.startswith("wuhan")] + [
    "wuhan-worldpop-agesex-60plus/pop_60_f_wuhan.tif"
]


@pytest.mark.parametrize("name", sorted(TOTALS))
def test_each_raster_read_whole_keeps_its_total(name: str) -> None:
    assert census.raster_total(POPULATION / name) == pytest.approx(TOTALS[name], abs=0.1)


@pytest.mark.parametrize("name", REPROJECTED)
def test_each_raster_read_whole_and_reprojected_keeps_its_total(name: str) -> None:
    path = POPULATION / name
    assert census.raster_total(path) == pytest.approx(TOTALS[name], abs=0.1)
    # Read as demand over its own extent: every populated cell is used, nothing is outside.
    area, crs = bounds_of(path)
    utm = gpd.GeoSeries([area], crs=crs).estimate_utm_crs()
    demand = census.demand_from_raster(path, area, crs, to_crs=utm)
    assert demand.report["method"] == "cells"
    assert demand.report["window_total"] == pytest.approx(TOTALS[name], abs=0.1)
    assert demand.population.sum() == pytest.approx(TOTALS[name], abs=0.1)
    assert demand.report["outside_area"] == pytest.approx(0.0, abs=0.01)
    # Summed onto a 100 m UTM grid and a 1 km Mollweide grid (GHS-POP's native CRS).
    for to_crs, size in ((utm, 100.0), (CRS.from_user_input("ESRI:54009"), 1000.0)):
        with rasterio.open(path) as src:
            values = np.ma.filled(src.read(1, masked=True).astype(np.float64), 0.0)
            left, bottom, right, top = rasterio.warp.transform_bounds(
                src.crs, to_crs, *src.bounds, densify_pts=21
            )
            transform = Affine(size, 0, left - size, 0, -size, top + size)
            shape = (int((top - bottom) / size) + 3, int((right - left) / size) + 3)
            out, totals = census.warp_sum(
                values, src.transform, src.crs, to_crs=to_crs, transform=transform, shape=shape
            )
        assert out.sum() == pytest.approx(TOTALS[name], rel=0.001)
        assert totals["after"] == pytest.approx(totals["before"], rel=0.001)


def test_accra_age_bands_sum_to_the_older_residents() -> None:
    """Older residents = the 60-65 band + the 65+ band, cell by cell and in total."""
    area, crs = bounds_of(ACCRA / "GHA15adj_040213.tif")
    demand = census.demand_from_rasters(
        ACCRA / "GHA15adj_040213.tif",
        [ACCRA / "GHA14_A6065_adjv1.tif", ACCRA / "GHA14_A65PL_adjv1.tif"],
        area,
        crs,
        to_crs=CRS.from_epsg(32630),
    )
    assert demand.older is not None
    a6065 = TOTALS["accra-worldpop-agesex-2015/GHA14_A6065_adjv1.tif"]
    a65pl = TOTALS["accra-worldpop-agesex-2015/GHA14_A65PL_adjv1.tif"]
    assert demand.older.sum() == pytest.approx(a6065 + a65pl, abs=0.1)  # 137,606.4
    assert demand.population.sum() == pytest.approx(3_915_942.3, abs=0.1)
    report = demand.report
    assert report["method"] == "cells"
    assert [b["file"] for b in report["older_rasters"]] == [
        "GHA14_A6065_adjv1.tif",
        "GHA14_A65PL_adjv1.tif",
    ]
    assert report["older_in_area"] == pytest.approx(a6065 + a65pl, abs=0.1)
    assert report["total_in_area"] == pytest.approx(3_915_942.3, abs=0.1)
    share = demand.older.sum() / demand.population.sum()
    assert 0.03 < share < 0.04  # Accra is young: 3.5 % aged 60+


def test_age_bands_without_a_total_raster() -> None:
    area, crs = bounds_of(ACCRA / "GHA14_A65PL_adjv1.tif")
    demand = census.demand_from_rasters(
        None, [ACCRA / "GHA14_A65PL_adjv1.tif"], area, crs, to_crs=CRS.from_epsg(32630)
    )
    assert demand.older is not None and demand.older.sum() == pytest.approx(90_810.8, abs=0.1)
    assert np.isnan(demand.population).all()


def write_raster(path: Path, values: np.ndarray, transform: Affine, crs: str, **kw: object) -> Path:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=values.shape[0],
        width=values.shape[1],
        count=1,
        dtype="float64",
        crs=crs,
        transform=transform,
        **kw,
    ) as dst:
        dst.write(values.astype(np.float64), 1)
    return path


def kathmandu() -> tuple[np.ndarray, Affine, str]:
    with rasterio.open(KATHMANDU) as src:
        return (
            np.ma.filled(src.read(1, masked=True).astype(np.float64), 0.0),
            src.transform,
            "EPSG:4326",
        )


def test_a_coarse_raster_is_summed_onto_the_working_grid(tmp_path: Path) -> None:
    """A 1 km raster (Kathmandu aggregated 10 x 10) is spread over 100 m cells, total kept."""
    values, transform, crs = kathmandu()
    h, w = values.shape[0] // 10 * 10, values.shape[1] // 10 * 10
    coarse = values[:h, :w].reshape(h // 10, 10, w // 10, 10).sum(axis=(1, 3))
    path = write_raster(tmp_path / "1km.tif", coarse, transform * Affine.scale(10), crs)
    area, _ = bounds_of(path)
    demand = census.demand_from_raster(path, area, crs, to_crs=CRS.from_epsg(32645))
    report = demand.report
    assert report["method"] == "summed onto the working grid"
    assert report["cell_m"] > 800  # 0.0083° is ~820 m x 926 m here
    assert report["reprojected_total"] == pytest.approx(coarse.sum(), rel=0.001)
    used_plus_outside = report["total_in_area"] + report["outside_area"]
    assert used_plus_outside == pytest.approx(coarse.sum(), rel=0.001)
    assert report["total_in_area"] > 0.97 * coarse.sum()  # only edge slivers fall outside
    assert demand.cell_area_m2 == 100.0**2
    spacing = np.diff(np.unique(demand.x))
    assert spacing.min() == pytest.approx(100.0)


def test_a_mollweide_250m_raster_keeps_its_cells(tmp_path: Path) -> None:
    """GHS-POP's native grid (Mollweide, 250 m): cells used as they are, centres reprojected."""
    values, transform, crs = kathmandu()
    left, bottom, right, top = rasterio.warp.transform_bounds(
        crs, "ESRI:54009", *rasterio.transform.array_bounds(*values.shape, transform)
    )
    moll = Affine(250, 0, left - 250, 0, -250, top + 250)
    shape = (int((top - bottom) / 250) + 3, int((right - left) / 250) + 3)
    out, _ = census.warp_sum(
        values,
        transform,
        CRS.from_user_input(crs),
        to_crs="ESRI:54009",
        transform=moll,
        shape=shape,
    )
    path = write_raster(tmp_path / "moll.tif", out, moll, "ESRI:54009")
    area = shapely.box(85.24, 27.64, 85.41, 27.78)  # all of the raster
    demand = census.demand_from_raster(path, area, "EPSG:4326", to_crs=CRS.from_epsg(32645))
    assert demand.report["method"] == "cells"
    assert demand.report["cell_m"] == pytest.approx(250, rel=0.05)
    assert demand.population.sum() == pytest.approx(values.sum(), rel=0.001)
    # Cell centres land in UTM 45N around Kathmandu (~330-345 km E, ~3,060-3,075 km N).
    assert demand.x.min() > 320_000 and demand.x.max() < 350_000
    assert demand.y.min() > 3_050_000 and demand.y.max() < 3_080_000


def test_age_bands_on_different_grids_are_summed_onto_one(tmp_path: Path) -> None:
    band = ACCRA / "GHA14_A65PL_adjv1.tif"
    with rasterio.open(band) as src:
        values = np.ma.filled(src.read(1, masked=True).astype(np.float64), 0.0)
        left, bottom, right, top = rasterio.warp.transform_bounds(
            src.crs, "EPSG:32630", *src.bounds
        )
        utm = Affine(100, 0, left - 100, 0, -100, top + 100)
        shape = (int((top - bottom) / 100) + 3, int((right - left) / 100) + 3)
        out, _ = census.warp_sum(
            values, src.transform, src.crs, to_crs="EPSG:32630", transform=utm, shape=shape
        )
    moved = write_raster(tmp_path / "a65pl_utm.tif", out, utm, "EPSG:32630")
    area, crs = bounds_of(band, inset=-0.01)  # a little larger than the rasters
    demand = census.demand_from_rasters(
        None, [ACCRA / "GHA14_A6065_adjv1.tif", moved], area, crs, to_crs=CRS.from_epsg(32630)
    )
    assert demand.report["method"] == "summed onto the working grid"
    assert demand.older is not None
    assert demand.older.sum() == pytest.approx(46_795.6 + 90_810.8, rel=0.001)


def test_window_over_part_of_a_raster_counts_what_is_outside() -> None:
    """A 2 km disc in central Kathmandu: used + outside = the window read; checked by hand."""
    centre = shapely.Point(85.32, 27.71)
    area = gpd.GeoSeries([centre], crs=4326).to_crs(32645).buffer(2000).to_crs(4326).iloc[0]
    demand = census.demand_from_raster(KATHMANDU, area, "EPSG:4326", to_crs=CRS.from_epsg(32645))
    values, transform, _ = kathmandu()
    rows, cols = np.indices(values.shape)
    xs, ys = rasterio.transform.xy(transform, rows.ravel(), cols.ravel(), offset="center")
    by_hand = values.ravel()[shapely.contains_xy(area, np.asarray(xs), np.asarray(ys))].sum()
    report = demand.report
    assert report["total_in_area"] == pytest.approx(by_hand, abs=0.01)
    assert report["total_in_area"] + report["outside_area"] == pytest.approx(
        report["window_total"], abs=0.01
    )
    assert 0 < report["outside_area"] < report["window_total"]


# --- refused rasters ----------------------------------------------------------------------------


def test_raster_outside_the_area(tmp_path: Path) -> None:
    area = shapely.box(120.9, 28.1, 121.1, 28.3)  # 乐清, far from Kathmandu
    with pytest.raises(DataError, match="does not overlap the study area"):
        census.demand_from_raster(KATHMANDU, area, "EPSG:4326", to_crs=CRS.from_epsg(32651))


@pytest.mark.parametrize(
    ("value", "nodata", "fragment"),
    [
        (np.nan, None, "NaN or infinity"),
        (-5.0, None, "negative population"),
        (np.nan, np.nan, None),  # NaN declared as nodata is fine
    ],
)
def test_bad_cells(
    tmp_path: Path, value: float, nodata: float | None, fragment: str | None
) -> None:
    values = np.full((10, 10), 3.0)
    values[4, 4] = value
    kw = {"nodata": nodata} if nodata is not None else {}
    path = write_raster(
        tmp_path / "bad.tif", values, Affine(0.001, 0, 85.3, 0, -0.001, 27.7), "EPSG:4326", **kw
    )
    area = shapely.box(85.3, 27.69, 85.31, 27.7)
    if fragment is None:
        demand = census.demand_from_raster(path, area, "EPSG:4326", to_crs=CRS.from_epsg(32645))
        assert demand.population.sum() == pytest.approx(99 * 3.0)
        return
    with pytest.raises(DataError, match=fragment):
        census.demand_from_raster(path, area, "EPSG:4326", to_crs=CRS.from_epsg(32645))


def test_raster_without_crs(tmp_path: Path) -> None:
    path = write_raster(tmp_path / "nocrs.tif", np.ones((3, 3)), Affine(1, 0, 0, 0, -1, 3), None)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="has no CRS"):
        census.demand_from_raster(
            path, shapely.box(0, 0, 3, 3), "EPSG:4326", to_crs=CRS.from_epsg(32631)
        )


# --- village counts -----------------------------------------------------------------------------


def test_village_points_and_polygons_with_counts() -> None:
    """Points keep their counts; a 1 km square village is spread over its 100 m cells."""
    crs = "EPSG:32651"
    frame = gpd.GeoDataFrame(
        {"older": [120.0, 400.0, 50.0], "residents": [600.0, 2000.0, 250.0]},
        geometry=[
            shapely.Point(500, 500),
            shapely.box(1000, 0, 2000, 1000),
            shapely.Point(9000, 9000),  # outside the area
        ],
        crs=crs,
    )
    area = shapely.box(0, 0, 3000, 3000)
    demand = census.demand_from_points(frame, area, grid_m=100.0, source="villages.gpkg")
    assert len(demand) == 1 + 100
    assert demand.older is not None
    assert demand.older.sum() == pytest.approx(520.0)
    assert demand.population.sum() == pytest.approx(2600.0)
    assert demand.older[1:] == pytest.approx(np.full(100, 4.0))
    report = demand.report
    assert report["older_in_area"] == 520.0 and report["older_outside_area"] == 50.0
    assert report["polygons_spread"] == 1
    with pytest.raises(DataError, match="without a count"):
        census.demand_from_points(frame.assign(older=np.nan, residents=np.nan), area)


def test_census_table_in_gbk(tmp_path: Path) -> None:
    path = tmp_path / "七普乡镇.csv"
    pd.DataFrame(
        {
            "乡镇代码": ["330382001", "330382002"],
            "常住人口": [50000, 20000],
            "60岁及以上": [10000, 6000],
        }
    ).to_csv(path, index=False, encoding="gbk")
    shares, totals = census.older_shares(
        OlderTable(path=path, key="乡镇代码", total="常住人口", older="60岁及以上")
    )
    assert shares == {"330382001": 0.2, "330382002": 0.3}
    assert totals["share"] == pytest.approx(16000 / 70000)
    assert totals["encoding"] == "gb18030 (detected)"
