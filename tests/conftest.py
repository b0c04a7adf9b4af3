"""Shared fixtures: the small demo county is generated once per session and run once."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from carecircle.demo import generate_demo
from carecircle.pipeline import RunResult, run_scenario
from carecircle.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SHARED_DATA = SHARED / "data"


MEASUREMENTS = pytest.StashKey[list[str]]()


@pytest.fixture
def report_measurement(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record a line (a size, a load time) for the terminal summary of the run."""
    lines = request.config.stash.setdefault(MEASUREMENTS, [])
    return lines.append


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    lines = config.stash.get(MEASUREMENTS, [])
    if lines:
        terminalreporter.section("carecircle measurements")
        for line in lines:
            terminalreporter.write_line(line)


def pytest_configure(config: pytest.Config) -> None:
    # Real data and the policy documents live beside the repository, never in it; without them
    # the real-data tests would have nothing to check, so refuse to run rather than skip.
    if not (SHARED_DATA.is_dir() and (SHARED / "POLICY.md").is_file()):
        raise pytest.UsageError(
            f"tests need the shared data and documents at {SHARED} (../shared beside the repository)"
        )


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
