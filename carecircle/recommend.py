"""Recommended sites: the glue between a run's geodata and the siting models' matrices.

Two recommendations come out of a run:

- **regional homes** (the scenario's ``siting:`` problem): candidate parcels and existing 敬老院
  to expand, drive-time catchments over the travel graph of the siting tier, and
  :func:`carecircle.planning.regional.site_regional_homes`;
- **new village centres**: the fewest new centres that bring every older resident not yet within
  the village tier's threshold within it, preferring existing buildings
  (:func:`carecircle.planning.centre_model.site_village_centres`).

The solver core sees matrices only; geometry stays here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
import shapely
import shapely.ops

from carecircle import engine
from carecircle import rules as policy
from carecircle.errors import DataError, excerpt
from carecircle.planning import centres as centre_model
from carecircle.planning import phasing, regional
from carecircle.planning.gaps import INSTITUTION_TIERS
from carecircle.rules import landuse
from carecircle.scenario import Scenario

__all__ = ["SITE_COLUMNS", "SitingOutcome", "recommend"]

log = logging.getLogger(__name__)

SITE_COLUMNS = (
    "id",
    "name",
    "kind",
    "candidate_id",
    "beds",
    "nursing_beds",
    "existing_beds",
    "land_m2",
    "land_mu",
    "land_use",
    "zone",
    "older_covered",
    "older_in_reach",
    "marginal_gain",
    "villages",
    "townships",
    "note",
    "village",
    "lon",
    "lat",
    "year",
)


@dataclass(frozen=True)
class SitingOutcome:
    """What the siting models recommend for a run.

    ``sites`` holds one row per recommended site (``kind``: ``parcel`` a new home on a candidate
    parcel, ``expand`` an existing 敬老院 expanded, ``village-centre`` a new village centre), in
    the working CRS, with the columns of :data:`SITE_COLUMNS`.
    """

    sites: gpd.GeoDataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    homes: regional.RegionalHomesResult | None = None
    centres: centre_model.CentreCurve | None = None


@dataclass(frozen=True)
class RunData:
    """The parts of a run the recommendations need (all in the working CRS)."""

    boundary: gpd.GeoDataFrame
    townships: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    cells: gpd.GeoDataFrame
    walk_graph: engine.TravelGraph
    node_seconds: npt.NDArray[np.float64]
    siting_graph: engine.TravelGraph
    candidates: gpd.GeoDataFrame | None = None
    roads: gpd.GeoDataFrame | None = None
    """Named road segments (``name``), for naming new sites after the nearest road."""


def recommend(scenario: Scenario, run: RunData) -> SitingOutcome:
    """Regional homes and new village centres for a scenario with a ``siting:`` section.

    ``run`` holds everything the models need, read and built by the pipeline beforehand: the
    scored geodata, the walking graph and the siting tier's graph, the candidate parcels.
    """
    if scenario.siting is None:
        raise ValueError("recommend() needs a scenario with a siting: section")
    frames = []
    summary: dict[str, Any] = {}
    parcels = run.candidates
    forbidden = gpd.GeoSeries([], crs=run.boundary.crs)
    if parcels is not None and scenario.data.candidates is not None:
        every = parcels
        parcels, summary["candidates"] = admissible_parcels(
            parcels, run.boundary, str(scenario.data.candidates.path)
        )
        refused = {
            e["id"]
            for e in summary["candidates"]["excluded"]
            if e["reason"] == "land-use-compatible"
        }
        forbidden = every.geometry[every["id"].astype(str).isin(refused)]
    homes, home_sites, summary["regional_homes"] = _regional_homes(scenario, run, parcels)
    frames.append(home_sites)
    centres, centre_sites, summary["village_centres"] = _village_centres(
        scenario, run, parcels, forbidden
    )
    frames.append(centre_sites)
    sites = pd.concat(frames, ignore_index=True)
    for column in ("townships", "note"):  # the village-centre rows may not fill them
        sites[column] = sites[column].fillna("") if column in sites else ""
    sites = gpd.GeoDataFrame(sites, geometry="geometry", crs=run.boundary.crs)
    lonlat = sites.geometry.to_crs(4326)
    sites["lon"] = np.round(lonlat.x.to_numpy(), 6) if len(sites) else []
    sites["lat"] = np.round(lonlat.y.to_numpy(), 6) if len(sites) else []
    sites["village"] = sites["village"].fillna("").astype(str) if "village" in sites else ""
    sites, phased = _phasing(scenario, run, sites)
    if phased is not None:
        summary["phasing"] = phased
    return SitingOutcome(sites=sites, summary=summary, homes=homes, centres=centres)


# --- phasing -------------------------------------------------------------------------------------


def _phasing(
    scenario: Scenario, run: RunData, sites: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, dict[str, Any] | None]:
    """Every site's year (``year``; 0 without phases or without a schedule) and the schedule's
    summary, from the sites both models chose (:func:`carecircle.planning.phasing.schedule`)."""
    spec = scenario.siting
    assert spec is not None
    sites = sites.assign(year=0)
    if not spec.phases:
        return sites, None
    kind = sites["kind"].to_numpy(dtype=str)
    centre = kind == "village-centre"
    beds = sites["beds"].to_numpy(dtype=float)
    cost = np.where(
        centre, spec.cost_per_centre_yuan, spec.cost_per_site_yuan + spec.cost_per_bed_yuan * beds
    )
    targets = _targets(scenario, run, {})
    result = phasing.schedule(
        phasing.PhaseSites(
            kind=np.where(centre, phasing.CENTRE, phasing.HOME),
            beds=beds,
            nursing_beds=sites["nursing_beds"].to_numpy(dtype=float),
            cost_yuan=cost,
            land_mu=sites["land_mu"].to_numpy(dtype=float),
            weight=sites["older_covered"].to_numpy(dtype=float),
        ),
        spec.phases,
        baseline_beds=targets.baseline_beds,
        baseline_nursing_beds=targets.baseline_nursing_beds,
        time_limit=spec.time_limit_s,
    )
    if result.year.size == len(sites):
        sites = sites.assign(year=result.year)
    summary = result.summary()
    opened = sites["year"].to_numpy()
    if len(spec.phases) > 1 and len(sites) and (opened == spec.phases[0].year).all():
        summary["warning"] = (
            f"所有选址都排在 {spec.phases[0].year} 年：各年目标是下限，且未给出限制早期建设的各年预算、"
            "用地或中心数上限；如需分年建设，请给出各年 budget_yuan、land_mu 或 max_new_centres / "
            f"every site opens in {spec.phases[0].year}: each year's targets are minimums and no "
            "yearly budget, land or centre limit holds the early years back; give each year's "
            "budget_yuan, land_mu or max_new_centres to spread the building"
        )
    if result.status == "infeasible":
        summary["warning"] = (
            "各选址的规模取自不分期的方案；规模更小的机构或许可以分期安排：可调低 beds_per_site 的上限，"
            "或调高各年预算 / the sites' sizes come from the plan without phases; smaller homes may "
            "fit the years: lower beds_per_site's maximum, or raise the yearly budgets"
        )
    names = sites["name"].astype(str).to_numpy()
    ids = sites["id"].astype(str).to_numpy()
    for row in summary["years"]:
        row["sites"] = [{"id": ids[j], "name": names[j]} for j in row["sites"]]
    return sites, summary


# --- candidates ----------------------------------------------------------------------------------


def admissible_parcels(
    parcels: gpd.GeoDataFrame, boundary: gpd.GeoDataFrame, source: str
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """The candidate parcels the plan checker would accept, and a count of those left out.

    The models obey the rules ``check-plan`` enforces on their own recommendations: a parcel on a
    land use the 用地用海分类 forbids for care facilities (farmland, forest, water, ...;
    ``land-use-compatible``) or outside the county (``site-in-county``) is excluded before
    optimisation and listed. A code that is not in the classification stops the run: a silent
    guess either way would be wrong.
    """
    codes = parcels["land_use"] if "land_use" in parcels.columns else pd.Series("", parcels.index)
    codes = codes.fillna("").astype(str).str.strip()
    entries = [landuse.land_use(c) if c else None for c in codes]
    unknown = sorted({c for c, e in zip(codes, entries, strict=True) if c and e is None})
    if unknown:
        shown = ", ".join(excerpt(c, 20) for c in unknown[:8])
        raise DataError(
            f"{source}: {len(unknown)} 个用地代码不在用地用海分类中 / land-use code(s) not in the "
            f"用地用海分类: {shown}; use {landuse.CODE_PATTERN}, or leave the cell empty if "
            f"unknown{''.join(landuse.code_hint(c) for c in unknown[:3])}"
        )
    forbidden = np.array([e is not None and not e.allowed for e in entries], dtype=bool)
    area = shapely.union_all(boundary.geometry.to_numpy())
    outside = ~shapely.intersects(parcels.geometry.representative_point().to_numpy(), area)
    drop = forbidden | outside
    excluded = [
        {
            "id": str(parcels["id"].iat[i]),
            "name": str(parcels["name"].iat[i]) if "name" in parcels.columns else "",
            "land_use": codes.iat[i],
            "reason": "land-use-compatible" if forbidden[i] else "site-in-county",
        }
        for i in np.flatnonzero(drop).tolist()
    ]
    report = {
        "parcels": len(parcels),
        "excluded_land_use": int(forbidden.sum()),
        "excluded_outside_county": int((outside & ~forbidden).sum()),
        "no_land_use_code": int((codes == "").sum()),
        "excluded": excluded[:50],
    }
    kept = parcels[~drop].reset_index(drop=True)
    return kept, report


def _candidates(
    scenario: Scenario, run: RunData, parcels: gpd.GeoDataFrame | None
) -> gpd.GeoDataFrame:
    """Candidate parcels from the land bureau, and existing 敬老院 that may be expanded."""
    crs = run.boundary.crs
    parts = []
    if parcels is not None:
        parts.append(
            gpd.GeoDataFrame(
                {
                    "candidate_id": parcels["id"],
                    "name": parcels.get("name", parcels["id"]),
                    "kind": "parcel",
                    "land_m2": parcels.get("land_m2", parcels.geometry.area),
                    "land_use": parcels.get("land_use", ""),
                    "existing_beds": 0,
                    "existing_nursing": 0,
                },
                geometry=parcels.geometry.representative_point(),
                crs=crs,
            )
        )
    assert scenario.siting is not None
    if scenario.siting.expand_jingloyuan:
        homes = run.facilities[run.facilities["tier"] == "jingloyuan"]
        land = homes["land_m2"] if "land_m2" in homes else pd.Series(np.inf, index=homes.index)
        parts.append(
            gpd.GeoDataFrame(
                {
                    "candidate_id": homes["id"],
                    "name": homes["name"],
                    "kind": "expand",
                    "land_m2": land.fillna(np.inf),
                    "land_use": "",
                    "existing_beds": homes["beds"].fillna(0).astype(int),
                    "existing_nursing": homes["nursing_beds"].fillna(0).astype(int),
                },
                geometry=homes.geometry,
                crs=crs,
            )
        )
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return (
        gpd.GeoDataFrame(frame, geometry="geometry", crs=crs)
        if len(frame)
        else gpd.GeoDataFrame(geometry=[], crs=crs)
    )


def _zones(
    scenario: Scenario, run: RunData, points: gpd.GeoSeries
) -> tuple[npt.NDArray[np.str_] | None, dict[str, tuple[int, int]]]:
    """Zone label of each candidate, and the (min, max) number of sites per zone."""
    spec = scenario.siting
    assert spec is not None
    n = len(points)
    if not spec.zones:
        if spec.min_sites == 0:
            return None, {}
        upper = spec.max_sites if spec.max_sites is not None else n
        return np.full(n, "all"), {"all": (spec.min_sites, upper)}
    labels = np.full(n, "", dtype=object)
    # Bands are thirds of the county's north-south extent; 乳山's coast is its south.
    _, ymin, _, ymax = run.boundary.total_bounds
    cut = np.linspace(ymin, ymax, 4)
    band = np.array(["south", "central", "north"])[
        np.clip(np.searchsorted(cut, points.y.to_numpy()) - 1, 0, 2)
    ]
    town = _township_of(points, run.townships)
    for name, zone in spec.zones.items():
        if zone.band is not None:
            inside = band == zone.band
        else:
            wanted = set(zone.townships or ())
            inside = np.array([bool(t & wanted) for t in town])
        labels[inside & (labels == "")] = name
    limits = {
        name: (z.min_sites, z.max_sites if z.max_sites is not None else n)
        for name, z in spec.zones.items()
    }
    return labels.astype(str), limits


def _township_of(points: gpd.GeoSeries, townships: gpd.GeoDataFrame) -> list[set[str]]:
    """Each point's township as {name, id} (zones may list either)."""
    out: list[set[str]] = [set() for _ in range(len(points))]
    for p, t in zip(*townships.sindex.query(points.to_numpy(), predicate="within"), strict=True):
        out[p] = {str(townships["name"].iat[t]), str(townships["id"].iat[t])}
    return out


# --- regional homes ------------------------------------------------------------------------------


def _coverage(
    graph: engine.TravelGraph, scenario: Scenario, run: RunData, points: gpd.GeoSeries, max_s: float
) -> sp.csr_matrix:
    """Demand cell × candidate travel seconds within ``max_s`` (access legs at walking speed)."""
    cells = gpd.GeoSeries(gpd.points_from_xy(run.cells["x"], run.cells["y"]), crs=run.boundary.crs)
    return _point_coverage(graph, scenario, points, cells, max_s)


def _spread_rows(matrix: sp.csr_matrix, rows: npt.NDArray[np.int64], n: int) -> sp.csr_matrix:
    """Put ``matrix``'s rows at positions ``rows`` of an n-row matrix (off-network candidates empty)."""
    coo = matrix.tocoo()
    return sp.csr_matrix((coo.data, (rows[coo.row], coo.col)), shape=(n, matrix.shape[1]))


def _regional_homes(
    scenario: Scenario, run: RunData, parcels: gpd.GeoDataFrame | None
) -> tuple[regional.RegionalHomesResult | None, gpd.GeoDataFrame, dict[str, Any]]:
    spec = scenario.siting
    assert spec is not None
    cands = _candidates(scenario, run, parcels)
    if cands.empty:
        return (
            None,
            _empty_sites(run),
            {"status": "no_candidates", "message": "没有候选地块 / no candidate sites"},
        )
    tier = scenario.tier(spec.tier)
    graph = run.siting_graph
    max_s = tier.minutes * 60.0
    coverage = _coverage(graph, scenario, run, cands.geometry, max_s)
    labels, limits = _zones(scenario, run, cands.geometry)
    older = run.cells["older"].to_numpy()
    low, high = spec.beds_per_site
    high = _phase_site_cap(scenario, low, high)
    candidates = regional.HomeCandidates(
        min_beds=np.full(len(cands), low),
        max_beds=np.full(len(cands), high),
        land_m2=cands["land_m2"].to_numpy(dtype=float),
        existing_beds=cands["existing_beds"].to_numpy(),
        zone=labels,
        cost_per_bed=np.full(len(cands), spec.cost_per_bed_yuan),
        fixed_cost=np.full(len(cands), spec.cost_per_site_yuan),
    )
    targets = _targets(scenario, run, limits)
    result = regional.site_regional_homes(
        coverage,
        older,
        older * spec.institutionalisation_rate,
        candidates,
        targets,
        threshold=max_s,
        time_limit=spec.time_limit_s,
    )
    sites = _home_sites(result, cands, run, regional.within_reach(coverage, max_s))
    summary = _home_summary(result, targets, tier.mode, tier.minutes, len(cands))
    # Older residents no candidate reaches at all (a pocket of one-way streets, an unmapped
    # area): the model cannot serve them whatever it chooses, and the planner must know why.
    none = np.asarray(coverage.getnnz(axis=1) == 0) & (older > 0)
    village = run.cells["village"].to_numpy()
    summary["older_reach_no_candidate"] = round(float(older[none].sum()), 1)
    summary["villages_reach_no_candidate"] = sorted(
        {str(run.villages["name"].iat[v]) for v in village[none].tolist() if v >= 0}
    )
    summary["network"] = graph.islands()
    return result, sites, summary


def _phase_site_cap(scenario: Scenario, low: int, high: int) -> int:
    """The most beds of one home when it must open within one year of a phased plan: what the
    largest yearly budget pays for (after the site's fixed cost and the new centres that year's
    target asks for) and the largest yearly land holds, when every year gives one; never below
    ``low`` (then phasing reports the year)."""
    spec = scenario.siting
    if spec is None or not spec.phases:
        return high
    caps = [high]
    budgets = [p.budget_yuan for p in spec.phases]
    if all(b is not None for b in budgets) and spec.cost_per_bed_yuan > 0:
        # a year's budget less the site's fixed cost and the centres its target asks to open then
        before, rooms = 0, []
        for p in spec.phases:
            due = max((p.centres_by_end or 0) - before, 0)
            before = max(before, p.centres_by_end or 0)
            rooms.append(float(p.budget_yuan or 0) - spec.cost_per_site_yuan - due * spec.cost_per_centre_yuan)  # fmt: skip
        caps.append(int(max(rooms) // spec.cost_per_bed_yuan + 1e-9))
    lands = [p.land_mu for p in spec.phases]
    if all(x is not None for x in lands):
        caps.append(int(max(float(x or 0) for x in lands) * policy.MU_M2 // land_m2_per_bed(scenario) + 1e-9))  # fmt: skip
    return max(low, min(caps))


def _targets(
    scenario: Scenario, run: RunData, limits: Mapping[str, tuple[int, int]]
) -> regional.HomeTargets:
    spec = scenario.siting
    assert spec is not None
    f = run.facilities
    institutions = f[f["tier"].isin(INSTITUTION_TIERS) | (f["beds"].fillna(0) > 0)]
    horizon = phasing.horizon_limits(spec)  # the phases' totals bound the one-horizon model
    return regional.HomeTargets(
        new_beds=spec.new_beds,
        beds_target=spec.beds_target,
        nursing_share=max(_nursing_share(scenario), horizon.nursing_share),
        land_m2_per_bed=land_m2_per_bed(scenario),
        land_quota_mu=horizon.land_quota_mu,
        budget=horizon.budget_yuan if horizon.budget_yuan is not None else float("inf"),
        zone_limits=dict(limits),
        max_sites=spec.max_sites,
        baseline_beds=int(institutions["beds"].fillna(0).sum()),
        baseline_nursing_beds=int(institutions["nursing_beds"].fillna(0).sum()),
    )


def land_m2_per_bed(scenario: Scenario) -> float:
    """Land per bed the siting model and the plan checker both use (one number for both)."""
    spec = scenario.siting
    if spec is not None and spec.land_m2_per_bed is not None:
        return float(spec.land_m2_per_bed)
    return policy.get_rule("land-m2-per-bed").value("planning")


def _nursing_share(scenario: Scenario) -> float:
    """The siting problem's own share, else the strictest nursing-share rule the scenario picked."""
    spec = scenario.siting
    if spec is not None and spec.nursing_share is not None:
        return float(spec.nursing_share)
    rules = policy.resolve(scenario.policy.targets)
    shares = [r.value() for rid, r in rules.items() if rid.startswith("nursing-share")]
    return max(shares, default=0.0)


def _catchment_townships(reach: sp.csr_array, site: int, run: RunData) -> str:
    """The townships whose older residents lie within a home's reach, largest first, with counts
    (at most :data:`TOWNSHIPS_LISTED`; the rest counted)."""
    rows = sp.csc_array(reach[:, [site]]).indices
    town = run.cells["township"].to_numpy()[rows]
    older = run.cells["older"].to_numpy(dtype=float)[rows]
    inside = town >= 0
    sums = pd.Series(older[inside]).groupby(town[inside]).sum()
    sums = sums[sums.round() > 0].sort_values(ascending=False, kind="stable")
    names = run.townships["name"].astype(str).to_numpy()
    top = sums.iloc[:TOWNSHIPS_LISTED]
    shown = "、".join(
        f"{names[t]} {v:,.0f}"
        for t, v in zip(top.index.to_numpy(dtype=np.int64), top.to_numpy(), strict=True)
    )
    rest = len(sums) - TOWNSHIPS_LISTED
    return shown + (f" 等 {len(sums)} 个乡镇 / {len(sums)} townships in all" if rest > 0 else "")


# A home's catchment lists this many townships at most.
TOWNSHIPS_LISTED = 8


def _home_sites(
    result: regional.RegionalHomesResult,
    cands: gpd.GeoDataFrame,
    run: RunData,
    reach: sp.csr_array,
) -> gpd.GeoDataFrame:
    rows = []
    reach = sp.csc_array(reach)
    for k, s in enumerate(result.sites, start=1):
        c = cands.iloc[s.candidate]
        suffix = "（扩建）" if c["kind"] == "expand" else "（新建）"
        rows.append(
            {
                "id": f"R{k}",
                "name": f"{c['name']}{suffix}",
                "kind": c["kind"],
                "candidate_id": str(c["candidate_id"]),
                "beds": s.beds,
                "nursing_beds": s.nursing_beds,
                "existing_beds": s.existing_beds,
                "land_m2": round(s.land_m2, 1),
                "land_mu": round(s.land_mu, 2),
                "land_use": str(c["land_use"] or ""),
                "zone": s.zone or "",
                "older_covered": round(s.served_weight, 1),
                "older_in_reach": round(s.reach_weight, 1),
                "marginal_gain": round(s.marginal_gain, 1),
                "villages": "",
                "townships": _catchment_townships(reach, s.candidate, run),
                "note": s.note,
                "geometry": c.geometry,
            }
        )
    if not rows:
        return _empty_sites(run)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=run.boundary.crs)


def _home_summary(
    result: regional.RegionalHomesResult,
    targets: regional.HomeTargets,
    mode: str,
    minutes: float,
    n_candidates: int,
) -> dict[str, Any]:
    return {
        "status": result.status,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "baseline": result.baseline,
        "message": result.message,
        "mode": mode,
        "minutes": minutes,
        "candidates": n_candidates,
        "sites": len(result.sites),
        "new_beds": int(result.beds.sum()),
        "beds_target": result.beds_target,
        "bed_excess": result.bed_excess,
        "excess_reason_zh": result.excess_reason_zh,
        "excess_reason_en": result.excess_reason_en,
        "new_nursing_beds": int(result.nursing_beds.sum()),
        "land_m2": float(result.land_m2.sum()),
        "land_mu": float(result.land_m2.sum() / policy.MU_M2),
        "targets": {
            "new_beds": targets.new_beds,
            "nursing_share": targets.nursing_share,
            "land_m2_per_bed": targets.land_m2_per_bed,
            "land_quota_mu": targets.land_quota_mu,
            "max_sites": targets.max_sites,
            "zone_limits": {k: list(v) for k, v in targets.zone_limits.items()},
        },
        "explain": result.explain(),
    }


def _empty_sites(run: RunData) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: [] for c in SITE_COLUMNS}, geometry=[], crs=run.boundary.crs)


# --- new village centres -------------------------------------------------------------------------


def _village_middles(run: RunData, villages: npt.NDArray[np.int64]) -> gpd.GeoDataFrame:
    """The older-resident-weighted middle of each of ``villages`` (row positions in run.villages)."""
    cells = run.cells[(run.cells["older"] > 0) & run.cells["village"].isin(villages)]
    g = cells.assign(wx=cells["x"] * cells["older"], wy=cells["y"] * cells["older"]).groupby(
        "village"
    )
    sums = g[["wx", "wy", "older"]].sum()
    idx = sums.index.to_numpy()
    return gpd.GeoDataFrame(
        {
            "village": idx,
            "village_id": run.villages["id"].to_numpy()[idx],
            "name": run.villages["name"].to_numpy()[idx],
            "older": sums["older"].to_numpy(),
        },
        geometry=gpd.points_from_xy(sums["wx"] / sums["older"], sums["wy"] / sums["older"]),
        crs=run.boundary.crs,
    )


def _block_key(cells: pd.DataFrame) -> list[npt.NDArray[np.int64]]:
    """The :data:`BLOCK_M` square each cell lies in, as (column, row) arrays to group by."""
    return [np.floor(cells[axis].to_numpy() / BLOCK_M).astype(np.int64) for axis in ("x", "y")]


def _blocks(cells: pd.DataFrame) -> gpd.GeoSeries:
    """One new-build point per :data:`BLOCK_M` square of cells: their older-weighted middle."""
    g = cells.assign(wx=cells["x"] * cells["older"], wy=cells["y"] * cells["older"])
    sums = g.groupby(_block_key(cells))[["wx", "wy", "older"]].sum()
    return gpd.GeoSeries(gpd.points_from_xy(sums["wx"] / sums["older"], sums["wy"] / sums["older"]))


# New-build candidates for village centres: one per square of this side among the residents out
# of reach (a cell no such point reaches gets its own candidate).
BLOCK_M = 400.0


def _scattered(
    cells: pd.DataFrame, short: npt.NDArray[np.bool_], settlement: float
) -> npt.NDArray[np.bool_]:
    """Cells out of reach (``short``) in squares of :data:`BLOCK_M` with fewer than
    ``settlement`` older residents out of reach (``siting.settlement_older``; 0: none). Their
    residents are counted and reported (``older_scattered``), left to visiting services."""
    if settlement <= 0:
        return np.zeros_like(short)
    out = pd.Series(np.where(short, cells["older"].to_numpy(), 0.0))
    sums = out.groupby(_block_key(cells)).transform("sum")
    return short & (sums.to_numpy() < settlement)


def _centre_candidates(
    run: RunData, parcels: gpd.GeoDataFrame | None, short: pd.DataFrame
) -> gpd.GeoDataFrame:
    """Existing buildings (other facilities, idle parcels) and new-build points among ``short``."""
    crs = run.boundary.crs
    f = run.facilities[run.facilities["tier"] != "village"]
    parts = [
        gpd.GeoDataFrame(
            {"candidate_id": f["id"], "name": f["name"], "existing": True},
            geometry=f.geometry,
            crs=crs,
        )
    ]
    if parcels is not None:
        idle = (
            parcels.get("status", pd.Series("", index=parcels.index))
            .astype(str)
            .str.startswith("闲置")
        )
        parts.append(
            gpd.GeoDataFrame(
                {
                    "candidate_id": parcels["id"],
                    "name": parcels.get("name", parcels["id"]),
                    "existing": idle.to_numpy(),
                },
                geometry=parcels.geometry.representative_point(),
                crs=crs,
            )
        )
    points = _blocks(short)
    parts.append(
        gpd.GeoDataFrame(
            {
                "candidate_id": [f"N{k + 1}" for k in range(len(points))],
                "name": "",
                "existing": False,
            },
            geometry=points.to_numpy(),
            crs=crs,
        )
    )
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=crs)


def _threshold(scenario: Scenario) -> float:
    # New centres close the circle as its rule judges it (circle-15min's own minutes).
    return policy.circle_minutes(scenario.policy.targets) * 60.0


def _off_forbidden(
    points: gpd.GeoSeries, forbidden: gpd.GeoSeries, clearance_m: float = 15.0
) -> tuple[gpd.GeoSeries, int]:
    """New-build points moved off land a care facility may not use (a parcel the 用地用海分类
    forbids: farmland, forest, water), to the nearest point ``clearance_m`` outside it, so that a
    recommended centre never stands where its own plan check would refuse it."""
    if forbidden.empty or points.empty:
        return points, 0
    hits = forbidden.sindex.query(points.to_numpy(), predicate="within")
    if hits.shape[1] == 0:
        return points, 0
    geoms = points.to_numpy().copy()
    polys = forbidden.to_numpy()
    for p, f in zip(*hits, strict=True):
        ring = shapely.buffer(polys[f], clearance_m).exterior
        geoms[p] = shapely.ops.nearest_points(ring, geoms[p])[0]
    return gpd.GeoSeries(geoms, index=points.index, crs=points.crs), len(set(hits[0].tolist()))


def _onto_village_roads(
    run: RunData, scenario: Scenario, first: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """A village's first centre stands where the mapped roads reach it: a middle farther than
    ``travel.max_access_m`` from any road moves to the village's road node nearest to it. A
    village with no road node at all keeps its middle, and is returned by name: on the map that
    centre serves no one, because the village's roads are not mapped."""
    if first.empty:
        return first, []
    graph = run.walk_graph
    kw = {
        "max_distance_m": scenario.travel.max_access_m,
        "walk_speed_mps": scenario.travel.walk_speed_mps,
    }
    snap = engine.snap_points(graph, first.geometry.x, first.geometry.y, **kw)
    off = np.flatnonzero(snap.status == engine.Snap.OFF_NETWORK)
    if off.size == 0:
        return first, []
    nodes = gpd.GeoSeries(gpd.points_from_xy(graph.x, graph.y), crs=first.crs)
    geoms = first.geometry.to_numpy().copy()
    roadless = []
    for i in off.tolist():
        polygon = run.villages.geometry.iat[int(first["village"].iat[i])]
        inside = np.flatnonzero(shapely.contains_xy(polygon, graph.x, graph.y))
        if inside.size == 0:
            roadless.append(str(first["name"].iat[i]))
            continue
        d = np.hypot(graph.x[inside] - geoms[i].x, graph.y[inside] - geoms[i].y)
        geoms[i] = nodes.iat[int(inside[np.argmin(d)])]
    return first.set_geometry(gpd.GeoSeries(geoms, index=first.index, crs=first.crs)), roadless


def _centre_limit(scenario: Scenario) -> int | None:
    """The most new village centres the scenario allows: ``siting.max_new_centres``, what
    ``centre_budget_yuan`` buys at ``cost_per_centre_yuan``, and the phases' yearly limits added
    up (the smallest of those set)."""
    spec = scenario.siting
    if spec is None:
        return None
    limits = [] if spec.max_new_centres is None else [spec.max_new_centres]
    if spec.centre_budget_yuan is not None and spec.cost_per_centre_yuan > 0:
        limits.append(int(spec.centre_budget_yuan // spec.cost_per_centre_yuan + 1e-9))
    if spec.phases and all(p.max_new_centres is not None for p in spec.phases):
        limits.append(sum(int(p.max_new_centres or 0) for p in spec.phases))
    return min(limits) if limits else None


def _village_centres(
    scenario: Scenario,
    run: RunData,
    parcels: gpd.GeoDataFrame | None,
    forbidden: gpd.GeoSeries | None = None,
) -> tuple[centre_model.CentreCurve | None, gpd.GeoDataFrame, dict[str, Any]]:
    """New village centres as a decision: the coverage curve (older residents within the village
    tier's reach against the number of new centres, :func:`centre_model.centre_curve`) and the
    plan at the scenario's limit (``max_new_centres`` or a budget), or the cover without one.
    Every new centre brings at least ``min_older_per_centre`` residents; those no such centre
    reaches are listed by village for mobile or mutual-aid services (互助点、助餐点). Candidates:
    existing buildings and idle parcels first, the middle of each village without a centre, and
    new-build points among the residents out of reach."""
    crs = run.boundary.crs
    spec = scenario.siting
    limit = _threshold(scenario)
    time_limit = spec.time_limit_s if spec else 60.0
    min_older = spec.min_older_per_centre if spec else 0.0
    cells = run.cells[run.cells["older"] > 0].reset_index(drop=True)
    points = gpd.GeoSeries(gpd.points_from_xy(cells["x"], cells["y"]), crs=crs)
    older = cells["older"].to_numpy(dtype=np.float64)
    covered = np.asarray(cells["seconds"].to_numpy() <= limit)
    forbidden = forbidden if forbidden is not None else gpd.GeoSeries([], crs=crs)
    # Candidates: the middle of every populated village without a centre (off forbidden land,
    # onto its roads), existing buildings, parcels and new-build points among those out of reach.
    lacking = np.flatnonzero(~run.villages["has_centre"].to_numpy(dtype=bool))
    first = _village_middles(run, lacking)
    first = first.assign(
        candidate_id=[f"V{v}" for v in first["village_id"]], name="", existing=False
    )
    moved_geoms, moved = _off_forbidden(first.geometry, forbidden)
    first = first.set_geometry(moved_geoms)
    first, roadless = _onto_village_roads(run, scenario, first)
    settlement = spec.settlement_older if spec else 0.0
    scattered = _scattered(cells, ~covered, settlement)
    short = cells[~covered & ~scattered]
    cands = gpd.GeoDataFrame(
        pd.concat(
            [
                first[["candidate_id", "name", "existing", "geometry"]].assign(lacking=True),
                _centre_candidates(run, parcels, short).assign(lacking=False)
                if len(short)
                else first.iloc[:0][["candidate_id", "name", "existing", "geometry"]],
            ],
            ignore_index=True,
        ),
        geometry="geometry",
        crs=crs,
    )
    cands["lacking"] = cands["lacking"].fillna(False).astype(bool)
    cands["existing"] = cands["existing"].fillna(False).astype(bool)
    new_build = ~cands["existing"].to_numpy(dtype=bool) & ~cands["lacking"].to_numpy(dtype=bool)
    shifted, n_moved = _off_forbidden(cands.geometry[new_build], forbidden)
    cands.loc[new_build, "geometry"] = shifted.to_numpy()
    moved += n_moved
    reach = _point_coverage(run.walk_graph, scenario, cands.geometry, points, limit)
    wanted = ~covered & ~scattered
    lone = np.flatnonzero(wanted & (reach.getnnz(axis=1) == 0))
    if lone.size:  # residents no candidate reaches: each cell is a candidate of its own
        extra = gpd.GeoDataFrame(
            {"candidate_id": [f"P{k + 1}" for k in range(lone.size)], "name": "",
             "existing": False, "lacking": False},
            geometry=points.to_numpy()[lone],
            crs=crs,
        )  # fmt: skip
        cands = gpd.GeoDataFrame(pd.concat([cands, extra], ignore_index=True), geometry="geometry", crs=crs)  # fmt: skip
        reach = sp.hstack(
            [reach, _point_coverage(run.walk_graph, scenario, extra.geometry, points, limit)]
        ).tocsr()
    cap = _centre_limit(scenario)
    weights = np.where(wanted, older, 0.0)
    prefer = 0.5 * cands["existing"].to_numpy(dtype=float) + cands["lacking"].to_numpy(dtype=float)
    curve = centre_model.centre_curve(
        sp.csr_array(reach),
        weights,
        threshold=limit,
        min_older=min_older,
        prefer=prefer,
        exact_at=cap,
        time_limit=time_limit,
    )
    point = curve.cover if cap is None else curve.at(cap)
    point = curve.in_buildings(point, cands["existing"].to_numpy(dtype=bool))
    chosen = cands.iloc[point.selected].reset_index(drop=True)
    sites = _centre_sites(run, cells, curve, point, chosen)
    reach_any = np.asarray(reach.getnnz(axis=1) > 0)
    brought = np.zeros(len(cells))
    rows = np.flatnonzero(curve.group_of >= 0)
    brought[rows] = np.asarray(point.share.sum(axis=1)).ravel()[curve.group_of[rows]]
    after = covered | (brought > 1 - 1e-9)
    unreachable = wanted & ~reach_any
    still = _still_without(run, lacking, sites)
    at_cap = cap is not None and point.centres >= cap and cap < curve.cover.centres
    summary = {
        "status": point.status,
        "villages_without_centre": int(lacking.size),
        "new_centres": int(point.selected.size),
        "in_villages_without_centre": int(lacking.size) - len(still),
        "in_existing_buildings": int(chosen["existing"].sum()),
        "villages_still_without_centre": still,
        "still_without_reason_zh": "超出新建数量或预算上限，留待下一批"
        if at_cap
        else "其老年人由邻村（社区）中心覆盖或不足以支撑一处中心",
        "still_without_reason_en": "beyond the limit on new centres or their budget, for the next batch"
        if at_cap
        else "their older residents are reached from a neighbour's centre or too few for one",
        "limit": cap,
        "limit_source": _limit_source(scenario, cap),
        "max_new_centres": spec.max_new_centres if spec else None,
        "centre_budget_yuan": spec.centre_budget_yuan if spec else None,
        "cost_per_centre_yuan": spec.cost_per_centre_yuan if spec else 0.0,
        "spend_yuan": float(point.selected.size * (spec.cost_per_centre_yuan if spec else 0.0)),
        "min_older_per_centre": min_older,
        "older_total": float(older.sum()),
        "older_beyond_before": float(older[~covered].sum()),
        "older_brought": point.older_covered,
        "older_beyond_after": float(older[~after].sum()),
        "older_scattered": float(older[scattered & ~after].sum()),
        "older_unreachable": float(older[unreachable].sum()),
        "older_mobile_service": float(older[~after].sum()),
        "mobile_service": _mobile_service(
            run, cells, ~after, scattered, unreachable, at_cap, min_older
        ),
        "curve": _curve_rows(curve, float(older[covered].sum()), float(older.sum())),
        "points_moved_off_forbidden_land": moved,
        "villages_without_mapped_roads": roadless,
        "cells_unreachable": int(unreachable.sum()),
        "villages_unreachable": sorted(
            {str(run.villages["name"].iat[v]) for v in cells["village"][unreachable] if v >= 0}
        ),
        "message": _curve_message(curve, point, cap),
    }
    return curve, sites, summary


def _curve_rows(
    curve: centre_model.CentreCurve, today: float, total: float
) -> list[dict[str, Any]]:
    """``siting.village_centres.curve``: from 0 new centres (today's coverage) to the cover."""
    return [
        {
            "centres": p.centres,
            "older_covered": round(today + p.older_covered, 1),
            "share": round((today + p.older_covered) / total, 4) if total > 0 else None,
            "older_brought": round(p.older_covered, 1),
            "bound": round(today + p.bound, 1),
            "exact": p.status == "optimal",
        }
        for p in curve.points
    ]


def _curve_message(
    curve: centre_model.CentreCurve, point: centre_model.CurvePoint, cap: int | None
) -> str:
    exact = sum(p.status == "optimal" for p in curve.points)
    head = (
        "已证明最优 / proven optimal"
        if point.status == "optimal"
        else f"可行方案，与上界相差 {point.bound - point.older_covered:,.1f} 人 / feasible, "
        f"within {point.bound - point.older_covered:,.1f} residents of the bound"
    )
    return (
        f"{head}; 覆盖曲线 {len(curve.points)} 点中 {exact} 点已证明最优，其余给出上界 / "
        f"{exact} of the curve's {len(curve.points)} points proven optimal, the others bounded"
    )


def _limit_source(scenario: Scenario, cap: int | None) -> str:
    spec = scenario.siting
    if cap is None or spec is None:
        return "cover"
    if spec.max_new_centres is not None and cap == spec.max_new_centres:
        return "max_new_centres"
    budget = spec.centre_budget_yuan
    if budget is not None and spec.cost_per_centre_yuan > 0 and cap == int(budget // spec.cost_per_centre_yuan + 1e-9):  # fmt: skip
        return "centre_budget_yuan"
    return "phases.max_new_centres"


def _still_without(
    run: RunData, lacking: npt.NDArray[np.int64], sites: gpd.GeoDataFrame
) -> list[str]:
    """Villages without a centre today in which the plan puts none."""
    given = set(sites["village"].astype(str)) if len(sites) else set()
    return [
        str(run.villages["name"].iat[v])
        for v in lacking
        if str(run.villages["name"].iat[v]) not in given
    ]


def _mobile_service(
    run: RunData,
    cells: pd.DataFrame,
    left: npt.NDArray[np.bool_],
    scattered: npt.NDArray[np.bool_],
    unreachable: npt.NDArray[np.bool_],
    at_cap: bool,
    min_older: float,
) -> list[dict[str, Any]]:
    """Older residents still beyond the village tier's reach after the plan, by village (at
    least half a resident), for mobile or mutual-aid services, with the reason (``at_cap``: the
    plan stopped at the limit on new centres before the cover)."""
    if not left.any():
        return []
    frame = pd.DataFrame(
        {
            "village": cells["village"].to_numpy()[left],
            "older": cells["older"].to_numpy()[left],
            "scattered": scattered[left],
            "unreachable": unreachable[left],
        }
    )
    names = np.append(
        run.villages["name"].astype(str).to_numpy(), "村界之外 / outside the villages"
    )
    towns = dict(
        zip(run.townships["id"].astype(str), run.townships["name"].astype(str), strict=False)
    )
    town_of = (
        run.villages["township"].astype(str).to_numpy() if "township" in run.villages else None
    )
    out = []
    for key, g in frame.groupby("village"):
        v = int(str(key))
        if g["older"].sum() < 0.5:
            continue
        unreached = float(g.loc[g["unreachable"].to_numpy(dtype=bool), "older"].sum())
        if unreached >= 0.5 * float(g["older"].sum()):
            reason_zh = "已测绘道路上没有任何候选点可步行到达（道路可能未测绘）"
            reason_en = "no possible site reaches them on the mapped roads (unmapped roads?)"
        elif g["scattered"].all():
            reason_zh, reason_en = (
                "散居（低于 settlement_older）",
                "scattered housing (below settlement_older)",
            )
        elif at_cap:
            reason_zh, reason_en = (
                "超出新建数量或预算上限（留待下一批）",
                "beyond the limit on new centres or their budget (for the next batch)",
            )
        else:
            reason_zh = f"居住分散，任一新建照料中心在此新服务的老年人都不足 {min_older:g} 人"
            reason_en = f"spread out: no new centre would bring {min_older:g} of them within reach"
        code = str(town_of[v]) if town_of is not None and v >= 0 else ""
        name = str(names[v])
        urban = name.endswith(("社区", "街道", "居委会"))
        out.append(
            {
                "village": name,
                "township": towns.get(code, code),
                "older": round(float(g["older"].sum()), 1),
                "service": "下一批新建照料中心，其间上门或流动服务 / the next batch of centres; home visits or mobile services meanwhile"
                if at_cap and reason_en.startswith("beyond")
                else "社区助餐点、嵌入式服务或上门服务 / meal point, embedded service or home visits"
                if urban
                else "农村互助养老服务点、助餐点或上门服务 / mutual-aid point, meal point or home visits",
                "reason_zh": reason_zh,
                "reason_en": reason_en,
            }
        )
    return sorted(out, key=lambda r: -float(r["older"]))


def _centre_sites(
    run: RunData,
    cells: pd.DataFrame,
    curve: centre_model.CentreCurve,
    point: centre_model.CurvePoint,
    chosen: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    """The chosen centres as site rows, most served first: who they bring within reach (each
    resident counted at one centre), where, and a name a planner can find on the ground."""
    if len(chosen) == 0:
        return _empty_sites(run)
    older = cells["older"].to_numpy()
    vnames = run.villages["name"].astype(str).to_numpy()
    village = cells["village"].to_numpy()
    rows_all = np.flatnonzero(curve.group_of >= 0)
    share = point.share.tocsc()
    where = _village_at(run, chosen.geometry)
    labels = place_names(run, chosen, where)
    out = []
    for k in range(len(chosen)):
        c = chosen.iloc[k]
        col = share[:, [k]].toarray().ravel()
        part = col[curve.group_of[rows_all]]
        hit = rows_all[part > 1e-9]
        places = [vnames[v] for v in pd.Series(village[hit]).value_counts().index if v >= 0]
        out.append(
            {
                "id": f"C{k + 1}",
                "name": labels[k],
                "kind": "village-centre",
                "candidate_id": str(c["candidate_id"]),
                "beds": 0,
                "nursing_beds": 0,
                "existing_beds": 0,
                "land_m2": 0.0,
                "land_mu": 0.0,
                "land_use": "利用现有建筑 / existing building"
                if bool(c["existing"])
                else "新建 / new build",
                "zone": "",
                "older_covered": round(float(point.served[k]), 1),
                "older_in_reach": round(float(older[hit].sum()), 1),
                "marginal_gain": float("nan"),
                "villages": "、".join(places),
                "village": where[k],
                "geometry": c.geometry,
            }
        )
    return gpd.GeoDataFrame(out, geometry="geometry", crs=run.boundary.crs)


def _village_at(run: RunData, points: gpd.GeoSeries) -> list[str]:
    """The village each point lies in (the nearest within 2 km when it lies in none)."""
    names = run.villages["name"].astype(str).to_numpy()
    out = []
    for geom in points:
        inside = np.flatnonzero(run.villages.geometry.contains(geom).to_numpy())
        if inside.size:
            out.append(str(names[inside[0]]))
            continue
        d = run.villages.geometry.distance(geom).to_numpy()
        out.append(str(names[int(np.argmin(d))]) if d.size and d.min() <= 2000 else "")
    return out


# A new-build site takes the name of a named road within this distance, else a direction.
ROAD_NAME_M = 300.0
_NUMERALS = "一二三四五六七八九十"


def place_names(run: RunData, chosen: gpd.GeoDataFrame, villages: list[str]) -> list[str]:
    """Names a planner finds on the ground: the building or parcel it uses, else its village and
    the nearest named road (or its direction within the village); never an internal id."""
    roads = run.roads if run.roads is not None else None
    labels = []
    for k in range(len(chosen)):
        c = chosen.iloc[k]
        village = villages[k] or "村外 / outside the villages"
        own = str(c["name"] or "").strip()
        if own and bool(c["existing"]):
            labels.append(f"{village}照料中心（利用{own}）")
            continue
        if own:
            labels.append(f"{village}照料中心（{own}地块新建）")
            continue
        road = _nearest_road(roads, c.geometry) if roads is not None else ""
        where = f"{road}旁" if road else _direction(run, villages[k], c.geometry)
        labels.append(f"{village}照料中心（{where}新建）")
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        n = seen[label]
        out.append(label if n == 1 else f"{label}之{_NUMERALS[n - 1] if n <= 10 else n}")
    return out


def _nearest_road(roads: gpd.GeoDataFrame, point: Any) -> str:
    if roads.empty:
        return ""
    idx, dist = roads.sindex.nearest(point, max_distance=ROAD_NAME_M, return_distance=True)
    if idx.shape[1] == 0:
        return ""
    return str(roads["name"].iat[int(idx[1][np.argmin(dist)])])


def _direction(run: RunData, village: str, point: Any) -> str:
    """Where in its village a point lies: 中部, 东北部, ..."""
    match = np.flatnonzero(run.villages["name"].astype(str).to_numpy() == village)
    if match.size == 0:
        return "村外"
    middle = run.villages.geometry.iat[int(match[0])].centroid
    dx, dy = point.x - middle.x, point.y - middle.y
    if np.hypot(dx, dy) < 300:
        return "中部"
    ns = "北" if dy > abs(dx) * 0.41 else "南" if -dy > abs(dx) * 0.41 else ""
    ew = "东" if dx > abs(dy) * 0.41 else "西" if -dx > abs(dy) * 0.41 else ""
    return f"{ew}{ns}部" if ew or ns else "中部"


def _point_coverage(
    graph: engine.TravelGraph,
    scenario: Scenario,
    sources: gpd.GeoSeries,
    targets: gpd.GeoSeries,
    max_s: float,
) -> sp.csr_matrix:
    """Target × source travel seconds within ``max_s`` (access legs at both ends)."""
    travel = scenario.travel
    kw = {"max_distance_m": travel.max_access_m, "walk_speed_mps": travel.walk_speed_mps}
    src = engine.snap_points(graph, sources.x, sources.y, **kw)
    dst = engine.snap_points(graph, targets.x, targets.y, **kw)
    ok = np.flatnonzero(src.node >= 0)
    by_source = engine.demand_catchments(
        engine.catchments(graph, src.node[ok], max_s, source_seconds=src.access_s[ok]), dst, max_s
    )
    if ok.size != len(sources):
        by_source = _spread_rows(by_source, ok, len(sources))
    return sp.csr_matrix(by_source.T)
