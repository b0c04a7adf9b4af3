"""National norms (binding=False: cross-check against the official texts)."""

from __future__ import annotations

from carecircle.rules.model import Rule, c, p

__all__ = ["RULES"]

# GB 50437 clauses per a third-party copy of the 2018 edition (3.2.1: 每千名老人不应少于40床;
# 表 3.2.4: 养老院、老年养护院 建筑面积 ≥35 m²/床, 用地面积 18~44 m²/床, for a service
# population of 5-10 万). GB 50180's 3.0.4 holds the 居住区分级控制规模 table. The 十四五 plan's
# 55 % is believed to sit in its indicator table (专栏1) but was not checked, hence "—".

RULES: tuple[Rule, ...] = (
    Rule(
        id="beds-per-1000-older",
        title_zh="每千名老年人养老床位",
        title_en="Beds per 1,000 older residents",
        description_zh="养老院、老年养护院按所在地规划常住人口规模配置，每千名老人不应少于40床。",
        description_en="Nursing homes provide at least 40 beds per 1,000 older residents.",
        scope="county",
        kind="A",
        params={"value": p(40, "per_1000_older", "每千名老人床位下限", "minimum beds per 1,000")},
        citations=(c("gb-50437-2018", "3.2.1", "每千名老人不应少于40床"),),
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
        params={"value": p(35, "m2_per_bed", "每床建筑面积下限", "minimum building area per bed")},
        citations=(c("gb-50437-2018", "3.2.4", "养老院、老年养护院"),),
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
            "min": p(18, "m2_per_bed", "每床用地下限", "minimum land per bed"),
            "max": p(44, "m2_per_bed", "每床用地上限", "maximum land per bed"),
            "planning": p(40, "m2_per_bed", "选址模型采用值", "value used for siting"),
        },
        citations=(c("gb-50437-2018", "3.2.4", "养老院、老年养护院"),),
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
            "design": p(1.0, "m_per_s", "设计步速", "design speed"),
            "mean": p(0.8, "m_per_s", "平均步速", "mean speed"),
        },
        citations=(c("gb-50180-2018", "3.0.4", "十五分钟生活圈居住区"),),
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
            "walk_15min_min": p(800, "m", "十五分钟生活圈步行距离下限", "15-min walk, low"),
            "walk_15min_max": p(1000, "m", "十五分钟生活圈步行距离上限", "15-min walk, high"),
            "walk_10min": p(500, "m", "十分钟生活圈步行距离", "10-min walk"),
            "walk_5min": p(300, "m", "五分钟生活圈步行距离", "5-min walk"),
            "residents_15min_min": p(50000, "count", "十五分钟生活圈人口下限", "residents, low"),
            "residents_15min_max": p(100000, "count", "十五分钟生活圈人口上限", "residents, high"),
        },
        citations=(
            c("gb-50180-2018", "3.0.4", "十五分钟生活圈居住区"),
            c("td-t-1062-2021", "—", "社区生活圈"),
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
        params={"value": p(0.55, "share", "护理型床位占比下限", "minimum nursing-bed share")},
        citations=(c("national-14th-fyp", "—", "养老机构护理型床位占比"),),
        binding=False,
    ),
)
