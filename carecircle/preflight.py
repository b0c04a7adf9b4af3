"""preflight: every check of a run that needs no heavy computation, for ``carecircle validate``.

What :func:`preflight` passes, ``run`` does not reject for the same reasons: it calls the functions
``run`` calls (the working CRS, each layer's reader, the admin cross-checks, the facility type
mapping, the census lookup and table, the siting model's checks before solving), and for the
inputs whose full reading is the heavy part it checks only what decides their refusal: a raster
opens and overlaps the area (its bounds first; then its window over the area is read as run reads
it, bounded by ``limits.raster_cells``, for its cells and the census), a road file is a readable
file of a recognised kind whose declared bounds reach the area (streamed or its blob headers read
as run's guards do, never parsed), the facilities or population points lie inside the area
(swapped longitude and latitude land outside it).

Every problem found is listed at once, each under the scenario key to fix, as one
:class:`~carecircle.errors.ScenarioError`.
"""

from __future__ import annotations

import bz2
import gzip
import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, TypeVar, cast

import geopandas as gpd
import numpy as np
import rasterio
from pyproj import CRS

from carecircle import guard, pipeline, recommend
from carecircle.errors import CareCircleError, DataError, ScenarioError, excerpt
from carecircle.locate._inputs import _forced
from carecircle.planning import demand, regional
from carecircle.sources import census, layers, network

if TYPE_CHECKING:
    from carecircle.scenario import InputLimits, Scenario

__all__ = ["preflight"]

T = TypeVar("T")
Problem = tuple[str, str]

_HEAD_BYTES = 64 * 1024
_OSM_BOUNDS = re.compile(rb"<bounds\b([^>]*)>")
_BOUND_ATTR = re.compile(rb'(minlat|minlon|maxlat|maxlon)\s*=\s*["\']([-+0-9.eE]+)["\']')


def preflight(scenario: Scenario) -> None:
    """Raise :class:`ScenarioError` listing every problem ``run`` would refuse the scenario for
    that can be found without building the travel graphs (see the module's docstring)."""
    problems: list[Problem] = []

    def attempt(key: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        try:
            return fn(*args, **kwargs)
        except CareCircleError as exc:
            problems.append((key, str(exc)))
            return None

    limits = scenario.limits
    data = scenario.data
    boundary = attempt(
        "area.boundary",
        layers.load_layer,
        scenario.area.boundary,
        kind="boundary",
        to_crs="EPSG:4326",
        limits=limits,
    )
    crs: CRS | None = None
    if boundary is not None or scenario.crs != "auto":
        area = boundary.frame if boundary is not None else gpd.GeoDataFrame(geometry=[])
        crs = attempt("crs", layers.working_crs, scenario.crs, area)
    to_crs: CRS | str = crs if crs is not None else "EPSG:4326"
    admin_ok = boundary is not None and crs is not None
    for key, kind, spec in (
        ("data.townships", "townships", data.townships),
        ("data.villages", "villages", data.villages),
    ):
        if spec is not None:
            ok = attempt(key, layers.load_layer, spec, kind=kind, to_crs=to_crs, limits=limits)
            admin_ok = admin_ok and ok is not None
    admin = None
    if admin_ok:  # the cross-checks of run's first stage (village township codes, ...)
        try:
            admin = pipeline._read_admin(scenario)
        except CareCircleError as exc:
            problems.append((_admin_key(scenario, str(exc)), str(exc)))

    facilities = _facilities(scenario, admin, to_crs, attempt)
    _population(scenario, admin, to_crs, attempt)
    if scenario.demand.census_2010 is not None:  # the two censuses' counts, read as run reads them
        try:
            demand.census_growth(scenario)
        except CareCircleError as exc:
            named = scenario.demand.census_county is not None
            key = "demand.census_2010"
            if str(exc).startswith("census_county"):
                key = "demand.census_county" if named else "data.population.census_county"
            problems.append((key, str(exc)))
    _roads(scenario, admin, attempt)
    siting = scenario.siting
    if (
        siting is not None
        and admin is not None
        and (facilities is not None or not siting.expand_jingloyuan)
    ):
        _siting(scenario, admin, facilities, attempt)
    if problems:
        raise ScenarioError(str(scenario.source_file or scenario.name), problems)


Attempt = Callable[..., Any]


def _admin_key(scenario: Scenario, message: str) -> str:
    """The scenario key of the admin layer a message of ``_read_admin`` names."""
    for key, spec in (
        ("data.villages", scenario.data.villages),
        ("data.townships", scenario.data.townships),
        ("area.boundary", scenario.area.boundary),
    ):
        if spec is not None and message.startswith(str(spec.path)):
            return key
    return "data.population.census_county" if "census_county" in message else "area.boundary"


def _area_wgs84(admin: pipeline._Admin, buffer_m: float) -> tuple[float, float, float, float]:
    """The area's box (buffered by ``buffer_m`` metres) in longitude and latitude."""
    outline = admin.boundary.buffer(buffer_m) if buffer_m > 0 else admin.boundary
    west, south, east, north = outline.to_crs("EPSG:4326").total_bounds
    return float(west), float(south), float(east), float(north)


def _box(bounds: tuple[float, float, float, float]) -> str:
    return "(" + ", ".join(f"{v:.4f}" for v in bounds) + ")"


# --- facilities -----------------------------------------------------------------------------------


def _facilities(
    scenario: Scenario, admin: pipeline._Admin | None, to_crs: CRS | str, attempt: Attempt
) -> gpd.GeoDataFrame | None:
    """The register as run places it (types mapped, unknown types refused), or None."""
    spec = scenario.data.facilities
    if admin is None:
        if spec is not None:  # the layer's own checks, without the area
            attempt(
                "data.facilities",
                layers.load_layer,
                spec,
                kind="facilities",
                to_crs=to_crs,
                limits=scenario.limits,
            )
        return None
    register = attempt("data.facilities", pipeline._read_register, scenario, admin)
    if register is None:
        return None
    placed = attempt("data.facilities.types", pipeline._place_facilities, scenario, admin, register)
    if spec is not None and len(register):
        # run refuses a register none of whose facilities reaches a road of the area and its
        # buffer (within travel.max_access_m): none inside that box cannot.
        reach = scenario.area.buffer_m + scenario.travel.max_access_m
        attempt("data.facilities", _inside, register, admin, reach, str(spec.path), "facilities")
    return cast("gpd.GeoDataFrame | None", placed)


def _inside(
    frame: gpd.GeoDataFrame, admin: pipeline._Admin, buffer_m: float, path: str, what: str
) -> None:
    """Refuse a layer none of whose points lies in the area's box (buffered by ``buffer_m``)."""
    bounds = _area_wgs84(admin, buffer_m)
    points = frame.geometry.to_crs("EPSG:4326")
    x, y = points.x.to_numpy(), points.y.to_numpy()
    west, south, east, north = bounds
    inside = (x >= west) & (x <= east) & (y >= south) & (y <= north)
    if inside.any():
        return
    extent = (float(np.nanmin(x)), float(np.nanmin(y)), float(np.nanmax(x)), float(np.nanmax(y)))
    raise DataError(
        f"{path}: 全部 {len(frame)} 个点都在研究区范围外 / all {len(frame)} {what} lie outside "
        f"the study area (their extent {_box(extent)}, the area's {_box(bounds)}, lon/lat); "
        "check `x:` (the longitude column) and `y:` (the latitude column), the source's `crs:` "
        "and `coords:` (gcj02 for Gaode/Amap, bd09 for Baidu), and that the file is this county's"
    )


# --- population -----------------------------------------------------------------------------------


def _population(
    scenario: Scenario, admin: pipeline._Admin | None, to_crs: CRS | str, attempt: Attempt
) -> None:
    pop = scenario.data.population
    limits = scenario.limits
    read = [True]  # the census county and table, each read as run reads it
    if pop.census_county is not None:
        read.append(attempt("data.population.census_county", pipeline._census_county, scenario))
    if pop.older_table is not None:
        read.append(
            attempt(
                "data.population.older_table", census.older_shares, pop.older_table, limits=limits
            )
        )
    if pop.points is not None:
        if admin is None:
            attempt(
                "data.population.points",
                layers.load_layer,
                pop.points,
                kind="population",
                to_crs=to_crs,
                limits=limits,
            )
        else:  # light: the points gridded, as run does, to see that some fall in the area
            demand = attempt("data.population.points", pipeline._demand, scenario, admin)
            if demand is not None and len(demand) == 0:
                attempt("data.population.points", _no_population, str(pop.points.path))
    if admin is None:
        return
    rasters = [("data.population.raster", pop.raster)] if pop.raster else []
    rasters += [(f"data.population.older_rasters[{i}]", p) for i, p in enumerate(pop.older_rasters)]
    area = admin.boundary.geometry.iloc[0]
    light = [
        attempt(key, _raster_overlaps, Path(path), area, admin.crs, limits.raster_cells)
        for key, path in rasters
    ]
    if rasters and all(light) and all(r is not None for r in read):
        # The window over the area, read as run reads it (bounded by limits.raster_cells): cells
        # that no count can be, nothing populated inside, the census table or county disagreeing.
        try:
            pipeline._demand_cells(scenario, admin)
        except CareCircleError as exc:
            key = next((k for k, p in rasters if str(exc).startswith(str(p))), "data.population")
            attempt(key, _raise, exc)


def _no_population(path: str) -> None:
    raise pipeline.no_population(path)


def _raise(exc: CareCircleError) -> None:
    raise exc


def _raster_overlaps(path: Path, area: Any, area_crs: CRS, max_cells: int | None) -> bool:
    """The first part of run's raster reading: the file opens, has a CRS, its window over the
    area is non-empty and within ``limits.raster_cells``; no cell is read."""
    guard.data_file(path, "栅格 / raster")
    with census._unreadable_as_data_error(path), rasterio.open(path) as src:
        census.checked_window(src, path, area, area_crs, max_cells)
    return True


# --- roads ----------------------------------------------------------------------------------------


def _roads(scenario: Scenario, admin: pipeline._Admin | None, attempt: Attempt) -> None:
    source = scenario.data.network
    if source.bbox is not None:
        attempt("data.network.bbox", network._checked_bbox, source.bbox)
    if source.path is None:
        return
    path = Path(source.path)
    area = _area_wgs84(admin, scenario.area.buffer_m) if admin is not None else None
    attempt("data.network.path", _road_file, path, scenario.limits, area)


def _road_file(
    path: Path, limits: InputLimits, area: tuple[float, float, float, float] | None
) -> None:
    """A road file run can read: within ``road_file_mb``, non-empty, of a recognised kind by its
    name and its first bytes; an OSM XML file whose ``<bounds>`` miss the area has no road in it."""
    size = guard.check_size(path, limits.road_file_mb, "road_file_mb")
    if size == 0:
        raise DataError(f"{path}: 路网文件为空 / the road file is empty; check the file")
    name = path.name.lower()
    if name.endswith(network._PBF_SUFFIXES):
        kind, marker = "OSM PBF", b"OSMHeader"
    elif name.endswith(network._GRAPHML_SUFFIXES):
        kind, marker = "GraphML", b"<graphml"
    elif name.endswith(network._XML_SUFFIXES):
        kind, marker = "OSM XML", b"<osm"
    else:
        raise DataError(
            f"{path}: 不支持的路网格式 / unsupported network format; use OSM XML "
            f"({', '.join(network._XML_SUFFIXES)}), OSM PBF (.osm.pbf) or GraphML (.graphml)"
        )
    opener: Any = gzip.open if name.endswith(".gz") else bz2.open if name.endswith(".bz2") else open
    try:
        with opener(path, "rb") as f:
            head = f.read(_HEAD_BYTES)
    except (OSError, EOFError, ValueError) as exc:
        raise DataError(
            f"{path}: 无法解压或读取 / cannot read or decompress the file ({type(exc).__name__}); "
            "check the file"
        ) from None
    if marker not in head:
        start = head[:24].decode("utf-8", errors="replace")
        raise DataError(
            f"{path}: 不是{kind}文件 / not an {kind} file (it starts {excerpt(start, 24)}); "
            f"check that data.network.path names the road file, or export the roads again as {kind}"
        )
    # run's own checks before parsing: an OSM XML file streamed once (no DTD, nodes and size
    # within the limits), a PBF's blob headers (its decompressed size); nothing is parsed.
    if kind == "OSM XML":
        guard.check_osm_xml(path, unzipped_mb=limits.osm_unzipped_mb, nodes=limits.osm_nodes)
        if area is not None:
            _check_osm_bounds(path, head, area)
    elif kind == "OSM PBF":
        guard.check_pbf(path, unzipped_mb=limits.osm_unzipped_mb)


def _check_osm_bounds(path: Path, head: bytes, area: tuple[float, float, float, float]) -> None:
    found = _OSM_BOUNDS.search(head)
    if found is None:
        return
    attrs = {k.decode(): float(v) for k, v in _BOUND_ATTR.findall(found.group(1))}
    if len(attrs) < 4:
        return
    west, south, east, north = area
    if (
        attrs["maxlon"] < west
        or attrs["minlon"] > east
        or attrs["maxlat"] < south
        or attrs["minlat"] > north
    ):
        box = (attrs["minlon"], attrs["minlat"], attrs["maxlon"], attrs["maxlat"])
        raise DataError(
            f"{path}: 研究区内没有道路 / no road lies inside the study area: the file's <bounds> "
            f"{_box(box)} miss the area and its buffer {_box(area)} (lon/lat); check that the "
            "network covers the county (and its buffer)"
        )


# --- siting ---------------------------------------------------------------------------------------


def _siting(
    scenario: Scenario,
    admin: pipeline._Admin,
    facilities: gpd.GeoDataFrame | None,
    attempt: Attempt,
) -> None:
    """The siting model's checks before solving (bed target against land quota, budget and
    ``max_sites``), on the candidates run would hand it."""
    spec = scenario.siting
    assert spec is not None
    src = scenario.data.candidates
    parcels = None
    if src is not None:
        parcels = attempt(
            "data.candidates",
            layers.read_layer,
            src,
            kind="candidates",
            to_crs=admin.crs,
            limits=scenario.limits,
        )
        if parcels is None:
            return
        admissible = attempt(
            "data.candidates", recommend.admissible_parcels, parcels, admin.boundary, str(src.path)
        )
        if admissible is None:
            return
        parcels = admissible[0]
    if facilities is None:
        facilities = gpd.GeoDataFrame({"tier": []}, geometry=[], crs=admin.crs)
    run = cast(recommend.RunData, SimpleNamespace(boundary=admin.boundary, facilities=facilities))
    cands = recommend._candidates(scenario, run, parcels)
    if cands.empty:
        return  # run reports no candidates; it does not refuse
    low, high = spec.beds_per_site
    n = len(cands)
    candidates = regional.HomeCandidates(
        min_beds=np.full(n, low),
        max_beds=np.full(n, high),
        land_m2=cands["land_m2"].to_numpy(dtype=float),
        existing_beds=cands["existing_beds"].to_numpy(),
        cost_per_bed=np.full(n, spec.cost_per_bed_yuan),
        fixed_cost=np.full(n, spec.cost_per_site_yuan),
    )
    targets = regional.HomeTargets(
        new_beds=spec.new_beds,
        land_m2_per_bed=recommend.land_m2_per_bed(scenario),
        land_quota_mu=spec.land_quota_mu,
        budget=spec.budget_yuan if spec.budget_yuan is not None else float("inf"),
        max_sites=spec.max_sites,
    )
    cap, ok = regional._home_capacity(candidates, targets)
    attempt("siting", _siting_checks, candidates, targets, _forced(None, n), cap, ok)


def _siting_checks(*args: Any) -> None:
    try:
        regional._home_checks(*args)
    except CareCircleError as exc:
        raise type(exc)(
            f"{exc}; lower siting.new_beds, or raise siting.land_quota_mu, siting.budget_yuan "
            "or siting.max_sites (or add candidate parcels under data.candidates)"
        ) from None
