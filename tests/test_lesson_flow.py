"""Issue 3's promise end to end: the lessons' commands, typed verbatim against the sandbox,
and then "can alice read the bucket?" answered with the group policy that granted it —
from Python, and from the command line as a learner's terminal would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Iterator

import pytest

from iamkit.account import Account
from iamkit.sandbox import Sandbox, current_sandbox, start_sandbox

BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket"
READ_BUCKET = {"Version": "2012-10-17", "Statement": [
    {"Sid": "ReadTheBucket", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
     "Resource": [BUCKET, f"{BUCKET}/*"]}]}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    started = current_sandbox() is None
    box = start_sandbox()
    box.reset()
    yield box
    if started:
        box.stop()


def aws(*args: str) -> dict:
    """Run the real aws command as `!aws …` in a notebook does (the sandbox's environment)."""
    done = subprocess.run([sys.executable, "-m", "awscli", *args, "--output", "json"], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}


def test_can_alice_read_the_bucket_after_the_lessons_commands(sandbox: Sandbox, tmp_path) -> None:
    policy_file = tmp_path / "read-bucket.json"
    policy_file.write_text(json.dumps(READ_BUCKET))
    aws("iam", "create-user", "--user-name", "alice")
    aws("iam", "create-group", "--group-name", "analysts")
    aws("iam", "add-user-to-group", "--user-name", "alice", "--group-name", "analysts")
    arn = aws("iam", "create-policy", "--policy-name", "ReadTheBucket",
              "--policy-document", f"file://{policy_file}")["Policy"]["Arn"]
    aws("iam", "attach-group-policy", "--group-name", "analysts", "--policy-arn", arn)

    account = Account.from_client(sandbox.client("iam"))
    decision = account.evaluate("alice", "s3:GetObject", f"{BUCKET}/reports/2024.csv")
    assert decision.allowed
    (deciding,) = decision.determining
    assert (deciding.sid, deciding.origin.kind, deciding.origin.attached_to) == ("ReadTheBucket", "managed",
                                                                                 "group/analysts")
    assert not account.evaluate("alice", "s3:PutObject", f"{BUCKET}/reports/2024.csv").allowed

    # The same question from a terminal, with the sandbox's environment exported.
    done = subprocess.run([sys.executable, "-m", "iamkit", "can", "sandbox", "alice", "s3:GetObject",
                           f"{BUCKET}/reports/2024.csv"], capture_output=True, text=True, env=os.environ.copy(),
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "managed policy `ReadTheBucket` attached to group `analysts`" in done.stdout
