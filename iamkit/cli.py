"""The ``iamkit`` command line.

Exit status: 0 allowed / valid / every batch line evaluated; 1 the request was denied;
2 bad input (a malformed file, scenario or policy, or batch lines that failed).
"""

from __future__ import annotations

import argparse
import gc
import io
import itertools
import json
import os
import sys
from dataclasses import replace
from typing import IO, Any, Iterator, Sequence

from . import __version__
from .batch import in_workers
from .decision import Decision, Verdict, reason
from .errors import (
    EXIT_BAD_INPUT,
    EXIT_DENIED,
    EXIT_OK,
    IamkitError,
    InputError,
    PolicyError,
    Problem,
    ScenarioError,
    format_path,
    printable,
)
from .evaluate import evaluate, verdict
from .jsonpos import Positions
from .policy import PolicyKind, validate_policy
from .reading import MAX_DOCUMENT_BYTES, aws_size_problem, load_json, read_text
from .scenario import load_scenario

__all__ = ["main"]



class _UsageError(IamkitError):
    pass


class _BadInput(IamkitError):
    """Located problems of one input, printed as ``name:line:column: error: …``."""

    def __init__(self, name: str, problems: Sequence[Problem]):
        self.name = name
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in problems))


def _name(path: str) -> str:
    return "<stdin>" if path == "-" else path


def _read(path: str) -> str:
    try:
        return read_text(path)
    except InputError as exc:
        problem = exc.problems[0]
        if problem.line is None:  # the file as a whole: it names itself
            raise _UsageError(problem.message + (f" — hint: {problem.hint}" if problem.hint else "")) from None
        raise _BadInput(_name(path), exc.problems) from None


def _document(path: str, text: str | None = None) -> tuple[Any, Positions]:
    """The strict JSON of a file (or of ``text`` read from it), and where its values are."""
    try:
        return load_json(_read(path) if text is None else text)
    except InputError as exc:
        raise _BadInput(_name(path), exc.problems) from None


def _with_lines(problems: Sequence[Problem], positions: Positions) -> list[Problem]:
    """``problems`` located by line and column in the text their paths point into."""
    by_path = {format_path(path): where for path, where in positions.values.items()}
    return [p if p.line is not None or p.path not in by_path else replace(p, line=by_path[p.path][0],
                                                                          column=by_path[p.path][1])
            for p in problems]


def _say(text: str, *, err: bool = False) -> None:
    """Print text for a person, control characters escaped (see :func:`~iamkit.errors.printable`)."""
    print(printable(text), file=sys.stderr if err else sys.stdout)


def _error_line(error: str, problems: Sequence[Problem] = (), scenario_id: str | None = None) -> str:
    result: dict[str, Any] = {"id": scenario_id, "decision": None, "reasons": [], "error": error}
    if problems:
        result["problems"] = [p.to_dict() for p in problems]
    return json.dumps(result)


def _result_line(number: int, line: str | None) -> tuple[str, bool]:
    """Evaluate one JSON line (None: a line too long to read); returns the output line and whether it failed."""
    if line is None:
        return _error_line(f"line {number}: longer than {MAX_DOCUMENT_BYTES:,} characters, the most iamkit reads"), True
    try:
        line.encode("utf-8")
    except UnicodeEncodeError as exc:
        return _error_line(f"line {number}, column {exc.start + 1}: not UTF-8 text"), True
    scenario_id = None
    try:
        data, _ = load_json(line)
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            scenario_id = data["id"]
        answer = verdict(load_scenario(data))  # the Decision's answer, without the trace a line does not show
    except InputError as exc:
        problem = exc.problems[0]
        error = f"line {number}, column {problem.column}: {problem.message}" if problem.column else \
            f"line {number}: {problem.message}"
        return _error_line(error, [replace(p, line=number) for p in exc.problems]), True
    except ScenarioError as exc:
        error = f"line {number}: " + "; ".join(str(p) for p in exc.problems)
        return _error_line(error, exc.problems, scenario_id), True
    return json.dumps(result_record(answer)), False


def result_record(decision: Decision | Verdict) -> dict[str, Any]:
    """One batch result line's data (shared/scenario-format.md, "Batch results"), the same from
    a :class:`Decision` and from the :class:`Verdict` of the same request."""
    return {
        "id": decision.scenario_id,
        "decision": decision.outcome.value,
        "reasons": [reason(t) for t in decision.determining],
        "deciding": None if decision.deciding is None else reason(decision.deciding),
        "blockedBy": None if decision.blocked_by is None else decision.blocked_by.value,
        "missingContextKeys": list(decision.missing_context_keys),
        "error": None,
    }


def _lines(stdin: IO[str]) -> Iterator[tuple[int, str | None]]:
    """Numbered non-blank lines, each read up to the bound; a longer one is None, the rest of it skipped."""
    number = 0
    while True:
        line = stdin.readline(MAX_DOCUMENT_BYTES + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_DOCUMENT_BYTES and not line.endswith("\n"):
            while (rest := stdin.readline(MAX_DOCUMENT_BYTES)) and not rest.endswith("\n"):
                pass
            yield number, None
        elif line.strip():
            yield number, line


_BLOCK: list[tuple[int, str | None]] = []  # the block being evaluated, inherited by forked workers
_CHUNK = 128
_BLOCK_LINES = 16384


def _evaluate_chunk(bounds: tuple[int, int]) -> tuple[str, int]:
    out, failed = [], 0
    for number, line in _BLOCK[bounds[0]:bounds[1]]:
        text, bad = _result_line(number, line)
        out.append(text + "\n")
        failed += bad
    return "".join(out), failed


def batch(stdin: IO[str], stdout: IO[str], jobs: int | None = None) -> int:
    """Evaluate scenarios from JSON lines; one result line per input line, in order.

    Blank lines are skipped. A line that fails (not UTF-8, longer than
    :data:`~iamkit.reading.MAX_DOCUMENT_BYTES`, not strict JSON, not a valid scenario)
    yields ``"decision": null`` and an error naming the line and the JSON path; the run
    continues. With ``jobs`` > 1 (default: one per CPU; never more than the CPUs, nor than
    the chunks of 128 lines) large inputs are shared between this process and forked ones
    (see :func:`~iamkit.batch.in_workers`), in order.

    Returns:
        0 when every line was evaluated, 2 when some lines failed.
    """
    global _BLOCK
    # A batch allocates many short-lived objects and few cycles: collect less often.
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        return _batch(stdin, stdout, jobs)
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _batch(stdin: IO[str], stdout: IO[str], jobs: int | None) -> int:
    global _BLOCK
    cpus = os.cpu_count() or 1
    jobs = min(jobs or cpus, cpus)  # more workers than CPUs only add start-up time
    parallel = jobs > 1 and hasattr(os, "fork") and not stdin.isatty()
    failed = 0
    numbered = _lines(stdin)
    while True:
        _BLOCK = list(itertools.islice(numbered, 1 if not parallel else _BLOCK_LINES))
        if not _BLOCK:
            break
        if parallel and len(_BLOCK) >= 4 * _CHUNK:
            chunks = [(i, i + _CHUNK) for i in range(0, len(_BLOCK), _CHUNK)]
            for text, bad in in_workers(_evaluate_chunk, chunks, min(jobs, len(chunks))):
                stdout.write(text)
                failed += bad
        else:
            text, bad = _evaluate_chunk((0, len(_BLOCK)))
            stdout.write(text)
            failed += bad
        stdout.flush()
    _BLOCK = []
    return EXIT_BAD_INPUT if failed else EXIT_OK


def _simulate(args: argparse.Namespace) -> int:
    if args.jsonl:
        if args.file != "-":
            try:
                with open(args.file, encoding="utf-8", errors="surrogateescape") as f:
                    return batch(f, sys.stdout, args.jobs)
            except OSError as exc:
                raise _UsageError(f"cannot read `{args.file}`: {(exc.strerror or str(exc)).lower()}") from None
        stdin = sys.stdin
        if hasattr(stdin, "buffer"):
            stdin = io.TextIOWrapper(stdin.buffer, encoding="utf-8", errors="surrogateescape")
        return batch(stdin, sys.stdout, args.jobs)
    document, positions = _document(args.file)
    try:
        decision = evaluate(load_scenario(document))
    except ScenarioError as exc:
        raise _BadInput(_name(args.file), _with_lines(exc.problems, positions)) from None
    _say(decision.to_json() if args.json else decision.explain())
    return EXIT_OK if decision.allowed else EXIT_DENIED


# IAM's quota for each kind of policy a file can hold; resource and session policies have none of IAM's.
_QUOTAS = {
    PolicyKind.IDENTITY: "managed policy",
    PolicyKind.BOUNDARY: "managed policy",
    PolicyKind.TRUST: "role trust policy",
    PolicyKind.SCP: "service control policy",
    PolicyKind.RCP: "resource control policy",
}


def _validate(args: argparse.Namespace) -> int:
    text = _read(args.file)
    name = _name(args.file)
    document, positions = _document(args.file, text)
    if isinstance(document, dict) and "request" in document and args.kind is None:
        warnings: list[Problem] = []
        try:
            load_scenario(document, warnings=warnings)
        except ScenarioError as exc:
            raise _BadInput(name, _with_lines(exc.problems, positions)) from None
        for problem in _with_lines(warnings, positions):
            _say(problem.located(name), err=True)
        _say(f"{name}: a valid scenario{_warned(warnings)}")
        return EXIT_OK
    kind = PolicyKind(args.kind or "identity")
    problems = validate_policy(text, kind, creating=True)
    too_large = aws_size_problem(document, _QUOTAS[kind]) if kind in _QUOTAS else None
    if too_large is not None:
        problems.append(too_large)
    for problem in problems:
        _say(problem.located(name), err=True)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        return EXIT_BAD_INPUT
    _say(f"{name}: a valid {kind.label}{_warned(problems)}")
    return EXIT_OK


def _warned(problems: Sequence[Problem]) -> str:
    return f" ({len(problems)} warning{'s' if len(problems) != 1 else ''})" if problems else ""


def _context_arguments(pairs: Sequence[str]) -> dict[str, str | list[str]]:
    """``KEY=VALUE`` options as a request context; a key given twice becomes a list."""
    context: dict[str, str | list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise _UsageError(f"`{pair}` is not KEY=VALUE — hint: write `--context aws:MultiFactorAuthPresent=true`")
        if key in context:
            previous = context[key]
            context[key] = (previous if isinstance(previous, list) else [previous]) + [value]
        else:
            context[key] = value
    return context


def _account(source: str) -> Any:
    """An account from an export file, standard input, or the sandbox (see ``load_account``)."""
    from .account import AccountError, load_account

    try:
        return load_account(source)
    except AccountError as exc:
        if exc.problems:
            raise _BadInput(_name(source), exc.problems) from None
        raise _UsageError(str(exc)) from None


def _can(args: argparse.Namespace) -> int:
    from .account import AccountError

    account = _account(args.account)
    try:
        decision = account.evaluate(args.principal, args.action, args.resource,
                                    context=_context_arguments(args.context))
    except (AccountError, ScenarioError) as exc:
        raise _UsageError(str(exc)) from None
    _say(decision.to_json() if args.json else decision.explain())
    return EXIT_OK if decision.allowed else EXIT_DENIED


def _permissions(args: argparse.Namespace) -> int:
    from .account import AccountError
    from .catalog import CatalogError, effective_permissions

    account = _account(args.account)
    try:
        scenario = account.scenario(args.principal, "sts:GetCallerIdentity", args.resource,
                                    context=_context_arguments(args.context))
        result = effective_permissions(scenario, resource=args.resource, service=args.service)
    except (AccountError, ScenarioError, CatalogError) as exc:
        raise _UsageError(str(exc)) from None
    rows = [r for r in result.rows if args.all or r.allowed]
    width = max((len(r.action) for r in rows), default=10)
    for r in rows:
        decided = f"{r.deciding_statement} ({r.where})" if r.deciding_statement else ""
        _say(f"{r.action:<{width}}  {r.access_level:<22}  {r.decision:<12}  {decided}")
    allowed = sum(r.allowed for r in result.rows)
    _say(f"{allowed} of {len(result.rows)} actions allowed for {result.principal} on {result.resource}", err=True)
    return EXIT_OK


def _who_can_assume(args: argparse.Namespace) -> int:
    from .account import AccountError

    account = _account(args.account)
    try:
        results = account.who_can_assume(args.role, context=_context_arguments(args.context), allowed_only=False)
    except AccountError as exc:
        raise _UsageError(str(exc)) from None
    for who, decision in results:
        mark = "✔" if decision.allowed else "✖"
        _say(f"{mark} {who}: {decision.summary()}")
    return EXIT_OK


def _expand(args: argparse.Namespace) -> int:
    from .catalog import CatalogError, catalog

    try:
        found = catalog()
    except CatalogError as exc:
        raise _UsageError(str(exc)) from None
    status = EXIT_OK
    for pattern in args.pattern:
        actions = found.expand(pattern)
        if not actions:
            hint = found.suggest(pattern)
            _say(f"iamkit: `{pattern}` matches no action" + (f" — hint: {hint}" if hint else ""), err=True)
            status = EXIT_BAD_INPUT
        for name in actions:
            _say(f"{name:<60}  {found.access_level(name)}")
    return status


def _add_account_commands(sub: Any) -> None:
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
                                     "and every service or account its trust policy names.")
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


_CORE_COMMANDS = ("simulate", "validate", "--version")  # these need only the core parser


def build_parser(*, core_only: bool = False) -> argparse.ArgumentParser:
    """The argument parser of the ``iamkit`` command.

    Args:
        core_only: only the engine's commands (``simulate``, ``validate``), so a batch run
            does not pay for importing the account, audit and sandbox modules.
    """
    parser = argparse.ArgumentParser(
        prog="iamkit",
        description="Explain AWS IAM policy decisions, validate policies, and run scenarios.",
    )
    parser.add_argument("--version", action="version", version=f"iamkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sim = sub.add_parser("simulate", help="evaluate a scenario and explain the decision",
                         description="Evaluate a scenario file (or JSON lines with --jsonl). "
                                     "Exit status: 0 allowed, 1 denied, 2 bad input.")
    sim.add_argument("file", metavar="FILE", help="scenario JSON file, or - for standard input")
    mode = sim.add_mutually_exclusive_group()
    mode.add_argument("--jsonl", action="store_true",
                      help="batch mode: one scenario per line in, one result per line out")
    mode.add_argument("--json", action="store_true", help="print the whole decision as JSON")
    sim.add_argument("--jobs", type=int, default=None, metavar="N",
                     help="with --jsonl: worker processes for large inputs (default and most: one per CPU; 1 = none)")
    sim.set_defaults(run=_simulate)

    val = sub.add_parser("validate", help="report every problem in a policy or scenario",
                         description="Validate a policy (or a scenario) and print located problems. "
                                     "Exit status: 0 valid, 2 problems found.")
    val.add_argument("file", metavar="FILE", help="policy or scenario JSON file, or - for standard input")
    val.add_argument("--kind", choices=[k.value for k in PolicyKind],
                     help="where the policy is attached (default: identity)")
    val.set_defaults(run=_validate)
    if core_only:
        return parser

    _add_account_commands(sub)
    from .audit import register_cli as register_audit
    from .least_privilege import register_cli as register_least_privilege
    from .lint import register_cli as register_lint
    from .sandbox import register_cli as register_sandbox

    register_audit(sub)
    register_least_privilege(sub)
    register_lint(sub)
    register_sandbox(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(core_only=bool(argv) and argv[0] in _CORE_COMMANDS)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except _BadInput as exc:
        for problem in exc.problems:
            _say(problem.located(exc.name), err=True)
        return EXIT_BAD_INPUT
    except (_UsageError, PolicyError) as exc:
        _say(f"iamkit: {exc}", err=True)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
