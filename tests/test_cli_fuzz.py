"""Whatever it is given, the command line answers with 0, 1 or 2, and never a traceback.

Hypothesis writes JSON documents in the shapes the commands read (policies, scenarios,
batch lines, account exports, activity logs), then garbles their text: cut, spliced with
brackets, quotes, escapes, control characters and surrogates, or nested deep.
"""

from __future__ import annotations

import contextlib
import io
import json
import pathlib
import tempfile
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import user_scenario
from iamkit.cli import main

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12),
                    st.sampled_from(["Allow", "Deny", "*", "s3:GetObject", "arn:aws:s3:::b/*", "2012-10-17"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=12)

STATEMENT = {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
DOCUMENTS = {
    "policy": {"Version": "2012-10-17", "Statement": [STATEMENT]},
    "scenario": user_scenario(STATEMENT),
    "export": {"UserDetailList": [{"UserName": "alice", "Arn": "arn:aws:iam::111122223333:user/alice",
                                   "UserPolicyList": [{"PolicyName": "p", "PolicyDocument":
                                                       {"Version": "2012-10-17", "Statement": [STATEMENT]}}]}]},
    "log": {"Records": [{"eventSource": "s3.amazonaws.com", "eventName": "GetObject",
                         "userIdentity": {"arn": "arn:aws:iam::111122223333:user/alice"},
                         "requestParameters": {"bucketName": "b", "key": "k"}}]},
}
COMMANDS = {
    "policy": [["validate", "{}"], ["lint", "{}"], ["validate", "--kind", "scp", "{}"]],
    "scenario": [["simulate", "{}"], ["validate", "{}"], ["simulate", "--jsonl", "--jobs", "1", "{}"]],
    "export": [["can", "{}", "alice", "s3:GetObject"], ["who-can-assume", "{}", "App"], ["audit", "{}"]],
    "log": [["least-privilege", "{}"]],
}
SPLICES = st.sampled_from(["{", "}", "[", "]", '"', ",", ":", "\\", "\\u", "\\ud800", "\x1b[2J", "\x00", "\u202e",
                           "\ud800", "NaN", "1" * 5000, "1e999", "[" * 200, "\n", '"Effect": "Deny", '])


@st.composite
def garbled(draw: Any, document: Any) -> str:
    """A document's JSON text, mutated: values replaced, pieces cut or spliced in."""
    data = json.loads(json.dumps(document))
    if draw(st.booleans()):
        target = data
        key = draw(st.sampled_from(sorted(target)))
        while isinstance(target[key], (dict, list)) and target[key] and draw(st.booleans()):
            target = target[key]
            key = draw(st.sampled_from(sorted(target) if isinstance(target, dict) else range(len(target))))
        target[key] = draw(VALUES)
    text = json.dumps(data, indent=draw(st.sampled_from([None, 1])), ensure_ascii=draw(st.booleans()))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(SPLICES) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(1, 8)):]
    return text


def run(args: list[str], text: str) -> tuple[int, str]:
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "input.json"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main([str(path) if a == "{}" else a for a in args])
    return status, out.getvalue() + err.getvalue()


@pytest.mark.timeout(60)
@settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), kind=st.sampled_from(sorted(DOCUMENTS)))
def test_every_garbled_input_gets_an_exit_status_and_no_traceback(data: Any, kind: str) -> None:
    text = data.draw(garbled(DOCUMENTS[kind]))
    args = data.draw(st.sampled_from(COMMANDS[kind]))
    if "--jsonl" in args:
        text = "\n".join([text, json.dumps(DOCUMENTS[kind]), data.draw(garbled(DOCUMENTS[kind]))])
    status, output = run(args, text)
    assert status in (0, 1, 2)
    assert "Traceback" not in output
    assert "\x1b" not in output
