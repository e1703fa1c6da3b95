#!/usr/bin/env python3
"""Where a batch scenario's time goes, phase by phase, in this process.

Usage: python benchmarks/phases.py [--corpus FILE] [--repeat N] [--top N] [--cold]

Runs the corpus through the same steps as one ``simulate --jsonl`` line (iamkit.cli.simulate's
``result_line``), timing each phase separately (CPU time, best of N): reading the JSON text
(strict decode and its checks), building the scenario (validation and the parsed policies),
answering (``verdict``: matching, conditions, the flowchart, tracing only the statements that
apply, as the batch line does) and writing the result line; and, for comparison, the full
``evaluate`` (the trace of every statement, the steps, the notes) that ``--json`` and the views use.
The phases run warm (best of N, the matchers compiled by the first run); ``--cold`` also times
one line after another on the first pass, as a batch run meets them. With ``--top``, cProfile's
most expensive functions for the whole line.
Process start and worker pickling are not in here: ``benchmarks/engine.py`` times the command.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pathlib
import pstats
import subprocess
import sys
import time
from typing import Any, Callable

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from iamkit import evaluate, load_scenario  # noqa: E402
from iamkit.cli.simulate import result_line, result_text  # noqa: E402
from iamkit.engine.evaluator import verdict  # noqa: E402
from iamkit.engine.reading import load_json  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "reference-dev.jsonl"


def best(repeat: int, run: Callable[[], Any]) -> float:
    """The least CPU time of ``repeat`` runs, with the garbage collector tuned as ``batch()`` tunes it."""
    gc.collect()
    gc.freeze()
    threshold = gc.get_threshold()
    gc.set_threshold(50_000, 20, 100)
    try:
        return min(_timed(run) for _ in range(repeat))
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _timed(run: Callable[[], Any]) -> float:
    start = time.process_time()
    run()
    return time.process_time() - start


def cold_pass(lines: list[str]) -> None:
    """Each phase's CPU time over one first pass, line after line, as a fresh batch process meets them."""
    clock = time.process_time
    spent = [0.0] * 4
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    for line in lines:
        start = clock()
        document, _ = load_json(line)
        read = clock()
        scenario = load_scenario(document)
        built = clock()
        answer = verdict(scenario)
        answered = clock()
        result_text(answer)
        written = clock()
        for i, seconds in enumerate((read - start, built - read, answered - built, written - answered)):
            spent[i] += seconds
    names = ("read", "build", "answer", "write")
    print("cold, first pass in a fresh process: " + ", ".join(
        f"{name} {seconds / len(lines) * 1e6:.0f} us" for name, seconds in zip(names, spent, strict=True))
        + f", one line {sum(spent) / len(lines) * 1e6:.0f} us")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=pathlib.Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--top", type=int, default=0, help="also print cProfile's N most expensive functions")
    parser.add_argument("--cold", action="store_true", help="also time the first pass in a fresh process")
    parser.add_argument("--cold-pass", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.corpus.exists():
        print(f"no corpus at {args.corpus}")
        return 2
    lines = [json.dumps({k: v for k, v in json.loads(line).items() if k != "expected"})
             for line in args.corpus.read_text().splitlines() if line.strip()]
    if args.cold_pass:
        cold_pass(lines)
        return 0
    documents = [load_json(line)[0] for line in lines]
    scenarios = [load_scenario(d) for d in documents]
    answers = [verdict(s) for s in scenarios]

    def encode() -> None:
        for v in answers:
            result_text(v)

    phases = {
        "read JSON (strict decode, checks)": lambda: [load_json(line) for line in lines],
        "build scenario (validate, policies)": lambda: [load_scenario(d) for d in documents],
        "answer (verdict, as the batch line)": lambda: [verdict(s) for s in scenarios],
        "write the result line": encode,
    }
    whole = best(args.repeat, lambda: [result_line(i, line) for i, line in enumerate(lines)])
    print(f"{len(lines)} scenarios, CPU time per scenario (best of {args.repeat}):")
    total = 0.0
    for name, run in phases.items():
        seconds = best(args.repeat, run)
        total += seconds
        print(f"  {name:<38} {seconds / len(lines) * 1e6:7.1f} us  {seconds / whole:5.0%}")
    print(f"  {'sum of the phases':<38} {total / len(lines) * 1e6:7.1f} us")
    print(f"  {'one whole result line':<38} {whole / len(lines) * 1e6:7.1f} us  ({len(lines) / whole:,.0f}/s on one core)")
    full = best(args.repeat, lambda: [evaluate(s) for s in scenarios])
    print(f"  {'(full evaluate: trace, steps, notes)':<38} {full / len(lines) * 1e6:7.1f} us")
    if args.cold:
        subprocess.run([sys.executable, __file__, "--corpus", str(args.corpus), "--cold-pass"], check=True)
    if args.top:
        profile = cProfile.Profile()
        profile.runcall(lambda: [result_line(i, line) for i, line in enumerate(lines)])
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.top)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
