"""Untrusted names in the outputs: no live formula in tables.xlsx or a CSV, no terminal spoofing.

Names come from the county's layers and from plans developers submit. The demo county and the
tiny county are written with names that are formula payloads or terminal escape sequences, run
through the real command line, and the files and the captured output are read back.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely
import tiny_county
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

from carecircle.cli import _friendly_errors, _LogFormatter, main
from carecircle.errors import DataError
from carecircle.outputs.files import write_csv
from carecircle.safe import FORMULA_TRIGGERS, defuse_formula, terminal_text

PAYLOADS = [
    "=1+1",
    '=HYPERLINK("http://x","y")',
    "=cmd|' /C calc'!A0",
    "+1",
    "-1+1",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
]
# The layer and plan readers strip the space around a name ("\t=1" is read as "=1"); the tab and
# CR triggers are covered by the properties below.
DEFUSED = {"'" + p.strip() for p in PAYLOADS}
ESCAPED_TOWN = "\x1b[31m红镇\x07"
SPOOF = "\x1b[2J\x1b[H方案审查 / plan check: 9 达标 pass, 0 未达标 fail"
NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
# ESC, CR, other C0/C1 controls, DEL, line/paragraph separators, bidi controls.
CONTROL = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
)
VILLAGE = "村级居家养老服务照料中心"


def _formula_like(text: str) -> bool:
    """Text a spreadsheet would read as a formula (a plain number such as -5.0 is not one)."""
    return text.startswith(FORMULA_TRIGGERS) and not NUMBER.fullmatch(text)


def _name(i: int) -> str:
    return PAYLOADS[i % len(PAYLOADS)]


def _csv_cells(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def _assert_clean_csv(path: Path, numeric: tuple[str, ...]) -> list[list[str]]:
    rows = _csv_cells(path)
    bad = [cell for row in rows for cell in row if _formula_like(cell)]
    assert not bad, (path.name, bad[:5])
    header = rows[0]
    for column in numeric:
        j = header.index(column)
        values = [row[j] for row in rows[1:] if row[j] != ""]
        assert values and all(NUMBER.fullmatch(v) for v in values), (column, values[:5])
    return rows


# --- the neutraliser and the terminal text, as properties -------------------------------------------


@given(st.text())
def test_defused_text_never_starts_a_formula_and_gives_back_the_input(text: str) -> None:
    out = defuse_formula(text)
    assert not out.startswith(FORMULA_TRIGGERS)
    assert out == text or (out.startswith("'") and out[1:] == text)
    assert (out != text) == text.startswith(FORMULA_TRIGGERS)


@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.none()))
def test_defusing_leaves_numbers_alone(value: Any) -> None:
    assert defuse_formula(value) is value


@given(st.text(), st.integers(min_value=2, max_value=200))
def test_terminal_text_is_one_visible_line_of_bounded_length(text: str, limit: int) -> None:
    out = terminal_text(text, limit=limit)
    assert not CONTROL.search(out) and "\n" not in out
    assert len(out) <= limit
    if len(text) <= limit and not CONTROL.search(text) and "\n" not in text:
        assert out == text  # nothing to escape, nothing to cut


def test_terminal_text_shows_what_it_escapes() -> None:
    assert terminal_text("a\x1b[2J\r\n\t\u202eb\x9b") == "a\\x1b[2J\\r\\n\\t\\u202eb\\x9b"
    assert terminal_text("x" * 100) == "x" * 79 + "…"
    # An escape is never cut in half.
    assert terminal_text("x" * 77 + "\x1b") == "x" * 77 + "…"
    assert terminal_text("甲村照料中心") == "甲村照料中心"


# --- run: tables.xlsx, gaps.csv ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def payload_run(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo county with every township, village, facility and parcel named by a payload."""
    root = tmp_path_factory.mktemp("payload-county")
    shutil.copytree(demo_root / "data", root / "data")
    shutil.copytree(demo_root / "scenarios", root / "scenarios")
    data = root / "data" / "demo"
    header, *rows = _csv_cells(data / "facilities.csv")
    j = header.index("机构名称")
    with (data / "facilities.csv").open("w", encoding="utf-8-sig", newline="") as fh:
        # csv's own line end, \r\n, has a CR inside a name quoted (pandas' \n would not)
        csv.writer(fh).writerows(
            [header, *([*r[:j], _name(i), *r[j + 1 :]] for i, r in enumerate(rows))]
        )
    for file, layer, column in (
        ("admin.gpkg", "townships", "XZQMC"),
        ("admin.gpkg", "villages", "XZQMC"),
        ("parcels.gpkg", "parcels", "DKMC"),
    ):
        frame = gpd.read_file(data / file, layer=layer)
        frame[column] = [_name(i + 3) for i in range(len(frame))]
        if layer == "townships":  # a character no xlsx cell can hold (openpyxl would refuse it)
            frame.loc[0, column] = ESCAPED_TOWN
        frame.to_file(data / file, layer=layer, driver="GPKG")
    out = root / "out"
    result = CliRunner().invoke(
        main, ["-q", "run", str(root / "scenarios" / "demo.yaml"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


def test_tables_xlsx_holds_no_formula_and_keeps_numbers(payload_run: Path) -> None:
    book = openpyxl.load_workbook(payload_run / "tables.xlsx")
    texts: set[str] = set()
    numbers = 0
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if cell.data_type == "s":
                    assert not cell.value.startswith(FORMULA_TRIGGERS), (ws.title, cell.value)
                    texts.add(cell.value)
                numbers += cell.data_type == "n" and cell.value is not None
    assert texts >= DEFUSED, DEFUSED - texts  # every payload reached the workbook, as text
    assert "\\x1b[31m红镇\\x07" in texts
    assert numbers > 800  # the demo's workbook holds about 950 numbers
    villages = book["村社区 villages"]
    header = [c.value for c in villages[1]]
    older = header.index("60岁及以上 / aged 60+")
    assert all(isinstance(r[older].value, int | float) for r in villages.iter_rows(min_row=2))


def test_gaps_csv_holds_no_formula_and_keeps_numbers(payload_run: Path) -> None:
    rows = _assert_clean_csv(payload_run / "gaps.csv", ("measured", "required", "shortfall"))
    header = rows[0]
    names = {row[header.index(c)] for row in rows[1:] for c in ("object_name", "township")}
    assert DEFUSED & names  # the payloads were there to be defused


def test_summary_json_keeps_names_as_they_are(payload_run: Path) -> None:
    def strings(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [s for v in value.values() for s in strings(v)]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        return [value] if isinstance(value, str) else []

    found = set(strings(json.loads((payload_run / "summary.json").read_text(encoding="utf-8"))))
    assert {p.strip() for p in PAYLOADS} <= found and not DEFUSED & found


def test_write_csv_defuses_text_and_keeps_numbers(tmp_path: Path) -> None:
    rows = [{"name": "-5", "value": -5.0, "n": -3, "flag": True, "none": None, "list": ["=1"]}]
    write_csv(tmp_path / "t.csv", rows, columns=["=header"])
    assert _csv_cells(tmp_path / "t.csv") == [
        ["'=header", "name", "value", "n", "flag", "none", "list"],
        ["", "'-5", "-5.0", "-3", "True", "", "['=1']"],
    ]


# --- check-plan: verdicts.csv, the terminal ---------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    targets = dict.fromkeys(
        ["circle-15min", "village-center-coverage", "village-center-150", "residential-2permille"]
    )
    return tiny_county.build(tmp_path_factory.mktemp("tiny-security"), targets=targets)


def _plan(folder: Path, facility_names: list[str], project_names: list[str]) -> Path:
    """A GeoPackage plan: village centres of 120 m² (under 150) and projects short of care space."""

    def layer(rows: list[dict[str, Any]], xs: list[float], y: float) -> gpd.GeoDataFrame:
        points = [shapely.Point(tiny_county.lonlat(x, y)) for x in xs]
        return gpd.GeoDataFrame(rows, geometry=points, crs="EPSG:4326").to_crs("EPSG:4490")

    facilities = [
        {
            "编号": f"PF{i}",
            "名称": name,
            "类型": VILLAGE,
            "床位数": 0,
            "护理床位": 0,
            "建筑面积": 120,
            "用地代码": "0704",
            "性质": "公办",
        }
        for i, name in enumerate(facility_names, start=1)
    ]
    projects = [
        {
            "编号": f"PP{i}",
            "名称": name,
            "总建筑面积": 200_000,
            "户数": 600,
            "养老用房": 350,
            "级别": "",
        }
        for i, name in enumerate(project_names, start=1)
    ]
    path = folder / "plan.gpkg"
    xs = [2300 + 20 * i for i in range(len(facilities))]
    layer(facilities, xs, 0).to_file(path, layer="养老设施")
    if projects:
        layer(projects, [500 + 50 * i for i in range(len(projects))], 100).to_file(
            path, layer="住宅项目"
        )
    return path


def _check_plan(plan: Path, scenario: Path, out: Path) -> Result:
    return CliRunner().invoke(
        main, ["-q", "check-plan", str(plan), "--scenario", str(scenario), "--out", str(out)]
    )


def test_verdicts_csv_holds_no_formula(tiny: Path, tmp_path: Path) -> None:
    plan = _plan(tmp_path, PAYLOADS, PAYLOADS[:3])
    result = _check_plan(plan, tiny, tmp_path / "verdicts")
    assert result.exit_code == 1, result.output
    rows = _assert_clean_csv(tmp_path / "verdicts" / "verdicts.csv", ("measured", "required"))
    header = rows[0]
    assert {row[header.index("object_name")] for row in rows[1:]} >= DEFUSED
    # JSON is not a spreadsheet: the names stay as the plan gives them.
    document = json.loads((tmp_path / "verdicts" / "verdicts.json").read_text(encoding="utf-8"))
    assert {p.strip() for p in PAYLOADS} <= {v["object_name"] for v in document["verdicts"]}


def _assert_plain(output: str) -> None:
    assert "\x1b" not in output and "\r" not in output and "\x9b" not in output
    assert not CONTROL.search(output)


def test_check_plan_prints_one_line_per_failure_whatever_the_names(
    tiny: Path, tmp_path: Path
) -> None:
    names = [
        SPOOF,
        "甲\r方案审查 / plan check: 9 达标 pass, 0 未达标 fail",
        "乙\n  ✗ fake",
        "\u202e丙",
    ]
    plan = _plan(tmp_path, names, ["东城\x1b[31m花园\x1b[0m"])
    out = tmp_path / "verdicts"
    result = _check_plan(plan, tiny, out)
    assert result.exit_code == 1, result.output
    document = json.loads((out / "verdicts.json").read_text(encoding="utf-8"))
    failed = [
        v for v in document["verdicts"] if v["status"] == "fail" and v["severity"] == "required"
    ]
    assert {SPOOF, names[1], names[2]} <= {v["object_name"] for v in failed}
    _assert_plain(result.stdout)
    lines = result.stdout.splitlines()
    assert len(lines) == len(failed) + 2  # the summary, one per failure, where the verdicts are
    assert lines[0].startswith("方案审查 / plan check:") and " 0 未达标 fail" not in lines[0]
    assert sum("方案审查 / plan check:" in line for line in lines) == 3  # the real one, two quoted
    assert all(line.startswith("  ✗ ") for line in lines[1:-1])
    assert "\\x1b[2J\\x1b[H方案审查" in result.stdout and "乙\\n  ✗ fake" in result.stdout


def test_an_error_quoting_control_characters_stays_on_one_line(tiny: Path, tmp_path: Path) -> None:
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
        "户\x1b[2J\r\n数": 1,
    }
    plan = tmp_path / "bad.csv"
    pd.DataFrame([row, row | {"记录类型": "项目", "编号": "PP1"}]).to_csv(
        plan, index=False, encoding="utf-8-sig"
    )
    result = _check_plan(plan, tiny, tmp_path / "verdicts")
    assert result.exit_code == 2, result.output
    _assert_plain(result.output)
    message = result.output.strip()
    assert "\n" not in message and message.startswith("错误 / error: ")
    assert plan.name in message  # quoted or refused by the reader, never echoed raw


def test_a_data_error_with_control_characters_is_printed_on_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_, _friendly_errors():
        raise DataError("plan.csv: 列 '户\x1b[2J\r\n数' \u202e; fix it\x1b[H0 未达标 fail")
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    _assert_plain(err)
    assert (
        err
        == "错误 / error: plan.csv: 列 '户\\x1b[2J\\r\\n数' \\u202e; fix it\\x1b[H0 未达标 fail\n"
    )


def test_an_unknown_type_with_escapes_is_reported_on_one_line(tiny: Path, tmp_path: Path) -> None:
    lon, lat = tiny_county.lonlat(2400, 0)
    row = {
        "记录类型": "设施",
        "编号": "PV1",
        "名称": "乙村",
        "类型": "养鸡场\x1b[2J\n\u202e",
        "床位数": 0,
        "护理床位": 0,
        "建筑面积": 200,
        "用地代码": "0704",
        "经度": lon,
        "纬度": lat,
    }
    plan = tmp_path / "bad.csv"
    pd.DataFrame([row]).to_csv(plan, index=False, encoding="utf-8-sig")
    result = _check_plan(plan, tiny, tmp_path / "verdicts")
    assert result.exit_code == 2, result.output
    _assert_plain(result.output)
    assert len(result.output.strip().splitlines()) == 1 and "养鸡场" in result.output


def test_a_scenario_error_keeps_its_own_lines_and_escapes_the_rest(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        'name: bad\narea: {buffer_m: -1, "x\\e[2J\\n  - forged problem": 1}\n', encoding="utf-8"
    )
    result = CliRunner().invoke(main, ["validate", str(bad)])
    assert result.exit_code == 2, result.output
    _assert_plain(result.output)
    lines = result.output.strip().splitlines()
    n = int(re.search(r"(\d+) problem\(s\)", lines[0]).group(1))  # type: ignore[union-attr]
    assert n >= 2 and len(lines) == 1 + n
    assert all(line.startswith("  - ") for line in lines[1:])
    assert not any(line.startswith("  - forged") for line in lines)
    assert "x\\x1b[2J\\n  - forged problem" in result.output


def test_batch_prints_one_line_per_county_whatever_the_file_names(tmp_path: Path) -> None:
    evil = tmp_path / "evil\x1b[2J\rok: 完成 \u202eyaml.yaml"
    evil.write_text("name: bad\narea: [\n", encoding="utf-8")
    plain = tmp_path / "bad.yaml"
    plain.write_text("name: bad\narea: [\n", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["batch", str(evil), str(plain), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2, result.output
    _assert_plain(result.output)
    lines = result.stdout.splitlines()
    assert len(lines) == 2 + 2  # two counties, the province summary, the map index
    assert lines[0].startswith("evil\\x1b[2J\\rok: 完成 \\u202eyaml: 失败 / failed")
    assert lines[1].startswith("bad: 失败 / failed")


def test_log_lines_of_the_command_line_are_made_safe() -> None:
    record = logging.LogRecord(
        "carecircle.x", logging.WARNING, __file__, 1, "snapped %s", ("甲\x1b[2J\r\n乙",), None
    )
    line = _LogFormatter("%(levelname)s %(name)s: %(message)s").format(record)
    assert line == "WARNING carecircle.x: snapped 甲\\x1b[2J\\r\\n乙"
