"""What IAM rejects when a policy is created, as located errors with a hint.

Each rule names the AWS page it follows. The ``Version`` rule applies only when a document is
checked for creation (``creating=True``, what ``iamkit validate`` asks); evaluation keeps
accepting what AWS evaluates. The ARN and date rules apply to every document.
"""

from __future__ import annotations

import json

import pytest

from iamkit import PolicyError, PolicyKind, parse_policy, validate_policy
from iamkit.cli import main
from iamkit.errors import EXIT_BAD_INPUT

ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def as_text(policy: dict) -> str:
    """Indented JSON text, so that problems carry a line and a column."""
    return json.dumps(policy, indent=2)


def errors(source: str, kind: str = "identity", *, creating: bool = False) -> list:
    return [p for p in validate_policy(source, kind, creating=creating) if p.severity == "error"]


# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html:
# 2008-10-17 is "an earlier version of the policy language ... Do not use this version for any
# new policies". IAM refuses to create a managed policy without a Version (the console says "A
# managed policy must have a version string") or with 2008-10-17 ("Policy document must be version
# 2012-10-17 or greater"), as users report in hashicorp/packer#3821 and
# Meteor-Community-Packages/Meteor-CollectionFS#630.
@pytest.mark.parametrize("kind", [PolicyKind.IDENTITY, PolicyKind.BOUNDARY])
@pytest.mark.parametrize(("policy", "path"), [
    ({"Statement": [ALLOW_ALL]}, "$"),
    ({"Version": "2008-10-17", "Statement": [ALLOW_ALL]}, "Version"),
])
def test_a_managed_policy_is_created_only_with_version_2012_10_17(kind: PolicyKind, policy: dict, path: str) -> None:
    (problem,) = errors(as_text(policy), kind, creating=True)
    assert problem.path == path
    assert "managed policy" in problem.message and "2012-10-17" in problem.message
    assert problem.hint is not None and '"Version": "2012-10-17"' in problem.hint
    assert problem.line is not None
    with pytest.raises(PolicyError):
        parse_policy(policy, kind, creating=True)


@pytest.mark.parametrize("policy", [
    {"Statement": [ALLOW_ALL]},
    {"Version": "2008-10-17", "Statement": [ALLOW_ALL]},
])
def test_evaluation_still_accepts_what_aws_evaluates(policy: dict) -> None:
    # Same page: without 2012-10-17, variables such as `${aws:username}` are "treated as literal strings", so
    # such a policy is evaluated, with a warning.
    parsed = parse_policy(policy)
    assert not parsed.substitutes_variables
    assert [p.severity for p in validate_policy(policy)] == ["warning"]


@pytest.mark.parametrize(("kind", "statement"), [
    ("resource", {**ALLOW_ALL, "Principal": "*"}),
    ("trust", {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ec2.amazonaws.com"}}),
    ("session", ALLOW_ALL),
])
def test_the_version_rule_is_for_managed_policies_only(kind: str, statement: dict) -> None:
    assert errors(as_text({"Statement": [statement]}), kind, creating=True) == []


# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns:
# in an IAM ARN "the Region portion of the ARN is blank because IAM resources are global".
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-arn-format.html: "An Amazon S3 ARN
# excludes the AWS Region and namespace" (arn:aws:s3:::bucket_name/key_name).
# https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html:
# "ARN Region not allowed", "Missing ARN field", "Invalid partition" and "Invalid service" are errors;
# so are "ARN account not allowed" ("Amazon S3 does not support an account ID as a namespace in bucket ARNs"),
# "Invalid ARN account" ("Account IDs are 12-digit integers"), "Invalid ARN service case" ("Update the service
# name in the resource ARN to use all lowercase letters"), "Invalid ARN prefix" ("AWS resource ARNs must include
# the required `arn:` prefix"); the six fields are arn:partition:service:region:account:resource.
@pytest.mark.parametrize(("resource", "fragment", "fix"), [
    ("arn:aws:iam:us-east-1:123456789012:user/x", "IAM ARNs have no region", "arn:aws:iam::123456789012:user/x"),
    ("arn:aws:s3:us-east-1::bucket", "S3 bucket and object ARNs have no region", "arn:aws:s3:::bucket"),
    ("arn:aws:s3:eu-west-1::bucket/key/*", "S3 bucket and object ARNs have no region", "arn:aws:s3:::bucket/key/*"),
    ("arn:aws::::x", "has no service", "the service"),
    ("arn::s3:::bucket", "has no partition", "`aws`"),
    ("arn:aws:s3::111122223333:reports/*", "S3 bucket and object ARNs have no account", "`arn:aws:s3:::reports/*`"),
    ("arn:aws:ec2:us-east-1:1234:instance/*", "names account `1234`, which is not an account id", "12 digits"),
    ("arn:aws:dynamodb:us-east-1:my-account:table/t", "which is not an account id", "`111122223333`"),
    ("arn:aws:S3:::reports", "writes service `S3` in capitals", "`arn:aws:s3:::reports`"),
    ("ARN:aws:s3:::reports", "is not an ARN", "`arn:` in lowercase: `arn:aws:s3:::reports`"),
    ("arn:aws:s3:::", "names no resource after the fifth colon", "`arn:aws:s3:::my-bucket/*`"),
])
@pytest.mark.parametrize("element", ["Resource", "NotResource"])
def test_resource_arns_hold_the_fields_iam_accepts(element: str, resource: str, fragment: str, fix: str) -> None:
    statement = {"Effect": "Deny", "Action": "*", element: ["*", resource]}
    (problem,) = errors(as_text({"Version": "2012-10-17", "Statement": [statement]}))
    assert problem.path == f"Statement[0].{element}[1]"
    assert fragment in problem.message and f"`{resource}`" in problem.message
    assert problem.hint is not None and fix in problem.hint
    assert problem.line is not None
    fixed = problem.hint.rsplit("`", 2)[-2]  # the ARN the hint writes out is one IAM accepts
    if fixed.startswith("arn:aws:") and "my-bucket" not in fixed:
        assert errors(as_text({"Version": "2012-10-17", "Statement": [{**ALLOW_ALL, "Resource": fixed}]})) == []


@pytest.mark.parametrize("resource", [
    "arn:aws:iam::123456789012:user/x",
    "arn:aws:iam:*:123456789012:user/x",           # a wildcard region matches the blank one
    "arn:aws:s3:::bucket/*",
    "arn:aws:s3:*::bucket",
    "arn:aws:s3:us-west-2:123456789012:accesspoint/reports",  # access points are regional
    "arn:aws:ec2:us-east-1:123456789012:instance/*",
    "arn:*:*:*:*:*",
    # fields AWS fills itself, and wildcards: AWS managed policies, public AMIs (a blank account), a Multi-Region
    # Access Point (https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiRegionAccessPointRequests.html:
    # `arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap`, an account and no region)
    "arn:aws:iam::aws:policy/ReadOnlyAccess",
    "arn:aws:ec2:us-east-1::image/ami-*",
    "arn:aws:s3::111122223333:accesspoint/mfzwi23gnjvgw.mrap",
    "arn:aws:ec2:*:1111222233?4:instance/*",
    "arn:aws:s3::*:reports",
])
def test_arns_iam_accepts_stay_valid(resource: str) -> None:
    assert errors(as_text({"Version": "2012-10-17", "Statement": [{**ALLOW_ALL, "Resource": resource}]})) == []


# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Date:
# "You must specify date/time values with one of the W3C implementations of the ISO 8601 date formats or in
# epoch (UNIX) time". iamkit takes epoch seconds as a signed 64-bit integer, so 2**63 is no date.
@pytest.mark.parametrize(("value", "fragment"), [
    ("sdfdsf", "is not a valid value for `DateGreaterThan`"),
    ("234-13", "is not a valid value for `DateGreaterThan`"),
    ("9223372036854775808", "out of range for epoch seconds"),
    ("-9223372036854775809", "out of range for epoch seconds"),
    ("1" * 5000, "out of range for epoch seconds"),
])
def test_date_values_must_be_dates(value: str, fragment: str) -> None:
    statement = {**ALLOW_ALL, "Condition": {"DateGreaterThan": {"aws:CurrentTime": value}}}
    (problem,) = errors(as_text({"Version": "2012-10-17", "Statement": [statement]}))
    assert problem.path == "Statement[0].Condition.DateGreaterThan.aws:CurrentTime"
    assert fragment in problem.message
    assert problem.hint is not None and "2025-01-31" in problem.hint
    assert problem.line is not None


@pytest.mark.parametrize("value", ["9223372036854775807", "-9223372036854775808", "1735689600", "2025-01-31T12:00:00Z"])
def test_dates_within_range_stay_valid(value: str) -> None:
    statement = {**ALLOW_ALL, "Condition": {"DateLessThan": {"aws:CurrentTime": value}}}
    assert errors(as_text({"Version": "2012-10-17", "Statement": [statement]})) == []


def test_iamkit_validate_applies_the_rules_of_creation(tmp_path, capsys) -> None:
    # `iamkit validate` answers "would IAM create this?", so the Version rule applies there.
    path = tmp_path / "no-version.json"
    path.write_text(as_text({"Statement": [ALLOW_ALL]}))
    assert main(["validate", "--kind", "identity", str(path)]) == EXIT_BAD_INPUT
    assert f"{path}:1:1: error: $: the policy has no `Version`" in capsys.readouterr().err


# https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html, "Error – Invalid
# condition key format": "The condition key format is not valid. Use the format service:keyname." IAM does not
# create a policy with such a key; a document that is only evaluated keeps it, with a warning.
def test_a_condition_key_without_a_prefix_is_refused_on_creation() -> None:
    statement = {**ALLOW_ALL, "Condition": {"StringEquals": {"username": "alice"}}}
    text = as_text({"Version": "2012-10-17", "Statement": [statement]})
    (problem,) = errors(text, creating=True)
    assert problem.path == "Statement[0].Condition.StringEquals.username"
    assert "no service prefix" in problem.message and "`service:key`" in problem.message
    assert problem.hint == "did you mean `aws:username`?"
    assert text.splitlines()[problem.line - 1][problem.column - 1:].startswith("\"username\"")  # at the key
    assert [p.severity for p in validate_policy(text)] == ["warning"]


# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif:
# web identity federation keys are prefixed with the provider's URL, such as `accounts.google.com:aud`; EKS
# documents `oidc.eks.REGION.amazonaws.com/id/ID:sub`, GitHub `token.actions.githubusercontent.com:sub`.
@pytest.mark.parametrize("key", [
    "token.actions.githubusercontent.com:sub",
    "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:aud",
    "accounts.google.com:aud",
    "cognito-identity.amazonaws.com:amr",
])
def test_condition_keys_of_identity_providers_have_a_prefix(key: str) -> None:
    statement = {"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
                 "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/example.com"},
                 "Condition": {"StringLike": {key: "x"}}}
    assert validate_policy(as_text({"Version": "2012-10-17", "Statement": [statement]}), "trust", creating=True) == []


# Same page, "Error – Duplicate keys with different case": "The condition key appears more than once with
# different capitalization in the same condition block." reference_policies_elements_condition.html:
# "Context key names are not case-sensitive."
def test_a_condition_key_named_twice_in_different_case_is_an_error() -> None:
    statement = {**ALLOW_ALL, "Condition": {"StringEquals": {"aws:PrincipalTag/team": "a", "AWS:principaltag/Team": "b"},
                                            "StringLike": {"aws:username": "a*"}}}
    (problem,) = errors(as_text({"Version": "2012-10-17", "Statement": [statement]}))
    assert problem.path == "Statement[0].Condition.StringEquals.AWS:principaltag/Team"
    assert "repeats `aws:PrincipalTag/team`" in problem.message and "case" in problem.message
    assert problem.hint == "keep one `aws:PrincipalTag/team` entry and list every value in it"
    assert problem.line is not None


# https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html reports as errors:
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_sid.html: "The Sid element supports
# ASCII uppercase letters (A-Z), lowercase letters (a-z), and numbers (0-9)"; the policy grammar
# (reference_policies_grammar.html): "For IAM policies, basic alphanumeric characters (A-Z,a-z,0-9) are the only
# allowed characters in the Sid value"; Access Analyzer reports "Unsupported Sid" as an error. IAM refuses to create
# such a policy; evaluation keeps a warning. Resource policies of other services allow more ("some services allow
# additional characters such as spaces").
@pytest.mark.parametrize("kind", ["identity", "boundary", "session"])
def test_a_sid_with_other_characters_is_refused_on_creation(kind: str) -> None:
    text = as_text({"Version": "2012-10-17", "Statement": [{**ALLOW_ALL, "Sid": "Read-only reports"}]})
    (problem,) = errors(text, kind, creating=True)
    assert (problem.path, problem.line is not None) == ("Statement[0].Sid", True)
    assert "`Read-only reports`" in problem.message and "A–Z, a–z and digits 0–9" in (problem.hint or "")
    assert [p.severity for p in validate_policy(text, kind)] == ["warning"]
    bucket = {**ALLOW_ALL, "Sid": "Read-only reports", "Principal": "*"}
    assert errors(as_text({"Version": "2012-10-17", "Statement": [bucket]}), "resource", creating=True) == []


# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html: "You cannot use
# the NotPrincipal element in an IAM identity-based policy nor in an IAM role trust policy." IAM refuses the
# document; evaluation keeps a warning.
def test_notprincipal_in_a_trust_policy_is_refused_on_creation() -> None:
    statement = {"Effect": "Deny", "Action": "sts:AssumeRole", "NotPrincipal": {"AWS": "111122223333"}}
    text = as_text({"Version": "2012-10-17", "Statement": [statement]})
    (problem,) = errors(text, "trust", creating=True)
    assert problem.path == "Statement[0].NotPrincipal" and "does not accept `NotPrincipal`" in problem.message
    assert problem.hint is not None and "`Principal`" in problem.hint and problem.line is not None
    assert [p.severity for p in validate_policy(text, "trust")] == ["warning"]


def test_notprincipal_with_allow_is_refused_on_creation() -> None:
    # "NotPrincipal must be used with "Effect":"Deny". Using it with "Effect":"Allow" is not supported."
    # (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html);
    # an existing document is still evaluated, with a warning.
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/*",
                 "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:user/alice"}}
    text = as_text({"Version": "2012-10-17", "Statement": [statement]})
    (problem,) = errors(text, "resource", creating=True)
    assert problem.path == "Statement[0].NotPrincipal" and "does not support `NotPrincipal` with `Allow`" in problem.message
    assert problem.hint is not None and "`Deny`" in problem.hint and problem.line is not None
    assert [p.severity for p in validate_policy(text, "resource")] == ["warning"]
