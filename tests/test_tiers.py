"""Every tier at its own mode and minutes, the circle's services, and beds against older residents,
on the hand-built county of tiny_county.py, whose answers are worked out here by hand.

The road is one straight residential street along y=0; six groups of 30 older residents stand on
it at x = 800, 2400, 4000 (东镇: 甲乙丙村) and 6250, 7400, 6900 (西镇: 丁村, 戊村 ×2). Speeds are
the defaults: walking 1.0 m/s, e-bike 12 km/h, driving 25 km/h on a residential street. The
township centre F5 stands at x=1000, the two 敬老院 at 2000 (60 beds) and 6000 (120 beds).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import tiny_county
import yaml

from carecircle.pipeline import RunResult, run_scenario
from carecircle.scenario import load_scenario

TARGETS = {"circle-15min": None, "beds-per-1000-older": None}


def _scenario(root: Path, **changes: Any) -> Path:
    """The tiny county with the township tier at 10 min by e-bike, the regional tier at 8 min
    by car counting the 敬老院, and ``changes`` (top-level keys) over it."""
    path = tiny_county.build(root, targets=dict(TARGETS))
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["tiers"] = {
        "village": {"mode": "walk", "minutes": 15},
        "township": {"mode": "ebike", "minutes": 10},
        "regional": {"mode": "drive", "minutes": 8, "services": ["jingloyuan"]},
    }
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _without(root: Path, facility: str) -> None:
    """Take a facility out of the tiny county's register."""
    csv = root / "data" / "demo" / "facilities.csv"
    table = pd.read_csv(csv, dtype=str, encoding="utf-8-sig")
    table[table["机构编号"] != facility].to_csv(csv, index=False, encoding="utf-8-sig")


def _run(path: Path) -> RunResult:
    return run_scenario(load_scenario(path))


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return _run(_scenario(tmp_path_factory.mktemp("tiers")))


def _townships(result: RunResult, column: str) -> dict[str, float]:
    return dict(zip(result.townships["name"], result.townships[column], strict=True))


def test_each_tier_is_scored_at_its_own_mode_and_minutes(base: RunResult) -> None:
    tiers = base.summary["tiers"]
    assert {k: (v["mode"], v["minutes"]) for k, v in tiers.items()} == {
        "village": ("walk", 15),
        "township": ("ebike", 10),
        "regional": ("drive", 8),
    }
    older = {k: v["older"] for k, v in tiers.items()}
    assert older == pytest.approx(dict.fromkeys(tiers, 180.0))
    # Village tier: 800 (F1 0 m), 4000 (F2 0 m), 7400 (F4 500 m) within 15 min on foot;
    # 2400 (1.6 km), 6250 (1.35 km), 6900 (1.0 km = 16.7 min) are not.
    assert tiers["village"]["older_covered"] == pytest.approx(90.0)
    # Township tier: 10 min at 12 km/h is 2 km from F5 at x=1000: 800 and 2400, not 4000.
    assert tiers["township"]["older_covered"] == pytest.approx(60.0)
    assert tiers["township"]["share"] == pytest.approx(1 / 3)
    assert _townships(base, "township_share") == pytest.approx({"东镇": 2 / 3, "西镇": 0.0})
    # Regional tier (敬老院 counted): 8 min at 25 km/h is 3.33 km; every group reaches one.
    assert tiers["regional"]["services"] == ["jingloyuan"]
    assert tiers["regional"]["share"] == pytest.approx(1.0)
    assert _townships(base, "regional_share") == pytest.approx({"东镇": 1.0, "西镇": 1.0})


def test_beds_within_reach_share_each_home_among_those_who_reach_it(base: RunResult) -> None:
    # The 60-bed home at 2000 is reached by the groups at 800, 2400, 4000 (90 older): 2/3 a bed
    # each; the 120-bed home at 6000 by 4000, 6250, 6900, 7400 (120 older): 1 each. The group
    # at 4000 reaches both: 5/3 beds per older resident.
    per_1000 = dict(zip(base.villages["name"], base.villages["beds_per_1000_older"], strict=True))
    assert per_1000 == pytest.approx(
        {"甲村": 2000 / 3, "乙村": 2000 / 3, "丙村": 5000 / 3, "丁村": 1000.0, "戊村": 1000.0}
    )
    # Every bed is reached by someone: the beds in reach add up to the county's 180.
    assert base.villages["beds_allotted"].sum() == pytest.approx(180.0)
    assert base.summary["tiers"]["regional"]["beds_reached"] == pytest.approx(180.0)
    assert base.summary["tiers"]["regional"]["beds_per_1000_older"] == pytest.approx(1000.0)


def test_beds_per_1000_places_below_the_norm_are_gaps(tmp_path: Path) -> None:
    # Only the 60-bed home: 东镇's 90 older share it (667 per 1,000); 西镇 reaches no home.
    root = tmp_path / "one"
    path = _scenario(root)
    _without(root, "F7")
    result = _run(path)
    found = {
        (g.scope, g.object_name): g.measured
        for g in result.gaps.gaps
        if g.kind == "beds-per-1000-reach"
    }
    assert found == pytest.approx(
        {("township", "西镇"): 0.0, ("village", "丁村"): 0.0, ("village", "戊村"): 0.0}
    )
    assert all(
        g.status == "pass"
        for g in result.gaps.findings
        if g.kind == "beds-per-1000-reach" and g.object_name in {"东镇", "甲村", "乙村", "丙村"}
    )
    gap = next(g for g in result.gaps.gaps if g.object_name == "西镇")
    assert "8分钟车程" in gap.reason_zh and "8-minute drive" in gap.reason_en
    assert gap.detail["beds_short"] == 4  # 40 per 1,000 of 90 older: 3.6 beds, whole beds
    assert "没有任何养老机构" in gap.reason_zh


def test_changing_only_the_township_minutes_changes_only_township_figures(
    base: RunResult, tmp_path: Path
) -> None:
    tiers = {
        "village": {"mode": "walk", "minutes": 15},
        "township": {"mode": "ebike", "minutes": 20},
        "regional": {"mode": "drive", "minutes": 8, "services": ["jingloyuan"]},
    }
    other = _run(_scenario(tmp_path / "t20", tiers=tiers))
    # 20 min at 12 km/h is 4 km from x=1000: the group at 4000 (3 km) joins, 6250 (5.25) not.
    assert _townships(other, "township_share") == pytest.approx({"东镇": 1.0, "西镇": 0.0})
    assert other.summary["tiers"]["township"]["older_covered"] == pytest.approx(90.0)
    for name in ("village", "regional"):
        assert other.summary["tiers"][name] == base.summary["tiers"][name]
    assert other.summary["village_circle"] == base.summary["village_circle"]
    unchanged = [c for c in base.villages.columns if not c.startswith("township_")]
    pd.testing.assert_frame_equal(
        pd.DataFrame(other.villages[unchanged].drop(columns="geometry")),
        pd.DataFrame(base.villages[unchanged].drop(columns="geometry")),
    )
    assert not np.allclose(other.villages["township_share"], base.villages["township_share"])


def test_a_resident_beside_a_township_centre_is_inside_the_circle_by_default(
    tmp_path: Path,
) -> None:
    # Without 甲村's own centre F1, the group at 800 has the township centre F5 200 m away and
    # the nearest village centre 3.2 km away.
    root = tmp_path / "default"
    path = _scenario(root)
    _without(root, "F1")
    counted = _run(path)
    assert counted.summary["village_circle"]["services"] == [
        "village",
        "mutual_aid",
        "meal",
        "township",
    ]
    # Inside: 800 (F5), 4000 (F2), 7400 (F4): 90 of 180.
    assert counted.summary["village_circle"]["older_covered"] == pytest.approx(90.0)
    jia = counted.villages.set_index("name").loc["甲村"]
    assert jia["share"] == pytest.approx(1.0) and jia["village_share"] == pytest.approx(0.0)

    root = tmp_path / "excluded"
    path = _scenario(root, circle={"services": ["village", "mutual_aid", "meal"]})
    _without(root, "F1")
    excluded = _run(path)
    assert excluded.summary["village_circle"]["older_covered"] == pytest.approx(60.0)
    assert excluded.villages.set_index("name").loc["甲村", "share"] == pytest.approx(0.0)
    # The tiers do not move with the circle's services.
    assert excluded.summary["tiers"] == counted.summary["tiers"]


def test_equity_names_the_worst_places(base: RunResult) -> None:
    township = base.summary["equity"]["township_tier"]["townships"]
    assert township["places"] == 2
    assert township["meeting_target"] == 0  # target 100 %: 东镇 2/3, 西镇 0
    assert township["min"] == pytest.approx(0.0)
    assert township["worst"][0]["name"] == "西镇"
    beds = base.summary["equity"]["beds_per_1000_older"]
    assert beds["target"] == 40
    assert beds["villages"]["meeting_target"] == 5
    assert beds["villages"]["worst"][0]["value"] == pytest.approx(2000 / 3)


def test_a_circle_without_services_is_refused(tmp_path: Path) -> None:
    from carecircle.errors import ScenarioError

    path = _scenario(tmp_path / "none", circle={"services": []})
    with pytest.raises(ScenarioError, match=r"circle\.services"):
        load_scenario(path)


def test_every_output_shows_each_tier(base: RunResult, tmp_path: Path) -> None:
    import pyogrio

    from carecircle.outputs.report import write_outputs

    paths = write_outputs(base, tmp_path / "out")
    report = paths["report.html"].read_text(encoding="utf-8")
    assert 'id="tiers"' in report and 'data-tier="township"' in report
    assert "电动车10分钟" in report and "驾车8分钟" in report  # each tier's own minutes
    assert 'id="beds-reach"' in report
    page = paths["index.html"].read_text(encoding="utf-8")
    plain = page.replace("\\", "")  # layer names sit in the page's scripts as escaped strings
    assert 'data-layer="tier-village"' in plain and 'data-layer="tier-township"' in plain
    assert 'data-layer="tier-regional"' not in plain  # all reach a 敬老院 in 8 min: no grid
    # Beyond the township tier's 10 minutes: the groups at 4000, 6250, 6900 and 7400.
    layers = dict(pyogrio.list_layers(paths["results.gpkg"]))
    assert "uncovered_township" in layers
    grid = pyogrio.read_dataframe(paths["results.gpkg"], layer="uncovered_township")
    assert grid["older"].sum() == pytest.approx(120.0)
    sheets = pd.read_excel(paths["tables.xlsx"], sheet_name=None)
    tiers = sheets["各级可达 tiers"]
    assert len(tiers) == 5  # the circle, three tiers, the beds in reach
    assert tiers.iloc[2, 6] == pytest.approx(1 / 3)  # township tier, share column


def test_spread_by_hand() -> None:
    from carecircle.planning.reach import spread

    s = spread([0.2, 1.0, 0.5, np.nan, 0.9995], [10, 10, 0, 5, 100], 1.0, list("abcde"))
    # c has nobody and d no figure: not judged. e is short by 0.05 of a resident: it meets.
    assert s["places"] == 3 and s["meeting_target"] == 2
    assert s["min"] == pytest.approx(0.2) and s["worst_decile"] == pytest.approx(0.2)
    assert [w["name"] for w in s["worst"]] == ["a", "e", "b"]
    beds = spread([30.0, 45.0], [100, 100], 40.0, share=False)
    assert beds["meeting_target"] == 1 and beds["median"] == pytest.approx(37.5)
    assert spread([], [], 1.0)["places"] == 0


def test_a_tier_with_nothing_registered_says_so(tmp_path: Path) -> None:
    # The default regional tier counts regional homes and county institutions: the tiny county
    # has neither, only two 敬老院. Its 0 % is said to be the register's, with the fix.
    result = _run(tiny_county.build(tmp_path, targets=dict(TARGETS)))
    assert result.summary["tiers"]["regional"]["share"] == 0.0
    found = [
        w for w in result.summary["data_quality"]["warnings"] if w["code"] == "tier_without_sites"
    ]
    assert len(found) == 1
    assert "tiers.regional.services: [regional, county, jingloyuan]" in found[0]["message_en"]
    assert "区域级设施圈（驾车30分钟）" in found[0]["message_zh"]
    assert "tier_without_sites" in result.summary["data_quality"]["banner"]
