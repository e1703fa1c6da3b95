"""The batch's worker processes: every item's result, in order, whatever the children do."""

from __future__ import annotations

import functools
import io
import json
import os
import time
from fractions import Fraction

import pytest

from iamkit.cli import simulate as cli
from iamkit.cli._workers import in_workers

PARENT = os.getpid()

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="this platform cannot fork")


def logged_square(log: str, n: int) -> tuple[int, int]:
    time.sleep(0.002)  # long enough that the children start while chunks are left
    with open(log, "a") as f:  # one short append per call: whole lines, from any process
        f.write(f"{n}\n")
    return n * n, os.getpid()


def test_results_come_in_order_each_computed_once_by_all_processes(tmp_path) -> None:
    log = str(tmp_path / "calls.txt")
    results = list(in_workers(functools.partial(logged_square, log), list(range(60)), 3))
    assert [r for r, _ in results] == [n * n for n in range(60)]
    assert sorted(int(n) for n in open(log).read().split()) == list(range(60))  # each exactly once
    assert PARENT in {pid for _, pid in results} and len({pid for _, pid in results}) > 1


def test_one_worker_or_one_item_forks_nothing() -> None:
    for items, workers in ((list(range(5)), 1), ([7], 4), ([], 3)):
        results = list(in_workers(square_and_pid, items, workers))
        assert results == [(n * n, PARENT) for n in items]


def test_more_items_than_the_queue_holds_are_refused() -> None:
    with pytest.raises(ValueError, match="at most 1,024 items"):
        list(in_workers(square_and_pid, list(range(1025)), 2))


def square_and_pid(n: int) -> tuple[int, int]:
    return n * n, os.getpid()


def fails_in_a_child(n: int) -> tuple[int, int]:
    if os.getpid() != PARENT:
        raise RuntimeError("a bug that only shows in a worker")
    return n * n, os.getpid()


def dies_in_a_child(n: int) -> tuple[int, int]:
    if os.getpid() != PARENT:
        os._exit(3)
    return n * n, os.getpid()


@pytest.mark.parametrize("run", [fails_in_a_child, dies_in_a_child])
def test_a_failed_childs_chunks_are_done_again_here(run) -> None:
    results = list(in_workers(run, list(range(40)), 2))
    assert [r for r, _ in results] == [n * n for n in range(40)]
    assert {pid for _, pid in results} == {PARENT}


def a_fraction_and_pid(n: int) -> tuple[Fraction, int]:
    return Fraction(n, 7), os.getpid()


def test_a_result_marshal_cannot_carry_is_computed_here() -> None:
    # Children send their results through marshal (strings, numbers, tuples, lists); anything
    # else fails the child's message, and this process does that child's chunks itself.
    results = list(in_workers(a_fraction_and_pid, list(range(30)), 2))
    assert [r for r, _ in results] == [Fraction(n, 7) for n in range(30)]
    assert {pid for _, pid in results} == {PARENT}


def test_a_batch_run_with_workers_writes_what_one_without_writes(tmp_path) -> None:
    lines = []
    for i in range(cli._PARALLEL_LINES + 3 * cli._CHUNK + 5):
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
