"""Find where each value of a JSON text starts, so problems can name a line and column.

Only used for documents that arrive as text; it runs after :func:`json.loads` has
accepted the text, so it assumes valid JSON and stays small.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field

__all__ = ["Positions", "locate"]

Path = tuple["str | int", ...]

_WS = re.compile(r"[ \t\r\n]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_SCALAR = re.compile(r"-?[0-9][0-9eE+\-.]*|true|false|null")


@dataclass
class Positions:
    """Where values and object keys start in a JSON text, by JSON path."""

    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

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


def locate(text: str) -> Positions:
    """Map every JSON path in ``text`` to the (line, column) where it starts.

    Args:
        text: a JSON document that :func:`json.loads` accepts.

    Returns:
        :class:`Positions` with 1-based lines and columns.
    """
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    values: dict[Path, int] = {}
    keys: dict[Path, int] = {}

    def skip(i: int) -> int:
        return _WS.match(text, i).end()  # type: ignore[union-attr]

    def value(i: int, path: Path) -> int:
        i = skip(i)
        values[path] = i
        c = text[i]
        if c in "{[":
            close = "}" if c == "{" else "]"
            i = skip(i + 1)
            index = 0
            while text[i] != close:
                if c == "{":
                    m = _STRING.match(text, i)
                    assert m is not None
                    child = path + (json.loads(m.group()),)
                    keys[child] = i
                    i = skip(m.end()) + 1  # past ':'
                else:
                    child = path + (index,)
                    index += 1
                i = skip(value(i, child))
                if text[i] == ",":
                    i = skip(i + 1)
            return i + 1
        m = (_STRING if c == '"' else _SCALAR).match(text, i)
        assert m is not None
        return m.end()

    value(0, ())

    def line_col(offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(line_starts, offset)
        return line, offset - line_starts[line - 1] + 1

    return Positions(
        values={p: line_col(o) for p, o in values.items()},
        keys={p: line_col(o) for p, o in keys.items()},
    )
