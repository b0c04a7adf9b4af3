"""Untrusted inputs: malformed, oversize, bomb and special files stop with exit 2 and one line.

Plans come from developers and layers from other offices. Every file here is real (written by
GDAL, openpyxl, gzip, zipfile); the oversize and bomb cases run the real CLI in a child process
under a hard address-space limit (``resource.setrlimit``) and a time limit, so a regression
fails the test instead of taking the machine down. Each refusal must name the file and say
what to do, on one line, leave the previous outputs as they were, and quote no file content.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely
import tiny_county
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carecircle import guard
from carecircle.cli import main
from carecircle.errors import DataError, LimitExceeded, excerpt
from carecircle.scenario import load_scenario
from carecircle.sources.plan import read_plan

OSM = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "osm"
VILLAGE = "村级居家养老服务照料中心"
CANARY = "CANARY-3f9c-sekrit"  # put in the environment and in secret files; must never be echoed


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("untrusted")
    return tiny_county.build(root, targets={"circle-15min": None, "village-center-150": None})


def good_row(**change: Any) -> dict[str, Any]:
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


def _csv(rows: list[dict[str, Any]], name: str = "plan.csv") -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / name
        pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8-sig")
        return path

    return write


def _bytes(name: str, data: bytes) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        (folder / name).write_bytes(data)
        return folder / name

    return write


def _points(geometry: shapely.Geometry, name: str = "plan.gpkg") -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        row = {k: v for k, v in good_row().items() if k not in ("经度", "纬度")}
        frame = gpd.GeoDataFrame([row], geometry=[geometry], crs="EPSG:4326")
        frame.to_file(folder / name, layer="养老设施", driver="GPKG")
        return folder / name

    return write


def _workbook(folder: Path, name: str = "book.xlsx") -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "养老设施"
    sheet.append(list(good_row()))
    sheet.append(list(good_row().values()))
    book.save(folder / name)
    return folder / name


def _rewrite_sheet(change: Callable[[bytes], bytes], name: str) -> Callable[[Path], Path]:
    """A real workbook with its first sheet's XML changed (DTDs, bombs)."""

    def write(folder: Path) -> Path:
        src = _workbook(folder, "source.xlsx")
        out = folder / name
        with zipfile.ZipFile(src) as z, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as w:
            for item in z.infolist():
                data = z.read(item.filename)
                if item.filename == "xl/worksheets/sheet1.xml":
                    data = change(data)
                w.writestr(item.filename, data, compresslevel=9)
        src.unlink()
        return out

    return write


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b"]>"
)


def _laughs(xml: bytes) -> bytes:
    body = xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml
    return LAUGHS + body.replace("乙村照料中心".encode(), b"&lol9;")


def _shapefile(cpg: str) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        row = {k: v for k, v in good_row().items() if k not in ("经度", "纬度")}
        frame = gpd.GeoDataFrame([row], geometry=[shapely.Point(*good_row_lonlat())], crs=4326)
        frame.to_crs(4549).to_file(folder / "plan.shp", encoding="gbk", engine="pyogrio")
        (folder / "plan.cpg").write_text(cpg)
        return folder / "plan.shp"

    return write


def good_row_lonlat() -> tuple[float, float]:
    return tiny_county.lonlat(2400, 0)


def _secret(name: str) -> Callable[[Path], Path]:
    """A file that is not a plan and holds a secret on its first line (/etc/shadow's kind)."""

    def write(folder: Path) -> Path:
        (folder / name).write_text(f"root:{CANARY}:19000:0:99999:7:::\n", encoding="utf-8")
        return folder / name

    return write


def _system(path: str) -> Callable[[Path], Path]:
    return lambda folder: Path(path)


def _link_to(target: str, name: str) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        (folder / name).symlink_to(target)
        return folder / name

    return write


# case -> (plan writer, phrases the one-line message must hold)
MALFORMED: dict[str, tuple[Callable[[Path], Path], tuple[str, ...]]] = {
    "empty-csv": (_bytes("plan.csv", b""), ("plan.csv", "empty")),
    "bom-only-csv": (_bytes("plan.csv", b"\xef\xbb\xbf"), ("plan.csv", "empty")),
    "zip-not-workbook": (_rewrite_sheet(lambda x: x, "x.xlsx"), ()),  # valid: control, see below
    "not-a-zip": (_bytes("plan.xlsx", b"not a workbook at all"), ("not an Excel workbook",)),
    "xlsx-with-dtd": (_rewrite_sheet(_laughs, "plan.xlsx"), ("DTD", "save it again")),
    "infinite-beds": (_csv([good_row(类型="养老院", 床位数="inf")]), ("beds", "infinite")),
    "infinite-floor": (_csv([good_row(建筑面积="Infinity")]), ("floor_m2", "infinite")),
    "infinite-longitude": (_csv([good_row(经度="Infinity")]), ("row 2", "not a finite number")),
    "nan-latitude": (_csv([good_row(纬度="NaN")]), ("row 2", "not a finite number")),
    "infinite-point": (_points(shapely.Point(np.inf, 28.8)), ("feature 1", "not finite")),
    "linestring": (
        _points(shapely.LineString([(120.3, 28.8), (120.31, 28.8)])),
        ("LineString", "one point"),
    ),
    "multipoint": (
        _points(shapely.MultiPoint([(120.3, 28.8), (120.31, 28.8)])),
        ("MultiPoint of 2 points",),
    ),
    "collection": (
        _points(shapely.GeometryCollection([shapely.Point(120.3, 28.8)])),
        ("GeometryCollection",),
    ),
    "cpg-lies": (_shapefile("UTF-8"), ("plan.cpg", "says 'utf-8'", "gb18030")),
    "cpg-unknown": (_shapefile("KLINGON-42"), ("plan.cpg", "unknown encoding", "'KLINGON-42'")),
    "secret-no-suffix": (_secret("shadow"), ("unsupported file format",)),
    "proc-environ": (_system("/proc/self/environ"), ("not a data file",)),
    "dev-zero": (_system("/dev/zero"), ("not a data file",)),
    "link-to-dev-zero": (_link_to("/dev/zero", "plan.csv"), ("not a data file",)),
    "a-folder": (
        lambda folder: (folder / "sub.gpkg").mkdir() or folder / "sub.gpkg",
        ("not a data file", "folder"),
    ),
}
MALFORMED.pop("zip-not-workbook")  # a real workbook reads fine; the zip case follows


def _zip_without_workbook(folder: Path) -> Path:
    with zipfile.ZipFile(folder / "plan.xlsx", "w") as z:
        z.writestr("hello.txt", "hi")
    return folder / "plan.xlsx"


MALFORMED["zip-not-workbook"] = (_zip_without_workbook, ("xl/workbook.xml",))


def check_plan(plan: Path, scenario: Path, out: Path, *extra: str) -> Any:
    return CliRunner().invoke(
        main,
        ["-q", "check-plan", str(plan), "--scenario", str(scenario), "--out", str(out), *extra],
        env={"CARECIRCLE_CANARY": CANARY},
    )


def snapshot(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def previous(county: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Verdicts of a good plan, written once: every refusal below must leave them as they are."""
    folder = tmp_path_factory.mktemp("previous")
    out = folder / "verdicts"
    result = check_plan(_csv([good_row()])(folder), county, out)
    assert result.exit_code in (0, 1), result.output
    return out


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_plans_exit_2_with_one_line_and_keep_previous_verdicts(
    case: str, county: Path, previous: Path, tmp_path: Path
) -> None:
    write, phrases = MALFORMED[case]
    plan = write(tmp_path)
    before = snapshot(previous)
    result = check_plan(plan, county, previous)
    message = result.output.strip()
    assert result.exit_code == 2, (case, result.output, result.exception)
    assert "\n" not in message and "Traceback" not in message, message
    assert message.startswith("错误 / error: ") and str(plan.with_suffix("")) in message
    for phrase in phrases:
        assert phrase in message, (phrase, message)
    assert CANARY not in message and "PATH=" not in message
    assert snapshot(previous) == before


# --- oversize and bomb inputs, in a child process with a hard memory limit -------------------------

MEMORY_LIMIT = 3 * 1024**3  # address space; the CLI itself needs about 1 GB of it to import
TIME_LIMIT_S = 90.0


def run_bounded(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> tuple[int, str, float, float]:
    """The CLI in a child under RLIMIT_AS: exit code, stderr+stdout, seconds, peak MB."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", "from carecircle.cli import main; main()", "-q", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT_S,
        preexec_fn=limit,
        env={**os.environ, "CARECIRCLE_CANARY": CANARY, **(env or {})},
    )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return proc.returncode, (proc.stderr + proc.stdout).strip(), seconds, peak


def _big_gpkg(folder: Path, n: int = 20_000) -> Path:
    lon, lat = good_row_lonlat()
    xs = lon + np.random.default_rng(0).uniform(-0.001, 0.001, n)
    frame = gpd.GeoDataFrame(
        {
            "编号": [f"B{i}" for i in range(n)],
            "名称": "x",
            "类型": VILLAGE,
            "建筑面积": 200.0,
            "用地代码": "0704",
        },
        geometry=gpd.points_from_xy(xs, np.full(n, lat)),
        crs="EPSG:4326",
    )
    frame.to_file(folder / "big.gpkg", layer="养老设施", driver="GPKG")
    return folder / "big.gpkg"


def _big_csv(folder: Path, mb: int = 60) -> Path:
    row = good_row()
    line = ",".join(str(v) for v in row.values()) + "\n"
    with (folder / "big.csv").open("w", encoding="utf-8") as f:
        f.write(",".join(row) + "\n")
        f.write(line * (mb * 1024 * 1024 // len(line.encode()) + 1))
    return folder / "big.csv"


def _xlsx_bomb(folder: Path) -> Path:
    """About 1 MB on disk, over 1 GB decompressed: one sheet of repeated cells."""

    def inflate(xml: bytes) -> bytes:
        head, _, tail = xml.partition(b"</sheetData>")
        return head + b"<row><c><v>1</v></c></row>" * 45_000_000 + b"</sheetData>" + tail

    return _rewrite_sheet(inflate, "bomb.xlsx")(folder)


OVERSIZE: dict[str, tuple[Callable[[Path], Path], tuple[str, ...]]] = {
    "20k-row-gpkg": (_big_gpkg, ("limits.plan_rows", "20,000", "--limit plan_rows=")),
    "60-mb-csv": (_big_csv, ("limits.plan_file_mb", "60.0 MB")),
    "xlsx-zip-bomb": (_xlsx_bomb, ("limits.unzipped_mb", "decompressed")),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(OVERSIZE))
def test_oversize_plans_are_refused_before_the_heavy_read(
    case: str, county: Path, tmp_path: Path, report_measurement: Callable[[str], None]
) -> None:
    write, phrases = OVERSIZE[case]
    plan = write(tmp_path)
    size_mb = plan.stat().st_size / 1024**2
    code, text, seconds, _peak = run_bounded(
        ["check-plan", str(plan), "--scenario", str(county), "--out", str(tmp_path / "v")], tmp_path
    )
    report_measurement(f"oversize plan {case} ({size_mb:.1f} MB): refused in {seconds:.1f} s")
    assert code == 2, text
    assert len(text.splitlines()) == 1 and "Traceback" not in text, text
    for phrase in phrases:
        assert phrase in text, (phrase, text)
    assert not (tmp_path / "v").exists()


def test_the_xlsx_bomb_is_small_on_disk_and_large_inside(tmp_path: Path) -> None:
    bomb = _xlsx_bomb(tmp_path)
    with zipfile.ZipFile(bomb) as z:
        inside = sum(e.file_size for e in z.infolist())
    assert bomb.stat().st_size < 3 * 1024**2 and inside > 1024**3


def test_a_plan_limit_is_raised_by_the_option_or_the_scenario(county: Path, tmp_path: Path) -> None:
    rows = [good_row(编号=f"PV{i}", 经度=good_row()["经度"] + i * 1e-4) for i in range(12)]
    plan = _csv(rows)(tmp_path)
    raw = yaml.safe_load(county.read_text(encoding="utf-8"))
    raw["limits"] = {"plan_rows": 10}
    strict = county.parent / "strict.yaml"
    strict.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    refused = check_plan(plan, strict, tmp_path / "a")
    assert refused.exit_code == 2 and "limits.plan_rows" in refused.output
    assert "--limit plan_rows=" in refused.output
    raised = check_plan(plan, strict, tmp_path / "b", "--limit", "plan_rows=20")
    assert raised.exit_code in (0, 1), raised.output
    bad = check_plan(plan, strict, tmp_path / "c", "--limit", "plan_roes=20")
    assert bad.exit_code == 2 and "plan_rows" in bad.output  # the valid keys are listed


# --- scenario inputs ---------------------------------------------------------------------------------


def _scenario(county: Path, name: str, edit: Callable[[dict[str, Any]], None]) -> Path:
    raw = yaml.safe_load(county.read_text(encoding="utf-8"))
    edit(raw)
    path = county.parent / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def _empty_nodes_gz(path: Path, nodes: int) -> Path:
    """An .osm.gz of nodes no way uses: tiny compressed, huge for an XML parser."""
    line = b'<node id="1" lat="28.8" lon="120.3"/>\n'
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(b'<?xml version="1.0"?>\n<osm version="0.6">\n')
        block = line * 100_000
        for _ in range(nodes // 100_000):
            f.write(block)
        f.write(b"</osm>\n")
    return path


@pytest.mark.slow
def test_an_osm_gz_of_empty_nodes_is_refused_while_streaming(county: Path, tmp_path: Path) -> None:
    roads = _empty_nodes_gz(tmp_path / "empty-nodes.osm.gz", 5_100_000)
    assert roads.stat().st_size < 8 * 1024**2
    scenario = _scenario(
        county, "empty-nodes", lambda r: r["data"]["network"].update(path=str(roads))
    )
    code, text, seconds, _ = run_bounded(
        ["run", str(scenario), "--out", str(tmp_path / "o")],
        tmp_path,
        env={"CARECIRCLE_CACHE": str(tmp_path / "cache")},
    )
    assert code == 2, text
    assert "limits.osm_nodes" in text and "5,000,000" in text and len(text.splitlines()) == 1
    assert seconds < 60 and not (tmp_path / "o").exists()


def test_decompressed_size_limit_of_an_osm_gz(tmp_path: Path) -> None:
    roads = _empty_nodes_gz(tmp_path / "n.osm.gz", 200_000)
    with pytest.raises(LimitExceeded, match=r"limits\.osm_unzipped_mb"):
        guard.check_osm_xml(roads, unzipped_mb=1, nodes=10**9)
    assert guard.check_osm_xml(roads, unzipped_mb=100, nodes=10**9) == 200_000


def test_pbf_blob_sizes_are_read_without_decoding(tmp_path: Path) -> None:
    pbf = OSM / "andorra.osm.pbf"
    raw = guard.check_pbf(pbf, unzipped_mb=10_000)
    assert raw > pbf.stat().st_size  # the blobs are compressed
    with pytest.raises(LimitExceeded, match=r"limits\.osm_unzipped_mb"):
        guard.check_pbf(pbf, unzipped_mb=raw / guard.MB / 2)
    junk = tmp_path / "junk.osm.pbf"
    junk.write_bytes(b"\x00\x00\x00\x0enot a blob header at all")
    with pytest.raises(DataError, match="not a valid OSM PBF"):
        guard.check_pbf(junk, unzipped_mb=10)


SCENARIO_CASES: dict[str, tuple[Callable[[dict[str, Any]], None], tuple[str, ...]]] = {
    "facilities-from-dev-zero": (
        lambda r: r["data"]["facilities"].update(path="/dev/zero"),
        ("data.facilities.path", "not a data file"),
    ),
    "villages-from-proc": (
        lambda r: r["data"]["villages"].update(path="/proc/self/environ"),
        ("not a data file",),
    ),
    "walking-30-mps": (
        lambda r: r.setdefault("travel", {}).update(walk_speed_mps=30),
        ("travel.walk_speed_mps", "2"),
    ),
    "band-in-km-per-hour": (
        lambda r: r.setdefault("travel", {}).update(walk_speed_band=[0.8, 4.3]),
        ("walk_speed_band",),
    ),
    "ten-thousand-minutes": (
        lambda r: r["tiers"]["village"].update(minutes=10000),
        ("tiers.village", "10000 minutes", "60 min"),
    ),
    "file-limit": (lambda r: r.update(limits={"file_mb": 0.0001}), ("limits.file_mb",)),
    "raster-window": (
        lambda r: r.update(limits={"raster_cells": 100}),
        ("limits.raster_cells", "cells"),
    ),
    "field-length": (
        lambda r: r.update(limits={"field_chars": 3}),
        ("limits.field_chars", "chars"),
    ),
    "circle-of-10000-minutes": (
        lambda r: r["policy"]["targets"].update({"circle-15min": {"minutes": 10000}}),
        ("policy.targets.circle-15min.minutes", "120 minutes"),
    ),
    "share-in-percent": (
        lambda r: r["policy"]["targets"].update({"circle-15min": {"coverage": 55}}),
        ("circle-15min.coverage", "0.55, not 55"),
    ),
    "unknown-limit": (lambda r: r.update(limits={"rowz": 5}), ("limits.rowz", "unknown key")),
}


@pytest.mark.parametrize("case", sorted(SCENARIO_CASES))
def test_bad_scenario_inputs_exit_2_with_one_line(case: str, county: Path, tmp_path: Path) -> None:
    edit, phrases = SCENARIO_CASES[case]
    scenario = _scenario(county, case, edit)
    result = CliRunner().invoke(
        main,
        ["-q", "run", str(scenario), "--out", str(tmp_path / "o")],
        env={"CARECIRCLE_CACHE": str(tmp_path / "cache"), "CARECIRCLE_CANARY": CANARY},
    )
    message = result.output.strip()
    assert result.exit_code == 2, (case, result.output, result.exception)
    assert len(message.splitlines()) == 1 and "Traceback" not in message, message
    for phrase in phrases:
        assert phrase in message, (phrase, message)
    assert CANARY not in message and not (tmp_path / "o").exists()


def test_a_raster_that_disagrees_with_the_census_is_refused(county: Path, tmp_path: Path) -> None:
    table = county.parent.parent / "data" / "demo" / "township_population.csv"
    frame = pd.read_csv(table, dtype=str, encoding="utf-8-sig")
    frame["常住人口"] = (frame["常住人口"].astype(int) * 10).astype(str)
    frame["60岁及以上人口"] = (frame["60岁及以上人口"].astype(int) * 10).astype(str)
    tenfold = tmp_path / "tenfold.csv"
    frame.to_csv(tenfold, index=False, encoding="utf-8-sig")

    def point_at(tolerance: float) -> Callable[[dict[str, Any]], None]:
        def edit(raw: dict[str, Any]) -> None:
            raw["data"]["population"]["older_table"]["path"] = str(tenfold)
            raw["data"]["population"]["census_tolerance"] = tolerance

        return edit

    env = {"CARECIRCLE_CACHE": str(tmp_path / "cache")}
    refused = CliRunner().invoke(
        main,
        ["-q", "run", str(_scenario(county, "tenfold", point_at(3))), "--out", str(tmp_path / "a")],
        env=env,
    )
    assert refused.exit_code == 2, refused.output
    assert "×0.10" in refused.output and "census_tolerance" in refused.output
    assert "600 residents" in refused.output and "6,000" in refused.output
    accepted = CliRunner().invoke(
        main,
        [
            "-q",
            "run",
            str(_scenario(county, "tenfold-ok", point_at(20))),
            "--out",
            str(tmp_path / "b"),
        ],
        env=env,
    )
    assert accepted.exit_code == 0, accepted.output


# --- properties --------------------------------------------------------------------------------------

TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)


@given(TEXT, st.integers(min_value=1, max_value=50))
def test_excerpt_never_carries_a_control_character_and_stays_short(text: str, limit: int) -> None:
    out = excerpt(text, limit)
    assert len(out) <= limit + 2  # the quotes; escapes count within the limit
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u2029\u202e" for c in out)
    if text.isprintable() and len(text) <= limit and "\u202e" not in text:
        assert out == f"'{text}'"


CELL = st.one_of(
    TEXT,
    st.sampled_from(["inf", "-inf", "NaN", "Infinity", "1e400", "", "  ", "=1+1", "0x10", "１２"]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(st.sampled_from(list(good_row())), CELL, min_size=1, max_size=4))
def test_any_cell_values_give_a_plan_or_one_line_data_error(
    county: Path, tmp_path_factory: pytest.TempPathFactory, change: dict[str, Any]
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    plan = _csv([good_row(**change), good_row(编号="PV2")])(folder)
    scenario = load_scenario(county)
    try:
        read_plan(plan, scenario)
    except DataError as exc:
        message = str(exc)
        assert "\n" not in message and "\r" not in message and "\x1b" not in message
        assert message.startswith(str(plan))
    shutil.rmtree(folder)


# --- a full disk --------------------------------------------------------------------------------------


def test_a_full_disk_while_writing_is_one_line_and_keeps_the_previous_outputs(
    county: Path, tmp_path: Path
) -> None:
    """Writes fail as on a full disk (RLIMIT_FSIZE, SIGXFSZ ignored: each write past 100 kB fails
    with EFBIG, as it fails with ENOSPC when the disk is full): exit 4, one line, nothing lost."""
    out, cache = tmp_path / "out", tmp_path / "cache"
    env = {"CARECIRCLE_CACHE": str(cache)}
    first = CliRunner().invoke(main, ["-q", "run", str(county), "--out", str(out)], env=env)
    assert first.exit_code == 0, first.output
    before = snapshot(out)

    def small_files() -> None:
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from carecircle.cli import main; main()",
            "-q",
            "run",
            str(county),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT_S,
        preexec_fn=small_files,
        env={**os.environ, **env},
    )
    text = (proc.stderr + proc.stdout).strip()
    assert proc.returncode == 4, text
    assert len(text.splitlines()) == 1 and "no space left" in text and "previous outputs" in text
    assert snapshot(out) == before
    assert not list(tmp_path.glob(".out.staging-*"))


def test_batch_publishes_no_file_contents_or_environment(county: Path, tmp_path: Path) -> None:
    """A county whose scenario names a system file fails alone, and the province summary and the
    public index say so by path, never with the file's contents."""
    scenarios = [
        _scenario(
            county, "environ", lambda r: r["data"]["villages"].update(path="/proc/self/environ")
        ),
        _scenario(county, "zero", lambda r: r["data"]["facilities"].update(path="/dev/zero")),
    ]
    out = tmp_path / "batch"
    result = CliRunner().invoke(
        main,
        ["-q", "batch", *map(str, scenarios), "--out", str(out)],
        env={"CARECIRCLE_CANARY": CANARY},
    )
    assert result.exit_code == 2, result.output
    published = [
        (out / "province_summary.json").read_text(encoding="utf-8"),
        (out / "index.html").read_text(encoding="utf-8"),
        result.output,
    ]
    for text in published:
        assert CANARY not in text and "PATH=" not in text and "HOME=" not in text
        assert "/environ" in text and "/dev/zero" in text and "not a data file" in text
