"""GCJ-02 ("Mars coordinates", used by Gaode/Amap, Tencent and Google Maps China) and BD-09
(Baidu Maps) <-> WGS84.

GCJ-02 is WGS84 plus a deliberate, smoothly varying offset of a few hundred metres. pyproj does not
know it. The forward formula below is the one published in the leaked reference implementation
(Krasovsky ellipsoid constants, offsets in metres turned into degrees); every open implementation
(eviltransform, PRCoords, coordTransform, geoChina) uses it. It has no closed-form inverse, so
:func:`gcj02_to_wgs84` iterates the forward formula to a fixed point (the offset changes by well
under 1e-4 per metre, so each step shrinks the error ~10,000-fold: two or three steps reach 1 mm).

PyPI holds several scalar implementations (eviltransform, prcoords, coordTransform, pygcj); none is
vectorised over numpy arrays and most are unmaintained or stop at a one-step (1-2 m) inverse, so the
formula, which is short, is implemented here on arrays.

BD-09 is Baidu's further offset of GCJ-02 (a small rotation and shift, about 1 km in all): the
forward formula is the one every open implementation uses; :func:`bd09_to_gcj02` inverts it by the
same fixed-point iteration, then :func:`gcj02_to_wgs84` removes the GCJ-02 offset.

Outside China there is no GCJ-02 shift. "China" is the rectangle the published implementations use
(73.66-135.05 E, 3.86-53.55 N), so a point in a neighbouring country inside that box would be
shifted: declare ``coords: gcj02`` only for data taken from a Chinese map service.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# Krasovsky 1940 semi-major axis and first eccentricity squared, as in the published formula.
_A = 6378245.0
_EE = 0.00669342162296594323
_BOX = (73.66, 3.86, 135.05, 53.55)  # west, south, east, north


def in_china(lon: npt.ArrayLike, lat: npt.ArrayLike) -> BoolArray:
    """True where a point lies in the box inside which GCJ-02 shifts coordinates."""
    lon_a, lat_a = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    west, south, east, north = _BOX
    return np.asarray((lon_a > west) & (lon_a < east) & (lat_a > south) & (lat_a < north))


def _offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 minus WGS84 at a WGS84 point, in degrees (longitude, latitude)."""
    x, y = lon - 105.0, lat - 35.0
    ripple = 20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)
    dlat_m = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat_m += (
        ripple
        + 20.0 * np.sin(y * np.pi)
        + 40.0 * np.sin(y / 3.0 * np.pi)
        + 160.0 * np.sin(y / 12.0 * np.pi)
        + 320.0 * np.sin(y * np.pi / 30.0)
    ) * (2.0 / 3.0)
    dlon_m = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon_m += (
        ripple
        + 20.0 * np.sin(x * np.pi)
        + 40.0 * np.sin(x / 3.0 * np.pi)
        + 150.0 * np.sin(x / 12.0 * np.pi)
        + 300.0 * np.sin(x / 30.0 * np.pi)
    ) * (2.0 / 3.0)
    rad = np.radians(lat)
    magic = 1.0 - _EE * np.sin(rad) ** 2
    dlat = dlat_m * 180.0 / ((_A * (1.0 - _EE)) / (magic * np.sqrt(magic)) * np.pi)
    dlon = dlon_m * 180.0 / (_A / np.sqrt(magic) * np.cos(rad) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS84 longitudes/latitudes (degrees, any shape) to GCJ-02; unchanged outside China."""
    lon_a = np.array(lon, dtype=np.float64)
    lat_a = np.array(lat, dtype=np.float64)
    lon_a, lat_a = np.broadcast_arrays(lon_a, lat_a)
    dlon, dlat = _offset(lon_a, lat_a)
    shift = in_china(lon_a, lat_a)
    return np.where(shift, lon_a + dlon, lon_a), np.where(shift, lat_a + dlat, lat_a)


def gcj02_to_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tolerance_deg: float = 1e-10, max_steps: int = 20
) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 longitudes/latitudes (degrees, any shape) to WGS84; unchanged outside China.

    Solves ``wgs84_to_gcj02(w) == g`` by fixed-point iteration ``w <- g - offset(w)`` until no
    coordinate moves by more than ``tolerance_deg`` (1e-10 degrees is about 0.01 mm).
    """
    g_lon, g_lat = np.broadcast_arrays(
        np.array(lon, dtype=np.float64), np.array(lat, dtype=np.float64)
    )
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(max_steps):
        dlon, dlat = _offset(w_lon, w_lat)
        n_lon, n_lat = g_lon - dlon, g_lat - dlat
        moved = np.nanmax(
            np.abs(np.concatenate([(n_lon - w_lon).ravel(), (n_lat - w_lat).ravel()])), initial=0.0
        )
        w_lon, w_lat = n_lon, n_lat
        if moved < tolerance_deg:
            break
    shift = in_china(g_lon, g_lat)
    return np.where(shift, w_lon, g_lon), np.where(shift, w_lat, g_lat)


_X_PI = np.pi * 3000.0 / 180.0


def gcj02_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 longitudes/latitudes (degrees, any shape) to Baidu's BD-09."""
    x, y = np.broadcast_arrays(np.array(lon, dtype=np.float64), np.array(lat, dtype=np.float64))
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tolerance_deg: float = 1e-10, max_steps: int = 20
) -> tuple[FloatArray, FloatArray]:
    """BD-09 longitudes/latitudes (degrees, any shape) to GCJ-02.

    Starts from the published approximate inverse and refines it by fixed-point iteration
    ``g <- g + (b - gcj02_to_bd09(g))`` until no coordinate moves by more than ``tolerance_deg``.
    """
    b_lon, b_lat = np.broadcast_arrays(
        np.array(lon, dtype=np.float64), np.array(lat, dtype=np.float64)
    )
    x, y = b_lon - 0.0065, b_lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    g_lon, g_lat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(max_steps):
        f_lon, f_lat = gcj02_to_bd09(g_lon, g_lat)
        d_lon, d_lat = b_lon - f_lon, b_lat - f_lat
        g_lon, g_lat = g_lon + d_lon, g_lat + d_lat
        moved = np.nanmax(np.abs(np.concatenate([d_lon.ravel(), d_lat.ravel()])), initial=0.0)
        if moved < tolerance_deg:
            break
    return g_lon, g_lat


def bd09_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """BD-09 (Baidu) longitudes/latitudes to WGS84: BD-09 -> GCJ-02 -> WGS84."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def wgs84_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS84 longitudes/latitudes to BD-09 (Baidu): WGS84 -> GCJ-02 -> BD-09."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))
