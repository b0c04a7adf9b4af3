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

Names on the map come from files anyone may have edited, so nothing of the data is ever template
source. The page's own HTML (panel, legend, layer names, tooltips, popups) is rendered by the
macros of ``templates/map.html.j2`` through the one autoescaping Environment (``outputs/html.py``)
and reaches folium as data: GeoJSON properties and layer names, which folium writes as escaped
JSON. And every part of the page is rendered once: branca's ``Element(text)`` and
``MacroElement.render`` compile the text they are given as a Jinja2 template, so a facility named
``{{ 7*7 }}`` would print 49, and worse would run; :class:`_Markup`, :class:`_Once` and
:class:`_Page` output finished text as it is.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import branca.element
import folium
import folium.map
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.template import Template
from folium.utilities import JsCode
from markupsafe import Markup

from carecircle.outputs.figures import headlines, verdict_rows
from carecircle.outputs.html import macros
from carecircle.outputs.layers import OutputLayers, UncoveredGrid, output_layers
from carecircle.outputs.text import MODES, pct, tier_label
from carecircle.outputs.text import TIERS as TIER_TEXT
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
    **{
        f"tier-{tier}": (421 + i, True)
        for i, tier in enumerate(("village", "township", "regional"))
    },
    "townships": (430, True),
    "gaps": (440, True),
    **{f"fac-{tier}": (450 + i, True) for i, tier in enumerate(TIER_STYLE)},
    "diff": (410, True),
    "added": (470, True),
    "removed": (471, True),
}
CANVAS_PANES = ("roads", "isochrones")
# The tiers with a grid layer of their own on the map.
MAP_TIERS = ("village", "township", "regional")


def share_colour(share: float | None) -> str:
    if share is None or not np.isfinite(share):
        return NO_DATA_COLOUR
    for low, colour, _ in SHARE_COLOURS:
        if share >= low:
            return colour
    return SHARE_COLOURS[-1][1]


# --- the page ------------------------------------------------------------------------------------


def _html() -> Any:
    """The macros of ``templates/map.html.j2`` (each returns escaped Markup)."""
    return macros("map.html.j2")


class _Markup(branca.element.Element):
    """Finished markup, output as it is (``branca.element.Element(text)`` would compile it)."""

    _template = Template("{{ this.markup }}")

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.markup = str(markup)


class _Once(branca.element.MacroElement):
    """Mixed in after a folium class: its rendered macros join the page as :class:`_Markup`.

    branca's ``MacroElement.render`` puts each rendered macro on the page as ``Element(text)``,
    which compiles the text (a layer's script with its GeoJSON, names and all) as a second
    template. This is the same method, minus that second pass.
    """

    def render(self, **kwargs: Any) -> str:
        figure = self.get_root()
        assert isinstance(figure, branca.element.Figure), "render the map through its page"
        parts = self._template.module.__dict__
        for part in ("header", "html", "script"):
            macro = parts.get(part)
            if macro is not None:
                section = getattr(figure, part)
                section.add_child(_Markup(macro(self, kwargs)), name=self.get_name())
        for child in self._children.values():
            child.render(**kwargs)
        return ""  # its parts are on the page now; it has no text of its own


class _Section(branca.element.Element):
    """The head, body or script of a page: a plain ``Element(text)`` added here (folium adds a
    few of its own, always already rendered) is kept as :class:`_Markup`, never compiled again."""

    def add_child(
        self, child: branca.element.Element, name: str | None = None, index: int | None = None
    ) -> branca.element.Element:
        if type(child) is branca.element.Element and child._template_str is not None:
            child = _Markup(child._template_str)
        return super().add_child(child, name=name, index=index)


class _Page(branca.element.Figure):
    """The root of a map page, its three sections :class:`_Section` s."""

    def __init__(self) -> None:
        super().__init__()
        for part in ("header", "html", "script"):
            section = _Section()
            section._parent = self
            for name, child in getattr(self, part)._children.items():
                section.add_child(child, name=name)
            setattr(self, part, section)


class _OfflineMap(folium.Map, _Once):
    """A folium Map on a :class:`_Page` that links no CDN: Leaflet is inlined by
    :func:`_inline_assets`."""

    default_js = []  # noqa: RUF012 - folium's own class attribute, overridden the way folium does
    default_css = []  # noqa: RUF012

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _Page().add_child(self)


# The folium classes the maps use, each rendered once (see _Once).
class _FeatureGroup(folium.FeatureGroup, _Once):
    pass


class _TileLayer(folium.TileLayer, _Once):
    pass


class _Pane(folium.map.CustomPane, _Once):
    pass


class _GeoJson(folium.GeoJson, _Once):
    pass


class _Tooltip(folium.GeoJsonTooltip, _Once):
    pass


class _Popup(folium.GeoJsonPopup, _Once):
    pass


class _LayerControl(folium.LayerControl, _Once):
    pass


class _Script(_Once):
    """JavaScript run after the map and its layers exist (added as the map's last child)."""

    _template = Template("{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}")

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = str(code)


class _GaodeLayer(folium.map.Layer, _Once):
    """The Gaode basemap, drawn shifted from GCJ-02 by ``carecircle.gaodeLayer`` (map.js)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        var {{ this.get_name() }} = carecircle.gaodeLayer({{ this.options|tojavascript }});
        {% endmacro %}"""
    )

    def __init__(self, name: str, *, show: bool) -> None:
        super().__init__(name=name, overlay=False, show=show)
        self.options = {"attribution": "© 高德地图 AutoNavi"}


def _js_call(function: str, *args: Any) -> JsCode:
    """``function(args...)``: ``function`` is ours, each argument written by ``script_json``."""
    return JsCode(str(_html().js_call(function, list(args))))


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


def _root(m: folium.Map) -> branca.element.Figure:
    root = m.get_root()
    assert isinstance(root, branca.element.Figure)
    return root


def _inline_assets(m: folium.Map, title: str) -> None:
    leaflet_js, leaflet_css = _leaflet_assets()
    own_js, own_css = _own_assets()
    html = _html()
    header = _root(m).header
    header.add_child(_Markup(html.title(title)), name="cc_title")
    header.add_child(_Markup(html.style(leaflet_css)), name="leaflet_css")
    header.add_child(_Markup(html.script(leaflet_js)), name="leaflet_js")
    header.add_child(_Markup(html.style(own_css)), name="carecircle_css")
    header.add_child(_Markup(html.script(own_js)), name="carecircle_js")


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
    html = _html()
    _FeatureGroup(
        name=str(html.base_name("无底图（离线）", "No basemap (offline)")),
        overlay=False,
        show=chosen == "none",
    ).add_to(m)
    _TileLayer(
        "OpenStreetMap",
        name=str(html.plain_base_name("OpenStreetMap")),
        show=chosen == "osm",
        max_zoom=19,
    ).add_to(m)
    key = options.key()
    if key:
        for kind, labels in (("tianditu", ("vec", "cva")), ("tianditu_img", ("img", "cia"))):
            zh, en = (
                ("天地图 矢量", "Tianditu map")
                if kind == "tianditu"
                else ("天地图 影像", "Tianditu imagery")
            )
            group = _FeatureGroup(
                name=str(html.base_name(zh, en, online=True)), overlay=False, show=chosen == kind
            )
            for layer in labels:
                _TileLayer(
                    tiles=_tianditu_url(layer, key),
                    attr="© 天地图 Tianditu",
                    subdomains="01234567",
                    max_zoom=18,
                ).add_to(group)
            group.add_to(m)
    _GaodeLayer(
        str(html.base_name("高德地图", "Gaode (Amap)", online=True)), show=chosen == "gaode"
    ).add_to(m)


def _tianditu_url(layer: str, key: str) -> str:
    # The key comes from the scenario or the environment: one URL component, nothing else
    # (Leaflet would read "{...}" in it as a placeholder of the tile URL).
    key = quote(key, safe="")
    return (
        f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        f"&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}"
        f"&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
    )


def _pane(m: folium.Map, key: str, z_index: int | None = None) -> str:
    """Create the pane ``cc-<key>`` (z-index from :data:`PANES` unless given) and name it."""
    z, pointer = PANES[key] if z_index is None else (z_index, True)
    name = f"cc-{key}"
    _Pane(name, z_index=z, pointer_events=pointer).add_to(m)
    return name


def layer_name(
    key: str, zh: str, en: str, *, swatch: Markup | str = "", n: int | None = None
) -> str:
    """A layer control label: swatch (markup of :func:`_swatch`), name in both languages, count;
    tagged with its key."""
    return str(_html().layer_name(key, zh, en, swatch=swatch, n=n))


def _swatch(colour: str, shape: str = "") -> Markup:
    return Markup(_html().swatch(colour, shape))


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
        _add_grid(m, layers.uncovered, float(result.summary["village_circle"]["minutes"])),
        *_add_tier_grids(m, result, layers),
        _add_townships(m, result, tol),
        _add_gaps(m, layers.gaps, tol),
        *_add_facilities(m, result),
        *_add_sites(m, layers.sites),
    ]
    visible = {layer.key for layer in shown if layer is not None and layer.show}
    finish_page(m, result.boundary, panel_html(result), legend_html(result, layers, visible))
    return m


def finish_page(m: folium.Map, boundary: gpd.GeoDataFrame, panel: str, legend: str) -> None:
    """Layer control, panel and legend (finished HTML), then the wiring script (language, legend
    sync), which frames ``boundary`` clear of the panel and the layer list."""
    _LayerControl(collapsed=False, position="topright").add_to(m)
    _root(m).html.add_child(_Markup(panel + legend), name="cc_panel")
    _Script(_html().init(m.get_name(), _bounds(boundary))).add_to(m)


def _add_roads(m: folium.Map, result: RunResult) -> _Layer | None:
    if result.roads.empty:
        return None
    pane = _pane(m, "roads")
    roads = _merged_roads(result.roads)
    _GeoJson(
        geojson(roads, ["major"], tolerance_m=5),
        name=layer_name("roads", "主要道路", "main roads", swatch=_swatch("#9a9a9a", "cc-sq")),
        style_function=lambda f: {
            "color": "#8c8c8c" if f["properties"]["major"] else "#a8a8a8",
            "weight": 1.6 if f["properties"]["major"] else 1.0,
        },
        interactive=False,
        pane=pane,
        renderer=_js_call("L.canvas", {"pane": pane}),
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
    _GeoJson(
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
        renderer=_js_call("L.canvas", {"pane": pane}),
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
    minutes = f"{result.summary['village_circle']['minutes']:g}"
    html = _html()
    frame = gpd.GeoDataFrame(
        {
            "colour": [share_colour(s) for s in v["share"]],
            "tip": [str(html.tip(n, pct(s))) for n, s in zip(v["name"], v["share"], strict=True)],
            "html": [
                _village_popup(row, towns, village_gaps, minutes)
                for row in v.drop(columns="geometry").to_dict("records")
            ],
        },
        geometry=v.geometry.to_numpy(),
        crs=v.crs,
    )
    _GeoJson(
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
        tooltip=_Tooltip(fields=["tip"], labels=False),
        popup=_Popup(fields=["html"], labels=False, max_width=440),
        pane=_pane(m, "villages"),
    ).add_to(m)
    return _Layer("villages", True)


def _village_popup(
    row: dict[str, Any], towns: dict[str, str], gaps: pd.DataFrame, minutes: str
) -> str:
    band = [k for k in row if k.startswith("share_") and k.endswith("mps")]
    band_text = " – ".join(pct(row[k]) for k in sorted(band, key=lambda k: float(k[6:-3])))
    township = towns.get(str(row.get("township")), "")
    return str(
        _html().village_popup(row, township, minutes, band_text, _gap_reasons(gaps, row["id"]))
    )


def _gap_reasons(gaps: pd.DataFrame, object_id: Any) -> list[tuple[str, str]]:
    """The gap lines of one village, (Chinese, English) each; none when it has no gap."""
    if object_id not in gaps.index:
        return []
    g = gaps.loc[object_id]
    if isinstance(g, pd.DataFrame):
        g = g.iloc[0]
    return _reason_pairs(g)


def _reason_pairs(gap: Any) -> list[tuple[str, str]]:
    zh, en = str(gap["reasons_zh"]).split("\n"), str(gap["reasons_en"]).split("\n")
    return list(zip(zh, en, strict=True))


def grid_class(older: float) -> int:
    """Index of a cell's colour class in :data:`GRID_CLASSES`."""
    lows = np.array([low for low, _ in GRID_CLASSES])
    return int(np.searchsorted(lows, older, side="right") - 1)


def _grid_geojson(grid: UncoveredGrid) -> dict[str, Any]:
    """A grid's squares with the older residents (``n``), minutes (``m``) and colour class (``c``)."""
    cells = grid.cells
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
    return data


def _add_grid(m: folium.Map, grid: UncoveredGrid, circle_minutes: float) -> _Layer | None:
    """The uncovered squares, labelled with the circle rule's minutes and the people they hold."""
    if grid.cells.empty:
        return None
    _GeoJson(
        _grid_geojson(grid),
        name=layer_name(
            "grid",
            f"{circle_minutes:g}分钟圈外的老年人（{grid.older_shown:,.0f} 人）",
            f"older residents outside the {circle_minutes:g}-minute circle ({grid.older_shown:,.0f})",
            swatch=_swatch(GRID_CLASSES[3][1], "cc-sq"),
        ),
        on_each_feature=_js_call(
            "carecircle.cellTooltip",
            int(circle_minutes) if float(circle_minutes).is_integer() else circle_minutes,
        ),
        pane=_pane(m, "grid"),
        style=_js_call("carecircle.gridStyle", [c for _, c in GRID_CLASSES]),
    ).add_to(m)
    return _Layer("grid", True)


def _add_tier_grids(m: folium.Map, result: RunResult, layers: OutputLayers) -> list[_Layer]:
    """Older residents beyond each tier's own reach (its mode and minutes), one layer per tier,
    off until switched on, on coarser squares than the circle's (``TIER_MAX_CELLS``) so that a
    county's page stays light; the legend shares the circle grid's colours."""
    out = []
    for name, grid in layers.tiers.items():
        tier = result.summary["tiers"][name]
        if grid.cells.empty or name not in MAP_TIERS:
            continue
        zh, en = tier_label(name, tier["mode"], float(tier["minutes"]))
        mode_zh, mode_en = MODES.get(tier["mode"], (tier["mode"], tier["mode"]))
        key = f"tier-{name}"
        _GeoJson(
            _grid_geojson(grid),
            name=layer_name(
                key,
                f"{zh}可达范围外的老年人（{grid.older_shown:,.0f} 人）",
                f"older residents beyond {en} ({grid.older_shown:,.0f})",
                swatch=_swatch(GRID_CLASSES[3][1], "cc-sq"),
            ),
            on_each_feature=_js_call(
                "carecircle.tierTooltip",
                float(tier["minutes"]),
                [mode_zh, mode_en],
                list(TIER_TEXT.get(name, (name, name))),
            ),
            pane=_pane(m, key),
            style=_js_call("carecircle.gridStyle", [c for _, c in GRID_CLASSES]),
            show=False,
        ).add_to(m)
        out.append(_Layer(key, False))
    return out


def _add_townships(m: folium.Map, result: RunResult, tol: float) -> _Layer | None:
    t = result.townships
    if t.empty:
        return None
    tip = _html().tip
    frame = gpd.GeoDataFrame(
        {"tip": [str(tip(n, pct(s))) for n, s in zip(t["name"], t["share"], strict=True)]},
        geometry=t.geometry.to_numpy(),
        crs=t.crs,
    )
    _GeoJson(
        geojson(frame, ["tip"], tolerance_m=tol),
        name=layer_name(
            "townships",
            "乡镇（街道）界",
            "township boundaries",
            swatch=_swatch("", "cc-line"),
        ),
        style_function=lambda f: {
            "fill": False,
            "color": "#252525",
            "weight": 2,
            "dashArray": "6 4",
        },
        tooltip=_Tooltip(fields=["tip"], labels=False, sticky=True),
        pane=_pane(m, "townships"),
    ).add_to(m)
    return _Layer("townships", True)


_GAP_SCOPES = {
    "village": ("村（社区）", "village"),
    "township": ("乡镇（街道）", "township"),
    "facility": ("设施", "facility"),
}


def _gap_html(row: dict[str, Any]) -> str:
    scope = _GAP_SCOPES.get(row["scope"], (row["scope"], row["scope"]))
    return str(_html().gap_popup(row, *scope, _reason_pairs(row)))


def _tip_and_popup(max_width: int = 440) -> dict[str, Any]:
    """A hover tooltip from ``tip`` and a click popup from ``html`` (both prepared HTML)."""
    return {
        "tooltip": _Tooltip(fields=["tip"], labels=False),
        "popup": _Popup(fields=["html"], labels=False, max_width=max_width),
    }


def _add_gaps(m: folium.Map, gaps: gpd.GeoDataFrame, tol: float) -> _Layer | None:
    pane = _pane(m, "gaps")
    html = _html()
    frame = gaps.assign(
        html=[_gap_html(r) for r in gaps.drop(columns="geometry").to_dict("records")],
        tip=[str(html.gap_tip(n, k)) for n, k in zip(gaps["name"], gaps["gaps"], strict=True)],
    )
    ring = f"background:#fff;box-shadow:0 0 0 2px {GAP_COLOUR}"
    group = _FeatureGroup(
        name=layer_name(
            "gaps",
            "缺口（原因与依据）",
            "gaps, with reason and clause",
            swatch=html.swatch(style=ring),
            n=len(gaps),
        ),
        show=True,
    )
    areas = frame[frame["scope"] != "facility"]
    if not areas.empty:
        _GeoJson(
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
        _GeoJson(
            geojson(points, ["scope", "tip", "html"], tolerance_m=0),
            marker=marker,
            **_tip_and_popup(),
        ).add_to(group)
    group.add_to(m)
    return _Layer("gaps", True)


def _facility_popup(row: dict[str, Any], tier: str) -> str:
    colour, zh, en, _ = TIER_STYLE[tier]
    return str(_html().facility_popup(row, colour, zh, en))


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
                "name": [str(_html().text(r["name"])) for r in records],
                "html": [_facility_popup(r, tier) for r in records],
            },
            geometry=rows.geometry.to_numpy(),
            crs=rows.crs,
        )
        marker = folium.CircleMarker(
            radius=radius,
            color="#ffffff",
            weight=1.2,
            fill=True,
            fill_color=colour,
            fill_opacity=0.95,
        )
        marker.options["pane"] = _pane(m, key)
        _GeoJson(
            geojson(frame, ["name", "html"], tolerance_m=0),
            name=layer_name(key, zh, en, swatch=_swatch(colour), n=len(rows)),
            marker=marker,
            tooltip=_Tooltip(fields=["name"], labels=False),
            popup=_Popup(fields=["html"], labels=False, max_width=360),
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
    return str(_html().site_popup(row, *how))


def _site_tip(row: dict[str, Any]) -> str:
    return str(_html().site_tip(row.get("name") or row.get("id"), row.get("beds")))


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
            html=str(_html().site_icon(colour, glyph)),
            icon_size=(22, 22),
            icon_anchor=(11, 28),
            class_name="cc-site",
        )
        marker = folium.Marker(icon=icon)
        marker.options["pane"] = _pane(m, key, z_index=620 + i)
        _GeoJson(
            geojson(frame, ["tip", "html"], tolerance_m=0),
            name=layer_name(key, zh, en, swatch=_swatch(colour), n=len(rows)),
            marker=marker,
            **_tip_and_popup(400),
        ).add_to(m)
        out.append(_Layer(key, True))
    return out


# --- panel and legend ----------------------------------------------------------------------------


def panel_title(title: str) -> str:
    """A scenario title written "中文 / English" shows one half per language."""
    return str(_html().panel_title(title))


def panel_html(result: RunResult) -> str:
    """The headline panel: title, language button, figures against targets, every verdict."""
    main, *others = headlines(result)
    band = result.summary["village_circle"].get("share_by_walk_speed", {})
    title = result.scenario.title or result.scenario.name
    quality = result.summary.get("data_quality", {})
    return str(_html().panel(title, main, others, band, verdict_rows(result.summary), quality))


def legend_html(result: RunResult, layers: OutputLayers, visible: set[str]) -> str:
    """Colour keys of the area layers; each section shows while its layer is on."""
    html = _html()
    bi = html.bi
    minutes = f"{result.summary['village_circle']['minutes']:g}"
    shares: list[tuple[str, Any]] = [(c, label) for _, c, label in SHARE_COLOURS]
    shares.append((NO_DATA_COLOUR, bi("无老年人口", "no older residents")))
    iso = sorted(layers.isochrones["minutes"]) if not layers.isochrones.empty else []
    iso_rows = [
        (ISOCHRONE_COLOURS[i], bi(f"{v:g} 分钟内", f"within {v:g} min"))
        for i, v in enumerate(iso[:3])
    ]
    grid = layers.uncovered
    labels = ["1–2", "3–5", "6–10", "11–20", "> 20"]
    grid_rows = [(c, f"{labels[i]} " + bi("人", "people")) for i, (_, c) in enumerate(GRID_CLASSES)]
    share_shown = grid.older_shown / grid.older_uncovered if grid.older_uncovered else 1.0
    note = bi(
        f"每格 {grid.cell_m:.0f} m；显示有老人（≥1人）的网格，占圈外老人的 {pct(share_shown)}",
        f"{grid.cell_m:.0f} m squares with at least one older resident: {pct(share_shown)} of those outside",
    )
    sections = [
        ("villages", bi(f"村（社区）{minutes}分钟覆盖率", "village coverage"), shares, ""),
        ("grid", bi("圈外老年人（每格）", "older residents outside, per square"), grid_rows, note),
        ("isochrones", bi("步行等时圈", "walking isochrones"), iso_rows, ""),
    ]
    for name in [t for t in layers.tiers if t in MAP_TIERS and not layers.tiers[t].cells.empty]:
        tier = result.summary["tiers"][name]
        zh, en = tier_label(name, tier["mode"], float(tier["minutes"]))
        sections.append(
            (
                f"tier-{name}",
                bi(f"{zh}可达范围外（每格）", f"beyond {en}, per square"),
                grid_rows,
                "",
            )
        )
    return legend_box(sections, visible)


def legend_box(sections: Iterable[tuple[str, Any, Any, Any]], visible: set[str]) -> str:
    """The legend: (layer key, heading, rows of (colour, label), note) per section; headings,
    labels and notes are text or the macros' Markup."""
    return str(_html().legend(list(sections), visible))


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


def comparison_map(
    a: RunResult, b: RunResult, villages: gpd.GeoDataFrame, figures: list[dict[str, Any]]
) -> folium.Map:
    """Villages coloured by the change in coverage from A to B (``villages``: ``name``,
    ``share_a``, ``share_b``, ``delta_pp``), with both runs' figures (rows of kind ``figure`` or
    ``verdict``)."""
    title = f"{_short(a)} ↔ {_short(b)}"
    m = page_map(b.boundary, b.scenario.map, f"情景对比 / scenario comparison: {title}")
    _add_roads(m, b)
    _add_differences(m, villages, b.scenario.map.simplify_m)
    _add_townships(m, b, b.scenario.map.simplify_m)
    _add_facility_changes(m, a, b)
    bi = _html().bi
    rows: list[tuple[str, Any]] = [(c, label + " pp") for _, c, label in DELTA_CLASSES]
    rows.append((NO_DATA_COLOUR, bi("仅一个情景有此村", "village in one run only")))
    legend = legend_box(
        [("diff", bi("覆盖率变化（B − A）", "change in coverage (B − A)"), rows, "")], {"diff"}
    )
    finish_page(m, b.boundary, comparison_panel(a, b, figures), legend)
    return m


def _short(r: RunResult) -> str:
    title = r.scenario.title or r.scenario.name
    return title.partition(" / ")[0]


def _add_differences(m: folium.Map, villages: gpd.GeoDataFrame, tol: float) -> None:
    v = villages[villages.geometry.notna()]
    tip = _html().change_tip
    tips = [
        str(tip(n, x, y, float(d)))
        for n, x, y, d in zip(v["name"], v["share_a"], v["share_b"], v["delta_pp"], strict=True)
    ]
    frame = gpd.GeoDataFrame(
        {"colour": [delta_colour(d) for d in v["delta_pp"]], "tip": tips},
        geometry=v.geometry.to_numpy(),
        crs=v.crs,
    )
    _GeoJson(
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
        tooltip=_Tooltip(fields=["tip"], labels=False),
        pane=_pane(m, "diff"),
    ).add_to(m)


def _add_facility_changes(m: folium.Map, a: RunResult, b: RunResult) -> None:
    """Facilities in one run and not the other (a plan's additions, say)."""
    ids_a, ids_b = set(a.facilities["id"]), set(b.facilities["id"])
    for key, rows, zh, en, colour in (
        (
            "added",
            b.facilities[~b.facilities["id"].isin(ids_a)],
            "B 新增设施",
            "facilities added in B",
            "#1a9850",
        ),
        (
            "removed",
            a.facilities[~a.facilities["id"].isin(ids_b)],
            "B 中没有的设施",
            "facilities not in B",
            "#d73027",
        ),
    ):
        if rows.empty:
            continue
        records = rows.drop(columns="geometry").to_dict("records")
        frame = gpd.GeoDataFrame(
            {
                "name": [str(_html().text(r["name"])) for r in records],
                "html": [_facility_popup(r, str(r.get("tier", "other"))) for r in records],
            },
            geometry=rows.geometry.to_numpy(),
            crs=rows.crs,
        ).to_crs(b.crs)
        marker = folium.CircleMarker(
            radius=7, color="#ffffff", weight=1.5, fill=True, fill_color=colour, fill_opacity=0.95
        )
        marker.options["pane"] = _pane(m, key)
        _GeoJson(
            geojson(frame, ["name", "html"], tolerance_m=0),
            name=layer_name(key, zh, en, swatch=_swatch(colour), n=len(rows)),
            marker=marker,
            tooltip=_Tooltip(fields=["name"], labels=False),
            popup=_Popup(fields=["html"], labels=False, max_width=360),
        ).add_to(m)


def comparison_panel(a: RunResult, b: RunResult, rows: list[dict[str, Any]]) -> str:
    """Both runs' figures in two columns, and the change."""
    figures = [f for f in rows if f["kind"] == "figure"]
    verdicts = [f for f in rows if f["kind"] == "verdict"]
    title_a, title_b = (r.scenario.title or r.scenario.name for r in (a, b))
    return str(_html().comparison_panel(title_a, title_b, figures, verdicts))
