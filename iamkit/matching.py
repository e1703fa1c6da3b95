"""Wildcard matching for actions, resource ARNs and ``StringLike`` values.

- Actions match case-insensitively; ``*`` is any run of characters and ``?`` one character.
- Resource ARNs match case-sensitively and segment by segment: in the first five
  colon-separated segments (partition, service, region, account) a wildcard stays inside its
  segment; in the resource segment ``*`` spans everything, ``/`` and ``:`` included.

Each pattern is turned once into the cheapest test that is exact for it — equality, a
prefix test, or a compiled regular expression — and cached.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable, Iterable

__all__ = ["Matcher", "action_matches", "arn_matcher", "glob_matcher", "pieces_matcher"]

Matcher = Callable[[str], object]
"""A compiled pattern: called with a string, returns something truthy when it matches."""

Pieces = tuple[tuple[str, bool], ...]  # (text, wildcards active)


def _anything(_: str) -> bool:
    return True


def _glob_body(pieces: Iterable[tuple[str, bool]], arn: bool) -> str:
    out: list[str] = []
    colons = 0 if arn else 5
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


def _fits(s: str, pos: int, part: str) -> bool:
    """Whether ``part`` (where ``?`` is any one character) matches ``s`` at ``pos``."""
    window = s[pos : pos + len(part)]
    return len(window) == len(part) and all(p == "?" or p == c for p, c in zip(part, window, strict=True))


def _find(s: str, part: str, pos: int, end: int) -> int:
    if "?" not in part:
        return s.find(part, pos, end)
    for start in range(pos, end - len(part) + 1):
        if _fits(s, start, part):
            return start
    return -1


def _star_glob(pattern: str) -> Matcher:
    """Match a ``*``/``?`` glob without compiling a regular expression.

    The pattern splits at ``*`` into literal parts (``?`` standing for one character);
    taking each middle part at its leftmost place is always right for such globs.
    """
    if "*" not in pattern:  # '?' only
        return lambda s: len(s) == len(pattern) and _fits(s, 0, pattern)
    first, *middle, last = pattern.split("*")
    least = len(first) + len(last) + sum(map(len, middle))
    simple_ends = "?" not in first and "?" not in last

    def match(s: str) -> bool:
        if len(s) < least:
            return False
        if simple_ends:
            if not (s.startswith(first) and s.endswith(last)):
                return False
        elif not (_fits(s, 0, first) and _fits(s, len(s) - len(last), last)):
            return False
        pos, end = len(first), len(s) - len(last)
        for part in middle:
            pos = _find(s, part, pos, end)
            if pos < 0:
                return False
            pos += len(part)
        return True

    return match


def _star_arn(pattern: str) -> Matcher:
    """Segment-wise ARN match for a ``*``-only pattern: the wildcard of one of the first five
    segments stays inside it."""
    segments = pattern.split(":", 5)
    tests = [_star_glob(seg) if "*" in seg or "?" in seg else seg.__eq__ for seg in segments]
    count = len(segments)

    def match(s: str) -> bool:
        parts = s.split(":", 5)
        return len(parts) == count and all(test(part) for test, part in zip(tests, parts, strict=True))

    return match


def _compile(pieces: Pieces, arn: bool, ignore_case: bool) -> Matcher:
    """The cheapest exact test for a pattern given as pieces."""
    if pieces == (("*", True),):
        return _anything
    text = "".join(t for t, _ in pieces)
    literal_wildcards = any(not active and ("*" in t or "?" in t) for t, active in pieces)
    if not any(active and ("*" in t or "?" in t) for t, active in pieces):
        if ignore_case:
            folded = text.lower()
            return lambda s: s.lower() == folded
        return text.__eq__
    if not literal_wildcards:
        if ignore_case:
            inner = _star_glob(text.lower())
            return lambda s: inner(s.lower())
        return _star_arn(text) if arn else _star_glob(text)
    regex = re.compile(_glob_body(pieces, arn), re.S | (re.I if ignore_case else 0))
    return regex.fullmatch


@lru_cache(maxsize=32768)
def pieces_matcher(pieces: Pieces, arn: bool, ignore_case: bool = False) -> Matcher:
    """Compile resolved template pieces; text from variables never acts as a wildcard."""
    return _compile(pieces, arn, ignore_case)


@lru_cache(maxsize=32768)
def glob_matcher(pattern: str, ignore_case: bool = False) -> Matcher:
    """Compile a ``*``/``?`` glob over a whole string (``StringLike``)."""
    return _compile(((pattern, True),), False, ignore_case)


@lru_cache(maxsize=32768)
def arn_matcher(pattern: str) -> Matcher:
    """Compile an ARN pattern from a ``Resource`` or ``ArnLike`` value (no variables)."""
    return _compile(((pattern, True),), True, False)


@lru_cache(maxsize=32768)
def _action(pattern: str) -> Matcher:
    return _compile(((pattern, True),), False, True)


def action_matches(pattern: str, action: str) -> bool:
    """True when an ``Action``/``NotAction`` entry covers a concrete action."""
    return bool(_action(pattern)(action))
