"""Where ``carecircle init`` keeps what it downloaded, so a second init needs no network.

Everything lives in carecircle's one cache folder (:func:`carecircle.sources.network.cache_dir`:
``$CARECIRCLE_CACHE``, else the user cache folder of platformdirs):

- ``osmnx/``: osmnx's HTTP cache, the Nominatim and Overpass answers as JSON, keyed by the
  request (osmnx reads it before it sends anything);
- ``worldpop/``: the raster windows read over HTTP, one GeoTIFF per (URL, window), and a marker
  for each URL the server said does not exist.

An entry is written atomically (temporary file, then rename); one that cannot be read is
ignored and fetched again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from carecircle.atomic import atomic_file
from carecircle.sources.network import _osmnx_settings, cache_dir

__all__ = ["cache_root", "digest", "osm_services", "read_json", "write_json"]

log = logging.getLogger(__name__)


def cache_root() -> Path:
    """carecircle's cache folder (``$CARECIRCLE_CACHE``, else the user cache folder)."""
    return cache_dir()


def digest(*parts: Any) -> str:
    """A short stable key of JSON-able parts."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@contextlib.contextmanager
def osm_services(
    *, nominatim_url: str | None, overpass_url: str | None, folder: Path | None
) -> Iterator[None]:
    """osmnx pointed at these servers, with its HTTP cache inside ours (``folder/osmnx``).

    ``folder`` None: no cache at all (osmnx neither reads nor writes one).
    """
    settings: dict[str, Any] = {"use_cache": folder is not None}
    if folder is not None:
        settings["cache_folder"] = str(folder / "osmnx")
    if nominatim_url:
        settings["nominatim_url"] = nominatim_url
    if overpass_url:
        settings["overpass_url"] = overpass_url.rstrip("/")
    with _osmnx_settings(**settings):
        yield


def read_json(path: Path) -> dict[str, Any] | None:
    """A cache entry's JSON, or None when it is absent or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable cache entry %s (%s)", path, exc)
        return None
    return data if isinstance(data, dict) else None


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write a cache entry atomically; a cache that cannot be written is skipped."""
    try:
        with atomic_file(path) as tmp:
            tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    except OSError as exc:
        log.warning("could not write the cache entry %s (%s); continuing without it", path, exc)
