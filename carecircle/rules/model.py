"""The rule model: parameters with units, citations of clauses, and rules (data, no geometry)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal

from carecircle.rules.documents import DOCUMENTS, Document

__all__ = [
    "MQ",
    "MU_M2",
    "RS",
    "TX",
    "WZ",
    "YQ",
    "Citation",
    "Kind",
    "Param",
    "Rule",
    "Scope",
    "Unit",
    "c",
    "p",
]

Scope = Literal["village", "township", "county", "facility", "project", "plan"]
Kind = Literal["S", "A", "R"]
Unit = Literal[
    "share",
    "count",
    "beds",
    "m",
    "m2",
    "km2",
    "m2_per_bed",
    "m2_per_person",
    "mu",
    "minutes",
    "years",
    "grade",
    "ratio",
    "m_per_s",
    "per_1000_older",
    "per_10000_older",
    "per_100_households_m2",
    "permille",
    "yuan",
    "yuan_per_bed",
    "yuan_per_m2",
    "yuan_per_year",
    "beds_per_worker",
    "older_per_worker",
    "percent",
]

# 1 亩 in m². POLICY.md states 1 亩 = 666.67 m²; the exact value is 10000/15 = 666.666… m². We use
# POLICY.md's figure so that areas printed by the planner match the figure planners and land
# bureaus quote; the difference is 0.0005 % (250 亩 -> 166,667.5 m² instead of 166,666.7 m²).
MU_M2 = 666.67


@dataclass(frozen=True)
class Citation:
    """A clause of a document, in the document's own numbering, with a short verbatim quote."""

    doc: str
    clause: str
    quote: str

    def document(self) -> Document:
        try:
            return DOCUMENTS[self.doc]
        except KeyError:
            valid = ", ".join(DOCUMENTS)
            raise KeyError(f"unknown document {self.doc!r}; valid: {valid}") from None

    def __str__(self) -> str:
        return f"{self.document().number} {self.clause}"


@dataclass(frozen=True)
class Param:
    """One number of a rule."""

    value: float
    unit: Unit
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class Rule:
    """A policy target: named parameters, where it applies, and where the documents state it."""

    id: str
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    scope: Scope
    kind: Kind
    # Read-only and ordered; excluded from hashing because mapping proxies are not hashable.
    params: Mapping[str, Param] = field(hash=False)
    citations: tuple[Citation, ...]
    binding: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.params, MappingProxyType):
            object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        object.__setattr__(self, "citations", tuple(self.citations))

    def value(self, name: str | None = None) -> float:
        """The value of parameter ``name`` (may be omitted when the rule has exactly one)."""
        if name is None:
            if len(self.params) == 1:
                return next(iter(self.params.values())).value
            if not self.params:
                raise KeyError(f"rule {self.id!r} has no parameters")
            raise KeyError(
                f"rule {self.id!r} has several parameters; name one of: {', '.join(self.params)}"
            )
        try:
            return self.params[name].value
        except KeyError:
            raise KeyError(
                f"rule {self.id!r} has no parameter {name!r}; valid: {self._valid_names()}"
            ) from None

    def with_values(self, override: float | Mapping[str, float] | None) -> Rule:
        """A copy with parameter values replaced; ``None`` leaves the rule unchanged.

        A bare number is accepted only for single-parameter rules; a mapping may name any subset
        of the parameters. Unknown names, several-parameter rules given a bare number and
        non-finite values raise :class:`ValueError` naming the valid parameters.
        """
        if override is None:
            return self
        if isinstance(override, Mapping):
            unknown = [str(k) for k in override if k not in self.params]
            if unknown:
                raise ValueError(
                    f"rule {self.id!r} has no parameter(s) {', '.join(map(repr, unknown))}; "
                    f"valid: {self._valid_names()}"
                )
            new = {str(k): _number(self.id, str(k), v) for k, v in override.items()}
        else:
            if len(self.params) != 1:
                raise ValueError(
                    f"rule {self.id!r} has {len(self.params)} parameters; give a mapping of "
                    f"{self._valid_names()} instead of a single number"
                )
            (only,) = self.params
            new = {only: _number(self.id, only, override)}
        params = {
            name: replace(param, value=new[name]) if name in new else param
            for name, param in self.params.items()
        }
        return replace(self, params=MappingProxyType(params))

    def cite(self) -> str:
        """All clauses cited, once each: ``乐政办函〔2020〕24号 一; 乐政办函〔2020〕24号 二(二)6``."""
        return "; ".join(dict.fromkeys(str(c) for c in self.citations))

    def _valid_names(self) -> str:
        return ", ".join(self.params) if self.params else "(none)"


def _number(rule_id: str, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"rule {rule_id!r} parameter {name!r}: expected a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"rule {rule_id!r} parameter {name!r}: must be finite, got {value!r}")
    return float(value)


# --- helpers for the rule tables ------------------------------------------------------------------


def p(value: float, unit: Unit, name_zh: str, name_en: str) -> Param:
    """A rule parameter (the tables' shorthand)."""
    return Param(float(value), unit, name_zh, name_en)


def c(doc: str, clause: str, quote: str) -> Citation:
    """A citation (the tables' shorthand)."""
    return Citation(doc, clause, quote)


# Keys of the five seed documents, as the tables cite them.
YQ, MQ, RS, WZ, TX = "yueqing-2020", "minqing-2020", "rushan-2022", "wenzhou-2020", "tongxiang-2022"
