"""The command line: readable explanations, the batch format, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import user_scenario
from iamkit.cli import main
from iamkit.errors import EXIT_BAD_INPUT, EXIT_DENIED, EXIT_OK

ALLOW = {"Sid": "ReadReports", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
DENY = {"Sid": "NoReports", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "iamkit", *args], input=stdin, capture_output=True,
                          text=True, timeout=60)


def test_simulate_explains_and_exit_status_tells_allowed_from_denied(tmp_path) -> None:
    allowed = tmp_path / "allowed.json"
    allowed.write_text(json.dumps(user_scenario(ALLOW)))
    denied = tmp_path / "denied.json"
    scenario = user_scenario(ALLOW)
    scenario["identityPolicies"][0]["Statement"].append(DENY)
    denied.write_text(json.dumps(scenario))

    ok = run("simulate", str(allowed))
    assert ok.returncode == EXIT_OK
    assert ok.stdout.startswith("ALLOWED: arn:aws:iam::111122223333:user/alice → s3:GetObject")
    assert "ReadReports" in ok.stdout

    no = run("simulate", str(denied))
    assert no.returncode == EXIT_DENIED
    assert "DENIED (explicit deny)" in no.stdout and "NoReports" in no.stdout

    as_json = run("simulate", "--json", str(denied))
    assert json.loads(as_json.stdout)["decision"] == "explicitDeny"


def test_batch_continues_after_bad_lines_and_reports_where(tmp_path) -> None:
    bad_policy = user_scenario({"Effect": "Allow", "Action": "s3:GetObject"})
    bad_policy["id"] = "no-resource"
    lines = [json.dumps(user_scenario(ALLOW)), "{not json", "", json.dumps(bad_policy), json.dumps(user_scenario(DENY))]
    result = run("simulate", "--jsonl", "-", stdin="\n".join(lines) + "\n")
    assert result.returncode == EXIT_BAD_INPUT
    assert "Traceback" not in result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["decision"] for o in out] == ["allowed", None, None, "explicitDeny"]
    assert out[0]["reasons"][0]["sid"] == "ReadReports" and out[0]["error"] is None
    assert out[1]["error"].startswith("line 2, column 2: not valid JSON")
    assert out[2]["id"] == "no-resource"
    assert out[2]["error"].startswith("line 4: identityPolicies[0].Statement[0]: statement has no `Resource`")


def test_batch_in_worker_processes_keeps_order(tmp_path) -> None:
    scenarios = []
    for i in range(600):
        s = user_scenario(ALLOW if i % 3 else DENY)
        s["id"] = f"s{i}"
        scenarios.append(json.dumps(s))
    result = run("simulate", "--jsonl", "--jobs", "2", "-", stdin="\n".join(scenarios) + "\n")
    assert result.returncode == EXIT_OK
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == [f"s{i}" for i in range(600)]
    assert [o["decision"] for o in out] == ["allowed" if i % 3 else "explicitDeny" for i in range(600)]


def test_validate_prints_located_problems(tmp_path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text('{\n  "Version": "2012-10-17",\n  "Statement": {"Effect": "Alow", "Action": "s3:*", "Resource": "*"}\n}\n')
    result = run("validate", str(policy))
    assert result.returncode == EXIT_BAD_INPUT
    assert f"{policy}:3:27: error: Statement.Effect: `Effect` must be `Allow` or `Deny`, " \
           "not `Alow` — hint: did you mean `Allow`?" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_knows_the_kind(tmp_path) -> None:
    policy = tmp_path / "bucket.json"
    policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": [ALLOW]}))
    assert run("validate", str(policy)).returncode == EXIT_OK
    resource = run("validate", "--kind", "resource", str(policy))
    assert resource.returncode == EXIT_BAD_INPUT and "no `Principal`" in resource.stderr


def test_validate_a_scenario(tmp_path) -> None:
    scenario = tmp_path / "s.json"
    broken = user_scenario(ALLOW)
    broken["request"]["action"] = "s3:Get*"
    scenario.write_text(json.dumps(broken))
    result = run("validate", str(scenario))
    assert result.returncode == EXIT_BAD_INPUT
    assert "request.action: `s3:Get*` is not a concrete action" in result.stderr


@pytest.mark.parametrize("args", [["simulate", "/no/such/file.json"], ["validate", "/no/such/file.json"]])
def test_missing_file_is_bad_input_without_traceback(args, capsys) -> None:
    assert main(args) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("iamkit: cannot read `/no/such/file.json`") and "Traceback" not in err


def test_invalid_scenario_file(tmp_path, capsys) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"request": {"principal": "alice", "action": "s3:GetObject"}}')
    assert main(["simulate", str(path)]) == EXIT_BAD_INPUT
    assert "request.principal: `alice` is not a principal AWS can send" in capsys.readouterr().err


def test_console_script_and_module_agree() -> None:
    assert run("--version").stdout.startswith("iamkit ")


@pytest.mark.parametrize("registered", ["atexit.register(print, 'at exit')",
                                        "weakref.finalize(holder, print, 'at exit')"])
def test_module_exit_still_runs_what_was_registered(registered: str) -> None:
    # `python -m iamkit` skips the interpreter's teardown only when nothing waits for it.
    program = ("import atexit, runpy, sys, weakref\n"
               "class Holder: pass\n"
               "holder = Holder()\n"
               f"keep = {registered}\n"
               "sys.argv = ['iamkit', 'validate', '-']\n"
               "runpy.run_module('iamkit', run_name='__main__')\n")
    done = subprocess.run([sys.executable, "-c", program], input="{}", capture_output=True, text=True, timeout=60)
    assert done.returncode == EXIT_BAD_INPUT
    assert "the policy has no `Statement`" in done.stdout + done.stderr
    assert done.stdout.endswith("at exit\n")


def test_module_exit_flushes_everything_written(tmp_path) -> None:
    # Without the teardown, only the explicit flush writes what the command left buffered.
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(user_scenario(ALLOW)))
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    result = subprocess.run([sys.executable, "-m", "iamkit", "simulate", str(scenario)], capture_output=True,
                            text=True, timeout=60, env=buffered)
    assert result.returncode == EXIT_OK
    assert result.stdout.startswith("ALLOWED: ") and "ReadReports" in result.stdout
