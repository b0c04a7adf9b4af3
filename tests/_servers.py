"""Local stand-ins for Nominatim, Overpass and a static file host, answering from real files.

One :class:`OsmServer` (``http.server.ThreadingHTTPServer`` on 127.0.0.1, port 0, in a thread)
serves three routes and counts every request by route and status:

- ``/search``: Nominatim's search, answered from the admin relations of a real OSM XML extract
  (``name`` of the query's first part, later parts the names of relations that list it as a
  ``subarea``, directly or further up). A relation whose outer ways are all in the extract is
  answered with its polygon as GeoJSON, in the JSON shape Nominatim gives (``osm_type``,
  ``osm_id``, ``boundingbox`` as strings south/north/west/east, ``importance``, ``geojson``);
  one that does not close is answered with its label node as a point; no match is ``[]``.
- ``/api/interpreter`` (POST ``data=``) and ``/api/status``: the Overpass API for the two query
  shapes osmnx sends. A network query (``way["highway"]...(poly:'...');>;``) gets every highway
  way with a node inside the polygon that the query's ``["highway"!~"..."]`` and
  ``["area"!~"yes"]`` filters keep, and their nodes; a features query (``(node['k'='v'](poly:
  '...');(._;>;););`` ... per tag) gets every node, way and relation carrying the tag with a node
  (or member) inside the polygon, with their ways and nodes. osmnx filters features by tag and
  polygon again on its side (``osmnx.features._filter_features``).
- ``/files/...``: static files under a folder, with ``HEAD``, ``Accept-Ranges: bytes`` and single
  ``Range: bytes=a-b`` requests answered 206, as GDAL's ``/vsicurl/`` reads them.

Nothing here is carecircle code; the answers are built from the files, not written by hand.
"""

from __future__ import annotations

import json
import re
import threading
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import shapely
from shapely.geometry import mapping
from shapely.ops import linemerge, polygonize, unary_union


@dataclass
class Extract:
    """An OSM XML file's nodes, ways and relations."""

    nodes: dict[int, tuple[float, float, dict[str, str]]]  # id -> (lon, lat, tags)
    ways: dict[int, tuple[list[int], dict[str, str]]]
    relations: dict[int, tuple[list[tuple[str, int, str]], dict[str, str]]]
    parents: dict[int, set[int]] = field(default_factory=dict)  # relation -> relations listing it

    @classmethod
    def read(cls, path: Path) -> Extract:
        root = ET.parse(path).getroot()

        def tags(el: ET.Element) -> dict[str, str]:
            return {t.get("k", ""): t.get("v", "") for t in el.iter("tag")}

        nodes = {
            int(n.get("id", "0")): (float(n.get("lon", "nan")), float(n.get("lat", "nan")), tags(n))
            for n in root.iter("node")
        }
        ways = {
            int(w.get("id", "0")): ([int(nd.get("ref", "0")) for nd in w.iter("nd")], tags(w))
            for w in root.iter("way")
        }
        relations = {
            int(r.get("id", "0")): (
                [
                    (m.get("type", ""), int(m.get("ref", "0")), m.get("role", ""))
                    for m in r.iter("member")
                ],
                tags(r),
            )
            for r in root.iter("relation")
        }
        parents: dict[int, set[int]] = {}
        for rid, (members, _) in relations.items():
            for kind, ref, role in members:
                if kind == "relation" and role == "subarea":
                    parents.setdefault(ref, set()).add(rid)
        return cls(nodes, ways, relations, parents)

    def ancestors(self, rid: int) -> list[int]:
        seen: list[int] = []
        todo = list(self.parents.get(rid, ()))
        while todo:
            r = todo.pop()
            if r not in seen:
                seen.append(r)
                todo.extend(self.parents.get(r, ()))
        return seen

    def polygon(self, rid: int) -> shapely.Geometry | None:
        """The relation's outer ring(s) when every outer way is in the extract, else None."""
        members, _ = self.relations[rid]
        lines = []
        for kind, ref, role in members:
            if kind != "way" or role not in ("outer", ""):
                continue
            if ref not in self.ways:
                return None
            coords = [self.nodes[n][:2] for n in self.ways[ref][0] if n in self.nodes]
            if len(coords) < 2:
                return None
            lines.append(shapely.LineString(coords))
        polygons = list(polygonize(linemerge(lines))) if lines else []
        return unary_union(polygons) if polygons else None


def _nominatim(extract: Extract, query: str) -> list[dict[str, Any]]:
    parts = [p for p in re.split(r"[,，、\s]+", query) if p]
    if not parts:
        return []
    out = []
    for rid, (members, tags) in extract.relations.items():
        if tags.get("boundary") != "administrative" or tags.get("name") != parts[0]:
            continue
        above = [extract.relations[a][1].get("name", "") for a in extract.ancestors(rid)]
        if not all(p in above or p == "中国" for p in parts[1:]):
            continue
        polygon = extract.polygon(rid)
        if polygon is None:
            label = next(
                (ref for k, ref, role in members if k == "node" and ref in extract.nodes), None
            )
            if label is None:
                continue
            geometry: shapely.Geometry = shapely.Point(extract.nodes[label][:2])
        else:
            geometry = polygon
        west, south, east, north = geometry.bounds
        centre = geometry.representative_point()
        out.append(
            {
                "place_id": rid,
                "licence": "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright",
                "osm_type": "relation",
                "osm_id": rid,
                "lat": f"{centre.y:.7f}",
                "lon": f"{centre.x:.7f}",
                "class": "boundary",
                "type": "administrative",
                "place_rank": 2 * int(tags.get("admin_level", "8")),
                "importance": 0.5,
                "addresstype": "county" if tags.get("admin_level") == "6" else "suburb",
                "name": tags["name"],
                "display_name": ", ".join([tags["name"], *above, "中国"]),
                "boundingbox": [f"{south:.7f}", f"{north:.7f}", f"{west:.7f}", f"{east:.7f}"],
                "geojson": mapping(geometry),
            }
        )
    return out


_POLY = re.compile(r"poly:'([^']+)'")
_COMPONENT = re.compile(r"\((node|way|relation)\[([^\]]+)\]\(poly:'([^']+)'\)")
_NOT = re.compile(r'\["(\w+)"!~"([^"]*)"\]')


def _poly(text: str) -> shapely.Polygon:
    numbers = [float(v) for v in text.split()]
    return shapely.Polygon(list(zip(numbers[1::2], numbers[0::2], strict=True)))  # lat lon pairs


def _overpass(extract: Extract, query: str) -> dict[str, Any]:
    nodes: set[int] = set()
    ways: set[int] = set()
    relations: set[int] = set()

    def inside(polygon: shapely.Geometry, ids: list[int]) -> bool:
        return any(
            i in extract.nodes and polygon.contains(shapely.Point(extract.nodes[i][:2]))
            for i in ids
        )

    def add_way(w: int) -> None:
        ways.add(w)
        nodes.update(n for n in extract.ways[w][0] if n in extract.nodes)

    if 'way["highway"]' in query:
        (poly_text,) = _POLY.findall(query)
        polygon = _poly(poly_text)
        shapely.prepare(polygon)
        excluded = {key: set(values.split("|")) for key, values in _NOT.findall(query)}
        for w, (refs, tags) in extract.ways.items():
            if "highway" not in tags:
                continue
            if any(tags.get(key) in values for key, values in excluded.items()):
                continue
            if inside(polygon, refs):
                add_way(w)
    else:
        for kind, tag_filter, poly_text in _COMPONENT.findall(query):
            polygon = _poly(poly_text)
            shapely.prepare(polygon)
            key, _, value = tag_filter.partition("=")
            key, value = key.strip("'\""), value.strip("'\"")

            def match(tags: dict[str, str], key: str = key, value: str = value) -> bool:
                return key in tags and (not value or tags[key] == value)

            if kind == "node":
                nodes.update(
                    i
                    for i, (lon, lat, tags) in extract.nodes.items()
                    if match(tags) and polygon.contains(shapely.Point(lon, lat))
                )
            elif kind == "way":
                for w, (refs, tags) in extract.ways.items():
                    if match(tags) and inside(polygon, refs):
                        add_way(w)
            else:
                for r, (members, tags) in extract.relations.items():
                    if not match(tags):
                        continue
                    member_ways = [
                        ref for k, ref, _ in members if k == "way" and ref in extract.ways
                    ]
                    member_nodes = [ref for k, ref, _ in members if k == "node"]
                    if inside(polygon, member_nodes) or any(
                        inside(polygon, extract.ways[w][0]) for w in member_ways
                    ):
                        relations.add(r)
                        for w in member_ways:
                            add_way(w)
                        nodes.update(n for n in member_nodes if n in extract.nodes)
    elements: list[dict[str, Any]] = []
    for i in sorted(nodes):
        lon, lat, tags = extract.nodes[i]
        element: dict[str, Any] = {"type": "node", "id": i, "lat": lat, "lon": lon}
        if tags:
            element["tags"] = tags
        elements.append(element)
    for w in sorted(ways):
        refs, tags = extract.ways[w]
        elements.append({"type": "way", "id": w, "nodes": refs, "tags": tags})
    for r in sorted(relations):
        members, tags = extract.relations[r]
        elements.append(
            {
                "type": "relation",
                "id": r,
                "members": [{"type": k, "ref": ref, "role": role} for k, ref, role in members],
                "tags": tags,
            }
        )
    return {
        "version": 0.6,
        "generator": "tests/_servers.py from a real OSM extract",
        "osm3s": {"copyright": "The data included in this document is from www.openstreetmap.org."},
        "elements": elements,
    }


_STATUS = (
    "Connected as: 1\nCurrent time: 2025-01-01T00:00:00Z\nAnnounced endpoint: none\n"
    "Rate limit: 2\n2 slots available now.\nCurrently running queries (pid, space limit, time "
    "limit, start time):\n"
)


class OsmServer:
    """The three services on 127.0.0.1 (see the module's docstring); ``url`` is its base."""

    def __init__(self, osm_file: Path | None = None, files: Path | None = None) -> None:
        self.extract = Extract.read(osm_file) if osm_file is not None else None
        self.files = files
        self.requests: Counter[str] = Counter()  # route -> requests
        self.statuses: Counter[tuple[str, int]] = Counter()  # (route, status) -> responses
        self.ranges: list[str] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        self.running = True

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self.running:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=10)
            self.running = False

    def total(self) -> int:
        return sum(self.requests.values())

    def _count(self, route: str, status: int) -> None:
        with self._lock:
            self.requests[route] += 1
            self.statuses[(route, status)] += 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _send(
                self,
                route: str,
                status: int,
                body: bytes,
                kind: str,
                headers: dict[str, str] | None = None,
            ) -> None:
                server._count(route, status)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _json(self, route: str, data: Any) -> None:
                body = json.dumps(data, ensure_ascii=False).encode("utf-8")
                self._send(route, 200, body, "application/json; charset=utf-8")

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path == "/search" and server.extract is not None:
                    query = parse_qs(parts.query).get("q", [""])[0]
                    self._json("nominatim", _nominatim(server.extract, query))
                elif parts.path == "/api/status":
                    self._send("status", 200, _STATUS.encode(), "text/plain")
                elif parts.path.startswith("/files/") and server.files is not None:
                    self._file(unquote(parts.path[len("/files/") :]))
                else:
                    self._send("other", 404, b"not found", "text/plain")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode("utf-8"))
                if urlsplit(self.path).path == "/api/interpreter" and server.extract is not None:
                    self._json("overpass", _overpass(server.extract, form.get("data", [""])[0]))
                else:
                    self._send("other", 404, b"not found", "text/plain")

            def _file(self, relative: str) -> None:
                assert server.files is not None
                path = server.files / relative  # symbolic links to the real files are served
                if ".." in Path(relative).parts or not path.is_file():
                    self._send("files", 404, b"not found", "text/plain")
                    return
                data = path.read_bytes()
                wanted = self.headers.get("Range")
                if not wanted or self.command == "HEAD":
                    self._send("files", 200, data, "image/tiff", {"Accept-Ranges": "bytes"})
                    return
                with server._lock:
                    server.ranges.append(wanted)
                match = re.fullmatch(r"bytes=(\d*)-(\d*)", wanted.strip())
                if match is None or not (match.group(1) or match.group(2)):
                    self._send(
                        "files", 416, b"", "text/plain", {"Content-Range": f"bytes */{len(data)}"}
                    )
                    return
                first, last = match.groups()
                if first:
                    start, end = (
                        int(first),
                        min(int(last) if last else len(data) - 1, len(data) - 1),
                    )
                else:
                    start, end = max(len(data) - int(last), 0), len(data) - 1
                if start >= len(data) or start > end:
                    self._send(
                        "files", 416, b"", "text/plain", {"Content-Range": f"bytes */{len(data)}"}
                    )
                    return
                self._send(
                    "files",
                    206,
                    data[start : end + 1],
                    "image/tiff",
                    {"Accept-Ranges": "bytes", "Content-Range": f"bytes {start}-{end}/{len(data)}"},
                )

        return Handler
