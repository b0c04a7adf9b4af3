"""Population grids (WorldPop, GHS-POP) and census tables -> demand points with older residents.

Only this module imports rasterio. Rasters are read through a window over the study area, so a
national WorldPop file costs no more than the county in it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import rasterio
import rasterio.features
import rasterio.windows
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

from carecircle.errors import DataError
from carecircle.scenario import OlderTable

__all__ = ["Demand", "demand_from_raster", "older_shares"]

log = logging.getLogger(__name__)
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Demand:
    """Populated grid cells inside the study area, as points in the working CRS."""

    x: FloatArray
    y: FloatArray
    population: FloatArray
    cell_area_m2: float
    report: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.x.shape[0])


def demand_from_raster(
    path: str | Path, area: BaseGeometry, area_crs: CRS | str, *, to_crs: CRS
) -> Demand:
    """Cells of a population raster whose centre lies in ``area``, as points in ``to_crs``.

    Parameters
    ----------
    path
        A single-band GeoTIFF of residents per cell (WorldPop ``ppp``, GHS-POP, ...), any CRS.
    area
        The study area polygon, in ``area_crs``.
    to_crs
        The working metric CRS.

    The report holds the raster's total within the window read, the total used (cell centres
    inside the area) and the cell count, so nothing is dropped silently.
    """
    path = Path(path)
    with rasterio.open(path) as src:
        if src.crs is None:
            raise DataError(
                f"{path}: 栅格缺少坐标系 / the raster has no CRS; set it with gdal_edit.py -a_srs EPSG:4326"
            )
        area_src = gpd.GeoSeries([area], crs=area_crs).to_crs(src.crs).iloc[0]
        window = _window(src, area_src, path)
        band = src.read(1, window=window, masked=True)
        transform = src.window_transform(window)
        values = np.ma.filled(band.astype(np.float64), 0.0)
        values[~np.isfinite(values)] = 0.0
        _check_values(values, path)
        inside = rasterio.features.geometry_mask(
            [area_src], out_shape=values.shape, transform=transform, invert=True
        )
        rows, cols = np.nonzero(inside & (values > 0))
        xs, ys = rasterio.transform.xy(transform, rows, cols, offset="center")
        to_work = Transformer.from_crs(src.crs, to_crs, always_xy=True)
        wx, wy = to_work.transform(
            np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
        )
        pop = values[rows, cols]
        cell_area = _cell_area_m2(src, area_src, to_crs)
        report = {
            "file": path.name,
            "crs": src.crs.to_string(),
            "window_total": round(float(values.sum()), 3),
            "total_in_area": round(float(pop.sum()), 3),
            "outside_area": round(float(values.sum() - pop.sum()), 3),
            "cells_in_area": int(np.count_nonzero(inside)),
            "populated_cells": int(rows.size),
        }
    return Demand(np.asarray(wx), np.asarray(wy), pop, cell_area, report)


def _window(
    src: rasterio.io.DatasetReader, area: BaseGeometry, path: Path
) -> rasterio.windows.Window:
    left, bottom, right, top = area.bounds
    b = src.bounds
    if right <= b.left or left >= b.right or top <= b.bottom or bottom >= b.top:
        raise DataError(
            f"{path}: 栅格与研究区不重叠 / the raster does not overlap the study area "
            f"(raster bounds {tuple(round(v, 4) for v in b)}, area bounds "
            f"{tuple(round(v, 4) for v in area.bounds)}); check the file and the area"
        )
    window = rasterio.windows.from_bounds(left, bottom, right, top, transform=src.transform)
    window = window.round_offsets(op="floor").round_lengths(op="ceil")
    full = rasterio.windows.Window(0, 0, src.width, src.height)
    return window.intersection(full)


def _check_values(values: FloatArray, path: Path) -> None:
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


def older_shares(table: OlderTable) -> tuple[dict[str, float], dict[str, Any]]:
    """Share of residents aged 60+ by township code, from a census table.

    Returns the shares and the table's totals (for the report and as the county-wide fallback).
    """
    path = Path(table.path)
    if path.suffix.lower() in {".xlsx", ".xls"}:
        frame = pd.read_excel(path, sheet_name=table.sheet or 0, dtype=str)
    else:
        frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    missing = [c for c in (table.key, table.total, table.older) if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: 缺少字段 / missing column(s) {', '.join(map(repr, missing))}; "
            f"columns found: {', '.join(map(str, frame.columns))}; fix `older_table:` in the scenario"
        )
    keys = frame[table.key].str.strip()
    total = pd.to_numeric(frame[table.total], errors="coerce")
    older = pd.to_numeric(frame[table.older], errors="coerce")
    bad = total.isna() | older.isna() | (total <= 0) | (older < 0) | (older > total)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{path}: 第 {i + 2} 行数据无效 / row {i + 2}: {table.total}={frame[table.total].iloc[i]!r}, "
            f"{table.older}={frame[table.older].iloc[i]!r}; need numbers with 0 <= older <= total > 0"
        )
    if keys.duplicated().any():
        raise DataError(
            f"{path}: 乡镇代码重复 / duplicate {table.key} values ({', '.join(keys[keys.duplicated()].head(5))})"
        )
    shares = dict(zip(keys, (older / total).astype(float), strict=True))
    totals = {
        "file": path.name,
        "rows": len(frame),
        "residents": float(total.sum()),
        "older": float(older.sum()),
        "share": float(older.sum() / total.sum()),
    }
    return shares, totals
