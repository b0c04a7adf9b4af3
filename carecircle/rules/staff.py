"""Staffing targets of the seed documents."""

from __future__ import annotations

from carecircle.rules.model import MQ, TX, YQ, Rule, c, p

__all__ = ["RULES"]

RULES: tuple[Rule, ...] = (
    Rule(
        id="sw-per-beds-60",
        title_zh="每60张床位配备1名社会工作者",
        title_en="One social worker per 60 beds",
        description_zh="每60张养老机构床位配备1名社会工作者（乐清至2022年底，桐乡至2025年）。",
        description_en="One social worker per 60 institutional beds (乐清 by end-2022, 桐乡 by "
        "2025).",
        scope="county",
        kind="A",
        params={"value": p(60, "beds_per_worker", "每名社工对应床位数", "beds per social worker")},
        citations=(
            c(YQ, "二(三)11", "每 60 张养老机构床位配备 1 名社会工作者"),
            c(TX, "二(五)16", "每60张养老机构床位配备1名社会工作者"),
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
            "value": p(500, "older_per_worker", "每名社工对应老年人数", "older per social worker")
        },
        citations=(c(YQ, "二(三)11", "每 500 名老年人配备 1 名社会工作者"),),
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
            "older_per_worker": p(
                1000, "older_per_worker", "每名社工对应老年人数", "older per social worker"
            ),
            "beds_per_worker": p(
                100, "beds_per_worker", "每名社工对应床位数", "beds per social worker"
            ),
        },
        citations=(
            c(
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
            "social_workers": p(
                25, "per_10000_older", "每万名老年人社会工作者数", "social workers per 10,000"
            ),
            "caregivers": p(
                28, "per_10000_older", "每万老年人口持证养老护理员数", "caregivers per 10,000"
            ),
            "senior_share": p(
                0.18, "share", "高级和技师级护理员比例下限", "minimum senior-grade share"
            ),
        },
        citations=(
            c(TX, "一", "每万名老年人拥有社会工作者25人"),
            c(TX, "一", "全市每万老年人口拥有持证养老护理员达到28人"),
            c(TX, "一", "高级和技师级养老护理员比例提高到18%以上"),
        ),
    ),
)
