#!/usr/bin/env python3
"""Where a batch scenario's time goes, phase by phase, in this process.

Usage: python benchmarks/phases.py [--corpus FILE] [--repeat N] [--top N]

Runs the corpus through the same steps as one ``simulate --jsonl`` line (iamkit.cli.simulate's
``result_line``), timing each phase separately (CPU time, best of N): reading the JSON text
(strict decode and its checks), building the scenario (validation and the parsed policies),
evaluating (matching, conditions, the trace, the flowchart's steps and the layers' verdicts) and
writing the result line. With ``--top``, cProfile's most expensive functions for the whole line.
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
import sys
import time
from typing import Any, Callable

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from iamkit import evaluate, load_scenario  # noqa: E402
from iamkit.cli.simulate import result_line, result_record  # noqa: E402
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=pathlib.Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--top", type=int, default=0, help="also print cProfile's N most expensive functions")
    args = parser.parse_args()
    if not args.corpus.exists():
        print(f"no corpus at {args.corpus}")
        return 2
    lines = [json.dumps({k: v for k, v in json.loads(line).items() if k != "expected"})
             for line in args.corpus.read_text().splitlines() if line.strip()]
    documents = [load_json(line)[0] for line in lines]
    scenarios = [load_scenario(d) for d in documents]
    decisions = [evaluate(s) for s in scenarios]

    def encode() -> None:
        for d in decisions:
            json.dumps(result_record(d))

    phases = {
        "read JSON (strict decode, checks)": lambda: [load_json(line) for line in lines],
        "build scenario (validate, policies)": lambda: [load_scenario(d) for d in documents],
        "evaluate (trace, steps, layers)": lambda: [evaluate(s) for s in scenarios],
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
    if args.top:
        profile = cProfile.Profile()
        profile.runcall(lambda: [result_line(i, line) for i, line in enumerate(lines)])
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.top)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
