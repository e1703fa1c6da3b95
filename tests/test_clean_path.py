"""The clean path of policy validation agrees with the full, collecting path.

``_clean_policy`` builds the Policy of a document that holds no problem, not even a warning,
in fewer steps, and gives up on anything else. On every document tried here it must accept
exactly the JSON documents in which the full path (``_collect``) finds no problem, and build
the same Policy. Every good and broken value of every element is tried alone in an otherwise
clean statement, and together in generated documents; the documents of the test cases and of
the dev corpus (when it is there) are tried as they are and mutated.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from test_properties import COMMON

from conftest import SHARED, load_cases
from iamkit import validate_policy
from iamkit.engine import policy
from iamkit.engine.model import PolicyKind

KINDS = list(PolicyKind)

# Each element: values the full path accepts without a word, then values it has something to say about.
SIDS = (["A", "B", "Stmt1", "Stmt2", "ReadOnly", "Deny1", "x9"], ["", "has space", "Ünïcode", 3, None])
EFFECTS = (["Allow", "Deny"], ["allow", None, ["Allow"], 1])
ACTIONS = (["*", "s3:GetObject", "s3:Get*", "iam:?reate*", ["iam:*", "ec2:Describe?"], ["*"]],
           ["s3GetObject", "s3:Get Object", "", 3, [], None, ["s3:GetObject", 3], {"s3": "GetObject"}])
RESOURCES = (["*", "arn:aws:s3:::b/*", "arn:aws:iam:*:111122223333:user/a", ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
              "arn:aws:s3:us-east-1:111122223333:accesspoint/ap", "arn:aws:iam::aws:policy/ReadOnlyAccess",
              "arn:aws:s3::111122223333:accesspoint/m.mrap",
              "arn:aws:s3:::home/${aws:username}/${aws:PrincipalTag/team, 'none'}/${$}{x}"],
             ["arn:aws:iam:us-east-1:111122223333:user/a", "arn::s3:::b", "arn:aws::::x", "arn:aws:s3", "bucket/*", [],
              ["*", 1], "arn:aws:s3:us-east-1::b", 7, None, "arn:aws:s3::111122223333:b", "arn:aws:S3:::b",
              "arn:aws:ec2:us-east-1:1234:instance/x", "arn:aws:s3:::", "arn:aws:s3:::h/${aws:username"])
PRINCIPALS = (["*", {"AWS": "*"}, {"AWS": "111122223333"}, {"AWS": ["111122223333", "arn:aws:iam::444455556666:root"]},
               {"Service": "ec2.amazonaws.com"}, {"CanonicalUser": "ab" * 32},
               {"Federated": "cognito-identity.amazonaws.com"}],
              [{"AWS": "arn:aws:iam::111122223333:group/g"}, {"AWS": "arn:aws:iam::111122223333:user/*"},
               {"AWS": "alice"}, {"Service": "*.amazonaws.com"}, {"CanonicalUser": "xyz"}, {"Aws": "111122223333"}, {},
               "me", ["*"], {"AWS": []}, {"AWS": [1]}, {"AWS": "arn:aws:iam::111122223333:user/${aws:username}"},
               {"AWS": "arn:aws:iam::111122223333:user/a?"}, {"Service": "ec2.amazonaws.co?"}])
CONDITIONS = (
    [{"Bool": {"aws:MultiFactorAuthPresent": "true"}}, {"Bool": {"aws:MultiFactorAuthPresent": True}},
     {"StringEquals": {"aws:username": ["a", 1, 2.5, False]}},
     {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]}},
     {"DateGreaterThan": {"aws:CurrentTime": "2025-01-01"}}, {"DateLessThan": {"aws:EpochTime": 1700000000}},
     {"NumericLessThan": {"s3:max-keys": 10}}, {"Null": {"aws:TokenIssueTime": "true"}},
     {"BinaryEquals": {"s3:x": "QUJD"}}, {"ArnLike": {"aws:SourceArn": "arn:*"}},
     {"ForAnyValue:StringLike": {"aws:TagKeys": ["env*", "team"]}},
     {"StringEqualsIfExists": {"aws:RequestedRegion": "eu-west-1"}, "Bool": {"aws:SecureTransport": "false"}},
     {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                       "kms:EncryptionContext:aws:lambda:FunctionArn": "x", "aws:RequestTag/cost center": "y"}},
     {"StringLike": {"s3:prefix": ["${aws:userid}/${*}", 3]}}],
    [{"Bool": {"aws:MultiFactorAuthPresent": "yes"}}, {"StringEqualz": {"aws:username": "a"}},
     {"IpAddress": {"aws:SourceIp": "300.1.1.1"}}, {"DateGreaterThan": {"aws:CurrentTime": "20250101"}},
     {"DateEquals": {"aws:EpochTime": "99999999999999999999"}}, {"NumericLessThan": {"s3:max-keys": "ten"}},
     {"NumericEquals": {"s3:max-keys": "${aws:username}"}}, {"StringLike": {"username": "a"}},
     {"StringLike": {"aws:username": []}}, {"StringLike": {"aws:username": [None]}}, {"StringLike": {"aws:username": None}},
     {"StringLike": {"aws:username": {"a": 1}}}, {"StringLike": {}}, {"StringLike": "x"}, [], "x",
     {"NullIfExists": {"aws:TokenIssueTime": "true"}}, {"ForAnyValue:Null": {"aws:TokenIssueTime": "true"}},
     {"ForAllValues:NumericGreaterThan": {"s3:x": ["1", "x"]}},
     {"StringEquals": {"aws:username": "a", "AWS:UserName": "b"}}, {"StringLike": {"s3:prefix": ["a", "${}"]}}])
VERSIONS = (["2012-10-17"], ["2008-10-17", "2012-10-18", 1, None])


def _value(rng: random.Random, pools: tuple[list[Any], list[Any]]) -> Any:
    """Mostly a good value: a document is clean only when every element is."""
    return copy.deepcopy(rng.choice(pools[rng.random() < 0.05]))


def statement(rng: random.Random, kind: PolicyKind) -> Any:
    if rng.random() < 0.02:
        return rng.choice([None, "x", [], 1])
    drawn = {element: _value(rng, pools) for element, pools, present in (("Sid", SIDS, 0.7), ("Effect", EFFECTS, 0.98))
             if rng.random() < present}
    principal = ("Principal",) if kind.has_principal else ()
    resource = () if kind is PolicyKind.TRUST else ("Resource",)
    for usual, pair, pools in ((("Action",), ("Action", "NotAction"), ACTIONS),
                               (resource, ("Resource", "NotResource"), RESOURCES),
                               (principal, ("Principal", "NotPrincipal"), PRINCIPALS)):
        which = usual if rng.random() < 0.95 else rng.choice([(pair[1],), (), pair, (pair[0],)])
        drawn.update({element: _value(rng, pools) for element in which})
    if kind is PolicyKind.RCP and "Principal" in drawn and rng.random() < 0.8:
        drawn["Principal"] = "*"  # what a resource control policy must say
    if rng.random() < 0.5:
        drawn["Condition"] = _value(rng, CONDITIONS)
    if rng.random() < 0.03:
        drawn[rng.choice(["Actions", "sid", "Resources", "x"])] = "*"
    return drawn


def document(rng: random.Random, kind: PolicyKind) -> Any:
    """A policy document for ``kind``: clean about two times in five, else broken somewhere."""
    if rng.random() < 0.02:
        return rng.choice([None, "x", [], 1])
    drawn = {}
    if rng.random() < 0.97:
        drawn["Version"] = _value(rng, VERSIONS)
    if rng.random() < 0.2:
        drawn["Id"] = rng.choice(["policy-1", "policy-1", "policy-1", 3])
    shape = rng.random()
    if shape < 0.02:
        drawn["Statement"] = rng.choice([[], "x", None, 1])
    elif shape < 0.2:
        drawn["Statement"] = statement(rng, kind)
    elif shape > 0.22:
        drawn["Statement"] = [statement(rng, kind) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.03:
        drawn[rng.choice(["statement", "Versions", "x"])] = {}
    return drawn


def check_agree(document: Any, kind: PolicyKind, *, as_text: bool = False, creating: bool = False) -> bool:
    """Whether the clean path took ``document``; fails when the two paths disagree, or when
    :func:`~iamkit.validate_policy` does not report what the collecting path found."""
    source = json.dumps(document) if as_text else document
    loaded, positions = document, None
    if as_text:
        loaded, positions, problems = policy._load(source, ())
        if problems:
            return False
    clean = policy._clean_policy(source, loaded, kind, "p", positions)
    full, found = policy._collect(source, loaded, positions, kind, "p", (), creating)
    assert (clean is None) == bool(found), (document, kind, found)
    if clean is not None:
        assert full is not None and clean == full, (document, kind)
        assert [tuple(s) for s in clean.statements] == [tuple(s) for s in full.statements]
        assert clean.source is full.source and clean.document is full.document
        assert all(a.document is b.document for a, b in zip(clean.statements, full.statements, strict=True))
    if as_text or not isinstance(document, str):  # validate_policy reads a str as JSON text
        assert validate_policy(source, kind, creating=creating) == found, (document, kind)
    return clean is not None


@COMMON
@given(st.integers(0, 2**32), st.sampled_from(KINDS), st.booleans(), st.booleans())
def test_generated_documents_take_the_clean_path_exactly_when_they_are_clean(seed, kind, as_text, creating) -> None:
    rng = random.Random(seed)
    drawn = document(rng, kind)
    check_agree(drawn, kind, as_text=as_text, creating=creating)
    check_agree(drawn, rng.choice(KINDS))


def test_generated_documents_are_often_clean() -> None:
    rng = random.Random(5)
    kinds = [rng.choice(KINDS) for _ in range(400)]
    assert sum(check_agree(document(rng, kind), kind) for kind in kinds) > 100  # the test above tries both paths


ELEMENT_VALUES = {"Sid": SIDS, "Effect": EFFECTS, "Action": ACTIONS, "NotAction": ACTIONS, "Resource": RESOURCES,
                  "NotResource": RESOURCES, "Principal": PRINCIPALS, "NotPrincipal": PRINCIPALS, "Condition": CONDITIONS}


def test_every_value_of_every_element_takes_the_right_path() -> None:
    for kind in KINDS:
        base: dict[str, Any] = {"Sid": "A", "Effect": "Deny", "Action": "s3:GetObject"}
        if kind is not PolicyKind.TRUST:
            base["Resource"] = "*"
        if kind.has_principal:
            base["Principal"] = "*"
        assert check_agree({"Version": "2012-10-17", "Statement": base}, kind)
        for element, pools in ELEMENT_VALUES.items():
            for value in pools[0] + pools[1]:
                for effect in ("Allow", "Deny"):
                    statement = {key: value for key, value in base.items() if "Not" + key != element}
                    statement.update({"Effect": effect, element: copy.deepcopy(value)})
                    check_agree({"Version": "2012-10-17", "Statement": [statement]}, kind)
                    check_agree({"Version": "2012-10-17", "Statement": [statement, {**base, "Sid": "B"}]}, kind,
                                as_text=True)
        for element in base:
            check_agree({"Version": "2012-10-17", "Statement": {k: v for k, v in base.items() if k != element}}, kind)
        for version in VERSIONS[0] + VERSIONS[1]:
            for creating in (False, True):
                check_agree({"Version": version, "Statement": base}, kind, creating=creating)


def _known_documents() -> list[tuple[Any, PolicyKind]]:
    found = []

    def scenario_policies(scenario: dict[str, Any]) -> None:
        request = scenario.get("request") or {}
        trust = str(request.get("action", "")).lower().startswith("sts:assumerole")
        found.extend((doc, PolicyKind.IDENTITY) for doc in scenario.get("identityPolicies") or ())
        for field, kind in (("resourcePolicy", PolicyKind.TRUST if trust else PolicyKind.RESOURCE),
                            ("permissionsBoundary", PolicyKind.BOUNDARY), ("sessionPolicy", PolicyKind.SESSION)):
            if scenario.get(field) is not None:
                found.append((scenario[field], kind))
        for field, kind in (("scps", PolicyKind.SCP), ("rcps", PolicyKind.RCP)):
            found.extend((doc, kind) for level in scenario.get(field) or () for doc in level)

    for _, data in load_cases("docs"):
        for case in data["cases"]:
            scenario_policies(case["scenario"])
    corpus = SHARED / "corpus" / "reference-dev.jsonl"
    if corpus.exists():
        for line in corpus.read_text().splitlines()[:1500]:
            if line.strip():
                scenario_policies(json.loads(line))
    return found


MUTATIONS = [
    ("Effect", "allow"), ("Sid", "has space"), ("Action", ["s3GetObject", 3]), ("NotAction", "*"),
    ("Resource", "arn:aws:s3:us-east-1::bucket"), ("Resource", "bucket/*"), ("Resource", []),
    ("Condition", {"IpAddress": {"aws:SourceIp": "300.1.1.1"}}), ("Condition", {"Bool": {"MultiFactorAuthPresent": "1"}}),
    ("Principal", {"AWS": "arn:aws:iam::111122223333:group/g"}), ("NotPrincipal", {"AWS": "111122223333"}),
    ("Actions", "*"), ("Effect", None),
]


def test_known_documents_and_their_mutations_agree() -> None:
    rng = random.Random(11)
    taken = 0
    known = _known_documents()
    assert known
    for document, kind in known:
        taken += check_agree(document, kind)
        check_agree(document, kind, as_text=True)
        broken = copy.deepcopy(document)
        raw = broken.get("Statement") if isinstance(broken, dict) else None
        statement = rng.choice(raw) if isinstance(raw, list) and raw else raw
        if isinstance(statement, dict):
            key, value = rng.choice(MUTATIONS)
            statement[key] = value
            check_agree(broken, kind)
        for other in rng.sample(KINDS, 2):
            check_agree(document, other)
    assert taken > len(known) // 2  # most documents are clean, and the clean path takes them
