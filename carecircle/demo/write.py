"""Writers of the demo files (OSM, GeoTIFF, CSV, GeoPackage) and the manifest."""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np

from carecircle.demo.facilities import _Facility
from carecircle.demo.geometry import _geom_to_lonlat
from carecircle.demo.network import _Network
from carecircle.demo.parcels import _Parcel
from carecircle.demo.population import _Census, _Raster
from carecircle.demo.settlements import _Layout
from carecircle.demo.sizes import (
    COUNTY_CODE,
    COUNTY_NAME,
    FILES,
    FIXED_GPKG_DATE,
    GENERATOR_VERSION,
    GEO_CRS,
    LOCAL_CRS,
    NODATA,
    PIXEL_DEG,
    WGS84,
)


def _write_osm(path: Path, net: _Network, layout: _Layout) -> None:
    """OSM XML 0.6 built as one string: nodes then ways, ids ascending, no history metadata."""
    ll = net.lonlat
    lon0, lat0 = ll.min(axis=0)
    lon1, lat1 = ll.max(axis=0)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<osm version="0.6" generator="carecircle demo">',
        f'  <bounds minlat="{lat0:.7f}" minlon="{lon0:.7f}" '
        f'maxlat="{lat1:.7f}" maxlon="{lon1:.7f}"/>',
    ]
    parts += [
        f'  <node id="{i}" lat="{lat:.7f}" lon="{lon:.7f}"/>'
        for i, (lon, lat) in enumerate(ll.tolist(), start=1)
    ]
    for k, (nodes, tags) in enumerate(net.ways, start=1):
        parts.append(f'  <way id="{k}">')
        parts += [f'    <nd ref="{n}"/>' for n in (nodes + 1).tolist()]
        parts += [f"    <tag k={quoteattr(key)} v={quoteattr(val)}/>" for key, val in tags.items()]
        parts.append("  </way>")
    parts.append("</osm>\n")
    path.write_text("\n".join(parts), encoding="utf-8")


def _write_raster(path: Path, raster: _Raster) -> None:
    """WorldPop-style GeoTIFF: EPSG:4326, 3 arc-seconds, float32, nodata -99999."""
    import rasterio
    from rasterio.transform import Affine

    rows, cols = raster.values.shape
    transform = Affine(
        PIXEL_DEG, 0.0, raster.col0 * PIXEL_DEG, 0.0, -PIXEL_DEG, raster.row0 * PIXEL_DEG
    )
    profile = {
        "driver": "GTiff",
        "width": cols,
        "height": rows,
        "count": 1,
        "dtype": "float32",
        "crs": WGS84,
        "transform": transform,
        "nodata": NODATA,
        "compress": "deflate",
        "predictor": 3,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(raster.values, 1)
        dst.update_tags(
            SOURCE="carecircle demo: fictional Qingxi County", UNITS="residents per pixel"
        )


def _write_csv(path: Path, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """UTF-8 with BOM, as Chinese government tables are usually exported (opens in Excel)."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)


@contextmanager
def _fixed_gpkg_date() -> Iterator[None]:
    """Pin GDAL's timestamp in gpkg_contents so GeoPackages are byte-identical run to run."""
    import pyogrio

    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_GPKG_DATE})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})


def _write_layers(
    path: Path, layers: Sequence[tuple[str, dict[str, list[Any]], list[Any]]]
) -> None:
    import geopandas as gpd
    import pyogrio

    with _fixed_gpkg_date():
        for name, columns, geoms in layers:
            frame = gpd.GeoDataFrame(columns, geometry=geoms, crs=GEO_CRS)
            pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG")


def _write_admin(path: Path, layout: _Layout) -> None:
    """三调-style admin layers: county, townships, villages (EPSG:4490)."""
    ts, vs = layout.townships, layout.villages
    county: dict[str, list[Any]] = {"XZQDM": [COUNTY_CODE], "XZQMC": [COUNTY_NAME]}
    towns: dict[str, list[Any]] = {
        "XZQDM": [t.code for t in ts],
        "XZQMC": [t.name for t in ts],
        "XZQLX": [t.kind for t in ts],
    }
    villages: dict[str, list[Any]] = {
        "XZQDM": [v.code for v in vs],
        "XZQMC": [v.name for v in vs],
        "SSXZDM": [ts[v.township].code for v in vs],
        "CJLX": [v.kind for v in vs],
    }
    _write_layers(
        path,
        [
            ("county", county, [_geom_to_lonlat(layout.terrain.outline)]),
            ("townships", towns, [t.lonlat for t in ts]),
            ("villages", villages, [v.lonlat for v in vs]),
        ],
    )


def _write_parcels(path: Path, parcels: list[_Parcel]) -> None:
    columns: dict[str, list[Any]] = {
        "DKBH": [p.dkbh for p in parcels],
        "DKMC": [p.dkmc for p in parcels],
        "YDMJ": [p.ydmj for p in parcels],
        "YDDM": [p.yddm for p in parcels],
        "XZ": [p.xz for p in parcels],
    }
    _write_layers(path, [("parcels", columns, [p.lonlat for p in parcels])])


@contextmanager
def _staging_dir(out: Path) -> Iterator[Path]:
    """A hidden sibling directory to build the files in; removed whatever happens."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _publish(tmp: Path, out: Path) -> None:
    """Move the finished files in, the manifest last, so its presence means the set is complete."""
    out.mkdir(parents=True, exist_ok=True)
    for name in sorted(FILES, key=lambda n: n == "manifest.json"):
        os.replace(tmp / name, out / name)


# --------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------


def _manifest(
    size: str,
    seed: int,
    layout: _Layout,
    net: _Network,
    raster: _Raster,
    census: _Census,
    facilities: list[_Facility],
    parcels: list[_Parcel],
) -> dict[str, Any]:
    ter = layout.terrain
    lon0, lat0, lon1, lat1 = _geom_to_lonlat(ter.outline).bounds
    return {
        "name": COUNTY_NAME,
        "name_en": "Qingxi County",
        "fictional": True,
        "note": "虚构县，由 carecircle 随机生成，非真实行政区 / "
        "fictional county generated by carecircle, "
        "not a real place",
        "county_code": COUNTY_CODE,
        "size": size,
        "seed": seed,
        "generator": "carecircle.demo",
        "generator_version": GENERATOR_VERSION,
        "crs": {
            "admin.gpkg": GEO_CRS,
            "parcels.gpkg": GEO_CRS,
            "roads.osm": WGS84,
            "population.tif": WGS84,
            "facilities.csv": WGS84,
            "township_population.csv": None,
        },
        "local_crs": LOCAL_CRS,
        "bbox": [round(lon0, 6), round(lat0, 6), round(lon1, 6), round(lat1, 6)],
        "area_km2": round(ter.outline.area / 1e6, 2),
        "counts": _counts(layout, net, facilities, parcels),
        "population": {
            "raster_sum": round(float(raster.values.astype(np.float64).sum()), 1),
            "raster_sum_in_county": round(raster.in_county, 1),
            "census_resident": census.resident,
            "census_60_plus": census.age60,
            "census_65_plus": census.age65,
        },
        "planted": _planted(layout, net, facilities),
        "files": sorted(FILES),
    }


def _tally(values: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))


def _counts(
    layout: _Layout, net: _Network, facilities: list[_Facility], parcels: list[_Parcel]
) -> dict[str, Any]:
    highways = [t["highway"] for _, t in net.ways if "highway" in t]
    return {
        "townships": len(layout.townships),
        "townships_by_type": _tally([t.kind for t in layout.townships]),
        "villages": len(layout.villages),
        "villages_by_type": _tally([v.kind for v in layout.villages]),
        "facilities": len(facilities),
        "facilities_by_type": _tally([f.kind for f in facilities]),
        "parcels": len(parcels),
        "osm_nodes": len(net.xy),
        "osm_ways": len(net.ways),
        "osm_ways_by_highway": _tally(highways),
        "osm_waterways": sum("waterway" in t for _, t in net.ways),
        "walk_nodes": int(net.walk.sum()),
        "walk_edges": net.walk_edges,
        "island_nodes": int(net.island.sum()),
        "rivers": len(layout.terrain.rivers),
        "bridges": sum(t.get("bridge") == "yes" for _, t in net.ways),
        "hills": len(layout.terrain.hills),
    }


def _planted(layout: _Layout, net: _Network, facilities: list[_Facility]) -> dict[str, Any]:
    """The planning problems built in on purpose, so tests and demos can check they are found."""
    centre_kinds = {"村级居家养老服务照料中心", "社区居家养老服务照料中心"}
    served = {f.village for f in facilities if f.kind in centre_kinds}
    with_town_centre = {
        f.name.removesuffix("居家养老服务中心")
        for f in facilities
        if f.kind == "乡镇（街道）居家养老服务中心"
    }
    return {
        "villages_without_centre": sorted(v.code for v in layout.villages if v.code not in served),
        "small_centres": sorted(
            f.fid for f in facilities if f.kind in centre_kinds and f.area < 150
        ),
        "far_edge_centres": sorted(f.fid for f in facilities if f.note == "far_edge_centre"),
        "townships_without_centre": sorted(
            t.code for t in layout.townships if t.name not in with_town_centre
        ),
        "small_jingloyuan": sorted(f.fid for f in facilities if f.kind == "敬老院" and f.beds < 75),
        "island": {"nodes": int(net.island.sum()), "name": "江心洲"},
        "hills": [
            {"name": n, "area_km2": round(h.area / 1e6, 2)}
            for n, h in zip(layout.terrain.hill_names, layout.terrain.hills, strict=True)
        ],
        "rivers": [r.name for r in layout.terrain.rivers],
    }
