"""Two scenarios side by side: their figures, and a map of how village coverage changes.

``carecircle compare A.yaml B.yaml`` runs both and writes ``index.html`` (self-contained like the
coverage map: the two columns of figures, the verdicts rule by rule, and villages coloured by the
change in their covered share) and ``compare.json`` (the same figures as data).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from carecircle.outputs.figures import Headline, headlines
from carecircle.outputs.files import staged_dir, write_json
from carecircle.outputs.text import amount
from carecircle.pipeline import RunResult

__all__ = ["COMPARE_FILES", "Comparison", "compare_runs", "write_comparison"]

COMPARE_FILES = ("index.html", "compare.json")


@dataclass(frozen=True)
class Comparison:
    """Run A against run B.

    ``figures``: one row per headline figure and per checked rule, with both runs' display text.
    ``villages``: every village of either run with ``share_a``, ``share_b`` and ``delta_pp``
    (B minus A, percentage points; NaN where a village is in one run only), in B's CRS.
    """

    a: RunResult
    b: RunResult
    figures: list[dict[str, Any]]
    villages: gpd.GeoDataFrame

    def data(self) -> dict[str, Any]:
        """Plain data for compare.json."""
        changed = self.villages["delta_pp"].to_numpy(dtype=float)
        return {
            "a": _run_id(self.a),
            "b": _run_id(self.b),
            "figures": self.figures,
            "villages": {
                "matched": int(np.isfinite(changed).sum()),
                "better": int((changed >= 1).sum()),
                "worse": int((changed <= -1).sum()),
                "only_a": int(self.villages["share_b"].isna().sum()),
                "only_b": int(self.villages["share_a"].isna().sum()),
            },
        }


def _run_id(r: RunResult) -> dict[str, Any]:
    circle = r.summary["village_circle"]
    return {
        "name": r.scenario.name,
        "title": r.scenario.title or r.scenario.name,
        "share": circle["share"],
        "older": circle["older"],
        "older_covered": circle["older_covered"],
    }


def compare_runs(a: RunResult, b: RunResult) -> Comparison:
    return Comparison(a, b, _figures(a, b), _village_changes(a, b))


def _figures(a: RunResult, b: RunResult) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    ha = {h.key: h for h in headlines(a)}
    hb = {h.key: h for h in headlines(b)}
    for key in dict.fromkeys([*ha, *hb]):
        x, y = ha.get(key), hb.get(key)
        label = x or y
        assert label is not None
        rows.append(
            {
                "kind": "figure",
                "key": key,
                "label_zh": label.label_zh,
                "label_en": label.label_en,
                "a": _side(x),
                "b": _side(y),
                "change": _change(x, y),
            }
        )
    va = {v["rule_id"]: v for v in a.summary.get("verdicts", [])}
    vb = {v["rule_id"]: v for v in b.summary.get("verdicts", [])}
    for rule in dict.fromkeys([*va, *vb]):
        rows.append(
            {
                "kind": "verdict",
                "key": rule,
                "label_zh": rule,
                "label_en": rule,
                "a": _verdict_side(va.get(rule)),
                "b": _verdict_side(vb.get(rule)),
                "change": "",
            }
        )
    return rows


def _side(h: Headline | None) -> dict[str, Any]:
    if h is None:
        return {"value": "—", "target": None, "status": None}
    return {"value": h.value, "target": h.target, "status": h.status}


def _verdict_side(v: Mapping[str, Any] | None) -> dict[str, Any]:
    if v is None:
        return {"value": "—", "target": None, "status": None}
    unit = str(v.get("unit", ""))
    return {
        "value": amount(v.get("measured"), unit),
        "target": amount(v.get("required"), unit),
        "status": v.get("status"),
    }


def _change(x: Headline | None, y: Headline | None) -> str:
    """B minus A: percentage points for shares, a count otherwise; empty when either is unknown."""
    if x is None or y is None or x.number is None or y.number is None:
        return ""
    diff = float(y.number) - float(x.number)
    if not np.isfinite(diff):
        return ""
    if x.unit == "share":
        return f"{diff * 100:+.1f} pp"
    return f"{diff:+,.0f}"


def _village_changes(a: RunResult, b: RunResult) -> gpd.GeoDataFrame:
    va = pd.DataFrame(a.villages[["id", "name", "share", "older"]])
    vb = pd.DataFrame(b.villages[["id", "name", "share", "older"]])
    merged = va.merge(vb, on="id", how="outer", suffixes=("_a", "_b"), sort=False)
    merged["name"] = merged["name_b"].fillna(merged["name_a"])
    merged["delta_pp"] = (merged["share_b"] - merged["share_a"]) * 100
    geoms = pd.concat(
        [
            b.villages.set_index("id").geometry,
            a.villages.to_crs(b.crs).set_index("id").geometry,
        ]
    )
    geoms = geoms[~geoms.index.duplicated()]
    frame = merged[["id", "name", "share_a", "share_b", "older_a", "older_b", "delta_pp"]]
    return gpd.GeoDataFrame(frame, geometry=geoms.reindex(merged["id"]).to_numpy(), crs=b.crs)


def write_comparison(
    a: RunResult,
    b: RunResult,
    out_dir: str | Path,
    *,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Path]:
    """Write the comparison page and compare.json into ``out_dir``; return their paths."""
    from carecircle.outputs import maps  # folium is heavy; import it only when writing a map

    comparison = compare_runs(a, b)
    out = Path(out_dir)
    with staged_dir(out) as stage:
        if progress:
            progress("写出对比地图 / writing the comparison map")
        page = maps.comparison_map(
            comparison.a, comparison.b, comparison.villages, comparison.figures
        )
        maps.save_map(page, stage / "index.html")
        write_json(stage / "compare.json", comparison.data())
    return {name: out / name for name in COMPARE_FILES}
