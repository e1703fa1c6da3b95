#!/usr/bin/env python3
"""Widget benchmarks: the Playground's round trip, from an edit to every output updated.

Usage: python benchmarks/widgets.py [--repeat N]

A round trip is one assignment to a control's ``.value`` (an editor's text, a statement's
checkbox, the request's context) and everything it triggers, synchronously: validation,
the catalog check of the actions, assembling the scenario, :func:`iamkit.evaluate`, and
re-rendering the decision HTML, the hints, the trace table and the flowchart. Widget
messages to a front end are not sent (no kernel), so this is the Python side only.

The flowchart is measured three ways:

- ``text``: ``Playground(draw=False)``: the flowchart's text alternative, no ``dot``;
- ``svg, cold``: the SVG cache is cleared before every edit, so every edit starts ``dot``;
- ``svg, warm``: edits alternate between two versions, so the DOT repeats and the SVG comes
  from the cache (toggling a statement off and on again, undoing an edit).

Policy sets are shaped like the lessons': 3–6 policies, 10–20 statements, an SCP level or
two, a permissions boundary.
"""

from __future__ import annotations

import argparse
import copy
import json
import pathlib
import statistics
import sys
import time
from typing import Any, Callable

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from iamkit.widgets import Playground  # noqa: E402
from iamkit.widgets._render import _svg  # noqa: E402

TARGET_MS = 50.0

ALICE = "arn:aws:iam::111122223333:user/alice"
BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket"


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


MFA_LESSON = {  # 5 policies, 10 statements: own prefix, MFA guard, boundary, two SCP levels
    "id": "mfa-lesson",
    "request": {"principal": ALICE, "action": "s3:GetObject", "resource": f"{BUCKET}/alice/report.csv",
                "context": {"aws:RequestedRegion": "eu-west-1"}},
    "identityPolicies": [
        _policy({"Sid": "OwnPrefix", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                 "Resource": f"{BUCKET}/${{aws:username}}/*"},
                {"Sid": "List", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET,
                 "Condition": {"StringLike": {"s3:prefix": ["${aws:username}/*"]}}},
                {"Sid": "ReadEc2", "Effect": "Allow", "Action": ["ec2:Describe*"], "Resource": "*"}),
        _policy({"Sid": "DenyWithoutMfa", "Effect": "Deny", "NotAction": ["iam:ChangePassword", "sts:GetSessionToken"],
                 "Resource": "*", "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}),
    ],
    "permissionsBoundary": _policy({"Sid": "Boundary", "Effect": "Allow", "Action": ["s3:*", "ec2:*", "iam:ChangePassword"],
                                    "Resource": "*"}),
    "scps": [[_policy({"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"})],
             [_policy({"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"},
                      {"Sid": "RegionLock", "Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*",
                       "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}}})]],
}

GUARDRAILS_LESSON = {  # 6 policies, 18 statements: three identity policies, resource policy, boundary, SCPs
    "id": "guardrails-lesson",
    "request": {"principal": ALICE, "action": "s3:PutObject", "resource": f"{BUCKET}/teams/finance/q3.csv",
                "context": {"aws:PrincipalTag/team": "finance", "aws:RequestedRegion": "eu-west-1",
                            "aws:SecureTransport": "true", "aws:SourceIp": "203.0.113.7"}},
    "identityPolicies": [
        _policy({"Sid": "TeamPrefix", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                 "Resource": f"{BUCKET}/teams/${{aws:PrincipalTag/team}}/*"},
                {"Sid": "ListTeam", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET,
                 "Condition": {"StringLike": {"s3:prefix": ["teams/${aws:PrincipalTag/team}/*"]}}},
                {"Sid": "ReadReports", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET}/reports/*"},
                {"Sid": "OfficeOnly", "Effect": "Deny", "Action": "s3:*", "Resource": "*",
                 "Condition": {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24", "198.51.100.0/24"]}}}),
        _policy({"Sid": "Ec2Read", "Effect": "Allow", "Action": ["ec2:Describe*", "ec2:Get*"], "Resource": "*"},
                {"Sid": "StartOwn", "Effect": "Allow", "Action": ["ec2:StartInstances", "ec2:StopInstances"],
                 "Resource": "arn:aws:ec2:*:111122223333:instance/*",
                 "Condition": {"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}}}),
        _policy({"Sid": "ChangeOwnPassword", "Effect": "Allow", "Action": "iam:ChangePassword",
                 "Resource": "arn:aws:iam::111122223333:user/${aws:username}"},
                {"Sid": "DenyIamWrites", "Effect": "Deny", "Action": ["iam:Create*", "iam:Delete*", "iam:Put*"],
                 "Resource": "*"}),
    ],
    "resourcePolicy": _policy(
        {"Sid": "DenyInsecure", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [BUCKET, f"{BUCKET}/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "FinanceWrites", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
         "Action": "s3:PutObject", "Resource": f"{BUCKET}/teams/finance/*",
         "Condition": {"StringEquals": {"aws:PrincipalTag/team": "finance"}}}),
    "permissionsBoundary": _policy(
        {"Sid": "BoundaryS3", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Sid": "BoundaryEc2", "Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
        {"Sid": "BoundaryPassword", "Effect": "Allow", "Action": "iam:ChangePassword", "Resource": "*"}),
    "scps": [[_policy({"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"},
                      {"Sid": "NoLeavingOrg", "Effect": "Deny", "Action": "organizations:LeaveOrganization",
                       "Resource": "*"},
                      {"Sid": "RegionLock", "Effect": "Deny", "NotAction": ["iam:*", "sts:*", "organizations:*"],
                       "Resource": "*",
                       "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}}})]],
}

LESSONS = {"mfa (5 policies, 10 statements)": MFA_LESSON, "guardrails (6 policies, 18 statements)": GUARDRAILS_LESSON}


def _variants(document: dict[str, Any]) -> tuple[str, str]:
    """Two valid texts of a policy that lead to different decisions (its first statement's
    effect flipped), as a learner's edit and its undo."""
    flipped = copy.deepcopy(document)
    first = flipped["Statement"][0]
    first["Effect"] = "Deny" if first["Effect"] == "Allow" else "Allow"
    return json.dumps(document, indent=2), json.dumps(flipped, indent=2)


def _times(step: Callable[[int], None], repeat: int, before: Callable[[], None] | None = None) -> list[float]:
    step(0)  # warm up: templates, catalog services, first dot
    out = []
    for i in range(1, repeat + 1):
        if before is not None:
            before()
        start = time.perf_counter()
        step(i)
        out.append((time.perf_counter() - start) * 1000)
    return out


def _report(label: str, times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    median = statistics.median(times)
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    flag = "ok" if p95 < TARGET_MS else "over target"
    print(f"  {label:<34} median {median:6.1f} ms   p95 {p95:6.1f} ms   ({flag})")
    return median, p95


def _edit(editor: Any, texts: tuple[str, str]) -> Callable[[int], None]:
    def step(i: int) -> None:
        editor.value = texts[i % 2]

    return step


def _toggle(pg: Playground) -> Callable[[int], None]:
    def step(i: int) -> None:
        pg.toggle("identity", 0, 0, not i % 2)

    return step


def _context(pg: Playground) -> Callable[[int], None]:
    def step(i: int) -> None:
        pg.request.context.value = f"aws:RequestedRegion=eu-west-{1 + i % 2}\naws:SourceIp=203.0.113.{i % 250}"

    return step


def run(repeat: int) -> dict[str, tuple[float, float]]:
    results: dict[str, tuple[float, float]] = {}
    for name, scenario in LESSONS.items():
        print(f"{name}:")
        original, flipped = _variants(scenario["identityPolicies"][0])
        for mode, draw, clear in (("text", False, False), ("svg, cold", True, True), ("svg, warm", True, False)):
            pg = Playground(scenario, draw=draw)
            editor = pg.editor_for("identity", 0)
            before = _svg.cache_clear if clear else None
            times = _times(_edit(editor, (original, flipped)), repeat, before)
            assert pg.last_error is None and editor.valid, pg.status.value
            results[f"{name} edit {mode}"] = _report(f"edit a policy, flowchart {mode}", times)
            times = _times(_toggle(pg), repeat, before)
            results[f"{name} toggle {mode}"] = _report(f"toggle a statement, flowchart {mode}", times)

        pg = Playground(scenario, draw=False)
        results[f"{name} context text"] = _report("edit the context, flowchart text", _times(_context(pg), repeat))
        # An invalid edit, then its undo: validation only, the last good Decision stays.
        pg = Playground(scenario, draw=False)
        broken = '{"Version": "2012-10-17", "Statement": ['
        times = _times(_edit(pg.editor_for("identity", 0), (original, broken)), repeat)
        results[f"{name} invalid"] = _report("invalid edit, then undo it", times)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=60, help="round trips per measurement (default 60)")
    args = parser.parse_args()
    print(f"Playground round trip (target: p95 under {TARGET_MS:.0f} ms), {args.repeat} edits each")
    run(args.repeat)


if __name__ == "__main__":
    main()
