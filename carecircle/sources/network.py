"""Road networks: OSM files and osmnx downloads -> a projected osmnx MultiDiGraph of roads.

Only this module imports osmnx. The graph keeps every highway way (walk, e-bike and drive are
derived from it by ``TravelGraph.from_networkx``) and drops everything else an OSM extract holds
(rivers, buildings, boundaries), counting what it drops.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import osmnx as ox
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from carecircle.errors import DataError
from carecircle.scenario import NetworkSource

__all__ = ["graph_from_source"]

log = logging.getLogger(__name__)

# Way tags the travel modes read besides osmnx's defaults (access per mode, bridges' layer).
_EXTRA_WAY_TAGS = ("foot", "bicycle", "vehicle", "motor_vehicle", "motorcar", "layer")
_XML_SUFFIXES = (".osm", ".xml", ".osm.gz", ".osm.bz2", ".xml.gz", ".xml.bz2")


@contextlib.contextmanager
def _osmnx_tags() -> Iterator[None]:
    """osmnx configures tags through a global settings module; change it only for our read."""
    before = list(ox.settings.useful_tags_way)
    ox.settings.useful_tags_way = before + [t for t in _EXTRA_WAY_TAGS if t not in before]
    try:
        yield
    finally:
        ox.settings.useful_tags_way = before


def graph_from_source(
    source: NetworkSource, *, area: BaseGeometry, to_crs: CRS
) -> tuple[nx.MultiDiGraph, dict[str, Any]]:
    """Load the road network, keep its roads within ``area`` (EPSG:4326) and project it.

    Returns the graph in ``to_crs`` and a report of what was read and dropped.
    """
    with _osmnx_tags():
        G = _load(source)
    report: dict[str, Any] = {"nodes_read": G.number_of_nodes(), "edges_read": G.number_of_edges()}
    dropped = _keep_roads(G)
    report["non_road_edges_dropped"] = dropped
    before = G.number_of_nodes()
    try:
        G = ox.truncate.truncate_graph_polygon(G, area, truncate_by_edge=True)
    except ValueError:
        raise DataError(
            f"{_describe(source)}: 研究区内没有道路 / no road lies inside the study area; "
            "check that the network covers the county (and its buffer)"
        ) from None
    report["nodes_outside_area_dropped"] = before - G.number_of_nodes()
    G = ox.project_graph(G, to_crs=to_crs)
    report["nodes"] = G.number_of_nodes()
    report["edges"] = G.number_of_edges()
    return G, report


def _describe(source: NetworkSource) -> str:
    return (
        str(source.path)
        if source.path
        else f"place={source.place!r}"
        if source.place
        else f"bbox={source.bbox}"
    )


def _load(source: NetworkSource) -> nx.MultiDiGraph:
    if source.path is not None:
        return _load_file(Path(source.path))
    raise DataError(
        f"{_describe(source)}: 按地名/范围下载路网尚未支持 / downloading by place or bbox is not "
        "supported yet; export an OSM file and give `path:`"
    )


def _load_file(path: Path) -> nx.MultiDiGraph:
    name = path.name.lower()
    if name.endswith(_XML_SUFFIXES):
        try:
            return ox.graph_from_xml(path, simplify=False, retain_all=True, bidirectional=False)
        except Exception as exc:  # a broken file surfaces as an XML parser error of any kind
            raise DataError(
                f"{path}: 无法解析OSM文件 / cannot parse as OSM XML ({exc}); check the file"
            ) from None
    if name.endswith(".graphml"):
        return ox.load_graphml(path)
    raise DataError(
        f"{path}: 不支持的路网格式 / unsupported network format; use OSM XML "
        f"({', '.join(_XML_SUFFIXES)}) or GraphML"
    )


def _keep_roads(G: nx.MultiDiGraph) -> int:
    """In place: drop edges that are not roads (no ``highway`` tag, or areas) and bare nodes.

    Returns how many edges were dropped.
    """
    drop = [
        (u, v, k)
        for u, v, k, data in G.edges(keys=True, data=True)
        if "highway" not in data or data.get("area") == "yes"
    ]
    G.remove_edges_from(drop)
    G.remove_nodes_from([n for n, degree in G.degree() if degree == 0])
    return len(drop)
