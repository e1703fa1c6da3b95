"""Adversarial checks of the clean path of policy validation against the collecting path.

tests/test_clean_path.py draws each element from pools of good and broken values. The pools
here add what those leave out: condition values of typed operators written as JSON numbers and
booleans (``1`` for ``Bool``, ``20250101`` and ``2**63`` for ``Date``, ``True`` for ``Numeric``),
``Null`` with values other than true/false, every operator under ``IfExists``/``ForAnyValue:``/
``ForAllValues:`` and the combinations IAM refuses, numbers Python reads but AWS does not
(``1_000``, ``٣``, ``nan``), ``Sid`` values of non-ASCII letters and digits (``Ａ``, ``١٢``, ``ß``),
text with a trailing newline in actions, ARNs, principals and condition keys, empty strings
in every element, duplicated ``Sid`` values, ``Id`` and ``Version`` variants, and — for the
documents a Python caller builds — str, dict and list subclasses and tuples. A scenario's
policies, given as dicts or as JSON text and with warnings asked for, are built as
``parse_policy`` builds them.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

from test_clean_path import check_agree

from iamkit import load_scenario, parse_policy, validate_policy
from iamkit.engine import policy
from iamkit.engine.model import PolicyKind

KINDS = list(PolicyKind)

SIDS: list[Any] = ["A", "B", "Sidé", "Sid_1", "Ⅻ", "١٢", "sid1", "", None, 0, True, "ß", "a b", "Ａ", "A\n"]
EFFECTS: list[Any] = ["allow", 1, True, None, "", "Allow\n"]
ACTIONS: list[Any] = ["*", "s3:GetObject", "s3:", "s3:*", ":x", "s3:Get-Object", "s3:Get_Object", "S3:get?", "s3:é", "",
                      [], ["*", "s3:x"], "s3:Get\n", "s3 :x", ["s3:a", ""]]
RESOURCES: list[Any] = ["*", "", "arn:aws:s3:::b/*", "arn:aws:s3:::b/${aws:username}", "arn:aws:iam::*:role/x",
                        "arn:aws:iam:us-east-1:1:r", "arn:aws:s3:*::b", "arn:aws:s3:us-east-1::b", "arn:aws:s3:::",
                        "arn:aws:s3:::\n", "arn:::::x", "arn:aws:s3:::b\n", ["*"], [], ["arn:aws:s3:::b", "*"], "*\n",
                        "arn:aws:s3:?::b"]
PRINCIPALS: list[Any] = [
    "*", {"AWS": "*"}, {"AWS": ["*"]}, {"AWS": "111122223333"}, {"AWS": "11112222333"},
    {"AWS": "arn:aws:iam::111122223333:root"}, {"AWS": "arn:aws:iam::111122223333:user/*"},
    {"AWS": "arn:aws:iam::111122223333:group/g"}, {"AWS": "arn:aws:sts::111122223333:assumed-role/R/s"},
    {"Service": "*"}, {"Service": "s3.amazonaws.com"}, {"Service": "s3.*.com"}, {"Federated": "*"},
    {"CanonicalUser": "a" * 64}, {"CanonicalUser": "A" * 64}, {"AWS": []}, {}, "", {"AWS": ""}, {"aws": "*"},
    {"AWS": "*", "Service": "x.amazonaws.com"}, {"AWS": "arn:aws-cn:iam::111122223333:root"},
    {"AWS": "arn:aws:iam::111122223333:root\n"}, {"AWS": "111122223333\n"}]
OPERATORS = ["StringEquals", "StringLike", "StringEqualsIfExists", "ForAnyValue:StringLike", "ForAllValues:StringEquals",
             "Bool", "BoolIfExists", "Null", "NullIfExists", "NumericLessThan", "NumericEqualsIfExists",
             "ForAnyValue:NumericEquals", "DateGreaterThan", "DateLessThanIfExists", "IpAddress", "NotIpAddress",
             "BinaryEquals", "ArnLike", "ArnNotEquals", "stringequals", "StringEqualsIgnoreCase", "ForAllValues:Null",
             "ForAnyValue:Bool", "IfExists", ""]
KEYS = ["aws:username", "s3:x", "username", "aws:", "aws:a b", "a-b:c", "aws:x\n", "é:x", "aws:PrincipalTag/${aws:username}"]
VALUES: list[Any] = [
    "true", "false", True, False, "True", "TRUE", "yes", 1, 0, 1.5, "1", "1e3", "1_000", "٣", "nan", "inf", " 1 ", "",
    "2025-01-01", "20250101", 20250101, "2025-01-01T00:00:00Z", "9" * 30, "-1", 1700000000, 2**63, -2**63, 2**63 - 1,
    "203.0.113.0/24", "300.1.1.1", "::1", "QUJD", "QUJ", "${aws:username}", "${aws:username, '1'}", "x${*}", "arn:*",
    None, [], {}, 10**20, "1.", ".5", "+1"]


def _pick(rng: random.Random, pool: list[Any], usual: Any, odd: float = 0.4) -> Any:
    return copy.deepcopy(rng.choice(pool) if rng.random() < odd else usual)


def _condition(rng: random.Random) -> Any:
    if rng.random() < 0.03:
        return rng.choice([None, [], "x", {}])
    condition: dict[str, Any] = {}
    for _ in range(rng.randint(1, 2)):
        block = condition.get(operator := rng.choice(OPERATORS))
        if not isinstance(block, dict):
            block = condition[operator] = {}
        if rng.random() < 0.3:
            block[rng.choice(KEYS)] = [copy.deepcopy(rng.choice(VALUES)) for _ in range(rng.randint(0, 3))]
        else:
            block[rng.choice(KEYS)] = copy.deepcopy(rng.choice(VALUES))
    return condition


def _statement(rng: random.Random, kind: PolicyKind) -> dict[str, Any]:
    st: dict[str, Any] = {}
    if rng.random() < 0.6:
        st["Sid"] = _pick(rng, SIDS, rng.choice(["A", "B"]), 0.5)
    if rng.random() < 0.98:
        st["Effect"] = _pick(rng, EFFECTS, rng.choice(["Allow", "Deny"]), 0.1)
    st["NotAction" if rng.random() < 0.1 else "Action"] = _pick(rng, ACTIONS, "s3:GetObject")
    if kind is not PolicyKind.TRUST or rng.random() < 0.05:
        st["NotResource" if rng.random() < 0.1 else "Resource"] = _pick(rng, RESOURCES, "*")
    if kind.has_principal or rng.random() < 0.05:
        st["NotPrincipal" if rng.random() < 0.3 else "Principal"] = _pick(rng, PRINCIPALS, "*", 0.6)
    if rng.random() < 0.6:
        st["Condition"] = _condition(rng)
    return st


def _document(rng: random.Random, kind: PolicyKind) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    version = rng.choice(["2012-10-17"] * 8 + ["2008-10-17", None, "2012-10-17 ", ""])
    if version is not None:
        doc["Version"] = version
    if rng.random() < 0.2:
        doc["Id"] = rng.choice(["x", "", 1, None])
    statements = [_statement(rng, kind) for _ in range(rng.randint(1, 3))]
    doc["Statement"] = statements[0] if len(statements) == 1 and rng.random() < 0.4 else statements
    return doc


def test_extended_values_take_the_clean_path_exactly_when_they_are_clean() -> None:
    """Generated documents from the pools above, for every kind, as dicts and as JSON text, with
    and without ``creating``: the clean path takes exactly those the collecting path finds
    nothing in, and builds the same Policy; ``validate_policy`` reports what it finds. Among them
    the typed condition values written as JSON numbers, which the statement-level pools of
    tests/test_clean_path.py only write as strings: ``{"Bool": {"k": 1}}`` must be refused as
    ``{"Bool": {"k": "1"}}`` is (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html)."""
    rng = random.Random(7)
    taken = 0
    for _ in range(1500):
        kind = rng.choice(KINDS)
        document = _document(rng, kind)
        taken += check_agree(document, kind, as_text=False, creating=False)
        check_agree(document, kind, as_text=True, creating=rng.random() < 0.5)
        check_agree(document, rng.choice(KINDS), as_text=False, creating=rng.random() < 0.5)
    assert taken > 40


def test_typed_values_written_as_json_numbers_and_booleans() -> None:
    """Each typed operator with a value written as a JSON number or boolean, alone and in a
    list: the value is read as its text (``True`` as ``"true"``, ``1`` as ``"1"``) and judged as
    that text is, on both paths."""
    base = {"Sid": "A", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    values: list[Any] = [True, False, 0, 1, -1, 1.5, 20250101, 1700000000, 2**63, 2**63 - 1, -2**63, -2**63 - 1, 10**20]
    operators = ["Bool", "BoolIfExists", "ForAnyValue:Bool", "Null", "NumericEquals", "NumericLessThanIfExists",
                 "ForAllValues:NumericGreaterThan", "DateEquals", "DateGreaterThanIfExists", "IpAddress", "BinaryEquals",
                 "StringEquals", "ArnLike"]
    outcomes = set()
    for operator in operators:
        for value in values:
            for raw in (value, [value], ["true", value]):
                document = {"Version": "2012-10-17", "Statement": [{**base, "Condition": {operator: {"aws:x": raw}}}]}
                for as_text in (False, True):
                    outcomes.add(check_agree(document, PolicyKind.IDENTITY, as_text=as_text, creating=False))
                as_text_value = {"Version": "2012-10-17", "Statement": [{**base, "Condition": {operator: {
                    "aws:x": [policy.policy_value_text(v) for v in raw] if isinstance(raw, list)
                    else policy.policy_value_text(raw)}}}]}
                assert bool(validate_policy(document)) == bool(validate_policy(as_text_value)), (operator, raw)
    assert outcomes == {True, False}


class _Str(str):
    pass


class _Dict(dict):  # type: ignore[type-arg]
    pass


class _List(list):  # type: ignore[type-arg]
    pass


def test_python_values_that_are_not_json_build_the_same_policy_either_way() -> None:
    """A Python caller may hand over str, dict or list subclasses, or a tuple of condition
    values. The clean path compares types exactly and leaves most of them to the collecting
    path; whichever path builds the policy, it must be the Policy (and the problems) the
    collecting path gives, with no problem, and the statements of the same document written with
    plain types (the raw ``document`` aside)."""
    def base() -> dict[str, Any]:
        return {"Version": "2012-10-17", "Id": "x", "Statement": [{
            "Sid": "A", "Effect": "Deny", "Action": "s3:GetObject", "Resource": "*", "Principal": {"AWS": "111122223333"},
            "Condition": {"StringEquals": {"aws:username": "a"}}}]}

    def statement(d: dict[str, Any], element: str, value: Any) -> None:
        d["Statement"][0][element] = value

    changes = {
        "Version": lambda d: d.__setitem__("Version", _Str("2012-10-17")),
        "Id": lambda d: d.__setitem__("Id", _Str("x")),
        "Statement list": lambda d: d.__setitem__("Statement", _List(d["Statement"])),
        "statement dict": lambda d: d["Statement"].__setitem__(0, _Dict(d["Statement"][0])),
        "Sid": lambda d: statement(d, "Sid", _Str("A")),
        "Effect": lambda d: statement(d, "Effect", _Str("Deny")),
        "Action": lambda d: statement(d, "Action", _Str("s3:GetObject")),
        "Action list": lambda d: statement(d, "Action", _List(["s3:GetObject"])),
        "Resource": lambda d: statement(d, "Resource", _Str("*")),
        "Principal dict": lambda d: statement(d, "Principal", _Dict({"AWS": "111122223333"})),
        "Principal entry": lambda d: statement(d, "Principal", {"AWS": _Str("111122223333")}),
        "Principal list": lambda d: statement(d, "Principal", {"AWS": _List(["111122223333"])}),
        "Principal *": lambda d: statement(d, "Principal", _Str("*")),
        "Condition dict": lambda d: statement(d, "Condition", _Dict({"StringEquals": {"aws:username": "a"}})),
        "operator block": lambda d: statement(d, "Condition", {"StringEquals": _Dict({"aws:username": "a"})}),
        "value": lambda d: statement(d, "Condition", {"StringEquals": {"aws:username": _Str("a")}}),
        "value list": lambda d: statement(d, "Condition", {"StringEquals": {"aws:username": _List(["a"])}}),
        "value tuple": lambda d: statement(d, "Condition", {"StringEquals": {"aws:username": ("a",)}}),
        "key": lambda d: statement(d, "Condition", {"StringEquals": {_Str("aws:username"): "a"}}),
        "operator": lambda d: statement(d, "Condition", {_Str("StringEquals"): {"aws:username": "a"}}),
    }
    reference = policy._collect(base(), base(), None, PolicyKind.RESOURCE, "p", (), False)[0]
    for name, change in changes.items():
        document = base()
        change(document)
        for wrapped in (document, _Dict(document)):
            built, problems = policy._build(wrapped, PolicyKind.RESOURCE, "p")
            full, found = policy._collect(wrapped, wrapped, None, PolicyKind.RESOURCE, "p", (), False)
            assert problems == found == [] and built == full, name
            assert [tuple(s) for s in built.statements] == [tuple(s) for s in full.statements], name  # type: ignore[union-attr]
            if name not in ("value tuple", "Principal *"):  # these two say something else (a tuple is one value)
                assert [s[:-1] for s in built.statements] == [s[:-1] for s in reference.statements], name  # type: ignore[union-attr]
            assert validate_policy(wrapped, "resource") == [], name


def test_a_scenarios_policies_are_built_as_parse_policy_builds_them() -> None:
    """Policies inside a scenario, as dicts and as JSON text, clean and with warnings (no
    ``Version``, 2008-10-17, a non-ASCII ``Sid`` in an identity policy, ``NotPrincipal`` with
    ``Allow``, a condition key without a service prefix, a date read as epoch seconds): each is
    built as ``parse_policy`` builds it for its kind, and ``load_scenario(warnings=...)`` reports
    exactly ``validate_policy``'s warnings under the policy's path."""
    allow = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    documents = [
        {"Version": "2012-10-17", "Statement": [{**allow, "Sid": "A"}]},
        {"Statement": {**allow, "Resource": "arn:aws:s3:::b/${aws:username}"}},
        {"Version": "2008-10-17", "Statement": [allow]},
        {"Version": "2012-10-17", "Statement": [{**allow, "Sid": "Sidé"}, {**allow, "Sid": "B"}]},
        {"Version": "2012-10-17", "Statement": [{**allow, "Condition": {"StringEquals": {"username": "a"}}}]},
        {"Version": "2012-10-17", "Statement": [{**allow, "Condition": {"DateGreaterThan": {"aws:CurrentTime": "20250101"}}}]},
    ]
    resource_documents = [
        {"Version": "2012-10-17", "Statement": [{**allow, "Principal": "*", "Sid": "Sidé"}]},
        {"Version": "2012-10-17", "Statement": [{**allow, "NotPrincipal": {"AWS": "111122223333"}}]},
        {"Version": "2012-10-17", "Statement": [{**allow, "Effect": "Deny", "NotPrincipal": {"AWS": "111122223333"}}]},
    ]
    request = {"principal": "arn:aws:iam::111122223333:user/alice", "action": "s3:GetObject"}
    for as_text in (False, True):
        def given(doc: dict[str, Any]) -> Any:
            return json.dumps(doc, indent=1) if as_text else doc  # noqa: B023
        for identity in documents:
            for resource in resource_documents:
                warnings: list[Any] = []
                scenario = load_scenario({"request": request, "identityPolicies": [given(identity)],
                                          "resourcePolicy": given(resource), "permissionsBoundary": given(identity),
                                          "sessionPolicy": given(identity)}, warnings=warnings)
                expected = []
                for built, doc, kind, path in (
                        (scenario.identity_policies[0], identity, PolicyKind.IDENTITY, "identityPolicies[0]"),
                        (scenario.resource_policy, resource, PolicyKind.RESOURCE, "resourcePolicy"),
                        (scenario.permissions_boundary, identity, PolicyKind.BOUNDARY, "permissionsBoundary"),
                        (scenario.session_policy, identity, PolicyKind.SESSION, "sessionPolicy")):
                    alone = parse_policy(given(doc), kind)
                    assert built is not None and built.kind is kind
                    assert [tuple(s) for s in built.statements] == [tuple(s) for s in alone.statements], (path, doc)
                    assert built.version == alone.version and built.id == alone.id
                    found = validate_policy(given(doc), kind)
                    assert [(w.message, w.line) for w in built.warnings] == [(w.message, w.line) for w in found]
                    expected += [w.message for w in found]
                    assert all(w.path.startswith(path) for w in built.warnings), (path, built.warnings)
                assert sorted(w.message for w in warnings) == sorted(expected)
