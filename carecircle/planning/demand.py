"""Demand at the plan's horizon year (机构跟着老人走): older residents grown from the population
data's year to the year the plan's sites are built for.

Coverage, gaps and the map describe today (the 2020 census and WorldPop 2020); the siting
recommendations plan for ``horizon_year``. One county-wide factor (1 + r)^(horizon - base) scales
every cell's older residents, so the pattern stays that of the base year: r is the scenario's
``demand.older_growth_rate``, or derived from the county's 2010 and 2020 censuses as
r = (older_2020 / older_2010)^(1/10) - 1.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from carecircle.errors import DataError
from carecircle.scenario import MAX_GROWTH_RATE, Scenario

__all__ = [
    "CensusGrowth",
    "DemandProjection",
    "census_growth",
    "growth_factor",
    "growth_rate",
    "project",
]

CENSUS_YEARS = (2010, 2020)


def growth_rate(count_from: float, count_to: float, year_from: int, year_to: int) -> float:
    """The constant annual rate r taking ``count_from`` in ``year_from`` to ``count_to`` in
    ``year_to``: (count_to / count_from)^(1 / (year_to - year_from)) - 1."""
    if year_to == year_from:
        raise ValueError("growth_rate needs two different years")
    if not (count_from > 0 and count_to > 0) or not math.isfinite(count_from + count_to):
        raise ValueError(f"growth_rate needs positive counts (got {count_from!r}, {count_to!r})")
    return float((count_to / count_from) ** (1.0 / (year_to - year_from)) - 1.0)


def growth_factor(rate: float, base_year: int, horizon_year: int) -> float:
    """(1 + rate)^(horizon_year - base_year): how many older residents per one of the base year."""
    if not rate > -1 or not math.isfinite(rate):
        raise ValueError(f"growth_factor needs a rate above -1 (got {rate!r})")
    return float((1.0 + rate) ** (horizon_year - base_year))


@dataclass(frozen=True)
class CensusGrowth:
    """The two census counts a rate was derived from."""

    county: str
    code_2010: str
    older_2010: int
    older_2020: int
    source_2010: str
    source_2020: str


@dataclass(frozen=True)
class DemandProjection:
    """Older residents at the base year and the horizon year, and how one became the other.

    ``source`` is ``none`` (no projection: horizon = base, factor 1), ``older_growth_rate`` (the
    scenario's rate) or ``census`` (derived from the 2010 and 2020 censuses, in ``census``).
    """

    base_year: int
    horizon_year: int
    rate: float
    factor: float
    source: str
    older_base: float
    older_horizon: float
    census: CensusGrowth | None = None

    @property
    def projected(self) -> bool:
        return self.source != "none"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.census is None:
            out.pop("census")
        return out


def census_growth(scenario: Scenario) -> tuple[float, CensusGrowth]:
    """The annual growth of the county's older residents between the 2010 and 2020 censuses."""
    from carecircle.sources import census2020, census_workbook

    spec = scenario.demand
    assert spec.census_2010 is not None
    query = spec.census_county or scenario.data.population.census_county
    if query is None:
        raise DataError(
            "demand.census_2010: 未指定县 / no county named: give demand.census_county (e.g. "
            "'330382') or data.population.census_county"
        )
    county = census2020.lookup(query)
    code_2010 = spec.census_2010_code or county.code
    then = census_workbook.older_of(
        spec.census_2010, code_2010, limits=scenario.limits, name=county.county
    )
    if spec.census_2020 is not None:
        now = census_workbook.older_of(
            spec.census_2020,
            county.code,
            limits=scenario.limits,
            name=county.county,
            code_key="demand.census_county",
        ).older_60
        source_2020 = spec.census_2020.name
    elif county.older_60 is not None:
        now, source_2020 = county.older_60, "census2020_county.csv"
    else:
        raise DataError(
            f"demand: 2020年普查表中 {county.label} 无年龄数据 / the shipped 2020 census table has "
            "no age bands for this county; give demand.census_2020 or demand.older_growth_rate"
        )
    rate = growth_rate(then.older_60, now, *CENSUS_YEARS)
    if abs(rate) > MAX_GROWTH_RATE:
        raise DataError(
            f"demand: {county.label} 60+ {then.older_60:,} (2010, {code_2010}) → {now:,} (2020) "
            f"is {rate * 100:+.1f} % a year / beyond ±{MAX_GROWTH_RATE * 100:g} %: the county's "
            "boundary changed between the censuses; give demand.older_growth_rate instead"
        )
    growth = CensusGrowth(
        county=county.label,
        code_2010=code_2010,
        older_2010=then.older_60,
        older_2020=int(now),
        source_2010=spec.census_2010.name,
        source_2020=source_2020,
    )
    return rate, growth


def project(scenario: Scenario, older_base: float) -> DemandProjection:
    """The scenario's demand projection for ``older_base`` older residents of the base year."""
    spec = scenario.demand
    base = spec.base_year
    if spec.horizon_year is None:
        return DemandProjection(base, base, 0.0, 1.0, "none", older_base, older_base)
    census = None
    if spec.older_growth_rate is not None:
        rate, source = float(spec.older_growth_rate), "older_growth_rate"
    else:
        (rate, census), source = census_growth(scenario), "census"
    factor = growth_factor(rate, base, spec.horizon_year)
    return DemandProjection(
        base_year=base,
        horizon_year=spec.horizon_year,
        rate=rate,
        factor=factor,
        source=source,
        older_base=older_base,
        older_horizon=older_base * factor,
        census=census,
    )
