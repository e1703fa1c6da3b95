"""``simulate_principal_policy`` on an account export: AWS's parameters and response shape.

Every call goes through :func:`simulate`, which validates the request with botocore's
``ParamValidator`` and the response with the strict shape checker of test_simulator.
The account is ``tests/cases/accounts/examplecorp.json``: alice (group developers:
customer managed ReadReports, inline TeamPrefix), bob (group admins: AWS managed
AdministratorAccess), carol (AdministratorAccess, inline deny NoDeletes, boundary
DeveloperBoundary, group developers) and the roles AppServer and Deploy.
"""

from __future__ import annotations

import inspect
import json
import sys
import types
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator
from test_simulator import allow, policy, shape_errors, span

from conftest import CASES
from iamkit.account import Account
from iamkit.analysis.simulator import SimulationError, policy_text, simulate_principal_policy

OPERATION = botocore.session.get_session().get_service_model("iam").operation_model("SimulatePrincipalPolicy")
ACCOUNT = Account.from_file(CASES / "accounts" / "examplecorp.json")
IAM = "arn:aws:iam::111122223333:"
ALICE, BOB, CAROL = IAM + "user/alice", IAM + "user/bob", IAM + "user/contractors/carol"
DEVELOPERS = IAM + "group/developers"
BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket"
REPORT = BUCKET + "/reports/2024.csv"


def simulate(account: Account = ACCOUNT, **params: Any) -> dict[str, Any]:
    """Validate the request against the model, simulate, validate the response."""
    report = ParamValidator().validate(params, OPERATION.input_shape)
    assert not report.has_errors(), report.generate_report()
    response = simulate_principal_policy(**params, account=account)
    assert shape_errors(response, OPERATION.output_shape) == []
    return response


def result(**params: Any) -> dict[str, Any]:
    (only,) = simulate(**params)["EvaluationResults"]
    return only


def sources(result: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(m["SourcePolicyId"], m.get("SourcePolicyType")) for m in result["MatchedStatements"]]


def rejected(code: str, **params: Any) -> SimulationError:
    with pytest.raises(SimulationError) as caught:
        simulate_principal_policy(**{"account": ACCOUNT, **params})
    assert caught.value.code == code and caught.value.response["Error"]["Code"] == code
    return caught.value


# ── the request shape ───────────────────────────────────────────────────────────


def test_accepts_the_parameters_of_boto3_and_an_account() -> None:
    """boto3's keyword arguments (``PolicyExclusionList`` included), plus ``account``."""
    params = inspect.signature(simulate_principal_policy).parameters
    assert set(params) == set(OPERATION.input_shape.members) | {"account"}
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())
    assert {n for n, p in params.items() if p.default is inspect.Parameter.empty} == set(
        OPERATION.input_shape.required_members)


def test_account_policy_types_are_in_botocore_enum() -> None:
    """The types named for an account's policies are ``PolicySourceType`` values."""
    enum = set(OPERATION.output_shape.members["EvaluationResults"].member.members["MatchedStatements"]
               .member.members["SourcePolicyType"].enum)
    assert {"user", "group", "role", "aws-managed", "user-managed"} <= enum


# ── the entity's own policies ───────────────────────────────────────────────────


def test_user_gets_groups_managed_and_inline_policies() -> None:
    """"If you specify a user, the simulation also includes all policies that are attached
    to any groups the user belongs to" (API_SimulatePrincipalPolicy.html); alice's tag
    team=finance fills TeamPrefix's ``${aws:PrincipalTag/team}``."""
    read = result(PolicySourceArn=ALICE, ActionNames=["s3:GetObject"], ResourceArns=[REPORT])
    assert read["EvalDecision"] == "allowed"
    assert sources(read) == [("ReadReports", "user-managed")]
    response = simulate(PolicySourceArn=ALICE, ActionNames=["s3:PutObject", "s3:DeleteObject"],
                        ResourceArns=[BUCKET + "/teams/finance/q3.csv", BUCKET + "/teams/audit/q3.csv"])
    put, delete = response["EvaluationResults"]
    own, other = put["ResourceSpecificResults"]
    assert (own["EvalResourceDecision"], other["EvalResourceDecision"]) == ("allowed", "implicitDeny")
    assert sources(own) == [("TeamPrefix", "group")]
    assert delete["EvalDecision"] == "implicitDeny" and delete["MatchedStatements"] == []
    assert "PermissionsBoundaryDecisionDetail" not in put  # alice has no boundary


def test_aws_managed_policy_through_a_group() -> None:
    admin = result(PolicySourceArn=BOB, ActionNames=["iam:CreateUser"])
    assert admin["EvalDecision"] == "allowed"
    assert sources(admin) == [("AdministratorAccess", "aws-managed")]


def test_inline_deny_on_the_user_is_the_only_match() -> None:
    """An explicit deny overrides AdministratorAccess, and "the deny statement is the only
    entry included in the result" (API_EvaluationResult.html)."""
    deny = result(PolicySourceArn=CAROL, ActionNames=["s3:DeleteObject"])
    assert deny["EvalDecision"] == "explicitDeny"
    assert sources(deny) == [("NoDeletes", "user")]


def test_entitys_permissions_boundary() -> None:
    """carol's boundary DeveloperBoundary allows only s3: AdministratorAccess cannot give her
    IAM (access_policies_boundaries.html); the boundary is named as the managed policy it is."""
    iam, s3 = simulate(PolicySourceArn=CAROL, ActionNames=["iam:CreateUser", "s3:GetObject"],
                       ResourceArns=[REPORT])["EvaluationResults"]
    assert iam["EvalDecision"] == "implicitDeny"
    assert iam["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}
    assert s3["EvalDecision"] == "allowed"
    assert s3["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": True}
    assert sources(s3) == [("AdministratorAccess", "aws-managed"), ("ReadReports", "user-managed"),
                           ("DeveloperBoundary", "user-managed")]


def test_role_policies() -> None:
    deploy = result(PolicySourceArn=IAM + "role/Deploy", ActionNames=["lambda:UpdateFunctionCode"])
    assert deploy["EvalDecision"] == "allowed" and sources(deploy) == [("DeployApps", "role")]
    app = result(PolicySourceArn=IAM + "role/AppServer", ActionNames=["s3:GetObject"], ResourceArns=[REPORT])
    assert app["EvalDecision"] == "allowed" and sources(app) == [("ReadReports", "user-managed")]


def test_group_is_simulated_for_a_member_without_policies_of_its_own() -> None:
    """A group ARN simulates the group's policies; its member has no tags, so TeamPrefix's
    variable is missing until ContextEntries gives it."""
    params = {"PolicySourceArn": DEVELOPERS, "ActionNames": ["s3:GetObject", "s3:PutObject"],
              "ResourceArns": [BUCKET + "/teams/finance/q3.csv"]}
    get, put = simulate(**params)["EvaluationResults"]
    assert get["EvalDecision"] == "implicitDeny"
    assert (put["EvalDecision"], put["MissingContextValues"]) == ("implicitDeny", ["aws:PrincipalTag/team"])
    tag = {"ContextKeyName": "aws:PrincipalTag/team", "ContextKeyValues": ["finance"], "ContextKeyType": "string"}
    put = simulate(**params, ContextEntries=[tag])["EvaluationResults"][1]
    assert put["EvalDecision"] == "allowed" and sources(put) == [("TeamPrefix", "group")]


# ── positions ───────────────────────────────────────────────────────────────────


def test_positions_count_in_policy_text() -> None:
    """Each position points into :func:`policy_text` of the matched policy."""
    (matched,) = result(PolicySourceArn=ALICE, ActionNames=["s3:GetObject"], ResourceArns=[REPORT])[
        "MatchedStatements"]
    (read_reports,) = [p for p in ACCOUNT.identity_policies("alice") if p.name == "ReadReports"]
    text = policy_text(read_reports)
    assert text == json.dumps(read_reports.document, indent=4)
    assert json.loads(span(text, matched).lstrip(",\n ")) == read_reports.document["Statement"][0]


def test_aws_cli_example_positions() -> None:
    """The example of https://docs.aws.amazon.com/cli/latest/reference/iam/simulate-principal-policy.html:
    a four-element statement laid out with four spaces is reported from 3:19 to 9:10."""
    statement = {"Sid": "Grant-Access-To-CodeCommit-ListRepo", "Effect": "Allow",
                 "Action": "codecommit:ListRepositories", "Resource": "*"}
    document = {"Version": "2012-10-17", "Statement": [statement]}
    account = Account.from_authorization_details({"UserDetailList": [{
        "UserName": "alejandro", "Arn": "arn:aws:iam::123456789012:user/alejandro",
        "UserPolicyList": [{"PolicyName": "Grant-Access-To-CodeCommit-ListRepo", "PolicyDocument": document}]}]})
    response = simulate(account, PolicySourceArn="arn:aws:iam::123456789012:user/alejandro",
                        ActionNames=["codecommit:ListRepositories"])
    assert response == {
        "EvaluationResults": [{
            "EvalActionName": "codecommit:ListRepositories",
            "EvalResourceName": "*",
            "EvalDecision": "allowed",
            "MatchedStatements": [{
                "SourcePolicyId": "Grant-Access-To-CodeCommit-ListRepo",
                "SourcePolicyType": "user",
                "StartPosition": {"Line": 3, "Column": 19},
                "EndPosition": {"Line": 9, "Column": 10},
            }],
            "MissingContextValues": [],
        }],
        "IsTruncated": False,
    }


# ── policies given as text ──────────────────────────────────────────────────────


def test_policy_input_list_adds_to_the_entitys_policies() -> None:
    text = policy(allow("ec2:RunInstances"), indent=2)
    params = {"PolicySourceArn": ALICE, "ActionNames": ["ec2:RunInstances", "s3:GetObject"], "ResourceArns": [REPORT]}
    ec2, s3 = simulate(**params, PolicyInputList=[text])["EvaluationResults"]
    assert ec2["EvalDecision"] == "allowed" and s3["EvalDecision"] == "allowed"
    (matched,) = ec2["MatchedStatements"]
    assert (matched["SourcePolicyId"], matched["SourcePolicyType"]) == ("PolicyInputList.1", "IAM Policy")
    assert json.loads(span(text, matched).lstrip("\n ")) == allow("ec2:RunInstances")
    assert simulate(**params)["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"


def test_boundary_input_replaces_the_entitys_boundary() -> None:
    """"If a permissions boundary is attached to an entity and you pass in a different
    permissions boundary policy using this parameter, then the new permissions boundary
    policy is used for the simulation" (API_SimulatePrincipalPolicy.html)."""
    params = {"PolicySourceArn": CAROL, "ActionNames": ["iam:CreateUser", "s3:GetObject"], "ResourceArns": [REPORT]}
    iam, s3 = simulate(**params, PermissionsBoundaryPolicyInputList=[policy(allow("iam:*"))])["EvaluationResults"]
    assert iam["EvalDecision"] == "allowed"
    assert ("PermissionsBoundaryPolicyInputList.1", None) in sources(iam)
    assert s3["EvalDecision"] == "implicitDeny"
    assert s3["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}
    kept = simulate(**params, PermissionsBoundaryPolicyInputList=[])["EvaluationResults"]
    assert [r["EvalDecision"] for r in kept] == ["implicitDeny", "allowed"]  # an empty list keeps carol's


def test_boundary_input_for_an_entity_without_one() -> None:
    capped = result(PolicySourceArn=BOB, ActionNames=["iam:CreateUser"],
                    PermissionsBoundaryPolicyInputList=[policy(allow("s3:*"))])
    assert capped["EvalDecision"] == "implicitDeny"
    assert capped["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}


def test_resource_policy_for_a_user() -> None:
    shared = policy({"Sid": "Share", "Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "s3:DeleteObject",
                     "Resource": BUCKET + "/*"})
    granted = result(PolicySourceArn=ALICE, ActionNames=["s3:DeleteObject"], ResourceArns=[REPORT],
                     ResourcePolicy=shared)
    assert granted["EvalDecision"] == "allowed"
    assert sources(granted) == [("ResourcePolicy", "Resource Policy")]


def test_resource_policy_needs_a_caller_unless_the_source_is_a_user() -> None:
    """"CallerArn is required if you include a ResourcePolicy and the PolicySourceArn is not
    the ARN for an IAM user" (the API reference before groups and roles were added to CallerArn)."""
    error = rejected("InvalidInput", PolicySourceArn=IAM + "role/Deploy", ActionNames=["s3:GetObject"],
                     ResourcePolicy=policy({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}))
    assert error.problems[0].path == "CallerArn"


# ── caller and context ──────────────────────────────────────────────────────────


def test_caller_brings_its_own_context() -> None:
    """"You simulate calling the API operations as Bob, as if Bob had David's policies":
    alice's TeamPrefix, called by bob (no team tag), finds no ``aws:PrincipalTag/team``."""
    params = {"PolicySourceArn": ALICE, "ActionNames": ["s3:PutObject"], "ResourceArns": [BUCKET + "/teams/finance/a"]}
    assert result(**params)["EvalDecision"] == "allowed"
    as_bob = result(**params, CallerArn=BOB)
    assert (as_bob["EvalDecision"], as_bob["MissingContextValues"]) == ("implicitDeny", ["aws:PrincipalTag/team"])


def test_context_entries_override_what_the_account_says() -> None:
    tag = {"ContextKeyName": "aws:principaltag/team", "ContextKeyValues": ["audit"], "ContextKeyType": "string"}
    moved = simulate(PolicySourceArn=ALICE, ActionNames=["s3:PutObject"], ContextEntries=[tag],
                     ResourceArns=[BUCKET + "/teams/finance/a", BUCKET + "/teams/audit/a"])["EvaluationResults"][0]
    assert [r["EvalResourceDecision"] for r in moved["ResourceSpecificResults"]] == ["implicitDeny", "allowed"]


# ── excluding policies ──────────────────────────────────────────────────────────


@pytest.mark.parametrize(("source", "action", "identifier"), [
    (ALICE, "s3:GetObject", {"PolicyArn": IAM + "policy/Read*"}),
    (ALICE, "s3:GetObject", {"PolicyType": "user-managed"}),
    (BOB, "iam:CreateUser", {"PolicyType": "aws-managed"}),
    (IAM + "role/Deploy", "s3:PutObject", {"InlinePolicyIdentifier": {
        "PolicyName": "DeployApps", "AttachmentType": "role", "AttachmentName": "Dep?oy"}}),
], ids=["arn-wildcard", "user-managed", "aws-managed", "inline"])
def test_exclusions_remove_an_allow(source: str, action: str, identifier: dict[str, Any]) -> None:
    """PolicyExclusionList tests "what the simulation result would be if a policy were
    removed" (API_SimulatePrincipalPolicy.html)."""
    params = {"PolicySourceArn": source, "ActionNames": [action], "ResourceArns": [REPORT]}
    assert result(**params)["EvalDecision"] == "allowed"
    assert result(**params, PolicyExclusionList=[identifier])["EvalDecision"] == "implicitDeny"


def test_exclusions_remove_a_deny_and_the_boundary() -> None:
    inline = {"InlinePolicyIdentifier": {"PolicyName": "NoDeletes", "AttachmentType": "user", "AttachmentName": "car*"}}
    assert result(PolicySourceArn=CAROL, ActionNames=["s3:DeleteObject"],
                  PolicyExclusionList=[inline])["EvalDecision"] == "allowed"
    free = result(PolicySourceArn=CAROL, ActionNames=["iam:CreateUser"],
                  PolicyExclusionList=[{"PolicyType": "permission-boundary"}, {"PolicyType": "scp"}])
    assert free["EvalDecision"] == "allowed" and "PermissionsBoundaryDecisionDetail" not in free


def test_exclusions_leave_the_input_lists_alone() -> None:
    added = result(PolicySourceArn=ALICE, ActionNames=["ec2:RunInstances"], PolicyInputList=[policy(allow("ec2:*"))],
                   PolicyExclusionList=[{"PolicyType": "inline"}, {"PolicyType": "user-managed"}])
    assert added["EvalDecision"] == "allowed"


@pytest.mark.parametrize(("identifier", "where"), [
    ({"PolicyType": "inline", "PolicyArn": IAM + "policy/ReadReports"}, "PolicyExclusionList[0]"),
    ({"PolicyTyp": "inline"}, "PolicyExclusionList[0]"),
    ({"PolicyType": "managed"}, "PolicyExclusionList[0].PolicyType"),
    ({"PolicyArn": "arn:aws:iam::*:policy/ReadReports"}, "PolicyExclusionList[0].PolicyArn"),
    ({"PolicyArn": IAM + "policy/*Read*"}, "PolicyExclusionList[0].PolicyArn"),
    ({"InlinePolicyIdentifier": {"PolicyName": "No*", "AttachmentType": "user", "AttachmentName": "carol"}},
     "PolicyExclusionList[0].InlinePolicyIdentifier.PolicyName"),
    ({"InlinePolicyIdentifier": {"PolicyName": "NoDeletes", "AttachmentType": "users", "AttachmentName": "carol"}},
     "PolicyExclusionList[0].InlinePolicyIdentifier.AttachmentType"),
], ids=["two-members", "unknown-member", "unknown-type", "wildcard-account", "two-stars", "wildcard-policy-name",
        "attachment-type"])
def test_malformed_exclusions_are_invalid_input(identifier: dict[str, Any], where: str) -> None:
    """"Syntactically invalid identifiers, such as malformed ARNs or wildcards in disallowed
    positions, cause the request to fail with an InvalidInput error" (API_SimulatePrincipalPolicy.html)."""
    error = rejected("InvalidInput", PolicySourceArn=CAROL, ActionNames=["s3:GetObject"],
                     PolicyExclusionList=[identifier])
    assert error.problems[0].path == where


# ── errors ──────────────────────────────────────────────────────────────────────


def test_unknown_entity_is_no_such_entity_with_a_suggestion() -> None:
    """The model lists ``NoSuchEntity`` for SimulatePrincipalPolicy; the hint names the
    closest entity by its full ARN (carol's has a path)."""
    error = rejected("NoSuchEntity", PolicySourceArn=IAM + "user/carl", ActionNames=["s3:GetObject"])
    (problem,) = error.problems
    assert problem.path == "PolicySourceArn"
    assert problem.message == "the user with name `carl` cannot be found in account 111122223333"
    assert problem.hint == f"did you mean `{CAROL}`?"
    other = rejected("NoSuchEntity", PolicySourceArn="arn:aws:iam::444455556666:user/alice", ActionNames=["s3:GetObject"])
    assert "not in the simulated account 111122223333" in str(other)
    none = rejected("NoSuchEntity", PolicySourceArn=IAM + "role/Zzz", ActionNames=["s3:GetObject"])
    assert none.problems[0].hint == "its roles are `AppServer`, `Deploy`, `PartnerAudit`"


def test_a_path_is_not_needed_to_find_an_entity() -> None:
    assert result(PolicySourceArn=IAM + "user/carol", ActionNames=["s3:DeleteObject"])["EvalDecision"] == "explicitDeny"


@pytest.mark.parametrize("arn", ["arn:aws:iam::111122223333:root", "arn:aws:sts::111122223333:assumed-role/Deploy/s",
                                 "arn:aws:iam::111122223333:policy/ReadReports"])
def test_source_must_be_a_user_group_or_role(arn: str) -> None:
    error = rejected("InvalidInput", PolicySourceArn=arn, ActionNames=["s3:GetObject"])
    assert error.problems[0].path == "PolicySourceArn"


def test_parameter_problems_come_before_the_entity_and_all_are_listed() -> None:
    error = rejected("InvalidInput", PolicySourceArn=IAM + "user/nobody", ActionNames=["s3:Get*"],
                     PolicyInputList=['{"Version": "2012-10-17"'])
    assert [p.path for p in error.problems] == ["ActionNames[0]", "PolicySourceArn", "PolicyInputList[0]"]


# ── where the account comes from ────────────────────────────────────────────────


@pytest.mark.parametrize("sandbox", [types.SimpleNamespace(current_sandbox=lambda: None)], ids=["no-sandbox-running"])
def test_without_an_account_or_a_sandbox(monkeypatch: pytest.MonkeyPatch, sandbox: Any) -> None:
    # The simulator asks iamkit.sandbox.server (which loads moto only when a sandbox starts).
    monkeypatch.setitem(sys.modules, "iamkit.sandbox.server", sandbox)
    with pytest.raises(SimulationError) as caught:
        simulate_principal_policy(PolicySourceArn=ALICE, ActionNames=["s3:GetObject"])
    (problem,) = caught.value.problems
    assert (caught.value.code, problem.path) == ("InvalidInput", "account")
    assert "account=" in str(problem.hint) and "start_sandbox()" in str(problem.hint)


def test_reads_the_running_sandbox() -> None:
    """With no ``account=``, the running sandbox's IAM is read at the call."""
    pytest.importorskip("moto")
    from iamkit.sandbox import current_sandbox, start_sandbox

    started = current_sandbox() is None
    sandbox = start_sandbox()
    try:
        iam = sandbox.client("iam")
        iam.create_user(UserName="dana")
        iam.put_user_policy(UserName="dana", PolicyName="Reports", PolicyDocument=policy(allow("s3:GetObject")))
        arn = f"arn:aws:iam::{sandbox.account_id}:user/dana"
        allowed = simulate_principal_policy(PolicySourceArn=arn, ActionNames=["s3:GetObject"])
        assert shape_errors(allowed, OPERATION.output_shape) == []
        assert sources(allowed["EvaluationResults"][0]) == [("Reports", "user")]
    finally:
        if started:
            sandbox.stop()
        else:
            iam.delete_user_policy(UserName="dana", PolicyName="Reports")
            iam.delete_user(UserName="dana")


# ── pages and boto3 ─────────────────────────────────────────────────────────────


def test_pagination() -> None:
    params = {"PolicySourceArn": BOB, "ActionNames": ["s3:GetObject", "s3:PutObject", "iam:CreateUser"]}
    first = simulate(**params, MaxItems=2)
    assert first["IsTruncated"] is True and len(first["EvaluationResults"]) == 2
    last = simulate(**params, MaxItems=2, Marker=first["Marker"])
    assert [r["EvalActionName"] for r in last["EvaluationResults"]] == ["iam:CreateUser"]
    assert last["IsTruncated"] is False


def test_boto3_client_accepts_our_response() -> None:
    """A real boto3 IAM client, stubbed with botocore's Stubber (no network), takes our
    response for ``simulate_principal_policy`` and hands it back unchanged."""
    boto3 = pytest.importorskip("boto3")
    from botocore.stub import Stubber

    params = {
        "PolicySourceArn": CAROL,
        "PolicyInputList": [policy(allow("ec2:*"))],
        "PolicyExclusionList": [{"PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}],
        "ActionNames": ["s3:GetObject", "s3:DeleteObject", "ec2:RunInstances"],
        "ResourceArns": [REPORT],
        "ResourceOwner": "arn:aws:iam::111122223333:root",
        "ContextEntries": [{"ContextKeyName": "aws:SecureTransport", "ContextKeyValues": ["true"],
                            "ContextKeyType": "boolean"}],
        "MaxItems": 2,
    }
    ours = simulate(**params)
    assert [r["EvalDecision"] for r in ours["EvaluationResults"]] == ["allowed", "explicitDeny"]
    client = boto3.client("iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(client) as stubber:
        stubber.add_response("simulate_principal_policy", ours, params)
        got = client.simulate_principal_policy(**params)
        stubber.assert_no_pending_responses()
    got.pop("ResponseMetadata", None)
    assert got == ours
