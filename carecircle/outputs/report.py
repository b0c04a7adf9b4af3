"""summary.json, report.html and results.gpkg for a run, written atomically with the map."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import jinja2
import numpy as np

from carecircle.outputs.files import clean_json, staged_dir, write_csv, write_json
from carecircle.pipeline import RunResult
from carecircle.planning.findings import findings_table

__all__ = ["OUTPUT_FILES", "write_outputs"]

log = logging.getLogger(__name__)

OUTPUT_FILES = ("index.html", "report.html", "summary.json", "gaps.csv", "results.gpkg")

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("carecircle.outputs", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    keep_trailing_newline=True,
)


def write_outputs(
    result: RunResult, out_dir: str | Path, *, progress: Callable[[str], None] | None = None
) -> dict[str, Path]:
    """Write the map, report, summary and GeoPackage into ``out_dir``; return their paths."""
    from carecircle.outputs import maps  # folium is heavy; import it only when writing a map

    out = Path(out_dir)
    with staged_dir(out) as stage:
        if progress:
            progress("写出地图 / writing the map")
        maps.save_map(maps.coverage_map(result), stage / "index.html")
        if progress:
            progress("写出报告与数据 / writing the report and data")
        write_json(stage / "summary.json", result.summary)
        write_csv(stage / "gaps.csv", findings_table(result.gaps.gaps), columns=_GAP_COLUMNS)
        (stage / "report.html").write_text(render_report(result), encoding="utf-8")
        write_gpkg(result, stage / "results.gpkg")
    return {name: out / name for name in OUTPUT_FILES}


# Leading columns of gaps.csv, in the order a reviewer reads them; detail columns follow.
_GAP_COLUMNS = (
    "kind", "scope", "township", "object_name", "object_id", "measured", "required", "unit",
    "shortfall", "status", "status_zh", "severity", "fragile", "reason_zh", "reason_en",
    "action_zh", "action_en", "rule_id", "citation",
)  # fmt: skip


def write_gpkg(result: RunResult, path: Path) -> None:
    """Every layer of the run, in the working CRS, for QGIS/ArcGIS users."""
    frames: dict[str, gpd.GeoDataFrame] = {
        "boundary": result.boundary,
        "townships": result.townships,
        "villages": result.villages,
        "facilities": result.facilities,
        "cells": result.cells.drop(columns=["x", "y"]),
    }
    for layer, frame in frames.items():
        frame = frame.copy()
        for col in frame.columns:
            if frame[col].dtype == bool:
                frame[col] = frame[col].astype(np.int8)
        if "seconds" in frame.columns:
            frame["seconds"] = frame["seconds"].replace(np.inf, np.nan)
        frame.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")


def _pct(value: Any) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{value * 100:.1f}%"


def _num(value: Any) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{value:,.0f}"


_UNITS = {
    "share": "",
    "m2": " m²",
    "beds": " 张",
    "count": "",
    "per_1000_older": " /千人",
    "per_10000_older": " /万人",
    "m2_per_person": " m²/人",
}


def _amount(value: Any, unit: str) -> str:
    """A measured or required figure as a reader wants it: shares in %, areas in m²."""
    if value is None or not np.isfinite(value):
        return "—"
    if unit == "share":
        return f"{value * 100:.1f}%"
    return f"{value:,.{0 if abs(value) >= 100 or float(value).is_integer() else 2}f}{_UNITS.get(unit, ' ' + unit)}"


def render_report(result: RunResult) -> str:
    """The readable report: headline figures, townships, the least covered villages, inputs."""
    summary = clean_json(result.summary)
    circle = summary["village_circle"]
    townships = result.townships.sort_values("share")
    villages = result.villages.sort_values(["share", "older"], ascending=[True, False])
    template = _ENV.get_template("report.html.j2")
    return template.render(
        title=result.scenario.title or result.scenario.name,
        s=summary,
        circle=circle,
        townships=townships.to_dict("records"),
        villages=villages.to_dict("records"),
        pct=_pct,
        num=_num,
        amount=_amount,
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
