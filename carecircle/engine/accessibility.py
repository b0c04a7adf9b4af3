"""Coverage and accessibility arithmetic on arrays.

Two kinds of measure live here, both arrays in and arrays out:

* coverage: who is within a threshold, summed by area (:func:`covered_share`, :func:`group_sums`);
* supply against demand on a demand x supply cost matrix: the floating-catchment family
  (:func:`fca`: 2SFCA, E2SFCA, 3SFCA) and gravity access (:func:`gravity`: Hansen's potential, or
  the competition-adjusted form when demand is given).

Cost matrices are dense (``numpy``) or ``scipy.sparse``. A pair is *reachable* when its cost is a
finite number; in a sparse matrix a missing entry means not reachable and an explicit 0 is a
reachable pair of cost 0. A pair is *in reach* (inside the catchment) when it is reachable and its
cost is at most ``max_cost`` (inclusive). The floating-catchment and gravity formulas match those of
the ``access`` package (PySAL spatial-access, version 1.1.10), which the tests use as the
reference, except where :func:`fca` says otherwise (3SFCA's selection weights).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from carecircle.engine.graph import FloatArray, IntArray
from carecircle.errors import DataError

__all__ = ["covered_share", "fca", "gravity", "group_sums"]

Method = Literal["2sfca", "e2sfca", "3sfca"]
Weight = Mapping[float, float] | Callable[[FloatArray], npt.ArrayLike]
METHODS: tuple[str, ...] = ("2sfca", "e2sfca", "3sfca")


def group_sums(values: npt.ArrayLike, groups: npt.ArrayLike, n_groups: int) -> FloatArray:
    """Sum ``values`` by group index ``0..n_groups-1``; negative indices (no group) are skipped."""
    v = np.asarray(values, dtype=np.float64).ravel()
    g = np.asarray(groups, dtype=np.int64).ravel()
    keep = g >= 0
    return np.bincount(g[keep], weights=v[keep], minlength=n_groups).astype(np.float64)


def covered_share(
    seconds: npt.ArrayLike,
    weights: npt.ArrayLike,
    groups: IntArray,
    n_groups: int,
    threshold_s: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Weighted totals and covered totals by group, and their ratio (NaN where a group is empty).

    A point is covered when its time is at most ``threshold_s`` (inclusive: 900 s is within
    15 minutes).
    """
    t = np.asarray(seconds, dtype=np.float64).ravel()
    w = np.asarray(weights, dtype=np.float64).ravel()
    total = group_sums(w, groups, n_groups)
    covered = group_sums(np.where(t <= threshold_s, w, 0.0), groups, n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, covered / np.where(total > 0, total, 1.0), np.nan)
    return total, covered, share


# --- supply against demand -------------------------------------------------------------------


class _Pairs:
    """The reachable pairs of a cost matrix as flat arrays (row-major order)."""

    __slots__ = ("cols", "cost", "n_demand", "n_supply", "rows")

    def __init__(self, rows: IntArray, cols: IntArray, cost: FloatArray, shape: tuple[int, int]):
        self.rows, self.cols, self.cost = rows, cols, cost
        self.n_demand, self.n_supply = shape

    def within(self, max_cost: float | None) -> _Pairs:
        if max_cost is None:
            return self
        keep = np.flatnonzero(self.cost <= max_cost)  # positions, then take: 5x a boolean mask
        return _Pairs(
            self.rows.take(keep),
            self.cols.take(keep),
            self.cost.take(keep),
            (self.n_demand, self.n_supply),
        )


def _pairs(cost: object) -> _Pairs:
    """Check a demand x supply cost matrix and list its reachable pairs (finite costs)."""
    if sp.issparse(cost):
        csr = sp.csr_array(cost)  # duplicates of a COO matrix are summed, as scipy reads them
        if csr.ndim != 2:
            raise DataError(
                f"成本矩阵须为二维（需求点 × 供给点），收到 {csr.ndim} 维 / the cost matrix must be "
                f"2-D (demand x supply), got {csr.ndim}-D"
            )
        n, m = csr.shape
        data = np.asarray(csr.data, dtype=np.float64)
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(csr.indptr))
        cols = np.asarray(csr.indices, dtype=np.int64)
    else:
        dense = np.asarray(cost, dtype=np.float64)
        if dense.ndim != 2:
            raise DataError(
                f"成本矩阵须为二维（需求点 × 供给点），收到 {dense.ndim} 维 / the cost matrix must be "
                f"2-D (demand x supply), got {dense.ndim}-D"
            )
        n, m = dense.shape
        data = dense.ravel()
        rows = cols = np.empty(0, dtype=np.int64)  # filled below from the finite entries
    if np.isnan(data).any():
        raise DataError(
            f"成本矩阵有 {int(np.isnan(data).sum())} 个 NaN；不可达请用 inf（稀疏矩阵可不存该项） / "
            f"the cost matrix has {int(np.isnan(data).sum())} NaN entries; mark a pair that "
            "cannot be reached with inf (or leave it out of a sparse matrix)"
        )
    if (data < 0).any():
        raise DataError(
            f"成本矩阵有 {int((data < 0).sum())} 个负值（最小 {data.min():g}）；成本须 ≥ 0 / the cost "
            f"matrix has {int((data < 0).sum())} negative entries (smallest {data.min():g}); "
            "costs must be >= 0"
        )
    finite = np.isfinite(data)
    if sp.issparse(cost):
        if not finite.all():
            rows, cols, data = rows[finite], cols[finite], data[finite]
    else:
        flat = np.flatnonzero(finite)
        rows, cols = np.divmod(flat, m) if m else (flat, flat)
        data = data[flat]
    return _Pairs(rows, cols, data, (n, m))


def _amounts(
    values: npt.ArrayLike, size: int, zh: str, en: str, axis: tuple[str, str]
) -> FloatArray:
    """A supply or demand vector: one finite, non-negative amount per row or column."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size != size:
        got = f"{v.size} 个值" if v.ndim == 1 else f"形状 {v.shape}"
        got_en = f"{v.size} values" if v.ndim == 1 else f"shape {v.shape}"
        raise DataError(
            f"{zh}须为长度 {size} 的一维数组（成本矩阵每{axis[0]}一个），收到{got} / {en} must be "
            f"1-D with {size} values (one per {axis[1]} of the cost matrix), got {got_en}"
        )
    bad = ~np.isfinite(v)
    if bad.any():
        raise DataError(
            f"{zh}有 {int(bad.sum())} 个 NaN 或无穷值 / {en} has {int(bad.sum())} NaN or "
            "infinite values"
        )
    if (v < 0).any():
        raise DataError(
            f"{zh}有 {int((v < 0).sum())} 个负值（最小 {v.min():g}）；须 ≥ 0 / {en} has "
            f"{int((v < 0).sum())} negative values (smallest {v.min():g}); amounts must be >= 0"
        )
    return v


def _max_cost(max_cost: object) -> float:
    try:
        value = float(max_cost)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DataError(
            f"max_cost 须为数值，收到 {max_cost!r} / max_cost must be a number, got {max_cost!r}"
        ) from None
    if np.isnan(value) or value < 0:
        raise DataError(f"max_cost 须 ≥ 0，收到 {value:g} / max_cost must be >= 0, got {value:g}")
    return value


def _weights(weight: Weight | None, cost: FloatArray) -> FloatArray:
    """The weight of each pair: 1, step weights ``{threshold: weight}``, or a vectorised callable."""
    if weight is None:
        return np.ones_like(cost)
    if isinstance(weight, Mapping):
        if not weight:
            raise DataError(
                "阶梯权重不能为空，例如 {600: 1.0, 1200: 0.68, 1800: 0.22} / step weights must "
                "not be empty, e.g. {600: 1.0, 1200: 0.68, 1800: 0.22}"
            )
        try:
            steps = sorted((float(t), float(w)) for t, w in weight.items())
        except (TypeError, ValueError):
            raise DataError(
                f"阶梯权重须为 {{阈值: 权重}} 数值映射，收到 {dict(weight)!r} / step weights must "
                f"map numbers to numbers ({{threshold: weight}}), got {dict(weight)!r}"
            ) from None
        thresholds = np.array([t for t, _ in steps])
        values = np.array([w for _, w in steps])
        if np.isnan(thresholds).any() or not np.isfinite(values).all() or (values < 0).any():
            raise DataError(
                f"阶梯权重的阈值不能为 NaN，权重须为有限且 ≥ 0 的数，收到 {dict(weight)!r} / "
                "step thresholds must not be NaN and weights must be finite and >= 0, got "
                f"{dict(weight)!r}"
            )
        # the smallest threshold t with cost <= t; beyond the largest threshold the weight is 0
        k = np.searchsorted(thresholds, cost, side="left")
        return np.where(k < thresholds.size, values[np.minimum(k, thresholds.size - 1)], 0.0)
    if callable(weight):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # checked below
            w = np.asarray(weight(cost.copy()), dtype=np.float64)
        if w.ndim == 0:
            w = np.full_like(cost, float(w))
        if w.shape != cost.shape:
            raise DataError(
                f"权重函数须对成本数组逐元素返回同形状数组：输入 {cost.shape}，返回 {w.shape} / the "
                f"weight function must return one weight per cost (vectorised): given shape "
                f"{cost.shape}, returned {w.shape}"
            )
        if not np.isfinite(w).all() or (w < 0).any():
            raise DataError(
                "权重函数返回了负值、NaN 或无穷值（如成本为 0 时的 1/c）；可设最小成本，例如 "
                "lambda c: np.maximum(c, 60.0) ** -1 / the weight function returned negative, NaN "
                "or infinite weights (e.g. 1/c at cost 0); give it a minimum cost, e.g. "
                "lambda c: np.maximum(c, 60.0) ** -1"
            )
        return w
    raise DataError(
        f"weight 须为 None、{{阈值: 权重}} 映射或成本的函数，收到 {type(weight).__name__} / "
        "weight must be None, a mapping {threshold: weight} or a function of the cost, got "
        f"{type(weight).__name__}"
    )


def _two_steps(
    pairs: _Pairs,
    w: FloatArray,
    supply: FloatArray,
    demand: FloatArray,
    g: FloatArray | None = None,
) -> FloatArray:
    """``A_i = sum_j W_ij G_ij S_j / sum_k W_kj G_kj D_k`` over the pairs given (``G`` = 1 unless
    given), multiplied in ``access``'s order (``value * W * G``) and summed as it sums.

    A supply with no weighted demand gets ratio ``S_j / 0``: inf, or NaN when ``S_j`` is 0 too;
    NaN terms (``0/0``, ``inf * 0``) are left out of the sums, inf terms are kept. Rows with no
    pair are NaN.
    """
    rows, cols, n, m = pairs.rows, pairs.cols, pairs.n_demand, pairs.n_supply
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        weighted = demand[rows] * w if g is None else demand[rows] * w * g
        weighted_demand = np.bincount(cols, weights=weighted, minlength=m).astype(np.float64)
        ratio = supply / weighted_demand
        terms = ratio[cols] * w if g is None else ratio[cols] * w * g
    terms[np.isnan(terms)] = 0.0
    access = np.bincount(rows, weights=terms, minlength=n).astype(np.float64)
    access[np.bincount(rows, minlength=n) == 0] = np.nan
    return access


def fca(
    cost: npt.ArrayLike | sp.sparray | sp.spmatrix,
    supply: npt.ArrayLike,
    demand: npt.ArrayLike,
    *,
    max_cost: float,
    method: Method = "2sfca",
    weight: Weight | None = None,
) -> FloatArray:
    r"""Floating-catchment access of each demand row: supply per unit of demand within reach.

    Parameters
    ----------
    cost : (n_demand, n_supply) array_like or scipy.sparse matrix/array
        Travel cost from each demand point (row) to each supply point (column), >= 0. Dense:
        ``inf`` marks a pair that cannot be reached; NaN is refused. Sparse: a missing entry
        cannot be reached, an explicit 0 is a reachable pair of cost 0 (duplicates of a COO
        matrix are summed, as scipy reads them).
    supply : (n_supply,) array_like
        Supply at each column (beds, staff, places), finite and >= 0.
    demand : (n_demand,) array_like
        Demand at each row (older residents), finite and >= 0.
    max_cost : float
        Catchment size, >= 0 (``inf`` allowed): a pair is in reach when ``cost <= max_cost``
        (inclusive), in both steps.
    method : {"2sfca", "e2sfca", "3sfca"}
        ``"2sfca"``: Luo & Wang (2003), unweighted (``weight`` must be None).
        ``"e2sfca"``: Luo & Qi (2009), distance-decay weights in both steps (``weight`` required).
        ``"3sfca"``: Wan, Zou & Sternberg (2012), decay weights and selection weights
        (``weight`` optional; None weighs every pair in reach 1).
    weight : mapping or callable, optional
        Distance-decay weight :math:`W_{ij} = W(c_{ij})` of each pair in reach. A mapping
        ``{threshold: weight}`` is a step function: a cost gets the weight of the smallest
        threshold with ``cost <= threshold`` and 0 beyond the largest threshold (as
        ``access.weights.step_fn``); Luo & Qi's zones in seconds are
        ``{600: 1.0, 1200: 0.68, 1800: 0.22}``. A callable is called once with the 1-D float
        array of the costs in reach and must return one finite weight >= 0 per cost
        (vectorised, e.g. ``lambda c: np.exp(-((c / 900.0) ** 2) / 2)``).

    Returns
    -------
    ndarray of float64, shape (n_demand,)
        Access of each demand row, in units of supply per unit of demand.

    Notes
    -----
    With :math:`R` the pairs in reach (:math:`c_{ij} \le` ``max_cost``), :math:`S_j` the supply
    and :math:`D_k` the demand:

    * 2SFCA: :math:`A_i = \sum_{j:(i,j)\in R} S_j / \sum_{k:(k,j)\in R} D_k`.
    * E2SFCA: :math:`A_i = \sum_{j} W_{ij} S_j / \sum_{k} W_{kj} D_k`, the same weight in both
      steps (the demand sum includes the weight).
    * 3SFCA: selection weights :math:`G_{ij} = W_{ij} / \sum_{l:(i,l)\in R} W_{il}` over the
      supplies in reach of demand *i* (0 where that sum is 0), then
      :math:`A_i = \sum_j G_{ij} W_{ij} S_j / \sum_k G_{kj} W_{kj} D_k`.

    These are the formulas of ``access`` 1.1.10 (``Access.two_stage_fca``,
    ``enhanced_two_stage_fca``, ``three_stage_fca``), with one difference: ``access`` sums the
    3SFCA selection weights over *every* pair of its cost table, beyond ``max_cost`` too; here,
    as in Wan et al. (2012), only over the pairs in reach. The two agree when the weight is 0
    beyond ``max_cost`` or the table holds only pairs in reach.

    Edge cases, as ``access`` treats them:

    * a demand row with no pair in reach gets NaN (``access`` leaves it out, so its access
      table shows NaN); a row with pairs in reach that all weigh 0 gets 0;
    * a supply with no demand in reach is in no row's catchment and changes nothing;
    * a supply whose weighted demand in reach is 0 (only zero-demand rows reach it) has ratio
      :math:`S_j / 0`: rows reaching it with a positive weight get ``inf`` when :math:`S_j > 0`;
      the undefined terms (:math:`0/0`, :math:`\infty \cdot 0`) count as 0.

    Raises
    ------
    carecircle.errors.DataError
        (a ``ValueError``) for a cost matrix that is not 2-D or has NaN or negative costs,
        supply or demand of the wrong length or with NaN, infinite or negative values, a
        negative or NaN ``max_cost``, an unknown method, a weight given to 2SFCA or missing for
        E2SFCA, and weights that are not finite and >= 0.

    Examples
    --------
    >>> import numpy as np
    >>> cost = np.array([[0.0, 20.0], [10.0, 40.0], [np.inf, 25.0]])
    >>> fca(cost, [10.0, 5.0], [100.0, 50.0, 200.0], max_cost=30).round(4)
    array([0.0833, 0.0667, 0.0167])
    """
    if method not in METHODS:
        raise DataError(
            f"未知方法 {method!r}，可选 {', '.join(METHODS)} / unknown method {method!r}; "
            f"choose one of {', '.join(METHODS)}"
        )
    if method == "2sfca" and weight is not None:
        raise DataError(
            "2sfca 不加权；距离衰减权重请用 method='e2sfca' 或 '3sfca' / 2sfca takes no weight; "
            "use method='e2sfca' or '3sfca' for distance-decay weights"
        )
    if method == "e2sfca" and weight is None:
        raise DataError(
            "e2sfca 需要 weight，例如 {600: 1.0, 1200: 0.68, 1800: 0.22}（秒） / e2sfca needs a "
            "weight, e.g. {600: 1.0, 1200: 0.68, 1800: 0.22} (seconds)"
        )
    limit = _max_cost(max_cost)
    pairs = _pairs(cost)
    s = _amounts(supply, pairs.n_supply, "供给量", "supply", ("列", "column"))
    d = _amounts(demand, pairs.n_demand, "需求量", "demand", ("行", "row"))
    pairs = pairs.within(limit)
    w = _weights(weight, pairs.cost)
    if method == "3sfca":
        row_sums = np.bincount(pairs.rows, weights=w, minlength=pairs.n_demand).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            g = np.where(row_sums[pairs.rows] > 0, w / row_sums[pairs.rows], 0.0)
        return _two_steps(pairs, w, s, d, g)
    return _two_steps(pairs, w, s, d)


def gravity(
    cost: npt.ArrayLike | sp.sparray | sp.spmatrix,
    supply: npt.ArrayLike,
    *,
    weight: Weight,
    demand: npt.ArrayLike | None = None,
    max_cost: float | None = None,
) -> FloatArray:
    r"""Gravity access of each demand row: supply weighted by a decay of the cost.

    Parameters
    ----------
    cost : (n_demand, n_supply) array_like or scipy.sparse matrix/array
        As in :func:`fca`: costs >= 0; ``inf`` (dense) or a missing entry (sparse) cannot be
        reached; an explicit sparse 0 is reachable.
    supply : (n_supply,) array_like
        Supply at each column, finite and >= 0.
    weight : mapping or callable
        The decay :math:`W(c)`, as in :func:`fca`: a step mapping ``{threshold: weight}`` or a
        vectorised callable of the cost array returning finite weights >= 0 (a power decay needs a
        floor, e.g. ``lambda c: (np.maximum(c, 60.0) / 60.0) ** -1.5``, as
        ``access.weights.gravity(scale, alpha, min_dist)``).
    demand : (n_demand,) array_like, optional
        Demand at each row. None: Hansen's potential. Given: the competition-adjusted form.
    max_cost : float, optional
        Only pairs with ``cost <= max_cost`` count; None (default): every reachable pair.

    Returns
    -------
    ndarray of float64, shape (n_demand,)

    Notes
    -----
    * Without demand (Hansen 1959), ``access``'s ``Access.weighted_catchment(weight_fn=...)``:
      :math:`A_i = \sum_j W(c_{ij}) S_j`.
    * With demand (Joseph & Bantock 1982; Luo & Wang 2003's gravity model), ``access``'s
      ``Access.two_stage_fca(weight_fn=...)``, the same weight in both steps:
      :math:`A_i = \sum_j W(c_{ij}) S_j / V_j` with :math:`V_j = \sum_k W(c_{kj}) D_k`.

    A row with no pair counted gets NaN (as ``access``); with demand, the other edge cases are
    those of :func:`fca` (a supply whose weighted demand is 0 gives ``inf`` to the rows that
    weigh it positively).

    Raises
    ------
    carecircle.errors.DataError
        (a ``ValueError``) for the same input problems as :func:`fca`.

    Examples
    --------
    >>> import numpy as np
    >>> cost = np.array([[0.0, 20.0], [10.0, 40.0], [np.inf, 25.0]])
    >>> gravity(cost, [10.0, 5.0], weight={15: 1.0, 30: 0.5}).round(4)
    array([12.5, 10. ,  2.5])
    """
    if weight is None:
        raise DataError(
            "gravity 需要 weight（成本的衰减函数或阶梯权重） / gravity needs a weight (a decay "
            "function of the cost, or step weights)"
        )
    limit = None if max_cost is None else _max_cost(max_cost)
    pairs = _pairs(cost)
    s = _amounts(supply, pairs.n_supply, "供给量", "supply", ("列", "column"))
    pairs = pairs.within(limit)
    w = _weights(weight, pairs.cost)
    if demand is not None:
        d = _amounts(demand, pairs.n_demand, "需求量", "demand", ("行", "row"))
        return _two_steps(pairs, w, s, d)
    counts = np.bincount(pairs.rows, weights=w * s[pairs.cols], minlength=pairs.n_demand)
    access: FloatArray = counts.astype(np.float64)  # bincount of nothing is an integer array
    access[np.bincount(pairs.rows, minlength=pairs.n_demand) == 0] = np.nan
    return access
