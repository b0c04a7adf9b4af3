"""The plan checker on hand-made plans for the tiny county (tiny_county.py), in every input format.

The violations plan below breaks known rules, one object each; every format must find exactly
those failures (severity ``required``), with the rule's citation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import tiny_county
import yaml
from click.testing import CliRunner

from carecircle.cli import main
from carecircle.errors import InputFileNotFound, ScenarioError
from carecircle.pipeline import RunResult, run_scenario
from carecircle.planning import landuse, policy
from carecircle.review import STRUCTURAL_RULES, PlanCheck, review_plan, rule_of
from carecircle.scenario import Scenario, load_scenario
from carecircle.sources.plan import DEFAULT_PLAN, read_plan

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
VILLAGE = "村级居家养老服务照料中心"

TARGETS = {
    "circle-15min": None,
    "village-center-coverage": None,
    "town-center-coverage": None,
    "village-center-150": None,
    "town-complex-3000": None,
    "nursing-share-55": None,
    "residential-2permille": None,
    "community-800": None,
    "land-m2-per-bed": None,
}

# id, name, type, beds, nursing beds, floor m², land m², land-use code, ownership, x (m)
Facility = tuple[str, str, str, float, float, float, float | None, str, str, float]
VIOLATING_FACILITIES: list[Facility] = [
    ("PF1", "乙村照料中心", VILLAGE, 0, 0, 120, None, "0704", "公办", 2400),  # under 150 m²
    (
        "PF2",
        "西镇综合型养老服务中心",
        "镇街级综合型养老服务中心",
        0,
        0,
        2500,
        None,
        "0702",
        "公办",
        5600,
    ),  # under 3000 m²
    (
        "PF3",
        "西镇护理院",
        "养老院",
        200,
        60,
        8000,
        3000,
        "0807",
        "民办",
        5200,
    ),  # 15 m² of land a bed
    ("PF4", "丙村旱地照料中心", VILLAGE, 0, 0, 200, None, "0103", "公办", 4400),  # on 旱地
    ("PF5", "县外照料中心", VILLAGE, 0, 0, 200, None, "0704", "公办", 8300),  # 300 m outside
]
# id, name, gross floor m², households, care space m², level, x (m)
Project = tuple[str, str, float, float, float, str, float]
VIOLATING_PROJECTS: list[Project] = [
    ("PP1", "东城花园", 200_000, 600, 350, "", 500),  # 2‰ needs 400
    ("PP2", "西城公寓", 50_000, 1500, 400, "", 1500),  # 30 m² per 100 households needs 450
    ("PP3", "新城社区", 300_000, 2000, 700, "社区级", 2500),  # community-level needs 800
    ("PP4", "南苑小区", 100_000, 800, 400, "", 3500),  # compliant
    ("PP5", "北苑小区", 40_000, 200, 250, "", 4500),  # a site needs 300
]
EXPECTED_FAILURES = {
    ("site-in-county", "site-location", "PF5"),
    ("land-use-compatible", "land-use", "PF4"),
    ("village-center-150", "centre-small", "PF1"),
    ("town-complex-3000", "comprehensive-centre", "PF2"),
    ("land-m2-per-bed", "land-per-bed", "PF3"),
    ("residential-2permille", "project-permille", "PP1"),
    ("residential-2permille", "project-per-households", "PP2"),
    ("residential-2permille", "project-min-site", "PP5"),
    ("community-800", "community-space", "PP3"),
    # 200 beds with 60 nursing: (68 + 60) / (180 + 200) = 33.7 % after the plan.
    ("nursing-share-55", "nursing-share", "county"),
    # PF1 brings 乙村 into the circle, and PF2, a township centre 650 m from 丁村's residents,
    # brings 丁村 (township centres count for the circle); 戊村 stays outside: the circle fails.
    ("circle-15min", "circle-share", "county"),
    ("circle-15min", "village-not-covered", "339099102202"),
}
# The compliant plan's township centre stands where it brings nobody new into the circle (more
# than 15 minutes' walk from 丁村's and 戊村's residents): a plan that moves the circle answers
# for the gaps of it that remain.
COMPLIANT_FACILITIES: list[Facility] = [
    ("PF3", "西镇护理院", "养老院", 200, 150, 8000, 9000, "080701", "民办", 5200),
    (
        "PF2",
        "西镇综合型养老服务中心",
        "镇街级综合型养老服务中心",
        0,
        0,
        3200,
        None,
        "0702",
        "公办",
        5000,
    ),
]
COMPLIANT_PROJECTS: list[Project] = [VIOLATING_PROJECTS[3]]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Scenario, RunResult]:
    path = tiny_county.build(tmp_path_factory.mktemp("tiny-plan"), targets=dict(TARGETS))
    scenario = load_scenario(path)
    return path, scenario, run_scenario(scenario)


# --- writing plans in each format -----------------------------------------------------------------

DEFAULT = {
    "id": "编号",
    "name": "名称",
    "type": "类型",
    "beds": "床位数",
    "nursing_beds": "护理床位",
    "floor_m2": "建筑面积",
    "land_m2": "用地面积",
    "land_use": "用地代码",
    "ownership": "性质",
    "gross_floor_m2": "总建筑面积",
    "households": "户数",
    "elderly_floor_m2": "养老用房",
    "level": "级别",
    "record": "记录类型",
}


def facility_rows(rows: list[Facility]) -> list[dict[str, Any]]:
    keys = (
        "id",
        "name",
        "type",
        "beds",
        "nursing_beds",
        "floor_m2",
        "land_m2",
        "land_use",
        "ownership",
        "x",
    )
    return [dict(zip(keys, r, strict=True)) | {"y": 0.0} for r in rows]


def project_rows(rows: list[Project]) -> list[dict[str, Any]]:
    keys = ("id", "name", "gross_floor_m2", "households", "elderly_floor_m2", "level", "x")
    return [dict(zip(keys, r, strict=True)) | {"y": 100.0} for r in rows]


def frame(rows: list[dict[str, Any]], names: dict[str, str], crs: str) -> gpd.GeoDataFrame:
    """Rows at tiny-county metres as a GeoDataFrame in ``crs`` with the file's column names."""
    table = pd.DataFrame(rows)
    points = [
        shapely.Point(tiny_county.lonlat(x, y)) for x, y in zip(table.x, table.y, strict=True)
    ]
    table = table.drop(columns=["x", "y"]).rename(columns=names)
    return gpd.GeoDataFrame(table, geometry=points, crs="EPSG:4326").to_crs(crs)


def with_lonlat(gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    wgs = gdf.to_crs("EPSG:4326")
    out = pd.DataFrame(gdf.drop(columns="geometry"))
    out["经度"], out["纬度"] = wgs.geometry.x.round(7), wgs.geometry.y.round(7)
    return out


def write_gpkg(folder: Path, fac: list[Facility], pro: list[Project]) -> Path:
    path = folder / "plan.gpkg"
    frame(facility_rows(fac), DEFAULT, "EPSG:4490").to_file(path, layer="养老设施")
    if pro:
        frame(project_rows(pro), DEFAULT, "EPSG:4490").to_file(path, layer="住宅项目")
    return path


SHAPEFILE_COLUMNS = {
    "编号": "id",
    "名称": "name",
    "类别": "record",
    "设施类型": "type",
    "床位": "beds",
    "护理床位": "nursing_beds",
    "建面": "floor_m2",
    "用地亩": "land_mu",
    "地类": "land_use",
    "总建面": "gross_floor_m2",
    "户数": "households",
    "养老用房": "elderly_floor_m2",
    "级别": "level",
}


def one_table(
    fac: list[Facility], pro: list[Project], kinds: tuple[str, str]
) -> list[dict[str, Any]]:
    return [r | {"record": kinds[0]} for r in facility_rows(fac)] + [
        r | {"record": kinds[1]} for r in project_rows(pro)
    ]


def write_shapefile(folder: Path, fac: list[Facility], pro: list[Project]) -> Path:
    """One GBK layer in a Gauss-Krüger CRS, land in 亩, no .cpg: the encoding must be detected."""
    rows = one_table(fac, pro, ("设施", "项目"))
    for r in rows:
        land = r.pop("land_m2", None)
        r["land_mu"] = round(land / policy.MU_M2, 4) if land else None
    names = {v: k for k, v in SHAPEFILE_COLUMNS.items()}
    path = folder / "plan.shp"
    frame(rows, names, "EPSG:4549").to_file(path, encoding="gbk", engine="pyogrio")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    return path


def write_geojson(folder: Path, fac: list[Facility], pro: list[Project]) -> Path:
    """Canonical column names; land-use codes as numbers that lost their leading zero."""
    rows = one_table(fac, pro, ("facility", "project"))
    for r in rows:
        if "land_use" in r:
            r["land_use"] = int(r["land_use"])
    path = folder / "plan.geojson"
    frame(rows, {}, "EPSG:4326").to_file(path, driver="GeoJSON")
    return path


def write_csv(folder: Path, fac: list[Facility], pro: list[Project]) -> Path:
    """One table with Chinese headers and 经度/纬度, UTF-8 with BOM as Excel saves it."""
    rows = one_table(fac, pro, ("养老设施", "住宅项目"))
    path = folder / "plan.csv"
    with_lonlat(frame(rows, DEFAULT, "EPSG:4326")).to_csv(path, index=False, encoding="utf-8-sig")
    return path


def write_xlsx(folder: Path, fac: list[Facility], pro: list[Project]) -> Path:
    """Two sheets; land in 亩."""
    facilities = facility_rows(fac)
    for r in facilities:
        land = r.pop("land_m2")
        r["land_mu"] = round(land / policy.MU_M2, 4) if land else None
    path = folder / "plan.xlsx"
    with pd.ExcelWriter(path) as book:
        names = DEFAULT | {"land_mu": "用地亩数"}
        with_lonlat(frame(facilities, names, "EPSG:4326")).to_excel(
            book, sheet_name="养老设施", index=False
        )
        with_lonlat(frame(project_rows(pro), names, "EPSG:4326")).to_excel(
            book, sheet_name="住宅项目", index=False
        )
    return path


def scenario_with_plan(base: Path, name: str, plan: dict[str, Any]) -> Path:
    raw = yaml.safe_load(base.read_text(encoding="utf-8"))
    raw["plan"] = plan
    raw["name"] = name
    path = base.with_name(f"{name}.yaml")
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


FORMATS: dict[
    str, tuple[Callable[[Path, list[Facility], list[Project]], Path], dict[str, Any] | None]
] = {
    "gpkg": (write_gpkg, None),
    "shapefile": (write_shapefile, {"facilities": {"columns": SHAPEFILE_COLUMNS}}),
    "geojson": (write_geojson, {}),
    "csv": (write_csv, None),
    "xlsx": (write_xlsx, None),
}


def scenario_for(fmt: str, base: Path) -> Path:
    spec = FORMATS[fmt][1]
    return base if spec is None else scenario_with_plan(base, f"tiny-{fmt}", spec)


def required_failures(check: PlanCheck) -> set[tuple[str, str, str]]:
    return {(v.rule_id, v.kind, v.object_id) for v in check.failed}


# --- formats -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_each_format_finds_exactly_the_planted_violations(
    fmt: str, tiny: tuple[Path, Scenario, RunResult], tmp_path: Path
) -> None:
    base, _, before = tiny
    scenario = load_scenario(scenario_for(fmt, base))
    path = FORMATS[fmt][0](tmp_path, VIOLATING_FACILITIES, VIOLATING_PROJECTS)
    plan = read_plan(path, scenario)
    assert len(plan.facilities) == 5 and len(plan.projects) == 5
    assert plan.facilities.set_index("id").at["PF3", "land_m2"] == pytest.approx(3000, abs=0.1)
    check = review_plan(plan, scenario, before=before)
    assert required_failures(check) == EXPECTED_FAILURES
    for v in check.verdicts:
        assert v.citation == rule_of(v.rule_id).cite() and v.citation
    assert check.exit_code == 1


def test_verdicts_carry_measures_and_clauses(
    tiny: tuple[Path, Scenario, RunResult], tmp_path: Path
) -> None:
    _, scenario, before = tiny
    check = review_plan(
        read_plan(write_csv(tmp_path, VIOLATING_FACILITIES, VIOLATING_PROJECTS), scenario),
        scenario,
        before=before,
    )
    by = {(v.rule_id, v.kind, v.object_id): v for v in check.verdicts}
    land = by[("land-m2-per-bed", "land-per-bed", "PF3")]
    assert (land.measured, land.required, land.shortfall) == (3000.0, 8000.0, 5000.0)
    assert by[("site-in-county", "site-location", "PF5")].measured == pytest.approx(300, abs=1)
    assert by[("land-use-compatible", "land-use", "PF4")].detail["land_use"] == "0103"
    assert "0704" in by[("land-use-compatible", "land-use", "PF1")].reason_zh
    permille = by[("residential-2permille", "project-permille", "PP1")]
    assert (permille.measured, permille.required) == (350.0, 400.0)
    assert "乐政办函〔2020〕24号 二(二)5" in permille.citation
    nursing = by[("nursing-share-55", "nursing-share", "county")]
    assert nursing.measured == pytest.approx(128 / 380) and nursing.detail[
        "before"
    ] == pytest.approx(68 / 180)
    assert "第6项" in by[("site-in-county", "site-location", "PF5")].citation
    assert "国土空间调查、规划、用途管制用地用海分类指南" in LAND_USE_CITE
    # The register's own small centre is a gap the plan leaves as it was: listed, not judged.
    register = by[("village-center-150", "centre-small", "F2")]
    assert register.status == "fail" and register.severity == "advisory"
    assert (
        by[("residential-2permille", "project-permille", "PP1")]
        .detail["plan_row"]
        .startswith("第 7 行")
    )


LAND_USE_CITE = STRUCTURAL_RULES["land-use-compatible"].cite()


def test_coverage_after_the_plan_closes_and_keeps_gaps(
    tiny: tuple[Path, Scenario, RunResult], tmp_path: Path
) -> None:
    _, scenario, before = tiny
    centre: Facility = ("PV1", "乙村新建照料中心", VILLAGE, 0, 0, 200, 300, "0704", "公办", 2400)
    check = review_plan(
        read_plan(write_csv(tmp_path, [centre], []), scenario), scenario, before=before
    )
    by = {(v.rule_id, v.kind, v.object_name): v for v in check.verdicts}
    closed = by[("village-center-coverage", "village-no-centre", "乙村")]
    assert closed.status == "pass" and closed.detail["gap"] == "closed"
    remaining = by[("circle-15min", "village-not-covered", "丁村")]
    assert remaining.status == "fail" and remaining.detail["gap"] == "remains"
    assert by[("circle-15min", "village-not-covered", "乙村")].status == "pass"
    circle = check.summary["village_circle"]
    assert circle["before"]["share"] == pytest.approx(0.5)
    assert circle["after"]["share"] == pytest.approx(4 / 6)
    assert (
        circle["before"]["villages_without_centre"],
        circle["after"]["villages_without_centre"],
    ) == (1, 0)


def test_compliant_plan_exits_0_and_writes_the_three_files(
    tiny: tuple[Path, Scenario, RunResult], tmp_path: Path
) -> None:
    base, _, _ = tiny
    plan = write_xlsx(tmp_path, COMPLIANT_FACILITIES, COMPLIANT_PROJECTS)
    out = tmp_path / "verdicts"
    result = CliRunner().invoke(
        main, ["-q", "check-plan", str(plan), "--scenario", str(base), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    document = json.loads((out / "verdicts.json").read_text(encoding="utf-8"))
    assert document["result"] == "pass" and document["counts"]["fail_required"] == 0
    # The county's own shortfalls the plan does not touch stay on the list, as advisory.
    advisory = {v["rule_id"] for v in document["verdicts"] if v["status"] == "fail"}
    assert {"circle-15min", "village-center-coverage"} <= advisory
    assert all(v["severity"] == "advisory" for v in document["verdicts"] if v["status"] == "fail")
    assert (out / "verdicts.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    page = (out / "verdicts.html").read_text(encoding="utf-8")
    assert "通过 / PASS" in page and "乐政办函〔2020〕24号 二(二)5" in page


def test_failing_plan_exits_1_and_highlights_failures(
    tiny: tuple[Path, Scenario, RunResult], tmp_path: Path
) -> None:
    base, _, _ = tiny
    plan = write_gpkg(tmp_path, VIOLATING_FACILITIES, VIOLATING_PROJECTS)
    out = tmp_path / "verdicts"
    result = CliRunner().invoke(
        main, ["-q", "check-plan", str(plan), "--scenario", str(base), "--out", str(out)]
    )
    assert result.exit_code == 1, result.output
    assert "✗ land-use-compatible 丙村旱地照料中心" in result.output
    page = (out / "verdicts.html").read_text(encoding="utf-8")
    assert page.count('class="fail-required"') == len(EXPECTED_FAILURES)
    rows = pd.read_csv(out / "verdicts.csv", encoding="utf-8-sig", dtype=str)
    assert list(rows.columns[:4]) == ["rule_id", "scope", "object_id", "object_name"]
    failing = rows[(rows["status"] == "fail") & (rows["severity"] == "required")]
    assert set(zip(failing["rule_id"], failing["object_id"], strict=True)) == {
        (r, o) for r, _, o in EXPECTED_FAILURES
    }


def test_default_out_dir_is_under_maps(
    tiny: tuple[Path, Scenario, RunResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, _, _ = tiny
    plan = write_csv(tmp_path, COMPLIANT_FACILITIES, [])
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["-q", "check-plan", str(plan), "--scenario", str(base)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "maps" / "tiny" / "plan-check" / "verdicts.json").is_file()


# --- malformed plans -----------------------------------------------------------------------------


def _csv(rows: list[dict[str, Any]]) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / "bad.csv"
        pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8-sig")
        return path

    return write


def _good(**change: Any) -> dict[str, Any]:
    lon, lat = tiny_county.lonlat(2400, 0)
    row = {
        "记录类型": "设施",
        "编号": "PV1",
        "名称": "乙村照料中心",
        "类型": VILLAGE,
        "床位数": 0,
        "护理床位": 0,
        "建筑面积": 200,
        "用地代码": "0704",
        "经度": lon,
        "纬度": lat,
    }
    return row | change


def _project(**change: Any) -> dict[str, Any]:
    lon, lat = tiny_county.lonlat(500, 100)
    row = {
        "记录类型": "项目",
        "编号": "PP1",
        "名称": "东城花园",
        "总建筑面积": 100000,
        "户数": 800,
        "养老用房": 400,
        "经度": lon,
        "纬度": lat,
    }
    return row | change


def _no_households(folder: Path) -> Path:
    path = folder / "bad.csv"
    pd.DataFrame([_good(), _project()]).drop(columns=["户数"]).to_csv(
        path, index=False, encoding="utf-8-sig"
    )
    return path


def _swapped(folder: Path) -> Path:
    path = folder / "bad.csv"
    row = _good()
    row["经度"], row["纬度"] = row["纬度"], row["经度"]
    pd.DataFrame([row]).to_csv(path, index=False, encoding="utf-8-sig")
    return path


def _no_prj(folder: Path) -> Path:
    """A Shapefile in the default plan's column names (each fits 10 GBK bytes), without .prj."""
    path = folder / "plan.shp"
    rows = [r | {"record": "设施"} for r in facility_rows(VIOLATING_FACILITIES[:1])]
    frame(rows, DEFAULT, "EPSG:4549").to_file(path, encoding="gbk", engine="pyogrio")
    path.with_suffix(".prj").unlink()
    return path


def _empty(folder: Path) -> Path:
    path = folder / "bad.csv"
    pd.DataFrame(columns=list(_good())).to_csv(path, index=False, encoding="utf-8-sig")
    return path


MALFORMED: dict[str, tuple[Callable[[Path], Path], tuple[str, ...]]] = {
    "missing-column": (
        _no_households,
        ("households ('户数')", "columns found: 记录类型, 编号", "plan.projects.columns"),
    ),
    "not-a-number": (
        _csv([_good(床位数="二百")]),
        ("feature 1", "beds", "'二百'", "plain numbers"),
    ),
    "negative": (
        _csv([_good(), _good(编号="PV2", 建筑面积=-120)]),
        ("feature 2", "floor_m2", "negative"),
    ),
    "absurd-beds": (
        _csv([_good(类型="养老院", 床位数=90000)]),
        ("row 2 (id PV1)", "beds = 90,000", "beyond 3,000", "check the figure"),
    ),
    "unknown-land-use": (
        _csv([_good(用地代码="0899")]),
        ("row 2 (id PV1)", "'0899'", "0807, 080701"),
    ),
    "far-outside": (
        _csv([_good(经度=116.40, 纬度=39.90)]),
        ("row 2 (id PV1)", "outside the county", "check the coordinates"),
    ),
    "swapped-lon-lat": (_swapped, ("row 2", "swapped", "x:")),
    "duplicate-ids": (
        _csv([_good(), _good(名称="又一个")]),
        ("duplicate ids", "'编号'", "PV1", "own id"),
    ),
    "unknown-record": (
        _csv([_good(记录类型="仓库")]),
        ("row 2 (id PV1)", "'仓库'", "use one of 设施"),
    ),
    "no-crs": (_no_prj, ("no CRS", "crs: EPSG:45")),
    "empty": (_empty, ("no features", "check the file")),
    "nursing-over-beds": (
        _csv([_good(类型="养老院", 床位数=50, 护理床位=80)]),
        ("row 2 (id PV1)", "nursing_beds 80 exceeds beds 50", "correct one"),
    ),
    "register-id": (
        _csv([_good(编号="F1")]),
        ("row 2 (id F1)", "already a facility of the register", "ids of their own"),
    ),
    "unknown-type": (_csv([_good(类型="养鸡场")]), ("row 2 (id PV1)", "'养鸡场'", "plan.types")),
    "unknown-level": (_csv([_project(级别="大型")]), ("row 2 (id PP1)", "'大型'", "社区级")),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_plans_exit_2_naming_file_row_and_fix(
    case: str, tiny: tuple[Path, Scenario, RunResult], tmp_path: Path
) -> None:
    base, _, _ = tiny
    write, expected = MALFORMED[case]
    plan = write(tmp_path)
    out = tmp_path / "verdicts"
    result = CliRunner().invoke(
        main, ["-q", "check-plan", str(plan), "--scenario", str(base), "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith("错误 / error: ") and plan.name in message
    for part in expected:
        assert part in message, (part, message)
    assert not out.exists()


def test_a_missing_plan_file_is_bad_input(
    tiny: tuple[Path, Scenario, RunResult], tmp_path: Path
) -> None:
    base, _, _ = tiny
    result = CliRunner().invoke(
        main, ["-q", "check-plan", str(tmp_path / "none.gpkg"), "--scenario", str(base)]
    )
    assert result.exit_code == 2 and "plan file not found" in result.output


# --- scenario, land use, rules --------------------------------------------------------------------


def test_demo_scenario_spells_out_the_default_plan_section() -> None:
    # demo.yaml documents the plan layout every seed scenario uses by default (plan: absent).
    scenarios = Path(__file__).parents[1] / "scenarios"
    assert load_scenario(scenarios / "demo.yaml", check_files=False).plan == DEFAULT_PLAN
    for path in sorted(scenarios.glob("*-20*.yaml")):
        assert load_scenario(path, check_files=False).plan is None, path.name


def test_plan_section_is_validated_like_the_rest(tiny: tuple[Path, Scenario, RunResult]) -> None:
    base, _, _ = tiny
    path = scenario_with_plan(
        base, "tiny-typo", {"facilities": {"colums": {}}, "projects": {"x": "经度"}}
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    text = str(info.value)
    assert "plan.facilities.colums: 未知的键 / unknown key (did you mean 'columns'?)" in text
    assert "plan.projects" in text and "give both x and y" in text


def test_land_use_table() -> None:
    assert landuse.land_use("080701").host == "welfare"  # type: ignore[union-attr]
    assert landuse.land_use(807).code == "0807"  # type: ignore[union-attr]
    assert not landuse.land_use("0103").allowed  # type: ignore[union-attr]
    assert landuse.land_use("2301").host == "conversion"  # type: ignore[union-attr]
    assert landuse.land_use("16").host == "no"  # type: ignore[union-attr]
    assert landuse.land_use("0899") is None and landuse.land_use("abc") is None
    assert all(re.fullmatch(r"\d{2}(\d{2}){0,2}", code) for code in landuse.LAND_USES)
    # Every second- and third-level code sits under a first-level one.
    assert all(code[:2] in landuse.LAND_USES for code in landuse.LAND_USES)


@pytest.mark.parametrize("rule_id", list(STRUCTURAL_RULES))
def test_structural_rules_quote_the_seed_documents(rule_id: str) -> None:
    rule = STRUCTURAL_RULES[rule_id]
    for citation in rule.citations:
        doc = citation.document()
        if doc.file is None:
            assert doc.key == "land-use-guide" and citation.clause == "—"
            continue
        text = " ".join((SEEDS / doc.file).read_text(encoding="utf-8").split())
        assert " ".join(citation.quote.split()) in text, citation
    assert rule_id not in policy.CATALOGUE


def test_read_plan_reports_mapped_columns_the_file_lacks(
    tiny: tuple[Path, Scenario, RunResult], tmp_path: Path
) -> None:
    _, scenario, _ = tiny
    plan = read_plan(write_csv(tmp_path, COMPLIANT_FACILITIES, []), scenario)
    assert "用地亩数" in plan.absent_columns and "床位数" not in plan.absent_columns
    with pytest.raises(InputFileNotFound, match="plan file not found"):
        read_plan(tmp_path / "missing.csv", scenario)
