"""run_scenario: the one place that orders the stages, from a Scenario to a RunResult.

Each stage is a function with arrays or GeoDataFrames in and out; geometry and CRS handling stay in
``sources`` (reading) and ``outputs`` (writing), the engine sees arrays only.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS

from carecircle import engine, quality, recommend
from carecircle import rules as policy
from carecircle.errors import DataError, excerpt
from carecircle.planning import demand, gaps, reach
from carecircle.planning.findings import findings_table
from carecircle.scenario import IGNORE, SCORED_TIERS, TIERS, Scenario
from carecircle.sources import census, layers, network, territories

if TYPE_CHECKING:
    from carecircle.sources.census2020 import CountyCensus

__all__ = [
    "STAGES",
    "Inputs",
    "Progress",
    "RunResult",
    "read_inputs",
    "run_scenario",
    "with_facilities",
]

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
"""Called as ``progress(stage_number, stage_count, label)`` when a stage starts."""

STAGES: tuple[str, ...] = (
    "读取研究区与行政区划 / reading the study area and admin layers",
    "读取路网 / reading the road network",
    "读取人口栅格 / reading the population grid",
    "读取养老设施与候选地块 / reading the care facilities and candidate sites",
    "构建出行网络 / building the travel graph",
    "计算出行时间 / computing travel times",
    "汇总覆盖率 / scoring coverage",
    "查找缺口 / finding gaps against the targets",
    "推荐选址 / recommending sites",
)


@dataclass(frozen=True)
class RunResult:
    """Everything a run produced; outputs are written from it by ``carecircle.outputs``."""

    scenario: Scenario
    crs: CRS
    boundary: gpd.GeoDataFrame
    townships: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    cells: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    gaps: gaps.GapReport
    graph: engine.TravelGraph
    node_seconds: npt.NDArray[np.float64]
    siting: recommend.SitingOutcome | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        """One line: the circle's figure, the villages and the data-quality warnings (the frames
        and the summary would flood a notebook; they are attributes)."""
        circle = self.summary.get("village_circle", {})
        parts = []
        if "share" in circle:
            parts.append(
                f"{circle.get('minutes', 15):g}-min circle {circle['share'] * 100:.1f} % of "
                f"{circle.get('older', 0):,.0f} older"
            )
        parts.append(f"{len(self.villages):,} villages")
        n = len(self.summary.get("data_quality", {}).get("warnings", []))
        parts.append(f"{n} warning{'' if n == 1 else 's'}")
        return f"RunResult({self.scenario.name}: {'; '.join(parts)})"


@dataclass(frozen=True)
class _Admin:
    crs: CRS
    boundary: gpd.GeoDataFrame
    townships: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    reports: dict[str, Any]


@dataclass(frozen=True)
class Inputs:
    """Every input of a run, read and checked, in the working CRS ``crs``.

    ``cells`` are the demand cells (x, y, residents, older, village and township positions);
    ``register`` the facility register as read; ``facilities`` the register (with a plan's
    additions) given tiers and placed in villages and townships;
    ``candidates`` the candidate parcels (None without ``siting:`` or ``data.candidates``);
    ``raster`` and ``census`` what the population readers report, ``reports`` what the layer
    readers report (repaired geometries, ignored types, village-code cross-check); ``demand``
    the older residents at the plan's horizon year (``demand:``; factor 1 without it).
    """

    crs: CRS
    boundary: gpd.GeoDataFrame
    townships: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    network: network.RoadNetwork
    cells: gpd.GeoDataFrame
    register: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame | None
    raster: dict[str, Any]
    census: dict[str, Any]
    reports: dict[str, Any]
    demand: demand.DemandProjection | None = None


def run_scenario(
    scenario: Scenario,
    *,
    progress: Progress | None = None,
    extra_facilities: gpd.GeoDataFrame | None = None,
    inputs: Inputs | None = None,
) -> RunResult:
    """Load the scenario's data, compute travel times, score the 15-minute circle, find gaps.

    Every input is read and checked first (:func:`read_inputs`), then the travel graphs are
    built, then the stages compute; the summary is derived from their results at the end.
    ``extra_facilities`` (canonical columns: id, name, type or tier, floor_m2, beds,
    nursing_beds; any CRS) are added to the register, e.g. the facilities of a plan under review.
    ``inputs`` read by :func:`read_inputs` for this scenario before are used instead of reading
    the files again (plan review scores the county twice from one reading).
    """
    step = _stepper(progress)
    if inputs is None:
        inputs = read_inputs(scenario, extra_facilities=extra_facilities, step=step)
    else:
        for _ in range(4):  # the reading stages, done before
            step()
        if extra_facilities is not None and len(extra_facilities):
            inputs = with_facilities(inputs, scenario, extra_facilities)
    step()
    graphs = _tier_graphs(scenario, inputs)
    graph = graphs["village"]
    siting_graph = None if scenario.siting is None else graphs[scenario.siting.tier]
    roads = _main_roads(inputs.network)
    step()
    cells, facilities, node_seconds, snap_report, snaps = _travel_times(
        graph, scenario, inputs.cells, inputs.facilities
    )
    cells, tier_reports = _tier_times(graphs, scenario, cells, facilities, {id(graph): snaps})
    step()
    villages, townships, coverage = _score(scenario, inputs, cells, facilities)
    villages["road_km"] = _road_km(inputs.network, villages)
    step()
    report = _find_gaps(scenario, villages, townships, facilities, coverage, inputs.boundary)
    step()
    outcome = None
    if scenario.siting is not None:  # a scenario asks for recommendations with `siting:`
        assert siting_graph is not None
        # The plan's sites are for the horizon year's older residents; today's score is not.
        projection = _projection(scenario, inputs)
        run_data = recommend.RunData(
            boundary=inputs.boundary,
            townships=townships,
            villages=villages,
            facilities=facilities,
            cells=_projected_cells(cells, projection),
            walk_graph=graph,
            node_seconds=node_seconds,
            siting_graph=siting_graph,
            candidates=inputs.candidates,
            roads=_named_roads(inputs.network),
        )
        outcome = recommend.recommend(scenario, run_data)
        report = gaps.with_siting(
            report,
            policy.resolve(scenario.policy.targets),
            outcome.summary.get("regional_homes", {}),
        )
    summary = _summary(scenario, inputs, graph, cells, facilities, coverage, snap_report)
    summary["tiers"] = _tier_figures(scenario, cells, villages, townships, tier_reports)
    summary["equity"] = _equity(scenario, villages, townships)
    summary.update(_gap_summary(report))
    summary["demand"] = _projection(scenario, inputs).as_dict()
    summary["data_quality"] = quality.data_quality(
        scenario,
        villages=villages.assign(area_km2=villages.geometry.area / 1e6),
        facilities=facilities,
        cells=cells,
        reports={
            **summary["inputs"],
            "census_ratio": summary["inputs"]["census"].get("raster_to_table"),
        },
        tier=summary["tiers"]["village"],
    )
    quality.add_tier_warnings(summary["data_quality"], scenario, summary["tiers"], facilities)
    quality.mark_defaults(summary["verdicts"], scenario)
    quality.mark_defaults(summary["gaps"]["items"], scenario)
    if outcome is not None:
        summary["siting"] = {
            **outcome.summary,
            "sites": outcome.sites.drop(columns="geometry").to_dict("records"),
        }
        quality.add_siting_warnings(summary["data_quality"], scenario, summary["siting"])
    return RunResult(
        scenario=scenario,
        crs=inputs.crs,
        boundary=inputs.boundary,
        townships=townships,
        villages=villages,
        facilities=facilities,
        cells=cells,
        roads=roads,
        gaps=report,
        graph=graph,
        node_seconds=node_seconds,
        siting=outcome,
        summary=summary,
    )


def read_inputs(
    scenario: Scenario,
    *,
    extra_facilities: gpd.GeoDataFrame | None = None,
    step: Callable[[], None] | None = None,
) -> Inputs:
    """Every input of a run, read and checked before anything is computed.

    The admin layers (which fix the working CRS), the road network clipped to the area and its
    buffer, the population as demand cells, the facility register (with ``extra_facilities``)
    and, for a scenario with ``siting:``, the candidate parcels. ``step`` is called as each of the
    four reading stages starts.
    """
    step = step or (lambda: None)
    step()
    admin = _read_admin(scenario)
    step()
    net = network.roads_from_source(
        scenario.data.network,
        area=_buffered_wgs84(admin, scenario),
        to_crs=admin.crs,
        limits=scenario.limits,
    )
    step()
    cells, raster_report, census_report = _demand_cells(scenario, admin)
    projection = demand.project(scenario, float(cells["older"].sum()))
    step()
    register = _read_register(scenario, admin)
    facilities = _place_facilities(scenario, admin, register, extra_facilities)
    candidates = None
    if scenario.siting is not None and scenario.data.candidates is not None:
        candidates = layers.read_layer(
            scenario.data.candidates, kind="candidates", to_crs=admin.crs, limits=scenario.limits
        )
    return Inputs(
        crs=admin.crs,
        boundary=admin.boundary,
        townships=admin.townships,
        villages=admin.villages,
        network=net,
        cells=cells,
        register=register,
        facilities=facilities,
        candidates=candidates,
        raster=raster_report,
        census=census_report,
        reports=admin.reports,
        demand=projection,
    )


def with_facilities(inputs: Inputs, scenario: Scenario, extra: gpd.GeoDataFrame) -> Inputs:
    """The same inputs with ``extra`` facilities added to the register (as if read with it)."""
    admin = _Admin(
        inputs.crs, inputs.boundary, inputs.townships, inputs.villages, dict(inputs.reports)
    )
    facilities = _place_facilities(scenario, admin, inputs.register, extra)
    return replace(inputs, facilities=facilities, reports=admin.reports)


def _projection(scenario: Scenario, inputs: Inputs) -> demand.DemandProjection:
    """The inputs' demand projection (made again for inputs built without one)."""
    if inputs.demand is not None:
        return inputs.demand
    return demand.project(scenario, float(inputs.cells["older"].sum()))


def _projected_cells(
    cells: gpd.GeoDataFrame, projection: demand.DemandProjection
) -> gpd.GeoDataFrame:
    """A copy of ``cells`` whose older residents are the horizon year's (``cells`` itself when
    there is no projection)."""
    if not projection.projected:
        return cells
    return cells.assign(older=cells["older"].to_numpy(dtype=float) * projection.factor)


def _stepper(progress: Progress | None) -> Callable[[], None]:
    counter = iter(range(1, len(STAGES) + 1))

    def step() -> None:
        i = next(counter)
        log.info("stage %d/%d: %s", i, len(STAGES), STAGES[i - 1])
        if progress is not None:
            progress(i, len(STAGES), STAGES[i - 1])

    return step


# --- stage 1: admin ------------------------------------------------------------------------------


def _read_admin(scenario: Scenario) -> _Admin:
    src = scenario.data
    read = {
        "boundary": layers.load_layer(
            scenario.area.boundary, kind="boundary", to_crs="EPSG:4326", limits=scenario.limits
        )
    }
    boundary = read["boundary"].frame
    crs = layers.working_crs(scenario.crs, boundary)
    # One outline; it keeps the county's name (or names) for the county-level verdicts.
    names = [str(n) for n in boundary.get("name", pd.Series(dtype=str)) if str(n).strip()]
    outline = gpd.GeoDataFrame(
        {"name": ["、".join(dict.fromkeys(names))]},
        geometry=[shapely.union_all(boundary.to_crs(crs).geometry.to_numpy())],
        crs=crs,
    )
    for kind, spec in (("townships", src.townships), ("villages", src.villages)):
        if spec is not None:
            read[kind] = layers.load_layer(spec, kind=kind, to_crs=crs, limits=scenario.limits)
    stand_ins: dict[str, Any] = {}
    if "townships" in read:
        townships = read["townships"].frame
    else:
        code = _census_county(scenario)
        townships = territories.county_as_township(
            outline, code=code.code if code else "", name=code.county if code else ""
        )
        stand_ins["townships"] = "county_outline"
    if "villages" not in read:
        villages = territories.townships_as_villages(townships)
        stand_ins["villages"] = "townships"
    else:
        villages = _villages_in_townships(read["villages"].frame, townships, src, stand_ins)
    reports: dict[str, Any] = {
        "repaired_geometries": {kind: r.repaired_geometries for kind, r in read.items()}
    }
    if src.facilities is None:
        stand_ins["facilities"] = "none"
    if stand_ins:
        reports["stand_ins"] = stand_ins
    return _Admin(
        crs, outline, townships.reset_index(drop=True), villages.reset_index(drop=True), reports
    )


def _villages_in_townships(
    villages: gpd.GeoDataFrame,
    townships: gpd.GeoDataFrame,
    src: Any,
    stand_ins: dict[str, Any],
) -> gpd.GeoDataFrame:
    """The villages layer with each village's township: the layer's `township` codes checked
    against the townships, or (without that column) the township it stands in; village points
    become approximate territories."""
    path = src.villages.path
    if "township" not in villages.columns or src.townships is None:
        villages = villages.assign(township=territories.township_of(villages, townships))
        stand_ins["village_townships"] = "located"
    unknown = sorted(set(villages["township"]) - set(townships["id"]) - {""})
    if unknown:
        raise DataError(
            f"{path}: {len(unknown)} 个村的乡镇代码在乡镇图层中不存在 / village township "
            f"code(s) not in the townships layer ({', '.join(excerpt(u, 30, quote=False) for u in unknown[:5])}); check the `township` column"
        )
    points = (villages.geometry.geom_type == "Point").to_numpy()
    if points.all():
        villages, report = territories.village_territories(villages, townships)
        stand_ins["village_territories"] = report
        if not len(villages):
            raise DataError(
                f"{path}: 没有村点落在乡镇范围内 / no village point lies inside a township; "
                "check the villages' coordinates and CRS"
            )
    elif points.any():
        i = int(np.flatnonzero(points)[0])
        raise DataError(
            f"{path}: 村图层混有点与面（第 {i + 1} 条为点）/ the villages layer mixes points and "
            f"polygons (feature {i + 1} is a point, {int(points.sum())} in all); give territories "
            "for every village, or points for every village"
        )
    return villages


def _census_county(scenario: Scenario) -> CountyCensus | None:
    """The county's 2020 census row the scenario names (``data.population.census_county``)."""
    query = scenario.data.population.census_county
    if query is None:
        return None
    from carecircle.sources import census2020  # the county table is read only when named

    return census2020.lookup(query)


def _buffered_wgs84(inputs: _Admin, scenario: Scenario) -> shapely.Geometry:
    """The area plus its buffer, so roads (and coverage) can cross the county border."""
    buffered = inputs.boundary.buffer(scenario.area.buffer_m)
    return buffered.to_crs("EPSG:4326").iloc[0]


# --- stages 2-3: network -------------------------------------------------------------------------


_MAIN_ROADS = {"motorway", "trunk", "primary", "secondary", "tertiary"}


def _road_km(net: network.RoadNetwork, villages: gpd.GeoDataFrame) -> npt.NDArray[np.float64]:
    """Kilometres of road in each village (segments by their midpoints; each counted once)."""
    t = net.table
    mx, my = (t.x[t.u] + t.x[t.v]) / 2, (t.y[t.u] + t.y[t.v]) / 2
    where = _locate(gpd.GeoSeries(gpd.points_from_xy(mx, my), crs=net.crs), villages)
    inside = where >= 0
    km = np.bincount(where[inside], weights=t.length_m[inside] / 1000, minlength=len(villages))
    return km.astype(np.float64)


def _named_roads(net: network.RoadNetwork) -> gpd.GeoDataFrame:
    """Every road segment with a name, as lines: new sites are named after the nearest."""
    t = net.table
    names = t.tag("name").values()
    # A walking centre is not found "beside the expressway": motorways name nothing.
    motorway = t.highway.isin(("motorway", "motorway_link", "trunk_link"))
    rows = np.flatnonzero(~pd.isna(names) & (np.asarray(names, dtype=object) != "") & ~motorway)
    ends = np.stack(
        [
            np.column_stack([t.x[t.u[rows]], t.y[t.u[rows]]]),
            np.column_stack([t.x[t.v[rows]], t.y[t.v[rows]]]),
        ],
        axis=1,
    )
    frame = pd.DataFrame({"name": np.asarray(names, dtype=object)[rows].astype(str)})
    return gpd.GeoDataFrame(frame, geometry=shapely.linestrings(ends), crs=net.crs)


def _main_roads(net: network.RoadNetwork) -> gpd.GeoDataFrame:
    """Main roads as lines (each segment once, whichever way it runs), the map's background."""
    t = net.table
    rows = np.flatnonzero(t.highway.isin(_MAIN_ROADS))
    pairs = np.column_stack([np.minimum(t.u[rows], t.v[rows]), np.maximum(t.u[rows], t.v[rows])])
    rows = rows[np.sort(np.unique(pairs, axis=0, return_index=True)[1])]
    ends = np.stack(
        [
            np.column_stack([t.x[t.u[rows]], t.y[t.u[rows]]]),
            np.column_stack([t.x[t.v[rows]], t.y[t.v[rows]]]),
        ],
        axis=1,
    )
    names = t.tag("name").take(rows).values()
    frame = pd.DataFrame(
        {
            "highway": t.highway.take(rows).values().astype(str),
            "name": np.where(pd.isna(names), "", names).astype(str),
        }
    )
    return gpd.GeoDataFrame(frame, geometry=shapely.linestrings(ends), crs=net.crs)


# --- stage 4: demand -----------------------------------------------------------------------------


def _demand_cells(
    scenario: Scenario, inputs: _Admin
) -> tuple[gpd.GeoDataFrame, dict[str, Any], dict[str, Any]]:
    """Populated cells with their village, township and older residents (60+), and what the
    population and census readers report."""
    pop = scenario.data.population
    demand = _demand(scenario, inputs)
    if len(demand) == 0:
        where = pop.points.path if pop.points is not None else pop.raster or pop.older_rasters[0]
        raise no_population(where)
    points = gpd.GeoSeries(gpd.points_from_xy(demand.x, demand.y), crs=inputs.crs)
    cells = gpd.GeoDataFrame(
        {
            "x": demand.x,
            "y": demand.y,
            "residents": demand.population,
            "village": _locate(points, inputs.villages),
            "township": _locate(points, inputs.townships),
        },
        geometry=points,
        crs=inputs.crs,
    )
    if demand.older is not None:
        # Age bands or village counts give older residents directly: no census shares needed.
        cells["older"] = demand.older
        census_report: dict[str, Any] = {
            "source": "older_rasters" if pop.older_rasters else "points",
            "older": float(demand.older.sum()),
        }
        county = _census_county(scenario)
        if county is not None:
            cells["older"], census_report = _calibrated(scenario, county, demand.older)
    else:
        share, census_report = _share_per_cell(scenario, inputs, cells)
        cells["older"] = cells["residents"] * share
    return cells, dict(demand.report), census_report


def no_population(where: object) -> DataError:
    """The refusal of a population source with nothing inside the area (run and validate)."""
    return DataError(
        f"{where}: 研究区内无人口 / no populated cell or village count inside the study area; "
        "check the data and the area (the points' `x:`/`y:` columns, `crs:` and `coords:`)"
    )


def _demand(scenario: Scenario, inputs: _Admin) -> census.Demand:
    """Demand points from whichever population source the scenario names."""
    pop = scenario.data.population
    area = inputs.boundary.geometry.iloc[0]
    if pop.points is not None:
        frame = layers.read_layer(
            pop.points, kind="population", to_crs=inputs.crs, limits=scenario.limits
        )
        return census.demand_from_points(
            frame, area, grid_m=pop.grid_m, source=str(pop.points.path)
        )
    return census.demand_from_rasters(
        pop.raster,
        pop.older_rasters,
        area,
        inputs.crs,
        to_crs=inputs.crs,
        grid_m=pop.grid_m,
        max_cells=scenario.limits.raster_cells,
    )


def _share_per_cell(
    scenario: Scenario, inputs: _Admin, cells: gpd.GeoDataFrame
) -> tuple[npt.NDArray[np.float64], dict[str, Any]]:
    """The census 60+ share of each cell's township (the county-wide share outside them), and
    the census report."""
    shares, census_report = _older_shares(scenario, inputs)
    township_ids = inputs.townships["id"].to_numpy()
    default = census_report["share"]
    by_key = census_report.pop("residents_by_key", None)
    if by_key:
        ratio = _check_census_agrees(scenario, cells, township_ids, by_key)
        if ratio is not None:
            census_report["raster_to_table"] = round(ratio, 4)
    share = np.array(
        [
            shares.get(str(township_ids[t]), default) if t >= 0 else default
            for t in cells["township"]
        ],
        dtype=np.float64,
    )
    return share, census_report


def _check_census_agrees(
    scenario: Scenario,
    cells: gpd.GeoDataFrame,
    township_ids: npt.NDArray[Any],
    census_residents: dict[str, float],
) -> float | None:
    """Refuse a residents raster and a census table that differ by more than the tolerance,
    compared over the townships both cover (a raster in persons per km², another year's table,
    another county's file)."""
    pop = scenario.data.population
    covered = np.array([str(t) in census_residents for t in township_ids], dtype=bool)
    in_both = np.array([t >= 0 and covered[t] for t in cells["township"]], dtype=bool)
    raster = float(cells["residents"].to_numpy()[in_both].sum())
    table = sum(census_residents[str(t)] for t in township_ids[covered])
    if table <= 0 or raster <= 0:
        return None
    ratio = raster / table
    tolerance = pop.census_tolerance
    if ratio > tolerance or ratio < 1 / tolerance:
        assert pop.older_table is not None
        raise DataError(
            f"{pop.raster}: 栅格人口与普查表相差 {ratio:.2f} 倍 / the raster holds {raster:,.0f} "
            f"residents where the census table {Path(pop.older_table.path).name} has "
            f"{table:,.0f} (×{ratio:.2f}, over the {int(covered.sum())} townships both cover); "
            "check the raster's unit (persons per cell), year and extent and the table's "
            f"`total:` column; if both are right, set data.population.census_tolerance above "
            f"{max(ratio, 1 / ratio):.1f}"
        )
    return ratio


def _locate(points: gpd.GeoSeries, polygons: gpd.GeoDataFrame) -> npt.NDArray[np.int64]:
    """Index of the polygon containing each point (-1 for none; the first where they overlap)."""
    hits = polygons.sindex.query(points.to_numpy(), predicate="within")
    out = np.full(len(points), -1, dtype=np.int64)
    # Reverse so that, where polygons overlap, the lowest polygon index is written last and wins.
    out[hits[0][::-1]] = hits[1][::-1]
    return out


def _calibrated(
    scenario: Scenario, county: CountyCensus, older: Any
) -> tuple[npt.NDArray[np.float64], dict[str, Any]]:
    """Age-band older residents scaled by one factor to the county's census 60+ total (the
    pattern unchanged); refused beyond the census tolerance, as a raster in the wrong unit,
    year or place would be."""
    pop = scenario.data.population
    values = np.asarray(older, dtype=np.float64)
    where = f"data.population.census_county ({county.code} {county.county})"
    if county.older_60 is None:
        raise DataError(
            f"{where}: 普查表无该县60岁及以上人口 / the census table has no 60+ figure for this "
            "county; remove census_county to use the rasters' own total"
        )
    raster = float(values.sum())
    limit = pop.census_tolerance
    ratio = raster / county.older_60 if county.older_60 else float("inf")
    if not (1 / limit <= ratio <= limit):
        raise DataError(
            f"{pop.older_rasters[0]}: 年龄栅格老年人口与普查相差 {ratio:.2f} 倍 / the age-band "
            f"rasters hold {raster:,.0f} older residents where the 2020 census has "
            f"{county.older_60:,} for {county.county} ({county.code}); check the rasters' "
            "extent and bands and the county, or set data.population.census_tolerance above "
            f"{max(ratio, 1 / ratio) if ratio else limit:.1f}"
        )
    from carecircle.sources import census2020

    scaled, factor = census2020.calibrate(values, float(county.older_60), max_factor=limit)
    report = {
        "source": "older_rasters calibrated to census_county",
        "county": {"code": county.code, "name": county.county},
        "census_older": int(county.older_60),
        "raster_older": round(raster, 1),
        "factor": round(factor, 6),
        "older": float(scaled.sum()),
        "share": round(county.older_60 / county.residents, 6) if county.residents else None,
    }
    return scaled, report


def _older_shares(scenario: Scenario, inputs: _Admin) -> tuple[dict[str, float], dict[str, Any]]:
    pop = scenario.data.population
    county = _census_county(scenario)
    if county is not None:
        if county.older_60 is None or not county.residents:
            raise DataError(
                f"data.population.census_county ({county.code} {county.county}): 普查表无该县"
                "60岁及以上人口 / the census table has no 60+ figure for this county; give "
                "older_share or older_table instead"
            )
        share = county.older_60 / county.residents
        return {}, {
            "source": "census_county",
            "county": {"code": county.code, "name": county.county},
            "census_residents": int(county.residents),
            "census_older": int(county.older_60),
            "share": round(share, 6),
        }
    if pop.older_table is None:
        share = float(pop.older_share or 0.0)
        return {}, {"source": "older_share", "share": share}
    shares, totals = census.older_shares(pop.older_table, limits=scenario.limits)
    ids = set(inputs.townships["id"])
    totals["townships_without_row"] = sorted(ids - set(shares))
    totals["rows_without_township"] = sorted(set(shares) - ids)
    return shares, totals


# --- stage 5: facilities -------------------------------------------------------------------------


def _read_register(scenario: Scenario, inputs: _Admin) -> gpd.GeoDataFrame:
    """The facility register as read (canonical columns, working CRS); none given, an empty
    one (the county has no centre yet, as far as the run knows)."""
    if scenario.data.facilities is None:
        return gpd.GeoDataFrame(
            {"id": [], "name": [], "type": [], "source": []},
            geometry=gpd.GeoSeries([], crs=inputs.crs),
            crs=inputs.crs,
        ).astype({"id": object, "name": object, "type": object, "source": object})
    register = layers.read_layer(
        scenario.data.facilities, kind="facilities", to_crs=inputs.crs, limits=scenario.limits
    ).reset_index(drop=True)
    register["source"] = "register"
    return register


def _place_facilities(
    scenario: Scenario,
    inputs: _Admin,
    register: gpd.GeoDataFrame,
    extra: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """The register (with ``extra``) given tiers and placed in villages and townships; what it
    finds goes into ``inputs.reports``."""
    facilities = register.copy()
    if extra is not None and len(extra):
        facilities = _with_extra(facilities, extra, inputs.crs)
    tiers = scenario.data.facility_types()
    mapped = facilities["type"].map(lambda t: tiers.get(t, "other"))
    given = facilities["tier"] if "tier" in facilities.columns else mapped
    facilities["tier"] = given.where(given.notna() & (given != ""), mapped)
    _refuse_unknown_types(scenario, facilities, tiers)
    ignored = facilities["tier"] == IGNORE
    inputs.reports["facilities_ignored"] = {
        str(k): int(v) for k, v in facilities.loc[ignored, "type"].value_counts().items()
    }
    facilities = facilities[~ignored].reset_index(drop=True)
    facilities = _outside_area(scenario, inputs, facilities)
    for col in ("floor_m2", "beds", "nursing_beds"):
        if col not in facilities.columns:
            facilities[col] = np.nan
    # One definition, for run and check-plan alike: a facility belongs to the village and the
    # township it stands in. A village code the register gives is only a cross-check.
    for col, frame in (("in_village", inputs.villages), ("in_township", inputs.townships)):
        where = _locate(facilities.geometry, frame)
        facilities[col] = np.where(where >= 0, frame["id"].to_numpy()[np.maximum(where, 0)], "")
    given = facilities["village"] if "village" in facilities.columns else None
    facilities["village"] = facilities["in_village"]
    inputs.reports["facility_village_codes"] = _village_code_check(facilities, given)
    return facilities


def _outside_area(
    scenario: Scenario, inputs: _Admin, facilities: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Register entries beyond the area and its buffer (a coordinate typo, another county's
    home) serve nobody here: not counted, and each listed for a data-quality warning."""
    area = shapely.union_all(inputs.boundary.geometry.to_numpy())
    reach = area.buffer(scenario.area.buffer_m)
    register = (facilities["source"] == "register").to_numpy()
    outside = register & ~shapely.intersects(reach, facilities.geometry.to_numpy())
    if outside.sum() == register.sum():
        # The whole register elsewhere is bad input (a CRS or lon/lat slip), refused by name
        # when the facilities are joined to the roads; not a warning about a few.
        outside[:] = False
    inputs.reports["facilities_outside_area"] = [
        {
            "id": str(f.id),
            "name": str(f.name),
            "type": str(f.type),
            "km": round(float(area.distance(f.geometry)) / 1000, 1),
        }
        for f in facilities[outside].itertuples()
    ]
    return facilities[~outside].reset_index(drop=True)


def _village_code_check(facilities: gpd.GeoDataFrame, given: pd.Series | None) -> dict[str, Any]:
    """How the register's village codes compare with where the facilities stand."""
    if given is None:
        return {"column": False, "checked": 0, "disagree": 0, "examples": []}
    codes = given.fillna("").astype(str).str.strip()
    has = (codes != "").to_numpy() & (facilities["source"] == "register").to_numpy()
    differ = has & (codes.to_numpy() != facilities["in_village"].to_numpy())
    examples = [
        {"id": str(f), "name": str(n), "register": str(c), "located": str(v)}
        for f, n, c, v in zip(
            facilities["id"][differ],
            facilities["name"][differ],
            codes[differ],
            facilities["in_village"][differ],
            strict=True,
        )
    ][:10]
    return {
        "column": True,
        "checked": int(has.sum()),
        "disagree": int(differ.sum()),
        "examples": examples,
    }


def _register_path(scenario: Scenario) -> str:
    spec = scenario.data.facilities
    return str(spec.path) if spec is not None else "新增设施 / added facilities"


def _refuse_unknown_types(
    scenario: Scenario, facilities: gpd.GeoDataFrame, tiers: dict[str, str]
) -> None:
    """A type value the mapping does not know would silently drop out of every tier: refuse it,
    naming each unknown value, how many facilities carry it, and the key that maps it."""
    unknown = facilities.loc[facilities["tier"] == "other", "type"].value_counts()
    if unknown.empty:
        return
    known = [t for t, tier in tiers.items() if tier != IGNORE]
    parts = []
    for value, n in unknown.head(8).items():
        close = difflib.get_close_matches(str(value), known, n=1, cutoff=0.5)
        hint = f" (like {close[0]}: {tiers[close[0]]}?)" if close else ""
        parts.append(f"{excerpt(value, 30)} ×{n}{hint}")
    more = f", … (+{len(unknown) - 8} more)" if len(unknown) > 8 else ""
    example = excerpt(unknown.index[0], 30, quote=False)
    raise DataError(
        f"{_register_path(scenario)}: {len(unknown)} 种设施类型无法识别 / {len(unknown)} facility type(s) not in "
        f"the mapping: {', '.join(parts)}{more}; map each to a tier (village, mutual_aid, meal, "
        f"township, jingloyuan, regional, county, institution) or to ignore under "
        f"data.facilities.types, e.g. `types: {{{example}: <the tier it serves>}}`"
    )


def _with_extra(
    facilities: gpd.GeoDataFrame, extra: gpd.GeoDataFrame, crs: CRS
) -> gpd.GeoDataFrame:
    """Append facilities from elsewhere (a plan); ids must not clash with the register's."""
    clash = sorted(set(extra["id"].astype(str)) & set(facilities["id"]))
    if clash:
        raise DataError(
            f"新增设施编号与现有设施重复 / added facility ids already in the register: "
            f"{', '.join(excerpt(c, 30, quote=False) for c in clash[:5])}; give the new facilities their own ids"
        )
    added = extra.to_crs(crs).assign(id=extra["id"].astype(str), source="plan")
    merged = pd.concat([facilities, added], ignore_index=True)
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=crs)


# --- stage 6: travel times -----------------------------------------------------------------------


def _travel_times(
    graph: engine.TravelGraph,
    scenario: Scenario,
    cells: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
) -> tuple[
    gpd.GeoDataFrame,
    gpd.GeoDataFrame,
    npt.NDArray[np.float64],
    dict[str, Any],
    tuple[engine.Snap, engine.Snap],
]:
    """Seconds from every cell to its nearest service of the circle (``circle.services``: village
    centres, mutual-aid points, meal points and township centres by default), access legs
    included, on the village tier's graph.

    Also returns the seconds from every network node to its nearest such service (isochrones),
    and the facilities' and cells' snaps onto the graph (the village tier reuses them).
    """
    travel = scenario.travel
    snap_kw = {"max_distance_m": travel.max_access_m, "walk_speed_mps": travel.walk_speed_mps}
    fsnap = engine.snap_points(graph, facilities.geometry.x, facilities.geometry.y, **snap_kw)
    csnap = engine.snap_points(graph, cells["x"], cells["y"], **snap_kw)
    off = fsnap.status == engine.Snap.OFF_NETWORK
    if off.size and off.all():
        # Some facilities off the network are counted in the summary; all of them is bad input.
        raise DataError(
            f"{_register_path(scenario)}: 全部 {off.size} 处设施距道路均超过 "
            f"{travel.max_access_m:g} 米 / all {off.size} facilities lie farther than "
            f"travel.max_access_m = {travel.max_access_m:g} m from any road (nearest "
            f"{np.min(fsnap.distance_m):,.0f} m); check their coordinates and CRS (Gaode/Amap "
            "coordinates need `coords: gcj02`, Baidu ones `coords: bd09`) and that the network covers them"
        )
    facilities = facilities.assign(
        network_part=_status_names(fsnap.status), access_m=fsnap.distance_m
    )
    services = facilities["tier"].isin(scenario.circle.services).to_numpy()
    centres = np.flatnonzero(services & (fsnap.status != engine.Snap.OFF_NETWORK))
    node_s, nearest = engine.nearest_times(
        graph, fsnap.node[centres], source_seconds=fsnap.access_s[centres]
    )
    reached = csnap.node >= 0
    seconds = np.full(len(cells), np.inf)
    seconds[reached] = csnap.access_s[reached] + node_s[csnap.node[reached]]
    centre = np.full(len(cells), -1, dtype=np.int64)
    # Index -1 (no centre reachable, or no centre at all) picks the appended -1.
    centre[reached] = np.append(centres, -1)[nearest[csnap.node[reached]]]
    cells = cells.assign(
        seconds=seconds,
        # Index -1 (no centre reachable) picks the appended "".
        nearest_centre=np.append(facilities["id"].to_numpy(dtype=object), "")[centre],
        network_part=_status_names(csnap.status),
        access_m=csnap.distance_m,
    )
    report = {
        "cells": csnap.counts(),
        "facilities": fsnap.counts(),
        "older_island": round(float(cells["older"][csnap.status == engine.Snap.ISLAND].sum()), 1),
        "older_off_network": round(
            float(cells["older"][csnap.status == engine.Snap.OFF_NETWORK].sum()), 1
        ),
    }
    return cells, facilities, node_s, report, (fsnap, csnap)


def _status_names(status: npt.NDArray[np.int8]) -> npt.NDArray[np.str_]:
    return np.array(["main", "island", "off_network"])[status]


def _tier_graphs(scenario: Scenario, inputs: Inputs) -> dict[str, engine.TravelGraph]:
    """The travel graph of each scored tier (and the siting tier), one per travel mode.

    Every graph handed out carries its CRS (cc.travel_times(points_4326, ..., run.graph)).
    """
    wanted = list(SCORED_TIERS)
    if scenario.siting is not None and scenario.siting.tier not in wanted:
        wanted.append(scenario.siting.tier)
    by_mode: dict[str, engine.TravelGraph] = {}
    graphs: dict[str, engine.TravelGraph] = {}
    for tier in wanted:
        mode = scenario.tier(tier).mode
        if mode not in by_mode:
            by_mode[mode] = replace(
                network.travel_graph(inputs.network, scenario, tier), crs=inputs.crs
            )
        graphs[tier] = by_mode[mode]
    return graphs


def _tier_times(
    graphs: dict[str, engine.TravelGraph],
    scenario: Scenario,
    cells: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    snaps: dict[int, tuple[engine.Snap, engine.Snap]],
) -> tuple[gpd.GeoDataFrame, dict[str, dict[str, Any]]]:
    """Each scored tier's seconds from every cell to its nearest service, on the tier's own
    graph (``<tier>_seconds``), and beds per older resident within the regional tier's reach
    (``beds_access``: 2SFCA over every facility with residential beds, :func:`engine.fca`).

    ``snaps`` holds the (facility, cell) snaps already made, by ``id(graph)``. Returns the cells
    with those columns and, per tier, what its figures rest on: the services
    counted, how many of their sites and of the older residents are off the tier's network.
    """
    travel = scenario.travel
    snap_kw = {"max_distance_m": travel.max_access_m, "walk_speed_mps": travel.walk_speed_mps}
    older = cells["older"].to_numpy(dtype=np.float64)
    snaps = dict(snaps)  # (facility, cell) snaps by graph; the walk graph's come from the circle
    columns: dict[str, npt.NDArray[np.float64]] = {}
    reports: dict[str, dict[str, Any]] = {}
    x, y = facilities.geometry.x.to_numpy(), facilities.geometry.y.to_numpy()
    for tier in SCORED_TIERS:
        graph = graphs[tier]
        if id(graph) not in snaps:
            snaps[id(graph)] = (
                engine.snap_points(graph, x, y, **snap_kw),
                engine.snap_points(graph, cells["x"], cells["y"], **snap_kw),
            )
        fsnap, csnap = snaps[id(graph)]
        services = scenario.tier_services(tier)
        counted = facilities["tier"].isin(services).to_numpy()
        on = fsnap.status != engine.Snap.OFF_NETWORK
        sites = np.flatnonzero(counted & on)
        node_s, _ = engine.nearest_times(
            graph, fsnap.node[sites], source_seconds=fsnap.access_s[sites]
        )
        reached = csnap.node >= 0
        seconds = np.full(len(cells), np.inf)
        seconds[reached] = csnap.access_s[reached] + node_s[csnap.node[reached]]
        columns[f"{tier}_seconds"] = seconds
        reports[tier] = {
            "services": list(services),
            "sites": int(counted.sum()),
            "sites_off_network": int((counted & ~on).sum()),
            "older_off_network": round(float(older[~reached].sum()), 1),
        }
        if tier == "regional":
            beds = pd.to_numeric(facilities["beds"], errors="coerce").fillna(0.0).to_numpy()
            holds = gaps.residential(facilities).index
            with_beds = np.flatnonzero(facilities.index.isin(holds) & (beds > 0) & on)
            limit = scenario.tier(tier).minutes * 60.0
            columns["beds_access"] = _beds_access(
                graph, fsnap, csnap, with_beds, beds, older, limit
            )
            reports[tier]["bed_sites"] = int(with_beds.size)
            reports[tier]["beds_on_network"] = float(beds[with_beds].sum())
    return cells.assign(**columns), reports


def _beds_access(
    graph: engine.TravelGraph,
    fsnap: engine.Snap,
    csnap: engine.Snap,
    sites: npt.NDArray[np.int64],
    beds: npt.NDArray[np.float64],
    older: npt.NDArray[np.float64],
    limit_s: float,
) -> npt.NDArray[np.float64]:
    """Residential beds per older resident within ``limit_s`` of each cell (2SFCA): each home's
    beds shared among the older residents who reach it, summed over the homes a cell reaches.
    A cell that reaches no home, or holds nobody, gets 0."""
    if sites.size == 0:
        return np.zeros(older.shape[0])
    nodes = engine.catchments(
        graph, fsnap.node[sites], limit_s, source_seconds=fsnap.access_s[sites]
    )
    cost = engine.demand_catchments(nodes, csnap, limit_s).T.tocsr()
    access = engine.fca(cost, beds[sites], older, max_cost=limit_s)
    return np.where(older > 0, np.nan_to_num(access, nan=0.0, posinf=0.0), 0.0)


# --- stage 7: scores -----------------------------------------------------------------------------


def _speed_factors(scenario: Scenario) -> dict[str, float]:
    """Walking times scale with 1/speed: the band needs no second shortest-path pass."""
    t = scenario.travel
    base = t.walk_speed_mps
    speeds = sorted({t.walk_speed_band[0], base, t.walk_speed_band[1]})
    return {f"{v:g}": base / v for v in speeds}


def _score(
    scenario: Scenario, inputs: Inputs, cells: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, dict[str, Any]]:
    """Villages and townships scored for the circle, at the circle rule's own minutes
    (circle-15min: 15, or the scenario's override of that rule) and over the circle's services;
    each scored tier's own figures are kept apart (``<tier>_older_covered``, ``<tier>_share``),
    with the residential beds in the regional tier's reach per 1,000 older residents
    (``beds_allotted``, ``beds_per_1000_older``)."""
    tier = scenario.tier("village")
    threshold = _circle_minutes(scenario) * 60.0
    seconds = cells["seconds"].to_numpy()
    older = cells["older"].to_numpy()
    off_network = (cells["network_part"] == "off_network").to_numpy()
    villages = inputs.villages.copy()
    townships = inputs.townships.copy()
    townships["area_km2"] = townships.geometry.area / 1e6
    for frame in (villages, townships):
        if "kind" not in frame.columns:
            frame["kind"] = ""
    for name, frame, groups in (
        ("village", villages, cells["village"]),
        ("township", townships, cells["township"]),
    ):
        g = groups.to_numpy()
        total, covered, share = engine.covered_share(seconds, older, g, len(frame), threshold)
        frame["residents"] = engine.group_sums(cells["residents"], g, len(frame))
        frame["older"] = total
        frame["older_covered"] = covered
        frame["older_off_network"] = engine.group_sums(
            np.where(off_network, older, 0.0), g, len(frame)
        )
        frame["share"] = share
        for scored in SCORED_TIERS:
            _, tier_covered, tier_share = engine.covered_share(
                cells[f"{scored}_seconds"].to_numpy(),
                older,
                g,
                len(frame),
                scenario.tier(scored).minutes * 60.0,
            )
            frame[f"{scored}_older_covered"] = tier_covered
            frame[f"{scored}_share"] = tier_share
        beds = engine.group_sums(older * cells["beds_access"].to_numpy(), g, len(frame))
        frame["beds_allotted"] = beds
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["beds_per_1000_older"] = np.where(total > 0, beds / total * 1000.0, np.nan)
        if name == "village" and tier.mode == "walk":
            for speed, factor in _speed_factors(scenario).items():
                _, _, s = engine.covered_share(seconds * factor, older, g, len(frame), threshold)
                frame[f"share_{speed}mps"] = s
    centres = facilities[facilities["tier"] == "village"]
    villages["has_centre"] = villages["id"].isin(set(centres["village"]))
    on_network = set(centres.loc[centres["network_part"] != "off_network", "village"])
    villages["centre_off_network"] = villages["has_centre"] & ~villages["id"].isin(on_network)
    town_centres = facilities[facilities["tier"] == "township"]
    townships["has_centre"] = townships["id"].isin(set(town_centres["in_township"]))
    county = _county_figures(scenario, cells, threshold)
    return villages, townships, county


def _county_figures(
    scenario: Scenario, cells: gpd.GeoDataFrame, threshold: float
) -> dict[str, Any]:
    seconds = cells["seconds"].to_numpy()
    older = cells["older"].to_numpy()
    total = float(older.sum())
    figures: dict[str, Any] = {"older": total, "threshold_minutes": threshold / 60.0}
    if scenario.tier("village").mode == "walk":
        figures["share_by_walk_speed"] = {
            speed: float(older[seconds * f <= threshold].sum() / total)
            for speed, f in _speed_factors(scenario).items()
        }
    covered = float(older[seconds <= threshold].sum())
    figures["older_covered"] = covered
    figures["older_off_network"] = float(
        older[(cells["network_part"] == "off_network").to_numpy()].sum()
    )
    figures["share"] = covered / total if total else float("nan")
    minutes = np.arange(0, 61, 5)
    figures["share_by_minutes"] = {
        f"{m}": float(older[seconds <= m * 60].sum() / total) for m in minutes
    }
    return figures


def _tier_figures(
    scenario: Scenario,
    cells: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    townships: gpd.GeoDataFrame,
    reports: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """Each scored tier at its own mode, minutes and services (``summary.tiers.<tier>``): the
    county's older residents within reach, and the share of each township."""
    older = cells["older"].to_numpy()
    total = float(older.sum())
    out: dict[str, Any] = {}
    for name in SCORED_TIERS:
        tier = scenario.tier(name)
        seconds = cells[f"{name}_seconds"].to_numpy()
        covered = float(older[seconds <= tier.minutes * 60.0].sum())
        out[name] = {
            "mode": tier.mode,
            "minutes": tier.minutes,
            **reports[name],
            "older": total,
            "older_covered": covered,
            "share": covered / total if total else float("nan"),
            "townships": {
                str(t): _round_share(v)
                for t, v in zip(townships["id"], townships[f"{name}_share"], strict=True)
            },
        }
    # The circle counts more services than village centres (``circle.services``); "same" here
    # is the minutes only, which decide whether the tier's threshold is reported apart.
    out["village"]["same_as_circle"] = bool(
        scenario.tier("village").minutes == _circle_minutes(scenario)
    )
    beds = float(np.sum(older * cells["beds_access"].to_numpy()))
    out["regional"]["beds_reached"] = round(beds, 1)
    out["regional"]["beds_per_1000_older"] = beds / total * 1000.0 if total else float("nan")
    return out


def _round_share(value: float) -> float | None:
    return None if not np.isfinite(value) else round(float(value), 6)


def _equity(
    scenario: Scenario, villages: gpd.GeoDataFrame, townships: gpd.GeoDataFrame
) -> dict[str, Any]:
    """How each figure spreads over townships and villages (``summary.equity``): a county
    average hides the mountain townships."""
    rules = policy.resolve(scenario.policy.targets)
    # The scenario's values of the two rules where it overrides them, else the catalogue's.
    circle_target = (rules.get("circle-15min") or policy.get_rule("circle-15min")).value("coverage")
    beds_rule = rules.get("beds-per-1000-older") or policy.get_rule("beds-per-1000-older")
    figures = {
        "circle": ("share", circle_target),
        **{f"{t}_tier": (f"{t}_share", circle_target) for t in SCORED_TIERS},
        "beds_per_1000_older": ("beds_per_1000_older", beds_rule.value()),
    }
    return {
        name: {
            "column": column,
            "target": target,
            **{
                level: reach.spread(
                    frame[column],
                    frame["older"],
                    target,
                    frame["name"],
                    share=column != "beds_per_1000_older",
                )
                for level, frame in (("townships", townships), ("villages", villages))
            },
        }
        for name, (column, target) in figures.items()
    }


def _circle_minutes(scenario: Scenario) -> float:
    return policy.circle_minutes(scenario.policy.targets)


# --- stage 8: gaps ------------------------------------------------------------------------------


def _find_gaps(
    scenario: Scenario,
    villages: gpd.GeoDataFrame,
    townships: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    county: dict[str, Any],
    boundary: gpd.GeoDataFrame,
) -> gaps.GapReport:
    rules = policy.resolve(scenario.policy.targets)
    # County verdicts carry the county's own name (the boundary's), else the scenario's title.
    names = [str(n) for n in boundary.get("name", pd.Series(dtype=str)) if str(n).strip()]
    name = "、".join(dict.fromkeys(names)) or scenario.title or scenario.name
    inputs = gaps.GapInputs(
        villages=pd.DataFrame(villages.drop(columns="geometry")),
        townships=pd.DataFrame(townships.drop(columns="geometry")),
        facilities=pd.DataFrame(facilities.drop(columns="geometry")),
        county={
            **county,
            "name": name,
            "regional_reach": {
                "mode": scenario.tier("regional").mode,
                "minutes": scenario.tier("regional").minutes,
            },
        },
    )
    return gaps.find_gaps(inputs, rules)


def _gap_summary(report: gaps.GapReport) -> dict[str, Any]:
    items = findings_table(report.gaps)
    by_kind: dict[str, int] = {}
    for g in report.gaps:
        by_kind[g.kind] = by_kind.get(g.kind, 0) + 1
    return {
        "verdicts": findings_table(report.verdicts),
        "gaps": {
            "counts": dict(report.counts),
            "by_kind": dict(sorted(by_kind.items())),
            "items": items,
        },
    }


# --- summary -------------------------------------------------------------------------------------


def _summary(
    scenario: Scenario,
    inputs: Inputs,
    graph: engine.TravelGraph,
    cells: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    county: dict[str, Any],
    snap_report: dict[str, Any],
) -> dict[str, Any]:
    """The run's figures as plain data (deterministic: no clock times, no absolute paths)."""
    villages_in = len(inputs.villages)
    tier_counts = facilities["tier"].value_counts()
    unmapped = sorted(set(facilities.loc[facilities["tier"] == "other", "type"]))
    tier = scenario.tier("village")
    return {
        "scenario": {"name": scenario.name, "title": scenario.title, "crs": inputs.crs.to_string()},
        "inputs": {
            "townships": len(inputs.townships),
            "villages": villages_in,
            "facilities_by_tier": {t: int(tier_counts.get(t, 0)) for t in (*TIERS, "other")},
            "facility_types_not_mapped": unmapped,
            "raster": inputs.raster,
            "census": inputs.census,
            "cells_outside_villages": int((cells["village"] < 0).sum()),
            "older_outside_villages": float(cells.loc[cells["village"] < 0, "older"].sum()),
            **inputs.reports,
        },
        "network": {
            **inputs.network.report,
            "mode": graph.mode,
            "travel_nodes": graph.n_nodes,
            "travel_arcs": graph.n_arcs,
            **graph.islands(),
            **graph.metadata,
        },
        "snapping": snap_report,
        "village_circle": {
            "tier": "village",
            "services": list(scenario.circle.services),
            "rule": "circle-15min",
            "mode": tier.mode,
            "minutes": _circle_minutes(scenario),
            "walk_speed_mps": scenario.travel.walk_speed_mps,
            **county,
        },
    }
