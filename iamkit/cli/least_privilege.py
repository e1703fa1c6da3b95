"""``iamkit least-privilege``: the identity policy that covers exactly the calls an activity log shows."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..account.activity import (
    ActivityError,
    read_activity,
    read_log_bytes,
)
from ..analysis.least_privilege import generate_policy
from ..errors import EXIT_BAD_INPUT, EXIT_OK, printable

__all__ = ["register"]


def _least_privilege(args: argparse.Namespace) -> int:
    name = "<stdin>" if args.log == "-" else args.log
    try:
        log = read_activity(read_log_bytes(args.log))
        result = generate_policy(log, principal=args.principal)
    except ActivityError as exc:
        for problem in exc.problems:
            print(problem.located(name), file=sys.stderr)
        return EXIT_BAD_INPUT
    for problem in result.warnings:
        print(problem.located(name), file=sys.stderr)
    if not result.grants:
        print(printable(f"iamkit: no policy: {name} holds no authorized calls"
                        + (f" of `{args.principal}`" if args.principal else "")), file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.access_analyzer:
        try:
            response = result.access_analyzer_response()
        except ActivityError as exc:
            for problem in exc.problems:
                print(problem.located(name), file=sys.stderr)
            return EXIT_BAD_INPUT
        print(json.dumps(response, indent=2, default=lambda when: when.isoformat()))
    else:
        print(result.to_json() if args.json else printable(result.explain(warnings=False)))
    return EXIT_BAD_INPUT if log.problems else EXIT_OK


def register(subparsers: Any) -> None:
    """Add ``least-privilege`` to the ``iamkit`` command's subparsers.

    It sets ``run`` to a function taking the parsed arguments and returning the exit status.
    """
    lp = subparsers.add_parser(
        "least-privilege", help="write the least-privilege policy for what an activity log shows was used",
        description="Generate the identity policy that covers exactly the calls a CloudTrail activity log shows "
                    "(a log file, a JSON list of records, or one record per line; gzip is fine). Denied calls are "
                    "not granted. Exit status: 0 a policy was written, 2 bad input (unreadable records are reported "
                    "by line and skipped; the policy covers the rest).")
    lp.add_argument("log", metavar="LOG", help="CloudTrail activity log, or - for standard input")
    lp.add_argument("--principal", metavar="ARN", help="only calls of this user, role (and its sessions) or session")
    output = lp.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print only the policy document as JSON")
    output.add_argument("--access-analyzer", action="store_true",
                        help="print what `aws accessanalyzer get-generated-policy` prints for the policy "
                             "(the response of IAM Access Analyzer's GetGeneratedPolicy), as JSON")
    lp.set_defaults(run=_least_privilege)
