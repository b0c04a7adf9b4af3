"""Money: subsidies, grants and operating figures of the seed documents."""

from __future__ import annotations

from carecircle.rules.model import RS, TX, Rule, c, p

__all__ = ["RULES"]

RULES: tuple[Rule, ...] = (
    Rule(
        id="subsidy-nursing-bed",
        title_zh="新建护理型床位建设补助",
        title_en="Construction subsidy per nursing bed",
        description_zh="对新建护理型床位给予8000元建设补助。",
        description_en="8,000 yuan construction subsidy per new nursing-type bed.",
        scope="facility",
        kind="A",
        params={"value": p(8000, "yuan_per_bed", "每床建设补助", "subsidy per bed")},
        citations=(c(RS, "四(二十一)2", "对新建护理型床位给予8000元建设补助"),),
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
            "moderate": p(2400, "yuan_per_year", "中度失能每人每年", "per moderate resident"),
            "severe": p(3600, "yuan_per_year", "重度失能每人每年", "per severe resident"),
            "min_factor": p(0.8, "ratio", "等级系数下限", "minimum rating factor"),
            "max_factor": p(1.2, "ratio", "等级系数上限", "maximum rating factor"),
        },
        citations=(
            c(RS, "四(二十一)2", "分别按照每人每年2400元、3600元的标准"),
            c(RS, "四(二十一)2", "实行 80-120%差异化运营补助"),
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
            "share": p(0.5, "share", "补助比例", "share of construction cost"),
            "cap_per_bed": p(150000, "yuan_per_bed", "每床位补助额度", "cap per approved bed"),
            "cap_total": p(60_000_000, "yuan", "总额度上限", "total cap"),
        },
        citations=(
            c(TX, "二(一)2", "按项目建安工程审定价的 50 % 给予资金补助"),
            c(TX, "二(一)2", "每床位补助 15 万元的总额度，且总额度不超过 6000 万元"),
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
            "per_m2": p(800, "yuan_per_m2", "每平方米补助", "subsidy per m²"),
            "max_share": p(0.5, "share", "占工程总投入比例上限", "maximum share of cost"),
        },
        citations=(
            c(
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
            "happiness_home": p(6000, "yuan_per_year", "农村幸福院年度奖补上限", "rural home cap"),
            "day_care": p(12000, "yuan_per_year", "日间照料中心年度奖补上限", "day-care cap"),
        },
        citations=(c(RS, "四(二十一)2", "每年分别给予最高6000元、12000元的奖补"),),
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
            "rating_5a": p(160000, "yuan_per_year", "5A级照料中心年补助", "5A village centre"),
            "rating_4a": p(120000, "yuan_per_year", "4A级照料中心年补助", "4A village centre"),
            "rating_3a": p(100000, "yuan_per_year", "3A级照料中心年补助", "3A village centre"),
            "township": p(200000, "yuan_per_year", "镇（街道）中心年补助", "township centre"),
        },
        citations=(
            c(TX, "二(二)8", "每年分别给予 16 万元、12 万元、10 万元的政府购买服务补助"),
            c(TX, "二(二)8", "每年给予 20 万元的政府购买服务补助"),
        ),
    ),
)
