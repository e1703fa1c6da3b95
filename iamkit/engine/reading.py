"""Reading input: files and standard input, bounded, decoded and parsed as strict JSON.

Every command and loader reads through here, so hostile input meets one set of limits and
gets one kind of answer, an :class:`~iamkit.errors.InputError` whose problems are located:

- a file or standard input is read up to a bound (:data:`MAX_DOCUMENT_BYTES` for a policy,
  a scenario or a credential report, :data:`MAX_EXPORT_BYTES` for an account export or an
  activity log), and gzip-compressed input is decompressed up to the same bound;
- text must be UTF-8; JSON may nest at most :data:`MAX_DEPTH` levels, checked before
  parsing; a key given twice in one object, ``NaN``, ``Infinity``, numbers longer than
  :data:`~iamkit.engine.jsonpos.MAX_NUMBER_CHARS` and lone surrogates are refused.

IAM's own size limits are far smaller than these bounds; :func:`aws_size_problem` says
when a policy is larger than IAM would accept.
"""

from __future__ import annotations

import json
import json.scanner
import math
import os
import re
import sys
from typing import Any

from ..errors import InputError, Problem, format_path
from .jsonpos import MAX_NUMBER_CHARS, Path, Positions, line_column, locate, may_hold_surrogates, string_end

__all__ = [
    "AWS_POLICY_SIZE_LIMITS",
    "MAX_DEPTH",
    "MAX_DOCUMENT_BYTES",
    "MAX_EXPORT_BYTES",
    "aws_size_problem",
    "decode",
    "expand",
    "json_hint",
    "load_json",
    "read_bytes",
    "read_text",
]

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
"""10 MiB: the most read of a policy, scenario, credential report or batch (per line)."""

MAX_EXPORT_BYTES = 256 * 1024 * 1024
"""256 MiB: the most read of an account export or an activity log, after decompression (far more
than a CloudTrail log file or the authorization details of a large account)."""

MAX_DEPTH = 100
"""The deepest JSON nesting read; a policy nests about 6 levels, an account export about 12."""

AWS_POLICY_SIZE_LIMITS = {
    "managed policy": 6_144,
    "user inline policies": 2_048,
    "group inline policies": 5_120,
    "role inline policies": 10_240,
    "role trust policy": 2_048,
    "role trust policy at its raised maximum": 4_096,
    "service control policy": 5_120,
    "resource control policy": 5_120,
}
"""IAM's and Organizations' quotas in characters, whitespace not counted (inline policies:
the sum over one identity; a trust policy's quota, 2,048 by default, can be raised to 4,096;
the others cannot be raised).
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"""

_GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: str | os.PathLike[str], *, limit: int = MAX_DOCUMENT_BYTES) -> bytes:
    """The bytes of a file, or of standard input for ``"-"``, gzip-compressed input expanded.

    Args:
        path: a file path, or ``"-"``.
        limit: the most bytes read, and the most a compressed input may expand to.

    Raises:
        InputError: when the input cannot be read, is larger than ``limit``, or is a
            broken gzip stream.
    """
    try:
        if path == "-":
            stream = getattr(sys.stdin, "buffer", None)
            data = stream.read(limit + 1) if stream is not None else \
                sys.stdin.read(limit + 1).encode("utf-8", "surrogatepass")
        else:
            with open(path, "rb") as f:
                data = f.read(limit + 1)
    except OSError as exc:
        raise InputError([Problem("$", f"cannot read `{os.fspath(path)}`: {(exc.strerror or str(exc)).lower()}")]) \
            from None
    name = "standard input" if path == "-" else f"`{os.fspath(path)}`"
    if len(data) > limit:
        raise InputError([Problem("$", f"{name} is larger than {limit:,} bytes, the most iamkit reads",
                                  "give a regular file of JSON text; split a large input into smaller files")])
    return expand(data, limit=limit, name=name)


def expand(data: bytes, *, limit: int = MAX_DOCUMENT_BYTES, name: str = "the input") -> bytes:
    """``data`` decompressed when it is gzip-compressed (else as it is), to at most ``limit`` bytes.

    Raises:
        InputError: when the gzip stream is broken or expands to more than ``limit``.
    """
    if data[:2] != _GZIP_MAGIC:
        return data
    import gzip  # here, not at the top: only compressed input needs these
    import io
    import zlib

    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as f:
            data = f.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError([Problem("$", f"{name} is gzip-compressed and cannot be read: {str(exc).lower()}",
                                  "the file may be cut short; download it again")]) from None
    if len(data) > limit:
        raise InputError([Problem("$", f"{name} expands to more than {limit:,} bytes, the most iamkit reads",
                                  "split the input into smaller files")])
    return data


def decode(data: bytes) -> str:
    """UTF-8 ``data`` as text (a byte order mark dropped).

    Raises:
        InputError: at the line and column of the first byte that is not UTF-8.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        start = data.rfind(b"\n", 0, exc.start) + 1
        column = len(data[start:exc.start].decode("utf-8", "replace")) + 1
        raise InputError([Problem("$", f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be read",
                                  "save the file as UTF-8", line, column)]) from None


def read_text(path: str | os.PathLike[str], *, limit: int = MAX_DOCUMENT_BYTES) -> str:
    """:func:`read_bytes` then :func:`decode`. Raises :class:`InputError`."""
    return decode(read_bytes(path, limit=limit))


def load_json(text: str, *, prefix: Path = (), limit: int = MAX_DOCUMENT_BYTES) -> tuple[Any, Positions]:
    """Parse strict JSON and locate every value in it.

    Args:
        text: the JSON text.
        prefix: the JSON path of this text inside a larger document (a policy inside a
            scenario); every problem's path starts with it.
        limit: the most characters read.

    Returns:
        The document, and the :class:`~iamkit.engine.jsonpos.Positions` of its values.

    Raises:
        InputError: every located problem: too long, nested deeper than :data:`MAX_DEPTH`,
            not valid JSON, duplicate keys, ``NaN``/``Infinity``, over-long numbers, lone
            surrogates.
    """
    if len(text) > limit:
        raise InputError([Problem(format_path(prefix), f"the text is {len(text):,} characters long, more than iamkit reads "
                                  f"({limit:,})", "split a large input into smaller files")])
    # The common case costs one strict json.loads; only a text it refuses is walked to locate why.
    try:
        # json.loads(text, **hooks) builds a decoder per call; its scanner, built once, reads the same
        # (JSONDecoder.decode is this, in Python: white space, the scanner, white space, the end).
        if text.startswith("\ufeff"):  # json.loads refuses a byte order mark: so does the walk below
            raise _Refused
        document, end = _SCAN(text, len(text) - len(text.lstrip(_JSON_SPACE)))
        if text[end:].strip(_JSON_SPACE):  # more after the document
            raise _Refused
    except (json.JSONDecodeError, RecursionError, StopIteration, _Refused):  # StopIteration: no document at all
        pass
    else:
        if not (_deeper_than(document, text, MAX_DEPTH) or may_hold_surrogates(text)):
            return document, Positions(text, prefix)
    where = format_path(prefix)
    deep = _too_deep(text)
    if deep is not None:
        raise InputError([Problem(where, f"the JSON nests more than {MAX_DEPTH} levels deep",
                                  "no IAM document nests this deep: check the brackets", *line_column(text, deep))])
    try:
        # Over-long numbers and NaN/Infinity get a stand-in here; locate() reports them.
        document = json.loads(text, parse_int=_integer, parse_constant=float)
    except json.JSONDecodeError as exc:
        raise InputError([Problem(where, f"not valid JSON: {exc.msg.lower()}", json_hint(exc),
                                  exc.lineno, exc.colno)]) from None
    positions = locate(text, prefix)
    if positions.problems:
        raise InputError(positions.problems)
    return document, positions


def _integer(token: str) -> int:
    return int(token) if len(token) <= MAX_NUMBER_CHARS else 0


class _Refused(Exception):
    """What the strict reading refuses; the walk of the text then says where and why."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):  # a key given twice
        raise _Refused
    return document


def _strict_integer(token: str) -> int:
    if len(token) > MAX_NUMBER_CHARS:
        raise _Refused
    return int(token)


def _strict_float(token: str) -> float:
    value = float(token)
    if len(token) > MAX_NUMBER_CHARS or math.isinf(value):
        raise _Refused
    return value


def _refuse(token: str) -> Any:  # NaN, Infinity
    raise _Refused


_STRICT = json.JSONDecoder(object_pairs_hook=_object, parse_int=_strict_integer, parse_float=_strict_float,
                           parse_constant=_refuse)
_SCAN = json.scanner.make_scanner(_STRICT)  # type: ignore[arg-type]  # it reads any decoder's hooks
_JSON_SPACE = " \t\n\r"  # JSON's white space, and only it


def _deeper_than(document: Any, text: str, limit: int) -> bool:
    """Whether containers in ``document`` (parsed from ``text``) nest more than ``limit`` levels."""
    if text.count("[") + text.count("{") <= limit:  # too few brackets to nest that deep: no walk
        return False
    # Level by level: no (container, depth) pair made for each of a scenario's hundreds of containers.
    level = [document] if isinstance(document, (dict, list)) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        below = []
        for value in level:
            for child in value.values() if isinstance(value, dict) else value:
                if isinstance(child, (dict, list)):
                    below.append(child)
        level = below
    return False


_BRACKET_OR_QUOTE = r'[\[\]{}"]'  # compiled when first used: only a text with many brackets is walked


def _too_deep(text: str) -> int | None:
    """The offset of the first bracket nested deeper than :data:`MAX_DEPTH`, if any
    (brackets inside strings do not count; the text need not be valid JSON)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    depth = 0
    bracket_or_quote = re.compile(_BRACKET_OR_QUOTE)
    m = bracket_or_quote.search(text)
    while m is not None:
        c, at = m.group(), m.start()
        if c == '"':
            try:
                at = string_end(text, at) - 1
            except ValueError:  # not closed: json.loads reports it
                return None
        elif c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return at
        else:
            depth -= 1
        m = bracket_or_quote.search(text, at + 1)
    return None


def json_hint(exc: json.JSONDecodeError) -> str | None:
    """How to fix the commonest JSON mistakes that ``exc`` reports, or None."""
    if "Expecting property name" in exc.msg:
        return "JSON keys need double quotes, and a trailing comma before `}` is not allowed"
    if "Expecting ',' delimiter" in exc.msg:
        return "a comma is missing between two values"
    if "Expecting value" in exc.msg:
        return "a value is missing here, or there is a trailing comma before `]`"
    return None


def aws_size_problem(document: Any, quota: str, path: Path = (), *, severity: str = "warning") -> Problem | None:
    """A problem when ``document`` is larger than IAM accepts for ``quota``, else None.

    Args:
        document: the policy as decoded JSON.
        quota: a key of :data:`AWS_POLICY_SIZE_LIMITS`, such as ``"managed policy"``.
        path: where the policy is in its document.
        severity: ``"warning"``, or ``"error"`` where IAM would refuse the document.
    """
    limit = AWS_POLICY_SIZE_LIMITS[quota]
    size = len(json.dumps(document, separators=(",", ":"), ensure_ascii=False))
    if size <= limit:
        return None
    hint = ("a role has one trust policy: shorten it, or have the account's trust policy quota raised (at most "
            f"{AWS_POLICY_SIZE_LIMITS['role trust policy at its raised maximum']:,})"
            if quota.startswith("role trust policy") else "split it into several policies")
    return Problem(format_path(path), f"the policy is {size:,} characters without whitespace, more than IAM "
                   f"accepts ({quota}: {limit:,})", hint, severity=severity)
