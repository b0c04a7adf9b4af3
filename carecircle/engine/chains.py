"""Chains: runs of two-way nodes of degree 2, contracted out of a TravelGraph for its searches.

Most nodes of an OSM road graph only shape a street between two junctions (68 % of Yuba County's
walk graph, 82 % of Imperial County's). A shortest path enters such a node from one neighbour
and leaves it to the other, so the searches run Dijkstra on the *junction graph* (junctions, plus
one arc each way per chain) and then give every chain node its time from the chain's two ends,
``min(t[a] + a→node, t[b] + b→node)``, exactly as a search of the whole graph would.

A node is *interior* when it has exactly two neighbours and arcs to and from both (a two-way
street; the two directions may differ in time), or when it is a two-way dead end (one
neighbour, arcs to and from it). One-way streets stay junctions, and so does one node of each
ring or street that has no junction of its own. Interior nodes form chains
``a -> order[start[c]] -> ... -> order[start[c+1]-1] -> b`` between end junctions ``a`` and ``b``
(``a == b`` for a loop). A chain that ends in a dead end is *pendant*: a spur entered and left
by ``a`` only (``b == a``, no way by ``b``), with no arc in the junction graph, since no shortest
path between junctions runs into a spur; this leaves 28 % fewer junctions in Yuba County's walk
graph, 14 % fewer in Imperial County's. A source on an interior node splits its chain for that
search (:meth:`ChainView.split_arcs`).

Times along a chain are sums of its arcs added up from the chain's ends, not from the source as
a search adds them, so they match a whole-graph Dijkstra to the last bits (1e-11 s on county
graphs), and a node within such a sliver of a limit may fall on either side of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra

from carecircle.engine.dijkstra import FloatArray, IntArray, search, to_csr


@dataclass(frozen=True, eq=False)
class Chains:
    """The chains of a graph and its junction graph, for the arcs as given (``forward``).

    Attributes
    ----------
    chain, rank
        Per node: its chain (``-1`` for junctions) and its index in ``order`` (``-1``).
    order, start
        Interior nodes chain by chain, each chain from its end ``a`` to its end ``b``; chain ``c``
        is ``order[start[c]:start[c + 1]]``.
    a, b
        The end junctions of each chain; ``b == a`` for a pendant chain.
    pendant
        Per chain: it ends in a dead end (a spur), so it is entered and left by ``a`` only.
    along, back
        Per index of ``order``: seconds from ``a`` along the chain to the node, and back to ``a``.
    from_b, to_b
        The same from ``b`` to the node and from the node to ``b`` (``inf`` on pendant chains:
        there is no way by ``b``). All four are added up from the chain's end, arc by arc, not as
        differences of others (which would lose short arcs).
    junction
        The junction graph (CSR over all ``n`` node positions; interior nodes have no arcs).
    """

    chain: IntArray
    rank: IntArray
    order: IntArray
    start: IntArray
    a: IntArray
    b: IntArray
    pendant: npt.NDArray[np.bool_]
    along: FloatArray
    back: FloatArray
    from_b: FloatArray
    to_b: FloatArray
    junction: sp.csr_matrix

    @property
    def n_chains(self) -> int:
        return int(self.a.shape[0])

    @property
    def interior(self) -> npt.NDArray[np.bool_]:
        return self.chain >= 0

    @cached_property
    def lengths(self) -> IntArray:
        """The number of interior nodes of each chain."""
        return np.diff(self.start)

    @cached_property
    def ends_of(self) -> tuple[IntArray, IntArray]:
        """Per index of ``order``: the ends ``a`` and ``b`` of the node's chain."""
        return np.repeat(self.a, self.lengths), np.repeat(self.b, self.lengths)

    @cached_property
    def junctions(self) -> tuple[IntArray, IntArray]:
        """The junctions, and each node's position among them (-1 for interior nodes)."""
        nodes = np.flatnonzero(self.chain < 0)
        index = np.full(self.chain.shape[0], -1, dtype=np.int64)
        index[nodes] = np.arange(nodes.size)
        return nodes, index

    @cached_property
    def ends(self) -> tuple[IntArray, IntArray, npt.NDArray[np.bool_]]:
        """The chain ends at each junction, as CSR: ``indptr`` over nodes, chain, is-end-``b``."""
        n = self.chain.shape[0]
        through = np.flatnonzero(~self.pendant)  # a pendant chain's end b is its end a again
        junction = np.concatenate([self.a, self.b[through]])
        order = np.argsort(junction, kind="stable")
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(junction, minlength=n), out=indptr[1:])
        chains = np.concatenate([np.arange(self.n_chains), through])[order]
        return indptr, chains, order >= self.n_chains

    @cached_property
    def forward(self) -> ChainView:
        """Searches along the arcs (times *from* the sources)."""
        return ChainView(self, self.along, self.back, self.from_b, self.to_b, self.junction)

    @cached_property
    def backward(self) -> ChainView:
        """Searches against the arcs (times *to* the sources)."""
        reverse = sp.csr_matrix(self.junction.T)
        return ChainView(self, self.back, self.along, self.to_b, self.from_b, reverse)

    @classmethod
    def build(cls, csr: sp.csr_matrix) -> Chains:
        """Find the chains of a graph given as a CSR matrix without self-loops or parallel arcs."""
        n = csr.shape[0]
        csr = csr.sorted_indices() if not csr.has_sorted_indices else csr
        into = sp.csr_matrix(csr.T)
        into.sort_indices()
        interior, nb = _two_way_degree_two(csr, into)
        label, pos = _paths(interior, nb, n)
        nodes = np.flatnonzero(interior)
        order = nodes[np.lexsort((pos[nodes], label[nodes]))]
        first = np.ones(order.size, dtype=bool)
        first[1:] = label[order][1:] != label[order][:-1]
        start = np.append(np.flatnonzero(first), order.size).astype(np.int64)
        chain = np.full(n, -1, dtype=np.int64)
        chain[order] = np.cumsum(first) - 1
        rank = np.full(n, -1, dtype=np.int64)
        rank[order] = np.arange(order.size)
        head, last = order[start[:-1]], order[start[1:] - 1]
        # The end junctions: the neighbour of the first (last) node that is not on the chain.
        nb1, nb2 = nb[0][head], nb[1][head]
        second = order[np.minimum(start[:-1] + 1, order.size - 1)]
        single = np.diff(start) == 1
        a = np.where(single | (nb2 == second), nb1, nb2)
        nb1, nb2 = nb[0][last], nb[1][last]
        before = order[np.maximum(start[1:] - 2, 0)]
        b = np.where(single, nb2, np.where(nb1 == before, nb2, nb1))
        pendant = b < 0  # a spur ending in a dead end: its only way in and out is by end a
        b[pendant] = a[pendant]
        prev = np.empty(order.size, dtype=np.int64)
        prev[1:] = order[:-1]
        prev[start[:-1]] = a
        weight = _arc_weights(csr)
        along = _segmented_cumsum(weight(prev, order), start)
        back = _segmented_cumsum(weight(order, prev), start)
        succ = np.empty(order.size, dtype=np.int64)
        succ[:-1] = order[1:]
        succ[start[1:] - 1] = b
        dead = start[1:][pendant] - 1  # no arc leads on from a dead end: nothing comes by b
        succ[dead] = prev[dead]
        into_b, out_b = weight(succ, order), weight(order, succ)
        into_b[dead] = out_b[dead] = np.inf
        flip = order.size - start[::-1]  # the chains' starts with everything reversed
        from_b = _segmented_cumsum(into_b[::-1], flip)[::-1]
        to_b = _segmented_cumsum(out_b[::-1], flip)[::-1]
        through = ~pendant
        along_end = along[start[1:][through] - 1] + weight(last[through], b[through])
        back_end = back[start[1:][through] - 1] + weight(b[through], last[through])
        junction = _junction_graph(csr, interior, a[through], b[through], along_end, back_end)
        return cls(
            chain,
            rank,
            order,
            start,
            a,
            b,
            pendant,
            along,
            back,
            from_b,
            to_b,
            junction,
        )


@dataclass(frozen=True, eq=False)
class ChainView:
    """The chains seen in one search direction: the same topology, the times of that direction.

    ``from_a[i]``/``to_a[i]``: seconds from end ``a`` to node ``order[i]`` and from it to ``a``;
    ``from_b``/``to_b`` the same for end ``b``. ``graph`` is the junction graph in this
    direction.
    """

    chains: Chains
    from_a: FloatArray
    to_a: FloatArray
    from_b: FloatArray
    to_b: FloatArray
    graph: sp.csr_matrix

    @cached_property
    def compact(self) -> sp.csr_matrix:
        """The junction graph over the junctions only (row ``k``: ``chains.junctions[0][k]``).

        Dijkstra's own work grows with the number of nodes too, so this searches faster than
        the graph over all node positions.
        """
        nodes, index = self.chains.junctions
        g = self.graph  # interior nodes have no arcs: their rows are empty, their columns unused
        indptr = np.append(g.indptr[nodes], g.indptr[-1])
        return sp.csr_matrix(
            (g.data, index[g.indices].astype(np.int32), indptr), shape=(nodes.size, nodes.size)
        )

    def nearest(
        self, seeds: IntArray, offsets: FloatArray, limit: float
    ) -> tuple[FloatArray, IntArray]:
        """Every node's time from its nearest seed (distinct nodes) and that seed (-1: none).

        One Dijkstra on the junction graph, with the interior seeds made junctions for it, then
        each chain node from the nearer end of its chain (:meth:`fill`).
        """
        ch = self.chains
        nodes, index = ch.junctions
        inside = np.sort(seeds[ch.chain[seeds] >= 0])

        def position(x: IntArray) -> IntArray:
            return np.where(ch.chain[x] >= 0, nodes.size + np.searchsorted(inside, x), index[x])

        tails, heads, weights = self.split_arcs(seeds)
        g = self.compact
        indptr = np.append(g.indptr, np.full(inside.size, g.indptr[-1]))  # rows for `inside`
        dist, source = search(
            indptr,
            g.indices,
            g.data,
            position(seeds),
            offsets,
            limit,
            extra=(position(tails), position(heads), weights),
            which=True,
        )
        n = ch.chain.shape[0]
        seconds = np.full(n, np.inf)
        owner = np.full(n, -1, dtype=np.int64)
        seconds[nodes], owner[nodes] = dist[: nodes.size], source[: nodes.size]
        seconds[inside], owner[inside] = dist[nodes.size :], source[nodes.size :]
        self.fill(seconds, owner, seeds, limit)
        return seconds, owner

    def split_arcs(self, seeds: IntArray) -> tuple[IntArray, IntArray, FloatArray]:
        """Arcs that make the interior nodes among ``seeds`` junctions for one search.

        Each such node is linked both ways to its neighbours along the chain among the end
        junctions and the other seeds: (tails, heads, seconds). The chain's own arc ``a -> b``
        stays valid and stays.
        """
        ch = self.chains
        r = np.unique(ch.rank[seeds[ch.chain[seeds] >= 0]])
        if r.size == 0:
            empty = np.empty(0, np.int64)
            return empty, empty, np.empty(0)
        c = ch.chain[ch.order[r]]
        new = np.ones(r.size, dtype=bool)
        new[1:] = c[1:] != c[:-1]
        # The anchor before each seed: the previous seed on its chain, or end a.
        prev_node = np.where(new, ch.a[c], ch.order[np.roll(r, 1)])
        prev_from = np.where(new, 0.0, self.from_a[np.roll(r, 1)])
        prev_to = np.where(new, 0.0, self.to_a[np.roll(r, 1)])
        node = ch.order[r]
        end = np.append(new[1:], True)  # the last seed of its chain also links to end b
        end &= ~ch.pendant[c]  # no way on from a pendant chain's last seed
        tails = np.concatenate([prev_node, node, node[end], ch.b[c[end]]])
        heads = np.concatenate([node, prev_node, ch.b[c[end]], node[end]])
        seconds = np.concatenate(
            [
                self.from_a[r] - prev_from,
                self.to_a[r] - prev_to,
                self.to_b[r[end]],
                self.from_b[r[end]],
            ]
        )
        return tails, heads, seconds

    def fill(self, seconds: FloatArray, owner: IntArray, seeds: IntArray, limit: float) -> None:
        """Give every interior node that is not a seed its time from the nearer chain end.

        ``seconds``/``owner`` hold the junction-graph search (junctions and seeds: time and the
        source reached from, -1 for none) and get the interior nodes' (in place): every chain
        at once, then again the chains with a seed on them, between their seeds.
        """
        ch = self.chains
        on_chain = seeds[ch.chain[seeds] >= 0]
        kept = seconds[on_chain], owner[on_chain]  # seeds have their times from the search
        # Every chain node at once, from the ends of its chain.
        a, b = ch.ends_of
        from_a = seconds[a] + self.from_a
        from_b = seconds[b] + self.from_b
        self._fill(seconds, owner, ch.order, (a, b), from_a, from_b, limit)
        if on_chain.size == 0:
            return
        seconds[on_chain], owner[on_chain] = kept
        # Between seeds, a node's anchors are the nearest seeds on its chain either side.
        c = np.unique(ch.chain[on_chain])
        i = _ranges(ch.start[c], ch.start[c + 1])
        node = ch.order[i]
        lo, hi = ch.start[ch.chain[node]], ch.start[ch.chain[node] + 1]
        mark = np.zeros(ch.order.size, dtype=bool)
        mark[ch.rank[on_chain]] = True
        before = np.maximum.accumulate(np.where(mark[i], i, -1))
        after = np.minimum.accumulate(np.where(mark[i], i, ch.order.size)[::-1])[::-1]
        keep = ~mark[i]
        i, before, after, lo, hi, node = (
            i[keep],
            before[keep],
            after[keep],
            lo[keep],
            hi[keep],
            node[keep],
        )
        left = np.where(before >= lo, ch.order[np.maximum(before, 0)], a[i])
        from_left = seconds[left] + np.where(
            before >= lo, self.from_a[i] - self.from_a[np.maximum(before, 0)], self.from_a[i]
        )
        inside = after < hi
        right = np.where(inside, ch.order[np.minimum(after, ch.order.size - 1)], b[i])
        safe = np.minimum(after, ch.order.size - 1)
        from_right = seconds[right] + np.where(
            inside, self.to_a[safe] - self.to_a[i], self.from_b[i]
        )
        self._fill(seconds, owner, node, (left, right), from_left, from_right, limit)

    def seeds(
        self, sources: IntArray, offsets: FloatArray, limit: float
    ) -> tuple[IntArray, IntArray, FloatArray]:
        """Where the search of each source (a row) starts: (row, junction, seconds) by row.

        A junction source starts at itself; a source inside a chain at the chain's two ends, its
        offset plus the way there. Seeds beyond ``limit`` are left out (offsets must be within).
        """
        ch = self.chains
        rows = np.arange(sources.size)
        c = ch.chain[sources]
        inside = np.flatnonzero(c >= 0)
        r, c = ch.rank[sources[inside]], c[inside]
        seed_rows = np.concatenate([rows, inside, inside])
        seed_nodes = np.concatenate([sources, ch.a[c], ch.b[c]])
        seed_s = np.concatenate(
            [offsets, offsets[inside] + self.to_a[r], offsets[inside] + self.to_b[r]]
        )
        keep = seed_s <= limit
        keep[inside] = False  # an interior source is no junction: its own node is in :meth:`own`
        order = np.argsort(seed_rows, kind="stable")
        order = order[keep[order]]
        return seed_rows[order], seed_nodes[order], seed_s[order]

    def between(
        self, rows: IntArray, chain: IntArray, ta: FloatArray, tb: FloatArray, limit: float
    ) -> list[tuple[IntArray, IntArray, FloatArray]]:
        """The nodes of each ``chain`` within ``limit``, each once, from the nearer end.

        ``ta``/``tb``: the times at the chain's ends ``a`` and ``b`` (``inf`` where not reached).
        A chain reached whole gives each node the nearer of the two. Otherwise, as the time by
        ``a`` grows along the chain and the time by ``b`` shrinks, the nodes taken from ``a`` are
        a first run and those from ``b`` a last run, found by binary search. Returns (row, node,
        seconds) of the chains reached whole, from ends ``a`` and from ends ``b``.
        """
        ch = self.chains
        lo, hi = ch.start[chain], ch.start[chain + 1]
        fa, fb = self.from_a, self.from_b
        # Most chains are reached whole, from one end at least: no search needed.
        whole = (ta + fa[hi - 1] <= limit) | (tb + fb[lo] <= limit)
        w, cut = np.flatnonzero(whole), np.flatnonzero(~whole)
        i = _ranges(lo[w], hi[w])
        qw = w[np.repeat(np.arange(w.size), hi[w] - lo[w])]
        lo, hi = lo[cut], hi[cut]

        def by_b(k: IntArray, i: IntArray) -> npt.NDArray[np.bool_]:
            return tb[cut[k]] + fb[i] < ta[cut[k]] + fa[i]

        stop = _first(lambda k, i: (ta[cut[k]] + fa[i] > limit) | by_b(k, i), lo, hi)
        begin = _first(lambda k, i: (tb[cut[k]] + fb[i] <= limit) & by_b(k, i), lo, hi)
        from_a = _ranges(lo, stop)
        qa = cut[np.repeat(np.arange(cut.size), stop - lo)]
        from_b = _ranges(begin, hi)
        qb = cut[np.repeat(np.arange(cut.size), hi - begin)]
        return [
            (rows[qw], ch.order[i], np.minimum(ta[qw] + fa[i], tb[qw] + fb[i])),
            (rows[qa], ch.order[from_a], ta[qa] + fa[from_a]),
            (rows[qb], ch.order[from_b], tb[qb] + fb[from_b]),
        ]

    def own(
        self,
        rows: IntArray,
        sources: IntArray,
        offsets: FloatArray,
        ta: FloatArray,
        tb: FloatArray,
        limit: float,
    ) -> tuple[IntArray, IntArray, FloatArray]:
        """The nodes within ``limit`` of the chain each interior source lies on: (row, node, s).

        A node is reached along the chain from the source, or by way of an end of the chain
        (``ta``/``tb``: the times at the ends, ``inf`` where not reached); the nearer counts.
        """
        ch = self.chains
        c, r = ch.chain[sources], ch.rank[sources]
        lo, hi = ch.start[c], ch.start[c + 1]
        i = _ranges(lo, hi)
        q = np.repeat(np.arange(sources.size), hi - lo)
        at, o = r[q], offsets[q]
        direct = np.where(
            i > at,
            o + (self.from_a[i] - self.from_a[at]),
            np.where(i < at, o + (self.to_a[at] - self.to_a[i]), o),
        )
        best = np.minimum(direct, np.minimum(ta[q] + self.from_a[i], tb[q] + self.from_b[i]))
        keep = best <= limit
        return rows[q[keep]], ch.order[i[keep]], best[keep]

    @staticmethod
    def _fill(
        seconds: FloatArray,
        owner: IntArray,
        node: IntArray,
        anchors: tuple[IntArray, IntArray],
        from_left: FloatArray,
        from_right: FloatArray,
        limit: float,
    ) -> None:
        """Chain nodes from the nearer of their two anchors (nodes): times and owners."""
        who = owner[np.where(from_left <= from_right, *anchors)]
        best = np.minimum(from_left, from_right)
        beyond = best > limit
        best[beyond] = np.inf
        who[beyond] = -1
        seconds[node] = best
        owner[node] = who


def _first(
    beyond: Callable[[IntArray, IntArray], npt.NDArray[np.bool_]], lo: IntArray, hi: IntArray
) -> IntArray:
    """Per query ``q``, the first ``i`` in ``lo[q]:hi[q]`` with ``beyond(q, i)`` (else ``hi[q]``).

    ``beyond`` must be monotone along each range (false, then true): a binary search of all
    queries at once.
    """
    lo, hi = lo.copy(), hi.copy()
    todo = np.flatnonzero(lo < hi)
    # Most ranges hold no such i (a chain reached whole): one look at their last i settles them.
    whole = ~beyond(todo, hi[todo] - 1)
    lo[todo[whole]] = hi[todo[whole]]
    todo = todo[~whole]
    while todo.size:
        mid = (lo[todo] + hi[todo]) // 2
        yes = beyond(todo, mid)
        hi[todo[yes]] = mid[yes]
        lo[todo[~yes]] = mid[~yes] + 1
        todo = todo[lo[todo] < hi[todo]]
    return lo


def _ranges(lo: IntArray, hi: IntArray) -> IntArray:
    """The concatenated ranges ``lo[k]:hi[k]``."""
    size = hi - lo
    return np.repeat(lo - (np.cumsum(size) - size), size) + np.arange(int(size.sum()))


def _two_way_degree_two(
    out: sp.csr_matrix, into: sp.csr_matrix
) -> tuple[npt.NDArray[np.bool_], tuple[IntArray, IntArray]]:
    """Nodes with the same two neighbours out and in, or the same one (dead ends), and those
    neighbours (lower, higher; a dead end's second is -1)."""
    n = out.shape[0]
    nb1 = np.full(n, -1, dtype=np.int64)
    nb2 = np.full(n, -1, dtype=np.int64)
    degree_out, degree_in = np.diff(out.indptr), np.diff(into.indptr)
    two = np.flatnonzero((degree_out == 2) & (degree_in == 2))
    o1, o2 = out.indices[out.indptr[two]], out.indices[out.indptr[two] + 1]
    i1, i2 = into.indices[into.indptr[two]], into.indices[into.indptr[two] + 1]
    same = (o1 == i1) & (o2 == i2)
    two = two[same]
    nb1[two], nb2[two] = o1[same], o2[same]
    one = np.flatnonzero((degree_out == 1) & (degree_in == 1))
    o1, i1 = out.indices[out.indptr[one]], into.indices[into.indptr[one]]
    one = one[o1 == i1]
    nb1[one] = out.indices[out.indptr[one]]
    interior = np.zeros(n, dtype=bool)
    interior[two] = interior[one] = True
    return interior, (nb1, nb2)


def _paths(
    interior: npt.NDArray[np.bool_], nb: tuple[IntArray, IntArray], n: int
) -> tuple[IntArray, IntArray]:
    """Each interior node's path (a label) and its position along it from one end.

    A path that touches no junction (a ring of interior nodes, or a street whose both ends are
    dead ends) gets its lowest node made a junction (``interior`` is updated in place): a ring
    becomes a path from it back to it, a street one or two spurs from it. A path is counted from
    an end next to a junction, so that a spur runs from its junction to its dead end.
    """
    while True:  # at most twice: once such paths are cut, none is left
        nodes = np.flatnonzero(interior)
        tails = np.concatenate([nodes, nodes])
        heads = np.concatenate([nb[0][nodes], nb[1][nodes]])
        real = heads >= 0  # a dead end has one neighbour
        tails, heads = tails[real], heads[real]
        both = interior[heads]
        adjacency = sp.csr_matrix(
            (np.ones(int(both.sum())), (tails[both], heads[both])), shape=(n, n)
        )
        _, label = connected_components(adjacency, directed=False)
        touches = np.zeros(n, dtype=bool)
        touches[label[tails[~both]]] = True
        loose = nodes[~touches[label[nodes]]]
        if loose.size == 0:
            break
        lowest = np.full(n, n, dtype=np.int64)
        np.minimum.at(lowest, label[loose], loose)
        interior[lowest[lowest < n]] = False
    inner = np.bincount(tails[both], minlength=n)
    ends = nodes[inner[nodes] <= 1]
    # Start from an end that is no dead end where there is one (2n: no start yet).
    key = np.where(nb[1][ends] < 0, n, 0) + ends
    first = np.full(n, 2 * n, dtype=np.int64)
    np.minimum.at(first, label[ends], key)
    starts = first[first < 2 * n] % n
    if starts.size == 0:
        return label.astype(np.int64), np.zeros(n, dtype=np.int64)
    hops = dijkstra(adjacency, directed=False, indices=starts, min_only=True)
    pos = np.where(np.isfinite(hops), hops, 0).astype(np.int64)
    return label.astype(np.int64), pos


def _arc_weights(csr: sp.csr_matrix) -> Callable[[IntArray, IntArray], FloatArray]:
    """A lookup of arc seconds by (tail, head) arrays, for arcs known to exist."""
    n = csr.shape[0]
    tails = np.repeat(np.arange(n, dtype=np.int64), np.diff(csr.indptr))
    keys = tails * n + csr.indices  # sorted: rows in order, columns sorted within rows

    def weight(tail: IntArray, head: IntArray) -> FloatArray:
        return np.asarray(csr.data[np.searchsorted(keys, tail * n + head)], dtype=np.float64)

    return weight


def _segmented_cumsum(values: FloatArray, start: IntArray) -> FloatArray:
    """Running sums restarted at each ``start``, each added up in order from the first value.

    Chains are grouped by length (powers of two) and summed as rows of a padded 2-D array, so the
    sums are the same sequence of additions as a walk along each chain, not differences of one
    long running sum.
    """
    out = np.empty_like(values)
    lengths = np.diff(start)
    if lengths.size == 0:
        return out
    bucket = np.ceil(np.log2(np.maximum(lengths, 1))).astype(np.int64)
    for k in np.unique(bucket).tolist():
        chains = np.flatnonzero(bucket == k)
        width = int(lengths[chains].max())
        cols = np.arange(width)
        idx = start[chains, None] + cols
        mask = cols < lengths[chains, None]
        padded = np.where(mask, values[np.minimum(idx, values.size - 1)], 0.0)
        out[idx[mask]] = np.cumsum(padded, axis=1)[mask]
    return out


def _junction_graph(
    csr: sp.csr_matrix,
    interior: npt.NDArray[np.bool_],
    a: IntArray,
    b: IntArray,
    along_end: FloatArray,
    back_end: FloatArray,
) -> sp.csr_matrix:
    """Arcs between junctions, plus each chain's end-to-end arcs (the fastest of parallel ones)."""
    n = csr.shape[0]
    coo = csr.tocoo()
    keep = ~interior[coo.row] & ~interior[coo.col]
    tails = np.concatenate([coo.row[keep].astype(np.int64), a, b])
    heads = np.concatenate([coo.col[keep].astype(np.int64), b, a])
    seconds = np.concatenate([coo.data[keep], along_end, back_end])
    indptr, indices, data = to_csr(tails, heads, seconds, n)
    return sp.csr_matrix((data, indices, indptr), shape=(n, n))
