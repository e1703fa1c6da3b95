"""Hostile input: policies that could hang the engine, or whose meaning would fail open.

- Wildcard matching is linear: no pattern, written or substituted, goes through a
  backtracking regular expression.
- A typed condition value that is not a value of its family is a validation error, never
  "matches nothing" (which makes ``NotIpAddress`` and the other negated operators true).
- Digits are ASCII digits: Python's ``\\d``, ``int()`` and ``float()`` also read
  Arabic-Indic digits and ``1_000``, which AWS does not.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import user_scenario
from iamkit import Outcome, PolicyError, ScenarioError, evaluate, parse_policy, validate_policy
from iamkit.engine.conditions import evaluate_condition, parse_operator
from iamkit.engine.matching import glob_matcher, pieces_matcher
from iamkit.engine.principals import parse_caller

BUCKET = "arn:aws:s3:::b"
OPERATORS_DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html"
VARIABLES_DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html"


def allow(condition: dict | None = None, resource: str = "*") -> dict:
    statement = {"Sid": "Hostile", "Effect": "Allow", "Action": "s3:GetObject", "Resource": resource}
    if condition is not None:
        statement["Condition"] = condition
    return statement


def scenario(statement: dict, resource: str = f"{BUCKET}/report.csv", context: dict | None = None) -> dict:
    built = user_scenario(statement, context)
    built["request"]["resource"] = resource
    return built


def errors(condition: dict) -> list:
    policy = {"Version": "2012-10-17", "Statement": [allow(condition)]}
    return [p for p in validate_policy(policy) if p.severity == "error"]


# --- 1. Matching never backtracks --------------------------------------------------------

# Reference: the special variables ${*}, ${?} and ${$} stand for a literal `*`, `?` and `$`,
# and a substituted value's wildcards are plain characters (VARIABLES_DOC, "Special characters").
STARS = "a*" * 9


@pytest.mark.timeout(10)
def test_a_resource_with_many_stars_and_a_special_variable_finishes() -> None:
    statement = allow(resource=f"{BUCKET}/{STARS}${{*}}")
    denied = evaluate(scenario(statement, f"{BUCKET}/" + "a" * 60))
    assert denied.outcome is Outcome.IMPLICIT_DENY
    assert denied.trace[0].resource is False
    allowed = evaluate(scenario(statement, f"{BUCKET}/" + "a" * 60 + "*"))
    assert allowed.outcome is Outcome.ALLOWED
    assert [t.sid for t in allowed.determining] == ["Hostile"]


@pytest.mark.timeout(10)
@pytest.mark.parametrize("wildcard", ["?", "*"])
def test_a_substituted_wildcard_in_stringlike_is_literal_and_finishes(wildcard: str) -> None:
    # VARIABLES_DOC: a value substituted into StringLike keeps its characters literal.
    condition = {"StringLike": {"s3:prefix": f"{STARS}${{aws:PrincipalTag/tail}}"}}
    context = {"aws:PrincipalTag/tail": wildcard}
    plain = evaluate(scenario(allow(condition), context={**context, "s3:prefix": "a" * 60}))
    assert plain.outcome is Outcome.IMPLICIT_DENY
    assert plain.trace[0].conditions[0].values == (f"{STARS}{wildcard}",)
    literal = evaluate(scenario(allow(condition), context={**context, "s3:prefix": "a" * 60 + wildcard}))
    assert literal.outcome is Outcome.ALLOWED


@pytest.mark.timeout(10)
def test_a_substituted_wildcard_in_arnlike_is_literal_and_finishes() -> None:
    condition = {"ArnLike": {"aws:SourceArn": f"{BUCKET}/{STARS}${{aws:PrincipalTag/tail}}"}}
    context = {"aws:PrincipalTag/tail": "*"}
    assert evaluate(scenario(allow(condition), context={**context, "aws:SourceArn": f"{BUCKET}/" + "a" * 60})
                    ).outcome is Outcome.IMPLICIT_DENY
    assert evaluate(scenario(allow(condition), context={**context, "aws:SourceArn": f"{BUCKET}/" + "a" * 60 + "*"})
                    ).outcome is Outcome.ALLOWED


@pytest.mark.timeout(10)
def test_long_globs_against_long_strings_finish() -> None:
    subject = "a" * 5000
    assert not glob_matcher("a*" * 200 + "b")(subject)
    assert glob_matcher("a*" * 200 + "a")(subject)
    assert not glob_matcher("*?a" * 200 + "b")(subject)


def _reference(pieces: list[tuple[str, bool]], arn: bool) -> str:
    """The glob as a regular expression: fine for short strings, slow for hostile ones."""
    if pieces == [("*", True)]:  # `"Resource": "*"` is every resource, whatever its colons
        return ".*"
    out, colons = [], 0 if arn else 5
    for text, active in pieces:
        for c in text:
            if c == ":":
                colons += 1
            if active and c == "*":
                out.append(".*" if colons >= 5 else "[^:]*")
            elif active and c == "?":
                out.append("." if colons >= 5 else "[^:]")
            else:
                out.append(re.escape(c))
    return "".join(out)


PIECES = st.lists(st.tuples(st.text(alphabet="ab*?:", max_size=5), st.booleans()), min_size=1, max_size=4)


@settings(max_examples=1000, deadline=None)
@given(PIECES, st.text(alphabet="abA*?:", max_size=12), st.booleans(), st.booleans())
def test_the_matcher_agrees_with_a_regular_expression(pieces, subject, arn, ignore_case) -> None:
    oracle = re.compile(_reference(pieces, arn), re.S | (re.I if ignore_case else 0))
    matcher = pieces_matcher(tuple(pieces), arn, ignore_case)
    assert bool(matcher(subject)) == bool(oracle.fullmatch(subject))


# --- 2. Typed values are validated; nothing fails open ----------------------------------

# OPERATORS_DOC: "IP address condition operators ... The value must be in the standard CIDR
# format (for example, 203.0.113.0/24 or 2001:DB8:1234:5678::/64)."
@pytest.mark.parametrize(("operator", "value"), [
    ("NotIpAddress", "10.0.0.0/33"),
    ("IpAddress", "2001:db8::/129"),
    ("NotIpAddress", "203.0.113.*"),
    ("NumericNotEquals", "ten"),
    ("DateNotEquals", "next tuesday"),
    ("Bool", "yes"),
    ("BinaryEquals", "not base64!"),
    ("Null", "maybe"),
])
def test_an_invalid_typed_value_rejects_the_policy(operator: str, value: str) -> None:
    key = "aws:SourceIp" if "Ip" in operator else "s3:max-keys"
    with pytest.raises(PolicyError) as caught:
        parse_policy('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", '
                     f'"Resource": "*", "Condition": {{"{operator}": {{"{key}": "{value}"}}}}}}]}}')
    (problem,) = caught.value.problems
    assert problem.path == f"Statement[0].Condition.{operator}.{key}"
    assert problem.line == 1 and problem.column is not None
    assert problem.message == f"`{value}` is not a valid value for `{operator}`"


def test_notipaddress_with_a_bad_cidr_no_longer_allows_everyone() -> None:
    with pytest.raises(ScenarioError) as caught:
        evaluate(scenario(allow({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/33"}}),
                          context={"aws:SourceIp": "198.51.100.1"}))
    (problem,) = caught.value.problems
    assert problem.path == "identityPolicies[0].Statement[0].Condition.NotIpAddress.aws:SourceIp"


# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html gives each
# global key one type (aws:SourceIp an IP address, aws:CurrentTime a date, aws:SecureTransport a Boolean).
@pytest.mark.parametrize(("key", "value"), [
    ("aws:SourceIp", "not-an-ip"), ("aws:SourceIp", "10.0.0.0/8"), ("aws:CurrentTime", "yesterday"),
    ("aws:SecureTransport", "yes"), ("aws:MultiFactorAuthAge", "٣٠٠"),
])
def test_a_request_value_aws_never_sends_is_refused_not_matched(key: str, value: str) -> None:
    # Against such a value a negated operator (NotIpAddress, ...) would be true, and the Allow would apply.
    with pytest.raises(ScenarioError) as caught:
        evaluate(scenario(allow({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}), context={key: [value]}))
    (problem,) = caught.value.problems
    assert problem.path == f"request.context.{key}" and f"`{value}` is not a valid" in problem.message
    assert problem.hint is not None and problem.hint.startswith(f"give `{key}` a value such as")


def test_host_bits_in_a_cidr_are_accepted() -> None:
    # Python's ip_network(strict=False), like AWS, reads 203.0.113.5/24 as 203.0.113.0/24.
    statement = allow({"IpAddress": {"aws:SourceIp": "203.0.113.5/24"}})
    assert evaluate(scenario(statement, context={"aws:SourceIp": "203.0.113.200"})).allowed


def test_numeric_operators_do_not_substitute_variables_so_the_value_is_rejected() -> None:
    # VARIABLES_DOC: variables are substituted in `Resource` and in string comparisons.
    (problem,) = errors({"NumericEquals": {"s3:max-keys": "${aws:PrincipalTag/limit}"}})
    assert problem.hint is not None and problem.hint.startswith("`NumericEquals` does not substitute policy variables")


def test_an_unusable_value_makes_a_negated_operator_fail_closed() -> None:
    # Validation rejects such a value as written; evaluate_condition still refuses to read it
    # as "matches nothing", which would make NotIpAddress true for every address.
    spec = parse_operator("NotIpAddress")
    assert spec is not None
    for context in ({"aws:sourceip": "198.51.100.1"}, {}):
        result = evaluate_condition(spec, "aws:SourceIp", ["10.0.0.0/33"], context, True)
        assert result.result is False
        assert result.note == ("`10.0.0.0/33` is not a valid IpAddress value, so it matches nothing, "
                               "and `NotIpAddress` is false rather than true")


def test_an_unusable_substituted_value_is_a_note_on_the_decision() -> None:
    statement = allow({"Bool": {"aws:SecureTransport": "${aws:PrincipalTag/secure}"}})
    decision = evaluate(scenario(statement, context={"aws:PrincipalTag/secure": "maybe",
                                                     "aws:SecureTransport": "true"}))
    assert decision.outcome is Outcome.IMPLICIT_DENY
    assert decision.trace[0].conditions[0].values == ("maybe",)
    assert "`maybe` is not a valid Bool value, so it matches nothing" in decision.notes


# --- 3. ASCII digits only ----------------------------------------------------------------

ARABIC_ACCOUNT = "٣" * 12


def test_arabic_indic_digits_are_not_an_account_id() -> None:
    policy = {"Version": "2012-10-17", "Statement": [{**allow(), "Principal": {"AWS": ARABIC_ACCOUNT}}]}
    (problem,) = [p for p in validate_policy(policy, "resource") if p.severity == "error"]
    assert problem.message == f"malformed principal `{ARABIC_ACCOUNT}`"
    assert parse_caller(f"arn:aws:iam::{ARABIC_ACCOUNT}:user/alice") is None
    assert parse_caller("arn:aws:iam::111122223333:user/alice\n") is None


# OPERATORS_DOC, "Numeric condition operators": integers and decimal values.
@pytest.mark.parametrize("value", ["٣", "1_000", "nan", "inf", "0x10", "1e", "+", "1 000"])
def test_numbers_are_ascii_decimals(value: str) -> None:
    (problem,) = errors({"NumericLessThan": {"s3:max-keys": value}})
    assert problem.message == f"`{value}` is not a valid value for `NumericLessThan`"


@pytest.mark.parametrize("value", ["10", "-2.5", "+7", "1e3", "2.5E-1"])
def test_ascii_decimals_are_numbers(value: str) -> None:
    assert errors({"NumericLessThan": {"s3:max-keys": value}}) == []


def test_a_context_number_in_arabic_indic_digits_matches_nothing() -> None:
    decision = evaluate(scenario(allow({"NumericEquals": {"s3:max-keys": "3"}}), context={"s3:max-keys": "٣"}))
    assert decision.outcome is Outcome.IMPLICIT_DENY
    assert decision.notes == ("the request's value `٣` is not a valid Numeric value, so it matches nothing",)


def test_a_date_in_arabic_indic_digits_is_rejected() -> None:
    (problem,) = errors({"DateLessThan": {"aws:CurrentTime": "٢٠٢٤-01-01"}})
    assert problem.message == "`٢٠٢٤-01-01` is not a valid value for `DateLessThan`"


def test_an_eight_digit_date_warns_that_it_is_epoch_seconds() -> None:
    # OPERATORS_DOC, "Date condition operators": values are ISO 8601 dates or epoch (UNIX) time.
    policy = parse_policy('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", '
                          '"Resource": "*", "Condition": {"DateLessThan": {"aws:CurrentTime": "20240101"}}}]}')
    (warning,) = policy.warnings
    assert warning.path == "Statement[0].Condition.DateLessThan.aws:CurrentTime"
    assert warning.line == 1
    assert warning.message == "`20240101` is read as epoch seconds (1970-08-23), not as the date 2024-01-01"
    assert warning.hint == "write `2024-01-01` for that date"
    assert parse_policy({"Version": "2012-10-17", "Statement": [
        allow({"DateLessThan": {"aws:CurrentTime": "2024-01-01"}})]}).warnings == ()


def test_a_year_alone_warns_that_it_is_epoch_seconds() -> None:
    # OPERATORS_DOC, "Date condition operators": W3C's date formats (a year alone among them) or epoch
    # time; iamkit reads digits alone as epoch time, so "before 2030" would mean 33 minutes after 1970.
    policy = parse_policy({"Version": "2012-10-17", "Statement": [
        allow({"DateLessThan": {"aws:CurrentTime": "2030"}})]})
    (warning,) = policy.warnings
    assert warning.message == "`2030` is read as epoch seconds (1970-01-01T00:33:50Z), not as the year 2030"
    assert warning.hint == "write `2030-01-01T00:00:00Z` for the year's first moment"
    for quiet in ("1700000000", "2030-01-01", "86400"):
        assert parse_policy({"Version": "2012-10-17", "Statement": [
            allow({"DateLessThan": {"aws:CurrentTime": quiet}})]}).warnings == (), quiet
