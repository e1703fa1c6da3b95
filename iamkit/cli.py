"""The ``iamkit`` command line.

Exit status: 0 allowed / valid / every batch line evaluated; 1 the request was denied;
2 bad input (a malformed file, scenario or policy, or batch lines that failed).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import multiprocessing
import os
import sys
from typing import IO, Any, Sequence

from . import __version__
from .decision import reason
from .errors import IamkitError, PolicyError, Problem, ScenarioError
from .evaluate import evaluate
from .policy import PolicyKind, validate_policy
from .scenario import load_scenario

__all__ = ["main"]

EXIT_OK = 0
EXIT_DENIED = 1
EXIT_BAD_INPUT = 2


class _UsageError(IamkitError):
    pass


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise _UsageError(f"cannot read `{path}`: {exc.strerror.lower() if exc.strerror else exc}") from None
    except UnicodeDecodeError:
        raise _UsageError(f"`{path}` is not UTF-8 text") from None


def _located(name: str, problem: Problem) -> str:
    where = name
    if problem.line is not None:
        where += f":{problem.line}:{problem.column}"
    text = f"{where}: {problem.severity}: {problem.path}: {problem.message}"
    return text + (f" — hint: {problem.hint}" if problem.hint else "")


def _result_line(number: int, line: str) -> tuple[str, bool]:
    """Evaluate one JSON line; returns the output line and whether it failed."""
    scenario_id = None
    try:
        data = json.loads(line)
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            scenario_id = data["id"]
        decision = evaluate(load_scenario(data))
    except json.JSONDecodeError as exc:
        error = f"line {number}, column {exc.colno}: not valid JSON: {exc.msg.lower()}"
        return json.dumps({"id": None, "decision": None, "reasons": [], "error": error}), True
    except ScenarioError as exc:
        error = f"line {number}: " + "; ".join(str(p) for p in exc.problems)
        return json.dumps({"id": scenario_id, "decision": None, "reasons": [], "error": error,
                           "problems": [p.to_dict() for p in exc.problems]}), True
    return json.dumps({
        "id": decision.scenario_id,
        "decision": decision.outcome.value,
        "reasons": [reason(t) for t in decision.determining],
        "blockedBy": None if decision.blocked_by is None else decision.blocked_by.value,
        "missingContextKeys": list(decision.missing_context_keys),
        "error": None,
    }), False


_BLOCK: list[tuple[int, str]] = []  # the block being evaluated, inherited by forked workers
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

    Blank lines are skipped. A line that fails yields ``"decision": null`` and an error
    naming the line and the JSON path; the run continues. With ``jobs`` > 1 (default: one
    per CPU) large inputs are evaluated in forked worker processes, in order.

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
    jobs = jobs or os.cpu_count() or 1
    parallel = jobs > 1 and "fork" in multiprocessing.get_all_start_methods() and not stdin.isatty()
    failed = 0
    numbered = ((n, line) for n, line in enumerate(stdin, 1) if line.strip())
    while True:
        _BLOCK = list(itertools.islice(numbered, 1 if not parallel else _BLOCK_LINES))
        if not _BLOCK:
            break
        if parallel and len(_BLOCK) >= 4 * _CHUNK:
            chunks = [(i, i + _CHUNK) for i in range(0, len(_BLOCK), _CHUNK)]
            with multiprocessing.get_context("fork").Pool(jobs) as pool:
                for text, bad in pool.imap(_evaluate_chunk, chunks):
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
                with open(args.file, encoding="utf-8") as f:
                    return batch(f, sys.stdout, args.jobs)
            except OSError as exc:
                raise _UsageError(f"cannot read `{args.file}`: {exc.strerror}") from None
        return batch(sys.stdin, sys.stdout, args.jobs)
    text = _read(args.file)
    try:
        decision = evaluate(load_scenario(text))
    except ScenarioError as exc:
        name = "<stdin>" if args.file == "-" else args.file
        for problem in exc.problems:
            print(_located(name, problem), file=sys.stderr)
        return EXIT_BAD_INPUT
    print(decision.to_json() if args.json else decision.explain())
    return EXIT_OK if decision.allowed else EXIT_DENIED


def _validate(args: argparse.Namespace) -> int:
    text = _read(args.file)
    name = "<stdin>" if args.file == "-" else args.file
    try:
        document: Any = json.loads(text)
    except json.JSONDecodeError:
        document = None
    if isinstance(document, dict) and "request" in document and args.kind is None:
        try:
            load_scenario(document)
        except ScenarioError as exc:
            for problem in exc.problems:
                print(_located(name, problem), file=sys.stderr)
            return EXIT_BAD_INPUT
        print(f"{name}: a valid scenario")
        return EXIT_OK
    kind = PolicyKind(args.kind or "identity")
    problems = validate_policy(text, kind)
    for problem in problems:
        print(_located(name, problem), file=sys.stderr)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        return EXIT_BAD_INPUT
    warned = f" ({len(problems)} warning{'s' if len(problems) != 1 else ''})" if problems else ""
    print(f"{name}: a valid {kind.label}{warned}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``iamkit`` command."""
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
                     help="with --jsonl: worker processes for large inputs (default: one per CPU; 1 = none)")
    sim.set_defaults(run=_simulate)

    val = sub.add_parser("validate", help="report every problem in a policy or scenario",
                         description="Validate a policy (or a scenario) and print located problems. "
                                     "Exit status: 0 valid, 2 problems found.")
    val.add_argument("file", metavar="FILE", help="policy or scenario JSON file, or - for standard input")
    val.add_argument("--kind", choices=[k.value for k in PolicyKind],
                     help="where the policy is attached (default: identity)")
    val.set_defaults(run=_validate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (_UsageError, PolicyError) as exc:
        print(f"iamkit: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
