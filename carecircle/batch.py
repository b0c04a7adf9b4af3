"""Many counties at once: one Dask task per scenario, merged into a province summary and map index.

``run_batch`` loads every scenario on the caller's side (a scenario that cannot be loaded is
reported as failed and never sent), skips the counties whose outputs are complete and whose inputs
are unchanged since, and runs the others on Dask distributed: a ``LocalCluster`` of worker
processes by default, or the scheduler at ``scheduler=`` (the workers must see the same paths).
Each task loads its scenario, runs it and writes its outputs into ``OUT/<scenario name>/``
atomically, then a small marker (:data:`MARKER`) with the digests of the scenario file and of every
input file it names. A county that fails is reported with its reason; the others finish.

The merged results are written (atomically) to ``OUT/province_summary.json`` and ``OUT/index.html``.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel

from carecircle.atomic import atomic_file
from carecircle.errors import CareCircleError
from carecircle.outputs.files import clean_json, staged_dir
from carecircle.outputs.report import OUTPUT_FILES

__all__ = [
    "INDEX_FILE",
    "MARKER",
    "SUMMARY_FILE",
    "BatchResult",
    "CountyResult",
    "county_is_complete",
    "run_batch",
]

MARKER = "batch.json"
"""Written into a county's folder after its outputs, only when the run succeeded."""
SUMMARY_FILE = "province_summary.json"
INDEX_FILE = "index.html"
_MARKER_FORMAT = 1

Status = Literal["ok", "failed", "skipped"]
Say = Callable[[str], None]


@dataclass(frozen=True)
class CountyResult:
    """What became of one scenario of the batch."""

    scenario: str
    name: str
    status: Status
    title: str | None = None
    reason: str | None = None
    headline: dict[str, Any] = field(default_factory=dict)
    seconds: float | None = None
    bad_input: bool = False

    def record(self) -> dict[str, Any]:
        """The county's entry in province_summary.json."""
        has_outputs = self.status != "failed"
        return {
            "name": self.name,
            "title": self.title,
            "scenario": self.scenario,
            "status": self.status,
            "reason": self.reason,
            **self.headline,
            "seconds": round(self.seconds, 2) if self.seconds is not None else None,
            "map": f"{self.name}/index.html" if has_outputs else None,
            "report": f"{self.name}/report.html" if has_outputs else None,
        }


@dataclass(frozen=True)
class BatchResult:
    """Every county's result, in the order the scenarios were given, and the files written."""

    counties: tuple[CountyResult, ...]
    summary_path: Path
    index_path: Path

    @property
    def exit_code(self) -> int:
        """0 when every county is ok or skipped, 1 when any failed, 2 when no scenario was valid."""
        if self.counties and all(c.bad_input for c in self.counties):
            return 2
        return 1 if any(c.status == "failed" for c in self.counties) else 0


# --- digests and the marker ----------------------------------------------------------------------


def _file_digest(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _input_files(value: Any, skip: frozenset[str] = frozenset({"source_file"})) -> Iterator[Path]:
    """Every path a scenario names (Shapefiles with their sidecar files), in model order."""
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            if name not in skip:
                yield from _input_files(getattr(value, name))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _input_files(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _input_files(item)
    elif isinstance(value, Path):
        yield value
        if value.suffix.lower() == ".shp":
            yield from sorted(p for p in value.parent.glob(value.stem + ".*") if p != value)


def _input_digests(scenario: Any) -> dict[str, str]:
    """sha256 of every input file (folders, e.g. of a File Geodatabase, by name only)."""
    digests: dict[str, str] = {}
    for path in _input_files(scenario):
        key = str(path)
        if key not in digests:
            digests[key] = _file_digest(path) if path.is_file() else "folder"
    return digests


def _read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def county_is_complete(folder: Path, scenario_digest: str, inputs: dict[str, str]) -> bool:
    """Every output file is present and the marker names this scenario and these inputs."""
    if not all((folder / name).is_file() for name in OUTPUT_FILES):
        return False
    marker = _read_marker(folder)
    return (
        marker is not None
        and marker.get("format") == _MARKER_FORMAT
        and marker.get("scenario_sha256") == scenario_digest
        and marker.get("inputs") == inputs
    )


def _write_atomic(path: Path, text: str) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


# --- the task (runs on a worker) -----------------------------------------------------------------


def one_line(exc: BaseException) -> str:
    """The reason a county failed, on one line: our message as it is, else type and message."""
    text = str(exc) if isinstance(exc, CareCircleError) else f"{type(exc).__name__}: {exc}"
    lines = [line.strip().removeprefix("- ") for line in text.splitlines() if line.strip()]
    return "; ".join(lines) or type(exc).__name__


def run_county(scenario_path: str, out_dir: str, cache: str | None = None) -> dict[str, Any]:
    """Load, run and write one county; return its status, headline figures or failure reason.

    Never raises for a county's own problems (exceptions of ours do not all survive pickling);
    the marker is written last, so a county whose run stopped midway is run again next time.
    """
    from carecircle.outputs import write_outputs
    from carecircle.pipeline import run_scenario
    from carecircle.scenario import load_scenario
    from carecircle.sources.network import CACHE_ENV

    if cache:
        os.environ[CACHE_ENV] = cache
    started = time.perf_counter()
    try:
        path = Path(scenario_path)
        digest = _file_digest(path)
        scenario = load_scenario(path)
        inputs = _input_digests(scenario)
        result = run_scenario(scenario)
        out = Path(out_dir)
        write_outputs(result, out)
        marker = {
            "format": _MARKER_FORMAT,
            "name": scenario.name,
            "scenario": str(path),
            "scenario_sha256": digest,
            "inputs": inputs,
            "files": sorted(OUTPUT_FILES),
        }
        _write_atomic(out / MARKER, json.dumps(marker, ensure_ascii=False, indent=2) + "\n")
    except Exception as exc:
        return {"status": "failed", "reason": one_line(exc), "seconds": _since(started)}
    summary = clean_json(result.summary)
    return {"status": "ok", "headline": headline(summary), "seconds": _since(started)}


def _since(started: float) -> float:
    return time.perf_counter() - started


def headline(summary: dict[str, Any]) -> dict[str, Any]:
    """The figures of a county's summary.json that the province summary lists."""
    circle = summary.get("village_circle") or {}
    gaps = summary.get("gaps") or {}
    items = gaps.get("items")
    siting = summary.get("siting") or {}
    homes = siting.get("regional_homes") or {}
    centres = siting.get("village_centres") or {}
    return {
        "village_circle": {
            "minutes": circle.get("minutes"),
            "share": circle.get("share"),
            "older": circle.get("older"),
            "older_covered": circle.get("older_covered"),
        },
        "gaps": len(items) if isinstance(items, list) else sum(gaps.get("by_kind", {}).values()),
        "siting_new_beds": homes.get("new_beds"),
        "new_village_centres": centres.get("new_centres"),
        # What the county's figures rest on: the warnings its map shows as a banner.
        "data_quality": {
            "banner": list((summary.get("data_quality") or {}).get("banner", [])),
            "warnings": len((summary.get("data_quality") or {}).get("warnings", [])),
        },
    }


# --- the batch (runs on the caller's side) -------------------------------------------------------


@dataclass
class _Job:
    index: int
    given: str
    path: Path
    name: str
    title: str | None


def run_batch(
    scenarios: Sequence[str | Path],
    out_dir: str | Path,
    *,
    scheduler: str | None = None,
    workers: int = 2,
    progress: Say | None = None,
) -> BatchResult:
    """Run every scenario (one Dask task each) and write the province summary and map index.

    ``scheduler``: the address of a running Dask scheduler (``tcp://host:8786``); without one a
    ``LocalCluster`` of ``workers`` processes (one thread each) is started for the batch.
    """
    from carecircle.scenario import load_scenario

    say = progress or (lambda _line: None)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise CareCircleError(
            f"{out}: 输出位置是文件而非文件夹 / the output path is a file, not a folder; choose --out DIR"
        )
    n = len(scenarios)
    results: dict[int, CountyResult] = {}
    jobs: list[_Job] = []
    names: dict[str, str] = {}
    for i, given in enumerate(scenarios):
        path = Path(given)
        try:
            sc = load_scenario(path)
        except Exception as exc:
            results[i] = CountyResult(
                str(given), path.stem, "failed", reason=one_line(exc), bad_input=True
            )
            say(f"[{len(results)}/{n}] {path.stem}: 无效 / invalid: {results[i].reason}")
            continue
        if sc.name in names:
            results[i] = CountyResult(
                str(given),
                sc.name,
                "failed",
                title=sc.title,
                reason=(
                    f"情景名称重复 / duplicate scenario name {sc.name!r} (also {names[sc.name]}); "
                    "each county needs its own name, its outputs go to OUT/<name>/"
                ),
                bad_input=True,
            )
            say(f"[{len(results)}/{n}] {sc.name}: 无效 / invalid: {results[i].reason}")
            continue
        names[sc.name] = str(given)
        done = _previous_headline(out / sc.name, path, sc)
        if done is not None:
            results[i] = CountyResult(str(given), sc.name, "skipped", title=sc.title, headline=done)
            say(f"[{len(results)}/{n}] {sc.name}: 已完成，跳过 / outputs complete, skipped")
            continue
        jobs.append(_Job(i, str(given), path.resolve(), sc.name, sc.title))

    if jobs:
        _run_jobs(jobs, out, results, n, scheduler=scheduler, workers=workers, say=say)

    counties = tuple(results[i] for i in range(n))
    summary_path, index_path = _write_province(counties, out)
    return BatchResult(counties, summary_path, index_path)


def _previous_headline(folder: Path, path: Path, scenario: Any) -> dict[str, Any] | None:
    """The headline figures of a county done before with this scenario and these inputs, or None."""
    try:
        if not county_is_complete(folder, _file_digest(path), _input_digests(scenario)):
            return None
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return headline(summary) if isinstance(summary, dict) else None


def _run_jobs(
    jobs: list[_Job],
    out: Path,
    results: dict[int, CountyResult],
    n: int,
    *,
    scheduler: str | None,
    workers: int,
    say: Say,
) -> None:
    from distributed import as_completed

    from carecircle.sources.network import CACHE_ENV, cache_dir

    # A local cluster's workers share this machine: give them the caller's road cache.
    cache = str(cache_dir().resolve()) if scheduler is None else os.environ.get(CACHE_ENV)
    with _dask_logs_quiet(), _client(scheduler, min(workers, len(jobs)), say) as client:
        submitted = []
        for job in jobs:
            future = client.submit(
                run_county,
                str(job.path),
                str((out / job.name).resolve()),
                cache,
                key=f"county-{job.name}-{time.time_ns()}",
                pure=False,
            )
            submitted.append((future, job))
        say(f"      已提交 {len(jobs)} 个县 / {len(jobs)} county task(s) submitted")
        by_key = {future.key: job for future, job in submitted}
        for future in as_completed([f for f, _ in submitted]):
            job = by_key[future.key]
            if future.status == "error":
                reason = one_line(future.exception())
                result = CountyResult(job.given, job.name, "failed", job.title, reason)
            else:
                value = future.result()
                result = CountyResult(
                    job.given,
                    job.name,
                    value["status"],
                    job.title,
                    value.get("reason"),
                    value.get("headline", {}),
                    value.get("seconds"),
                )
            results[job.index] = result
            say(f"[{len(results)}/{n}] {job.name}: {_status_line(result)}")


def _status_line(result: CountyResult) -> str:
    if result.status == "failed":
        return f"失败 / failed: {result.reason}"
    share = result.headline.get("village_circle", {}).get("share")
    seconds = f" in {result.seconds:.1f} s" if result.seconds is not None else ""
    circle = f", 覆盖率 circle {share * 100:.1f}%" if share is not None else ""
    return f"完成 / done{seconds}{circle}"


@contextmanager
def _client(scheduler: str | None, workers: int, say: Say) -> Iterator[Any]:
    """A Dask client on the given scheduler, or on a LocalCluster started (and closed) here."""
    import logging

    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        say(f"      连接调度器 / connecting to the scheduler at {scheduler}")
        try:
            client = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise CareCircleError(
                f"无法连接 Dask 调度器 / cannot connect to the Dask scheduler at {scheduler} "
                f"({type(exc).__name__}: {exc}); check the address (tcp://host:8786) and that it runs"
            ) from None
        with client:
            yield client
        return
    say(
        f"      启动本地集群 / starting a local Dask cluster: {workers} 个进程 / worker process(es)"
    )
    # A county that kills its worker (out of memory) is tried once more, not three times.
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 1}),
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            silence_logs=logging.ERROR,
            # No dashboard; the scheduler's own HTTP endpoint on a free port of this machine
            # only, so that batches running side by side do not compete for port 8787.
            dashboard_address=None,
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@contextmanager
def _dask_logs_quiet() -> Iterator[None]:
    """distributed logs every connection at INFO; show its errors only, unless asked (-v)."""
    import logging

    logger = logging.getLogger("distributed")
    before = logger.level
    if logging.getLogger().getEffectiveLevel() >= logging.WARNING:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(before)


# --- province summary and index ------------------------------------------------------------------


def _write_province(counties: Sequence[CountyResult], out: Path) -> tuple[Path, Path]:
    records = [c.record() for c in counties]
    counted = [c for c in counties if c.status != "failed"]
    older = sum(c.headline.get("village_circle", {}).get("older") or 0.0 for c in counted)
    covered = sum(c.headline.get("village_circle", {}).get("older_covered") or 0.0 for c in counted)
    summary = {
        "counts": {
            "total": len(counties),
            "ok": sum(c.status == "ok" for c in counties),
            "skipped": sum(c.status == "skipped" for c in counties),
            "failed": sum(c.status == "failed" for c in counties),
        },
        "village_circle": {
            "older": older,
            "older_covered": covered,
            "share": covered / older if older > 0 else None,
        },
        "counties": records,
    }
    with staged_dir(out) as stage:
        text = json.dumps(clean_json(summary), ensure_ascii=False, indent=2, sort_keys=True)
        (stage / SUMMARY_FILE).write_text(text + "\n", encoding="utf-8")
        (stage / INDEX_FILE).write_text(_index_html(summary, counties), encoding="utf-8")
    return out / SUMMARY_FILE, out / INDEX_FILE


_STATUS_LABEL = {
    "ok": "完成 / ok",
    "skipped": "已完成（跳过）/ skipped, up to date",
    "failed": "失败 / failed",
}


def _fmt(value: Any, kind: str = "n") -> str:
    if value is None:
        return "–"
    if kind == "pct":
        return f"{value * 100:.1f}%"
    return f"{value:,.0f}"


def _index_html(summary: dict[str, Any], counties: Sequence[CountyResult]) -> str:
    """One self-contained page (no external requests): the table of counties with their links.

    Rendered by ``templates/province.html.j2``, which escapes every value: a county's title and
    the reason it failed (an error message quoting its data) show as text."""
    from carecircle.outputs.html import render

    rows = [
        {
            "name": c.name,
            "title": c.title or "",
            "status": c.status,
            "status_label": _STATUS_LABEL[c.status],
            "circle": c.headline.get("village_circle", {}),
            "quality": c.headline.get("data_quality", {}).get("banner", []),
            "gaps": c.headline.get("gaps"),
            "new_beds": c.headline.get("siting_new_beds"),
            "reason": c.reason or "",
            "href": quote(c.name),
        }
        for c in counties
    ]
    return render(
        "province.html.j2",
        counts=summary["counts"],
        total=summary["village_circle"],
        counties=rows,
        fmt=_fmt,
        summary_file=SUMMARY_FILE,
    )
