"""carecircle's floating-catchment and gravity access against the ``access`` package, in one run.

A county-sized sparse demand x supply matrix: 20,000 demand cells x 300 care points, 5 % of the
pairs reachable (stored), walking costs uniform in 0-1,800 s, a 15-minute catchment (900 s, so
~2.5 % of the pairs are in reach), demand 1-60 older residents a cell, supply 5-80 places a point.
Both tools get the same pairs: carecircle the ``scipy.sparse`` matrix, ``access`` (PySAL
spatial-access) the DataFrame of (origin, dest, cost) rows built from it (not timed). Weights:
Luo & Qi's step zones in seconds for E2SFCA and 3SFCA, a Gaussian decay (sigma 600 s) for
gravity; ``access`` gets the same weights as scalar functions (it applies them row by row), and
for 3SFCA only the pairs in reach (its selection weights then match Wan et al.'s, see
``carecircle.engine.accessibility.fca``).

Seconds are the fastest of ``--repeat`` runs for carecircle and of ``--peer-repeat`` for
``access``; each row also gives the largest relative difference of the results (NaN and inf
positions must agree).

Usage::

    .venv/bin/pip install -e '.[dev]'                      # access is a test dependency
    .venv/bin/python benchmarks/fca_vs_access.py           # a few seconds
    .venv/bin/python benchmarks/fca_vs_access.py --demand 2000 --supply 100   # smaller
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from carecircle.engine.accessibility import fca, gravity

STEPS = {300.0: 1.0, 600.0: 0.68, 900.0: 0.22}  # Luo & Qi (2009)'s zones, 5/10/15 minutes


def county_matrix(
    n: int, m: int, share: float, seed: int
) -> tuple[sp.csr_array, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    nnz = round(n * m * share)
    flat = rng.choice(n * m, size=nnz, replace=False)
    rows, cols = np.divmod(flat, m)
    cost = sp.csr_array((rng.uniform(0.0, 1800.0, nnz), (rows, cols)), shape=(n, m))
    demand = rng.integers(1, 61, n).astype(float)
    supply = rng.integers(5, 81, m).astype(float)
    return cost, supply, demand


def peer(cost: sp.csr_array, supply: np.ndarray, demand: np.ndarray, keep_below: float | None):
    from access import Access

    coo = sp.coo_array(cost)
    keep = np.ones(coo.nnz, bool) if keep_below is None else coo.data <= keep_below
    n = cost.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' deprecation notes on access's own code
        return Access(
            demand_df=pd.DataFrame({"geoid": np.arange(n), "pop": demand}),
            demand_index="geoid",
            demand_value="pop",
            supply_df=pd.DataFrame({"geoid": np.arange(cost.shape[1]) + n, "beds": supply}),
            supply_index="geoid",
            supply_value="beds",
            cost_df=pd.DataFrame(
                {"origin": coo.row[keep], "dest": coo.col[keep] + n, "cost": coo.data[keep]}
            ),
            cost_origin="origin",
            cost_dest="dest",
            cost_name="cost",
        )


def fastest(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def max_rel_diff(ours: np.ndarray, theirs: np.ndarray) -> str:
    if not np.array_equal(np.isnan(ours), np.isnan(theirs)) or not np.array_equal(
        np.isinf(ours), np.isinf(theirs)
    ):
        return "NaN/inf differ"
    ok = np.isfinite(ours) & (theirs != 0)
    diff = np.abs(ours[ok] / theirs[ok] - 1)
    return f"{diff.max():.1e}" if diff.size else "0"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--demand", type=int, default=20_000)
    parser.add_argument("--supply", type=int, default=300)
    parser.add_argument("--share", type=float, default=0.05, help="share of pairs reachable")
    parser.add_argument("--max-cost", type=float, default=900.0, help="catchment, seconds")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--peer-repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    import access.weights as aw

    cost, supply, demand = county_matrix(args.demand, args.supply, args.share, args.seed)
    n, limit = cost.shape[0], args.max_cost
    in_reach = int((cost.data <= limit).sum())
    print(
        f"{cost.shape[0]:,} demand x {cost.shape[1]:,} supply, {cost.nnz:,} pairs stored "
        f"({args.share:.0%}), {in_reach:,} within {limit:g} s; access {version('access')}, "
        f"numpy {np.__version__}, pandas {pd.__version__}\n"
    )
    full, reach = peer(cost, supply, demand, None), peer(cost, supply, demand, limit)

    def gaussian(c: np.ndarray) -> np.ndarray:
        return np.exp(-c * c / (2 * 600.0**2))

    def column(frame: pd.DataFrame) -> np.ndarray:
        return frame.iloc[:, -1].reindex(np.arange(n)).to_numpy(np.float64)

    step = aw.step_fn(STEPS)
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        (
            "2SFCA",
            lambda: fca(cost, supply, demand, max_cost=limit),
            lambda: column(full.two_stage_fca(name="a", max_cost=limit)),
        ),
        (
            "E2SFCA (steps)",
            lambda: fca(cost, supply, demand, max_cost=limit, method="e2sfca", weight=STEPS),
            lambda: column(full.two_stage_fca(name="b", max_cost=limit, weight_fn=step)),
        ),
        (
            "3SFCA (steps)",
            lambda: fca(cost, supply, demand, max_cost=limit, method="3sfca", weight=STEPS),
            lambda: column(reach.three_stage_fca(name="c", max_cost=limit, weight_fn=step)),
        ),
        (
            "gravity, Hansen (Gaussian)",
            lambda: gravity(cost, supply, weight=gaussian),
            lambda: column(full.weighted_catchment(name="d", weight_fn=aw.gaussian(600.0))),
        ),
        (
            "gravity, competition (Gaussian)",
            lambda: gravity(cost, supply, weight=gaussian, demand=demand),
            lambda: column(full.two_stage_fca(name="e", weight_fn=aw.gaussian(600.0))),
        ),
    ]
    print("| measure | carecircle s | access s (ratio) | max relative difference |")
    print("|---|---|---|---|")
    worst = 0.0
    for name, ours_fn, theirs_fn in cases:
        t_ours, ours = fastest(ours_fn, args.repeat)
        t_theirs, theirs = fastest(theirs_fn, args.peer_repeat)
        diff = max_rel_diff(ours, theirs)
        worst = max(worst, float("inf") if diff == "NaN/inf differ" else float(diff))
        print(
            f"| {name} | {t_ours:.4f} | {t_theirs:.3f} ({t_theirs / t_ours:,.0f}×) | {diff} |",
            flush=True,
        )
    return 0 if worst <= 1e-9 else 1


if __name__ == "__main__":
    raise SystemExit(main())
