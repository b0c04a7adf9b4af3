"""A kit's record of where each layer came from and how far to trust it: ``data/kit.json``.

Every layer ``carecircle init`` writes has a :class:`LayerRecord`: its files, source, licence,
date and trust, one of

- ``official``: the bureau's own layer (``--from-files``, ``--boundary``), used as given;
- ``draft``: taken from OpenStreetMap, to be checked against the bureau's (boundaries, roads,
  townships, the facility register, candidate sites);
- ``approximate``: modelled, not counted or surveyed (WorldPop grids, village points whose
  territories the run draws by Voronoi division).

``kit.json`` also holds the scenario entry of each layer, so a second ``init --from-files`` can
replace one layer and write the scenario again without touching the others. ``SOURCES.md`` is
the same table for people. :func:`kit_notes` finds the records of the files a scenario uses, so
``carecircle run`` can print them as a data-quality warning.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from carecircle.atomic import atomic_file
from carecircle.errors import DataError
from carecircle.scenario import Scenario

__all__ = ["KIT_FILE", "TRUST", "Kit", "LayerRecord", "kit_notes", "read_kit", "write_kit"]

KIT_FILE = "kit.json"
SOURCES_FILE = "SOURCES.md"
TRUST = ("official", "draft", "approximate")
FORMAT = 1
# The layers in the order a kit lists them.
LAYERS = ("boundary", "roads", "population", "townships", "villages", "facilities", "candidates")


@dataclass(frozen=True)
class LayerRecord:
    """One layer of a kit: its files (relative to the kit's data folder) and provenance."""

    layer: str
    files: tuple[str, ...]
    source: str
    licence: str
    date: str
    trust: str
    note: str = ""
    count: int | None = None
    spec: dict[str, Any] | None = None  # the scenario entry, paths relative to the data folder

    def __post_init__(self) -> None:
        if self.trust not in TRUST:
            raise ValueError(f"trust must be one of {TRUST}, got {self.trust!r}")

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["files"] = list(self.files)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LayerRecord:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["files"] = tuple(known.get("files", ()))
        return cls(**known)

    def with_spec(self, spec: dict[str, Any] | None) -> LayerRecord:
        return LayerRecord(**{**asdict(self), "files": self.files, "spec": spec})


@dataclass(frozen=True)
class Kit:
    """What ``kit.json`` holds: the area, the layers and who wrote it when."""

    area: dict[str, Any]
    layers: dict[str, LayerRecord]
    created: str
    carecircle: str
    extras: dict[str, Any] = field(default_factory=dict)  # the scenario's other settings

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "carecircle": self.carecircle,
            "created": self.created,
            "area": self.area,
            "extras": self.extras,
            "layers": {name: self.layers[name].as_dict() for name in _ordered(self.layers)},
        }


def _ordered(layers: Mapping[str, Any]) -> list[str]:
    return sorted(layers, key=lambda n: (LAYERS.index(n) if n in LAYERS else len(LAYERS), n))


def write_kit(data_dir: Path, kit: Kit) -> None:
    """``kit.json`` and ``SOURCES.md`` in ``data_dir``."""
    with atomic_file(data_dir / KIT_FILE) as tmp:
        tmp.write_text(
            json.dumps(kit.as_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    with atomic_file(data_dir / SOURCES_FILE) as tmp:
        tmp.write_text(sources_markdown(kit), encoding="utf-8")


def sources_markdown(kit: Kit) -> str:
    """The layers as a Markdown table (source, licence, date, trust, files, note)."""
    area = kit.area
    lines = [
        f"# 数据来源 / Sources: {area.get('name', '')}",
        "",
        f"Written by `carecircle init {area.get('query', '')}` (carecircle {kit.carecircle}) "
        f"on {kit.created}. Trust: **official** = the bureau's own layer; **draft** = from "
        "OpenStreetMap, check it against the bureau's; **approximate** = modelled, not counted.",
        f"Replace a draft with `carecircle init {command_query(area)} --out <this kit> "
        "--from-files LAYER=PATH`.",
        "",
        "| layer | trust | source | licence | date | files | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in _ordered(kit.layers):
        r = kit.layers[name]
        cells = [
            r.layer,
            f"**{r.trust}**",
            r.source,
            r.licence,
            r.date,
            ", ".join(r.files),
            r.note + (f" (n = {r.count:,})" if r.count is not None else ""),
        ]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def command_query(area: Mapping[str, Any]) -> str:
    """The kit's COUNTY as a command line would give it (quoted when it has to be)."""
    query = str(area.get("query") or area.get("code") or "")
    return f'"{query}"' if any(c in query for c in " ,，、") else query


def read_kit(data_dir: Path) -> Kit | None:
    """The kit recorded in ``data_dir``, None when there is none; a damaged one is bad input."""
    path = data_dir / KIT_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        layers = {name: LayerRecord.from_dict(r) for name, r in data["layers"].items()}
        return Kit(
            area=dict(data["area"]),
            layers=layers,
            created=str(data["created"]),
            carecircle=str(data["carecircle"]),
            extras=dict(data.get("extras", {})),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(
            f"{path}: 数据包记录无法读取 / the kit's record cannot be read ({type(exc).__name__}); "
            "run init into a new --out folder"
        ) from None


def _scenario_files(scenario: Scenario) -> dict[str, list[Path]]:
    """The files a run of ``scenario`` reads, by kit layer."""
    d = scenario.data
    pop = d.population
    files: dict[str, list[Path]] = {
        "boundary": [scenario.area.boundary.path],
        "roads": [d.network.path] if d.network.path is not None else [],
        "population": [p for p in (pop.raster, *pop.older_rasters) if p is not None],
    }
    layers: Iterable[tuple[str, Any]] = (
        ("townships", d.townships),
        ("villages", d.villages),
        ("facilities", d.facilities),
        ("candidates", d.candidates if scenario.siting is not None else None),
    )
    for name, spec in layers:
        if spec is not None:
            files[name] = [spec.path]
    return files


def kit_notes(scenario: Scenario) -> list[LayerRecord]:
    """The kit records (draft or approximate) of the files ``scenario`` reads, in kit order.

    A file belongs to a kit when a ``kit.json`` in its folder (or up to two folders above it)
    lists it; files of no kit give nothing.
    """
    kits: dict[Path, Kit | None] = {}
    found: dict[str, LayerRecord] = {}
    for layer, paths in _scenario_files(scenario).items():
        for path in paths:
            record = _record_of(Path(path), kits)
            if record is not None and record.trust != "official":
                found.setdefault(layer, record)
    return [found[name] for name in _ordered(found)]


def _record_of(path: Path, kits: dict[Path, Kit | None]) -> LayerRecord | None:
    target = path.resolve()
    for folder in list(target.parents)[:3]:
        if folder not in kits:
            try:
                kits[folder] = read_kit(folder)
            except DataError:
                kits[folder] = None
        kit = kits[folder]
        if kit is None:
            continue
        for record in kit.layers.values():
            if any((folder / f).resolve() == target for f in record.files):
                return record
    return None
