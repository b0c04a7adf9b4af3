"""Build carecircle/sources/data/census2020_county.csv from the 2020 census county tables.

Source: Lei Dong et al., "China Census" county tables of the 7th census (七普, 2020), digitised from
the census yearbook (census_county_2020_v1.xlsx), MIT licence; see the module docstring of
carecircle.sources.census2020 for the citation.  Usage:

    python scripts/build_census2020.py ../shared/data/china/census-2020-county/census_county_2020_v1.xlsx

Older residents are the sums of the 5-year age bands by sex (60-64 ... 85+, 65-69 ... 85+); a row
whose bands are missing keeps residents and leaves the older columns empty.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

OUT = (
    Path(__file__).resolve().parents[1]
    / "carecircle"
    / "sources"
    / "data"
    / "census2020_county.csv"
)
BANDS_60 = ["60到64岁", "65到69岁", "70到74岁", "75到79岁", "80到84岁", "85岁以上"]


def build(xlsx: Path) -> pd.DataFrame:
    df = pd.read_excel(xlsx, dtype={"区划代码": str}, na_values=["NA"])
    df = df[df["区划代码"].str.fullmatch(r"\d{6}", na=False)]

    def band_sum(bands: list[str]) -> pd.Series:
        cols = [f"{sex}_{b}" for b in bands for sex in ("男", "女")]
        values = df[cols].apply(pd.to_numeric, errors="coerce")
        return values.sum(axis=1, min_count=len(cols)).round().astype("Int64")

    out = pd.DataFrame(
        {
            "code": df["区划代码"],
            "province": df["省"].str.strip(),
            "city": df["市"].str.strip(),
            "county": df["区县"].str.strip(),
            "residents": pd.to_numeric(df["人口数_合计"], errors="coerce").round().astype("Int64"),
            "older_60": band_sum(BANDS_60),
            "older_65": band_sum(BANDS_60[1:]),
        }
    )
    return out.sort_values("code").reset_index(drop=True)


if __name__ == "__main__":
    table = build(Path(sys.argv[1]))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(OUT, index=False, encoding="utf-8")
    print(f"{OUT}: {len(table)} rows, {int(table['older_60'].isna().sum())} without age bands")
