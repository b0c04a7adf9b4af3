"""Errors raised by carecircle.

Every error is a :class:`CareCircleError` and also the builtin a caller would naturally catch
(``ScenarioError`` is a ``ValueError``, ``InputFileNotFound`` a ``FileNotFoundError``, ...). Messages
name the input, what was received and the fix, on one line, in Chinese first with English alongside
where a member of the public or a planner will read them.
"""

from __future__ import annotations

from carecircle.safe import terminal_text


class CareCircleError(Exception):
    """Root of every error carecircle raises on purpose."""


class ScenarioError(CareCircleError, ValueError):
    """A scenario file is malformed or inconsistent.

    ``problems`` holds every problem found, each as ``(key path, message)``. One problem makes a
    one-line message; several are listed one per line below the heading.
    """

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = [f"{path}: {msg}" if path else msg for path, msg in self.problems]
        n = len(lines)
        head = f"{source}: 情景文件有 {n} 处错误 / {n} problem(s) in scenario file"
        if n == 1:
            super().__init__(f"{head}: {lines[0]}")
        else:
            super().__init__(head + "\n" + "\n".join(f"  - {line}" for line in lines))


class InputFileNotFound(CareCircleError, FileNotFoundError):
    """An input file named by a scenario or on the command line does not exist."""


class DataError(CareCircleError, ValueError):
    """Input data is present but unusable (empty layer, missing column, no CRS, ...)."""


class InfeasibleError(CareCircleError, ValueError):
    """An optimisation problem has no feasible solution; the message says which limits clash."""


class InterruptedAfterWriting(KeyboardInterrupt):
    """Ctrl-C arrived while the outputs were being moved into place; they were all moved first."""


class LimitExceeded(DataError):
    """An input is larger than a documented limit (``limits:`` in the scenario); the message
    names the limit's key and how to raise it."""


def excerpt(value: object, limit: int = 40, *, quote: bool = True) -> str:
    """A value from a file as a message may quote it: control characters escaped visibly
    (``\\x1b``, ``\\n``, ``\\u202e``; :func:`carecircle.safe.terminal_text`), cut to ``limit``
    characters with an ellipsis, in quotes unless ``quote`` is False (items of a list).

    Messages quote data only through this, so no file content beyond a short excerpt, and no
    character that could rewrite the terminal, ever reaches an error line.
    """
    text = terminal_text(value, limit=limit)
    return f"'{text}'" if quote else text
