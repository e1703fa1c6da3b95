"""Invariants that must hold for every policy, checked on generated inputs (hypothesis)."""

from __future__ import annotations

import copy
import json
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamkit import IamkitError, Outcome, evaluate, load_scenario, parse_policy, validate_policy

ACCOUNTS = ("111122223333", "444455556666")
PRINCIPALS = [f"arn:aws:iam::{a}:user/alice" for a in ACCOUNTS] + [
    "arn:aws:iam::111122223333:role/app/Deploy",
    "arn:aws:sts::111122223333:assumed-role/Deploy/build-7",
    "arn:aws:sts::111122223333:federated-user/carol",
    "arn:aws:iam::111122223333:root",
]
ACTIONS = ["s3:GetObject", "s3:PutObject", "iam:CreateUser", "sts:AssumeRole", "kms:Decrypt"]
RESOURCES = ["arn:aws:s3:::amzn-s3-demo-bucket/alice/report.csv", "arn:aws:iam::111122223333:role/app/Deploy",
             "arn:aws:kms:us-east-1:444455556666:key/1234", "*"]
ACTION_PATTERNS = ["*", "s3:*", "s3:Get*", "s3:?etObject", "iam:*", "sts:AssumeRole", "kms:*", "S3:GETOBJECT"]
RESOURCE_PATTERNS = ["*", "arn:aws:s3:::amzn-s3-demo-bucket/*", "arn:aws:s3:::amzn-s3-demo-bucket/${aws:username}/*",
                     "arn:aws:iam::*:role/*", "arn:aws:kms:*:*:key/*", "arn:aws:s3:::other/*"]
CONDITIONS = [
    {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
    {"StringNotEquals": {"aws:PrincipalTag/team": "red"}},
    {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
    {"ForAnyValue:StringLike": {"aws:TagKeys": ["env*"]}},
    {"StringEqualsIfExists": {"aws:RequestedRegion": "eu-west-1"}},
    {"Null": {"aws:SourceIp": "false"}},
]
PRINCIPAL_BLOCKS = ["*", {"AWS": "111122223333"}, {"AWS": "arn:aws:iam::111122223333:user/alice"},
                    {"AWS": "arn:aws:iam::111122223333:role/app/Deploy"}, {"AWS": ACCOUNTS[1]},
                    {"Service": "ec2.amazonaws.com"}]


@st.composite
def statements(draw, principal: bool, effect: str | None = None) -> dict:
    action = draw(st.sampled_from(["Action", "NotAction"]))
    resource = draw(st.sampled_from(["Resource", "Resource", "NotResource"]))
    statement = {
        "Effect": effect or draw(st.sampled_from(["Allow", "Deny"])),
        action: draw(st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=3)),
        resource: draw(st.lists(st.sampled_from(RESOURCE_PATTERNS), min_size=1, max_size=2)),
    }
    if draw(st.booleans()):
        statement["Condition"] = draw(st.sampled_from(CONDITIONS))
    if principal:
        statement["Principal" if draw(st.integers(0, 4)) else "NotPrincipal"] = draw(st.sampled_from(PRINCIPAL_BLOCKS))
    return statement


def policies(principal: bool = False, rcp: bool = False, trust: bool = False):
    """Policies of 1–3 statements; an RCP names `"*"`, a trust policy has no resource element."""

    def shape(sts: list[dict]) -> dict:
        if rcp:
            sts = [{**s, "Principal": "*"} for s in sts]
        if trust:
            sts = [{k: v for k, v in s.items() if k not in ("Resource", "NotResource")} for s in sts]
        return {"Version": "2012-10-17", "Statement": sts}

    return st.lists(statements(principal), min_size=1, max_size=3).map(shape)


@st.composite
def scenarios(draw) -> dict:
    action = draw(st.sampled_from(ACTIONS))
    resource = draw(st.sampled_from(RESOURCES))
    optional = lambda strategy: draw(st.one_of(st.none(), strategy))  # noqa: E731
    scenario = {
        "id": "generated",
        "request": {
            "principal": draw(st.sampled_from(PRINCIPALS)),
            "action": action,
            "resource": resource,
            "context": draw(st.fixed_dictionaries({}, optional={
                "aws:MultiFactorAuthPresent": st.sampled_from(["true", "false"]),
                "aws:SourceIp": st.sampled_from(["203.0.113.7", "198.51.100.1", "2001:db8::1"]),
                "aws:TagKeys": st.lists(st.sampled_from(["env", "team", "environment"]), max_size=3),
                "aws:PrincipalTag/team": st.sampled_from(["red", "blue"]),
            })),
        },
        "identityPolicies": draw(st.lists(policies(), max_size=2)),
        "resourcePolicy": optional(policies(principal=True, trust=action == "sts:AssumeRole")),
        "permissionsBoundary": optional(policies()),
        "sessionPolicy": optional(policies()),
        "scps": optional(st.lists(st.lists(policies(), min_size=1, max_size=2), min_size=1, max_size=2)),
        "rcps": optional(st.lists(st.lists(policies(rcp=True), min_size=1, max_size=1), max_size=2)),
    }
    return scenario


LAYERS = ["identityPolicies", "resourcePolicy", "permissionsBoundary", "sessionPolicy", "scps", "rcps"]


def add_statement(scenario: dict, layer: str, statement: dict) -> dict:
    changed = copy.deepcopy(scenario)
    if layer in ("scps", "rcps"):
        if not changed[layer]:
            return changed
        changed[layer][0][0]["Statement"].append({**statement, **({"Principal": "*"} if layer == "rcps" else {})})
    elif layer == "identityPolicies":
        changed[layer].append({"Version": "2012-10-17", "Statement": [statement]})
    elif changed[layer] is not None:
        extra = dict(statement)
        if layer == "resourcePolicy":
            extra["Principal"] = "*"
            if scenario["request"]["action"] == "sts:AssumeRole":
                extra.pop("Resource", None)
                extra.pop("NotResource", None)
        changed[layer]["Statement"].append(extra)
    return changed


COMMON = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@COMMON
@given(scenarios(), st.sampled_from(LAYERS), statements(principal=False, effect="Deny"))
def test_adding_a_deny_never_turns_a_denial_into_an_allow(scenario, layer, deny) -> None:
    before = evaluate(scenario)
    after = evaluate(add_statement(scenario, layer, deny))
    if not before.allowed:
        assert not after.allowed, (before.explain(), after.explain())
    if before.outcome is Outcome.EXPLICIT_DENY:
        assert after.outcome is Outcome.EXPLICIT_DENY


@COMMON
@given(scenarios(), st.sampled_from(["identityPolicies", "resourcePolicy", "scps"]),
       statements(principal=False, effect="Allow"))
def test_adding_an_allow_never_turns_an_allow_into_a_denial(scenario, layer, allow) -> None:
    if evaluate(scenario).allowed:
        assert evaluate(add_statement(scenario, layer, allow)).allowed


@COMMON
@given(scenarios())
def test_determining_statements_match_the_outcome(scenario) -> None:
    decision = evaluate(scenario)
    effects = {t.effect for t in decision.determining}
    assert all(t.matched for t in decision.determining)
    if decision.outcome is Outcome.EXPLICIT_DENY:
        assert effects == {"Deny"}
    elif decision.outcome is Outcome.IMPLICIT_DENY:
        # A layer that allowed nothing, or a kind of credentials that can never call the action.
        assert not decision.determining
        assert (decision.blocked_by is not None) != (decision.deciding_step.name == "service-rule")
    else:
        assert effects <= {"Allow"}
    json.loads(decision.to_json())
    assert decision.explain() and decision._repr_html_()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
    | st.sampled_from(["Allow", "Deny", "*", "s3:GetObject", "2012-10-17", "arn:aws:s3:::b/*", "${aws:username}"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["Version", "Statement", "Effect", "Action", "NotAction", "Resource", "Principal",
                         "NotPrincipal", "Condition", "Sid", "StringLike", "AWS", "aws:username", "Id",
                         "ForAllValues:StringEquals", "NumericLessThan", "x"]) | st.text(max_size=5),
        children, max_size=4),
    max_leaves=20,
)


@COMMON
@given(JSON, st.sampled_from(["identity", "resource", "trust", "scp", "rcp"]))
def test_generated_documents_never_crash_the_parser(document, kind) -> None:
    for source in (document, json.dumps(document)):
        try:
            parse_policy(source, kind)
        except IamkitError:
            pass
        validate_policy(source, kind)


@COMMON
@given(JSON, scenarios())
def test_malformed_scenarios_raise_only_iamkit_errors(junk, scenario) -> None:
    rng = random.Random(json.dumps(junk, sort_keys=True, default=str))
    broken = copy.deepcopy(scenario)
    target = rng.choice(["request", "identityPolicies", "resourcePolicy", "scps", "id", "request.context",
                         "request.principal", "request.action"])
    if "." in target:
        outer, inner = target.split(".")
        broken[outer][inner] = junk
    else:
        broken[target] = junk
    try:
        decision = evaluate(broken)
    except IamkitError:
        return
    assert decision.outcome in tuple(Outcome)


def test_load_scenario_rejects_what_it_cannot_read() -> None:
    for junk in ("[]", "{", "null", '{"request": 1}'):
        try:
            load_scenario(junk)
        except IamkitError:
            continue
        raise AssertionError(f"{junk!r} was accepted")
