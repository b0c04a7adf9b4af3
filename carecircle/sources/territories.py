"""Stand-ins for admin layers a county does not have yet, each flagged approximate.

A data-poor run (boundary, roads and a raster; or a village list with coordinates) still needs
townships and villages to score by. These functions make them from what there is: the county
outline as one township, each township as one village, and village territories approximated
from village points (every place goes to its nearest village point inside the same township,
a Voronoi partition clipped to the township). Shapely's ``voronoi_polygons`` does the geometry.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = [
    "county_as_township",
    "township_of",
    "townships_as_villages",
    "village_territories",
]


def county_as_township(
    outline: gpd.GeoDataFrame, *, code: str = "", name: str = ""
) -> gpd.GeoDataFrame:
    """The county outline as the only township (id: the census code when known)."""
    label = name or str(outline["name"].iloc[0]) or "全县 county"
    return gpd.GeoDataFrame(
        {"id": [code or "county"], "name": [label], "kind": [""]},
        geometry=[outline.geometry.iloc[0]],
        crs=outline.crs,
    )


def townships_as_villages(townships: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Each township as one village of the same id and name."""
    return gpd.GeoDataFrame(
        {
            "id": townships["id"].astype(str).to_numpy(),
            "name": townships["name"].astype(str).to_numpy(),
            "township": townships["id"].astype(str).to_numpy(),
            "kind": [""] * len(townships),
        },
        geometry=townships.geometry.to_numpy(),
        crs=townships.crs,
    )


def township_of(villages: gpd.GeoDataFrame, townships: gpd.GeoDataFrame) -> pd.Series:
    """The id of the township each village stands in (by a point on its surface; "" outside)."""
    points = villages.geometry.representative_point().to_numpy()
    hits = townships.sindex.query(points, predicate="within")
    where = np.full(len(villages), -1, dtype=np.int64)
    where[hits[0][::-1]] = hits[1][::-1]
    ids = townships["id"].astype(str).to_numpy()
    return pd.Series(
        np.where(where >= 0, ids[np.maximum(where, 0)], ""), index=villages.index, dtype=object
    )


def village_territories(
    villages: gpd.GeoDataFrame, townships: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Village points -> approximate territories: within each township, every place belongs to
    the nearest village point of that township.

    ``villages`` has ``id``, ``name`` and ``township`` (the township each point stands in).
    Villages whose points share a location keep one territory (the first); points outside every
    township get none; both are left out of the result and named in the report, with the townships holding no village point
    (their older residents fall outside every village and are flagged as such by the run).
    """
    out = villages.copy()
    geoms = np.full(len(out), None, dtype=object)
    shared: list[str] = []
    townships_without: list[str] = []
    by_id = {str(t): g for t, g in zip(townships["id"], townships.geometry, strict=True)}
    for tid, area in by_id.items():
        rows = np.flatnonzero(out["township"].astype(str).to_numpy() == tid)
        if rows.size == 0:
            townships_without.append(tid)
            continue
        pts = shapely.get_coordinates(out.geometry.to_numpy()[rows])
        _, first = np.unique(np.round(pts, 3), axis=0, return_index=True)
        first = np.sort(first)
        shared.extend(str(out["id"].iloc[r]) for r in np.setdiff1d(rows, rows[first]))
        if first.size == 1:
            geoms[rows[first[0]]] = area
            continue
        cells = shapely.voronoi_polygons(shapely.multipoints(pts[first]), extend_to=area)
        parts = np.asarray(shapely.get_parts(cells))
        seeds = shapely.points(pts[first])
        # voronoi_polygons does not keep the input order: match each cell to the seed it holds.
        tree = shapely.STRtree(parts)
        seed_idx, cell_idx = tree.query(seeds, predicate="intersects")
        owner = np.full(first.size, -1, dtype=np.int64)
        owner[seed_idx[::-1]] = cell_idx[::-1]
        for k, r in enumerate(rows[first]):
            if owner[k] >= 0:
                geoms[r] = shapely.intersection(parts[owner[k]], area)
    empty = np.array([g is None or shapely.is_empty(g) for g in geoms], dtype=bool)
    outside = [str(i) for i in out["id"][empty & (out["township"].astype(str) == "")]]
    out = gpd.GeoDataFrame(
        out.drop(columns="geometry")[~empty],
        geometry=[g for g, e in zip(geoms, empty, strict=True) if not e],
        crs=villages.crs,
    ).reset_index(drop=True)
    report = {
        "villages": len(villages),
        "with_territory": int((~empty).sum()),
        "sharing_a_point": shared,
        "outside_townships": outside,
        "townships_without_village": townships_without,
    }
    return out, report
