"""Names from the data are text on every page: never template source, never markup, never script.

A village, township, facility or parcel name, or a scenario title, such as ``{{7*7}}``,
``{{ lipsum.__globals__.os.popen('touch MARKER').read() }}`` or ``</script><script>...`` once
ran as Jinja2 when the map was written (branca compiles the text it is given as a template).
Here the demo county is copied with such names and run through the real CLI (``run``,
``compare``, ``check-plan``, ``batch``); every page must show the names literally, run nothing
(no marker file, no dialog, ``window.__pwned`` undefined, no console error) and stay offline,
with the popups and tooltips that hold the names opened in Chromium.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import geopandas as gpd
import markupsafe
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from test_browser import CHROMIUM, FLAGS

from carecircle.cli import main
from carecircle.outputs import maps
from carecircle.outputs.html import ENV, macros, script_json
from carecircle.pipeline import RunResult
from carecircle.sources.network import CACHE_ENV

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "carecircle"

# Each is put into names and titles as it is; MARKER becomes a path in the test's folder.
PAYLOADS = (
    "{{7*7}}",
    "{% for x in range(3) %}x{% endfor %}",
    "{{ lipsum.__globals__.os.popen('touch MARKER').read() }}",
    # Without quotes (JSON escapes those): makes the folder "pwned_dir" where the process runs.
    "{{ lipsum.__globals__.os.mkdir(dict(pwned_dir=1)|join) }}",
    "{{ ''.__class__.__mro__ }}",
    "</script><script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1">',
    '"><svg onload=alert(1)>',
    "'-alert(1)-'",
    "a\u2028b\u2029c",
    "\\u003c/script>",
    "${alert(1)}",
    "`${alert(1)}`",
    "{# comment #}{{ 7*7 }}{%",
)
# The pieces hypothesis builds names from: template, HTML and JavaScript syntax.
PIECES = (
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "#}",
    "<",
    ">",
    "&",
    "'",
    '"',
    "`",
    "${",
    "}",
    "\\",
    "/",
    "</script>",
    "<!--",
    "-->",
    "\u2028",
    "\u2029",
    "7*7",
    " / ",
    "〔",
    " [",
    "x",
    "村",
)
names = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=4)), max_size=8).map("".join)


def payloads(marker: Path) -> list[str]:
    return [p.replace("MARKER", str(marker)) for p in PAYLOADS]


# --- script_json and the one Environment ----------------------------------------------------------


def test_script_json_escapes_what_could_end_a_script() -> None:
    text = script_json({"k": "<>&'\u2028\u2029", "n": [1, None]})
    assert str(text) == '{"k":"\\u003c\\u003e\\u0026\\u0027\\u2028\\u2029","n":[1,null]}'
    assert isinstance(text, markupsafe.Markup)  # not escaped again inside a template
    with pytest.raises(ValueError):
        script_json(float("nan"))
    with pytest.raises(ValueError):
        script_json({"share": float("inf")})


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | names,
        lambda c: st.lists(c) | st.dictionaries(names, c),
    )
)
def test_script_json_reads_back_and_holds_no_unsafe_character(value: Any) -> None:
    text = str(script_json(value))
    assert json.loads(text) == value
    assert not re.search("[<>&'\u2028\u2029]", text)


def test_every_template_is_loaded_through_the_one_autoescaping_environment() -> None:
    folder = PACKAGE / "outputs" / "templates"
    names = sorted(p.name for p in folder.glob("*.j2"))
    assert {"map.html.j2", "report.html.j2", "verdicts.html.j2", "province.html.j2"} <= set(names)
    for name in names:
        template = ENV.get_template(name)
        assert template.environment is ENV
        on = ENV.autoescape(name) if callable(ENV.autoescape) else ENV.autoescape
        assert on is True, name
    assert ENV.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
    assert str(macros("map.html.j2").bi("<b>", "{{7*7}}")) == (
        '<span class="cc-zh">&lt;b&gt;</span><span class="cc-en">{{7*7}}</span>'
    )
    with pytest.raises(Exception, match="undefined"):
        ENV.from_string("{{ nothing.here }}").render()


def _calls(tree: ast.AST) -> Iterator[tuple[str, ast.Call]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield ast.unparse(node.func), node


def test_no_template_is_built_from_anything_but_a_literal() -> None:
    """Only outputs/html.py makes a jinja2 Environment; every Template(...) anywhere is a
    literal string, and nothing calls branca's Element(...) with text (it compiles it)."""
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name, call in _calls(tree):
            where = f"{path.relative_to(ROOT)}:{call.lineno} {name}"
            if name.endswith("Environment") or name.endswith("from_string"):
                assert path.name == "html.py" and path.parent.name == "outputs", where
            if name.endswith("Template"):
                assert all(isinstance(a, ast.Constant) for a in call.args), where
            if name.endswith("element.Element") or name == "Element":
                assert not call.args and not call.keywords, where


class _Text(HTMLParser):
    """The tags, attribute names and text of an HTML fragment, as a browser's parser reads them;
    ``within[tag]`` is the text inside each such element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[str] = []
        self.text: list[str] = []
        self.within: dict[str, list[str]] = {}
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(name for name, _ in attrs)
        if tag not in ("i", "br", "img"):
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            del self._open[len(self._open) - 1 - self._open[::-1].index(tag) :]

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        for tag in set(self._open):
            self.within.setdefault(tag, []).append(data)


def _parsed(fragment: str) -> _Text:
    p = _Text()
    p.feed(fragment)
    p.close()
    return p


SAFE_TAGS = {"div", "h4", "i", "span", "table", "tr", "th", "td", "b", "br", "ul", "li"}


def _assert_text(fragment: str, name: str) -> _Text:
    """``fragment`` holds only the page's own tags, no event attribute, and ``name`` as the
    text of its heading (or bold) element."""
    parsed = _parsed(fragment)
    assert set(parsed.tags) <= SAFE_TAGS, parsed.tags
    assert {a for a in parsed.attrs} <= {"class", "style", "data-layer"}, parsed.attrs
    heading = "h4" if "h4" in parsed.within else "b"
    assert "".join(parsed.within[heading]) == name
    return parsed


@given(name=names.map(lambda s: "N:" + s))
def test_popups_and_tooltips_hold_any_name_as_text(name: str) -> None:
    row = {"name": name, "id": name, "type": name, "beds": 12.0, "nursing_beds": float("nan")}
    facility = _assert_text(maps._facility_popup(row, "village"), name)
    assert name in facility.within["td"]  # the type, as text
    site = row | {"kind": name, "land_use": name, "zone": name, "candidate_id": name}
    _assert_text(maps._site_popup(site), name)
    _assert_text(maps._site_tip(row), name)
    gap = {"name": name, "scope": name, "township": name, "reasons_zh": name, "reasons_en": name}
    _assert_text(maps._gap_html(gap), name)
    assert _parsed(maps.layer_name(name, name, name, n=3)).text == [name, name, " ", "(3)"]
    title = _parsed(maps.panel_title(name))
    assert set(title.tags) <= {"span"}
    assert "".join(title.text) == name.replace(" / ", "", 1)


@dataclass
class Opened:
    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    @property
    def remote(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file:", "data:"))]

    def assert_nothing_ran(self) -> None:
        assert self.dialogs == []
        assert self.page.evaluate("typeof window.__pwned") == "undefined"
        assert self.errors == []
        assert self.remote == []


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "Debian's chromium is missing: `make test` installs it (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


def open_page(browser: Any, path: Path, *, is_map: bool) -> Opened:
    """Open ``path`` offline, recording requests, console errors and any alert/confirm/prompt."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    opened = Opened(page)
    page.on("request", lambda r: opened.requests.append(r.url))
    page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: opened.errors.append(str(e)))

    def dialog(d: Any) -> None:
        opened.dialogs.append(f"{d.type}: {d.message}")
        d.dismiss()

    page.on("dialog", dialog)
    page.route(
        "**/*",
        lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort(),
    )
    page.goto(path.as_uri(), wait_until="load")
    if is_map:
        page.wait_for_function("window.carecircle && window.carecircle.map", timeout=30000)
        page.wait_for_selector(".leaflet-pane path, .leaflet-pane canvas", state="attached")
    page.wait_for_timeout(300)  # an onerror or a timer would have run by now
    return opened


# Every feature with a popup or a tooltip, clicked and hovered (the events propagate to the
# GeoJSON layer that binds them); the text each showed, read as textContent.
OPEN_ALL_JS = """() => {
  const map = carecircle.map;
  const text = e => e.getElement().querySelector('.leaflet-popup-content') || e.getElement();
  let popup = null, tooltip = null;
  map.on('popupopen', e => { popup = text(e.popup).textContent; });
  map.on('tooltipopen', e => { tooltip = e.tooltip.getElement().textContent; });
  const leaves = [];
  map.eachLayer(l => { if (l.feature && !l.getLayers) leaves.push(l); });
  const shown = [];
  for (const l of leaves) {
    const at = l.getLatLng ? l.getLatLng() : l.getBounds().getCenter();
    popup = tooltip = null;
    l.fire('click', {latlng: at}, true);
    map.closePopup();
    l.fire('mouseover', {latlng: at}, true);
    l.fire('mouseout', {latlng: at}, true);
    shown.push({kind: l.feature.geometry.type, popup: popup, tooltip: tooltip});
  }
  return shown;
}"""


def open_everything(opened: Opened) -> tuple[str, str]:
    shown = opened.page.evaluate(OPEN_ALL_JS)
    assert shown, "no feature on the map"
    popups = "\n".join(s["popup"] or "" for s in shown)
    tips = "\n".join(s["tooltip"] or "" for s in shown)
    return popups, tips


# --- the demo county with names that are code ------------------------------------------------------


@dataclass(frozen=True)
class County:
    root: Path
    scenario: Path
    marker: Path
    payloads: list[str]
    villages: list[str]
    townships: list[str]
    facilities: list[str]
    parcels: list[str]
    title: str

    def assert_untouched(self) -> None:
        """No payload ran: no marker file, no folder made in the working directory."""
        assert not self.marker.exists()
        assert not (self.root / "pwned_dir").exists()


def _tagged(prefix: str, n: int, items: list[str]) -> list[str]:
    """Names ``V0:<payload>``, ``V1:<payload>`` ...: every payload used, each name unique."""
    return [f"{prefix}{i}:{items[i % len(items)]}" for i in range(n)]


@pytest.fixture(scope="module")
def county(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[County]:
    root = tmp_path_factory.mktemp("payload-county")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(root / "cache"))
        mp.chdir(root)
        yield _payload_county(demo_root, root)


def _payload_county(demo_root: Path, root: Path) -> County:
    marker = root / "MARKER"
    items = payloads(marker)
    shutil.copytree(demo_root / "data", root / "data")
    data = root / "data" / "demo"
    admin = data / "admin.gpkg"
    layers: dict[str, gpd.GeoDataFrame] = {
        layer: gpd.read_file(admin, layer=layer) for layer in ("county", "townships", "villages")
    }
    joined = " ".join(items)
    layers["townships"]["XZQMC"] = [f"T{i}:{joined}" for i in range(len(layers["townships"]))]
    layers["villages"]["XZQMC"] = _tagged("V", len(layers["villages"]), items)
    admin.unlink()
    for layer, frame in layers.items():
        frame.to_file(admin, layer=layer, driver="GPKG")
    parcels = gpd.read_file(data / "parcels.gpkg", layer="parcels")
    parcels["DKMC"] = [f"P{i}:{joined}" for i in range(len(parcels))]
    (data / "parcels.gpkg").unlink()
    parcels.to_file(data / "parcels.gpkg", layer="parcels", driver="GPKG")
    facilities = pd.read_csv(data / "facilities.csv", encoding="utf-8-sig", dtype=str)
    facilities["机构名称"] = _tagged("F", len(facilities), items)
    facilities.to_csv(data / "facilities.csv", index=False, encoding="utf-8-sig")
    raw = yaml.safe_load((ROOT / "scenarios" / "demo.yaml").read_text(encoding="utf-8"))
    raw["title"] = f"青溪县 {joined} / Qingxi {items[0]} {items[4]}"
    (root / "scenarios").mkdir()
    scenario = root / "scenarios" / "demo.yaml"
    scenario.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return County(
        root,
        scenario,
        marker,
        items,
        list(layers["villages"]["XZQMC"]),
        list(layers["townships"]["XZQMC"]),
        list(facilities["机构名称"]),
        list(parcels["DKMC"]),
        raw["title"],
    )


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(main, ["-q", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def run_out(county: County) -> Path:
    out = county.root / "out"
    result = _invoke("run", str(county.scenario), "--out", str(out))
    assert result.exit_code == 0, result.output
    county.assert_untouched()
    return out


def _page_data(page: str) -> list[dict[str, Any]]:
    """The GeoJSON properties of every layer of a written map page."""
    found = re.findall(r"_add\((\{.*\})\);", page)
    return [f["properties"] for d in found for f in json.loads(d)["features"]]


def _assert_static(page: str, county: County) -> None:
    """What the file says before a browser reads it: every payload in the layers' data, as the
    escaped text of a name; nothing evaluated; only the page's own scripts."""
    county.assert_untouched()
    data = json.dumps(_page_data(page), ensure_ascii=False)
    for p in county.payloads:
        assert json.dumps(str(markupsafe.escape(p)), ensure_ascii=False)[1:-1] in data, p
    assert "class 'str'" not in data and "xxx" not in data
    # Leaflet, map.js, folium's switches and its one script of layers.
    assert page.count("<script") == SCRIPTS and page.count("</script>") == SCRIPTS
    for payload in ("<img src=x", "<svg onload"):
        assert payload not in page


SCRIPTS = 4


def test_run_writes_names_as_text_and_runs_nothing(
    run_out: Path, county: County, browser: Any
) -> None:
    page = (run_out / "index.html").read_text(encoding="utf-8")
    _assert_static(page, county)
    title = re.search("<title>(.*?)</title>", page, flags=re.S)
    assert title and markupsafe.Markup(title.group(1)).unescape().startswith(county.title)
    props = _page_data(page)
    popups_html = [p["html"] for p in props if "html" in p]
    for name in county.facilities:  # escaped once, in the popup's heading
        heading = f"<h4>{markupsafe.escape(name)}</h4>"
        assert any(heading in h for h in popups_html), name

    opened = open_page(browser, run_out / "index.html", is_map=True)
    try:
        page_ = opened.page
        assert page_.title() == f"{county.title} — 养老服务圈地图 / coverage map"
        panel_zh = page_.locator("#cc-panel .cc-title .cc-zh").text_content()
        panel_en = page_.locator("#cc-panel .cc-title .cc-en").text_content()
        zh, _, en = county.title.partition(" / ")
        assert (panel_zh, panel_en) == (zh, en)
        popups, tips = open_everything(opened)
        for name in [*county.villages, *county.facilities]:
            assert name in popups, name
            assert name in tips, name
        for name in county.townships:  # in the tooltips of the township boundaries, and gaps
            assert name in tips, name
        recommended = [n for n in county.parcels if n in popups]
        assert recommended, "no recommended parcel carries its name into a popup"
        for name in recommended:
            assert name in tips
        opened.assert_nothing_ran()
        page_.screenshot(path=str(run_out / "payload-map.png"))
    finally:
        opened.page.context.close()

    report = open_page(browser, run_out / "report.html", is_map=False)
    try:
        text = report.page.locator("body").text_content()
        for name in [*county.villages, *county.townships, county.title]:
            assert name in text, name
        assert report.page.title().startswith(county.title)
        report.assert_nothing_ran()
    finally:
        report.page.context.close()


def test_popup_screenshot_shows_the_name_as_text(
    run_out: Path, county: County, browser: Any
) -> None:
    """One facility's popup open, for a person to look at (payload-popup.png beside the map)."""
    opened = open_page(browser, run_out / "index.html", is_map=True)
    try:
        name = next(n for n in county.facilities if "{{7*7}}" in n)
        text = opened.page.evaluate(
            """(name) => {
              let shown = null;
              carecircle.map.eachLayer(l => {
                if (shown === null && l.feature && l.feature.properties.html &&
                    l.feature.properties.html.indexOf(name) >= 0 && l.getLatLng) {
                  carecircle.map.setView(l.getLatLng(), 15, {animate: false});
                  l.fire('click', {latlng: l.getLatLng()}, true);
                  shown = document.querySelector('.leaflet-popup-content h4').textContent;
                }
              });
              return shown;
            }""",
            name,
        )
        assert text == name
        opened.page.wait_for_timeout(300)
        opened.page.screenshot(path=str(run_out / "payload-popup.png"))
        opened.assert_nothing_ran()
    finally:
        opened.page.context.close()


def test_compare_writes_names_as_text_and_runs_nothing(county: County, browser: Any) -> None:
    raw = yaml.safe_load(county.scenario.read_text(encoding="utf-8"))
    raw["name"], raw["title"] = "slow", f"步速0.8 {county.payloads[2]} / slow {county.payloads[5]}"
    raw["travel"]["walk_speed_mps"] = 0.8
    raw.pop("siting", None)
    slow = county.scenario.with_name("slow.yaml")
    slow.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    out = county.root / "compare"
    result = _invoke("compare", str(county.scenario), str(slow), "--out", str(out))
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text(encoding="utf-8")
    _assert_static(page, county)
    opened = open_page(browser, out / "index.html", is_map=True)
    try:
        panel = opened.page.locator("#cc-panel .cc-small").text_content()
        assert county.title.partition(" / ")[0] in panel
        assert raw["title"].partition(" / ")[0] in panel
        _, tips = open_everything(opened)
        for name in [*county.villages, *county.townships]:
            assert name in tips, name
        opened.assert_nothing_ran()
    finally:
        opened.page.context.close()


def test_check_plan_writes_names_as_text_and_runs_nothing(
    run_out: Path, county: County, browser: Any
) -> None:
    plan = gpd.read_file(run_out / "recommended_plan.gpkg", layer="养老设施")
    plan["名称"] = _tagged("R", len(plan), county.payloads)
    path = county.root / "plan.gpkg"
    plan.to_file(path, layer="养老设施", driver="GPKG")
    out = county.root / "plan-check"
    result = _invoke("check-plan", str(path), "--scenario", str(county.scenario), "--out", str(out))
    assert result.exit_code in (0, 1), result.output
    county.assert_untouched()
    opened = open_page(browser, out / "verdicts.html", is_map=False)
    try:
        text = opened.page.locator("body").text_content()
        for name in plan["名称"]:
            assert name in text, name
        assert county.title in text
        opened.assert_nothing_ran()
    finally:
        opened.page.context.close()


@pytest.mark.slow
def test_batch_index_shows_titles_and_failures_as_text(county: County, browser: Any) -> None:
    raw = yaml.safe_load(county.scenario.read_text(encoding="utf-8"))
    raw["name"] = "broken"
    missing = f"../data/demo/missing {county.payloads[0]} {county.payloads[4]}.csv"
    raw["data"]["facilities"]["path"] = missing
    broken = county.scenario.with_name("broken.yaml")
    broken.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    out = county.root / "batch"
    result = _invoke(
        "batch", str(county.scenario), str(broken), "--out", str(out), "--workers", "1"
    )
    assert result.exit_code == 1, result.output  # the broken county fails alone
    county.assert_untouched()
    province = json.loads((out / "province_summary.json").read_text(encoding="utf-8"))
    reason = next(c["reason"] for c in province["counties"] if c["name"] == "broken")
    assert "{{7*7}}" in reason
    opened = open_page(browser, out / "index.html", is_map=False)
    try:
        page = opened.page
        assert page.locator("td.reason").text_content() == reason
        assert county.title in page.locator("tbody").text_content()
        assert page.locator("td.reason script, td.reason img, td.reason svg").count() == 0
        assert page.locator("a[href='demo/index.html']").count() == 1
        opened.assert_nothing_ran()
    finally:
        opened.page.context.close()


# --- any name, through the whole coverage map ----------------------------------------------------


def _renamed(run: RunResult, name: str) -> RunResult:
    def rename(frame: gpd.GeoDataFrame, tag: str) -> gpd.GeoDataFrame:
        return frame.assign(name=[f"{tag}{i}:{name}" for i in range(len(frame))])

    scenario = run.scenario.model_copy(update={"title": f"{name} / {name}"})
    return dataclasses.replace(
        run,
        scenario=scenario,
        villages=rename(run.villages, "V"),
        townships=rename(run.townships, "T"),
        facilities=rename(run.facilities, "F"),
    )


class _Demo:
    """The demo run behind a short repr (not a dataclass: hypothesis pretty-prints those field
    by field, and the run's repr is huge)."""

    def __init__(self, run: RunResult) -> None:
        self.run = run

    def __repr__(self) -> str:
        return "<the demo run>"


@pytest.fixture(scope="module")
def demo(demo_run: RunResult) -> _Demo:
    return _Demo(demo_run)


@settings(max_examples=8, deadline=None)
@given(name=names)
def test_coverage_map_holds_any_name_as_data(
    demo: _Demo, name: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run = _renamed(demo.run, name)
    path = tmp_path_factory.mktemp("any-name") / "index.html"
    maps.save_map(maps.coverage_map(run), path)
    with path.open(encoding="utf-8", newline="") as f:  # a CR in a name stays a CR
        page = f.read()
    assert page.count("<script") == SCRIPTS and page.count("</script>") == SCRIPTS
    title = re.search("<title>(.*?)</title>", page, flags=re.S)
    assert title and markupsafe.Markup(title.group(1)).unescape().startswith(f"{name} / {name}")
    heads = {
        h
        for p in _page_data(page)
        if "html" in p
        for h in re.findall("<h4>(.*?)</h4>", p["html"], re.S)
    }
    for frame, tag in ((run.villages, "V"), (run.facilities, "F")):
        for i in range(len(frame)):
            assert str(markupsafe.escape(f"{tag}{i}:{name}")) in heads
    panel = page[page.index('<div class="cc-title">') :]
    title_text = _parsed(panel[: panel.index("</div>")]).text
    assert "".join(title_text) == f"{name} / {name}".replace(" / ", "", 1)
