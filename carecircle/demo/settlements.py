"""Townships and villages of the demo county: seats, partitions, names and codes."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import MultiPoint, Point, Polygon

from carecircle.demo.geometry import _blob, _geom_to_lonlat, _largest, _polygons
from carecircle.demo.sizes import (
    _ST_NAMES,
    _ST_TOWNSHIPS,
    _ST_VILLAGES,
    COUNTY_CODE,
    BoolArray,
    DemoSize,
    FloatArray,
    IntArray,
    Rng,
    TownshipKind,
    _rng,
    _words,
)
from carecircle.demo.terrain import _Terrain, _terrain


@dataclass
class _Township:
    code: str
    name: str
    kind: TownshipKind
    stem: str  # the name without 街道/镇/乡, used in road and facility names
    seat: int  # lattice node
    xy: FloatArray
    polygon: Polygon
    built: Polygon  # built-up area with a street grid

    @functools.cached_property
    def lonlat(self) -> Any:
        """The polygon as written to admin.gpkg (densified, in lon/lat)."""
        return _geom_to_lonlat(self.polygon)


@dataclass
class _Village:
    code: str
    name: str
    kind: Literal["村", "社区"]
    township: int
    seat: int  # lattice node at the village core
    xy: FloatArray
    polygon: Polygon
    people: float  # relative size, drives lanes and the village population kernel
    mountain: bool
    urban: bool  # inside a town's street grid (no separate village lanes)
    hamlets: list[tuple[FloatArray, float]] = field(default_factory=list)  # 自然村: (xy, people)

    @property
    def settlements(self) -> list[tuple[FloatArray, float]]:
        """The core and the hamlets with their shares of the people."""
        core = self.people - sum(p for _, p in self.hamlets)
        return [(self.xy, core), *self.hamlets]

    @functools.cached_property
    def lonlat(self) -> Any:
        """The polygon as written to admin.gpkg (densified, in lon/lat)."""
        return _geom_to_lonlat(self.polygon)


@dataclass
class _Layout:
    terrain: _Terrain
    townships: list[_Township]
    villages: list[_Village]
    city: Polygon  # the county town's built-up area

    @property
    def params(self) -> DemoSize:
        return self.terrain.params


def _plan_layout(
    params: DemoSize, seed: int, say: Callable[[str], None] = lambda _: None
) -> _Layout:
    """Everything except roads, people and facilities: terrain, townships and villages."""
    say("生成县域轮廓、河流与山体 / generating outline, rivers and hills")
    terrain = _terrain(params, seed)
    say("划分乡镇街道与村社区 / partitioning townships and villages")
    townships, city = _townships(terrain, seed)
    villages = _villages(terrain, townships, city, seed)
    return _Layout(terrain, townships, villages, city)


def _lloyd(
    points: FloatArray,
    weight: FloatArray,
    fixed: FloatArray,
    n_free: int,
    allowed: BoolArray,
    rng: Rng,
    iterations: int = 6,
) -> IntArray:
    """Spread n_free seats over weighted points (weighted k-means), the fixed seats staying put.

    Seats are always points where ``allowed`` holds, so they land on lattice nodes. Returns the
    indices of the free seats in ``points``.
    """
    cand = np.flatnonzero(allowed)
    d = np.full(len(points), np.inf)
    for f in fixed:
        d = np.minimum(d, np.hypot(*(points - f).T))
    jitter = rng.uniform(0.75, 1.0, len(points))
    chosen: list[int] = []
    for _ in range(n_free):
        score = np.where(allowed, np.where(np.isfinite(d), d, 1.0) * jitter, -1.0)
        j = int(np.argmax(score))
        chosen.append(j)
        d = np.minimum(d, np.hypot(*(points - points[j]).T))
    cand_tree = cKDTree(points[cand])
    for _ in range(iterations):
        seats = np.vstack([fixed.reshape(-1, 2), points[chosen]])
        _, owner = cKDTree(seats).query(points)
        for k in range(n_free):
            mine = owner == len(fixed) + k
            if mine.any():
                centroid = np.average(points[mine], axis=0, weights=weight[mine])
                chosen[k] = int(cand[cand_tree.query(centroid)[1]])
    return np.asarray(chosen, dtype=np.int64)


def _partition(points: FloatArray, region: Any) -> list[Polygon]:
    """Voronoi cells of the points clipped to the region, each made a single polygon."""
    if len(points) == 1:
        return [_largest(region)]
    envelope = shapely.box(*region.bounds).buffer(1e4)
    cells = shapely.voronoi_polygons(MultiPoint(points), extend_to=envelope, ordered=True)
    parts = [shapely.intersection(cell, region) for cell in shapely.get_parts(cells)]
    return _fix_partition(parts, points)


def _fix_partition(cells: list[Any], seats: FloatArray) -> list[Polygon]:
    """Give stray pieces of a cell (cut off by the region's edge) to the neighbour touched most."""
    out: list[Any] = list(cells)
    for i in range(len(out)):
        parts = _polygons(out[i])
        if len(parts) <= 1:
            continue
        seat = Point(seats[i])
        keep = next((p for p in parts if p.covers(seat)), max(parts, key=lambda g: g.area))
        out[i] = keep
        for piece in parts:
            if piece is keep:
                continue
            touch = [
                (piece.buffer(0.01).intersection(out[j].boundary).length, j)
                for j in range(len(out))
                if j != i
            ]
            best = max(touch)[1]
            out[best] = shapely.union(out[best], piece)
    return [_largest(g) for g in out]


def _townships(terrain: _Terrain, seed: int) -> tuple[list[_Township], Polygon]:
    rng = _rng(seed, _ST_TOWNSHIPS)
    p = terrain.params
    lat = terrain.lattice
    seats, core = _township_seats(terrain, rng)
    kinds = p.township_kinds
    n_jd = kinds.count("街道")
    xy = lat.xy[seats]
    polys = _partition(xy[:n_jd], core) + _partition(xy[n_jd:], terrain.outline.difference(core))
    names = _township_names(kinds, xy, _rng(seed, _ST_NAMES))
    city = _largest(
        _blob(xy[0], p.city_radius_km * 1e3, rng)
        .intersection(terrain.outline)
        .difference(terrain.hills_union.buffer(50.0))
    )
    lo, hi = p.town_radius_km
    townships = []
    counters = {"街道": 1, "镇": 100, "乡": 200}
    for i, kind in enumerate(kinds):
        if kind == "街道":
            built = city
        else:
            r = rng.uniform(lo, hi) if kind == "镇" else 0.6 * lo
            built = _blob(xy[i], r * 1e3, rng).difference(terrain.hills_union.buffer(50.0))
        built = (
            _largest(built.intersection(polys[i]).buffer(0))
            if built.intersects(polys[i])
            else built
        )
        code = f"{COUNTY_CODE}{counters[kind]:03d}000"
        counters[kind] += 1
        name, stem = names[i]
        townships.append(_Township(code, name, kind, stem, int(seats[i]), xy[i], polys[i], built))
    return townships, city


def _township_seats(terrain: _Terrain, rng: Rng) -> tuple[list[int], Polygon]:
    """Seats: county town on the river, second 街道 across it, 乡 in the mountains, 镇 spread."""
    p = terrain.params
    lat = terrain.lattice
    kinds = p.township_kinds
    ct = lat.nearest(terrain.city_centre)
    core = _largest(_blob(lat.xy[ct], p.jiedao_radius_km * 1e3, rng).intersection(terrain.outline))
    seats = [ct]
    if kinds.count("街道") == 2:
        main = terrain.rivers[0].line
        foot = np.asarray(main.interpolate(main.project(Point(lat.xy[ct]))).coords[0])
        across = (foot - lat.xy[ct]) / max(np.hypot(*(foot - lat.xy[ct])), 1.0)
        seats.append(lat.nearest(foot + across * 0.45 * p.jiedao_radius_km * 1e3))
    pts = lat.xy
    edge = terrain.edge_distance
    m = terrain.mountain_coord(pts)
    rural = lat.main & ~shapely.contains_xy(core, pts[:, 0], pts[:, 1])
    rural &= edge >= p.seat_edge_km * 1e3
    xiang: list[int] = []
    for k in range(kinds.count("乡")):
        cand = rural & (m >= (0.45 if k == 0 else 0.3))
        for s in xiang:
            cand &= np.hypot(*(pts - pts[s]).T) >= 0.45 * terrain.radius
        xiang.append(int(np.argmax(np.where(cand, m + rng.uniform(0, 0.3, len(m)), -np.inf))))
    n_town = kinds.count("镇")
    allowed = rural & (np.hypot(*(pts - pts[ct]).T) >= p.seat_gap_km * 1e3)
    if xiang:
        allowed &= m <= 0.05  # the mountain side is left to the 乡, so theirs are the big ones
    domain = lat.main & ~shapely.contains_xy(core, pts[:, 0], pts[:, 1])
    weight = 1.0 / (1.0 + 6.0 * np.clip(m, 0, None))
    fixed = pts[[ct, *seats[1:], *xiang]]
    sub = np.flatnonzero(domain)
    found = sub[_lloyd(pts[sub], weight[sub], fixed, n_town, allowed[sub], rng)].tolist()
    towns = sorted(found, key=lambda s: float(np.hypot(*(pts[s] - pts[ct]))))
    return [*seats, *towns, *xiang], core


_TOWN_FIRST = "白梅石黄龙凤双大新高清金桐枫珠芦柳樟桃竹云松丰永安长仙横汤鹤岩湖"
_TOWN_SECOND = "沙溪门坛岭桥山湖洋口头坑川田塘埠港渡峰坪源岙浦宅墩林阳泉"
_XIANG_FIRST = "岭高上坑云竹岩峰黄石双大外里"
_XIANG_SECOND = "后坪岙源岩坑口头峰山垟岗"
# Awkward words, and names of real cities and counties a reader would mistake the demo for.
_AWKWARD_STEMS = frozenset(
    _words("上头 里头 外头 大头 上口 下口 高头 长沙 黄山 龙泉 松阳 安阳 丰田 金门 黄岩 长兴 永嘉")
)
_JIEDAO_STEMS = {"E": "东城", "W": "西城", "N": "城北", "S": "城南"}


def _township_names(
    kinds: Sequence[TownshipKind], xy: FloatArray, rng: Rng
) -> list[tuple[str, str]]:
    """Names like 城关街道, 东城街道, 白沙镇, 岭后乡; the second 街道 is named by its direction."""
    used = {"青溪", "城关"}
    out = []
    for i, kind in enumerate(kinds):
        if kind == "街道":
            if i == 0:
                stem = "城关"
            else:
                dx, dy = xy[i] - xy[0]
                stem = _JIEDAO_STEMS[
                    ("E" if dx > 0 else "W") if abs(dx) > abs(dy) else ("N" if dy > 0 else "S")
                ]
        else:
            first, second = (
                (_TOWN_FIRST, _TOWN_SECOND) if kind == "镇" else (_XIANG_FIRST, _XIANG_SECOND)
            )
            while True:
                stem = str(rng.choice(list(first))) + str(rng.choice(list(second)))
                fresh = stem not in used and all(stem[0] != u[0] for u in used)
                if stem[0] != stem[1] and fresh and stem not in _AWKWARD_STEMS:
                    break
        used.add(stem)
        out.append((stem + kind, stem))
    return out


def _settlement_weight(
    terrain: _Terrain, townships: Sequence[_Township], pts: FloatArray
) -> FloatArray:
    """Relative density of village seats: dense near the county town and seats, sparse uphill."""
    p = terrain.params
    d_city = np.hypot(*(pts - townships[0].xy).T) / (p.city_radius_km * 1e3)
    spacing = 1.0 - 0.82 * np.exp(-(d_city**2))
    for t in townships[1:]:
        d = np.hypot(*(pts - t.xy).T) / (1.5e3 * p.town_radius_km[1])
        spacing *= 1.0 - 0.45 * np.exp(-(d**2))
    spacing *= 1.0 + 0.8 * np.clip(terrain.mountain_coord(pts), 0, 1)
    return np.asarray(1.0 / spacing**2, dtype=np.float64)


def _allocate(total: int, weight: FloatArray, minimum: int) -> IntArray:
    """Largest-remainder apportionment of ``total`` by ``weight`` with a floor."""
    share = np.maximum(weight / weight.sum() * total, minimum)
    share *= total / share.sum()
    base = np.maximum(np.floor(share).astype(np.int64), minimum)
    while base.sum() < total:
        base[np.argmax(share - base)] += 1
    while base.sum() > total:
        over = np.where(base > minimum, base - share, -np.inf)
        base[np.argmax(over)] -= 1
    return base


def _villages(
    terrain: _Terrain, townships: list[_Township], city: Polygon, seed: int
) -> list[_Village]:
    rng = _rng(seed, _ST_VILLAGES)
    p = terrain.params
    lat = terrain.lattice
    pts = lat.xy
    weight = _settlement_weight(terrain, townships, pts)
    owner = np.full(len(pts), -1)
    for i, t in enumerate(townships):
        owner[lat.main & shapely.contains_xy(t.polygon, pts[:, 0], pts[:, 1])] = i
    totals = np.array([weight[owner == i].sum() for i in range(len(townships))])
    n_total = int(rng.integers(p.villages[0], p.villages[1] + 1))
    counts = _allocate(n_total, totals, 4)
    namer = _VillageNamer(_rng(seed, _ST_NAMES + 100))
    villages: list[_Village] = []
    for i, t in enumerate(townships):
        mine = np.flatnonzero(owner == i)
        inner = shapely.contains_xy(
            t.polygon.buffer(-1.5 * lat.spacing), pts[mine, 0], pts[mine, 1]
        )
        free = _lloyd(pts[mine], weight[mine], t.xy[None, :], int(counts[i]) - 1, inner, rng)
        seat_ids = np.concatenate([[t.seat], mine[free]])
        polys = _partition(pts[seat_ids], t.polygon)
        villages.extend(_make_villages(terrain, t, i, seat_ids, polys, city, namer, rng))
    for v in villages:
        _add_hamlets(v, terrain, rng)
    return villages


def _add_hamlets(v: _Village, terrain: _Terrain, rng: Rng) -> None:
    """Outlying natural villages (自然村) of a rural administrative village."""
    if v.urban or v.kind == "社区":
        return
    lat = terrain.lattice
    pts = lat.xy
    gap = 3.5 * lat.spacing if terrain.params.lattice_m < 150 else 2.5 * lat.spacing
    inner = v.polygon.buffer(-80.0)
    ok = lat.main & shapely.contains_xy(inner, pts[:, 0], pts[:, 1])
    ok &= np.hypot(*(pts - v.xy).T) >= gap
    cand = rng.permutation(np.flatnonzero(ok))
    want = int(rng.integers(2, 5)) if v.mountain else int(rng.integers(1, 4))
    for i in cand.tolist():
        if len(v.hamlets) == want:
            break
        if all(np.hypot(*(pts[i] - h)) >= 300.0 for h, _ in v.hamlets):
            v.hamlets.append((pts[i], v.people * rng.uniform(0.1, 0.2)))


def _make_villages(
    terrain: _Terrain,
    t: _Township,
    index: int,
    seat_ids: IntArray,
    polys: list[Polygon],
    city: Polygon,
    namer: _VillageNamer,
    rng: Rng,
) -> list[_Village]:
    """Kinds, sizes, names and 12-digit codes of one township's villages and communities."""
    pts = terrain.lattice.xy[seat_ids]
    dist = np.hypot(*(pts - t.xy).T)
    in_city = shapely.contains_xy(city, pts[:, 0], pts[:, 1])
    community = _communities(terrain, t, dist, in_city, rng)
    mountain = (terrain.mountain_coord(pts) > 0.3) | (t.kind == "乡")
    if terrain.hills:
        mountain |= shapely.distance(shapely.points(pts), terrain.hills_union) < 1500.0
    numbers = {"社区": iter(range(1, 200)), "村": iter(range(200, 400))}
    out = []
    for j in np.lexsort((dist, ~community)).tolist():  # communities first, then by distance
        kind: Literal["村", "社区"] = "社区" if community[j] else "村"
        if kind == "社区":
            people = rng.uniform(5000, 9000) if in_city[j] else rng.uniform(2500, 5000)
            name = namer.community(t.stem if dist[j] == 0 and t.kind != "街道" else None)
        else:
            people = rng.lognormal(math.log(650.0 if mountain[j] else 1300.0), 0.45)
            name = namer.village(bool(mountain[j]))
        code = f"{t.code[:9]}{next(numbers[kind]):03d}"
        urban = bool(in_city[j] or t.built.contains(Point(pts[j])))
        seat, hilly = int(seat_ids[j]), bool(mountain[j])
        out.append(
            _Village(code, name, kind, index, seat, pts[j], polys[j], float(people), hilly, urban)
        )
    return out


def _communities(
    terrain: _Terrain, t: _Township, dist: FloatArray, in_city: BoolArray, rng: Rng
) -> BoolArray:
    """Which villages are urban communities (社区): the county town's, and town-seat ones."""
    if t.kind == "街道":
        return in_city
    seat = dist == 0
    community = seat & ((t.kind == "镇") | (rng.random() < 0.5))
    if t.kind == "镇" and len(dist) >= 10:  # a big town's seat has a second community
        second = dist == np.sort(dist)[1]
        community |= second & (dist < 1.6e3 * terrain.params.town_radius_km[1])
    return np.asarray(community, dtype=bool)


class _VillageNamer:
    """Unique village and community names from common place-name morphemes of Zhejiang."""

    _DIRECTION = "上下前后东西南北大小新中里外"
    _FEATURE = "岭溪石林竹岩枫樟桃梅松山塘河湖沙洋桥"
    _SURNAME = "陈王李张吴徐郑潘叶杨林周黄金胡朱何蔡余"
    _PLAIN = "洋垟塘桥埠浦湾田宅庄港河墩畈堡埭浜"
    _HILL = "岙岭坑坪岩源山垄坦岗湾"
    _PLACE = ("头", "口", "坑", "下", "边", "背", "脚")
    _COMMUNITIES = _words(
        "东门 西门 南门 北门 新华 人民 解放 城东 城西 文昌 学前 府前 县前 中山 兴园 锦绣 "
        "和平 建设 振兴 新城 望江 滨江 桥头 河滨 朝阳 长安 鼓楼 仓前 紫荆 金城 青云 凤凰"
    )

    def __init__(self, rng: Rng) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def _pick(self, chars: str | Sequence[str]) -> str:
        return str(self._rng.choice(list(chars)))

    def village(self, mountain: bool) -> str:
        suffix = self._HILL if mountain else self._PLAIN
        while True:
            roll = self._rng.random()
            if roll < 0.45:
                stem = self._pick(self._DIRECTION) + self._pick(suffix)
            elif roll < 0.7:
                stem = self._pick(self._FEATURE) + self._pick(self._PLACE)
            elif roll < 0.9:
                sur = self._pick(self._SURNAME)
                stem = sur + (
                    "家" + self._pick(suffix) if self._rng.random() < 0.4 else self._pick(suffix)
                )
            else:
                stem = self._pick(self._DIRECTION) + self._pick(self._FEATURE) + self._pick(suffix)
            if len(set(stem)) == len(stem) and stem + "村" not in self._used:
                self._used.add(stem + "村")
                return stem + "村"

    def community(self, town_stem: str | None) -> str:
        if town_stem is not None and town_stem + "社区" not in self._used:
            self._used.add(town_stem + "社区")
            return town_stem + "社区"
        free = [c for c in self._COMMUNITIES if c + "社区" not in self._used]
        name = (self._pick(free) if free else self._pick(self._DIRECTION) + "新") + "社区"
        self._used.add(name)
        return name
