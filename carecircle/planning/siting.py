"""The old path of the location models, kept importable.

The classic models live in :mod:`carecircle.locate`, the planner's models in
:mod:`carecircle.planning.regional` (regional homes) and :mod:`carecircle.planning.centres`
(village centres); this module re-exports them, and the private helpers tests reach for.
"""

from __future__ import annotations

from carecircle.locate import (
    DEFAULT_MIP_GAP,
    DEFAULT_TIME_LIMIT,
    SitingResult,
    Status,
    solve_capacitated_pmedian,
    solve_cflp,
    solve_lscp,
    solve_mclp,
    solve_pcenter,
    solve_pmedian,
)
from carecircle.locate._highs import _run
from carecircle.planning.centres import site_village_centres
from carecircle.planning.regional import (
    HomeCandidates,
    HomeTargets,
    RegionalHomesResult,
    SiteReport,
    _home_capacity,
    _home_model,
    _reach_matrix,
    site_regional_homes,
)

__all__ = [
    "DEFAULT_MIP_GAP",
    "DEFAULT_TIME_LIMIT",
    "HomeCandidates",
    "HomeTargets",
    "RegionalHomesResult",
    "SiteReport",
    "SitingResult",
    "Status",
    "_home_capacity",
    "_home_model",
    "_reach_matrix",
    "_run",
    "site_regional_homes",
    "site_village_centres",
    "solve_capacitated_pmedian",
    "solve_cflp",
    "solve_lscp",
    "solve_mclp",
    "solve_pcenter",
    "solve_pmedian",
]
