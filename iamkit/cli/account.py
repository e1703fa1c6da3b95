"""The account commands: ``can``, ``permissions``, ``who-can-assume`` and ``expand``.

Each reads an account (an export of ``get-account-authorization-details``, standard input,
or the running sandbox) and answers with the engine's Decisions. The account, catalog and
analysis modules are imported when a command runs, so a batch run never loads them.
"""

from __future__ import annotations

import argparse
import contextlib
from typing import Any, Iterator

from ..errors import (
    EXIT_BAD_INPUT,
    EXIT_DENIED,
    EXIT_OK,
    BadInput,
    ScenarioError,
    UsageError,
    suggest,
)
from ._common import context_arguments, input_name, say

__all__ = ["register"]


@contextlib.contextmanager
def _account(source: str) -> Iterator[Any]:
    """An account from an export file, standard input, or the sandbox (see ``load_account``).

    When the command is done, answered or not, every problem met in the export is printed
    to standard error as a warning located in it (a policy left out of the answer)."""
    from ..account.model import AccountError, load_account

    try:
        account = load_account(source)
    except AccountError as exc:
        if exc.problems:
            raise BadInput(input_name(source), exc.problems) from None
        raise UsageError(str(exc)) from None
    try:
        yield account
    finally:
        for problem in account.problems:
            say(problem.located(input_name(source)), err=True)


def _can(args: argparse.Namespace) -> int:
    from ..account.model import AccountError

    with _account(args.account) as account:
        try:
            decision = account.evaluate(args.principal, args.action, args.resource,
                                        context=context_arguments(args.context))
        except (AccountError, ScenarioError) as exc:
            raise UsageError(str(exc)) from None
    say(decision.to_json() if args.json else decision.explain())
    return EXIT_OK if decision.allowed else EXIT_DENIED


def _permissions(args: argparse.Namespace) -> int:
    from ..account.catalog import CatalogError, catalog
    from ..account.model import AccountError
    from ..analysis.effective import effective_permissions

    if args.service is not None:
        try:
            found = catalog()
        except CatalogError as exc:
            raise UsageError(str(exc)) from None
        if found.service(args.service) is None:
            hint = suggest(args.service, found.services()) or "give a service prefix, such as `s3`, `iam` or `ec2`"
            raise UsageError(f"no service `{args.service}` in the action catalog — hint: {hint}")
    with _account(args.account) as account:
        try:
            scenario = account.scenario(args.principal, "sts:GetCallerIdentity", args.resource,
                                        context=context_arguments(args.context))
            result = effective_permissions(scenario, resource=args.resource, service=args.service)
        except (AccountError, ScenarioError, CatalogError) as exc:
            raise UsageError(str(exc)) from None
    rows = [r for r in result.rows if args.all or r.allowed]
    width = max((len(r.action) for r in rows), default=10)
    for r in rows:
        decided = f"{r.deciding_statement} ({r.where})" if r.deciding_statement else ""
        say(f"{r.action:<{width}}  {r.access_level:<22}  {r.decision:<12}  {decided}")
    allowed = sum(r.allowed for r in result.rows)
    say(f"{allowed} of {len(result.rows)} actions allowed for {result.principal} on {result.resource}", err=True)
    return EXIT_OK


def _who_can_assume(args: argparse.Namespace) -> int:
    from ..account.model import AccountError

    with _account(args.account) as account:
        try:
            found = account.assume_candidates(args.role, context=context_arguments(args.context))
        except AccountError as exc:
            raise UsageError(str(exc)) from None
    for who, decision in found.decisions:
        mark = "✔" if decision.allowed else "✖"
        say(f"{mark} {who}: {decision.summary()}")
    for who, error in found.unknown:  # not guessed at: a missing Deny or boundary would widen the answer
        say(f"? {who}: unknown: {error}")
    if found.unknown:
        say(f"iamkit: {len(found.unknown)} of {len(found.decisions) + len(found.unknown)} candidates could not be "
            "evaluated, so the answer is incomplete: each `?` line says which document is missing or unreadable",
            err=True)
        return EXIT_BAD_INPUT
    return EXIT_OK


def _expand(args: argparse.Namespace) -> int:
    from ..account.catalog import CatalogError, catalog

    try:
        found = catalog()
    except CatalogError as exc:
        raise UsageError(str(exc)) from None
    status = EXIT_OK
    for pattern in args.pattern:
        try:
            actions = found.expand(pattern)
        except ValueError as exc:  # no service prefix, or a wildcard in it: AWS would reject the entry
            say(f"iamkit: {exc}", err=True)
            status = EXIT_BAD_INPUT
            continue
        if not actions:
            hint = found.suggest(pattern)
            say(f"iamkit: `{pattern}` matches no action" + (f" — hint: {hint}" if hint else ""), err=True)
            status = EXIT_BAD_INPUT
        for name in actions:
            say(f"{name:<60}  {found.access_level(name)}")
    return status


def register(sub: Any) -> None:
    """Add ``can``, ``permissions``, ``who-can-assume`` and ``expand``."""
    account_help = ("an export of `aws iam get-account-authorization-details`, - for standard input, or `sandbox` "
                    "for the running sandbox")
    can = sub.add_parser("can", help="can a principal of an account do this, and why?",
                         description="Evaluate a request of a user or role of an account and explain the decision, "
                                     "naming the policy and what it is attached to. Exit status: 0 allowed, 1 denied, "
                                     "2 bad input.")
    can.add_argument("account", metavar="ACCOUNT", help=account_help)
    can.add_argument("principal", metavar="PRINCIPAL", help="user or role: a name, role/NAME or an ARN")
    can.add_argument("action", metavar="ACTION", help="one action, such as s3:GetObject")
    can.add_argument("resource", metavar="RESOURCE", nargs="?", default="*", help="a resource ARN (default: *)")
    can.add_argument("--context", action="append", default=[], metavar="KEY=VALUE",
                     help="a request-context key (repeatable; a repeated key becomes a list)")
    can.add_argument("--json", action="store_true", help="print the whole decision as JSON")
    can.set_defaults(run=_can)

    perms = sub.add_parser("permissions", help="a principal's effective permissions over the action catalog",
                           description="Evaluate every action of the catalog (or of one service) for a principal "
                                       "and a resource; print the allowed ones with their access level and the "
                                       "statement that allowed them. Exit status: 0, or 2 bad input.")
    perms.add_argument("account", metavar="ACCOUNT", help=account_help)
    perms.add_argument("principal", metavar="PRINCIPAL", help="user or role: a name, role/NAME or an ARN")
    perms.add_argument("--service", metavar="PREFIX", help="only this service, such as s3")
    perms.add_argument("--resource", metavar="ARN", default="*", help="the resource (default: *)")
    perms.add_argument("--context", action="append", default=[], metavar="KEY=VALUE", help="a request-context key")
    perms.add_argument("--all", action="store_true", help="list denied actions too")
    perms.set_defaults(run=_permissions)

    who = sub.add_parser("who-can-assume", help="who may assume a role, and why",
                         description="Evaluate sts:AssumeRole on the role for every user and role of the account "
                                     "and every service or account its trust policy names. A candidate whose "
                                     "documents the export lacks is listed with `?` and what is missing, not guessed "
                                     "at. Exit status: 0 every candidate answered, 2 some could not be, or bad input.")
    who.add_argument("account", metavar="ACCOUNT", help=account_help)
    who.add_argument("role", metavar="ROLE", help="the role's name or ARN")
    who.add_argument("--context", action="append", default=[], metavar="KEY=VALUE",
                     help="the attempt's context, such as aws:MultiFactorAuthPresent=true or sts:ExternalId=…")
    who.set_defaults(run=_who_can_assume)

    expand = sub.add_parser("expand", help="list the actions a wildcard covers, with access levels",
                            description="Expand action patterns such as s3:Get* with the action catalog. "
                                        "Exit status: 0, or 2 when a pattern matches nothing.")
    expand.add_argument("pattern", metavar="PATTERN", nargs="+", help="an action pattern, such as s3:Get*")
    expand.set_defaults(run=_expand)
