"""carecircle init and untrusted files (issue 18, found by the attacker pass on the new command):
a file name cannot add keys to the scenario init writes, a local OSM file is bounded as in run,
a folder that is not a kit is not overwritten, a bureau file is checked before it is copied, and
a .cpg naming a bytes-to-bytes codec is a one-line error."""

from __future__ import annotations

import gzip
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
import yaml
from click.testing import CliRunner

from carecircle.cli import main
from carecircle.kit.compose import _comment

ROOT = Path(__file__).resolve().parents[1]
GUIXI = ROOT.parent / "shared" / "data" / "osm" / "guixi-jiangxi.osm"


def _init(args: list[str], tmp_path: Path) -> tuple[int, str]:
    env = {"CARECIRCLE_CACHE": str(tmp_path / "cache"), "NO_PROXY": "127.0.0.1"}
    result = CliRunner().invoke(main, ["init", *args], env=env)
    return result.exit_code, result.output


@pytest.mark.parametrize("sep", ["\u2028", "\u2029", "\x85", "\n", "\r"])
def test_a_line_separator_in_a_comment_cannot_end_it(sep: str) -> None:
    text = f"# source: b{sep}tiers: {{village: {{mode: walk, minutes: 60}}}}{sep}#.gpkg"
    doc = yaml.safe_load(_comment(text) + "\nname: x\n")
    assert doc == {"name": "x"}


def test_a_file_name_with_a_line_separator_is_refused(tmp_path: Path) -> None:
    boundary = tmp_path / "b\u2028tiers: {village: {mode: walk, minutes: 60}}\u2028#.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(117.2, 28.28, 117.22, 28.3)], crs=4326).to_file(boundary)
    code, output = _init(
        [
            "360681",
            "--out",
            str(tmp_path / "kit"),
            "--boundary",
            str(boundary),
            "--osm",
            str(GUIXI),
        ],
        tmp_path,
    )
    assert code == 2, output
    assert "U+2028" in output and "rename" in output
    assert not (tmp_path / "kit").exists()


def test_an_osm_bomb_given_to_init_is_refused_by_the_run_limits(tmp_path: Path) -> None:
    """5.1 million empty nodes (a few MB gzipped): refused by limits.osm_nodes before parsing,
    as run refuses it; it took init 113 s and 3.9 GB before."""
    bomb = tmp_path / "nodes.osm.gz"
    with gzip.open(bomb, "wb", compresslevel=6) as fh:
        fh.write(b"<?xml version='1.0'?><osm version='0.6'>")
        chunk = b'<node id="1" lat="28.29" lon="117.21"/>' * 100_000
        for _ in range(51):
            fh.write(chunk)
        fh.write(b"</osm>")
    boundary = tmp_path / "b.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(117.2, 28.28, 117.22, 28.3)], crs=4326).to_file(boundary)
    args = ["360681", "--out", str(tmp_path / "kit"), "--boundary", str(boundary)]
    code, output = _init([*args, "--osm", str(bomb)], tmp_path)
    assert code == 2, output
    assert "osm_nodes" in output
    assert not (tmp_path / "kit").exists()


def test_a_folder_that_is_not_a_kit_is_not_overwritten(tmp_path: Path) -> None:
    folder = tmp_path / "proj"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "村界.shp").write_text("precious", encoding="utf-8")
    code, output = _init(["360681", "--out", str(folder), "--osm", str(GUIXI)], tmp_path)
    assert code == 2, output
    assert "not empty" in output
    assert (folder / "data" / "村界.shp").read_text(encoding="utf-8") == "precious"


def test_a_system_file_is_refused_before_it_is_copied(tmp_path: Path) -> None:
    code, output = _init(
        ["360681", "--out", str(tmp_path / "kit"), "--from-files", "villages=/proc/self/environ"],
        tmp_path,
    )
    assert code == 2, output
    assert "PATH=" not in output and "HOME=" not in output
    assert not list(tmp_path.glob("**/environ"))


def test_a_cpg_naming_a_bytes_codec_is_one_line(tmp_path: Path) -> None:
    from carecircle.errors import DataError
    from carecircle.sources.layers import _cpg_encoding

    cpg = tmp_path / "plan.cpg"
    for name in ("ROT13", "zlib_codec", "base64"):
        cpg.write_text(name, encoding="ascii")
        with pytest.raises(DataError, match="unknown encoding"):
            _cpg_encoding(cpg)
    cpg.write_text("GBK", encoding="ascii")
    assert _cpg_encoding(cpg) == "gbk"
