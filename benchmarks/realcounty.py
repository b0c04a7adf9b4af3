"""A carecircle scenario for a real county from its OSM extract alone (benchmarks and tests).

The road network, the county outline and the health and social facilities are real (read from
``../shared/data/osm/<county>.osm.pbf``). What OSM does not hold is generated, seeded and
documented here:

* population: a raster at WorldPop's 3 arc-seconds (Imperial: 6) over the county's bounds, each town a 1.5 km
  Gaussian bump of its residents, plus an even rural background inside the county; older
  residents are a fixed share of it (``older_share`` in the scenario);
* townships and villages: a 3 x 3 and a 9 x 9 grid over the county's bounds, clipped to it;
* candidate parcels for regional homes: the county's mapped schools, each with a seeded land
  area (a school yard stands in for a parcel; the coordinates are real, the areas are not).

Town coordinates and residents are rounded census-place figures (US Census 2020 counts of the
places named, to the nearest 500), enough to put people where the towns are.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
import yaml

OSM = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "osm"
CELL = 1 / 1200  # WorldPop's 3 arc-seconds


@dataclass(frozen=True)
class County:
    """What the generated scenario needs to know about one county."""

    key: str  # file stem in ../shared/data/osm
    name: str  # the OSM boundary's name
    code: str  # FIPS code, used as the county id
    towns: dict[str, tuple[float, float, int]]  # name -> (lon, lat, residents)
    background: int  # residents spread evenly over the rest of the county
    cell: float = CELL  # raster cell in degrees

    @property
    def pbf(self) -> Path:
        return OSM / f"{self.key}.osm.pbf"


YUBA = County(
    "yuba-county",
    "Yuba County",
    "06115",
    {
        "Marysville": (-121.5914, 39.1457, 12_000),
        "Linda": (-121.5508, 39.1277, 17_000),
        "Olivehurst": (-121.5522, 39.0955, 14_000),
        "Plumas Lake": (-121.5580, 39.0207, 8_000),
        "Wheatland": (-121.4230, 39.0099, 3_500),
        "Beale AFB": (-121.3550, 39.1100, 3_000),
        "Loma Rica": (-121.4166, 39.3115, 2_500),
        "Brownsville": (-121.2766, 39.4666, 1_000),
    },
    10_000,
)

IMPERIAL = County(
    "imperial-county",
    "Imperial County",
    "06025",
    {
        "El Centro": (-115.5631, 32.7920, 44_000),
        "Calexico": (-115.4989, 32.6789, 38_500),
        "Brawley": (-115.5303, 32.9787, 27_000),
        "Imperial": (-115.5694, 32.8476, 21_000),
        "Heber": (-115.5294, 32.7309, 7_000),
        "Holtville": (-115.3803, 32.8111, 5_500),
        "Calipatria": (-115.5147, 33.1256, 6_500),
        "Salton City": (-115.9561, 33.2986, 6_000),
        "Westmorland": (-115.6214, 33.0373, 2_000),
        "Seeley": (-115.6911, 32.7934, 1_500),
        "Niland": (-115.5189, 33.2400, 500),
    },
    20_000,
    # 11,000 km²: at 3 arc-seconds that is 1.6 million populated cells (the run takes ~90 s, a
    # fifth of it writing them to results.gpkg); 6 arc-seconds (~180 m) as for a large county.
    2 * CELL,
)

COUNTIES = {c.key: c for c in (YUBA, IMPERIAL)}

# Mapped as amenity=... in OSM; all are scored as village-tier care points (the US has no
# 村级照料中心; these are the places older people already go to for care and company).
CARE_AMENITIES = ("hospital", "clinic", "social_facility", "community_centre")


def _read_osm(county: County, amenities: tuple[str, ...]) -> tuple[Any, gpd.GeoDataFrame]:
    with warnings.catch_warnings():  # pyrosm's own pandas/shapely deprecation chatter
        warnings.simplefilter("ignore")
        from pyrosm import OSM as Reader

        osm = Reader(str(county.pbf))
        outline = osm.get_boundaries(name=county.name).geometry.iloc[0]
        pois = osm.get_pois(custom_filter={"amenity": list(amenities)})
    return outline, pois


def county_inputs(
    county: County,
    folder: Path,
    *,
    amenities: tuple[str, ...] = ("hospital", "clinic"),
    parcels: bool = False,
    seed: int = 2022,
) -> dict[str, float]:
    """Write admin.gpkg, facilities.gpkg, population.tif (and parcels.gpkg) into ``folder``.

    Returns the raster's total, its total inside the county and the number of facilities.
    """
    folder.mkdir(parents=True, exist_ok=True)
    outline, pois = _read_osm(county, (*amenities, "school") if parcels else amenities)
    gpd.GeoDataFrame(
        {"code": [county.code], "name": [county.name]}, geometry=[outline], crs=4326
    ).to_file(folder / "admin.gpkg", layer="county")
    care = pois[pois["amenity"].isin(amenities)]
    # Hospitals are mapped as building outlines, clinics as points: the reader takes a point in
    # each outline.
    gpd.GeoDataFrame(
        {
            "osm_id": [f"{t}/{i}" for t, i in zip(care["osm_type"], care["id"], strict=True)],
            "name": care["name"].fillna("").to_numpy(),
            "amenity": care["amenity"].to_numpy(),
        },
        geometry=care.geometry.to_numpy(),
        crs=4326,
    ).to_file(folder / "facilities.gpkg", layer="health")
    if parcels:
        _school_parcels(pois[pois["amenity"] == "school"], outline, folder, seed)
    _admin_grid(outline, folder)
    totals = _population(county, outline, folder)
    return {**totals, "facilities": float(len(care))}


def _school_parcels(
    schools: gpd.GeoDataFrame, outline: shapely.Geometry, folder: Path, seed: int
) -> None:
    """Schools inside the county as candidate parcels, with seeded land areas (4,000-20,000 m²)."""
    points = schools.geometry.representative_point()
    inside = shapely.contains(outline, points.to_numpy())
    schools, points = schools[inside], points[inside]
    rng = np.random.default_rng(seed)
    gpd.GeoDataFrame(
        {
            "parcel": [f"P{k:03d}" for k in range(1, len(schools) + 1)],
            "name": schools["name"].fillna("").to_numpy(),
            "land_m2": rng.uniform(4_000, 20_000, len(schools)).round(-1),
            "land_use": "A6",
            "status": "储备",
        },
        geometry=points.to_numpy(),
        crs=4326,
    ).to_file(folder / "parcels.gpkg", layer="parcels")


def _admin_grid(outline: shapely.Geometry, folder: Path) -> None:
    """3 x 3 'townships' and 9 x 9 'villages' over the county, clipped to it."""
    w, s, e, n = outline.bounds
    for layer, k, code in (("townships", 3, "T"), ("villages", 9, "V")):
        xs, ys = np.linspace(w, e, k + 1), np.linspace(s, n, k + 1)
        cells = [
            (f"{code}{i}{j}", shapely.box(xs[j], ys[i], xs[j + 1], ys[i + 1]).intersection(outline))
            for i in range(k)
            for j in range(k)
        ]
        cells = [(c, g) for c, g in cells if g.area > 0]
        frame = gpd.GeoDataFrame(
            {"code": [c for c, _ in cells], "name": [c for c, _ in cells]},
            geometry=[g for _, g in cells],
            crs=4326,
        )
        if layer == "villages":
            frame["town"] = [f"T{int(c[1]) // 3}{int(c[2]) // 3}" for c in frame["code"]]
        frame.to_file(folder / "admin.gpkg", layer=layer)


def _population(county: County, outline: shapely.Geometry, folder: Path) -> dict[str, float]:
    """The population raster, over the county's bounds plus a margin of 12 cells."""
    import rasterio
    from affine import Affine

    cell = county.cell
    w, s, e, n = outline.bounds
    left, top = np.floor(w / cell - 12) * cell, np.ceil(n / cell + 12) * cell
    cols, rows = round((e - left) / cell) + 12, round((top - s) / cell) + 12
    lon = left + (np.arange(cols) + 0.5) * cell
    lat = top - (np.arange(rows) + 0.5) * cell
    glon, glat = np.meshgrid(lon, lat)
    pop = np.zeros_like(glon)
    for x, y, people in county.towns.values():
        d2 = ((glon - x) * 111_320 * np.cos(np.radians(y))) ** 2 + ((glat - y) * 110_574) ** 2
        bump = np.exp(-d2 / (2 * 1500.0**2))
        pop += people * bump / bump.sum()
    inside = shapely.contains_xy(outline, glon, glat)
    pop[inside] += county.background / inside.sum()
    with rasterio.open(
        folder / "population.tif",
        "w",
        driver="GTiff",
        height=rows,
        width=cols,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=Affine(cell, 0, left, 0, -cell, top),
        nodata=-99999.0,
        compress="deflate",
    ) as dst:
        dst.write(pop.astype(np.float32), 1)
    as_written = pop.astype(np.float32).astype(np.float64)
    return {"raster_total": float(as_written.sum()), "in_county": float(as_written[inside].sum())}


def admin_sources(path: str = "admin.gpkg") -> dict[str, dict[str, Any]]:
    """Scenario entries for an admin GeoPackage laid out as :func:`_admin_grid` writes it.

    Layers ``county``, ``townships`` and ``villages`` with columns ``code`` and ``name``; the
    villages also ``town`` (their township's code).
    """
    layer = {"path": path, "columns": {"code": "id", "name": "name"}}
    return {
        "boundary": {**layer, "layer": "county"},
        "townships": {**layer, "layer": "townships"},
        "villages": {
            "path": path,
            "layer": "villages",
            "columns": {"code": "id", "name": "name", "town": "township"},
        },
    }


def scenario(county: County, folder: Path, *, siting: bool = False) -> Path:
    """Write ``folder/<key>.yaml`` reading the files :func:`county_inputs` wrote; return its path."""
    admin = admin_sources()
    raw: dict[str, Any] = {
        "name": county.key,
        "title": f"{county.name}（OSM 路网，生成人口）/ {county.name} (OSM roads, generated population)",
        "area": {"boundary": admin["boundary"]},
        "data": {
            "network": {"path": str(county.pbf)},
            "population": {"raster": "population.tif", "older_share": 0.2},
            "townships": admin["townships"],
            "villages": admin["villages"],
            "facilities": {
                "path": "facilities.gpkg",
                "layer": "health",
                "columns": {"osm_id": "id", "name": "name", "amenity": "type"},
                "types": dict.fromkeys(CARE_AMENITIES, "village"),
            },
        },
    }
    if siting:
        raw["data"]["candidates"] = {
            "path": "parcels.gpkg",
            "layer": "parcels",
            "columns": {
                "parcel": "id",
                "name": "name",
                "land_m2": "land_m2",
                "land_use": "land_use",
                "status": "status",
            },
        }
        raw["siting"] = {
            "new_beds": 600,
            "beds_per_site": [100, 300],
            "land_quota_mu": 60,
            "time_limit_s": 20,
            "settlement_older": 20,
        }
    path = folder / f"{county.key}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
