"""carecircle's siting solvers against spopt (PuLP + CBC) on OR-Library, in one run.

Instances (from ``../shared/data/benchmarks/orlib``):

* pmed1-pmed20: p-median and vertex p-center (published optima), plus LSCP at the published
  p-center radius (the optimum needs at most p sites) and MCLP with p sites one unit inside it;
* pmedcap01-pmedcap10: single-source capacitated p-median, floor-Euclidean costs;
* cap41: capacitated facility location with split demand.

Peers: spopt's ``PMedian``, ``PCenter``, ``LSCP`` and ``MCLP`` built with ``from_cost_matrix``
and solved by PuLP's bundled CBC. spopt has no single-source capacitated p-median with the
OR-Library objective (its capacitated ``PMedian`` weights costs by demand) and no fixed-charge
model, so pmedcap and cap41 are compared with the same formulations written directly in PuLP.
Times are wall seconds for the whole call, model building included, one thread each.

The peer's status is printed as PuLP reports it, ``LpStatus/LpSolution``: when CBC stops at its
time limit with an incumbent, PuLP sets ``status = 1`` ("Optimal") and only ``sol_status = 2``
("Solution Found") tells that it is unproven; spopt checks ``status`` alone. The last section
shows this next to carecircle's ``time_limit`` status and gap.

Usage::

    .venv/bin/python benchmarks/siting.py            # everything (about an hour: CBC is slow)
    .venv/bin/python benchmarks/siting.py --quick    # pmed1-5, pmed6-7, pmedcap01-03, cap41
    .venv/bin/python benchmarks/siting.py --no-peer  # carecircle only
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

import numpy as np

from carecircle.locate import (
    SitingResult,
    orlib,
    solve_capacitated_pmedian,
    solve_cflp,
    solve_lscp,
    solve_mclp,
    solve_pcenter,
    solve_pmedian,
)

ORLIB = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "benchmarks" / "orlib"


@dataclass(frozen=True)
class Run:
    value: float
    status: str
    seconds: float


@dataclass(frozen=True)
class Row:
    instance: str
    model: str
    published: str
    ours: Run
    peer: Run | None
    peer_name: str


# --- peers ---------------------------------------------------------------------------------------


def _pulp() -> Any:
    import pulp

    return pulp


def _peer_run(build: Callable[[], Any], time_limit: float) -> Run:
    """Build and solve a PuLP problem (or an spopt model holding one); read PuLP's status."""
    pulp = _pulp()
    start = perf_counter()
    model = build()
    problem = model if isinstance(model, pulp.LpProblem) else model.problem
    solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit)
    try:
        if isinstance(model, pulp.LpProblem):
            problem.solve(solver)
        else:
            model.solve(solver, results=False)
    except RuntimeError:
        pass  # spopt's check_status: the status is read from the problem below
    seconds = perf_counter() - start
    status = f"{pulp.LpStatus[problem.status]}/{pulp.LpSolution[problem.sol_status]}"
    # Without an integer solution PuLP leaves the LP relaxation's values: not a solution.
    has = problem.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    value = float(pulp.value(problem.objective)) if has else math.nan
    return Run(value, status, seconds)


def spopt_model(kind: str, cost: np.ndarray, **kw: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from spopt.locate import LSCP, MCLP, PCenter, PMedian
    n = cost.shape[0]
    if kind == "p-median":
        return PMedian.from_cost_matrix(cost, np.ones(n), p_facilities=kw["p"])
    if kind == "p-center":
        return PCenter.from_cost_matrix(cost, p_facilities=kw["p"])
    if kind == "lscp":
        return LSCP.from_cost_matrix(cost, service_radius=kw["radius"])
    return MCLP.from_cost_matrix(
        cost, np.ones(n), service_radius=kw["radius"], p_facilities=kw["p"]
    )


def pulp_capacitated(
    cost: np.ndarray,
    demand: np.ndarray,
    capacity: np.ndarray,
    p: int | None,
    fixed: np.ndarray | None,
    single: bool,
) -> Any:
    """The formulation of carecircle's capacitated models, written in PuLP."""
    pulp = _pulp()
    n, m = cost.shape
    prob = pulp.LpProblem("capacitated", pulp.LpMinimize)
    y = [pulp.LpVariable(f"y{j}", cat=pulp.LpBinary) for j in range(m)]
    cat = pulp.LpBinary if single else pulp.LpContinuous
    x = [[pulp.LpVariable(f"x{i}_{j}", 0, 1, cat=cat) for j in range(m)] for i in range(n)]
    opening = pulp.lpSum(float(fixed[j]) * y[j] for j in range(m)) if fixed is not None else 0
    prob += opening + pulp.lpSum(float(cost[i, j]) * x[i][j] for i in range(n) for j in range(m))
    for i in range(n):
        prob += pulp.lpSum(x[i]) == 1
    for j in range(m):
        prob += (
            pulp.lpSum(float(demand[i]) * x[i][j] for i in range(n)) <= float(capacity[j]) * y[j]
        )
        for i in range(n):
            prob += x[i][j] <= y[j]
    prob += pulp.lpSum(float(capacity[j]) * y[j] for j in range(m)) >= float(demand.sum())
    if p is not None:
        prob += pulp.lpSum(y) == p
    return prob


# --- the run -------------------------------------------------------------------------------------


def _ours(result: SitingResult) -> Run:
    return Run(result.objective, result.status, result.seconds)


def pmed_rows(k: int, args: argparse.Namespace) -> Iterator[Row]:
    inst = orlib.read_pmed(ORLIB / "pmed" / f"pmed{k}.txt")
    med = orlib.read_optima(ORLIB / "pmed" / "pmedopt_from_nicholasio.txt")[inst.name]
    cen = orlib.read_optima(ORLIB / "pmed" / "kcenteropt_from_timothy-ch-cheung.txt")[inst.name]
    tl, peer_tl = args.time_limit, args.peer_time_limit
    cases: list[tuple[str, str, Callable[[], SitingResult], dict[str, Any]]] = [
        (
            "p-median",
            f"{med:g}",
            lambda: solve_pmedian(inst.cost, inst.p, time_limit=tl),
            {"p": inst.p},
        ),
        (
            "p-center",
            f"{cen:g}",
            lambda: solve_pcenter(inst.cost, inst.p, time_limit=tl),
            {"p": inst.p},
        ),
        (
            "lscp",
            f"<= {inst.p}",
            lambda: solve_lscp(inst.cost, cen, time_limit=tl),
            {"radius": cen},
        ),
        (
            "mclp",
            "",
            lambda: solve_mclp(inst.cost, cen - 1, inst.p, time_limit=tl),
            {"radius": cen - 1, "p": inst.p},
        ),
    ]
    for model, published, ours, kw in cases:
        if model not in args.models:
            continue
        result = _ours(ours())
        peer = None
        if args.peer:
            peer = _peer_run(
                lambda model=model, kw=kw: spopt_model(model, inst.cost, **kw), peer_tl
            )
        yield Row(inst.name, model, published, result, peer, "spopt")


def pmedcap_rows(k: int, args: argparse.Namespace) -> Iterator[Row]:
    inst = orlib.read_pmedcap(ORLIB / "pmedcap" / f"pmedcap{k:02d}.txt")
    ours = solve_capacitated_pmedian(
        inst.cost, inst.p, inst.demand, inst.capacity, time_limit=args.time_limit
    )
    peer = None
    if args.peer:
        peer = _peer_run(
            lambda: pulp_capacitated(inst.cost, inst.demand, inst.capacity, inst.p, None, True),
            args.peer_time_limit,
        )
    yield Row(inst.name, "cap. p-median (single)", f"{inst.optimum:g}", _ours(ours), peer, "PuLP")


def cap_rows(args: argparse.Namespace) -> Iterator[Row]:
    inst = orlib.read_cap(ORLIB / "cap" / "cap41.txt")
    ours = solve_cflp(
        inst.cost, inst.fixed_cost, inst.demand, inst.capacity, time_limit=args.time_limit
    )
    peer = None
    if args.peer:
        peer = _peer_run(
            lambda: pulp_capacitated(
                inst.cost, inst.demand, inst.capacity, None, inst.fixed_cost, False
            ),
            args.peer_time_limit,
        )
    yield Row(inst.name, "CFLP (split)", "1040444.375", _ours(ours), peer, "PuLP")


def _fmt_value(v: float) -> str:
    if math.isnan(v):
        return "—"
    return f"{v:.3f}" if v != round(v) else f"{v:.0f}"


def _ratio(row: Row) -> str:
    if row.peer is None or row.ours.seconds <= 0:
        return ""
    ratio = row.peer.seconds / row.ours.seconds
    proven = row.peer.status.startswith("Optimal/Optimal") or row.peer.status.startswith(
        "Infeasible"
    )
    return f"{ratio:.1f}" if proven else f"≥ {ratio:.1f}"


HEADER = (
    "| instance | model | published | ours | status | s | peer | peer value | peer status "
    "| peer s | peer s / ours s |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def format_row(row: Row) -> str:
    peer = row.peer
    return (
        f"| {row.instance} | {row.model} | {row.published} | {_fmt_value(row.ours.value)} | "
        f"{row.ours.status} | {row.ours.seconds:.2f} | {row.peer_name if peer else ''} | "
        f"{_fmt_value(peer.value) if peer else ''} | {peer.status if peer else ''} | "
        f"{f'{peer.seconds:.2f}' if peer else ''} | {_ratio(row)} |"
    )


def honest_status_demo(args: argparse.Namespace) -> list[str]:
    """CBC stopped by its time limit on pmed6 and PuLP still says "Optimal"; ours says otherwise."""
    inst = orlib.read_pmed(ORLIB / "pmed" / "pmed6.txt")
    lines = ["", "Time-limited solves on pmed6 (p-median, published optimum 7824):", ""]
    lines.append("| solver | time limit s | value | reported status | bound | gap | s |")
    lines.append("|---|---|---|---|---|---|---|")
    for tl in (0.5, 1.5, args.time_limit):
        r = solve_pmedian(inst.cost, inst.p, time_limit=tl)
        lines.append(
            f"| carecircle | {tl:g} | {_fmt_value(r.objective)} | {r.status} | {r.bound:g} | "
            f"{r.gap:.2%} | {r.seconds:.2f} |"
        )
    if not args.peer:
        return lines
    pulp = _pulp()
    for tl in args.demo_time_limits:
        start = perf_counter()
        model = spopt_model("p-median", inst.cost, p=inst.p)
        try:
            model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=tl), results=False)
            verdict = "spopt accepts it"
        except RuntimeError:
            verdict = "spopt raises"
        problem = model.problem
        found = problem.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
        value = _fmt_value(pulp.value(problem.objective)) if found else "—"
        lines.append(
            f"| spopt + CBC | {tl:g} | {value} | status {problem.status} "
            f'"{pulp.LpStatus[problem.status]}", sol_status {problem.sol_status} '
            f'"{pulp.LpSolution[problem.sol_status]}"; {verdict} | — | — | '
            f"{perf_counter() - start:.2f} |"
        )
        if problem.status == pulp.LpStatusOptimal:
            break
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small subset")
    parser.add_argument("--no-peer", dest="peer", action="store_false", help="skip spopt/PuLP")
    parser.add_argument("--time-limit", type=float, default=600.0, help="ours, per solve")
    parser.add_argument("--peer-time-limit", type=float, default=300.0, help="CBC, per solve")
    parser.add_argument(
        "--demo-time-limits",
        type=float,
        nargs="+",
        default=[30.0, 60.0, 120.0],
        help="CBC time limits tried in the demo, until PuLP says Optimal",
    )
    parser.add_argument("--models", nargs="+", default=["p-median", "p-center", "lscp", "mclp"])
    args = parser.parse_args(argv)
    if not ORLIB.is_dir():
        print(f"OR-Library data not found at {ORLIB}", file=sys.stderr)
        return 2
    pmed = [1, 2, 3, 4, 5, 6, 7] if args.quick else list(range(1, 21))
    pmedcap = [1, 2, 3] if args.quick else list(range(1, 11))
    print(HEADER, flush=True)
    rows: list[Row] = []
    for row in _all_rows(pmed, pmedcap, args):
        rows.append(row)
        print(format_row(row), flush=True)
    for line in honest_status_demo(args):
        print(line, flush=True)
    wrong = [
        r
        for r in rows
        if r.published
        and not r.published.startswith("<=")
        and not math.isclose(r.ours.value, float(r.published), abs_tol=1e-6)
    ]
    if wrong:
        print(f"\n{len(wrong)} result(s) differ from the published optimum", file=sys.stderr)
    return 1 if wrong else 0


def _all_rows(pmed: list[int], pmedcap: list[int], args: argparse.Namespace) -> Iterator[Row]:
    for k in pmed:
        yield from pmed_rows(k, args)
    for k in pmedcap:
        yield from pmedcap_rows(k, args)
    yield from cap_rows(args)


if __name__ == "__main__":
    raise SystemExit(main())
