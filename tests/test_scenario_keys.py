"""scripts/scenario_keys.py: the README's table of scenario keys is current, complete and true.

Every key the models accept is in the table; what it marks required is refused when missing;
the defaults it shows are the models' defaults; every example, read as YAML, validates when put
into the demo scenario (those naming files the demo county lacks excepted).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from carecircle import scenario as sc
from carecircle.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "scenario_keys.py"
FILE_SUFFIXES = (".tif", ".gpkg", ".csv", ".xlsx", ".osm", ".pbf", ".graphml", ".shp", ".geojson")

# Setting a key of a one-of group drops the others the demo gives (relative to the key's parent);
# a key under a dropped-in parent inherits its parent's drops.
DROPS: dict[str, tuple[str, ...]] = {
    "data.network.place": ("path",),
    "data.network.bbox": ("path",),
    "data.population.older_rasters": ("older_table",),
    "data.population.points": ("raster", "older_table"),
    "data.population.older_share": ("older_table",),
    "data.population.census_county": ("older_table",),
    "siting.zones.<zone>.townships": ("band",),
    "demand.census_county": ("older_growth_rate",),
    "demand.census_2010_code": ("older_growth_rate",),
}
# Keys a validator wants given together with another: the other gets its own example.
COMPANIONS: dict[str, str] = {
    "siting.budget_yuan": "siting.cost_per_bed_yuan",
    "siting.phases.<n>.budget_yuan": "siting.cost_per_bed_yuan",
    "siting.centre_budget_yuan": "siting.cost_per_centre_yuan",
    "demand.census_county": "demand.census_2010",
    "demand.census_2010_code": "demand.census_2010",
}


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("scenario_keys", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


keys = _load_script()
ROWS = keys.rows()
BY_KEY = {row.key: row for row in ROWS}
BY_CONCRETE = {row.concrete: row for row in ROWS}


def _demo() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "scenarios" / "demo.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def scenario_dir(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scenarios/ folder beside the generated demo data (``../data/demo/...`` resolves)."""
    root = tmp_path_factory.mktemp("keys")
    (root / "scenarios").mkdir()
    (root / "data").symlink_to(demo_root / "data", target_is_directory=True)
    return root / "scenarios"


def _load(raw: dict[str, Any], folder: Path) -> sc.Scenario:
    """Through the loader, as a file: YAML text, relative paths against its folder."""
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return sc.load_scenario(path)


def _parent(raw: dict[str, Any], parts: list[str]) -> Any:
    node: Any = raw
    for part in parts:
        node = node[int(part)] if isinstance(node, list) else node[part]  # siting.phases.0
    return node


# --- the table is current and complete -------------------------------------------------------------


def test_the_readme_table_is_current() -> None:
    assert keys.check(), "README.md is out of date: run python scripts/scenario_keys.py --write"
    assert keys.main(["--check"]) == 0
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "| `data.population.older_rasters` |" in text


def test_check_sees_a_stale_table(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    stale = tmp_path / "README.md"
    stale.write_text(text.replace(f"| `{ROWS[-1].key}` |", "| `gone` |"), encoding="utf-8")
    assert not keys.check(stale)


def test_every_key_of_every_location_appears() -> None:
    """The loader's own list of valid keys (its "valid keys here" hint) at every mapping."""
    locations = [""] + [row.concrete for row in ROWS if row.settings]
    for where in locations:
        loc = tuple(where.split(".")) if where else ()
        valid = sc._valid_keys(sc.Scenario, loc)
        assert valid, where
        for name in valid:
            if (keys._owner(_model_at(loc), name), name) in keys.SKIP:
                continue
            assert f"{where}.{name}".lstrip(".") in BY_CONCRETE, f"{where}.{name} missing"


def _model_at(loc: tuple[str, ...]) -> type[BaseModel]:
    annotation: Any = sc.Scenario
    for part in loc:
        annotation = sc._step(annotation, part)
    model = sc._as_model(annotation)
    assert model is not None
    return model


def test_every_field_of_every_model_appears() -> None:
    models = [
        cls
        for _, cls in inspect.getmembers(sc, inspect.isclass)
        if issubclass(cls, BaseModel) and cls.__module__ == sc.__name__ and cls.model_fields
    ]
    assert len(models) >= 15
    for cls in models:
        lineage = {c.__name__ for c in cls.__mro__}
        for name in cls.model_fields:
            if (keys._owner(cls, name), name) in keys.SKIP:
                continue
            assert any(r.field == name and r.model in lineage for r in ROWS), (cls.__name__, name)


def test_every_key_has_a_meaning_and_every_value_an_example() -> None:
    for row in ROWS:
        assert row.meaning.endswith("."), row.key
        assert row.example is not None or row.settings, row.key
    assert len({row.key for row in ROWS}) == len(ROWS)


def test_the_groups_name_real_fields() -> None:
    for owner, name in [*keys.ONE_OF, *keys.CONDITIONS, *keys.SKIP]:
        assert name in getattr(sc, owner).model_fields, (owner, name)


# --- required, optional, defaults ------------------------------------------------------------------


def test_the_required_keys_are_marked_required() -> None:
    for key in ("area", "area.boundary", "area.boundary.path", "data", "data.network"):
        assert BY_KEY[key].required == "required", key
    assert BY_KEY["data.population"].required == "required"
    assert BY_KEY["siting.new_beds"].required == "required with `siting`"
    assert BY_KEY["tiers.<tier>.minutes"].required == "required with `tiers.<tier>`"
    assert BY_KEY["data.network.path"].required.startswith("one of `path`, `place`, `bbox`")
    assert BY_KEY["siting.zones.<zone>.band"].required == "one of `townships`, `band`"


def test_what_is_marked_required_is_refused_when_missing(scenario_dir: Path) -> None:
    checked = 0
    for row in ROWS:
        if not row.required.startswith("required"):
            continue
        raw, parts = _demo(), row.concrete.split(".")
        try:
            parent = _parent(raw, parts[:-1])
        except KeyError:
            continue  # the parent is not in the demo scenario
        del parent[parts[-1]]
        with pytest.raises(ScenarioError) as caught:
            _load(raw, scenario_dir)
        assert any(where == row.concrete for where, _ in caught.value.problems), row.key
        checked += 1
    assert checked >= 8


def test_an_optional_key_shows_its_default(scenario_dir: Path) -> None:
    row = BY_KEY["data.facilities"]
    assert (row.required, row.default) == ("optional", "none")
    raw = _demo()
    del raw["data"]["facilities"]
    assert _load(raw, scenario_dir).data.facilities is None


def test_the_defaults_shown_are_the_models(scenario_dir: Path) -> None:
    """Each default in code, read as YAML, is what a scenario without the key gets."""
    checked = 0
    for row in ROWS:
        if not row.default.startswith("`"):
            continue
        raw, parts = _demo(), row.concrete.split(".")
        try:
            parent = _parent(raw, parts[:-1])
        except KeyError:
            continue
        parent.pop(parts[-1], None)
        value: Any = _load(raw, scenario_dir)
        for part in parts:
            value = value[part] if isinstance(value, dict) else getattr(value, part)
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json")
        elif isinstance(value, dict):
            value = {
                k: v.model_dump(mode="json") if isinstance(v, BaseModel) else v
                for k, v in value.items()
            }
        shown = yaml.safe_load(row.default.strip("`"))
        assert _plain(value) == _plain(shown), row.key
        checked += 1
    assert checked >= 30


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


# --- the examples ----------------------------------------------------------------------------------


def _with_example(row: Any) -> tuple[dict[str, Any], list[Any]]:
    """The demo scenario with ``row``'s key set to its example; and every value put in."""
    raw, parts = _demo(), row.concrete.split(".")
    added: list[Any] = []
    node = raw
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):  # a list of settings (siting.phases): its entry by position
            node = node[int(part)]
            continue
        if part not in node:  # the parent is not in the demo: its own example first
            ancestor = BY_CONCRETE[".".join(parts[: i + 1])]
            node[part] = yaml.safe_load(ancestor.example) if ancestor.example else {}
            added.append(node[part])
        node = node[part]
    if isinstance(node, list):
        node[int(parts[-1])] = yaml.safe_load(row.example)
        added.append(node[int(parts[-1])])
    else:
        node[parts[-1]] = yaml.safe_load(row.example)
        added.append(node[parts[-1]])
    for key, dropped in DROPS.items():
        if row.key == key or row.key.startswith(key + "."):
            holder = _parent(raw, BY_KEY[key].concrete.split(".")[:-1])
            for name in dropped:
                holder.pop(name, None)
    if parts[-1] in ("x", "y"):  # x and y come together
        partner = "y" if parts[-1] == "x" else "x"
        node.setdefault(
            partner, yaml.safe_load(BY_CONCRETE[".".join([*parts[:-1], partner])].example)
        )
    if row.key in COMPANIONS:
        other = BY_KEY[COMPANIONS[row.key]]
        companion = yaml.safe_load(other.example)
        _parent(raw, other.concrete.split(".")[:-1])[other.field] = companion
        added.append(companion)  # a file it names counts as the row's own
    return raw, added


def _files(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [f for v in value.values() for f in _files(v)]
    if isinstance(value, list):
        return [f for v in value for f in _files(v)]
    if isinstance(value, str) and value.lower().endswith(FILE_SUFFIXES):
        return [value]
    return []


def test_every_example_validates(scenario_dir: Path) -> None:
    tested, skipped, failed = [], [], []
    for row in ROWS:
        if row.example is None:
            continue
        raw, added = _with_example(row)
        if any(not (scenario_dir / f).is_file() for f in _files(added)):
            skipped.append(row.key)  # names a file the demo county does not have
            continue
        try:
            _load(raw, scenario_dir)
        except ScenarioError as exc:
            failed.append(f"{row.key} = {row.example}: {exc}")
            continue
        tested.append(row.key)
    assert not failed, "\n".join(failed)
    assert len(tested) >= 15, (tested, skipped)
    assert len(tested) > 3 * len(skipped)


def test_an_example_that_is_wrong_is_caught(scenario_dir: Path) -> None:
    """The example check can fail: a value outside a key's bounds is refused."""
    raw, _ = _with_example(dataclasses.replace(BY_KEY["travel.walk_speed_mps"], example="10"))
    with pytest.raises(ScenarioError, match=r"travel\.walk_speed_mps"):
        _load(raw, scenario_dir)


def test_the_one_of_groups_are_the_validators(scenario_dir: Path) -> None:
    both = _demo()
    both["data"]["network"]["place"] = "闽清县, 福州市, 福建省, 中国"
    with pytest.raises(ScenarioError, match="exactly one of path, place, bbox"):
        _load(both, scenario_dir)
    zone = _demo()
    zone["siting"]["zones"] = {"south": {"band": "south", "townships": ["城关街道"]}}
    with pytest.raises(ScenarioError, match="exactly one of townships or band"):
        _load(zone, scenario_dir)


def test_the_table_goes_between_the_markers(tmp_path: Path) -> None:
    """Emptied markers are filled with the table, the rest of the README kept as it was."""
    readme = tmp_path / "README.md"
    shutil.copy(ROOT / "README.md", readme)
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(keys.START), text.index(keys.END)
    readme.write_text(text[: start + len(keys.START)] + "\n" + text[end:], encoding="utf-8")
    assert not keys.check(readme)
    readme.write_text(keys.with_table(readme.read_text(encoding="utf-8")), encoding="utf-8")
    assert keys.check(readme)
    assert readme.read_text(encoding="utf-8") == text
