"""``iamkit audit``: an account export (and its credential report) checked against AWS's IAM best
practices; each finding with the command that fixes it."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from ..account.model import AccountError, load_account
from ..analysis.audit import audit
from ..engine.reading import read_bytes
from ..errors import EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK, AuditError, InputError, printable

__all__ = ["register"]


def _date_argument(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))  # audit() takes a naive one as UTC
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text}` is not a date: use YYYY-MM-DD") from None


def register(subparsers: Any) -> None:
    """Add ``iamkit audit EXPORT [--credential-report CSV] [--json] [--now YYYY-MM-DD]``.

    Exit status: 0 no findings, 1 findings, 2 bad input: an unreadable export or report, or a
    partial audit (credential-report rows, policies or groups that could not be audited; the
    report is printed, and what was not audited is listed). Bad input never prints a traceback.

    Args:
        subparsers: what ``ArgumentParser.add_subparsers()`` returned; the command sets
            ``run`` to a function of the parsed arguments that returns the exit status.
    """
    parser = subparsers.add_parser(
        "audit", help="check an account against AWS's IAM best practices",
        description="Audit an account export (aws iam get-account-authorization-details > EXPORT) and, with "
                    "--credential-report, its credential report. Each finding says why it matters and the aws "
                    "command that fixes it. Exit status: 0 no findings, 1 findings, 2 bad input or a partial "
                    "audit (what was not audited is listed).")
    parser.add_argument("export", metavar="EXPORT", help="the JSON of `aws iam get-account-authorization-details`, "
                                                         "or - for standard input")
    parser.add_argument("--credential-report", metavar="CSV", default=None,
                        help="the credential report: `aws iam get-credential-report --query Content --output text "
                             "| base64 -d > CSV` (the command's JSON output is accepted too)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--now", type=_date_argument, default=None, metavar="YYYY-MM-DD",
                        help="measure ages from this date (default: today)")
    parser.set_defaults(run=run_cli)


def run_cli(args: argparse.Namespace) -> int:
    """Run ``iamkit audit`` on parsed arguments; returns the exit status."""
    try:
        account = load_account(args.export)
    except AccountError as exc:
        print(printable(f"iamkit: {exc}"), file=sys.stderr)
        return EXIT_BAD_INPUT
    report_text: bytes | None = None
    if args.credential_report is not None:
        try:
            report_text = read_bytes(args.credential_report)
        except InputError as exc:
            print(printable(f"iamkit: {exc.problems[0].message}"), file=sys.stderr)
            return EXIT_BAD_INPUT
    try:
        report = audit(account, report_text, now=args.now)
    except AuditError as exc:
        for problem in exc.problems:
            print(problem.located(args.credential_report), file=sys.stderr)
        return EXIT_BAD_INPUT
    print(report.to_json() if args.json else printable(report.explain()))
    for problem in report.problems:
        print(problem.located(args.credential_report if problem.severity == "error" else args.export),
              file=sys.stderr)
    if report.problems:
        # A part that was not read was not found clean: "no findings" must not pass for a clean account.
        n = len(report.problems)
        print(f"iamkit: partial audit: {n} part{'s' if n != 1 else ''} of the input could not be audited "
              "(listed above); the findings cover the rest", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_FINDINGS if report.findings else EXIT_OK
