"""Classic facility-location models on demand × candidate cost matrices, solved exactly with HiGHS.

Every model here sees arrays only: a ``cost`` matrix whose rows are demand points and whose columns
are candidate sites (travel seconds, metres, or any cost), plus per-row and per-candidate arrays.
Geometry, networks and policy lookups live elsewhere; the pipeline builds the matrices (for example
from :func:`carecircle.engine.catchments`, transposed to demand × candidate) and calls these.

``cost`` may be a dense array or a ``scipy.sparse`` matrix. In a dense array ``inf`` (or ``nan``)
means "this candidate cannot serve this row". In a sparse matrix **a missing entry means "not
reachable"**, not zero; an explicitly stored ``0`` is a reachable pair at cost 0. For models with a
radius only entries ``<= radius`` matter.

Models (each docstring writes out its formulation):

* :func:`solve_lscp` -- location set covering: fewest sites covering every coverable row.
* :func:`solve_mclp` -- maximal covering: ``p`` sites covering the most weight.
* :func:`solve_pmedian` -- ``p`` sites minimising the weighted cost to the nearest open site.
* :func:`solve_pcenter` -- ``p`` sites minimising the largest cost to the nearest open site.
* :func:`solve_capacitated_pmedian` -- single-source capacitated p-median.
* :func:`solve_cflp` -- capacitated facility location with opening costs, split or single-source.

The planner's own models (regional homes, village centres) use the same driver and live beside the
recommendation glue, in :mod:`carecircle.planning.regional` and :mod:`carecircle.planning.centres`.
This package depends on nothing of carecircle but :mod:`carecircle.errors`: spopt's ``locate``
without geometry, and with an honest status.

Every result reports ``status`` (``"optimal"``, ``"time_limit"`` or ``"infeasible"``), the best
``objective`` found, the solver's proven ``bound`` and the relative ``gap``. A solve stopped by its
time limit is never reported as optimal, even when its incumbent happens to be: scipy's
``res.status == 1`` maps to ``"time_limit"`` and the gap is computed from HiGHS's dual bound.
``"optimal"`` means proven within the relative tolerance ``mip_gap`` (default ``1e-6``, tighter
than HiGHS's own ``1e-4`` so that objectives of a million are exact to about one unit).

Limits that make a model infeasible and can be seen before solving raise
:class:`carecircle.errors.InfeasibleError` with a bilingual one-line message naming the numbers;
infeasibility that only the solver can find is returned as ``status == "infeasible"``.

Demand rows that the model cannot tell apart (identical catchment sets for the covering models,
identical cost rows for the p-median) are merged with summed weights before the model is built,
and results are mapped back to the original rows.
"""

from __future__ import annotations

from carecircle.locate._highs import DEFAULT_MIP_GAP, DEFAULT_TIME_LIMIT, SitingResult, Status
from carecircle.locate.capacitated import solve_capacitated_pmedian, solve_cflp
from carecircle.locate.center import solve_pcenter
from carecircle.locate.covering import solve_lscp, solve_mclp
from carecircle.locate.median import solve_pmedian
from carecircle.locate.orlib import (
    CapInstance,
    PMedCapInstance,
    PMedInstance,
    read_cap,
    read_optima,
    read_pmed,
    read_pmedcap,
    shortest_path_costs,
)

__all__ = [
    "DEFAULT_MIP_GAP",
    "DEFAULT_TIME_LIMIT",
    "CapInstance",
    "PMedCapInstance",
    "PMedInstance",
    "SitingResult",
    "Status",
    "read_cap",
    "read_optima",
    "read_pmed",
    "read_pmedcap",
    "shortest_path_costs",
    "solve_capacitated_pmedian",
    "solve_cflp",
    "solve_lscp",
    "solve_mclp",
    "solve_pcenter",
    "solve_pmedian",
]
