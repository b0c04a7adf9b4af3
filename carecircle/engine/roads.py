"""Roads as arrays, and the one place where travel modes turn road segments into travel seconds.

A :class:`RoadTable` is what every reader in ``carecircle.sources.network`` produces and what
``TravelGraph.from_roads`` consumes: node arrays, one row per road segment between two nodes, and
the OSM tags the travel modes read, each stored once per distinct value (:class:`Labels`).
``TravelGraph.from_networkx`` converts an osmnx graph to this table first, so walk, e-bike and
drive rules live in :func:`segment_seconds` only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import networkx as nx
import numpy as np
import numpy.typing as npt

from carecircle.errors import DataError

__all__ = [
    "DRIVE_SPEEDS_KMH",
    "TAG_KEYS",
    "Labels",
    "Mode",
    "RoadTable",
    "maxspeed_kmh",
    "mode_arcs",
    "road_table_from_networkx",
    "segment_seconds",
]

Mode = Literal["walk", "ebike", "drive"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Free-flow speeds by OSM highway class for county roads in China (km/h), used where no maxspeed
# is tagged. Scenario values override them (travel.drive_speeds_kmh).
DRIVE_SPEEDS_KMH: Mapping[str, float] = {
    "motorway": 100.0,
    "motorway_link": 50.0,
    "trunk": 70.0,
    "trunk_link": 40.0,
    "primary": 60.0,
    "primary_link": 40.0,
    "secondary": 50.0,
    "secondary_link": 30.0,
    "tertiary": 40.0,
    "tertiary_link": 30.0,
    "unclassified": 30.0,
    "road": 30.0,
    "residential": 25.0,
    "living_street": 10.0,
    "service": 15.0,
    "track": 15.0,
}

# Highway values each mode may not use at all.
_NEVER = {
    "construction",
    "proposed",
    "planned",
    "abandoned",
    "raceway",
    "bus_guideway",
    "platform",
    "no",
}
_EXCLUDED: Mapping[str, frozenset[str]] = {
    "walk": frozenset(_NEVER | {"motorway", "motorway_link"}),
    "ebike": frozenset(_NEVER | {"motorway", "motorway_link", "steps", "corridor", "elevator"}),
    "drive": frozenset(
        _NEVER
        | {
            "footway",
            "path",
            "pedestrian",
            "steps",
            "cycleway",
            "bridleway",
            "corridor",
            "elevator",
            "escalator",
            "via_ferrata",
        }
    ),
}
# Access tags from the most specific for the mode to the general one: the first present decides.
_ACCESS_KEYS: Mapping[str, tuple[str, ...]] = {
    "walk": ("foot", "access"),
    "ebike": ("bicycle", "vehicle", "access"),
    "drive": ("motor_vehicle", "motorcar", "vehicle", "access"),
}
_NO_ACCESS = frozenset({"no", "private"})

TAG_KEYS: tuple[str, ...] = (
    "access",
    "foot",
    "bicycle",
    "vehicle",
    "motor_vehicle",
    "motorcar",
    "area",
    "name",
)
"""Way tags a RoadTable carries besides ``highway`` and ``maxspeed`` (modes read all but name)."""


@dataclass(frozen=True, eq=False)
class Labels:
    """A column of strings stored as integer codes into its distinct values.

    ``codes[i]`` indexes ``levels``; ``-1`` means the tag is absent. Mode rules are evaluated once
    per distinct value and then spread to rows by the codes, which is what makes them fast.
    """

    codes: npt.NDArray[np.int32]
    levels: tuple[str, ...]

    @classmethod
    def from_values(cls, values: Iterable[Any]) -> Labels:
        """Factorise strings; ``None`` (and NaN) become absent."""
        index: dict[str, int] = {}
        codes = [
            -1 if v is None or v != v else index.setdefault(str(v), len(index)) for v in values
        ]
        return cls(np.asarray(codes, dtype=np.int32), tuple(index))

    @classmethod
    def absent(cls, n: int) -> Labels:
        return cls(np.full(n, -1, dtype=np.int32), ())

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    def map(
        self, func: Callable[[str], Any], missing: Any, dtype: npt.DTypeLike
    ) -> npt.NDArray[Any]:
        """``func`` of each row's value (``missing`` where absent), computed once per level."""
        per_level = np.array([func(level) for level in self.levels] + [missing], dtype=dtype)
        return per_level[self.codes]  # code -1 picks the trailing ``missing``

    def isin(self, values: Iterable[str]) -> BoolArray:
        wanted = set(values)
        return self.map(lambda level: level in wanted, False, np.bool_)

    def present(self) -> BoolArray:
        return np.asarray(self.codes >= 0)

    def take(self, rows: npt.ArrayLike) -> Labels:
        return Labels(self.codes[np.asarray(rows)], self.levels)

    def values(self) -> npt.NDArray[np.object_]:
        """The strings themselves (``None`` where absent)."""
        return self.map(lambda level: level, None, object)


@dataclass(frozen=True, eq=False)
class RoadTable:
    """Road segments between nodes, with the tags travel modes need.

    Attributes
    ----------
    node_ids, x, y
        One entry per node: its OSM id and coordinates (lon/lat or metres; the owner says which).
    u, v
        Node positions at the ends of each segment, in the direction of the OSM way.
    length_m
        Segment length in metres (great-circle for OSM data).
    oneway
        True where only ``u -> v`` may be driven or ridden; walking ignores it.
    highway
        The OSM ``highway`` value of each segment's way.
    maxspeed_kmh
        Tagged speed limit (the lowest where several are given), NaN where not tagged.
    tags
        Further tags by key (see :data:`TAG_KEYS`); a missing key means absent everywhere.
    """

    node_ids: IntArray
    x: FloatArray
    y: FloatArray
    u: IntArray
    v: IntArray
    length_m: FloatArray
    oneway: BoolArray
    highway: Labels
    maxspeed_kmh: FloatArray
    tags: Mapping[str, Labels] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n, m = self.node_ids.shape[0], self.u.shape[0]
        if not (self.x.shape == self.y.shape == (n,)):
            raise DataError(f"node arrays differ in length ({n}, {self.x.size}, {self.y.size})")
        columns = [self.v, self.length_m, self.oneway, self.highway.codes, self.maxspeed_kmh]
        columns += [t.codes for t in self.tags.values()]
        if any(c.shape != (m,) for c in columns):
            raise DataError(f"segment arrays differ in length (expected {m} rows each)")
        if m and (min(self.u.min(), self.v.min()) < 0 or max(self.u.max(), self.v.max()) >= n):
            raise DataError(f"segment ends must be node positions 0..{n - 1}")

    @property
    def n_nodes(self) -> int:
        return int(self.node_ids.shape[0])

    @property
    def n_segments(self) -> int:
        return int(self.u.shape[0])

    def tag(self, key: str) -> Labels:
        return self.tags.get(key) or Labels.absent(self.n_segments)

    def select(self, rows: npt.ArrayLike, nodes: npt.ArrayLike | None = None) -> RoadTable:
        """The given segments (and nodes: by default those the segments use), renumbered."""
        keep = np.asarray(rows, dtype=np.int64)
        u, v = self.u[keep], self.v[keep]
        if nodes is None:
            used = np.zeros(self.n_nodes, dtype=bool)
            used[u] = used[v] = True
            node_rows = np.flatnonzero(used)
        else:
            node_rows = np.asarray(nodes, dtype=np.int64)
        new = np.full(self.n_nodes, -1, dtype=np.int64)
        new[node_rows] = np.arange(node_rows.size)
        return RoadTable(
            node_ids=self.node_ids[node_rows],
            x=self.x[node_rows],
            y=self.y[node_rows],
            u=new[u],
            v=new[v],
            length_m=self.length_m[keep],
            oneway=self.oneway[keep],
            highway=self.highway.take(keep),
            maxspeed_kmh=self.maxspeed_kmh[keep],
            tags={k: t.take(keep) for k, t in self.tags.items()},
        )

    def with_xy(self, x: FloatArray, y: FloatArray) -> RoadTable:
        """The same roads with new node coordinates (after projecting)."""
        return RoadTable(
            self.node_ids,
            np.asarray(x, np.float64),
            np.asarray(y, np.float64),
            self.u,
            self.v,
            self.length_m,
            self.oneway,
            self.highway,
            self.maxspeed_kmh,
            self.tags,
        )


_NUMBER = re.compile(r"(\d+(?:\.\d+)?)")


def maxspeed_kmh(value: Any) -> float:
    """Parse OSM maxspeed ("60", "60 km/h", "30 mph", "40;60" -> the lowest); NaN if none."""
    if value is None:
        return math.nan
    items: Iterable[Any] = value if isinstance(value, list | tuple) else str(value).split(";")
    found = []
    for item in items:
        match = _NUMBER.search(str(item))
        if match:
            kmh = float(match.group(1)) * (1.609344 if "mph" in str(item) else 1.0)
            if kmh > 0:
                found.append(kmh)
    return min(found) if found else math.nan


def segment_seconds(
    roads: RoadTable,
    mode: Mode,
    *,
    walk_speed_mps: float = 1.0,
    ebike_speed_kmh: float = 12.0,
    drive_speeds_kmh: Mapping[str, float] | None = None,
) -> FloatArray:
    """Seconds to travel each segment in ``mode``; NaN where the mode may not use it.

    Walking is at ``walk_speed_mps`` everywhere it is allowed. E-bikes ride at ``ebike_speed_kmh``
    or the tagged limit if lower. Cars drive at the tagged limit, else at the speed of the road
    class (``drive_speeds_kmh`` over :data:`DRIVE_SPEEDS_KMH`; unknown classes as ``road``).
    A segment is closed to a mode by its highway class, ``area=yes``, or the most specific access
    tag present for the mode (``foot`` before ``access`` for walking) being ``no``/``private``.
    """
    if mode not in _EXCLUDED:
        raise DataError(
            f"未知出行方式 / unknown travel mode {mode!r}; use one of {', '.join(_EXCLUDED)}"
        )
    _check_speeds(mode, walk_speed_mps, ebike_speed_kmh, drive_speeds_kmh)
    length = roads.length_m
    usable = roads.highway.present() & ~roads.highway.isin(_EXCLUDED[mode])
    usable &= ~roads.tag("area").isin({"yes"}) & _allowed(roads, mode)
    usable &= np.isfinite(length) & (length >= 0)
    if mode == "walk":
        seconds = length / walk_speed_mps
    else:
        limit = roads.maxspeed_kmh
        if mode == "ebike":
            kmh = np.where(np.isfinite(limit), np.minimum(ebike_speed_kmh, limit), ebike_speed_kmh)
        else:
            speeds = {**DRIVE_SPEEDS_KMH, **(drive_speeds_kmh or {})}
            fallback = speeds.get("road", 30.0)
            by_class = roads.highway.map(lambda h: speeds.get(h, fallback), fallback, np.float64)
            kmh = np.where(np.isfinite(limit), limit, by_class)
        seconds = length / (kmh / 3.6)
    return np.where(usable, seconds, np.nan)


def _check_speeds(
    mode: str,
    walk_speed_mps: float,
    ebike_speed_kmh: float,
    drive_speeds_kmh: Mapping[str, float] | None,
) -> None:
    """Refuse a speed of the mode that no travel time can come from: zero, negative, NaN, inf."""
    given: list[tuple[str, Any, str]] = []
    if mode == "walk":
        given.append(("walk_speed_mps", walk_speed_mps, "m/s"))
    elif mode == "ebike":
        given.append(("ebike_speed_kmh", ebike_speed_kmh, "km/h"))
    else:
        for key, value in (drive_speeds_kmh or {}).items():
            given.append((f"drive_speeds_kmh[{key!r}]", value, "km/h"))
    for name, value, unit in given:
        try:
            ok = math.isfinite(float(value)) and float(value) > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise DataError(
                f"{name} 须为正数 / {name} must be a positive speed in {unit}, got {value!r}"
            )


def _allowed(roads: RoadTable, mode: str) -> BoolArray:
    allowed = np.ones(roads.n_segments, dtype=bool)
    decided = np.zeros(roads.n_segments, dtype=bool)
    for key in _ACCESS_KEYS[mode]:
        tag = roads.tag(key)
        here = tag.present() & ~decided
        allowed[here & tag.isin(_NO_ACCESS)] = False
        decided |= here
    return allowed


def mode_arcs(
    roads: RoadTable, seconds: FloatArray, mode: Mode
) -> tuple[IntArray, IntArray, FloatArray]:
    """Directed arcs ``(tail, head, seconds)`` of the usable segments.

    Walking goes both ways along every segment; e-bikes and cars only ``u -> v`` on one-way ones.
    """
    rows = np.flatnonzero(np.isfinite(seconds))
    back = rows if mode == "walk" else rows[~roads.oneway[rows]]
    tail = np.concatenate([roads.u[rows], roads.v[back]])
    head = np.concatenate([roads.v[rows], roads.u[back]])
    return tail, head, np.concatenate([seconds[rows], seconds[back]])


def _first(value: Any) -> Any:
    """osmnx keeps a list where simplification merged ways with different tags."""
    if isinstance(value, list | tuple):
        return value[0] if value else None
    return value


def road_table_from_networkx(G: nx.MultiDiGraph) -> RoadTable:
    """An osmnx-style graph as a RoadTable: nodes with ``x``/``y``, edges with ``length`` (m).

    Each edge is a one-way segment as the graph encodes it, except that the two edges osmnx makes
    for a two-way OSM way (``oneway=False``, one with ``reversed=False`` and its twin with
    ``reversed=True``) become one two-way segment.
    """
    if G.number_of_nodes() == 0:
        raise DataError(
            "道路网为空 / the road graph has no nodes; check the network source and area"
        )
    nodes = list(G.nodes)
    pos = {node: i for i, node in enumerate(nodes)}
    x = np.fromiter((G.nodes[n]["x"] for n in nodes), np.float64, len(nodes))
    y = np.fromiter((G.nodes[n]["y"] for n in nodes), np.float64, len(nodes))
    ids = np.array([n if isinstance(n, int | np.integer) else i for i, n in enumerate(nodes)])
    rows = [(u, v, d, _two_way(G, u, v, d)) for u, v, d in G.edges(data=True)]
    rows = [r for r in rows if r[3] is not None]  # a two-way way's reversed twin
    columns: dict[str, list[Any]] = {key: [] for key in (*TAG_KEYS, "highway")}
    for _, _, data, _ in rows:
        for key, values in columns.items():
            values.append(_first(data.get(key)))
    return RoadTable(
        node_ids=ids.astype(np.int64),
        x=x,
        y=y,
        u=np.fromiter((pos[r[0]] for r in rows), np.int64, len(rows)),
        v=np.fromiter((pos[r[1]] for r in rows), np.int64, len(rows)),
        length_m=np.fromiter((_length(r[2]) for r in rows), np.float64, len(rows)),
        oneway=np.fromiter((not r[3] for r in rows), np.bool_, len(rows)),
        highway=Labels.from_values(columns.pop("highway")),
        maxspeed_kmh=np.fromiter(
            (maxspeed_kmh(r[2].get("maxspeed")) for r in rows), np.float64, len(rows)
        ),
        tags={key: Labels.from_values(values) for key, values in columns.items()},
    )


def _two_way(G: nx.MultiDiGraph, u: Any, v: Any, data: Mapping[str, Any]) -> bool | None:
    """True for osmnx's forward edge of a two-way way, None for its reversed twin, else False."""
    if data.get("oneway") is False and G.has_edge(v, u):
        if data.get("reversed") is False:
            return True
        if data.get("reversed") is True:
            return None
    return False


def _length(data: Mapping[str, Any]) -> float:
    try:
        return float(data.get("length", math.nan))
    except (TypeError, ValueError):
        return math.nan
