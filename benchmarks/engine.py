#!/usr/bin/env python3
"""Engine benchmarks: batch throughput on the reference corpus, and requests per second
against one prepared policy set.

Usage: python benchmarks/engine.py [--corpus FILE] [--repeat N] [--no-bytecode-cache]

1. Batch, end to end: ``python -m iamkit simulate --jsonl -`` reads the corpus from standard
   input, parses, validates, evaluates and writes one JSON line per scenario; timed from
   process start to exit, with the default worker processes and with ``--jobs 1``.
2. Prepared policy set: one scenario's policies parsed once, then evaluated for many
   requests (principals × actions × resources), as a whole-account analysis does: with
   ``PolicySet.check`` (the answer without the full trace), ``PolicySet.evaluate`` and
   ``evaluate(scenario, request=…)`` (each a full Decision).
3. The reference, when ``node`` and ``npm`` are here: the same corpus through
   ``@cloud-copilot/iam-simulate`` (``benchmarks/reference/``: its exact version in the npm lock,
   installed there with ``npm ci`` on first use, run as its own process, never imported or
   ported), timed the same way, and iamkit's speed as a multiple of it. The batch commands
   take turns, round after round, so a change of load falls on them alike; the multiple is
   given best against best and round by round.
4. Start-up: ``import iamkit``, a batch run's cold start (``simulate --jsonl -`` with no input)
   and the whole command line's (``--help``, every command's module), each less a bare interpreter's.

Where the compiled engine is built (iamkit.native, ``scripts/native``) everything above runs it, and
the batch runs once more in plain Python (``IAMKIT_PURE=1``) beside it.

The commands run the way an installed iamkit runs: with its bytecode cached (in a temporary
``PYTHONPYCACHEPREFIX``, so the worktree gets no ``__pycache__``), even where the environment sets
``PYTHONDONTWRITEBYTECODE``; ``--no-bytecode-cache`` runs them with the environment as it is, every
module compiled at every start.

Where a scenario's time goes inside the process: ``benchmarks/phases.py``.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from iamkit import PolicySet, Request, evaluate, load_scenario, native  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "reference-dev.jsonl"

POLICY_SET = {
    "id": "prepared",
    "request": {"principal": "arn:aws:iam::111122223333:user/alice", "action": "s3:GetObject",
                "resource": "arn:aws:s3:::amzn-s3-demo-bucket/alice/report.csv"},
    "identityPolicies": [
        {"Version": "2012-10-17", "Statement": [
            {"Sid": "OwnPrefix", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
             "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/${aws:username}/*"},
            {"Sid": "List", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::amzn-s3-demo-bucket",
             "Condition": {"StringLike": {"s3:prefix": ["${aws:username}/*"]}}},
            {"Sid": "ReadEc2", "Effect": "Allow", "Action": ["ec2:Describe*"], "Resource": "*"}]},
        {"Version": "2012-10-17", "Statement": [
            {"Sid": "DenyWithoutMfa", "Effect": "Deny", "NotAction": ["iam:ChangePassword", "sts:GetSessionToken"],
             "Resource": "*", "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]},
    ],
    "permissionsBoundary": {"Version": "2012-10-17", "Statement": [
        {"Sid": "Boundary", "Effect": "Allow", "Action": ["s3:*", "ec2:*", "iam:ChangePassword"], "Resource": "*"}]},
    "scps": [[{"Version": "2012-10-17", "Statement": [{"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*",
                                                          "Resource": "*"}]}],
             [{"Version": "2012-10-17", "Statement": [
                 {"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"},
                 {"Sid": "RegionLock", "Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*",
                  "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}}}]}]],
}


REFERENCE = ROOT / "benchmarks" / "reference"
REFERENCE_LABEL = "reference (@cloud-copilot/iam-simulate, its own process)"
ENVIRONMENT = dict(os.environ)


def cache_bytecode() -> None:
    """Run the commands below with iamkit's bytecode cached, as an installed package has it."""
    ENVIRONMENT.pop("PYTHONDONTWRITEBYTECODE", None)
    ENVIRONMENT["PYTHONPYCACHEPREFIX"] = cache = tempfile.mkdtemp(prefix="iamkit-bytecode-")
    atexit.register(shutil.rmtree, cache, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "iamkit", "--help"], check=True, capture_output=True, cwd=ROOT,
                   env=ENVIRONMENT)


def timed_run(command: list[str], payload: str, lines: int, cwd: pathlib.Path = ROOT,
              env: dict[str, str] | None = None) -> float:
    """Seconds from process start to exit; the run must answer every line."""
    start = time.perf_counter()
    done = subprocess.run(command, input=payload, capture_output=True, text=True, cwd=cwd, env=env or ENVIRONMENT)
    seconds = time.perf_counter() - start
    assert done.stdout.count("\n") == lines, done.stderr[-500:]
    return seconds


def reference_command() -> list[str] | None:
    """The reference simulator's command (installed from its npm lock on first use), or None without node."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return None
    if not (REFERENCE / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=REFERENCE, check=True)
    return [node, "simulate.mjs"]


def batch(corpus: pathlib.Path, repeat: int) -> None:
    """The corpus through each command, ``repeat`` rounds; within a round the commands run one
    after another, so a change of load on the machine falls on all of them alike."""
    lines = [json.loads(line) for line in corpus.read_text().splitlines() if line.strip()]
    payload = "".join(json.dumps({k: v for k, v in c.items() if k != "expected"}) + "\n" for c in lines)
    simulate = [sys.executable, "-m", "iamkit", "simulate", "--jsonl"]
    commands = {
        "batch, default workers": ([*simulate, "-"], ROOT, ENVIRONMENT),
        "batch,        --jobs 1": ([*simulate, "--jobs", "1", "-"], ROOT, ENVIRONMENT),
    }
    if native.compiled():
        commands["batch, default workers, plain Python (IAMKIT_PURE=1)"] = ([*simulate, "-"], ROOT,
                                                                            {**ENVIRONMENT, "IAMKIT_PURE": "1"})
    ref = reference_command()
    if ref is None:
        print("reference: skipped, no node and npm here")
    else:
        commands[REFERENCE_LABEL] = (ref, REFERENCE, ENVIRONMENT)
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(repeat):
        for label, (command, cwd, env) in commands.items():
            times[label].append(timed_run(command, payload, len(lines), cwd, env))
    n = len(lines)
    for label, seconds in times.items():
        best, median = min(seconds), statistics.median(seconds)
        print(f"{label}: {n} scenarios, best {best:.3f}s ({n / best:,.0f}/s), median {median:.3f}s ({n / median:,.0f}/s)")
    if ref is not None:
        ours, theirs = times["batch, default workers"], times[REFERENCE_LABEL]
        rounds = sorted(r / o for o, r in zip(ours, theirs, strict=True))
        print(f"iamkit with its default workers against the reference: {min(theirs) / min(ours):.1f}x best against "
              f"best; round by round {', '.join(f'{x:.1f}x' for x in rounds)} (median {statistics.median(rounds):.1f}x)")


def prepared(repeat: int) -> None:
    scenario = load_scenario(POLICY_SET)
    principals = [f"arn:aws:iam::111122223333:user/user{i}" for i in range(100)]
    actions = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "ec2:DescribeInstances", "iam:CreateUser"]
    resources = ["arn:aws:s3:::amzn-s3-demo-bucket/user7/a.txt", "arn:aws:s3:::amzn-s3-demo-bucket", "*"]
    contexts = [{"aws:MultiFactorAuthPresent": "true", "aws:RequestedRegion": "eu-west-1"},
                {"aws:RequestedRegion": "us-east-1"}]
    requests = [Request(p, a, r, None, c) for p in principals for a in actions for r in resources for c in contexts]
    def checked() -> int:  # each pass builds its PolicySet: what one pass remembers does not speed the next
        return sum(v.allowed for v in PolicySet(scenario).check_all(requests))

    def evaluated() -> int:
        policies = PolicySet(scenario)
        return sum(policies.evaluate(r).allowed for r in requests)

    ways = {
        "PolicySet.check (the answer, no full trace)": checked,
        "PolicySet.evaluate (full Decision)": evaluated,
        "evaluate(scenario, request=...) (full Decision)": lambda: sum(evaluate(scenario, request=r).allowed
                                                                       for r in requests),
    }
    for label, run in ways.items():
        rates = []
        allowed = 0
        for _ in range(repeat):
            start = time.perf_counter()
            allowed = run()
            rates.append(len(requests) / (time.perf_counter() - start))
        print(f"prepared policy set, {label}: {len(requests)} requests ({allowed} allowed), "
              f"best {max(rates):,.0f} requests/s, median {statistics.median(rates):,.0f} requests/s")


def startup(repeat: int) -> None:
    def best(*code: str) -> float:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run([sys.executable, *code], check=True, capture_output=True, cwd=ROOT, input="", text=True,
                           env=ENVIRONMENT)
            times.append(time.perf_counter() - start)
        return min(times)

    bare = best("-c", "pass")
    print(f"start-up beyond a bare interpreter ({bare * 1000:.0f} ms): import iamkit "
          f"{(best('-c', 'import iamkit') - bare) * 1000:.0f} ms, a batch run with no input "
          f"(simulate --jsonl -) {(best('-m', 'iamkit', 'simulate', '--jsonl', '-') - bare) * 1000:.0f} ms, "
          f"the whole command line (--help) {(best('-m', 'iamkit', '--help') - bare) * 1000:.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=pathlib.Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="run the commands with the environment as it is (PYTHONDONTWRITEBYTECODE kept)")
    args = parser.parse_args()
    if not args.no_bytecode_cache:
        cache_bytecode()
    print("commands run with " + ("the environment as it is" if args.no_bytecode_cache else
                                  "iamkit's bytecode cached, as an installed package has it"))
    print(f"the engine compiled with mypyc ({native.directory()})" if native.compiled() else
          "the engine in plain Python (IAMKIT_PURE=1, or no build for these sources: scripts/native builds one)")
    if args.corpus.exists():
        batch(args.corpus, args.repeat)
    else:
        print(f"batch: skipped, no corpus at {args.corpus}")
    prepared(args.repeat)
    startup(args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
