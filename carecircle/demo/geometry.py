"""Coordinate transforms and small line and polygon helpers of the demo generator."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Polygon

from carecircle.demo.sizes import GEO_CRS, LOCAL_CRS, FloatArray, Rng


@functools.cache
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def _to_lonlat(xy: FloatArray) -> FloatArray:
    """Local metric coordinates -> CGCS2000 lon/lat (used as WGS84 too: they differ by cm)."""
    lon, lat = _transformer(LOCAL_CRS, GEO_CRS).transform(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat]).astype(np.float64)


def _to_local(lonlat: FloatArray) -> FloatArray:
    x, y = _transformer(GEO_CRS, LOCAL_CRS).transform(lonlat[:, 0], lonlat[:, 1])
    return np.column_stack([x, y]).astype(np.float64)


def _geom_to_lonlat(geom: Any) -> Any:
    """Project a local geometry to lon/lat after densifying so edges keep their shape."""
    dense = shapely.segmentize(geom, 50.0)
    return shapely.transform(dense, _to_lonlat)


def _geom_to_local(geom: Any) -> Any:
    return shapely.transform(geom, _to_local)


def _unit(angle: float) -> FloatArray:
    return np.array([math.cos(angle), math.sin(angle)])


def _perp(v: FloatArray) -> FloatArray:
    return np.array([-v[1], v[0]])


def _cumlen(coords: FloatArray) -> FloatArray:
    seg = np.hypot(*np.diff(coords, axis=0).T)
    return np.concatenate([[0.0], np.cumsum(seg)])


def _interp(coords: FloatArray, cum: FloatArray, at: FloatArray) -> FloatArray:
    return np.column_stack([np.interp(at, cum, coords[:, 0]), np.interp(at, cum, coords[:, 1])])


def _insert(coords: FloatArray, dists: FloatArray, points: FloatArray) -> FloatArray:
    """Insert points (lying on the line at the given distances along it) as vertices.

    The points are inserted with their exact coordinates, so another line holding the same point
    shares the vertex bit for bit; that is how junctions get shared node ids.
    """
    if len(dists) == 0:
        return coords
    order = np.argsort(dists, kind="stable")
    pos = np.searchsorted(_cumlen(coords), dists[order], side="right")
    pos = np.clip(pos, 1, len(coords) - 1)
    return np.insert(coords, pos, points[order], axis=0)


def _split_at(coords: FloatArray, cuts: Sequence[float]) -> list[FloatArray]:
    """Split a line at distances along it; neighbouring pieces share the cut point exactly."""
    cum = _cumlen(coords)
    bounds = np.concatenate([[0.0], np.asarray(cuts, dtype=np.float64), [cum[-1]]])
    points = _interp(coords, cum, bounds)
    points[0], points[-1] = coords[0], coords[-1]
    pieces = []
    for k in range(len(bounds) - 1):
        inner = coords[(cum > bounds[k]) & (cum < bounds[k + 1])]
        pieces.append(np.vstack([points[k], inner, points[k + 1]]))
    return pieces


def _chaikin(coords: FloatArray, iterations: int) -> FloatArray:
    """Corner-cutting smoothing with both end points kept exactly (they are junctions)."""
    for _ in range(iterations):
        if len(coords) < 3:
            break
        p, q = coords[:-1], coords[1:]
        cut = np.empty((2 * len(p), 2))
        cut[0::2] = 0.75 * p + 0.25 * q
        cut[1::2] = 0.25 * p + 0.75 * q
        coords = np.vstack([coords[0], cut[1:-1], coords[-1]])
    return coords


def _simplify(coords: FloatArray, tolerance: float) -> FloatArray:
    """Drop vertices that smoothing left on near-straight stretches (end points are kept)."""
    return np.asarray(shapely.get_coordinates(shapely.simplify(LineString(coords), tolerance)))


def _blob(centre: FloatArray, radius: float, rng: Rng, wobble: float = 0.12) -> Polygon:
    """A roundish polygon with a wobbly edge (built-up areas, hills, the 街道 territory)."""
    theta = np.linspace(0.0, 2 * math.pi, 96, endpoint=False)
    k = np.arange(2, 7)
    amp = rng.uniform(0.0, wobble, k.size) / np.sqrt(k - 1)
    phase = rng.uniform(0.0, 2 * math.pi, k.size)
    r = radius * (1 + (amp[:, None] * np.cos(np.outer(k, theta) + phase[:, None])).sum(axis=0))
    return Polygon(np.column_stack([centre[0] + r * np.cos(theta), centre[1] + r * np.sin(theta)]))


def _polygons(geom: Any) -> list[Polygon]:
    return [g for g in shapely.get_parts(geom) if isinstance(g, Polygon) and g.area > 0]


def _largest(geom: Any) -> Polygon:
    parts = _polygons(geom)
    return max(parts, key=lambda g: g.area)
