"""A plan as a file ``carecircle check-plan`` reads: e.g. the recommended sites, for a bureau."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd

from carecircle.atomic import atomic_file
from carecircle.rules import MU_M2
from carecircle.scenario import LayerFormat, Scenario
from carecircle.sources.plan import DEFAULT_PLAN, FACILITY_FIELDS, PROJECT_FIELDS, Plan

__all__ = ["write_plan"]


def write_plan(plan: Plan, path: str | Path, scenario: Scenario) -> Path:
    """Write ``plan`` as a GeoPackage in the scenario's ``plan:`` columns and layers.

    Facility tiers are written both as a ``type`` the scenario maps back to the tier and as the
    canonical ``tier`` column, so the file reads back the same whatever the type wording. The
    file appears whole or not at all (written beside, then renamed).
    """
    spec = scenario.plan or DEFAULT_PLAN
    tiers = {**scenario.data.facility_types(), **spec.types}
    type_of: dict[str, str] = {}
    for wording, tier in tiers.items():
        type_of.setdefault(tier, wording)
    facilities = plan.facilities.assign(type=plan.facilities["tier"].map(type_of).fillna(""))
    path = Path(path)
    with atomic_file(path) as tmp:
        for frame, fmt, default, fields in (
            (
                facilities,
                spec.facilities,
                DEFAULT_PLAN.facilities,
                (*FACILITY_FIELDS, "tier", "year"),
            ),
            (plan.projects, spec.projects, DEFAULT_PLAN.projects, PROJECT_FIELDS),
        ):
            if len(frame):
                table = _as_source(frame, fmt, fields)
                table.to_file(
                    tmp, layer=fmt.layer or default.layer, driver="GPKG", engine="pyogrio"
                )
    return path


def _as_source(
    frame: gpd.GeoDataFrame, fmt: LayerFormat, fields: tuple[str, ...]
) -> gpd.GeoDataFrame:
    """Canonical columns renamed to the file's own names (canonical where the spec maps none)."""
    source: Mapping[str, str] = {}
    for name, canonical in reversed(list(fmt.columns.items())):  # the first mapping wins
        source = {**source, canonical: name}
    out = {}
    for field in dict.fromkeys(fields):
        if field == "land_m2" and "land_m2" not in source and "land_mu" in source:
            out[source["land_mu"]] = frame["land_m2"] / MU_M2
        elif field in frame.columns:
            out[source.get(field, field)] = frame[field]
    return gpd.GeoDataFrame(out, geometry=frame.geometry.to_numpy(), crs=frame.crs)
