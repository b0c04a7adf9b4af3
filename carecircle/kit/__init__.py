"""``carecircle init COUNTY``: a runnable scenario and a data kit for a county from open data.

:func:`build_kit` writes ``OUT/scenario.yaml`` and ``OUT/data/`` (the layers, ``kit.json`` and
``SOURCES.md``), staged and moved into place at the end (:func:`carecircle.atomic.staged_dir`):

1. boundary: OSM through Nominatim (:mod:`.osm`), or the bureau's file;
2. roads: OSM through Overpass for the boundary and its buffer, or a local OSM file, as GraphML;
3. population: WorldPop 2020 windows over HTTP (:mod:`.worldpop`), calibrated to the county's
   2020 census (the whole county: 60+ bands scaled to its 60+ total; a part: the county's share);
4. townships, villages (points), the draft facility register and candidate sites from OSM;
5. the bureau's own layers (``from_files``, :mod:`.bureau`) in place of the drafts;
6. the record (:mod:`.manifest`) and the scenario (:mod:`.compose`), checked by loading it.

Downloads are cached (:mod:`.cache`), so a second init of the same area needs no network. Run
again over an existing kit with ``from_files`` only, init replaces those layers and keeps every
other one as it is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
import yaml
from shapely.geometry.base import BaseGeometry

from carecircle import guard
from carecircle._version import __version__
from carecircle.atomic import staged_dir
from carecircle.errors import DataError
from carecircle.kit import bureau, osm, worldpop
from carecircle.kit.area import Area, resolve_area
from carecircle.kit.cache import cache_root, osm_services
from carecircle.kit.compose import merged_document, scenario_text
from carecircle.kit.manifest import Kit, LayerRecord, read_kit, write_kit
from carecircle.scenario import InputLimits

__all__ = ["NOMINATIM_ENV", "OVERPASS_ENV", "KitRequest", "KitResult", "build_kit"]

NOMINATIM_ENV = "CARECIRCLE_NOMINATIM_URL"
OVERPASS_ENV = "CARECIRCLE_OVERPASS_URL"
SCENARIO_FILE = "scenario.yaml"
DATA_DIR = "data"
STEPS = 6

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class KitRequest:
    """What ``carecircle init`` was asked for."""

    county: str
    out_dir: Path | None = None
    boundary: Path | None = None
    osm_file: Path | None = None
    population: Path | None = None
    from_files: Mapping[str, Path] = field(default_factory=dict)
    census_county: str | None = None
    buffer_m: float = 2000.0
    nominatim_url: str | None = None
    overpass_url: str | None = None
    worldpop_url: str | None = None
    name: str | None = None
    cache: bool | Path = True


@dataclass(frozen=True)
class KitResult:
    """What was written: the scenario, the kit record and the population figures."""

    out_dir: Path
    scenario: Path
    kit: Kit
    population: worldpop.Population | None
    updated: tuple[str, ...]  # the layers this init wrote (all of them unless updating)


def _today() -> str:
    return dt.date.today().isoformat()


def _cache_folder(cache: bool | Path) -> Path | None:
    return cache_root() if cache is True else (Path(cache) if cache else None)


def build_kit(request: KitRequest, progress: Progress = lambda _i, _n, _m: None) -> KitResult:
    """Write the kit and scenario of ``request`` (see the module's docstring)."""
    files = dict(request.from_files)
    if request.boundary is not None:
        if "boundary" in files:
            raise DataError(
                "--boundary 与 --from-files boundary= 重复 / --boundary and --from-files "
                "boundary= both given; give one"
            )
        files["boundary"] = request.boundary
    named: dict[str, Path | None] = {f"--from-files {k}": v for k, v in files.items()}
    named.update(
        {"--out": request.out_dir, "--osm": request.osm_file, "--population": request.population}
    )
    for option, given in named.items():
        _printable(option, given)
    _printable("--name", request.name)
    for layer, path in files.items():
        if layer not in bureau.LAYERS:
            raise DataError(
                f"--from-files {layer}={path}: 未知图层 / unknown layer {layer!r}; give one of "
                f"{', '.join(bureau.LAYERS)}"
            )
        if not Path(path).is_file():
            raise DataError(
                f"--from-files {layer}={path}: 文件不存在 / file not found; check the path"
            )
        guard.data_file(Path(path), f"--from-files {layer}")  # before anything is copied
        size_mb = Path(path).stat().st_size / 2**20
        if size_mb > InputLimits().file_mb:
            raise DataError(
                f"--from-files {layer}={path}: 文件过大 / the file is {size_mb:,.0f} MB, over the "
                f"{InputLimits().file_mb:g} MB a layer may be; give the county's part of it"
            )
    if request.osm_file is not None:
        osm.check_osm_file(request.osm_file)
    if request.population is not None and not request.population.is_file():
        raise DataError(
            f"--population {request.population}: 文件不存在 / file not found; check the path"
        )
    if not 0 <= request.buffer_m <= 50_000:
        raise DataError(
            f"--buffer-m {request.buffer_m:g}: 须在 0–50000 之间 / must be 0-50,000 metres"
        )
    area = resolve_area(request.county, request.census_county)
    name = request.name or _default_name(area)
    out = Path(request.out_dir) if request.out_dir is not None else Path("kits") / name
    existing = read_kit(out / DATA_DIR)
    if existing is None and out.is_dir() and any(out.iterdir()):
        raise DataError(
            f"--out {out}: 文件夹非空且不是数据包 / the folder is not empty and holds no kit "
            "(data/kit.json); init would replace its data/ and scenario.yaml: give a new or "
            "empty folder"
        )
    if existing is not None and (
        existing.area.get("code") != area.county.code
        or bool(existing.area.get("whole_county")) != area.whole_county
        or (not area.whole_county and existing.area.get("name") != area.name)
    ):
        raise DataError(
            f"{out}: 已有其他地区的数据包 / this folder holds the kit of "
            f"{existing.area.get('name')} ({existing.area.get('code')}), not {area.name} "
            f"({area.county.code}); give another --out"
        )
    update = (
        existing is not None
        and bool(request.from_files)
        and request.boundary is None
        and request.osm_file is None
        and request.population is None
    )
    if update:
        assert existing is not None
        return _update(existing, out, files, progress)
    kept = existing.layers.get("boundary") if existing is not None else None
    if kept is not None and kept.trust == "official" and kept.spec and "boundary" not in files:
        files["boundary"] = out / DATA_DIR / kept.spec["path"]  # the bureau's outline, kept
    return _build(request, area, name, out, files, existing, progress)


def _printable(option: str, value: object) -> None:
    """File names and names go into scenario.yaml and onto the terminal: a control character or
    a line separator in one (U+2028, NEL) could end a YAML line there, so it is refused."""
    if value is None:
        return
    text = str(value)
    bad = next((ch for ch in text if not ch.isprintable()), None)
    if bad is not None:
        raise DataError(
            f"{option}: 名称含控制字符 / the name holds a control or line-break character "
            f"(U+{ord(bad):04X}); rename the file or folder"
        )


def _default_name(area: Area) -> str:
    """``cn330382`` for a county; a part gets a short hash of its name, so two parts of one county
    write their maps to different folders."""
    if area.whole_county:
        return f"cn{area.county.code}"
    return f"cn{area.county.code}-part-{hashlib.sha1(area.name.encode()).hexdigest()[:6]}"


def _area_record(area: Area, info: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "query": area.query,
        "name": area.name,
        "code": area.county.code,
        "county": area.county.county,
        "whole_county": area.whole_county,
    }
    if info:
        out["osm"] = {k: info[k] for k in ("osm_type", "osm_id", "display_name") if k in info}
    return out


def _update(kit: Kit, out: Path, files: Mapping[str, Path], progress: Progress) -> KitResult:
    """Replace the layers of ``files`` in the kit at ``out``; keep every other one."""
    if "boundary" in files:
        raise DataError(
            "--from-files boundary=: 边界决定路网与人口 / the boundary decides the roads and the "
            f"population; run init into a new folder with --boundary {files['boundary']} instead"
        )
    layers = dict(kit.layers)
    with staged_dir(out) as stage:
        data = stage / DATA_DIR
        shutil.copytree(out / DATA_DIR, data)
        for i, (layer, path) in enumerate(files.items(), start=1):
            progress(i, len(files) + 1, f"部门数据 / the bureau's {layer}: {path}")
            layers[layer] = bureau.import_layer(layer, Path(path), data)[0]
        progress(len(files) + 1, len(files) + 1, "写出 / writing the scenario and the kit")
        kit = Kit(kit.area, layers, _today(), __version__, kit.extras)
        _write(stage, kit, out / SCENARIO_FILE)
    return KitResult(out, out / SCENARIO_FILE, kit, None, tuple(files))


def _build(
    request: KitRequest,
    area: Area,
    name: str,
    out: Path,
    files: Mapping[str, Path],
    existing: Kit | None,
    progress: Progress,
) -> KitResult:
    folder = _cache_folder(request.cache)
    layers: dict[str, LayerRecord] = {}
    with staged_dir(out) as stage:
        data = stage / DATA_DIR
        data.mkdir()
        with osm_services(
            nominatim_url=request.nominatim_url, overpass_url=request.overpass_url, folder=folder
        ):
            progress(1, STEPS, f"行政边界 / boundary: {area.geocode}")
            boundary, info = _boundary(area, files.get("boundary"), data, layers)
            if info.get("name") and not area.whole_county:
                area = Area(area.query, area.county, False, str(info["name"]), area.geocode)
            buffered = _buffered(boundary, request.buffer_m)
            where = request.osm_file or f"Overpass {request.overpass_url or 'overpass-api.de'}"
            progress(2, STEPS, f"路网 / roads (+{request.buffer_m:g} m): {where}")
            layers["roads"] = _roads(buffered, request, data)
            progress(3, STEPS, "人口 / population: WorldPop 2020, 2020 census")
            population = worldpop.build_population(
                boundary,
                county=area.county,
                whole_county=area.whole_county,
                data_dir=data,
                base_url=request.worldpop_url,
                local=request.population,
                cache_folder=folder,
                progress=lambda m: progress(3, STEPS, m),
            )
            layers["population"] = population.record.with_spec(population.spec)
            progress(
                4, STEPS, "乡镇、村、设施、候选点 / townships, villages, facilities, sites: OSM"
            )
            _drafts(boundary, area, request, data, layers)
        progress(5, STEPS, "部门数据 / the bureau's layers")
        for layer, path in files.items():
            if layer != "boundary":
                layers[layer] = bureau.import_layer(layer, Path(path), data)[0]
        if existing is not None:  # a rerun keeps the bureau's layers given before
            _carry_official(existing, out / DATA_DIR, data, layers, set(files))
        progress(6, STEPS, "写出 / writing the scenario and the kit")
        extras = {
            "name": name,
            "title": f"{area.name}（{area.county.county}）15分钟养老服务圈 / carecircle init kit",
            "buffer_m": request.buffer_m,
        }
        kit = Kit(_area_record(area, info), layers, _today(), __version__, extras)
        _write(stage, kit, out / SCENARIO_FILE if existing is not None else None)
    return KitResult(out, out / SCENARIO_FILE, kit, population, tuple(kit.layers))


def _write(stage: Path, kit: Kit, previous: Path | None = None) -> None:
    """kit.json, SOURCES.md and scenario.yaml into the stage, the scenario checked by loading it.
    A rerun over a kit keeps the planner's edits to its scenario (all but the layers' files)."""
    from carecircle.scenario import load_scenario
    from carecircle.sources.layers import check_columns

    write_kit(stage / DATA_DIR, kit)
    scenario = stage / SCENARIO_FILE
    document = None
    if previous is not None and previous.is_file():
        edited = yaml.safe_load(previous.read_text(encoding="utf-8"))
        if isinstance(edited, dict):
            document = merged_document(kit, edited)
    scenario.write_text(scenario_text(kit, document), encoding="utf-8")
    check_columns(load_scenario(scenario))


def _carry_official(
    existing: Kit, old_data: Path, data: Path, layers: dict[str, LayerRecord], given: set[str]
) -> None:
    for layer, record in existing.layers.items():
        if (
            record.trust != "official"
            or layer in given
            or layer in ("boundary", "roads", "population")
        ):
            continue
        for rel in record.files:
            target = data / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(old_data / rel, target)
        layers[layer] = record


def _boundary(
    area: Area, file: Path | None, data: Path, layers: dict[str, LayerRecord]
) -> tuple[BaseGeometry, dict[str, Any]]:
    if file is not None:
        record, frame = bureau.import_layer("boundary", Path(file), data)
        layers["boundary"] = record
        geometry = shapely.make_valid(shapely.union_all(frame.geometry.to_numpy()))
        return geometry, {}
    geometry, info = osm.geocode_boundary(area.geocode)
    ref = f"{str(info.get('osm_type', ''))[:1]}{info.get('osm_id', '')}"
    code = area.county.code if area.whole_county else f"osm-{ref}"
    frame = gpd.GeoDataFrame(
        {"id": [code], "name": [str(info.get("name") or area.name)]},
        geometry=[geometry],
        crs="EPSG:4326",
    )
    frame.to_file(data / "boundary.geojson", driver="GeoJSON")
    layers["boundary"] = LayerRecord(
        layer="boundary",
        files=("boundary.geojson",),
        source=f"OpenStreetMap {info.get('osm_type', '')} {info.get('osm_id', '')} via Nominatim "
        f"({info.get('display_name', area.geocode)})",
        licence=osm.OSM_LICENCE,
        date=f"retrieved {_today()}",
        trust="draft",
        note="OSM's outline, not the official 行政区划 boundary; replace it: init --boundary FILE",
        count=1,
        spec={"path": "boundary.geojson"},
    )
    return geometry, info


def _buffered(boundary: BaseGeometry, metres: float) -> BaseGeometry:
    series = gpd.GeoSeries([boundary], crs="EPSG:4326")
    crs = series.estimate_utm_crs()
    return series.to_crs(crs).buffer(metres).to_crs("EPSG:4326").iloc[0]


def _roads(area: BaseGeometry, request: KitRequest, data: Path) -> LayerRecord:
    G = osm.roads_graph(area, osm_file=request.osm_file)
    segments = osm.save_roads(G, data / "roads.graphml")
    if request.osm_file is not None:
        source = f"OpenStreetMap file {request.osm_file.name}, clipped to the area and its buffer"
    else:
        source = "OpenStreetMap via Overpass (osmnx, every highway way, unsimplified)"
    return LayerRecord(
        layer="roads",
        files=("roads.graphml",),
        source=source,
        licence=osm.OSM_LICENCE,
        date=f"retrieved {_today()}",
        trust="draft",
        note=f"area + {request.buffer_m:g} m; village lanes OSM lacks leave residents off the network",
        count=segments,
        spec={"path": "roads.graphml"},
    )


def _drafts(
    boundary: BaseGeometry,
    area: Area,
    request: KitRequest,
    data: Path,
    layers: dict[str, LayerRecord],
) -> None:
    """Townships, villages, the draft register and candidate sites from OSM."""
    if request.osm_file is not None:
        features = osm.features_from_file(request.osm_file, boundary)
    else:
        features = osm.download_features(boundary)
    retrieved = f"retrieved {_today()}"
    via = f"from {request.osm_file.name}" if request.osm_file is not None else "via Overpass"
    townships, report = osm.townships_from(features, boundary, area_name=area.name)
    if not len(townships) and not area.whole_county:
        # A part of a county with no OSM township: the part itself, named, is the one township
        # (the run would otherwise name it after the census county).
        townships = gpd.GeoDataFrame(
            {"id": ["area"], "name": [area.name], "kind": [osm._kind(area.name)], "osm_id": [""]},
            geometry=[boundary],
            crs="EPSG:4326",
        )
        report["from_osm"] = 0
    _write_layer(townships, data / "townships.geojson")
    layers["townships"] = LayerRecord(
        layer="townships",
        files=("townships.geojson",),
        source=f"OpenStreetMap admin_level=8 relations (乡镇/街道) {via}",
        licence=osm.OSM_LICENCE,
        date=retrieved,
        trust="draft",
        note=(
            f"{report['from_osm']} from OSM, clipped to the area"
            + (
                f"; {report['uncovered_share'] * 100:.0f} % of the area has none"
                if report["from_osm"] and report["uncovered_share"] > 0.01
                else ""
            )
            + ("; none in OSM" if not report["from_osm"] else "")
        ),
        count=len(townships),
        spec={"path": "townships.geojson"} if len(townships) else None,
    )
    villages = osm.villages_from(features, boundary, set(townships["name"]))
    _write_layer(villages, data / "villages.geojson")
    layers["villages"] = LayerRecord(
        layer="villages",
        files=("villages.geojson",),
        source=f"OpenStreetMap place=village|hamlet|town|quarter|neighbourhood points {via}",
        licence=osm.OSM_LICENCE,
        date=retrieved,
        trust="approximate",
        note="points only: the run draws each village's territory (Voronoi inside its township)",
        count=len(villages),
        spec={"path": "villages.geojson"} if len(villages) else None,
    )
    register = osm.facilities_from(features, boundary)
    register.to_csv(data / "facilities_draft.csv", index=False, encoding="utf-8-sig")
    layers["facilities"] = LayerRecord(
        layer="facilities",
        files=("facilities_draft.csv",),
        source="OpenStreetMap amenity=nursing_home|social_facility|community_centre, "
        f"social_facility=* {via}",
        licence=osm.OSM_LICENCE,
        date=retrieved,
        trust="draft",
        note="a draft register to check against the 民政 register (no beds or floor areas)"
        + ("; none in OSM, so the run counts no centre" if not len(register) else ""),
        count=len(register),
        spec=(
            {
                "path": "facilities_draft.csv",
                "x": "lon",
                "y": "lat",
                "crs": "EPSG:4326",
                "types": {osm.COMMUNITY_CENTRE: "ignore"},
            }
            if len(register)
            else None
        ),
    )
    candidates = osm.candidates_from(features, boundary)
    _write_layer(candidates, data / "candidates_draft.geojson")
    layers["candidates"] = LayerRecord(
        layer="candidates",
        files=("candidates_draft.geojson",),
        source=f"OpenStreetMap schools, clinics, townhalls, government and village offices {via}",
        licence=osm.OSM_LICENCE,
        date=retrieved,
        trust="draft",
        note="idle-asset proxies, used only when the scenario asks for sites (siting:)",
        count=len(candidates),
        spec={"path": "candidates_draft.geojson"} if len(candidates) else None,
    )


def _write_layer(frame: gpd.GeoDataFrame, path: Path) -> None:
    """A GeoJSON layer (an empty one keeps its columns)."""
    frame.to_file(path, driver="GeoJSON")
