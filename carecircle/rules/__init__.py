"""The rule catalogue as data: every target of the seed documents with its citation, 亩, land-use codes.

Below the scenario and the readers: nothing here knows geometry, files or the pipeline. The old
module paths ``carecircle.planning.policy`` and ``carecircle.planning.landuse`` re-export it.
"""

from __future__ import annotations

from carecircle.rules.catalogue import (
    CATALOGUE,
    NATIONAL_RULES,
    PLACES,
    catalogue_table,
    circle_minutes,
    get_rule,
    resolve,
)
from carecircle.rules.documents import DOCUMENTS, Document
from carecircle.rules.landuse import (
    CODE_PATTERN,
    LAND_USES,
    Host,
    LandUse,
    land_use,
    normalise_code,
)
from carecircle.rules.model import MU_M2, Citation, Kind, Param, Rule, Scope, Unit

__all__ = [
    "CATALOGUE",
    "CODE_PATTERN",
    "DOCUMENTS",
    "LAND_USES",
    "MU_M2",
    "NATIONAL_RULES",
    "PLACES",
    "Citation",
    "Document",
    "Host",
    "Kind",
    "LandUse",
    "Param",
    "Rule",
    "Scope",
    "Unit",
    "catalogue_table",
    "circle_minutes",
    "get_rule",
    "land_use",
    "normalise_code",
    "resolve",
]
