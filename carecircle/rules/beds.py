"""Beds and institutions: the seed documents' bed targets."""

from __future__ import annotations

from carecircle.rules.model import MQ, RS, TX, WZ, YQ, Rule, c, p

__all__ = ["RULES"]

RULES: tuple[Rule, ...] = (
    Rule(
        id="new-beds",
        title_zh="新增养老机构床位",
        title_en="New institutional beds",
        description_zh="到2022年底前新增养老机构床位数不少于8000张（附件第3项：2020年新增1000张）。",
        description_en="At least 8,000 new institutional beds by end-2022 (annex row 3: 1,000 in "
        "2020).",
        scope="county",
        kind="A",
        params={"value": p(8000, "beds", "新增床位下限", "minimum new beds")},
        citations=(c(YQ, "一", "新增养老机构床位数不少于8000张"),),
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
        params={"value": p(0.55, "share", "护理型床位占比下限", "minimum nursing-bed share")},
        citations=(c(YQ, "一", "护理型床位数达到总床位的55%"),),
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
        params={"value": p(0.6, "share", "护理型床位占比下限", "minimum nursing-bed share")},
        citations=(
            c(MQ, "一1", "养老机构护理型床位占比达60%以上"),
            c(RS, "二(八)", "养老机构护理型床位达到床位总数的60%以上"),
            c(TX, "一", "养老机构护理型床位占比达到60%以上"),
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
        params={"value": p(0.51, "share", "护理型床位占比下限", "minimum nursing-bed share")},
        citations=(
            c(WZ, "第4项", "全市养老护理型床位占养老机构总床位比例达到51%以上"),
            c(YQ, "附件第3项", "全市养老护理型床位占养老机构总床位比例达到 51%以上"),
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
            "homes": p(4, "count", "新建区域性敬老院数", "new regional homes"),
            "total_beds": p(1000, "beds", "总床位下限", "minimum total beds"),
        },
        citations=(c(YQ, "二(一)2", "投入新建4家区域性敬老院，总床位不少于1000张"),),
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
            "min_beds": p(75, "beds", "保留敬老院床位门槛", "bed threshold for retention"),
            "min_grade": p(2, "grade", "养老机构等级下限", "minimum national grade"),
        },
        citations=(
            c(YQ, "二(一)2", "到 2022 年底前少于 75 张床位的乡镇（街道）敬老院全部完成整改提升"),
            c(YQ, "二(一)2", "全部达到国家二级以上养老机构等级"),
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
            "institutions": p(1, "count", "机构数下限", "minimum institutions"),
            "min_beds": p(200, "beds", "床位数下限", "minimum beds per institution"),
        },
        citations=(c(WZ, "第4项", "每个县（市、区）至少建有1个200张床位以上的公办护理型养老机构"),),
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
            "south_min": p(2, "count", "南部滨海新区高端机构下限", "south coast, minimum"),
            "south_max": p(3, "count", "南部滨海新区高端机构上限", "south coast, maximum"),
            "central_min": p(1, "count", "中部城区北部中高端机构下限", "central north, minimum"),
            "central_max": p(2, "count", "中部城区北部中高端机构上限", "central north, maximum"),
            "north_min": p(1, "count", "北部镇村中端普惠型机构下限", "northern towns, minimum"),
            "north_max": p(2, "count", "北部镇村中端普惠型机构上限", "northern towns, maximum"),
        },
        citations=(
            c(RS, "一(一)", "建设2-3处高端养老机构"),
            c(RS, "一(一)", "中部城区北部区域规划建设1-2处中高端养老机构"),
            c(RS, "一(一)", "北部镇村建设1-2处中端普惠型养老机构"),
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
            "new_homes": p(1, "count", "新建失能特困供养设施数", "new homes for disabled"),
            "upgraded_homes": p(12, "count", "改造提升敬老院数", "homes upgraded"),
            "min_grade": p(2, "grade", "养老机构等级下限", "minimum national grade"),
        },
        citations=(
            c(RS, "一(二)", "建设1所以失能特困人员专业照护为主的供养服务设施（敬老院）"),
            c(RS, "一(二)", "12处敬老院全部改造提升完成，并达到二级以上养老机构标准"),
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
        params={"value": p(20, "per_10000_older", "每万名老年人认知障碍床位", "beds per 10,000")},
        citations=(c(TX, "一", "每万名老年人配有20张认知障碍床位"),),
    ),
    Rule(
        id="dementia-zone",
        title_zh="失智症照护专区",
        title_en="Dementia care zone",
        description_zh="各地至少设置1处失智症照护专区（乐清：建成全市第一家失智症照护专区）。",
        description_en="At least one dementia care zone (失智症照护专区) per county.",
        scope="county",
        kind="A",
        params={"value": p(1, "count", "照护专区数下限", "minimum care zones")},
        citations=(
            c(WZ, "第5项", "各地至少设置1处失智症照护专区"),
            c(YQ, "一", "建成我市第一家失智症照护专区"),
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
            "min_beds": p(30, "beds", "床位数下限", "minimum beds"),
            "max_beds": p(100, "beds", "床位数上限", "maximum beds"),
        },
        citations=(c(TX, "二(一)2", "床位数在 30 张至 100 张的“大社区”级公建养老机构"),),
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
            "min_beds": p(100, "beds", "适用床位门槛", "bed threshold"),
            "share": p(0.30, "share", "内设医疗机构占比下限", "minimum share with medical unit"),
            "new_public_min_beds": p(
                200, "beds", "新建公办机构床位门槛", "bed threshold, new public"
            ),
            "new_public_share": p(
                1.0, "share", "新建公办机构内设医疗占比", "share, new public institutions"
            ),
            "share_2020": p(0.27, "share", "温州2020年占比下限", "Wenzhou 2020 minimum share"),
        },
        citations=(
            c(YQ, "二(四)12", "100 张床位以上的养老机构内设医疗机构数占比达到 30% 以上"),
            c(YQ, "二(四)12", "200 张床位以上的新建公办养老机构内设医疗机构数占比达到 100%"),
            c(WZ, "第13项", "100床位以上养老机构内设医疗机构数占比达到27%以上"),
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
            c(
                MQ,
                "二(五)18",
                "推动居家社区养老服务照料中心与社区卫生服务站、护理站或其他医疗设施同址或邻近设置",
            ),
            c(RS, "一(一)", "与社区邻里中心、社区卫生服务中心、学校、幼儿园、医院等相邻布局"),
            c(TX, "二(一)3", "推动养老服务机构与医疗卫生机构毗邻兴建"),
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
            "institutions": p(0.8, "share", "民营机构占比下限", "minimum private institutions"),
            "beds": p(0.8, "share", "民营床位占比下限", "minimum private beds"),
        },
        citations=(c(MQ, "一2", "民营养老机构占比达80%以上，民营养老床位占比达80%以上"),),
    ),
)
