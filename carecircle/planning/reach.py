"""How a figure spreads over places: the worst decile and the share of places meeting a target.

A county's average hides its mountain townships; :func:`spread` says how the townships (or the
villages) are spread around it, for the circle, each tier's reach and the beds within reach per
1,000 older residents. Plain arrays in, a plain dict out (``summary.equity``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["spread"]

# Fewer older residents than this outside a place's reach round to none (as the gaps judge it).
HALF_PERSON = 0.5
# How many of the worst places are named.
WORST_NAMED = 5


def spread(
    values: npt.ArrayLike,
    older: npt.ArrayLike,
    target: float,
    names: npt.ArrayLike | None = None,
    *,
    share: bool = True,
) -> dict[str, Any]:
    """The spread of one figure over places with older residents.

    Parameters
    ----------
    values
        The figure of each place (a share in 0..1, or beds per 1,000 older residents).
    older
        Older residents of each place; places with none are not judged (a sliver the study area
        clips would otherwise count as a place below target that nobody could help).
    target
        The figure a place should reach.
    names
        Display names of the places, for the worst ones listed.
    share
        ``values`` are shares of ``older``: a place short of the target by less than half an
        older resident meets it (a raster's fraction of a person is not a gap).

    Returns
    -------
    dict
        ``places`` (judged), ``meeting_target`` and ``share_meeting_target``, ``min``,
        ``worst_decile`` (the mean of the worst tenth of places, at least one), ``p10``
        (the 10th percentile, linear), ``median``, ``max``, and ``worst``: up to five places,
        worst first, as ``{"name", "value", "older"}``. All NaN (and no worst) when no place has
        older residents.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    w = np.asarray(older, dtype=np.float64).ravel()
    label = (
        np.asarray(names, dtype=object).ravel()
        if names is not None
        else np.array([str(i) for i in range(v.size)], dtype=object)
    )
    judged = (w > 0) & np.isfinite(v)
    v, w, label = v[judged], w[judged], label[judged]
    if v.size == 0:
        nan = float("nan")
        return {
            "places": 0,
            "meeting_target": 0,
            "share_meeting_target": nan,
            "min": nan,
            "worst_decile": nan,
            "p10": nan,
            "median": nan,
            "max": nan,
            "worst": [],
        }
    meets = v >= target - 1e-12
    if share:
        meets |= w * np.maximum(target - v, 0.0) < HALF_PERSON
    order = np.argsort(v, kind="stable")
    tenth = max(1, math.ceil(v.size / 10))
    return {
        "places": int(v.size),
        "meeting_target": int(meets.sum()),
        "share_meeting_target": float(meets.mean()),
        "min": float(v[order[0]]),
        "worst_decile": float(v[order[:tenth]].mean()),
        "p10": float(np.percentile(v, 10)),
        "median": float(np.median(v)),
        "max": float(v[order[-1]]),
        "worst": [
            {"name": str(label[i]), "value": float(v[i]), "older": round(float(w[i]), 1)}
            for i in order[:WORST_NAMED]
        ],
    }
