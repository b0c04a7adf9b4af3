"""Population for a kit: WorldPop 2020 100 m grids, read as windows of the remote GeoTIFFs.

Only the window over the area is read, through GDAL's ``/vsicurl/`` (HTTP range requests), from
WorldPop's public paths for China (:data:`RESIDENTS_PATHS`, :data:`BAND_PATH`) under a base URL
(``--worldpop-url``, ``$CARECIRCLE_WORLDPOP_URL``, default :data:`DEFAULT_BASE_URL`), or from a
local file. Each window read over HTTP is kept in the cache (``worldpop/`` in
:func:`carecircle.kit.cache.cache_root`), and so is the fact that a URL does not exist, so a
second init reads nothing remote.

Calibration to the 2020 census (:mod:`carecircle.sources.census2020`): when the area *is* the
county, the 60+ age bands (female and male, 60-64 ... 80+) are summed and scaled by one factor
so the cells inside the county hold the census 60+ total; when the area is part of a county,
nothing is scaled and the scenario names ``census_county`` so the run applies the county's 60+
share to the residents grid (a part is never scaled to the whole county's total).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import rasterio
import rasterio.features
import rasterio.windows
from affine import Affine
from pyproj import CRS
from rasterio.warp import transform_bounds
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from carecircle.atomic import atomic_file
from carecircle.errors import DataError, excerpt
from carecircle.kit.cache import digest, read_json, write_json
from carecircle.kit.manifest import LayerRecord
from carecircle.sources import census2020
from carecircle.sources.census2020 import CountyCensus

__all__ = [
    "AGE_BANDS",
    "BAND_PATH",
    "DEFAULT_BASE_URL",
    "RESIDENTS_PATHS",
    "WORLDPOP_ENV",
    "Grid",
    "Population",
    "build_population",
    "fetch_window",
]

DEFAULT_BASE_URL = "https://data.worldpop.org"
WORLDPOP_ENV = "CARECIRCLE_WORLDPOP_URL"
# WorldPop Global 2000-2020, constrained (built-up settlement cells only), UN-adjusted, 100 m.
# China is published under BSGM; maxar_v1 is the other folder of the same release.
RESIDENTS_PATHS = (
    "GIS/Population/Global_2000_2020_Constrained/2020/BSGM/CHN/chn_ppp_2020_UNadj_constrained.tif",
    "GIS/Population/Global_2000_2020_Constrained/2020/maxar_v1/CHN/chn_ppp_2020_UNadj_constrained.tif",
)
# The age-sex structures of the same release: one file per sex and 5-year band (80 = 80+).
BAND_PATH = (
    "GIS/AgeSex_structures/Global_2000_2020_Constrained_UNadj/2020/CHN/"
    "chn_{sex}_{age}_2020_constrained_UNadj.tif"
)
AGE_BANDS = (60, 65, 70, 75, 80)
LICENCE = "CC BY 4.0 (WorldPop, University of Southampton; cite www.worldpop.org)"
NODATA = -99999.0
_PAD_DEG = 0.002  # about two cells around the area, so every cell the area reaches is read

# GDAL over HTTP: no directory listing, only .tif, a few retries, ranges of 256 kB.
_GDAL_HTTP = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.tiff",
    "GDAL_HTTP_MAX_RETRY": "2",
    "GDAL_HTTP_RETRY_DELAY": "1",
    "GDAL_HTTP_TIMEOUT": "120",
    "CPL_VSIL_CURL_CHUNK_SIZE": str(256 * 1024),
}
_MISSING = ("404", "does not exist", "No such file", "not recognized as")

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Grid:
    """One raster window: cell values (NaN where the file has no data), its grid and source."""

    values: FloatArray
    transform: Affine
    crs: CRS
    source: str
    from_cache: bool = False

    def inside(self, area: BaseGeometry, area_crs: str = "EPSG:4326") -> npt.NDArray[np.bool_]:
        """Cells whose centre lies inside ``area``."""
        shape = gpd.GeoSeries([area], crs=area_crs).to_crs(self.crs).iloc[0]
        return rasterio.features.geometry_mask(
            [mapping(shape)], out_shape=self.values.shape, transform=self.transform, invert=True
        )

    def total(self, mask: npt.NDArray[np.bool_] | None = None) -> float:
        values = self.values if mask is None else self.values[mask]
        return float(np.nansum(values))


@dataclass(frozen=True)
class Population:
    """What the population step wrote: the scenario's ``data.population`` (paths relative to
    the kit's data folder), the layer record and the figures behind it."""

    spec: dict[str, Any]
    record: LayerRecord
    residents: float | None  # residents inside the area (the residents grid), if read
    older_raw: float | None  # 60+ of the age bands inside the area, before calibration
    older: float | None  # 60+ inside the area after calibration
    factor: float | None
    files: dict[str, Path] = field(default_factory=dict)
    remote_reads: int = 0  # windows read over HTTP (not from the cache)


def _is_remote(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _gdal_name(source: str) -> str:
    return "/vsicurl/" + source if _is_remote(source) else source


@contextlib.contextmanager
def _gdal_env() -> Iterator[None]:
    with rasterio.Env(**_GDAL_HTTP):
        yield


def fetch_window(
    source: str,
    area: BaseGeometry,
    *,
    cache_folder: Path | None,
    max_cells: int = 400_000_000,
) -> Grid | None:
    """The window of ``source`` (a URL or a file) over ``area`` (EPSG:4326), or None when the
    remote file does not exist. A window read over HTTP is cached; so is a missing URL."""
    west, south, east, north = area.bounds
    box = (west - _PAD_DEG, south - _PAD_DEG, east + _PAD_DEG, north + _PAD_DEG)
    remote = _is_remote(source) and cache_folder is not None
    folder = (cache_folder / "worldpop") if cache_folder is not None else None
    if remote and folder is not None:
        missing = folder / f"missing-{digest('worldpop-missing', source)}.json"
        if (read_json(missing) or {}).get("missing"):
            return None
        entry = (
            folder
            / f"window-{digest('worldpop-window', 1, source, [round(b, 6) for b in box])}.tif"
        )
        if entry.is_file():
            cached = _read_local(entry, source)
            if cached is not None:
                return cached
    grid = _read_window(source, area, box, max_cells)
    if grid is None:
        if remote and folder is not None:
            write_json(missing, {"missing": True, "url": source, "checked": _today()})
        return None
    if remote and folder is not None:
        with contextlib.suppress(OSError):
            _write_grid(entry, grid)
    return grid


def _read_window(
    source: str, area: BaseGeometry, box: tuple[float, float, float, float], max_cells: int
) -> Grid | None:
    label = excerpt(source, 160)
    with _gdal_env():
        try:
            src = rasterio.open(_gdal_name(source))
        except rasterio.errors.RasterioIOError as exc:
            text = str(exc)
            if _is_remote(source) and any(m in text for m in _MISSING):
                return None
            if not _is_remote(source) and not Path(source).exists():
                raise DataError(f"{label}: 文件不存在 / file not found; check the path") from None
            raise DataError(
                f"{label}: 无法读取栅格 / cannot read the raster ({excerpt(text, 120)}); check "
                + (
                    "the URL, --worldpop-url and the connection"
                    if _is_remote(source)
                    else "the file"
                )
            ) from None
        with src:
            if src.crs is None:
                raise DataError(
                    f"{label}: 栅格缺少坐标系 / the raster has no CRS; set it with gdal_edit.py -a_srs EPSG:4326"
                )
            left, bottom, right, top = transform_bounds("EPSG:4326", src.crs, *box)
            inner = transform_bounds("EPSG:4326", src.crs, *area.bounds)
            b = src.bounds
            tol_x, tol_y = abs(src.transform.a) / 2, abs(src.transform.e) / 2
            if (
                inner[0] < b.left - tol_x
                or inner[2] > b.right + tol_x
                or inner[1] < b.bottom - tol_y
                or inner[3] > b.top + tol_y
            ):
                raise DataError(
                    f"{label}: 栅格未覆盖研究区 / the raster does not cover the area (raster "
                    f"{_fmt_box(tuple(b))}, area {_fmt_box(inner)}, in {src.crs.to_string()}); give "
                    "a raster of this place (--population FILE) or the right --worldpop-url"
                )
            window = rasterio.windows.from_bounds(left, bottom, right, top, transform=src.transform)
            (r0, r1), (c0, c1) = window.toranges()
            rows = (max(math.floor(r0), 0), min(math.ceil(r1), src.height))
            cols = (max(math.floor(c0), 0), min(math.ceil(c1), src.width))
            window = rasterio.windows.Window.from_slices(rows, cols)
            cells = int(window.width) * int(window.height)
            if cells > max_cells:
                raise DataError(
                    f"{label}: 窗口过大 / the window over the area holds {cells:,} cells, more "
                    f"than {max_cells:,}; is the area a county?"
                )
            try:
                band = src.read(1, window=window, masked=True)
            except rasterio.errors.RasterioIOError as exc:
                raise DataError(
                    f"{label}: 读取栅格窗口失败 / reading the window failed ({excerpt(str(exc), 120)}); "
                    "check the connection and run init again"
                ) from None
            values = np.ma.filled(band.astype(np.float64), np.nan)
            if (values[np.isfinite(values)] < 0).any():
                raise DataError(
                    f"{label}: 像元人口为负 / cells hold negative population; set the raster's "
                    "nodata value or fix the cells"
                )
            return Grid(values, src.window_transform(window), CRS(src.crs), source)


def _fmt_box(box: tuple[float, ...]) -> str:
    return "(" + ", ".join(f"{v:.4f}" for v in box) + ")"


def _read_local(path: Path, source: str) -> Grid | None:
    try:
        with rasterio.open(path) as src:
            band = src.read(1, masked=True)
            return Grid(
                np.ma.filled(band.astype(np.float64), np.nan),
                src.transform,
                CRS(src.crs),
                source,
                from_cache=True,
            )
    except Exception:  # a damaged cache entry: read the source again
        return None


def _write_grid(path: Path, grid: Grid) -> None:
    values = np.where(np.isfinite(grid.values), grid.values, NODATA).astype(np.float32)
    profile = {
        "driver": "GTiff",
        "dtype": "float32",
        "count": 1,
        "width": values.shape[1],
        "height": values.shape[0],
        "crs": grid.crs,
        "transform": grid.transform,
        "nodata": NODATA,
        "compress": "deflate",
    }
    with atomic_file(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(values, 1)


def _today() -> str:
    return dt.date.today().isoformat()


def build_population(
    area: BaseGeometry,
    *,
    county: CountyCensus,
    whole_county: bool,
    data_dir: Path,
    base_url: str | None = None,
    local: Path | None = None,
    cache_folder: Path | None = None,
    max_cells: int = 400_000_000,
    max_factor: float = 3.0,
    progress: Callable[[str], None] = lambda _m: None,
) -> Population:
    """Read the grids over ``area`` (EPSG:4326), calibrate them to ``county``'s census and write
    them under ``data_dir/population/``; the scenario entry says how the run uses them.

    Residents come from ``local`` or WorldPop's constrained UN-adjusted grid; the 60+ age bands
    are read only when ``whole_county`` (and no ``local`` file is given), and used only when
    every band exists.
    """
    base = (base_url or DEFAULT_BASE_URL).rstrip("/")
    reads = 0

    def fetch(source: str) -> Grid | None:
        nonlocal reads
        grid = fetch_window(source, area, cache_folder=cache_folder, max_cells=max_cells)
        reads += grid is not None and not grid.from_cache
        return grid

    residents: Grid | None = None
    if local is not None:
        progress(f"人口栅格 / residents grid: {local}")
        residents = fetch(str(local))
    else:
        for path in RESIDENTS_PATHS:
            url = f"{base}/{path}"
            progress(f"人口栅格 / residents grid: {url}")
            residents = fetch(url)
            if residents is not None:
                break
    bands: list[Grid] = []
    if whole_county and local is None:
        for sex, age in itertools.product(("f", "m"), AGE_BANDS):
            url = f"{base}/{BAND_PATH.format(sex=sex, age=age)}"
            progress(f"年龄栅格 / age band {sex} {age}{'+' if age == 80 else ''}: {url}")
            grid = fetch(url)
            if grid is None:  # all bands or none: a partial sum would undercount
                bands = []
                break
            bands.append(grid)
    if residents is None and not bands:
        raise DataError(
            f"{base}: WorldPop 人口栅格不存在 / no WorldPop residents grid at {base}/"
            f"{RESIDENTS_PATHS[0]} (nor the other paths); check --worldpop-url, or give "
            "--population FILE (residents per cell)"
        )
    out = data_dir / "population"
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    spec: dict[str, Any] = {}
    resident_total = None
    if residents is not None:
        resident_total = residents.total(residents.inside(area))
        if not resident_total > 0:
            raise DataError(
                f"{excerpt(residents.source, 160)}: 研究区内无人口 / the grid holds no resident "
                "inside the area; check the raster and the boundary"
            )
        files["residents"] = out / "residents.tif"
        _write_grid(files["residents"], residents)
        spec["raster"] = "population/residents.tif"
    older_raw = older = factor = None
    if bands:
        summed = _sum_bands(bands)
        inside = summed.inside(area)
        older_raw = summed.total(inside)
        if county.older_60 is None:
            raise DataError(
                f"{county.label}: 普查表无60岁及以上人口 / the census table has no 60+ figure "
                "for this county; give --census-county another code"
            )
        values = np.where(inside & np.isfinite(summed.values), summed.values, 0.0)
        scaled, factor = census2020.calibrate(values, float(county.older_60), max_factor=max_factor)
        calibrated = np.where(inside & np.isfinite(summed.values), scaled, np.nan)
        older = float(np.nansum(calibrated))
        files["older"] = out / "older_60plus.tif"
        _write_grid(files["older"], Grid(calibrated, summed.transform, summed.crs, "calibrated"))
        spec["older_rasters"] = ["population/older_60plus.tif"]
    elif county.older_share is None:
        raise DataError(
            f"{county.label}: 普查表无60岁及以上人口 / the census table has no 60+ figure for "
            "this county; give --census-county another code"
        )
    spec["census_county"] = county.code
    record = _record(
        county, whole_county, residents, bands, files, data_dir, older_raw, factor, local
    )
    return Population(
        spec, record, resident_total, older_raw, older, factor, files, remote_reads=reads
    )


def _sum_bands(bands: list[Grid]) -> Grid:
    first = bands[0]
    total = np.zeros_like(first.values)
    seen = np.zeros(first.values.shape, dtype=bool)
    for grid in bands:
        if grid.values.shape != first.values.shape or not grid.transform.almost_equals(
            first.transform
        ):
            raise DataError(
                f"{excerpt(grid.source, 160)}: 年龄栅格网格不一致 / the age bands are not on one "
                "grid; check --worldpop-url"
            )
        finite = np.isfinite(grid.values)
        total[finite] += grid.values[finite]
        seen |= finite
    return Grid(np.where(seen, total, np.nan), first.transform, first.crs, "60+ age bands")


def _record(
    county: CountyCensus,
    whole_county: bool,
    residents: Grid | None,
    bands: list[Grid],
    files: dict[str, Path],
    data_dir: Path,
    older_raw: float | None,
    factor: float | None,
    local: Path | None,
) -> LayerRecord:
    sources = []
    if residents is not None:
        sources.append(
            f"file {local.name}"
            if local is not None
            else f"WorldPop 2020 constrained UN-adjusted 100 m ({residents.source})"
        )
    if bands:
        sources.append(
            "WorldPop 2020 age-sex structures, constrained UN-adjusted, 60-64 … 80+ f/m "
            f"({len(bands)} files)"
        )
    sources.append(f"2020 census (七普) {county.label}: {census2020.SOURCE}")
    share = county.older_share
    if bands:
        assert factor is not None and older_raw is not None and county.older_60 is not None
        how = (
            f"60+ age bands summed ({older_raw:,.0f} inside the county) and scaled ×{factor:.4f} "
            f"to the census 60+ total {county.older_60:,} of {county.county}"
        )
    elif whole_county:
        how = f"the census 60+ share of {county.county} ({(share or 0) * 100:.1f} %) applied to every cell"
    else:
        how = (
            f"the area is part of {county.county}: the county's census 60+ share "
            f"({(share or 0) * 100:.1f} %) applied to every cell, nothing scaled to the county total"
        )
    return LayerRecord(
        layer="population",
        files=tuple(str(p.relative_to(data_dir)) for p in files.values()),
        source="; ".join(sources),
        licence=f"{LICENCE}; census table MIT (Dong, Du & Liu)"
        if local is None
        else "as the file's",
        date="2020",
        trust="approximate",
        note=f"modelled grid, not a count: {how}",
        count=None,
    )
