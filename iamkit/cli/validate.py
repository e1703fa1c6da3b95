"""``iamkit validate``: every problem of a policy (as IAM checks it when the policy is created)
or of a scenario, located by line and column."""

from __future__ import annotations

import argparse
from typing import Any, Sequence

from ..engine.policy import PolicyKind, validate_policy
from ..engine.reading import aws_size_problem
from ..engine.scenario import load_scenario
from ..errors import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    BadInput,
    Problem,
    ScenarioError,
)
from ._common import input_name, read_document, read_input, say, with_lines

__all__ = ["register"]


# IAM's quota for each kind of policy a file can hold; resource and session policies have none of IAM's.
# IAM (or Organizations) refuses a larger document; only the trust policy quota can be raised, to 4,096.
_QUOTAS = {
    PolicyKind.IDENTITY: "managed policy",
    PolicyKind.BOUNDARY: "managed policy",
    PolicyKind.TRUST: "role trust policy at its raised maximum",
    PolicyKind.SCP: "service control policy",
    PolicyKind.RCP: "resource control policy",
}


def _validate(args: argparse.Namespace) -> int:
    text = read_input(args.file)
    name = input_name(args.file)
    document, positions = read_document(args.file, text)
    if isinstance(document, dict) and "request" in document and args.kind is None:
        warnings: list[Problem] = []
        try:
            load_scenario(document, warnings=warnings)
        except ScenarioError as exc:
            raise BadInput(name, with_lines(exc.problems, positions)) from None
        for problem in with_lines(warnings, positions):
            say(problem.located(name), err=True)
        say(f"{name}: a valid scenario{_warned(warnings)}")
        return EXIT_OK
    kind = PolicyKind(args.kind or "identity")
    problems = validate_policy(text, kind, creating=True)
    too_large = aws_size_problem(document, _QUOTAS[kind], severity="error") if kind in _QUOTAS else None
    if too_large is None and kind is PolicyKind.TRUST:  # over the default quota: only where it was raised
        too_large = aws_size_problem(document, "role trust policy")
    if too_large is not None:
        problems.append(too_large)
    for problem in problems:
        say(problem.located(name), err=True)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        return EXIT_BAD_INPUT
    say(f"{name}: a valid {kind.label}{_warned(problems)}")
    return EXIT_OK


def _warned(problems: Sequence[Problem]) -> str:
    return f" ({len(problems)} warning{'s' if len(problems) != 1 else ''})" if problems else ""


def register(sub: Any) -> None:
    """Add ``iamkit validate FILE [--kind KIND]``."""
    val = sub.add_parser("validate", help="report every problem in a policy or scenario",
                         description="Validate a policy (or a scenario) and print located problems. "
                                     "Exit status: 0 valid, 2 problems found.")
    val.add_argument("file", metavar="FILE", help="policy or scenario JSON file, or - for standard input")
    val.add_argument("--kind", choices=[k.value for k in PolicyKind],
                     help="where the policy is attached (default: identity)")
    val.set_defaults(run=_validate)
