"""The README's table of scenario keys, generated from the pydantic models of carecircle.scenario.

Every key a scenario file may hold, as a dotted path (``data.population.older_rasters``), with
whether it is required, its type, its default, an example and its meaning (the field's docstring).
Usage::

    python scripts/scenario_keys.py            # print the table
    python scripts/scenario_keys.py --write    # put it into README.md between the markers
    python scripts/scenario_keys.py --check    # exit 1 when README.md's table is out of date

Examples come from the field's ``examples`` if it has any, else from the first of
``scenarios/demo.yaml``, ``scenarios/*.yaml`` that gives the key, else from :data:`EXAMPLES`.
Which keys the models' validators require one of cannot be read from the models: :data:`ONE_OF`
says it, and :data:`CONDITIONS` the other conditions of the validators and the loader.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from carecircle import scenario as sc

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SCENARIOS = ROOT / "scenarios"
START, END = "<!-- scenario-keys:start -->", "<!-- scenario-keys:end -->"

# Set by the loader, never by a scenario file.
SKIP: frozenset[tuple[str, str]] = frozenset({("Scenario", "source_file")})

# Keys of which the model validators require exactly one, by (model, field): the fields
# themselves are all optional.
_POPULATION = "one of `raster`, `older_rasters`, `points` (`raster` may join `older_rasters`)"
_SHARES = "with `raster` alone, one of `older_table`, `older_share`, `census_county`"
_POINTS_SHARES = "; with `points` lacking `older`, one of `older_table`, `older_share`"
ONE_OF: Mapping[tuple[str, str], str] = {
    ("NetworkSource", "path"): "one of `path`, `place`, `bbox`",
    ("NetworkSource", "place"): "one of `path`, `place`, `bbox`",
    ("NetworkSource", "bbox"): "one of `path`, `place`, `bbox`",
    ("PopulationSource", "raster"): _POPULATION,
    ("PopulationSource", "older_rasters"): _POPULATION,
    ("PopulationSource", "points"): _POPULATION,
    ("PopulationSource", "older_table"): _SHARES + _POINTS_SHARES,
    ("PopulationSource", "older_share"): _SHARES + _POINTS_SHARES,
    ("PopulationSource", "census_county"): _SHARES + "; optional with `older_rasters`",
    ("Zone", "townships"): "one of `townships`, `band`",
    ("Zone", "band"): "one of `townships`, `band`",
    (
        "Demand",
        "older_growth_rate",
    ): "with `horizon_year`, one of `older_growth_rate`, `census_2010`",
    ("Demand", "census_2010"): "with `horizon_year`, one of `older_growth_rate`, `census_2010`",
}
# Other conditions of the validators and the loader.
CONDITIONS: Mapping[tuple[str, str], str] = {
    ("Scenario", "name"): "optional in a file (its name stands in)",
    ("LayerFormat", "x"): "optional, with `y`",
    ("LayerFormat", "y"): "optional, with `x`",
    ("MapOptions", "tianditu_key"): "optional; a `tianditu` basemap needs it or `$TIANDITU_KEY`",
    ("Siting", "budget_yuan"): "optional; needs `cost_per_bed_yuan` or `cost_per_site_yuan`",
    ("Phase", "budget_yuan"): "optional; needs a `cost_per_…_yuan` of `siting`",
    ("Demand", "census_2020"): "optional, with `census_2010`",
    ("Demand", "census_county"): "optional, with `census_2010`",
    ("Demand", "census_2010_code"): "optional, with `census_2010`",
}

# Names standing for any key of a mapping of models, and the one the examples use.
PLACEHOLDERS: Mapping[str, str] = {"tiers": "<tier>", "siting.zones": "<zone>"}
PLACEHOLDER_EXAMPLES: Mapping[str, str] = {"<tier>": "village", "<zone>": "south"}

# Examples of the keys no shipped scenario gives; paths are relative to scenarios/.
EXAMPLES: Mapping[str, Any] = {
    "tiers.<tier>.services": ["village", "mutual_aid"],
    "siting.beds_target": "at_least",
    "siting.max_new_centres": 20,
    "siting.centre_budget_yuan": 6000000,
    "siting.min_older_per_centre": 30,
    "area.boundary.x": "经度",
    "area.boundary.y": "纬度",
    "area.boundary.encoding": "gbk",
    "area.boundary.coords": "gcj02",
    "area.boundary.crs": "EPSG:4490",
    "data.network.place": "闽清县, 福州市, 福建省, 中国",
    "data.network.bbox": [118.6, 26.1, 119.0, 26.4],
    "data.population.older_rasters": [
        "../data/worldpop/chn_f_60_2020.tif",
        "../data/worldpop/chn_m_60_2020.tif",
    ],
    "data.population.older_table.sheet": "乡镇街道",
    "data.population.older_share": 0.21,
    "data.population.points": {
        "path": "../data/villages.csv",
        "x": "经度",
        "y": "纬度",
        "columns": {"村名": "name", "60岁及以上人口": "older"},
    },
    "data.population.points.path": "../data/villages.csv",
    "data.population.points.layer": "村人口",
    "data.population.points.columns": {"村名": "name", "60岁及以上人口": "older"},
    "data.population.points.x": "经度",
    "data.population.points.y": "纬度",
    "data.population.points.crs": "EPSG:4326",
    "data.population.points.encoding": "gb18030",
    "data.population.points.coords": "bd09",
    "data.population.grid_m": 250,
    "data.population.census_county": "330382",
    "demand": {"horizon_year": 2025, "older_growth_rate": 0.035},
    "demand.base_year": 2020,
    "demand.horizon_year": 2025,
    "demand.older_growth_rate": 0.035,
    "demand.census_2010": "../../shared/data/china/census-2020-county/census_county_2010_v1.xlsx",
    "demand.census_2020": "../../shared/data/china/census-2020-county/census_county_2020_v1.xlsx",
    "demand.census_county": "330382",
    "demand.census_2010_code": "110228",
    "data.population.census_tolerance": 2.0,
    "data.townships.x": "经度",
    "data.townships.y": "纬度",
    "data.townships.crs": "EPSG:4549",
    "data.townships.encoding": "gbk",
    "data.townships.coords": "gcj02",
    "data.villages.x": "经度",
    "data.villages.y": "纬度",
    "data.villages.crs": "EPSG:4549",
    "data.villages.encoding": "gbk",
    "data.villages.coords": "gcj02",
    "data.facilities.layer": "养老机构",
    "data.facilities.encoding": "gbk",
    "data.facilities.coords": "gcj02",
    "data.facilities.types": {"老年活动中心": "village", "老年大学": "ignore"},
    "data.candidates.x": "经度",
    "data.candidates.y": "纬度",
    "data.candidates.crs": "EPSG:4549",
    "data.candidates.encoding": "gbk",
    "data.candidates.coords": "gcj02",
    "travel.ebike_speed_kmh": 15,
    "travel.drive_speeds_kmh": {"tertiary": 35, "residential": 20},
    "map": {"basemap": "osm"},
    "map.basemap": "osm",
    "map.tianditu_key": "0123456789abcdef0123456789abcdef",
    "map.simplify_m": 5,
    "siting.land_m2_per_bed": 35,
    "siting.cost_per_site_yuan": 5000000,
    "siting.cost_per_centre_yuan": 300000,
    "siting.phases": [{"year": 2023, "beds_by_end": 300}, {"year": 2024, "beds_by_end": 600}],
    "siting.phases.<n>.centres_by_end": 30,
    "siting.phases.<n>.budget_yuan": 50000000,
    "siting.phases.<n>.land_mu": 20,
    "siting.phases.<n>.max_new_centres": 10,
    "siting.expand_jingloyuan": False,
    "siting.institutionalisation_rate": 0.04,
    "siting.zones.<zone>.townships": ["城关街道", "柳宅镇"],
    "plan.facilities.crs": "EPSG:4326",
    "plan.facilities.encoding": "gbk",
    "plan.facilities.coords": "gcj02",
    "plan.projects.crs": "EPSG:4326",
    "plan.projects.encoding": "gbk",
    "plan.projects.coords": "gcj02",
    "plan.types": {"幸福院": "mutual_aid", "助餐点": "meal"},
    "limits": {"rows": 500000},
    "limits.file_mb": 1000,
    "limits.plan_file_mb": 100,
    "limits.rows": 500000,
    "limits.plan_rows": 20000,
    "limits.unzipped_mb": 2000,
    "limits.sheet_cells": 10000000,
    "limits.field_chars": 5000,
    "limits.road_file_mb": 4000,
    "limits.osm_nodes": 10000000,
    "limits.osm_unzipped_mb": 4000,
    "limits.raster_cells": 800000000,
    "quality": {"off_network_share": 0.1},
    "quality.off_network_share": 0.1,
    "quality.sparse_roads_ratio": 0.2,
    "quality.census_ratio_warn": 2.0,
}

MAX_EXAMPLE = 90  # characters; a longer mapping of settings is shown by its keys' rows instead
MAX_MEANING = 140  # characters; a longer first sentence is cut at its first colon or semicolon


@dataclasses.dataclass(frozen=True)
class Row:
    """One key of the table."""

    key: str  # dotted, with placeholders: tiers.<tier>.mode
    concrete: str  # the key with its placeholders named as in the example: tiers.village.mode
    model: str  # the model the key belongs to (Scenario for top-level keys)
    field: str  # the field's name in that model ("<tier>" for a mapping's entries)
    required: str
    type: str
    default: str
    example: str | None  # YAML flow text, or None for a settings mapping shown by its keys
    meaning: str
    settings: bool  # a mapping of settings whose keys have their own rows


# --- walking the models ---------------------------------------------------------------------------


def rows() -> list[Row]:
    """Every key of a scenario, depth first in the models' field order."""
    return list(_walk(sc.Scenario, "", "", None))


def _walk(
    model: type[BaseModel], prefix: str, concrete: str, optional: str | None
) -> Iterator[Row]:
    # Required keys first (a layer's `path` before its options), otherwise in declared order.
    fields = sorted(model.model_fields.items(), key=lambda item: not item[1].is_required())
    for name, info in fields:
        owner = _owner(model, name)
        if (owner, name) in SKIP or info.exclude:
            continue
        key, here = prefix + name, concrete + name
        required = _required(owner, name, info, optional)
        within = optional if info.is_required() else key
        yield _row(key, here, owner, name, info.annotation, info, required)
        inner = _model_of(info.annotation)
        if inner is not None:
            yield from _walk(inner, key + ".", here + ".", within)
            continue
        entry = _mapping_of_models(info.annotation)
        if entry is not None:
            holder = PLACEHOLDERS.get(key, "<name>")
            named = _placeholder_example(here, holder)
            entry_key, entry_here = f"{key}.{holder}", f"{here}.{named}"
            yield _row(entry_key, entry_here, owner, holder, entry, None, "optional")
            yield from _walk(entry, entry_key + ".", entry_here + ".", entry_key)
            continue
        item = _list_of_models(info.annotation)
        if item is not None:  # a list of settings (siting.phases): its first entry stands for all
            entry_key, entry_here = f"{key}.<n>", f"{here}.0"
            yield _row(entry_key, entry_here, owner, "<n>", item, None, "optional")
            yield from _walk(item, entry_key + ".", entry_here + ".", entry_key)


def _owner(model: type[BaseModel], name: str) -> str:
    """The class that declares ``name`` (LayerFormat for a LayerSource's ``columns``)."""
    for cls in model.__mro__:
        if name in getattr(cls, "__annotations__", {}):
            return cls.__name__
    return model.__name__


def _required(owner: str, name: str, info: FieldInfo, optional: str | None) -> str:
    if (owner, name) in ONE_OF:
        return ONE_OF[owner, name]
    if (owner, name) in CONDITIONS:
        return CONDITIONS[owner, name]
    if not info.is_required():
        return "optional"
    return f"required with `{optional}`" if optional else "required"


def _row(
    key: str,
    concrete: str,
    owner: str,
    name: str,
    annotation: Any,
    info: FieldInfo | None,
    required: str,
) -> Row:
    settings = _model_of(annotation) is not None
    value = _example(key, concrete, info, shorten=not settings)
    text = None if value is _NONE else _flow(value)
    if text is not None and len(text) > MAX_EXAMPLE:
        if settings:
            text = None
        else:
            raise ValueError(f"{key}: example longer than {MAX_EXAMPLE} characters: {text}")
    if text is None and not settings:
        raise ValueError(f"{key}: no example; add one to EXAMPLES in {Path(__file__).name}")
    return Row(
        key=key,
        concrete=concrete,
        model=owner,
        field=name,
        required=required,
        type=_type(annotation, info),
        default=_default(info),
        example=text,
        meaning=_meaning(info, annotation),
        settings=settings,
    )


def _strip(annotation: Any) -> Any:
    """The annotation without ``None`` and ``Annotated``: ``Annotated[int, ...] | None`` -> int."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _model_of(annotation: Any) -> type[BaseModel] | None:
    bare = _strip(annotation)
    return bare if isinstance(bare, type) and issubclass(bare, BaseModel) else None


def _mapping_of_models(annotation: Any) -> type[BaseModel] | None:
    bare = _strip(annotation)
    if typing.get_origin(bare) in (dict, Mapping):
        return _model_of(typing.get_args(bare)[1])
    return None


def _list_of_models(annotation: Any) -> type[BaseModel] | None:
    bare = _strip(annotation)
    if typing.get_origin(bare) in (list, tuple) and len(typing.get_args(bare)) == 1:
        return _model_of(typing.get_args(bare)[0])
    return None


# --- the cells ------------------------------------------------------------------------------------


def _type(annotation: Any, info: FieldInfo | None) -> str:
    metadata = list(info.metadata) if info is not None else []
    return _type_text(annotation, metadata)


def _type_text(annotation: Any, metadata: list[Any]) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return _type_text(args[0], [*metadata, *_flat_metadata(args[1:])])
    if origin in (typing.Union, types.UnionType):
        parts = [a for a in args if a is not type(None)]
        if set(_literal_values(annotation)) >= set(sc.TIERS):
            extra = [f"`{v}`" for v in _literal_values(annotation) if v not in sc.TIERS]
            return " or ".join(["tier name", *extra])
        return " or ".join(_type_text(a, metadata if len(parts) == 1 else []) for a in parts)
    if origin is Literal:
        if set(args) == set(sc.TIERS):
            return "tier name"
        return " / ".join(f"`{v}`" for v in args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"list of {_type_text(args[0], [])}"
        kinds = {_type_text(a, []) for a in args}
        if len(kinds) == 1:
            return f"list of {len(args)} × {kinds.pop()}"
        return "list of " + ", ".join(_type_text(a, []) for a in args)
    if origin in (list, set, frozenset):
        return f"list of {_type_text(args[0], [])}"
    if origin in (dict, Mapping):
        return f"mapping: {_type_text(args[0], [])} → {_type_text(args[1], [])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    if annotation is Path:
        return "file path"
    base = {str: "text", int: "integer", float: "number", bool: "`true` / `false`"}.get(
        annotation, getattr(annotation, "__name__", str(annotation))
    )
    return base + _bounds(metadata)


def _flat_metadata(items: tuple[Any, ...]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        out.extend(item.metadata if isinstance(item, FieldInfo) else [item])
    return out


def _literal_values(annotation: Any) -> list[Any]:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return list(args)
    if origin in (typing.Union, types.UnionType):
        return [v for a in args for v in _literal_values(a)]
    return []


def _bounds(metadata: list[Any]) -> str:
    found = {type(m): m for m in metadata}
    low = found.get(Ge) or found.get(Gt)
    high = found.get(Le) or found.get(Lt)
    pattern = next((m.pattern for m in metadata if getattr(m, "pattern", None)), None)
    if pattern:
        return f" matching `{pattern}`"
    if isinstance(low, Ge) and isinstance(high, Le):
        return f" {_num(low.ge)}–{_num(high.le)}"
    parts = []
    if isinstance(low, Ge):
        parts.append(f"≥ {_num(low.ge)}")
    elif isinstance(low, Gt):
        parts.append(f"> {_num(low.gt)}")
    if isinstance(high, Le):
        parts.append(f"≤ {_num(high.le)}")
    elif isinstance(high, Lt):
        parts.append(f"< {_num(high.lt)}")
    return (" " + ", ".join(parts)) if parts else ""


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    return (
        f"{value:,}".replace(",", " ") if isinstance(value, int) and value >= 10_000 else str(value)
    )


def _default(info: FieldInfo | None) -> str:
    if info is None or info.is_required():
        return "—"
    factory = info.default_factory
    value = factory() if factory is not None else info.default  # type: ignore[call-arg]
    if value is None or value is PydanticUndefined:
        return "none"
    if isinstance(value, BaseModel):
        return "see below"
    if (
        isinstance(value, Mapping)
        and value
        and all(isinstance(v, BaseModel) for v in value.values())
    ):
        value = {k: v.model_dump(mode="json") for k, v in value.items()}
    return f"`{_flow(value)}`"


def _meaning(info: FieldInfo | None, annotation: Any) -> str:
    text = info.description if info is not None else None
    if not text:
        model = _model_of(annotation)
        text = (model.__doc__ or "") if model is not None else ""
    return _first_sentence(text)


_SENTENCE_END = re.compile(r"(?<!e\.g)(?<!i\.e)(?<!etc)\.(?=\s|$)")


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    match = _SENTENCE_END.search(text)
    sentence = text[: match.end()] if match else text
    if len(sentence) > MAX_MEANING:  # a long docstring sentence: its main clause
        clause = re.search(r"[;:] ", sentence)
        if clause:
            sentence = sentence[: clause.start()] + "."
    sentence = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", sentence)  # :data:`X` -> `X`
    return sentence.replace("``", "`")


# --- examples -------------------------------------------------------------------------------------


class _Missing:
    pass


_NONE: Any = _Missing()


def _example(key: str, concrete: str, info: FieldInfo | None, *, shorten: bool) -> Any:
    if info is not None:
        given = info.examples or (
            info.json_schema_extra.get("examples")
            if isinstance(info.json_schema_extra, Mapping)
            else None
        )
        if given:
            return given[0]  # type: ignore[index]
    fitting = _NONE
    for data in _scenario_files():
        value = _lookup(data, concrete.split("."))
        if value is _NONE:
            continue
        if shorten:
            value = _shortened(value)
        if len(_flow(value)) <= MAX_EXAMPLE:
            return value
        if fitting is _NONE:
            fitting = value
    if key in EXAMPLES:
        return EXAMPLES[key]
    return fitting


def _lookup(data: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]  # a list of settings: its entry by position
            continue
        if not isinstance(data, Mapping) or part not in data:
            return _NONE
        data = data[part]
    return data


def _shortened(value: Any) -> Any:
    """A mapping (columns, targets, tiers) cut to its first entries so that it fits the table."""
    if not isinstance(value, Mapping):
        return value
    items = list(value.items())
    while len(items) > 1 and len(_flow(dict(items))) > MAX_EXAMPLE:
        items.pop()
    return dict(items)


def _placeholder_example(concrete: str, holder: str) -> str:
    for data in _scenario_files():
        value = _lookup(data, concrete.split("."))
        if isinstance(value, Mapping) and value:
            return str(next(iter(value)))
    return PLACEHOLDER_EXAMPLES.get(holder, holder.strip("<>"))


_FILES: list[Any] = []


def _scenario_files() -> list[Any]:
    """The shipped scenarios, parsed: demo.yaml first, then the others by name."""
    if not _FILES:
        paths = sorted(SCENARIOS.glob("*.yaml"), key=lambda p: (p.name != "demo.yaml", p.name))
        _FILES.extend(yaml.safe_load(p.read_text(encoding="utf-8")) for p in paths)
    return _FILES


def _flow(value: Any) -> str:
    """``value`` as one line of YAML flow style: ``{village: {mode: walk, minutes: 15}}``."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_flow(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    text = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, width=10_000)
    text = text.removesuffix("\n").removesuffix("\n...").strip()
    return text


# --- the table and the README ---------------------------------------------------------------------


def table(found: list[Row] | None = None) -> str:
    """The Markdown table of ``found`` (every key by default)."""
    lines = [
        "| key | required? | type | default | example | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for row in found if found is not None else rows():
        example = f"`{row.example}`" if row.example is not None else "see below"
        cells = [f"`{row.key}`", row.required, row.type, row.default, example, row.meaning]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def with_table(readme: str, found: list[Row] | None = None) -> str:
    """``readme`` with the text between the markers replaced by the table."""
    if (
        readme.count(START) != 1
        or readme.count(END) != 1
        or readme.index(START) > readme.index(END)
    ):
        raise ValueError(f"README.md needs one {START} line followed by one {END} line")
    head, rest = readme.split(START)
    _, tail = rest.split(END)
    return f"{head}{START}\n{table(found)}{END}{tail}"


def check(readme: Path = README) -> bool:
    """Whether ``readme``'s table is the one the models give."""
    text = readme.read_text(encoding="utf-8")
    return with_table(text) == text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="write the table into README.md")
    action.add_argument("--check", action="store_true", help="exit 1 if README.md is out of date")
    args = parser.parse_args(argv)
    if args.write:
        text = README.read_text(encoding="utf-8")
        new = with_table(text)
        if new != text:
            README.write_text(new, encoding="utf-8")
        print(f"{README.name}: {len(rows())} scenario keys")
        return 0
    if args.check:
        if check():
            return 0
        print(
            f"{README.name}: the scenario-keys table is out of date; "
            "run python scripts/scenario_keys.py --write",
            file=sys.stderr,
        )
        return 1
    sys.stdout.write(table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
