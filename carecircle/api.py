"""The Python surface for notebooks: GeoDataFrames in and out, the engine's arrays underneath.

Everything here is a thin adapter over the same readers, engine and models the command line
uses, so a notebook's figure is the CLI's figure. ``import carecircle as cc`` exposes these
functions at the top level (``cc.read_roads``, ``cc.travel_times``, ...).

The adapters check what a notebook gets wrong before any array reaches numpy or scipy: the type
of each argument and their order, coordinates that cannot be what their CRS says (lon/lat
swapped, metres labelled as degrees, degrees labelled as metres), and numbers in the wrong unit
(minutes for seconds, km/h for m/s). Refusals are :class:`~carecircle.errors.DataError` (or
:class:`~carecircle.errors.InputFileNotFound`) with one line naming the value and the fix;
suspicions are :class:`CareCircleWarning`; what a run or a result found wrong with the data is
a :class:`DataQualityWarning`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pydantic
import scipy.sparse as sp
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from carecircle import engine
from carecircle.errors import DataError, InputFileNotFound, excerpt
from carecircle.safe import terminal_text
from carecircle.scenario import InputLimits, NetworkSource, Scenario, scenario_from_dict
from carecircle.scenario import load_scenario as _load_scenario_file
from carecircle.sources import network

if TYPE_CHECKING:
    from carecircle.pipeline import Progress, RunResult
    from carecircle.review import PlanCheck
    from carecircle.sources.plan import Plan

__all__ = [
    "CareCircleWarning",
    "DataQualityWarning",
    "check_plan",
    "cost_matrix",
    "isochrones",
    "load_scenario",
    "read_population",
    "read_roads",
    "run_scenario",
    "travel_graph",
    "travel_times",
]


class CareCircleWarning(UserWarning):
    """A value that looks like a slip (minutes given as seconds, km/h as m/s, points far from
    every road); the call went ahead with it as given."""


class DataQualityWarning(CareCircleWarning):
    """What a run, a plan check or a travel-time table found wrong with the data (the
    ``data_quality`` warnings of summary.json, points that reach no facility), emitted once each
    through :func:`warnings.warn` so that a notebook shows them."""


_ROAD_SUFFIXES = (".osm", ".xml", ".osm.gz", ".osm.bz2", ".pbf", ".osm.pbf", ".graphml")
_PART_NAMES = np.array(["main", "island", "off_network"])
_MODES = ("walk", "ebike", "drive")
FAR_M = 100_000.0
"""Points farther than this from every road node are in the wrong place or the wrong CRS."""
_WALK_MPS_MAX = 2.5  # a brisk walk is 1.5-2 m/s; 4.5 is km/h
_EBIKE_KMH = (5.0, 45.0)  # GB 17761 caps e-bikes at 25 km/h; below 5 km/h is m/s
_DRIVE_KMH = (5.0, 150.0)
_MINUTES_MAX = 240.0  # isochrones of more than four hours are seconds given as minutes


# --- reading ---------------------------------------------------------------------------------------


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
        ``"贵溪市, 鹰潭市, 江西省"`` (downloaded with osmnx; cached). A string with a road
        file's suffix or a ``/`` is a path, and a missing one raises
        :class:`~carecircle.errors.InputFileNotFound` (no download is tried).
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
        The roads as arrays (``.table``) in ``.crs`` with a report of what was read
        (``report["source"]``: the file's name or the place).
    """
    spec, origin = _network_source(source)
    net = network.read_roads(spec, cache=cache)
    net = replace(net, report={**net.report, "source": origin})
    shape = _area_wgs84(area)
    if shape is not None:
        net = net.clip(shape)
    crs = CRS.from_user_input(to_crs) if to_crs is not None else _utm_of(net, shape)
    if not crs.is_projected:
        raise DataError(
            f"to_crs {crs.to_string()} 是地理坐标系 / to_crs {crs.to_string()} is geographic; "
            "give a projected CRS (metres), e.g. EPSG:4549, or leave it out for the local UTM zone"
        )
    return net.project(crs)


def read_population(
    raster: str | Path | None = None,
    area: BaseGeometry | gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    *,
    older: str | Path | Sequence[str | Path] = (),
    to_crs: CRS | str | None = None,
    grid_m: float = 100.0,
) -> gpd.GeoDataFrame:
    """Demand cells from a population raster and/or age-band rasters, outside any scenario.

    The reading of a scenario's ``data.population`` (``carecircle.sources.census``): a
    WorldPop or GHS-POP grid of 50-250 m cells gives one point per populated cell centre inside
    ``area``, carrying its count; other grids are summed onto a ``grid_m`` grid in ``to_crs``.

    Parameters
    ----------
    raster
        Residents per cell (WorldPop ``ppp``, GHS-POP, ...), any CRS; may be None when
        ``older`` is given.
    area
        The study area: a GeoDataFrame/GeoSeries in any CRS (its union), or a shapely geometry in
        EPSG:4326.
    older
        Age-band rasters (e.g. WorldPop ``A6065`` and ``A65PL``) whose sum is the older residents.
    to_crs
        The metric CRS of the cells; by default the UTM zone of ``area``.
    grid_m
        The working grid's cell size, used when the rasters must be summed onto one grid.

    Returns
    -------
    geopandas.GeoDataFrame
        One point per populated cell: ``residents`` (NaN when only ``older`` was given) and, with
        ``older``, ``older``; ``.attrs["report"]`` says what was read, used and left outside.
    """
    from carecircle.sources import census  # rasterio: imported only when a raster is read

    bands = [older] if isinstance(older, str | Path) else list(older)
    files = ([raster] if raster is not None else []) + bands
    if not files:
        raise DataError(
            "read_population 需要至少一个栅格 / read_population needs a raster: pass "
            "raster=<residents .tif> and/or older=[<age-band .tif>, ...]"
        )
    for f in files:
        if not isinstance(f, str | Path):
            raise DataError(
                f"read_population 需要栅格文件路径 / read_population takes paths of GeoTIFF "
                f"rasters, got {_kind(f)}"
            )
        if not Path(f).exists():
            raise InputFileNotFound(f"人口栅格不存在 / population raster not found: {f}")
    if area is None:
        raise DataError(
            "read_population 需要研究区 / read_population needs area= (a GeoDataFrame of the "
            "county, or a shapely polygon in EPSG:4326), so a national raster is read only there"
        )
    shape = _area_wgs84(area)
    assert shape is not None
    crs = CRS.from_user_input(to_crs) if to_crs is not None else _utm_of_area(shape)
    if not crs.is_projected:
        raise DataError(
            f"to_crs {crs.to_string()} 是地理坐标系 / to_crs {crs.to_string()} is geographic; "
            "give a projected CRS (metres) or leave it out for the local UTM zone"
        )
    demand = census.demand_from_rasters(
        raster,
        bands,
        shape,
        "EPSG:4326",
        to_crs=crs,
        grid_m=grid_m,
        max_cells=InputLimits().raster_cells,
    )
    columns: dict[str, Any] = {"residents": demand.population}
    if demand.older is not None:
        columns["older"] = demand.older
    cells = gpd.GeoDataFrame(columns, geometry=gpd.points_from_xy(demand.x, demand.y), crs=crs)
    cells.attrs["report"] = demand.report
    cells.attrs["cell_area_m2"] = demand.cell_area_m2
    return cells


def load_scenario(
    source: str | Path | Mapping[str, Any] | Scenario,
    *,
    check_files: bool = True,
    data_from: str | Path | None = None,
    base_dir: str | Path | None = None,
) -> Scenario:
    """Read and validate a scenario: the path of its YAML file, or a dict of the same content.

    A dict's relative paths resolve against ``base_dir`` (default: the current folder). A
    :class:`Scenario` is returned as it is. Everything else is as
    :func:`carecircle.scenario.load_scenario` (``check_files``, ``data_from``).
    """
    if isinstance(source, Scenario):
        return source
    if isinstance(source, str | Path):
        return _load_scenario_file(source, check_files=check_files, data_from=data_from)
    if isinstance(source, Mapping):
        if data_from is not None:
            raise DataError(
                "data_from 只适用于情景文件 / data_from needs the scenario's file (its data is "
                "found beside it); load the file, or put the other scenario's data: in the dict"
            )
        return scenario_from_dict(
            dict(source), base_dir=base_dir or Path.cwd(), check_files=check_files
        )
    raise DataError(
        f"load_scenario 需要情景文件路径 / load_scenario takes the path of a scenario YAML file "
        f"(or a dict of its content), got {_kind(source)}"
    )


# --- graphs and times ------------------------------------------------------------------------------


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
    (:func:`read_roads` projects them); the graph carries their CRS.

    Speeds are refused when zero, negative or not finite, and a warning
    (:class:`CareCircleWarning`) names one that looks like the wrong unit: walking faster than
    2.5 m/s (km/h?), an e-bike outside 5-45 km/h, a car outside 5-150 km/h.
    """
    if not isinstance(roads, network.RoadNetwork):
        raise DataError(f"roads: {_not_roads(roads)}")
    if mode not in _MODES:
        raise DataError(
            f"未知出行方式 / unknown travel mode {excerpt(mode)}; use one of {', '.join(_MODES)}"
        )
    if not roads.crs.is_projected:
        raise DataError(
            f"路网为地理坐标系 / roads are in a geographic CRS ({roads.crs.to_string()}); "
            "re-project them with roads.project(...) (or read_roads(to_crs=...)) to a projected "
            "CRS before building a travel graph"
        )
    _check_speeds(mode, walk_speed_mps, ebike_speed_kmh, drive_speeds_kmh)
    graph = engine.TravelGraph.from_roads(
        roads.table,
        mode=mode,  # type: ignore[arg-type]
        walk_speed_mps=walk_speed_mps,
        ebike_speed_kmh=ebike_speed_kmh,
        drive_speeds_kmh=drive_speeds_kmh,
        crs=roads.crs,
    )
    if graph.n_arcs == 0:
        raise DataError(
            f"没有可供 {mode} 通行的道路 / none of the {roads.table.n_segments:,} road segments "
            f"can be used to {mode}; check the roads and the mode"
        )
    return graph


def travel_times(
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    facilities: gpd.GeoDataFrame | gpd.GeoSeries,
    graph: engine.TravelGraph,
    *,
    max_access_m: float = 500.0,
    walk_speed_mps: float = 1.0,
    max_seconds: float | None = None,
) -> gpd.GeoDataFrame:
    """Seconds from every point to its nearest facility over the graph, access legs included.

    Each point and each facility joins the network at its nearest node by a straight access
    leg walked at ``walk_speed_mps``; one farther than ``max_access_m`` from any road is off the
    network (``network_part == "off_network"``), never dropped. A polygon or line is placed at
    its representative point in the graph's CRS (a point inside it,
    ``GeoSeries.representative_point``), not its centroid. ``max_seconds`` (optional, seconds)
    stops the search there: a point farther counts as not reachable.

    A :class:`DataQualityWarning` counts the points that reach no facility: off the network, or
    joined to it with no way to a facility (on a drive or e-bike graph, one-way streets and dead
    ends at the extract's edge; on any graph, islands without a facility).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per point, in its order and with its index, geometry and CRS:

        ``seconds``
            float seconds to the nearest facility; NaN when none is reachable (so means and sums
            skip it: count those with ``~reachable``).
        ``reachable``
            bool, a facility was reached (within ``max_seconds`` when given).
        ``facility``
            the index label of the nearest facility: nullable ``Int64`` for an integer index
            (``<NA>`` when none is reachable), pandas ``string`` for text labels.
        ``network_part``
            where the point joined the network: ``"main"`` (the largest connected part, counted
            ignoring one-way directions, so a point there may still reach nothing: see
            ``reachable``), ``"island"`` (a fragment cut off from it) or ``"off_network"``
            (farther than ``max_access_m`` from every road).
        ``access_m``
            metres of the straight access leg (for an off-network point: to the nearest node).
    """
    _check_graph("travel_times(points, facilities, graph)", graph, points, facilities)
    _check_access(max_access_m, walk_speed_mps)
    limit = math.inf if max_seconds is None else _check_max_seconds(max_seconds, "travel_times")
    psnap = _snapped(points, graph, "points", max_access_m, walk_speed_mps)
    fsnap = _snapped(facilities, graph, "facilities", max_access_m, walk_speed_mps)
    usable = np.flatnonzero(fsnap.node >= 0)
    n_fac = len(fsnap.node)
    if usable.size == 0 and n_fac:
        raise _all_off("facilities", n_fac, max_access_m)
    node_s, nearest = engine.nearest_times(
        graph, fsnap.node[usable], source_seconds=fsnap.access_s[usable], limit=limit
    )
    on = psnap.node >= 0
    total = np.full(len(on), np.inf)
    total[on] = psnap.access_s[on] + node_s[psnap.node[on]]
    reachable = np.isfinite(total) & (total <= limit)
    which = np.full(len(on), -1, dtype=np.int64)
    which[reachable] = usable[nearest[psnap.node[reachable]]]
    index = pd.Index(points.index)
    _warn_unreachable(psnap, reachable, index, max_access_m, limited=max_seconds is not None)
    return gpd.GeoDataFrame(
        {
            "seconds": np.where(reachable, total, np.nan),
            "reachable": reachable,
            "facility": _labels(pd.Index(facilities.index), which, index),
            "network_part": _PART_NAMES[psnap.status],
            "access_m": psnap.distance_m,
        },
        geometry=gpd.GeoSeries(_geometry(points, "points")).to_numpy(),
        index=index,
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
    stored as an explicit zero. Polygons are placed at their representative points (in the
    graph's CRS), as in :func:`travel_times`.

    ``max_seconds`` is in seconds: one below 60 gets a :class:`CareCircleWarning` (15 minutes is
    ``max_seconds=15 * 60``), and a matrix with no entry at all a :class:`DataQualityWarning`.
    """
    _check_graph("cost_matrix(demand, sites, graph)", graph, demand, sites)
    _check_access(max_access_m, walk_speed_mps)
    limit = _check_max_seconds(max_seconds, "cost_matrix")
    dst = _snapped(demand, graph, "demand", max_access_m, walk_speed_mps)
    src = _snapped(sites, graph, "sites", max_access_m, walk_speed_mps)
    ok = np.flatnonzero(src.node >= 0)
    n, m = len(dst.node), len(src.node)
    if ok.size == 0 and m:
        raise _all_off("sites", m, max_access_m)
    by_site = engine.demand_catchments(
        engine.catchments(graph, src.node[ok], limit, source_seconds=src.access_s[ok]),
        dst,
        limit,
    ).tocoo()
    matrix = sp.coo_array((by_site.data, (by_site.col, ok[by_site.row])), shape=(n, m)).tocsr()
    matrix.sort_indices()
    if matrix.nnz == 0 and n and m:
        warnings.warn(
            f"cost_matrix: 没有任何需求点在 {limit:g} 秒内到达任何候选点 / no demand point "
            f"reaches any site within max_seconds = {limit:g} s: the matrix is empty",
            DataQualityWarning,
            stacklevel=2,
        )
    return matrix


def isochrones(
    facilities: gpd.GeoDataFrame | gpd.GeoSeries,
    graph: engine.TravelGraph,
    *,
    minutes: float | Iterable[float] = (5, 10, 15),
    max_access_m: float = 500.0,
    walk_speed_mps: float = 1.0,
    buffer_m: float = 25.0,
) -> gpd.GeoDataFrame:
    """Isochrone polygons around the facilities: the roads within each time, widened to a band.

    ``minutes`` is one number or several, each positive (minutes, not seconds). A facility
    given as a polygon or line starts from its representative point in the graph's CRS (a point
    inside it, ``GeoSeries.representative_point``), not its centroid; it joins the network by an
    access leg as in :func:`travel_times`.

    Returns a GeoDataFrame (``minutes``, ``seconds``, geometry) in the graph's CRS, shortest
    first, as the coverage map draws them.
    """
    from carecircle.outputs.isochrones import isochrones as polygons

    _check_graph("isochrones(facilities, graph)", graph, facilities)
    _check_access(max_access_m, walk_speed_mps)
    limits = _check_minutes(minutes)
    if not (isinstance(buffer_m, int | float) and buffer_m > 0 and math.isfinite(buffer_m)):
        raise DataError(
            f"buffer_m 须为正数 / buffer_m must be a positive number of metres, got {buffer_m!r}"
        )
    snap = _snapped(facilities, graph, "facilities", max_access_m, walk_speed_mps)
    ok = snap.node >= 0
    if len(ok) and not ok.any():
        raise _all_off("facilities", len(ok), max_access_m)
    node_s, _ = engine.nearest_times(graph, snap.node[ok], source_seconds=snap.access_s[ok])
    return polygons(graph, node_s, graph.crs, minutes=limits, buffer_m=buffer_m)


# --- runs ------------------------------------------------------------------------------------------


def run_scenario(
    scenario: Scenario | str | Path | Mapping[str, Any], *, progress: Progress | None = None
) -> RunResult:
    """Run a scenario as ``carecircle run`` does, without writing anything.

    Parameters
    ----------
    scenario
        A :class:`Scenario`, the path of its YAML file, or a dict of its content
        (:func:`load_scenario`).
    progress
        Called as each of the nine stages starts, as ``progress(stage, stages, label)``: two
        numbers and a bilingual label (``3, 9, "读取人口栅格 / reading the population grid"``).
        ``progress=print`` prints them; None (the default) is silent.

    Returns
    -------
    RunResult
        ``result.summary`` is summary.json's content. Each data-quality warning of the run
        (``summary["data_quality"]["warnings"]``) is also emitted once as a
        :class:`DataQualityWarning`, so a notebook shows it.

    Write the outputs with ``carecircle.outputs.write_outputs(result, folder)``.
    """
    from carecircle.pipeline import run_scenario as run

    result = run(load_scenario(scenario), progress=progress)
    _warn_quality(result.summary)
    return result


def check_plan(
    plan: Plan | str | Path,
    scenario: Scenario | str | Path | Mapping[str, Any],
    *,
    before: RunResult | None = None,
    progress: Progress | None = None,
) -> PlanCheck:
    """Check an allocation plan (a plan file or a read :class:`~carecircle.sources.plan.Plan`)
    against its scenario's rules, as ``carecircle check-plan`` does; ``before`` reuses a run of
    the same scenario already at hand, ``progress`` is as in :func:`run_scenario`. The check's
    data-quality warnings are emitted once each as :class:`DataQualityWarning`."""
    from carecircle.review import review_plan
    from carecircle.sources.plan import read_plan

    sc = load_scenario(scenario)
    read = read_plan(plan, sc) if isinstance(plan, str | Path) else plan
    check = review_plan(read, sc, before=before, progress=progress)
    _warn_quality(check.summary)
    return check


# --- helpers ---------------------------------------------------------------------------------------


def _warn_quality(summary: Mapping[str, Any]) -> None:
    """Each data-quality warning of a summary, once, as a DataQualityWarning at the caller's line
    (two frames up: the public function's caller)."""
    for w in summary.get("data_quality", {}).get("warnings", []):
        text = terminal_text(f"{w['message_zh']} / {w['message_en']}", limit=None)
        warnings.warn(f"[{w['code']}] {text}", DataQualityWarning, stacklevel=3)


def _network_source(source: Any) -> tuple[NetworkSource, str]:
    """The reader's spec for a path or place name, and the name the network's repr shows."""
    if isinstance(source, NetworkSource):
        return source, network.describe_source(source)
    if not isinstance(source, str | Path):
        raise DataError(
            f"read_roads 需要文件路径或地名 / read_roads takes the path of a road file (.osm, "
            f".osm.pbf, .graphml) or a place name, got {_kind(source)}"
            + (
                "; for an osmnx graph use cc.engine.TravelGraph.from_networkx(G, mode='walk')"
                if hasattr(source, "edges")
                else ""
            )
        )
    text = str(source)
    path = Path(text).expanduser()
    is_file = (
        isinstance(source, Path)
        or path.exists()
        or text.lower().endswith(_ROAD_SUFFIXES)
        or "/" in text
        or "\\" in text
    )
    if not is_file:
        return NetworkSource(place=text), text
    if not path.exists():
        raise InputFileNotFound(
            f"路网文件不存在 / road file not found: {terminal_text(text, limit=200)} (check the "
            "path; a place name is downloaded only when it has no '/' and no file suffix)"
        )
    try:
        return NetworkSource(path=path), path.name
    except pydantic.ValidationError as exc:
        problem = exc.errors()[0].get("msg", str(exc)).removeprefix("Value error, ")
        raise DataError(f"{terminal_text(text, limit=200)}: {problem}") from None


def _area_wgs84(area: Any) -> BaseGeometry | None:
    if area is None:
        return None
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        if area.crs is None:
            raise DataError(
                "area 没有坐标系 / area has no CRS; set one with .set_crs() before passing it"
            )
        return area.to_crs("EPSG:4326").union_all()
    if isinstance(area, BaseGeometry):
        return area
    raise DataError(
        f"area 应为 GeoDataFrame、GeoSeries 或 shapely 几何 / area must be a GeoDataFrame, "
        f"GeoSeries or shapely geometry (EPSG:4326), got {_kind(area)}"
    )


def _utm_of(net: network.RoadNetwork, area: BaseGeometry | None) -> CRS:
    if area is not None:
        return _utm_of_area(area)
    t = net.table
    crs = gpd.GeoSeries(gpd.points_from_xy(t.x, t.y), crs=net.crs).estimate_utm_crs()
    if crs is None:  # pragma: no cover - only far outside every UTM zone
        raise DataError("无法选取 UTM 分带 / cannot pick a UTM zone for these roads; give to_crs")
    return crs


def _utm_of_area(area: BaseGeometry) -> CRS:
    crs = gpd.GeoSeries([area], crs="EPSG:4326").estimate_utm_crs()
    if crs is None:  # pragma: no cover - only far outside every UTM zone
        raise DataError("无法选取 UTM 分带 / cannot pick a UTM zone for this area; give to_crs")
    return crs


def _kind(value: Any) -> str:
    """What a value is, as a message names it: ``a str 'roads.osm'``, ``a list of 3 shapely
    Points``, ``a numpy array of shape (5, 2)``."""
    if isinstance(value, str | Path):
        return f"the {type(value).__name__} {excerpt(str(value), 80)}"
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape}"
    if isinstance(value, gpd.GeoDataFrame | gpd.GeoSeries):
        return f"a {type(value).__name__} of {len(value):,} rows"
    if isinstance(value, pd.DataFrame):
        cols = ", ".join(excerpt(c, 20, quote=False) for c in list(value.columns)[:6])
        return f"a pandas DataFrame (columns: {cols})"
    if isinstance(value, list | tuple):
        kinds = {type(v).__name__ for v in value}
        what = f"{kinds.pop()}s" if len(kinds) == 1 else "items"
        if value and all(isinstance(v, BaseGeometry) for v in value):
            what = f"shapely {what}"
        return f"a {type(value).__name__} of {len(value)} {what}"
    if isinstance(value, BaseGeometry):
        return f"a shapely {value.geom_type}"
    if value is None:
        return "None"
    return f"a {type(value).__module__.split('.')[0]} {type(value).__name__}"


def _not_roads(value: Any) -> str:
    """Why ``value`` is not a RoadNetwork, and what to call."""
    if isinstance(value, str | Path):
        return (
            f"需要 RoadNetwork / got {_kind(value)}, not a RoadNetwork; read it first: "
            f"roads = cc.read_roads({excerpt(str(value), 80)}), then cc.travel_graph(roads)"
        )
    if isinstance(value, engine.TravelGraph):
        return "需要 RoadNetwork / got a TravelGraph, which is already a travel graph; use it as is"
    hint = (
        "; for an osmnx graph use cc.engine.TravelGraph.from_networkx(G, mode='walk')"
        if hasattr(value, "edges")
        else "; read roads with cc.read_roads(path or place)"
    )
    return f"需要 RoadNetwork / got {_kind(value)}, not a RoadNetwork{hint}"


def _check_graph(call: str, graph: Any, *frames: Any) -> None:
    """The graph is a TravelGraph with arcs, given last; else say which call to make first."""
    if not isinstance(graph, engine.TravelGraph):
        if any(isinstance(f, engine.TravelGraph) for f in frames):
            raise DataError(
                f"参数顺序有误 / arguments in the wrong order: {call} takes the graph last; got "
                f"a TravelGraph among the points and {_kind(graph)} as the graph"
            )
        if isinstance(graph, network.RoadNetwork):
            raise DataError(
                f"graph: 需要 TravelGraph / got a RoadNetwork (roads), not a travel graph; call "
                f"walk = cc.travel_graph(roads, mode='walk') first and pass walk to {call}"
            )
        raise DataError(
            f"graph: 需要 TravelGraph / got {_kind(graph)}, not a travel graph; build one with "
            f"cc.travel_graph(cc.read_roads(...)) and pass it to {call}"
        )
    if not graph.active.any():
        raise DataError(
            f"graph: 出行网络没有任何路段 / the {graph!r} has no arcs; build it from roads the "
            "mode may use"
        )


def _check_access(max_access_m: Any, walk_speed_mps: Any) -> None:
    if not _positive(max_access_m, allow_inf=True):
        raise DataError(
            f"max_access_m 须为正数 / max_access_m must be a positive number of metres (the "
            f"farthest a point joins the roads; default 500), got {max_access_m!r}"
        )
    _check_walk(walk_speed_mps)


def _check_walk(walk_speed_mps: Any) -> None:
    if not _positive(walk_speed_mps):
        raise DataError(
            f"walk_speed_mps 须为正数 / walk_speed_mps must be a positive speed in m/s (older "
            f"pedestrians: 1.0), got {walk_speed_mps!r}"
        )
    if walk_speed_mps > _WALK_MPS_MAX:
        warnings.warn(
            f"walk_speed_mps = {walk_speed_mps:g} 米/秒快于快步走，是否误填了 km/h？/ "
            f"walk_speed_mps = {walk_speed_mps:g} m/s is faster than a brisk walk: km/h? "
            f"({walk_speed_mps:g} km/h = {walk_speed_mps / 3.6:.2f} m/s; older pedestrians walk "
            "about 1.0 m/s)",
            CareCircleWarning,
            stacklevel=4,
        )


def _check_speeds(
    mode: str,
    walk_speed_mps: Any,
    ebike_speed_kmh: Any,
    drive_speeds_kmh: Mapping[str, float] | None,
) -> None:
    """The mode's speeds: positive and finite, else refused; a warning for a likely unit slip."""
    if mode == "walk":
        _check_walk(walk_speed_mps)
        return
    if mode == "ebike":
        speeds = {"ebike_speed_kmh": ebike_speed_kmh}
        low, high = _EBIKE_KMH
    else:
        if drive_speeds_kmh is not None and not isinstance(drive_speeds_kmh, Mapping):
            raise DataError(
                f"drive_speeds_kmh 应为字典 / drive_speeds_kmh maps OSM highway classes to km/h, "
                f"e.g. {{'primary': 60}}, got {_kind(drive_speeds_kmh)}"
            )
        speeds = {f"drive_speeds_kmh[{k!r}]": v for k, v in (drive_speeds_kmh or {}).items()}
        low, high = _DRIVE_KMH
    for name, value in speeds.items():
        if not _positive(value):
            raise DataError(
                f"{name} 须为正数 / {name} must be a positive speed in km/h, got {value!r}"
            )
        if value < low:
            warnings.warn(
                f"{name} = {value:g} km/h 慢于步行，是否误填了 m/s？/ {name} = {value:g} km/h is "
                f"slower than a walk: m/s? ({value:g} m/s = {value * 3.6:g} km/h)",
                CareCircleWarning,
                stacklevel=3,
            )
        elif value > high:
            warnings.warn(
                f"{name} = {value:g} km/h 不合常理 / {name} = {value:g} km/h is faster than "
                f"any {mode} in a county ({low:g}-{high:g} km/h expected); check the number",
                CareCircleWarning,
                stacklevel=3,
            )


def _check_max_seconds(max_seconds: Any, func: str) -> float:
    if not _positive(max_seconds, allow_inf=True):
        raise DataError(
            f"max_seconds 须为正数（秒）/ max_seconds must be a positive number of seconds, got "
            f"{max_seconds!r}; for 15 minutes pass max_seconds=15 * 60"
        )
    if max_seconds < 60:
        warnings.warn(
            f"{func}: max_seconds 是秒 / max_seconds is in seconds, not minutes: "
            f"{max_seconds:g} s reaches only ~{max_seconds:g} m on foot; for {max_seconds:g} "
            f"minutes pass max_seconds={max_seconds:g} * 60",
            CareCircleWarning,
            stacklevel=3,
        )
    return float(max_seconds)


def _check_minutes(minutes: Any) -> list[float]:
    values = [minutes] if isinstance(minutes, int | float | np.number) else minutes
    try:
        if isinstance(values, str | bytes):
            raise TypeError
        out = [float(m) for m in values]
    except (TypeError, ValueError):
        raise DataError(
            f"minutes 应为分钟数 / minutes must be a number of minutes or several, e.g. "
            f"minutes=15 or minutes=(5, 10, 15), got {_kind(minutes)}"
        ) from None
    if not out:
        raise DataError("minutes 为空 / minutes is empty; give at least one, e.g. minutes=15")
    for m in out:
        if not _positive(m):
            raise DataError(
                f"minutes 须为正数 / minutes must be positive, got {m:g}; each is a travel time "
                "in minutes, e.g. minutes=(5, 10, 15)"
            )
    if max(out) > _MINUTES_MAX:
        warnings.warn(
            f"minutes 是分钟 / minutes are minutes, not seconds: {max(out):g} min is "
            f"{max(out) / 60:.1f} hours; for {max(out):g} seconds pass {max(out) / 60:g}",
            CareCircleWarning,
            stacklevel=3,
        )
    return out


def _positive(value: Any, *, allow_inf: bool = False) -> bool:
    """A real number above zero (bools are not numbers here), finite unless ``allow_inf``."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        return False
    v = float(value)
    return v > 0 and (math.isfinite(v) or allow_inf)


def _geometry(frame: Any, name: str) -> gpd.GeoSeries:
    """The frame's active geometry column; anything else is refused with what to pass."""
    if isinstance(frame, gpd.GeoSeries):
        return frame
    if isinstance(frame, gpd.GeoDataFrame):
        try:
            return frame.geometry
        except AttributeError:
            cols = [c for c in frame.columns if isinstance(frame[c].dtype, gpd.array.GeometryDtype)]
            fix = (
                f"call .set_geometry({excerpt(cols[0], 40)}) first"
                if cols
                else "give it one: .set_geometry(gpd.points_from_xy(x, y), crs=...)"
            )
            raise DataError(
                f"{name}: GeoDataFrame 没有活动几何列 / the GeoDataFrame has no active geometry "
                f"column; {fix}"
            ) from None
    raise DataError(f"{name}: 需要 GeoDataFrame 或 GeoSeries / {_not_points(frame)}")


def _not_points(value: Any) -> str:
    crs = "crs='EPSG:4326'"
    if isinstance(value, network.RoadNetwork):
        fix = "pass points here and the graph of cc.travel_graph(roads) as the graph"
    elif isinstance(value, BaseGeometry):
        fix = f"wrap it: gpd.GeoSeries([geom], {crs})"
    elif (
        isinstance(value, list | tuple)
        and value
        and all(isinstance(v, BaseGeometry) for v in value)
    ):
        fix = f"wrap them: gpd.GeoSeries(geoms, {crs})"
    elif isinstance(value, np.ndarray) and value.ndim == 2 and value.shape[1] == 2:
        fix = f"make points: gpd.GeoSeries(gpd.points_from_xy(a[:, 0], a[:, 1]), {crs})"
    elif isinstance(value, pd.DataFrame):
        lon, lat = _lon_lat_columns(value)
        fix = (
            f"make it a GeoDataFrame: gpd.GeoDataFrame(df, geometry=gpd.points_from_xy("
            f"df[{lon}], df[{lat}]), {crs})"
        )
    elif isinstance(value, str | Path):
        fix = f"read the file first: gpd.read_file({excerpt(str(value), 80)})"
    else:
        fix = f"make a GeoSeries: gpd.GeoSeries(gpd.points_from_xy(lon, lat), {crs})"
    return f"got {_kind(value)}, not a GeoDataFrame or GeoSeries with a CRS; {fix}"


def _lon_lat_columns(frame: pd.DataFrame) -> tuple[str, str]:
    names = {str(c).lower(): str(c) for c in frame.columns}
    lon = next((names[k] for k in ("lon", "lng", "longitude", "x", "经度") if k in names), None)
    lat = next((names[k] for k in ("lat", "latitude", "y", "纬度") if k in names), None)
    return (excerpt(lon, 30) if lon else "<x column>", excerpt(lat, 30) if lat else "<y column>")


def _points(
    frame: Any, graph: engine.TravelGraph, name: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The frame's points (polygons by a point inside) in the graph's CRS, as x/y arrays.

    Refused before any tree query: rows without geometry, a frame without CRS against a graph
    with one, coordinates outside lon -180..180 / lat -90..90 in a geographic CRS (lon/lat
    swapped, metres labelled as degrees), and points the projection turns into NaN or inf.
    """
    geom = _geometry(frame, name)
    missing = geom.isna() | geom.is_empty
    if missing.any():
        raise DataError(
            f"{name}: {int(missing.sum())} 行没有几何 / {int(missing.sum())} row(s) have no "
            f"geometry (first: row {_label(geom.index, int(np.flatnonzero(missing)[0]))}); drop "
            "them or give them one"
        )
    if geom.crs is not None and geom.crs.is_geographic:
        _check_degrees(geom, name)
    if graph.crs is not None:
        if geom.crs is None:
            raise DataError(
                f"{name} 没有坐标系 / {name} have no CRS; set one with .set_crs() (the graph is "
                f"in {engine.crs_name(graph.crs)}; lon/lat are EPSG:4326)"
            )
        geom = geom.to_crs(graph.crs)
    elif geom.crs is not None and geom.crs.is_geographic:
        raise DataError(
            f"{name} are in a geographic CRS ({geom.crs.to_string()}) and the graph does not say "
            "its own. Use '.to_crs()' to re-project them to the graph's projected CRS."
        )
    if not (geom.geom_type == "Point").all():
        geom = geom.representative_point()
    x, y = geom.x.to_numpy(dtype=np.float64), geom.y.to_numpy(dtype=np.float64)
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{name}: {int(bad.sum())} 个点无法投影 / {int(bad.sum())} point(s) have no finite "
            f"coordinates in {engine.crs_name(graph.crs)} (first: row {_label(geom.index, i)}); "
            "check their coordinates and CRS (经纬度是否颠倒 / lon/lat swapped?)"
        )
    return x, y


def _check_degrees(geom: gpd.GeoSeries, name: str) -> None:
    """Geographic coordinates must be longitudes -180..180 and latitudes -90..90."""
    b = geom.bounds
    with np.errstate(invalid="ignore"):
        bad = ~(
            (b["minx"] >= -180) & (b["maxx"] <= 180) & (b["miny"] >= -90) & (b["maxy"] <= 90)
        ).to_numpy()
    if not bad.any():
        return
    i = int(np.flatnonzero(bad)[0])
    point = geom.iloc[i].representative_point()
    crs = geom.crs.to_string() if geom.crs is not None else "?"
    raise DataError(
        f"{name}: {int(bad.sum())} 个点超出经度 −180..180 / 纬度 −90..90，经纬度是否颠倒 / lon/lat "
        f"swapped? {int(bad.sum())} of {len(geom)} point(s) labelled {crs} lie outside lon "
        f"−180..180 / lat −90..90 (first: row {_label(geom.index, i)}, x={point.x:.6g}, "
        f"y={point.y:.6g}); give Point(lon, lat), or for metres set their true CRS with "
        ".set_crs(<projected CRS>, allow_override=True)"
    )


def _snapped(
    frame: Any,
    graph: engine.TravelGraph,
    name: str,
    max_access_m: float,
    walk_speed_mps: float,
) -> engine.Snap:
    """The frame's points joined to the graph; points far from every road are refused (all of
    them: a wrong CRS) or warned about (some of them)."""
    x, y = _points(frame, graph, name)
    snap = engine.snap_points(
        graph, x, y, max_distance_m=max_access_m, walk_speed_mps=walk_speed_mps
    )
    far = snap.distance_m > FAR_M
    if not far.any():
        return snap
    index = _geometry(frame, name).index
    crs = engine.crs_name(getattr(frame, "crs", None))
    if far.all():
        raise DataError(
            f"{name}: 全部 {far.size} 个点距路网超过 100 km / all {far.size} point(s) are more "
            f"than 100 km from every road node (the nearest {snap.distance_m.min() / 1000:,.0f} "
            f"km): is their CRS right? They are labelled {crs} and the graph is in "
            f"{engine.crs_name(graph.crs)}; lon/lat labelled as a metric CRS look like this: "
            "set the true CRS with .set_crs('EPSG:4326', allow_override=True)"
        )
    i = int(np.flatnonzero(far)[0])
    warnings.warn(
        f"{name}: {int(far.sum())} / {far.size} 个点距路网超过 100 km / {int(far.sum())} of "
        f"{far.size} point(s) are more than 100 km from every road node (first: row "
        f"{_label(index, i)}, {snap.distance_m[i] / 1000:,.0f} km); check their coordinates "
        f"and CRS ({crs}) and that the roads cover them",
        CareCircleWarning,
        stacklevel=3,
    )
    return snap


def _all_off(name: str, n: int, max_access_m: float) -> DataError:
    return DataError(
        f"{name}: 全部 {n} 个点距道路超过 {max_access_m:g} 米 / all {n} {name} lie farther than "
        f"max_access_m = {max_access_m:g} m from any road; check their CRS and that the network "
        "covers them"
    )


def _warn_unreachable(
    snap: engine.Snap,
    reachable: npt.NDArray[np.bool_],
    index: pd.Index,
    max_access_m: float,
    *,
    limited: bool,
) -> None:
    """One DataQualityWarning counting the points that reach no facility, by why."""
    off = snap.status == engine.Snap.OFF_NETWORK
    stuck = ~reachable & ~off
    if limited:  # beyond max_seconds is what was asked for; only the off-network ones are news
        stuck[:] = False
    lost = off | stuck
    if not lost.any():
        return
    n_main = int(np.count_nonzero(stuck & (snap.status == engine.Snap.MAIN)))
    parts = []
    if off.any():
        parts.append(
            f"{int(off.sum()):,} off the network (farther than max_access_m = {max_access_m:g} m "
            "from any road)"
        )
    if stuck.any():
        parts.append(
            f"{int(stuck.sum()):,} joined to it ({n_main:,} of them to the main part) with no "
            "way to a facility: one-way streets, dead ends at the extract's edge, or islands"
        )
    first = _label(index, int(np.flatnonzero(lost)[0]))
    warnings.warn(
        f"travel_times: {int(lost.sum()):,} / {lost.size:,} 个点到不了任何设施 / "
        f"{int(lost.sum()):,} of {lost.size:,} points reach no facility: {'; '.join(parts)} "
        f"(first: row {first}); their seconds are NaN and reachable is False",
        DataQualityWarning,
        stacklevel=3,
    )


def _labels(index: pd.Index, which: npt.NDArray[np.int64], rows: pd.Index) -> pd.Series:
    """The facility label of each row (``which``: position in ``index``, -1 for none) as a
    nullable column: Int64 for an integer index, string for text, object (None) otherwise."""
    ok = which >= 0
    if pd.api.types.is_integer_dtype(index.dtype):
        values = np.zeros(which.size, dtype=np.int64)
        values[ok] = index.to_numpy()[which[ok]]
        return pd.Series(pd.arrays.IntegerArray(values, ~ok), index=rows)
    picked = np.full(which.size, None, dtype=object)
    if ok.any():
        picked[ok] = index.to_numpy(dtype=object)[which[ok]]
    text = all(isinstance(v, str) for v in picked[ok])
    return pd.Series(picked, index=rows, dtype="string" if text else object)


def _label(index: pd.Index, i: int) -> str:
    """Row ``i`` as a message names it: its index label (and position when they differ)."""
    label = index[i]
    if isinstance(label, int | np.integer):
        return str(i) if int(label) == i else f"{int(label)} (position {i})"
    return f"{excerpt(label, 40)} (position {i})"
