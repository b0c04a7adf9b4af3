"""Candidate parcels of the demo county."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import LineString, Polygon

from carecircle.demo.geometry import _geom_to_local, _perp, _to_lonlat, _unit
from carecircle.demo.network import _Network
from carecircle.demo.settlements import _Layout, _Township, _Village
from carecircle.demo.sizes import _ST_PARCELS, FloatArray, Rng, _rng, _words

# 现状 -> (share, area range m², land-use codes of 国土空间用地用海分类 with weights)
_PARCEL_KINDS: dict[str, tuple[float, tuple[float, float], dict[str, float]]] = {
    "闲置学校": (0.25, (6000.0, 40000.0), {"0804": 1.0}),
    "闲置卫生院": (0.10, (3000.0, 10000.0), {"0806": 1.0}),
    "闲置办公楼": (0.20, (3000.0, 8000.0), {"0801": 1.0}),
    "闲置厂房": (0.20, (8000.0, 40000.0), {"1001": 1.0}),
    "新增建设用地": (0.25, (5000.0, 30000.0), {"0807": 0.7, "0901": 0.15, "0703": 0.15}),
}
_FACTORIES = _words("机械 农机 纺织 竹木制品 茶叶加工 电器 五金 服装 食品 造纸")
_AGENCIES = ("农技站", "粮管所", "供销社", "林业站", "水利站")
_ANCHOR_ROADS = frozenset({"secondary", "tertiary", "unclassified", "residential"})
_MAIN_ROADS = frozenset({"motorway", "motorway_link", "primary", "secondary", "tertiary"})


@dataclass
class _Parcel:
    dkbh: str
    dkmc: str
    yddm: str
    xz: str
    lonlat: Any  # polygon in EPSG:4490
    ydmj: int


def _parcels(layout: _Layout, net: _Network, seed: int) -> list[_Parcel]:
    """Idle schools, clinics, offices, factories and new land beside roads, over all townships."""
    rng = _rng(seed, _ST_PARCELS)
    ter = layout.terrain
    anchors, heading = _parcel_anchors(net)
    mains = [LineString(net.xy[s]) for s, t in net.ways if t.get("highway") in _MAIN_ROADS]
    avoid = shapely.union_all(
        [
            ter.hills_union,
            ter.water.buffer(20.0),
            ter.island.buffer(20.0),
            shapely.union_all(mains).buffer(8.0),
        ]
    )
    shapely.prepare(avoid)
    inside = ter.outline.buffer(-30.0)
    n = int(rng.integers(layout.params.parcels[0], layout.params.parcels[1] + 1))
    towns = rng.permutation(len(layout.townships))
    placed: list[Polygon] = []
    out: list[tuple[int, str, Polygon]] = []
    for k in range(4 * n):  # a township without room for a parcel passes its turn on
        if len(out) == n:
            break
        ti = int(towns[k % len(towns)])
        kind = _parcel_kind(ti, [(t, x) for t, x, _ in out], rng)
        poly = _place_parcel(
            layout.townships[ti], kind, anchors, heading, avoid, inside, placed, rng
        )
        if poly is not None:
            placed.append(poly)
            out.append((ti, kind, poly))
    return _name_parcels(layout, out, rng)


def _parcel_kind(township: int, done: list[tuple[int, str]], rng: Rng) -> str:
    """Draw a 现状; a township has one 卫生院 and one 中学 at most, so those are not repeated."""
    kinds = list(_PARCEL_KINDS)
    share = np.array([_PARCEL_KINDS[k][0] for k in kinds])
    if (township, "闲置卫生院") in done:
        share[kinds.index("闲置卫生院")] = 0.0
    return str(rng.choice(kinds, p=share / share.sum()))


def _parcel_anchors(net: _Network) -> tuple[FloatArray, FloatArray]:
    """Points on ordinary roads with the road's heading there."""
    pts, heading = [], []
    for s, tags in net.ways:
        if tags.get("highway") in _ANCHOR_ROADS and "bridge" not in tags and len(s) >= 2:
            xy = net.xy[s]
            d = np.diff(xy, axis=0)
            pts.append((xy[:-1] + xy[1:]) / 2)
            heading.append(np.arctan2(d[:, 1], d[:, 0]))
    return np.vstack(pts), np.concatenate(heading)


def _place_parcel(
    town: _Township,
    kind: str,
    anchors: FloatArray,
    heading: FloatArray,
    avoid: Any,
    inside: Polygon,
    placed: list[Polygon],
    rng: Rng,
) -> Polygon | None:
    """A slightly irregular rectangle set back 10 m from a road in the township."""
    lo, hi = _PARCEL_KINDS[kind][1]
    central = kind in ("闲置学校", "闲置卫生院", "闲置办公楼")
    d = np.hypot(*(anchors - town.xy).T)
    band = (d < 1800.0) if central else (d > 500.0) & (d < 4000.0)
    ok = band & shapely.contains_xy(town.polygon, anchors[:, 0], anchors[:, 1])
    cand = np.flatnonzero(ok)
    for _ in range(60):
        if len(cand) == 0:
            return None
        i = int(rng.choice(cand))
        area = rng.uniform(lo + 5.0, hi - 5.0)
        aspect = rng.uniform(1.0, 1.8)
        w, depth = math.sqrt(area * aspect), math.sqrt(area / aspect)
        u = _unit(float(heading[i]))
        n = _perp(u) * rng.choice([-1.0, 1.0])
        base = anchors[i] + n * 10.0
        corners = np.array(
            [
                base - u * w / 2,
                base + u * w / 2,
                base + u * w / 2 + n * depth,
                base - u * w / 2 + n * depth,
            ]
        )
        corners += rng.uniform(-0.04, 0.04, (4, 2)) * min(w, depth)
        poly = Polygon(corners)
        k = math.sqrt(area / poly.area)  # the corner jitter must not push the area out of range
        poly = affinity.scale(poly, k, k, origin=poly.centroid)
        if not poly.is_valid or not inside.contains(poly) or avoid.intersects(poly):
            continue
        if any(poly.distance(q) < 30.0 for q in placed):
            continue
        return poly
    return None


def _name_parcels(
    layout: _Layout, found: list[tuple[int, str, Polygon]], rng: Rng
) -> list[_Parcel]:
    vs = layout.villages
    tree = shapely.STRtree([v.polygon for v in vs])
    used: set[str] = set()
    out = []
    for k, (ti, kind, poly) in enumerate(
        sorted(found, key=lambda f: (layout.townships[f[0]].code, f[1]))
    ):
        t = layout.townships[ti]
        hit = tree.query(poly.centroid, predicate="within")
        v = vs[int(hit[0])] if len(hit) else vs[0]
        name = _parcel_name(kind, t, v, poly, used, rng)
        base, n = name, 2
        while name in used:
            name = base.replace("地块", f"{'二三四五六七八九'[min(n - 2, 7)]}号地块")
            n += 1
        used.add(name)
        codes = dict(_PARCEL_KINDS[kind][2])
        if v.kind == "社区":
            codes.pop("0703", None)  # rural homestead land only in villages
        share = np.array(list(codes.values()))
        yddm = str(rng.choice(list(codes), p=share / share.sum()))
        ll = shapely.transform(poly, _to_lonlat)
        ydmj = round(_geom_to_local(ll).area)
        out.append(_Parcel(f"QX2022-{k + 1:03d}", name, yddm, kind, ll, ydmj))
    return out


def _parcel_name(
    kind: str, t: _Township, v: _Village, poly: Polygon, used: set[str], rng: Rng
) -> str:
    village = v.name.removesuffix("村").removesuffix("社区")
    if kind == "闲置学校":
        middle = poly.area >= 15000 and f"原{t.stem}中学闲置校舍地块" not in used
        return f"原{t.stem}中学闲置校舍地块" if middle else f"原{village}小学闲置校舍地块"
    if kind == "闲置卫生院":
        return f"原{t.name}卫生院闲置用房地块"
    if kind == "闲置办公楼":
        if rng.random() < 0.5:
            return (
                f"原{v.name}村委会闲置办公楼地块"
                if v.kind == "村"
                else f"原{v.name}居委会闲置办公楼地块"
            )
        return f"原{t.name}{rng.choice(_AGENCIES)}闲置办公楼地块"
    if kind == "闲置厂房":
        return f"原{t.stem}{rng.choice(_FACTORIES)}厂闲置厂房地块"
    dx, dy = np.asarray(poly.centroid.coords[0]) - v.xy
    side = ("东" if dx > 0 else "西") if abs(dx) > abs(dy) else ("北" if dy > 0 else "南")
    return f"{v.name}{side}侧新增建设用地地块"
