"""Layers as Chinese offices deliver them: encodings, formats, CRS, 亩, and clear errors."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from carecircle.errors import DataError, ScenarioError
from carecircle.planning.policy import MU_M2
from carecircle.scenario import LayerSource
from carecircle.sources import layers

NAMES = ["青溪镇敬老院", "乌镇镇居家养老服务中心", "龙翔街道幸福院"]
FACILITY_COLUMNS = {"编号": "id", "名称": "name", "类型": "type", "床位数": "beds"}


def facilities(crs: str = "EPSG:4490") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "编号": ["F1", "F2", "F3"],
            "名称": NAMES,
            "类型": ["敬老院", "居家养老服务中心", "农村幸福院"],
            "床位数": [120, 30, 0],
        },
        geometry=shapely.points([(120.55, 30.63), (120.49, 30.74), (120.53, 30.67)]),
        crs=crs,
    )


def read(path: Path, **kw: object) -> gpd.GeoDataFrame:
    spec = LayerSource(path=path, columns=FACILITY_COLUMNS, **kw)  # type: ignore[arg-type]
    return layers.read_layer(spec, kind="facilities", to_crs="EPSG:4326")


def gbk_shapefile(tmp_path: Path) -> Path:
    """A Shapefile whose .dbf is GBK and which has no .cpg, as many office exports are."""
    path = tmp_path / "养老机构.shp"
    pyogrio.write_dataframe(facilities(), path, encoding="GBK")
    path.with_suffix(".cpg").unlink()
    assert "青溪镇".encode("gbk") in path.with_suffix(".dbf").read_bytes()
    return path


def test_gbk_shapefile_without_cpg_reads_back_with_correct_chinese(tmp_path: Path) -> None:
    path = gbk_shapefile(tmp_path)
    frame = read(path)
    assert frame["name"].tolist() == NAMES
    assert frame["beds"].tolist() == [120, 30, 0]
    assert frame.attrs["encoding"] == "gb18030 (detected, no .cpg)"
    # Declared in the scenario, GBK is used as given; and the header check reads it too.
    assert read(path, encoding="GBK")["name"].tolist() == NAMES
    spec = LayerSource(path=path, columns=FACILITY_COLUMNS)
    assert layers.column_problems(spec, "facilities", "data.facilities") == []


def test_utf8_shapefile_with_cpg_and_without(tmp_path: Path) -> None:
    path = tmp_path / "f.shp"
    pyogrio.write_dataframe(facilities(), path, encoding="UTF-8")
    assert read(path).attrs["encoding"].endswith("(.cpg)")
    path.with_suffix(".cpg").unlink()
    frame = read(path)
    assert frame["name"].tolist() == NAMES
    assert frame.attrs["encoding"] == "utf-8 (detected, no .cpg)"


@pytest.mark.parametrize("driver", ["GPKG", "GeoJSON"])
def test_geopackage_and_geojson(tmp_path: Path, driver: str) -> None:
    path = tmp_path / ("f.gpkg" if driver == "GPKG" else "f.geojson")
    facilities().to_file(path, driver=driver)
    frame = read(path)
    assert frame["name"].tolist() == NAMES
    assert frame.geometry.x.round(6).tolist() == [120.55, 120.49, 120.53]


def table(tmp_path: Path) -> pd.DataFrame:
    frame = facilities()
    return pd.DataFrame(frame.drop(columns="geometry")).assign(
        经度=frame.geometry.x, 纬度=frame.geometry.y
    )


@pytest.mark.parametrize(
    ("name", "encoding", "reported"),
    [
        ("utf8.csv", "utf-8", "utf-8-sig (detected)"),
        ("bom.csv", "utf-8-sig", "utf-8-sig (detected)"),
        ("excel.csv", "gbk", "gb18030 (detected)"),
    ],
)
def test_csv_in_utf8_or_gbk(tmp_path: Path, name: str, encoding: str, reported: str) -> None:
    path = tmp_path / name
    table(tmp_path).to_csv(path, index=False, encoding=encoding)
    frame = read(path, x="经度", y="纬度")
    assert frame["name"].tolist() == NAMES
    assert frame.attrs["encoding"] == reported


def test_xlsx_with_coordinates_on_a_named_sheet(tmp_path: Path) -> None:
    path = tmp_path / "机构名录.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"说明": ["封面"]}).to_excel(writer, sheet_name="说明", index=False)
        table(tmp_path).to_excel(writer, sheet_name="养老机构", index=False)
    frame = read(path, x="经度", y="纬度", layer="养老机构")
    assert frame["name"].tolist() == NAMES
    assert frame["beds"].tolist() == [120, 30, 0]
    with pytest.raises(DataError, match="cannot read the sheet"):
        read(path, x="经度", y="纬度", layer="没有这个表")


@pytest.mark.parametrize(
    ("epsg", "x"),
    [("EPSG:4528", 40_500_000.0), ("EPSG:4549", 500_000.0)],  # zone 40 with prefix / CM 120E
)
def test_cgcs2000_gauss_kruger_point_on_the_central_meridian(
    tmp_path: Path, epsg: str, x: float
) -> None:
    """120°E 30°N: x is the false easting, y the meridian arc of GRS80 to 30° (3,320,113.398 m)."""
    path = tmp_path / "gk.gpkg"
    gk = facilities().iloc[:1].set_geometry(shapely.points([(x, 3_320_113.398)]), crs=epsg)
    gk.to_file(path)
    frame = read(path)
    assert frame.geometry.x.iloc[0] == pytest.approx(120.0, abs=1e-8)
    assert frame.geometry.y.iloc[0] == pytest.approx(30.0, abs=1e-8)
    # And a table in GK metres, with its CRS given in the scenario.
    csv = tmp_path / "gk.csv"
    pd.DataFrame({**FACILITY_COLUMNS_ROW, "X": [x], "Y": [3_320_113.398]}).to_csv(csv, index=False)
    frame = read(csv, x="X", y="Y", crs=epsg)
    assert frame.geometry.x.iloc[0] == pytest.approx(120.0, abs=1e-8)


FACILITY_COLUMNS_ROW = {"编号": ["F1"], "名称": ["青溪镇敬老院"], "类型": ["敬老院"], "床位数": [1]}


def test_epsg_4490_and_4326_agree(tmp_path: Path) -> None:
    for crs in ("EPSG:4490", "EPSG:4326"):
        path = tmp_path / f"{crs[5:]}.gpkg"
        facilities(crs).to_file(path)
        frame = read(path)
        np.testing.assert_allclose(frame.geometry.x, [120.55, 120.49, 120.53], atol=1e-8)


def test_land_in_mu_becomes_square_metres(tmp_path: Path) -> None:
    path = tmp_path / "parcels.csv"
    pd.DataFrame(
        {
            "地块编号": ["P1", "P2"],
            "用地面积（亩）": ["30", "7.5"],
            "x": [120.5, 120.6],
            "y": [30.6, 30.7],
        }
    ).to_csv(path, index=False)
    spec = LayerSource(
        path=path, x="x", y="y", columns={"地块编号": "id", "用地面积（亩）": "land_mu"}
    )
    frame = layers.read_layer(spec, kind="candidates", to_crs="EPSG:4326")
    assert frame["land_m2"].tolist() == pytest.approx([30 * MU_M2, 7.5 * MU_M2])
    assert "land_mu" not in frame.columns
    pd.DataFrame({"id": ["P1"], "亩": [30], "平方米": [9000.0], "x": [120.5], "y": [30.6]}).to_csv(
        path, index=False
    )
    spec = LayerSource(path=path, x="x", y="y", columns={"亩": "land_mu", "平方米": "land_m2"})
    with pytest.raises(DataError, match=r"land_m2 9000 m² disagrees with land_mu 30 亩"):
        layers.read_layer(spec, kind="candidates", to_crs="EPSG:4326")


def test_facilities_given_as_footprints_become_points(tmp_path: Path) -> None:
    path = tmp_path / "footprints.gpkg"
    frame = facilities()
    frame.geometry = frame.to_crs("EPSG:4549").buffer(20).to_crs("EPSG:4490")
    frame.to_file(path)
    out = read(path)
    assert out.attrs["polygons_as_points"] == 3
    assert (out.geometry.geom_type == "Point").all()


# --- clear errors -------------------------------------------------------------------------------


def test_missing_crs_is_refused_with_a_guess(tmp_path: Path) -> None:
    path = tmp_path / "gk.shp"
    gk = facilities().to_crs("EPSG:4528")
    pyogrio.write_dataframe(gk, path, encoding="UTF-8")
    path.with_suffix(".prj").unlink()
    with pytest.raises(DataError, match=r"has no CRS; add `crs: EPSG:4528`"):
        read(path)
    frame = read(path, crs="EPSG:4528")
    np.testing.assert_allclose(frame.geometry.x, [120.55, 120.49, 120.53], atol=1e-8)


def test_empty_layer(tmp_path: Path) -> None:
    path = tmp_path / "empty.gpkg"
    facilities().iloc[:0].to_file(path)
    with pytest.raises(DataError, match="has no features"):
        read(path)


def test_invalid_geometries_are_repaired_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "villages.gpkg"
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    square = shapely.box(2, 0, 3, 1)
    gpd.GeoDataFrame(
        {"c": ["V1", "V2"], "n": ["东村", "西村"], "t": ["T1", "T1"]},
        geometry=[bowtie, square],
        crs="EPSG:4549",
    ).to_file(path)
    spec = LayerSource(path=path, columns={"c": "id", "n": "name", "t": "township"})
    frame = layers.read_layer(spec, kind="villages", to_crs="EPSG:4549")
    assert frame.attrs["repaired_geometries"] == 1
    assert frame.geometry.is_valid.all()
    assert frame.geometry.iloc[0].area == pytest.approx(0.5)


def test_duplicate_ids(tmp_path: Path) -> None:
    path = tmp_path / "dup.gpkg"
    frame = facilities()
    frame["编号"] = ["F1", "F1", "F3"]
    frame.to_file(path)
    with pytest.raises(DataError, match=r"duplicate ids in column '编号'.*\(F1\)"):
        read(path)


def test_missing_column_lists_the_ones_present(tmp_path: Path) -> None:
    path = tmp_path / "f.gpkg"
    facilities().drop(columns="类型").to_file(path)
    with pytest.raises(DataError) as info:
        read(path)
    message = str(info.value)
    assert "missing column(s) '类型'" in message
    assert "columns found: 编号, 名称, 床位数" in message
    assert "\n" not in message


def test_table_coordinates_must_fit_the_crs(tmp_path: Path) -> None:
    path = tmp_path / "swapped.csv"
    pd.DataFrame({**FACILITY_COLUMNS_ROW, "X": [500000.0], "Y": [3320113.0]}).to_csv(
        path, index=False
    )
    with pytest.raises(
        DataError, match=r"row 2: .*not a longitude/latitude.*give the table's real `crs:`"
    ):
        read(path, x="X", y="Y")


def test_undecodable_text_asks_for_an_encoding(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes("编号,名称\n".encode() + b"\xff\xfe\xff,x\n")
    with pytest.raises(DataError, match="give `encoding:`"):
        read(path, x="a", y="b")


def test_unknown_encoding_is_a_scenario_error(tmp_path: Path) -> None:
    (tmp_path / "f.csv").write_text("a\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown text encoding 'gbkk'"):
        LayerSource(path=tmp_path / "f.csv", encoding="gbkk")
    assert issubclass(ScenarioError, ValueError)


def test_codes_saved_as_decimals_by_excel_stay_the_codes() -> None:
    """A register's 所在村社区代码 written as 360681001001.0 (Excel, pandas) is the code, not a
    different village (found by a new user: every facility 'named another village')."""
    from carecircle.sources.layers import _as_text

    assert _as_text("360681001001.0") == "360681001001"
    assert _as_text(360681001001.0) == "360681001001"
    assert _as_text("12.5") == "12.5" and _as_text("1.0") == "1.0"  # not codes: kept
