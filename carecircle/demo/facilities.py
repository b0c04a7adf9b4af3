"""The demo civil-affairs register of care facilities, with planted planning problems."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from carecircle.demo.geometry import _to_lonlat
from carecircle.demo.network import _Network
from carecircle.demo.settlements import _Layout
from carecircle.demo.sizes import _ST_FACILITIES, COUNTY_NAME, BoolArray, FloatArray, Rng, _rng

_ID_PREFIX = {
    "县级公办养老机构": "JG",
    "敬老院": "JG",
    "乡镇（街道）居家养老服务中心": "ZX",
    "村级居家养老服务照料中心": "JZ",
    "社区居家养老服务照料中心": "JZ",
    "农村幸福院": "XF",
    "互助养老服务点": "HZ",
}


@dataclass
class _Facility:
    name: str
    kind: str
    xy: FloatArray
    area: int
    beds: int = 0
    nursing: int = 0
    fid: str = ""
    village: str = ""
    lon: float = 0.0
    lat: float = 0.0
    note: str = ""  # which planted problem it carries, for the manifest

    def row(self) -> list[str]:
        return [
            self.fid,
            self.name,
            self.kind,
            self.village,
            f"{self.lon:.6f}",
            f"{self.lat:.6f}",
            str(self.area),
            str(self.beds),
            str(self.nursing),
        ]


class _Placer:
    """Picks distinct walk nodes (main component) well inside a village or township."""

    def __init__(self, layout: _Layout, net: _Network, rng: Rng) -> None:
        self.xy = net.xy[net.main]
        self.rng = rng
        inner = [v.polygon.buffer(-30.0) for v in layout.villages]
        pts = shapely.points(self.xy)
        node, vill = shapely.STRtree(inner).query(pts, predicate="within")
        self.village = np.full(len(self.xy), -1, dtype=np.int64)
        self.village[node] = vill
        township_of = np.array([v.township for v in layout.villages])
        self.township = np.where(self.village >= 0, township_of[np.maximum(self.village, 0)], -1)
        self.taken = np.zeros(len(self.xy), dtype=bool)

    def near(
        self, mask: BoolArray, target: FloatArray, lo: float = 0.0, hi: float = np.inf
    ) -> FloatArray | None:
        """The free node in ``mask`` nearest to target among those lo..hi metres away."""
        d = np.hypot(*(self.xy - target).T)
        ok = mask & ~self.taken & (d >= lo) & (d <= hi)
        if not ok.any():
            return None
        i = int(np.flatnonzero(ok)[np.argmin(d[ok])])
        self.taken[i] = True
        return np.asarray(self.xy[i], dtype=np.float64)

    def anywhere(
        self, mask: BoolArray, target: FloatArray, lo: float, hi: float
    ) -> FloatArray | None:
        """A random free node in ``mask`` lo..hi metres from target (nearest if none)."""
        d = np.hypot(*(self.xy - target).T)
        ok = mask & ~self.taken & (d >= lo) & (d <= hi)
        if not ok.any():
            return self.near(mask, target)
        i = int(self.rng.choice(np.flatnonzero(ok)))
        self.taken[i] = True
        return np.asarray(self.xy[i], dtype=np.float64)

    def farthest(self, mask: BoolArray, target: FloatArray) -> tuple[FloatArray, float] | None:
        d = np.where(mask & ~self.taken, np.hypot(*(self.xy - target).T), -1.0)
        i = int(np.argmax(d))
        if d[i] < 0:
            return None
        self.taken[i] = True
        return np.asarray(self.xy[i], dtype=np.float64), float(d[i])


def _facilities(layout: _Layout, net: _Network, seed: int) -> list[_Facility]:
    """The register: county home, township centres and 敬老院, village-level centres and points."""
    rng = _rng(seed, _ST_FACILITIES)
    place = _Placer(layout, net, rng)
    out = _county_home(layout, place, rng)
    out += _township_centres(layout, place, rng)
    out += _nursing_homes(layout, place, rng)
    out += _village_centres(layout, place, rng)
    _finish_facilities(out, layout)
    return out


def _county_home(layout: _Layout, place: _Placer, rng: Rng) -> list[_Facility]:
    jd = np.array([t.kind == "街道" for t in layout.townships])
    xy = place.anywhere(
        (place.township >= 0) & jd[np.maximum(place.township, 0)],
        layout.townships[0].xy,
        800.0,
        2200.0,
    )
    if xy is None:  # pragma: no cover - the county town always has streets
        raise RuntimeError("no road node in the county town for the county home")
    beds = int(rng.integers(200, 301))
    nursing = math.ceil(beds * rng.uniform(0.6, 0.75))
    return [
        _Facility(
            f"{COUNTY_NAME}社会福利中心",
            "县级公办养老机构",
            xy,
            int(beds * rng.uniform(38, 48)),
            beds,
            nursing,
        )
    ]


def _township_centres(layout: _Layout, place: _Placer, rng: Rng) -> list[_Facility]:
    p = layout.params
    rural = [i for i, t in enumerate(layout.townships) if t.kind != "街道"]
    n_missing = int(rng.integers(p.townships_without_centre[0], p.townships_without_centre[1] + 1))
    missing = set(rng.choice(rural, size=n_missing, replace=False).tolist())
    present = [i for i in range(len(layout.townships)) if i not in missing]
    big_set = set(rng.choice(present, size=max(1, len(present) // 5), replace=False).tolist())
    out = []
    for i, t in enumerate(layout.townships):
        if i in missing:
            continue
        xy = place.near(place.township == i, t.xy, 80.0)
        if xy is None:
            continue
        area = int(rng.uniform(3000, 3500)) if i in big_set else int(rng.uniform(500, 2800))
        beds = int(rng.integers(10, 31)) if area >= 1500 else 0
        nursing = int(beds * rng.uniform(0.0, 0.5))
        out.append(
            _Facility(
                f"{t.name}居家养老服务中心", "乡镇（街道）居家养老服务中心", xy, area, beds, nursing
            )
        )
    return out


def _nursing_homes(layout: _Layout, place: _Placer, rng: Rng) -> list[_Facility]:
    """One 敬老院 per 镇 and 乡; a few under 75 beds (due for conversion under the policy)."""
    towns = [i for i, t in enumerate(layout.townships) if t.kind != "街道"]
    n_small = max(1, round(len(towns) / 3))
    small = set(rng.choice(towns, size=n_small, replace=False).tolist())
    out = []
    for i in towns:
        t = layout.townships[i]
        xy = place.anywhere(place.township == i, t.xy, 400.0, 1500.0)
        if xy is None:
            continue
        beds = int(rng.integers(30, 75)) if i in small else int(rng.integers(75, 161))
        nursing = round(beds * rng.uniform(0.2, 0.6))
        area = int(beds * rng.uniform(30, 45))
        note = "small_jingloyuan" if beds < 75 else ""
        out.append(_Facility(f"{t.name}敬老院", "敬老院", xy, area, beds, nursing, note=note))
    return out


def _village_centres(layout: _Layout, place: _Placer, rng: Rng) -> list[_Facility]:
    """照料中心 in 70-80 % of villages (some small or at the far edge); 幸福院, 互助点 elsewhere."""
    vs = layout.villages
    n = len(vs)
    order = rng.permutation(n)
    count = min(max(round(n * rng.uniform(0.72, 0.8)), math.ceil(0.7 * n)), math.floor(0.8 * n))
    with_centre = set(order[:count].tolist())
    far = _far_edge_villages(layout, with_centre)
    small = set(
        rng.permutation(sorted(with_centre - far))[: max(2, round(0.1 * len(with_centre)))].tolist()
    )
    out = []
    for j, v in enumerate(vs):
        mask = place.village == j
        if j in with_centre:
            kind = "社区居家养老服务照料中心" if v.kind == "社区" else "村级居家养老服务照料中心"
            lo, hi = (80, 140) if j in small else (250, 600) if v.kind == "社区" else (150, 450)
            area = rng.uniform(lo, hi)
            spot = place.farthest(mask, v.xy) if j in far else None
            xy = spot[0] if spot else place.near(mask, v.xy)
            note = "far_edge_centre" if spot else "small_centre" if j in small else ""
        elif rng.random() < 0.45:
            kind = "农村幸福院" if v.kind == "村" and rng.random() < 0.6 else "互助养老服务点"
            area, note = rng.uniform(40, 200), ""
            xy = place.near(mask, v.xy)
        else:
            continue
        if xy is None:
            continue
        suffix = {"农村幸福院": "幸福院", "互助养老服务点": "互助养老服务点"}.get(
            kind, "居家养老服务照料中心"
        )
        out.append(_Facility(f"{v.name}{suffix}", kind, xy, int(area), note=note))
    return out


def _far_edge_villages(layout: _Layout, with_centre: set[int]) -> set[int]:
    """The largest villages with a centre: their centre goes to the far edge of the village."""
    p = layout.params
    cand = sorted(
        (-layout.villages[j].polygon.area, j)
        for j in with_centre
        if layout.villages[j].kind == "村"
    )
    return {j for _, j in cand[: p.far_edge_centres]}


def _finish_facilities(out: list[_Facility], layout: _Layout) -> None:
    """Ids, WGS84 coordinates (6 decimals) and the village each point really lies in."""
    counters: dict[str, int] = {}
    lonlat = np.round(_to_lonlat(np.array([f.xy for f in out])), 6)
    polys = [v.lonlat for v in layout.villages]
    tree = shapely.STRtree(polys)
    pt, vi = tree.query(shapely.points(lonlat), predicate="within")
    where = dict(zip(pt.tolist(), vi.tolist(), strict=True))
    for k, f in enumerate(out):
        prefix = _ID_PREFIX[f.kind]
        counters[prefix] = counters.get(prefix, 0) + 1
        f.fid = f"QX-{prefix}-{counters[prefix]:04d}"
        f.lon, f.lat = float(lonlat[k, 0]), float(lonlat[k, 1])
        f.village = layout.villages[where[k]].code
