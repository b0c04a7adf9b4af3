"""tables.xlsx: the run's tables for planners who work in Excel/WPS, one sheet per table.

Headers are Chinese with English alongside; shares are stored as numbers formatted as
percentages, so they sort and sum; the first row and column stay in view.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from carecircle.outputs.figures import headlines, tier_rows
from carecircle.outputs.layers import OutputLayers
from carecircle.pipeline import RunResult
from carecircle.planning.findings import findings_table
from carecircle.recommend import SITE_COLUMNS
from carecircle.safe import defuse_formula

__all__ = ["SHEETS", "write_xlsx"]

SHEETS = (
    "汇总 summary",
    "数据质量 data quality",
    "目标核对 verdicts",
    "缺口 gaps",
    "村社区 villages",
    "乡镇 townships",
    "各级可达 tiers",
    "设施 facilities",
    "推荐选址 sites",
    "照料中心覆盖曲线 centre curve",
    "流动互助服务 mobile service",
)

# column -> (Chinese, English) header
HEADERS: Mapping[str, tuple[str, str]] = {
    "code": ("提示代码", "code"),
    "banner": ("影响结果", "results rest on it"),
    "message_zh": ("说明", "message (zh)"),
    "message_en": ("说明（英文）", "message"),
    "count": ("数量", "count"),
    "warning_share": ("占比", "share"),
    "id": ("编号", "id"),
    "name": ("名称", "name"),
    "township": ("乡镇（街道）", "township"),
    "kind": ("类型", "kind"),
    "residents": ("常住人口", "residents"),
    "older": ("60岁及以上", "aged 60+"),
    "older_covered": ("已覆盖", "covered"),
    "older_off_network": ("距道路过远", "off the network"),
    "share": ("覆盖率", "share covered"),
    "has_centre": ("有服务中心", "has a centre"),
    "area_km2": ("面积 km²", "area km²"),
    "type": ("设施类型", "type"),
    "tier": ("层级", "tier"),
    "village": ("所在村社区", "village"),
    "in_township": ("所在乡镇", "in township"),
    "floor_m2": ("建筑面积 m²", "floor m²"),
    "beds": ("床位", "beds"),
    "townships": ("可达乡镇（老年人）", "townships in reach (older residents)"),
    "note": ("备注", "note"),
    "nursing_beds": ("护理型床位", "nursing beds"),
    "source": ("来源", "source"),
    "network_part": ("接入路网", "network link"),
    "access_m": ("到路网距离 m", "access m"),
    "rule_id": ("规则", "rule"),
    "measured": ("现状", "measured"),
    "required": ("目标", "target"),
    "unit": ("单位", "unit"),
    "status": ("结论", "status"),
    "status_zh": ("结论（中文）", "status (zh)"),
    "reason_zh": ("说明", "reason (zh)"),
    "reason_en": ("说明（英文）", "reason"),
    "action_zh": ("措施", "action (zh)"),
    "action_en": ("措施（英文）", "action"),
    "citation": ("依据", "clause"),
    "scope": ("对象", "scope"),
    "object_id": ("对象编号", "object id"),
    "object_name": ("对象名称", "object"),
    "shortfall": ("差距", "shortfall"),
    "severity": ("性质", "severity"),
    "fragile": ("随步速变化", "fragile"),
    "candidate_id": ("候选编号", "candidate id"),
    "land_m2": ("用地 m²", "land m²"),
    "land_mu": ("用地 亩", "land mu"),
    "land_use": ("用地性质", "land use"),
    "zone": ("片区", "zone"),
    "marginal_gain": ("边际增益", "marginal gain"),
    "older_in_reach": ("可达老年人", "older within reach"),
    "existing_beds": ("现有床位", "existing beds"),
    "villages": ("新覆盖的村", "villages newly covered"),
    "year": ("建设年度", "year"),
    "centres": ("新增照料中心", "new centres"),
    "older_brought": ("新增覆盖", "newly within reach"),
    "bound": ("上界", "bound"),
    "exact": ("已证明最优", "proven optimal"),
    "service": ("服务方式", "service"),
    "lon": ("经度", "longitude"),
    "lat": ("纬度", "latitude"),
    "figure": ("指标", "figure"),
    "value": ("数值", "value"),
    "target": ("目标", "target"),
    "detail": ("说明", "detail"),
    "village_share": ("村级照料中心可达率", "village-centre tier share"),
    "township_share": ("乡镇中心可达率", "township tier share"),
    "regional_share": ("区域机构可达率", "regional tier share"),
    "beds_allotted": ("分得床位（2SFCA）", "beds allotted (2SFCA)"),
    "beds_per_1000_older": ("可达床位/千名老人", "beds in reach per 1,000 older"),
    "reach": ("出行方式", "reach"),
    "services": ("计入设施", "services counted"),
    "sites": ("设施数", "sites"),
    "townships_meeting": ("达标乡镇", "townships at target"),
    "townships_worst_decile": ("最差一成乡镇", "worst tenth of townships"),
    "villages_meeting": ("达标村社区", "villages at target"),
    "villages_worst_decile": ("最差一成村社区", "worst tenth of villages"),
    "least_covered": ("最低的乡镇", "lowest townships"),
}

_SHARE_COLUMNS = {
    "share",
    "warning_share",
    "share_0.8mps",
    "share_1mps",
    "share_1.2mps",
    "village_share",
    "township_share",
    "regional_share",
}
_HEAD_FILL = PatternFill("solid", fgColor="DCE6F1")


def write_xlsx(result: RunResult, layers: OutputLayers, path: Path) -> None:
    """Write every sheet of :data:`SHEETS` (the sites sheet says so when there was no siting)."""
    wb = Workbook()
    wb.remove(wb.active)
    frames = _frames(result, layers)
    for title in SHEETS:
        _sheet(wb.create_sheet(title), frames[title])
    wb.save(path)


def _frames(result: RunResult, layers: OutputLayers) -> dict[str, pd.DataFrame]:
    towns = dict(zip(result.townships["id"], result.townships["name"], strict=False))
    villages = pd.DataFrame(result.villages.drop(columns="geometry"))
    villages["township"] = villages["township"].map(towns).fillna(villages["township"])
    band = [c for c in villages.columns if c.startswith("share_") and c.endswith("mps")]
    facilities = pd.DataFrame(result.facilities.drop(columns="geometry"))
    fac_cols = [
        "id",
        "name",
        "type",
        "tier",
        "village",
        "in_township",
        "floor_m2",
        "beds",
        "nursing_beds",
        "source",
        "network_part",
        "access_m",
    ]
    gap_rows = findings_table(result.gaps.gaps)
    gap_cols = [
        "kind",
        "scope",
        "township",
        "object_name",
        "object_id",
        "measured",
        "required",
        "unit",
        "shortfall",
        "status_zh",
        "severity",
        "fragile",
        "reason_zh",
        "reason_en",
        "action_zh",
        "action_en",
        "rule_id",
        "citation",
    ]
    verdict_cols = [
        "rule_id",
        "measured",
        "required",
        "unit",
        "status",
        "status_zh",
        "reason_zh",
        "reason_en",
        "citation",
    ]
    return {
        "汇总 summary": _summary_frame(result),
        "数据质量 data quality": _quality_frame(result),
        "目标核对 verdicts": _select(
            pd.DataFrame(result.summary.get("verdicts", [])), verdict_cols
        ),
        "缺口 gaps": _select(pd.DataFrame(gap_rows), gap_cols),
        "村社区 villages": _select(
            villages,
            [
                "id",
                "name",
                "township",
                "kind",
                "residents",
                "older",
                "older_covered",
                "share",
                *band,
                "village_share",
                "township_share",
                "regional_share",
                "beds_allotted",
                "beds_per_1000_older",
                "has_centre",
                "older_off_network",
            ],
        ),
        "乡镇 townships": _select(
            pd.DataFrame(result.townships.drop(columns="geometry")),
            [
                "id",
                "name",
                "kind",
                "area_km2",
                "residents",
                "older",
                "older_covered",
                "share",
                "village_share",
                "township_share",
                "regional_share",
                "beds_allotted",
                "beds_per_1000_older",
                "has_centre",
            ],
        ),
        "各级可达 tiers": _tiers_frame(result),
        "设施 facilities": _select(facilities, fac_cols),
        "推荐选址 sites": _sites_frame(layers),
        **_centre_frames(result),
    }


def _tiers_frame(result: RunResult) -> pd.DataFrame:
    """The circle and each tier at its own reach, with its spread over townships and villages
    (the report's table), then the beds within the regional tier's reach."""
    rows = []
    for r in tier_rows(result.summary):
        t, v = r["equity"].get("townships", {}), r["equity"].get("villages", {})
        rows.append(
            {
                "name": f"{r['label_zh']} / {r['label_en']}",
                "reach": f"{r['mode_zh']} / {r['mode_en']}",
                "services": f"{r['services_zh']} / {r['services_en']}",
                "sites": r["sites"],
                "older": r["older"],
                "older_covered": r["older_covered"],
                "share": r["share"],
                "townships_meeting": f"{t.get('meeting_target', 0)} / {t.get('places', 0)}",
                "townships_worst_decile": t.get("worst_decile"),
                "villages_meeting": f"{v.get('meeting_target', 0)} / {v.get('places', 0)}",
                "villages_worst_decile": v.get("worst_decile"),
                "least_covered": "、".join(
                    f"{w['name']} {w['value'] * 100:.1f}%" for w in t.get("worst", [])[:3]
                ),
            }
        )
    regional = result.summary.get("tiers", {}).get("regional", {})
    beds = result.summary.get("equity", {}).get("beds_per_1000_older")
    if beds and "beds_per_1000_older" in regional:
        t, v = beds["townships"], beds["villages"]
        rows.append(
            {
                "name": "可达床位/千名老人 / beds within reach per 1,000 older",
                "reach": f"驾车{regional['minutes']:g}分钟 / {regional['minutes']:g} min by car"
                if regional["mode"] == "drive"
                else f"{regional['minutes']:g} min {regional['mode']}",
                "services": "全部养老机构床位 / every nursing-home bed (2SFCA)",
                "sites": regional.get("bed_sites"),
                "older": regional["older"],
                "older_covered": None,
                "share": None,
                "value": regional["beds_per_1000_older"],
                "target": beds["target"],
                "townships_meeting": f"{t.get('meeting_target', 0)} / {t.get('places', 0)}",
                "townships_worst_decile": t.get("worst_decile"),
                "villages_meeting": f"{v.get('meeting_target', 0)} / {v.get('places', 0)}",
                "villages_worst_decile": v.get("worst_decile"),
                "least_covered": "、".join(
                    f"{w['name']} {w['value']:.1f}" for w in t.get("worst", [])[:3]
                ),
            }
        )
    return pd.DataFrame(rows)


def _select(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    return frame[[c for c in columns if c in frame.columns]]


def _summary_frame(result: RunResult) -> pd.DataFrame:
    s = result.summary
    rows = [
        {"figure": "情景 / scenario", "value": result.scenario.title or result.scenario.name},
        {"figure": "坐标系 / CRS", "value": s["scenario"]["crs"]},
    ]
    for h in headlines(result):
        rows.append(
            {
                "figure": f"{h.label_zh} / {h.label_en}",
                "value": h.value,
                "target": h.target or "",
                "status": h.status or "",
                "detail": " / ".join(d for d in (h.detail_zh, h.detail_en) if d),
                "rule_id": h.rule_id,
                "citation": h.citation,
            }
        )
    for speed, share in s["village_circle"].get("share_by_walk_speed", {}).items():
        rows.append({"figure": f"步速 {speed} m/s 时覆盖率 / share at {speed} m/s", "value": share})
    return pd.DataFrame(rows)


def _quality_frame(result: RunResult) -> pd.DataFrame:
    """Every data-quality warning of the run (the map's and the report's banner), one a row."""
    warnings = result.summary.get("data_quality", {}).get("warnings", [])
    if not warnings:
        return pd.DataFrame({"message_zh": ["无数据质量提示 / no data-quality warning"]})
    rows = [
        {
            "code": w["code"],
            "banner": "是 / yes" if w.get("banner") else "",
            "message_zh": w["message_zh"],
            "message_en": w["message_en"],
            "warning_share": w.get("share"),
            "count": w.get("count"),
        }
        for w in warnings
    ]
    return pd.DataFrame(rows)


def _sites_frame(layers: OutputLayers) -> pd.DataFrame:
    sites = layers.sites
    if sites is None:
        return pd.DataFrame({"name": ["本情景未求解选址问题 / the scenario has no siting problem"]})
    frame = pd.DataFrame(sites.drop(columns="geometry"))  # lon, lat come with the sites
    if "year" in frame:  # 0: no phases, or no schedule; a blank cell, as in the GeoPackage
        frame["year"] = frame["year"].where(frame["year"].fillna(0).astype(int) > 0)
    return _select(frame, SITE_COLUMNS)


def _centre_frames(result: RunResult) -> dict[str, pd.DataFrame]:
    """The village-centre coverage curve and the residents left to mobile or mutual-aid service."""
    centres = result.summary.get("siting", {}).get("village_centres") or {}
    none = pd.DataFrame({"name": ["本情景未求解选址问题 / the scenario has no siting problem"]})
    if not centres:
        return {"照料中心覆盖曲线 centre curve": none, "流动互助服务 mobile service": none}
    mobile = pd.DataFrame(
        centres.get("mobile_service") or [],
        columns=["village", "township", "older", "service", "reason_zh", "reason_en"],
    )
    return {
        "照料中心覆盖曲线 centre curve": pd.DataFrame(
            centres.get("curve") or [],
            columns=["centres", "older_covered", "share", "older_brought", "bound", "exact"],
        ),
        "流动互助服务 mobile service": mobile,
    }


def _cell(value: Any) -> Any:
    """A value openpyxl writes as data, never as a formula.

    Names are untrusted (county layers, submitted plans). Text is defused by the OWASP rule
    (:func:`~carecircle.safe.defuse_formula`: a first character ``=``, ``+``, ``-``, ``@``, tab
    or carriage return gets a leading ``'``), so openpyxl, which makes any text starting with
    ``=`` a formula, stores it as a text cell (shown with its ``'`` in Excel, WPS and LibreOffice).
    Control characters an xlsx cannot hold (ESC, NUL, ...) are written as ``\\x1b``-style escapes
    rather than failing the run. Numbers stay numbers, negative ones included.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list | tuple | dict):
        value = str(value)
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
        return defuse_formula(value)
    return None if value is pd.NA else value


def _sheet(ws: Worksheet, frame: pd.DataFrame) -> None:
    columns = list(frame.columns)
    for j, col in enumerate(columns, start=1):
        zh, en = HEADERS.get(col, (col, col))
        cell = ws.cell(row=1, column=j, value=_cell(f"{zh} / {en}" if zh != en else zh))
        cell.font = Font(bold=True)
        cell.fill = _HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for i, record in enumerate(frame.itertuples(index=False), start=2):
        for j, value in enumerate(record, start=1):
            cell = ws.cell(row=i, column=j, value=_cell(value))
            if columns[j - 1] in _SHARE_COLUMNS or (
                columns[j - 1] in ("measured", "required", "value")
                and isinstance(cell.value, float)
                and _is_share_row(frame, i - 2)
            ):
                cell.number_format = "0.0%"
    for j, col in enumerate(columns, start=1):
        width = max([len(str(ws.cell(row=1, column=j).value)) // 2 + 4, 10])
        if col in (
            "reason_zh",
            "reason_en",
            "action_zh",
            "action_en",
            "citation",
            "name",
            "object_name",
            "figure",
            "detail",
            "value",
            "message_zh",
            "message_en",
        ):
            width = 36
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.freeze_panes = "B2"


def _is_share_row(frame: pd.DataFrame, i: int) -> bool:
    """A verdict or gap row measured as a share, or a summary row holding a bare share."""
    if "unit" in frame.columns:
        return bool(frame["unit"].iloc[i] == "share")
    return "figure" in frame.columns
