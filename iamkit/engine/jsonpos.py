"""Find where each value of a JSON text starts, so problems can name a line and column.

It runs after :func:`json.loads` has accepted the text, so it assumes valid JSON. While it
walks the text it also notes what :func:`json.loads` lets through but a policy reader must
not: a key given twice in one object, ``NaN`` and ``Infinity``, numbers too long or too
large to mean anything, and lone surrogates (``"\\ud800"``), which no terminal can print.
The walk keeps its own stack and finds the end of a string by searching for quotes, so
memory grows with the text, not with its depth or with the length of one string.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from dataclasses import dataclass, field
from typing import Callable

from ..errors import Problem, format_path

__all__ = ["MAX_NUMBER_CHARS", "Positions", "line_column", "locate", "may_hold_surrogates", "string_end"]

MAX_NUMBER_CHARS = 100
"""The longest number iamkit reads, in characters; no IAM value comes near it."""

Path = tuple["str | int", ...]
_Report = Callable[[Path, int, str, str], None]

# Patterns only a refused text is walked with, kept as text: re compiles (and caches) them when first used.
_WS = r"[ \t\r\n]*"
_SCALAR = r"-?[0-9][0-9eE+\-.]*|true|false|null|NaN|-?Infinity"
_SURROGATE = r"[\ud800-\udfff]"
_MAYBE_SURROGATE = re.compile(r"[\ud800-\udfff]|\\u[dD][89a-fA-F]")


class Positions:
    """Where values and object keys start in a JSON text, by JSON path.

    The text is walked the first time any of these is asked for: a document that is read and
    found in order is usually never asked where a value stands.

    Attributes:
        values, keys: (line, column) by JSON path.
        problems: what the text holds that :func:`json.loads` accepts but iamkit refuses,
            each located (see the module's docstring).
    """

    def __init__(self, text: str, prefix: Path = ()):
        self._text, self._prefix = text, prefix
        self._walked: tuple[dict[Path, tuple[int, int]], dict[Path, tuple[int, int]], list[Problem]] | None = None

    def _walk(self) -> tuple[dict[Path, tuple[int, int]], dict[Path, tuple[int, int]], list[Problem]]:
        if self._walked is None:
            self._walked = _walk(self._text, self._prefix)
        return self._walked

    @property
    def values(self) -> dict[Path, tuple[int, int]]:
        return self._walk()[0]

    @property
    def keys(self) -> dict[Path, tuple[int, int]]:
        return self._walk()[1]

    @property
    def problems(self) -> list[Problem]:
        return self._walk()[2]

    def of(self, path: Path, *, key: bool = False) -> tuple[int, int] | None:
        """The (line, column) of the value at ``path`` (or of its key), else of the
        nearest enclosing value that exists."""
        table = self.keys if key else self.values
        if path in table:
            return table[path]
        while path:
            path = path[:-1]
            if path in self.values:
                return self.values[path]
        return None


@dataclass
class _Container:
    path: Path
    is_object: bool
    index: int = 0
    seen: dict[str, int] = field(default_factory=dict)


def locate(text: str, prefix: Path = ()) -> Positions:
    """Map every JSON path in ``text`` to the (line, column) where it starts.

    Args:
        text: a JSON document that :func:`json.loads` accepts.
        prefix: the JSON path of the document inside a larger one; problems name it.

    Returns:
        :class:`Positions` with 1-based lines and columns, the text already walked.
    """
    positions = Positions(text, prefix)
    positions._walk()
    return positions


def line_column(text: str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of one character of ``text`` (for many, :func:`locate`)."""
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


def may_hold_surrogates(text: str) -> bool:
    """Whether ``text`` may hold a lone surrogate (raw, or escaped as ``\\ud800``–``\\udfff``)."""
    # isascii() is a flag lookup, and a search for one character (memchr) is far quicker than for two.
    if text.isascii() and ("\\" not in text or "\\u" not in text):
        return False
    return _MAYBE_SURROGATE.search(text) is not None


def _walk(text: str, prefix: Path) -> tuple[dict[Path, tuple[int, int]], dict[Path, tuple[int, int]], list[Problem]]:
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_col(offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(line_starts, offset)
        return line, offset - line_starts[line - 1] + 1

    values: dict[Path, int] = {}
    keys: dict[Path, int] = {}
    problems: list[Problem] = []

    def problem(path: Path, offset: int, message: str, hint: str) -> None:
        problems.append(Problem(format_path(prefix + path), message, hint, *line_col(offset)))

    space, scalar = re.compile(_WS), re.compile(_SCALAR)

    def skip(i: int) -> int:
        return space.match(text, i).end()  # type: ignore[union-attr]

    stack: list[_Container] = []
    path: Path = ()
    i = 0
    while True:
        i = skip(i)
        values[path] = i
        c = text[i]
        if c in "{[":
            stack.append(_Container(path, c == "{"))
            i += 1
        elif c == '"':
            end = string_end(text, i)
            _check_string(text, i, end, path, problem)
            i = end
        else:
            m = scalar.match(text, i)
            assert m is not None
            _check_number(m.group(), path, i, problem)
            i = m.end()
        while stack:  # the next value's path, closing every container that ends here
            top = stack[-1]
            i = skip(i)
            if text[i] == ",":
                i = skip(i + 1)
            if text[i] in "}]":
                stack.pop()
                i += 1
                continue
            if top.is_object:
                end = string_end(text, i)
                key = json.loads(text[i:end])
                _check_string(text, i, end, top.path + (key,), problem)
                if key in top.seen:
                    first = line_col(top.seen[key])
                    problem(top.path + (key,), i,
                            f"duplicate key `{key}`: it is also at line {first[0]}, column {first[1]}",
                            "JSON readers disagree on which one counts: keep one of them")
                else:
                    top.seen[key] = i
                path = top.path + (key,)
                keys[path] = i
                i = skip(end) + 1  # past ':'
            else:
                path = top.path + (top.index,)
                top.index += 1
            break
        else:
            break

    return {p: line_col(o) for p, o in values.items()}, {p: line_col(o) for p, o in keys.items()}, problems


def string_end(text: str, start: int) -> int:
    """The offset just past the JSON string that starts with the quote at ``start``.

    A search for quotes, not a regular expression: one long string costs no memory.

    Raises:
        ValueError: when the string is not closed.
    """
    i = start + 1
    while True:
        quote = text.index('"', i)
        backslash = quote
        while text[backslash - 1] == "\\":
            backslash -= 1
        if (quote - backslash) % 2 == 0:  # an even run of backslashes escapes itself, not the quote
            return quote + 1
        i = quote + 1


def _check_string(text: str, start: int, end: int, path: Path, problem: _Report) -> None:
    if _MAYBE_SURROGATE.search(text, start, end) and re.search(_SURROGATE, json.loads(text[start:end])):
        problem(path, start, "the string holds a lone surrogate (`\\ud800`–`\\udfff`), which is no character",
                "write the character itself, or both halves of its UTF-16 pair")


def _check_number(token: str, path: Path, offset: int, problem: _Report) -> None:
    if token in ("true", "false", "null"):
        return
    if token in ("NaN", "Infinity", "-Infinity"):
        problem(path, offset, f"`{token}` is not a JSON number", "write the value as a string or a finite number")
    elif len(token) > MAX_NUMBER_CHARS:
        problem(path, offset, f"a number of {len(token):,} characters: more than iamkit reads ({MAX_NUMBER_CHARS})",
                "write such a value as a string")
    elif math.isinf(float(token)):
        problem(path, offset, f"`{token}` is too large for a number", "write such a value as a string")
