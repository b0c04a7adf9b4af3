"""The bureau's own layers in a kit (``init --from-files LAYER=PATH``): copied in as given,
their columns matched to carecircle's names, read once to check them, and recorded ``official``.

A layer replaces the kit's draft of the same name and nothing else. Columns are matched by the
names Chinese registers and 国土调查 layers use (``XZQDM``/``XZQMC``, ``村社区代码``,
``机构名称``, ``经度``/``纬度``, ...; :data:`ALIASES`); a file whose columns match none is refused,
naming the columns found, and can be given after renaming them, or mapped by hand in
``scenario.yaml`` (``columns:``).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd

from carecircle.errors import DataError
from carecircle.kit.manifest import LayerRecord
from carecircle.scenario import FacilitySource, LayerSource
from carecircle.sources import layers

__all__ = ["ALIASES", "LAYERS", "import_layer"]

LAYERS = ("boundary", "townships", "villages", "facilities", "candidates")

# Canonical column -> the names a bureau's file may use for it, per layer, in order of preference.
_ID = ("XZQDM", "区划代码", "行政区划代码", "代码", "编码", "编号", "code", "CODE", "ID")
_NAME = ("XZQMC", "名称", "name", "NAME", "NAME_CN")
ALIASES: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "boundary": {"id": _ID, "name": _NAME},
    "townships": {
        "id": (
            "XZQDM",
            "乡镇代码",
            "乡镇街道代码",
            "区划代码",
            "行政区划代码",
            "代码",
            "编码",
            "code",
            "ID",
        ),
        "name": ("XZQMC", "乡镇名称", "乡镇街道名称", "名称", "name", "NAME"),
        "kind": ("XZQLX", "类型", "类别"),
    },
    "villages": {
        "id": (
            "XZQDM",
            "村社区代码",
            "村代码",
            "区划代码",
            "行政区划代码",
            "代码",
            "编码",
            "code",
            "ID",
        ),
        "name": ("XZQMC", "村社区名称", "村名", "名称", "name", "NAME"),
        "township": ("SSXZDM", "所属乡镇代码", "所属乡镇街道代码", "乡镇代码"),
        "kind": ("CJLX", "类型", "城乡分类"),
    },
    "facilities": {
        "id": ("机构编号", "编号", "统一社会信用代码", "代码", "ID"),
        "name": ("机构名称", "名称", "name", "NAME"),
        "type": ("机构类型", "设施类型", "类型"),
        "village": ("所在村社区代码", "村社区代码"),
        "floor_m2": ("建筑面积（平方米）", "建筑面积(平方米)", "建筑面积"),
        "beds": ("床位数", "床位"),
        "nursing_beds": ("护理型床位数", "护理床位"),
        "ownership": ("机构性质", "性质"),
    },
    "candidates": {
        "id": ("DKBH", "地块编号", "编号", "代码", "ID"),
        "name": ("DKMC", "地块名称", "名称", "name"),
        "land_m2": ("YDMJ", "用地面积", "面积"),
        "land_mu": ("用地亩数", "亩数"),
        "land_use": ("YDDM", "用地代码", "地类编码"),
        "status": ("XZ", "现状"),
    },
}
_X = ("经度", "lon", "lng", "longitude", "LON", "X", "x")
_Y = ("纬度", "lat", "latitude", "LAT", "Y", "y")
_TABLES = (".csv", ".txt", ".xlsx", ".xls")


def _sidecars(source: Path) -> list[Path]:
    """The file and, for a Shapefile, the files beside it sharing its name."""
    if source.suffix.lower() != ".shp":
        return [source]
    stem = source.name[: -len(source.suffix)]
    return sorted(
        p for p in source.parent.iterdir() if p.is_file() and p.name.startswith(stem + ".")
    )


def guess_spec(layer: str, path: Path, data_dir: Path) -> dict[str, Any]:
    """The scenario entry of a bureau's file: its path (relative to ``data_dir``), the columns
    mapped to carecircle's names and, for tables, the coordinate columns."""
    probe = LayerSource.model_construct(path=path, layer=None, x=None, y=None, columns={})
    found = layers.layer_columns(probe)
    spec: dict[str, Any] = {"path": str(path.relative_to(data_dir))}
    if path.suffix.lower() in _TABLES:
        x = next((c for c in _X if c in found), None)
        y = next((c for c in _Y if c in found), None)
        if x is None or y is None:
            raise DataError(
                f"{path.name}: 表格缺少经纬度列 / the table has no coordinate columns (looked for "
                f"{'/'.join(_X[:3])} and {'/'.join(_Y[:3])}; found {', '.join(found[:20])}); "
                "rename them 经度 and 纬度"
            )
        spec.update(x=x, y=y)
    columns: dict[str, str] = {}
    used = {spec.get("x"), spec.get("y")}
    for canonical, names in ALIASES[layer].items():
        if canonical in found:
            continue
        match = next((n for n in names if n in found and n not in used), None)
        if match is not None:
            columns[match] = canonical
            used.add(match)
    if columns:
        spec["columns"] = columns
    return spec


def import_layer(layer: str, source: Path, data_dir: Path) -> tuple[LayerRecord, gpd.GeoDataFrame]:
    """Copy ``source`` into ``data_dir/bureau/LAYER/``, check it reads as that layer, and
    return its record and the layer as read (EPSG:4326)."""
    if layer not in LAYERS:
        raise DataError(
            f"--from-files {layer}=...: 未知图层 / unknown layer {layer!r}; give one of "
            f"{', '.join(LAYERS)}"
        )
    if not source.is_file():
        raise DataError(
            f"--from-files {layer}={source}: 文件不存在 / file not found; check the path"
        )
    folder = data_dir / "bureau" / layer
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    copied = []
    for file in _sidecars(source):
        shutil.copy2(file, folder / file.name)
        copied.append(folder / file.name)
    dest = folder / source.name
    spec = guess_spec(layer, dest, data_dir)
    model = FacilitySource if layer == "facilities" else LayerSource
    absolute = {**spec, "path": str(dest)}
    try:
        frame = layers.read_layer(model.model_validate(absolute), kind=layer, to_crs="EPSG:4326")
    except DataError as exc:
        message = str(exc).replace(str(dest), dest.name)
        if "map them in the scenario" in message:
            # init writes the scenario: the fix is a column named as init looks for it.
            looked = "; ".join(f"{k}: {'/'.join(v[:4])}" for k, v in ALIASES[layer].items())
            message = message.split("; map them in")[0] + (
                f"; 请按以下列名之一重命名或补上该列 / rename or add a column as init looks for it "
                f"({looked})"
            )
        raise DataError(f"--from-files {layer}={source}: {message}") from None
    modified = dt.date.fromtimestamp(source.stat().st_mtime).isoformat()
    record = LayerRecord(
        layer=layer,
        files=tuple(str(p.relative_to(data_dir)) for p in copied),
        source=f"the bureau's file {source.name}, given to init",
        licence="the bureau's",
        date=f"file of {modified}",
        trust="official",
        note="used as given"
        + (f"; columns mapped: {spec['columns']}" if spec.get("columns") else ""),
        count=len(frame),
        spec=spec,
    )
    return record, frame
