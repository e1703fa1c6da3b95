"""Lint: over-broad grants in a policy, located, each with a hint.

- Least privilege: https://docs.aws.amazon.com/wellarchitected/latest/framework/sec_permissions_least_privileges.html

The cases live in ``tests/cases/activity/lint.json``.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest
from test_activity import ACTIVITY
from test_least_privilege import BUCKET, run, use_catalog

import iamkit
import iamkit.analysis.lint as lint
from iamkit.analysis.lint import lint_policy
from iamkit.cli.lint import register as register_cli

LINT = json.loads((ACTIVITY / "lint.json").read_text())


@pytest.mark.parametrize("case", LINT["cases"], ids=[c["name"] for c in LINT["cases"]])
@pytest.mark.parametrize("catalog", ["catalog", "no catalog"])
def test_lint_cases(case: dict[str, Any], catalog: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use_catalog(catalog, monkeypatch, lint)
    findings = lint_policy(case["policy"], kind=case.get("kind", "identity"))
    expected = [tuple(e) for e in case["expect"]]
    if lint.installed_catalog() is None:  # Resource "*" is judged from the catalog's resource types
        expected = [e for e in expected if e[0] != "resource-wildcard"]
    assert [(f.rule, f.severity, f.path) for f in findings] == expected
    for f in findings:
        assert f.rule in lint.RULES and f.message[0].islower() or f.message.startswith("`")
        assert "`" in f.message and f.hint and not f.message.endswith(".")


def test_lint_findings_carry_line_and_column_from_the_text() -> None:
    text = """{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "Everything",
      "Effect": "Allow",
      "Action": ["s3:GetObject", "iam:*"],
      "Resource": "*"
    }
  ]
}"""
    findings = {(f.rule, f.path): f for f in lint_policy(text)}
    iam = findings[("privilege-escalation", "Statement[0].Action[1]")]
    assert (iam.line, iam.column) == (7, 34) and iam.statement == "Everything"
    assert "`iam:*` allows" in iam.message and "privilege escalation" in iam.message
    assert str(iam).startswith("Statement[0].Action[1] (line 7, column 34): high: ")
    assert repr(iam) == "<LintFinding high privilege-escalation at Statement[0].Action[1]>"
    assert iam.to_dict()["rule"] == "privilege-escalation"


def test_lint_of_a_malformed_policy_raises_the_policy_error() -> None:
    with pytest.raises(iamkit.PolicyError):
        lint_policy('{"Version": "2012-10-17", "Statement": {"Effect": "allow", "Action": "s3:*"}}')


# ── the command line ───────────────────────────────────────────────────────────────


def test_cli_lint_exit_status(capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path) -> None:
    broad, narrow, bad = tmp_path / "broad.json", tmp_path / "narrow.json", tmp_path / "bad.json"
    broad.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]}, indent=2))
    narrow.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET}/reports/*"}]}))
    bad.write_text('{"Statement": [{"Effect": "Allow"}]}')
    status, out, _ = run(["lint", str(broad)], capsys, register_cli)
    assert status == 1 and out.startswith(f"{broad}:6:17: high: action-wildcard: Statement[0].Action: ")
    status, out, _ = run(["lint", str(narrow)], capsys, register_cli)
    assert status == 0 and out == f"{narrow}: no over-broad grants found\n"
    status, _, err = run(["lint", str(bad)], capsys, register_cli)
    assert status == 2 and "error: Statement[0]" in err
    bucket = tmp_path / "bucket.json"
    bucket.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"}]}))
    assert run(["lint", str(bucket), "--kind", "resource"], capsys, register_cli)[0] == 1

