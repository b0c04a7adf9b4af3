"""The policy documents and national standards the rules cite."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["DOCUMENTS", "Document"]


@dataclass(frozen=True)
class Document:
    """A policy document or national standard that rules cite."""

    key: str
    number: str
    title: str
    issuer: str
    year: int
    file: str | None


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
