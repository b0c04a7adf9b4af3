"""Which county an ``init`` is for, and whether the area is that whole county or a part of it.

``COUNTY`` is a 6-digit 区划代码 (``360681``), a county's name (``乐清市, 温州市, 浙江省``,
``武汉市`` for a prefecture's own row) or a part of a county followed by the county
(``东门街道, 贵溪市``). The census row (:mod:`carecircle.sources.census2020`) decides how the
population is calibrated: a whole county's grid is scaled to its 60+ total, a part gets the
county's 60+ share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from carecircle.errors import DataError
from carecircle.sources import census2020
from carecircle.sources.census2020 import CountyCensus

__all__ = ["Area", "resolve_area"]

_SEPARATORS = re.compile(r"[,，、\s/]+")


@dataclass(frozen=True)
class Area:
    """The area an init is for."""

    query: str  # COUNTY as given
    county: CountyCensus  # the census county the area is (or lies in)
    whole_county: bool
    name: str  # the area's own name: the county's, or the part's
    geocode: str  # the text sent to Nominatim

    @property
    def parents(self) -> list[str]:
        return [
            p
            for p in dict.fromkeys((self.county.county, self.county.city, self.county.province))
            if p
        ]


def _parts(text: str) -> list[str]:
    return [p for p in _SEPARATORS.split(text) if p]


def resolve_area(query: str, census_county: str | None = None) -> Area:
    """The area of ``query``; ``census_county`` names the county when the query does not."""
    text = str(query).strip()
    parts = _parts(text)
    if not parts:
        raise DataError(
            "COUNTY: 为空 / empty; give a 6-digit 区划代码 (e.g. 360681) or a county's name "
            "(e.g. '乐清市, 温州市, 浙江省')"
        )
    county: CountyCensus | None = None
    whole = False
    try:
        county, whole = census2020.lookup(text), True
    except DataError as exc:
        if "同名" in str(exc) or "did you mean" in str(exc):  # namesakes or a near name listed
            raise DataError(str(exc).replace("census_county", "COUNTY", 1)) from None
        if re.fullmatch(r"\d{6}", text):
            raise DataError(
                f"COUNTY {text!r}: 2020年普查表无此区划代码 / no county with this code in the 2020 "
                "census table; check the 6-digit 区划代码 (e.g. 360681 贵溪市)"
            ) from None
        if len(parts) > 1:
            try:
                county = census2020.lookup(", ".join(parts[1:]))
            except DataError as inner:
                if "did you mean" in str(inner):
                    raise DataError(str(inner).replace("census_county", "COUNTY", 1)) from None
                county = None
    if census_county is not None:
        named = census2020.lookup(census_county)
        whole = whole and county is not None and named.code == county.code
        county = named
    if county is None:
        raise DataError(
            f"COUNTY {text!r}: 2020年普查表中无此县 / not a county of the 2020 census table; give "
            "its 6-digit 区划代码 (e.g. 360681), a name like '乐清市, 温州市, 浙江省', or a part of "
            "a county followed by the county ('东门街道, 贵溪市')"
        )
    if whole:
        name = county.county
        geocode = ", ".join(dict.fromkeys((county.county, county.city, county.province)))
    else:
        name = parts[0]
        parents = [county.county, county.city, county.province]
        geocode = ", ".join(dict.fromkeys([parts[0], *parents]))
    return Area(query=text, county=county, whole_county=whole, name=name, geocode=geocode)
