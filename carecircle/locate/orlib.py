"""Readers for J.E. Beasley's OR-Library location instances, as cost matrices for ``siting``.

Three formats, each read into a frozen dataclass holding the demand × candidate matrix that the
solvers in :mod:`carecircle.planning.siting` take:

* ``pmed1`` … ``pmed40`` (uncapacitated p-median; also used for the vertex p-center): a graph,
  turned into all-pairs shortest-path lengths. OR-Library's *pmedinfo* page fixes how: start from
  ``c(i, j) = inf``, ``c(i, i) = 0``, read the edge lines **in turn** setting
  ``c(i, j) = c(j, i) = k`` (so when an edge appears twice, the later cost wins, even if it is
  longer), then run Floyd's algorithm. Shortest paths here come from
  :func:`scipy.sparse.csgraph.shortest_path`, which gives the same matrix as Floyd's algorithm on
  that edge set.
* ``pmedcap01`` … ``pmedcap20`` (capacitated p-median, Osman & Christofides): points in the plane,
  cost ``floor(Euclidean distance)``, one capacity for every median; the header carries the optimum.
* ``cap41`` etc. (capacitated facility location, *capinfo*): warehouse capacities and fixed costs,
  customer demands and, per customer, the cost of sending **all** of its demand to each warehouse.

Also :func:`read_optima` for the ``pmedopt``-style tables (``name value`` per line).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

from carecircle.errors import DataError, InputFileNotFound

__all__ = [
    "CapInstance",
    "PMedCapInstance",
    "PMedInstance",
    "read_cap",
    "read_optima",
    "read_pmed",
    "read_pmedcap",
    "shortest_path_costs",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PMedInstance:
    """An uncapacitated p-median instance: ``cost`` is the n × n shortest-path matrix."""

    name: str
    p: int
    cost: FloatArray

    @property
    def n(self) -> int:
        return int(self.cost.shape[0])


@dataclass(frozen=True)
class PMedCapInstance:
    """A capacitated p-median instance (every point is both a customer and a candidate median)."""

    name: str
    p: int
    optimum: float
    x: FloatArray
    y: FloatArray
    demand: FloatArray
    capacity: FloatArray
    cost: FloatArray

    @property
    def n(self) -> int:
        return int(self.cost.shape[0])


@dataclass(frozen=True)
class CapInstance:
    """A capacitated facility-location instance; ``cost[i, j]`` serves all of customer i from j."""

    name: str
    capacity: FloatArray
    fixed_cost: FloatArray
    demand: FloatArray
    cost: FloatArray


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileNotFound(
            f"OR-Library 文件不存在 / OR-Library file not found: {path}"
        ) from None


@contextmanager
def _parsing(path: Path, kind: str) -> Iterator[None]:
    """Turn a parse failure into a DataError that names the file and the expected format."""
    try:
        yield
    except DataError:
        raise
    except (ValueError, IndexError) as exc:
        raise DataError(
            f"{path}: 不是 OR-Library {kind} 格式 / not an OR-Library {kind} file ({exc})"
        ) from exc


def shortest_path_costs(n: int, edges: npt.ArrayLike) -> FloatArray:
    """All-pairs shortest-path lengths of an undirected graph given as ``(i, j, cost)`` rows.

    Vertices are numbered from 1, as in OR-Library. An edge listed more than once keeps its
    **last** cost (pmedinfo: the lines are read in turn and each one overwrites ``c(i, j)`` and
    ``c(j, i)``), whichever way round its ends are written.

    Parameters
    ----------
    n
        Number of vertices.
    edges
        ``(m, 3)`` array of 1-based end vertices and edge costs.

    Returns
    -------
    numpy.ndarray
        ``(n, n)`` symmetric matrix of shortest-path lengths (``inf`` between components).
    """
    e = np.asarray(edges, dtype=np.float64).reshape(-1, 3)
    i = e[:, 0].astype(np.int64) - 1
    j = e[:, 1].astype(np.int64) - 1
    if e.size and (min(i.min(), j.min()) < 0 or max(i.max(), j.max()) >= n):
        raise DataError(f"边的端点超出 1..{n} / edge end vertex outside 1..{n}")
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    # Keep the last occurrence of each unordered pair: unique on the reversed list finds the
    # first occurrence from the end.
    key = lo * n + hi
    _, from_end = np.unique(key[::-1], return_index=True)
    keep = key.size - 1 - from_end
    # A loop (i, i) cannot shorten any path; none of the OR-Library files has one.
    keep = keep[lo[keep] != hi[keep]]
    w = e[keep, 2]
    # csgraph treats an explicitly stored 0 as an edge of length 0 only in sparse input, so the
    # graph is handed over as CSR; both directions are stored because c(i, j) = c(j, i).
    rows = np.concatenate([lo[keep], hi[keep]])
    cols = np.concatenate([hi[keep], lo[keep]])
    graph = sp.csr_array((np.concatenate([w, w]), (rows, cols)), shape=(n, n))
    dist: FloatArray = shortest_path(graph, method="D", directed=True)
    return dist


def read_pmed(path: str | Path) -> PMedInstance:
    """Read an OR-Library ``pmedN`` file (``n m p`` then ``m`` lines ``i j cost``)."""
    path = Path(path)
    tokens = _text(path).split()
    with _parsing(path, "pmed"):
        n, m, p = (int(t) for t in tokens[:3])
        body = np.asarray(tokens[3:], dtype=np.float64)
        if body.size != 3 * m:
            raise DataError(
                f"{path}: 头行说有 {m} 条边，文件里有 {body.size / 3:g} 条 / header says {m} "
                f"edges, the file holds {body.size / 3:g}"
            )
        cost = shortest_path_costs(n, body.reshape(m, 3))
    return PMedInstance(name=path.stem, p=p, cost=cost)


def read_pmedcap(path: str | Path) -> PMedCapInstance:
    """Read an OR-Library ``pmedcapNN`` file, cost = ``floor(Euclidean distance)``.

    Format: ``problem_no optimum``, then ``n p capacity``, then ``n`` lines ``index x y demand``.
    """
    path = Path(path)
    tokens = _text(path).split()
    with _parsing(path, "pmedcap"):
        optimum = float(tokens[1])
        n, p = int(tokens[2]), int(tokens[3])
        capacity = float(tokens[4])
        body = np.asarray(tokens[5:], dtype=np.float64)
        if body.size != 4 * n:
            raise DataError(f"{path}: 应有 {n} 个客户行 / expected {n} customer lines")
    rows = body.reshape(n, 4)
    x, y, demand = rows[:, 1], rows[:, 2], rows[:, 3]
    cost = np.floor(np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]))
    return PMedCapInstance(
        name=path.stem,
        p=p,
        optimum=optimum,
        x=x,
        y=y,
        demand=demand,
        capacity=np.full(n, capacity),
        cost=cost,
    )


def read_cap(path: str | Path) -> CapInstance:
    """Read an OR-Library capacitated warehouse location file (``cap41`` … ``cap134``).

    Format (capinfo): ``m n``; ``m`` lines ``capacity fixed_cost``; then per customer its demand
    followed by the ``m`` costs of allocating **all** of its demand to each warehouse. The returned
    ``cost`` is customers × warehouses, as the solvers expect (rows = demand).
    """
    path = Path(path)
    tokens = _text(path).split()
    with _parsing(path, "cap"):
        m, n = int(tokens[0]), int(tokens[1])
        head = np.asarray(tokens[2 : 2 + 2 * m], dtype=np.float64).reshape(m, 2)
        body = np.asarray(tokens[2 + 2 * m :], dtype=np.float64)
        if body.size != n * (m + 1):
            raise DataError(f"{path}: 应有 {n} 个客户块 / expected {n} customer blocks of {m + 1}")
    block = body.reshape(n, m + 1)
    return CapInstance(
        name=path.stem,
        capacity=head[:, 0].copy(),
        fixed_cost=head[:, 1].copy(),
        demand=block[:, 0].copy(),
        cost=block[:, 1:].copy(),
    )


def read_optima(path: str | Path) -> dict[str, float]:
    """Read a ``name value`` table such as ``pmedopt`` (lines that do not match are skipped)."""
    path = Path(path)
    pattern = re.compile(r"^\s*(\S+)\s+(-?\d+(?:\.\d*)?)\s*$")
    optima: dict[str, float] = {}
    for line in _text(path).splitlines():
        match = pattern.match(line)
        if match:
            optima[match.group(1)] = float(match.group(2))
    return optima
