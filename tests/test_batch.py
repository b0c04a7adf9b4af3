"""carecircle batch: six generated counties on a LocalCluster, a broken one, and a re-run.

The batch runs once per module (plus one re-run); every test reads its results.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from distributed import LocalCluster

from carecircle.batch import INDEX_FILE, MARKER, SUMMARY_FILE, county_is_complete
from carecircle.cli import main
from carecircle.demo import generate_demo
from carecircle.outputs.report import OUTPUT_FILES
from carecircle.sources.network import CACHE_ENV

ROOT = Path(__file__).resolve().parents[1]
COUNTIES = [f"c{i}" for i in range(1, 7)]
SEEDS = dict(zip(COUNTIES, (11, 12, 13, 14, 15, 16), strict=True))

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Batch:
    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    province: dict[str, Any]
    summaries: dict[str, bytes]  # each county's summary.json right after this batch
    written: dict[str, int]  # and when it was written (st_mtime_ns)

    def county(self, name: str) -> dict[str, Any]:
        return next(c for c in self.province["counties"] if c["name"] == name)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Six generated counties, one whose road file is cut short, and their scenario files."""
    root = tmp_path_factory.mktemp("batch")
    (root / "scenarios").mkdir()
    template = (ROOT / "scenarios" / "demo.yaml").read_text(encoding="utf-8")
    for name in [*COUNTIES, "broken"]:
        if name != "broken":
            generate_demo(root / "data" / name, size="small", seed=SEEDS[name])
        text = template.replace("../data/demo/", f"../data/{name}/")
        text = re.sub(r"^name: demo$", f"name: {name}", text, count=1, flags=re.MULTILINE)
        (root / "scenarios" / f"{name}.yaml").write_text(text, encoding="utf-8")
    shutil.copytree(root / "data" / "c1", root / "data" / "broken")
    roads = (root / "data" / "c1" / "roads.osm").read_bytes()
    (root / "data" / "broken" / "roads.osm").write_bytes(roads[: len(roads) // 2])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(root / "cache"))
        yield root


def _scenarios(root: Path) -> list[str]:
    return [
        *(str(root / "scenarios" / f"{name}.yaml") for name in COUNTIES),
        str(root / "scenarios" / "broken.yaml"),
        str(root / "scenarios" / "missing.yaml"),
    ]


def _batch(root: Path, *args: str) -> Batch:
    out = root / "batch"
    started = time.perf_counter()
    result = CliRunner().invoke(main, ["batch", *args, "--out", str(out)])
    seconds = time.perf_counter() - started
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    province = json.loads((out / SUMMARY_FILE).read_text(encoding="utf-8"))
    summaries = {
        name: (out / name / "summary.json").read_bytes()
        for name in COUNTIES
        if (out / name / "summary.json").is_file()
    }
    written = {name: (out / name / "summary.json").stat().st_mtime_ns for name in summaries}
    return Batch(
        result.exit_code, result.stdout, result.stderr, seconds, province, summaries, written
    )


@pytest.fixture(scope="module")
def first(root: Path) -> Batch:
    return _batch(root, *_scenarios(root))


@pytest.fixture(scope="module")
def one_by_one(root: Path) -> tuple[dict[str, bytes], float]:
    """Each county run on its own with `carecircle run`, and how long that took."""
    runner = CliRunner()
    started = time.perf_counter()
    summaries = {}
    for name in COUNTIES:
        out = root / "one" / name
        scenario = root / "scenarios" / f"{name}.yaml"
        result = runner.invoke(main, ["-q", "run", str(scenario), "--out", str(out)])
        assert result.exit_code == 0, result.output
        summaries[name] = (out / "summary.json").read_bytes()
    return summaries, time.perf_counter() - started


@pytest.fixture(scope="module")
def rerun(root: Path, first: Batch, one_by_one: tuple[dict[str, bytes], float]) -> Batch:
    """The same batch again after c6's scenario changed (a 10-minute village tier)."""
    path = root / "scenarios" / "c6.yaml"
    text = path.read_text(encoding="utf-8")
    changed = text.replace(
        "village: {mode: walk, minutes: 15}", "village: {mode: walk, minutes: 10}"
    )
    assert changed != text
    path.write_text(changed, encoding="utf-8")
    # This time on a scheduler of our own, as a cluster's would be given: --scheduler ADDRESS.
    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        silence_logs=logging.ERROR,
        dashboard_address=None,
        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
    ) as cluster:
        return _batch(root, *_scenarios(root), "--scheduler", cluster.scheduler_address)


def test_batch_gives_the_same_results_as_one_by_one(
    first: Batch, one_by_one: tuple[dict[str, bytes], float], report_measurement: Any
) -> None:
    summaries, seconds = one_by_one
    task = sum(first.county(name)["seconds"] for name in COUNTIES)
    report_measurement(
        f"batch of {len(COUNTIES) + 2} scenarios on 2 workers: {first.seconds:.1f} s "
        f"(county tasks {task:.1f} s in all); one by one in-process: {seconds:.1f} s"
    )
    assert sorted(first.summaries) == COUNTIES
    for name in COUNTIES:
        assert first.summaries[name] == summaries[name], name
        county = first.county(name)
        assert county["status"] == "ok"
        assert county["reason"] is None
        summary = json.loads(summaries[name])
        assert county["village_circle"] == {
            key: summary["village_circle"][key]
            for key in ("minutes", "share", "older", "older_covered")
        }
        assert county["gaps"] == len(summary["gaps"]["items"])
        assert county["siting_new_beds"] == summary["siting"]["regional_homes"]["new_beds"]
    shares = {first.county(name)["village_circle"]["share"] for name in COUNTIES}
    assert len(shares) == len(COUNTIES)  # six different counties


def test_a_broken_county_fails_alone(root: Path, first: Batch) -> None:
    assert first.exit_code == 1
    counts = first.province["counts"]
    assert counts == {"total": 8, "ok": 6, "skipped": 0, "failed": 2}
    broken = first.county("broken")
    assert broken["status"] == "failed"
    assert "roads.osm" in broken["reason"] and "OSM" in broken["reason"]
    assert "\n" not in broken["reason"]
    assert not (root / "batch" / "broken" / MARKER).exists()
    missing = first.county("missing")
    assert missing["status"] == "failed"
    assert "scenario file not found" in missing["reason"]
    assert "broken: 失败 / failed" in first.stdout
    assert re.search(r"\[\d/8\] c1: 完成 / done in", first.stderr)


def test_index_links_every_county_and_needs_no_network(root: Path, first: Batch) -> None:
    page = (root / "batch" / INDEX_FILE).read_text(encoding="utf-8")
    for name in COUNTIES:
        assert f'href="{name}/index.html"' in page
        assert f'href="{name}/report.html"' in page
    assert 'href="broken/' not in page
    assert "cannot parse as OSM XML" in page
    assert "全省" in page and "Province summary" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)


def test_rerun_skips_complete_counties_and_reruns_a_changed_one(
    first: Batch, rerun: Batch, report_measurement: Any
) -> None:
    report_measurement(f"batch re-run, 5 counties skipped and 2 run: {rerun.seconds:.1f} s")
    assert rerun.exit_code == 1  # the broken county still fails
    status = {c["name"]: c["status"] for c in rerun.province["counties"]}
    assert status == {
        **dict.fromkeys(COUNTIES[:-1], "skipped"),
        "c6": "ok",
        "broken": "failed",
        "missing": "failed",
    }
    for name in COUNTIES[:-1]:
        assert rerun.written[name] == first.written[name]  # not written again
        assert rerun.county(name)["village_circle"] == first.county(name)["village_circle"]
    assert "c1: 已完成，跳过 / outputs complete, skipped" in rerun.stderr
    assert "连接调度器 / connecting to the scheduler at tcp://127.0.0.1:" in rerun.stderr
    c6 = json.loads(rerun.summaries["c6"])
    # The changed scenario ran again: its village tier is at 10 minutes now, reported apart;
    # the circle rule stays at its own 15 minutes.
    assert c6["tiers"]["village"]["minutes"] == 10 and c6["village_circle"]["minutes"] == 15
    assert c6["tiers"]["village"]["share"] < c6["village_circle"]["share"]
    assert rerun.county("c6")["village_circle"] == first.county("c6")["village_circle"]


def test_a_county_with_a_missing_output_is_not_complete(root: Path, first: Batch) -> None:
    folder = root / "batch" / "c1"
    marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    assert sorted(marker["files"]) == sorted(OUTPUT_FILES)
    copy = root / "copy-of-c1"
    shutil.copytree(folder, copy)
    assert county_is_complete(copy, marker["scenario_sha256"], marker["inputs"])
    assert not county_is_complete(copy, "0" * 64, marker["inputs"])
    (copy / "tables.xlsx").unlink()
    assert not county_is_complete(copy, marker["scenario_sha256"], marker["inputs"])


def test_no_valid_scenario_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("name: bad\narea: [\n", encoding="utf-8")
    args = [str(tmp_path / "nope.yaml"), str(tmp_path / "bad.yaml")]
    result = CliRunner().invoke(main, ["batch", *args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "scenario file not found" in result.stdout
    assert "bad: 失败 / failed" in result.stdout
    province = json.loads((tmp_path / "out" / SUMMARY_FILE).read_text(encoding="utf-8"))
    assert province["counts"]["failed"] == 2
