"""The demo county's population raster and township census table."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from scipy.spatial import cKDTree

from carecircle.demo.geometry import _geom_to_lonlat, _to_local
from carecircle.demo.roads import _wavy_field
from carecircle.demo.settlements import _Layout
from carecircle.demo.sizes import _ST_CENSUS, _ST_POPULATION, PIXEL_DEG, FloatArray, _rng


@dataclass
class _Raster:
    """A float32 grid on the global 3-arc-second grid; col0/row0 count 1/1200 degrees."""

    values: npt.NDArray[np.float32]
    col0: int  # west edge = col0 / 1200
    row0: int  # north edge = row0 / 1200
    in_county: float  # sum of pixels whose centre lies in the county

    def centres(self) -> tuple[FloatArray, FloatArray]:
        rows, cols = self.values.shape
        lon = (self.col0 + np.arange(cols) + 0.5) * PIXEL_DEG
        lat = (self.row0 - np.arange(rows) - 0.5) * PIXEL_DEG
        glon, glat = np.meshgrid(lon, lat)
        return np.asarray(glon, dtype=np.float64), np.asarray(glat, dtype=np.float64)


def _raster_grid(layout: _Layout) -> tuple[int, int, int, int]:
    """Pixel bounds (col0, row0, cols, rows) of the county bbox plus about 1 km."""
    lon0, lat0, lon1, lat1 = _geom_to_lonlat(layout.terrain.outline).bounds
    dlat = 1000.0 / 110_600.0
    dlon = 1000.0 / (111_320.0 * math.cos(math.radians((lat0 + lat1) / 2)))
    col0, col1 = math.floor((lon0 - dlon) * 1200), math.ceil((lon1 + dlon) * 1200)
    row1, row0 = math.floor((lat0 - dlat) * 1200), math.ceil((lat1 + dlat) * 1200)
    return col0, row0, col1 - col0, row0 - row1


def _population_raster(layout: _Layout, seed: int) -> _Raster:
    """Residents per pixel, WorldPop-like.

    Dense in the county town and town seats, moderate around village cores and hamlets, a thin
    scatter elsewhere (also just outside the county), none in rivers, almost none on hills.
    """
    rng = _rng(seed, _ST_POPULATION)
    ter = layout.terrain
    col0, row0, cols, rows = _raster_grid(layout)
    empty = _Raster(np.zeros((rows, cols), np.float32), col0, row0, 0.0)
    glon, glat = empty.centres()
    xy = _to_local(np.column_stack([glon.ravel(), glat.ravel()]))
    total = float(rng.integers(layout.params.population[0], layout.params.population[1] + 1))
    parts = [_city_density(layout, xy), _town_density(layout, xy), _village_density(layout, xy)]
    disp = np.exp(0.6 * _wavy_field(xy, (2e3, 8e3), rng))
    parts.append(disp * np.where(shapely.contains_xy(ter.outline, xy[:, 0], xy[:, 1]), 1.0, 0.5))
    dens = sum(sh * part / part.sum() for sh, part in zip(layout.params.shares, parts, strict=True))
    dens = dens * rng.lognormal(0.0, 0.25, len(xy))
    dens = dens * np.where(shapely.contains_xy(ter.hills_union, xy[:, 0], xy[:, 1]), 0.02, 1.0)
    dens = dens * ~shapely.contains_xy(ter.water.union(ter.island), xy[:, 0], xy[:, 1])
    county = shapely.contains_xy(ter.outline, xy[:, 0], xy[:, 1])
    island = shapely.contains_xy(ter.island_land, xy[:, 0], xy[:, 1])
    island_people = rng.uniform(40.0, 90.0)
    dens = dens * (total - island_people) / dens[county].sum()
    if island.any():
        dens[island] = island_people / island.sum()
    values = dens.reshape(rows, cols).astype(np.float32)
    in_county = float(values.ravel()[county].astype(np.float64).sum())
    return _Raster(values, col0, row0, in_county)


def _city_density(layout: _Layout, xy: FloatArray) -> FloatArray:
    r = layout.params.city_radius_km * 1e3
    d = np.hypot(*(xy - layout.townships[0].xy).T)
    inside = shapely.contains_xy(layout.city.buffer(100.0), xy[:, 0], xy[:, 1])
    return np.asarray(inside * (0.35 + np.exp(-((d / (0.55 * r)) ** 2))), dtype=np.float64)


def _town_density(layout: _Layout, xy: FloatArray) -> FloatArray:
    out = np.zeros(len(xy))
    for t in layout.townships:
        if t.kind == "街道":
            continue
        r = math.sqrt(t.built.area / math.pi)
        d = np.hypot(*(xy - t.xy).T)
        inside = shapely.contains_xy(t.built.buffer(60.0), xy[:, 0], xy[:, 1])
        dens = inside * (0.4 + np.exp(-((d / (0.6 * r)) ** 2)))
        out += dens / max(dens.sum(), 1e-9) * t.built.area**0.8
    return out


def _village_density(layout: _Layout, xy: FloatArray) -> FloatArray:
    out = np.zeros(len(xy))
    tree = cKDTree(xy)
    for v in layout.villages:
        if v.urban:
            continue
        for at, people in v.settlements:
            sigma = 0.45 * (80.0 + 5.0 * math.sqrt(people))
            near = np.asarray(tree.query_ball_point(at, 3.0 * sigma), dtype=np.int64)
            if len(near) == 0:
                near = np.array([tree.query(at)[1]])
            k = np.exp(-0.5 * (np.hypot(*(xy[near] - at).T) / sigma) ** 2)
            out[near] += people * k / k.sum()
    return out


@dataclass
class _Census:
    rows: list[list[str]]
    resident: int
    age60: int
    age65: int


def _census(layout: _Layout, raster: _Raster, seed: int) -> _Census:
    """第七次人口普查-style table: residents per township summed from the raster, older shares."""
    rng = _rng(seed, _ST_CENSUS)
    glon, glat = raster.centres()
    values = raster.values.astype(np.float64)
    rows = []
    totals = np.zeros(3, dtype=np.int64)
    for t in layout.townships:
        inside = shapely.contains_xy(t.lonlat, glon, glat)
        resident = round(float(values[inside].sum()))
        share = rng.uniform(0.16, 0.24) if t.kind == "街道" else rng.uniform(0.25, 0.38)
        age60 = round(resident * share)
        age65 = round(age60 * rng.uniform(0.70, 0.75))
        rows.append([t.code, t.name, str(resident), str(age60), str(age65)])
        totals += (resident, age60, age65)
    return _Census(rows, int(totals[0]), int(totals[1]), int(totals[2]))
