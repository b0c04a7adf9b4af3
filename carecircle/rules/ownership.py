"""Who runs a facility (机构性质): the ownership words registers and plans use, public or private.

Private-share targets (民营床位占比) and the land quota for private homes (民办养老机构用地) count
the private ones. 公建民营 (built by the government, run by a private operator) stands on public
land and is public here; 民营/民办/私营/社会办 are private. A value in none of the lists is bad
input: a silent guess either way would move a private-share figure or the land quota.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Literal

__all__ = ["OWNERSHIP", "Ownership", "is_private", "ownership_of", "unknown_ownership"]

Ownership = Literal["public", "private"]

OWNERSHIP: Mapping[str, Ownership] = MappingProxyType(
    {
        **dict.fromkeys(
            ("民办", "民营", "私营", "私立", "社会办", "社会力量办", "民办非企业", "private"),
            "private",
        ),
        **dict.fromkeys(
            (
                "公办",
                "公立",
                "国有",
                "政府办",
                "公建",
                "公建民营",
                "集体",
                "村集体",
                "事业单位",
                "public",
            ),
            "public",
        ),
    }
)


def ownership_of(value: object) -> Ownership | None:
    """``public`` or ``private`` for a known ownership word (spaces and case ignored), else None."""
    text = str(value).strip().replace(" ", "").lower()
    return OWNERSHIP.get(text)


def unknown_ownership(values: Iterable[object]) -> list[str]:
    """The non-blank values that are no known ownership word, each once, in order."""
    seen = dict.fromkeys(
        str(v).strip() for v in values if str(v).strip() not in ("", "nan", "None")
    )
    return [v for v in seen if ownership_of(v) is None]


def is_private(values: Iterable[object]) -> list[bool]:
    """True where a value names a private operator."""
    return [ownership_of(v) == "private" for v in values]
