"""Parsing and validation: every problem located, explained and, where possible, fixed.

AWS's grammar: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
Element reference: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from iamkit import PolicyError, PolicyKind, parse_policy, validate_policy

ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def doc(*statements: dict, **top: object) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements), **top}


def errors(source, kind="identity") -> list:
    return [p for p in validate_policy(source, kind) if p.severity == "error"]


def only_error(source, kind="identity"):
    (problem,) = errors(source, kind)
    return problem


def test_parses_a_lone_statement_object_and_keeps_every_element() -> None:
    policy = parse_policy({"Version": "2012-10-17", "Id": "p1", "Statement": {
        "Sid": "Read", "Effect": "Allow", "NotAction": "iam:*", "NotResource": ["arn:aws:s3:::secret/*"],
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": True}}}})
    (st,) = policy.statements
    assert (policy.version, policy.id, st.sid, st.effect) == ("2012-10-17", "p1", "Read", "Allow")
    assert st.not_action and st.actions == ("iam:*",)
    assert st.not_resource and st.resources == ("arn:aws:s3:::secret/*",)
    assert [(c.operator.text, c.key, c.values) for c in st.conditions] == [("Bool", "aws:MultiFactorAuthPresent", (True,))]
    assert st.path == "Statement"


def test_principal_block_keeps_every_type() -> None:
    policy = parse_policy(doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Principal": {
        "AWS": ["111122223333", "arn:aws:iam::444455556666:role/Reader"], "Service": "ec2.amazonaws.com",
        "Federated": "cognito-identity.amazonaws.com", "CanonicalUser": "a" * 64}}), "resource")
    st = policy.statements[0]
    assert st.principal_element == "Principal"
    assert st.principals == {"AWS": ("111122223333", "arn:aws:iam::444455556666:role/Reader"),
                             "Service": ("ec2.amazonaws.com",), "Federated": ("cognito-identity.amazonaws.com",),
                             "CanonicalUser": ("a" * 64,)}
    star = parse_policy(doc({"Effect": "Deny", "Action": "*", "Resource": "*", "NotPrincipal": "*"}), "resource")
    assert star.statements[0].principal_element == "NotPrincipal" and star.statements[0].principals is None


def test_model_is_immutable() -> None:
    policy = parse_policy(doc(ALLOW_ALL))
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.version = "2008-10-17"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        policy.statements[0].effect = "Deny"  # type: ignore[misc]


def test_statement_positions_come_from_the_source_text() -> None:
    text = '{\n  "Version": "2012-10-17",\n  "Statement": [\n    {"Effect": "Allow", "Action": "*", "Resource": "*"},\n' \
           '    {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}\n  ]\n}'
    policy = parse_policy(text)
    assert [(s.line, s.column) for s in policy.statements] == [(4, 5), (5, 5)]


def test_every_problem_is_collected_before_raising_with_line_column_and_hint() -> None:
    text = json.dumps(doc(
        {"Sid": "A", "Effect": "allow", "Action": "s3GetObject", "Resource": "arn:aws:s3"},
        {"Sid": "A", "Effect": "Deny", "Action": "s3:*", "NotAction": "s3:Get*", "Resource": "*",
         "Condition": {"StringEqals": {"aws:username": "bob"}}, "Resorce": "*"},
    ), indent=2)
    with pytest.raises(PolicyError) as info:
        parse_policy(text)
    problems = {p.path: p for p in info.value.problems}
    assert set(problems) == {
        "Statement[0].Effect", "Statement[0].Action", "Statement[0].Resource", "Statement[1].Resorce",
        "Statement[1]", "Statement[1].Condition.StringEqals", "Statement[1].Sid",
    }
    assert problems["Statement[0].Effect"].hint == "did you mean `Allow`?"
    assert problems["Statement[1].Condition.StringEqals"].hint == "did you mean `StringEquals`?"
    assert problems["Statement[1].Resorce"].hint == "did you mean `Resource`?"
    assert "both `Action` and `NotAction`" in problems["Statement[1]"].message
    assert "duplicate `Sid` `A`" in problems["Statement[1].Sid"].message
    assert all(p.line and p.column for p in problems.values())
    # The key of an unknown element is what the position points at.
    line = text.splitlines()[problems["Statement[1].Resorce"].line - 1]
    assert line[problems["Statement[1].Resorce"].column - 1:].startswith('"Resorce"')
    # The message reads as the style guide asks: located, lowercase, input in backticks.
    assert str(problems["Statement[0].Action"]).startswith("Statement[0].Action (line ")


def test_policy_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_policy("{")


@pytest.mark.parametrize(("source", "path", "fragment"), [
    ("{\"Version\": \"2012-10-17\",}", "$", "not valid JSON"),
    ([], "$", "must be a JSON object"),
    ({"Version": "2012-10-17"}, "$", "no `Statement`"),
    (doc({"Action": "*", "Resource": "*"}), "Statement[0]", "no `Effect`"),
    (doc({"Effect": "Allow", "Resource": "*"}), "Statement[0]", "no `Action` or `NotAction`"),
    (doc({"Effect": "Allow", "Action": "*"}), "Statement[0]", "no `Resource` or `NotResource`"),
    (doc({"Effect": "Allow", "Action": "*", "Resource": "*", "NotResource": "*"}), "Statement[0]", "both `Resource`"),
    (doc(ALLOW_ALL, Version="2024-01-01"), "Version", "`Version` must be"),
    (doc(ALLOW_ALL, Statment=[]), "Statment", "unknown top-level element"),
    (doc({**ALLOW_ALL, "Action": 5}), "Statement[0].Action", "must be a string or a list"),
    (doc({**ALLOW_ALL, "Action": []}), "Statement[0].Action", "empty list"),
    (doc({**ALLOW_ALL, "Resource": ["*", 3]}), "Statement[0].Resource[1]", "must be strings"),
    (doc({**ALLOW_ALL, "Sid": 7}), "Statement[0].Sid", "must be a string"),
    (doc({**ALLOW_ALL, "Condition": []}), "Statement[0].Condition", "must be an object"),
    (doc({**ALLOW_ALL, "Condition": {"StringEquals": "x"}}), "Statement[0].Condition.StringEquals", "must map"),
    (doc({**ALLOW_ALL, "Condition": {"StringEquals": {"aws:username": {"a": 1}}}}),
     "Statement[0].Condition.StringEquals.aws:username", "strings, numbers or booleans"),
    (doc({**ALLOW_ALL, "Condition": {"NullIfExists": {"aws:username": "true"}}}),
     "Statement[0].Condition.NullIfExists", "unknown condition operator"),
    (doc({**ALLOW_ALL, "Condition": {"ForSomeValues:StringEquals": {"aws:TagKeys": "a"}}}),
     "Statement[0].Condition.ForSomeValues:StringEquals", "unknown condition operator"),
    (doc({**ALLOW_ALL, "Resource": "arn:aws:s3:bucket"}), "Statement[0].Resource", "not an ARN"),
    ({"Version": "2012-10-17", "Statement": 1}, "Statement", "must be a statement object"),
    ("[1]", "$", "must be a JSON object"),
    (doc("not a statement"), "Statement[0]", "must be an object"),
])
def test_malformed_policy_document(source, path: str, fragment: str) -> None:
    problems = errors(json.dumps(source) if not isinstance(source, str) else source)
    assert problems, "expected a problem"
    assert problems[0].path == path
    assert fragment in problems[0].message


@pytest.mark.parametrize(("kind", "statement", "path", "fragment"), [
    ("identity", {**ALLOW_ALL, "Principal": "*"}, "Statement[0].Principal", "not allowed in an identity policy"),
    ("boundary", {**ALLOW_ALL, "NotPrincipal": {"AWS": "111122223333"}}, "Statement[0].NotPrincipal", "not allowed"),
    ("session", {**ALLOW_ALL, "Principal": "*"}, "Statement[0].Principal", "not allowed in a session policy"),
    ("scp", {**ALLOW_ALL, "Principal": "*"}, "Statement[0].Principal", "not allowed in a service control policy"),
    ("resource", ALLOW_ALL, "Statement[0]", "no `Principal`"),
    ("trust", {"Effect": "Allow", "Action": "sts:AssumeRole"}, "Statement[0]", "no `Principal`"),
    ("trust", {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ec2.amazonaws.com"},
               "Resource": "*"}, "Statement[0].Resource", "not allowed in a role trust policy"),
    ("rcp", {**ALLOW_ALL, "Principal": {"AWS": "111122223333"}}, "Statement[0].Principal", "`\"Principal\": \"*\"`"),
    ("resource", {**ALLOW_ALL, "Principal": {"AWS": "alice"}}, "Statement[0].Principal.AWS", "malformed principal"),
    ("resource", {**ALLOW_ALL, "Principal": {"AWS": "arn:aws:iam::111122223333:user/*"}},
     "Statement[0].Principal.AWS", "wildcard inside an ARN"),
    ("resource", {**ALLOW_ALL, "Principal": {"Aws": "111122223333"}}, "Statement[0].Principal.Aws", "unknown principal type"),
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html:
    # "You cannot identify a user group as a principal in a policy".
    ("resource", {**ALLOW_ALL, "Principal": {"AWS": "arn:aws:iam::111122223333:group/admins"}},
     "Statement[0].Principal.AWS", "a group cannot be a principal"),
    ("resource", {**ALLOW_ALL, "Principal": "*", "NotPrincipal": "*"}, "Statement[0]", "both `Principal`"),
])
def test_elements_depend_on_the_kind_of_policy(kind: str, statement: dict, path: str, fragment: str) -> None:
    problem = only_error(doc(statement), kind)
    assert problem.path == path
    assert fragment in problem.message


def test_trust_policy_needs_no_resource() -> None:
    policy = parse_policy(doc({"Effect": "Allow", "Action": "sts:AssumeRole",
                               "Principal": {"Service": "ec2.amazonaws.com"}}), PolicyKind.TRUST)
    assert policy.statements[0].resources is None


@pytest.mark.parametrize(("policy", "fragment"), [
    ({"Statement": ALLOW_ALL}, "no `Version`"),
    (doc(ALLOW_ALL, Version="2008-10-17"), "2008-10-17"),
    (doc({**ALLOW_ALL, "Sid": "has space"}), "characters IAM does not accept"),
    (doc({**ALLOW_ALL, "Condition": {"StringEquals": {"username": "bob"}}}), "no service prefix"),
])
def test_warnings_do_not_reject_the_policy(policy: dict, fragment: str) -> None:
    parsed = parse_policy(policy)
    assert any(fragment in w.message for w in parsed.warnings)


def test_a_variable_before_the_fifth_colon_warns_and_one_after_does_not() -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html: "You can't
    use a variable to replace parts of the ARN before the fifth colon, such as the service or account"."""
    for resource in ("arn:aws:dynamodb:*:${aws:PrincipalAccount}:table/prod-*", "arn:aws:${aws:PrincipalTag/svc}:::x"):
        (warning,) = parse_policy(doc({**ALLOW_ALL, "Resource": ["*", resource]})).warnings
        assert warning.path == "Statement[0].Resource[1]" and "before the ARN's fifth colon" in warning.message
    assert not parse_policy(doc({**ALLOW_ALL, "Resource": "arn:aws:dynamodb:*:111122223333:table/${aws:username}"})).warnings


def test_unknown_key_hint_suggests_the_global_key() -> None:
    (warning,) = parse_policy(doc({**ALLOW_ALL, "Condition": {"StringEquals": {"SourceIp": "x"}}})).warnings
    assert warning.hint == "did you mean `aws:SourceIp`?"


def test_notprincipal_in_a_trust_policy_warns() -> None:
    policy = parse_policy(doc({"Effect": "Deny", "Action": "sts:AssumeRole", "NotPrincipal": {"AWS": "111122223333"}}),
                          "trust")
    assert any("does not accept `NotPrincipal` in a role trust policy" in w.message for w in policy.warnings)


# https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_syntax.html: "The effect
# of Allow is only supported for the RCPFullAWSAccess policy", and NotAction is not among an RCP's elements.
RCP_ALLOW_ALL = {**ALLOW_ALL, "Principal": "*"}


@pytest.mark.parametrize(("statement", "path", "fragment"), [
    ({**RCP_ALLOW_ALL, "Action": "s3:GetObject"}, "Statement[0].Effect", "only in its own `RCPFullAWSAccess`"),
    ({**RCP_ALLOW_ALL, "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}, "Statement[0].Effect",
     "allows nothing and limits nothing"),
    ({"Effect": "Deny", "Principal": "*", "NotAction": "s3:GetObject", "Resource": "*"}, "Statement[0].NotAction",
     "does not accept `NotAction` in a resource control policy"),
])
def test_a_resource_control_policy_only_denies(statement: dict, path: str, fragment: str) -> None:
    (warning,) = parse_policy(doc(statement), "rcp").warnings  # evaluated as written: it changes no decision
    assert warning.path == path and fragment in warning.message
    (error,) = validate_policy(doc(statement), "rcp", creating=True)  # Organizations refuses to store it
    assert error.severity == "error" and error.path == path


def test_rcp_full_aws_access_itself_and_denies_are_clean() -> None:
    for statement in (RCP_ALLOW_ALL, {**RCP_ALLOW_ALL, "Action": ["*"], "Resource": ["*"]},
                      {**RCP_ALLOW_ALL, "Effect": "Deny", "Action": "s3:*"}):
        assert validate_policy(doc(statement), "rcp", creating=True) == []
    # the same Allow is no problem where a policy may grant
    assert validate_policy(doc({**RCP_ALLOW_ALL, "Action": "s3:GetObject"}), "resource") == []


def test_notprincipal_with_allow_warns() -> None:
    policy = parse_policy(doc({**ALLOW_ALL, "NotPrincipal": {"AWS": "111122223333"}}), "resource")
    assert any("anonymous" in w.message for w in policy.warnings)


def test_action_without_service_prefix_gets_an_example() -> None:
    problem = only_error(doc({**ALLOW_ALL, "Action": "GetObject"}))
    assert problem.hint == "write actions as `service:Action`, for example `s3:GetObject`"


def test_repr_is_one_line() -> None:
    policy = parse_policy(doc(ALLOW_ALL), name="AdminAccess")
    assert repr(policy) == "<Policy AdminAccess (identity policy, 1 statement)>"
    assert repr(policy.statements[0]) == "<Statement Statement[0]: Allow>"


# https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html reports as errors
# "Missing brace in variable" ("The policy variable is missing a closing curly brace"), "Empty variable",
# "Unsupported space in variable" and "Variable unsupported in element" ("Policy variables are supported in the
# Resource and Condition elements"). iamkit would read each as plain text that matches nothing.
@pytest.mark.parametrize(("statement", "path", "fragment"), [
    ({**ALLOW_ALL, "Resource": "arn:aws:s3:::home/${aws:username/*"}, "Statement[0].Resource",
     "holds a `${` that starts no policy variable"),
    ({**ALLOW_ALL, "Resource": ["*", "arn:aws:s3:::home/${}/*"]}, "Statement[0].Resource[1]", "starts no policy variable"),
    ({**ALLOW_ALL, "Condition": {"StringLike": {"s3:prefix": ["home/${aws: username}/*"]}}},
     "Statement[0].Condition.StringLike.s3:prefix[0]", "starts no policy variable"),
    ({**ALLOW_ALL, "Principal": {"AWS": "arn:aws:iam::111122223333:user/${aws:username}"}},
     "Statement[0].Principal.AWS", "`Principal` substitutes none"),
    ({**ALLOW_ALL, "Action": "s3:${aws:PrincipalTag/action}"}, "Statement[0].Action", "`Action` substitutes none"),
])
def test_a_broken_or_misplaced_policy_variable_is_an_error(statement: dict, path: str, fragment: str) -> None:
    kind = "resource" if "Principal" in statement else "identity"
    problem = only_error(json.dumps(doc(statement), indent=2), kind)
    assert (problem.path, problem.line is not None) == (path, True)
    assert fragment in problem.message
    assert problem.hint is not None and ("`Resource`" in problem.hint or "`${aws:username}`" in problem.hint)



# Errors that teach: each of these said too little or the wrong thing. The policy grammar
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html): `<effect_block> = "Effect" :
# ("Allow" | "Deny")`, `<statement_block> = "Statement" : [ <statement>, <statement>, ... ]`, `<id_block> = "Id" :
# <policy_id_string>`. reference_policies_elements_principal.html: "You cannot use a wildcard to match part of a
# principal name or ARN"; access-analyzer-reference-policy-checks.html, "Unsupported wildcard in principal":
# "Wildcards (*, ?) are not supported with the principal key".
@pytest.mark.parametrize(("source", "kind", "path", "message", "hint"), [
    (doc({**ALLOW_ALL, "Effect": ["Allow"]}), "identity", "Statement[0].Effect",
     "`Effect` must be the string `Allow` or `Deny`, not a list", 'write `"Effect": "Allow"`'),
    ({"Version": "2012-10-17", "Statement": []}, "identity", "Statement", "`Statement` is an empty list",
     "add a statement"),
    ({"Version": "2012-10-17", "Statement": "Allow"}, "identity", "Statement",
     "`Statement` must be a statement object or a list of them, not a string", '`"Statement": [{"Effect"'),
    (doc(ALLOW_ALL, Id=7), "identity", "Id", "`Id` must be a string, not a number", "remove `Id`"),
    (doc({**ALLOW_ALL, "Condition": {"StringEquals": {}}}), "identity", "Statement[0].Condition.StringEquals",
     "`StringEquals` names no condition key", "or remove `StringEquals`"),
    (doc({**ALLOW_ALL, "Principal": {"AWS": "arn:aws:iam::*:root"}}), "resource", "Statement[0].Principal.AWS",
     "principal `arn:aws:iam::*:root` uses a wildcard inside an ARN", "`aws:PrincipalArn`"),
    (doc({**ALLOW_ALL, "Principal": {"AWS": "arn:aws:iam::111122223333:user/dev?"}}), "resource",
     "Statement[0].Principal.AWS", "uses a wildcard inside an ARN", "`ArnLike`"),
    (doc({**ALLOW_ALL, "Principal": {"Service": "ec2.amazonaws.co?"}}), "resource", "Statement[0].Principal.Service",
     "service principal `ec2.amazonaws.co?` uses a wildcard", "`ec2.amazonaws.com`"),
])
def test_messages_say_what_is_wrong_and_how_to_fix_it(source, kind: str, path: str, message: str, hint: str) -> None:
    problem = only_error(json.dumps(source, indent=2), kind)
    assert problem.path == path and message in problem.message
    assert problem.hint is not None and hint in problem.hint
    assert problem.line is not None
