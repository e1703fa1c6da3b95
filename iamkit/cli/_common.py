"""What every command shares: reading its input, locating problems, and printing for a person.

A command raises :class:`~iamkit.errors.UsageError` (one line, ``iamkit: …``) or
:class:`~iamkit.errors.BadInput` (located problems, ``name:line:column: error: …``);
:func:`iamkit.cli.main` prints either and exits with status 2. Both, and the exit codes, are
in :mod:`iamkit.errors`.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any, Sequence

from ..engine.jsonpos import Positions
from ..engine.reading import load_json, read_text
from ..errors import BadInput, InputError, Problem, UsageError, format_path, printable

__all__ = ["context_arguments", "input_name", "read_document", "read_input", "say", "with_lines"]


def input_name(path: str) -> str:
    return "<stdin>" if path == "-" else path


def read_input(path: str) -> str:
    try:
        return read_text(path)
    except InputError as exc:
        problem = exc.problems[0]
        if problem.line is None:  # the file as a whole: it names itself
            raise UsageError(problem.message + (f" — hint: {problem.hint}" if problem.hint else "")) from None
        raise BadInput(input_name(path), exc.problems) from None


def read_document(path: str, text: str | None = None) -> tuple[Any, Positions]:
    """The strict JSON of a file (or of ``text`` read from it), and where its values are."""
    try:
        return load_json(read_input(path) if text is None else text)
    except InputError as exc:
        raise BadInput(input_name(path), exc.problems) from None


def with_lines(problems: Sequence[Problem], positions: Positions) -> list[Problem]:
    """``problems`` located by line and column in the text their paths point into."""
    by_path = {format_path(path): where for path, where in positions.values.items()}
    return [p if p.line is not None or p.path not in by_path else replace(p, line=by_path[p.path][0],
                                                                          column=by_path[p.path][1])
            for p in problems]


def say(text: str, *, err: bool = False) -> None:
    """Print text for a person, control characters escaped (see :func:`~iamkit.errors.printable`)."""
    print(printable(text), file=sys.stderr if err else sys.stdout)


def context_arguments(pairs: Sequence[str]) -> dict[str, str | list[str]]:
    """``KEY=VALUE`` options as a request context; a key given twice becomes a list."""
    context: dict[str, str | list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"`{pair}` is not KEY=VALUE — hint: write `--context aws:MultiFactorAuthPresent=true`")
        if key in context:
            previous = context[key]
            context[key] = (previous if isinstance(previous, list) else [previous]) + [value]
        else:
            context[key] = value
    return context
