"""OpenStreetMap for a kit, through osmnx: the boundary (Nominatim), the roads and the draft
layers (Overpass), or the same from a local OSM XML or PBF file.

- **Boundary**: ``ox.geocode_to_gdf`` (Nominatim's ``/search`` with ``polygon_geojson``).
- **Roads**: every ``highway`` way of the area and its buffer, unsimplified, as osmnx's
  ``network_type="all"`` downloads them (or read from the file and clipped); written as GraphML,
  which ``carecircle run`` reads without the network.
- **Draft layers** (one Overpass query of :data:`FEATURE_TAGS`, filtered here):

  - townships: ``admin_level=8`` relations that osmnx can close, clipped to the area; the
    part of the area no township covers becomes one more township, named so;
  - villages: named ``place=village|hamlet|town|quarter|neighbourhood`` points (the run draws
    their territories, Voronoi inside each township, and flags them approximate); a
    ``place=town`` node that is a township's own label is left out;
  - facilities: ``amenity=nursing_home|social_facility|community_centre`` and
    ``social_facility=*`` for older people, typed in carecircle's register wording
    (:func:`facility_type`); community centres are listed but typed to be ignored until checked;
  - candidates: idle-asset proxies, schools, clinics, townhalls, government and village offices.

OSM's admin boundaries and POIs in China are incomplete and unofficial: every layer from here is
a draft (or approximate) in the kit's record, to be replaced by the bureau's own.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import shapely
from osmnx._errors import InsufficientResponseError
from shapely.geometry.base import BaseGeometry

from carecircle.errors import DataError, excerpt

__all__ = [
    "FEATURE_TAGS",
    "OSM_LICENCE",
    "candidates_from",
    "download_features",
    "facilities_from",
    "facility_type",
    "features_from_file",
    "geocode_boundary",
    "roads_graph",
    "save_roads",
    "townships_from",
    "villages_from",
]

log = logging.getLogger(__name__)

OSM_LICENCE = "ODbL 1.0 (© OpenStreetMap contributors, openstreetmap.org/copyright)"
VILLAGE_PLACES = ("village", "hamlet", "town", "quarter", "neighbourhood")
FACILITY_AMENITIES = ("nursing_home", "social_facility", "community_centre")
CANDIDATE_AMENITIES = ("school", "clinic", "doctors", "townhall")
FEATURE_TAGS: dict[str, bool | str | list[str]] = {
    "admin_level": "8",
    "place": list(VILLAGE_PLACES),
    "amenity": [*FACILITY_AMENITIES, *CANDIDATE_AMENITIES],
    "social_facility": True,
    "office": ["government"],
}
_XML_SUFFIXES = (".osm", ".xml", ".osm.gz", ".osm.bz2", ".xml.gz", ".xml.bz2")
COMMUNITY_CENTRE = "社区中心（待核实）"
OLDER = {"senior", "seniors", "elderly", "aged", "老年人"}


# --- boundary ------------------------------------------------------------------------------------


def geocode_boundary(query: str) -> tuple[BaseGeometry, dict[str, Any]]:
    """The (Multi)Polygon Nominatim gives for ``query`` (EPSG:4326) and what it says of it."""
    url = ox.settings.nominatim_url
    try:
        gdf = ox.geocode_to_gdf(query)
    except InsufficientResponseError:
        raise DataError(
            f"{query!r}: Nominatim 未找到该地名 / Nominatim ({url}) found nothing for this name; "
            "check the spelling, add the city and province ('乐清市, 温州市, 浙江省'), or give "
            "the outline with --boundary FILE"
        ) from None
    except TypeError:
        raise DataError(
            f"{query!r}: Nominatim 无边界面 / Nominatim ({url}) has no boundary polygon for this "
            "name (only a point); give the outline with --boundary FILE"
        ) from None
    except Exception as exc:  # requests' connection errors, HTTP errors, malformed answers
        raise DataError(
            f"{query!r}: 无法访问 Nominatim / cannot geocode at {url} ({type(exc).__name__}: "
            f"{excerpt(str(exc), 100)}); check the connection or --nominatim-url, or give "
            "--boundary FILE"
        ) from None
    geometry = shapely.make_valid(gdf.geometry.iloc[0])
    if geometry.geom_type not in ("Polygon", "MultiPolygon") or geometry.is_empty:
        raise DataError(
            f"{query!r}: Nominatim 边界无效 / Nominatim's boundary is a {geometry.geom_type}, "
            "not a polygon; give --boundary FILE"
        )
    row = gdf.iloc[0]
    info = {
        key: (row[key].item() if hasattr(row[key], "item") else row[key])
        for key in ("osm_type", "osm_id", "display_name", "name", "class", "type")
        if key in gdf.columns and pd.notna(row[key])
    }
    return geometry, info


# --- roads ---------------------------------------------------------------------------------------


def roads_graph(area: BaseGeometry, *, osm_file: Path | None = None) -> nx.MultiDiGraph:
    """Every road of ``area`` (EPSG:4326, the boundary and its buffer), downloaded through
    osmnx (its current settings) or read from ``osm_file`` and clipped; non-road ways dropped."""
    where = str(osm_file) if osm_file is not None else f"Overpass {ox.settings.overpass_url}"
    try:
        if osm_file is None:
            G = ox.graph_from_polygon(
                area, network_type="all", simplify=False, retain_all=True, truncate_by_edge=True
            )
        elif _is_pbf(osm_file):
            G = _pbf_graph(osm_file, area)
        else:
            with warnings.catch_warnings():
                warnings.filterwarnings(
                    "ignore", message=".*generated by OSMnx", category=UserWarning
                )
                G = ox.graph_from_xml(
                    osm_file, simplify=False, retain_all=True, bidirectional=False
                )
            G = ox.truncate.truncate_graph_polygon(G, area, truncate_by_edge=True)
    except DataError:
        raise
    except InsufficientResponseError:
        G = nx.MultiDiGraph(crs="epsg:4326")
    except ValueError as exc:  # truncate_graph_polygon: nothing inside
        if "no graph nodes" not in str(exc).lower():
            raise DataError(f"{where}: 无法读取路网 / cannot read the roads ({exc})") from None
        G = nx.MultiDiGraph(crs="epsg:4326")
    except Exception as exc:  # connection, HTTP and parser errors of osmnx and requests
        raise DataError(
            f"{where}: 路网下载失败 / getting the roads failed ({type(exc).__name__}: "
            f"{excerpt(str(exc), 100)}); check the connection or --overpass-url, or give --osm FILE"
        ) from None
    drop = [
        (u, v, k)
        for u, v, k, data in G.edges(keys=True, data=True)
        if "highway" not in data or data.get("area") == "yes"
    ]
    G.remove_edges_from(drop)
    G.remove_nodes_from([n for n, degree in G.degree() if degree == 0])
    if G.number_of_edges() == 0:
        raise DataError(
            f"{where}: 研究区内没有道路 / OSM has no road inside the area and its buffer; give "
            "an OSM file that covers it (--osm FILE)"
        )
    return G


def save_roads(G: nx.MultiDiGraph, path: Path) -> int:
    """Write the graph as GraphML; the number of road segments (edges) written. The graph's
    creation time is left out, so the same roads give the same file."""
    G.graph.pop("created_date", None)
    ox.save_graphml(G, path)
    return int(G.number_of_edges())


def _is_pbf(path: Path) -> bool:
    return path.name.lower().endswith(".pbf")


def check_osm_file(path: Path) -> None:
    """A local OSM file as ``run`` takes one: a regular data file within the default input
    limits (decompressed size, node count, no DTD; a PBF's declared blob sizes), checked by
    streaming before any parser sees it."""
    if not path.is_file():
        raise DataError(f"--osm {path}: 文件不存在 / file not found; check the path")
    name = path.name.lower()
    if not (name.endswith(_XML_SUFFIXES) or _is_pbf(path)):
        raise DataError(
            f"--osm {path}: 不支持的格式 / unsupported file; give OSM XML "
            f"({', '.join(_XML_SUFFIXES)}) or PBF (.osm.pbf)"
        )
    from carecircle import guard
    from carecircle.scenario import InputLimits

    limits = InputLimits()
    guard.data_file(path, "OSM 文件 / OSM file")
    if _is_pbf(path):
        guard.check_pbf(path, unzipped_mb=limits.osm_unzipped_mb)
    else:
        guard.check_osm_xml(path, unzipped_mb=limits.osm_unzipped_mb, nodes=limits.osm_nodes)


def _pyrosm(path: Path, area: BaseGeometry) -> Any:
    import pyrosm  # slow to import; only PBF files need it

    return pyrosm.OSM(str(path), bounding_box=area)


def _pbf_graph(path: Path, area: BaseGeometry) -> nx.MultiDiGraph:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyrosm warns instead of returning nothing
        osm = _pyrosm(path, area)
        found = osm.get_network(network_type="all", nodes=True)
        if found is None or found[1] is None or len(found[1]) == 0:
            return nx.MultiDiGraph(crs="epsg:4326")
        nodes, edges = found
        G = osm.to_graph(
            nodes, edges, graph_type="networkx", retain_all=True, osmnx_compatible=True
        )
    return ox.truncate.truncate_graph_polygon(G, area, truncate_by_edge=True)


# --- features ------------------------------------------------------------------------------------


def download_features(area: BaseGeometry) -> gpd.GeoDataFrame:
    """The OSM elements of :data:`FEATURE_TAGS` inside ``area``, one Overpass query (osmnx)."""
    try:
        gdf = ox.features_from_polygon(area, tags=FEATURE_TAGS)
    except InsufficientResponseError:
        return _empty_features()
    except Exception as exc:  # connection and HTTP errors
        raise DataError(
            f"Overpass {ox.settings.overpass_url}: 下载失败 / downloading the admin, place and "
            f"facility features failed ({type(exc).__name__}: {excerpt(str(exc), 100)}); check "
            "the connection or --overpass-url, or give --osm FILE"
        ) from None
    return _normalised(gdf)


def features_from_file(path: Path, area: BaseGeometry) -> gpd.GeoDataFrame:
    """The same elements read from a local OSM XML or PBF file."""
    try:
        if _is_pbf(path):
            return _pbf_features(path, area)
        gdf = ox.features_from_xml(path, polygon=area, tags=FEATURE_TAGS)
    except InsufficientResponseError:
        return _empty_features()
    except Exception as exc:  # a broken file surfaces as a parser error of any kind
        raise DataError(
            f"{path}: 无法读取OSM要素 / cannot read the OSM features ({type(exc).__name__}: "
            f"{excerpt(str(exc), 100)}); check the file"
        ) from None
    return _normalised(gdf)


def _empty_features() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"element": pd.Series(dtype=str), "osmid": pd.Series(dtype="int64")},
        geometry=gpd.GeoSeries([], crs="EPSG:4326"),
    )


def _normalised(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Columns ``element`` (node/way/relation), ``osmid``, the tags, geometry in EPSG:4326."""
    frame = gdf.reset_index()
    frame = frame.rename(columns={"id": "osmid"})
    frame = gpd.GeoDataFrame(frame, geometry="geometry", crs=gdf.crs or "EPSG:4326")
    return frame.to_crs("EPSG:4326")


def _pbf_features(path: Path, area: BaseGeometry) -> gpd.GeoDataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        osm = _pyrosm(path, area)
        parts = []
        custom = {
            k: (True if v is True else ([v] if isinstance(v, str) else v))
            for k, v in FEATURE_TAGS.items()
            if k != "admin_level"
        }
        pois = osm.get_data_by_custom_criteria(
            custom_filter=custom, keep_nodes=True, keep_ways=True, keep_relations=True
        )
        if pois is not None and len(pois):
            parts.append(pois)
        admin = osm.get_boundaries(boundary_type="administrative")
        if admin is not None and len(admin):
            parts.append(admin[admin.get("admin_level", pd.Series(dtype=str)).astype(str) == "8"])
    if not parts:
        return _empty_features()
    frame = pd.concat(parts, ignore_index=True)
    frame = frame.rename(columns={"osm_type": "element", "id": "osmid"})
    if "tags" in frame.columns:  # pyrosm keeps the rarer tags as JSON text
        extra = frame["tags"].map(_tag_dict)
        for key in ("social_facility", "social_facility:for", "townhall:type", "government"):
            if key not in frame.columns:
                frame[key] = extra.map(lambda d, k=key: d.get(k))
    gdf = gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")
    return gdf[gdf.intersects(area)].reset_index(drop=True)


def _tag_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _col(frame: pd.DataFrame, key: str) -> pd.Series:
    if key in frame.columns:
        return frame[key].astype(object).where(frame[key].notna(), None)
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip()


def _osm_ref(element: str, osmid: Any) -> str:
    return f"{str(element)[:1]}{int(osmid)}"


def _metric(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> Any:
    return gdf.estimate_utm_crs()


def townships_from(
    features: gpd.GeoDataFrame, boundary: BaseGeometry, *, area_name: str, rest: bool = True
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Township polygons (``id``, ``name``, ``kind``, ``osm_id``) clipped to ``boundary``,
    without overlaps; the part no township covers (over 1 % of the area) is one more, named so.
    Also what was kept and dropped."""
    area = gpd.GeoSeries([boundary], crs="EPSG:4326")
    crs = _metric(area)
    outline = area.to_crs(crs).iloc[0]
    level = _col(features, "admin_level").map(_text)
    polygonal = features.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    candidates = features[(level == "8").to_numpy() & polygonal.to_numpy()]
    rows: list[dict[str, Any]] = []
    taken = shapely.Polygon()
    dropped = []
    metric = candidates.geometry.to_crs(crs) if len(candidates) else gpd.GeoSeries([], crs=crs)
    for (_, feat), geom in zip(candidates.iterrows(), metric, strict=True):
        geom = shapely.make_valid(geom)
        clipped = shapely.difference(shapely.intersection(geom, outline), taken)
        name = _text(feat.get("name")) or f"乡镇 {feat['osmid']}"
        if clipped.area < 0.5 * geom.area and clipped.area < 0.02 * outline.area:
            dropped.append(name)
            continue
        taken = shapely.union(taken, clipped)
        rows.append(
            {
                "id": f"osm-{_osm_ref(feat['element'], feat['osmid'])}",
                "name": name,
                "kind": _kind(name),
                "osm_id": _osm_ref(feat["element"], feat["osmid"]),
                "geometry": clipped,
            }
        )
    uncovered = shapely.difference(outline, taken)
    rest_share = uncovered.area / outline.area if outline.area else 0.0
    if rows and rest and rest_share > 0.01:
        rows.append(
            {
                "id": "osm-rest",
                "name": f"{area_name}其余地区（OSM无乡镇界）",
                "kind": "",
                "osm_id": "",
                "geometry": uncovered,
            }
        )
    frame = gpd.GeoDataFrame(
        rows, columns=["id", "name", "kind", "osm_id", "geometry"], geometry="geometry", crs=crs
    ).to_crs("EPSG:4326")
    report = {
        "from_osm": len(rows) - (1 if rows and rows[-1]["id"] == "osm-rest" else 0),
        "dropped_outside": dropped,
        "uncovered_share": round(rest_share, 4) if rows else 1.0,
    }
    return frame, report


def _kind(name: str) -> str:
    for suffix in ("街道", "镇", "乡"):
        if name.endswith(suffix):
            return suffix
    return ""


def _points(frame: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """One point per feature: the node itself, or a point inside a way's or relation's shape."""
    return frame.geometry.representative_point()


def villages_from(
    features: gpd.GeoDataFrame, boundary: BaseGeometry, township_names: set[str]
) -> gpd.GeoDataFrame:
    """Named place points inside ``boundary`` (``id``, ``name``, ``kind``, ``place``, ``osm_id``)."""
    place = _col(features, "place").map(_text)
    names = _col(features, "name").map(_text)
    keep = place.isin(VILLAGE_PLACES) & (names != "")
    keep &= ~((place == "town") & names.isin(township_names))
    chosen = features[keep.to_numpy()]
    points = _points(chosen)
    inside = (
        shapely.contains_xy(boundary, points.x.to_numpy(), points.y.to_numpy())
        if len(chosen)
        else np.zeros(0, bool)
    )
    chosen, points = chosen[inside], points[inside]
    rows = [
        {
            "id": f"osm-{_osm_ref(f['element'], f['osmid'])}",
            "name": _text(f.get("name")),
            "kind": "村" if _text(f.get("place")) in ("village", "hamlet") else "社区",
            "place": _text(f.get("place")),
            "osm_id": _osm_ref(f["element"], f["osmid"]),
        }
        for _, f in chosen.iterrows()
    ]
    return gpd.GeoDataFrame(
        rows,
        columns=["id", "name", "kind", "place", "osm_id"],
        geometry=list(points),
        crs="EPSG:4326",
    )


def facility_type(tags: Mapping[str, Any]) -> str | None:
    """A facility's type in carecircle's register wording (see
    :data:`carecircle.scenario.DEFAULT_FACILITY_TYPES`), or None when it is not elderly care."""
    name = _text(tags.get("name"))
    amenity = _text(tags.get("amenity"))
    social = _text(tags.get("social_facility"))
    for_whom = {
        p.strip().lower() for p in _text(tags.get("social_facility:for")).split(";") if p.strip()
    }
    by_name = (
        ("敬老院", "敬老院"),
        ("幸福院", "农村幸福院"),
        ("照料中心", "日间照料中心"),
        ("日间照料", "日间照料中心"),
        ("老年食堂", "老年食堂"),
        ("助餐", "助餐点"),
        ("养老服务站", "养老服务站"),
        ("驿站", "养老驿站"),
        ("护理院", "护理院"),
        ("养老院", "养老院"),
        ("老年公寓", "养老院"),
    )
    older = bool(for_whom & OLDER) or any(w in name for w in ("老", "养老", "敬老", "颐养"))
    if amenity == "community_centre" and not social:
        return COMMUNITY_CENTRE
    if for_whom and not for_whom & OLDER and amenity != "nursing_home":
        return None  # a social facility for children, the homeless, ...
    if amenity == "social_facility" and not social and not older:
        return None
    for word, kind in by_name:
        if word in name:
            return kind
    if amenity == "nursing_home" or social in ("nursing_home", "assisted_living", "group_home"):
        return "养老院"
    if social in ("day_care", "outreach") and older:
        return "日间照料中心"
    return "养老院" if older else None


def facilities_from(features: gpd.GeoDataFrame, boundary: BaseGeometry) -> pd.DataFrame:
    """The draft register: ``id, name, type, lon, lat, osm_id, osm_tags``, inside ``boundary``."""
    amenity = _col(features, "amenity").map(_text)
    social = _col(features, "social_facility").map(_text)
    chosen = features[(amenity.isin(FACILITY_AMENITIES) | (social != "")).to_numpy()]
    points = _points(chosen)
    rows = []
    keys = ("amenity", "social_facility", "social_facility:for", "name", "operator")
    for (_, f), point in zip(chosen.iterrows(), points, strict=True):
        if not boundary.contains(point):
            continue
        tags = {k: _text(f.get(k)) for k in keys if _text(f.get(k))}
        kind = facility_type(tags)
        if kind is None:
            continue
        ref = _osm_ref(f["element"], f["osmid"])
        rows.append(
            {
                "id": f"osm-{ref}",
                "name": tags.get("name") or f"{kind} {ref}",
                "type": kind,
                "lon": round(point.x, 7),
                "lat": round(point.y, 7),
                "osm_id": ref,
                "osm_tags": ";".join(f"{k}={v}" for k, v in tags.items()),
            }
        )
    return pd.DataFrame(rows, columns=["id", "name", "type", "lon", "lat", "osm_id", "osm_tags"])


_CANDIDATE_KINDS = {
    "school": "学校 school",
    "clinic": "卫生院/诊所 clinic",
    "doctors": "卫生院/诊所 clinic",
    "townhall": "政府办公 government office",
}
_VILLAGE_OFFICE = ("村委", "村民委员会", "居委", "居民委员会", "村部")


def candidates_from(features: gpd.GeoDataFrame, boundary: BaseGeometry) -> gpd.GeoDataFrame:
    """Idle-asset proxies inside ``boundary``: ``id, name, kind, status, land_m2, osm_id``
    (polygons where OSM maps the site's area, points elsewhere)."""
    amenity = _col(features, "amenity").map(_text)
    office = _col(features, "office").map(_text)
    chosen = features[(amenity.isin(CANDIDATE_AMENITIES) | (office == "government")).to_numpy()]
    if len(chosen):
        chosen = chosen[chosen.geometry.intersects(boundary).to_numpy()]
        chosen = chosen[
            chosen.geometry.geom_type.isin(["Point", "Polygon", "MultiPolygon"]).to_numpy()
        ]
    crs = _metric(gpd.GeoSeries([boundary], crs="EPSG:4326"))
    areas = chosen.geometry.to_crs(crs).area.to_numpy() if len(chosen) else np.zeros(0)
    rows = []
    for (_, f), land in zip(chosen.iterrows(), areas, strict=True):
        name = _text(f.get("name"))
        kind = _CANDIDATE_KINDS.get(_text(f.get("amenity")), "政府办公 government office")
        if any(w in name for w in _VILLAGE_OFFICE) or _text(f.get("townhall:type")) == "village":
            kind = "村（居）委会 village office"
        ref = _osm_ref(f["element"], f["osmid"])
        rows.append(
            {
                "id": f"osm-{ref}",
                "name": name or f"{kind.split()[0]} {ref}",
                "kind": kind,
                "status": "OSM草稿，待核实是否闲置 / OSM draft: check whether idle",
                "land_m2": round(float(land), 1) if land > 0 else None,
                "osm_id": ref,
                "geometry": f.geometry,
            }
        )
    return gpd.GeoDataFrame(
        rows,
        columns=["id", "name", "kind", "status", "land_m2", "osm_id", "geometry"],
        geometry="geometry",
        crs="EPSG:4326",
    )
