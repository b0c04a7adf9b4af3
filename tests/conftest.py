"""Shared fixtures: the small demo county is generated once per session and run once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from carecircle.demo import generate_demo
from carecircle.pipeline import RunResult, run_scenario
from carecircle.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder laid out like the repository: data/demo (generated) and scenarios/demo.yaml."""
    root = tmp_path_factory.mktemp("demo-root")
    generate_demo(root / "data" / "demo", size="small", seed=2022)
    (root / "scenarios").mkdir()
    shutil.copy(ROOT / "scenarios" / "demo.yaml", root / "scenarios" / "demo.yaml")
    return root


@pytest.fixture(scope="session")
def demo_scenario(demo_root: Path) -> Scenario:
    return load_scenario(demo_root / "scenarios" / "demo.yaml")


@pytest.fixture(scope="session")
def demo_run(demo_scenario: Scenario) -> RunResult:
    return run_scenario(demo_scenario)
