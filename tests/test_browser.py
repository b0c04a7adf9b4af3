"""The maps in a real headless Chromium, opened from file:// with the network blocked.

Every page must open with no request leaving it and no console error; every layer must switch on
and off; the panel must say what summary.json says; the English button must switch the labels; the
Gaode basemap must line up with the data; the county-size map must stay under 15 MB (its size and
load time are printed in the terminal summary).
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from carecircle.cli import main
from carecircle.demo import generate_demo
from carecircle.sources.coords import wgs84_to_gcj02

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
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
COUNTY_LIMIT_BYTES = 15 * 1024 * 1024


# --- browser plumbing ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CARECIRCLE_SKIP_BROWSER") == "1":
            pytest.skip("CARECIRCLE_SKIP_BROWSER=1 and no chromium")
        pytest.fail(
            "Debian's chromium is missing: `make test` installs it (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


@dataclass
class Opened:
    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def remote(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file:", "data:"))]


def open_page(browser: Any, path: Path, *, serve: Callable[[Any], bool] | None = None) -> Opened:
    """Open ``path`` with every request off file:/data: aborted (or answered by ``serve``)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    opened = Opened(page)
    page.on("request", lambda r: opened.requests.append(r.url))
    page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: opened.errors.append(str(e)))

    def route(r: Any) -> None:
        if r.request.url.startswith(("file:", "data:")):
            r.continue_()
        elif serve is None or not serve(r):
            r.abort()

    page.route("**/*", route)
    start = time.perf_counter()
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_function("window.carecircle && window.carecircle.map", timeout=30000)
    page.wait_for_selector(".leaflet-pane path, .leaflet-pane canvas", state="attached")
    opened.seconds = time.perf_counter() - start
    return opened


def assert_not_blank(png: bytes) -> None:
    """A screenshot with the map drawn has many distinct colours; a blank page has one or two."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as img:
        colours = img.convert("RGB").getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50


# Features drawn in a layer's pane: SVG paths, marker icons, and painted canvas pixels.
DRAWN_JS = """(key) => {
  const pane = document.querySelector('.leaflet-cc-' + key + '-pane');
  if (!pane) return -1;
  let n = pane.querySelectorAll('path').length + pane.querySelectorAll('.leaflet-marker-icon').length;
  for (const c of pane.querySelectorAll('canvas')) {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
  }
  return n;
}"""


def overlays(page: Any) -> list[tuple[str, Any]]:
    """(layer key, checkbox) for every overlay in the layer control."""
    out = []
    for label in page.locator(".leaflet-control-layers-overlays label").all():
        key = label.locator("[data-layer]").get_attribute("data-layer")
        out.append((key, label.locator("input")))
    return out


def drawn(page: Any, key: str) -> int:
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    return int(page.evaluate(DRAWN_JS, key))


# --- the demo map --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def map_dir(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "demo"
    result = CliRunner().invoke(
        main, ["run", str(demo_root / "scenarios" / "demo.yaml"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def demo_page(browser: Any, map_dir: Path) -> Iterator[Opened]:
    opened = open_page(browser, map_dir / "index.html")
    yield opened
    opened.page.context.close()


def pct(v: float) -> str:
    return f"{v * 100:.1f}%"


def test_map_opens_offline_with_nothing_requested(demo_page: Opened) -> None:
    page = demo_page.page
    assert demo_page.remote == []
    assert demo_page.errors == []
    assert page.locator(".leaflet-control-layers-overlays label").count() >= 8
    assert_not_blank(page.screenshot())


def test_panel_shows_the_figures_of_summary_json(demo_page: Opened, map_dir: Path) -> None:
    s = json.loads((map_dir / "summary.json").read_text(encoding="utf-8"))
    page = demo_page.page
    verdicts = {v["rule_id"]: v for v in s["verdicts"]}

    def figure(key: str, part: str) -> str:
        return str(page.locator(f'[data-figure="{key}"] {part}').first.inner_text()).strip()

    circle = s["village_circle"]
    assert page.inner_text("#cc-share") == pct(circle["share"])
    assert figure("circle", ".cc-target b") == pct(verdicts["circle-15min"]["required"])
    for key, rule, total in (
        ("villages", "village-center-coverage", s["inputs"]["villages"]),
        ("townships", "town-center-coverage", s["inputs"]["townships"]),
    ):
        v = verdicts[rule]
        assert figure(key, ".cc-value") == pct(v["measured"])
        assert figure(key, ".cc-target b") == pct(v["required"])
        assert figure(key, ".cc-detail") == f"{round(v['measured'] * total)} / {total}"
        assert page.locator(f'[data-figure="{key}"] .cc-badge.cc-{v["status"]}').count() == 1
    nursing = verdicts["nursing-share-55"]
    assert figure("nursing", ".cc-value") == pct(nursing["measured"])
    assert figure("nursing", ".cc-target b") == pct(nursing["required"])
    not_covered = circle["older"] - circle["older_covered"]
    assert figure("uncovered", ".cc-value") == f"{not_covered:,.0f}"
    assert figure("gaps", ".cc-value") == f"{len(s['gaps']['items']):,}"
    rows = page.locator("#cc-panel details tr[data-rule]")
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.rule)")) == sorted(verdicts)


def test_every_layer_switches_on_and_off(demo_page: Opened) -> None:
    page = demo_page.page
    layers = overlays(page)
    keys = [k for k, _ in layers]
    for expected in ("roads", "isochrones", "villages", "grid", "townships", "gaps", "fac-village"):
        assert expected in keys
    for key, box in layers:
        was_on = box.is_checked()
        before = drawn(page, key)
        box.click()
        after = drawn(page, key)
        box.click()
        again = drawn(page, key)
        if was_on:
            assert before > 0 and after == 0 and again == before, key
        else:
            assert before <= 0 and after > 0 and again == 0, key
    assert demo_page.errors == []


def test_english_button_switches_every_label(demo_page: Opened) -> None:
    page = demo_page.page
    han = re.compile(r"[\u4e00-\u9fff]")
    panel_zh = page.inner_text("#cc-panel")
    assert "15分钟养老服务圈覆盖率" in panel_zh
    page.click("#cc-lang")
    try:
        assert page.evaluate("document.documentElement.lang") == "en"
        assert "elderly-service circle" in page.inner_text("#cc-panel")
        for part in ("#cc-panel .cc-figs", "#cc-legend", ".leaflet-control-layers"):
            text = page.inner_text(part)
            # Chinese left only where it is a name: 敬老院 is the facility type's own name.
            assert not han.search(text.replace("敬老院", "")), (part, text)
    finally:
        page.click("#cc-lang")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.inner_text("#cc-panel") == panel_zh


def test_page_formula_matches_the_python_gcj02(demo_page: Opened) -> None:
    """The page shifts Gaode tiles with its own copy of the GCJ-02 formula: the same numbers."""
    rng = np.random.default_rng(9)
    lon, lat = rng.uniform(74, 134.9, 200), rng.uniform(4, 53.4, 200)
    expect = np.column_stack(wgs84_to_gcj02(lon, lat))
    got = np.array(
        demo_page.page.evaluate(
            "pts => pts.map(p => carecircle.toGcj(p[0], p[1]))",
            np.column_stack([lon, lat]).tolist(),
        )
    )
    assert np.abs(got - expect).max() < 1e-12
    # Tiananmen, the geoChina package's published pair.
    g = demo_page.page.evaluate("carecircle.toGcj(116.39089, 39.90734)")
    assert abs(g[0] - 116.39713094) < 1e-7 and abs(g[1] - 39.90874107) < 1e-7


def _tile_pixel(lon: float, lat: float, z: int) -> tuple[float, float]:
    """Global Web Mercator pixel of a point at zoom ``z`` (256-pixel tiles)."""
    n = 256 * 2**z
    y = (1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2
    return (lon + 180) / 360 * n, y * n


def test_gaode_basemap_lines_up_with_the_data(browser: Any, map_dir: Path) -> None:
    """Gaode tiles (answered locally) mark a point where Gaode draws it, in GCJ-02; on the page
    the mark must land on the same point's WGS84 position, within a pixel or two (~3 m)."""
    from PIL import Image, ImageDraw

    z = 16
    lon, lat = 120.2718, 28.7927
    g_lon, g_lat = (float(v) for v in wgs84_to_gcj02(lon, lat))
    gx, gy = _tile_pixel(g_lon, g_lat, z)
    served: list[str] = []

    def serve(route: Any) -> bool:
        url = urlparse(route.request.url)
        if not url.hostname or not url.hostname.endswith("is.autonavi.com"):
            return False
        q = {k: int(v[0]) for k, v in parse_qs(url.query).items() if k in ("x", "y", "z")}
        img = Image.new("RGBA", (256, 256), (255, 255, 255, 255))
        if q["z"] == z:
            cx, cy = gx - 256 * q["x"], gy - 256 * q["y"]
            ImageDraw.Draw(img).ellipse([cx - 4, cy - 4, cx + 4, cy + 4], fill=(255, 0, 255, 255))
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        served.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=buf.getvalue())
        return True

    opened = open_page(browser, map_dir / "index.html", serve=serve)
    page = opened.page
    try:
        for _, box in overlays(page):  # a bare basemap: nothing drawn over the mark
            if box.is_checked():
                box.click()
        page.evaluate(f"carecircle.map.setView([{lat}, {lon}], {z}, {{animate: false}})")
        page.locator(".leaflet-control-layers-base label", has_text="高德").locator("input").click()
        page.wait_for_function("document.querySelectorAll('.cc-gaode-tile').length >= 4")
        page.wait_for_timeout(500)
        want = page.evaluate(
            f"(() => {{ const p = carecircle.map.latLngToContainerPoint([{lat}, {lon}]); return [p.x, p.y]; }})()"
        )
        shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    finally:
        page.context.close()
    pixels = np.asarray(shot).astype(int)
    mark = (pixels[..., 0] > 200) & (pixels[..., 1] < 80) & (pixels[..., 2] > 200)
    ys, xs = np.nonzero(mark)
    assert len(xs) > 10, "the Gaode mark is not on the page"
    assert abs(xs.mean() - want[0]) < 1.5 and abs(ys.mean() - want[1]) < 1.5
    assert served and opened.errors == []
    assert all("is.autonavi.com" in u for u in opened.remote)


# --- the comparison page -------------------------------------------------------------------------


def test_comparison_page_opens_offline(browser: Any, demo_root: Path, tmp_path: Path) -> None:
    slow = yaml.safe_load((demo_root / "scenarios" / "demo.yaml").read_text(encoding="utf-8"))
    slow["name"], slow["title"] = "demo-slow", "青溪县 步速0.8 / Qingxi at 0.8 m/s"
    slow["travel"]["walk_speed_mps"] = 0.8
    slow.pop("siting", None)
    path_b = demo_root / "scenarios" / "demo-slow.yaml"
    path_b.write_text(yaml.safe_dump(slow, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "cmp"
    result = CliRunner().invoke(
        main,
        ["compare", str(demo_root / "scenarios" / "demo.yaml"), str(path_b), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert data["b"]["share"] < data["a"]["share"]
    assert data["villages"]["worse"] > 0 and data["villages"]["better"] == 0
    opened = open_page(browser, out / "index.html")
    page = opened.page
    try:
        assert opened.remote == [] and opened.errors == []
        circle = page.locator('[data-figure="circle"]').first
        assert circle.locator('[data-run="a"] .cc-value').inner_text() == pct(data["a"]["share"])
        assert circle.locator('[data-run="b"] .cc-value').inner_text() == pct(data["b"]["share"])
        change = (data["b"]["share"] - data["a"]["share"]) * 100
        assert circle.locator(".cc-change").inner_text() == f"{change:+.1f} pp"
        for key, box in overlays(page):
            before = drawn(page, key)
            box.click()
            assert drawn(page, key) != before, key
            box.click()
        assert_not_blank(page.screenshot())
    finally:
        page.context.close()


# --- the county-size map -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def county_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """The county-size demo run end to end through the CLI: (output folder, seconds taken)."""
    root = tmp_path_factory.mktemp("county")
    generate_demo(root / "data" / "demo-county", size="county", seed=2022)
    scenario = yaml.safe_load((ROOT / "scenarios" / "demo.yaml").read_text(encoding="utf-8"))
    text = yaml.safe_dump(scenario, allow_unicode=True).replace("/data/demo/", "/data/demo-county/")
    scenario = yaml.safe_load(text)
    scenario["name"] = "demo-county"
    # The map is under test, not the regional-home model (its own tests time it).
    scenario.pop("siting", None)
    (root / "scenarios").mkdir()
    (root / "scenarios" / "demo-county.yaml").write_text(
        yaml.safe_dump(scenario, allow_unicode=True), encoding="utf-8"
    )
    out = root / "out"
    start = time.perf_counter()
    result = CliRunner().invoke(
        main, ["run", str(root / "scenarios" / "demo-county.yaml"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out, time.perf_counter() - start


@pytest.mark.slow
def test_county_map_is_light_and_opens_quickly(
    browser: Any,
    county_dir: tuple[Path, float],
    report_measurement: Callable[[str], None],
) -> None:
    out, run_seconds = county_dir
    size = (out / "index.html").stat().st_size
    opened = open_page(browser, out / "index.html")
    try:
        assert opened.remote == [] and opened.errors == []
        assert_not_blank(opened.page.screenshot())
    finally:
        opened.page.context.close()
    report_measurement(
        f"county demo map: {size / 1e6:.1f} MB (limit 15 MB), opened in Chromium in "
        f"{opened.seconds:.1f} s; run and outputs {run_seconds:.0f} s"
    )
    assert size < COUNTY_LIMIT_BYTES
    assert opened.seconds < 10
