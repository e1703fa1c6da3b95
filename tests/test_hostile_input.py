"""Hostile input: every command reads through one bounded, strict layer (iamkit/reading.py).

Each bad input ends with exit status 2 and a located message
(``file:line:column: error: path: message — hint``), never a traceback, never exit 1.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import socket
import sys
import tracemalloc
from typing import Any

import pytest

from conftest import user_scenario
from iamkit import PolicyError, parse_policy
from iamkit.cli import main
from iamkit.cli import simulate as cli
from iamkit.engine.jsonpos import locate
from iamkit.engine.reading import MAX_DEPTH, MAX_DOCUMENT_BYTES, load_json
from iamkit.errors import EXIT_BAD_INPUT, EXIT_OK, InputError, printable

ALLOW = {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
USER = {"UserName": "alice", "Arn": "arn:aws:iam::111122223333:user/alice"}


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


def write(tmp_path: Any, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


# ── size ─────────────────────────────────────────────────────────────────────────


def test_a_file_larger_than_the_bound_is_refused_by_name(tmp_path, capsys) -> None:
    path = write(tmp_path, "big.json", json.dumps(policy(ALLOW)) + " " * MAX_DOCUMENT_BYTES)
    status, _, err = run(capsys, "validate", path)
    assert status == EXIT_BAD_INPUT
    assert f"`{path}` is larger than {MAX_DOCUMENT_BYTES:,} bytes" in err


@pytest.mark.timeout(60)
@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_an_endless_input_stops_at_the_bound(capsys) -> None:
    status, _, err = run(capsys, "validate", "/dev/zero")
    assert status == EXIT_BAD_INPUT and "`/dev/zero` is larger than" in err


def test_a_gzip_bomb_is_refused_before_it_expands(tmp_path, capsys) -> None:
    path = write(tmp_path, "bomb.json.gz", gzip.compress(b" " * (3 * MAX_DOCUMENT_BYTES), compresslevel=9))
    status, _, err = run(capsys, "validate", path)
    assert status == EXIT_BAD_INPUT and "expands to more than" in err


# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html: managed policies have a quota of
# 6,144 characters, and "IAM does not count white space when calculating the size of a policy against this quota";
# it is among the quotas "You cannot request an increase for". "Role trust policy length": default quota 2048
# characters, maximum quota 4096 characters. `iamkit validate` checks what IAM would create, so a managed policy
# or a trust policy over the maximum is an error; a trust policy over the default alone, a warning.
def test_a_policy_larger_than_iam_accepts_is_an_error(tmp_path, capsys) -> None:
    many = [dict(ALLOW, Sid=f"Read{i}", Resource=f"arn:aws:s3:::bucket-{i}/*") for i in range(120)]
    status, out, err = run(capsys, "validate", write(tmp_path, "p.json", json.dumps(policy(*many), indent=4)))
    assert status == EXIT_BAD_INPUT and out == ""
    assert "error: $: the policy is" in err and "managed policy: 6,144" in err
    assert "split it into several policies" in err


@pytest.mark.parametrize(("accounts", "status", "fragment"), [
    (150, EXIT_OK, "warning: $: the policy is"),    # about 2,600 characters: over the default quota
    (300, EXIT_BAD_INPUT, "error: $: the policy is"),  # about 5,000: over the most it can be raised to
])
def test_a_trust_policy_quota_can_be_raised_to_4096(tmp_path, capsys, accounts: int, status: int, fragment: str) -> None:
    trust = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": [f"{i:012d}" for i in range(accounts)]}}
    got, _, err = run(capsys, "validate", "--kind", "trust", write(tmp_path, "t.json", json.dumps(policy(trust))))
    assert got == status and fragment in err
    assert "a role has one trust policy" in err and "4,096" in err


# ── depth, duplicates, numbers, surrogates ──────────────────────────────────────────


def test_deep_nesting_is_a_located_error_not_a_recursion_error(tmp_path, capsys) -> None:
    text = '{"Statement": ' + "[" * 5000 + "]" * 5000 + "}"
    status, _, err = run(capsys, "validate", write(tmp_path, "deep.json", text))
    assert status == EXIT_BAD_INPUT
    assert err.startswith(f"{tmp_path / 'deep.json'}:1:{14 + MAX_DEPTH}: error: $: the JSON nests more than")  # `{` is level 1


@pytest.mark.parametrize("depth", [MAX_DEPTH, MAX_DEPTH + 1])
def test_the_depth_limit_counts_objects_and_arrays_alike_among_shallow_siblings(depth: int) -> None:
    # Objects and arrays in turn, under a root beside more shallow brackets than the limit: exactly
    # MAX_DEPTH levels are read, one more is refused.
    chain: Any = 1
    for level in range(depth - 1):
        chain = {"k": chain} if level % 2 else [chain]
    text = json.dumps({"wide": [[] for _ in range(MAX_DEPTH)], "deep": chain})
    if depth <= MAX_DEPTH:
        assert load_json(text)[0]["wide"] == [[]] * MAX_DEPTH
    else:
        with pytest.raises(InputError, match=f"nests more than {MAX_DEPTH} levels deep"):
            load_json(text)


def test_a_duplicate_key_is_an_error_naming_both_places(tmp_path, capsys) -> None:
    text = '{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*",\n "Resource": "*", "Effect": "Allow"}]}'
    status, _, err = run(capsys, "validate", write(tmp_path, "dup.json", text))
    assert status == EXIT_BAD_INPUT
    assert ":2:19: error: Statement[0].Effect: duplicate key `Effect`: it is also at line 1, column 42" in err


@pytest.mark.parametrize("value", ["1" * 5000, "NaN", "-Infinity", "1e999"])
def test_numbers_json_cannot_mean_are_located_errors(value, tmp_path, capsys) -> None:
    text = '{"id": "x", "request": {"principal": "arn:aws:iam::111122223333:user/a", "action": "s3:GetObject", ' \
           f'"resource": "*", "context": {{"n": {value}}}}}}}'
    status, _, err = run(capsys, "simulate", write(tmp_path, "n.json", text))
    assert status == EXIT_BAD_INPUT
    assert f"n.json:1:{text.index(value) + 1}: error: request.context.n: " in err


def test_a_lone_surrogate_is_a_located_error(tmp_path, capsys) -> None:
    text = json.dumps(policy(dict(ALLOW, Sid="\ud800")))  # json.dumps writes it as the escape \ud800
    status, _, err = run(capsys, "validate", write(tmp_path, "s.json", text))
    assert status == EXIT_BAD_INPUT and "Statement[0].Sid: the string holds a lone surrogate" in err


def test_load_json_collects_every_problem_under_the_prefix() -> None:
    with pytest.raises(InputError) as caught:
        load_json('{"a": NaN, "a": "\\udfff"}', prefix=("identityPolicies", 0))
    assert [(p.path, p.line, p.column) for p in caught.value.problems] == [
        ("identityPolicies[0].a", 1, 7), ("identityPolicies[0].a", 1, 12), ("identityPolicies[0].a", 1, 17)]


def test_locate_memory_grows_linearly_with_one_long_string() -> None:
    text = '{"Sid": "' + "a" * 2_000_000 + '"}'
    tracemalloc.start()
    try:
        assert locate(text).values[("Sid",)] == (1, 9)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * len(text)


# ── account exports and activity logs ───────────────────────────────────────────────


@pytest.mark.parametrize("export, line, column, message", [
    ({"UserDetailList": 5}, 1, 20, "UserDetailList: `UserDetailList` must be a list, not a number"),
    ({"UserDetailList": [dict(USER, PermissionsBoundary="x")]}, 1, 113,
     "UserDetailList[0].PermissionsBoundary: `PermissionsBoundary` must be an object, not a string"),
])
def test_an_export_of_the_wrong_shape_is_a_located_error(export, line, column, message, tmp_path, capsys) -> None:
    path = write(tmp_path, "export.json", json.dumps(export))
    status, _, err = run(capsys, "can", path, "alice", "s3:GetObject")
    assert status == EXIT_BAD_INPUT and f"{path}:{line}:{column}: error: {message}" in err
    status, _, err = run(capsys, "audit", path)
    assert status == EXIT_BAD_INPUT and f"iamkit: `{path}` line {line}, column {column}: {message}" in err


def test_an_activity_record_with_resources_not_a_list_is_located(tmp_path, capsys) -> None:
    record = {"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "resources": 5,
              "userIdentity": {"arn": "arn:aws:iam::111122223333:user/alice"}}
    path = write(tmp_path, "log.json", json.dumps({"Records": [record]}))
    status, _, err = run(capsys, "least-privilege", path)
    assert status == EXIT_BAD_INPUT
    assert f"{path}:1:14: error: Records[0].resources: `resources` must be a list of objects, not a number" in err


# ── the sandbox endpoint ──────────────────────────────────────────────────────────────


class _Refused:
    def get_paginator(self, name: str) -> Any:
        from botocore.exceptions import EndpointConnectionError

        raise EndpointConnectionError(endpoint_url="http://[::1]:5000/")


@pytest.mark.parametrize("endpoint, reached", [
    ("http://127.0.0.1:1@example.com", False),
    ("http://user@localhost:5000", False),
    ("https://example.com/127.0.0.1", False),
    ("http://127.0.0.1:notaport", False),
    ("http://[::1]:5000", True),
    ("http://127.1.2.3:5000", True),
    ("http://localhost:5000", True),
])
def test_only_loopback_endpoints_are_read_with_the_sandbox_keys(endpoint, reached, monkeypatch, capsys) -> None:
    boto3 = pytest.importorskip("boto3")
    from iamkit.sandbox import _moto as sandbox

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(boto3, "client", lambda *a, **kw: calls.append(kw) or _Refused())
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    status, _, err = run(capsys, "can", "sandbox", "alice", "s3:GetObject")
    assert status == EXIT_BAD_INPUT
    assert ("cannot read the sandbox" in err) is reached and ("no sandbox endpoint" in err) is not reached
    if reached:
        [kwargs] = calls
        assert kwargs["aws_access_key_id"] == sandbox.ACCESS_KEY_ID
        assert kwargs["aws_secret_access_key"] == sandbox.SECRET_ACCESS_KEY
        assert kwargs["aws_session_token"] is None
    else:
        assert calls == []


@pytest.mark.timeout(60)
def test_no_sandbox_listening_is_a_clear_message(monkeypatch, capsys) -> None:
    pytest.importorskip("boto3")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    status, _, err = run(capsys, "can", "sandbox", "alice", "s3:GetObject")
    assert status == EXIT_BAD_INPUT
    assert err.startswith(f"iamkit: cannot read the sandbox at `http://127.0.0.1:{port}`") and "hint:" in err


# ── batches ────────────────────────────────────────────────────────────────────────


BAD_LINES = {3: "[" * 3000 + "]" * 3000, 200: '{"id": 1' + "0" * 5000 + "}", 400: '{"id": "\\ud800"}',
             599: '{"id": "a", "id": "b"}'}


def _batch_file(tmp_path: Any, count: int) -> str:
    good = json.dumps(user_scenario(ALLOW))
    lines = [BAD_LINES.get(n, good) for n in range(1, count + 1)]
    return write(tmp_path, "batch.jsonl", "\n".join(lines) + "\n")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_batch_continues_after_bad_lines_in_order(jobs, tmp_path, capsys) -> None:
    status, out, _ = run(capsys, "simulate", "--jsonl", "--jobs", jobs, _batch_file(tmp_path, 1201))
    results = [json.loads(line) for line in out.splitlines()]
    assert status == EXIT_BAD_INPUT and len(results) == 1201
    failed = [n for n, r in enumerate(results, 1) if r["error"] is not None]
    assert failed == sorted(BAD_LINES)
    assert all(results[n - 1]["error"].startswith(f"line {n}") for n in failed)


def test_a_batch_line_that_is_not_utf8_is_one_failed_result(monkeypatch, capsys) -> None:
    good = json.dumps(user_scenario(ALLOW)).encode()
    stdin = io.TextIOWrapper(io.BytesIO(b"\xff{}\n" + good + b"\n"), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    status, out, _ = run(capsys, "simulate", "--jsonl", "-")
    first, second = (json.loads(line) for line in out.splitlines())
    assert status == EXIT_BAD_INPUT
    assert first["error"] == "line 1, column 1: not UTF-8 text" and second["decision"] == "allowed"


def test_a_batch_line_longer_than_the_bound_is_one_failed_result(tmp_path, monkeypatch, capsys) -> None:
    good = json.dumps(user_scenario(ALLOW))
    monkeypatch.setattr(cli, "MAX_DOCUMENT_BYTES", len(good) + 1)
    path = write(tmp_path, "long.jsonl", "\n".join([good, " " * (5 * len(good)) + good, good]) + "\n")
    status, out, _ = run(capsys, "simulate", "--jsonl", "--jobs", "1", path)
    results = [json.loads(line) for line in out.splitlines()]
    assert status == EXIT_BAD_INPUT and [r["decision"] for r in results] == ["allowed", None, "allowed"]
    assert results[1]["error"].startswith("line 2: longer than")


def test_batch_workers_are_capped_by_chunks_and_cpus(tmp_path, monkeypatch, capsys) -> None:
    sizes: list[int] = []

    def in_workers(run: Any, items: Any, workers: int) -> Any:
        sizes.append(workers)
        return map(run, items)

    monkeypatch.setattr(cli, "in_workers", in_workers)
    chunks = cli._PARALLEL_LINES // cli._CHUNK + 3  # enough lines to share, in this many chunks
    path = _batch_file(tmp_path, chunks * cli._CHUNK)
    monkeypatch.setattr(cli.os, "cpu_count", lambda: 1000)
    run(capsys, "simulate", "--jsonl", "--jobs", "1000", path)
    monkeypatch.setattr(cli.os, "cpu_count", lambda: 2)
    run(capsys, "simulate", "--jsonl", "--jobs", "1000", path)
    assert sizes == [chunks, 2]


# ── what is printed ───────────────────────────────────────────────────────────────────


def test_control_characters_in_user_text_are_escaped_in_every_text_output(tmp_path, capsys) -> None:
    warned = write(tmp_path, "sid.json", json.dumps(policy(dict(ALLOW, Sid="A\x1b[2J\u202eB"))))
    wrong = write(tmp_path, "effect.json", json.dumps(policy(dict(ALLOW, Effect="Al\x1b[2Jlow"))))
    for args, shown in ((["validate", warned], "A\\x1b[2J\\u202eB"), (["lint", wrong], "Al\\x1b[2Jlow"),
                        (["validate", wrong], "Al\\x1b[2Jlow")):
        _, out, err = run(capsys, *args)
        assert "\x1b" not in out + err and "\u202e" not in out + err
        assert shown in err
    assert printable("tab\tand\nnewline stay, \x07 \x9b \ud800 go") == \
        "tab\tand\nnewline stay, \\x07 \\x9b \\ud800 go"


def test_validating_a_scenario_shows_its_policies_warnings(tmp_path, capsys) -> None:
    scenario = user_scenario(dict(ALLOW, Sid="read-reports"))
    status, out, err = run(capsys, "validate", write(tmp_path, "scenario.json", json.dumps(scenario)))
    assert status == EXIT_OK and out.strip().endswith("a valid scenario (1 warning)")
    assert "warning: identityPolicies[0].Statement[0].Sid: `Sid` `read-reports` holds characters" in err


@pytest.mark.parametrize(("text", "fragment"), [
    ('{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*", "Effect": "Allow"}]}',
     "Statement[0].Effect (line 1, column 92): duplicate key `Effect`: it is also at line 1, column 42"),
    ("[" * 2000 + "]" * 2000, "nests more than 100 levels deep"),
    ('{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Sid": "\\ud800"}}',
     "Statement.Sid"),
])
def test_parse_policy_reads_text_through_the_same_layer(text: str, fragment: str) -> None:
    # parse_policy is what the widgets, the simulator API and the lessons call: the Deny/Allow
    # duplicate must not quietly become an Allow there either.
    with pytest.raises(PolicyError) as rejected:
        parse_policy(text)
    assert fragment in str(rejected.value)
