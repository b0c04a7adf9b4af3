"""Layers a run's outputs draw and export, derived once per run from the RunResult.

The map, the GeoPackage and the workbook all need the isochrones (seconds of work at county
scale), the grid of older residents outside the circle, the gaps by place and the recommended
sites; :func:`output_layers` makes them once, in the working CRS, at full detail. Display
simplification happens in ``maps``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS

from carecircle.outputs.isochrones import isochrones
from carecircle.pipeline import RunResult
from carecircle.recommend import SITE_COLUMNS

__all__ = [
    "OutputLayers",
    "UncoveredGrid",
    "gap_features",
    "isochrone_minutes",
    "output_layers",
    "site_features",
    "uncovered_grid",
]

log = logging.getLogger(__name__)

# A cell holding less than half an older resident rounds to nobody: the grid would be noise.
MIN_OLDER = 0.5
# Above this many cells the grid is summed onto coarser squares, so a map stays light.
MAX_CELLS = 20_000
# The tiers' own grids are switched on by those who look for them: coarser, so a page stays light.
TIER_MAX_CELLS = 5_000


@dataclass(frozen=True)
class UncoveredGrid:
    """Older residents outside the circle, as squares of ``cell_m`` (the raster's cells, or
    blocks of them when there are more than ``MAX_CELLS``).

    ``cells`` has columns ``older``, ``minutes`` (walk to the nearest centre; NaN when none is
    reachable) and the square as geometry. ``older_shown`` / ``older_uncovered`` says how much of
    the uncovered older population the squares hold (cells under ``min_older`` are left out).
    """

    cells: gpd.GeoDataFrame
    cell_m: float
    min_older: float
    older_shown: float
    older_uncovered: float


@dataclass(frozen=True)
class OutputLayers:
    isochrones: gpd.GeoDataFrame
    uncovered: UncoveredGrid
    gaps: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame | None
    tiers: dict[str, UncoveredGrid] = field(default_factory=dict)
    """Older residents beyond each scored tier's own reach (``summary.tiers.<tier>``)."""


def output_layers(result: RunResult) -> OutputLayers:
    """Everything the outputs draw beyond the run's own tables, computed once."""
    threshold = result.summary["village_circle"]["minutes"]
    return OutputLayers(
        isochrones=isochrones(
            result.graph, result.node_seconds, result.crs, minutes=isochrone_minutes(threshold)
        ),
        uncovered=uncovered_grid(result),
        gaps=gap_features(result),
        sites=site_features(result),
        tiers={
            name: uncovered_grid(
                result,
                column=f"{name}_seconds",
                minutes=float(t["minutes"]),
                max_cells=TIER_MAX_CELLS,
            )
            for name, t in result.summary.get("tiers", {}).items()
            if f"{name}_seconds" in result.cells.columns
        },
    )


def isochrone_minutes(threshold: float) -> tuple[float, ...]:
    """Five-minute steps up to a threshold of 20 minutes or less that is a multiple of five (5,
    10, 15 for the 15-minute circle; 5, 10, 15, 20 for 20), else thirds of the threshold."""
    if threshold <= 20 and float(threshold) % 5 == 0:
        return tuple(float(m) for m in range(5, int(threshold) + 1, 5))
    return tuple(round(threshold * k / 3, 2) for k in (1, 2, 3))


# --- the uncovered grid ----------------------------------------------------------------------


def _cell_size(result: RunResult) -> tuple[float, float]:
    """Width and height in metres of the demand cells: the raster's own cells, else the working
    grid. A raster square in degrees (WorldPop) has cells narrower than tall by cos(latitude);
    drawn as squares of the same area they would leave gaps between rows."""
    raster = result.summary.get("inputs", {}).get("raster", {})
    if raster.get("method") == "cells":
        size = raster.get("cell_m") or next(
            (b.get("cell_m") for b in raster.get("older_rasters", [])), None
        )
        if size:
            crs = raster.get("crs") or next(
                (b.get("crs") for b in raster.get("older_rasters", [])), None
            )
            aspect = 1.0
            if crs and CRS.from_user_input(crs).is_geographic and len(result.cells):
                lat = result.cells.geometry.to_crs(4326).y.median()
                aspect = math.sqrt(max(math.cos(math.radians(float(lat))), 0.1))
            return float(size) * aspect, float(size) / aspect
    grid = float(result.scenario.data.population.grid_m)
    return grid, grid


def uncovered_grid(
    result: RunResult,
    *,
    min_older: float = MIN_OLDER,
    max_cells: int = MAX_CELLS,
    column: str = "seconds",
    minutes: float | None = None,
) -> UncoveredGrid:
    """Squares where older residents live beyond the circle's minutes (by default), or beyond
    ``minutes`` by the cells' ``column`` of seconds (a tier's own reach: ``township_seconds``)."""
    limit = result.summary["village_circle"]["minutes"] if minutes is None else minutes
    threshold = float(limit) * 60.0
    cells = result.cells
    seconds = cells[column].to_numpy(dtype=np.float64)
    outside = seconds > threshold
    older_all = cells["older"].to_numpy(dtype=np.float64)
    x = cells["x"].to_numpy(dtype=np.float64)[outside]
    y = cells["y"].to_numpy(dtype=np.float64)[outside]
    older = older_all[outside]
    minutes_out = seconds[outside] / 60.0
    width, height = _cell_size(result)
    size = math.sqrt(width * height)
    factor = 1
    while True:
        gx, gy, g_older, g_minutes = _blocks(x, y, older, minutes_out, size, factor)
        keep = g_older >= min_older
        if keep.sum() <= max_cells or factor >= 10:
            break
        factor += 1
    if factor > 1:
        log.info("uncovered grid summed onto %g m squares (%d cells)", size * factor, keep.sum())
    side = size * factor
    # The raster's own cells keep their shape; blocks of several are squares.
    w, h = (width, height) if factor == 1 else (side, side)
    squares = shapely.box(gx[keep] - w / 2, gy[keep] - h / 2, gx[keep] + w / 2, gy[keep] + h / 2)
    frame = gpd.GeoDataFrame(
        {
            "older": g_older[keep],
            "minutes": np.where(np.isfinite(g_minutes[keep]), g_minutes[keep], np.nan),
        },
        geometry=squares,
        crs=result.crs,
    )
    return UncoveredGrid(
        cells=frame,
        cell_m=side,
        min_older=min_older,
        older_shown=float(g_older[keep].sum()),
        older_uncovered=float(older.sum()),
    )


def _blocks(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    older: npt.NDArray[np.float64],
    minutes: npt.NDArray[np.float64],
    size: float,
    factor: int,
) -> tuple[npt.NDArray[np.float64], ...]:
    """Cells summed onto ``factor`` × ``factor`` blocks; minutes weighted by older residents."""
    if factor == 1 or len(x) == 0:
        return x, y, older, minutes
    side = size * factor
    x0, y0 = x.min() - size / 2, y.min() - size / 2
    ix = np.floor((x - x0) / side).astype(np.int64)
    iy = np.floor((y - y0) / side).astype(np.int64)
    key = ix * (iy.max() + 1) + iy
    uniq, inverse = np.unique(key, return_inverse=True)
    total = np.bincount(inverse, weights=older)
    finite = np.isfinite(minutes)
    w = np.where(finite, older, 0.0)
    weighted = np.bincount(inverse, weights=np.where(finite, minutes * older, 0.0))
    reached = np.bincount(inverse, weights=w)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_minutes = np.where(reached > 0, weighted / reached, np.inf)
    bx, by = uniq // (iy.max() + 1), uniq % (iy.max() + 1)
    cx = (x0 + (bx + 0.5) * side).astype(np.float64)
    cy = (y0 + (by + 0.5) * side).astype(np.float64)
    return cx, cy, total.astype(np.float64), mean_minutes.astype(np.float64)


# --- gaps --------------------------------------------------------------------------------------


def gap_features(result: RunResult) -> gpd.GeoDataFrame:
    """One feature per place with gaps: its geometry and every reason with its rule and clause.

    ``reasons_zh`` / ``reasons_en`` hold one line per gap: the reason, then the rule id and the
    clause it rests on.
    """
    shapes = {
        "village": result.villages.set_index("id").geometry,
        "township": result.townships.set_index("id").geometry,
        "facility": result.facilities.set_index("id").geometry,
    }
    groups: dict[tuple[str, str], list[Any]] = {}
    for g in result.gaps.gaps:
        groups.setdefault((g.scope, g.object_id), []).append(g)
    rows = []
    for (scope, oid), items in groups.items():
        geom = shapes[scope].get(oid) if scope in shapes else None
        if geom is None:
            continue
        rows.append(
            {
                "scope": scope,
                "object_id": oid,
                "name": items[0].object_name,
                "township": items[0].township,
                "gaps": len(items),
                "kinds": ", ".join(sorted({g.kind for g in items})),
                "reasons_zh": "\n".join(
                    f"{g.reason_zh}〔{g.rule_id}：{g.citation}〕" for g in items
                ),
                "reasons_en": "\n".join(
                    f"{g.reason_en} [{g.rule_id}: {g.citation}]" for g in items
                ),
                "geometry": geom,
            }
        )
    columns = [
        "scope",
        "object_id",
        "name",
        "township",
        "gaps",
        "kinds",
        "reasons_zh",
        "reasons_en",
    ]
    if not rows:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=result.crs)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=result.crs)


# --- recommended sites -------------------------------------------------------------------------


_TEXT_COLUMNS = (
    "id",
    "name",
    "kind",
    "candidate_id",
    "land_use",
    "zone",
    "villages",
    "townships",
    "note",
)


def site_features(result: RunResult) -> gpd.GeoDataFrame | None:
    """The siting model's recommended sites (None when the run solved no siting problem)."""
    if result.siting is None:
        return None
    sites = result.siting.sites
    frame = sites.copy()
    for col in SITE_COLUMNS:
        if col not in frame.columns:
            frame[col] = np.nan if col not in _TEXT_COLUMNS else ""
    if frame.crs is not None and result.crs is not None and frame.crs != result.crs:
        frame = frame.to_crs(result.crs)
    return gpd.GeoDataFrame(pd.DataFrame(frame[[*SITE_COLUMNS, "geometry"]]), crs=frame.crs)
