"""Wildcard matching for actions, resource ARNs and ``StringLike`` values.

- Actions match case-insensitively; ``*`` is any run of characters and ``?`` one character.
- Resource ARNs match case-sensitively and segment by segment: in the first five
  colon-separated segments (partition, service, region, account) a wildcard stays inside its
  segment; in the resource segment ``*`` spans everything, ``/`` and ``:`` included.

Every pattern is compiled to a regular expression once and cached.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable

__all__ = ["action_matches", "arn_regex", "glob_regex", "parts_regex"]


def _glob(text: str, star: str, one: str) -> str:
    return "".join(star if c == "*" else one if c == "?" else re.escape(c) for c in text)


@lru_cache(maxsize=16384)
def glob_regex(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """Compile a ``*``/``?`` glob over a whole string (``StringLike``, actions)."""
    return re.compile(_glob(pattern, ".*", "."), re.S | (re.I if ignore_case else 0))


@lru_cache(maxsize=16384)
def _action_regex(pattern: str) -> re.Pattern[str] | str:
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower()
    return glob_regex(pattern, True)


def action_matches(pattern: str, action: str) -> bool:
    """True when an ``Action``/``NotAction`` entry covers a concrete action."""
    rx = _action_regex(pattern)
    if isinstance(rx, str):
        return rx == action.lower()
    return rx.fullmatch(action) is not None


def _arn_pieces(pieces: Iterable[tuple[str, bool]]) -> str:
    """Regex for ARN text given as (text, wildcards_active) pieces, segment aware."""
    out: list[str] = []
    colons = 0
    for text, active in pieces:
        for c in text:
            if c == ":":
                colons += 1
                out.append(":")
            elif active and c == "*":
                out.append(".*" if colons >= 5 else "[^:]*")
            elif active and c == "?":
                out.append("." if colons >= 5 else "[^:]")
            else:
                out.append(re.escape(c))
    return "".join(out)


@lru_cache(maxsize=16384)
def arn_regex(pattern: str) -> re.Pattern[str]:
    """Compile an ARN pattern from a ``Resource`` or ``ArnLike`` value (no variables)."""
    if pattern == "*":
        return re.compile(".*", re.S)
    return re.compile(_arn_pieces([(pattern, True)]), re.S)


def parts_regex(pieces: tuple[tuple[str, bool], ...], arn: bool, ignore_case: bool = False) -> re.Pattern[str]:
    """Compile resolved template pieces; variable values never act as wildcards."""
    return _parts_regex(pieces, arn, ignore_case)


@lru_cache(maxsize=16384)
def _parts_regex(pieces: tuple[tuple[str, bool], ...], arn: bool, ignore_case: bool) -> re.Pattern[str]:
    if arn:
        if pieces == (("*", True),):
            return re.compile(".*", re.S)
        body = _arn_pieces(pieces)
    else:
        body = "".join(_glob(t, ".*", ".") if active else re.escape(t) for t, active in pieces)
    return re.compile(body, re.S | (re.I if ignore_case else 0))
