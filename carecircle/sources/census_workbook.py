"""County census workbooks (Dong, Du & Liu's 2010 and 2020 tables): one county's older residents.

``census_county_2010_v1.xlsx`` (6th census, 2010) has one row per county with '区划代码' (rows of a
prefecture's 市辖区 have none) and 5-year age bands by sex ('60-64岁（男）' ... '85岁及以上（女）');
``census_county_2020_v1.xlsx`` (7th census) names them '男_60到64岁' ... '女_85岁以上'. A county's
older residents (60+) are the sum of the twelve bands from 60 on. The workbook is untrusted: it is
read through :func:`carecircle.sources.layers.read_table` (size, decompressed size, cells and rows
bounded by ``limits:``), and a layout without the twelve bands is refused, not guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from carecircle.errors import DataError, excerpt
from carecircle.scenario import InputLimits
from carecircle.sources.census2020 import bare_name
from carecircle.sources.layers import read_table

__all__ = ["CountyOlder", "older_of"]

CODE_COLUMN = "区划代码"
NAME_COLUMNS = ("地区", "区县")
TOTAL_COLUMNS = ("合计", "人口数_合计")
# '60-64岁（男）', '85岁及以上（女）' (2010); '男_60到64岁', '女_85岁以上' (2020).
_BAND = re.compile(
    r"^(?:(?P<sex1>[男女])_)?(?P<start>\d{1,3})(?:(?:-|到)\d{1,3})?岁(?:及以上|以上)?"
    r"(?:[（(](?P<sex2>[男女])[)）])?$"
)
OLDER_FROM = 60
BANDS = 12  # 60-64, 65-69, 70-74, 75-79, 80-84, 85+, by sex


@dataclass(frozen=True)
class CountyOlder:
    """A county's older residents (60+) in one census workbook."""

    code: str
    name: str
    older_60: int
    row: int  # the spreadsheet row (header = 1)


def band_columns(columns: list[str]) -> list[str]:
    """The workbook's age-band columns from 60 on, by sex (empty when the layout is another)."""
    found = []
    for column in columns:
        m = _BAND.match(str(column).strip())
        if m and (m["sex1"] or m["sex2"]) and int(m["start"]) >= OLDER_FROM:
            found.append(column)
    return found


@lru_cache(maxsize=4)
def _county_table(path: Path, size: int, mtime_ns: int, limits: InputLimits | None) -> pd.DataFrame:
    """The workbook's code, name, total and 60+ band columns, read once per file version (a
    county workbook takes seconds to parse; validate's checks and the run read it again)."""
    table, _ = read_table(path, limits=limits)
    keep = [
        c
        for c in table.columns
        if c in (CODE_COLUMN, *NAME_COLUMNS, *TOTAL_COLUMNS) or c in band_columns([c])
    ]
    return table[keep]


def _code(value: str) -> str:
    """'330382', '330382.0' (a code stored as a float) -> '330382'; other text stripped."""
    text = str(value).strip()
    m = re.fullmatch(r"(\d{6})(?:\.0*)?", text)
    return m.group(1) if m else text


def older_of(
    path: str | Path,
    code: str,
    *,
    limits: InputLimits | None = None,
    name: str | None = None,
    code_key: str = "demand.census_2010_code",
) -> CountyOlder:
    """The older residents (60+) of the county with 区划代码 ``code`` in a census workbook.

    A code the workbook lacks (county codes changed between 2010 and 2020: counties became
    districts, merged or split) is refused with one line naming the code and the fix; ``name``
    (the county's 2020 name) lets the message point at a row of the same name, never taken.
    """
    path = Path(path)
    stat = path.stat()
    table = _county_table(path, stat.st_size, stat.st_mtime_ns, limits)
    columns = [str(c) for c in table.columns]
    bands = band_columns(columns)
    if CODE_COLUMN not in columns or len(bands) != BANDS:
        raise DataError(
            f"{path}: 不是县级普查表 / not a county census table: needs a {CODE_COLUMN} column "
            f"and {BANDS} age-band columns from 60 on by sex ('60-64岁（男）' or '男_60到64岁'), "
            f"found {len(bands)}; give census_county_2010_v1.xlsx or census_county_2020_v1.xlsx"
        )
    codes = table[CODE_COLUMN].map(_code)
    rows = np.flatnonzero((codes == code).to_numpy())
    name_col = next((c for c in NAME_COLUMNS if c in columns), None)
    if len(rows) == 0:
        hint = ""
        if name and name_col is not None:
            names = table[name_col].astype(str).str.strip()
            same = np.flatnonzero((names.map(bare_name) == bare_name(name)).to_numpy())
            shown = [f"{excerpt(names.iat[i], 20, quote=False)} {codes.iat[i]}" for i in same[:3]]
            if shown:
                hint = f" (rows of the same name: {', '.join(shown)})"
        raise DataError(
            f"{path}: 无区划代码 {code} / no row with 区划代码 {code}: county codes changed "
            f"between the censuses for some counties{hint}; give the county's code in this table "
            f"as {code_key}, or give demand.older_growth_rate instead"
        )
    if len(rows) > 1:
        raise DataError(
            f"{path}: 区划代码 {code} 出现 {len(rows)} 次 / 区划代码 {code} is on {len(rows)} rows "
            f"({', '.join(str(i + 2) for i in rows[:5])}); keep one row per county"
        )
    i = int(rows[0])
    values = pd.to_numeric(table.loc[table.index[i], bands], errors="coerce").astype(float)
    bad = [b for b, v in zip(bands, values, strict=True) if not np.isfinite(v) or v < 0]
    if bad:
        raise DataError(
            f"{path}: 第 {i + 2} 行年龄组无效 / row {i + 2} ({CODE_COLUMN} {code}): "
            f"{excerpt(bad[0], 20)} is {excerpt(table.loc[table.index[i], bad[0]], 20)}, not a "
            "count; fix the row or give demand.older_growth_rate"
        )
    older = float(values.sum())
    total_col = next((c for c in TOTAL_COLUMNS if c in columns), None)
    if total_col is not None:
        total = pd.to_numeric(pd.Series([table[total_col].iat[i]]), errors="coerce").to_numpy(
            dtype=float
        )[0]
        if np.isfinite(total) and older > total:
            raise DataError(
                f"{path}: 第 {i + 2} 行 / row {i + 2} ({CODE_COLUMN} {code}): 60+ {older:,.0f} "
                f"exceeds {total_col} {total:,.0f}; the age bands are in another unit"
            )
    if older <= 0:
        raise DataError(
            f"{path}: 第 {i + 2} 行 / row {i + 2} ({CODE_COLUMN} {code}): no residents aged 60 or "
            "over; give demand.older_growth_rate instead"
        )
    label = str(table[name_col].iat[i]).strip() if name_col is not None else ""
    return CountyOlder(
        code=code, name=excerpt(label, 30, quote=False), older_60=round(older), row=i + 2
    )
