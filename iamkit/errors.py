"""Errors that teach: every problem carries where it is and how to fix it.

Hierarchy (every error iamkit raises on purpose is an ``IamkitError``)::

    IamkitError(Exception)
    ├── InputError(ValueError)          a file or text cannot be read as JSON at all        problems
    ├── PolicyError(ValueError)         a policy document is malformed                      problems
    ├── ScenarioError(ValueError)       a scenario or request is malformed                  problems
    ├── AuditError(ValueError)          a credential report cannot be read                  problems, rows
    ├── AccountError(ValueError)        an export cannot be read, or no such principal      problems
    ├── ActivityError(ValueError)       an activity log cannot be read                      problems
    ├── SimulationError(ValueError)     SimulateCustomPolicy would reject the call          code, problems
    ├── HintedError                     one message and how to fix it                       message, hint
    │   ├── SandboxError(RuntimeError)  the sandbox cannot start, or a connection tried to leave
    │   ├── DiagramError(RuntimeError)  Graphviz's `dot` is missing or failed
    │   └── MfaError(ValueError)        a seed, time or code MFA cannot use
    ├── CatalogError                    the action catalog's data is missing
    │   └── UnknownActionError(KeyError)
    ├── ExerciseError(ValueError)       an answer in a form that cannot be checked
    ├── WrongAnswer(AssertionError)     a wrong answer, while grading
    ├── UsageError                      a command's arguments or file cannot be used        (one line)
    └── BadInput                        a command's input has located problems              name, problems

Every ``problems`` is a tuple of :class:`Problem`: every problem found, not just the first,
gathered by one :class:`ProblemCollector` (the policy validator, scenarios, the simulator).
Text printed for a person goes through :func:`printable`, so no input can drive the terminal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from .analysis.credential_report import CredentialRow

__all__ = ["EXIT_BAD_INPUT", "EXIT_DENIED", "EXIT_FINDINGS", "EXIT_OK", "AccountError", "ActivityError", "AuditError",
           "CatalogError", "DiagramError", "ExerciseError", "HintedError", "IamkitError", "InputError", "MfaError",
           "PolicyError", "Problem", "ProblemCollector", "SandboxError", "ScenarioError", "SimulationError", "UnknownActionError",
           "UsageError", "BadInput", "WrongAnswer", "format_path", "json_type", "printable", "suggest"]

# Exit statuses of the command line (every command, and the ones other modules register).
EXIT_OK = 0
EXIT_DENIED = 1  # can, simulate: the request is denied
EXIT_FINDINGS = 1  # audit and lint: something to fix
EXIT_BAD_INPUT = 2  # unreadable input or a wrong argument; audit, who-can-assume: a part left unanswered

# C0 and C1 controls but newline and tab, bidirectional overrides, and lone surrogates. Kept as text,
# compiled by re's cache when first used: compiling it takes 0.7 ms, which a batch run never needs.
_UNPRINTABLE = "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"


def printable(text: str) -> str:
    """``text`` safe to write to a terminal: control characters (ESC, CR, bidirectional
    overrides, …) and lone surrogates become escapes such as ``\\x1b``; newlines and tabs stay.

    Every text output of the command line goes through it.
    """
    return re.sub(_UNPRINTABLE, lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                  else f"\\u{ord(m.group()):04x}", text)


def json_type(value: object) -> str:
    """What kind of JSON value ``value`` is, for a message: ``a string``, ``a list``, ``null``, …"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


class ProblemCollector:
    """Every problem found in one input, each at its JSON path: how iamkit gathers them all
    before raising, rather than stopping at the first.

    Args:
        positions: where the text's values are (a :class:`~iamkit.engine.jsonpos.Positions`),
            so that each problem also gets its line and column; None for a document that came
            as data, not text.
        prefix: prepended to every path (a policy inside a scenario: ``("identityPolicies", 0)``).
        warnings_wanted: whether anyone reads the warnings, so that code which would have to
            work to find them (a scenario's policies validated again) can skip it.

    Attributes:
        items: the problems, errors and warnings, in the order they were found.
    """

    def __init__(self, positions: Any = None, prefix: tuple[str | int, ...] = (), *,
                 warnings_wanted: bool = True) -> None:
        self.positions = positions
        self.prefix = prefix
        self.warnings_wanted = warnings_wanted
        self.items: list[Problem] = []

    def add(self, path: Sequence[str | int], message: str, hint: str | None = None, *,
            severity: str = "error", at_key: bool = False) -> None:
        """Record a problem at ``path`` (located at the key rather than its value with ``at_key``)."""
        line = column = None
        if self.positions is not None:
            where = self.positions.of(tuple(path), key=at_key)
            if where:
                line, column = where
        self.items.append(Problem(format_path(self.prefix + tuple(path)), message, hint, line, column, severity))

    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "error"]

    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "warning"]


def format_path(path: Sequence[str | int]) -> str:
    """Render a JSON path as ``Statement[1].Condition.StringEquals``.

    Args:
        path: keys (``str``) and list indexes (``int``) from the document root.

    Returns:
        The dotted path; ``$`` for the document itself.
    """
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "$"


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """Return a ``did you mean`` hint for a misspelt ``word``, or None.

    Matching ignores case, so ``stringequals`` suggests ``StringEquals``.
    """
    import difflib  # here, not at the top: only a misspelling needs it, and most inputs have none

    by_lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    if close:
        return f"did you mean `{by_lower[close[0]]}`?"
    return None


@dataclass(frozen=True, slots=True)
class Problem:
    """One located problem in a document.

    Attributes:
        path: JSON path from the document root, such as ``Statement[1].Effect``.
        message: what is wrong, lowercase, user input in backticks.
        hint: how to fix it, or None.
        line: 1-based line in the source text, when the document came as text.
        column: 1-based column in the source text.
        severity: ``"error"`` (AWS would reject it) or ``"warning"`` (legal but surprising).
    """

    path: str
    message: str
    hint: str | None = None
    line: int | None = None
    column: int | None = None
    severity: str = "error"

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f" (line {self.line}, column {self.column})"
        text = f"{where}: {self.message}"
        if self.hint:
            text += f" — hint: {self.hint}"
        return text

    def located(self, name: str) -> str:
        """The problem as a command line prints it: ``file:line:column: error: path: message — hint``."""
        where = name + (f":{self.line}:{self.column}" if self.line is not None else "")
        text = f"{where}: {self.severity}: {self.path}: {self.message}"
        return printable(text + (f" — hint: {self.hint}" if self.hint else ""))

    def to_dict(self) -> dict[str, object]:
        """The problem as plain JSON-ready data."""
        return {
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
        }


class IamkitError(Exception):
    """Base class of every error iamkit raises on purpose."""


class _ProblemsError(IamkitError, ValueError):
    what = "document"

    def __init__(self, problems: Sequence[Problem]):
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the {self.what}"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))


class InputError(_ProblemsError):
    """A file or text cannot be read as JSON: too large, not UTF-8, malformed, nested too
    deep, or holding what JSON readers disagree on; ``problems`` locates each."""

    what = "input"


class PolicyError(_ProblemsError):
    """A policy document is malformed; ``problems`` lists every located problem."""

    what = "policy"


class ScenarioError(_ProblemsError):
    """A scenario (request plus policies) is malformed; ``problems`` lists every problem."""

    what = "scenario"


class HintedError(IamkitError):
    """An error of one message and, when there is one, how to fix it.

    Attributes:
        message: what went wrong, lowercase, user input in backticks.
        hint: how to fix it, or None.
    """

    def __init__(self, message: str, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(message + (f" — hint: {hint}" if hint else ""))


class SandboxError(HintedError, RuntimeError):
    """The sandbox could not start, or a connection tried to leave this machine."""


class DiagramError(HintedError, RuntimeError):
    """A diagram cannot be rendered: Graphviz's ``dot`` is missing or failed."""


class MfaError(HintedError, ValueError):
    """A seed, a time, a response or a context request that MFA code cannot use (the
    message never shows a seed: it is a secret)."""


class AccountError(IamkitError, ValueError):
    """An account export cannot be read, or a principal is not in the account.

    Attributes:
        problems: the located problems of an export that is not in AWS's shape, else empty.
    """

    def __init__(self, message: str, problems: Sequence[Problem] = ()):
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(message)


class ActivityError(IamkitError, ValueError):
    """An activity log, or a principal to filter it by, cannot be read.

    Attributes:
        problems: every located problem found.
    """

    def __init__(self, problems: Sequence[Problem]):
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


class AuditError(_ProblemsError):
    """A credential report (or another audit input) cannot be read.

    Attributes:
        problems: every problem, each with its line and column in the report.
        rows: the rows that could be read (empty when the header itself is unusable).
    """

    what = "credential report"

    def __init__(self, problems: Sequence[Problem], rows: Sequence[CredentialRow] = ()):
        self.rows: tuple[CredentialRow, ...] = tuple(rows)
        super().__init__(problems)


class SimulationError(IamkitError, ValueError):
    """AWS would reject the request; ``code`` is the error code it would return.

    Attributes:
        code: ``"InvalidInput"`` when a parameter is wrong, ``"NoSuchEntity"`` when
            ``PolicySourceArn`` names no entity of the account, ``"MalformedPolicyDocument"``
            when a policy document is wrong.
        problems: every problem found, each located by parameter and 0-based index, such
            as ``PolicyInputList[1].Statement[0].Effect``, with line and column in its text.
    """

    def __init__(self, code: str, problems: Sequence[Problem]):
        self.code = code
        self.problems: tuple[Problem, ...] = tuple(problems)
        lines = [str(p) for p in self.problems]
        head = lines[0] if len(lines) == 1 else f"{len(lines)} problems:\n" + "\n".join(f"  {s}" for s in lines)
        super().__init__(head)

    @property
    def response(self) -> dict[str, Any]:
        """The error as botocore's ``ClientError.response`` holds it, so
        ``err.response["Error"]["Code"]`` reads the same here and against AWS."""
        return {"Error": {"Code": self.code, "Message": str(self)}}


class CatalogError(IamkitError):
    """The action catalog cannot be used: its data package is missing or unreadable."""


class UnknownActionError(CatalogError, KeyError):
    """An action the catalog does not know was asked about; the message suggests a fix."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ExerciseError(IamkitError, ValueError):
    """An answer that cannot be checked (not one of the expected forms)."""


class WrongAnswer(IamkitError, AssertionError):
    """Raised only while grading (``IAMKIT_GRADING=1``) for a wrong or missing answer."""


class UsageError(IamkitError):
    """A command's arguments, or the file they name, cannot be used: ``iamkit`` prints the
    message as one line (``iamkit: …``) and exits with status 2."""


class BadInput(IamkitError):
    """Located problems of one command-line input: ``iamkit`` prints each as
    ``name:line:column: error: …`` and exits with status 2.

    Attributes:
        name: the input as the person named it (``<stdin>`` for standard input).
        problems: every problem found.
    """

    def __init__(self, name: str, problems: Sequence[Problem]):
        self.name = name
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in problems))
