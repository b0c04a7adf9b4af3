"""Data quality: what of the input fell out of the analysis, or looks wrong, said where people look.

Real county data is incomplete: OSM maps a town's core and not its villages, registers spell
types their own way, census tables and rasters disagree. A run never drops or guesses such
things silently: :func:`data_quality` turns them into warnings, each with a ``code``, the figure
behind it (``share`` of older residents or ``count`` of objects), the objects concerned and a
message in Chinese and English. They go into ``summary.json`` (``data_quality.warnings``), onto
the console at the end of every run and plan check, and into a banner on the map and the report
when the results rest on them (``banner``).

Thresholds are the scenario's ``quality:`` section (:class:`carecircle.scenario.QualityOptions`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from carecircle import rules as policy
from carecircle.scenario import Scenario

__all__ = [
    "DEFAULT_MARK",
    "add_siting_warnings",
    "add_tier_warnings",
    "catalogue_citations",
    "data_quality",
    "mark_defaults",
    "warning",
]


def warning(
    code: str,
    zh: str,
    en: str,
    *,
    share: float | None = None,
    count: int | None = None,
    items: Sequence[Mapping[str, Any]] = (),
    banner: bool = True,
) -> dict[str, Any]:
    """One warning as ``summary.json`` holds it."""
    out: dict[str, Any] = {"code": code, "banner": banner, "message_zh": zh, "message_en": en}
    if share is not None:
        out["share"] = round(float(share), 4)
    if count is not None:
        out["count"] = int(count)
    if items:
        out["items"] = [dict(i) for i in items[:20]]
        out["items_total"] = len(items)
    return out


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def data_quality(
    scenario: Scenario,
    *,
    villages: pd.DataFrame,
    facilities: pd.DataFrame,
    cells: pd.DataFrame,
    reports: Mapping[str, Any],
    tier: Mapping[str, Any],
) -> dict[str, Any]:
    """Every data-quality warning of a run, and the thresholds they were judged by.

    ``villages`` carry ``id, name, older, older_off_network, road_km, area_km2``; ``facilities``
    ``id, name, tier, network_part, access_m``; ``cells`` ``older, network_part, village``; ``reports`` the
    pipeline's reading reports (``facilities_ignored``, ``facility_village_codes``,
    ``census_ratio``); ``tier`` the village tier's own figures (``summary.tiers.village``).
    """
    q = scenario.quality
    out: list[dict[str, Any]] = []
    older = cells["older"].to_numpy(dtype=np.float64)
    total = float(older.sum())
    snap = cells["network_part"].to_numpy()
    for status, code, zh, en in (
        ("off_network", "older_off_network", "距已测绘道路过远", "beyond the mapped road network"),
        (
            "island",
            "older_on_islands",
            "位于与主路网不连通的道路上",
            "on roads cut off from the main network",
        ),
    ):
        part = float(older[snap == status].sum())
        share = part / total if total else 0.0
        if part > 0:
            where = _villages_with(villages, cells, snap == status)
            out.append(
                warning(
                    code,
                    f"{_pct(share)} 的老年人（{part:,.0f} 人）{zh}，其出行时间无法计算，计为不在服务圈内；"
                    "多半是道路未测绘，请补充路网后再评估",
                    f"{_pct(share)} of older residents ({part:,.0f}) are {en}: their travel time cannot "
                    "be measured and they count as outside the circle; the roads there are probably "
                    "unmapped, so add them before trusting the figure",
                    share=share,
                    items=where,
                    banner=share >= q.off_network_share,
                )
            )
    off = facilities[facilities["network_part"] == "off_network"]
    if len(off):
        items = [
            {
                "id": str(r["id"]),
                "name": str(r["name"]),
                "tier": str(r["tier"]),
                "access_m": round(float(r["access_m"]), 0),
            }
            for _, r in off.iterrows()
        ]
        out.append(
            warning(
                "facilities_off_network",
                f"{len(off)} 处设施距已测绘道路超过 {scenario.travel.max_access_m:g} 米，未计入可达性；"
                "多半是周边道路未测绘（或坐标有误）",
                f"{len(off)} of {len(facilities)} facilities are more than "
                f"{scenario.travel.max_access_m:g} m from any mapped road and reach no one; the roads "
                "around them are probably unmapped (or their coordinates are wrong)",
                count=len(off),
                items=items,
            )
        )
    sparse = _sparse_villages(villages, q.sparse_roads_ratio)
    if sparse:
        out.append(
            warning(
                "villages_sparse_roads",
                f"{len(sparse)} 个村（社区）的道路密度不到全县中位数的 {q.sparse_roads_ratio:.0%}，"
                "道路可能未测绘，其覆盖率偏低不可信",
                f"{len(sparse)} villages have less than {q.sparse_roads_ratio:.0%} of the county's median "
                "road length per km²: their roads are probably unmapped, and their low coverage "
                "may be the map's, not the service's",
                count=len(sparse),
                items=sparse,
            )
        )
    doubtful = _doubtful_types(facilities)
    if doubtful:
        out.append(
            warning(
                "facility_type_doubtful",
                f"{len(doubtful)} 处设施的类型与规模不符（如床位很少的“养老院”），可能按其类型被计入了错误的层级；"
                "请核对并在 data.facilities.types 中映射",
                f"{len(doubtful)} facilities have a type that does not fit their size (an "
                "'institution' with a handful of beds, a village centre with a nursing home's): "
                "their type may have put them in the wrong tier; check them and map the type in "
                "data.facilities.types",
                count=len(doubtful),
                items=doubtful,
            )
        )
    far = list(reports.get("facilities_outside_area", []))
    if far:
        first = far[0]
        out.append(
            warning(
                "facilities_outside_area",
                f"{len(far)} 处登记设施位于研究区及其缓冲区之外（如 {first['name']}，相距 "
                f"{first['km']:g} 公里），未计入；请检查其经纬度",
                f"{len(far)} registered facilities lie beyond the study area and its buffer "
                f"(e.g. {first['name']}, {first['km']:g} km away) and are not counted; check "
                "their coordinates (or coords: gcj02 / bd09)",
                count=len(far),
                items=far,
            )
        )
    ignored = dict(reports.get("facilities_ignored", {}))
    if ignored:
        n = sum(ignored.values())
        listing = ", ".join(f"{k} ×{v}" for k, v in ignored.items())
        out.append(
            warning(
                "facilities_ignored",
                f"按情景设置忽略了 {n} 处设施（{listing}）",
                f"{n} facilities ignored as the scenario's data.facilities.types says ({listing})",
                count=n,
                banner=False,
            )
        )
    codes = reports.get("facility_village_codes", {})
    if codes.get("disagree"):
        most = codes["disagree"] >= 0.5 * max(int(codes.get("checked") or 0), 1)
        out.append(
            warning(
                "facility_village_code_disagrees",
                f"{codes['disagree']} 处设施登记的所在村代码与其位置所在的村不一致；按位置计"
                + (_SHIFT_ZH if most else ""),
                f"{codes['disagree']} of {codes['checked']} facilities name a village code in the "
                "register other than the village they stand in; they count for the village they "
                "stand in ("
                + (_SHIFT_EN if most else "check the register or the village boundaries")
                + ")",
                count=int(codes["disagree"]),
                items=codes.get("examples", []),
            )
        )
    out.extend(_names_against_places(villages, facilities))
    out.extend(_villages_without_population(villages))
    out.extend(_villages_named_like_townships(villages))
    out.extend(_stand_ins(reports.get("stand_ins", {})))
    out.extend(_kit_layers(scenario))
    outside = float(older[cells["village"].to_numpy() < 0].sum())
    if total and outside / total >= 0.01:
        out.append(
            warning(
                "older_outside_villages",
                f"{_pct(outside / total)} 的老年人不在任何村（社区）界内，只计入全县数字",
                f"{_pct(outside / total)} of older residents live outside every village boundary and "
                "count only in the county figures (check the village layer's coverage)",
                share=outside / total,
                banner=outside / total >= q.off_network_share,
            )
        )
    ratio = reports.get("census_ratio")
    if ratio is not None and max(ratio, 1 / ratio) >= q.census_ratio_warn:
        out.append(
            warning(
                "census_raster_disagree",
                f"栅格人口为普查表的 {ratio:.2f} 倍；老年人比例取自普查表，总量取自栅格",
                f"the population raster holds {ratio:.2f}× the census table's residents; shares come "
                "from the table and totals from the raster, so check both",
                share=ratio,
            )
        )
    if not tier.get("same_as_circle", True):
        minutes = policy.circle_minutes(scenario.policy.targets)
        out.append(
            warning(
                "circle_at_rule_minutes",
                f"村级设施圈按情景为 {tier['minutes']:g} 分钟（覆盖 {_pct(tier['share'])}），另行报告；"
                f"服务圈、缺口与地图均按规则 circle-15min 的 {minutes:g} 分钟评估",
                f"the village tier's own {tier['minutes']:g}-minute figure ({_pct(tier['share'])}) is "
                f"reported apart; the circle, its gaps and the map are judged at the rule "
                f"circle-15min's {minutes:g} minutes",
                share=float(tier["share"]),
                banner=False,
            )
        )
    foreign = catalogue_citations(scenario)
    if foreign:
        document = scenario.policy.document
        cited = sorted({d for f in foreign for d in f["documents"]})
        said_zh = (
            f"情景所述的《{document}》" if document else "本县文件（情景未给出 policy.document）"
        )
        said_en = (
            f"the scenario's document ({document})"
            if document
            else "the county's own document (the scenario names none in policy.document)"
        )
        out.append(
            warning(
                "rules_cite_catalogue_documents",
                f"{len(foreign)} 条规则的条款引自{'、'.join(cited)}（目录默认），而非{said_zh}；"
                f"其中 {sum(1 for f in foreign if f['values'] == 'catalogue')} 条的目标值也是目录默认值；"
                "如本县文件另有规定，请在 policy.targets 中覆盖",
                f"{len(foreign)} rules cite {', '.join(cited)} (catalogue defaults), not {said_en}; "
                f"{sum(1 for f in foreign if f['values'] == 'catalogue')} of them are also judged at "
                "the catalogue's default values; override them in policy.targets where the county's "
                "document differs",
                count=len(foreign),
                items=foreign,
                banner=False,
            )
        )
    return {
        "thresholds": {
            "off_network_share": q.off_network_share,
            "sparse_roads_ratio": q.sparse_roads_ratio,
            "census_ratio_warn": q.census_ratio_warn,
        },
        "warnings": out,
        "banner": [w["code"] for w in out if w["banner"]],
    }


# Said where most facilities stand outside the village their register code or name gives: a
# systematic shift of the coordinates, not a few typing errors.
_SHIFT_ZH = "；多数设施如此，坐标很可能属另一坐标系：百度坐标（BD-09）请设 coords: bd09，高德/腾讯（GCJ-02）请设 coords: gcj02"
_SHIFT_EN = (
    "most do: the coordinates are probably in another system; Baidu Maps coordinates (BD-09) "
    "need `coords: bd09`, Gaode/Amap or Tencent ones (GCJ-02) `coords: gcj02`, a projected "
    "file its .prj or `crs:`"
)


def _names_against_places(villages: pd.DataFrame, facilities: pd.DataFrame) -> list[dict[str, Any]]:
    """Facilities whose name names a village (its full name, e.g. 黄坑村 in 黄坑村居家养老服务站)
    while they stand in another: a cross-check of the coordinates that needs no register code."""
    if "name" not in facilities.columns or "village" not in facilities.columns:
        return []
    names = {
        str(n): str(i)
        for i, n in zip(villages["id"], villages["name"], strict=True)
        if len(str(n).strip()) >= 3
    }
    if not names:
        return []
    ordered = sorted(names, key=len, reverse=True)
    checked, wrong = 0, []
    for fname, at in zip(
        facilities["name"].astype(str), facilities["village"].astype(str), strict=True
    ):
        named = next((n for n in ordered if n in fname), None)
        if named is None:
            continue
        checked += 1
        if names[named] != at:
            stands = next((v for v, i in names.items() if i == at), at or "—")
            wrong.append({"facility": fname, "named_village": named, "stands_in": stands})
    if not wrong:
        return []
    most = len(wrong) >= 3 and len(wrong) >= 0.5 * checked
    return [
        warning(
            "facility_name_names_another_village",
            f"{len(wrong)} 处设施的名称写着另一个村（社区）（共 {checked} 处名称含村名）；按位置计"
            + (_SHIFT_ZH if most else "；请核对其坐标"),
            f"{len(wrong)} of the {checked} facilities whose name names a village stand in another "
            "village; they count where they stand ("
            + (_SHIFT_EN if most else "check their coordinates")
            + ")",
            count=len(wrong),
            items=wrong,
            banner=most,
        )
    ]


def _stand_ins(stand_ins: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Admin layers and a register the scenario does not give, and what stands in for them."""
    out = []
    if stand_ins.get("townships"):
        out.append(
            warning(
                "townships_from_outline",
                "未提供乡镇图层，全县按一个乡镇计；乡镇一级的数字即全县数字，请补充乡镇界线（三调或民政区划）",
                "no townships layer: the county counts as one township, so township figures are "
                "the county's; give the townships (三调 or the civil-affairs boundaries) in "
                "data.townships",
            )
        )
    if stand_ins.get("villages"):
        out.append(
            warning(
                "villages_from_townships",
                "未提供村（社区）图层，每个乡镇按一个村计；村一级的覆盖与缺口无法区分，请补充村界或村点（data.villages）",
                "no villages layer: each township counts as one village, so village coverage and "
                "gaps cannot tell villages apart; give village territories or village points in "
                "data.villages",
            )
        )
    report = stand_ins.get("village_territories")
    if report:
        lost = list(report.get("sharing_a_point", [])) + list(report.get("outside_townships", []))
        empty = list(report.get("townships_without_village", []))
        out.append(
            warning(
                "village_territories_approximate",
                f"村界由 {report['with_territory']} 个村点近似（每处归最近的本乡镇村点），仅供参考"
                + (f"；{len(lost)} 个村点与他村重合或在乡镇外，未计" if lost else "")
                + (f"；{len(empty)} 个乡镇无村点" if empty else ""),
                f"village territories are approximated from {report['with_territory']} village "
                "points (each place goes to the nearest village point of its township): village "
                "figures are indicative"
                + (
                    f"; {len(lost)} village points share another's location or lie outside "
                    "every township and are left out"
                    if lost
                    else ""
                )
                + (f"; {len(empty)} townships hold no village point" if empty else ""),
                count=int(report["with_territory"]),
                items=[{"id": v, "reason": "shared point or outside townships"} for v in lost]
                + [{"township": t, "reason": "no village point"} for t in empty],
            )
        )
    if stand_ins.get("village_townships"):
        out.append(
            warning(
                "village_townships_located",
                "村图层未给出所属乡镇代码，按村所在位置归入乡镇",
                "the villages layer gives no township code: each village belongs to the township "
                "it stands in",
                banner=False,
            )
        )
    if stand_ins.get("facilities"):
        out.append(
            warning(
                "no_facility_register",
                "未提供设施名录（data.facilities）：按尚无任何养老服务设施评估，覆盖率为 0；请补充民政设施名录",
                "no facility register (data.facilities): the county is scored as having no care "
                "facility at all, so coverage is 0; give the civil-affairs register",
            )
        )
    return out


def _kit_layers(scenario: Scenario) -> list[dict[str, Any]]:
    """Layers of a `carecircle init` kit (data/kit.json) that are drafts or approximations."""
    from carecircle.kit.manifest import kit_notes

    notes = kit_notes(scenario)
    if not notes:
        return []
    listed = ", ".join(f"{n.layer} {n.trust}" for n in notes)
    return [
        warning(
            "kit_layers_not_official",
            f"{len(notes)} 个图层来自开放数据草稿或模型估算（{'、'.join(n.layer for n in notes)}），"
            "结果仅供参考；请用民政、自然资源部门的数据替换（carecircle init --from-files）",
            f"{len(notes)} layer(s) of this kit are open-data drafts or modelled estimates, not "
            f"the bureau's ({listed}; sources in the kit's data/SOURCES.md); replace them with "
            "`carecircle init --from-files LAYER=PATH`",
            count=len(notes),
            items=[
                {"layer": n.layer, "trust": n.trust, "source": n.source, "licence": n.licence}
                for n in notes
            ],
        )
    ]


# A village layer's entry with one of these endings is a township, a sub-district or an office,
# not an administrative village or community (村、社区、居委会): usually a layer built from OSM
# place names, which mixes them.
_NOT_A_VILLAGE = ("街道", "街道办事处", "办事处", "人民政府", "镇政府", "乡政府")


def _villages_named_like_townships(villages: pd.DataFrame) -> list[dict[str, Any]]:
    """Entries of the villages layer named like a township, sub-district or government office:
    they are scored, given gaps and recommended centres as if they were villages."""
    if "name" not in villages.columns or len(villages) == 0:
        return []
    names = villages["name"].astype(str).str.strip()
    odd = villages[names.str.endswith(_NOT_A_VILLAGE)]
    if len(odd) == 0:
        return []
    items = [{"name": str(n), "id": str(i)} for i, n in zip(odd["id"], odd["name"], strict=True)]
    shown = "、".join(str(n) for n in odd["name"][:6])
    return [
        warning(
            "villages_named_like_townships",
            f"村（社区）图层中有 {len(odd)} 项的名称像乡镇、街道或机关（{shown}）：它们被当作村来"
            "评分、列缺口和推荐照料中心；请换用民政或自然资源部门的村界，或删去这些项",
            f"{len(odd)} entries of the villages layer are named like a township, sub-district or "
            f"office ({shown}): they are scored, given gaps and recommended centres as villages; "
            "use the civil-affairs or natural-resources village boundaries, or drop them",
            count=len(odd),
            items=items,
        )
    ]


def _villages_without_population(villages: pd.DataFrame) -> list[dict[str, Any]]:
    """Villages the population data gives no older resident at all: usually a population raster
    or point layer that does not cover the whole county, so they count as "no older residents"
    (not judged) rather than as places people live."""
    if "older" not in villages.columns or len(villages) == 0:
        return []
    empty = villages[villages["older"].fillna(0).to_numpy(dtype=np.float64) <= 0]
    if len(empty) == 0:
        return []
    share = len(empty) / len(villages)
    area = villages["area_km2"] if "area_km2" in villages.columns else None
    area_share = (
        float(empty["area_km2"].sum() / area.sum())
        if area is not None and area.sum() > 0
        else share
    )
    items = [
        {"village": str(n), "id": str(i)} for i, n in zip(empty["id"], empty["name"], strict=True)
    ]
    return [
        warning(
            "villages_without_population",
            f"{len(empty)} 个村（社区）（占全县面积 {_pct(area_share)}）没有任何老年人口数据，"
            "不计入覆盖判断；请确认人口栅格或人口点覆盖全县",
            f"{len(empty)} of {len(villages)} villages ({_pct(area_share)} of the county's area) get "
            "no older resident from the population data and are not judged; check that the "
            "population raster or points cover the whole county",
            share=area_share,
            count=len(empty),
            items=items,
            banner=share >= 0.1 or area_share >= 0.1,
        )
    ]


# Facility tiers that often do a tier's work in a county's register under another name.
_STAND_INS: Mapping[str, tuple[str, ...]] = {
    "township": ("jingloyuan",),
    "regional": ("jingloyuan", "institution"),
    "village": ("mutual_aid",),
}


def add_tier_warnings(
    quality: dict[str, Any], scenario: Scenario, tiers: Mapping[str, Any], facilities: pd.DataFrame
) -> None:
    """A tier whose register holds none of its services scores 0 %: that says the register has
    none of them, not that nobody is in reach; name the stand-ins the register does hold."""
    out = quality["warnings"]
    held = facilities["tier"].value_counts()
    for name, tier in tiers.items():
        if int(tier.get("sites", 0)) > 0:
            continue
        services = ", ".join(tier.get("services", []))
        others = [t for t in _STAND_INS.get(name, ()) if int(held.get(t, 0)) > 0]
        hint_zh = hint_en = ""
        if others:
            counts = "、".join(f"{t} {int(held[t])} 处" for t in others)
            listed = ", ".join([*tier.get("services", []), *others])
            hint_zh = (
                f"；登记表中有 {counts}，如其承担此层级服务，请设 tiers.{name}.services: [{listed}]"
            )
            hint_en = (
                f"; the register holds {', '.join(f'{int(held[t])} {t}' for t in others)}: if they "
                f"serve this tier, set tiers.{name}.services: [{listed}]"
            )
        tier_zh = {"village": "村级", "township": "乡镇（街道）级", "regional": "区域级"}.get(
            name, name
        )
        mode_zh = {"walk": "步行", "ebike": "电动车", "drive": "驾车"}.get(
            tier["mode"], tier["mode"]
        )
        out.append(
            warning(
                "tier_without_sites",
                f"{tier_zh}设施圈（{mode_zh}{tier['minutes']:g}分钟）在设施登记表中没有任何 "
                f"{services} 类设施，其覆盖率 0% 表示没有登记此类设施，而非无人可达{hint_zh}",
                f"the {name} tier ({tier['mode']}, {tier['minutes']:g} min) has no facility of "
                f"{services} in the register: its 0 % says none is registered, not that nobody "
                f"is in reach{hint_en}",
                count=0,
            )
        )
    quality["banner"] = [w["code"] for w in out if w["banner"]]


def add_siting_warnings(
    quality: dict[str, Any], scenario: Scenario, siting: Mapping[str, Any]
) -> None:
    """Warnings the recommendations raise: older residents no candidate site can reach, parcels
    left out for the land they stand on, centres moved off forbidden land."""
    out = quality["warnings"]
    homes = siting.get("regional_homes", {})
    unreached = float(homes.get("older_reach_no_candidate", 0.0) or 0.0)
    if unreached > 0:
        places = homes.get("villages_reach_no_candidate", [])
        tier = scenario.tier(scenario.siting.tier if scenario.siting else "regional")
        out.append(
            warning(
                "older_reach_no_home_site",
                f"{unreached:,.0f} 名老年人在{tier.minutes:g}分钟车程内到不了任何候选地块（"
                f"{'、'.join(places[:8]) or '村界之外'}）；多为只进不出的单行道、远离道路或道路未测绘",
                f"{unreached:,.0f} older residents reach no candidate site within {tier.minutes:g} "
                f"minutes by car ({', '.join(places[:8]) or 'outside the villages'}): they live "
                "off the roads, in a pocket of one-way streets with no way out, or where the roads "
                "are unmapped",
                count=round(unreached),
                items=[{"name": p} for p in places],
            )
        )
    cands = siting.get("candidates", {})
    if cands.get("excluded_land_use") or cands.get("excluded_outside_county"):
        n = int(cands.get("excluded_land_use", 0)) + int(cands.get("excluded_outside_county", 0))
        out.append(
            warning(
                "candidates_excluded",
                f"{n} 个候选地块未参与选址：{cands.get('excluded_land_use', 0)} 个用地性质不得建设养老设施，"
                f"{cands.get('excluded_outside_county', 0)} 个在县域外",
                f"{n} candidate parcels were left out of the siting: "
                f"{cands.get('excluded_land_use', 0)} on land a care facility may not use "
                f"(land-use-compatible), {cands.get('excluded_outside_county', 0)} outside the county "
                "(site-in-county)",
                count=n,
                items=cands.get("excluded", []),
                banner=False,
            )
        )
    unknown = [
        {
            "id": str(x.get("id")),
            "name": str(x.get("name")),
            "candidate_id": str(x.get("candidate_id")),
        }
        for x in siting.get("sites", [])
        if x.get("kind") == "parcel" and not str(x.get("land_use") or "").strip()
    ]
    if unknown:
        out.append(
            warning(
                "sites_on_unknown_land",
                f"{len(unknown)} 处推荐选址所在地块没有用地代码，无法核对其用地是否允许建设养老设施："
                "请补充用地用海分类代码后再审查",
                f"{len(unknown)} recommended sites stand on parcels with no land-use code, so whether "
                "the land may host a care facility cannot be checked: add their 用地用海分类 codes",
                count=len(unknown),
                items=unknown,
            )
        )
    centres = siting.get("village_centres", {})
    roadless = list(centres.get("villages_without_mapped_roads", []))
    if roadless:
        out.append(
            warning(
                "centres_in_villages_without_roads",
                f"{len(roadless)} 个村（社区）没有任何已测绘道路（{'、'.join(roadless[:8])}）："
                "为其推荐的照料中心在地图上无人可达，请先补测道路",
                f"{len(roadless)} villages have no mapped road at all ({', '.join(roadless[:8])}): the "
                "centre recommended for each reaches no one on the map; map their roads first",
                count=len(roadless),
                items=[{"name": n} for n in roadless],
            )
        )
    unreachable = float(centres.get("older_unreachable", 0.0) or 0.0)
    if unreachable > 0:
        places = list(centres.get("villages_unreachable", []))
        out.append(
            warning(
                "older_no_centre_can_reach",
                f"{unreachable:,.0f} 名老年人（{'、'.join(places[:8]) or '村界之外'}）在已测绘道路上"
                "无论在哪里新建照料中心都无法步行到达：推荐方案之后仍在服务圈外",
                f"{unreachable:,.0f} older residents ({', '.join(places[:8]) or 'outside the villages'}) "
                "can reach no possible centre site on the mapped roads: they stay outside the circle "
                "after the recommendation",
                count=round(unreachable),
                items=[{"name": p} for p in places],
            )
        )
    moved = int(centres.get("points_moved_off_forbidden_land", 0) or 0)
    if moved:
        out.append(
            warning(
                "centres_moved_off_forbidden_land",
                f"{moved} 处新建照料中心的位置落在不得建设的地块上，已移至地块外最近处",
                f"{moved} new village centres would have stood on land a care facility may not use; "
                "each was moved just outside that parcel",
                count=moved,
                banner=False,
            )
        )
    quality["banner"] = [w["code"] for w in out if w["banner"]]


DEFAULT_MARK = "（目录默认 / catalogue default）"


def mark_defaults(
    rows: list[dict[str, Any]], scenario: Scenario, rules: Sequence[policy.Rule] = ()
) -> None:
    """Rows (verdicts, gaps) whose rule cites none of the scenario's own documents get
    ``citation_default`` and their citation marked as the catalogue's default, so every page,
    CSV and workbook that prints the clause says that it is another county's."""
    defaults = {f["rule"] for f in catalogue_citations(scenario, rules)}
    for row in rows:
        is_default = row.get("rule_id") in defaults
        row["citation_default"] = is_default
        if is_default and not str(row.get("citation", "")).endswith(DEFAULT_MARK):
            row["citation"] = f"{row.get('citation', '')}{DEFAULT_MARK}"


def catalogue_citations(
    scenario: Scenario, rules: Sequence[policy.Rule] = ()
) -> list[dict[str, Any]]:
    """The scenario's rules (and ``rules``) whose citations come from none of its own documents.

    The scenario's ``policy.document`` is matched against the catalogue's documents by number or
    title; national standards (GB, TD/T) apply everywhere and never count as another's.
    """
    document = (scenario.policy.document or "").strip()
    own = {
        d.key
        for d in policy.DOCUMENTS.values()
        if document and (document in (d.number, d.title) or d.number in document)
    }
    out = []
    targets = scenario.policy.targets
    for rule in [*policy.resolve(targets).values(), *rules]:
        local = [c.document() for c in rule.citations if c.document().file is not None]
        if local and not any(d.key in own for d in local):
            values = "scenario" if targets.get(rule.id) is not None else "catalogue"
            out.append(
                {"rule": rule.id, "documents": sorted({d.number for d in local}), "values": values}
            )
    return out


# Beyond these a facility's size contradicts its tier: a home with fewer beds than a family
# house is a day-care centre, a "centre" with a nursing home's beds is a home.
_INSTITUTION_TIERS = ("jingloyuan", "regional", "county", "institution")
_FEW_BEDS = 10
_MANY_BEDS = 50


def _doubtful_types(facilities: pd.DataFrame) -> list[dict[str, Any]]:
    if "beds" not in facilities.columns:
        return []
    beds = pd.to_numeric(facilities["beds"], errors="coerce").fillna(0).to_numpy()
    tier = facilities["tier"].astype(str).to_numpy()
    few = np.isin(tier, _INSTITUTION_TIERS) & (beds < _FEW_BEDS)
    many = (tier == "village") & (beds >= _MANY_BEDS)
    rows = []
    for i in np.flatnonzero(few | many).tolist():
        r = facilities.iloc[i]
        rows.append(
            {
                "id": str(r["id"]),
                "name": str(r["name"]),
                "type": str(r.get("type", "")),
                "tier": str(r["tier"]),
                "beds": float(beds[i]),
            }
        )
    return rows


def _villages_with(
    villages: pd.DataFrame, cells: pd.DataFrame, mask: np.ndarray
) -> list[dict[str, Any]]:
    """Villages holding the masked cells' older residents, most first."""
    idx = cells["village"].to_numpy()[mask]
    older = cells["older"].to_numpy(dtype=np.float64)[mask]
    inside = idx >= 0
    sums = np.bincount(idx[inside], weights=older[inside], minlength=len(villages))
    order = np.argsort(-sums)
    rows = []
    for i in order:
        if sums[i] <= 0:
            break
        v = villages.iloc[int(i)]
        rows.append({"id": str(v["id"]), "name": str(v["name"]), "older": round(float(sums[i]), 1)})
    if (~inside).any():
        rows.append(
            {
                "id": "",
                "name": "（村界之外 / outside villages）",
                "older": round(float(older[~inside].sum()), 1),
            }
        )
    return rows


def _sparse_villages(villages: pd.DataFrame, ratio: float) -> list[dict[str, Any]]:
    """Villages with older residents whose road length per km² is far below the county's median."""
    if "road_km" not in villages.columns or len(villages) < 3:
        return []
    v = villages[villages["older"] > 0]
    area = v["area_km2"].to_numpy(dtype=np.float64)
    density = np.where(area > 0, v["road_km"].to_numpy(dtype=np.float64) / area, np.nan)
    median = float(np.nanmedian(density)) if np.isfinite(density).any() else 0.0
    if median <= 0:
        return []
    low = density < ratio * median
    return [
        {
            "id": str(r["id"]),
            "name": str(r["name"]),
            "road_km_per_km2": round(float(d), 2),
            "county_median": round(median, 2),
            "older": round(float(r["older"]), 1),
        }
        for (_, r), d, is_low in zip(v.iterrows(), density, low, strict=True)
        if is_low
    ]
