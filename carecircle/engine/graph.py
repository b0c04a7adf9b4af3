"""TravelGraph: a road network as CSR arrays of travel seconds, and snapping points onto it.

Arrays in, arrays out: nothing here reads files or knows about geometry libraries. Coordinates are
metres in a projected CRS chosen at the edge (``carecircle.sources``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from carecircle.engine.dijkstra import FloatArray, IntArray, to_csr
from carecircle.engine.roads import (
    DRIVE_SPEEDS_KMH,
    Mode,
    RoadTable,
    mode_arcs,
    road_table_from_networkx,
    segment_seconds,
)
from carecircle.errors import DataError

if TYPE_CHECKING:
    from carecircle.engine.chains import Chains

__all__ = [
    "DRIVE_SPEEDS_KMH",
    "Mode",
    "Snap",
    "TravelGraph",
    "crs_name",
    "snap_points",
]


def crs_name(crs: Any) -> str:
    """A CRS as messages and reprs name it (``EPSG:32650``), ``no CRS`` for None; any object
    with pyproj's ``to_string()`` or its ``str()``, so the engine needs no pyproj of its own."""
    if crs is None:
        return "no CRS"
    to_string = getattr(crs, "to_string", None)
    return str(to_string()) if callable(to_string) else str(crs)


@dataclass(frozen=True, eq=False)
class TravelGraph:
    """A directed road graph in CSR form with travel seconds on each arc.

    Attributes
    ----------
    indptr, indices, seconds
        CSR arrays: the arcs leaving node ``i`` are ``indices[indptr[i]:indptr[i+1]]`` with travel
        times ``seconds[...]``. Parallel arcs are merged keeping the fastest.
    x, y
        Node coordinates in metres (projected CRS).
    node_ids
        The caller's node ids (OSM ids when built from osmnx), for reporting.
    mode
        The travel mode the weights were computed for.
    crs
        The projected CRS of ``x``/``y``. Every graph carecircle hands out carries it
        (``cc.travel_graph``, ``RunResult.graph``, :meth:`from_networkx` for a graph that declares
        one); ``None`` only where a caller built the graph from bare arrays without one.
    """

    indptr: IntArray
    indices: npt.NDArray[np.int32]
    seconds: FloatArray
    x: FloatArray
    y: FloatArray
    node_ids: IntArray
    mode: str = "custom"
    metadata: Mapping[str, Any] = field(default_factory=dict)
    crs: Any = None

    def __repr__(self) -> str:
        """One line: the mode, the size and the CRS (the arrays would flood a notebook)."""
        size = f"{self.n_nodes:,} nodes, {self.n_arcs:,} arcs"
        return f"TravelGraph({self.mode}, {size}, {crs_name(self.crs)})"

    @property
    def n_nodes(self) -> int:
        return int(self.x.shape[0])

    @property
    def n_arcs(self) -> int:
        return int(self.indices.shape[0])

    @cached_property
    def csr(self) -> sp.csr_matrix:
        """The arcs as a ``scipy.sparse.csr_matrix`` (what csgraph routines take)."""
        shape = (self.n_nodes, self.n_nodes)
        return sp.csr_matrix((self.seconds, self.indices, self.indptr), shape=shape)

    @cached_property
    def csr_reversed(self) -> sp.csr_matrix:
        """Arcs reversed: shortest paths on it give times *to* the sources instead of from them."""
        return sp.csr_matrix(self.csr.T)

    @cached_property
    def active(self) -> npt.NDArray[np.bool_]:
        """Nodes with at least one arc in this mode (only those can be snapped to)."""
        degree = np.diff(self.indptr) + np.bincount(self.indices, minlength=self.n_nodes)
        return np.asarray(degree > 0)

    @cached_property
    def max_speed_mps(self) -> float:
        """The fastest any arc covers straight-line distance (metres per second; inf if unbounded).

        No trip of ``t`` seconds ends farther than ``t * max_speed_mps`` from where it began, which
        lets catchments search only the nodes near each source.
        """
        tail = np.repeat(np.arange(self.n_nodes), np.diff(self.indptr))
        metres = np.hypot(self.x[self.indices] - self.x[tail], self.y[self.indices] - self.y[tail])
        if np.any((self.seconds == 0) & (metres > 0)):
            return float("inf")
        moving = self.seconds > 0
        with np.errstate(over="ignore"):  # a denormal time is as good as zero: speed inf
            return float((metres[moving] / self.seconds[moving]).max(initial=0.0))

    @cached_property
    def junction_tree(self) -> tuple[IntArray, cKDTree, IntArray]:
        """The junctions with arcs (see :attr:`chains`), a KD-tree over them, and each node's
        position among them (-1 for the other nodes).

        Catchments look up the junctions near each source in it.
        """
        idx = np.flatnonzero(self.active & ~self.chains.interior).astype(np.int64)
        position = np.full(self.n_nodes, -1, dtype=np.int64)
        position[idx] = np.arange(idx.size)
        return idx, cKDTree(np.column_stack([self.x[idx], self.y[idx]])), position

    @cached_property
    def component(self) -> npt.NDArray[np.int32]:
        """Weakly connected component of each node; 0 is the largest, -1 marks inactive nodes."""
        _, labels = connected_components(self.csr, directed=True, connection="weak")
        labels = np.where(self.active, labels, -1)
        sizes = np.bincount(labels[labels >= 0], minlength=1)
        order = np.argsort(-sizes, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        return np.where(labels >= 0, rank[np.maximum(labels, 0)], -1).astype(np.int32)

    @cached_property
    def chains(self) -> Chains:
        """The graph's chains of two-way degree-2 nodes and its junction graph (for searches)."""
        from carecircle.engine.chains import Chains

        return Chains.build(self.csr)

    @cached_property
    def _trees(self) -> tuple[tuple[IntArray, cKDTree], ...]:
        """KD-trees over main-network nodes, island nodes and all active nodes (in that order)."""
        comp = self.component
        out = []
        for mask in (comp == 0, comp > 0, comp >= 0):
            idx = np.flatnonzero(mask).astype(np.int64)
            out.append((idx, cKDTree(np.column_stack([self.x[idx], self.y[idx]]))))
        return tuple(out)

    def islands(self) -> dict[str, int]:
        """How much of the network is cut off from the main component."""
        comp = self.component
        outside = int(np.count_nonzero(comp > 0))
        return {
            "components": int(comp.max() + 1) if comp.size else 0,
            "main_component_nodes": int(np.count_nonzero(comp == 0)),
            "island_nodes": outside,
        }

    @classmethod
    def from_arrays(
        cls,
        tail: npt.ArrayLike,
        head: npt.ArrayLike,
        seconds: npt.ArrayLike,
        x: npt.ArrayLike,
        y: npt.ArrayLike,
        *,
        node_ids: npt.ArrayLike | None = None,
        mode: str = "custom",
        metadata: Mapping[str, Any] | None = None,
        crs: Any = None,
    ) -> TravelGraph:
        """Build from arc arrays (node positions ``0..n-1``) and node coordinates (in ``crs``).

        Parallel arcs keep the fastest; self-loops are dropped. Raises :class:`DataError` on
        negative or non-finite times or out-of-range node indices.
        """
        t = np.asarray(tail, dtype=np.int64).ravel()
        h = np.asarray(head, dtype=np.int64).ravel()
        w = np.asarray(seconds, dtype=np.float64).ravel()
        xs = np.asarray(x, dtype=np.float64).ravel()
        ys = np.asarray(y, dtype=np.float64).ravel()
        _check_arcs(t, h, w, xs, ys)
        n = xs.shape[0]
        ids = np.arange(n, dtype=np.int64) if node_ids is None else np.asarray(node_ids, np.int64)
        if ids.shape != (n,):
            raise DataError(
                f"node_ids has {ids.shape[0]} entries for {n} nodes; give one id per node"
            )
        indptr, indices, weights = to_csr(t, h, w, n)
        return cls(indptr, indices, weights, xs, ys, ids, mode, dict(metadata or {}), crs)

    @classmethod
    def from_roads(
        cls,
        roads: RoadTable,
        *,
        mode: Mode,
        walk_speed_mps: float = 1.0,
        ebike_speed_kmh: float = 12.0,
        drive_speeds_kmh: Mapping[str, float] | None = None,
        crs: Any = None,
    ) -> TravelGraph:
        """Build the graph of one travel mode from a road table (see ``segment_seconds``).

        Walking uses every allowed segment both ways; e-bikes and cars respect one-way segments.
        Coordinates are taken as they are, so project the table first; ``crs`` is the table's
        (projected) CRS, which the graph carries.
        """
        if roads.n_nodes == 0:
            raise DataError(
                "道路网为空 / the road graph has no nodes; check the network source and area"
            )
        seconds = segment_seconds(
            roads,
            mode,
            walk_speed_mps=walk_speed_mps,
            ebike_speed_kmh=ebike_speed_kmh,
            drive_speeds_kmh=drive_speeds_kmh,
        )
        tail, head, weights = mode_arcs(roads, seconds, mode)
        meta = {
            "edges_in": roads.n_segments,
            "edges_excluded_for_mode": int(np.count_nonzero(np.isnan(seconds))),
        }
        return cls.from_arrays(
            tail,
            head,
            weights,
            roads.x,
            roads.y,
            node_ids=roads.node_ids,
            mode=mode,
            metadata=meta,
            crs=crs,
        )

    @classmethod
    def from_networkx(
        cls,
        G: nx.MultiDiGraph,
        *,
        mode: Mode,
        walk_speed_mps: float = 1.0,
        ebike_speed_kmh: float = 12.0,
        drive_speeds_kmh: Mapping[str, float] | None = None,
    ) -> TravelGraph:
        """Build from an osmnx-style graph: nodes with ``x``/``y``, edges with ``length`` (m).

        The graph becomes a road table first (``road_table_from_networkx``), so the mode rules
        are those of :meth:`from_roads`. One-way streets are as the graph encodes them (osmnx
        adds both directions for two-way streets); walking ignores them.

        The graph must be projected (node ``x``/``y`` in metres, as ``osmnx.project_graph``
        gives): a graph whose ``crs`` is geographic, or whose coordinates are plainly degrees
        (edge lengths some ten thousand times the distance between their ends), is refused.
        """
        return cls.from_roads(
            road_table_from_networkx(G),
            mode=mode,
            walk_speed_mps=walk_speed_mps,
            ebike_speed_kmh=ebike_speed_kmh,
            drive_speeds_kmh=drive_speeds_kmh,
            crs=_projected_crs(G),
        )


def _projected_crs(G: nx.MultiDiGraph) -> Any:
    """The graph's CRS (None when it declares none); refuses a graph in degrees."""
    declared = G.graph.get("crs")
    crs = None
    if declared is not None:
        from pyproj import CRS  # only this adapter needs pyproj; the engine itself does not

        crs = CRS.from_user_input(declared)
        if crs.is_geographic:
            raise DataError(_DEGREES.format(what=f"in a geographic CRS ({crs.to_string()})"))
    ratios = []
    for u, v, data in G.edges(data=True):
        if u == v or "length" not in data:
            continue
        a, b = G.nodes[u], G.nodes[v]
        span = float(np.hypot(a["x"] - b["x"], a["y"] - b["y"]))
        if span > 0:
            ratios.append(float(data["length"]) / span)
        if len(ratios) >= 1000:
            break
    if ratios and np.median(ratios) > 1000:
        raise DataError(
            _DEGREES.format(what="in degrees (edge lengths ~1e5 x their coordinates' span)")
        )
    return crs


_DEGREES = (
    "Graph is {what}: node x/y would be taken as metres, so snapping distances and access legs "
    "would come out ~0. Use 'osmnx.project_graph(G)' to re-project it to a projected CRS before "
    "building a TravelGraph."
)


def _check_arcs(t: IntArray, h: IntArray, w: FloatArray, x: FloatArray, y: FloatArray) -> None:
    n = x.shape[0]
    if not (t.shape == h.shape == w.shape):
        raise DataError(
            f"tail, head and seconds differ in length ({t.size}, {h.size}, {w.size}); give one per arc"
        )
    if y.shape != x.shape:
        raise DataError(f"x and y differ in length ({x.size}, {y.size}); give one per node")
    if not np.all(np.isfinite(x)) or not np.all(np.isfinite(y)):
        raise DataError("node coordinates contain NaN or infinity; drop or fix those nodes")
    if t.size and (min(t.min(), h.min()) < 0 or max(t.max(), h.max()) >= n):
        raise DataError(f"arc endpoints must be node positions 0..{n - 1}; renumber the nodes")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{int(bad.sum())} arc(s) have negative or non-finite travel time "
            f"(first: arc {first}, {w[first]!r} s); travel times must be >= 0"
        )


@dataclass(frozen=True)
class Snap:
    """Where each point joins the network.

    ``node`` is -1 for off-network points; ``status`` is 0 (main network), 1 (an island cut off from
    the main network) or 2 (farther than the access limit from any road).
    """

    node: IntArray
    distance_m: FloatArray
    access_s: FloatArray
    status: npt.NDArray[np.int8]

    MAIN = 0
    ISLAND = 1
    OFF_NETWORK = 2

    def counts(self) -> dict[str, int]:
        return {
            "main": int(np.count_nonzero(self.status == self.MAIN)),
            "island": int(np.count_nonzero(self.status == self.ISLAND)),
            "off_network": int(np.count_nonzero(self.status == self.OFF_NETWORK)),
        }


def snap_points(
    graph: TravelGraph,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    max_distance_m: float,
    walk_speed_mps: float = 1.0,
) -> Snap:
    """Join points to their nearest node with a straight-line access leg at walking speed.

    Points prefer the main network: a stray fragment next to a village must not capture it. Only a
    point with no main-network node within ``max_distance_m`` joins an island (and is flagged so);
    a point with no node at all within reach is off-network.
    """
    px = np.asarray(x, dtype=np.float64).ravel()
    py = np.asarray(y, dtype=np.float64).ravel()
    if px.shape != py.shape:
        raise DataError(f"x and y differ in length ({px.size}, {py.size}); give one per point")
    bad = ~(np.isfinite(px) & np.isfinite(py))
    if bad.any():  # a KD-tree query would fail deep inside scipy ("'x' must be finite")
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{int(bad.sum())} 个点的坐标不是有限数 / {int(bad.sum())} point(s) have NaN or "
            f"infinite coordinates (first: point {first}, x={px[first]!r}, y={py[first]!r}); "
            "drop or fix them"
        )
    if not walk_speed_mps > 0 or not np.isfinite(walk_speed_mps):
        raise DataError(
            f"walk_speed_mps 须为正数 / walk_speed_mps must be a positive number of metres per "
            f"second, got {walk_speed_mps!r}"
        )
    if np.isnan(max_distance_m) or max_distance_m < 0:
        raise DataError(
            f"max_distance_m 须为非负数 / max_distance_m must be >= 0 metres, got {max_distance_m!r}"
        )
    pts = np.column_stack([px, py])
    node = np.full(px.size, -1, dtype=np.int64)
    dist = np.full(px.size, np.inf)
    status = np.full(px.size, Snap.OFF_NETWORK, dtype=np.int8)
    main, island, every = graph._trees
    for target_status, (candidates, tree) in ((Snap.MAIN, main), (Snap.ISLAND, island)):
        todo = np.flatnonzero(status == Snap.OFF_NETWORK)
        if candidates.size == 0 or todo.size == 0:
            continue
        d, i = tree.query(pts[todo], distance_upper_bound=max_distance_m)
        hit = np.isfinite(d)
        node[todo[hit]] = candidates[i[hit]]
        dist[todo[hit]] = d[hit]
        status[todo[hit]] = target_status
    if np.any(status == Snap.OFF_NETWORK):
        # Report how far off-network points are rather than infinity.
        off = np.flatnonzero(status == Snap.OFF_NETWORK)
        if every[0].size:
            dist[off] = every[1].query(pts[off])[0]
    access = np.where(status == Snap.OFF_NETWORK, np.inf, dist / walk_speed_mps)
    return Snap(node=node, distance_m=dist, access_s=access, status=status)
