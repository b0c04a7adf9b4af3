"""The one template Environment of every HTML page carecircle writes.

Names on the pages come from files anyone may have edited: village and township layers, facility
registers, candidate parcels, submitted plans, scenario titles. They reach a page only as values
rendered by :data:`ENV`, never as template source: every template here escapes every value for
HTML (autoescape is on for all of them) and an undefined name is an error (``StrictUndefined``),
not an empty string. Inside a ``<script>`` element values go through :func:`script_json`.

The map pages are assembled by folium; :mod:`carecircle.outputs.maps` renders its panels, legends,
popups and layer names with the macros of ``templates/map.html.j2`` through this Environment and
hands folium only the finished text, as data.
"""

from __future__ import annotations

import json
import math
import re
from functools import cache
from typing import Any

import jinja2
from markupsafe import Markup

from carecircle.outputs.text import STATUS, amount, count, pct

__all__ = ["ENV", "macros", "render", "script_json"]

# Characters that could end a <script> element, open an HTML comment in it, or (in old engines)
# end a JavaScript string: written as JSON's \u escapes, which read back as the same characters.
_SCRIPT_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "'": "\\u0027",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_SCRIPT_UNSAFE = re.compile("[<>&'\u2028\u2029]")


def script_json(obj: Any) -> Markup:
    """``obj`` as JSON that is safe inside a ``<script>`` element (and in an HTML attribute).

    ``<``, ``>``, ``&``, ``'``, U+2028 and U+2029 are written as ``\\u003c`` and so on (JSON's
    own escapes: the parsed value is unchanged). NaN and infinities are refused, as JSON has
    neither: map them to None first (``files.clean_json``).
    """
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return Markup(_SCRIPT_UNSAFE.sub(lambda m: _SCRIPT_ESCAPES[m.group()], text))


def _finite(value: Any) -> bool:
    """A finite number (not NaN, not None, not text)."""
    return isinstance(value, int | float) and math.isfinite(value)


def _positive(value: Any) -> bool:
    """A finite number greater than zero."""
    return _finite(value) and value > 0


def _blank_none(value: Any) -> Any:
    # A missing value prints as nothing, not as "None".
    return "" if value is None else value


ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("carecircle.outputs", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    finalize=_blank_none,
    keep_trailing_newline=True,
)
ENV.filters["script_json"] = script_json
ENV.globals.update(
    STATUS=STATUS, amount=amount, finite=_finite, num=count, pct=pct, positive=_positive
)


def render(name: str, **context: Any) -> str:
    """Render the page template ``name`` of ``templates/``."""
    return ENV.get_template(name).render(**context)


@cache
def macros(name: str) -> Any:
    """The macros of the template ``name``, callable from Python; each returns escaped Markup."""
    return ENV.get_template(name).module
