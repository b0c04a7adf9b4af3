"""carecircle: planner for the elderly-care service network of Chinese counties.

Scores the 15-minute elderly-service circle, finds gaps against county targets, recommends sites
for regional nursing homes with exact optimisation, checks allocation plans, and publishes offline
coverage maps. See README.md ("Python" and "Architecture").

The public surface, for notebooks (``import carecircle as cc``)::

    roads = cc.read_roads("roads.osm", area=county)          # OSM XML / PBF / GraphML / a place
    walk = cc.travel_graph(roads, mode="walk")               # TravelGraph (CSR arrays, seconds)
    times = cc.travel_times(cells, centres, walk)   # seconds, reachable, facility, network_part
    cost = cc.cost_matrix(cells, sites, walk, max_seconds=900)   # scipy.sparse.csr_array
    best = cc.locate.solve_mclp(cost, 900, p=5, weights=cells["older"])
    beds = cc.fca(cost, supply=homes["beds"], demand=cells["older"], max_cost=1800)  # 2SFCA
    run = cc.run_scenario("scenarios/demo.yaml")             # what `carecircle run` computes
    cells = cc.read_population("worldpop.tif", county)       # demand cells outside a scenario
    lon, lat = cc.gcj02_to_wgs84(lon, lat)                   # Gaode/Amap (cc.bd09_to_wgs84: Baidu)

Submodules and names are imported on first use, so ``import carecircle`` stays light; ``dir(cc)``
lists the public names. Warnings carecircle gives are :class:`CareCircleWarning` (a value that
looks like a slip) and :class:`DataQualityWarning` (what a run found wrong with the data).
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from carecircle._version import __version__
from carecircle.errors import (
    CareCircleError,
    DataError,
    InfeasibleError,
    InputFileNotFound,
    ScenarioError,
)

if TYPE_CHECKING:
    from carecircle import engine, locate, outputs, planning, rules, sources
    from carecircle.api import (
        CareCircleWarning,
        DataQualityWarning,
        check_plan,
        cost_matrix,
        isochrones,
        load_scenario,
        read_population,
        read_roads,
        run_scenario,
        travel_graph,
        travel_times,
    )
    from carecircle.engine import TravelGraph
    from carecircle.engine.accessibility import fca, gravity
    from carecircle.locate import SitingResult
    from carecircle.pipeline import RunResult
    from carecircle.scenario import Scenario
    from carecircle.sources.coords import (
        bd09_to_gcj02,
        bd09_to_wgs84,
        gcj02_to_bd09,
        gcj02_to_wgs84,
        wgs84_to_bd09,
        wgs84_to_gcj02,
    )
    from carecircle.sources.network import RoadNetwork

__all__ = [
    "CareCircleError",
    "CareCircleWarning",
    "DataError",
    "DataQualityWarning",
    "InfeasibleError",
    "InputFileNotFound",
    "RoadNetwork",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "SitingResult",
    "TravelGraph",
    "__version__",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "check_plan",
    "cost_matrix",
    "engine",
    "fca",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "gravity",
    "isochrones",
    "load_scenario",
    "locate",
    "outputs",
    "planning",
    "read_population",
    "read_roads",
    "rules",
    "run_scenario",
    "sources",
    "travel_graph",
    "travel_times",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

_SUBPACKAGES = {"engine", "locate", "outputs", "planning", "rules", "sources"}
_NAMES = {
    "CareCircleWarning": "carecircle.api",
    "DataQualityWarning": "carecircle.api",
    "check_plan": "carecircle.api",
    "cost_matrix": "carecircle.api",
    "isochrones": "carecircle.api",
    "load_scenario": "carecircle.api",
    "read_population": "carecircle.api",
    "read_roads": "carecircle.api",
    "run_scenario": "carecircle.api",
    "travel_graph": "carecircle.api",
    "travel_times": "carecircle.api",
    "Scenario": "carecircle.scenario",
    "TravelGraph": "carecircle.engine",
    "fca": "carecircle.engine.accessibility",
    "gravity": "carecircle.engine.accessibility",
    "SitingResult": "carecircle.locate",
    "RunResult": "carecircle.pipeline",
    "RoadNetwork": "carecircle.sources.network",
    **{
        name: "carecircle.sources.coords"
        for name in (
            "bd09_to_gcj02",
            "bd09_to_wgs84",
            "gcj02_to_bd09",
            "gcj02_to_wgs84",
            "wgs84_to_bd09",
            "wgs84_to_gcj02",
        )
    },
}


def __getattr__(name: str) -> Any:
    """Import a subpackage or a public name on first use (PEP 562)."""
    if name in _SUBPACKAGES:
        module = importlib.import_module(f"carecircle.{name}")
    elif name in _NAMES:
        module = getattr(importlib.import_module(_NAMES[name]), name)
    else:
        raise AttributeError(f"module 'carecircle' has no attribute {name!r}")
    globals()[name] = module
    return module


def __dir__() -> list[str]:
    """The public names only (not the typing and import machinery of this module)."""
    return sorted(__all__)


logging.getLogger(__name__).addHandler(logging.NullHandler())
