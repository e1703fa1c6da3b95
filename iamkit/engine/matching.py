"""Wildcard matching for actions, resource ARNs and ``StringLike`` values.

- Actions match case-insensitively; ``*`` is any run of characters and ``?`` one character.
- Resource ARNs match case-sensitively and segment by segment: in the first five
  colon-separated segments (partition, service, region, account) a wildcard stays inside its
  segment; in the resource segment ``*`` spans everything, ``/`` and ``:`` included.
- Text that came from a policy variable, and the ``${*}``, ``${?}``, ``${$}`` specials, is
  literal: its ``*`` and ``?`` are plain characters.

Each pattern is turned once into the cheapest test that is exact for it — equality, or a
glob that takes each wildcard-free part at its leftmost fit — and cached. No pattern is
turned into a regular expression, so no pattern can make matching backtrack: a glob costs
at most O(len(pattern) × len(string)).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, Iterable

__all__ = ["Matcher", "action_matcher", "action_matches", "arn_matcher", "glob_matcher", "pieces_matcher"]

Matcher = Callable[[str], object]
"""A compiled pattern: called with a string, returns something truthy when it matches."""

Pieces = tuple[tuple[str, bool], ...]  # (text, wildcards active)
_Token = tuple[str, bool]  # one character, and whether it is a wildcard


def _anything(_: str) -> bool:
    return True


class _Part:
    """A wildcard-free stretch of a glob between two ``*``: literal characters and ``?``.

    Attributes:
        size: how many characters it covers.
        text: the part with any character standing at the ``?`` places.
        fixed: ``(offset, text)`` of each run of literal characters between the ``?``, or None
            when there is no ``?`` and ``text`` can be compared whole.
    """

    __slots__ = ("fixed", "size", "text")

    def __init__(self, size: int, text: str, fixed: tuple[tuple[int, str], ...] | None):
        self.size, self.text, self.fixed = size, text, fixed

    @staticmethod
    def of_tokens(tokens: list[_Token]) -> _Part:
        """The part for ``(character, is_wildcard)`` tokens without a ``*`` wildcard."""
        holes = any(wild for _, wild in tokens)
        return _Part(len(tokens), "".join(c for c, _ in tokens), _runs(tokens) if holes else None)

    @staticmethod
    def of(text: str) -> _Part:
        """The part for policy text without ``*``, where every ``?`` is a wildcard."""
        if "?" in text:
            runs, pos = [], 0
            for run in text.split("?"):
                if run:
                    runs.append((pos, run))
                pos += len(run) + 1
            return _Part(len(text), text, tuple(runs))
        return _Part(len(text), text, None)

    def fits(self, s: str, pos: int) -> bool:
        """Whether the part matches ``s`` at ``pos`` (which leaves room for it)."""
        if self.fixed is None:
            return s.startswith(self.text, pos)
        return all(s.startswith(run, pos + i) for i, run in self.fixed)

    def find(self, s: str, pos: int, end: int) -> int:
        """The leftmost place in ``s[pos:end]`` where the part fits, or -1."""
        if self.fixed is None:
            return s.find(self.text, pos, end)
        for start in range(pos, end - self.size + 1):
            if self.fits(s, start):
                return start
        return -1


def _runs(tokens: list[_Token]) -> tuple[tuple[int, str], ...]:
    """``(offset, text)`` of each run of literal characters between the wildcards (``?``)."""
    runs: list[tuple[int, str]] = []
    start = 0
    chars: list[str] = []
    for i, (c, wild) in enumerate(tokens):
        if wild:
            if chars:
                runs.append((start, "".join(chars)))
            chars = []
            start = i + 1
        else:
            chars.append(c)
    if chars:
        runs.append((start, "".join(chars)))
    return tuple(runs)


def _glob(tokens: list[_Token]) -> Matcher:
    """Match ``*``/``?`` globs given as tokens, in at most O(len(tokens) × len(s)).

    The glob splits at its ``*`` into parts. The first part must fit at the start and the
    last at the end; each middle part is taken at its leftmost fit after the one before.
    Leftmost is always right: a later fit leaves less room for the parts that follow and
    gains nothing, since the ``*`` around a part absorb whatever it skipped. This is the
    two-pointer glob algorithm, with each part searched by ``str.find`` where it can be.
    """
    if not any(wild for _, wild in tokens):
        return "".join(c for c, _ in tokens).__eq__
    if tokens == [("*", True)]:
        return _anything
    parts: list[list[_Token]] = [[]]
    for token in tokens:
        if token == ("*", True):
            parts.append([])
        else:
            parts[-1].append(token)
    return _glob_parts([_Part.of_tokens(p) for p in parts])


def _glob_text(text: str) -> Matcher:
    """:func:`_glob` for policy text whose every ``*`` and ``?`` is a wildcard, split with
    ``str.split`` rather than character by character."""
    if "*" not in text and "?" not in text:
        return text.__eq__
    if text == "*":
        return _anything
    parts = text.split("*")
    if "?" not in text and len(parts) == 2:  # one '*': a prefix and a suffix
        head, tail = parts
        if not tail:
            return lambda s: s.startswith(head)
        least = len(head) + len(tail)
        return lambda s: len(s) >= least and s.startswith(head) and s.endswith(tail)
    return _glob_parts([_Part.of(p) for p in parts])


def _arn_text(text: str) -> Matcher:
    """:func:`_arn` for policy text whose every ``*`` and ``?`` is a wildcard. When the first
    five segments hold no wildcard, they are one literal prefix: a string whose first five
    segments equal them is exactly a string that starts with them and their colons, so the
    segment-wise match is the glob of the whole text (the prefix, then the resource segment's)."""
    segments = text.split(":", 5)
    if len(segments) == 6:
        prefix = text[: len(text) - len(segments[5])]
        if "*" not in prefix and "?" not in prefix:
            return _glob_text(text)
    return _segments([_glob_text(seg) for seg in segments])


def _policy_text(text: str, arn: bool) -> Matcher:
    """The cheapest exact test for policy text whose every ``*`` and ``?`` is a wildcard."""
    if text == "*":
        return _anything
    if "*" not in text and "?" not in text:
        return text.__eq__
    return _arn_text(text) if arn else _glob_text(text)


def _glob_parts(parts: list[_Part]) -> Matcher:
    """The glob whose parts, between its ``*``, are ``parts``."""
    if len(parts) == 1:  # '?' only
        whole = parts[0]
        return lambda s: len(s) == whole.size and whole.fits(s, 0)
    first, *middle, last = parts
    least = first.size + last.size + sum(p.size for p in middle)

    def match(s: str) -> bool:
        if len(s) < least or not (first.fits(s, 0) and last.fits(s, len(s) - last.size)):
            return False
        pos, end = first.size, len(s) - last.size
        for part in middle:
            pos = part.find(s, pos, end)
            if pos < 0:
                return False
            pos += part.size
        return True

    return match


def _tokens(pieces: Iterable[tuple[str, bool]]) -> list[_Token]:
    return [(c, active and c in "*?") for text, active in pieces for c in text]


def _arn(tokens: list[_Token]) -> Matcher:
    """Segment-wise ARN match: the wildcards of the first five segments stay inside them."""
    segments: list[list[_Token]] = [[]]
    for token in tokens:
        if token[0] == ":" and len(segments) < 6:
            segments.append([])
        else:
            segments[-1].append(token)
    return _segments([_glob(seg) for seg in segments])


def _segments(tests: list[Matcher]) -> Matcher:
    """Match an ARN's colon-separated segments (the sixth and last one holding any further
    colons) with one test each."""
    count = len(tests)

    def match(s: str) -> bool:
        parts = s.split(":", 5)
        return len(parts) == count and all(test(part) for test, part in zip(tests, parts, strict=True))

    return match


def _compile(pieces: Pieces, arn: bool, ignore_case: bool) -> Matcher:
    """The cheapest exact test for a pattern given as pieces."""
    if pieces == (("*", True),):
        return _anything
    if ignore_case:
        pieces = tuple((text.lower(), active) for text, active in pieces)
    if len(pieces) == 1 and pieces[0][1]:  # policy text only: no character is taken literally
        text = pieces[0][0]
        if not ignore_case:
            return _policy_text(text, arn)
        if "*" not in text and "?" not in text:
            return lambda s: s.lower() == text
        inner = _policy_text(text, arn)
        return lambda s: inner(s.lower())
    joined = "".join(text for text, _ in pieces)
    if joined != "*" and all(active or ("*" not in text and "?" not in text) for text, active in pieces):
        # No literal text holds a wildcard character, so the pieces read as one text of policy
        # (all but a lone "*", which as one piece of policy text would match any ARN).
        return _compile(((joined, True),), arn, ignore_case)
    tokens = _tokens(pieces)
    if not any(wild for _, wild in tokens):
        text = "".join(t for t, _ in pieces)
        return (lambda s: s.lower() == text) if ignore_case else text.__eq__
    inner = _arn(tokens) if arn else _glob(tokens)
    return (lambda s: inner(s.lower())) if ignore_case else inner


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
    return _policy_text(pattern, True)


@lru_cache(maxsize=32768)
def _action(pattern: str) -> Matcher:
    return _compile(((pattern, True),), False, True)


@lru_cache(maxsize=32768)
def action_matcher(pattern: str) -> Matcher:
    """Compile an ``Action``/``NotAction`` entry for a concrete action given in lowercase:
    the same answer as :func:`action_matches` without lowering the action once per entry."""
    return _policy_text(pattern.lower(), False)


def action_matches(pattern: str, action: str) -> bool:
    """True when an ``Action``/``NotAction`` entry covers a concrete action."""
    return bool(_action(pattern)(action))

