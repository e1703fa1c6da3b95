"""``iamkit simulate``: one scenario explained, or a batch of JSON lines, one result line each.

The batch line's fields are those of ``shared/scenario-format.md`` ("Batch results");
:func:`result_record` makes them from the Decision, and nothing else.
"""

from __future__ import annotations

import argparse
import gc
import io
import itertools
import json
import json.encoder
import os
import sys
from dataclasses import replace
from typing import IO, Any, Iterator, Sequence

from ..engine.decision import Decision, StatementTrace, Verdict, reason
from ..engine.evaluator import evaluate, verdict
from ..engine.reading import MAX_DOCUMENT_BYTES, load_json
from ..engine.scenario import load_scenario
from ..errors import (
    EXIT_BAD_INPUT,
    EXIT_DENIED,
    EXIT_OK,
    BadInput,
    InputError,
    Problem,
    ScenarioError,
    UsageError,
)
from ._common import input_name, read_document, say, with_lines
from ._workers import in_workers

__all__ = ["batch", "register", "result_line", "result_record", "result_text"]


def _error_line(error: str, problems: Sequence[Problem] = (), scenario_id: str | None = None) -> str:
    result: dict[str, Any] = {"id": scenario_id, "decision": None, "reasons": [], "error": error}
    if problems:
        result["problems"] = [p.to_dict() for p in problems]
    return json.dumps(result)


def result_line(number: int, line: str | None) -> tuple[str, bool]:
    """Evaluate one JSON line (None: a line too long to read); returns the output line and whether it failed."""
    if line is None:
        return _error_line(f"line {number}: longer than {MAX_DOCUMENT_BYTES:,} characters, the most iamkit reads"), True
    if not line.isascii():  # bytes that were not UTF-8 were read as lone surrogates
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
    return result_text(answer), False


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


# result_text writes a line out itself: json.dumps(result_record(...)) and its generic encoder take
# about five times as long, compiled (8 us against 1.4 us: a tenth of a whole line).
_string = json.encoder.encode_basestring_ascii  # a JSON string, as json.dumps writes it; an enum of str is its value


def _string_or_null(value: str | None) -> str:
    return "null" if value is None else _string(value)


def _number_or_null(value: int | None) -> str:
    return "null" if value is None else str(value)


def _reason_text(t: StatementTrace) -> str:
    st = t.statement
    origin = "null" if t.origin is None else json.dumps(t.origin.to_dict())
    return (f'{{"layer": {_string(t.layer)}, "policy": {t.policy}, "level": {_number_or_null(t.level)}, '
            f'"policyName": {_string_or_null(t.policy_name)}, "origin": {origin}, "statement": {_string(st.path)}, '
            f'"sid": {_string_or_null(st.sid)}, "effect": {_string(st.effect)}, "line": {_number_or_null(st.line)}, '
            f'"column": {_number_or_null(st.column)}}}')


def result_text(answer: Verdict) -> str:
    """``json.dumps(result_record(answer))``, character for character (tests/test_fast_paths.py holds
    the two equal for every scenario it evaluates), written directly."""
    reasons = ", ".join([_reason_text(t) for t in answer.determining])
    deciding = "null" if answer.deciding is None else _reason_text(answer.deciding)
    blocked_by = "null" if answer.blocked_by is None else _string(answer.blocked_by)
    return (f'{{"id": {_string_or_null(answer.scenario_id)}, "decision": {_string(answer.outcome)}, '
            f'"reasons": [{reasons}], "deciding": {deciding}, "blockedBy": {blocked_by}, '
            f'"missingContextKeys": [{", ".join([_string(k) for k in answer.missing_context_keys])}], "error": null}}')


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
_CHUNK = 32  # lines a worker takes at a time: small, so the workers finish close together
_PARALLEL_LINES = 512  # fewer lines than this are done here: forking would cost more than it saves
_BLOCK_LINES = 16384  # lines read and shared at a time (512 chunks)


def _evaluate_chunk(bounds: tuple[int, int]) -> tuple[str, int]:
    out, failed = [], 0
    for number, line in _BLOCK[bounds[0]:bounds[1]]:
        text, bad = result_line(number, line)
        out.append(text + "\n")
        failed += bad
    return "".join(out), failed


def batch(stdin: IO[str], stdout: IO[str], jobs: int | None = None) -> int:
    """Evaluate scenarios from JSON lines; one result line per input line, in order.

    Blank lines are skipped. A line that fails (not UTF-8, longer than
    :data:`~iamkit.engine.reading.MAX_DOCUMENT_BYTES`, not strict JSON, not a valid scenario)
    yields ``"decision": null`` and an error naming the line and the JSON path; the run
    continues. With ``jobs`` > 1 (default: one per CPU; never more than the CPUs, nor than
    the chunks of 32 lines) inputs of 512 lines or more are shared between this process and
    forked ones, chunk by chunk (see :func:`~iamkit.cli._workers.in_workers`), in order.

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
        if parallel and len(_BLOCK) >= _PARALLEL_LINES:
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
                raise UsageError(f"cannot read `{args.file}`: {(exc.strerror or str(exc)).lower()}") from None
        stdin = sys.stdin
        if hasattr(stdin, "buffer"):
            stdin = io.TextIOWrapper(stdin.buffer, encoding="utf-8", errors="surrogateescape")
        return batch(stdin, sys.stdout, args.jobs)
    document, positions = read_document(args.file)
    try:
        decision = evaluate(load_scenario(document))
    except ScenarioError as exc:
        raise BadInput(input_name(args.file), with_lines(exc.problems, positions)) from None
    say(decision.to_json() if args.json else decision.explain())
    return EXIT_OK if decision.allowed else EXIT_DENIED


def register(sub: Any) -> None:
    """Add ``iamkit simulate FILE [--jsonl | --json] [--jobs N]``."""
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
