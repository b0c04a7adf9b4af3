"""The demo map in a real headless Chromium, opened from file:// with the network blocked."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from carecircle.cli import main

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Flags that keep Chromium from phoning home at start; the machine's network is closed.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


@pytest.fixture(scope="module")
def map_dir(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "demo"
    result = CliRunner().invoke(
        main, ["run", str(demo_root / "scenarios" / "demo.yaml"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


def test_map_opens_offline_in_chromium(map_dir: Path, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CARECIRCLE_SKIP_BROWSER") == "1":
            pytest.skip("CARECIRCLE_SKIP_BROWSER=1 and no chromium")
        pytest.fail(
            "Debian's chromium is missing: `make test` installs it (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    summary = json.loads((map_dir / "summary.json").read_text(encoding="utf-8"))
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.route(
            "**/*",
            lambda route: (
                route.abort()
                if not route.request.url.startswith(("file:", "data:"))
                else route.continue_()
            ),
        )
        page.goto((map_dir / "index.html").as_uri())
        page.wait_for_selector(
            ".leaflet-overlay-pane path, .leaflet-overlay-pane canvas",
            state="attached",
            timeout=15000,
        )
        share_text = page.inner_text("#cc-share")
        overlays = page.locator(".leaflet-control-layers-overlays label").count()
        shot = tmp_path / "map.png"
        page.screenshot(path=str(shot))
        browser.close()
    remote = [u for u in requests if not u.startswith(("file:", "data:"))]
    assert remote == []
    assert errors == []
    assert share_text == f"{summary['village_circle']['share'] * 100:.1f}%"
    assert overlays >= 4
    _assert_not_blank(shot)


def _assert_not_blank(png: Path) -> None:
    """A screenshot with the map drawn has many distinct colours; a blank page has one or two."""
    from PIL import Image

    with Image.open(png) as img:
        colours = img.convert("RGB").getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50
