"""The fast paths give exactly the answers of the full evaluator.

``verdict()`` (the batch line's engine) traces only the statements that apply, and
``PolicySet.check`` answers from a plan worked out once per action and resource; the Decision of
``evaluate()`` traces every one. For every scenario of tests/cases/docs, of the shared dev corpus
(when it is there) and of generated ones, and for many requests against one policy set, they
must give the same outcome, deciding and determining statements, blocking layer and missing
context keys, and so the same batch line. The compiled matchers must match what a plain reading
of the wildcards matches.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from test_properties import ACTIONS, COMMON, PRINCIPALS, RESOURCES, scenarios

from conftest import SHARED, load_cases
from iamkit import ConditionResult, Decision, Outcome, PolicySet, Request, StatementTrace, Verdict, evaluate, load_scenario
from iamkit.cli.simulate import result_line, result_record
from iamkit.engine.evaluator import Plan, verdict
from iamkit.engine.matching import action_matcher, arn_matcher, glob_matcher, pieces_matcher

CORPUS = SHARED / "corpus" / "reference-dev.jsonl"
DOC_SCENARIOS = [case["scenario"] for _, data in load_cases("docs") for case in data["cases"]]
CORPUS_SCENARIOS = ([{k: v for k, v in json.loads(line).items() if k != "expected"}
                     for line in CORPUS.read_text().splitlines() if line.strip()] if CORPUS.exists() else [])


def answer(d: Decision | Verdict) -> tuple[Any, ...]:
    return d.outcome, d.deciding, d.determining, d.blocked_by, d.missing_context_keys, d.scenario_id


def check_same(raw: dict[str, Any]) -> None:
    scenario = load_scenario(raw)
    full, fast = evaluate(scenario), verdict(scenario)
    assert answer(fast) == answer(full)
    # The engine builds these named tuples with tuple.__new__, which no field count checks: whole, each.
    traces = [*full.trace, *fast.determining]
    assert len(fast) == len(Verdict._fields)
    assert all(len(t) == len(StatementTrace._fields) for t in traces)
    assert all(len(c) == len(ConditionResult._fields) for t in traces for c in t.conditions)
    policies = PolicySet(scenario)
    assert answer(policies.check()) == answer(full) and answer(policies.check()) == answer(full)  # planned, then remembered
    assert fast.allowed is full.allowed
    assert result_record(fast) == result_record(full)
    line, bad = result_line(1, json.dumps(raw))  # written out, character for character what json.dumps writes
    assert not bad and line == json.dumps(result_record(full))


def test_a_result_line_escapes_what_json_escapes() -> None:
    raw = {**DOC_SCENARIOS[0], "id": 'a "quote", a \\ and a / \n\t\x00\x7f é \u2028 😀'}
    check_same(raw)
    line, _ = result_line(1, json.dumps(raw))
    assert line.isascii() and json.loads(line)["id"] == raw["id"]


def test_the_documented_scenarios_get_the_full_evaluators_answer() -> None:
    assert len(DOC_SCENARIOS) > 50
    for raw in DOC_SCENARIOS:
        check_same(raw)


@pytest.mark.skipif(not CORPUS_SCENARIOS, reason=f"the shared corpus is not at {CORPUS}")
def test_every_corpus_scenario_gets_the_full_evaluators_answer() -> None:
    outcomes = set()
    for raw in CORPUS_SCENARIOS:
        check_same(raw)
        outcomes.add(evaluate(load_scenario(raw)).outcome)
    assert outcomes == set(Outcome)


@COMMON
@given(scenarios())
def test_generated_scenarios_get_the_full_evaluators_answer(raw: dict) -> None:
    check_same(raw)


def test_the_fast_answer_is_not_a_copy_of_one_decision() -> None:
    # A guard on the tests above: two different answers must compare unequal.
    allow = load_scenario({"request": {"principal": "arn:aws:iam::111122223333:user/alice", "action": "s3:GetObject"},
                           "identityPolicies": [{"Version": "2012-10-17", "Statement": [
                               {"Sid": "A", "Effect": "Allow", "Action": "s3:Get*", "Resource": "*",
                                "Condition": {"StringEquals": {"aws:PrincipalTag/team": "red"}}}]}]})
    other = Request("arn:aws:iam::111122223333:user/alice", "s3:GetObject", context={"aws:PrincipalTag/team": "red"})
    assert answer(verdict(allow)) != answer(verdict(allow, request=other))
    assert verdict(allow).missing_context_keys == ("aws:PrincipalTag/team",)
    assert verdict(allow, request=other).deciding.sid == "A"  # type: ignore[union-attr]


def test_a_policy_set_checks_fast_and_evaluates_in_full() -> None:
    policies = PolicySet({
        "id": "account",
        "request": {"principal": "arn:aws:iam::111122223333:user/alice", "action": "s3:GetObject",
                    "resource": "arn:aws:s3:::amzn-s3-demo-bucket/alice/b"},
        "identityPolicies": [{"Version": "2012-10-17", "Statement": [
            {"Sid": "Own", "Effect": "Allow", "Action": "s3:*",
             "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/${aws:username}/*"},
            {"Sid": "NoDelete", "Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"}]}],
    })
    requests = [Request(f"arn:aws:iam::111122223333:user/{user}", action, "arn:aws:s3:::amzn-s3-demo-bucket/alice/a")
                for user in ("alice", "bob") for action in ("s3:GetObject", "s3:DeleteObject")]
    checked = list(policies.check_all(requests))
    assert [v.outcome.value for v in checked] == ["allowed", "explicitDeny", "implicitDeny", "explicitDeny"]
    assert [v.deciding.sid if v.deciding else None for v in checked] == ["Own", "NoDelete", None, "NoDelete"]
    for request, fast in zip(requests, checked, strict=True):
        full = policies.evaluate(request)
        assert answer(full) == answer(fast) and answer(policies.check(request)) == answer(fast)
        assert len(full.trace) == 2  # the full evaluation traces every statement
    assert policies.check().allowed and repr(policies) == "<PolicySet account (2 statements)>"
    assert repr(checked[1]) == "<Verdict explicitDeny by NoDelete (identity policy 0, Statement[1])>"


# The compiled matchers against a plain reading of the wildcards: `*` any run, `?` one character,
# actions without case, an ARN's first five segments each matched on its own.
def plain(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.S) is not None


def plain_arn(pattern: str, value: str) -> bool:
    if pattern == "*":
        return True
    ours, theirs = pattern.split(":", 5), value.split(":", 5)
    return len(ours) == len(theirs) and all(plain(p, v) for p, v in zip(ours, theirs, strict=True))


TEXT = st.text(alphabet="ab:/?*", max_size=10)


@COMMON
@given(TEXT, TEXT)
def test_compiled_globs_match_what_the_wildcards_say(pattern: str, value: str) -> None:
    assert bool(glob_matcher(pattern)(value)) == plain(pattern, value)
    assert bool(arn_matcher(pattern)(value)) == plain_arn(pattern, value)
    assert bool(action_matcher(pattern)(value.lower())) == plain(pattern.lower(), value.lower())


def test_compiled_globs_on_arn_shapes() -> None:
    cases = [
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b", True),
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket", False),
        ("arn:aws:s3:::bucket/a?c", "arn:aws:s3:::bucket/abc", True),
        ("arn:aws:s3:::bucket/a?c", "arn:aws:s3:::bucket/abbc", False),
        ("arn:aws:iam::*:role/*", "arn:aws:iam::111122223333:role/x", True),
        ("arn:aws:iam::*:role/*", "arn:aws:iam::1111:22223333:role/x", False),  # `*` stays in its segment
        ("arn:aws:s3:::*", "arn:aws:s3:us-east-1::x", False),
        ("arn:aws:s3:::b/*x*y", "arn:aws:s3:::b/..x..y", True),
        ("arn:aws:s3:::b/*x*y", "arn:aws:s3:::b/..y..x", False),
    ]
    for pattern, value, expected in cases:
        assert bool(arn_matcher(pattern)(value)) is expected, (pattern, value)
        assert plain_arn(pattern, value) is expected


@pytest.mark.skipif(not CORPUS_SCENARIOS, reason=f"the shared corpus is not at {CORPUS}")
def test_a_policy_set_remembers_nothing_that_changes_an_answer() -> None:
    # Each scenario's policies against its own request and other scenarios' requests, twice:
    # the second time the memo answers from what the first remembered.
    scenarios = [load_scenario(raw) for raw in CORPUS_SCENARIOS[:300]]
    others = [s.request for s in scenarios[:60:6]]
    remembered = 0
    for scenario in scenarios:
        policies = PolicySet(scenario)
        own = scenario.request
        asked = [own, replace(own, resource="*"), *others,
                 *(replace(own, resource=r.resource) for r in others), *(replace(own, action=r.action) for r in others),
                 *(replace(own, context=r.context) for r in others), *(replace(own, principal=r.principal) for r in others)]
        for _ in range(2):
            for request in asked:
                assert answer(policies.check(request)) == answer(evaluate(scenario, request=request))
        remembered += sum(len(traces) for pair in policies._plan.pairs.values() for *_, traces in pair.slots)
    assert remembered > 100


def plain_pieces(pieces: tuple[tuple[str, bool], ...], value: str, arn: bool) -> bool:
    """Pieces of text, each read with its wildcards (policy text) or literally (a variable's value)."""
    if pieces == (("*", True),):
        return True
    tokens = [(c, active and c in "*?") for text, active in pieces for c in text]
    segments: list[list[tuple[str, bool]]] = [[]]
    for token in tokens:
        if arn and token[0] == ":" and len(segments) < 6:
            segments.append([])
        else:
            segments[-1].append(token)
    parts = value.split(":", 5) if arn else [value]
    if len(parts) != len(segments):
        return False
    for segment, part in zip(segments, parts, strict=True):
        regex = "".join(".*" if (c, w) == ("*", True) else "." if w else re.escape(c) for c, w in segment)
        if re.fullmatch(regex, part, re.S) is None:
            return False
    return True


@COMMON
@given(st.lists(st.tuples(TEXT, st.booleans()), min_size=1, max_size=3), TEXT, st.booleans())
@example([("", False), ("*", True)], "a:b", True)  # a lone "*" made of pieces stays one segment
@example([("ab", False), ("*", True), (":*", False)], "ab:c:*", True)
def test_compiled_pieces_match_what_their_wildcards_and_literals_say(pieces: list, value: str, arn: bool) -> None:
    assert bool(pieces_matcher(tuple(pieces), arn)(value)) == plain_pieces(tuple(pieces), value, arn)


def test_a_policy_set_tells_apart_how_a_resource_policy_names_the_caller() -> None:
    # One Allow applies in the resource policy either way; naming alice herself grants, naming
    # only the account delegates to identity policies, and bob has none.
    bucket = "arn:aws:s3:::amzn-s3-demo-bucket/report.csv"
    policies = PolicySet({
        "request": {"principal": "arn:aws:iam::111122223333:user/alice", "action": "s3:GetObject", "resource": bucket},
        "resourcePolicy": {"Version": "2012-10-17", "Statement": [
            {"Sid": "Alice", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/alice"},
             "Action": "s3:GetObject", "Resource": bucket},
            {"Sid": "Bob", "Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "s3:GetObject",
             "Resource": bucket, "Condition": {"StringEquals": {"aws:username": "bob"}}}]},
    })
    alice = policies.scenario.request
    bob = replace(alice, principal="arn:aws:iam::111122223333:user/bob")
    for _ in range(2):
        for request, outcome in ((alice, Outcome.ALLOWED), (bob, Outcome.IMPLICIT_DENY)):
            assert policies.check(request).outcome is outcome
            assert answer(policies.check(request)) == answer(evaluate(policies.scenario, request=request))


REQUESTS = st.builds(
    Request,
    st.sampled_from(PRINCIPALS),
    st.sampled_from(ACTIONS + ["S3:getobject"]),
    st.sampled_from(RESOURCES),
    st.none(),
    st.fixed_dictionaries({}, optional={
        "aws:MultiFactorAuthPresent": st.sampled_from(["true", "false"]),
        "aws:SourceIp": st.sampled_from(["203.0.113.7", "198.51.100.1"]),
        "aws:TagKeys": st.lists(st.sampled_from(["env", "team"]), max_size=2),
        "aws:PrincipalTag/team": st.sampled_from(["red", "blue"]),
        "aws:username": st.sampled_from(["alice", "bob"]),
    }),
)


@COMMON
@given(scenarios(), st.lists(REQUESTS, min_size=1, max_size=6))
def test_a_policy_set_answers_generated_requests_as_the_full_evaluator(raw: dict, requests: list[Request]) -> None:
    policies = PolicySet(raw)
    for request in requests * 2:  # the second time from what the plan remembered
        assert answer(policies.check(request)) == answer(evaluate(policies.scenario, request=request))


ACCOUNT = {
    "id": "account",
    "request": {"principal": "arn:aws:iam::111122223333:user/alice", "action": "s3:GetObject",
                "resource": "arn:aws:s3:::amzn-s3-demo-bucket/alice/a.txt"},
    "identityPolicies": [
        {"Version": "2012-10-17", "Statement": [
            {"Sid": "Own", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
             "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/${aws:username}/*"},
            {"Sid": "List", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::amzn-s3-demo-bucket",
             "Condition": {"StringLike": {"s3:prefix": ["${aws:username}/*", "${aws:PrincipalTag/team}/*"]}}},
            {"Sid": "Tagged", "Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*",
             "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["env"]},
                           "StringEqualsIfExists": {"aws:RequestedRegion": "eu-west-1"}}}]},
        {"Version": "2012-10-17", "Statement": [
            {"Sid": "NoMfa", "Effect": "Deny", "NotAction": ["iam:ChangePassword", "sts:GetSessionToken"],
             "Resource": "*", "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]},
        {"Version": "2008-10-17", "Statement": [  # no variables under the old version: literal text
            {"Sid": "Old", "Effect": "Allow", "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/${aws:username}/*"}]},
    ],
    "resourcePolicy": {"Version": "2012-10-17", "Statement": [
        {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": "444455556666"}, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/shared/*"},
        {"Sid": "Bob", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/bob"},
         "Action": "s3:*", "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/*"},
        {"Sid": "Stranger", "Effect": "Deny", "NotPrincipal": {"AWS": ["111122223333", "444455556666",
                                                                        "arn:aws:iam::111122223333:user/alice"]},
         "Action": "s3:*", "Resource": "arn:aws:s3:::secret/*"}]},
    "permissionsBoundary": {"Version": "2012-10-17", "Statement": [
        {"Sid": "Boundary", "Effect": "Allow", "Action": ["s3:*", "iam:ChangePassword"], "Resource": "*"}]},
    "sessionPolicy": {"Version": "2012-10-17", "Statement": [
        {"Sid": "Session", "Effect": "Allow", "NotAction": "s3:PutObject", "Resource": "*"}]},
    "scps": [[{"Version": "2012-10-17", "Statement": [{"Sid": "All", "Effect": "Allow", "Action": "*",
                                                        "Resource": "*"}]}],
             [{"Version": "2012-10-17", "Statement": [
                 {"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"},
                 {"Sid": "Region", "Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*",
                  "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}}}]}]],
    "rcps": [[{"Version": "2012-10-17", "Statement": [
        {"Sid": "Transport", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}]],
}


def grid() -> list[Request]:
    """Requests against ACCOUNT where principal, action, resource and context each vary."""
    principals = ["arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:user/bob",
                  "arn:aws:iam::444455556666:user/partner", "arn:aws:iam::999988887777:user/stranger",
                  "arn:aws:sts::111122223333:assumed-role/App/s1", "arn:aws:iam::111122223333:root"]
    actions = ["s3:GetObject", "S3:getobject", "s3:PutObject", "s3:ListBucket", "iam:ChangePassword",
               "sts:GetCallerIdentity"]
    resources = ["arn:aws:s3:::amzn-s3-demo-bucket/alice/a.txt", "arn:aws:s3:::amzn-s3-demo-bucket/${aws:username}/a",
                 "arn:aws:s3:::amzn-s3-demo-bucket/shared/x", "arn:aws:s3:::amzn-s3-demo-bucket",
                 "arn:aws:s3:::secret/k", "*"]
    contexts: list[dict[str, Any]] = [
        {},
        {"aws:MultiFactorAuthPresent": "true", "aws:RequestedRegion": "eu-west-1", "s3:prefix": "alice/x",
         "aws:TagKeys": ["env"]},
        {"aws:MultiFactorAuthPresent": "false", "aws:RequestedRegion": "eu-central-1"},
        {"aws:MultiFactorAuthPresent": "true", "aws:RequestedRegion": "us-east-1", "aws:TagKeys": ["env", "team"],
         "aws:SecureTransport": "true", "aws:PrincipalTag/team": "red", "s3:prefix": "red/x"},
        {"aws:MultiFactorAuthPresent": "false", "aws:SecureTransport": "false", "aws:username": "alice",
         "aws:TagKeys": ["env"]},
    ]
    requests = [Request(p, a, r, None, c) for p in principals for a in actions for r in resources for c in contexts]
    # The bucket's account given apart from its ARN: cross-account for some callers.
    return requests + [Request(p, "s3:GetObject", r, "111122223333", c) for p in principals for r in resources[:3]
                       for c in contexts]


def test_a_policy_set_answers_every_request_of_a_grid_as_the_full_evaluator() -> None:
    # Against every layer: variables in resources and conditions, missing keys, IfExists,
    # NotAction/NotResource, NotPrincipal, a cross-account grant, boundary, session policy,
    # two SCP levels and an RCP.
    policies = PolicySet(ACCOUNT)
    requests = grid()
    seen: dict[str, set[Any]] = {"outcome": set(), "deciding": set(), "missing": set()}
    for request in requests * 2:  # the second time from what the plan remembered
        fast, full = policies.check(request), evaluate(policies.scenario, request=request)
        assert answer(fast) == answer(full), request
        seen["outcome"].add(fast.outcome)
        seen["deciding"].add(fast.deciding.sid if fast.deciding else None)
        seen["missing"].update(fast.missing_context_keys)
    assert seen["outcome"] == set(Outcome)
    assert {"Own", "List", "Tagged", "NoMfa", "Partner", "Bob", "Stranger", "Region", "Transport", None} <= \
        seen["deciding"]
    assert {"aws:MultiFactorAuthPresent", "aws:RequestedRegion", "aws:TagKeys", "s3:prefix"} <= seen["missing"]


def test_a_plan_that_forgets_answers_as_one_that_remembers() -> None:
    # A plan that may remember only a few things starts again often, mid-way through requests.
    scenario = load_scenario(ACCOUNT)
    plan = Plan(scenario, size=40)
    forgot = recalled = 0
    for request in grid()[::7]:
        for _ in range(2):  # the second time from memory, unless the first made it start again
            before = plan.remembered
            assert answer(plan.verdict(request)) == answer(evaluate(scenario, request=request)), request
            forgot += plan.remembered < before
            recalled += plan.remembered == before
    assert forgot > 10 and recalled > 10 and plan.remembered < 40
