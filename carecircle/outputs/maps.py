"""Coverage maps as one self-contained HTML file (folium, with Leaflet inlined).

Only this module imports folium. The page carries Leaflet's script, style and images inside it, so
it opens from a USB stick on an intranet machine: no request leaves the page unless the reader
picks an online basemap (OpenStreetMap, Tianditu, Gaode) in the layer control.

Every overlay lives in its own map pane (``cc-<key>``), and its name in the layer control carries
``data-layer="<key>"``: the legend follows the layers by that key, and so do the browser tests.
Heavy, inert layers (roads, isochrones) draw on a canvas; layers one can point at draw as SVG.

Gaode tiles are in GCJ-02. Rather than write a second page whose data is shifted into GCJ-02, the
page draws each Gaode tile moved by the GCJ-02 offset at its centre (``templates/map.js``): the
offset varies by under a pixel across a tile, so one page serves every basemap and its data stay
in WGS84, like the GeoPackage beside it.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import branca.element
import folium
import folium.map
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.template import Template
from folium.utilities import JsCode

from carecircle.outputs.figures import Headline, headlines, verdict_rows

if TYPE_CHECKING:
    from carecircle.outputs.compare import Comparison
from carecircle.outputs.layers import OutputLayers, UncoveredGrid, output_layers
from carecircle.outputs.text import amount, bi, bi_html, count, esc, pct, status_bi
from carecircle.pipeline import RunResult
from carecircle.scenario import MapOptions

__all__ = [
    "GRID_CLASSES",
    "ISOCHRONE_COLOURS",
    "SHARE_COLOURS",
    "TIER_STYLE",
    "comparison_map",
    "coverage_map",
    "geojson",
    "page_map",
    "save_map",
    "share_colour",
]

# Share of older residents within the threshold -> colour (red ... green), and grey for none.
SHARE_COLOURS: tuple[tuple[float, str, str], ...] = (
    (0.95, "#1a9850", "≥ 95%"),
    (0.80, "#a6d96a", "80–95%"),
    (0.50, "#fdae61", "50–80%"),
    (0.00, "#d73027", "< 50%"),
)
NO_DATA_COLOUR = "#bdbdbd"

# tier: (colour, Chinese, English, radius px)
TIER_STYLE: dict[str, tuple[str, str, str, int]] = {
    "village": ("#2166ac", "村（社区）照料中心", "village care centres", 5),
    "mutual_aid": ("#67a9cf", "幸福院、互助点", "mutual-aid points", 4),
    "meal": ("#4d9221", "助餐点", "meal points", 4),
    "township": ("#762a83", "乡镇（街道）养老服务中心", "township service centres", 7),
    "jingloyuan": ("#e08214", "敬老院", "township care homes (敬老院)", 7),
    "regional": ("#b35806", "区域性养老服务中心", "regional care homes", 8),
    "county": ("#40004b", "县级养老机构", "county institutions", 9),
    "institution": ("#8c510a", "其他养老机构", "other institutions", 7),
    "other": ("#737373", "其他设施", "other facilities", 4),
}

# Walking isochrones, nearest first: dark to light green (reached), drawn under the villages.
ISOCHRONE_COLOURS = ("#006d2c", "#41ab5d", "#a1d99b")
# Older residents outside the circle per cell: (lowest count, colour).
GRID_CLASSES: tuple[tuple[float, str], ...] = (
    (0.5, "#e0ecf4"),
    (2.5, "#bfd3e6"),
    (5.5, "#8c96c6"),
    (10.5, "#88419d"),
    (20.5, "#4d004b"),
)
GAP_COLOUR = "#b2182b"

# Overlay panes: key -> (z-index, takes the pointer). Leaflet's own overlay pane is at 400,
# markers at 600, tooltips at 650.
PANES: dict[str, tuple[int, bool]] = {
    "roads": (402, False),
    "isochrones": (405, False),
    "villages": (410, True),
    "grid": (420, True),
    "townships": (430, True),
    "gaps": (440, True),
    **{f"fac-{tier}": (450 + i, True) for i, tier in enumerate(TIER_STYLE)},
    "diff": (410, True),
    "added": (470, True),
    "removed": (471, True),
}
CANVAS_PANES = ("roads", "isochrones")


def share_colour(share: float | None) -> str:
    if share is None or not np.isfinite(share):
        return NO_DATA_COLOUR
    for low, colour, _ in SHARE_COLOURS:
        if share >= low:
            return colour
    return SHARE_COLOURS[-1][1]


# --- the page ------------------------------------------------------------------------------------


class _OfflineMap(folium.Map):
    """A folium Map that links no CDN: Leaflet is inlined by :func:`_inline_assets`."""

    default_js = []  # noqa: RUF012 - folium's own class attribute, overridden the way folium does
    default_css = []  # noqa: RUF012


class _Script(folium.map.MacroElement):
    """JavaScript run after the map and its layers exist (added as the map's last child)."""

    _template = Template("{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}")

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code


class _GaodeLayer(folium.map.Layer):
    """The Gaode basemap, drawn shifted from GCJ-02 by ``carecircle.gaodeLayer`` (map.js)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        var {{ this.get_name() }} = carecircle.gaodeLayer({{ this.options|tojavascript }});
        {% endmacro %}"""
    )

    def __init__(self, name: str, *, show: bool) -> None:
        super().__init__(name=name, overlay=False, show=show)
        self.options = {"attribution": "© 高德地图 AutoNavi"}


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
    return js, css


@cache
def _own_assets() -> tuple[str, str]:
    folder = resources.files("carecircle.outputs") / "templates"
    return (folder / "map.js").read_text(encoding="utf-8"), (folder / "map.css").read_text(
        encoding="utf-8"
    )


def _script_tag(js: str) -> str:
    # </script> inside the script would end the element early.
    return "<script>" + js.replace("</script", "<\\/script") + "</script>"


def _root(m: folium.Map) -> branca.element.Figure:
    root = m.get_root()
    assert isinstance(root, branca.element.Figure)
    return root


def _inline_assets(m: folium.Map, title: str) -> None:
    leaflet_js, leaflet_css = _leaflet_assets()
    own_js, own_css = _own_assets()
    header = _root(m).header
    header.add_child(branca.element.Element(f"<title>{esc(title)}</title>"), name="cc_title")
    header.add_child(branca.element.Element(f"<style>{leaflet_css}</style>"), name="leaflet_css")
    header.add_child(branca.element.Element(_script_tag(leaflet_js)), name="leaflet_js")
    header.add_child(branca.element.Element(f"<style>{own_css}</style>"), name="carecircle_css")
    header.add_child(branca.element.Element(_script_tag(own_js)), name="carecircle_js")


def page_map(boundary: gpd.GeoDataFrame, options: MapOptions, title: str) -> folium.Map:
    """An empty page framed on ``boundary``: Leaflet and carecircle's helpers inlined, basemaps
    offered (none active unless the scenario asks for one)."""
    (south, west), (north, east) = _bounds(boundary)
    m = _OfflineMap(
        location=[(south + north) / 2, (west + east) / 2],
        tiles=None,
        zoom_start=11,
        control_scale=True,
        max_zoom=19,
        font_size="12px",  # folium's default (1rem) would blow up popups and the layer list
    )
    _inline_assets(m, title)
    _add_basemaps(m, options)
    m.fit_bounds([[south, west], [north, east]])
    return m


def _bounds(boundary: gpd.GeoDataFrame) -> list[list[float]]:
    west, south, east, north = boundary.to_crs("EPSG:4326").total_bounds
    return [[float(south), float(west)], [float(north), float(east)]]


def _add_basemaps(m: folium.Map, options: MapOptions) -> None:
    """Base layers (radio buttons): none, then the online ones, each off unless chosen."""
    chosen = options.basemap
    online = bi("（联网）", " (online)")
    folium.FeatureGroup(
        name=bi("无底图（离线）", "No basemap (offline)"), overlay=False, show=chosen == "none"
    ).add_to(m)
    folium.TileLayer(
        "OpenStreetMap", name=f"OpenStreetMap{online}", show=chosen == "osm", max_zoom=19
    ).add_to(m)
    key = options.key()
    if key:
        for kind, labels in (("tianditu", ("vec", "cva")), ("tianditu_img", ("img", "cia"))):
            zh, en = ("天地图 矢量", "Tianditu map") if kind == "tianditu" else ("天地图 影像", "Tianditu imagery")  # fmt: skip
            group = folium.FeatureGroup(
                name=bi(zh, en) + online, overlay=False, show=chosen == kind
            )
            for layer in labels:
                folium.TileLayer(
                    tiles=_tianditu_url(layer, key),
                    attr="© 天地图 Tianditu",
                    subdomains="01234567",
                    max_zoom=18,
                ).add_to(group)
            group.add_to(m)
    _GaodeLayer(bi("高德地图", "Gaode (Amap)") + online, show=chosen == "gaode").add_to(m)


def _tianditu_url(layer: str, key: str) -> str:
    return (
        f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        f"&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}"
        f"&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
    )


def _pane(m: folium.Map, key: str, z_index: int | None = None) -> str:
    """Create the pane ``cc-<key>`` (z-index from :data:`PANES` unless given) and name it."""
    z, pointer = PANES[key] if z_index is None else (z_index, True)
    name = f"cc-{key}"
    folium.map.CustomPane(name, z_index=z, pointer_events=pointer).add_to(m)
    return name


def layer_name(key: str, zh: str, en: str, *, swatch: str = "", n: int | None = None) -> str:
    """A layer control label: swatch, name in both languages, count; tagged with its key."""
    tail = f' <span class="cc-count">({n:,})</span>' if n is not None else ""
    return f'<span data-layer="{esc(key)}">{swatch}{bi(zh, en)}{tail}</span>'


def _swatch(colour: str, shape: str = "") -> str:
    cls = f"cc-swatch {shape}".strip()
    return f'<i class="{cls}" style="background:{colour}"></i>'


def geojson(frame: gpd.GeoDataFrame, columns: list[str], tolerance_m: float) -> dict[str, Any]:
    """Display GeoJSON: simplified in metres, lon/lat snapped to 1e-5° (~1 m), no bounding boxes.

    Polygons that tile the area (villages, townships) are simplified together so that neighbours
    keep sharing their borders.
    """
    geoms = frame.geometry.to_numpy()
    if tolerance_m > 0 and len(frame):
        polygonal = bool(np.isin(shapely.get_type_id(geoms), (3, 6)).all())
        if polygonal and bool(shapely.coverage_is_valid(geoms)):
            geoms = shapely.coverage_simplify(geoms, tolerance_m)
        else:
            geoms = shapely.simplify(geoms, tolerance_m, preserve_topology=True)
    out = gpd.GeoDataFrame(frame[columns].copy(), geometry=list(geoms), crs=frame.crs)
    out = out.to_crs("EPSG:4326")
    out["geometry"] = shapely.set_precision(out.geometry.to_numpy(), 1e-5)
    return out.to_geo_dict(drop_id=False, show_bbox=False)


@dataclass(frozen=True)
class _Layer:
    key: str
    show: bool


# --- the coverage map ------------------------------------------------------------------------


def coverage_map(result: RunResult, layers: OutputLayers | None = None) -> folium.Map:
    """The 15-minute circle map: every layer of the run, a panel of figures against targets."""
    layers = layers if layers is not None else output_layers(result)
    options = result.scenario.map
    title = result.scenario.title or result.scenario.name
    m = page_map(result.boundary, options, f"{title} — 养老服务圈地图 / coverage map")
    tol = options.simplify_m
    shown = [
        _add_roads(m, result),
        _add_isochrones(m, layers.isochrones, tol),
        _add_villages(m, result, layers.gaps, tol),
        _add_grid(m, layers.uncovered),
        _add_townships(m, result, tol),
        _add_gaps(m, layers.gaps, tol),
        *_add_facilities(m, result),
        *_add_sites(m, layers.sites),
    ]
    visible = {layer.key for layer in shown if layer is not None and layer.show}
    finish_page(m, result.boundary, panel_html(result), legend_html(result, layers, visible))
    return m


def finish_page(m: folium.Map, boundary: gpd.GeoDataFrame, panel: str, legend: str) -> None:
    """Layer control, panel and legend, then the wiring script (language, legend sync), which
    frames ``boundary`` clear of the panel and the layer list."""
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    _root(m).html.add_child(branca.element.Element(panel + legend))
    _Script(f"carecircle.init({m.get_name()}, {json.dumps(_bounds(boundary))});").add_to(m)


def _add_roads(m: folium.Map, result: RunResult) -> _Layer | None:
    if result.roads.empty:
        return None
    pane = _pane(m, "roads")
    roads = _merged_roads(result.roads)
    folium.GeoJson(
        geojson(roads, ["major"], tolerance_m=5),
        name=layer_name("roads", "主要道路", "main roads", swatch=_swatch("#9a9a9a", "cc-sq")),
        style_function=lambda f: {
            "color": "#8c8c8c" if f["properties"]["major"] else "#a8a8a8",
            "weight": 1.6 if f["properties"]["major"] else 1.0,
        },
        interactive=False,
        pane=pane,
        renderer=JsCode(f"L.canvas({{pane: {json.dumps(pane)}}})"),
    ).add_to(m)
    return _Layer("roads", True)


def _merged_roads(roads: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Road segments joined into long lines per class: far fewer features to draw."""
    major = roads["highway"].isin(["motorway", "trunk", "primary"]).to_numpy()
    rows = []
    for flag in (True, False):
        parts = roads.geometry.to_numpy()[major == flag]
        if len(parts):
            merged = shapely.line_merge(shapely.multilinestrings(parts))
            rows.append({"major": flag, "geometry": merged})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=roads.crs)


def _add_isochrones(m: folium.Map, iso: gpd.GeoDataFrame, tol: float) -> _Layer | None:
    if iso.empty:
        return None
    pane = _pane(m, "isochrones")
    frame = iso.sort_values("minutes", ascending=False).copy()
    order = sorted(frame["minutes"])
    frame["colour"] = [ISOCHRONE_COLOURS[min(order.index(v), 2)] for v in frame["minutes"]]
    minutes = "/".join(f"{v:g}" for v in order)
    folium.GeoJson(
        geojson(frame, ["minutes", "colour"], tolerance_m=max(tol, 5)),
        name=layer_name(
            "isochrones",
            f"步行{minutes}分钟等时圈",
            f"{minutes}-min walking isochrones",
            swatch=_swatch(ISOCHRONE_COLOURS[1], "cc-sq"),
        ),
        style_function=lambda f: {
            "stroke": False,
            "fillColor": f["properties"]["colour"],
            "fillOpacity": 0.45,
        },
        interactive=False,
        show=False,
        pane=pane,
        renderer=JsCode(f"L.canvas({{pane: {json.dumps(pane)}}})"),
    ).add_to(m)
    return _Layer("isochrones", False)


def _add_villages(
    m: folium.Map, result: RunResult, gaps: gpd.GeoDataFrame, tol: float
) -> _Layer | None:
    v = result.villages
    if v.empty:
        return None
    towns = dict(zip(result.townships["id"], result.townships["name"], strict=False))
    village_gaps = gaps[gaps["scope"] == "village"].set_index("object_id")
    minutes = f"{result.scenario.tier('village').minutes:g}"
    frame = gpd.GeoDataFrame(
        {
            "colour": [share_colour(s) for s in v["share"]],
            "tip": [
                f"<b>{esc(n)}</b> {pct(s)}" for n, s in zip(v["name"], v["share"], strict=True)
            ],
            "html": [
                _village_popup(row, towns, village_gaps, minutes)
                for row in v.drop(columns="geometry").to_dict("records")
            ],
        },
        geometry=v.geometry.to_numpy(),
        crs=v.crs,
    )
    folium.GeoJson(
        geojson(frame, ["colour", "tip", "html"], tolerance_m=tol),
        name=layer_name(
            "villages",
            f"村（社区）{minutes}分钟覆盖率",
            "village coverage",
            swatch=_swatch(SHARE_COLOURS[1][1], "cc-sq"),
        ),
        style_function=lambda f: {
            "fillColor": f["properties"]["colour"],
            "color": "#ffffff",
            "weight": 0.8,
            "fillOpacity": 0.45,
        },
        highlight_function=lambda f: {"weight": 2.5, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
        popup=folium.GeoJsonPopup(fields=["html"], labels=False, max_width=440),
        pane=_pane(m, "villages"),
    ).add_to(m)
    return _Layer("villages", True)


def _rows(rows: Iterable[tuple[str, str, str]]) -> str:
    return "".join(f"<tr><th>{bi(zh, en)}</th><td>{value}</td></tr>" for zh, en, value in rows)


def _village_popup(
    row: dict[str, Any], towns: dict[str, str], gaps: pd.DataFrame, minutes: str
) -> str:
    band = [k for k in row if k.startswith("share_") and k.endswith("mps")]
    band_text = " – ".join(pct(row[k]) for k in sorted(band, key=lambda k: float(k[6:-3])))
    table = _rows(
        [
            ("代码", "code", esc(row["id"])),
            ("乡镇（街道）", "township", esc(towns.get(str(row.get("township")), ""))),
            ("60岁及以上老人", "residents aged 60+", count(row["older"])),
            (
                f"{minutes}分钟内可达",
                f"within {minutes} min",
                f"{count(row['older_covered'])} ({pct(row['share'])})",
            ),
            ("步速0.8–1.2 m/s时", "at 0.8–1.2 m/s", band_text or "—"),
            ("照料中心", "care centre", bi("有", "yes") if row["has_centre"] else bi("无", "none")),
        ]
    )
    return f'<div class="cc-pop"><h4>{esc(row["name"])}</h4><table>{table}</table>{_gap_list(gaps, row["id"])}</div>'


def _gap_list(gaps: pd.DataFrame, object_id: Any) -> str:
    if object_id not in gaps.index:
        return ""
    g = gaps.loc[object_id]
    if isinstance(g, pd.DataFrame):
        g = g.iloc[0]
    items = zip(str(g["reasons_zh"]).split("\n"), str(g["reasons_en"]).split("\n"), strict=True)
    lis = "".join(f"<li>{_reason(zh, en)}</li>" for zh, en in items)
    return f"<b>{bi('缺口', 'Gaps')}</b><ul>{lis}</ul>"


def _reason(zh: str, en: str) -> str:
    """A gap line, its clause set in small type."""
    zh_text, _, zh_clause = zh.partition("〔")
    en_text, _, en_clause = en.partition(" [")
    return bi_html(
        f'{esc(zh_text)}<br><span class="cc-clause">〔{esc(zh_clause)}</span>',
        f'{esc(en_text)}<br><span class="cc-clause">[{esc(en_clause)}</span>',
    )


def grid_class(older: float) -> int:
    """Index of a cell's colour class in :data:`GRID_CLASSES`."""
    lows = np.array([low for low, _ in GRID_CLASSES])
    return int(np.searchsorted(lows, older, side="right") - 1)


def _add_grid(m: folium.Map, grid: UncoveredGrid) -> _Layer | None:
    cells = grid.cells
    if cells.empty:
        return None
    frame = gpd.GeoDataFrame(
        {
            "n": np.round(cells["older"].to_numpy(), 1),
            "m": np.round(cells["minutes"].to_numpy(), 1),
            "c": [max(grid_class(v), 0) for v in cells["older"]],
        },
        geometry=cells.geometry.to_numpy(),
        crs=cells.crs,
    )
    data = geojson(frame, ["n", "m", "c"], tolerance_m=0)
    for feature in data["features"]:  # NaN is not JSON: unreachable cells say null
        minutes = feature["properties"]["m"]  # geopandas may have written None already
        if minutes is None or not math.isfinite(minutes):
            feature["properties"]["m"] = None
    colours = json.dumps([c for _, c in GRID_CLASSES])
    folium.GeoJson(
        data,
        name=layer_name(
            "grid",
            "15分钟圈外的老年人",
            "older residents outside the circle",
            swatch=_swatch(GRID_CLASSES[3][1], "cc-sq"),
            n=len(cells),
        ),
        on_each_feature=JsCode("carecircle.cellTooltip"),
        pane=_pane(m, "grid"),
        style=JsCode(f"carecircle.gridStyle({colours})"),
    ).add_to(m)
    return _Layer("grid", True)


def _add_townships(m: folium.Map, result: RunResult, tol: float) -> _Layer | None:
    t = result.townships
    if t.empty:
        return None
    frame = gpd.GeoDataFrame(
        {"tip": [f"<b>{esc(n)}</b> {pct(s)}" for n, s in zip(t["name"], t["share"], strict=True)]},
        geometry=t.geometry.to_numpy(),
        crs=t.crs,
    )
    folium.GeoJson(
        geojson(frame, ["tip"], tolerance_m=tol),
        name=layer_name(
            "townships",
            "乡镇（街道）界",
            "township boundaries",
            swatch='<i class="cc-swatch cc-line"></i>',
        ),
        style_function=lambda f: {
            "fill": False,
            "color": "#252525",
            "weight": 2,
            "dashArray": "6 4",
        },
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False, sticky=True),
        pane=_pane(m, "townships"),
    ).add_to(m)
    return _Layer("townships", True)


def _gap_html(row: dict[str, Any]) -> str:
    scope = {"village": ("村（社区）", "village"), "township": ("乡镇（街道）", "township"),
             "facility": ("设施", "facility")}.get(row["scope"], (row["scope"], row["scope"]))  # fmt: skip
    items = zip(str(row["reasons_zh"]).split("\n"), str(row["reasons_en"]).split("\n"), strict=True)
    lis = "".join(f"<li>{_reason(zh, en)}</li>" for zh, en in items)
    where = f" · {esc(row['township'])}" if row["township"] else ""
    return f'<div class="cc-pop"><h4>{esc(row["name"])}</h4>{bi(*scope)}{where}<ul>{lis}</ul></div>'


def _tip_and_popup(max_width: int = 440) -> dict[str, Any]:
    """A hover tooltip from ``tip`` and a click popup from ``html`` (both prepared HTML)."""
    return {
        "tooltip": folium.GeoJsonTooltip(fields=["tip"], labels=False),
        "popup": folium.GeoJsonPopup(fields=["html"], labels=False, max_width=max_width),
    }


def _add_gaps(m: folium.Map, gaps: gpd.GeoDataFrame, tol: float) -> _Layer | None:
    pane = _pane(m, "gaps")
    frame = gaps.assign(
        html=[_gap_html(r) for r in gaps.drop(columns="geometry").to_dict("records")],
        tip=[f"<b>{esc(n)}</b> {bi('缺口', 'gaps')} {k}" for n, k in zip(gaps["name"], gaps["gaps"], strict=True)],
    )  # fmt: skip
    group = folium.FeatureGroup(
        name=layer_name(
            "gaps",
            "缺口（原因与依据）",
            "gaps, with reason and clause",
            swatch=f'<i class="cc-swatch" style="background:#fff;box-shadow:0 0 0 2px {GAP_COLOUR}"></i>',
            n=len(gaps),
        ),
        show=True,
    )
    areas = frame[frame["scope"] != "facility"]
    if not areas.empty:
        folium.GeoJson(
            geojson(areas, ["scope", "tip", "html"], tolerance_m=tol),
            style_function=lambda f: {
                "fill": False,
                "color": GAP_COLOUR,
                "weight": 3 if f["properties"]["scope"] == "township" else 2,
                "dashArray": "2 5",
            },
            pane=pane,
            **_tip_and_popup(),
        ).add_to(group)
    points = frame[frame["scope"] == "facility"]
    if not points.empty:
        marker = folium.CircleMarker(radius=11, color=GAP_COLOUR, weight=3, fill=False)
        marker.options["pane"] = pane
        folium.GeoJson(
            geojson(points, ["scope", "tip", "html"], tolerance_m=0),
            marker=marker,
            **_tip_and_popup(),
        ).add_to(group)
    group.add_to(m)
    return _Layer("gaps", True)


_FACILITY_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("type", "类型", "type", ""),
    ("floor_m2", "建筑面积", "floor area", "m2"),
    ("beds", "床位", "beds", "beds"),
    ("nursing_beds", "护理型床位", "nursing beds", "beds"),
)


def _facility_popup(row: dict[str, Any], tier: str) -> str:
    colour, zh, en, _ = TIER_STYLE[tier]
    rows = []
    for col, fzh, fen, unit in _FACILITY_FIELDS:
        value = row.get(col)
        if unit:
            text = bi(amount(value, unit, "zh"), amount(value, unit, "en")) if _positive(value) else "—"  # fmt: skip
        else:
            text = esc(value) if value else "—"
        rows.append((fzh, fen, text))
    head = f'<h4>{esc(row["name"])}</h4><div class="cc-small">{_swatch(colour)}{bi(zh, en)}</div>'
    return f'<div class="cc-pop">{head}<table>{_rows(rows)}</table></div>'


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and bool(np.isfinite(value)) and value > 0


def _add_facilities(m: folium.Map, result: RunResult) -> list[_Layer]:
    """One layer per tier, each switchable; capacity in the popup."""
    f = result.facilities
    out = []
    for tier, (colour, zh, en, radius) in TIER_STYLE.items():
        rows = f[f["tier"] == tier]
        if rows.empty:
            continue
        key = f"fac-{tier}"
        records = rows.drop(columns="geometry").to_dict("records")
        frame = gpd.GeoDataFrame(
            {
                "name": [esc(r["name"]) for r in records],
                "html": [_facility_popup(r, tier) for r in records],
            },
            geometry=rows.geometry.to_numpy(),
            crs=rows.crs,
        )
        marker = folium.CircleMarker(
            radius=radius, color="#ffffff", weight=1.2, fill=True, fill_color=colour, fill_opacity=0.95
        )  # fmt: skip
        marker.options["pane"] = _pane(m, key)
        folium.GeoJson(
            geojson(frame, ["name", "html"], tolerance_m=0),
            name=layer_name(key, zh, en, swatch=_swatch(colour), n=len(rows)),
            marker=marker,
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
            popup=folium.GeoJsonPopup(fields=["html"], labels=False, max_width=360),
        ).add_to(m)
        out.append(_Layer(key, True))
    return out


# kind -> (Chinese, English, marker colour, marker text)
SITE_KINDS: dict[str, tuple[str, str, str, str]] = {
    "parcel": ("推荐新建养老机构", "recommended new care homes", "#d6604d", "+"),
    "expand": ("推荐扩建敬老院", "recommended 敬老院 expansions", "#8c510a", "↑"),
    "village-centre": ("推荐新增照料中心", "recommended new village centres", "#2166ac", "+"),
}
_SITE_HOW = {
    "parcel": ("在候选地块新建", "new build on a candidate parcel"),
    "expand": ("扩建现有敬老院", "expansion of an existing 敬老院"),
    "village-centre": ("新增村（社区）照料中心", "new village care centre"),
}


def _site_popup(row: dict[str, Any]) -> str:
    kind = str(row.get("kind"))
    how = _SITE_HOW.get(kind, (kind, kind))
    beds = count(row.get("beds"))
    if _positive(row.get("nursing_beds")):
        beds += " " + bi(f"（护理型 {count(row['nursing_beds'])}）", f"({count(row['nursing_beds'])} nursing)")  # fmt: skip
    if _positive(row.get("existing_beds")):
        beds += " " + bi(f"，现有 {count(row['existing_beds'])}", f", {count(row['existing_beds'])} existing")  # fmt: skip
    land = "—"
    if _positive(row.get("land_m2")):
        land = f"{count(row['land_m2'])} m² · {amount(row.get('land_mu'), 'count')} " + bi(
            "亩", "mu"
        )
    rows = [
        ("方式", "kind", bi(*how)),
        ("床位", "beds", beds),
        ("用地", "land", land),
        ("用地性质", "land use", esc(row.get("land_use") or "—")),
        ("片区", "zone", esc(row.get("zone") or "—")),
        ("可达老年人", "older residents within reach", count(row.get("older_in_reach"))),
        ("由此服务", "of whom served here", count(row.get("older_covered"))),
        ("边际增益", "marginal gain", count(row.get("marginal_gain"))),
        ("候选编号", "candidate id", esc(row.get("candidate_id") or "—")),
    ]
    title = esc(row.get("name") or row.get("id"))
    return f'<div class="cc-pop"><h4>{title}</h4><table>{_rows(rows)}</table></div>'


def _site_tip(row: dict[str, Any]) -> str:
    name = f"<b>{esc(row.get('name') or row.get('id'))}</b>"
    beds = row.get("beds")
    return f"{name} {count(beds)} " + bi("床", "beds") if _positive(beds) else name


def _add_sites(m: folium.Map, sites: gpd.GeoDataFrame | None) -> list[_Layer]:
    """Recommended sites, one layer per kind (new homes, expansions, new village centres)."""
    if sites is None or sites.empty:
        return []
    out = []
    for i, kind in enumerate(dict.fromkeys(sites["kind"].astype(str))):
        rows = sites[sites["kind"].astype(str) == kind]
        zh, en, colour, glyph = SITE_KINDS.get(kind, (kind, kind, "#d6604d", "+"))
        key = f"sites-{i}"
        records = rows.drop(columns="geometry").to_dict("records")
        frame = gpd.GeoDataFrame(
            {
                "tip": [_site_tip(r) for r in records],
                "html": [_site_popup(r) for r in records],
            },
            geometry=rows.geometry.representative_point().to_numpy(),
            crs=rows.crs,
        )
        icon = folium.DivIcon(
            html=f'<div style="background:{colour}"><span>{esc(glyph)}</span></div>',
            icon_size=(22, 22),
            icon_anchor=(11, 28),
            class_name="cc-site",
        )
        marker = folium.Marker(icon=icon)
        marker.options["pane"] = _pane(m, key, z_index=620 + i)
        folium.GeoJson(
            geojson(frame, ["tip", "html"], tolerance_m=0),
            name=layer_name(key, zh, en, swatch=_swatch(colour), n=len(rows)),
            marker=marker,
            **_tip_and_popup(400),
        ).add_to(m)
        out.append(_Layer(key, True))
    return out


# --- panel and legend ----------------------------------------------------------------------------


def _rule_attrs(h: Headline) -> str:
    if not h.rule_id:
        return ""
    return f' data-rule="{esc(h.rule_id)}" title="{esc(h.rule_id)}: {esc(h.citation)}"'


def _target(h: Headline) -> str:
    if h.target is None:
        return ""
    return f'<span class="cc-target">{bi("目标", "target")} <b>{esc(h.target)}</b></span>'


def _main_figure(h: Headline) -> str:
    """The circle's share, large, with its target and the count behind it."""
    return (
        f'<div class="cc-fig cc-main" data-figure="{esc(h.key)}"{_rule_attrs(h)}>'
        f'<div class="cc-fig-label">{bi(h.label_zh, h.label_en)}</div>'
        f'<div class="cc-fig-line"><b class="cc-value" id="cc-share">{esc(h.value)}</b>'
        f"{_target(h)}{status_bi(h.status)}</div>"
        f'<div class="cc-detail">{bi(h.detail_zh, h.detail_en)}</div></div>'
    )


def _figure_row(h: Headline) -> str:
    """One line of the figures table: label (and detail), value, target, verdict."""
    detail = f'<div class="cc-detail">{bi(h.detail_zh, h.detail_en)}</div>' if h.detail_zh else ""
    return (
        f'<tr class="cc-fig" data-figure="{esc(h.key)}"{_rule_attrs(h)}>'
        f"<td>{bi(h.label_zh, h.label_en)}{detail}</td>"
        f'<td class="n"><b class="cc-value">{esc(h.value)}</b></td>'
        f'<td class="n">{_target(h)}</td><td class="n">{status_bi(h.status)}</td></tr>'
    )


def panel_title(title: str) -> str:
    """A scenario title written "中文 / English" shows one half per language."""
    zh, sep, en = title.partition(" / ")
    return bi(zh, en) if sep else esc(title)


def panel_html(result: RunResult, extra: str = "") -> str:
    """The headline panel: title, language button, figures against targets, every verdict."""
    title = panel_title(result.scenario.title or result.scenario.name)
    main, *others = headlines(result)
    rows = "".join(_figure_row(h) for h in others)
    band = result.summary["village_circle"].get("share_by_walk_speed", {})
    band_text = " · ".join(f"{k} m/s {pct(v)}" for k, v in band.items())
    band_html = (
        f'<div class="cc-small" id="cc-band">{bi("步速敏感性", "walking-speed band")}: {band_text}</div>'
        if band
        else ""
    )
    return f"""
<div class="cc-box cc-panel" id="cc-panel">
  <div class="cc-head"><div class="cc-title">{title}</div>{LANGUAGE_BUTTON}</div>
  {_main_figure(main)}<table class="cc-figs">{rows}</table>{band_html}{_verdict_details(result.summary)}{extra}
</div>"""


LANGUAGE_BUTTON = (
    '<button id="cc-lang" type="button" title="中文 / English">'
    '<span class="cc-zh">English</span><span class="cc-en">中文</span></button>'
)


def _verdict_details(summary: dict[str, Any]) -> str:
    rows = verdict_rows(summary)
    if not rows:
        return ""
    body = "".join(
        f'<tr data-rule="{esc(r["rule_id"])}"><td title="{esc(r["citation"])}">{esc(r["rule_id"])}</td>'
        f'<td class="n">{bi(r["measured_zh"], r["measured_en"])}</td>'
        f'<td class="n">{bi(r["required_zh"], r["required_en"])}</td><td>{status_bi(r["status"])}</td></tr>'
        for r in rows
    )
    head = f"<tr><th>{bi('规则', 'rule')}</th><th>{bi('现状', 'now')}</th><th>{bi('目标', 'target')}</th><th></th></tr>"  # fmt: skip
    return f"<details><summary>{bi(f'全部目标核对（{len(rows)} 项）', f'all targets checked ({len(rows)})')}</summary><table>{head}{body}</table></details>"  # fmt: skip


def _legend_rows(rows: Iterable[tuple[str, str]]) -> str:
    return "".join(f'<div><i style="background:{c}"></i>{label}</div>' for c, label in rows)


def legend_html(result: RunResult, layers: OutputLayers, visible: set[str]) -> str:
    """Colour keys of the area layers; each section shows while its layer is on."""
    minutes = f"{result.scenario.tier('village').minutes:g}"
    shares = [(c, esc(label)) for _, c, label in SHARE_COLOURS]
    shares.append((NO_DATA_COLOUR, bi("无老年人口", "no older residents")))
    iso = sorted(layers.isochrones["minutes"]) if not layers.isochrones.empty else []
    iso_rows = [(ISOCHRONE_COLOURS[i], bi(f"{v:g} 分钟内", f"within {v:g} min")) for i, v in enumerate(iso[:3])]  # fmt: skip
    grid = layers.uncovered
    labels = ["1–2", "3–5", "6–10", "11–20", "> 20"]
    grid_rows = [(c, f"{labels[i]} " + bi("人", "people")) for i, (_, c) in enumerate(GRID_CLASSES)]
    share_shown = grid.older_shown / grid.older_uncovered if grid.older_uncovered else 1.0
    note = bi(
        f"每格 {grid.cell_m:.0f} m；显示有老人（≥1人）的网格，占圈外老人的 {pct(share_shown)}",
        f"{grid.cell_m:.0f} m squares with at least one older resident: {pct(share_shown)} of those outside",
    )
    sections = [
        ("villages", bi(f"村（社区）{minutes}分钟覆盖率", "village coverage"), _legend_rows(shares), ""),
        ("grid", bi("圈外老年人（每格）", "older residents outside, per square"), _legend_rows(grid_rows), note),
        ("isochrones", bi("步行等时圈", "walking isochrones"), _legend_rows(iso_rows), ""),
    ]  # fmt: skip
    return legend_box(sections, visible)


def legend_box(sections: Iterable[tuple[str, str, str, str]], visible: set[str]) -> str:
    body = "".join(
        f'<section data-layer="{key}"{"" if key in visible else " hidden"}><h4>{title}</h4>{rows}'
        f"{f'<div class=cc-note>{note}</div>' if note else ''}</section>"
        for key, title, rows, note in sections
    )
    return f'<div class="cc-box cc-legend" id="cc-legend">{body}</div>'


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


# --- the comparison page ---------------------------------------------------------------------

# Change in a village's covered share, B minus A, in percentage points: (lowest, colour, label).
DELTA_CLASSES: tuple[tuple[float, str, str], ...] = (
    (10.0, "#1a9850", "≥ +10"),
    (1.0, "#a6d96a", "+1 – +10"),
    (-1.0, "#f7f7f7", "−1 – +1"),
    (-10.0, "#fdae61", "−10 – −1"),
    (-np.inf, "#d73027", "< −10"),
)


def delta_colour(delta_pp: float) -> str:
    if not np.isfinite(delta_pp):
        return NO_DATA_COLOUR
    return next(c for low, c, _ in DELTA_CLASSES if delta_pp >= low)


def comparison_map(c: Comparison) -> folium.Map:
    """Villages coloured by the change in coverage from A to B, with both runs' figures."""
    a, b = c.a, c.b
    title = f"{_short(a)} ↔ {_short(b)}"
    m = page_map(b.boundary, b.scenario.map, f"情景对比 / scenario comparison: {title}")
    _add_roads(m, b)
    _add_differences(m, c.villages, b.scenario.map.simplify_m)
    _add_townships(m, b, b.scenario.map.simplify_m)
    _add_facility_changes(m, a, b)
    rows = [(c, esc(label) + " pp") for _, c, label in DELTA_CLASSES]
    rows.append((NO_DATA_COLOUR, bi("仅一个情景有此村", "village in one run only")))
    legend = legend_box(
        [("diff", bi("覆盖率变化（B − A）", "change in coverage (B − A)"), _legend_rows(rows), "")],
        {"diff"},
    )
    finish_page(m, b.boundary, comparison_panel(c), legend)
    return m


def _short(r: RunResult) -> str:
    title = r.scenario.title or r.scenario.name
    return title.partition(" / ")[0]


def _add_differences(m: folium.Map, villages: gpd.GeoDataFrame, tol: float) -> None:
    v = villages[villages.geometry.notna()]
    tips = [
        f"<b>{esc(n)}</b> A {pct(x)} → B {pct(y)}" + (f" ({d:+.1f} pp)" if np.isfinite(d) else "")
        for n, x, y, d in zip(v["name"], v["share_a"], v["share_b"], v["delta_pp"], strict=True)
    ]
    frame = gpd.GeoDataFrame(
        {"colour": [delta_colour(d) for d in v["delta_pp"]], "tip": tips},
        geometry=v.geometry.to_numpy(),
        crs=v.crs,
    )
    folium.GeoJson(
        geojson(frame, ["colour", "tip"], tolerance_m=tol),
        name=layer_name(
            "diff",
            "村（社区）覆盖率变化",
            "change in village coverage",
            swatch=_swatch(DELTA_CLASSES[1][1], "cc-sq"),
        ),
        style_function=lambda f: {
            "fillColor": f["properties"]["colour"],
            "color": "#888888",
            "weight": 0.6,
            "fillOpacity": 0.75,
        },
        highlight_function=lambda f: {"weight": 2.5, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
        pane=_pane(m, "diff"),
    ).add_to(m)


def _add_facility_changes(m: folium.Map, a: RunResult, b: RunResult) -> None:
    """Facilities in one run and not the other (a plan's additions, say)."""
    ids_a, ids_b = set(a.facilities["id"]), set(b.facilities["id"])
    for key, rows, zh, en, colour in (
        ("added", b.facilities[~b.facilities["id"].isin(ids_a)], "B 新增设施", "facilities added in B", "#1a9850"),
        ("removed", a.facilities[~a.facilities["id"].isin(ids_b)], "B 中没有的设施", "facilities not in B", "#d73027"),
    ):  # fmt: skip
        if rows.empty:
            continue
        records = rows.drop(columns="geometry").to_dict("records")
        frame = gpd.GeoDataFrame(
            {
                "name": [esc(r["name"]) for r in records],
                "html": [_facility_popup(r, str(r.get("tier", "other"))) for r in records],
            },
            geometry=rows.geometry.to_numpy(),
            crs=rows.crs,
        ).to_crs(b.crs)
        marker = folium.CircleMarker(radius=7, color="#ffffff", weight=1.5, fill=True,
                                     fill_color=colour, fill_opacity=0.95)  # fmt: skip
        marker.options["pane"] = _pane(m, key)
        folium.GeoJson(
            geojson(frame, ["name", "html"], tolerance_m=0),
            name=layer_name(key, zh, en, swatch=_swatch(colour), n=len(rows)),
            marker=marker,
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
            popup=folium.GeoJsonPopup(fields=["html"], labels=False, max_width=360),
        ).add_to(m)


def _side_html(side: dict[str, Any]) -> str:
    target = f'<div class="cc-target">{bi("目标", "target")} <b>{esc(side["target"])}</b></div>' if side.get("target") else ""  # fmt: skip
    return f'<b class="cc-value">{esc(side["value"])}</b> {status_bi(side.get("status"))}{target}'


def comparison_panel(c: Comparison) -> str:
    """Both runs' figures in two columns, and the change."""
    figures = [f for f in c.figures if f["kind"] == "figure"]
    verdicts = [f for f in c.figures if f["kind"] == "verdict"]

    def row(f: dict[str, Any]) -> str:
        return (
            f'<tr class="cc-fig" data-figure="{esc(f["key"])}"><td>{bi(f["label_zh"], f["label_en"])}</td>'
            f'<td class="n" data-run="a">{_side_html(f["a"])}</td>'
            f'<td class="n" data-run="b">{_side_html(f["b"])}</td>'
            f'<td class="n cc-change">{esc(f["change"])}</td></tr>'
        )

    head = f"<tr><th></th><th>A</th><th>B</th><th>{bi('变化', 'change')}</th></tr>"
    names = (
        f'<div class="cc-small"><b>A</b> {panel_title(c.a.scenario.title or c.a.scenario.name)}<br>'
        f"<b>B</b> {panel_title(c.b.scenario.title or c.b.scenario.name)}</div>"
    )
    rules = "".join(row(f) for f in verdicts)
    details = (
        f"<details><summary>{bi(f'目标核对（{len(verdicts)} 项）', f'targets checked ({len(verdicts)})')}</summary>"
        f'<table class="cc-figs cc-cmp">{head}{rules}</table></details>'
        if verdicts
        else ""
    )
    return f"""
<div class="cc-box cc-panel cc-compare" id="cc-panel">
  <div class="cc-head"><div class="cc-title">{bi("情景对比", "Scenario comparison")}</div>{LANGUAGE_BUTTON}</div>
  {names}<table class="cc-figs cc-cmp">{head}{"".join(row(f) for f in figures)}</table>{details}
</div>"""
