"""The run's outputs, written atomically: map, report, summary, gaps, workbook and GeoPackage."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import jinja2
import numpy as np

from carecircle.outputs.figures import headlines
from carecircle.outputs.files import clean_json, staged_dir, write_csv, write_json
from carecircle.outputs.layers import OutputLayers, output_layers
from carecircle.outputs.planfile import write_plan
from carecircle.outputs.tables import write_xlsx
from carecircle.outputs.text import amount, count, pct
from carecircle.pipeline import RunResult
from carecircle.planning import policy
from carecircle.planning.findings import findings_table
from carecircle.sources.plan import plan_from_sites

__all__ = ["OUTPUT_FILES", "PLAN_FILE", "render_report", "write_gpkg", "write_outputs"]

log = logging.getLogger(__name__)

# The recommended sites as an allocation plan, in the scenario's plan: layout, for
# `carecircle check-plan` (written when the run recommends any site).
PLAN_FILE = "recommended_plan.gpkg"

OUTPUT_FILES = (
    "index.html", "report.html", "summary.json", "gaps.csv", "tables.xlsx", "results.gpkg",
)  # fmt: skip

# The plan checker's page formats its figures with this name.
_amount = amount

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("carecircle.outputs", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    keep_trailing_newline=True,
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
    "kind", "scope", "township", "object_name", "object_id", "measured", "required", "unit",
    "shortfall", "status", "status_zh", "severity", "fragile", "reason_zh", "reason_en",
    "action_zh", "action_en", "rule_id", "citation",
)  # fmt: skip


def write_gpkg(result: RunResult, path: Path, layers: OutputLayers | None = None) -> None:
    """Every layer of the run, in the working CRS, for QGIS/ArcGIS users."""
    layers = layers if layers is not None else output_layers(result)
    frames: dict[str, gpd.GeoDataFrame] = {
        "boundary": result.boundary,
        "townships": result.townships,
        "villages": result.villages,
        "facilities": result.facilities,
        "cells": result.cells.drop(columns=["x", "y"]),
        "roads": result.roads,
        "isochrones": layers.isochrones,
        "uncovered_grid": layers.uncovered.cells,
        "gaps": layers.gaps,
    }
    if layers.sites is not None:
        frames["sites"] = layers.sites
    for layer, frame in frames.items():
        if frame.empty and layer in ("gaps", "sites", "uncovered_grid", "roads"):
            continue
        frame = frame.copy()
        for col in frame.columns:
            if frame[col].dtype == bool:
                frame[col] = frame[col].astype(np.int8)
        if "seconds" in frame.columns:
            frame["seconds"] = frame["seconds"].replace(np.inf, np.nan)
        frame.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")


def render_report(result: RunResult, layers: OutputLayers | None = None) -> str:
    """The readable report: figures against targets, gaps, sites, townships, villages, inputs."""
    summary = clean_json(result.summary)
    circle = summary["village_circle"]
    townships = result.townships.sort_values("share")
    villages = result.villages.sort_values(["share", "older"], ascending=[True, False])
    sites = layers.sites if layers is not None else None
    template = _ENV.get_template("report.html.j2")
    return template.render(
        title=result.scenario.title or result.scenario.name,
        s=summary,
        circle=circle,
        headlines=headlines(result),
        townships=townships.to_dict("records"),
        villages=villages.to_dict("records"),
        sites=None if sites is None else sites.drop(columns="geometry").to_dict("records"),
        pct=pct,
        num=count,
        amount=amount,
        curve_svg=_curve_svg(circle.get("share_by_minutes", {}), circle["minutes"]),
    )


def _curve_svg(shares: dict[str, float], threshold: float) -> str:
    """Share of older residents reached against minutes, as a small inline SVG line chart."""
    if not shares:
        return ""
    w, h, pad = 460, 220, 36
    pts = sorted((float(k), v or 0.0) for k, v in shares.items())
    xmax = max(p[0] for p in pts) or 1.0

    def sx(m: float) -> float:
        return pad + (w - 2 * pad) * m / xmax

    def sy(v: float) -> float:
        return h - pad - (h - 2 * pad) * v

    line = " ".join(f"{sx(m):.1f},{sy(v):.1f}" for m, v in pts)
    ticks = "".join(
        f'<text x="{sx(m):.1f}" y="{h - pad + 14}" font-size="10" text-anchor="middle">{m:g}</text>'
        for m, _ in pts
    )
    yticks = "".join(
        f'<text x="{pad - 4}" y="{sy(v) + 3:.1f}" font-size="10" text-anchor="end">{v * 100:.0f}%</text>'
        f'<line x1="{pad}" x2="{w - pad}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" stroke="#eee"/>'
        for v in (0, 0.25, 0.5, 0.75, 1.0)
    )
    label = html.escape(f"{threshold:g} 分钟 / min")
    return (
        f'<svg width="{w}" height="{h}" role="img" '
        f'aria-label="coverage against minutes">{yticks}'
        f'<line x1="{sx(threshold):.1f}" x2="{sx(threshold):.1f}" y1="{pad}" y2="{h - pad}" stroke="#d73027" stroke-dasharray="4 3"/>'
        f'<text x="{sx(threshold) + 4:.1f}" y="{pad + 10}" font-size="10" fill="#d73027">{label}</text>'
        f'<polyline points="{line}" fill="none" stroke="#1a5276" stroke-width="2"/>{ticks}'
        f'<text x="{w / 2}" y="{h - 4}" font-size="11" text-anchor="middle">分钟 / minutes</text></svg>'
    )
