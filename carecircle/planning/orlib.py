"""The old path of the OR-Library reader: :mod:`carecircle.locate.orlib` holds it now."""

from __future__ import annotations

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
    "CapInstance",
    "PMedCapInstance",
    "PMedInstance",
    "read_cap",
    "read_optima",
    "read_pmed",
    "read_pmedcap",
    "shortest_path_costs",
]
