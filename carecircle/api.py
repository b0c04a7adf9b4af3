"""The Python surface for notebooks: GeoDataFrames in and out, the engine's arrays underneath.

Everything here is a thin adapter over the same readers, engine and models the command line
uses, so a notebook's figure is the CLI's figure. ``import carecircle as cc`` exposes these
functions at the top level (``cc.read_roads``, ``cc.travel_times``, ...).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from carecircle import engine
from carecircle.errors import DataError
from carecircle.scenario import NetworkSource, Scenario, load_scenario
from carecircle.sources import network

if TYPE_CHECKING:
    from carecircle.pipeline import Progress, RunResult
    from carecircle.review import PlanCheck
    from carecircle.sources.plan import Plan

__all__ = [
    "check_plan",
    "cost_matrix",
    "isochrones",
    "load_scenario",
    "read_roads",
    "run_scenario",
    "travel_graph",
    "travel_times",
]

_ROAD_SUFFIXES = (".osm", ".xml", ".osm.gz", ".osm.bz2", ".pbf", ".osm.pbf", ".graphml")
_SNAP_NAMES = np.array(["main", "island", "off_network"])


def read_roads(
    source: str | Path,
    *,
    area: BaseGeometry | gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    to_crs: CRS | str | None = None,
    cache: bool | Path = True,
) -> network.RoadNetwork:
    """Read a road network: an OSM XML, PBF or GraphML file, or a place name through osmnx.

    Parameters
    ----------
    source
        A path to ``.osm`` / ``.osm.gz`` / ``.osm.pbf`` / ``.graphml``, or a place name such as
        ``"贵溪市, 鹰潭市, 江西省"`` (downloaded with osmnx; cached).
    area
        Keep only roads within this area (a GeoDataFrame/GeoSeries in any CRS, or a shapely
        geometry in EPSG:4326), as the pipeline clips to the county and its buffer.
    to_crs
        The metric CRS to project to; by default the UTM zone of the roads (or of ``area``), as
        :meth:`geopandas.GeoDataFrame.estimate_utm_crs` picks it.
    cache
        True for the user cache (``$CARECIRCLE_CACHE``), a folder, or False for none.

    Returns
    -------
    carecircle.sources.network.RoadNetwork
        The roads as arrays (``.table``) in ``.crs`` with a report of what was read.
    """
    text = str(source)
    is_file = Path(text).exists() or text.lower().endswith(_ROAD_SUFFIXES)
    spec = NetworkSource(path=Path(text)) if is_file else NetworkSource(place=text)
    net = network.read_roads(spec, cache=cache)
    shape = _area_wgs84(area)
    if shape is not None:
        net = net.clip(shape)
    crs = CRS.from_user_input(to_crs) if to_crs is not None else _utm_of(net, shape)
    if not crs.is_projected:
        raise DataError(
            f"to_crs {crs.to_string()} is geographic; give a projected CRS (metres), e.g. "
            "EPSG:4549, or leave it out for the local UTM zone"
        )
    return net.project(crs)


def travel_graph(
    roads: network.RoadNetwork,
    mode: str = "walk",
    *,
    walk_speed_mps: float = 1.0,
    ebike_speed_kmh: float = 12.0,
    drive_speeds_kmh: Mapping[str, float] | None = None,
) -> engine.TravelGraph:
    """The travel graph of ``roads`` for one mode (``walk``, ``ebike`` or ``drive``).

    The mode rules are the pipeline's (which roads each mode may use, one-way streets for
    vehicles, speeds by road class or ``maxspeed`` for driving). ``roads`` must be projected
    (:func:`read_roads` projects them).
    """
    if not roads.crs.is_projected:
        raise DataError(
            f"Roads are in a geographic CRS ({roads.crs.to_string()}). Use "
            "'RoadNetwork.project()' (or read_roads(to_crs=...)) to re-project them to a "
            "projected CRS before building a travel graph."
        )
    graph = engine.TravelGraph.from_roads(
        roads.table,
        mode=mode,  # type: ignore[arg-type]
        walk_speed_mps=walk_speed_mps,
        ebike_speed_kmh=ebike_speed_kmh,
        drive_speeds_kmh=drive_speeds_kmh,
    )
    if graph.n_arcs == 0:
        raise DataError(f"none of the {roads.table.n_segments} road segments can be used to {mode}")
    return _with_crs(graph, roads.crs)


def travel_times(
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    facilities: gpd.GeoDataFrame | gpd.GeoSeries,
    graph: engine.TravelGraph,
    *,
    max_access_m: float = 500.0,
    walk_speed_mps: float = 1.0,
) -> gpd.GeoDataFrame:
    """Seconds from every point to its nearest facility over the graph, access legs included.

    Each point and each facility joins the network at its nearest node by a straight access
    leg walked at ``walk_speed_mps``; one farther than ``max_access_m`` from any road is
    off the network (``snap == "off_network"``, ``seconds`` inf), never dropped.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per point, in its order and with its index and geometry: ``seconds`` (inf when
        no facility is reachable), ``facility`` (the index label of the nearest facility, None
        when none), ``snap`` (``main``, ``island`` or ``off_network``) and ``access_m``.
    """
    p = _points(points, graph, "points")
    f = _points(facilities, graph, "facilities")
    kw = {"max_distance_m": max_access_m, "walk_speed_mps": walk_speed_mps}
    fsnap = engine.snap_points(graph, f.x, f.y, **kw)
    psnap = engine.snap_points(graph, p.x, p.y, **kw)
    usable = np.flatnonzero(fsnap.node >= 0)
    if usable.size == 0 and len(f):
        raise DataError(
            f"all {len(f)} facilities lie farther than max_access_m = {max_access_m:g} m from any "
            "road; check their CRS and that the network covers them"
        )
    node_s, nearest = engine.nearest_times(
        graph, fsnap.node[usable], source_seconds=fsnap.access_s[usable]
    )
    on = psnap.node >= 0
    seconds = np.full(len(p), np.inf)
    seconds[on] = psnap.access_s[on] + node_s[psnap.node[on]]
    which = np.full(len(p), -1, dtype=np.int64)
    which[on] = nearest[psnap.node[on]]
    labels = np.asarray(facilities.index, dtype=object)
    facility = labels[usable[np.maximum(which, 0)]] if usable.size else np.full(len(p), None)
    facility[which < 0] = None
    return gpd.GeoDataFrame(
        {
            "seconds": seconds,
            "facility": pd.Series(facility, index=points.index, dtype=object),
            "snap": _SNAP_NAMES[psnap.status],
            "access_m": psnap.distance_m,
        },
        geometry=gpd.GeoSeries(points.geometry).to_numpy(),
        index=points.index,
        crs=points.crs,
    )


def cost_matrix(
    demand: gpd.GeoDataFrame | gpd.GeoSeries,
    sites: gpd.GeoDataFrame | gpd.GeoSeries,
    graph: engine.TravelGraph,
    *,
    max_seconds: float,
    max_access_m: float = 500.0,
    walk_speed_mps: float = 1.0,
) -> sp.csr_array:
    """Demand × sites travel seconds (access legs at both ends), only pairs within ``max_seconds``.

    The matrix the location models take (``carecircle.locate.solve_*``): row ``i`` is
    ``demand.iloc[i]``, column ``j`` is ``sites.iloc[j]``; a pair beyond ``max_seconds`` (or a
    point off the network) has no entry. A pair at exactly 0 s (a site on a demand point) is
    stored as an explicit zero.
    """
    d = _points(demand, graph, "demand")
    s = _points(sites, graph, "sites")
    kw = {"max_distance_m": max_access_m, "walk_speed_mps": walk_speed_mps}
    src = engine.snap_points(graph, s.x, s.y, **kw)
    dst = engine.snap_points(graph, d.x, d.y, **kw)
    ok = np.flatnonzero(src.node >= 0)
    by_site = engine.demand_catchments(
        engine.catchments(graph, src.node[ok], max_seconds, source_seconds=src.access_s[ok]),
        dst,
        max_seconds,
    ).tocoo()
    matrix = sp.coo_array(
        (by_site.data, (by_site.col, ok[by_site.row])), shape=(len(d), len(s))
    ).tocsr()
    matrix.sort_indices()
    return matrix


def isochrones(
    facilities: gpd.GeoDataFrame | gpd.GeoSeries,
    graph: engine.TravelGraph,
    *,
    minutes: Iterable[float] = (5, 10, 15),
    max_access_m: float = 500.0,
    walk_speed_mps: float = 1.0,
    buffer_m: float = 25.0,
) -> gpd.GeoDataFrame:
    """Isochrone polygons around the facilities: the roads within each time, widened to a band.

    Returns a GeoDataFrame (``minutes``, ``seconds``, geometry) in the graph's CRS, shortest
    first, as the coverage map draws them.
    """
    from carecircle.outputs.isochrones import isochrones as polygons

    f = _points(facilities, graph, "facilities")
    snap = engine.snap_points(
        graph, f.x, f.y, max_distance_m=max_access_m, walk_speed_mps=walk_speed_mps
    )
    ok = snap.node >= 0
    node_s, _ = engine.nearest_times(graph, snap.node[ok], source_seconds=snap.access_s[ok])
    return polygons(graph, node_s, graph.crs, minutes=minutes, buffer_m=buffer_m)


def run_scenario(scenario: Scenario | str | Path, *, progress: Progress | None = None) -> RunResult:
    """Run a scenario (a :class:`Scenario` or the path of its YAML file) as ``carecircle run``
    does, without writing anything; ``result.summary`` is summary.json's content.

    Write the outputs with ``carecircle.outputs.write_outputs(result, folder)``.
    """
    from carecircle.pipeline import run_scenario as run

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    return run(sc, progress=progress)


def check_plan(
    plan: Plan | str | Path,
    scenario: Scenario | str | Path,
    *,
    before: RunResult | None = None,
    progress: Progress | None = None,
) -> PlanCheck:
    """Check an allocation plan (a plan file or a read :class:`~carecircle.sources.plan.Plan`)
    against its scenario's rules, as ``carecircle check-plan`` does; ``before`` reuses a run of
    the same scenario already at hand."""
    from carecircle.review import review_plan
    from carecircle.sources.plan import read_plan

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    read = read_plan(plan, sc) if isinstance(plan, str | Path) else plan
    return review_plan(read, sc, before=before, progress=progress)


# --- helpers ---------------------------------------------------------------------------------------


def _with_crs(graph: engine.TravelGraph, crs: CRS) -> engine.TravelGraph:
    from dataclasses import replace

    return replace(graph, crs=crs)


def _area_wgs84(area: Any) -> BaseGeometry | None:
    if area is None:
        return None
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        if area.crs is None:
            raise DataError("area has no CRS; set one with .set_crs() before passing it")
        return area.to_crs("EPSG:4326").union_all()
    if isinstance(area, BaseGeometry):
        return area
    raise DataError(f"area must be a GeoDataFrame, GeoSeries or shapely geometry, not {type(area)}")


def _utm_of(net: network.RoadNetwork, area: BaseGeometry | None) -> CRS:
    t = net.table
    where = (
        gpd.GeoSeries([area], crs="EPSG:4326")
        if area is not None
        else gpd.GeoSeries(gpd.points_from_xy(t.x, t.y), crs=net.crs)
    )
    crs = where.estimate_utm_crs()
    if crs is None:  # pragma: no cover - only far outside every UTM zone
        raise DataError("cannot pick a UTM zone for these roads; give to_crs")
    return crs


def _points(
    frame: gpd.GeoDataFrame | gpd.GeoSeries, graph: engine.TravelGraph, name: str
) -> gpd.GeoSeries:
    """The frame's points (polygons by a point inside) in the graph's CRS, as x/y arrays."""
    geom = gpd.GeoSeries(frame.geometry)
    if geom.isna().any() or geom.is_empty.any():
        bad = int((geom.isna() | geom.is_empty).sum())
        raise DataError(f"{name}: {bad} row(s) have no geometry; drop them or give them one")
    if graph.crs is not None:
        if geom.crs is None:
            raise DataError(
                f"{name} has no CRS; set one with .set_crs() (the graph is in "
                f"{CRS.from_user_input(graph.crs).to_string()})"
            )
        geom = geom.to_crs(graph.crs)
    elif geom.crs is not None and geom.crs.is_geographic:
        raise DataError(
            f"{name} are in a geographic CRS ({geom.crs.to_string()}) and the graph does not say "
            "its own. Use '.to_crs()' to re-project them to the graph's projected CRS."
        )
    if not (geom.geom_type == "Point").all():
        geom = geom.representative_point()
    return geom
