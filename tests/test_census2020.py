"""The shipped 2020 census county table (issue 21): rebuilt from the yearbook file it cites,
cross-checked against an independent transcription, looked up by code and name, and used to
calibrate the real Wuhan 60+ rasters to the census total."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import yaml
from click.testing import CliRunner

from carecircle.cli import main
from carecircle.errors import DataError
from carecircle.sources import census, census2020

ROOT = Path(__file__).resolve().parents[1]
CENSUS = ROOT.parent / "shared" / "data" / "china" / "census-2020-county"
WUHAN = ROOT.parent / "shared" / "data" / "population" / "wuhan-worldpop-agesex-60plus"
WUHAN_BANDS = [WUHAN / f"pop_{a}_{s}_wuhan.tif" for a in (60, 65, 70, 75, 80) for s in "fm"]


def test_the_shipped_table_is_what_the_build_script_makes_of_the_yearbook_file() -> None:
    spec = importlib.util.spec_from_file_location("build", ROOT / "scripts" / "build_census2020.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    rebuilt = build.build(CENSUS / "census_county_2020_v1.xlsx")
    shipped = census2020.table()
    assert len(rebuilt) == len(shipped) == 3312
    for row, cc in zip(rebuilt.itertuples(index=False), shipped, strict=True):
        assert (row.code, row.county, int(row.residents), int(row.older_60)) == (
            cc.code,
            cc.county,
            cc.residents,
            cc.older_60,
        )


def test_figures_match_the_published_ones() -> None:
    # SOURCES.md: 60+ of the four seed counties, and 武汉市's 2,145,288.
    expected = {
        "330382": (1_452_707, 237_685),
        "330483": (1_029_754, 194_590),
        "350124": (256_181, 57_060),
        "371083": (464_078, 176_850),
        "420100": (12_447_718, 2_145_288),
    }
    for code, (residents, older) in expected.items():
        row = census2020.lookup(code)
        assert (row.residents, row.older_60) == (residents, older)
    # A prefecture's own row is the sum of its districts.
    wuhan = [r for r in census2020.table() if r.code.startswith("4201") and r.code != "420100"]
    assert sum(r.older_60 or 0 for r in wuhan) == 2_145_288


def test_older_residents_agree_with_the_independent_nbs_transcription() -> None:
    """tudigong (from the NBS county tabulation) gives POPU and age shares: its 60+ is
    POPU x the 60-64 ... 85+ shares. Both sources agree within rounding of the shares."""
    with (CENSUS / "tudigong-ages.csv").open(encoding="utf-8-sig") as fh:
        ages = {r["CODE"]: r for r in csv.DictReader(fh)}
    with (CENSUS / "tudigong-population.csv").open(encoding="utf-8-sig") as fh:
        popu = {r["CODE"]: float(r["POPU"]) for r in csv.DictReader(fh) if r["POPU"]}
    bands = ["AGES_60-64", "AGES_65-69", "AGES_70-74", "AGES_75-79", "AGES_80-84", "AGES_85P"]
    ratios = []
    for row in census2020.table():
        if (
            row.code in ages
            and row.code in popu
            and row.older_60
            and row.residents == popu[row.code]
        ):
            if not all(ages[row.code][b] for b in bands):
                continue
            theirs = popu[row.code] * sum(float(ages[row.code][b]) for b in bands)
            ratios.append(row.older_60 / theirs)
    assert len(ratios) > 2000
    ratios_arr = np.asarray(ratios)
    # Shares are given to 4 decimals: the 60+ share is good to about ±0.0003 absolute.
    assert np.median(np.abs(ratios_arr - 1)) < 0.002
    assert np.mean(np.abs(ratios_arr - 1) < 0.01) > 0.97


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("330382", "330382"),
        ("乐清市", "330382"),
        ("乐清", "330382"),
        ("乐清市, 温州市, 浙江省", "330382"),
        ("武汉市", "420100"),
        ("贵溪市", "360681"),
        ("鼓楼区, 福州市", "350102"),
        ("鼓楼区，南京", "320106"),
    ],
)
def test_lookup_by_code_and_name(query: str, code: str) -> None:
    assert census2020.lookup(query).code == code


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("朝阳区", ["2 counties share this name", "110105", "220104"]),
        ("鼓楼区", ["4 counties share this name"]),
        ("999999", ["no county with this code"]),
        ("火星县", ["no county of this name", "区划代码"]),
        ("贵溪县", ["did you mean 贵溪市 (鹰潭市, 江西省, 360681)"]),
    ],
)
def test_unknown_and_ambiguous_names_are_refused_with_the_rows_to_choose_from(
    query: str, words: list[str]
) -> None:
    with pytest.raises(DataError) as err:
        census2020.lookup(query)
    for word in words:
        assert word in str(err.value)


def test_calibrate_scales_by_one_factor_and_refuses_a_gap_of_another_place() -> None:
    scaled, factor = census2020.calibrate([1.0, 3.0, 0.0], 8.0)
    assert factor == 2.0 and list(scaled) == [2.0, 6.0, 0.0]
    with pytest.raises(DataError, match=r"4\.00x"):
        census2020.calibrate([1.0, 1.0], 8.0, max_factor=3.0)
    with pytest.raises(DataError, match="non-negative"):
        census2020.calibrate([1.0, np.nan], 2.0)


@pytest.fixture(scope="module")
def wuhan_older() -> census.Demand:
    boundary = gpd.read_file(WUHAN / "wuhan-boundary-shp" / "wuhan-boundary.shp")
    return census.demand_from_rasters(
        None,
        WUHAN_BANDS,
        boundary.geometry.union_all(),
        boundary.crs,
        to_crs=boundary.estimate_utm_crs(),
    )


def test_wuhan_60plus_rasters_calibrated_to_the_census_keep_their_pattern(
    wuhan_older: census.Demand,
) -> None:
    """Done means (issue 21): the calibrated total equals the census 60+ of 武汉市 and the
    spatial pattern is unchanged (correlation 1 before and after)."""
    raw = wuhan_older.older
    assert raw is not None
    # The real rasters hold 1,942,653 older residents (SOURCES.md), read inside the boundary.
    with rasterio.open(WUHAN_BANDS[0]) as src:
        assert src.res[0] == pytest.approx(0.000833333, rel=1e-3)
    assert float(raw.sum()) == pytest.approx(1_942_653, rel=0.01)
    wuhan = census2020.lookup("武汉市")
    scaled, factor = census2020.calibrate(raw, float(wuhan.older_60 or 0))
    assert float(scaled.sum()) == pytest.approx(2_145_288, rel=1e-9)
    assert factor == pytest.approx(2_145_288 / float(raw.sum()))
    assert np.corrcoef(raw, scaled)[0, 1] == pytest.approx(1.0, abs=1e-12)
    # One district's total is no calibration target for the whole city's rasters.
    jiangan = census2020.lookup("江岸区")
    with pytest.raises(DataError, match="raster"):
        census2020.calibrate(raw, float(jiangan.older_60 or 0), max_factor=3.0)


# --- census_county in runs of the demo county ---------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo-census") / "demo"
    result = CliRunner().invoke(main, ["-q", "demo-data", "--out", str(out), "--size", "small"])
    assert result.exit_code == 0, result.output
    return out


def _run(tmp_path: Path, demo: Path, population: dict[str, object]) -> tuple[int, str, dict]:
    raw = yaml.safe_load((ROOT / "scenarios" / "demo.yaml").read_text(encoding="utf-8"))
    tmp_path.mkdir(parents=True, exist_ok=True)
    raw["name"] = "census-county"
    raw["area"]["boundary"]["path"] = str(demo / "admin.gpkg")
    raw["data"] = {"network": {"path": str(demo / "roads.osm")}, "population": population}
    raw.pop("siting", None)
    raw.pop("plan", None)
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["-q", "run", str(path), "--out", str(out)])
    summary = (
        json.loads((out / "summary.json").read_text(encoding="utf-8"))
        if (out / "summary.json").exists()
        else {}
    )
    return result.exit_code, result.output, summary


def test_a_raster_alone_takes_the_county_census_share(demo: Path, tmp_path: Path) -> None:
    code, output, summary = _run(
        tmp_path, demo, {"raster": str(demo / "population.tif"), "census_county": "贵溪市"}
    )
    assert code == 0, output
    guixi = census2020.lookup("360681")
    share = (guixi.older_60 or 0) / guixi.residents
    report = summary["inputs"]["census"]
    assert report["source"] == "census_county" and report["county"]["code"] == "360681"
    assert report["share"] == pytest.approx(share, abs=1e-6)
    residents = summary["inputs"]["raster"]["total_in_area"]
    assert summary["village_circle"]["older"] == pytest.approx(residents * share, rel=1e-5)


def test_age_band_rasters_are_calibrated_to_the_county_census(demo: Path, tmp_path: Path) -> None:
    """Two age-band rasters made from the demo grid (30 % and 20 % of residents); calibrated to a
    real county whose 60+ is 1.4x their total, the run's older total is the census figure."""
    with rasterio.open(demo / "population.tif") as src:
        profile, values = src.profile, src.read(1)
    bands = []
    for name, part in (("older_a.tif", 0.3), ("older_b.tif", 0.2)):
        with rasterio.open(tmp_path / name, "w", **profile) as dst:
            dst.write(np.where(values == src.nodata, values, values * part), 1)
        bands.append(str(tmp_path / name))
    code, output, plain = _run(tmp_path / "plain", demo, {"older_rasters": bands})
    assert code == 0, output
    raster_older = plain["village_circle"]["older"]
    county = min(
        (r for r in census2020.table() if r.older_60 and not r.code.endswith("00")),
        key=lambda r: abs((r.older_60 or 0) - 1.4 * raster_older),
    )
    code, output, summary = _run(
        tmp_path, demo, {"older_rasters": bands, "census_county": county.code}
    )
    assert code == 0, output
    assert summary["village_circle"]["older"] == pytest.approx(county.older_60, rel=1e-6)
    report = summary["inputs"]["census"]
    assert report["factor"] == pytest.approx(county.older_60 / raster_older, rel=1e-4)
    # The same places are covered: the share is unchanged by one factor.
    assert summary["village_circle"]["share"] == pytest.approx(
        plain["village_circle"]["share"], abs=1e-9
    )
    # A county 10x off is refused, naming the rasters and the tolerance key.
    big = min(
        (r for r in census2020.table() if r.older_60),
        key=lambda r: abs((r.older_60 or 0) - 10 * raster_older),
    )
    code, output, _ = _run(
        tmp_path / "big", demo, {"older_rasters": bands, "census_county": big.code}
    )
    assert code == 2
    assert "older_a.tif" in output and "census_tolerance" in output


def test_an_unquoted_code_in_the_scenario_is_the_code() -> None:
    from carecircle.scenario import PopulationSource

    src = PopulationSource.model_validate({"raster": __file__, "census_county": 360681})
    assert src.census_county == "360681"
