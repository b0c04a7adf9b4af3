"""A carecircle scenario kit for 贵溪市 Guixi (鹰潭, Jiangxi; code 360681) from real files only.

``build(folder)`` writes a complete scenario (``guixi.yaml``, ``admin.gpkg``, ``population.csv``,
``facilities.csv``, ``parcels.gpkg``, ``manifest.json``) the way a county planner new to the tool
would assemble one from what is at hand: the OSM extract ``../shared/data/osm/guixi-jiangxi.osm``
(an API export of the city's core, ~6.3 x 4.5 km) and the 2020 census county table
(``../shared/data/china/census-2020-county/``). ``plan(folder)`` writes an allocation plan for
``carecircle check-plan``. Pure functions, no network. ``manifest.json`` records every figure
below as the build computed it.

What is real
------------
* Roads: the OSM file itself (176 ``highway`` ways), read by carecircle from its own path.
* Boundary: the ``admin_level=6`` relation 贵溪市 (r3245897). The file does not hold it closed:
  62 of its 64 member ways are absent. An OSM API export holds every way with a node inside its
  ``<bounds>``, so the absent ways have no node inside the bounds and the outline's course
  *inside* the bounds is complete: the two ways present (the 贵溪市/弋阳县 border along the east
  edge) cut the bounds box into faces, and the faces on the side of the relation's
  ``admin_centre`` node (贵溪市, place=city) are the county within the bounds. Method
  ``admin6-within-bounds`` in the manifest; ``boundary="townships"`` takes the 乡镇/街道 union
  instead, ``boundary="bounds"`` the ``<bounds>`` box, and ``"auto"`` (default) goes admin6 closed
  in the file -> admin6 within the bounds -> the townships' union -> the box.
* Townships: the ``admin_level=8`` relations the 贵溪市 relation lists as ``subarea`` (6 of the
  file's 7; 圭峰镇 belongs to 弋阳县 and is left out, recorded). Only 东门街道 closes from its
  own ways (that is also all ``osmnx.features_from_xml`` assembles: 1 of 7 polygons); the
  others are resolved within the bounds as the county is. Which side of a township's lines is
  inside: the side holding its ``label`` node when the file has it (花园街道, 雄石街道,
  东门街道); else the side that overlaps neither a township already placed nor the land outside
  the county (滨江镇, 河潭镇, 流口镇). The ``admin_centre`` of a township is not used: 滨江镇's
  seat (贵溪市滨江镇人民政府) stands inside 东门街道. A relation whose side cannot be told is
  dropped and recorded. Every township is clipped to the boundary. Ids: 360681 + a 3-digit
  index in the order of the OSM relation ids + ``000`` (12-digit 统计用区划代码 style); the OSM
  relation id is kept in column ``OSMID``; names from ``name``; 类型 街道/镇 from the name.
* Villages/communities (村/社区): one per named ``place=town|quarter|village|locality`` node
  (24: town x3, quarter x16, village x4, locality x1); the ``place=city`` node is the county
  seat's label and is not a village. The three ``place=town`` nodes are the 街道 label nodes,
  standing in for each 街道's seat community, and the ``locality`` is the 滨江镇 government
  building (flagged in the manifest). Names are the ``name`` tags; 类型 社区, or 村 for
  ``place=village``. Each village's township is the township polygon containing its node.
* Census (2020, county 360681): population 540,572, 城区人口 198,398 and the 60+ count summed
  from the ``census_county_2020_v1.xlsx`` row (男/女 60-64 ... 85+); cross-checked against
  ``tudigong-ages.csv`` shares x ``tudigong-population.csv`` POPU (the manifest gives both).
* Facility and parcel *locations*: real OSM nodes (place nodes, townhalls, schools).

What is approximated (flagged ``approximate`` in the manifest)
--------------------------------------------------------------
* Village territories: Voronoi cells of the village nodes of each township, clipped to it. Real
  村/社区 boundaries are not in OSM. A township holding no village node has no village polygon:
  河潭镇 and 流口镇 reach into the bounds as slivers of 0.035 and 0.029 km² and hold none.
* Older residents (60+) by village: the bounds are taken to hold the city's 城区 (the built-up
  core), so the core's older residents are the county's 60+ count x (城区人口 / 常住人口) =
  96,509 x 198,398 / 540,572 = 35,420. The census gives 城区人口 but no age table for it, so the
  county's 60+ share (17.9 %) is applied to the core; towns age less than villages (nationally the
  2020 census bulletin has 23.8 % 60+ in rural areas against 15.8 % in urban ones, a figure not in
  these files), so 35,420 likely overstates the core, and part of the 城区 may lie outside the
  bounds; ``older_total=`` overrides it. The total is split over the villages by place-type
  weight (``PLACE_WEIGHTS``: town 5, quarter 3, village 1, locality 1: 2,604 / 1,562-1,563 / 521
  each); 常住人口 likewise from 城区人口. Each count sits at its node (``population_as="points"``,
  the default) or is spread over its Voronoi cell (``"polygons"``).
* Facilities: the register (民政 columns, UTF-8 with BOM) is invented: 7 names, types, floor
  areas and beds at real coordinates. One village centre (黄坑村) stands at its real place node,
  ~800 m from any mapped road (the sparse-map case; ``off_network_facility=False`` leaves it out).
  ``local_spellings=True`` writes local type wording: 居家养老服务站, 社区日间照料中心, 养老院
  for village-level centres and 颐养之家 (Jiangxi's 农村颐养之家, in no default mapping);
  ``map_local_types=True`` also maps 颐养之家 to ``mutual_aid`` in the scenario (养老院 is left to
  the default mapping, which makes it an ``institution``). ``coords="gcj02"`` writes the
  register's coordinates shifted to GCJ-02 and declares ``coords: gcj02``.
* Candidate parcels: circles of documented land area around real points (schools, a townhall,
  village nodes) with invented 用地代码 and 现状; one (花园村旱地, 0103, 12,000 m² = 18 亩) is
  farmland beside the densest communities and the only parcel large enough for a 200-bed home at
  40 m² a bed: the site a model would like and the rules forbid.
* The plan of ``plan()``: three invented village centres at real place nodes.
"""

from __future__ import annotations

import functools
import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml
from pyproj import Transformer

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
OSM_FILE = SHARED / "osm" / "guixi-jiangxi.osm"
CENSUS = SHARED / "china" / "census-2020-county"
CODE = "360681"
NAME = "贵溪市"
COUNTY_RELATION = 3245897  # admin_level=6 贵溪市
WORK_CRS = "EPSG:4548"  # CGCS2000 / 3-degree Gauss-Kruger CM 117E (117.19-117.26 E)
PLACE_WEIGHTS: Mapping[str, float] = {"town": 5, "quarter": 3, "village": 1, "locality": 1}
MU_M2 = 10_000 / 15  # 1 亩

# Local wording of the facility types (local_spellings=True); 颐养之家 is in no default mapping.
LOCAL_TYPES = ("居家养老服务站", "社区日间照料中心", "养老院", "颐养之家")

_TO_M = Transformer.from_crs("EPSG:4326", WORK_CRS, always_xy=True)
_TO_DEG = Transformer.from_crs(WORK_CRS, "EPSG:4326", always_xy=True)


# --- reading the OSM file ------------------------------------------------------------------------


@dataclass(frozen=True)
class Osm:
    """The parts of an OSM XML file the kit uses; coordinates in WORK_CRS metres."""

    bounds: tuple[float, float, float, float]  # west, south, east, north (degrees)
    xy: dict[int, tuple[float, float]]  # node id -> (x, y) metres
    node_tags: dict[int, dict[str, str]]  # tagged nodes only
    ways: dict[int, tuple[list[int], dict[str, str]]]
    relations: dict[int, tuple[list[tuple[str, int, str]], dict[str, str]]]

    def box(self) -> shapely.Polygon:
        w, s, e, n = self.bounds
        ring = [(w, s), (e, s), (e, n), (w, n)]
        return shapely.Polygon([_TO_M.transform(x, y) for x, y in ring])

    def line(self, way: int) -> shapely.LineString:
        return shapely.LineString([self.xy[n] for n in self.ways[way][0] if n in self.xy])

    def lonlat(self, node: int) -> tuple[float, float]:
        return _TO_DEG.transform(*self.xy[node])


@functools.lru_cache(maxsize=4)
def read_osm(path: Path = OSM_FILE) -> Osm:
    """Nodes, ways, relations and ``<bounds>`` of an OSM XML file."""
    root = ET.parse(path).getroot()
    b = root.find("bounds")
    if b is None:
        raise ValueError(f"{path}: no <bounds> element")
    bounds = tuple(float(b.get(k, "nan")) for k in ("minlon", "minlat", "maxlon", "maxlat"))
    ids, lons, lats, node_tags = [], [], [], {}
    for n in root.iter("node"):
        i = int(n.get("id", "0"))
        ids.append(i)
        lons.append(float(n.get("lon", "nan")))
        lats.append(float(n.get("lat", "nan")))
        tags = {t.get("k", ""): t.get("v", "") for t in n.iter("tag")}
        if tags:
            node_tags[i] = tags
    xs, ys = _TO_M.transform(np.array(lons), np.array(lats))
    ways = {
        int(w.get("id", "0")): (
            [int(nd.get("ref", "0")) for nd in w.iter("nd")],
            {t.get("k", ""): t.get("v", "") for t in w.iter("tag")},
        )
        for w in root.iter("way")
    }
    relations = {
        int(r.get("id", "0")): (
            [
                (m.get("type", ""), int(m.get("ref", "0")), m.get("role", ""))
                for m in r.iter("member")
            ],
            {t.get("k", ""): t.get("v", "") for t in r.iter("tag")},
        )
        for r in root.iter("relation")
    }
    xy = {i: (float(x), float(y)) for i, x, y in zip(ids, xs, ys, strict=True)}
    return Osm(bounds, xy, node_tags, ways, relations)  # type: ignore[arg-type]


# --- admin areas ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    """An admin relation resolved within the file's bounds (or closed in the file)."""

    relation: int
    name: str
    geometry: shapely.Geometry | None
    method: str  # closed-in-file, within-bounds, dropped
    note: str
    ways_present: int
    ways_total: int


def _member_ways(osm: Osm, relation: int) -> tuple[list[int], int]:
    members = osm.relations[relation][0]
    wanted = [ref for kind, ref, _ in members if kind == "way"]
    return [w for w in wanted if w in osm.ways], len(wanted)


def _anchors(osm: Osm, relation: int, roles: tuple[str, ...]) -> list[shapely.Point]:
    members = osm.relations[relation][0]
    return [
        shapely.Point(osm.xy[ref])
        for kind, ref, role in members
        if kind == "node" and role in roles and ref in osm.xy
    ]


def _closed(lines: list[shapely.LineString]) -> shapely.Geometry | None:
    """The polygon the lines close on their own, if they do (every line used)."""
    if not lines:
        return None
    polygons, _cuts, dangles, invalid = shapely.polygonize_full(lines)
    if shapely.is_empty(polygons) or not shapely.is_empty(dangles) or not shapely.is_empty(invalid):
        return None
    # Inner rings (holes) would come out as polygons of their own and be filled in by the union:
    # no relation of this file has one.
    merged = shapely.union_all(shapely.get_parts(polygons))
    return merged if merged.area > 0 else None


def _sides(lines: list[shapely.LineString], box: shapely.Polygon) -> list[shapely.Geometry] | None:
    """The box cut by the lines, its faces 2-coloured so crossing a line flips the colour.

    The relation's boundary (closed somewhere outside the box) is a set of closed curves, so the
    faces on one colour are its interior within the box and the others its exterior. Returns the
    two unions, or None when the faces cannot be 2-coloured (the lines do not cross the box).
    """
    if not any(line.intersects(box) for line in lines):
        return None
    # Whole lines, not clipped ones: a clipped end lies on the box's edge only to rounding and
    # would not be noded with it.
    noded = shapely.union_all([box.exterior, *lines])
    faces = [
        f
        for f in shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)).geoms)
        if f.area > 1.0 and box.buffer(0.01).contains(f)
    ]
    if len(faces) < 2:
        return None
    colour = [-1] * len(faces)
    colour[0] = 0
    queue = [0]
    while queue:
        i = queue.pop()
        for j, f in enumerate(faces):
            if j == i or shapely.intersection(faces[i].boundary, f.boundary).length < 0.01:
                continue
            if colour[j] < 0:
                colour[j] = 1 - colour[i]
                queue.append(j)
            elif colour[j] == colour[i]:
                return None
    if min(colour) < 0:
        return None
    return [
        shapely.union_all([f for f, c in zip(faces, colour, strict=True) if c == k]) for k in (0, 1)
    ]


def resolve(
    osm: Osm,
    relation: int,
    *,
    roles: tuple[str, ...] = ("label",),
    placed: shapely.Geometry | None = None,
) -> Area:
    """A relation's polygon: closed from its own ways, else within the file's bounds.

    Within the bounds the side is the one holding a node of ``roles`` (label nodes), else the
    one overlapping ``placed`` (areas it may not overlap) least, when that is clearly less.
    """
    name = osm.relations[relation][1].get("name", str(relation))
    present, total = _member_ways(osm, relation)

    def area(geometry: shapely.Geometry | None, method: str, note: str) -> Area:
        return Area(relation, name, geometry, method, note, len(present), total)

    lines = [osm.line(w) for w in present]
    closed = _closed(lines) if len(present) == total else None
    if closed is not None:
        return area(closed, "closed-in-file", "all member ways present and closed")
    box = osm.box()
    sides = _sides(lines, box)
    if sides is None:
        return area(None, "dropped", "its ways in the file do not cut the bounds")
    anchors = [p for p in _anchors(osm, relation, roles) if box.contains(p)]
    holding = [k for k, side in enumerate(sides) if any(side.contains(p) for p in anchors)]
    if len(holding) == 1:
        return area(sides[holding[0]], "within-bounds", f"side of its {'/'.join(roles)} node")
    if placed is not None and not placed.is_empty:
        overlap = [shapely.intersection(side, placed).area / side.area for side in sides]
        best = int(np.argmin(overlap))
        if overlap[best] < 0.02 and overlap[1 - best] > 0.5:
            note = (
                "side overlapping neither a township placed before nor land outside the county "
                f"({overlap[best]:.1%} overlap; the other side {overlap[1 - best]:.0%})"
            )
            return area(sides[best], "within-bounds", note)
    return area(None, "dropped", "no label node in the bounds and both sides plausible")


def admin_areas(osm: Osm, boundary: str = "auto") -> dict[str, Any]:
    """The county outline and its townships (each clipped to it), with what was done."""
    county = resolve(osm, COUNTY_RELATION, roles=("label", "admin_centre"))
    members = osm.relations[COUNTY_RELATION][0]
    subareas = {ref for kind, ref, role in members if kind == "relation" and role == "subarea"}
    level8 = sorted(r for r, (_, tags) in osm.relations.items() if tags.get("admin_level") == "8")
    outside = [r for r in level8 if r not in subareas]
    candidates = [r for r in level8 if r in subareas]
    box = osm.box()
    county_geom = county.geometry if county.geometry is not None else box
    # Label-anchored townships first, then the others against them and the land beyond the county.
    areas: dict[int, Area] = {}
    for r in candidates:
        area = resolve(osm, r)
        if area.method == "closed-in-file" or (area.method != "dropped" and "label" in area.note):
            areas[r] = area
    for r in candidates:
        if r in areas:
            continue
        placed = shapely.union_all(
            [a.geometry for a in areas.values() if a.geometry is not None]
            + [shapely.difference(box, county_geom)]
        )
        areas[r] = resolve(osm, r, placed=placed)
    kept = {r: a for r, a in areas.items() if a.geometry is not None}
    union = shapely.union_all([a.geometry for a in kept.values()]) if kept else None
    if boundary == "auto":
        if county.method == "closed-in-file":
            method = "admin6-closed"
        elif county.geometry is not None:
            method = "admin6-within-bounds"
        elif union is not None:
            method = "townships-union"
        else:
            method = "bounds"
    else:
        method = {"admin6": "admin6-within-bounds", "townships": "townships-union"}.get(
            boundary, boundary
        )
    outline = {
        "admin6-closed": county.geometry,
        "admin6-within-bounds": county.geometry,
        "townships-union": union,
        "bounds": box,
    }[method]
    if outline is None:
        raise ValueError(f"boundary {boundary!r}: the file gives no such outline")
    outline = shapely.intersection(outline, box)
    townships = {}
    for r, a in sorted(kept.items()):
        clipped = shapely.intersection(a.geometry, outline)
        clipped = shapely.union_all(
            [p for p in shapely.get_parts(clipped) if p.geom_type == "Polygon" and p.area > 1.0]
        )
        if clipped.area > 0:
            townships[r] = clipped
    return {
        "county": county,
        "outline": outline,
        "method": method,
        "areas": areas,
        "townships": townships,
        "not_subareas": outside,
        "union": union,
    }


_BOUNDARY_WHY = {
    "admin6-closed": "the admin_level=6 relation closes from the ways in the file",
    "admin6-within-bounds": "the admin_level=6 relation's course inside the file's bounds is complete "
    "(an OSM API export holds every way with a node there); the outline is that course closed along "
    "the bounds: the county continues beyond them",
    "townships-union": "the union of the 乡镇/街道 polygons, each resolved within the bounds",
    "bounds": "the file's <bounds> box: no admin outline used",
}


# --- census --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def census(code: str = CODE, folder: Path = CENSUS) -> dict[str, Any]:
    """The county's 2020 census row: residents, 城区/城镇 residents, 60+ (two transcriptions)."""
    import openpyxl

    book = openpyxl.load_workbook(folder / "census_county_2020_v1.xlsx", read_only=True)
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [str(h) for h in next(rows)]
        row = next(r for r in rows if str(r[0]).removesuffix(".0") == code)
    finally:
        book.close()
    values = dict(zip(header, row, strict=False))
    bands = [h for h in header if h[:2] in ("男_", "女_") and _band_start(h) >= 60]
    older = int(sum(int(values[h]) for h in bands))
    ages = pd.read_csv(folder / "tudigong-ages.csv", encoding="utf-8-sig", dtype={"CODE": str})
    pops = pd.read_csv(
        folder / "tudigong-population.csv", encoding="utf-8-sig", dtype={"CODE": str}
    )
    a = ages[ages["CODE"] == code].iloc[0]
    popu = int(pops.loc[pops["CODE"] == code, "POPU"].iloc[0])
    share = sum(
        float(a[c])
        for c in ("AGES_60-64", "AGES_65-69", "AGES_70-74", "AGES_75-79", "AGES_80-84", "AGES_85P")
    )
    return {
        "code": code,
        "name": str(values["区县"]),
        "residents": int(values["人口数_合计"]),
        "urban_core_residents": int(values["城区人口"]),
        "town_residents": int(values["城镇人口"]),
        "older_60plus": older,
        "older_bands": bands,
        "older_share": older / int(values["人口数_合计"]),
        "tudigong_popu": popu,
        "tudigong_older_share": round(share, 4),
        "tudigong_older": round(share * popu),
        "source": "census_county_2020_v1.xlsx (七普（年鉴）), tudigong-ages.csv, tudigong-population.csv",
    }


def _band_start(header: str) -> int:
    digits = header[2:].split("到")[0].replace("岁以上", "").replace("岁", "")
    return int(digits) if digits.isdigit() else -1


# --- villages and population ---------------------------------------------------------------------


def villages(
    osm: Osm, townships: Mapping[int, shapely.Geometry], outline: shapely.Geometry
) -> dict[str, Any]:
    """One village per named place node in a township; Voronoi territories within each township."""
    order = sorted(townships)
    codes = {r: f"{CODE}{k:03d}" for k, r in enumerate(order, start=1)}
    rows, skipped = [], []
    for node, tags in sorted(osm.node_tags.items()):
        place = tags.get("place")
        if place not in PLACE_WEIGHTS or not tags.get("name"):
            continue
        point = shapely.Point(osm.xy[node])
        home = [r for r in order if townships[r].contains(point)]
        if not home:
            skipped.append(
                {
                    "osm_node": node,
                    "name": tags["name"],
                    "place": place,
                    "why": "in no township" if outline.contains(point) else "outside the boundary",
                }
            )
            continue
        kind = "村" if place == "village" or tags["name"].endswith("村") else "社区"
        rows.append(
            {
                "node": node,
                "name": tags["name"],
                "place": place,
                "kind": kind,
                "township": home[0],
                "point": point,
            }
        )
    for r in order:  # NBS style: 社区 (居委会) 001-199, 村 (村委会) 200-399
        mine = [v for v in rows if v["township"] == r]
        counters = {"社区": 1, "村": 200}
        for v in mine:
            v["id"] = f"{codes[r]}{counters[v['kind']]:03d}"
            counters[v["kind"]] += 1
            v["township_id"] = f"{codes[r]}000"
        points = shapely.MultiPoint([v["point"] for v in mine]) if mine else None
        if points is None:
            continue
        if len(mine) == 1:
            mine[0]["territory"] = townships[r]
            continue
        cells = shapely.voronoi_polygons(points, extend_to=townships[r].buffer(1000))
        for v in mine:
            cell = next(c for c in shapely.get_parts(cells) if c.contains(v["point"]))
            v["territory"] = shapely.intersection(cell, townships[r])
    return {"villages": rows, "codes": codes, "skipped": skipped}


def _older_split(
    rows: list[dict[str, Any]], total: float, weights: Mapping[str, float]
) -> list[int]:
    """Integers summing to ``total`` in proportion to each row's place weight (largest remainder)."""
    w = np.array([float(weights[v["place"]]) for v in rows])
    exact = total * w / w.sum()
    out = np.floor(exact).astype(int)
    rest = round(total) - int(out.sum())
    out[np.argsort(-(exact - out), kind="stable")[:rest]] += 1
    return [int(x) for x in out]


# --- facilities and parcels ----------------------------------------------------------------------

# (id, name, default type, local type, place or amenity node name, floor m², beds, nursing beds)
_FACILITIES = (
    (
        "MZ360681001",
        "花园社区居家养老服务照料中心",
        "社区居家养老服务照料中心",
        "居家养老服务站",
        "花园社区",
        420,
        8,
        0,
    ),
    (
        "MZ360681002",
        "东街社区日间照料中心",
        "城市社区日间照料中心",
        "社区日间照料中心",
        "东街社区",
        380,
        6,
        0,
    ),
    (
        "MZ360681003",
        "信江社区居家养老服务站",
        "社区居家养老服务站",
        "养老院",
        "信江社区",
        260,
        4,
        0,
    ),
    (
        "MZ360681004",
        "柏里村居家养老服务照料中心",
        "村级居家养老服务照料中心",
        "颐养之家",
        "柏里村",
        220,
        6,
        0,
    ),
    (
        "MZ360681005",
        "黄坑村居家养老服务照料中心",
        "村级居家养老服务照料中心",
        "居家养老服务站",
        "黄坑村",
        180,
        4,
        0,
    ),
    (
        "MZ360681006",
        "东门街道综合型养老服务中心",
        "乡镇（街道）综合型养老服务中心",
        "乡镇（街道）综合型养老服务中心",
        "东门街道办事处",
        3200,
        60,
        36,
    ),
    ("MZ360681007", "滨江镇敬老院", "敬老院", "敬老院", "贵溪市滨江镇人民政府", 2400, 80, 30),
)
OFF_NETWORK_FACILITY = "MZ360681005"

# (id, name, node name, land m², 用地代码, 现状)
_PARCELS = (
    ("DK001", "贵溪五中旧校区", "贵溪五中", 5000, "080403", "闲置校舍"),
    ("DK002", "实验中学东侧福利用地", "贵溪市实验中学", 4500, "0807", "储备用地"),
    ("DK003", "第四中学旧址", "贵溪市第四中学", 4200, "0804", "闲置校舍"),
    ("DK004", "东门街道办事处旁社区用房", "东门街道办事处", 1200, "0702", "社区用房"),
    ("DK005", "柏里村委会闲置用房", "柏里村", 1500, "0704", "村集体闲置用房"),
    ("DK006", "市政府旧办公区", "贵溪市人民政府", 3000, "0801", "闲置办公用房"),
    ("DK007", "花园村旱地", "花园村", 12000, "0103", "耕地（旱地）"),
)
FARMLAND_PARCEL = "DK007"

# New village centres of plan(): (id, name, place node, type, floor m², beds, 用地代码)
_PLAN = (
    (
        "GH001",
        "炼厂社区居家养老服务照料中心",
        "炼厂社区",
        "社区居家养老服务照料中心",
        320,
        6,
        "0702",
    ),
    (
        "GH002",
        "化肥厂社区居家养老服务照料中心",
        "化肥厂社区",
        "社区居家养老服务照料中心",
        260,
        4,
        "0702",
    ),
    (
        "GH003",
        "大岩苏家村居家养老服务照料中心",
        "大岩苏家",
        "村级居家养老服务照料中心",
        200,
        4,
        "0704",
    ),
)


def _named_nodes(osm: Osm) -> dict[str, int]:
    return {tags["name"]: n for n, tags in osm.node_tags.items() if "name" in tags}


def _road_distance(osm: Osm, points: list[shapely.Point]) -> list[float]:
    """Metres from each point to the nearest mapped road (highway ways, construction excluded)."""
    lines = [
        osm.line(w)
        for w, (_, tags) in osm.ways.items()
        if "highway" in tags and tags["highway"] not in ("construction", "proposed")
    ]
    roads = shapely.union_all(lines)
    return [float(roads.distance(p)) for p in points]


# --- writing -------------------------------------------------------------------------------------


def build(folder: Path, **options: Any) -> Path:
    """Write the Guixi kit into ``folder``; return the scenario file's path.

    Options: ``local_spellings`` (False), ``map_local_types`` (False), ``off_network_facility``
    (True), ``coords`` ("wgs84" or "gcj02"), ``boundary`` ("auto", "admin6", "townships",
    "bounds"), ``population_as`` ("points" or "polygons"), ``older_total`` (None: the census
    share of the 城区), ``place_weights`` (PLACE_WEIGHTS), ``osm`` and ``census_folder`` (paths).
    """
    known = {
        "local_spellings",
        "map_local_types",
        "off_network_facility",
        "coords",
        "boundary",
        "population_as",
        "older_total",
        "place_weights",
        "osm",
        "census_folder",
    }
    unknown = set(options) - known
    if unknown:
        raise TypeError(
            f"unknown option(s): {', '.join(sorted(unknown))}; valid: {', '.join(sorted(known))}"
        )
    local = bool(options.get("local_spellings", False))
    coords = options.get("coords", "wgs84")
    if coords not in ("wgs84", "gcj02"):
        raise ValueError(f"coords must be 'wgs84' or 'gcj02', not {coords!r}")
    population_as = options.get("population_as", "points")
    if population_as not in ("points", "polygons"):
        raise ValueError(f"population_as must be 'points' or 'polygons', not {population_as!r}")
    weights = dict(options.get("place_weights") or PLACE_WEIGHTS)
    osm_path = Path(options.get("osm") or OSM_FILE).resolve()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    osm = read_osm(osm_path)
    admin = admin_areas(osm, options.get("boundary", "auto"))
    outline = admin["outline"]
    vil = villages(osm, admin["townships"], outline)
    rows = vil["villages"]
    people = dict(census(CODE, Path(options.get("census_folder") or CENSUS)))
    core_share = people["urban_core_residents"] / people["residents"]
    older_default = round(people["older_60plus"] * core_share)
    older_total = int(options.get("older_total") or older_default)
    older = _older_split(rows, older_total, weights)
    residents = _older_split(rows, people["urban_core_residents"], weights)

    # admin.gpkg: county, townships, villages (EPSG:4326, as a planner's layers would be)
    gpkg = folder / "admin.gpkg"
    gpkg.unlink(missing_ok=True)
    _frame({"XZQDM": [CODE], "XZQMC": [NAME]}, [outline]).to_file(gpkg, layer="county")
    tcodes = vil["codes"]
    twp = _frame(
        {
            "XZQDM": [f"{tcodes[r]}000" for r in admin["townships"]],
            "XZQMC": [admin["areas"][r].name for r in admin["townships"]],
            "XZQLX": [_township_kind(admin["areas"][r].name) for r in admin["townships"]],
            "OSMID": [r for r in admin["townships"]],
        },
        list(admin["townships"].values()),
    )
    twp.to_file(gpkg, layer="townships")
    with_territory = [v for v in rows if "territory" in v]
    _frame(
        {
            "XZQDM": [v["id"] for v in with_territory],
            "XZQMC": [v["name"] for v in with_territory],
            "SSXZDM": [v["township_id"] for v in with_territory],
            "CJLX": [v["kind"] for v in with_territory],
            "OSMNODE": [v["node"] for v in with_territory],
        },
        [v["territory"] for v in with_territory],
    ).to_file(gpkg, layer="villages")

    # population: village counts, at the nodes (CSV) or over the Voronoi cells (GeoPackage)
    pop_columns = {
        "村社区代码": "id",
        "村社区名称": "name",
        "所属乡镇代码": "township",
        "60岁及以上人口": "older",
        "常住人口": "residents",
    }
    pop_table = pd.DataFrame(
        {
            "村社区代码": [v["id"] for v in rows],
            "村社区名称": [v["name"] for v in rows],
            "所属乡镇代码": [v["township_id"] for v in rows],
            "60岁及以上人口": older,
            "常住人口": residents,
        }
    )
    if population_as == "points":
        lonlat = [_TO_DEG.transform(v["point"].x, v["point"].y) for v in rows]
        pop_table["经度"] = [round(x, 7) for x, _ in lonlat]
        pop_table["纬度"] = [round(y, 7) for _, y in lonlat]
        pop_table.to_csv(folder / "population.csv", index=False, encoding="utf-8-sig")
        population = {
            "points": {
                "path": "population.csv",
                "x": "经度",
                "y": "纬度",
                "crs": "EPSG:4326",
                "columns": pop_columns,
            }
        }
    else:
        _frame(pop_table.to_dict("list"), [v["territory"] for v in rows]).to_file(
            folder / "population.gpkg", layer="villages"
        )
        population = {
            "points": {"path": "population.gpkg", "layer": "villages", "columns": pop_columns}
        }

    # facilities.csv: the 民政 register
    named = _named_nodes(osm)
    include = [
        f
        for f in _FACILITIES
        if options.get("off_network_facility", True) or f[0] != OFF_NETWORK_FACILITY
    ]
    fpoints = [shapely.Point(osm.xy[named[f[4]]]) for f in include]
    fdeg = np.array([_TO_DEG.transform(p.x, p.y) for p in fpoints])
    lon, lat = fdeg[:, 0], fdeg[:, 1]
    if coords == "gcj02":
        from carecircle.sources.coords import wgs84_to_gcj02

        lon, lat = wgs84_to_gcj02(lon, lat)
    register = pd.DataFrame(
        {
            "机构编号": [f[0] for f in include],
            "机构名称": [f[1] for f in include],
            "机构类型": [f[3] if local else f[2] for f in include],
            "经度": np.round(lon, 7),
            "纬度": np.round(lat, 7),
            "建筑面积（平方米）": [f[5] for f in include],
            "床位数": [f[6] for f in include],
            "护理型床位数": [f[7] for f in include],
        }
    )
    register.to_csv(folder / "facilities.csv", index=False, encoding="utf-8-sig")
    road_m = _road_distance(osm, fpoints)

    # parcels.gpkg: candidate parcels, circles of the stated land area
    ppoints = [shapely.Point(osm.xy[named[p[2]]]) for p in _PARCELS]
    circles = [
        pt.buffer(math.sqrt(p[3] / math.pi), 32) for pt, p in zip(ppoints, _PARCELS, strict=True)
    ]
    _frame(
        {
            "地块编号": [p[0] for p in _PARCELS],
            "地块名称": [p[1] for p in _PARCELS],
            "用地面积": [round(c.area, 1) for c in circles],
            "用地代码": [p[4] for p in _PARCELS],
            "现状": [p[5] for p in _PARCELS],
        },
        circles,
    ).to_file(folder / "parcels.gpkg", layer="parcels")

    facilities: dict[str, Any] = {
        "path": "facilities.csv",
        "x": "经度",
        "y": "纬度",
        "crs": "EPSG:4326",
        "columns": {
            "机构编号": "id",
            "机构名称": "name",
            "机构类型": "type",
            "建筑面积（平方米）": "floor_m2",
            "床位数": "beds",
            "护理型床位数": "nursing_beds",
        },
    }
    if coords == "gcj02":
        facilities["coords"] = "gcj02"
    if local and options.get("map_local_types", False):
        facilities["types"] = {"颐养之家": "mutual_aid"}
    path = folder / "guixi.yaml"
    raw = _scenario(osm_path, population, facilities)
    path.write_text(
        "# 贵溪市 Guixi kit (benchmarks/guixi.py): real OSM roads, boundaries and places; approximated\n"
        "# village territories, village counts, register and parcels (see manifest.json).\n"
        + yaml.safe_dump(raw, allow_unicode=True, sort_keys=False, width=100),
        encoding="utf-8",
    )

    facts = {
        "osm_path": osm_path,
        "people": people,
        "options": options,
        "older": older,
        "residents": residents,
        "older_total": older_total,
        "older_default": older_default,
        "core_share": core_share,
        "weights": weights,
        "include": include,
        "road_m": road_m,
        "circles": circles,
        "population_as": population_as,
        "coords": coords,
    }
    manifest = _manifest(osm, admin, vil, facts)
    (folder / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return path


def _frame(
    columns: Mapping[str, list[Any]], geometries: list[shapely.Geometry]
) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(dict(columns), geometry=list(geometries), crs=WORK_CRS).to_crs(4326)


def _township_kind(name: str) -> str:
    for kind in ("街道", "镇", "乡"):
        if name.endswith(kind):
            return kind
    return ""


def _scenario(
    osm_path: Path, population: dict[str, Any], facilities: dict[str, Any]
) -> dict[str, Any]:
    admin = {"path": "admin.gpkg"}
    return {
        "name": "guixi",
        "title": "贵溪市城区（OSM 真实路网与区划，近似村界与人口）/ Guixi urban core (real OSM data, approximated villages and counts)",
        "crs": WORK_CRS,
        "area": {
            "boundary": {**admin, "layer": "county", "columns": {"XZQDM": "id", "XZQMC": "name"}},
            "buffer_m": 2000,
        },
        "data": {
            "network": {"path": str(osm_path)},
            "population": population,
            "townships": {
                **admin,
                "layer": "townships",
                "columns": {"XZQDM": "id", "XZQMC": "name", "XZQLX": "kind"},
            },
            "villages": {
                **admin,
                "layer": "villages",
                "columns": {"XZQDM": "id", "XZQMC": "name", "SSXZDM": "township", "CJLX": "kind"},
            },
            "facilities": facilities,
            "candidates": {
                "path": "parcels.gpkg",
                "layer": "parcels",
                "columns": {
                    "地块编号": "id",
                    "地块名称": "name",
                    "用地面积": "land_m2",
                    "用地代码": "land_use",
                    "现状": "status",
                },
            },
        },
        "tiers": {
            "village": {"mode": "walk", "minutes": 15},
            "township": {"mode": "ebike", "minutes": 15},
            "regional": {"mode": "drive", "minutes": 30},
        },
        "travel": {"walk_speed_mps": 1.0, "walk_speed_band": [0.8, 1.2], "max_access_m": 500},
        "policy": {
            "document": "贵溪市十五分钟养老服务圈（套件示例，非正式文件）/ Guixi 15-minute circle (kit example, not an official document)",
            "targets": {
                "circle-15min": None,
                "village-center-coverage": None,
                "town-center-coverage": None,
                "village-center-150": None,
                "nursing-share-55": None,
            },
        },
        "siting": {
            "new_beds": 200,
            "beds_per_site": [100, 200],
            "nursing_share": 0.55,
            "land_quota_mu": 15,
            "time_limit_s": 20,
        },
        "plan": {
            "facilities": {
                "layer": "养老设施",
                "x": "经度",
                "y": "纬度",
                "columns": {
                    "编号": "id",
                    "名称": "name",
                    "记录类型": "record",
                    "类型": "type",
                    "床位数": "beds",
                    "护理床位": "nursing_beds",
                    "建筑面积": "floor_m2",
                    "用地面积": "land_m2",
                    "用地代码": "land_use",
                    "性质": "ownership",
                    "级别": "level",
                },
            },
            "projects": {
                "layer": "住宅项目",
                "x": "经度",
                "y": "纬度",
                "columns": {
                    "编号": "id",
                    "名称": "name",
                    "记录类型": "record",
                    "总建筑面积": "gross_floor_m2",
                    "户数": "households",
                    "养老用房": "elderly_floor_m2",
                    "级别": "level",
                },
            },
        },
    }


def _manifest(
    osm: Osm, admin: dict[str, Any], vil: dict[str, Any], facts: dict[str, Any]
) -> dict[str, Any]:
    """What the build did, for people and tests: counts, sources, what is approximated."""
    osm_path, people, options = facts["osm_path"], facts["people"], facts["options"]
    older, residents, weights = facts["older"], facts["residents"], facts["weights"]
    include, road_m, circles = facts["include"], facts["road_m"], facts["circles"]
    rows = vil["villages"]
    county: Area = admin["county"]
    places: dict[str, int] = {}
    for tags in osm.node_tags.values():
        if "place" in tags:
            places[tags["place"]] = places.get(tags["place"], 0) + 1
    relations = [
        {
            "relation": a.relation,
            "name": a.name,
            "method": a.method,
            "note": a.note,
            "member_ways_in_file": f"{a.ways_present}/{a.ways_total}",
            "km2_within_bounds": round(a.geometry.area / 1e6, 3)
            if a.geometry is not None
            else None,
        }
        for a in admin["areas"].values()
    ]
    for r in admin["not_subareas"]:
        relations.append(
            {
                "relation": r,
                "name": osm.relations[r][1].get("name", ""),
                "method": "dropped",
                "note": "not a subarea of the 贵溪市 relation (圭峰镇 belongs to 弋阳县)",
            }
        )
    return {
        "county": {"code": CODE, "name": NAME, "osm_relation": COUNTY_RELATION},
        "sources": {
            "osm": str(osm_path),
            "census": people["source"],
            "licence": "OSM data ODbL 1.0; census tables MIT (leiii/census, thebamboogrove/tudigong)",
        },
        "osm_file": {
            "bounds": list(osm.bounds),
            "nodes": len(osm.xy),
            "ways": len(osm.ways),
            "highway_ways": sum(1 for _, t in osm.ways.values() if "highway" in t),
            "relations": len(osm.relations),
            "admin_level_8_relations": sum(
                1 for _, t in osm.relations.values() if t.get("admin_level") == "8"
            ),
            "place_nodes": places,
        },
        "boundary": {
            "method": admin["method"],
            "km2": round(admin["outline"].area / 1e6, 3),
            "admin6_relation": {
                "closed_in_file": county.method == "closed-in-file",
                "member_ways_in_file": f"{county.ways_present}/{county.ways_total}",
                "how": county.note,
            },
            "townships_union_km2": round(admin["union"].area / 1e6, 3)
            if admin["union"] is not None
            else None,
            "bounds_km2": round(osm.box().area / 1e6, 3),
            "approximate": admin["method"] != "admin6-closed",
            "why": _BOUNDARY_WHY[admin["method"]],
        },
        "townships": {
            "count": len(admin["townships"]),
            "list": [
                {
                    "id": f"{vil['codes'][r]}000",
                    "name": admin["areas"][r].name,
                    "osm_relation": r,
                    "km2": round(g.area / 1e6, 3),
                    "villages": sum(1 for v in rows if v["township"] == r),
                }
                for r, g in admin["townships"].items()
            ],
            "relations": relations,
            "dropped": [x for x in relations if x["method"] == "dropped"],
            "approximate": True,
        },
        "villages": {
            "count": len(rows),
            "with_territory": sum(1 for v in rows if "territory" in v),
            "by_place": {p: sum(1 for v in rows if v["place"] == p) for p in PLACE_WEIGHTS},
            "territories": "Voronoi cells of the village nodes, clipped to each township",
            "approximate": True,
            "skipped_place_nodes": vil["skipped"],
            "flags": [
                {"name": v["name"], "why": "a 街道 label node standing in for its seat community"}
                for v in rows
                if v["place"] == "town"
            ]
            + [
                {"name": v["name"], "why": "a government building mapped as place=locality"}
                for v in rows
                if v["place"] == "locality"
            ],
            "list": [
                {
                    "id": v["id"],
                    "name": v["name"],
                    "place": v["place"],
                    "kind": v["kind"],
                    "township": v["township_id"],
                    "older": o,
                    "residents": n,
                    "lonlat": [round(c, 7) for c in _TO_DEG.transform(v["point"].x, v["point"].y)],
                }
                for v, o, n in zip(rows, older, residents, strict=True)
            ],
        },
        "population": {
            "census": people,
            "core_share_of_county": round(facts["core_share"], 4),
            "older_total_default": facts["older_default"],
            "older_total": facts["older_total"],
            "older_total_overridden": "older_total" in options
            and options["older_total"] is not None,
            "residents_total": int(sum(residents)),
            "place_weights": dict(weights),
            "as": facts["population_as"],
            "approximate": True,
            "how": "county 60+ x (城区人口 / 常住人口), split over the villages by place-type weight",
        },
        "facilities": {
            "count": len(include),
            "local_spellings": bool(options.get("local_spellings", False)),
            "coords": facts["coords"],
            "list": [
                {
                    "id": f[0],
                    "name": f[1],
                    "type": f[3] if options.get("local_spellings") else f[2],
                    "at": f[4],
                    "road_m": round(d),
                }
                for f, d in zip(include, road_m, strict=True)
            ],
            "off_network": [
                {"id": f[0], "name": f[1], "road_m": round(d)}
                for f, d in zip(include, road_m, strict=True)
                if d > 500
            ],
            "approximate": "names, types, floor areas and beds are invented; coordinates are real OSM nodes",
        },
        "candidates": {
            "count": len(_PARCELS),
            "list": [
                {
                    "id": p[0],
                    "name": p[1],
                    "at": p[2],
                    "land_m2": round(c.area),
                    "land_use": p[4],
                    "status": p[5],
                }
                for p, c in zip(_PARCELS, circles, strict=True)
            ],
            "forbidden": [p[0] for p in _PARCELS if p[4].startswith("01")],
            "approximate": "circles of the stated area around real nodes; codes and status invented",
        },
        "crs": {"work": WORK_CRS, "files": "EPSG:4326"},
    }


def plan(folder: Path, *, spellings: str = "scenario", osm: Path | None = None) -> Path:
    """Write ``folder/plan.csv``: three new village centres at real place nodes, for check-plan.

    ``spellings="scenario"`` uses the scenario's plan column names (床位数, 建筑面积);
    ``"register"`` spells them 床位 and 建筑面积（平方米） as a register might.
    """
    if spellings not in ("scenario", "register"):
        raise ValueError(f"spellings must be 'scenario' or 'register', not {spellings!r}")
    data = read_osm(Path(osm or OSM_FILE))
    named = _named_nodes(data)
    beds, floor = (
        ("床位数", "建筑面积") if spellings == "scenario" else ("床位", "建筑面积（平方米）")
    )
    lonlat = [data.lonlat(named[p[2]]) for p in _PLAN]
    table = pd.DataFrame(
        {
            "编号": [p[0] for p in _PLAN],
            "名称": [p[1] for p in _PLAN],
            "记录类型": "设施",
            "类型": [p[3] for p in _PLAN],
            beds: [p[5] for p in _PLAN],
            "护理床位": 0,
            floor: [p[4] for p in _PLAN],
            "用地面积": [p[4] for p in _PLAN],
            "用地代码": [p[6] for p in _PLAN],
            "性质": "公办",
            "级别": "村级",
            "经度": [round(x, 7) for x, _ in lonlat],
            "纬度": [round(y, 7) for _, y in lonlat],
        }
    )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "plan.csv"
    table.to_csv(path, index=False, encoding="utf-8-sig")
    return path


if __name__ == "__main__":  # python -m benchmarks.guixi OUT
    import sys

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "data/guixi")
    print(build(out))
    print(plan(out))
