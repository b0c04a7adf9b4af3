"""The 2020 census (第七次全国人口普查) county table shipped with carecircle: residents and older
residents (60+, 65+) of every county-level unit and prefecture, by 6-digit 区划代码.

Built by ``scripts/build_census2020.py`` from the county tables of Lei Dong, Rui Du and Yu Liu,
*Mapping Evolving Population Geography in China* (2022), digitised from the 7th census yearbook
(github.com/leiii/census, ``data/census/census_county_2020_v1.xlsx``, MIT licence, Copyright (c)
2022 Lei Dong). Older residents are the sums of the yearbook's 5-year age bands by sex.

Kept here rather than fetched: the table is 200 kB, changes once a decade, and a county planner's
run must not depend on a website being up. :func:`lookup` finds a row by code or by name;
:func:`calibrate` scales a gridded older population to a census total without changing its pattern.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt

from carecircle.errors import DataError

__all__ = ["CountyCensus", "bare_name", "calibrate", "lookup", "table"]

SOURCE = (
    "第七次全国人口普查 县级数据 (Dong, Du & Liu, github.com/leiii/census, MIT) / "
    "2020 census county tables"
)


@dataclass(frozen=True)
class CountyCensus:
    """One county (or prefecture) of the 2020 census: residents and older residents."""

    code: str
    province: str
    city: str
    county: str
    residents: int
    older_60: int | None
    older_65: int | None

    @property
    def older_share(self) -> float | None:
        """Share of residents aged 60 and over (None when the table has no age bands here)."""
        if self.older_60 is None or not self.residents:
            return None
        return self.older_60 / self.residents

    @property
    def label(self) -> str:
        """``乐清市 (温州市, 浙江省, 330382)``, as messages name a county."""
        parents = [p for p in dict.fromkeys((self.city, self.province)) if p != self.county]
        return f"{self.county} ({', '.join([*parents, self.code])})"


@cache
def table() -> tuple[CountyCensus, ...]:
    """Every row of the shipped table, in code order."""

    def number(text: str) -> int | None:
        return int(text) if text.strip() else None

    ref = resources.files("carecircle.sources").joinpath("data/census2020_county.csv")
    with io.StringIO(ref.read_text(encoding="utf-8"), newline="") as fh:
        return tuple(
            CountyCensus(
                code=row["code"],
                province=row["province"],
                city=row["city"],
                county=row["county"],
                residents=int(row["residents"]),
                older_60=number(row["older_60"]),
                older_65=number(row["older_65"]),
            )
            for row in csv.DictReader(fh)
        )


_SEPARATORS = re.compile(r"[,，、\s/]+")
# Suffixes people drop or add: 乐清 / 乐清市, 闽清 / 闽清县.
_SUFFIXES = ("自治县", "自治州", "特别行政区", "新区", "市", "县", "区", "旗", "州", "盟", "省")


def _bare(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def bare_name(name: str) -> str:
    """A place name without its suffix (乐清市 -> 乐清, 密云县 and 密云区 -> 密云), to compare names."""
    return _bare(str(name).strip())


def lookup(query: str) -> CountyCensus:
    """The census row for a 6-digit 区划代码 (``"330382"``) or a name, most specific part first:
    ``"乐清市"``, ``"乐清市, 温州市, 浙江省"``, ``"武汉市"`` (a prefecture's own row). An unknown
    or ambiguous name is an error listing the closest rows and asking for the code."""
    text = str(query).strip()
    rows = table()
    if re.fullmatch(r"\d{6}", text):
        for row in rows:
            if row.code == text:
                return row
        raise DataError(
            f"census_county {text!r}: 2020年普查表无此区划代码 / no county with this code in the 2020 "
            "census table; check the 6-digit 区划代码 (2020 codes; districts merged since keep their "
            "old code)"
        )
    parts = [p for p in _SEPARATORS.split(text) if p]
    if not parts:
        raise DataError("census_county: 为空 / empty; give a 6-digit 区划代码 or a county name")
    name, parents = parts[0], parts[1:]
    # The name as written (朝阳区 is not 朝阳市); a name written without its suffix (乐清) finds
    # 乐清市, but one with another suffix (贵溪县 for 贵溪市) is refused, not guessed.
    matches = [r for r in rows if r.county == name]
    if not matches:
        bare = [r for r in rows if _bare(r.county) == _bare(name)]
        if _bare(name) != name and bare:
            listed = "; ".join(r.label for r in bare[:5])
            raise DataError(
                f"census_county {text!r}: 2020年普查表无此名称 / no county of exactly this name in "
                f"the 2020 census table; did you mean {listed}? give the name as listed or the "
                "6-digit 区划代码"
            )
        matches = bare
    for parent in parents:
        narrowed = [r for r in matches if _bare(parent) in (_bare(r.city), _bare(r.province))]
        matches = narrowed or matches
    if len(matches) > 1:
        # A prefecture's own row (武汉市 420100) beats its 市辖区 stand-ins and namesakes elsewhere
        # only when the name is the prefecture's.
        own = [r for r in matches if r.code.endswith("00") and _bare(r.city) == _bare(name)]
        matches = own if len(own) == 1 else matches
    if len(matches) == 1:
        return matches[0]
    if not matches:
        near = [r for r in rows if _bare(name) in r.county][:5]
        hint = "; ".join(r.label for r in near) if near else "none close"
        raise DataError(
            f"census_county {text!r}: 2020年普查表无此县 / no county of this name in the 2020 census "
            f"table (closest: {hint}); give the 6-digit 区划代码"
        )
    listed = "; ".join(r.label for r in matches[:8])
    raise DataError(
        f"census_county {text!r}: 有 {len(matches)} 个同名县 / {len(matches)} counties share this "
        f'name ({listed}); add the city and province ("{name}, 市, 省") or give the 区划代码'
    )


def calibrate(
    values: npt.ArrayLike, total: float, *, max_factor: float = 3.0
) -> tuple[npt.NDArray[np.float64], float]:
    """``values`` scaled by one factor so they sum to ``total`` (the spatial pattern unchanged),
    and the factor. A factor beyond ``max_factor`` (or below its inverse) is refused: such a gap
    means a raster of another place, year or unit, not an undercount."""
    array = np.asarray(values, dtype=np.float64)
    if not np.isfinite(array).all() or (array < 0).any():
        raise DataError(
            "calibrate: 人口值须为非负有限数 / population values must be finite and non-negative; "
            "mask the raster's nodata first"
        )
    current = float(array.sum())
    if current <= 0 or not np.isfinite(total) or total < 0:
        raise DataError(
            f"calibrate: 无法把总数 {current:,.0f} 校准到 {total:,.0f} / cannot scale a total of "
            f"{current:,.0f} to {total:,.0f}; check that the raster covers the county"
        )
    factor = float(total) / current
    if not (1 / max_factor <= factor <= max_factor):
        raise DataError(
            f"calibrate: 校准系数 {factor:.2f} 超出 1/{max_factor:g}–{max_factor:g} / the census "
            f"total is {factor:.2f}x the raster's ({total:,.0f} vs {current:,.0f}); check the "
            "raster's extent, bands and unit, or raise the tolerance"
        )
    return array * factor, factor
