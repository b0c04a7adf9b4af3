"""Scenario loading: every problem reported at once, with its key path; nothing written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from carecircle.cli import main
from carecircle.errors import InputFileNotFound, ScenarioError
from carecircle.scenario import Scenario, load_scenario, scenario_from_dict

FILES = ("admin.gpkg", "roads.osm", "pop.tif", "towns.csv", "fac.csv")


def minimal(tmp: Path) -> dict[str, object]:
    for name in FILES:
        (tmp / "data" / name).parent.mkdir(exist_ok=True)
        (tmp / "data" / name).write_bytes(b"")
    return {
        "name": "tiny",
        "area": {"boundary": {"path": "data/admin.gpkg", "layer": "county"}},
        "data": {
            "network": {"path": "data/roads.osm"},
            "population": {
                "raster": "data/pop.tif",
                "older_table": {
                    "path": "data/towns.csv",
                    "key": "代码",
                    "total": "常住人口",
                    "older": "60岁及以上人口",
                },
            },
            "townships": {"path": "data/admin.gpkg", "layer": "townships"},
            "villages": {"path": "data/admin.gpkg", "layer": "villages"},
            "facilities": {"path": "data/fac.csv", "x": "经度", "y": "纬度"},
        },
    }


def write(tmp: Path, data: object, name: str = "s.yaml") -> Path:
    path = tmp / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_minimal_scenario_defaults_and_paths(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, minimal(tmp_path)))
    assert sc.name == "tiny"
    assert sc.data.network.path == (tmp_path / "data" / "roads.osm").resolve()
    assert sc.tier("village").mode == "walk" and sc.tier("village").minutes == 15
    assert sc.tier("regional").mode == "drive" and sc.tier("regional").minutes == 30
    assert sc.travel.walk_speed_mps == 1.0 and sc.travel.walk_speed_band == (0.8, 1.2)
    with pytest.raises(ValidationError):
        sc.crs = "EPSG:4326"  # type: ignore[misc]


def test_relative_paths_resolve_against_the_scenario_file(tmp_path: Path) -> None:
    sub = tmp_path / "scenarios"
    sub.mkdir()
    raw = minimal(tmp_path)
    raw["data"]["network"]["path"] = "../data/roads.osm"  # type: ignore[index]
    sc = load_scenario(
        write(
            sub,
            {
                **raw,
                "area": {"boundary": {"path": "../data/admin.gpkg"}},
                "data": {
                    **raw["data"],
                    "population": {"raster": "../data/pop.tif", "older_share": 0.25},
                    "townships": {"path": "../data/admin.gpkg"},
                    "villages": {"path": "../data/admin.gpkg"},
                    "facilities": {"path": "../data/fac.csv", "x": "x", "y": "y"},
                },
            },
        )
    )  # type: ignore[dict-item]
    assert sc.data.network.path == (tmp_path / "data" / "roads.osm").resolve()


THREE_MISTAKES = """\
name: three
area:
  boundary: {path: data/admin.gpkg}
  bufer_m: 100
data:
  network: {path: data/roads.osm}
  population: {raster: data/missing.tif, older_share: 0.2}
  townships: {path: data/admin.gpkg}
  villages: {path: data/admin.gpkg}
  facilities: {path: data/fac.csv, x: lon, y: lat}
tiers:
  village: {mode: walk, minutes: -5}
"""


def test_three_mistakes_reported_at_once(tmp_path: Path) -> None:
    minimal(tmp_path)
    path = tmp_path / "three.yaml"
    path.write_text(THREE_MISTAKES, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    problems = dict(info.value.problems)
    assert set(problems) == {"area.bufer_m", "data.population.raster", "tiers.village.minutes"}
    assert "did you mean 'buffer_m'" in problems["area.bufer_m"]
    assert "valid keys here: boundary, buffer_m" in problems["area.bufer_m"]
    assert "missing.tif" in problems["data.population.raster"]
    assert "-5" in problems["tiers.village.minutes"]


def test_validate_cli_prints_all_three_and_writes_nothing(tmp_path: Path) -> None:
    minimal(tmp_path)
    path = tmp_path / "three.yaml"
    path.write_text(THREE_MISTAKES, encoding="utf-8")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    for key in ("area.bufer_m", "data.population.raster", "tiers.village.minutes"):
        assert key in result.stderr
    assert "3 problem(s)" in result.stderr
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize(
    ("mutate", "where", "fragment"),
    [
        (
            lambda d: d["data"]["network"].update(place="青溪县"),
            "data.network",
            "exactly one of path, place, bbox",
        ),
        (lambda d: d.update(crs=5), "crs", "string"),
        (
            lambda d: d.update(tiers={"villag": {"mode": "walk", "minutes": 15}}),
            "tiers.villag",
            "did you mean 'village'",
        ),
        (
            lambda d: d.update(tiers={"village": {"mode": "bus", "minutes": 15}}),
            "tiers.village.mode",
            "'bus'",
        ),
        (
            lambda d: d.update(policy={"targets": {"nursing-share-5": 0.6}}),
            "policy.targets.nursing-share-5",
            "did you mean 'nursing-share-55'",
        ),
        (
            lambda d: d.update(policy={"targets": {"nursing-share-55": {"bogus": 1}}}),
            "policy.targets.nursing-share-55.bogus",
            "valid:",
        ),
        (
            lambda d: d.update(siting={"new_beds": 100, "beds_per_site": [300, 100]}),
            "siting",
            "minimum 300 exceeds maximum 100",
        ),
        (
            lambda d: d["data"]["population"].pop("older_table"),
            "data.population",
            "exactly one of older_table",
        ),
        (lambda d: d["data"]["facilities"].pop("y"), "data.facilities", "both x and y"),
        (
            lambda d: d["data"]["facilities"].update(encoding="gbkk"),
            "data.facilities.encoding",
            "unknown text encoding 'gbkk'",
        ),
        (
            lambda d: d["data"]["facilities"].update(coords="baidu"),
            "data.facilities.coords",
            "'bd09'",  # the message lists the systems it knows
        ),
        (
            lambda d: d["data"]["population"].update(older_rasters=["data/pop.tif"]),
            "data.population",
            "older_rasters cannot be combined with older_table",
        ),
        (
            lambda d: d["data"]["population"].update(
                points={"path": "data/fac.csv", "x": "x", "y": "y", "columns": {"老人": "older"}}
            ),
            "data.population",
            "points cannot be combined with raster",
        ),
        (
            lambda d: d["data"]["population"].update(
                raster=None,
                older_table=None,
                points={
                    "path": "data/fac.csv",
                    "x": "x",
                    "y": "y",
                    "columns": {"人口": "residents"},
                },
            ),
            "data.population",
            "need exactly one of older_table or older_share",
        ),
        (
            lambda d: d["data"]["population"].pop("raster"),
            "data.population",
            "give raster (residents per cell), older_rasters (age bands) or points",
        ),
        (
            lambda d: d["data"]["population"].update(grid_m=0),
            "data.population.grid_m",
            "greater than 0",
        ),
        (lambda d: d.update(name="has space"), "name", "pattern"),
    ],
)
def test_each_problem_names_its_key(tmp_path: Path, mutate, where: str, fragment: str) -> None:  # type: ignore[no-untyped-def]
    raw = minimal(tmp_path)
    mutate(raw)
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, raw))
    problems = dict(info.value.problems)
    assert where in problems, problems
    assert fragment in problems[where]


def test_yaml_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: a\nname: b\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="duplicate key 'name'"):
        load_scenario(bad)
    bad.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="malformed YAML, line 2"):
        load_scenario(bad)
    bad.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="must be a mapping"):
        load_scenario(bad)
    bad.write_bytes("name: 青溪\n".encode("gbk"))
    with pytest.raises(ScenarioError, match="UTF-8"):
        load_scenario(bad)
    with pytest.raises(InputFileNotFound):
        load_scenario(tmp_path / "nope.yaml")


def test_the_shipped_scenarios_parse() -> None:
    root = Path(__file__).parents[1] / "scenarios"
    files = sorted(root.glob("*.yaml"))
    assert files
    for path in files:
        sc = load_scenario(path, check_files=False)
        assert isinstance(sc, Scenario)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
keys = st.sampled_from(
    ["name", "area", "data", "tiers", "travel", "policy", "siting", "crs", "title", "x"]
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.dictionaries(keys, json_values, max_size=6) | json_values)
def test_loader_never_raises_anything_but_scenario_error(raw: object, tmp_path: Path) -> None:
    try:
        scenario_from_dict(raw, base_dir=tmp_path)
    except ScenarioError as exc:
        assert exc.problems


def test_population_forms(tmp_path: Path) -> None:
    """Age bands (total raster optional) and village counts (older given) need no census share."""
    raw = minimal(tmp_path)
    for name in ("a6065.tif", "a65pl.tif", "villages.csv"):
        (tmp_path / "data" / name).write_bytes(b"")
    raw["data"]["population"] = {  # type: ignore[index]
        "older_rasters": ["data/a6065.tif", "data/a65pl.tif"],
        "grid_m": 250,
    }
    sc = load_scenario(write(tmp_path, raw))
    pop = sc.data.population
    assert pop.raster is None and pop.grid_m == 250
    assert pop.older_rasters == (
        (tmp_path / "data" / "a6065.tif").resolve(),
        (tmp_path / "data" / "a65pl.tif").resolve(),
    )
    raw["data"]["population"] = {  # type: ignore[index]
        "points": {
            "path": "data/villages.csv",
            "x": "经度",
            "y": "纬度",
            "coords": "gcj02",
            "encoding": "GBK",
            "columns": {"村代码": "id", "60岁以上": "older", "常住人口": "residents"},
        }
    }
    sc = load_scenario(write(tmp_path, raw))
    points = sc.data.population.points
    assert points is not None and points.coords == "gcj02" and points.encoding == "gbk"


SEEDS = ("yueqing-2022", "minqing-2022", "rushan-2022", "tongxiang-2025", "wenzhou-2020")


@pytest.mark.parametrize("name", SEEDS)
def test_seed_scenarios_validate_on_the_demo_data(name: str, demo_root: Path) -> None:
    shutil.copy(Path(__file__).parents[1] / "scenarios" / f"{name}.yaml", demo_root / "scenarios")
    sc = load_scenario(demo_root / "scenarios" / f"{name}.yaml", data_from="demo")
    demo = load_scenario(demo_root / "scenarios" / "demo.yaml")
    assert sc.name == f"{name}-on-demo"
    assert sc.data == demo.data and sc.area == demo.area and sc.crs == demo.crs
    assert sc.policy.targets and sc.siting is not None
    # Without --data the scenario names its real data, which is not on this machine.
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(demo_root / "scenarios" / f"{name}.yaml")
    result = CliRunner().invoke(
        main, ["validate", str(demo_root / "scenarios" / f"{name}.yaml"), "--data", "demo"]
    )
    assert result.exit_code == 0, result.output


def test_a_drive_or_ebike_slower_than_walking_is_refused(tmp_path: Path) -> None:
    from carecircle.scenario import Travel

    with pytest.raises(
        ValueError, match=r"slower than walking \(6\.8 km/h.*drive_speeds_kmh\.residential = 5"
    ):
        Travel(walk_speed_mps=1.9, drive_speeds_kmh={"residential": 5.0, "primary": 60.0})
    with pytest.raises(ValueError, match="ebike_speed_kmh = 5"):
        Travel(walk_speed_mps=1.9, ebike_speed_kmh=5.0)
    assert Travel(walk_speed_mps=1.0, ebike_speed_kmh=5.0).ebike_speed_kmh == 5.0
