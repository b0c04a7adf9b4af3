"""Land and floor space: per-bed areas, land quotas, floor-space rules."""

from __future__ import annotations

from carecircle.rules.model import MQ, MU_M2, RS, TX, WZ, YQ, Rule, c, p

__all__ = ["RULES"]

RULES: tuple[Rule, ...] = (
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
        params={"value": p(250, "mu", "用地下限", "minimum land")},
        citations=(c(YQ, "二(一)1", "安排不少于 250 亩土地用于普惠型（护理型）民办养老机构建设"),),
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
        params={"value": p(0.1, "m2_per_person", "人均用地下限", "minimum land per resident")},
        citations=(c(WZ, "第7项", "按照城镇人均用地不低于0.1平方米的标准"),),
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
            "permille": p(2, "permille", "占住宅总建筑面积千分比", "per mille of floor area"),
            "per_100_households_m2": p(
                30, "per_100_households_m2", "每百户面积", "m² per 100 households"
            ),
            "min_site_m2": p(300, "m2", "每处面积下限", "minimum area per site"),
        },
        citations=(
            c(YQ, "二(二)5", "养老服务设施用房套内建筑面积不得低于该项目住宅总建筑面积的 2‰"),
            c(YQ, "二(二)5", "每百户应达到 30 平方米，并按照每处不低于 300 平方米集中布置"),
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
        params={"value": p(800, "m2", "用房面积下限", "minimum floor area")},
        citations=(
            c(YQ, "二(二)5", "新建社区级建设项目应配建不低于 800 平方米的社区养老服务用房"),
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
        params={"value": p(3000, "m2", "建筑面积下限", "minimum floor area")},
        citations=(
            c(
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
        params={"value": p(150, "m2", "建筑面积下限", "minimum floor area")},
        citations=(c(YQ, "二(二)6", "建筑面积 150 平方米以下的要进行扩建或另行选址新建"),),
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
        params={"value": p(0.4, "share", "用于养老服务的比例下限", "minimum share")},
        citations=(c(RS, "一(三)", "鼓励将社区服务场所40%以上的部分用于养老服务"),),
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
        params={"value": p(0.2, "share", "无偿用于养老的比例下限", "minimum share")},
        citations=(
            c(MQ, "二(一)3", "条件适宜的行政事业单位闲置用房按不低于20%的比例无偿用于养老服务"),
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
        params={"value": p(1000, "m2", "建筑面积上限", "maximum floor area")},
        citations=(
            c(RS, "一(五)", "凡利用建筑面积1000平方米以下的独栋建筑或内部楼层改造为养老服务设施的"),
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
        params={"transition_years": p(5, "years", "过渡期年限", "transition period")},
        citations=(
            c(YQ, "二(一)1", "利用校网调整后闲置的中小学校、医改后闲置的乡镇卫生院"),
            c(YQ, "二(一)1", "可在五年内实行继续按土地原用途和权利类型使用过渡期政策"),
            c(WZ, "第8项", "可在五年内实行继续按土地原用途和权利类型"),
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
            c(
                TX,
                "二(一)1",
                "原则上2个或多个统筹集中配建设于其中一个小区，服务用房沿街对外，独立出入门",
            ),
        ),
    ),
)
