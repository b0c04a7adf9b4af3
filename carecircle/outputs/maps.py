"""Coverage maps as one self-contained HTML file (folium, with Leaflet inlined).

Only this module imports folium. The page carries Leaflet's script, style and images inside it, so
it opens from a USB stick on an intranet machine: no request leaves the page.
"""

from __future__ import annotations

import base64
import html
import re
from functools import cache
from pathlib import Path
from typing import Any

import branca.element
import folium
import geopandas as gpd
import numpy as np
import shapely

from carecircle.pipeline import RunResult

__all__ = ["SHARE_COLOURS", "coverage_map", "save_map", "share_colour"]

# Share of older residents within the threshold -> colour (red ... green), and grey for none.
SHARE_COLOURS: tuple[tuple[float, str, str], ...] = (
    (0.95, "#1a9850", "≥95%"),
    (0.80, "#a6d96a", "80–95%"),
    (0.50, "#fdae61", "50–80%"),
    (0.00, "#d73027", "<50%"),
)
NO_DATA_COLOUR = "#bdbdbd"

TIER_STYLE: dict[str, tuple[str, str, int]] = {
    # tier: (colour, label, radius px)
    "village": ("#2166ac", "村（社区）照料中心 / village centre", 5),
    "mutual_aid": ("#67a9cf", "幸福院、互助点 / mutual-aid point", 4),
    "township": ("#762a83", "乡镇（街道）养老服务中心 / township centre", 7),
    "jingloyuan": ("#e08214", "敬老院 / township home", 7),
    "regional": ("#b35806", "区域性养老服务中心 / regional home", 8),
    "county": ("#40004b", "县级养老机构 / county institution", 9),
    "institution": ("#8c510a", "其他养老机构 / other institution", 7),
    "meal": ("#4d9221", "助餐点 / meal point", 4),
    "other": ("#737373", "其他 / other", 4),
}


def share_colour(share: float) -> str:
    if share is None or not np.isfinite(share):
        return NO_DATA_COLOUR
    for low, colour, _ in SHARE_COLOURS:
        if share >= low:
            return colour
    return SHARE_COLOURS[-1][1]


class _OfflineMap(folium.Map):
    """A folium Map that links no CDN: Leaflet is inlined by :func:`_inline_leaflet`."""

    default_js = []  # noqa: RUF012 - folium's own class attribute, overridden the way folium does
    default_css = []  # noqa: RUF012


@cache
def _leaflet_assets() -> tuple[str, str]:
    """Leaflet's JS and CSS from the xstatic-leaflet package, images turned into data URIs."""
    from xstatic.pkg import leaflet

    base = Path(leaflet.BASE_DIR)
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    css = (base / "leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match[str]) -> str:
        data = base64.b64encode((base / match.group(1)).read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", inline, css)
    # </script> inside the script would end the element early.
    return js.replace("</script", "<\\/script"), css


def _root(m: folium.Map) -> branca.element.Figure:
    root = m.get_root()
    assert isinstance(root, branca.element.Figure)
    return root


def _inline_leaflet(m: folium.Map) -> None:
    js, css = _leaflet_assets()
    root = _root(m)
    root.header.add_child(branca.element.Element(f"<style>{css}</style>"), name="leaflet_css")
    root.header.add_child(branca.element.Element(f"<script>{js}</script>"), name="leaflet_js")


def _to_geojson(frame: gpd.GeoDataFrame, columns: list[str], tolerance_m: float) -> dict[str, Any]:
    """Simplify in metres, then lon/lat rounded to 1e-6° (~0.1 m): small files, no visible change."""
    geoms = frame.geometry.simplify(tolerance_m, preserve_topology=True)
    out = gpd.GeoDataFrame(frame[columns].copy(), geometry=geoms, crs=frame.crs).to_crs("EPSG:4326")
    out["geometry"] = shapely.set_precision(out.geometry.to_numpy(), 1e-6)
    return out.__geo_interface__


def coverage_map(result: RunResult) -> folium.Map:
    """The 15-minute circle map: villages by coverage, facilities, townships, main roads."""
    bounds = result.boundary.to_crs("EPSG:4326").total_bounds
    m = _OfflineMap(
        location=[(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2],
        tiles=None,
        zoom_start=11,
        control_scale=True,
        prefer_canvas=True,
    )
    _inline_leaflet(m)
    _root(m).header.add_child(branca.element.Element(_PAGE_STYLE), name="carecircle_css")
    _add_roads(m, result)
    _add_villages(m, result)
    _add_townships(m, result)
    _add_facilities(m, result)
    _add_gaps(m, result)
    folium.LayerControl(collapsed=False).add_to(m)
    _root(m).html.add_child(branca.element.Element(_panel(result) + _legend()))
    m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    return m


def _add_roads(m: folium.Map, result: RunResult) -> None:
    if result.roads.empty:
        return
    data = _to_geojson(result.roads, ["highway", "name"], tolerance_m=5)
    folium.GeoJson(
        data,
        name="主要道路 / main roads",
        style_function=lambda f: {
            "color": "#969696",
            "weight": 1.5 if f["properties"]["highway"] in ("primary", "trunk", "motorway") else 1,
        },
        interactive=False,
    ).add_to(m)


def _add_villages(m: folium.Map, result: RunResult) -> None:
    v = result.villages.copy()
    v["share_pct"] = (v["share"] * 100).round(1)
    v["older_n"] = v["older"].round(0)
    v["uncovered_n"] = (v["older"] - v["older_covered"]).round(0)
    v["centre"] = np.where(v["has_centre"], "有 / yes", "无 / none")
    v["colour"] = [share_colour(s) for s in v["share"]]
    cols = ["id", "name", "share_pct", "older_n", "uncovered_n", "centre", "colour"]
    folium.GeoJson(
        _to_geojson(v, cols, tolerance_m=10),
        name="村（社区）15分钟覆盖率 / village coverage",
        style_function=lambda f: {
            "fillColor": f["properties"]["colour"],
            "color": "#ffffff",
            "weight": 0.6,
            "fillOpacity": 0.65,
        },
        highlight_function=lambda f: {"weight": 2.5, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "share_pct", "older_n", "uncovered_n", "centre"],
            aliases=[
                "村（社区） / village",
                "15分钟覆盖率 % / covered %",
                "60岁及以上 / aged 60+",
                "未覆盖 / not covered",
                "照料中心 / centre",
            ],
        ),
    ).add_to(m)


def _add_townships(m: folium.Map, result: RunResult) -> None:
    t = result.townships.copy()
    t["share_pct"] = (t["share"] * 100).round(1)
    folium.GeoJson(
        _to_geojson(t, ["id", "name", "share_pct"], tolerance_m=20),
        name="乡镇（街道）界 / township boundaries",
        style_function=lambda f: {
            "fill": False,
            "color": "#252525",
            "weight": 2,
            "dashArray": "6 4",
        },
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "share_pct"],
            aliases=["乡镇（街道） / township", "15分钟覆盖率 % / covered %"],
        ),
    ).add_to(m)


def _add_facilities(m: folium.Map, result: RunResult) -> None:
    """One GeoJSON layer per tier: pure-Leaflet popups (folium's HTML popups need jQuery)."""
    f = result.facilities.copy()
    for col, unit in (("floor_m2", " m²"), ("beds", ""), ("nursing_beds", "")):
        f[f"{col}_text"] = [_amount(v, unit) for v in f[col]]
    cols = ["id", "name", "type", "floor_m2_text", "beds_text", "nursing_beds_text"]
    aliases = [
        "编号 / id",
        "名称 / name",
        "类型 / type",
        "建筑面积 / floor area",
        "床位 / beds",
        "护理型床位 / nursing beds",
    ]
    for tier, (colour, label, radius) in TIER_STYLE.items():
        rows = f[f["tier"] == tier]
        if rows.empty:
            continue
        folium.GeoJson(
            _to_geojson(rows, cols, tolerance_m=0),
            name=f"{label} ({len(rows)})",
            marker=folium.CircleMarker(
                radius=radius,
                color="#ffffff",
                weight=1,
                fill=True,
                fill_color=colour,
                fill_opacity=0.95,
            ),
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
            popup=folium.GeoJsonPopup(fields=cols, aliases=aliases, max_width=360),
        ).add_to(m)


def gap_features(result: RunResult) -> gpd.GeoDataFrame:
    """One feature per place with gaps: its geometry, and every reason with its clause."""
    shapes = {
        "village": result.villages.set_index("id").geometry,
        "township": result.townships.set_index("id").geometry,
        "facility": result.facilities.set_index("id").geometry,
    }
    groups: dict[tuple[str, str], list[Any]] = {}
    for g in result.gaps.gaps:
        groups.setdefault((g.scope, g.object_id), []).append(g)
    rows = []
    for (scope, oid), items in groups.items():
        geom = shapes.get(scope, {}).get(oid) if scope in shapes else None
        if geom is None:
            continue
        lines = [f"{g.reason_zh} / {g.reason_en} 〔{g.rule_id}: {g.citation}〕" for g in items]
        rows.append({"scope": scope, "name": items[0].object_name, "township": items[0].township,
                     "reasons": "<br>".join(html.escape(line) for line in lines), "geometry": geom})  # fmt: skip
    frame = (
        gpd.GeoDataFrame(rows, geometry="geometry", crs=result.crs)
        if rows
        else gpd.GeoDataFrame(
            {"scope": [], "name": [], "township": [], "reasons": []}, geometry=[], crs=result.crs
        )
    )
    return frame


def _add_gaps(m: folium.Map, result: RunResult) -> None:
    frame = gap_features(result)
    group = folium.FeatureGroup(name=f"缺口 / gaps ({len(frame)})", show=True)
    areas = frame[frame["scope"] != "facility"]
    if not areas.empty:
        folium.GeoJson(
            _to_geojson(areas, ["scope", "name", "township", "reasons"], tolerance_m=10),
            style_function=lambda f: {
                "fill": False,
                "color": "#b2182b",
                "weight": 3 if f["properties"]["scope"] == "township" else 2,
                "dashArray": "2 4",
            },
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
            popup=folium.GeoJsonPopup(
                fields=["name", "township", "reasons"],
                aliases=["名称 / name", "乡镇 / township", "缺口 / gaps"],
                max_width=420,
            ),
        ).add_to(group)
    points = frame[frame["scope"] == "facility"]
    if not points.empty:
        folium.GeoJson(
            _to_geojson(points, ["scope", "name", "township", "reasons"], tolerance_m=0),
            marker=folium.CircleMarker(radius=11, color="#b2182b", weight=3, fill=False),
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
            popup=folium.GeoJsonPopup(
                fields=["name", "township", "reasons"],
                aliases=["名称 / name", "乡镇 / township", "缺口 / gaps"],
                max_width=420,
            ),
        ).add_to(group)
    group.add_to(m)


def _amount(value: Any, unit: str) -> str:
    if value is None or not np.isfinite(value) or value == 0:
        return "—"
    return f"{value:,.0f}{unit}"


def _pct(value: float | None) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{value * 100:.1f}%"


def _panel(result: RunResult) -> str:
    s = result.summary
    circle = s["village_circle"]
    v = result.villages
    n_centres = int(v["has_centre"].sum())
    t = result.townships
    band = circle.get("share_by_walk_speed", {})
    band_text = " / ".join(f"{k} m/s {_pct(val)}" for k, val in band.items())
    title = html.escape(result.scenario.title or result.scenario.name)
    return f"""
<div class="cc-panel" id="cc-panel">
  <div class="cc-title">{title}</div>
  <div class="cc-figure"><span class="cc-big" id="cc-share">{_pct(circle["share"])}</span>
    <span>15分钟养老服务圈覆盖率（60岁及以上老年人）<br><small>older residents within {circle["minutes"]:g} min walk of a village/community care centre</small></span></div>
  <div class="cc-row">60岁及以上 / aged 60+: <b id="cc-older">{circle["older"]:,.0f}</b>，已覆盖 / covered: <b id="cc-covered">{circle["older_covered"]:,.0f}</b></div>
  <div class="cc-row">有照料中心的村（社区） / villages with a centre: <b id="cc-villages-centre">{n_centres}</b> / {len(v)}</div>
  <div class="cc-row">有养老服务中心的乡镇（街道） / townships with a centre: <b id="cc-townships-centre">{int(t["has_centre"].sum())}</b> / {len(t)}</div>
  <div class="cc-row cc-small">步速敏感性 / walking-speed band: {band_text}</div>
</div>"""


def _legend() -> str:
    items = "".join(
        f'<div><i style="background:{c}"></i>{label}</div>' for _, c, label in SHARE_COLOURS
    )
    items += (
        f'<div><i style="background:{NO_DATA_COLOUR}"></i>无老年人口 / no older residents</div>'
    )
    return f"""
<div class="cc-legend" id="cc-legend"><b>村（社区）15分钟覆盖率<br>village coverage</b>{items}</div>"""


_PAGE_STYLE = """
<style>
.cc-panel{position:absolute;top:10px;left:54px;z-index:1000;background:rgba(255,255,255,.94);padding:10px 14px;border-radius:6px;box-shadow:0 1px 5px rgba(0,0,0,.4);font:13px/1.45 "Noto Sans CJK SC","Microsoft YaHei",sans-serif;max-width:360px}
.cc-title{font-weight:bold;font-size:15px;margin-bottom:4px}
.cc-figure{display:flex;gap:10px;align-items:center;margin:4px 0}
.cc-big{font-size:30px;font-weight:bold;color:#1a5276}
.cc-small{font-size:11px;color:#555}
.cc-legend{position:absolute;bottom:52px;left:10px;z-index:1000;background:rgba(255,255,255,.94);padding:8px 10px;border-radius:6px;box-shadow:0 1px 5px rgba(0,0,0,.4);font:12px/1.6 "Noto Sans CJK SC","Microsoft YaHei",sans-serif}
.cc-legend i{display:inline-block;width:14px;height:14px;margin-right:6px;vertical-align:middle;opacity:.8}
.leaflet-container{background:#f4f1ea}
</style>
"""


def save_map(m: folium.Map, path: Path) -> None:
    """Write the page; refuse to write one that would still fetch something from the network."""
    page = _root(m).render()
    # Links the user may click are fine; anything the browser would fetch by itself is not.
    remote = re.findall(
        r"""<(?:script|link|img|iframe)[^>]+(?:src|href)\s*=\s*["'](?:https?:)?//""", page
    )
    if remote:
        raise RuntimeError(
            f"map would load {len(remote)} remote resource(s); refusing to write a page that is not self-contained"
        )
    path.write_text(page, encoding="utf-8")
