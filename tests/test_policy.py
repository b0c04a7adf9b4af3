"""The rule catalogue against POLICY.md and the seed documents it was extracted from."""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path
from types import MappingProxyType

import pytest

from carecircle.planning import policy
from carecircle.planning.policy import (
    CATALOGUE,
    DOCUMENTS,
    MU_M2,
    NATIONAL_RULES,
    Citation,
    Rule,
    catalogue_table,
    get_rule,
    resolve,
)

SHARED = Path(__file__).parents[1] / ".." / "shared"
POLICY_MD = SHARED / "POLICY.md"
SEEDS = SHARED / "seeds"


# --- POLICY.md ------------------------------------------------------------------------------------


def _table_rows(section: re.Pattern[str]) -> list[list[str]]:
    """Cells of the markdown-table rows under the ``##`` headings matching ``section``."""
    rows: list[list[str]] = []
    inside = False
    for line in POLICY_MD.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            inside = bool(section.match(line))
            continue
        if not inside or not line.lstrip().startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if set(cells[0]) <= set("-: ") or cells[0] in ("id", "key"):
            continue
        rows.append(cells)
    return rows


def _policy_rules() -> dict[str, str]:
    """POLICY.md sections 1-5: rule id -> its ``doc · clause`` cell."""
    return {cells[0]: cells[1] for cells in _table_rows(re.compile(r"## [1-5]\. "))}


def _policy_documents() -> dict[str, tuple[str, str]]:
    """POLICY.md's document table: key -> (file, document cell)."""
    rows = _table_rows(re.compile(r"# The policies"))
    return {cells[0].strip("`"): (cells[1].strip("`"), cells[2]) for cells in rows}


POLICY_IDS = list(_policy_rules())


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _seed_text(doc_key: str) -> str:
    file = DOCUMENTS[doc_key].file
    assert file is not None
    return (SEEDS / file).read_text(encoding="utf-8")


SEED_CITATIONS = [
    pytest.param(rule.id, citation, id=f"{rule.id}-{i}")
    for rule in CATALOGUE.values()
    for i, citation in enumerate(rule.citations)
    if DOCUMENTS[citation.doc].file is not None
]


def test_policy_md_parsed() -> None:
    assert len(POLICY_IDS) >= 40
    assert "circle-15min" in POLICY_IDS and "village-center-rating" in POLICY_IDS
    assert set(_policy_documents()) == {
        "yueqing-2020",
        "minqing-2020",
        "rushan-2022",
        "wenzhou-2020",
        "tongxiang-2022",
    }


@pytest.mark.parametrize("rule_id", POLICY_IDS)
def test_every_policy_id_is_catalogued(rule_id: str) -> None:
    assert rule_id in CATALOGUE
    rule = CATALOGUE[rule_id]
    assert rule.id == rule_id
    assert rule.binding is True


def test_nothing_unknown_to_policy_md_but_the_national_norms() -> None:
    assert set(CATALOGUE) - set(POLICY_IDS) == set(NATIONAL_RULES)
    for rule_id in NATIONAL_RULES:
        rule = CATALOGUE[rule_id]
        assert rule.binding is False
        assert all(DOCUMENTS[c.doc].file is None for c in rule.citations)
    for rule_id in ("beds-per-1000-older", "building-m2-per-bed", "land-m2-per-bed"):
        assert rule_id in NATIONAL_RULES
    assert {"walk-speed-older", "nursing-share-national"} <= set(NATIONAL_RULES)


@pytest.mark.parametrize("rule_id", POLICY_IDS)
def test_cites_the_documents_policy_md_names(rule_id: str) -> None:
    named = set(re.findall(r"[a-z]+-20\d\d", _policy_rules()[rule_id]))
    assert named
    assert named <= {c.doc for c in CATALOGUE[rule_id].citations}


# --- documents ------------------------------------------------------------------------------------


def test_documents_match_policy_table() -> None:
    assert len(_policy_documents()) == 5
    for key, (file, cell) in _policy_documents().items():
        doc = DOCUMENTS[key]
        assert doc.key == key
        assert doc.file == file
        assert (SEEDS / file).exists()
        assert doc.number in cell
    national = {k for k, d in DOCUMENTS.items() if d.file is None}
    assert national == {
        "gb-50180-2018",
        "td-t-1062-2021",
        "gb-50437-2018",
        "national-14th-fyp",
        "land-use-guide",  # cited by the plan checker's land-use-compatible rule
    }


@pytest.mark.parametrize("key", ["yueqing-2020", "rushan-2022", "tongxiang-2022"])
def test_document_number_in_seed(key: str) -> None:
    assert DOCUMENTS[key].number in _seed_text(key)


@pytest.mark.parametrize("key", [k for k, d in DOCUMENTS.items() if d.file is not None])
def test_document_title_in_seed(key: str) -> None:
    squeeze = "".join
    assert squeeze(DOCUMENTS[key].title.split()) in squeeze(_seed_text(key).split())


def test_documents_immutable() -> None:
    assert isinstance(DOCUMENTS, MappingProxyType)
    assert isinstance(CATALOGUE, MappingProxyType)
    with pytest.raises(TypeError):
        DOCUMENTS["x"] = DOCUMENTS["yueqing-2020"]  # type: ignore[index]
    with pytest.raises(TypeError):
        CATALOGUE["x"] = CATALOGUE["new-beds"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        DOCUMENTS["yueqing-2020"].year = 2021


# --- citations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rule_id", "citation"), SEED_CITATIONS)
def test_quote_is_verbatim_in_seed(rule_id: str, citation: Citation) -> None:
    assert citation.quote.strip()
    assert len(citation.quote) <= 80
    assert _collapse(citation.quote) in _collapse(_seed_text(citation.doc)), rule_id


_PART = re.compile(r"^\s*([一二三四五六七八九十]+)、")
_SECTION = re.compile(r"^\s*（([一二三四五六七八九十]+)）")
_ITEM = re.compile(r"^\s*(\d+)[.．]")
_ANNEX_ROW = re.compile(r"^(\d+)\t")  # 乐清 annex: "3\t补齐…"
_WENZHOU_ROW = re.compile(r"^\t(\d+)\s*$")  # 温州 annex: "\t4"


def _clause_at(doc_key: str, text: str, offset: int) -> str:
    """The clause enclosing ``offset``, read off the document's own headings above it."""
    part = section = item = row = None
    annex = False
    for line in text[:offset].splitlines():
        if doc_key == "wenzhou-2020":
            if m := _WENZHOU_ROW.match(line):
                row = m.group(1)
            continue
        if line.strip() == "附件":
            annex, row = True, None
            continue
        if annex:
            if m := _ANNEX_ROW.match(line):
                row = m.group(1)
            continue
        if m := _PART.match(line):
            part, section, item = m.group(1), None, None
        elif m := _SECTION.match(line):
            section, item = m.group(1), None
        elif m := _ITEM.match(line):
            item = m.group(1)
    if doc_key == "wenzhou-2020":
        return f"第{row}项"
    if annex:
        return f"附件第{row}项"
    return f"{part}{f'({section})' if section else ''}{item or ''}"


@pytest.mark.parametrize(("rule_id", "citation"), SEED_CITATIONS)
def test_clause_matches_the_documents_numbering(rule_id: str, citation: Citation) -> None:
    text = _seed_text(citation.doc)
    pattern = r"\s*".join(re.escape(ch) for ch in citation.quote if not ch.isspace())
    found = [_clause_at(citation.doc, text, m.start()) for m in re.finditer(pattern, text)]
    assert found, rule_id
    assert citation.clause in found, f"{rule_id}: quote sits under {found}, cited {citation.clause}"


def test_citation_str_format() -> None:
    citation = Citation("yueqing-2020", "二(二)6", "2020 年底前乡镇（街道）养老服务中心实现全覆盖")
    assert str(citation) == "乐政办函〔2020〕24号 二(二)6"
    assert citation.document() is DOCUMENTS["yueqing-2020"]
    for rule in CATALOGUE.values():
        for c in rule.citations:
            assert str(c) == f"{DOCUMENTS[c.doc].number} {c.clause}"
            assert re.fullmatch(r"\S+", c.clause)
            assert "（" not in c.clause and "）" not in c.clause
    with pytest.raises(KeyError, match="yueqing-2020"):
        Citation("nowhere", "一", "x").document()


@pytest.mark.parametrize(
    ("rule_id", "expected"),
    [
        ("village-center-150", "乐政办函〔2020〕24号 二(二)6"),
        ("land-quota-250mu", "乐政办函〔2020〕24号 二(一)1"),
        ("mutual-aid-coverage", "乐政办函〔2020〕24号 二(二)8"),
        ("new-beds", "乐政办函〔2020〕24号 一"),
        ("medical-100", "乐政办函〔2020〕24号 二(四)12"),
        ("sw-per-elderly-500", "乐政办函〔2020〕24号 二(三)11"),
        ("rushan-coverage", "乳政发〔2022〕8号 二(七)"),
        ("meal-points", "乳政发〔2022〕8号 二(十)"),
        ("old-community-40", "乳政发〔2022〕8号 一(三)"),
        ("subsidy-nursing-bed", "乳政发〔2022〕8号 四(二十一)2"),
        ("private-share", "闽清县加快推进养老服务发展（2020-2022）实施方案 一2"),
        ("sw-minqing", "闽清县加快推进养老服务发展（2020-2022）实施方案 二(二)7"),
        ("county-public-200", "温州市养老服务高质量发展三年行动“2020奋进年”重点任务目标 第4项"),
        ("land-per-capita", "温州市养老服务高质量发展三年行动“2020奋进年”重点任务目标 第7项"),
        ("dementia-beds", "桐政发〔2022〕30号 一"),
        ("village-center-rating", "桐政发〔2022〕30号 二(二)8"),
        ("subsidy-embedded", "桐政发〔2022〕30号 二(一)2"),
    ],
)
def test_known_clauses(rule_id: str, expected: str) -> None:
    assert str(get_rule(rule_id).citations[0]) == expected


def test_cite_joins_all_citations() -> None:
    rule = get_rule("nursing-share-60")
    assert rule.cite() == (
        "闽清县加快推进养老服务发展（2020-2022）实施方案 一1; 乳政发〔2022〕8号 二(八); "
        "桐政发〔2022〕30号 一"
    )


# --- values ---------------------------------------------------------------------------------------

HAND_CHECKED = [
    ("circle-15min", "minutes", 15, "minutes"),
    ("village-center-coverage", None, 1.0, "share"),
    ("minqing-coverage", "happiness_homes", 0.8, "share"),
    ("minqing-coverage", "regional_centres", 3, "count"),
    ("mutual-aid-coverage", None, 0.6, "share"),
    ("meal-points", None, 100, "count"),
    ("new-beds", None, 8000, "beds"),
    ("nursing-share-55", None, 0.55, "share"),
    ("nursing-share-60", None, 0.6, "share"),
    ("nursing-share-51", None, 0.51, "share"),
    ("regional-homes", "homes", 4, "count"),
    ("regional-homes", "total_beds", 1000, "beds"),
    ("small-jingloyuan", "min_beds", 75, "beds"),
    ("county-public-200", "min_beds", 200, "beds"),
    ("rushan-zones", "south_max", 3, "count"),
    ("rushan-jingloyuan", "upgraded_homes", 12, "count"),
    ("dementia-beds", None, 20, "per_10000_older"),
    ("dementia-zone", None, 1, "count"),
    ("embedded-30-100", "min_beds", 30, "beds"),
    ("embedded-30-100", "max_beds", 100, "beds"),
    ("medical-100", "share", 0.30, "share"),
    ("medical-100", "new_public_min_beds", 200, "beds"),
    ("medical-100", "share_2020", 0.27, "share"),
    ("private-share", "beds", 0.8, "share"),
    ("land-quota-250mu", None, 250, "mu"),
    ("land-per-capita", None, 0.1, "m2_per_person"),
    ("residential-2permille", "permille", 2, "permille"),
    ("residential-2permille", "per_100_households_m2", 30, "per_100_households_m2"),
    ("residential-2permille", "min_site_m2", 300, "m2"),
    ("community-800", None, 800, "m2"),
    ("town-complex-3000", None, 3000, "m2"),
    ("village-center-150", None, 150, "m2"),
    ("old-community-40", None, 0.4, "share"),
    ("idle-admin-20", None, 0.2, "share"),
    ("conversion-1000", None, 1000, "m2"),
    ("idle-assets", None, 5, "years"),
    ("sw-per-beds-60", None, 60, "beds_per_worker"),
    ("sw-per-elderly-500", None, 500, "older_per_worker"),
    ("sw-minqing", "older_per_worker", 1000, "older_per_worker"),
    ("sw-minqing", "beds_per_worker", 100, "beds_per_worker"),
    ("sw-tongxiang", "social_workers", 25, "per_10000_older"),
    ("sw-tongxiang", "caregivers", 28, "per_10000_older"),
    ("sw-tongxiang", "senior_share", 0.18, "share"),
    ("subsidy-nursing-bed", None, 8000, "yuan_per_bed"),
    ("subsidy-operation", "moderate", 2400, "yuan_per_year"),
    ("subsidy-operation", "severe", 3600, "yuan_per_year"),
    ("subsidy-operation", "max_factor", 1.2, "ratio"),
    ("subsidy-town-center", "share", 0.5, "share"),
    ("subsidy-town-center", "cap_per_bed", 150_000, "yuan_per_bed"),
    ("subsidy-town-center", "cap_total", 60_000_000, "yuan"),
    ("subsidy-embedded", "per_m2", 800, "yuan_per_m2"),
    ("subsidy-embedded", "max_share", 0.5, "share"),
    ("rural-operation", "happiness_home", 6000, "yuan_per_year"),
    ("rural-operation", "day_care", 12000, "yuan_per_year"),
    ("village-center-rating", "rating_5a", 160_000, "yuan_per_year"),
    ("village-center-rating", "rating_3a", 100_000, "yuan_per_year"),
    ("village-center-rating", "township", 200_000, "yuan_per_year"),
    ("beds-per-1000-older", None, 40, "per_1000_older"),
    ("building-m2-per-bed", None, 35, "m2_per_bed"),
    ("land-m2-per-bed", "min", 18, "m2_per_bed"),
    ("land-m2-per-bed", "max", 44, "m2_per_bed"),
    ("walk-speed-older", "design", 1.0, "m_per_s"),
    ("walk-speed-older", "mean", 0.8, "m_per_s"),
    ("nursing-share-national", None, 0.55, "share"),
]


@pytest.mark.parametrize(("rule_id", "name", "value", "unit"), HAND_CHECKED)
def test_hand_checked_values(rule_id: str, name: str | None, value: float, unit: str) -> None:
    rule = get_rule(rule_id)
    assert rule.value(name) == pytest.approx(value)
    param = rule.params[name] if name else next(iter(rule.params.values()))
    assert param.unit == unit


def test_param_order_and_names() -> None:
    assert list(get_rule("residential-2permille").params) == [
        "permille",
        "per_100_households_m2",
        "min_site_m2",
    ]
    land = get_rule("land-m2-per-bed")
    assert land.value("min") <= land.value("planning") <= land.value("max")


def test_mu() -> None:
    assert MU_M2 == 666.67
    assert "666.67" in POLICY_MD.read_text(encoding="utf-8")
    assert get_rule("land-quota-250mu").value() * MU_M2 == pytest.approx(166_667.5)


def test_catalogue_well_formed() -> None:
    units = set(typing.get_args(policy.Unit))
    for rule in CATALOGUE.values():
        assert rule.scope in typing.get_args(policy.Scope)
        assert rule.kind in typing.get_args(policy.Kind)
        assert rule.title_zh and rule.title_en and rule.description_zh and rule.description_en
        assert rule.citations
        assert isinstance(rule.params, MappingProxyType)
        for name, param in rule.params.items():
            assert re.fullmatch(r"[a-z][a-z0-9_]*", name)
            assert param.unit in units
            assert param.name_zh and param.name_en
            if param.unit == "share":
                assert 0 <= param.value <= 1, (rule.id, name)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", u) for u in units)


# --- overrides ------------------------------------------------------------------------------------


def test_with_values_single() -> None:
    rule = get_rule("nursing-share-55")
    changed = rule.with_values(0.6)
    assert changed.value() == 0.6
    assert rule.value() == 0.55
    assert CATALOGUE["nursing-share-55"].value() == 0.55
    assert changed.citations == rule.citations and changed.id == rule.id
    assert isinstance(changed.params, MappingProxyType)
    assert rule.with_values(None) == rule
    assert rule.with_values({"value": 0.7}).value() == 0.7
    assert rule.with_values(1).value() == 1.0


def test_with_values_mapping_keeps_order_and_others() -> None:
    rule = get_rule("residential-2permille")
    changed = rule.with_values({"min_site_m2": 200, "permille": 3})
    assert list(changed.params) == list(rule.params)
    assert changed.value("permille") == 3
    assert changed.value("per_100_households_m2") == 30
    assert changed.value("min_site_m2") == 200
    assert rule.value("permille") == 2


def test_with_values_errors_name_valid_params() -> None:
    rule = get_rule("residential-2permille")
    with pytest.raises(ValueError, match="permille, per_100_households_m2, min_site_m2"):
        rule.with_values(3.0)
    with pytest.raises(ValueError, match=r"'per_mille'.*valid: permille, per_100"):
        rule.with_values({"per_mille": 3.0})
    with pytest.raises(ValueError, match="finite"):
        rule.with_values({"permille": float("nan")})
    with pytest.raises(ValueError, match="number"):
        get_rule("new-beds").with_values(True)
    with pytest.raises(ValueError, match=r"valid: \(none\)"):
        get_rule("medical-adjacency").with_values({"distance": 1.0})


def test_value_errors() -> None:
    with pytest.raises(KeyError, match="permille, per_100_households_m2, min_site_m2"):
        get_rule("residential-2permille").value()
    with pytest.raises(KeyError, match="valid: value"):
        get_rule("new-beds").value("beds")
    with pytest.raises(KeyError, match="no parameters"):
        get_rule("adjacent-projects").value()


def test_frozen() -> None:
    rule = get_rule("new-beds")
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.id = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        rule.params["value"] = rule.params["value"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.params["value"].value = 1.0  # type: ignore[misc]
    assert hash(rule) == hash(rule.with_values(9000))  # params are not part of the hash
    assert rule != rule.with_values(9000)


def test_resolve() -> None:
    resolved = resolve(
        {"new-beds": 3000, "residential-2permille": {"permille": 3}, "meal-points": None}
    )
    assert list(resolved) == ["new-beds", "residential-2permille", "meal-points"]
    assert all(isinstance(r, Rule) for r in resolved.values())
    assert resolved["new-beds"].value() == 3000
    assert resolved["residential-2permille"].value("permille") == 3
    assert resolved["meal-points"] is CATALOGUE["meal-points"]
    assert CATALOGUE["new-beds"].value() == 8000
    assert resolve({}) == {}


def test_unknown_rule_suggests_close_matches() -> None:
    with pytest.raises(KeyError, match="nursing-share-55"):
        get_rule("nursing-share-56")
    with pytest.raises(KeyError, match="village-center-150"):
        resolve({"village-centre-150": 100})
    with pytest.raises(KeyError, match="carecircle rules"):
        get_rule("zzzzzz")


# --- table ----------------------------------------------------------------------------------------


def test_catalogue_table() -> None:
    rows = catalogue_table()
    assert [row["id"] for row in rows] == list(CATALOGUE)
    assert set(rows[0]) >= {"id", "title_zh", "title_en", "scope", "kind", "params", "citation"}
    by_id = {row["id"]: row for row in rows}
    assert by_id["residential-2permille"]["params"] == (
        "permille=2 permille; per_100_households_m2=30 per_100_households_m2; min_site_m2=300 m2"
    )
    assert by_id["nursing-share-55"]["params"] == "value=0.55 share"
    assert str(by_id["subsidy-town-center"]["params"]).endswith("cap_total=60000000 yuan")
    assert by_id["village-center-150"]["citation"] == "乐政办函〔2020〕24号 二(二)6"
    assert by_id["medical-adjacency"]["params"] == ""
    assert by_id["land-m2-per-bed"]["binding"] is False
