"""Road networks: OSM files and osmnx downloads -> a compact, projected, cached RoadNetwork.

Only this module imports osmnx and pyrosm. Every reader produces the same thing, a
:class:`RoadNetwork`: the arrays of :class:`carecircle.engine.RoadTable` (nodes, one row per road
segment, the tags the travel modes read) with its CRS and a report of what was read and dropped.
Walk, e-bike and drive graphs are all derived from it by ``TravelGraph.from_roads``.

Readers (chosen by the file name, or by ``place``/``bbox``):

- OSM XML (``.osm``, ``.xml``, optionally ``.gz``/``.bz2``) through osmnx, which keeps every way
  in the file: ways without a ``highway`` tag (rivers, buildings, boundaries) and areas are
  dropped here and counted;
- OSM PBF (``.pbf``) through pyrosm, all highway ways (``network_type="all"``) in one pass;
- GraphML written by osmnx;
- ``place`` (a name Nominatim knows) or ``bbox`` (west, south, east, north in degrees) downloaded
  through osmnx, with osmnx's HTTP cache kept inside carecircle's cache folder.

What a reader produced is cached on disk (see :func:`cache_dir`), keyed by a hash of the file's
bytes (or of the place/bbox), the reader options and carecircle's version, so a second run reads
an ``.npz`` of arrays instead of parsing OSM again and needs no network. Failures are never
cached; an entry that cannot be read is ignored and rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt
import osmnx as ox
import pandas as pd
import platformdirs
import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

from carecircle import guard
from carecircle.atomic import atomic_file
from carecircle.engine.graph import TravelGraph
from carecircle.engine.roads import (
    TAG_KEYS,
    Labels,
    RoadTable,
    maxspeed_kmh,
    road_table_from_networkx,
)
from carecircle.errors import DataError, excerpt
from carecircle.scenario import InputLimits, NetworkSource, Scenario

__all__ = [
    "CACHE_ENV",
    "RoadNetwork",
    "cache_dir",
    "describe_source",
    "read_roads",
    "roads_from_source",
]

log = logging.getLogger(__name__)

CACHE_ENV = "CARECIRCLE_CACHE"
"""Environment variable naming the cache folder (default: the user cache folder,
``platformdirs.user_cache_dir("carecircle")``)."""

# Bump when what a reader stores changes, so entries written by older code are not reused.
_CACHE_FORMAT = 1
WGS84 = CRS.from_epsg(4326)

# Way tags the travel modes read besides osmnx's defaults (access per mode, bridges' layer).
_EXTRA_WAY_TAGS = ("foot", "bicycle", "vehicle", "motor_vehicle", "motorcar", "layer")
_XML_SUFFIXES = (".osm", ".xml", ".osm.gz", ".osm.bz2", ".xml.gz", ".xml.bz2")
_PBF_SUFFIXES = (".pbf",)
_GRAPHML_SUFFIXES = (".graphml",)
# osmnx's reading of the oneway tag (osmnx.graph._add_paths), applied to PBF ways the same way.
_ONEWAY = frozenset({"yes", "true", "1", "-1", "reverse", "T", "F"})
_AGAINST = frozenset({"-1", "reverse", "T"})


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """Roads as arrays (``table``) in ``crs``, with a report of what was read and dropped.

    The report holds plain numbers and names only (no paths or times), so it can go into
    summary.json unchanged. ``from_cache`` says whether the arrays came from the disk cache.
    """

    table: RoadTable
    crs: CRS
    report: Mapping[str, Any] = field(default_factory=dict)
    from_cache: bool = False

    def __repr__(self) -> str:
        """One line: segments, CRS and where the roads came from (the arrays would flood a
        notebook). ``report["source"]`` is the file or place ``cc.read_roads`` was given."""
        origin = self.report.get("source") or self.report.get("reader")
        where = f", from {origin}" if origin else ""
        return f"RoadNetwork({self.table.n_segments:,} segments, {self.crs.to_string()}{where})"

    def clip(self, area: BaseGeometry) -> RoadNetwork:
        """Keep nodes within ``area`` (in this CRS) and their direct neighbours, as osmnx's
        ``truncate_graph_polygon(..., truncate_by_edge=True)`` does, and the roads between them.
        """
        t = self.table
        shapely.prepare(area)
        inside = shapely.intersects_xy(area, t.x, t.y)
        keep = inside.copy()
        keep[t.u[inside[t.v]]] = True
        keep[t.v[inside[t.u]]] = True
        if not inside.any():
            raise DataError(
                "研究区内没有道路 / no road lies inside the study area; check that the network "
                "covers the county (and its buffer)"
            )
        clipped = t.select(np.flatnonzero(keep[t.u] & keep[t.v]))
        report = {**self.report, "nodes_outside_area_dropped": t.n_nodes - clipped.n_nodes}
        return RoadNetwork(clipped, self.crs, report, self.from_cache)

    def project(self, to_crs: CRS | str) -> RoadNetwork:
        """The same roads with node coordinates in ``to_crs`` (lengths stay great-circle metres)."""
        crs = CRS.from_user_input(to_crs)
        x, y = Transformer.from_crs(self.crs, crs, always_xy=True).transform(
            self.table.x, self.table.y
        )
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise DataError(
                f"路网无法投影到 {crs.to_string()} / road nodes fall outside the area of use of "
                f"{crs.to_string()}; choose a CRS that covers the study area"
            )
        return RoadNetwork(self.table.with_xy(x, y), crs, self.report, self.from_cache)


def roads_from_source(
    source: NetworkSource,
    *,
    area: BaseGeometry,
    to_crs: CRS | str,
    cache: bool | Path = True,
    limits: InputLimits | None = None,
) -> RoadNetwork:
    """Read the road network, keep its roads within ``area`` (EPSG:4326) and project them.

    ``cache``: True for :func:`cache_dir`, a folder, or False to neither read nor write the cache.
    ``limits`` bound the road file (see :func:`read_roads`).
    """
    try:
        net = read_roads(source, cache=cache, limits=limits).clip(area).project(to_crs)
    except DataError as exc:
        if str(exc).startswith(describe_source(source)):
            raise
        raise DataError(f"{describe_source(source)}: {exc}") from None
    report = {**net.report, "nodes": net.table.n_nodes, "edges": net.table.n_segments}
    return RoadNetwork(net.table, net.crs, report, net.from_cache)


def read_roads(
    source: NetworkSource, *, cache: bool | Path = True, limits: InputLimits | None = None
) -> RoadNetwork:
    """Every road of the source, in EPSG:4326, from the cache when this input was read before.

    A road file must be a regular file within ``limits.road_file_mb`` (checked before it is
    hashed for the cache); before parsing, an OSM XML file is streamed once to count its nodes
    and decompressed bytes, and a PBF's blob headers are read for its decompressed size.
    """
    limits = limits or InputLimits()
    if source.path is not None:
        guard.check_size(Path(source.path), limits.road_file_mb, "road_file_mb")
    folder = cache_dir() if cache is True else (Path(cache) if cache else None)
    entry = folder / f"roads-{_cache_key(source)}.npz" if folder else None
    if entry is not None and entry.is_file():
        cached = _load_entry(entry)
        if cached is not None:
            log.info("road network from cache: %s", entry)
            return cached
    net = _read(source, folder, limits)
    if entry is not None:
        _store_entry(entry, net)
    return net


def cache_dir() -> Path:
    """The cache folder: ``$CARECIRCLE_CACHE`` if set, else the user cache folder of
    platformdirs (``~/.cache/carecircle`` on Linux, ``~/Library/Caches/carecircle`` on macOS,
    ``%LOCALAPPDATA%\\carecircle\\Cache`` on Windows), shared by every project and working folder."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    return Path(platformdirs.user_cache_dir("carecircle", appauthor=False))


def describe_source(source: NetworkSource) -> str:
    """The network source as messages name it: its path, or the place or box queried."""
    if source.path is not None:
        return str(source.path)
    return f"place={source.place!r}" if source.place else f"bbox={source.bbox}"


# --- readers -------------------------------------------------------------------------------------


def _read(source: NetworkSource, folder: Path | None, limits: InputLimits) -> RoadNetwork:
    if source.path is None:
        return _download(source, folder)
    path = Path(source.path)
    name = path.name.lower()
    if name.endswith(_XML_SUFFIXES):
        guard.check_osm_xml(path, unzipped_mb=limits.osm_unzipped_mb, nodes=limits.osm_nodes)
        return _read_xml(path)
    if name.endswith(_PBF_SUFFIXES):
        guard.check_pbf(path, unzipped_mb=limits.osm_unzipped_mb)
        return _read_pbf(path)
    if name.endswith(_GRAPHML_SUFFIXES):
        return _read_graphml(path)
    raise DataError(
        f"{path}: 不支持的路网格式 / unsupported network format; use OSM XML "
        f"({', '.join(_XML_SUFFIXES)}), OSM PBF (.osm.pbf) or GraphML (.graphml)"
    )


@contextlib.contextmanager
def _osmnx_settings(**overrides: Any) -> Iterator[None]:
    """osmnx configures itself through a global settings module; change it only for our read."""
    tags = list(ox.settings.useful_tags_way)
    overrides["useful_tags_way"] = tags + [t for t in _EXTRA_WAY_TAGS if t not in tags]
    before = {key: getattr(ox.settings, key) for key in overrides}
    for key, value in overrides.items():
        setattr(ox.settings, key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            setattr(ox.settings, key, value)


def _read_xml(path: Path) -> RoadNetwork:
    with _osmnx_settings(), warnings.catch_warnings():
        # Files osmnx wrote itself make it warn; they are still plain OSM XML for our purpose.
        warnings.filterwarnings("ignore", message=".*generated by OSMnx", category=UserWarning)
        try:
            G = ox.graph_from_xml(path, simplify=False, retain_all=True, bidirectional=False)
        except Exception as exc:  # a broken file surfaces as an XML parser error of any kind
            raise DataError(
                f"{path}: 无法解析OSM文件 / cannot parse as OSM XML ({type(exc).__name__}: "
                f"{excerpt(str(exc), 80)}); check the file"
            ) from None
    return _from_graph(G, path, reader="osmnx OSM XML")


def _read_graphml(path: Path) -> RoadNetwork:
    try:
        G = ox.load_graphml(path)
    except Exception as exc:  # networkx and osmnx raise many kinds for a malformed file
        raise DataError(
            f"{path}: 无法读取GraphML / cannot read as an osmnx GraphML file ({type(exc).__name__}: "
            f"{excerpt(str(exc), 80)}); check the file"
        ) from None
    return _from_graph(G, path, reader="osmnx GraphML")


def _from_graph(G: nx.MultiDiGraph, origin: Path | str, *, reader: str) -> RoadNetwork:
    """An osmnx graph's roads: edges without ``highway`` or marked ``area=yes`` are dropped."""
    nodes_read, edges_read = G.number_of_nodes(), G.number_of_edges()
    drop = [
        (u, v, k)
        for u, v, k, data in G.edges(keys=True, data=True)
        if "highway" not in data or data.get("area") == "yes"
    ]
    G.remove_edges_from(drop)
    G.remove_nodes_from([n for n, degree in G.degree() if degree == 0])
    if G.number_of_edges() == 0:
        raise DataError(f"{origin}: 没有道路 / no way with a highway tag; is this a road network?")
    table = road_table_from_networkx(G)
    crs = CRS.from_user_input(G.graph.get("crs", WGS84))
    if not crs.is_geographic:  # a projected GraphML: back to lon/lat, like every other reader
        lon, lat = Transformer.from_crs(crs, WGS84, always_xy=True).transform(table.x, table.y)
        table = table.with_xy(np.asarray(lon), np.asarray(lat))
    report = {
        "reader": reader,
        "nodes_read": nodes_read,
        "edges_read": edges_read,
        "non_road_edges_dropped": len(drop),
        "segments": table.n_segments,
    }
    return RoadNetwork(table, WGS84, report)


_PBF_TAGS = tuple(dict.fromkeys((*TAG_KEYS, "highway", "maxspeed", "oneway", "junction")))


def _read_pbf(path: Path) -> RoadNetwork:
    import pyrosm  # imported here: it is slow to import and only PBF files need it

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyrosm warns instead of returning nothing
            osm = pyrosm.OSM(str(path), keep_metadata=False, progress=False)
            found = osm.get_network(
                network_type="all", nodes=True, extra_attributes=list(_PBF_TAGS)
            )
    except Exception as exc:  # pyrosm raises many kinds for a malformed file
        raise DataError(
            f"{path}: 无法解析PBF文件 / cannot read as OSM PBF ({type(exc).__name__}: "
            f"{excerpt(str(exc), 80)}); check the file"
        ) from None
    if found is None or found[1] is None or len(found[1]) == 0:
        raise DataError(f"{path}: 没有道路 / no way with a highway tag; is this a road network?")
    nodes, edges = found
    table = _table_from_frames(path, nodes, edges)
    report = {
        "reader": "pyrosm OSM PBF",
        "nodes_read": table.n_nodes,
        "edges_read": table.n_segments,
        "segments": table.n_segments,
    }
    return RoadNetwork(table, WGS84, report)


def _table_from_frames(path: Path, nodes: pd.DataFrame, edges: pd.DataFrame) -> RoadTable:
    """pyrosm's node and segment frames as a RoadTable, one-way rules as osmnx reads them."""
    ids = nodes["id"].to_numpy(np.int64)
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    lon = nodes["lon"].to_numpy(np.float64)[order]
    lat = nodes["lat"].to_numpy(np.float64)[order]
    u, v = (_positions(path, ids, edges[end].to_numpy(np.int64)) for end in ("u", "v"))
    labels = {key: _labels(edges, key) for key in _PBF_TAGS}
    oneway_tag = labels.pop("oneway")
    oneway = oneway_tag.isin(_ONEWAY) | labels.pop("junction").isin({"roundabout"})
    against = oneway & oneway_tag.isin(_AGAINST)
    u, v = np.where(against, v, u), np.where(against, u, v)  # drive along the node order
    maxspeed = labels.pop("maxspeed").map(maxspeed_kmh, np.nan, np.float64)
    return RoadTable(
        node_ids=ids,
        x=lon,
        y=lat,
        u=u,
        v=v,
        length_m=np.asarray(ox.distance.great_circle(lat[u], lon[u], lat[v], lon[v]), np.float64),
        oneway=np.asarray(oneway),
        highway=labels.pop("highway"),
        maxspeed_kmh=maxspeed,
        tags=labels,
    )


def _positions(path: Path, ids: npt.NDArray[np.int64], refs: npt.NDArray[np.int64]) -> Any:
    at = np.minimum(np.searchsorted(ids, refs), ids.size - 1)
    if refs.size and not np.array_equal(ids[at], refs):
        missing = refs[ids[at] != refs]
        raise DataError(
            f"{path}: {missing.size} 段道路引用了不存在的节点 / road segments refer to "
            f"{missing.size} node(s) missing from the file (first: {missing[0]}); "
            "re-export the extract with complete ways"
        )
    return at.astype(np.int64)


def _labels(frame: pd.DataFrame, key: str) -> Labels:
    if key not in frame.columns:
        return Labels.absent(len(frame))
    codes, levels = pd.factorize(frame[key], use_na_sentinel=True)
    return Labels(codes.astype(np.int32), tuple(str(level) for level in levels))


def _download(source: NetworkSource, folder: Path | None) -> RoadNetwork:
    """Download through osmnx (its HTTP cache inside ours), every highway way, unsimplified."""
    options: dict[str, Any] = {
        "network_type": "all",
        "simplify": False,
        "retain_all": True,
        "truncate_by_edge": True,
    }
    settings: dict[str, Any] = {"use_cache": folder is not None}
    if folder is not None:
        settings["cache_folder"] = str(folder / "osmnx")
    try:
        with _osmnx_settings(**settings):
            if source.place is not None:
                G = ox.graph_from_place(source.place, **options)
            else:
                G = ox.graph_from_bbox(_checked_bbox(source.bbox), **options)
    except DataError:
        raise
    except Exception as exc:  # network, geocoding and empty-response errors of osmnx
        raise DataError(
            f"{describe_source(source)}: 路网下载失败 / downloading the road network failed ({exc}); "
            "check the name or box and the connection, or export an OSM file and give `path:`"
        ) from None
    return _from_graph(G, describe_source(source), reader="osmnx download")


def _checked_bbox(bbox: Any) -> tuple[float, float, float, float]:
    west, south, east, north = (float(b) for b in bbox)
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise DataError(
            f"bbox={bbox}: 范围无效 / invalid box; give [west, south, east, north] in degrees "
            "(e.g. [120.9, 27.9, 121.2, 28.2])"
        )
    return west, south, east, north


# --- the cache -----------------------------------------------------------------------------------


def _cache_key(source: NetworkSource) -> str:
    """A digest of what the arrays depend on: the input's bytes (or query) and the reader."""
    from carecircle._version import __version__

    parts: dict[str, Any] = {
        "format": _CACHE_FORMAT,
        "carecircle": __version__,
        "osmnx": ox.__version__,
        "tags": [*TAG_KEYS, *_EXTRA_WAY_TAGS],
    }
    if source.path is not None:
        with Path(source.path).open("rb") as f:
            parts["sha256"] = hashlib.file_digest(f, "sha256").hexdigest()
        parts["kind"] = "".join(Path(source.path).suffixes[-2:]).lower()
        if parts["kind"].endswith(_PBF_SUFFIXES):
            parts["pyrosm"] = package_version("pyrosm")
    else:
        parts["place"], parts["bbox"] = source.place, source.bbox
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


_NUMERIC = ("node_ids", "x", "y", "u", "v", "length_m", "oneway", "maxspeed_kmh")


def _store_entry(entry: Path, net: RoadNetwork) -> None:
    """Write atomically (temp file, then rename); a cache that cannot be written is skipped."""
    t = net.table
    arrays: dict[str, Any] = {name: getattr(t, name) for name in _NUMERIC}
    for key, labels in {"highway": t.highway, **t.tags}.items():
        arrays[f"codes__{key}"] = labels.codes
        arrays[f"levels__{key}"] = np.array(labels.levels, dtype=str)
    meta = {"format": _CACHE_FORMAT, "crs": net.crs.to_wkt(), "report": dict(net.report)}
    meta["tags"] = list(t.tags)
    arrays["meta"] = np.array(json.dumps(meta, ensure_ascii=False))
    try:
        with atomic_file(entry) as tmp, tmp.open("wb") as f:
            np.savez(f, **arrays)
    except OSError as exc:
        log.warning("could not write the road cache %s (%s); continuing without it", entry, exc)


def _load_entry(entry: Path) -> RoadNetwork | None:
    """The cached network, or None (with a log line) if the entry is unreadable or inconsistent."""
    try:
        # Opened here: np.load leaks its own handle when the file is not an archive at all.
        with entry.open("rb") as f, np.load(f, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"][()]))
            if meta["format"] != _CACHE_FORMAT:
                raise ValueError(f"format {meta['format']}")
            labels = {
                key: Labels(z[f"codes__{key}"], tuple(z[f"levels__{key}"].tolist()))
                for key in ("highway", *meta["tags"])
            }
            numeric = {name: z[name] for name in _NUMERIC}
        highway = labels.pop("highway")
        for lab in (highway, *labels.values()):
            if lab.codes.size and lab.codes.max() >= len(lab.levels):
                raise ValueError("label codes out of range")
        table = RoadTable(highway=highway, tags=labels, **numeric)
        return RoadNetwork(table, CRS.from_wkt(meta["crs"]), meta["report"], from_cache=True)
    except Exception as exc:  # any damage to the entry means: read the source again
        log.warning("ignoring unreadable road cache entry %s (%s); rebuilding it", entry, exc)
        return None


def travel_graph(net: RoadNetwork, scenario: Scenario, tier: str) -> TravelGraph:
    """The travel graph of a scenario's tier (its mode, with the scenario's speeds).

    Islands are counted and reported later; a network with no road usable in the tier's mode at
    all is bad input, named with its source.
    """
    t, mode = scenario.travel, scenario.tier(tier).mode
    graph = TravelGraph.from_roads(
        net.table,
        mode=mode,
        walk_speed_mps=t.walk_speed_mps,
        ebike_speed_kmh=t.ebike_speed_kmh,
        drive_speeds_kmh=t.drive_speeds_kmh,
    )
    if graph.n_arcs == 0:
        where = describe_source(scenario.data.network)
        highway = net.table.highway
        kinds = ", ".join(sorted({highway.levels[c] for c in np.unique(highway.codes) if c >= 0}))
        raise DataError(
            f"{where}: 研究区内没有可供 {mode} 通行的道路 / none of the {net.table.n_segments} road "
            f"segments in the study area can be used to {mode} (highway: {kinds or 'none'}); "
            f"check the network file and the travel mode of `tiers.{tier}`"
        )
    return graph
