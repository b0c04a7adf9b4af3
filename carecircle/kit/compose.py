"""A kit's ``scenario.yaml``, written from its record (``data/kit.json``): each layer's scenario
entry with its path under ``data/``, and comments saying where the layers came from."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from carecircle.kit.manifest import Kit, LayerRecord, command_query

__all__ = ["scenario_document", "scenario_text"]

DATA = "data"


def _prefixed(spec: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(spec)
    for key in ("path", "raster"):
        if key in out:
            out[key] = f"{DATA}/{out[key]}"
    if "older_rasters" in out:
        out["older_rasters"] = [f"{DATA}/{p}" for p in out["older_rasters"]]
    return out


def scenario_document(kit: Kit) -> dict[str, Any]:
    """The scenario as a mapping (what ``scenario.yaml`` holds)."""
    layers = kit.layers
    extras = kit.extras

    def entry(name: str) -> dict[str, Any] | None:
        record: LayerRecord | None = layers.get(name)
        return _prefixed(record.spec) if record is not None and record.spec else None

    boundary, network, population = entry("boundary"), entry("roads"), entry("population")
    assert boundary is not None and network is not None and population is not None
    data: dict[str, Any] = {"network": network, "population": population}
    for name in ("townships", "villages", "facilities", "candidates"):
        spec = entry(name)
        if spec is not None:
            data[name] = spec
    return {
        "name": extras["name"],
        "title": extras["title"],
        "area": {"boundary": boundary, "buffer_m": extras["buffer_m"]},
        "data": data,
        # The three targets every county's circle is judged by, at the catalogue's values until
        # the county's own document is named (the run warns that they cite other counties').
        "policy": {
            "document": "待补：本县养老服务规划文件 / to fill: the county's own document",
            "targets": {
                "circle-15min": None,
                "village-center-coverage": None,
                "town-center-coverage": None,
            },
        },
    }


# The keys init writes for a layer; any other key a planner added (``types:``, ...) is kept.
_INIT_KEYS = frozenset(
    {"path", "layer", "columns", "x", "y", "crs", "encoding", "coords", "raster", "older_rasters",
     "census_county", "older_share", "older_table", "points"}
)  # fmt: skip


def merged_document(kit: Kit, edited: dict[str, Any]) -> dict[str, Any]:
    """The kit's scenario over a planner's edited one: the layers init manages are the kit's,
    every other key (policy, tiers, siting, ``types:``, ...) is the planner's."""
    new = scenario_document(kit)
    out = dict(edited)
    area = dict(out.get("area") or {})
    area["boundary"] = new["area"]["boundary"]
    area.setdefault("buffer_m", new["area"]["buffer_m"])
    out["area"] = area
    data = dict(out.get("data") or {})
    for key, spec in new["data"].items():
        old = data.get(key)
        kept = (
            {k: v for k, v in old.items() if k not in _INIT_KEYS} if isinstance(old, dict) else {}
        )
        data[key] = {**spec, **kept}
    for key in ("townships", "villages", "facilities", "candidates"):
        if key not in new["data"]:
            data.pop(key, None)
    out["data"] = data
    for key in ("name", "title", "policy"):
        out.setdefault(key, new[key])
    return out


def _comment(text: str) -> str:
    """Text safe inside a YAML ``#`` comment: every character YAML or a terminal breaks a line
    or acts on (CR, LF, NEL, U+2028/2029, other controls) escaped, so a file name cannot end the
    comment and add keys to the scenario."""
    return "".join(
        ch if ch.isprintable() and ch not in "\u2028\u2029\x85" else f"\\u{ord(ch):04x}"
        for ch in text
    )


def scenario_text(kit: Kit, document: dict[str, Any] | None = None) -> str:
    """``scenario.yaml``: a header on the kit's sources and trust, then the scenario."""
    area = kit.area
    lines = [
        f"# {area.get('name', '')}: written by `carecircle init {area.get('query', '')}` "
        f"(carecircle {kit.carecircle}, {kit.created}) from open data.",
        "# Every layer's source, licence, date and trust are in data/kit.json and data/SOURCES.md;",
        "# `carecircle run` repeats the drafts and approximations among its data-quality warnings.",
    ]
    for name, record in kit.layers.items():
        used = "" if record.spec else " (in the kit, not used by this scenario)"
        lines.append(f"#   {name}: {record.trust}{used} - {record.source}")
    code = command_query(area)
    lines += [
        "# Replace a draft with the bureau's own layer (the others are kept):",
        f"#   carecircle init {code} --out <this folder> --from-files villages=村界.shp facilities=机构.csv",
        "",
    ]
    body = yaml.safe_dump(
        document if document is not None else scenario_document(kit),
        allow_unicode=True,
        sort_keys=False,
        width=100,
    )
    footer = []
    if "candidates" in kit.layers and kit.layers["candidates"].spec:
        footer = [
            "",
            "# data.candidates (OSM idle-asset proxies, a draft) are read only when the scenario",
            "# asks for sites, e.g.:",
            "# siting: {new_beds: 200, beds_per_site: [50, 200], time_limit_s: 60}",
        ]
    lines = [_comment(line) for line in lines]
    return "\n".join(lines) + body + "\n".join(footer) + ("\n" if footer else "")
