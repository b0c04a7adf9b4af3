"""Isochrone polygons for display: the reached pieces of roads, buffered and dissolved.

The engine (``carecircle.engine.isochrone_segments``) says which parts of which arcs are reached
within each threshold, cutting partly reached arcs where the remaining time runs out; this module
only turns those straight pieces into polygons with shapely.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS

from carecircle import engine
from carecircle.errors import DataError

__all__ = ["isochrone_polygons", "isochrones"]


def isochrone_polygons(
    segments: Mapping[float, engine.Segments],
    crs: CRS | str,
    *,
    buffer_m: float = 25.0,
    quad_segs: int = 4,
) -> gpd.GeoDataFrame:
    """One (multi)polygon per threshold: its reached pieces of road, each widened by ``buffer_m``.

    Parameters
    ----------
    segments
        Reached pieces by threshold in seconds, as ``engine.isochrone_segments`` returns them.
    crs
        The metric CRS the graph's coordinates are in.
    buffer_m
        Half the width of the band drawn along each reached road.
    quad_segs
        Segments per quarter circle at the buffered ends (4 is plenty at map scales).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``minutes``, ``seconds`` and ``geometry``, shortest threshold first. A threshold
        reaching nothing has an empty polygon.
    """
    if not buffer_m > 0:
        raise DataError(f"buffer_m must be > 0 (got {buffer_m!r}); the roads need a width")
    limits = sorted(segments)
    polygons = [_dissolve(segments[s], buffer_m, quad_segs) for s in limits]
    return gpd.GeoDataFrame(
        {"minutes": [s / 60.0 for s in limits], "seconds": limits},
        geometry=polygons,
        crs=crs,
    )


def isochrones(
    graph: engine.TravelGraph,
    node_seconds: npt.ArrayLike,
    crs: CRS | str,
    *,
    minutes: Iterable[float] = (5, 10, 15),
    buffer_m: float = 25.0,
) -> gpd.GeoDataFrame:
    """Isochrone polygons around the sources ``node_seconds`` were measured to (5/10/15 min).

    ``node_seconds`` are the times of ``engine.nearest_times`` (to the nearest source).
    """
    limits = [float(m) * 60.0 for m in minutes]
    segments = engine.isochrone_segments(graph, node_seconds, limits, direction="to")
    return isochrone_polygons(segments, crs, buffer_m=buffer_m)


def _dissolve(pieces: engine.Segments, buffer_m: float, quad_segs: int) -> shapely.Geometry:
    if len(pieces) == 0:
        return shapely.Polygon()
    ends = np.stack(
        [np.column_stack([pieces.x0, pieces.y0]), np.column_stack([pieces.x1, pieces.y1])], axis=1
    )
    # Chains of pieces first (fewer, longer lines to buffer), then one cascaded union. Buffering
    # the whole multi-line in one call is ten times slower at county scale.
    chains = shapely.get_parts(
        shapely.line_merge(shapely.multilinestrings(shapely.linestrings(ends)))
    )
    return shapely.union_all(shapely.buffer(chains, buffer_m, quad_segs=quad_segs))
