"""The rule catalogue's old path: :mod:`carecircle.rules` holds it now; kept importable."""

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
from carecircle.rules.model import MU_M2, Citation, Kind, Param, Rule, Scope, Unit

__all__ = [
    "CATALOGUE",
    "DOCUMENTS",
    "MU_M2",
    "NATIONAL_RULES",
    "PLACES",
    "Citation",
    "Document",
    "Kind",
    "Param",
    "Rule",
    "Scope",
    "Unit",
    "catalogue_table",
    "circle_minutes",
    "get_rule",
    "resolve",
]
