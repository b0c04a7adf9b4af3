"""Land-use codes' old path: :mod:`carecircle.rules.landuse` holds them now; kept importable."""

from __future__ import annotations

from carecircle.rules.landuse import (
    CODE_PATTERN,
    LAND_USES,
    Host,
    LandUse,
    land_use,
    normalise_code,
)

__all__ = ["CODE_PATTERN", "LAND_USES", "Host", "LandUse", "land_use", "normalise_code"]
