"""carecircle: planner for the elderly-care service network of Chinese counties.

Scores the 15-minute elderly-service circle, finds gaps against county targets, recommends sites
for regional nursing homes with exact optimisation, checks allocation plans, and publishes offline
coverage maps. See README.md ("Python" and "Architecture").

The public surface, for notebooks (``import carecircle as cc``)::

    roads = cc.read_roads("roads.osm", area=county)          # OSM XML / PBF / GraphML / a place
    walk = cc.travel_graph(roads, mode="walk")               # TravelGraph (CSR arrays, seconds)
    times = cc.travel_times(cells, centres, walk)            # seconds, facility, snap, access_m
    cost = cc.cost_matrix(cells, sites, walk, max_seconds=900)   # scipy.sparse.csr_array
    best = cc.locate.solve_mclp(cost, 900, p=5, weights=cells["older"])
    run = cc.run_scenario("scenarios/demo.yaml")             # what `carecircle run` computes

Submodules and names are imported on first use, so ``import carecircle`` stays light.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from carecircle._version import __version__
from carecircle.errors import CareCircleError, DataError, InfeasibleError, ScenarioError

if TYPE_CHECKING:
    from carecircle import engine, locate, outputs, planning, rules, sources
    from carecircle.api import (
        check_plan,
        cost_matrix,
        isochrones,
        read_roads,
        run_scenario,
        travel_graph,
        travel_times,
    )
    from carecircle.engine import TravelGraph
    from carecircle.pipeline import RunResult
    from carecircle.scenario import Scenario, load_scenario
    from carecircle.sources.network import RoadNetwork

__all__ = [
    "CareCircleError",
    "DataError",
    "InfeasibleError",
    "RoadNetwork",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "TravelGraph",
    "__version__",
    "check_plan",
    "cost_matrix",
    "engine",
    "isochrones",
    "load_scenario",
    "locate",
    "outputs",
    "planning",
    "read_roads",
    "rules",
    "run_scenario",
    "sources",
    "travel_graph",
    "travel_times",
]

_SUBPACKAGES = {"engine", "locate", "outputs", "planning", "rules", "sources"}
_NAMES = {
    "check_plan": "carecircle.api",
    "cost_matrix": "carecircle.api",
    "isochrones": "carecircle.api",
    "read_roads": "carecircle.api",
    "run_scenario": "carecircle.api",
    "travel_graph": "carecircle.api",
    "travel_times": "carecircle.api",
    "load_scenario": "carecircle.scenario",
    "Scenario": "carecircle.scenario",
    "TravelGraph": "carecircle.engine",
    "RunResult": "carecircle.pipeline",
    "RoadNetwork": "carecircle.sources.network",
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
    return sorted(set(globals()) | set(__all__))


logging.getLogger(__name__).addHandler(logging.NullHandler())
