"""Road readers on every OSM file in ../shared/data/osm, the on-disk cache and offline downloads.

Times on each file are checked against networkx Dijkstra on a graph built independently: osmnx's
own graph for XML, a graph assembled here from pyrosm's segment table for PBF, with travel seconds
from a scalar restatement of the mode rules (:func:`oracle_seconds`).
"""

from __future__ import annotations

import hashlib
import json
import socket
import sys
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import osmnx as ox
import platformdirs
import pytest
import requests

from carecircle.engine import DRIVE_SPEEDS_KMH, TravelGraph, catchments, nearest_times
from carecircle.errors import DataError
from carecircle.scenario import NetworkSource
from carecircle.sources import network
from carecircle.sources.network import RoadNetwork

OSM = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "osm"
FILES = sorted(p.name for p in OSM.iterdir())
BIG = {"yuba-county.osm.pbf", "imperial-county.osm.pbf"}

# What carecircle's readers read from each file: nodes and edges as the reader delivers them
# (osmnx's unsimplified graph for XML, counting every way; pyrosm's highway segments for PBF),
# and the road segments and nodes kept. Shanghai's first two are SOURCES.md's load check
# (graph_from_xml, simplify=False: 2,958 nodes, 3,387 edges); the rest were measured here.
COUNTS: Mapping[str, tuple[int, int, int, int]] = {
    "andorra.osm.pbf": (38_538, 38_971, 38_971, 38_538),
    "beijing-haidian.osm": (7_450, 14_651, 2_554, 2_181),
    "guixi-jiangxi.osm": (4_020, 7_567, 1_414, 1_274),
    "imperial-county.osm.pbf": (170_080, 181_970, 181_970, 170_080),
    "north-bayreuth.osm.gz": (58_631, 128_479, 14_964, 14_166),
    "shanghai-huangpu.osm": (2_958, 3_387, 2_851, 2_458),
    "yuba-county.osm.pbf": (112_866, 117_219, 117_219, 112_866),
}
# SOURCES.md's load checks with the loader it names (simplified osmnx graphs of every way).
SIMPLIFIED = {"beijing-haidian.osm": (1_441, 2_977), "guixi-jiangxi.osm": (420, 851)}
EXTRA_TAGS = ["foot", "bicycle", "vehicle", "motor_vehicle", "motorcar", "area", "access"]


def test_every_file_is_covered() -> None:
    assert set(FILES) == set(COUNTS)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("road-cache")


@pytest.fixture(scope="module", params=FILES)
def loaded(request: pytest.FixtureRequest, cache: Path) -> tuple[str, RoadNetwork]:
    name = str(request.param)
    return name, network.read_roads(NetworkSource(path=OSM / name), cache=cache)


def test_each_file_loads_with_its_counts(loaded: tuple[str, RoadNetwork]) -> None:
    name, net = loaded
    r = net.report
    assert (r["nodes_read"], r["edges_read"], r["segments"], net.table.n_nodes) == COUNTS[name]
    assert net.table.n_segments == r["segments"]
    assert net.crs.to_epsg() == 4326
    if "non_road_edges_dropped" in r:  # XML: osmnx reads every way, the reader keeps roads
        assert r["non_road_edges_dropped"] == r["edges_read"] - _directed_edges(net)
    assert np.isfinite(net.table.length_m).all() and (net.table.length_m >= 0).all()


def _directed_edges(net: RoadNetwork) -> int:
    """osmnx's edge count for the kept roads: two-way segments are two edges there."""
    return int(net.table.n_segments + np.count_nonzero(~net.table.oneway))


@pytest.mark.parametrize("name", sorted(SIMPLIFIED))
def test_sources_md_load_checks(name: str) -> None:
    G = ox.graph_from_xml(OSM / name, simplify=True, retain_all=True)
    assert (G.number_of_nodes(), G.number_of_edges()) == SIMPLIFIED[name]


# --- the independent answer ----------------------------------------------------------------------

_NEVER = {"construction", "proposed", "planned", "abandoned", "raceway", "bus_guideway"}
_NEVER |= {"platform", "no"}
_CLOSED_TO = {
    "walk": _NEVER | {"motorway", "motorway_link"},
    "drive": _NEVER
    | {"footway", "path", "pedestrian", "steps", "cycleway", "bridleway", "corridor"}
    | {"elevator", "escalator", "via_ferrata"},
}
_ACCESS = {"walk": ("foot", "access"), "drive": ("motor_vehicle", "motorcar", "vehicle", "access")}


def oracle_seconds(data: Mapping[str, Any], mode: str) -> float | None:
    """Seconds along one edge, or None where the mode may not use it (rules written out plainly)."""
    highway = data.get("highway")
    if highway is None or highway in _CLOSED_TO[mode] or data.get("area") == "yes":
        return None
    for key in _ACCESS[mode]:
        if data.get(key) is not None:
            if data[key] in ("no", "private"):
                return None
            break
    if mode == "walk":
        return float(data["length"]) / 1.0
    speeds = []
    for part in str(data.get("maxspeed", "")).split(";"):
        digits = "".join(c for c in part.split("mph")[0] if c.isdigit() or c == ".")
        if digits and float(digits) > 0:
            speeds.append(float(digits) * (1.609344 if "mph" in part else 1.0))
    kmh = min(speeds) if speeds else DRIVE_SPEEDS_KMH.get(highway, DRIVE_SPEEDS_KMH["road"])
    return float(data["length"]) / (kmh / 3.6)


def oracle_edges(name: str) -> list[tuple[int, int, dict[str, Any]]]:
    """Directed edges (OSM node ids) with tags and length, read without carecircle."""
    path = OSM / name
    if name.endswith(".pbf"):
        return _pbf_edges(path)
    before = ox.settings.useful_tags_way
    ox.settings.useful_tags_way = [*before, *EXTRA_TAGS]
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*generated by OSMnx")
            G = ox.graph_from_xml(path, simplify=False, retain_all=True)
    finally:
        ox.settings.useful_tags_way = before
    return [(u, v, d) for u, v, d in G.edges(data=True) if not isinstance(d.get("highway"), list)]


def _pbf_edges(path: Path) -> list[tuple[int, int, dict[str, Any]]]:
    import pyrosm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        osm = pyrosm.OSM(str(path), keep_metadata=False, progress=False)
        keys = [*EXTRA_TAGS, "maxspeed", "oneway", "junction"]
        nodes, edges = osm.get_network("all", nodes=True, extra_attributes=keys)
    where = dict(
        zip(nodes["id"].tolist(), zip(nodes["lat"], nodes["lon"], strict=True), strict=True)
    )
    columns = [c for c in ["highway", *keys] if c in edges.columns]
    out = []
    for row in edges[["u", "v", *columns]].itertuples(index=False):
        u, v, *values = row
        tags = {k: val for k, val in zip(columns, values, strict=True) if isinstance(val, str)}
        (la1, lo1), (la2, lo2) = where[u], where[v]
        tags["length"] = float(ox.distance.great_circle(la1, lo1, la2, lo2))
        oneway = tags.get("oneway") in {"yes", "true", "1", "-1", "reverse", "T", "F"}
        oneway |= tags.get("junction") == "roundabout"
        if oneway and tags.get("oneway") in {"-1", "reverse", "T"}:
            u, v = v, u
        out.append((u, v, tags))
        if not oneway:
            out.append((v, u, tags))
    return out


def oracle_graph(edges: list[tuple[int, int, dict[str, Any]]], mode: str) -> nx.DiGraph:
    D = nx.DiGraph()
    for u, v, data in edges:
        w = oracle_seconds(data, mode)
        if w is None or u == v:
            continue
        for a, b in [(u, v), (v, u)] if mode == "walk" else [(u, v)]:
            if not D.has_edge(a, b) or D[a][b]["weight"] > w:
                D.add_edge(a, b, weight=w)
    return D


@pytest.fixture(scope="module")
def oracles() -> Iterator[dict[str, list[tuple[int, int, dict[str, Any]]]]]:
    built: dict[str, list[tuple[int, int, dict[str, Any]]]] = {}
    yield built
    built.clear()


@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_times_equal_networkx_dijkstra(
    loaded: tuple[str, RoadNetwork], mode: str, oracles: dict[str, Any]
) -> None:
    name, net = loaded
    if name not in oracles:
        oracles[name] = oracle_edges(name)
    D = oracle_graph(oracles[name], mode)
    g = TravelGraph.from_roads(net.table, mode=mode)  # type: ignore[arg-type]
    ids = g.node_ids
    rng = np.random.default_rng(7)
    main = np.flatnonzero(g.component == 0)
    sources = rng.choice(main, 2 if name in BIG else 6, replace=False)
    R = D.reverse(copy=False)
    # Walking ignores one-way streets, so its times "to" and "from" a node are the same.
    directions = (("from", D), ("to", R)) if mode == "drive" else (("from", D),)
    for s in sources:
        for direction, graph in directions:
            mine, _ = nearest_times(g, [s], direction=direction)  # type: ignore[arg-type]
            _assert_same_times(mine, ids, nx.single_source_dijkstra_path_length(graph, ids[s]))
    # Several sources with access legs at once, times to the nearest.
    offsets = rng.uniform(0, 120, sources.size)
    mine, _ = nearest_times(g, sources, source_seconds=offsets)
    S = R.copy()
    S.add_weighted_edges_from((("S", ids[s], o) for s, o in zip(sources, offsets, strict=True)))
    expected = nx.single_source_dijkstra_path_length(S, "S")
    expected.pop("S")
    _assert_same_times(mine, ids, expected)
    # Catchments: the same times, cut at the threshold.
    limit = 600.0 if mode == "walk" else 300.0
    rows = catchments(g, sources, limit, direction="from")
    for k, s in enumerate(sources):
        want = nx.single_source_dijkstra_path_length(D, ids[s], cutoff=limit)
        row = rows.getrow(k)
        assert sorted(ids[row.indices].tolist()) == sorted(want)
        np.testing.assert_allclose(row.data, [want[i] for i in ids[row.indices]], atol=1e-6)


def _assert_same_times(mine: np.ndarray, ids: np.ndarray, expected: Mapping[int, float]) -> None:
    reached = np.isfinite(mine)
    assert set(ids[reached].tolist()) == set(expected)
    want = np.array([expected[i] for i in ids[reached]])
    np.testing.assert_allclose(mine[reached], want, rtol=0, atol=1e-6)


def test_pyrosm_reads_one_way_streets_as_carecircle_does(cache: Path) -> None:
    """Andorra has oneway=-1 and roundabouts: pyrosm's own directed graph agrees with ours."""
    import pyrosm

    net = network.read_roads(NetworkSource(path=OSM / "andorra.osm.pbf"), cache=cache)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        osm = pyrosm.OSM(str(OSM / "andorra.osm.pbf"), keep_metadata=False, progress=False)
        nodes, edges = osm.get_network("all", nodes=True, extra_attributes=["junction"])
        G = pyrosm.OSM.to_graph(
            nodes,
            edges,
            graph_type="networkx",
            network_type="driving",
            simplify=False,
            retain_all=True,
        )
    t = net.table
    two = ~t.oneway
    mine = set(zip(t.node_ids[t.u].tolist(), t.node_ids[t.v].tolist(), strict=True))
    mine |= set(zip(t.node_ids[t.v[two]].tolist(), t.node_ids[t.u[two]].tolist(), strict=True))
    assert mine == {(u, v) for u, v in G.edges() if u != v}


# --- clipping, projecting, GraphML ---------------------------------------------------------------


def test_clip_keeps_what_osmnx_truncation_keeps(cache: Path) -> None:
    path = OSM / "shanghai-huangpu.osm"
    net = network.read_roads(NetworkSource(path=path), cache=cache)
    import shapely

    area = shapely.box(121.466, 31.224, 121.478, 31.234)
    clipped = net.clip(area)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*generated by OSMnx")
        G = ox.graph_from_xml(path, simplify=False, retain_all=True)
    G.remove_nodes_from([n for n, degree in G.degree() if degree == 0])  # nodes on no way
    G = ox.truncate.truncate_graph_polygon(G, area, truncate_by_edge=True)
    assert set(clipped.table.node_ids.tolist()) == set(G.nodes)
    assert clipped.report["nodes_outside_area_dropped"] == net.table.n_nodes - G.number_of_nodes()
    with pytest.raises(DataError, match="no road lies inside"):
        net.clip(shapely.box(0, 0, 1, 1))


def test_roads_from_source_projects_and_counts(cache: Path) -> None:
    import shapely

    net = network.roads_from_source(
        NetworkSource(path=OSM / "guixi-jiangxi.osm"),
        area=shapely.box(117.20, 28.29, 117.24, 28.31),
        to_crs="EPSG:32650",
        cache=cache,
    )
    assert net.crs.to_epsg() == 32650
    assert net.report["nodes"] == net.table.n_nodes and net.report["edges"] == net.table.n_segments
    assert 400_000 < net.table.x.min() < net.table.x.max() < 800_000  # metres, UTM 50N


def test_graphml_gives_the_same_roads(tmp_path: Path, cache: Path) -> None:
    xml = network.read_roads(NetworkSource(path=OSM / "shanghai-huangpu.osm"), cache=cache)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*generated by OSMnx")
        G = ox.graph_from_xml(OSM / "shanghai-huangpu.osm", simplify=False, retain_all=True)
    ox.save_graphml(ox.project_graph(G, to_crs="EPSG:32651"), tmp_path / "huangpu.graphml")
    gml = network.read_roads(NetworkSource(path=tmp_path / "huangpu.graphml"), cache=False)
    assert gml.report["reader"] == "osmnx GraphML"
    assert sorted(gml.table.node_ids.tolist()) == sorted(xml.table.node_ids.tolist())
    # Projected GraphML comes back to lon/lat like every other reader.
    order = np.argsort(gml.table.node_ids)
    ref = np.argsort(xml.table.node_ids)
    np.testing.assert_allclose(gml.table.x[order], xml.table.x[ref], atol=1e-7)
    for mode in ("walk", "drive"):
        a = TravelGraph.from_roads(xml.table, mode=mode)  # type: ignore[arg-type]
        b = TravelGraph.from_roads(gml.table, mode=mode)  # type: ignore[arg-type]
        assert a.n_arcs == b.n_arcs and a.seconds.sum() == pytest.approx(b.seconds.sum())


def test_unreadable_inputs_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "broken.osm"
    bad.write_text("<osm><node id='1' lat='x'", encoding="utf-8")
    with pytest.raises(DataError, match=r"broken\.osm.*OSM XML"):
        network.read_roads(NetworkSource(path=bad), cache=tmp_path / "c")
    assert not (tmp_path / "c").exists()  # failures are never cached
    other = tmp_path / "roads.shp"
    other.write_bytes(b"")
    with pytest.raises(DataError, match="unsupported network format"):
        network.read_roads(NetworkSource(path=other), cache=False)
    junk = tmp_path / "junk.osm.pbf"
    junk.write_bytes(b"not a pbf")
    with pytest.raises(DataError, match=r"junk\.osm\.pbf"):
        network.read_roads(NetworkSource(path=junk), cache=False)


# --- the cache -----------------------------------------------------------------------------------


def test_a_second_read_comes_from_the_cache(tmp_path: Path) -> None:
    src = NetworkSource(path=OSM / "guixi-jiangxi.osm")
    first = network.read_roads(src, cache=tmp_path)
    entries = list(tmp_path.glob("roads-*.npz"))
    assert not first.from_cache and len(entries) == 1
    second = network.read_roads(src, cache=tmp_path)
    assert second.from_cache and dict(second.report) == dict(first.report)
    _assert_same_table(first, second)


def test_cache_folder_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(network.CACHE_ENV, str(tmp_path / "elsewhere"))
    assert network.cache_dir() == tmp_path / "elsewhere"
    network.read_roads(NetworkSource(path=OSM / "shanghai-huangpu.osm"))
    assert len(list((tmp_path / "elsewhere").glob("roads-*.npz"))) == 1
    monkeypatch.delenv(network.CACHE_ENV)
    monkeypatch.chdir(tmp_path)
    # Without it, the user cache folder (platformdirs), wherever the command runs from.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    default = network.cache_dir()
    assert default == Path(platformdirs.user_cache_dir("carecircle", appauthor=False))
    assert not default.is_relative_to(tmp_path / "data")
    if sys.platform.startswith("linux"):
        assert default == tmp_path / "xdg" / "carecircle"


def test_a_damaged_entry_is_rebuilt(tmp_path: Path) -> None:
    src = NetworkSource(path=OSM / "shanghai-huangpu.osm")
    good = network.read_roads(src, cache=tmp_path)
    (entry,) = tmp_path.glob("roads-*.npz")
    for damage in (b"garbage", entry.read_bytes()[:1000]):
        entry.write_bytes(damage)
        again = network.read_roads(src, cache=tmp_path)
        assert not again.from_cache
        _assert_same_table(good, again)
        assert network.read_roads(src, cache=tmp_path).from_cache  # rewritten whole


def test_the_key_follows_the_bytes(tmp_path: Path) -> None:
    copy = tmp_path / "huangpu.osm"
    copy.write_bytes((OSM / "shanghai-huangpu.osm").read_bytes())
    network.read_roads(NetworkSource(path=copy), cache=tmp_path / "c")
    # Same bytes under another name: a hit. Changed bytes: a new entry.
    assert network.read_roads(
        NetworkSource(path=OSM / "shanghai-huangpu.osm"), cache=tmp_path / "c"
    ).from_cache
    copy.write_bytes(
        copy.read_bytes().replace(b'k="highway" v="primary"', b'k="highway" v="trunk"')
    )
    assert not network.read_roads(NetworkSource(path=copy), cache=tmp_path / "c").from_cache
    assert len(list((tmp_path / "c").glob("roads-*.npz"))) == 2


def _assert_same_table(a: RoadNetwork, b: RoadNetwork) -> None:
    for name in ("node_ids", "x", "y", "u", "v", "length_m", "oneway", "maxspeed_kmh"):
        np.testing.assert_array_equal(getattr(a.table, name), getattr(b.table, name))
    assert a.table.highway.values().tolist() == b.table.highway.values().tolist()
    assert set(a.table.tags) == set(b.table.tags)
    for key in a.table.tags:
        assert a.table.tags[key].values().tolist() == b.table.tags[key].values().tolist()


# --- downloads, offline --------------------------------------------------------------------------

HUANGPU_BBOX = (121.465, 31.222, 121.483, 31.238)  # west, south, east, north


def overpass_json(path: Path) -> dict[str, Any]:
    """An OSM XML file as the Overpass API would answer it (out:json)."""
    elements: list[dict[str, Any]] = []
    for el in ET.parse(path).getroot():
        tags = {t.get("k"): t.get("v") for t in el.findall("tag")}
        if el.tag == "node":
            lat, lon = float(el.get("lat", "nan")), float(el.get("lon", "nan"))
            elements.append({"type": "node", "id": int(el.get("id", 0)), "lat": lat, "lon": lon})
        elif el.tag == "way":
            refs = [int(nd.get("ref", 0)) for nd in el.findall("nd")]
            elements.append({"type": "way", "id": int(el.get("id", 0)), "nodes": refs})
        else:
            continue
        if tags:
            elements[-1]["tags"] = tags
    return {"version": 0.6, "generator": "test", "elements": elements}


class _Asked(Exception):
    """Raised by the spy to stop osmnx right after it looked a request up in its cache."""


def test_bbox_download_works_offline_from_osmnx_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def spy(url: str) -> None:
        asked.append(url)
        raise _Asked(url)

    monkeypatch.setattr(ox._http, "_retrieve_from_cache", spy)
    src = NetworkSource(bbox=HUANGPU_BBOX)
    with pytest.raises(DataError, match="downloading the road network failed"):
        network.read_roads(src, cache=tmp_path)
    assert not list(tmp_path.glob("roads-*.npz"))  # failures are never cached
    # osmnx 2.1 keys a response by the SHA-1 of the GET form of its Overpass request.
    (url,) = asked
    assert url.startswith(ox.settings.overpass_url + "/interpreter?data=")
    cached = tmp_path / "osmnx" / f"{hashlib.sha1(url.encode('utf-8')).hexdigest()}.json"
    cached.parent.mkdir(parents=True)
    cached.write_text(json.dumps(overpass_json(OSM / "shanghai-huangpu.osm")), encoding="utf-8")
    monkeypatch.undo()
    _block_network(monkeypatch)
    net = network.read_roads(src, cache=tmp_path)
    assert net.report["reader"] == "osmnx download" and not net.from_cache
    lon, lat = net.table.x, net.table.y
    west, south, east, north = HUANGPU_BBOX
    inside = (west <= lon) & (lon <= east) & (south <= lat) & (lat <= north)
    assert inside.mean() > 0.9 and net.table.n_segments > 1000
    # The roads are those of the file, clipped to the box.
    from_file = network.read_roads(NetworkSource(path=OSM / "shanghai-huangpu.osm"), cache=False)
    assert set(net.table.node_ids.tolist()) <= set(from_file.table.node_ids.tolist())
    # A second run needs neither the network nor osmnx's cache.
    cached.unlink()
    assert network.read_roads(src, cache=tmp_path).from_cache


def _block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the network was used")

    monkeypatch.setattr(requests.sessions.Session, "request", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "gethostbyname", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_a_bad_bbox_is_refused_before_any_download(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"west, south, east, north"):
        network.read_roads(NetworkSource(bbox=(121.5, 31.2, 121.4, 31.3)), cache=tmp_path)
