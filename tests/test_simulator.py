"""The AWS-shaped simulator: requests and responses checked against botocore's IAM model.

Every call goes through :func:`simulate`, which validates the request with botocore's
``ParamValidator`` and the response with :func:`shape_errors`, a strict walk of the
operation's ``output_shape`` (unknown keys, wrong types, enum values, lengths).
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import botocore.session
import botocore_shapes
import pytest
from botocore.model import Shape
from botocore.validate import ParamValidator
from hypothesis import given, settings
from hypothesis import strategies as st

from iamkit.analysis.simulator import SimulationError, simulate_custom_policy

OPERATION = botocore.session.get_session().get_service_model("iam").operation_model("SimulateCustomPolicy")

OFF_MODEL_ENUMS = {"PolicySourceType": {"IAM Policy", "Resource Policy"}}
"""Values the service returns that botocore's enum does not list (see the test below)."""

ALICE = "arn:aws:iam::111122223333:user/alice"
BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket"
OBJECT = BUCKET + "/reports/2024.csv"


def shape_errors(value: Any, shape: Shape, path: str = "$") -> list[str]:
    """The shared strict check, allowing the source types the service returns off-model."""
    return botocore_shapes.shape_errors(value, shape, path, extra_enums=OFF_MODEL_ENUMS)


def simulate(**params: Any) -> dict[str, Any]:
    """Validate the request against the model, simulate, validate the response."""
    report = ParamValidator().validate(params, OPERATION.input_shape)
    assert not report.has_errors(), report.generate_report()
    response = simulate_custom_policy(**params)
    assert shape_errors(response, OPERATION.output_shape) == []
    return response


def policy(*statements: dict[str, Any], indent: int | None = None) -> str:
    """A policy document as JSON text."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=indent)


def allow(action: str = "s3:*", resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def span(text: str, statement: dict[str, Any]) -> str:
    """The text between a matched statement's StartPosition and EndPosition."""
    lines = text.split("\n")

    def offset(pos: dict[str, int]) -> int:
        return sum(len(line) + 1 for line in lines[: pos["Line"] - 1]) + pos["Column"] - 1

    return text[offset(statement["StartPosition"]): offset(statement["EndPosition"])]


def only_result(response: dict[str, Any]) -> dict[str, Any]:
    (result,) = response["EvaluationResults"]
    return result


# ── the request shape ───────────────────────────────────────────────────────────


def test_accepts_exactly_the_parameters_of_boto3() -> None:
    """Same keyword arguments as boto3's ``iam.simulate_custom_policy``, including the
    SCP levels botocore added (``OrderedOrganizationPolicyInputList``)."""
    params = inspect.signature(simulate_custom_policy).parameters
    assert set(params) == set(OPERATION.input_shape.members)
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())
    assert {n for n, p in params.items() if p.default is inspect.Parameter.empty} == set(
        OPERATION.input_shape.required_members)


def test_off_model_source_types_are_really_off_model() -> None:
    """The service answers ``SourcePolicyType`` ``IAM Policy`` / ``Resource Policy``
    (published real responses, e.g. the ScottLogic simulator blog of 2025), which botocore's
    ``PolicySourceType`` enum does not list; the checker allows exactly those two. When
    botocore adds them, this test fails and the exception can go."""
    enum = set(OPERATION.output_shape.members["EvaluationResults"].member.members["MatchedStatements"]
               .member.members["SourcePolicyType"].enum)
    assert not OFF_MODEL_ENUMS["PolicySourceType"] & enum


# ── allow, implicit deny, explicit deny, positions ──────────────────────────────

CLI_POLICY = ('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*",'
              '"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}')


def cli_params(when: str) -> dict[str, Any]:
    return {"PolicyInputList": [CLI_POLICY], "ActionNames": ["dynamodb:CreateBackup"],
            "ContextEntries": [{"ContextKeyName": "aws:CurrentTime", "ContextKeyValues": [when],
                                "ContextKeyType": "date"}]}


def test_aws_cli_example_allowed_with_positions() -> None:
    """Example 1 of https://docs.aws.amazon.com/cli/latest/reference/iam/simulate-custom-policy.html,
    answered exactly as documented (plus ``SourcePolicyType``, which the example omits)."""
    assert simulate(**cli_params("2019-04-25T11:00:00Z")) == {
        "EvaluationResults": [{
            "EvalActionName": "dynamodb:CreateBackup",
            "EvalResourceName": "*",
            "EvalDecision": "allowed",
            "MatchedStatements": [{
                "SourcePolicyId": "PolicyInputList.1",
                "SourcePolicyType": "IAM Policy",
                "StartPosition": {"Line": 1, "Column": 38},
                "EndPosition": {"Line": 1, "Column": 167},
            }],
            "MissingContextValues": [],
        }],
        "IsTruncated": False,
    }


def test_aws_cli_example_implicit_deny() -> None:
    """Example 2 of https://docs.aws.amazon.com/cli/latest/reference/iam/simulate-custom-policy.html:
    a date before the condition's leaves nothing allowing the call."""
    result = only_result(simulate(**cli_params("2014-04-25T11:00:00Z")))
    assert result["EvalDecision"] == "implicitDeny"
    assert result["MatchedStatements"] == [] and result["MissingContextValues"] == []


def test_missing_context_key_is_reported() -> None:
    """MissingContextValues lists keys the policies need that the request lacks
    (https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html)."""
    result = only_result(simulate(PolicyInputList=[CLI_POLICY], ActionNames=["dynamodb:CreateBackup"]))
    assert result["EvalDecision"] == "implicitDeny"
    assert result["MissingContextValues"] == ["aws:CurrentTime"]


def test_positions_in_a_pretty_printed_policy() -> None:
    """AdministratorAccess as IAM stores it (two-space indent); AWS reports its statement
    at line 3, column 17 (just after ``[``) to line 8, column 6 (just after ``}``)."""
    text = policy({"Effect": "Allow", "Action": "*", "Resource": "*"}, indent=2)
    (matched,) = only_result(simulate(PolicyInputList=[text], ActionNames=["s3:ListBucket"]))["MatchedStatements"]
    assert (matched["StartPosition"], matched["EndPosition"]) == ({"Line": 3, "Column": 17}, {"Line": 8, "Column": 6})


def test_a_later_statement_starts_where_the_previous_one_ends() -> None:
    """As in published simulator output, statement 2 starts just after statement 1's ``}``."""
    first, second = allow("s3:GetObject", Sid="Read"), allow("s3:PutObject", Sid="Write")
    text = policy(first, second)
    response = simulate(PolicyInputList=[text], ActionNames=["s3:GetObject", "s3:PutObject"])
    read, write = (r["MatchedStatements"][0] for r in response["EvaluationResults"])
    assert read["StartPosition"] == {"Line": 1, "Column": 41}  # just after `[` of json.dumps output
    assert write["StartPosition"] == read["EndPosition"]
    assert json.loads(span(text, read).lstrip(",")) == first
    assert json.loads(span(text, write).lstrip(", ")) == second


def test_explicit_deny_reports_only_the_deny() -> None:
    """An explicit deny overrides any allow, and "the deny statement is the only entry
    included in the result" (https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html)."""
    deny = {"Sid": "DenyDelete", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}
    texts = [policy(allow()), policy(allow("s3:GetObject"), deny, indent=4)]
    result = only_result(simulate(PolicyInputList=texts, ActionNames=["s3:DeleteObject"], CallerArn=ALICE))
    assert result["EvalDecision"] == "explicitDeny"
    (matched,) = result["MatchedStatements"]
    assert matched["SourcePolicyId"] == "PolicyInputList.2"
    assert json.loads(span(texts[1], matched).lstrip(", \n")) == deny


# ── context entries ─────────────────────────────────────────────────────────────

CONTEXT_TYPES = [
    ("string", ["finance"], {"StringEquals": {"aws:PrincipalTag/team": "finance"}}),
    ("stringList", ["a", "b"], {"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b", "c"]}}),
    ("numeric", ["300"], {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}),
    ("numericList", ["1", "2"], {"ForAnyValue:NumericEquals": {"test:Numbers": "2"}}),
    ("boolean", ["true"], {"Bool": {"aws:SecureTransport": "true"}}),
    ("booleanList", ["false", "true"], {"ForAnyValue:Bool": {"test:Flags": "true"}}),
    ("ip", ["203.0.113.7"], {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),
    ("ipList", ["198.51.100.1", "203.0.113.7"], {"ForAnyValue:IpAddress": {"test:Addresses": "203.0.113.0/24"}}),
    ("binary", ["aGVsbG8="], {"BinaryEquals": {"test:Blob": "aGVsbG8="}}),
    ("binaryList", ["aGk=", "aGVsbG8="], {"ForAnyValue:BinaryEquals": {"test:Blobs": "aGVsbG8="}}),
    ("date", ["2025-01-31T12:00:00Z"], {"DateGreaterThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"}}),
    ("dateList", ["2020-01-01T00:00:00Z", "2030-01-01T00:00:00Z"],
     {"ForAllValues:DateGreaterThan": {"test:Dates": "2019-01-01T00:00:00Z"}}),
]


@pytest.mark.parametrize(("kind", "values", "condition"), CONTEXT_TYPES, ids=[c[0] for c in CONTEXT_TYPES])
def test_every_context_key_type(kind: str, values: list[str], condition: dict[str, Any]) -> None:
    """Each ``ContextKeyType`` of https://docs.aws.amazon.com/IAM/latest/APIReference/API_ContextEntry.html
    reaches the condition operator of its family; ``…List`` types are multivalued."""
    (key,) = next(iter(condition.values()))
    entry = {"ContextKeyName": key, "ContextKeyValues": values, "ContextKeyType": kind}
    params = {"PolicyInputList": [policy(allow(Condition=condition))], "ActionNames": ["s3:GetObject"]}
    result = only_result(simulate(**params, ContextEntries=[entry]))
    assert (result["EvalDecision"], result["MissingContextValues"]) == ("allowed", [])
    assert only_result(simulate(**params))["MissingContextValues"] == [key]


@pytest.mark.parametrize(("entry", "where"), [
    ({"ContextKeyName": "aws:MultiFactorAuthAge", "ContextKeyValues": ["soon"], "ContextKeyType": "numeric"},
     "ContextEntries[0].ContextKeyValues[0]"),
    ({"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["a", "b"], "ContextKeyType": "ip"},
     "ContextEntries[0].ContextKeyValues"),
    ({"ContextKeyName": "aws:SecureTransport", "ContextKeyValues": ["yes"], "ContextKeyType": "boolean"},
     "ContextEntries[0].ContextKeyValues[0]"),
])
def test_context_values_must_fit_their_type(entry: dict[str, Any], where: str) -> None:
    with pytest.raises(SimulationError) as caught:
        simulate(PolicyInputList=[policy(allow())], ActionNames=["s3:GetObject"], ContextEntries=[entry])
    assert caught.value.code == "InvalidInput"
    assert caught.value.problems[0].path == where


# ── permissions boundary, organizations, resource policy ────────────────────────


def test_permissions_boundary_detail() -> None:
    """The boundary caps the identity policies: an action they allow but it does not is
    denied (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html)."""
    response = simulate(PolicyInputList=[policy(allow("*"))], PermissionsBoundaryPolicyInputList=[policy(allow("s3:*"))],
                        ActionNames=["s3:GetObject", "iam:CreateUser"], CallerArn=ALICE)
    s3, iam = response["EvaluationResults"]
    assert s3["EvalDecision"] == "allowed"
    assert s3["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": True}
    assert {m["SourcePolicyId"] for m in s3["MatchedStatements"]} == {"PolicyInputList.1",
                                                                     "PermissionsBoundaryPolicyInputList.1"}
    assert iam["EvalDecision"] == "implicitDeny"
    assert iam["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}
    assert "OrganizationsDecisionDetail" not in iam and "EvalDecisionDetails" not in iam


def test_only_one_permissions_boundary() -> None:
    """"You can input only one permissions boundary when you pass a policy to this operation"
    (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html)."""
    with pytest.raises(SimulationError, match="PermissionsBoundaryPolicyInputList") as caught:
        simulate(PolicyInputList=[policy(allow())], ActionNames=["s3:GetObject"],
                 PermissionsBoundaryPolicyInputList=[policy(allow()), policy(allow())])
    assert caught.value.code == "InvalidInput"


def scp_levels(*levels: list[str]) -> list[dict[str, list[str]]]:
    return [{"ServiceControlPolicyInputList": level} for level in levels]


def test_organizations_detail() -> None:
    """Every level from the root to the account must allow; an SCP deny wins, SCP statements
    are not listed in MatchedStatements, and EvalDecisionDetails is not returned
    (https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html,
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html)."""
    deny_delete = {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}
    response = simulate(
        PolicyInputList=[policy(allow())], CallerArn=ALICE, ResourceArns=[BUCKET],
        ActionNames=["s3:ListBucket", "s3:DeleteBucket", "ec2:RunInstances"],
        OrderedOrganizationPolicyInputList=scp_levels([policy(allow("*"))], [policy(allow("*"), deny_delete)]))
    listing, deleting, running = response["EvaluationResults"]
    assert listing["EvalDecision"] == "allowed"
    assert listing["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": True}
    assert deleting["EvalDecision"] == "explicitDeny"
    assert deleting["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": False}
    assert deleting["MatchedStatements"] == [] and "EvalDecisionDetails" not in deleting
    assert running["EvalDecision"] == "implicitDeny"  # the identity policy allows only s3
    assert running["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": True}


def test_every_organization_level_must_allow() -> None:
    """An OU whose SCPs allow only EC2 blocks S3 below it, whatever the root allows."""
    result = only_result(simulate(
        PolicyInputList=[policy(allow())], ActionNames=["s3:GetObject"],
        OrderedOrganizationPolicyInputList=scp_levels([policy(allow("*"))], [policy(allow("ec2:*"))])))
    assert result["EvalDecision"] == "implicitDeny"
    assert result["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": False}


def bucket_policy(principal: str, action: str = "s3:GetObject") -> str:
    return policy({"Sid": "Share", "Effect": "Allow", "Principal": {"AWS": principal},
                   "Action": action, "Resource": BUCKET + "/*"})


def test_resource_policy_needs_a_caller() -> None:
    """"CallerArn is required if you include a ResourcePolicy so that the policy's Principal
    element has a value to use" (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html)."""
    with pytest.raises(SimulationError) as caught:
        simulate(PolicyInputList=[], ActionNames=["s3:GetObject"], ResourceArns=[OBJECT],
                 ResourcePolicy=bucket_policy(ALICE))
    assert (caught.value.code, caught.value.problems[0].path) == ("InvalidInput", "CallerArn")


def test_resource_policy_in_the_same_account() -> None:
    """Within one account a resource policy that names the user allows on its own; with a
    resource ARN EvalDecisionDetails is "present but the response is empty"
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html)."""
    result = only_result(simulate(PolicyInputList=[], ActionNames=["s3:GetObject"], ResourceArns=[OBJECT],
                                  ResourcePolicy=bucket_policy(ALICE), CallerArn=ALICE,
                                  ResourceOwner="arn:aws:iam::111122223333:root"))
    assert result["EvalDecision"] == "allowed"
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in result["MatchedStatements"]] == [
        ("ResourcePolicy", "Resource Policy")]
    assert result["EvalDecisionDetails"] == {}
    (specific,) = result["ResourceSpecificResults"]
    assert specific["EvalResourceName"] == OBJECT and specific["EvalResourceDecision"] == "allowed"
    assert "EvalDecisionDetails" not in specific


def test_resource_policy_across_accounts() -> None:
    """Across accounts both the caller's policies and the resource policy must allow
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html);
    EvalDecisionDetails says what each policy type decided."""
    params = {"PolicyInputList": [policy(allow("s3:GetObject"))], "ActionNames": ["s3:GetObject"],
              "ResourceArns": [OBJECT], "CallerArn": ALICE, "ResourceOwner": "arn:aws:iam::444455556666:root"}
    shared = only_result(simulate(**params, ResourcePolicy=bucket_policy(ALICE)))
    assert shared["EvalDecision"] == "allowed"
    assert shared["EvalDecisionDetails"] == {"IAM Policy": "allowed", "Resource Policy": "allowed"}
    assert shared["ResourceSpecificResults"][0]["EvalDecisionDetails"] == shared["EvalDecisionDetails"]
    closed = only_result(simulate(**params, ResourcePolicy=bucket_policy(ALICE, "s3:PutObject")))
    assert closed["EvalDecision"] == "implicitDeny"
    assert closed["EvalDecisionDetails"] == {"IAM Policy": "allowed", "Resource Policy": "implicitDeny"}


def test_default_caller_is_in_the_resource_owners_account() -> None:
    """Without CallerArn the resources belong to the caller's account, as the API reference
    says of ResourceOwner; iamkit's default caller lives in ResourceOwner's account."""
    result = only_result(simulate(PolicyInputList=[policy(allow())], ActionNames=["s3:GetObject"],
                                  ResourceArns=[OBJECT], ResourceOwner="arn:aws:iam::444455556666:root"))
    assert result["EvalDecision"] == "allowed" and result["EvalDecisionDetails"] == {}


def test_one_result_per_action_aggregating_resources() -> None:
    """"The simulator now returns a single EvaluationResult per action"; the top level holds
    the most restrictive decision and its statements, ResourceSpecificResults each resource's
    (https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html)."""
    deny = {"Sid": "KeepSecrets", "Effect": "Deny", "Action": "s3:GetObject", "Resource": BUCKET + "/secret/*"}
    secret = BUCKET + "/secret/key"
    result = only_result(simulate(PolicyInputList=[policy(allow(), deny)], ActionNames=["s3:GetObject"],
                                  ResourceArns=[OBJECT, secret], CallerArn=ALICE))
    assert (result["EvalDecision"], result["EvalResourceName"]) == ("explicitDeny", "*")
    assert [m["StartPosition"] for m in result["MatchedStatements"]] == [
        result["ResourceSpecificResults"][1]["MatchedStatements"][0]["StartPosition"]]
    assert [(r["EvalResourceName"], r["EvalResourceDecision"]) for r in result["ResourceSpecificResults"]] == [
        (OBJECT, "allowed"), (secret, "explicitDeny")]


def test_an_empty_resource_list_is_invalid_input() -> None:
    """Without ``ResourceArns`` "the value defaults to * (all resources)"
    (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html); the
    reference does not say what an empty list means, so it is refused rather than guessed
    (it used to end in a traceback)."""
    with pytest.raises(SimulationError) as caught:
        simulate(PolicyInputList=[policy(allow())], ActionNames=["s3:GetObject"], ResourceArns=[])
    (problem,) = caught.value.problems
    assert (caught.value.code, problem.path, problem.message) == (
        "InvalidInput", "ResourceArns", "`ResourceArns` is an empty list")


# ── pagination ──────────────────────────────────────────────────────────────────

ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "ec2:RunInstances", "iam:CreateUser"]


def test_pagination() -> None:
    """MaxItems and Marker page through the results; IsTruncated says whether more follow
    (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html)."""
    params = {"PolicyInputList": [policy(allow())], "ActionNames": ACTIONS[:3]}
    first = simulate(**params, MaxItems=2)
    assert [r["EvalActionName"] for r in first["EvaluationResults"]] == ACTIONS[:2]
    assert first["IsTruncated"] is True
    last = simulate(**params, MaxItems=2, Marker=first["Marker"])
    assert [r["EvalActionName"] for r in last["EvaluationResults"]] == ACTIONS[2:3]
    assert last["IsTruncated"] is False and "Marker" not in last


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=1, max_value=6))
def test_pages_add_up_to_the_whole(max_items: int) -> None:
    params = {"PolicyInputList": [policy(allow())], "ActionNames": ACTIONS}
    pages, marker = [], None
    while True:
        response = simulate(**params, MaxItems=max_items, **({"Marker": marker} if marker else {}))
        pages += response["EvaluationResults"]
        marker = response.get("Marker")
        if not response["IsTruncated"]:
            break
    assert pages == simulate(**params)["EvaluationResults"]


def test_unknown_marker_is_invalid_input() -> None:
    with pytest.raises(SimulationError, match="Marker") as caught:
        simulate(PolicyInputList=[policy(allow())], ActionNames=ACTIONS, Marker="not-ours")
    assert caught.value.code == "InvalidInput"


# ── errors that name their parameter ────────────────────────────────────────────


def test_bad_json_names_the_policy_index() -> None:
    broken = '{"Version": "2012-10-17",\n "Statement": [{"Effect": "Allow" "Action": "s3:*"}]}'
    with pytest.raises(SimulationError) as caught:
        simulate(PolicyInputList=[policy(allow()), broken], ActionNames=["s3:GetObject"])
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.code == "MalformedPolicyDocument"
    assert error.response["Error"]["Code"] == "MalformedPolicyDocument"
    (problem,) = error.problems
    assert (problem.path, problem.line, problem.column) == ("PolicyInputList[1]", 2, 35)
    assert str(error).startswith("PolicyInputList[1] (line 2, column 35): not valid JSON")


def test_every_policy_problem_is_collected() -> None:
    bad_effect = policy({"Effect": "Alow", "Action": "s3:*", "Resource": "*"})
    with pytest.raises(SimulationError) as caught:
        simulate(PolicyInputList=[bad_effect], ActionNames=["s3:GetObject"],
                 PermissionsBoundaryPolicyInputList=[policy({"Effect": "Allow", "Action": "s3", "Resource": "*"})])
    assert [p.path for p in caught.value.problems] == [
        "PolicyInputList[0].Statement[0].Effect", "PermissionsBoundaryPolicyInputList[0].Statement[0].Action"]
    assert "did you mean `Allow`?" in str(caught.value)


def test_wildcard_actions_are_invalid_input() -> None:
    """"This operation does not support using wildcards (*) in an action name"
    (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html)."""
    with pytest.raises(SimulationError, match=r"ActionNames\[1\]: `s3:Get\*` is not a concrete action") as caught:
        simulate(PolicyInputList=[policy(allow())], ActionNames=["s3:GetObject", "s3:Get*"])
    assert caught.value.code == "InvalidInput"


def test_policy_parameters_keep_to_the_documented_characters_and_length() -> None:
    """Each policy parameter's "maximum length ..., including whitespace" is botocore's
    ``policyDocumentType`` max (131,072), and its pattern allows "Any printable ASCII character
    ranging from the space character (\\u0020) through the end of the ASCII character range",
    "The printable characters in the Basic Latin and Latin-1 Supplement character set (through
    \\u00FF)" and tab, line feed and carriage return
    (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html)."""
    arrow = json.dumps(json.loads(policy(allow(Condition={"StringEquals": {"aws:PrincipalTag/team": "a→b"}}))),
                       ensure_ascii=False, indent=2)
    with pytest.raises(SimulationError) as caught:
        simulate_custom_policy(PolicyInputList=[policy(allow()), arrow], ActionNames=["s3:GetObject"])
    (problem,) = caught.value.problems
    assert caught.value.code == "InvalidInput"
    assert (problem.path, problem.message) == ("PolicyInputList[1]", "character `\\u2192` is not allowed in a policy parameter")
    assert arrow.split("\n")[problem.line - 1][problem.column - 1] == "→"
    escaped = policy(allow("s3:GetObject", Condition={"StringEquals": {"aws:PrincipalTag/team": "a→b"}}))
    assert only_result(simulate(PolicyInputList=[escaped], ActionNames=["s3:GetObject"]))["MissingContextValues"] == [
        "aws:PrincipalTag/team"]  # json.dumps escapes it: the same policy is accepted
    latin1 = json.dumps(json.loads(escaped.replace("\\u2192", "é")), ensure_ascii=False)
    assert only_result(simulate(PolicyInputList=[latin1], ActionNames=["s3:GetObject"]))["EvalDecision"] == "implicitDeny"

    many = policy(*(allow("s3:GetObject", Sid=f"Read{i}") for i in range(2500)), indent=4)
    assert len(many) > 131072
    with pytest.raises(SimulationError, match=r"PermissionsBoundaryPolicyInputList\[0\]: the policy is [\d,]+ characters "
                       r"long; the simulator takes at most 131,072") as caught:
        simulate_custom_policy(PolicyInputList=[], PermissionsBoundaryPolicyInputList=[many], ActionNames=["s3:GetObject"])
    assert caught.value.code == "InvalidInput"


def test_resource_handling_option_names_a_documented_scenario() -> None:
    """ResourceHandlingOption takes one of "the supported scenario values": EC2-VPC-InstanceStore,
    EC2-VPC-InstanceStore-Subnet, EC2-VPC-EBS, EC2-VPC-EBS-Subnet
    (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html). A
    misspelt one names no scenario, so it is refused rather than silently ignored."""
    params = {"PolicyInputList": [policy(allow("ec2:*"))], "ActionNames": ["ec2:RunInstances"]}
    assert only_result(simulate(**params, ResourceHandlingOption="EC2-VPC-EBS"))["EvalDecision"] == "allowed"
    with pytest.raises(SimulationError) as caught:
        simulate(**params, ResourceHandlingOption="EC2-VPC-EBS-Subnets")
    (problem,) = caught.value.problems
    assert (caught.value.code, problem.path, problem.message, problem.hint) == (
        "InvalidInput", "ResourceHandlingOption", "`EC2-VPC-EBS-Subnets` is not a resource handling option",
        "did you mean `EC2-VPC-EBS-Subnet`?")


def test_policies_must_be_json_text() -> None:
    with pytest.raises(SimulationError, match=r"PolicyInputList\[0\]: must be a policy document as JSON text"):
        simulate_custom_policy(PolicyInputList=[{"Version": "2012-10-17"}], ActionNames=["s3:GetObject"])  # type: ignore[list-item]


# ── boto3 itself accepts the response ───────────────────────────────────────────


def test_boto3_client_accepts_our_response() -> None:
    """A real boto3 IAM client, stubbed with botocore's Stubber (no network), takes our
    response for ``simulate_custom_policy`` and hands it back unchanged."""
    boto3 = pytest.importorskip("boto3")
    from botocore.stub import Stubber

    params = {
        "PolicyInputList": [policy(allow("s3:GetObject"))],
        "PermissionsBoundaryPolicyInputList": [policy(allow("s3:*"))],
        "OrderedOrganizationPolicyInputList": scp_levels([policy(allow("*"))]),
        "ActionNames": ["s3:GetObject", "s3:PutObject"],
        "ResourceArns": [OBJECT],
        "ResourcePolicy": bucket_policy(ALICE),
        "ResourceOwner": "arn:aws:iam::444455556666:root",
        "CallerArn": ALICE,
        "ContextEntries": [{"ContextKeyName": "aws:SecureTransport", "ContextKeyValues": ["true"],
                            "ContextKeyType": "boolean"}],
        "MaxItems": 1,
    }
    ours = simulate(**params)
    assert {"OrganizationsDecisionDetail", "PermissionsBoundaryDecisionDetail", "EvalDecisionDetails",
            "ResourceSpecificResults"} <= set(ours["EvaluationResults"][0])
    client = boto3.client("iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(client) as stubber:
        stubber.add_response("simulate_custom_policy", ours, params)
        got = client.simulate_custom_policy(**params)
        stubber.assert_no_pending_responses()
    got.pop("ResponseMetadata", None)
    assert got == ours
