"""A whole county end to end — load, scores, gaps, siting, map — with stage times and peak memory.

Three counties, each run as ``carecircle run`` runs it (the same functions, the same outputs):

* ``demo-county``: the generated 青溪县 at full size (``scenarios/demo-county.yaml``; the data is
  generated into ``data/demo-county`` when missing);
* ``yuba-county`` and ``imperial-county``: the real OSM extracts in ``../shared/data/osm``, with
  their hospitals, clinics, social facilities and community centres as care points, their schools
  as candidate parcels and a generated population (``benchmarks/realcounty.py`` says what is real
  and what is generated).

Each county runs in fresh processes: first a run that fills the network cache (kept in the work
folder, so a fresh work folder makes it a cold run; its time is shown as "first run"), then the
measured run. The measured run's time is wall clock from the process
start (Python start-up and imports included) to the last output file; peak memory is that
process's maximum resident set. Stage times come from the run's own progress callbacks.

In the same run the travel-time stage is checked against networkx: every node's time to its
nearest care point (access legs included) by ``nx.multi_source_dijkstra_path_length`` on the same
arcs, the largest difference printed with the ratio of the two search times (carecircle's
junction graph is built first and its time printed alongside; the run's "times" stage includes it).

Usage::

    .venv/bin/python benchmarks/county.py                      # all three (~5 minutes)
    .venv/bin/python benchmarks/county.py yuba-county --json results.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import realcounty  # noqa: E402

CASES = ("demo-county", "yuba-county", "imperial-county")
GOAL_S, GOAL_MB = 60.0, 3 * 1024.0


# --- inputs --------------------------------------------------------------------------------------


def prepare(case: str, work: Path) -> Path:
    """The case's scenario file, its inputs written when missing."""
    if case == "demo-county":
        data = ROOT / "data" / "demo-county"
        if not (data / "manifest.json").exists():
            from carecircle.demo import generate_demo

            generate_demo(data, size="county", seed=2022)
        return ROOT / "scenarios" / "demo-county.yaml"
    county = realcounty.COUNTIES[case]
    folder = work / case
    path = folder / f"{case}.yaml"
    if not path.exists():
        realcounty.county_inputs(county, folder, amenities=realcounty.CARE_AMENITIES, parcels=True)
        realcounty.scenario(county, folder, siting=True)
    return path


# --- one run in its own process ------------------------------------------------------------------


def child(scenario: Path, out: Path, graph_file: Path | None) -> dict[str, Any]:
    """Run the scenario as `carecircle run` does, timing each stage (runs in a fresh process)."""
    from carecircle.outputs import write_outputs
    from carecircle.pipeline import run_scenario
    from carecircle.scenario import load_scenario

    imported = time.time()
    stages: list[tuple[str, float]] = []

    def mark(label: str) -> None:
        stages.append((label, time.perf_counter()))

    sc = load_scenario(scenario)
    result = run_scenario(sc, progress=lambda i, n, label: mark(label))
    write_outputs(result, out, progress=mark)
    mark("end")
    done = time.time()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times = {
        label.split(" / ")[-1]: round(stages[k + 1][1] - t, 2)
        for k, (label, t) in enumerate(stages[:-1])
    }
    s = result.summary
    siting = s.get("siting", {})
    if graph_file is not None:
        _save_problem(result, graph_file)
    return {
        "imported": imported,
        "done": done,
        "peak_mb": round(peak_mb, 1),
        "stages": times,
        "nodes": int(result.graph.n_nodes),
        "arcs": int(result.graph.n_arcs),
        "villages": len(result.villages),
        "older": round(float(s["village_circle"]["older"]), 1),
        "circle_share": round(float(s["village_circle"]["share"]), 4),
        "homes": {
            k: siting.get("regional_homes", {}).get(k) for k in ("status", "sites", "new_beds")
        },
        "centres": {k: siting.get("village_centres", {}).get(k) for k in ("status", "new_centres")},
    }


def _save_problem(result: Any, path: Path) -> None:
    """The walk graph, the care points' nodes and access seconds, and carecircle's answer."""
    from carecircle import engine

    g, f, t = result.graph, result.facilities, result.scenario.travel
    snap = engine.snap_points(
        g,
        f.geometry.x,
        f.geometry.y,
        max_distance_m=t.max_access_m,
        walk_speed_mps=t.walk_speed_mps,
    )
    use = (f["tier"] == "village").to_numpy() & (snap.status != engine.Snap.OFF_NETWORK)
    np.savez(
        path,
        indptr=g.indptr,
        indices=g.indices,
        seconds=g.seconds,
        x=g.x,
        y=g.y,
        node_ids=g.node_ids,
        sources=snap.node[use],
        access=snap.access_s[use],
        answer=result.node_seconds,
    )


def peer(graph_file: Path) -> dict[str, float]:
    """carecircle's nearest_times against networkx's multi-source Dijkstra on the same arcs."""
    import networkx as nx

    from carecircle.engine import TravelGraph, nearest_times

    z = np.load(graph_file)
    g = TravelGraph(z["indptr"], z["indices"], z["seconds"], z["x"], z["y"], z["node_ids"], "walk")
    sources, access = z["sources"], z["access"]
    start = time.perf_counter()
    _ = g.chains.backward.compact  # the junction graph: built once per graph, timed on its own
    chains_s = time.perf_counter() - start
    start = time.perf_counter()
    ours, _ = nearest_times(g, sources, source_seconds=access)
    ours_s = time.perf_counter() - start
    G = nx.DiGraph()
    G.add_nodes_from(range(g.n_nodes))
    coo = g.csr.tocoo()
    G.add_weighted_edges_from(
        zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
    )
    # The access legs: a virtual source joined to each care point's node by its access time.
    src = g.n_nodes
    best: dict[int, float] = {}
    for node, seconds in zip(sources.tolist(), access.tolist(), strict=True):
        best[node] = min(best.get(node, np.inf), seconds)
    G.add_weighted_edges_from((src, node, seconds) for node, seconds in best.items())
    start = time.perf_counter()
    theirs = nx.single_source_dijkstra_path_length(G, src)
    nx_s = time.perf_counter() - start
    other = np.full(g.n_nodes, np.inf)
    for node, seconds in theirs.items():
        if node != src:
            other[node] = seconds
    both = np.isfinite(ours) & np.isfinite(other)
    same_reach = bool(np.array_equal(np.isfinite(ours), np.isfinite(other)))
    return {
        "carecircle_s": ours_s,
        "chains_s": chains_s,
        "networkx_s": nx_s,
        "max_diff_s": float(np.abs(ours[both] - other[both]).max(initial=0.0)),
        "same_reach": same_reach,
        "run_matches": bool(np.allclose(ours, z["answer"], atol=1e-6, equal_nan=True)),
    }


def measure(case: str, work: Path) -> dict[str, Any]:
    scenario = prepare(case, work)
    out = work / "out" / case
    graph_file = work / f"{case}-graph.npz"
    # First run: fills the network cache (its time says what a first run on new data costs).
    start = time.time()
    _spawn(["--child", str(scenario), str(out), "-"], work)
    first = time.time() - start
    start = time.time()
    row = _spawn(["--child", str(scenario), str(out), str(graph_file)], work)
    row["case"], row["first_run_s"] = case, round(first, 1)
    row["import_s"] = round(row.pop("imported") - start, 2)
    row["total_s"] = round(row.pop("done") - start, 1)
    row["peer"] = json.loads(
        subprocess.run(
            [sys.executable, __file__, "--peer", str(graph_file)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    graph_file.unlink(missing_ok=True)
    return row


def _spawn(args: list[str], work: Path) -> dict[str, Any]:
    # The network cache lives in the work folder: the first run of a fresh one is really cold.
    env = {**os.environ, "CARECIRCLE_CACHE": str(work / "cache")}
    proc = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT, env=env
    )
    if proc.returncode != 0:
        raise SystemExit(f"{args}: exit {proc.returncode}\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


# --- the table -----------------------------------------------------------------------------------

SHOWN = (
    ("reading the study area and admin layers", "admin"),
    ("reading the road network", "roads"),
    ("building the travel graph", "graph"),
    ("reading the population grid", "population"),
    ("reading the care facilities", "facilities"),
    ("computing travel times", "times"),
    ("scoring coverage", "scores"),
    ("finding gaps against the targets", "gaps"),
    ("recommending sites", "siting"),
    ("isochrones and the uncovered grid", "isochrones"),
    ("writing the map", "map"),
    ("writing the report and data", "report"),
)


def table(rows: list[dict[str, Any]]) -> str:
    head = ["", *(r["case"] for r in rows)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def line(label: str, values: list[str]) -> None:
        lines.append(f"| {label} | " + " | ".join(values) + " |")

    line("walk nodes / arcs", [f"{r['nodes']:,} / {r['arcs']:,}" for r in rows])
    line("villages / older residents", [f"{r['villages']} / {r['older']:,.0f}" for r in rows])
    line("start-up and imports", [f"{r['import_s']:.1f} s" for r in rows])
    for key, short in SHOWN:
        line(short, [f"{r['stages'].get(key, float('nan')):.1f} s" for r in rows])
    line("**total (cache warm)**", [f"**{r['total_s']:.1f} s**" for r in rows])
    line("**peak memory**", [f"**{r['peak_mb'] / 1024:.2f} GB**" for r in rows])
    line("first run (cache cold)", [f"{r['first_run_s']:.1f} s" for r in rows])
    line("15-min circle share", [f"{r['circle_share']:.1%}" for r in rows])
    line(
        "regional homes",
        [
            f"{r['homes']['sites']} sites, {r['homes']['new_beds']} beds, {r['homes']['status']}"
            for r in rows
        ],
    )
    line(
        "new village centres",
        [f"{r['centres']['new_centres']}, {r['centres']['status']}" for r in rows],
    )
    line(
        "nearest times vs networkx",
        [
            f"{p['networkx_s'] / p['carecircle_s']:.0f}× faster ({p['chains_s']:.2f} s to build "
            f"the chains first), max diff {p['max_diff_s']:.1e} s"
            for p in (r["peer"] for r in rows)
        ],
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cases", nargs="*", default=list(CASES), help=", ".join(CASES))
    parser.add_argument("--work", type=Path, help="folder for inputs and outputs (default: temp)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    parser.add_argument(
        "--child", nargs=3, metavar=("SCENARIO", "OUT", "GRAPH"), help=argparse.SUPPRESS
    )
    parser.add_argument("--peer", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        scenario, out, graph = args.child
        print(json.dumps(child(Path(scenario), Path(out), None if graph == "-" else Path(graph))))
        return 0
    if args.peer:
        print(json.dumps(peer(args.peer)))
        return 0
    unknown = sorted(set(args.cases) - set(CASES))
    if unknown:
        parser.error(f"unknown county {', '.join(unknown)}; choose from {', '.join(CASES)}")
    work = args.work or Path(tempfile.mkdtemp(prefix="carecircle-county-"))
    print(f"{os.cpu_count()} cores; inputs and outputs in {work}", file=sys.stderr)
    rows = []
    for case in args.cases:
        print(f"{case} ...", file=sys.stderr)
        rows.append(measure(case, work))
        r = rows[-1]
        print(f"  {r['total_s']} s, {r['peak_mb']:.0f} MB", file=sys.stderr)
    print(table(rows))
    slow = [r["case"] for r in rows if r["total_s"] > GOAL_S or r["peak_mb"] > GOAL_MB]
    print(
        f"\ngoal: under {GOAL_S:.0f} s and {GOAL_MB / 1024:.0f} GB each — "
        + ("met by every county" if not slow else f"NOT met by {', '.join(slow)}")
    )
    wrong = [
        r["case"]
        for r in rows
        if not (
            r["peer"]["max_diff_s"] < 1e-6 and r["peer"]["same_reach"] and r["peer"]["run_matches"]
        )
    ]
    if wrong:
        print(f"travel times differ from networkx: {', '.join(wrong)}")
    if args.json:
        args.json.write_text(
            json.dumps(rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
