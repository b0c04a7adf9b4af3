"""The fast core: arrays in, arrays out; no geometry libraries and no I/O."""

from __future__ import annotations

from carecircle.engine.accessibility import covered_share, fca, gravity, group_sums
from carecircle.engine.graph import Snap, TravelGraph, crs_name, snap_points
from carecircle.engine.isochrone import (
    Segments,
    catchments,
    demand_catchments,
    isochrone_segments,
    nearest_times,
)
from carecircle.engine.roads import DRIVE_SPEEDS_KMH, Labels, RoadTable, segment_seconds

__all__ = [
    "DRIVE_SPEEDS_KMH",
    "Labels",
    "RoadTable",
    "Segments",
    "Snap",
    "TravelGraph",
    "catchments",
    "covered_share",
    "crs_name",
    "demand_catchments",
    "fca",
    "gravity",
    "group_sums",
    "isochrone_segments",
    "nearest_times",
    "segment_seconds",
    "snap_points",
]
