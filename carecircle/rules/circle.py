"""Service-circle and coverage targets of the seed documents."""

from __future__ import annotations

from carecircle.rules.model import MQ, RS, TX, YQ, Rule, c, p

__all__ = ["RULES"]

RULES: tuple[Rule, ...] = (
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
            "minutes": p(15, "minutes", "服务圈时间", "travel time of the circle"),
            "coverage": p(1.0, "share", "覆盖老年人比例", "share of older residents covered"),
        },
        citations=(
            c(TX, "一", "形成城乡“十五分钟养老服务圈”，实现城乡老年人均可享受基本养老服务"),
            c(TX, "二(一)1", "实现“机构跟着老人走”"),
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
        params={"value": p(1.0, "share", "覆盖率", "coverage")},
        citations=(
            c(YQ, "一", "实现居家养老服务设施行政村（社区）全覆盖"),
            c(YQ, "二(二)6", "2022 年底前完成行政村（社区）居家养老服务照料中心建设全覆盖"),
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
        params={"value": p(1.0, "share", "覆盖率", "coverage")},
        citations=(c(YQ, "二(二)6", "2020 年底前乡镇（街道）养老服务中心实现全覆盖"),),
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
            "min_area_km2": p(70, "km2", "乡镇面积下限", "township area at least"),
            "min_residents": p(60000, "count", "常住人口下限", "residents at least"),
        },
        citations=(
            c(
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
            "town_centres": p(1.0, "share", "乡镇照料中心覆盖率", "township centre coverage"),
            "community_stations": p(
                1.0, "share", "社区居家养老服务站覆盖率", "community station coverage"
            ),
            "happiness_homes": p(
                0.8, "share", "建制村农村幸福院覆盖率", "rural happiness-home coverage"
            ),
            "regional_centres": p(3, "count", "农村区域性养老服务中心数", "rural regional centres"),
        },
        citations=(
            c(MQ, "一1", "配建3个农村区域性养老服务中心"),
            c(MQ, "一1", "乡镇居家社区养老服务照料中心覆盖率100%；社区居家养老服务站覆盖率100%"),
            c(MQ, "一1", "建制村农村幸福院覆盖率80%"),
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
        params={"value": p(0.6, "share", "覆盖率下限", "minimum coverage")},
        citations=(c(YQ, "二(二)8", "农村养老互助点覆盖率达到 60% 以上"),),
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
            "street_institutions": p(
                1.0, "share", "街道综合养老服务机构覆盖率", "street institution coverage"
            ),
            "day_care_centres": p(
                1.0, "share", "社区日间照料中心覆盖率", "community day-care coverage"
            ),
        },
        citations=(c(RS, "二(七)", "街道综合养老服务机构、社区日间照料中心覆盖率达到100%"),),
    ),
    Rule(
        id="meal-points",
        title_zh="城乡老年助餐服务场所数量",
        title_en="Meal-service sites",
        description_zh="2022年底前，城乡老年助餐服务场所总量达到100处。",
        description_en="By end-2022 at least 100 meal-service sites for older people city-wide.",
        scope="county",
        kind="A",
        params={"value": p(100, "count", "助餐服务场所数", "meal-service sites")},
        citations=(c(RS, "二(十)", "城乡老年助餐服务场所总量达到100处"),),
    ),
)
