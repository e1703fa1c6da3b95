"""The trace: every statement, every condition and every value compared, recorded as evaluated."""

from __future__ import annotations

from conftest import user_scenario
from iamkit import Layer, Outcome, evaluate
from iamkit.engine.principals import PrincipalMatch

BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket"


def test_trace_records_why_each_statement_did_or_did_not_apply() -> None:
    scenario = user_scenario({"Sid": "A", "Effect": "Allow", "Action": "s3:Get*", "Resource": f"{BUCKET}/*",
                              "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
                                            "Bool": {"aws:SecureTransport": "true"}}},
                             {"aws:SourceIp": "203.0.113.9"})
    scenario["identityPolicies"][0]["Statement"] += [
        {"Sid": "B", "Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"},
        {"Sid": "C", "Effect": "Deny", "Action": "s3:*", "Resource": f"{BUCKET}/private/*"},
    ]
    decision = evaluate(scenario)
    a, b, c = decision.trace
    assert (a.action, a.action_entry, a.resource, a.resource_entry) == (True, "s3:Get*", True, f"{BUCKET}/*")
    ip, tls = a.conditions
    assert (ip.result, ip.context_values, ip.values) == (True, ("203.0.113.9",), ("203.0.113.0/24",))
    assert (tls.result, tls.missing, tls.context_values) == (False, True, None)
    assert a.conditions_met is False and a.failed_element == "Condition"
    assert (b.action, b.resource, b.conditions, b.failed_element) == (False, None, (), "Action")
    assert (c.action, c.resource, c.failed_element) == (True, False, "Resource")
    assert decision.outcome is Outcome.IMPLICIT_DENY
    assert decision.missing_context_keys == ("aws:SecureTransport",)


def test_context_keys_match_case_insensitively_and_principal_keys_are_derived() -> None:
    decision = evaluate(user_scenario({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {
        "StringEquals": {"AWS:USERNAME": "alice", "aws:principaltype": "User",
                         "aws:PrincipalArn": "arn:aws:iam::111122223333:user/alice"},
        "StringLike": {"AWS:SourceVPC": "vpc-*"}}}, {"aws:SourceVpc": "vpc-1234"}))
    assert decision.allowed
    assert decision.context["aws:PrincipalAccount"] == "111122223333"
    # Nothing the request did not carry is invented.
    assert "aws:CurrentTime" not in decision.context and "aws:SourceIp" not in decision.context


def test_request_context_is_authoritative_over_derived_keys() -> None:
    decision = evaluate(user_scenario({"Effect": "Allow", "Action": "*", "Resource": "*",
                                       "Condition": {"StringEquals": {"aws:username": "mallory"}}},
                                      {"aws:username": "mallory"}))
    assert decision.allowed and decision.context["aws:username"] == "mallory"


def test_resource_policy_trace_records_how_the_principal_was_named() -> None:
    scenario = user_scenario({"Effect": "Allow", "Action": "ec2:*", "Resource": "*"})
    scenario["resourcePolicy"] = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Account", "Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "s3:*", "Resource": "*"},
        {"Sid": "Alice", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/alice"},
         "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"},
        {"Sid": "Bob", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/bob"},
         "Action": "s3:GetObject", "Resource": "*"}]}
    decision = evaluate(scenario)
    account, alice, bob = decision.statements(Layer.RESOURCE)
    assert (account.principal, alice.principal, bob.principal) == (PrincipalMatch.ACCOUNT, PrincipalMatch.EXACT, None)
    assert bob.failed_element == "Principal"
    assert decision.allowed
    assert decision.deciding_step.name == "resource"
    assert decision.deciding is alice  # the grant that names alice, not the account-wide statement


def test_the_wildcard_grant_outranks_the_role_grant_it_is_not_limited_by() -> None:
    # "*" with an aws:PrincipalArn condition grants the role's sessions, and the role given as the
    # caller, without the limits of a session policy or permissions boundary; the role ARN grants
    # them within those limits. Allows add up, so the wildcard statement decides
    # (reference_policies_evaluation-logic_policy-eval-denyallow.html: "Permissions boundaries and
    # session policies do not limit permissions granted using the aws:PrincipalArn condition key
    # with a wildcard(*) in the Principal element"; cases in resource-policies.json).
    session = "arn:aws:sts::111122223333:assumed-role/AnalyticsRole/q1-report"
    role = "arn:aws:iam::111122223333:role/AnalyticsRole"
    ec2_only = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}
    scenario = {
        "request": {"principal": session, "action": "s3:GetObject", "resource": f"{BUCKET}/q1.csv"},
        "identityPolicies": [],
        "sessionPolicy": ec2_only,
        "resourcePolicy": {"Version": "2012-10-17", "Statement": [
            {"Sid": "Role", "Effect": "Allow", "Principal": {"AWS": role}, "Action": "s3:GetObject", "Resource": "*"},
            {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*",
             "Condition": {"ArnEquals": {"aws:PrincipalArn": role}}}]},
    }
    decision = evaluate(scenario)
    assert decision.allowed and decision.deciding is not None and decision.deciding.statement.sid == "Everyone"
    # The role itself as the caller, under a permissions boundary that allows only EC2.
    scenario["request"]["principal"] = role
    del scenario["sessionPolicy"]
    scenario["permissionsBoundary"] = ec2_only
    decision = evaluate(scenario)
    assert decision.allowed and decision.deciding is not None and decision.deciding.statement.sid == "Everyone"
    # Without the wildcard statement the boundary stops the role's grant, and says so.
    del scenario["resourcePolicy"]["Statement"][1]
    decision = evaluate(scenario)
    assert decision.outcome is Outcome.IMPLICIT_DENY and decision.blocked_by is Layer.BOUNDARY


def test_unresolved_resource_variable_is_recorded() -> None:
    scenario = user_scenario({"Effect": "Allow", "Action": "s3:*",
                              "Resource": f"{BUCKET}/${{aws:PrincipalTag/team}}/*"})
    decision = evaluate(scenario)
    (trace,) = decision.trace
    assert trace.resource is False and trace.unresolved == ("aws:PrincipalTag/team",)
    assert decision.missing_context_keys == ("aws:PrincipalTag/team",)


def test_a_multivalued_key_is_never_a_policy_variable_and_is_not_missing() -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html:
    "you cannot use a multivalued context key as a policy variable". Whether a key is multivalued
    is its type, not how many values one request carries: a list of one is not substituted either,
    and the key, which the request does give, is not reported missing. (What AWS answers for such
    a policy is not documented; iamkit reads the variable as having no value, and says so.)"""
    note = ("`${aws:TagKeys}` names a multivalued key (the request gives a list), which AWS never substitutes as a "
            "policy variable, so it has no value")
    in_resource = {"Effect": "Allow", "Action": "s3:*", "Resource": f"{BUCKET}/${{aws:TagKeys}}*"}
    in_condition = {"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                    "Condition": {"StringEquals": {"aws:ResourceTag/owner": "${aws:TagKeys}"}}}
    for tags in (["report.csv"], ["report.csv", "cost"], []):
        context = {"aws:TagKeys": tags, "aws:ResourceTag/owner": "report.csv"}
        for statement in (in_resource, in_condition):
            decision = evaluate(user_scenario(statement, context))
            (trace,) = decision.trace
            unresolved = trace.conditions[0].unresolved if trace.conditions else trace.unresolved
            assert decision.outcome is Outcome.IMPLICIT_DENY and unresolved == ("aws:TagKeys",), (tags, statement)
            assert decision.missing_context_keys == () and decision.notes == (note,), (tags, statement)
    # A default still stands in, as for a variable whose key is missing.
    with_default = {**in_resource, "Resource": f"{BUCKET}/${{aws:TagKeys, 'report'}}*"}
    assert evaluate(user_scenario(with_default, {"aws:TagKeys": ["x"]})).allowed


def test_evaluation_surprises_are_notes_not_exceptions() -> None:
    decision = evaluate(user_scenario({"Effect": "Allow", "Action": "*", "Resource": "*",
                                       "Condition": {"NumericLessThan": {"s3:max-keys": "10"}}},
                                      {"s3:max-keys": "lots"}))
    assert not decision.allowed
    assert decision.notes == ("the request's value `lots` is not a valid Numeric value, so it matches nothing",)


def test_steps_follow_the_flowchart() -> None:
    scenario = user_scenario({"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    scenario["scps"] = [[{"Version": "2012-10-17", "Statement": [{"Sid": "All", "Effect": "Allow", "Action": "*",
                                                                    "Resource": "*"}]}],
                        [{"Version": "2012-10-17", "Statement": [{"Sid": "Ec2", "Effect": "Allow",
                                                                    "Action": "ec2:*", "Resource": "*"}]}]]
    decision = evaluate(scenario)
    assert [(s.name, s.verdict) for s in decision.steps] == [
        ("service-rule", "pass"), ("deny", "pass"), ("rcp", "skip"), ("scp", "implicit"),
        ("resource", "unreached"), ("identity", "unreached"), ("boundary", "unreached"), ("session", "unreached")]
    assert [s.name for s in decision.steps if s.deciding] == ["scp"]
    assert decision.blocked_by is Layer.SCP and decision.deciding is None
    assert "level 1" in decision.deciding_step.detail
    assert decision.summary() == "Implicitly denied: no SCP at level 1 of the organization allows the request."


def test_a_kms_key_without_a_given_key_policy_is_read_as_having_the_default_one() -> None:
    # Every KMS key has a key policy; without one given, the step says which one iamkit assumed
    # (key-policy-default.html) instead of "the resource has no resource-based policy".
    key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    scenario = user_scenario({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"})
    scenario["request"].update(action="kms:Decrypt", resource=key)
    decision = evaluate(scenario)
    (resource_step,) = [s for s in decision.steps if s.name == "resource"]
    assert decision.allowed and "default key policy" in resource_step.detail


def test_a_key_policy_naming_the_account_by_id_grants_the_root_user_and_decides() -> None:
    # The account id and its root ARN name the same principal, and for the root user that is
    # itself (reference_policies_elements_principal.html: "The account ARN and the shortened
    # account ID behave the same way"; key-policy-default.html gives the account root full access).
    key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    decisions = []
    for named in ("111122223333", "arn:aws:iam::111122223333:root"):
        decisions.append(evaluate({
            "request": {"principal": "arn:aws:iam::111122223333:root", "action": "kms:Decrypt", "resource": key},
            "identityPolicies": [],
            "resourcePolicy": {"Version": "2012-10-17", "Statement": [
                {"Sid": "EnableRoot", "Effect": "Allow", "Principal": {"AWS": named}, "Action": "kms:*",
                 "Resource": "*"}]},
        }))
    for decision in decisions:
        assert decision.allowed and decision.deciding is not None and decision.deciding.statement.sid == "EnableRoot"
    assert decisions[0].explain() == decisions[1].explain()


def test_a_session_named_like_a_service_linked_role_is_still_under_the_scps_and_told_why() -> None:
    # SCPs do not restrict service-linked roles (orgs_manage_policies_scps.html: "SCPs do not affect
    # any service-linked role"), but a session's ARN does not carry the role's path, so iamkit cannot
    # tell; it fails closed and says how to ask for the service-linked role.
    scenario = {
        "request": {"principal": "arn:aws:sts::111122223333:assumed-role/AWSServiceRoleForSupport/support",
                    "action": "support:DescribeCases", "resource": "*"},
        "identityPolicies": [{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "support:*", "Resource": "*"}]}],
        "scps": [[{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}]],
    }
    decision = evaluate(scenario)
    assert decision.outcome is Outcome.IMPLICIT_DENY and decision.blocked_by is Layer.SCP
    (note,) = [n for n in decision.notes if "service-linked" in n]
    assert "role/aws-service-role/" in note
    scenario["request"]["principal"] = "arn:aws:iam::111122223333:role/aws-service-role/support.amazonaws.com/" \
                                       "AWSServiceRoleForSupport"
    assert evaluate(scenario).allowed


def test_a_service_rule_deny_is_headlined_as_one() -> None:
    # The explanation must not say "nothing allowed it" when an Allow applied and a credential
    # limit decided (API_GetSessionToken.html: "You cannot call any IAM API operations unless MFA
    # authentication information is included in the request").
    decision = evaluate({
        "request": {"principal": "arn:aws:iam::111122223333:user/alice", "action": "iam:ListUsers", "resource": "*",
                    "context": {"aws:TokenIssueTime": "2026-12-07T08:00:00Z"}},
        "identityPolicies": [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}],
    })
    assert decision.outcome is Outcome.IMPLICIT_DENY and decision.deciding_step.name == "service-rule"
    assert decision.headline == "DENIED (implicit deny: a service rule no policy lifts)"
    assert decision.explain().startswith(decision.headline) and decision.headline in decision._repr_html_()
