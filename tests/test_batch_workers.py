"""The batch's worker processes: every item's result, in order, whatever the children do."""

from __future__ import annotations

import io
import json
import os
from fractions import Fraction

import pytest

from iamkit.cli import simulate as cli
from iamkit.cli._workers import _shares, in_workers

PARENT = os.getpid()

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="this platform cannot fork")


def test_shares_are_contiguous_even_and_complete() -> None:
    assert _shares(10, 3) == [range(0, 4), range(4, 7), range(7, 10)]
    assert _shares(2, 5) == [range(0, 1), range(1, 2)]
    assert _shares(0, 2) == [range(0, 0)]
    for count in range(0, 40):
        for workers in range(1, 6):
            shares = _shares(count, workers)
            assert [i for s in shares for i in s] == list(range(count))
            assert max(map(len, shares)) - min(map(len, shares)) <= 1


def square_and_pid(n: int) -> tuple[int, int]:
    return n * n, os.getpid()


def test_results_come_in_order_from_this_process_and_the_children() -> None:
    results = list(in_workers(square_and_pid, list(range(50)), 3))
    assert [r for r, _ in results] == [n * n for n in range(50)]
    pids = [pid for _, pid in results]
    assert pids[:17] == [PARENT] * 17 and len(set(pids[17:])) == 2 and PARENT not in pids[17:]


def fails_in_a_child(n: int) -> tuple[int, int]:
    if os.getpid() != PARENT and n == 30:
        raise RuntimeError("a bug that only shows in a worker")
    return n * n, os.getpid()


def dies_in_a_child(n: int) -> tuple[int, int]:
    if os.getpid() != PARENT:
        os._exit(3)
    return n * n, os.getpid()


@pytest.mark.parametrize("run", [fails_in_a_child, dies_in_a_child])
def test_a_failed_childs_share_is_done_again_here(run) -> None:
    results = list(in_workers(run, list(range(40)), 2))
    assert [r for r, _ in results] == [n * n for n in range(40)]
    assert {pid for _, pid in results} == {PARENT}


def a_fraction_and_pid(n: int) -> tuple[Fraction, int]:
    return Fraction(n, 7), os.getpid()


def test_a_result_marshal_cannot_carry_is_computed_here() -> None:
    # Children send their results through marshal (strings, numbers, tuples, lists); anything
    # else fails the child's message, and this process does that share itself.
    results = list(in_workers(a_fraction_and_pid, list(range(30)), 2))
    assert [r for r, _ in results] == [Fraction(n, 7) for n in range(30)]
    assert {pid for _, pid in results} == {PARENT}


def test_a_batch_run_with_workers_writes_what_one_without_writes(tmp_path) -> None:
    lines = []
    for i in range(6 * cli._CHUNK):
        effect = "Allow" if i % 3 else "Deny"
        lines.append(json.dumps({"id": f"s{i}", "request": {"principal": "arn:aws:iam::111122223333:user/alice",
                                                            "action": "s3:GetObject", "resource": f"arn:aws:s3:::b/{i}"},
                                 "identityPolicies": [{"Version": "2012-10-17", "Statement": [
                                     {"Effect": effect, "Action": "s3:*", "Resource": f"arn:aws:s3:::b/{i % 7}*"}]}]}))
    lines[5] = "{not json"
    text = "\n".join(lines) + "\n"

    class Input(io.StringIO):
        def isatty(self) -> bool:
            return False

    outputs = []
    for jobs in (1, 2, 4):
        out = io.StringIO()
        status = cli.batch(Input(text), out, jobs)
        outputs.append((status, out.getvalue()))
    assert outputs[0] == outputs[1] == outputs[2]
    status, written = outputs[0]
    results = [json.loads(line) for line in written.splitlines()]
    assert status == 2 and [r["id"] for r in results if r["id"]] == [f"s{i}" for i in range(len(lines)) if i != 5]
    assert {r["decision"] for r in results} == {"allowed", "explicitDeny", "implicitDeny", None}
