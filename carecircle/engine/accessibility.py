"""Coverage arithmetic on arrays: who is within a threshold, summed by area."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from carecircle.engine.graph import FloatArray, IntArray

__all__ = ["covered_share", "group_sums"]


def group_sums(values: npt.ArrayLike, groups: npt.ArrayLike, n_groups: int) -> FloatArray:
    """Sum ``values`` by group index ``0..n_groups-1``; negative indices (no group) are skipped."""
    v = np.asarray(values, dtype=np.float64).ravel()
    g = np.asarray(groups, dtype=np.int64).ravel()
    keep = g >= 0
    return np.bincount(g[keep], weights=v[keep], minlength=n_groups).astype(np.float64)


def covered_share(
    seconds: npt.ArrayLike,
    weights: npt.ArrayLike,
    groups: IntArray,
    n_groups: int,
    threshold_s: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Weighted totals and covered totals by group, and their ratio (NaN where a group is empty).

    A point is covered when its time is at most ``threshold_s`` (inclusive: 900 s is within
    15 minutes).
    """
    t = np.asarray(seconds, dtype=np.float64).ravel()
    w = np.asarray(weights, dtype=np.float64).ravel()
    total = group_sums(w, groups, n_groups)
    covered = group_sums(np.where(t <= threshold_s, w, 0.0), groups, n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, covered / np.where(total > 0, total, 1.0), np.nan)
    return total, covered, share
