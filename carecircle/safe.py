"""Untrusted text made safe where it lands: spreadsheet cells and the terminal.

Names come from the county's layers and from allocation plans that developers submit. A name such
as ``=HYPERLINK("http://x","y")`` must not become a live formula in ``tables.xlsx`` or in a CSV
opened in Excel/WPS, and a name holding ANSI escapes or carriage returns must not rewrite the
summary a reviewer reads in the terminal. JSON outputs keep names exactly as in the data.

The module imports nothing heavy, so the command line loads it before any command runs.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["FORMULA_TRIGGERS", "defuse_formula", "terminal_text"]

# The first characters that make Excel, WPS or LibreOffice read a cell as a formula (OWASP, "CSV
# Injection"): = + - @, and a tab or carriage return in front of them.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

# Escaped for the terminal: C0 controls (ESC, NUL, newline, CR, tab, backspace ...), DEL, C1
# controls (0x80-0x9f, among them the 8-bit CSI 0x9b), the line and paragraph separators, and the
# bidirectional marks, embeddings, overrides and isolates that reorder what a line appears to say,
# and the invisible U+FEFF.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def defuse_formula(value: Any) -> Any:
    """A cell value that no spreadsheet reads as a formula (the OWASP CSV-injection rule).

    Text whose first character is ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
    leading ``'``, so ``=1+1`` is written ``'=1+1`` and shown as text; other text, and every
    value that is not text (a number, including a negative one, a bool, None), is returned as
    it is. Only the first character counts, as in OWASP's rule: a leading space is not a trigger.
    Removing the one added ``'`` gives back the original text.
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def terminal_text(value: object, *, limit: int | None = 80) -> str:
    """``value`` as one line a terminal shows as it reads: control characters made visible.

    ESC, newlines, carriage returns, tabs, other C0 and C1 controls, DEL, U+2028/U+2029 and the
    bidi controls (U+061C, U+200E/F, U+202A-U+202E, U+2066-U+2069) and U+FEFF are written as escapes
    (``\\x1b``, ``\\n``, ``\\u202e``), so an escape sequence cannot move the cursor, clear the
    screen or recolour text, and a name cannot start a line of its own. Text longer than
    ``limit`` characters (counted after escaping) is cut and ends with ``…``; ``None`` keeps it
    whole.
    """
    text = _UNSAFE.sub(_escape, str(value))
    if limit is None or len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    # Do not leave half an escape (a backslash and a few hex digits) at the end.
    partial = re.search(r"\\(x[0-9a-f]?|u[0-9a-f]{0,3}|)$", cut)
    if partial and _is_escape_start(text, partial.start()):
        cut = cut[: partial.start()]
    return cut + "…"


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _is_escape_start(text: str, i: int) -> bool:
    """Whether an escape this module wrote starts at ``text[i]`` (not a backslash of the input)."""
    return bool(re.match(r"\\(x[0-9a-f]{2}|u[0-9a-f]{4}|[nrt])", text[i:]))
