"""The rule catalogue: every policy target of the seed documents as data, with its citation.

Each :class:`Rule` carries its numbers as named :class:`Param` values (with units), its scope and
kind (``S`` spatial, ``A`` attribute, ``R`` reported only, as in ``POLICY.md``) and one or more
:class:`Citation` objects that point at the clause *as the document itself numbers it* together
with a short verbatim quote, so every verdict can be traced back to the text.

Clause notation (ASCII parentheses, no spaces):

* ``一`` / ``二(二)6`` -- part 一、…; section （二）; item 6. (乐清, 闽清, 桐乡 number their items
  continuously across sections; the part and section are kept anyway so the clause can be found
  by reading down the document's own headings.)
* ``一1`` -- item 1 directly under part 一 (闽清 一、工作目标 1.服务网络更加健全).
* ``二(七)`` / ``四(二十一)2`` -- 乳山: part, section, sub-item.
* ``第4项`` -- row 4 (序号 4) of the 温州 annex table; ``附件第3项`` -- row 3 of 乐清's own annex.
* ``—`` -- the clause of a national standard that has not been checked against the official text.

The seed documents are the authority; where ``POLICY.md`` summarises a target differently the
seed text was followed and the difference is noted in a comment beside the rule (``# SEED:``).

Scope is the unit a rule is evaluated over: ``village`` (administrative village or urban
community), ``township`` (乡镇/街道), ``county`` (the whole county-level city), ``facility`` (one
institution, centre or site), ``project`` (one residential development) or ``plan`` (a figure of
the plan or of the model itself).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal

__all__ = [
    "CATALOGUE",
    "DOCUMENTS",
    "MU_M2",
    "NATIONAL_RULES",
    "PLACES",
    "Citation",
    "Document",
    "Kind",
    "Param",
    "Rule",
    "Scope",
    "Unit",
    "catalogue_table",
    "circle_minutes",
    "get_rule",
    "resolve",
]

Scope = Literal["village", "township", "county", "facility", "project", "plan"]
Kind = Literal["S", "A", "R"]
Unit = Literal[
    "share",
    "count",
    "beds",
    "m",
    "m2",
    "km2",
    "m2_per_bed",
    "m2_per_person",
    "mu",
    "minutes",
    "years",
    "grade",
    "ratio",
    "m_per_s",
    "per_1000_older",
    "per_10000_older",
    "per_100_households_m2",
    "permille",
    "yuan",
    "yuan_per_bed",
    "yuan_per_m2",
    "yuan_per_year",
    "beds_per_worker",
    "older_per_worker",
    "percent",
]

# 1 亩 in m². POLICY.md states 1 亩 = 666.67 m²; the exact value is 10000/15 = 666.666… m². We use
# POLICY.md's figure so that areas printed by the planner match the figure planners and land
# bureaus quote; the difference is 0.0005 % (250 亩 -> 166,667.5 m² instead of 166,666.7 m²).
MU_M2 = 666.67


@dataclass(frozen=True)
class Document:
    """A policy document or national standard that rules cite."""

    key: str
    number: str
    title: str
    issuer: str
    year: int
    file: str | None


@dataclass(frozen=True)
class Citation:
    """A clause of a document, in the document's own numbering, with a short verbatim quote."""

    doc: str
    clause: str
    quote: str

    def document(self) -> Document:
        try:
            return DOCUMENTS[self.doc]
        except KeyError:
            valid = ", ".join(DOCUMENTS)
            raise KeyError(f"unknown document {self.doc!r}; valid: {valid}") from None

    def __str__(self) -> str:
        return f"{self.document().number} {self.clause}"


@dataclass(frozen=True)
class Param:
    """One number of a rule."""

    value: float
    unit: Unit
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class Rule:
    """A policy target: named parameters, where it applies, and where the documents state it."""

    id: str
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    scope: Scope
    kind: Kind
    # Read-only and ordered; excluded from hashing because mapping proxies are not hashable.
    params: Mapping[str, Param] = field(hash=False)
    citations: tuple[Citation, ...]
    binding: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.params, MappingProxyType):
            object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        object.__setattr__(self, "citations", tuple(self.citations))

    def value(self, name: str | None = None) -> float:
        """The value of parameter ``name`` (may be omitted when the rule has exactly one)."""
        if name is None:
            if len(self.params) == 1:
                return next(iter(self.params.values())).value
            if not self.params:
                raise KeyError(f"rule {self.id!r} has no parameters")
            raise KeyError(
                f"rule {self.id!r} has several parameters; name one of: {', '.join(self.params)}"
            )
        try:
            return self.params[name].value
        except KeyError:
            raise KeyError(
                f"rule {self.id!r} has no parameter {name!r}; valid: {self._valid_names()}"
            ) from None

    def with_values(self, override: float | Mapping[str, float] | None) -> Rule:
        """A copy with parameter values replaced; ``None`` leaves the rule unchanged.

        A bare number is accepted only for single-parameter rules; a mapping may name any subset
        of the parameters. Unknown names, several-parameter rules given a bare number and
        non-finite values raise :class:`ValueError` naming the valid parameters.
        """
        if override is None:
            return self
        if isinstance(override, Mapping):
            unknown = [str(k) for k in override if k not in self.params]
            if unknown:
                raise ValueError(
                    f"rule {self.id!r} has no parameter(s) {', '.join(map(repr, unknown))}; "
                    f"valid: {self._valid_names()}"
                )
            new = {str(k): _number(self.id, str(k), v) for k, v in override.items()}
        else:
            if len(self.params) != 1:
                raise ValueError(
                    f"rule {self.id!r} has {len(self.params)} parameters; give a mapping of "
                    f"{self._valid_names()} instead of a single number"
                )
            (only,) = self.params
            new = {only: _number(self.id, only, override)}
        params = {
            name: replace(param, value=new[name]) if name in new else param
            for name, param in self.params.items()
        }
        return replace(self, params=MappingProxyType(params))

    def cite(self) -> str:
        """All clauses cited, once each: ``乐政办函〔2020〕24号 一; 乐政办函〔2020〕24号 二(二)6``."""
        return "; ".join(dict.fromkeys(str(c) for c in self.citations))

    def _valid_names(self) -> str:
        return ", ".join(self.params) if self.params else "(none)"


def _number(rule_id: str, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"rule {rule_id!r} parameter {name!r}: expected a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"rule {rule_id!r} parameter {name!r}: must be finite, got {value!r}")
    return float(value)


# --- documents ------------------------------------------------------------------------------------

DOCUMENTS: Mapping[str, Document] = MappingProxyType(
    {
        d.key: d
        for d in (
            Document(
                key="yueqing-2020",
                number="乐政办函〔2020〕24号",
                title="乐清市养老服务高质量发展三年行动计划（2020-2022年）",
                issuer="乐清市人民政府办公室",
                year=2020,
                file="000_c9e0ecc93306d4eb.txt",
            ),
            # The seed carries no 文号, no issuing body and no date. The issuer below is the
            # county government as the plan's 责任单位 (县级各局、各乡镇人民政府) imply; whether
            # it was issued by 闽清县人民政府 or its 办公室 is not stated in the text. The year is
            # that of the plan's start (2020-2022).
            Document(
                key="minqing-2020",
                number="闽清县加快推进养老服务发展（2020-2022）实施方案",
                title="闽清县加快推进养老服务发展（2020-2022）实施方案",
                issuer="闽清县人民政府",
                year=2020,
                file="001_3c1d169534daab67.txt",
            ),
            Document(
                key="rushan-2022",
                number="乳政发〔2022〕8号",
                title="乳山市人民政府关于进一步推进养老服务高质量发展的实施意见",
                issuer="乳山市人民政府",
                year=2022,
                file="002_d48a2c7ca3bdf559.txt",
            ),
            # The seed is an annex ("附件") without 文号 or issuer. 乐清's plan cites the Wenzhou
            # three-year plan as 温政办〔2020〕59号 (温州市人民政府办公室); this annex is
            # presumably attached to that notice, but the seed does not say so, hence the title
            # is used as the number.
            Document(
                key="wenzhou-2020",
                number="温州市养老服务高质量发展三年行动“2020奋进年”重点任务目标",
                title="温州市养老服务高质量发展三年行动“2020奋进年”重点任务目标",
                issuer="温州市人民政府办公室",
                year=2020,
                file="003_67b27bd8b5a2ba63.txt",
            ),
            Document(
                key="tongxiang-2022",
                number="桐政发〔2022〕30号",
                title="关于推进养老服务高质量发展助力共同富裕的实施意见",
                issuer="桐乡市人民政府",
                year=2022,
                file="004_5def2849daa92525.txt",
            ),
            # National norms: no seed text is held, so their quotes are key phrases only and are
            # not verified by the tests; cross-check against the official texts (POLICY.md).
            Document(
                key="gb-50180-2018",
                number="GB 50180-2018",
                title="城市居住区规划设计标准",
                issuer="住房和城乡建设部",
                year=2018,
                file=None,
            ),
            Document(
                key="td-t-1062-2021",
                number="TD/T 1062-2021",
                title="社区生活圈规划技术指南",
                issuer="自然资源部",
                year=2021,
                file=None,
            ),
            # The 2018 edition is a partial revision that kept the code GB 50437-2007; POLICY.md
            # calls it "GB 50437 (2018 ed.)".
            Document(
                key="gb-50437-2018",
                number="GB 50437-2007（2018年版）",
                title="城镇老年人设施规划规范",
                issuer="住房和城乡建设部",
                year=2018,
                file=None,
            ),
            # The land-use classification every 国土空间规划 uses for its land-use codes (0807 社会
            # 福利用地, ...). The plan checker's land-use table follows its 2023 edition; no clause
            # is cited because the codes are its classification tables, not a numbered provision.
            Document(
                key="land-use-guide",
                number="国土空间调查、规划、用途管制用地用海分类指南",
                title="国土空间调查、规划、用途管制用地用海分类指南",
                issuer="自然资源部",
                year=2023,
                file=None,
            ),
            Document(
                key="national-14th-fyp",
                number="国发〔2021〕35号",
                title="“十四五”国家老龄事业发展和养老服务体系规划",
                issuer="国务院",
                year=2021,
                file=None,
            ),
        )
    }
)


# --- helpers for the tables below -----------------------------------------------------------------


def _p(value: float, unit: Unit, name_zh: str, name_en: str) -> Param:
    return Param(float(value), unit, name_zh, name_en)


def _c(doc: str, clause: str, quote: str) -> Citation:
    return Citation(doc, clause, quote)


YQ, MQ, RS, WZ, TX = "yueqing-2020", "minqing-2020", "rushan-2022", "wenzhou-2020", "tongxiang-2022"

# Places named by rules whose check needs them (spelled as in the seed text).
PLACES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        # 乐清 二(一)2: the four new regional 敬老院.
        "regional-homes": ("虹桥镇", "清江镇", "大荆镇", "城东街道"),
        # 乐清 二(二)6: large towns that add township-centre sub-centres.
        "town-subcenters": ("柳市", "北白象", "虹桥", "大荆"),
        # 乐清 二(一)2: the public township 敬老院 of 75 beds and more, to reach national level 2.
        # (The 2020 annex, 附件第4项, lists only 柳市、北白象、淡溪、白石 as the 4 retained homes;
        # 磐石's becomes part of the 磐石镇医养结合中心.)
        "small-jingloyuan": ("柳市", "北白象", "磐石", "淡溪", "白石"),
    }
)


# --- 1. service-circle and coverage targets -------------------------------------------------------

_COVERAGE = (
    Rule(
        id="circle-15min",
        title_zh="城乡十五分钟养老服务圈",
        title_en="15-minute elderly-care circle, urban and rural",
        description_zh="到2025年形成城乡“十五分钟养老服务圈”，城乡老年人均可享受基本养老服务；"
        "“机构跟着老人走”。",
        description_en="By 2025 every older resident, urban or rural, reaches basic elderly "
        "services within 15 minutes; facilities follow the elderly (机构跟着老人走).",
        scope="village",
        kind="S",
        params={
            "minutes": _p(15, "minutes", "服务圈时间", "travel time of the circle"),
            "coverage": _p(1.0, "share", "覆盖老年人比例", "share of older residents covered"),
        },
        citations=(
            _c(TX, "一", "形成城乡“十五分钟养老服务圈”，实现城乡老年人均可享受基本养老服务"),
            _c(TX, "二(一)1", "实现“机构跟着老人走”"),
        ),
    ),
    Rule(
        id="village-center-coverage",
        title_zh="村（社区）居家养老服务照料中心全覆盖",
        title_en="Home-care centre in every administrative village and community",
        description_zh="2022年底前完成行政村（社区）居家养老服务照料中心建设全覆盖。",
        description_en="By end-2022 every administrative village and community "
        "(行政村（社区）) has a home-care service centre (居家养老服务照料中心).",
        scope="village",
        kind="S",  # POLICY.md: S/A (point-in-village check, or a village code in the register)
        params={"value": _p(1.0, "share", "覆盖率", "coverage")},
        citations=(
            _c(YQ, "一", "实现居家养老服务设施行政村（社区）全覆盖"),
            _c(YQ, "二(二)6", "2022 年底前完成行政村（社区）居家养老服务照料中心建设全覆盖"),
        ),
    ),
    Rule(
        id="town-center-coverage",
        title_zh="乡镇（街道）养老服务中心全覆盖",
        title_en="Elderly service centre in every township and street",
        description_zh="2020年底前乡镇（街道）养老服务中心实现全覆盖。",
        description_en="By end-2020 every township and street has an elderly service centre "
        "(乡镇（街道）养老服务中心).",
        scope="township",
        kind="A",
        params={"value": _p(1.0, "share", "覆盖率", "coverage")},
        citations=(_c(YQ, "二(二)6", "2020 年底前乡镇（街道）养老服务中心实现全覆盖"),),
    ),
    Rule(
        id="town-subcenters",
        title_zh="大集镇按区域和人口增建分中心",
        title_en="Sub-centres in large towns by area and population",
        description_zh="柳市、北白象、虹桥、大荆等大集镇按区域和人口增建乡镇（街道）养老服务中心"
        "分中心，可在现有村（社区）照料中心基础上改造提升。",
        description_en="The large towns 柳市, 北白象, 虹桥 and 大荆 add township-centre "
        "sub-centres according to area and population, possibly by upgrading existing village "
        "centres. The document names the towns but gives no number; the thresholds below are "
        "carecircle's reading (a township at least this large and this populous), to be set by "
        "the county in its scenario; see PLACES['town-subcenters'].",
        scope="township",
        kind="S",
        params={
            # Not from the document: chosen so that towns the size of 柳市 and 北白象 qualify.
            "min_area_km2": _p(70, "km2", "乡镇面积下限", "township area at least"),
            "min_residents": _p(60000, "count", "常住人口下限", "residents at least"),
        },
        citations=(
            _c(
                YQ,
                "二(二)6",
                "柳市、北白象、虹桥、大荆等大集镇按区域和人口增建乡镇（街道）养老服务中心分中心",
            ),
        ),
    ),
    Rule(
        id="minqing-coverage",
        title_zh="闽清服务网络覆盖目标",
        title_en="Minqing service-network coverage",
        description_zh="到2022年：配建3个农村区域性养老服务中心；乡镇居家社区养老服务照料中心"
        "覆盖率100%；社区居家养老服务站覆盖率100%；建制村农村幸福院覆盖率80%。",
        description_en="By 2022: 3 rural regional elderly-service centres; township home/community "
        "care centres in 100% of townships; community home-care stations in 100% of communities; "
        "rural happiness homes (农村幸福院) in 80% of incorporated villages (建制村).",
        scope="county",
        kind="A",
        # SEED: the 80 % is stated as "覆盖率80%" (a level to reach), POLICY.md writes ≥80 %.
        params={
            "town_centres": _p(1.0, "share", "乡镇照料中心覆盖率", "township centre coverage"),
            "community_stations": _p(
                1.0, "share", "社区居家养老服务站覆盖率", "community station coverage"
            ),
            "happiness_homes": _p(
                0.8, "share", "建制村农村幸福院覆盖率", "rural happiness-home coverage"
            ),
            "regional_centres": _p(
                3, "count", "农村区域性养老服务中心数", "rural regional centres"
            ),
        },
        citations=(
            _c(MQ, "一1", "配建3个农村区域性养老服务中心"),
            _c(MQ, "一1", "乡镇居家社区养老服务照料中心覆盖率100%；社区居家养老服务站覆盖率100%"),
            _c(MQ, "一1", "建制村农村幸福院覆盖率80%"),
        ),
    ),
    Rule(
        id="mutual-aid-coverage",
        title_zh="农村养老互助点覆盖率",
        title_en="Rural mutual-aid point coverage",
        description_zh="到2022年底前，农村养老互助点覆盖率达到60%以上。",
        description_en="By end-2022 rural mutual-aid points (农村养老互助点) cover at least 60% "
        "(of villages).",
        scope="village",
        kind="A",
        params={"value": _p(0.6, "share", "覆盖率下限", "minimum coverage")},
        citations=(_c(YQ, "二(二)8", "农村养老互助点覆盖率达到 60% 以上"),),
    ),
    Rule(
        id="rushan-coverage",
        title_zh="街道综合养老服务机构、社区日间照料中心全覆盖",
        title_en="Street institutions and community day-care centres everywhere",
        description_zh="2022年底前，街道综合养老服务机构、社区日间照料中心覆盖率达到100%。",
        description_en="By end-2022 comprehensive elderly institutions in every street and "
        "day-care centres in every community.",
        scope="county",
        kind="A",
        params={
            "street_institutions": _p(
                1.0, "share", "街道综合养老服务机构覆盖率", "street institution coverage"
            ),
            "day_care_centres": _p(
                1.0, "share", "社区日间照料中心覆盖率", "community day-care coverage"
            ),
        },
        citations=(_c(RS, "二(七)", "街道综合养老服务机构、社区日间照料中心覆盖率达到100%"),),
    ),
    Rule(
        id="meal-points",
        title_zh="城乡老年助餐服务场所数量",
        title_en="Meal-service sites",
        description_zh="2022年底前，城乡老年助餐服务场所总量达到100处。",
        description_en="By end-2022 at least 100 meal-service sites for older people city-wide.",
        scope="county",
        kind="A",
        params={"value": _p(100, "count", "助餐服务场所数", "meal-service sites")},
        citations=(_c(RS, "二(十)", "城乡老年助餐服务场所总量达到100处"),),
    ),
)


# --- 2. beds and institutions ---------------------------------------------------------------------

_BEDS = (
    Rule(
        id="new-beds",
        title_zh="新增养老机构床位",
        title_en="New institutional beds",
        description_zh="到2022年底前新增养老机构床位数不少于8000张（附件第3项：2020年新增1000张）。",
        description_en="At least 8,000 new institutional beds by end-2022 (annex row 3: 1,000 in "
        "2020).",
        scope="county",
        kind="A",
        params={"value": _p(8000, "beds", "新增床位下限", "minimum new beds")},
        citations=(_c(YQ, "一", "新增养老机构床位数不少于8000张"),),
    ),
    Rule(
        id="nursing-share-55",
        title_zh="护理型床位占比55%",
        title_en="Nursing-type beds 55%",
        description_zh="到2022年底前护理型床位数达到总床位的55%（附件第3项：2020年51%以上）。",
        description_en="Nursing-type beds reach 55% of institutional beds by end-2022 (annex row "
        "3: at least 51% in 2020, see nursing-share-51).",
        scope="county",
        kind="A",
        params={"value": _p(0.55, "share", "护理型床位占比下限", "minimum nursing-bed share")},
        citations=(_c(YQ, "一", "护理型床位数达到总床位的55%"),),
    ),
    Rule(
        id="nursing-share-60",
        title_zh="护理型床位占比60%",
        title_en="Nursing-type beds 60%",
        description_zh="养老机构护理型床位占比达60%以上（闽清、乳山至2022年，桐乡至2025年）。",
        description_en="Nursing-type beds at least 60% of institutional beds (闽清 and 乳山 by "
        "2022, 桐乡 by 2025).",
        scope="county",
        kind="A",
        params={"value": _p(0.6, "share", "护理型床位占比下限", "minimum nursing-bed share")},
        citations=(
            _c(MQ, "一1", "养老机构护理型床位占比达60%以上"),
            _c(RS, "二(八)", "养老机构护理型床位达到床位总数的60%以上"),
            _c(TX, "一", "养老机构护理型床位占比达到60%以上"),
        ),
    ),
    Rule(
        id="nursing-share-51",
        title_zh="护理型床位占比51%",
        title_en="Nursing-type beds 51%",
        description_zh="2020年全市养老护理型床位占养老机构总床位比例达到51%以上（温州、乐清）。",
        description_en="In 2020 nursing-type beds at least 51% of institutional beds (温州 "
        "city-wide; 乐清's own 2020 annex repeats it).",
        scope="county",
        kind="A",
        params={"value": _p(0.51, "share", "护理型床位占比下限", "minimum nursing-bed share")},
        citations=(
            _c(WZ, "第4项", "全市养老护理型床位占养老机构总床位比例达到51%以上"),
            _c(YQ, "附件第3项", "全市养老护理型床位占养老机构总床位比例达到 51%以上"),
        ),
    ),
    Rule(
        id="regional-homes",
        title_zh="新建区域性敬老院",
        title_en="New regional nursing homes",
        description_zh="在虹桥镇、清江镇、大荆镇、城东街道新建4家区域性敬老院，总床位不少于1000张，"
        "用于特困人员供养和低保低边失能老人兜底保障。",
        description_en="Four new regional 敬老院 in 虹桥镇, 清江镇, 大荆镇 and 城东街道 with "
        "at least 1,000 beds together, for destitute and low-income disabled residents. See "
        "PLACES['regional-homes'].",
        scope="county",
        kind="S",  # POLICY.md: S/A (sited in named towns; bed total is an attribute)
        params={
            "homes": _p(4, "count", "新建区域性敬老院数", "new regional homes"),
            "total_beds": _p(1000, "beds", "总床位下限", "minimum total beds"),
        },
        citations=(_c(YQ, "二(一)2", "投入新建4家区域性敬老院，总床位不少于1000张"),),
    ),
    Rule(
        id="small-jingloyuan",
        title_zh="乡镇（街道）敬老院改造提升",
        title_en="Township 敬老院 rectified or upgraded",
        description_zh="2022年底前少于75张床位的乡镇（街道）敬老院全部完成整改提升，转为接收社会老人"
        "入住的养老服务设施；75张床位以上的达到国家二级以上养老机构等级。",
        description_en="By end-2022 township 敬老院 with fewer than 75 beds are rectified and "
        "converted to admit non-destitute residents; those of 75 beds and more reach national "
        "level 2 or above (named in PLACES['small-jingloyuan']).",
        scope="facility",
        kind="A",
        params={
            "min_beds": _p(75, "beds", "保留敬老院床位门槛", "bed threshold for retention"),
            "min_grade": _p(2, "grade", "养老机构等级下限", "minimum national grade"),
        },
        citations=(
            _c(YQ, "二(一)2", "到 2022 年底前少于 75 张床位的乡镇（街道）敬老院全部完成整改提升"),
            _c(YQ, "二(一)2", "全部达到国家二级以上养老机构等级"),
        ),
    ),
    Rule(
        id="county-public-200",
        title_zh="县级200张床位以上公办护理型养老机构",
        title_en="County public nursing institution of 200+ beds",
        description_zh="每个县（市、区）至少建有1个200张床位以上的公办护理型养老机构。",
        description_en="Every county (县/市/区) has at least one public nursing-type institution "
        "with 200 beds or more.",
        scope="county",
        kind="A",
        params={
            "institutions": _p(1, "count", "机构数下限", "minimum institutions"),
            "min_beds": _p(200, "beds", "床位数下限", "minimum beds per institution"),
        },
        citations=(
            _c(WZ, "第4项", "每个县（市、区）至少建有1个200张床位以上的公办护理型养老机构"),
        ),
    ),
    Rule(
        id="rushan-zones",
        title_zh="乳山分区域养老机构布局",
        title_en="Rushan institutions by zone",
        description_zh="南部滨海新区建设2-3处高端养老机构；中部城区北部区域规划建设1-2处中高端养老"
        "机构；北部镇村建设1-2处中端普惠型养老机构。",
        description_en="Southern coastal new area (南部滨海新区): 2-3 high-end institutions; "
        "northern part of the central city: 1-2 mid-to-high-end; northern towns and villages: "
        "1-2 mid-range 普惠型 (affordable) ones.",
        scope="county",
        kind="S",
        params={
            "south_min": _p(2, "count", "南部滨海新区高端机构下限", "south coast, minimum"),
            "south_max": _p(3, "count", "南部滨海新区高端机构上限", "south coast, maximum"),
            "central_min": _p(1, "count", "中部城区北部中高端机构下限", "central north, minimum"),
            "central_max": _p(2, "count", "中部城区北部中高端机构上限", "central north, maximum"),
            "north_min": _p(1, "count", "北部镇村中端普惠型机构下限", "northern towns, minimum"),
            "north_max": _p(2, "count", "北部镇村中端普惠型机构上限", "northern towns, maximum"),
        },
        citations=(
            _c(RS, "一(一)", "建设2-3处高端养老机构"),
            _c(RS, "一(一)", "中部城区北部区域规划建设1-2处中高端养老机构"),
            _c(RS, "一(一)", "北部镇村建设1-2处中端普惠型养老机构"),
        ),
    ),
    Rule(
        id="rushan-jingloyuan",
        title_zh="乳山敬老院提升改造",
        title_en="Rushan 敬老院 upgrade",
        description_zh="2022年底前建设1所以失能特困人员专业照护为主的敬老院，12处敬老院全部改造提升"
        "并达到二级以上养老机构标准；供养对象较少、服务功能较弱的逐步关停撤并。",
        description_en="By end-2022 one 敬老院 for disabled destitute residents is built, all 12 "
        "敬老院 are upgraded to national level 2 or above, and those with few residents and weak "
        "services are closed or merged.",
        scope="county",
        kind="A",
        params={
            "new_homes": _p(1, "count", "新建失能特困供养设施数", "new homes for disabled"),
            "upgraded_homes": _p(12, "count", "改造提升敬老院数", "homes upgraded"),
            "min_grade": _p(2, "grade", "养老机构等级下限", "minimum national grade"),
        },
        citations=(
            _c(RS, "一(二)", "建设1所以失能特困人员专业照护为主的供养服务设施（敬老院）"),
            _c(RS, "一(二)", "12处敬老院全部改造提升完成，并达到二级以上养老机构标准"),
        ),
    ),
    Rule(
        id="dementia-beds",
        title_zh="认知障碍床位",
        title_en="Dementia (cognitive-impairment) beds",
        description_zh="到2025年每万名老年人配有20张认知障碍床位。",
        description_en="By 2025, 20 cognitive-impairment beds per 10,000 older people.",
        scope="county",
        kind="A",
        params={"value": _p(20, "per_10000_older", "每万名老年人认知障碍床位", "beds per 10,000")},
        citations=(_c(TX, "一", "每万名老年人配有20张认知障碍床位"),),
    ),
    Rule(
        id="dementia-zone",
        title_zh="失智症照护专区",
        title_en="Dementia care zone",
        description_zh="各地至少设置1处失智症照护专区（乐清：建成全市第一家失智症照护专区）。",
        description_en="At least one dementia care zone (失智症照护专区) per county.",
        scope="county",
        kind="A",
        params={"value": _p(1, "count", "照护专区数下限", "minimum care zones")},
        citations=(
            _c(WZ, "第5项", "各地至少设置1处失智症照护专区"),
            _c(YQ, "一", "建成我市第一家失智症照护专区"),
        ),
    ),
    Rule(
        id="embedded-30-100",
        title_zh="嵌入式“大社区”级公建养老机构",
        title_en="Embedded community-level public institutions",
        description_zh="鼓励小型化、嵌入式养老机构建设：床位数在30张至100张的“大社区”级公建养老机构，"
        "利用闲置设施改建装修。",
        description_en="Small embedded public institutions at the 'large community' level with "
        "30-100 beds, converted from idle buildings (encouraged; subsidised, see "
        "subsidy-embedded).",
        scope="facility",
        kind="A",  # POLICY.md: S/A
        params={
            "min_beds": _p(30, "beds", "床位数下限", "minimum beds"),
            "max_beds": _p(100, "beds", "床位数上限", "maximum beds"),
        },
        citations=(_c(TX, "二(一)2", "床位数在 30 张至 100 张的“大社区”级公建养老机构"),),
    ),
    Rule(
        id="medical-100",
        title_zh="养老机构内设医疗机构",
        title_en="Medical facilities inside institutions",
        description_zh="到2022年底前，100张床位以上的养老机构内设医疗机构数占比达到30%以上，200张床位"
        "以上的新建公办养老机构达到100%；温州2020年目标为27%以上。",
        description_en="By end-2022 at least 30% of institutions with 100+ beds have an internal "
        "medical facility, and 100% of new public institutions with 200+ beds; Wenzhou's 2020 "
        "target was 27%.",
        scope="county",
        kind="A",
        params={
            "min_beds": _p(100, "beds", "适用床位门槛", "bed threshold"),
            "share": _p(0.30, "share", "内设医疗机构占比下限", "minimum share with medical unit"),
            "new_public_min_beds": _p(
                200, "beds", "新建公办机构床位门槛", "bed threshold, new public"
            ),
            "new_public_share": _p(
                1.0, "share", "新建公办机构内设医疗占比", "share, new public institutions"
            ),
            "share_2020": _p(0.27, "share", "温州2020年占比下限", "Wenzhou 2020 minimum share"),
        },
        citations=(
            _c(YQ, "二(四)12", "100 张床位以上的养老机构内设医疗机构数占比达到 30% 以上"),
            _c(YQ, "二(四)12", "200 张床位以上的新建公办养老机构内设医疗机构数占比达到 100%"),
            _c(WZ, "第13项", "100床位以上养老机构内设医疗机构数占比达到27%以上"),
        ),
    ),
    Rule(
        id="medical-adjacency",
        title_zh="养老设施与医疗设施同址或邻近",
        title_en="Care centres next to health facilities",
        description_zh="居家社区养老服务照料中心与社区卫生服务站、护理站等同址或邻近设置；养老服务设施"
        "与社区卫生服务中心、医院等相邻布局；养老服务机构与医疗卫生机构毗邻兴建。",
        description_en="Care centres are co-located with or next to community health stations, "
        "health service centres and hospitals. No distance is given; the checker supplies it.",
        scope="facility",
        kind="S",
        params={},
        citations=(
            _c(
                MQ,
                "二(五)18",
                "推动居家社区养老服务照料中心与社区卫生服务站、护理站或其他医疗设施同址或邻近设置",
            ),
            _c(RS, "一(一)", "与社区邻里中心、社区卫生服务中心、学校、幼儿园、医院等相邻布局"),
            _c(TX, "二(一)3", "推动养老服务机构与医疗卫生机构毗邻兴建"),
        ),
    ),
    Rule(
        id="private-share",
        title_zh="民营养老机构和床位占比",
        title_en="Private share of institutions and beds",
        description_zh="民营养老机构占比达80%以上，民营养老床位占比达80%以上。",
        description_en="Private institutions at least 80% of institutions and private beds at "
        "least 80% of beds (by 2022).",
        scope="county",
        kind="A",
        params={
            "institutions": _p(0.8, "share", "民营机构占比下限", "minimum private institutions"),
            "beds": _p(0.8, "share", "民营床位占比下限", "minimum private beds"),
        },
        citations=(_c(MQ, "一2", "民营养老机构占比达80%以上，民营养老床位占比达80%以上"),),
    ),
)


# --- 3. land and floor space ----------------------------------------------------------------------

_LAND = (
    Rule(
        id="land-quota-250mu",
        title_zh="普惠型（护理型）民办养老机构用地",
        title_en="Land for affordable private nursing homes",
        description_zh="到2020年底前完成全市养老设施布局规划修编，安排不少于250亩土地用于普惠型"
        "（护理型）民办养老机构建设。",
        description_en="The facility layout plan (revised by end-2020) reserves at least 250 亩 "
        f"(× {MU_M2} m²) of land for affordable (nursing-type) private nursing homes.",
        scope="plan",
        kind="S",  # POLICY.md: S/A (site areas come from parcel geometry)
        params={"value": _p(250, "mu", "用地下限", "minimum land")},
        citations=(_c(YQ, "二(一)1", "安排不少于 250 亩土地用于普惠型（护理型）民办养老机构建设"),),
    ),
    Rule(
        id="land-per-capita",
        title_zh="城镇人均养老服务设施用地",
        title_en="Elderly-facility land per urban resident",
        description_zh="按照城镇人均用地不低于0.1平方米的标准，将养老服务设施用地落实到年度建设用地"
        "供应计划。",
        description_en="Elderly-facility land of at least 0.1 m² per urban resident, written into "
        "the annual land-supply plan.",
        scope="plan",
        kind="A",
        params={"value": _p(0.1, "m2_per_person", "人均用地下限", "minimum land per resident")},
        citations=(_c(WZ, "第7项", "按照城镇人均用地不低于0.1平方米的标准"),),
    ),
    Rule(
        id="residential-2permille",
        title_zh="住宅项目配建养老服务用房",
        title_en="Care space in residential projects",
        description_zh="养老服务设施用房套内建筑面积不得低于该项目住宅总建筑面积的2‰，每百户应达到"
        "30平方米，并按照每处不低于300平方米集中布置。",
        description_en="Care-facility space (net internal floor area, 套内建筑面积) at least 2‰ of "
        "the project's total residential floor area and 30 m² per 100 households; each site at "
        "least 300 m², concentrated.",
        scope="project",
        kind="A",
        # SEED: the 2‰ is of 套内建筑面积 (net internal floor area), a detail POLICY.md omits.
        params={
            "permille": _p(2, "permille", "占住宅总建筑面积千分比", "per mille of floor area"),
            "per_100_households_m2": _p(
                30, "per_100_households_m2", "每百户面积", "m² per 100 households"
            ),
            "min_site_m2": _p(300, "m2", "每处面积下限", "minimum area per site"),
        },
        citations=(
            _c(YQ, "二(二)5", "养老服务设施用房套内建筑面积不得低于该项目住宅总建筑面积的 2‰"),
            _c(YQ, "二(二)5", "每百户应达到 30 平方米，并按照每处不低于 300 平方米集中布置"),
        ),
    ),
    Rule(
        id="community-800",
        title_zh="新建社区级项目配建社区养老服务用房",
        title_en="Community care space in community-level projects",
        description_zh="新建社区级建设项目应配建不低于800平方米的社区养老服务用房。",
        description_en="New community-level projects provide at least 800 m² of community care "
        "space.",
        scope="project",
        kind="A",
        params={"value": _p(800, "m2", "用房面积下限", "minimum floor area")},
        citations=(
            _c(YQ, "二(二)5", "新建社区级建设项目应配建不低于 800 平方米的社区养老服务用房"),
        ),
    ),
    Rule(
        id="town-complex-3000",
        title_zh="镇街级综合型养老服务中心",
        title_en="Township comprehensive elderly service centre",
        description_zh="鼓励将配建指标适度集中，统一设置不低于3000平方米的具备医疗、康复、文体、家政"
        "等功能的镇街级综合型养老服务中心。",
        description_en="Residential care-space quotas may be pooled into a township-level "
        "comprehensive centre of at least 3,000 m² with medical, rehabilitation, culture and "
        "housekeeping functions.",
        scope="facility",
        kind="A",
        # SEED: framed as encouraged pooling (鼓励将配建指标进行适度集中), not a size every
        # township centre must meet as POLICY.md's wording suggests.
        params={"value": _p(3000, "m2", "建筑面积下限", "minimum floor area")},
        citations=(
            _c(
                YQ,
                "二(二)5",
                "统一设置不低于 3000 平方米的具备医疗、康复、文体、"
                "家政等功能的镇街级综合型养老服务中心",
            ),
        ),
    ),
    Rule(
        id="village-center-150",
        title_zh="村（社区）照料中心建筑面积",
        title_en="Village care-centre floor area",
        description_zh="现有村（社区）居家养老服务照料中心建筑面积150平方米以下的要进行扩建或另行选址"
        "新建，150平方米以上的按星级评定标准提升。",
        description_en="Existing village care centres below 150 m² floor area must be expanded or "
        "rebuilt elsewhere; larger ones are upgraded by star rating.",
        scope="facility",
        kind="A",
        # SEED: "150 平方米以下" / "150 平方米以上" - both conventionally include 150 itself, so a
        # centre of exactly 150 m² is ambiguous; POLICY.md reads it as "under 150". The checker
        # should treat area < 150 as failing.
        params={"value": _p(150, "m2", "建筑面积下限", "minimum floor area")},
        citations=(_c(YQ, "二(二)6", "建筑面积 150 平方米以下的要进行扩建或另行选址新建"),),
    ),
    Rule(
        id="old-community-40",
        title_zh="老旧小区社区服务场所用于养老",
        title_en="Old communities: service space for elderly care",
        description_zh="针对用房紧张的老旧小区，鼓励将社区服务场所40%以上的部分用于养老服务。",
        description_en="In old communities short of space, at least 40% of community service space "
        "is used for elderly services (encouraged).",
        scope="village",
        kind="A",
        params={"value": _p(0.4, "share", "用于养老服务的比例下限", "minimum share")},
        citations=(_c(RS, "一(三)", "鼓励将社区服务场所40%以上的部分用于养老服务"),),
    ),
    Rule(
        id="idle-admin-20",
        title_zh="行政事业单位闲置用房用于养老",
        title_en="Idle public buildings for elderly care",
        description_zh="条件适宜的行政事业单位闲置用房按不低于20%的比例无偿用于养老服务。",
        description_en="At least 20% of suitable idle buildings of government agencies and public "
        "institutions (行政事业单位) are used free of charge for elderly services.",
        scope="county",
        kind="A",
        params={"value": _p(0.2, "share", "无偿用于养老的比例下限", "minimum share")},
        citations=(
            _c(MQ, "二(一)3", "条件适宜的行政事业单位闲置用房按不低于20%的比例无偿用于养老服务"),
        ),
    ),
    Rule(
        id="conversion-1000",
        title_zh="小型建筑改造简化手续",
        title_en="Simplified approval for small conversions",
        description_zh="利用建筑面积1000平方米以下的独栋建筑或内部楼层改造为养老服务设施的，可不出具"
        "近期动迁计划说明、临时改变建筑使用功能说明、环评审批文件或备案回执。",
        description_en="Converting a single building or floors of 1,000 m² or less into an "
        "elderly-care facility skips the relocation-plan, temporary-use and environmental "
        "approval documents.",
        scope="facility",
        kind="A",
        # SEED: "1000平方米以下" conventionally includes 1000 m² (≤), POLICY.md writes "<1000".
        params={"value": _p(1000, "m2", "建筑面积上限", "maximum floor area")},
        citations=(
            _c(
                RS, "一(五)", "凡利用建筑面积1000平方米以下的独栋建筑或内部楼层改造为养老服务设施的"
            ),
        ),
    ),
    Rule(
        id="idle-assets",
        title_zh="闲置资源改建养老设施",
        title_en="Idle assets as candidate sites",
        description_zh="利用闲置中小学校、乡镇卫生院、政府部门办公用房、国有企业厂房、村办公楼改建；"
        "利用商业、办公、工业、仓储等存量房屋举办养老机构的，可在五年内继续按土地原用途和权利类型"
        "使用。",
        description_en="Candidate sites: idle schools, township hospitals, government offices, "
        "state-owned factories and village offices; commercial, office, industrial and storage "
        "stock (乐清 also lists education, medical and community buildings) keeps its original "
        "land use and rights for a 5-year transition.",
        scope="facility",
        kind="S",
        params={"transition_years": _p(5, "years", "过渡期年限", "transition period")},
        citations=(
            _c(YQ, "二(一)1", "利用校网调整后闲置的中小学校、医改后闲置的乡镇卫生院"),
            _c(YQ, "二(一)1", "可在五年内实行继续按土地原用途和权利类型使用过渡期政策"),
            _c(WZ, "第8项", "可在五年内实行继续按土地原用途和权利类型"),
        ),
    ),
    Rule(
        id="adjacent-projects",
        title_zh="毗邻新建小区统筹集中配建",
        title_en="Adjacent projects pool their care space",
        description_zh="毗邻建设的新建小区，居家养老服务配套用房原则上2个或多个统筹集中配建设于其中"
        "一个小区，服务用房沿街对外，独立出入门。",
        description_en="Neighbouring new residential projects pool their care space into one of "
        "them; the space faces the street and has its own entrance.",
        scope="project",
        kind="S",
        params={},
        citations=(
            _c(
                TX,
                "二(一)1",
                "原则上2个或多个统筹集中配建设于其中一个小区，服务用房沿街对外，独立出入门",
            ),
        ),
    ),
)


# --- 4. staffing ----------------------------------------------------------------------------------

_STAFF = (
    Rule(
        id="sw-per-beds-60",
        title_zh="每60张床位配备1名社会工作者",
        title_en="One social worker per 60 beds",
        description_zh="每60张养老机构床位配备1名社会工作者（乐清至2022年底，桐乡至2025年）。",
        description_en="One social worker per 60 institutional beds (乐清 by end-2022, 桐乡 by "
        "2025).",
        scope="county",
        kind="A",
        params={"value": _p(60, "beds_per_worker", "每名社工对应床位数", "beds per social worker")},
        citations=(
            _c(YQ, "二(三)11", "每 60 张养老机构床位配备 1 名社会工作者"),
            _c(TX, "二(五)16", "每60张养老机构床位配备1名社会工作者"),
        ),
    ),
    Rule(
        id="sw-per-elderly-500",
        title_zh="每500名老年人配备1名社会工作者",
        title_en="One social worker per 500 older people",
        description_zh="到2022年底前，每500名老年人配备1名社会工作者。",
        description_en="One social worker per 500 older people by end-2022.",
        scope="county",
        kind="A",
        params={
            "value": _p(500, "older_per_worker", "每名社工对应老年人数", "older per social worker")
        },
        citations=(_c(YQ, "二(三)11", "每 500 名老年人配备 1 名社会工作者"),),
    ),
    Rule(
        id="sw-minqing",
        title_zh="闽清社会工作者配备",
        title_en="Minqing social-worker ratios",
        description_zh="到2022年，每千名老年人至少配备1名社会工作者，每百张养老床位至少配备1名社会"
        "工作者。",
        description_en="By 2022 at least one social worker per 1,000 older people and per 100 "
        "beds.",
        scope="county",
        kind="A",
        params={
            "older_per_worker": _p(
                1000, "older_per_worker", "每名社工对应老年人数", "older per social worker"
            ),
            "beds_per_worker": _p(
                100, "beds_per_worker", "每名社工对应床位数", "beds per social worker"
            ),
        },
        citations=(
            _c(
                MQ,
                "二(二)7",
                "每千名老年人至少配备1名社会工作者，每百张养老床位至少配备1名社会工作者",
            ),
        ),
    ),
    Rule(
        id="sw-tongxiang",
        title_zh="桐乡养老人才配备",
        title_en="Tongxiang care workforce",
        description_zh="到2025年，每万老年人口拥有持证养老护理员28人，高级和技师级养老护理员比例18%"
        "以上，每万名老年人拥有社会工作者25人。",
        description_en="By 2025: 25 social workers and 28 certified caregivers per 10,000 older "
        "people; at least 18% of caregivers at senior or technician grade.",
        scope="county",
        kind="A",
        params={
            "social_workers": _p(
                25, "per_10000_older", "每万名老年人社会工作者数", "social workers per 10,000"
            ),
            "caregivers": _p(
                28, "per_10000_older", "每万老年人口持证养老护理员数", "caregivers per 10,000"
            ),
            "senior_share": _p(
                0.18, "share", "高级和技师级护理员比例下限", "minimum senior-grade share"
            ),
        },
        citations=(
            _c(TX, "一", "每万名老年人拥有社会工作者25人"),
            _c(TX, "一", "全市每万老年人口拥有持证养老护理员达到28人"),
            _c(TX, "一", "高级和技师级养老护理员比例提高到18%以上"),
        ),
    ),
)


# --- 5. money -------------------------------------------------------------------------------------

_MONEY = (
    Rule(
        id="subsidy-nursing-bed",
        title_zh="新建护理型床位建设补助",
        title_en="Construction subsidy per nursing bed",
        description_zh="对新建护理型床位给予8000元建设补助。",
        description_en="8,000 yuan construction subsidy per new nursing-type bed.",
        scope="facility",
        kind="A",
        params={"value": _p(8000, "yuan_per_bed", "每床建设补助", "subsidy per bed")},
        citations=(_c(RS, "四(二十一)2", "对新建护理型床位给予8000元建设补助"),),
    ),
    Rule(
        id="subsidy-operation",
        title_zh="收住失能老年人运营奖补",
        title_en="Operating subsidy for disabled residents",
        description_zh="对收住中度、重度失能老年人的养老机构，按实际收住人数分别按每人每年2400元、"
        "3600元，根据等级评定结果实行80-120%差异化运营补助。",
        description_en="2,400 / 3,600 yuan per moderately / severely disabled resident per year, "
        "scaled 80-120% by the institution's rating.",
        scope="facility",
        kind="A",
        params={
            "moderate": _p(2400, "yuan_per_year", "中度失能每人每年", "per moderate resident"),
            "severe": _p(3600, "yuan_per_year", "重度失能每人每年", "per severe resident"),
            "min_factor": _p(0.8, "ratio", "等级系数下限", "minimum rating factor"),
            "max_factor": _p(1.2, "ratio", "等级系数上限", "maximum rating factor"),
        },
        citations=(
            _c(RS, "四(二十一)2", "分别按照每人每年2400元、3600元的标准"),
            _c(RS, "四(二十一)2", "实行 80-120%差异化运营补助"),
        ),
    ),
    Rule(
        id="subsidy-town-center",
        title_zh="镇（街道）养老服务中心建设补助",
        title_en="Township centre construction subsidy",
        description_zh="按项目建安工程审定价的50%给予补助，且不超过核定机构养老床位总量每床位15万元的"
        "总额度，总额度不超过6000万元。",
        description_en="50% of the approved construction-and-installation cost, capped at "
        "150,000 yuan per institutional bed approved for the township, and at 60 million yuan "
        "in total.",
        scope="facility",
        kind="A",
        params={
            "share": _p(0.5, "share", "补助比例", "share of construction cost"),
            "cap_per_bed": _p(150000, "yuan_per_bed", "每床位补助额度", "cap per approved bed"),
            "cap_total": _p(60_000_000, "yuan", "总额度上限", "total cap"),
        },
        citations=(
            _c(TX, "二(一)2", "按项目建安工程审定价的 50 % 给予资金补助"),
            _c(TX, "二(一)2", "每床位补助 15 万元的总额度，且总额度不超过 6000 万元"),
        ),
    ),
    Rule(
        id="subsidy-embedded",
        title_zh="嵌入式养老机构改建补助",
        title_en="Embedded conversion subsidy",
        description_zh="30至100张床位的“大社区”级公建养老机构利用闲置设施改建装修的，按建筑面积每平方米"
        "800元补助，最高不超过工程总投入的50%。",
        description_en="800 yuan per m² of building area for 30-100-bed embedded conversions, at "
        "most 50% of the total cost.",
        scope="facility",
        kind="A",
        params={
            "per_m2": _p(800, "yuan_per_m2", "每平方米补助", "subsidy per m²"),
            "max_share": _p(0.5, "share", "占工程总投入比例上限", "maximum share of cost"),
        },
        citations=(
            _c(
                TX,
                "二(一)2",
                "市财政按建筑面积每平方米 800 元的标准予以补助，"
                "最高不超过项目竣工财务决算批复的工程总投入的 50%",
            ),
        ),
    ),
    Rule(
        id="rural-operation",
        title_zh="农村幸福院、城市社区日间照料中心运营奖补",
        title_en="Operating awards for happiness homes and day-care centres",
        description_zh="农村幸福院、城市社区日间照料中心每年分别给予最高6000元、12000元的奖补，并根据"
        "等级评定结果差异化补助。",
        description_en="Rural happiness homes up to 6,000 yuan a year; urban community day-care "
        "centres up to 12,000 yuan a year, graded by rating.",
        scope="facility",
        kind="A",
        params={
            "happiness_home": _p(6000, "yuan_per_year", "农村幸福院年度奖补上限", "rural home cap"),
            "day_care": _p(12000, "yuan_per_year", "日间照料中心年度奖补上限", "day-care cap"),
        },
        citations=(_c(RS, "四(二十一)2", "每年分别给予最高6000元、12000元的奖补"),),
    ),
    Rule(
        id="village-center-rating",
        title_zh="照料中心等级补助",
        title_en="Care-centre subsidies by rating",
        description_zh="正常运营的5A、4A、3A级村（社区）居家养老服务照料中心每年分别给予16万元、12万元、"
        "10万元；镇（街道）居家养老服务中心每年20万元（未达5A级按照料中心相应等级补助）。",
        description_en="Village centres rated 5A / 4A / 3A receive 160,000 / 120,000 / 100,000 "
        "yuan a year; township centres 200,000 yuan a year (below 5A: the village-centre rate "
        "of their grade).",
        scope="facility",
        kind="A",
        params={
            "rating_5a": _p(160000, "yuan_per_year", "5A级照料中心年补助", "5A village centre"),
            "rating_4a": _p(120000, "yuan_per_year", "4A级照料中心年补助", "4A village centre"),
            "rating_3a": _p(100000, "yuan_per_year", "3A级照料中心年补助", "3A village centre"),
            "township": _p(200000, "yuan_per_year", "镇（街道）中心年补助", "township centre"),
        },
        citations=(
            _c(TX, "二(二)8", "每年分别给予 16 万元、12 万元、10 万元的政府购买服务补助"),
            _c(TX, "二(二)8", "每年给予 20 万元的政府购买服务补助"),
        ),
    ),
)


# --- national norms (binding=False: cross-check against the official texts) -----------------------
# GB 50437 clauses per a third-party copy of the 2018 edition (3.2.1: 每千名老人不应少于40床;
# 表 3.2.4: 养老院、老年养护院 建筑面积 ≥35 m²/床, 用地面积 18~44 m²/床, for a service
# population of 5-10 万). GB 50180's 3.0.4 holds the 居住区分级控制规模 table. The 十四五 plan's
# 55 % is believed to sit in its indicator table (专栏1) but was not checked, hence "—".

_NATIONAL = (
    Rule(
        id="beds-per-1000-older",
        title_zh="每千名老年人养老床位",
        title_en="Beds per 1,000 older residents",
        description_zh="养老院、老年养护院按所在地规划常住人口规模配置，每千名老人不应少于40床。",
        description_en="Nursing homes provide at least 40 beds per 1,000 older residents.",
        scope="county",
        kind="A",
        params={"value": _p(40, "per_1000_older", "每千名老人床位下限", "minimum beds per 1,000")},
        citations=(_c("gb-50437-2018", "3.2.1", "每千名老人不应少于40床"),),
        binding=False,
    ),
    Rule(
        id="building-m2-per-bed",
        title_zh="养老院每床建筑面积",
        title_en="Building area per bed",
        description_zh="养老院、老年养护院建筑面积不小于35平方米/床。",
        description_en="Nursing homes have at least 35 m² of building area per bed.",
        scope="facility",
        kind="A",
        params={"value": _p(35, "m2_per_bed", "每床建筑面积下限", "minimum building area per bed")},
        citations=(_c("gb-50437-2018", "3.2.4", "养老院、老年养护院"),),
        binding=False,
    ),
    Rule(
        id="land-m2-per-bed",
        title_zh="养老院每床用地面积",
        title_en="Land per bed",
        description_zh="养老院、老年养护院用地面积18~44平方米/床；选址模型取规划值40平方米/床。",
        description_en="Nursing homes use 18-44 m² of land per bed. The range reflects density: "
        "35 m²/bed of building at a floor-area ratio of about 1.9 needs 18 m², at 0.8 about "
        "44 m². The siting model uses 'planning' = 40 m²/bed (floor-area ratio about 0.9, typical "
        "of low-rise regional homes on rural sites) unless the scenario sets "
        "siting.land_m2_per_bed; 40 is a project assumption, not a figure of the standard.",
        scope="facility",
        kind="A",
        params={
            "min": _p(18, "m2_per_bed", "每床用地下限", "minimum land per bed"),
            "max": _p(44, "m2_per_bed", "每床用地上限", "maximum land per bed"),
            "planning": _p(40, "m2_per_bed", "选址模型采用值", "value used for siting"),
        },
        citations=(_c("gb-50437-2018", "3.2.4", "养老院、老年养护院"),),
        binding=False,
    ),
    Rule(
        id="walk-speed-older",
        title_zh="老年人步行速度",
        title_en="Walking speed of older people",
        description_zh="设计步速1.0米/秒，平均步速0.8米/秒（65岁以上社区居住老年人）。",
        description_en="Design speed 1.0 m/s (900 m in 15 min, the middle of GB 50180's 800-1000 m "
        "fifteen-minute circle); mean 0.8 m/s for community-dwelling people over 65 (POLICY.md's "
        "figure; no document in the catalogue states it). 15 min at 0.8 / 1.0 m/s = 720 / 900 m.",
        scope="plan",
        kind="A",
        params={
            "design": _p(1.0, "m_per_s", "设计步速", "design speed"),
            "mean": _p(0.8, "m_per_s", "平均步速", "mean speed"),
        },
        citations=(_c("gb-50180-2018", "3.0.4", "十五分钟生活圈居住区"),),
        binding=False,
    ),
    Rule(
        id="life-circle-tiers",
        title_zh="生活圈分级",
        title_en="Life-circle tiers",
        description_zh="十五分钟生活圈居住区步行距离800~1000米、居住人口5万~10万人；十分钟生活圈500米；"
        "五分钟生活圈300米。社区生活圈规划技术指南沿用同样层级并增设乡集镇、村/组层级。",
        description_en="15-minute circle: 800-1000 m walk, 50,000-100,000 residents; 10-minute: "
        "500 m; 5-minute: 300 m. TD/T 1062 keeps the tiers and adds rural market-town and "
        "village/group levels.",
        scope="plan",
        kind="S",
        params={
            "walk_15min_min": _p(800, "m", "十五分钟生活圈步行距离下限", "15-min walk, low"),
            "walk_15min_max": _p(1000, "m", "十五分钟生活圈步行距离上限", "15-min walk, high"),
            "walk_10min": _p(500, "m", "十分钟生活圈步行距离", "10-min walk"),
            "walk_5min": _p(300, "m", "五分钟生活圈步行距离", "5-min walk"),
            "residents_15min_min": _p(50000, "count", "十五分钟生活圈人口下限", "residents, low"),
            "residents_15min_max": _p(100000, "count", "十五分钟生活圈人口上限", "residents, high"),
        },
        citations=(
            _c("gb-50180-2018", "3.0.4", "十五分钟生活圈居住区"),
            _c("td-t-1062-2021", "—", "社区生活圈"),
        ),
        binding=False,
    ),
    Rule(
        id="nursing-share-national",
        title_zh="全国护理型床位占比",
        title_en="National nursing-bed share",
        description_zh="到2025年养老机构护理型床位占比达到55%。",
        description_en="Nursing-type beds 55% of institutional beds by 2025.",
        scope="county",
        kind="A",
        params={"value": _p(0.55, "share", "护理型床位占比下限", "minimum nursing-bed share")},
        citations=(_c("national-14th-fyp", "—", "养老机构护理型床位占比"),),
        binding=False,
    ),
)

NATIONAL_RULES: tuple[str, ...] = tuple(r.id for r in _NATIONAL)

CATALOGUE: Mapping[str, Rule] = MappingProxyType(
    {r.id: r for r in (*_COVERAGE, *_BEDS, *_LAND, *_STAFF, *_MONEY, *_NATIONAL)}
)


def _check_catalogue() -> None:
    """Fail at import on a citation of an unknown document or a duplicate rule id."""
    count = len(_COVERAGE) + len(_BEDS) + len(_LAND) + len(_STAFF) + len(_MONEY) + len(_NATIONAL)
    if count != len(CATALOGUE):
        raise ValueError("duplicate rule id in the catalogue")
    for rule in CATALOGUE.values():
        for citation in rule.citations:
            citation.document()


_check_catalogue()


# --- access ---------------------------------------------------------------------------------------


def get_rule(rule_id: str) -> Rule:
    """The catalogue rule ``rule_id``; a :class:`KeyError` suggests close matches."""
    try:
        return CATALOGUE[rule_id]
    except KeyError:
        close = difflib.get_close_matches(str(rule_id), list(CATALOGUE), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `carecircle rules`"
        raise KeyError(f"no rule {rule_id!r}{hint}") from None


def circle_minutes(targets: Mapping[str, float | Mapping[str, float] | None]) -> float:
    """The minutes the circle rule (circle-15min) is judged at: the catalogue's 15, or the
    scenario's override of the rule's ``minutes``; the village tier's threshold never decides."""
    rule = resolve(targets).get("circle-15min") or resolve({"circle-15min": None})["circle-15min"]
    return float(rule.value("minutes"))


def resolve(targets: Mapping[str, float | Mapping[str, float] | None]) -> dict[str, Rule]:
    """Catalogue rules with a scenario's overrides applied, keyed in the order given."""
    return {rule_id: get_rule(rule_id).with_values(value) for rule_id, value in targets.items()}


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def catalogue_table() -> list[dict[str, object]]:
    """One flat row per rule, for reports and ``carecircle rules``."""
    return [
        {
            "id": rule.id,
            "title_zh": rule.title_zh,
            "title_en": rule.title_en,
            "scope": rule.scope,
            "kind": rule.kind,
            "binding": rule.binding,
            "params": "; ".join(f"{n}={_fmt(p.value)} {p.unit}" for n, p in rule.params.items()),
            "citation": rule.cite(),
        }
        for rule in CATALOGUE.values()
    ]
