"""carecircle's isochrone engine against networkx/osmnx's recipes, pandana and cityseer, in one run.

On the walk networks of two real counties (``../shared/data/osm/yuba-county.osm.pbf`` and
``imperial-county.osm.pbf``), with seeded random facilities and candidate sites on the main
network, each tool answers the same two questions on the same graph (same nodes, same arcs, same
seconds):

* nearest-facility times: every node's time to the nearest of 300 facilities, up to 60 minutes
  (pandana needs a search radius, so all get the same cap); with ``--uncapped`` also with no
  cap, as a run computes them, against networkx (pandana cannot);
* 15-minute catchments: for each of 1,000 candidate sites, the nodes within 15 minutes and their
  times.

Recipes:

* carecircle: ``nearest_times`` (one multi-source Dijkstra) and ``catchments``;
* networkx: ``single_source_dijkstra_path_length(G, source, cutoff=...)`` per facility or site on
  the osmnx-style ``MultiDiGraph`` (minimum over facilities for the nearest times);
* osmnx's isochrone recipe: ``nx.ego_graph(G, source, radius=..., distance="time")`` per
  facility or site (it gives the reached nodes; the nearest times are then looked up);
* pandana: ``Network`` (its contraction hierarchy: preprocessing, timed and counted in its total),
  ``set_pois`` + ``nearest_pois`` and ``nodes_in_range``;
* cityseer: a directed ``rustalgos.graph.NetworkStructure`` built node by node and arc by arc
  (``add_street_node``, ``add_street_edge`` with the straight segment between the arc's ends as
  geometry and ``imp_factor`` = arc seconds / segment length, then ``validate``; timed and counted
  in its total), then ``dijkstra_tree_shortest(source, max_seconds, speed_m_s=1.0)`` per
  facility or site, each reached node's ``agg_seconds`` read from the returned visits (minimum
  over facilities for the nearest times). cityseer walks ``length × imp_factor / speed``, so with
  that factor and 1 m/s it walks the graph's seconds. Its own accessibility layer
  (``layers.compute_accessibilities`` or ``DataMap.accessibility`` with the facilities as one land
  use, whose "nearest" is the distance to the nearest one) answers the nearest-time question too,
  but searches from every node rather than from every facility (about 20 s on Yuba in a trial,
  against about 1 s for the trees) and reaches a facility from the far end of its street by the
  street's geometric length, not its impedance (up to 0.6 s off), so the trees are used. A
  tree costs about 3 ms on Yuba whatever its limit (it returns a visit state for every node),
  so cityseer's 1,000 catchments take longer than its 300 nearest-time trees.

Times are wall seconds, the fastest of ``--repeat`` runs (3; ego_graph runs once, its times are
far above the noise); the tools run one after another, in one fresh process per county.
Memory is the peak resident set of the process during each tool's steps above what it held
before them (Linux: VmHWM, reset through /proc/self/clear_refs), and the whole process's peak
during carecircle's steps, which run first.
The answers are compared: the largest time difference against carecircle, and how many
reached (node, source) pairs differ and how many of those lie within 0.5 s of the limit. pandana
works with rounded edge weights internally, hence its ~0.1 s differences over long paths and
the few nodes it places on the other side of the limit. cityseer stores lengths and impedance
factors and sums times in float32, hence its ~1e-3 s differences over an hour's walk; its cutoff
is inclusive like carecircle's (a whole number of seconds, which 3,600 and 900 are).

Usage::

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/isochrones.py               # both counties (~1.5 minutes)
    .venv/bin/python benchmarks/isochrones.py --no-ego      # skip the slow ego_graph recipe
    .venv/bin/python benchmarks/isochrones.py --uncapped    # + nearest times with no cap
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import multiprocessing
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any, TypeVar

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
from pyproj import CRS

from carecircle.engine import TravelGraph, catchments, nearest_times
from carecircle.scenario import NetworkSource
from carecircle.sources import network

OSM = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "osm"
COUNTIES = ("yuba-county", "imperial-county")
T = TypeVar("T")


# --- measuring -----------------------------------------------------------------------------------


def _status_kb(field_name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


@dataclass
class Step:
    seconds: float = 0.0
    extra_mb: float = 0.0
    peak_mb: float = 0.0


@contextlib.contextmanager
def measured(step: Step) -> Iterator[None]:
    """Wall time and the peak RSS reached above the RSS at the start (Linux)."""
    gc.collect()
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _status_kb("VmRSS")
    start = perf_counter()
    yield
    step.seconds += perf_counter() - start
    peak = _status_kb("VmHWM")
    step.extra_mb = max(step.extra_mb, (peak - before) / 1024)
    step.peak_mb = max(step.peak_mb, peak / 1024)


def best_of(step: Step, repeat: int, run: Callable[[], T]) -> T:
    """Run ``repeat`` times; keep the fastest time (other processes share the machine)."""
    result: T | None = None
    seconds = []
    for _ in range(max(1, repeat)):
        trial = Step()
        with measured(trial):
            result = run()
        seconds.append(trial.seconds)
        step.extra_mb = max(step.extra_mb, trial.extra_mb)
        step.peak_mb = max(step.peak_mb, trial.peak_mb)
    step.seconds += min(seconds)
    assert result is not None
    return result


@dataclass
class Tool:
    name: str
    prepare: Step = field(default_factory=Step)
    nearest: Step = field(default_factory=Step)
    catch: Step = field(default_factory=Step)
    nearest_diff: float = float("nan")
    catch_diff: float = float("nan")
    differ: tuple[int, int] | None = None
    catch_nnz: int = 0
    uncapped: Step | None = None

    @property
    def total(self) -> float:
        return self.prepare.seconds + self.nearest.seconds + self.catch.seconds

    @property
    def extra_mb(self) -> float:
        return max(self.prepare.extra_mb, self.nearest.extra_mb, self.catch.extra_mb)


# --- the problem ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    county: str
    graph: TravelGraph
    facilities: np.ndarray
    candidates: np.ndarray
    cap_s: float
    catch_s: float


def load(county: str, n_facilities: int, n_candidates: int, seed: int) -> tuple[Problem, Tool]:
    """The county's walk graph (from carecircle's cached reader) and random sites on it."""
    tool = Tool("carecircle")
    roads = network.read_roads(NetworkSource(path=OSM / f"{county}.osm.pbf"))
    lon = float(np.median(roads.table.x))
    utm = CRS.from_epsg(32600 + int((lon + 180) // 6) + 1)
    with measured(tool.prepare):
        table = roads.project(utm).table
        graph = TravelGraph.from_roads(table, mode="walk", walk_speed_mps=1.0)
        _ = graph.max_speed_mps, graph.csr_reversed, graph.component, graph.junction_tree
        chains = graph.chains  # and what the searches cache on it
        _ = (
            chains.backward.compact,
            chains.forward.compact,
            chains.ends,
            chains.lengths,
            chains.ends_of,
        )
    rng = np.random.default_rng(seed)
    main = np.flatnonzero(graph.component == 0)
    problem = Problem(
        county,
        graph,
        rng.choice(main, n_facilities, replace=False),
        rng.choice(main, n_candidates, replace=False),
        3600.0,
        900.0,
    )
    return problem, tool


def run_carecircle(p: Problem, tool: Tool, repeat: int) -> tuple[np.ndarray, sp.csr_matrix]:
    seconds = best_of(
        tool.nearest, repeat, lambda: nearest_times(p.graph, p.facilities, limit=p.cap_s)[0]
    )
    matrix = best_of(tool.catch, repeat, lambda: catchments(p.graph, p.candidates, p.catch_s))
    return seconds, matrix


# --- networkx and osmnx's recipe -----------------------------------------------------------------


def osmnx_style_graph(g: TravelGraph) -> nx.MultiDiGraph:
    """The same arcs as an osmnx user holds them: a MultiDiGraph with a ``time`` per edge."""
    G = nx.MultiDiGraph(crs="projected")
    G.add_nodes_from((i, {"x": x, "y": y}) for i, (x, y) in enumerate(zip(g.x, g.y, strict=True)))
    coo = g.csr.tocoo()
    G.add_edges_from(
        (u, v, {"time": w})
        for u, v, w in zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
    )
    return G


def run_networkx(
    p: Problem, G: nx.MultiDiGraph, tool: Tool, repeat: int
) -> tuple[np.ndarray, sp.csr_matrix]:
    n = p.graph.n_nodes

    def nearest() -> np.ndarray:
        best = np.full(n, np.inf)
        for f in p.facilities.tolist():
            reached = nx.single_source_dijkstra_path_length(G, f, cutoff=p.cap_s, weight="time")
            nodes = np.fromiter(reached.keys(), np.int64, len(reached))
            times = np.fromiter(reached.values(), np.float64, len(reached))
            np.minimum.at(best, nodes, times)
        return best

    def catch() -> sp.csr_matrix:
        rows, cols, vals = [], [], []
        for k, c in enumerate(p.candidates.tolist()):
            reached = nx.single_source_dijkstra_path_length(G, c, cutoff=p.catch_s, weight="time")
            rows.append(np.full(len(reached), k))
            cols.append(np.fromiter(reached.keys(), np.int64, len(reached)))
            vals.append(np.fromiter(reached.values(), np.float64, len(reached)))
        return sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(p.candidates.size, n),
        )

    return best_of(tool.nearest, repeat, nearest), best_of(tool.catch, repeat, catch)


def run_ego_graph(p: Problem, G: nx.MultiDiGraph, tool: Tool) -> tuple[np.ndarray, sp.csr_matrix]:
    """osmnx's isochrone recipe: the subgraph within the radius of each source (run once)."""
    n = p.graph.n_nodes

    def nearest() -> np.ndarray:
        best = np.full(n, np.inf)
        for f in p.facilities.tolist():
            sub = nx.ego_graph(G, f, radius=p.cap_s, distance="time")
            # ego_graph gives the reached nodes; their times need a search of the subgraph.
            reached = nx.single_source_dijkstra_path_length(sub, f, weight="time")
            nodes = np.fromiter(reached.keys(), np.int64, len(reached))
            np.minimum.at(best, nodes, np.fromiter(reached.values(), np.float64, len(reached)))
        return best

    def catch() -> sp.csr_matrix:
        members = [
            np.fromiter(nx.ego_graph(G, c, radius=p.catch_s, distance="time").nodes, np.int64)
            for c in p.candidates.tolist()
        ]
        rows = np.repeat(np.arange(len(members)), [m.size for m in members])
        return sp.csr_matrix(
            (np.ones(rows.size), (rows, np.concatenate(members))), shape=(p.candidates.size, n)
        )

    return best_of(tool.nearest, 1, nearest), best_of(tool.catch, 1, catch)


# --- pandana -------------------------------------------------------------------------------------


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """pandana's C++ core prints progress to the process's stdout; keep the table readable."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def run_pandana(p: Problem, tool: Tool, repeat: int) -> tuple[np.ndarray, sp.csr_matrix]:
    import pandana

    g, n = p.graph, p.graph.n_nodes
    coo = g.csr.tocoo()

    def prepare() -> Any:
        with quiet_stdout(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pandana.Network(
                pd.Series(g.x),
                pd.Series(g.y),
                pd.Series(coo.row),
                pd.Series(coo.col),
                pd.DataFrame({"time": coo.data}),
                twoway=False,
            )

    net = best_of(tool.prepare, 1, prepare)

    def nearest() -> np.ndarray:
        with quiet_stdout():
            xs, ys = pd.Series(g.x[p.facilities]), pd.Series(g.y[p.facilities])
            net.set_pois("facility", p.cap_s, 1, xs, ys)
            found = net.nearest_pois(p.cap_s, "facility", num_pois=1)[1].to_numpy(np.float64)
        # pandana reports "nothing within the radius" as the radius itself.
        return np.where(found >= p.cap_s, np.inf, found)

    def catch() -> sp.csr_matrix:
        with quiet_stdout():
            reached = net.nodes_in_range(p.candidates.tolist(), p.catch_s, "time")
        row = pd.Index(p.candidates).get_indexer(reached["source"].to_numpy())
        return sp.csr_matrix(
            (reached["time"].to_numpy(np.float64), (row, reached["destination"].to_numpy())),
            shape=(p.candidates.size, n),
        )

    return best_of(tool.nearest, repeat, nearest), best_of(tool.catch, repeat, catch)


# --- cityseer ------------------------------------------------------------------------------------


def run_cityseer(p: Problem, tool: Tool, repeat: int) -> tuple[np.ndarray, sp.csr_matrix]:
    from cityseer import rustalgos

    g, n = p.graph, p.graph.n_nodes
    coo = g.csr.tocoo()

    def prepare() -> Any:
        net = rustalgos.graph.NetworkStructure()
        net.set_is_directed(True)  # the same arcs, each direction given as the graph has it
        xs, ys = g.x.tolist(), g.y.tolist()
        index = [
            net.add_street_node(i, x, y, True, 1.0)
            for i, (x, y) in enumerate(zip(xs, ys, strict=True))
        ]
        if index != list(range(n)):
            raise RuntimeError("cityseer numbered the nodes differently")
        # cityseer measures an edge by its geometry (the straight segment here) and walks
        # length × imp_factor / speed: the factor makes each arc exactly its seconds at 1 m/s.
        straight = np.hypot(g.x[coo.row] - g.x[coo.col], g.y[coo.row] - g.y[coo.col])
        if not np.all(straight > 0):
            raise RuntimeError("an arc joins two nodes at the same point; cityseer needs a length")
        factor = (coo.data / straight).tolist()
        for u, v, f in zip(coo.row.tolist(), coo.col.tolist(), factor, strict=True):
            wkt = f"LINESTRING ({xs[u]!r} {ys[u]!r}, {xs[v]!r} {ys[v]!r})"
            net.add_street_edge(u, v, 0, u, v, wkt, f)
        net.validate()
        return net

    net = best_of(tool.prepare, 1, prepare)

    def tree(source: int, limit: float) -> tuple[np.ndarray, np.ndarray]:
        reached, visits = net.dijkstra_tree_shortest(source, int(limit), 1.0)
        times = np.fromiter((visits[i].agg_seconds for i in reached), np.float64, len(reached))
        return np.asarray(reached, np.int64), times

    def nearest() -> np.ndarray:
        best = np.full(n, np.inf)
        for f in p.facilities.tolist():
            nodes, times = tree(f, p.cap_s)
            np.minimum.at(best, nodes, times)
        return best

    def catch() -> sp.csr_matrix:
        rows, cols, vals = [], [], []
        for k, c in enumerate(p.candidates.tolist()):
            nodes, times = tree(c, p.catch_s)
            rows.append(np.full(nodes.size, k))
            cols.append(nodes)
            vals.append(times)
        return sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(p.candidates.size, n),
        )

    return best_of(tool.nearest, repeat, nearest), best_of(tool.catch, repeat, catch)


# --- comparing and printing ----------------------------------------------------------------------


def compare(
    tool: Tool,
    mine: tuple[np.ndarray, sp.csr_matrix],
    theirs: tuple[np.ndarray, sp.csr_matrix],
    p: Problem,
    *,
    times: bool = True,
) -> None:
    """Largest time difference, and which reached nodes differ (other than at the limit)."""
    (a, ma), (b, mb) = mine, theirs
    both = np.isfinite(a) & np.isfinite(b)
    tool.nearest_diff = float(np.abs(a[both] - b[both]).max(initial=0.0))
    odd = np.isfinite(a) != np.isfinite(b)
    edge = int(np.count_nonzero(odd & (np.abs(np.where(np.isfinite(a), a, b) - p.cap_s) < 0.5)))
    pa, pb = _pattern(ma), _pattern(mb)
    differ = (pa != pb).tocoo()
    if times:  # the time of a pair only one reached, whichever did
        near = _values(ma.maximum(mb), differ.row, differ.col)
        edge += int(np.count_nonzero(np.abs(near - p.catch_s) < 0.5))
    tool.differ = (int(np.count_nonzero(odd)) + differ.nnz, edge)
    if times:
        common = pa.multiply(pb).tocoo()
        ta, tb = _values(ma, common.row, common.col), _values(mb, common.row, common.col)
        tool.catch_diff = float(np.abs(ta - tb).max(initial=0.0))


def _values(m: sp.spmatrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    picked = sp.csr_matrix(m)[rows, cols]
    return np.asarray(picked.todense() if sp.issparse(picked) else picked, np.float64).ravel()


def _pattern(m: sp.csr_matrix) -> sp.csr_matrix:
    out = m.copy()
    out.data[:] = 1
    return out


def report(p: Problem, tools: list[Tool]) -> None:
    cc = tools[0]
    g = p.graph
    print(
        f"\n## {p.county}: walk graph {g.n_nodes:,} nodes, {g.n_arcs:,} arcs; "
        f"{p.facilities.size} facilities, {p.candidates.size} candidates; "
        f"nearest capped at {p.cap_s / 60:.0f} min, catchments {p.catch_s / 60:.0f} min\n"
    )
    head = ["step"] + [t.name for t in tools]
    rows = [
        ["prepare graph"] + [f"{t.prepare.seconds:.2f}" for t in tools],
        ["nearest-facility times"] + [_vs(t.nearest.seconds, cc.nearest.seconds) for t in tools],
        ["15-min catchments"] + [_vs(t.catch.seconds, cc.catch.seconds) for t in tools],
        *(
            [["nearest, no cap (once)"] + [_vs_step(t.uncapped, cc.uncapped) for t in tools]]
            if cc.uncapped
            else []
        ),
        ["total: prepare + nearest + catchments"] + [_vs(t.total, cc.total) for t in tools],
        ["extra peak memory, MB"] + [f"{t.extra_mb:,.0f}" for t in tools],
        ["max time diff vs carecircle, s"]
        + ["—"]
        + [_diff(t.nearest_diff, t.catch_diff) for t in tools[1:]],
        ["reached nodes that differ"] + ["—"] + [_differ(t.differ) for t in tools[1:]],
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
    print(
        f"\ncarecircle's process peak RSS after its steps: {cc.prepare.peak_mb:,.0f} MB "
        f"(graph building), {cc.nearest.peak_mb:,.0f} MB (nearest), "
        f"{cc.catch.peak_mb:,.0f} MB (catchments); catchments stored {cc.catch_nnz:,} pairs"
    )


def _vs(seconds: float, reference: float) -> str:
    if not np.isfinite(seconds) or seconds == 0:
        return "—"
    return f"{seconds:.3f} ({seconds / reference:,.0f}×)" if reference > 0 else f"{seconds:.3f}"


def _vs_step(step: Step | None, reference: Step | None) -> str:
    if step is None or reference is None:
        return "—"
    return _vs(step.seconds, reference.seconds)


def _diff(nearest: float, catch: float) -> str:
    parts = [f"{nearest:.1e}" if np.isfinite(nearest) else "—"]
    parts.append(f"{catch:.1e}" if np.isfinite(catch) else "(sets only)")
    return " / ".join(parts)


def _differ(counts: tuple[int, int] | None) -> str:
    if counts is None:
        return "—"
    total, at_limit = counts
    if total == 0:
        return "none"
    return f"{total:,} ({at_limit:,} within 0.5 s of the limit)"


def compare_uncapped(p: Problem, G: nx.MultiDiGraph, cc: Tool, nxt: Tool) -> None:
    """Every node's time to its nearest facility however far (what a run computes), once each."""
    cc.uncapped, nxt.uncapped = Step(), Step()
    mine = best_of(cc.uncapped, 1, lambda: nearest_times(p.graph, p.facilities)[0])

    def recipe() -> np.ndarray:
        best = np.full(p.graph.n_nodes, np.inf)
        for f in p.facilities.tolist():
            reached = nx.single_source_dijkstra_path_length(G, f, weight="time")
            nodes = np.fromiter(reached.keys(), np.int64, len(reached))
            np.minimum.at(best, nodes, np.fromiter(reached.values(), np.float64, len(reached)))
        return best

    theirs = best_of(nxt.uncapped, 1, recipe)
    if not np.array_equal(np.isfinite(mine), np.isfinite(theirs)) or not np.allclose(
        mine[np.isfinite(mine)], theirs[np.isfinite(mine)], rtol=0, atol=1e-6
    ):
        sys.exit(f"{p.county}: uncapped nearest times differ from networkx")


# --- main ----------------------------------------------------------------------------------------


def bench_county(county: str, args: argparse.Namespace) -> None:
    p, cc = load(county, args.facilities, args.candidates, args.seed)
    mine = run_carecircle(p, cc, args.repeat)
    cc.catch_nnz = mine[1].nnz
    tools = [cc]
    nxt = Tool("networkx Dijkstra")
    with measured(nxt.prepare):
        G = osmnx_style_graph(p.graph)
    compare(nxt, mine, run_networkx(p, G, nxt, args.repeat), p)
    tools.append(nxt)
    if not args.no_ego:
        ego = Tool("osmnx ego_graph")
        ego.prepare = nxt.prepare
        compare(ego, mine, run_ego_graph(p, G, ego), p, times=False)
        tools.append(ego)
    if args.uncapped:
        compare_uncapped(p, G, cc, nxt)
    del G
    if not args.no_pandana:
        pan = Tool("pandana")
        compare(pan, mine, run_pandana(p, pan, args.repeat), p)
        tools.append(pan)
    if not args.no_cityseer:
        cs = Tool("cityseer")
        compare(cs, mine, run_cityseer(p, cs, args.repeat), p)
        tools.append(cs)
    report(p, tools)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counties", nargs="+", default=list(COUNTIES))
    parser.add_argument("--facilities", type=int, default=300)
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per query step, fastest kept (not ego_graph)"
    )
    parser.add_argument("--no-ego", action="store_true", help="skip osmnx's ego_graph recipe")
    parser.add_argument("--no-pandana", action="store_true", help="skip pandana")
    parser.add_argument("--no-cityseer", action="store_true", help="skip cityseer")
    parser.add_argument(
        "--uncapped",
        action="store_true",
        help="also time nearest times with no cap against networkx (a few minutes more)",
    )
    args = parser.parse_args(argv)
    print("# Isochrone engine: carecircle vs networkx, osmnx's recipe, pandana and cityseer")
    print("Times in seconds; (n×) is the time relative to carecircle's for the same step.")
    # One fresh process per county, so that each starts from the same memory and the peaks of
    # one county do not hide those of the next.
    spawn = multiprocessing.get_context("spawn")
    for county in args.counties:
        child = spawn.Process(target=bench_county, args=(county, args))
        child.start()
        child.join()
        if child.exitcode:
            sys.exit(f"{county}: the benchmark failed (exit code {child.exitcode})")


if __name__ == "__main__":
    main()
