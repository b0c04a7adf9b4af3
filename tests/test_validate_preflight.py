"""`carecircle validate` runs every light check of `run` (issue 21): one broken demo per defect.

Each defect below used to pass `validate` and be refused by `run` only after its reading; now
`validate` exits 2 and names the scenario key and the file. For two of them `run` is shown to
refuse the same scenario for the same cause.
"""

from __future__ import annotations

import re
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import rasterio
import yaml
from affine import Affine
from click.testing import CliRunner, Result

from carecircle.cli import main

ROOT = Path(__file__).resolve().parents[1]
NANJING = ROOT.parent / "shared/data/china/nursing-homes-baidu-poi/nanjing_nursing_homes.csv"

Mutate = Callable[[dict[str, Any], Path, Path], None]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo-preflight") / "demo"
    result = CliRunner().invoke(main, ["-q", "demo-data", "--out", str(out), "--size", "small"])
    assert result.exit_code == 0, result.output
    return out


def _scenario(folder: Path, demo: Path, mutate: Mutate | None = None) -> Path:
    """scenarios/demo.yaml on the generated demo county, changed by ``mutate(raw, demo, folder)``."""
    text = (ROOT / "scenarios" / "demo.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text.replace("../data/demo", str(demo)))
    if mutate is not None:
        mutate(raw, demo, folder)
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def _invoke(*args: str, cache: Path) -> Result:
    return CliRunner().invoke(main, ["-q", *args], env={"CARECIRCLE_CACHE": str(cache)})


def _facilities(demo: Path) -> pd.DataFrame:
    return pd.read_csv(demo / "facilities.csv", dtype=str, encoding="utf-8-sig")


def _register(raw: dict[str, Any], path: Path) -> None:
    raw["data"]["facilities"]["path"] = str(path)


# --- the defects --------------------------------------------------------------------------------


def geo_crs(raw: dict[str, Any], demo: Path, d: Path) -> None:
    raw["crs"] = "EPSG:4326"


def bad_crs(raw: dict[str, Any], demo: Path, d: Path) -> None:
    raw["crs"] = "EPSG:999999"


def swapped_columns(raw: dict[str, Any], demo: Path, d: Path) -> None:
    f = raw["data"]["facilities"]
    f["x"], f["y"] = f["y"], f["x"]


def header_only_register(raw: dict[str, Any], demo: Path, d: Path) -> None:
    _facilities(demo).iloc[:0].to_csv(d / "f.csv", index=False)
    _register(raw, d / "f.csv")


def facilities_elsewhere(raw: dict[str, Any], demo: Path, d: Path) -> None:
    t = _facilities(demo)
    t["经度"] = (t["经度"].astype(float) + 2).astype(str)
    t.to_csv(d / "f.csv", index=False)
    _register(raw, d / "f.csv")


def unknown_type(raw: dict[str, Any], demo: Path, d: Path) -> None:
    t = _facilities(demo)
    t.loc[0, "机构类型"] = "颐养之家"
    t.to_csv(d / "f.csv", index=False)
    _register(raw, d / "f.csv")


def duplicate_ids(raw: dict[str, Any], demo: Path, d: Path) -> None:
    t = _facilities(demo)
    t.loc[1, "机构编号"] = str(t["机构编号"].iloc[0])
    t.to_csv(d / "f.csv", index=False)
    _register(raw, d / "f.csv")


def _villages(raw: dict[str, Any], demo: Path, d: Path, change: Callable[[Any], Any]) -> None:
    v = gpd.read_file(demo / "admin.gpkg", layer="villages")
    change(v).to_file(d / "a.gpkg", layer="villages")
    raw["data"]["villages"]["path"] = str(d / "a.gpkg")


def empty_villages(raw: dict[str, Any], demo: Path, d: Path) -> None:
    _villages(raw, demo, d, lambda v: v.iloc[:0])


def village_township_unknown(raw: dict[str, Any], demo: Path, d: Path) -> None:
    def change(v: Any) -> Any:
        v.loc[0, "SSXZDM"] = "999"
        return v

    _villages(raw, demo, d, change)


def villages_without_crs(raw: dict[str, Any], demo: Path, d: Path) -> None:
    with warnings.catch_warnings():  # pyogrio warns of the missing CRS we mean to write
        warnings.simplefilter("ignore", UserWarning)
        _villages(raw, demo, d, lambda v: v.set_crs(None, allow_override=True))


def _older_table(raw: dict[str, Any], demo: Path, d: Path, change: Callable[[Any], Any]) -> None:
    t = pd.read_csv(demo / "township_population.csv", dtype=str, encoding="utf-8-sig")
    change(t).to_csv(d / "t.csv", index=False)
    raw["data"]["population"]["older_table"]["path"] = str(d / "t.csv")


def older_table_duplicate(raw: dict[str, Any], demo: Path, d: Path) -> None:
    _older_table(raw, demo, d, lambda t: pd.concat([t, t.iloc[:1]]))


def older_table_not_a_number(raw: dict[str, Any], demo: Path, d: Path) -> None:
    def change(t: Any) -> Any:
        t.loc[t.index[0], "常住人口"] = "abc"
        return t

    _older_table(raw, demo, d, change)


def census_county_unknown(raw: dict[str, Any], demo: Path, d: Path) -> None:
    del raw["data"]["population"]["older_table"]
    raw["data"]["population"]["census_county"] = "999999"


def population_points_elsewhere(raw: dict[str, Any], demo: Path, d: Path) -> None:
    v = gpd.read_file(demo / "admin.gpkg", layer="villages")
    v["older"] = 100
    v["geometry"] = v.geometry.representative_point().translate(1.0, 0)
    v[["XZQDM", "older", "geometry"]].to_file(d / "p.gpkg", layer="p")
    pop = raw["data"]["population"]
    for key in ("raster", "older_table"):
        pop.pop(key, None)
    pop["points"] = {"path": str(d / "p.gpkg"), "columns": {"older": "older"}}


def raster_elsewhere(raw: dict[str, Any], demo: Path, d: Path) -> None:
    with rasterio.open(demo / "population.tif") as src:
        profile, band, t = src.profile, src.read(1), src.transform
    profile["transform"] = Affine(t.a, t.b, t.c + 5.0, t.d, t.e, t.f)  # 5 degrees east
    with rasterio.open(d / "p.tif", "w", **profile) as out:
        out.write(band, 1)
    raw["data"]["population"]["raster"] = str(d / "p.tif")


def _raster(raw: dict[str, Any], demo: Path, d: Path, change: Callable[[Any], Any]) -> None:
    with rasterio.open(demo / "population.tif") as src:
        profile, band = src.profile, src.read(1).astype("float32")
    profile["dtype"] = "float32"
    with rasterio.open(d / "p.tif", "w", **profile) as out:
        out.write(change(band), 1)
    raw["data"]["population"]["raster"] = str(d / "p.tif")


def raster_negative(raw: dict[str, Any], demo: Path, d: Path) -> None:
    def change(band: Any) -> Any:
        band[band > 0] = -1.0
        return band

    _raster(raw, demo, d, change)


def raster_ten_times_the_census(raw: dict[str, Any], demo: Path, d: Path) -> None:
    _raster(raw, demo, d, lambda band: band * 10)  # persons per km² for persons per cell, say


def roads_with_a_dtd(raw: dict[str, Any], demo: Path, d: Path) -> None:
    text = (demo / "roads.osm").read_text(encoding="utf-8")
    text = text.replace("<osm ", '<!DOCTYPE osm [<!ENTITY a "b">]>\n<osm ', 1)
    (d / "r.osm").write_text(text, encoding="utf-8")
    raw["data"]["network"]["path"] = str(d / "r.osm")


def raster_not_a_tif(raw: dict[str, Any], demo: Path, d: Path) -> None:
    shutil.copy(demo / "township_population.csv", d / "p.tif")
    raw["data"]["population"]["raster"] = str(d / "p.tif")


def roads_not_osm(raw: dict[str, Any], demo: Path, d: Path) -> None:
    shutil.copy(demo / "parcels.gpkg", d / "r.osm")
    raw["data"]["network"]["path"] = str(d / "r.osm")


def roads_elsewhere(raw: dict[str, Any], demo: Path, d: Path) -> None:
    text = (demo / "roads.osm").read_text(encoding="utf-8")
    shift = lambda m: f'{m.group(1)}="{float(m.group(2)) + 3:.7f}"'  # noqa: E731
    text = re.sub(r'\b(lon|minlon|maxlon)="(-?\d+\.\d+)"', shift, text)
    (d / "r.osm").write_text(text, encoding="utf-8")
    raw["data"]["network"]["path"] = str(d / "r.osm")


def bbox_inverted(raw: dict[str, Any], demo: Path, d: Path) -> None:
    raw["data"]["network"] = {"bbox": [121.0, 28.0, 120.0, 29.0]}


def land_quota(raw: dict[str, Any], demo: Path, d: Path) -> None:
    raw["siting"]["land_quota_mu"] = 10


def budget(raw: dict[str, Any], demo: Path, d: Path) -> None:
    raw["siting"]["budget_yuan"] = 1000
    raw["siting"]["cost_per_bed_yuan"] = 100


def max_sites(raw: dict[str, Any], demo: Path, d: Path) -> None:
    raw["siting"]["max_sites"] = 1


def land_use_code_unknown(raw: dict[str, Any], demo: Path, d: Path) -> None:
    p = gpd.read_file(demo / "parcels.gpkg", layer="parcels")
    p.loc[0, "YDDM"] = "ZZ99"
    p.to_file(d / "p.gpkg", layer="parcels")
    raw["data"]["candidates"]["path"] = str(d / "p.gpkg")


# defect -> (the key validate names, the file it names or None, a phrase of the cause)
DEFECTS: dict[str, tuple[Mutate, str, str | None, str]] = {
    "geo_crs": (geo_crs, "crs", None, "is not projected"),
    "bad_crs": (bad_crs, "crs", None, "unknown CRS"),
    "swapped_columns": (swapped_columns, "data.facilities", "facilities.csv", "look swapped"),
    "header_only_register": (header_only_register, "data.facilities", "f.csv", "no features"),
    "facilities_elsewhere": (facilities_elsewhere, "data.facilities", "f.csv", "outside the study area"),
    "unknown_type": (unknown_type, "data.facilities.types", "f.csv", "not in the mapping"),
    "duplicate_ids": (duplicate_ids, "data.facilities", "f.csv", "duplicate ids"),
    "empty_villages": (empty_villages, "data.villages", "a.gpkg", "no features"),
    "village_township_unknown": (village_township_unknown, "data.villages", "a.gpkg", "not in the townships layer"),
    "villages_without_crs": (villages_without_crs, "data.villages", "a.gpkg", "no CRS"),
    "older_table_duplicate": (older_table_duplicate, "data.population.older_table", "t.csv", "duplicate"),
    "older_table_not_a_number": (older_table_not_a_number, "data.population.older_table", "t.csv", "finite numbers"),
    "census_county_unknown": (census_county_unknown, "data.population.census_county", None, "no county with this code"),
    "population_points_elsewhere": (population_points_elsewhere, "data.population.points", "p.gpkg", "no populated cell"),
    "raster_elsewhere": (raster_elsewhere, "data.population.raster", "p.tif", "does not overlap"),
    "raster_not_a_tif": (raster_not_a_tif, "data.population.raster", "p.tif", "not a readable GeoTIFF"),
    "raster_negative": (raster_negative, "data.population.raster", "p.tif", "negative population"),
    "raster_ten_times_the_census": (raster_ten_times_the_census, "data.population.raster", "p.tif", "census_tolerance above 10.0"),
    "roads_with_a_dtd": (roads_with_a_dtd, "data.network.path", "r.osm", "declares a DTD"),
    "roads_not_osm": (roads_not_osm, "data.network.path", "r.osm", "not an OSM XML file"),
    "roads_elsewhere": (roads_elsewhere, "data.network.path", "r.osm", "no road lies inside the study area"),
    "bbox_inverted": (bbox_inverted, "data.network.bbox", None, "invalid box"),
    "land_quota": (land_quota, "siting", None, "more than the quota"),
    "budget": (budget, "siting", None, "more than the budget"),
    "max_sites": (max_sites, "siting", None, "fewer than the bed target"),
    "land_use_code_unknown": (land_use_code_unknown, "data.candidates", "p.gpkg", "not in the 用地用海分类"),
}  # fmt: skip


def test_the_intact_demo_validates(demo: Path, tmp_path: Path) -> None:
    result = _invoke("validate", str(_scenario(tmp_path, demo)), cache=tmp_path / "cache")
    assert result.exit_code == 0, result.output
    assert "scenario is valid" in result.output


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_validate_refuses(defect: str, demo: Path, tmp_path: Path) -> None:
    mutate, key, file, cause = DEFECTS[defect]
    result = _invoke("validate", str(_scenario(tmp_path, demo, mutate)), cache=tmp_path / "cache")
    assert result.exit_code == 2, result.output
    assert f"{key}: " in result.output, result.output
    assert cause in result.output, result.output
    if file is not None:
        assert file in result.output, result.output
    assert "scenario is valid" not in result.output


def test_every_problem_is_listed_at_once(demo: Path, tmp_path: Path) -> None:
    def three(raw: dict[str, Any], demo: Path, d: Path) -> None:
        older_table_duplicate(raw, demo, d)
        land_quota(raw, demo, d)
        raster_not_a_tif(raw, demo, d)

    result = _invoke("validate", str(_scenario(tmp_path, demo, three)), cache=tmp_path / "cache")
    assert result.exit_code == 2, result.output
    assert "3 problem(s)" in result.output, result.output
    for key in ("data.population.older_table: ", "siting: ", "data.population.raster: "):
        assert key in result.output, result.output


@pytest.mark.parametrize("defect", ["unknown_type", "raster_elsewhere"])
def test_run_refuses_what_validate_refuses_for_the_same_cause(
    defect: str, demo: Path, tmp_path: Path
) -> None:
    mutate, _, file, cause = DEFECTS[defect]
    path = _scenario(tmp_path, demo, mutate)
    cache = tmp_path / "cache"
    checked = _invoke("validate", str(path), cache=cache)
    ran = _invoke("run", str(path), "--out", str(tmp_path / "out"), cache=cache)
    assert checked.exit_code == ran.exit_code == 2, ran.output
    for text in (checked.output, ran.output):
        assert cause in text, text
        assert file is not None and file in text, text


@pytest.mark.skipif(not NANJING.is_file(), reason="the shared Baidu POI data is not here")
@pytest.mark.parametrize(
    ("swap", "cause"), [(True, "look swapped"), (False, "outside the study area")]
)
def test_real_baidu_pois_outside_the_area_are_caught(
    swap: bool, cause: str, demo: Path, tmp_path: Path
) -> None:
    """Nanjing's nursing homes (Baidu POIs, BD-09) as the demo county's register: x and y
    swapped in the mapping, or right but in another city, validate names the register."""
    pois = pd.read_csv(NANJING, dtype=str, encoding="utf-8-sig")
    pois.insert(0, "编号", [f"NJ{i:03d}" for i in range(len(pois))])
    pois["类型"] = "养老院"
    pois.to_csv(tmp_path / "nanjing.csv", index=False)

    def nanjing(raw: dict[str, Any], demo: Path, d: Path) -> None:
        raw["data"]["facilities"] = {
            "path": str(d / "nanjing.csv"),
            "x": "纬度" if swap else "经度",
            "y": "经度" if swap else "纬度",
            "crs": "EPSG:4326",
            "coords": "bd09",
            "columns": {"编号": "id", "名称": "name", "类型": "type"},
        }
        raw.pop("siting", None)

    result = _invoke("validate", str(_scenario(tmp_path, demo, nanjing)), cache=tmp_path / "cache")
    assert result.exit_code == 2, result.output
    assert "data.facilities: " in result.output and "nanjing.csv" in result.output, result.output
    assert cause in result.output, result.output
