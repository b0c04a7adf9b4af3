"""The run's outputs, written atomically: map, report, summary, gaps, workbook and GeoPackage."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from carecircle import rules as policy
from carecircle.outputs.figures import headlines, tier_rows
from carecircle.outputs.files import clean_json, staged_dir, write_csv, write_json
from carecircle.outputs.html import render
from carecircle.outputs.layers import OutputLayers, output_layers
from carecircle.outputs.planfile import write_plan
from carecircle.outputs.tables import write_xlsx
from carecircle.pipeline import RunResult
from carecircle.planning.findings import findings_table
from carecircle.sources.plan import plan_from_sites

__all__ = ["OUTPUT_FILES", "PLAN_FILE", "render_report", "write_gpkg", "write_outputs"]

log = logging.getLogger(__name__)

# The recommended sites as an allocation plan, in the scenario's plan: layout, for
# `carecircle check-plan` (written when the run recommends any site).
PLAN_FILE = "recommended_plan.gpkg"

OUTPUT_FILES = (
    "index.html",
    "report.html",
    "summary.json",
    "gaps.csv",
    "tables.xlsx",
    "results.gpkg",
)


def write_outputs(
    result: RunResult, out_dir: str | Path, *, progress: Callable[[str], None] | None = None
) -> dict[str, Path]:
    """Write the map, report, summary, tables and GeoPackage into ``out_dir``; return their paths."""
    from carecircle.outputs import maps  # folium is heavy; import it only when writing a map

    def say(label: str) -> None:
        if progress:
            progress(label)

    out = Path(out_dir)
    with staged_dir(out) as stage:
        say("计算等时圈与圈外网格 / isochrones and the uncovered grid")
        layers = output_layers(result)
        say("写出地图 / writing the map")
        maps.save_map(maps.coverage_map(result, layers), stage / "index.html")
        say("写出报告与数据 / writing the report and data")
        write_json(stage / "summary.json", result.summary)
        write_csv(stage / "gaps.csv", findings_table(result.gaps.gaps), columns=_GAP_COLUMNS)
        (stage / "report.html").write_text(render_report(result, layers), encoding="utf-8")
        write_xlsx(result, layers, stage / "tables.xlsx")
        write_gpkg(result, stage / "results.gpkg", layers)
        written = list(OUTPUT_FILES)
        if result.siting is not None and len(result.siting.sites):
            tier = result.scenario.siting.tier if result.scenario.siting else "regional"
            floor = policy.resolve(result.scenario.policy.targets).get("village-center-150")
            plan = plan_from_sites(
                result.siting.sites,
                tier=tier,
                path=PLAN_FILE,
                centre_floor_m2=floor.value() if floor is not None else None,
            )
            write_plan(plan, stage / PLAN_FILE, result.scenario)
            written.append(PLAN_FILE)
    return {name: out / name for name in written}


# Leading columns of gaps.csv, in the order a reviewer reads them; detail columns follow.
_GAP_COLUMNS = (
    "kind",
    "scope",
    "township",
    "object_name",
    "object_id",
    "measured",
    "required",
    "unit",
    "shortfall",
    "status",
    "status_zh",
    "severity",
    "fragile",
    "reason_zh",
    "reason_en",
    "action_zh",
    "action_en",
    "rule_id",
    "citation",
)


def write_gpkg(result: RunResult, path: Path, layers: OutputLayers | None = None) -> None:
    """Every layer of the run, in the working CRS, for QGIS/ArcGIS users."""
    layers = layers if layers is not None else output_layers(result)
    frames: dict[str, gpd.GeoDataFrame] = {
        "boundary": result.boundary,
        "townships": result.townships,
        "villages": result.villages,
        "facilities": result.facilities,
        "cells": _joinable_cells(result),
        "roads": result.roads,
        "isochrones": layers.isochrones,
        "uncovered_grid": layers.uncovered.cells,
        "gaps": layers.gaps,
    }
    if layers.sites is not None:
        frames["sites"] = layers.sites
    for tier, grid in layers.tiers.items():
        frames[f"uncovered_{tier}"] = grid.cells
    for layer, frame in frames.items():
        if frame.empty and (layer.startswith("uncovered_") or layer in ("gaps", "sites", "roads")):
            continue
        frame = frame.copy()
        for col in frame.columns:
            if frame[col].dtype == bool:
                frame[col] = frame[col].astype(np.int8)
        for col in [c for c in frame.columns if str(c).endswith("seconds")]:
            frame[col] = frame[col].replace(np.inf, np.nan)
        frame.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")


def _joinable_cells(result: RunResult) -> gpd.GeoDataFrame:
    """Demand cells with the village and township *codes* (row positions inside a run are not
    something QGIS can join on); empty where a cell lies outside every village or township."""
    cells = result.cells.drop(columns=["x", "y"])
    for col, frame in (("village", result.villages), ("township", result.townships)):
        codes = np.append(frame["id"].astype(str).to_numpy(), "")
        cells[col] = codes[cells[col].to_numpy()]  # -1 (outside) picks the appended ""
    return cells


def render_report(result: RunResult, layers: OutputLayers | None = None) -> str:
    """The readable report: figures against targets, gaps, sites, townships, villages, inputs."""
    summary = clean_json(result.summary)
    circle = summary["village_circle"]
    townships = result.townships.sort_values("share")
    villages = result.villages.sort_values(["share", "older"], ascending=[True, False])
    sites = layers.sites if layers is not None else None
    return render(
        "report.html.j2",
        title=result.scenario.title or result.scenario.name,
        s=summary,
        circle=circle,
        headlines=headlines(result),
        townships=townships.to_dict("records"),
        villages=villages.to_dict("records"),
        sites=None if sites is None else sites.drop(columns="geometry").to_dict("records"),
        curve=_curve(circle.get("share_by_minutes") or {}, circle["minutes"]),
        phasing=summary.get("siting", {}).get("phasing"),
        timeline=_timeline(summary.get("siting", {}).get("phasing")),
        centre_curve=_centre_curve(summary.get("siting", {}).get("village_centres")),
        curve_rows=_curve_rows(summary.get("siting", {}).get("village_centres")),
        curve_at=_curve_at,
        tier_rows=tier_rows(summary),
        beds_reach=_beds_reach(summary),
    )


def _beds_reach(summary: dict[str, Any]) -> dict[str, Any] | None:
    """The beds within the regional tier's reach per 1,000 older residents, and their spread."""
    regional = summary.get("tiers", {}).get("regional")
    equity = summary.get("equity", {}).get("beds_per_1000_older")
    if not regional or "beds_per_1000_older" not in regional or not equity:
        return None
    return {"tier": regional, **equity}


def _curve_at(centres: dict[str, Any]) -> dict[str, Any]:
    """The curve's point for the recommended number of centres."""
    curve = centres["curve"]
    return curve[min(int(centres["new_centres"]), len(curve) - 1)]


def _curve_rows(centres: dict[str, Any] | None) -> set[int]:
    """The curve's rows the report's table lists: the first ten, every fifth, the plan's, the last."""
    if not centres or not centres.get("curve"):
        return set()
    n = len(centres["curve"])
    return {*range(min(n, 11)), *range(0, n, 5), int(centres["new_centres"]), n - 1}


def _centre_curve(centres: dict[str, Any] | None) -> dict[str, Any] | None:
    """The village-centre coverage curve in the pixels of the report's chart (``centres_svg``)."""
    if not centres or len(centres.get("curve") or []) < 2:
        return None
    curve = centres["curve"]
    total = float(centres.get("older_total") or 0.0)
    if total <= 0:
        return None
    w, h, pad = 460, 220, 36
    last = len(curve) - 1
    low = max(0.0, math.floor(curve[0]["share"] * 10) / 10)

    def sx(n: float) -> float:
        return pad + (w - 2 * pad) * n / last

    def sy(v: float) -> float:
        return h - pad - (h - 2 * pad) * (v - low) / max(1.0 - low, 1e-9)

    step = max(1, math.ceil(last / 10))
    return {
        "w": w,
        "h": h,
        "pad": pad,
        "points": [(sx(p["centres"]), sy(p["share"])) for p in curve],
        "bound": [(sx(p["centres"]), sy(min(p["bound"] / total, 1.0))) for p in curve],
        "ticks": [(sx(n), n) for n in range(0, last + 1, step)],
        "yticks": [(sy(v), v) for v in np.linspace(low, 1.0, 5)],
        "x": sx(min(int(centres["new_centres"]), last)),
        "chosen": int(centres["new_centres"]),
        "right": sx(min(int(centres["new_centres"]), last)) > w / 2,  # the label's side
    }


def _timeline(phasing: dict[str, Any] | None) -> dict[str, Any] | None:
    """Cumulative new beds by year against each year's target, in the pixels of the report's
    small bar chart (drawn by the template's ``timeline_svg``, the way ``curve_svg`` draws the
    coverage curve); None without a schedule."""
    if not phasing or not phasing.get("years"):
        return None
    years = phasing["years"]
    if all(y.get("beds_by_end") is None for y in years):
        return None
    w, h, pad = 460, 220, 40
    top = max(
        [float(y.get("beds_by_end") or 0) for y in years]
        + [float(y.get("beds_target") or 0) for y in years]
    )
    top = top or 1.0
    band = (w - 2 * pad) / len(years)
    bar = band * 0.5

    def sy(v: float) -> float:
        return h - pad - (h - 2 * pad) * v / top

    items = []
    for k, y in enumerate(years):
        x = pad + band * k + (band - bar) / 2
        beds = float(y.get("beds_by_end") or 0)
        target = y.get("beds_target")
        items.append(
            {
                "x": x,
                "mid": x + bar / 2,
                "w": bar,
                "y": sy(beds),
                "height": h - pad - sy(beds),
                "beds": beds,
                "year": y["year"],
                "holds": bool(y.get("holds")),
                "target_y": None if target is None else sy(float(target)),
                "target": target,
            }
        )
    return {
        "w": w,
        "h": h,
        "pad": pad,
        "bars": items,
        "yticks": [(sy(top * f), top * f) for f in (0, 0.5, 1.0)],
    }


def _curve(shares: dict[str, float | None], threshold: float) -> dict[str, Any] | None:
    """Share of older residents reached against minutes, in the pixels of the report's small
    line chart (drawn by the template's ``curve_svg``); None without shares."""
    if not shares:
        return None
    w, h, pad = 460, 220, 36
    pts = sorted((float(k), v or 0.0) for k, v in shares.items())
    xmax = max(p[0] for p in pts) or 1.0

    def sx(m: float) -> float:
        return pad + (w - 2 * pad) * m / xmax

    def sy(v: float) -> float:
        return h - pad - (h - 2 * pad) * v

    return {
        "w": w,
        "h": h,
        "pad": pad,
        "points": [(sx(m), sy(v)) for m, v in pts],
        "ticks": [(sx(m), m) for m, _ in pts],
        "yticks": [(sy(v), v) for v in (0, 0.25, 0.5, 0.75, 1.0)],
        "x": sx(threshold),
        "threshold": threshold,
    }
