"""The fast core: arrays in, arrays out; no geometry libraries and no I/O."""

from __future__ import annotations

from carecircle.engine.accessibility import covered_share, group_sums
from carecircle.engine.graph import DRIVE_SPEEDS_KMH, Snap, TravelGraph, snap_points
from carecircle.engine.isochrone import nearest_times

__all__ = [
    "DRIVE_SPEEDS_KMH",
    "Snap",
    "TravelGraph",
    "covered_share",
    "group_sums",
    "nearest_times",
    "snap_points",
]
