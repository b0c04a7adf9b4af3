"""Land-use codes (用地用海分类) and whether a site on them may host an elderly-care facility.

The codes are those of the 国土空间调查、规划、用途管制用地用海分类指南 (自然资源部, 2023
edition): two-digit first-level classes, four-digit second-level classes and the six-digit
third-level classes the guide defines (``080701`` 老年人社会福利用地). Every 国土空间规划 and
parcel register since 2020 is coded with them. Transcribed for this table; cross-check against the
official text before treating a verdict as binding.

Which codes may host a facility, and why (``host``):

- ``welfare`` -- 0807 社会福利用地 (and 080701 老年人, 080704 其他社会福利用地): land the guide
  sets aside for welfare institutions, elderly homes among them.
- ``community`` -- 0702 城镇 / 0704 农村社区服务设施用地: community service land, which the
  guide's community facilities (day care, 托老所) use; 乐清 二(一)1 names 社区用房 and 二(二)6
  village offices and 老年活动中心 as care-centre sites.
- ``conversion`` -- existing buildings the seed documents allow to be converted, keeping their
  land use for a five-year transition (rule ``idle-assets``): idle schools (0804), township
  hospitals (0806), government and village offices (0801), 老年活动中心 (0803 文化用地, 乐清
  二(二)6), commercial and office stock (09), factories (1001) and storage (1101) (乐清 二(一)1,
  温州 第8项), idle housing (0701, 0703: "鼓励利用闲置住宅改建养老机构", 乐清 二(一)1), and idle
  land inside settlements (2301 空闲地: "鼓励村集体利用闲置存量土地建设养老机构", 乐清 二(二)8).
- ``no`` -- farmland, orchards, forest, grassland, wetland, agricultural facilities, sports,
  research, children's and disability welfare land, mining, reserve depots, transport,
  utilities, green space, special uses, 16 留白用地 (use not yet decided: a detailed plan must
  first designate it), water and sea: a failed verdict.

A first-level code follows its main second-level class (08 as a public building, 09-11 as
commercial, industrial and storage stock). A code missing from the table is bad input (the plan
checker stops with exit code 2).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = [
    "CODE_PATTERN",
    "LAND_USES",
    "Host",
    "LandUse",
    "code_hint",
    "land_use",
    "normalise_code",
]

Host = Literal["welfare", "community", "conversion", "no"]

CODE_PATTERN = "2, 4 or 6 digits of the 用地用海分类 (e.g. 0807, 080701, 0704, 16)"

_YQ = "乐政办函〔2020〕24号"
_WZ = "温州市养老服务高质量发展三年行动“2020奋进年”重点任务目标"

# Why each kind of code may or may not host a facility (zh, en), with the clause it rests on.
_BASIS: Mapping[str, tuple[str, str, str]] = {
    "welfare": (
        "社会福利用地，可建养老设施",
        "social-welfare land, for care facilities",
        "用地用海分类指南 0807",
    ),
    "community": (
        "社区服务设施用地，可设社区养老设施",
        "community-service land, for community care",
        f"{_YQ} 二(一)1、二(二)6",
    ),
    "public": (
        "闲置公共服务用房改建，五年内按原用途使用",
        "conversion of an idle public building; original land use kept for 5 years",
        f"{_YQ} 二(一)1、二(二)6",
    ),
    "stock": (
        "商业、办公、工业、仓储存量房屋改建，五年内按原用途使用",
        "conversion of commercial, office, industrial or storage stock; original land use kept for 5 years",
        f"{_YQ} 二(一)1; {_WZ} 第8项",
    ),
    "housing": ("闲置住宅改建", "conversion of idle housing", f"{_YQ} 二(一)1"),
    "idle": ("闲置存量土地", "idle land inside a settlement", f"{_YQ} 二(二)8"),
    "no": (
        "该用地不得建设养老设施",
        "this land use may not host a care facility",
        "用地用海分类指南",
    ),
}


@dataclass(frozen=True)
class LandUse:
    """One code of the classification and whether a care facility may stand on it."""

    code: str
    name_zh: str
    host: Host
    basis_zh: str
    basis_en: str
    clause: str

    @property
    def allowed(self) -> bool:
        return self.host != "no"


# code -> (name, basis key); the basis key decides `host` (public/stock/housing/idle: conversion).
# Each entry "code name basis", two spaces apart; a line starts a first-level class or goes on.
_TABLE_TEXT = """
01 耕地 no  0101 水田 no  0102 水浇地 no  0103 旱地 no
02 园地 no  0201 果园 no  0202 茶园 no  0203 橡胶园地 no  0204 其他园地 no
03 林地 no  0301 乔木林地 no  0302 竹林地 no  0303 灌木林地 no
0304 其他林地 no
04 草地 no  0401 天然牧草地 no  0402 人工牧草地 no  0403 其他草地 no
05 湿地 no  0501 森林沼泽 no  0502 灌丛沼泽 no  0503 沼泽草地 no
0504 其他沼泽地 no  0505 沿海滩涂 no  0506 内陆滩涂 no  0507 红树林地 no
06 农业设施建设用地 no  0601 乡村道路用地 no  060101 村道用地 no
060102 村庄内部道路用地 no  0602 种植设施建设用地 no  0603 畜禽养殖设施建设用地 no
0604 水产养殖设施建设用地 no
07 居住用地 housing  0701 城镇住宅用地 housing
070101 一类城镇住宅用地 housing  070102 二类城镇住宅用地 housing
070103 三类城镇住宅用地 housing  0702 城镇社区服务设施用地 community
0703 农村宅基地 housing  070301 一类农村宅基地 housing
070302 二类农村宅基地 housing  0704 农村社区服务设施用地 community
08 公共管理与公共服务用地 public  0801 机关团体用地 public  0802 科研用地 no
0803 文化用地 public  080301 图书与展览用地 public
080302 文化活动用地 public  0804 教育用地 public  080401 高等教育用地 public
080402 中等职业教育用地 public  080403 中小学用地 public
080404 幼儿园用地 public  080405 其他教育用地 public  0805 体育用地 no
080501 体育场馆用地 no  080502 体育训练用地 no  0806 医疗卫生用地 public
080601 医院用地 public  080602 基层医疗卫生设施用地 public
080603 公共卫生用地 public  0807 社会福利用地 welfare
080701 老年人社会福利用地 welfare  080702 儿童社会福利用地 no
080703 残疾人社会福利用地 no  080704 其他社会福利用地 welfare
09 商业服务业用地 stock  0901 商业用地 stock  090101 零售商业用地 stock
090102 批发市场用地 stock  090103 餐饮用地 stock  090104 旅馆用地 stock
090105 公用设施营业网点用地 stock  0902 商务金融用地 stock
0903 娱乐康体用地 stock  090301 娱乐用地 stock  090302 康体用地 stock
0904 其他商业服务业用地 stock
10 工矿用地 stock  1001 工业用地 stock  100101 一类工业用地 stock
100102 二类工业用地 stock  100103 三类工业用地 stock  1002 采矿用地 no
1003 盐田 no
11 仓储用地 stock  1101 物流仓储用地 stock  110101 一类物流仓储用地 stock
110102 二类物流仓储用地 stock  110103 三类物流仓储用地 stock  1102 储备库用地 no
12 交通运输用地 no  1201 铁路用地 no  1202 公路用地 no  1203 机场用地 no
1204 港口码头用地 no  1205 管道运输用地 no  1206 城市轨道交通用地 no
1207 城镇道路用地 no  1208 交通场站用地 no  120801 对外交通场站用地 no
120802 公共交通场站用地 no  120803 社会停车场用地 no  1209 其他交通设施用地 no
13 公用设施用地 no  1301 供水用地 no  1302 排水用地 no  1303 供电用地 no
1304 供燃气用地 no  1305 供热用地 no  1306 通信用地 no  1307 邮政用地 no
1308 广播电视设施用地 no  1309 环卫用地 no  1310 消防用地 no  1311 水工设施用地 no
1312 其他公用设施用地 no
14 绿地与开敞空间用地 no  1401 公园绿地 no  1402 防护绿地 no  1403 广场用地 no
15 特殊用地 no  1501 军事设施用地 no  1502 使领馆用地 no  1503 宗教用地 no
1504 文物古迹用地 no  1505 监教场所用地 no  1506 殡葬用地 no  1507 其他特殊用地 no
16 留白用地 no
17 陆地水域 no  1701 河流水面 no  1702 湖泊水面 no  1703 水库水面 no
1704 坑塘水面 no  1705 沟渠 no  1706 冰川及常年积雪 no
18 渔业用海 no  1801 渔业基础设施用海 no  1802 增养殖用海 no  1803 捕捞海域 no
19 工矿通信用海 no  1901 工业用海 no  1902 盐田用海 no  1903 固体矿产用海 no
1904 油气用海 no  1905 可再生能源用海 no  1906 海底电缆管道用海 no
20 交通运输用海 no  2001 港口用海 no  2002 航运用海 no  2003 路桥隧道用海 no
21 游憩用海 no  2101 风景旅游用海 no  2102 文体休闲娱乐用海 no
22 特殊用海 no  2201 军事用海 no  2202 其他特殊用海 no
23 其他土地 no  2301 空闲地 idle  2302 田坎 no  2303 田间道 no
2304 盐碱地 no  2305 沙地 no  2306 裸土地 no  2307 裸岩石砾地 no
24 其他海域 no
"""

_TABLE: dict[str, tuple[str, str]] = {
    code: (name, basis)
    for code, name, basis in (
        entry.split() for entry in re.split(r"\s{2,}|\n", _TABLE_TEXT) if entry.strip()
    )
}

_HOST: Mapping[str, Host] = {
    "welfare": "welfare",
    "community": "community",
    "public": "conversion",
    "stock": "conversion",
    "housing": "conversion",
    "idle": "conversion",
    "no": "no",
}


def _entry(code: str, name: str, basis: str) -> LandUse:
    zh, en, clause = _BASIS[basis]
    return LandUse(code, name, _HOST[basis], zh, en, clause)


LAND_USES: Mapping[str, LandUse] = MappingProxyType(
    {code: _entry(code, name, basis) for code, (name, basis) in _TABLE.items()}
)


def normalise_code(value: object) -> str:
    """A code as text: ``807`` (a number that lost its leading zero) becomes ``"0807"``."""
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].isdigit():  # a number read as float
        text = text[:-2]
    if text.isdigit() and len(text) % 2 == 1:
        text = "0" + text
    return text


def land_use(value: object) -> LandUse | None:
    """The table entry for a code (``None`` when the code is not in the classification)."""
    code = normalise_code(value)
    return LAND_USES.get(code) if re.fullmatch(r"\d{2}(\d{2}){0,2}", code) else None


def code_hint(value: object) -> str:
    """For a land-use *name* given where a code belongs (社会福利用地), the code it names:
    ``"; 社会福利用地 is code 0807"``; an empty string when the value names no class."""
    text = str(value).strip()
    by_name = {entry.name_zh: code for code, entry in LAND_USES.items()}
    code = by_name.get(text) or by_name.get(text.removesuffix("用地") + "用地")
    return f"; {text} is code {code}" if code else ""
