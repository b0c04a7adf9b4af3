"""Population grids (WorldPop, GHS-POP), age-band rasters, village counts and census tables -> demand.

Only this module imports rasterio. Rasters are read through a window over the study area, so a
national WorldPop file costs no more than the county in it.

How a raster becomes demand points (decided once, here):

- **Cells as points** when every raster shares one grid whose cells are 50-250 m across (WorldPop's
  100 m, GHS-POP's 250 m, in any CRS, Mollweide included): each populated cell whose centre lies
  in the area is one point, at its centre, carrying its count. Nothing is resampled, so the total
  used is exactly the sum of those cells.
- **Summed onto a working grid** otherwise (cells coarser than 250 m would put people up to
  several hundred metres from where they live, a large error against a 900 m walk; cells finer
  than 50 m multiply the points for no gain; age bands on different grids cannot be added cell by
  cell): each window is reprojected onto one grid of ``grid_m`` cells in the working CRS with
  ``rasterio.warp.reproject(resampling=Resampling.sum)`` (GDAL >= 3.1), which spreads every source
  cell's count over the target cells by overlapping area. The target grid covers the whole window,
  so the total after reprojection equals the window's total; a difference over 0.1 % is an error.

Every report says what was read (the window total), what was used (the total with centres in the
area) and what was left outside, per file.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import rasterio
import rasterio.errors
import rasterio.features
import rasterio.warp
import rasterio.windows
import shapely
from affine import Affine
from pyproj import CRS, Transformer
from rasterio.windows import Window
from shapely.geometry.base import BaseGeometry

from carecircle import guard
from carecircle.errors import DataError, excerpt
from carecircle.scenario import InputLimits, OlderTable
from carecircle.sources.layers import read_table

__all__ = [
    "Demand",
    "demand_from_points",
    "demand_from_raster",
    "demand_from_rasters",
    "older_shares",
    "raster_total",
    "warp_sum",
]

log = logging.getLogger(__name__)
FloatArray = npt.NDArray[np.float64]

CELL_RANGE_M = (50.0, 250.0)
"""Cells in this size range are used as points as they are; others are summed onto the grid."""
TOLERANCE = 0.001
_RESIDENT_KEYS = ("window_total", "total_in_area", "outside_area")
"""Largest relative change of a raster's total allowed when it is reprojected (0.1 %)."""


@dataclass(frozen=True)
class Demand:
    """Demand points inside the study area, in the working CRS.

    ``population`` holds residents (NaN where the source gives older residents only); ``older``
    holds older residents when the source gives them (age bands, village counts), else None and
    the caller applies census shares.
    """

    x: FloatArray
    y: FloatArray
    population: FloatArray
    cell_area_m2: float
    report: dict[str, Any] = field(default_factory=dict)
    older: FloatArray | None = None

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass(frozen=True)
class _Window:
    """One raster's values over the area's window, with its grid."""

    path: Path
    values: FloatArray
    transform: Affine
    crs: CRS
    cell_m: float


def demand_from_raster(
    path: str | Path,
    area: BaseGeometry,
    area_crs: CRS | str,
    *,
    to_crs: CRS,
    grid_m: float = 100.0,
    max_cells: int | None = None,
) -> Demand:
    """Residents per cell from one population raster (see :func:`demand_from_rasters`)."""
    return demand_from_rasters(
        path, (), area, area_crs, to_crs=to_crs, grid_m=grid_m, max_cells=max_cells
    )


def demand_from_rasters(
    residents: str | Path | None,
    older: Sequence[str | Path],
    area: BaseGeometry,
    area_crs: CRS | str,
    *,
    to_crs: CRS,
    grid_m: float = 100.0,
    max_cells: int | None = None,
) -> Demand:
    """Demand points from a residents raster and/or age-band rasters summed into older residents.

    Parameters
    ----------
    residents
        Residents per cell (WorldPop ``ppp``, GHS-POP, ...), any CRS; optional when ``older`` is
        given (then ``Demand.population`` is NaN).
    older
        Age-band rasters (e.g. WorldPop ``A6065`` and ``A65PL``) whose sum is the older residents.
    area, area_crs
        The study area polygon and its CRS.
    to_crs
        The working metric CRS.
    grid_m
        The working grid's cell size, used when the rasters must be summed onto one grid.
    max_cells
        The most cells a window over the area may hold (``limits.raster_cells``); checked before
        the read.
    """
    paths = [Path(p) for p in older] + ([Path(residents)] if residents is not None else [])
    if not paths:
        raise ValueError("demand_from_rasters needs at least one raster")
    windows = [_read_window(p, area, area_crs, to_crs, max_cells) for p in paths]
    on_cells = _same_grid(windows) and all(
        CELL_RANGE_M[0] <= w.cell_m <= CELL_RANGE_M[1] for w in windows
    )
    if on_cells:
        frame, cell_area = windows[0], windows[0].cell_m ** 2
        grids = [w.values for w in windows]
        area_here = gpd.GeoSeries([area], crs=area_crs).to_crs(frame.crs).iloc[0]
    else:
        frame, grids, cell_area = _onto_grid(windows, area, area_crs, to_crs, grid_m)
        area_here = gpd.GeoSeries([area], crs=area_crs).to_crs(to_crs).iloc[0]
    inside = rasterio.features.geometry_mask(
        [area_here], out_shape=grids[0].shape, transform=frame.transform, invert=True
    )
    n_older = len(older)
    older_grid = np.sum(grids[:n_older], axis=0) if n_older else None
    residents_grid = grids[n_older] if residents is not None else None
    populated = sum(g for g in (older_grid, residents_grid) if g is not None) > 0
    rows, cols = np.nonzero(inside & populated)
    xs, ys = rasterio.transform.xy(frame.transform, rows, cols, offset="center")
    to_work = Transformer.from_crs(frame.crs, to_crs, always_xy=True)
    wx, wy = to_work.transform(np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64))
    report = _report(windows, grids, inside, n_older, on_cells, rows.size)
    return Demand(
        x=np.asarray(wx, dtype=np.float64),
        y=np.asarray(wy, dtype=np.float64),
        population=(
            residents_grid[rows, cols] if residents_grid is not None else np.full(rows.size, np.nan)
        ),
        cell_area_m2=float(cell_area),
        report=report,
        older=older_grid[rows, cols] if older_grid is not None else None,
    )


def _report(
    windows: list[_Window],
    grids: list[FloatArray],
    inside: npt.NDArray[np.bool_],
    n_older: int,
    on_cells: bool,
    populated: int,
) -> dict[str, Any]:
    """Totals read, used and left outside, per file; the residents raster's at the top level."""
    files: list[dict[str, Any]] = []
    for w, g in zip(windows, grids, strict=True):
        used = float(g[inside].sum())
        entry = {
            "file": w.path.name,
            "crs": w.crs.to_string(),
            "cell_m": round(w.cell_m, 1),
            "window_total": round(float(w.values.sum()), 3),
            "total_in_area": round(used, 3),
            "outside_area": round(float(g.sum()) - used, 3),
        }
        if not on_cells:
            entry["reprojected_total"] = round(float(g.sum()), 3)
        files.append(entry)
    # Reports read the residents' totals from the top level: None (shown "—") when none given.
    top = files[-1] if n_older < len(files) else dict.fromkeys(_RESIDENT_KEYS)
    report: dict[str, Any] = {
        **top,
        "method": "cells" if on_cells else "summed onto the working grid",
        "cells_in_area": int(np.count_nonzero(inside)),
        "populated_cells": populated,
    }
    if n_older:
        bands = files[:n_older]
        report["older_rasters"] = bands
        report["older_in_area"] = round(sum(b["total_in_area"] for b in bands), 3)
        report["older_outside_area"] = round(sum(b["outside_area"] for b in bands), 3)
    return report


def _read_window(
    path: Path, area: BaseGeometry, area_crs: CRS | str, to_crs: CRS, max_cells: int | None
) -> _Window:
    guard.data_file(path, "栅格 / raster")
    with _unreadable_as_data_error(path), rasterio.open(path) as src:
        area_src, window = checked_window(src, path, area, area_crs, max_cells)
        band = src.read(1, window=window, masked=True)
        values = np.ma.filled(band.astype(np.float64), 0.0)
        _check_values(values, path)
        cell = math.sqrt(_cell_area_m2(src, area_src, to_crs))
        return _Window(path, values, src.window_transform(window), CRS(src.crs), cell)


def checked_window(
    src: rasterio.io.DatasetReader,
    path: Path,
    area: BaseGeometry,
    area_crs: CRS | str,
    max_cells: int | None,
) -> tuple[BaseGeometry, Window]:
    """The area in the raster's CRS and the raster's window over it, refused when the raster has
    no CRS, misses the area or holds more than ``max_cells`` there (``limits.raster_cells``);
    no cell is read, so ``validate`` checks a raster the way ``run`` reads it."""
    if src.crs is None:
        raise DataError(
            f"{path}: 栅格缺少坐标系 / the raster has no CRS; set it with gdal_edit.py -a_srs EPSG:4326"
        )
    area_src = gpd.GeoSeries([area], crs=area_crs).to_crs(src.crs).iloc[0]
    window = _window(src, area_src, path)
    cells = int(window.height) * int(window.width)
    if max_cells is not None and cells > max_cells:
        raise guard.over_limit(
            path,
            "研究区窗口的栅格单元数",
            "the raster window over the study area holds",
            cells,
            max_cells,
            "raster_cells",
            " cells",
        )
    return area_src, window


@contextmanager
def _unreadable_as_data_error(path: Path) -> Iterator[None]:
    """A file GDAL cannot open or read (not a raster, truncated) is bad input, named as such."""
    try:
        yield
    except rasterio.errors.RasterioIOError as exc:
        detail = str(exc).replace(str(path), path.name).splitlines()[0] if str(exc) else ""
        raise DataError(
            f"{path}: 不是可读取的 GeoTIFF 栅格 / not a readable GeoTIFF raster ({detail}); "
            "check the file, or export it again as GeoTIFF (e.g. gdal_translate -of GTiff)"
        ) from None


def _same_grid(windows: list[_Window]) -> bool:
    first = windows[0]
    return all(
        w.crs == first.crs
        and w.values.shape == first.values.shape
        and w.transform.almost_equals(first.transform, precision=1e-9)
        for w in windows[1:]
    )


def _onto_grid(
    windows: list[_Window],
    area: BaseGeometry,
    area_crs: CRS | str,
    to_crs: CRS,
    grid_m: float,
) -> tuple[_Window, list[FloatArray], float]:
    """Every window summed onto one working grid covering all of them (totals preserved)."""
    boxes = [
        rasterio.warp.transform_bounds(
            w.crs,
            to_crs,
            *rasterio.transform.array_bounds(*w.values.shape, w.transform),
            densify_pts=21,
        )
        for w in windows
    ]
    left = math.floor(min(b[0] for b in boxes) / grid_m - 1) * grid_m
    bottom = math.floor(min(b[1] for b in boxes) / grid_m - 1) * grid_m
    right = math.ceil(max(b[2] for b in boxes) / grid_m + 1) * grid_m
    top = math.ceil(max(b[3] for b in boxes) / grid_m + 1) * grid_m
    shape = (round((top - bottom) / grid_m), round((right - left) / grid_m))
    transform = Affine(grid_m, 0.0, left, 0.0, -grid_m, top)
    grids = []
    for w in windows:
        out, _ = warp_sum(
            w.values, w.transform, w.crs, to_crs=to_crs, transform=transform, shape=shape
        )
        before = float(w.values.sum())
        after = float(out.sum())
        if abs(after - before) > TOLERANCE * max(before, 1.0):
            raise DataError(
                f"{w.path}: 重投影后人口总数变化 / reprojection changed the total from {before:,.1f} "
                f"to {after:,.1f} (more than 0.1 %); check the raster's nodata value and CRS"
            )
        grids.append(out)
    return _Window(windows[0].path, grids[0], transform, to_crs, grid_m), grids, grid_m**2


def warp_sum(
    values: FloatArray,
    src_transform: Affine,
    src_crs: CRS,
    *,
    to_crs: CRS | str,
    transform: Affine,
    shape: tuple[int, int],
) -> tuple[FloatArray, dict[str, float]]:
    """Reproject counts onto another grid, each source cell spread by overlapping area (sum).

    Returns the new grid and its totals before and after. Needs GDAL >= 3.1 (``Resampling.sum``).
    """
    if not hasattr(rasterio.enums.Resampling, "sum"):
        raise DataError(
            "重投影需要 GDAL 3.1 以上 / summing a raster onto another grid needs GDAL >= 3.1 "
            f"(found {rasterio.__gdal_version__}); upgrade rasterio or supply 100 m rasters"
        )
    out = np.zeros(shape, dtype=np.float64)
    rasterio.warp.reproject(
        np.ascontiguousarray(values, dtype=np.float64),
        out,
        src_transform=src_transform,
        src_crs=src_crs,
        dst_transform=transform,
        dst_crs=to_crs,
        resampling=rasterio.enums.Resampling.sum,
        src_nodata=None,
        dst_nodata=None,
    )
    return out, {"before": float(values.sum()), "after": float(out.sum())}


def raster_total(path: str | Path) -> float:
    """Sum of a single-band population raster's valid cells (nodata excluded; checked)."""
    path = guard.data_file(Path(path), "栅格 / raster")
    with _unreadable_as_data_error(path), rasterio.open(path) as src:
        values = np.ma.filled(src.read(1, masked=True).astype(np.float64), 0.0)
    _check_values(values, path)
    return float(values.sum())


def _window(
    src: rasterio.io.DatasetReader, area: BaseGeometry, path: Path
) -> rasterio.windows.Window:
    left, bottom, right, top = area.bounds
    b = src.bounds
    if right <= b.left or left >= b.right or top <= b.bottom or bottom >= b.top:
        raise DataError(
            f"{path}: 栅格与研究区不重叠 / the raster does not overlap the study area "
            f"(raster bounds {tuple(round(v, 4) for v in b)}, area bounds "
            f"{tuple(round(v, 4) for v in area.bounds)}, in {src.crs}); check the file and the area"
        )
    window = rasterio.windows.from_bounds(left, bottom, right, top, transform=src.transform)
    # Round the ends outwards, not the offset and the length separately: rounding the length
    # alone would cut the last row or column of cells the area reaches into.
    (r0, r1), (c0, c1) = window.toranges()
    rows = (max(math.floor(r0), 0), min(math.ceil(r1), src.height))
    cols = (max(math.floor(c0), 0), min(math.ceil(c1), src.width))
    return rasterio.windows.Window.from_slices(rows, cols)


def _check_values(values: FloatArray, path: Path) -> None:
    """Refuse cells that no population count can be: NaN/inf not declared as nodata, negatives."""
    bad = ~np.isfinite(values)
    if bad.any():
        raise DataError(
            f"{path}: {int(bad.sum())} 个像元人口为 NaN 或无穷 / cell(s) hold NaN or infinity that "
            "the raster does not declare as nodata; set nodata (gdal_edit.py -a_nodata nan) or fix them"
        )
    negative = values < 0
    if negative.any():
        raise DataError(
            f"{path}: {int(negative.sum())} 个像元人口为负 / cell(s) hold negative population "
            f"(lowest {values.min():g}); set the raster's nodata value or fix the cells"
        )


def _cell_area_m2(src: rasterio.io.DatasetReader, area: BaseGeometry, to_crs: CRS) -> float:
    """Area of one cell near the study area's centre, in m² of the working CRS."""
    c = area.centroid
    col, row = ~src.transform @ (c.x, c.y)
    x0, y0 = src.transform @ (int(col), int(row))
    x1, y1 = src.transform @ (int(col) + 1, int(row) + 1)
    box = gpd.GeoSeries.from_xy([x0, x1, x1, x0], [y0, y0, y1, y1], crs=src.crs).to_crs(to_crs)
    px, py = box.x.to_numpy(), box.y.to_numpy()
    return float(0.5 * abs(np.dot(px, np.roll(py, 1)) - np.dot(py, np.roll(px, 1))))


# --- village counts ------------------------------------------------------------------------------


def demand_from_points(
    frame: gpd.GeoDataFrame, area: BaseGeometry, *, grid_m: float = 100.0, source: str = ""
) -> Demand:
    """Demand from village points or polygons with counts (columns ``older`` and/or ``residents``).

    ``frame`` and ``area`` are in the working (metric) CRS. A point carries its counts as they are.
    A polygon's counts are spread evenly over the ``grid_m`` grid points inside it (a polygon
    smaller than a cell keeps one point inside it), so a large village is not all near or all far.
    Points (and grid points) outside ``area`` are reported, not used.
    """
    counts = [c for c in ("older", "residents") if c in frame.columns]
    if not counts:
        raise DataError(
            f"{source}: 村人口点没有人数字段 / the village counts layer maps no column to `older` "
            "or `residents`; map one in the scenario's `columns:`"
        )
    missing = frame[counts].isna().all(axis=1)
    if missing.any():
        raise DataError(
            f"{source}: {int(missing.sum())} 条记录没有人数 / feature(s) without a count "
            f"(first: row {int(np.flatnonzero(missing.to_numpy())[0]) + 1}); fill them or remove them"
        )
    xs, ys, owner, weight = _spread(frame.geometry.to_numpy(), grid_m)
    inside = shapely.contains_xy(area, xs, ys)
    values = {c: frame[c].to_numpy(dtype=np.float64)[owner] * weight for c in counts}
    report: dict[str, Any] = {
        "file": Path(source).name,
        "method": "village counts",
        "features": len(frame),
        "polygons_spread": int(frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).sum()),
        "points": int(inside.sum()),
    }
    for c, v in values.items():
        report[f"{c}_total"] = round(float(np.nansum(v)), 3)
        report[f"{c}_in_area"] = round(float(np.nansum(v[inside])), 3)
        report[f"{c}_outside_area"] = round(float(np.nansum(v[~inside])), 3)
    report.update(dict.fromkeys(_RESIDENT_KEYS))
    if "residents" in values:
        report["window_total"] = report["residents_total"]
        report["total_in_area"] = report["residents_in_area"]
        report["outside_area"] = report["residents_outside_area"]
    nan = np.full(int(inside.sum()), np.nan)
    return Demand(
        x=xs[inside],
        y=ys[inside],
        population=values["residents"][inside] if "residents" in values else nan,
        cell_area_m2=grid_m**2,
        report=report,
        older=values["older"][inside] if "older" in values else None,
    )


def _spread(
    geoms: npt.NDArray[np.object_], grid_m: float
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int64], FloatArray]:
    """Points of every geometry, the geometry each belongs to and its share of the counts."""
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    owner: list[npt.NDArray[np.int64]] = []
    weight: list[FloatArray] = []
    for i, geom in enumerate(geoms):
        if geom.geom_type in ("Polygon", "MultiPolygon"):
            x0, y0, x1, y1 = geom.bounds
            gx = np.arange(math.floor(x0 / grid_m), math.ceil(x1 / grid_m)) * grid_m + grid_m / 2
            gy = np.arange(math.floor(y0 / grid_m), math.ceil(y1 / grid_m)) * grid_m + grid_m / 2
            mx, my = (a.ravel() for a in np.meshgrid(gx, gy))
            keep = shapely.contains_xy(geom, mx, my)
            px, py = mx[keep], my[keep]
            if px.size == 0:
                point = geom.representative_point()
                px, py = np.array([point.x]), np.array([point.y])
        else:
            point = geom if geom.geom_type == "Point" else geom.representative_point()
            px, py = np.array([point.x]), np.array([point.y])
        xs.append(px)
        ys.append(py)
        owner.append(np.full(px.size, i, dtype=np.int64))
        weight.append(np.full(px.size, 1.0 / px.size))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(owner), np.concatenate(weight)


# --- census tables -------------------------------------------------------------------------------


def older_shares(
    table: OlderTable, *, limits: InputLimits | None = None
) -> tuple[dict[str, float], dict[str, Any]]:
    """Share of residents aged 60+ by township code, from a census table.

    Returns the shares and the table's totals (for the report and as the county-wide fallback).
    """
    path = Path(table.path)
    frame, encoding = read_table(path, sheet=table.sheet, limits=limits)
    missing = [c for c in (table.key, table.total, table.older) if c not in frame.columns]
    if missing:
        found = ", ".join(excerpt(c, 30, quote=False) for c in list(frame.columns)[:30])
        raise DataError(
            f"{path}: 缺少字段 / missing column(s) {', '.join(map(repr, missing))}; "
            f"columns found: {found}; fix `older_table:` in the scenario"
        )
    keys = frame[table.key].str.strip()
    total = pd.to_numeric(frame[table.total], errors="coerce")
    older = pd.to_numeric(frame[table.older], errors="coerce")
    bad = ~np.isfinite(total) | ~np.isfinite(older) | (total <= 0) | (older < 0) | (older > total)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{path}: 第 {i + 2} 行数据无效 / row {i + 2}: {table.total}="
            f"{excerpt(frame[table.total].iloc[i])}, {table.older}={excerpt(frame[table.older].iloc[i])}; "
            "need finite numbers with 0 <= older <= total > 0"
        )
    if keys.duplicated().any():
        dups = ", ".join(excerpt(k, 30, quote=False) for k in keys[keys.duplicated()].head(5))
        raise DataError(
            f"{path}: 乡镇代码重复 / duplicate {table.key} values ({dups}); give each township one row"
        )
    shares = dict(zip(keys, (older / total).astype(float), strict=True))
    totals = {
        "file": path.name,
        "encoding": encoding,
        "rows": len(frame),
        "residents": float(total.sum()),
        "residents_by_key": dict(zip(keys, total.astype(float), strict=True)),
        "older": float(older.sum()),
        "share": float(older.sum() / total.sum()),
    }
    return shares, totals
