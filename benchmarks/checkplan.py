"""``carecircle check-plan`` on the county demo, timed against a run and against an earlier tree.

The county demo (``scenarios/demo-county.yaml``, generated into the work folder) is run once to
get its ``recommended_plan.gpkg``; that plan is then checked by

* this tree's ``check-plan`` (reads the inputs once, scores the county without and with the
  plan, no siting models);
* the same command of an earlier commit (``--before REV``, default ``e681c00``: the tree whose
  check-plan ran the whole pipeline twice, siting MILP included), from a git worktree;
* and, for scale, this tree's ``carecircle run`` of the same scenario (siting included).

Each command runs ``--repeat`` times in a fresh process with the road cache warm; the table gives
the minimum and median wall-clock seconds, the peak memory and the ratio to this tree's
check-plan. The verdicts of the two check-plans are compared (they may differ where a fix in
between changed a verdict; the script says which rule ids differ).

Usage::

    .venv/bin/python benchmarks/checkplan.py                       # ~4 minutes
    .venv/bin/python benchmarks/checkplan.py --before e681c00 --repeat 3 --out benchmarks/results/checkplan.md
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CLI = "from carecircle.cli import main; main()"


def _timed(code: Path, args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one fresh process running the CLI of ``code``."""
    start = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M", sys.executable, "-c", CLI, "-q", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(code)},
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):  # check-plan exits 1 when a rule fails
        raise SystemExit(f"{code}: {' '.join(args)}: exit {proc.returncode}\n{proc.stderr[-3000:]}")
    return seconds, int(proc.stderr.strip().splitlines()[-1]) / 1024


def _worktree(rev: str, where: Path) -> Path:
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "-f", "--detach", str(where), rev],
        check=True,
        capture_output=True,
    )
    return where


def measure(before: str, repeat: int, work: Path) -> dict[str, Any]:
    env = {**os.environ, "CARECIRCLE_CACHE": str(work / "cache")}
    county = work / "root"
    (county / "scenarios").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "scenarios" / "demo-county.yaml", county / "scenarios")
    scenario = county / "scenarios" / "demo-county.yaml"
    if not (county / "data" / "demo-county" / "manifest.json").exists():
        _timed(
            ROOT,
            ["demo-data", "--out", str(county / "data" / "demo-county"), "--size", "county"],
            env,
            work,
        )
    _timed(ROOT, ["run", str(scenario), "--out", str(work / "run")], env, work)  # warms the cache
    plan = work / "run" / "recommended_plan.gpkg"
    old = _worktree(before, work / "before-tree")
    cases = {
        "check-plan (this tree)": (
            ROOT,
            [
                "check-plan",
                str(plan),
                "--scenario",
                str(scenario),
                "--out",
                str(work / "check-now"),
            ],
        ),
        f"check-plan ({before})": (
            old,
            [
                "check-plan",
                str(plan),
                "--scenario",
                str(scenario),
                "--out",
                str(work / "check-before"),
            ],
        ),
        "run (this tree)": (ROOT, ["run", str(scenario), "--out", str(work / "run-again")]),
    }
    rows: dict[str, dict[str, float]] = {}
    for name, (code, args) in cases.items():
        times, peaks = [], []
        for _ in range(repeat):
            seconds, peak = _timed(code, args, env, work)
            times.append(seconds)
            peaks.append(peak)
        rows[name] = {"min": min(times), "median": statistics.median(times), "peak_mb": max(peaks)}
        print(f"{name}: {rows[name]}", file=sys.stderr)
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], capture_output=True
    )
    now = json.loads((work / "check-now" / "verdicts.json").read_text(encoding="utf-8"))
    then = json.loads((work / "check-before" / "verdicts.json").read_text(encoding="utf-8"))

    def keyed(v: dict[str, Any]) -> dict[tuple[str, str], str]:
        return {(x["rule_id"], str(x.get("object_id"))): x["status"] for x in v["verdicts"]}

    a, b = keyed(now), keyed(then)
    differ = sorted({k[0] for k in a.keys() | b.keys() if a.get(k) != b.get(k)})
    return {"before": before, "repeat": repeat, "rows": rows, "verdict_rules_differing": differ}


def table(result: dict[str, Any]) -> str:
    rows = result["rows"]
    base = rows["check-plan (this tree)"]["median"]
    lines = [
        "| command | min s | median s | peak MB | median / this check-plan |",
        "|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['min']:.1f} | {r['median']:.1f} | {r['peak_mb']:,.0f} | "
            f"{r['median'] / base:.2f}x |"
        )
    differ = ", ".join(result["verdict_rules_differing"]) or "none"
    lines.append("")
    lines.append(f"Rules whose verdicts differ between the two trees: {differ}.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="e681c00", help="the earlier commit to compare with")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=None, help="work folder (default: a temp one)")
    parser.add_argument("--out", type=Path, default=None, help="write the table here (markdown)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cc-checkplan-") as tmp:
        result = measure(args.before, args.repeat, args.work or Path(tmp))
    text = table(result)
    print(text)
    if args.out:
        args.out.write_text(
            "# check-plan on the county demo (2 cores)\n\n"
            "`.venv/bin/python benchmarks/checkplan.py` — warm road cache, fresh process each, "
            f"{result['repeat']} runs each.\n\n{text}\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
