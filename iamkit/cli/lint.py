"""``iamkit lint``: a policy's over-broad grants, each located and with a hint."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..analysis.lint import lint_policy
from ..engine.policy import PolicyKind
from ..engine.reading import load_json, read_text
from ..errors import EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK, InputError, PolicyError, printable

__all__ = ["register"]


def _lint(args: argparse.Namespace) -> int:
    name = "<stdin>" if args.policy == "-" else args.policy
    try:
        text = read_text(args.policy)
        load_json(text)  # refuses what json.loads lets through: duplicate keys, NaN, lone surrogates, …
        findings = lint_policy(text, kind=args.kind)
    except (InputError, PolicyError) as exc:
        for problem in exc.problems:
            print(problem.located(name), file=sys.stderr)
        return EXIT_BAD_INPUT
    for f in findings:
        where = name + (f":{f.line}:{f.column}" if f.line is not None else "")
        print(printable(f"{where}: {f.severity}: {f.rule}: {f.path}: {f.message} — hint: {f.hint}"))
    if not findings:
        print(printable(f"{name}: no over-broad grants found"))
        return EXIT_OK
    return EXIT_FINDINGS


def register(subparsers: Any) -> None:
    """Add ``lint`` to the ``iamkit`` command's subparsers.

    It sets ``run`` to a function taking the parsed arguments and returning the exit status.
    """
    lint = subparsers.add_parser(
        "lint", help="report over-broad grants in a policy",
        description="Find over-broad grants (wildcards, NotAction with Allow, iam:PassRole on every role, "
                    "privilege escalation, public principals), each with a hint. "
                    "Exit status: 0 no findings, 1 findings, 2 bad input.")
    lint.add_argument("policy", metavar="POLICY", help="policy JSON file, or - for standard input")
    lint.add_argument("--kind", choices=[k.value for k in PolicyKind], default="identity",
                      help="where the policy is attached (default: identity)")
    lint.set_defaults(run=_lint)
