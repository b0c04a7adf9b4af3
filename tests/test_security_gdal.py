"""Untrusted layers and plans cannot make GDAL or an XML parser work for an attacker (issue 18,
the second attacker pass): a VRT named .gpkg that reads a local file or fetches a URL, a DTD
after a long comment, a quadratic-time huge attribute, a header of 200,000 columns."""

from __future__ import annotations

import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import openpyxl
import pytest

from carecircle import guard
from carecircle.errors import DataError
from carecircle.sources import layers


def _vrt(source: str) -> str:
    return (
        "<OGRVRTDataSource><OGRVRTLayer name='x'>"
        f"<SrcDataSource>{source}</SrcDataSource>"
        "<GeometryType>wkbPoint</GeometryType></OGRVRTLayer></OGRVRTDataSource>"
    )


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".gml", ".shp", ".csv", ".tif"])
def test_a_gdal_pointer_dataset_under_any_name_is_refused(tmp_path: Path, suffix: str) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("name\nSECRET-VALUE-42\n", encoding="utf-8")
    evil = tmp_path / f"plan{suffix}"
    evil.write_text(_vrt(f"CSV:{secret}"), encoding="utf-8")
    with pytest.raises(DataError) as err:
        guard.data_file(evil)
    assert "SECRET-VALUE-42" not in str(err.value)
    assert "not what its name says" in str(err.value)


def test_a_vrt_pointing_at_a_url_makes_no_request(tmp_path: Path) -> None:
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"name\ninternal-only\n")

        do_HEAD = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/x.csv"
        evil = tmp_path / "ssrf.json"
        evil.write_text(_vrt(f"CSV:/vsicurl/{url}"), encoding="utf-8")
        with pytest.raises(DataError):
            layers.read_table(evil)
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []


def test_a_dtd_after_a_long_comment_in_a_workbook_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["名称", "床位数"])
    book.active.append(["&e3;", 10])
    book.save(plain)
    evil = tmp_path / "dtd.xlsx"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(evil, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                decl, rest = data.split(b"?>", 1) if data.startswith(b"<?xml") else (b"", data)
                data = (
                    (decl + b"?>" if decl else b"")
                    + b"<!--"
                    + b"x" * 70_000
                    + b'--><!DOCTYPE w [<!ENTITY e3 "boom">]>'
                    + rest
                )
            dst.writestr(item, data)
    with pytest.raises(DataError, match="DTD"):
        guard.check_workbook(evil, unzipped_mb=100, sheet_cells=10_000)
    guard.check_workbook(plain, unzipped_mb=100, sheet_cells=10_000)  # the plain one passes


def test_a_dtd_after_a_long_comment_in_an_osm_file_is_refused(tmp_path: Path) -> None:
    evil = tmp_path / "roads.osm"
    evil.write_bytes(
        b"<?xml version='1.0'?><!--" + b"c" * (2 * 1024 * 1024) + b"-->"
        b'<!DOCTYPE osm [<!ENTITY e3 "x">]><osm></osm>'
    )
    with pytest.raises(DataError, match=r"DTD|1 MB"):
        guard.check_osm_xml(evil, unzipped_mb=100, nodes=10)
    small = tmp_path / "small.osm"  # under the token limit: the DTD itself is found
    small.write_bytes(
        b"<?xml version='1.0'?><!--" + b"c" * 70_000 + b'--><!DOCTYPE osm [<!ENTITY e "x">]><osm/>'
    )
    with pytest.raises(DataError, match="DTD"):
        guard.check_osm_xml(small, unzipped_mb=100, nodes=10)


def test_a_huge_attribute_is_refused_before_expat_sees_it(tmp_path: Path) -> None:
    evil = tmp_path / "roads.osm"
    evil.write_bytes(
        b"<?xml version='1.0'?><osm><node id='1' lat='0' lon='0'><tag k='n' v='"
        + b"A" * (40 * 1024 * 1024)
        + b"'/></node></osm>"
    )
    start = time.perf_counter()
    with pytest.raises(DataError, match="1 MB"):
        guard.check_osm_xml(evil, unzipped_mb=2000, nodes=10)
    assert time.perf_counter() - start < 5  # expat took 47 s on this file


def test_a_header_of_200000_columns_is_refused_at_once(tmp_path: Path) -> None:
    wide = tmp_path / "plan.csv"
    wide.write_text(",".join(f"c{i}" for i in range(200_000)) + "\n" + "1," * 5 + "\n")
    start = time.perf_counter()
    with pytest.raises(DataError, match=r"the header has [0-9,]+\+? columns"):
        layers.read_table(wide)
    assert time.perf_counter() - start < 2  # pandas alone took 24 s
