"""The village-centre cover: fewest new village care centres so every village reaches one."""

from __future__ import annotations

import math
from time import perf_counter

import numpy as np
import numpy.typing as npt

from carecircle.locate._highs import (
    DEFAULT_MIP_GAP,
    DEFAULT_TIME_LIMIT,
    BoolArray,
    CostMatrix,
    IntArray,
    SitingResult,
    _empty_int,
    _result,
    _run,
)
from carecircle.locate._inputs import _as_matrix, _nearest_open, _selected
from carecircle.locate.covering import _cover, _covering_model
from carecircle.planning.regional import _reach_matrix


def _flags(values: npt.ArrayLike | None, size: int, name: str) -> BoolArray:
    if values is None:
        return np.zeros(size, dtype=bool)
    flags = np.asarray(values, dtype=bool).ravel()
    if flags.shape != (size,):
        raise ValueError(
            f"{name} 应有 {size} 个值 / {name} must have {size} values, got {flags.size}"
        )
    return flags


def _village_note(in_existing: int, missing: IntArray) -> str:
    note = f"其中 {in_existing} 个利用现有建筑 / {in_existing} in existing buildings"
    if missing.size:
        note += (
            f"; {missing.size} 个需求点没有任何候选点可达，需要新增候选点 / {missing.size} demand "
            "points reach no candidate and need a new candidate site"
        )
    return note


def site_village_centres(
    coverage: CostMatrix,
    *,
    threshold: float | None = None,
    existing_building: npt.ArrayLike | None = None,
    already_covered: npt.ArrayLike | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    mip_gap: float = DEFAULT_MIP_GAP,
) -> SitingResult:
    r"""Fewest new village care centres so that every village reaches one (rule circle-15min).

    A set-covering model with a lexicographic tie-break towards existing buildings (idle
    schools, village offices: rule ``idle-assets``). With :math:`e_j = 1` for a candidate in an
    existing building and ``m`` candidates:

    .. math::

        \min \sum_j \big((m + 1) - e_j\big)\, y_j \quad\text{s.t.}\quad
        \sum_{j\in N_i} y_j \ge 1\ \ \forall i \text{ not yet covered and coverable},\qquad
        y\in\{0,1\}^m

    One centre more costs ``m + 1``, more than any number of existing buildings can save
    (at most ``m``), so the optimum opens the fewest centres and, among all such plans, uses
    the most existing buildings.

    Parameters
    ----------
    coverage
        Village × candidate matrix: boolean (True = reachable within 15 minutes), or walking
        seconds with ``threshold`` (e.g. 900); sparse: a missing entry is *not reachable*.
    threshold
        Seconds, when ``coverage`` holds times.
    existing_building
        Boolean per candidate: an existing building that can be converted.
    already_covered
        Boolean per village: already within reach of an operating centre (left out).
    time_limit, mip_gap
        As in :func:`solve_lscp`.

    Returns
    -------
    SitingResult
        ``objective`` = number of new centres; ``uncoverable`` lists the villages (not already
        covered) that no candidate reaches: they need a new candidate site, and are named in
        the message rather than dropped.
    """
    start = perf_counter()
    reach = _reach_matrix(coverage, threshold)
    n, m = reach.shape
    existing = _flags(existing_building, m, "existing_building")
    done = _flags(already_covered, n, "already_covered")
    todo = np.flatnonzero(~done)
    cover = _cover(reach[todo])
    weight = (m + 1.0) - existing.astype(np.float64)
    out = _run(
        _covering_model(cover.groups, weight, np.zeros(m, dtype=bool)),
        time_limit=time_limit,
        mip_gap=mip_gap,
    )
    selected = _selected(out.x, m) if out.x is not None else _empty_int()
    count = float(selected.size) if out.x is not None else math.nan
    bound = math.ceil(out.bound / (m + 1.0) - 1e-9) if math.isfinite(out.bound) else out.bound
    bound = count if out.status == "optimal" else float(bound)
    missing = todo[cover.uncoverable]
    extra = _village_note(int(existing[selected].sum()), missing)
    assignment = np.full(n, -1, dtype=np.int64)
    assignment[todo] = _nearest_open(
        _as_matrix(coverage) if threshold is not None else reach.astype(np.float64),
        selected,
        threshold if threshold is not None else math.inf,
    )[todo]
    return _result(
        "village-centres",
        out.status,
        count,
        bound,
        selected,
        assignment,
        start=start,
        time_limit=time_limit,
        extra=extra,
        uncoverable=missing.astype(np.int64),
    )
