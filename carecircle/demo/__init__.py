"""The generated demo county: 青溪县 (Qingxi County), fictional.

Every layer is invented by this package from a seed, so the project can be tried, tested and
benchmarked without downloading anything, and so nobody mistakes the demo for a real county.
Each layer is written in the format real data arrives in (OSM XML, a WorldPop-style GeoTIFF,
三调-style GeoPackages, census and civil-affairs CSV tables) so the project's real-data readers
read it back unchanged.

How the county is built, in order (each stage draws from its own random generator, derived from the
seed and the stage number, so changing one stage does not reshuffle the others):

1. an irregular outline (a perturbed superellipse) in the local metric CRS (EPSG:4549);
2. a main river flowing away from the mountain side, tributaries, and a river island (江心洲)
   between the main channel and a side channel;
3. hills, mostly on the mountain side, kept clear of rivers and of each other;
4. a routing lattice over the county without hills, with river-crossing edges marked;
5. township seats (county town on the river, 镇 seats spread out, 乡 seats in the mountains) and a
   Voronoi partition; villages by weighted k-means of lattice nodes and Voronoi within townships,
   rural ones with a few outlying hamlets (自然村);
6. roads: the motorway, provincial, county, township and village roads are shortest paths on the
   lattice (so they detour around hills and share bridges), smoothed; street grids in towns; lanes
   in villages; farm tracks and field paths over the countryside; hill footpaths; island paths.
   Lines are cut at river banks and hill feet except bridges, noded at crossings and near-touches,
   densified to <= 95 m between nodes and pruned to one walkable component plus the island;
7. a population raster concentrated on towns and villages, census totals summed from it, and the
   civil-affairs facility register and candidate parcels, with planted planning problems.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

# generate_demo calls every stage through this module's names, so a test can monkeypatch one
# (``demo._write_parcels``) or call it alone (``demo._plan_layout``).
from carecircle.demo.facilities import _facilities
from carecircle.demo.network import _build_network
from carecircle.demo.parcels import _parcels
from carecircle.demo.population import _census, _population_raster
from carecircle.demo.settlements import _plan_layout
from carecircle.demo.sizes import (
    CENSUS_COLUMNS,
    FACILITY_COLUMNS,
    SIZES,
    DemoSize,
    DemoSizeName,
    logger,
)
from carecircle.demo.sizes import FACILITY_TYPES as FACILITY_TYPES  # re-exported
from carecircle.demo.sizes import FILES as FILES  # re-exported
from carecircle.demo.write import (
    _manifest,
    _publish,
    _staging_dir,
    _write_admin,
    _write_csv,
    _write_osm,
    _write_parcels,
    _write_raster,
)

__all__ = ["SIZES", "DemoSize", "DemoSizeName", "generate_demo"]


def generate_demo(
    out_dir: str | Path,
    *,
    size: DemoSizeName = "small",
    seed: int = 2022,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write the demo county into out_dir (created if needed) and return the manifest dict (also written as manifest.json).

    Parameters
    ----------
    out_dir
        Directory to write into. Files are built in a hidden sibling directory and moved in one by
        one when all are complete, so an interrupted run never leaves a half-written dataset.
    size
        ``"small"`` (about 50 km², 3 townships) or ``"county"`` (about 1,500 km², 11
        townships); see :data:`SIZES`.
    seed
        Seed of every random draw. The same size and seed give byte-identical files.
    progress
        Called with a short Chinese + English message at the start of each stage.

    Returns
    -------
    dict
        The manifest: name, size, seed, CRS of each file, bounding box, counts, population totals,
        the planted planning problems and the file list.

    Raises
    ------
    ValueError
        If ``size`` is not one of the keys of :data:`SIZES`.
    """
    if size not in SIZES:
        raise ValueError(
            f"未知的示例规模 / unknown demo size: {size!r}; choose one of {', '.join(SIZES)}"
        )
    params = SIZES[size]
    say = _Reporter(progress)
    layout = _plan_layout(params, seed, say)
    say("生成道路网 / generating roads")
    network = _build_network(layout, seed, say)
    say("生成人口栅格 / generating population raster")
    raster = _population_raster(layout, seed)
    say("统计乡镇人口 / tabulating township population")
    census = _census(layout, raster, seed)
    say("生成养老设施 / generating care facilities")
    facilities = _facilities(layout, network, seed)
    say("生成候选地块 / generating candidate parcels")
    parcels = _parcels(layout, network, seed)
    out = Path(out_dir)
    with _staging_dir(out) as tmp:
        say("写出文件 / writing files")
        _write_osm(tmp / "roads.osm", network, layout)
        _write_raster(tmp / "population.tif", raster)
        _write_csv(tmp / "township_population.csv", CENSUS_COLUMNS, census.rows)
        _write_admin(tmp / "admin.gpkg", layout)
        _write_csv(tmp / "facilities.csv", FACILITY_COLUMNS, [f.row() for f in facilities])
        _write_parcels(tmp / "parcels.gpkg", parcels)
        manifest = _manifest(size, seed, layout, network, raster, census, facilities, parcels)
        text = json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        (tmp / "manifest.json").write_text(text, encoding="utf-8")
        _publish(tmp, out)
    say("完成 / done")
    return manifest


class _Reporter:
    """Send stage messages to the caller's callback and to the log."""

    def __init__(self, progress: Callable[[str], None] | None) -> None:
        self._progress = progress

    def __call__(self, message: str) -> None:
        logger.info("%s", message)
        if self._progress is not None:
            self._progress(message)
