"""The public surface: exports, the Decision's displays and serialisation."""

from __future__ import annotations

import dataclasses
import json
import types

import pytest

import iamkit
from conftest import user_scenario
from iamkit import Decision, Layer, Origin, Outcome, Policy, PolicyKind, Problem, Request, Scenario, evaluate, load_scenario

ARN = "arn:aws:iam::111122223333:user/alice"
ALLOW = {"Sid": "ReadReports", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
         "Condition": {"StringEquals": {"aws:PrincipalTag/team": "finance"}}}


def test_all_is_sorted_and_complete() -> None:
    assert iamkit.__all__ == sorted(iamkit.__all__)
    public = {name for name in dir(iamkit)
              if not name.startswith("_") and not isinstance(getattr(iamkit, name), types.ModuleType)}
    assert public == set(iamkit.__all__) - {"__version__"}
    for name in iamkit.__all__:
        assert getattr(iamkit, name) is not None


def test_engine_imports_no_view_libraries() -> None:
    import subprocess
    import sys

    views = ("pandas", "graphviz", "ipywidgets", "IPython")
    code = f"import sys, iamkit, iamkit.cli; print(sorted(m for m in {views!r} if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "[]"


def _policy(name: str) -> Policy:
    return Policy(PolicyKind.RESOURCE, (), "2012-10-17", f"{name}-id", name, (Problem("$", "a warning"),),
                  Origin("inline", name, "user/alice"), "{}", {"Statement": []})


_SAMPLES = {  # every field given a value unlike its default, each value unlike the others
    Policy: (PolicyKind.SCP,) + tuple(getattr(_policy("p"), f.name) for f in dataclasses.fields(Policy))[1:],
    Request: (ARN, "s3:GetObject", "arn:aws:s3:::amzn-s3-demo-bucket/key", "444455556666", {"aws:username": "alice"}),
    Scenario: (Request(ARN, "s3:GetObject"), (_policy("identity"),), _policy("resource"), _policy("boundary"),
               _policy("session"), ((_policy("scp"),),), ((_policy("rcp"),),), "scenario-1"),
}


@pytest.mark.parametrize("cls", list(_SAMPLES))
def test_written_out_initialisers_take_every_field_as_declared(cls: type) -> None:
    # These dataclasses write their __init__ out (see Policy's): it must take the fields the
    # class declares, in order and by name, with the declared defaults, as a generated one would.
    fields, values = dataclasses.fields(cls), _SAMPLES[cls]
    for made in (cls(*values), cls(**{f.name: v for f, v in zip(fields, values, strict=True)})):
        assert [getattr(made, f.name) for f in fields] == list(values)
    required = sum(f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING for f in fields)
    bare = cls(*values[:required])
    for f in fields[required:]:
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        assert getattr(bare, f.name) == default
    second = fields[1].name
    assert getattr(dataclasses.replace(bare, **{second: values[1]}), second) == values[1]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(bare, second, values[1])


def test_decision_explains_itself_in_text_and_html() -> None:
    decision = evaluate(user_scenario(ALLOW))
    assert repr(decision) == "<Decision Implicitly denied: no identity policy allows the request.>"
    bundle = decision._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    text = bundle["text/plain"]
    assert "DENIED (implicit deny: nothing allowed it)" in text
    assert "StringEquals aws:PrincipalTag/team: missing from the request vs policy `finance` → false" in text
    assert "aws:PrincipalTag/team" in text.split("did not have:")[1]
    assert 'class="iamkit-decision iamkit-implicitDeny"' in bundle["text/html"]
    assert decision._repr_mimebundle_(include=["text/plain"]).keys() == {"text/plain"}
    assert decision._repr_mimebundle_(exclude=["text/html"]).keys() == {"text/plain"}


def test_decision_json_round_trips_every_part() -> None:
    scenario = user_scenario(ALLOW, {"aws:PrincipalTag/team": "finance"})
    decision = evaluate(scenario)
    data = json.loads(decision.to_json())
    assert data["decision"] == "allowed"
    assert data["determining"][0]["sid"] == data["deciding"]["sid"] == "ReadReports"
    assert data["summary"].startswith("Allowed: ReadReports (identity policy 0, Statement[0]) allows")
    assert [(v["layer"], v["decision"]) for v in data["layers"]] == [("identity", "allowed")]
    assert data["trace"][0]["conditions"][0] == {
        "operator": "StringEquals", "key": "aws:PrincipalTag/team", "values": ["finance"],
        "contextValues": ["finance"], "result": True, "missing": False, "unresolved": [], "note": "",
    }
    assert [s["name"] for s in data["steps"]] == ["service-rule", "deny", "rcp", "scp", "resource", "identity",
                                                  "boundary", "session"]
    assert [s["name"] for s in data["steps"] if s["deciding"]] == ["identity"]
    assert data["context"]["aws:username"] == "alice"


def test_repr_names_the_deciding_statement() -> None:
    scenario = user_scenario({"Sid": "DenyDelete", "Effect": "Deny", "Action": "s3:*", "Resource": "*"})
    assert repr(evaluate(scenario)) == ("<Decision Explicitly denied: DenyDelete (identity policy 0, Statement[0]) "
                                        "denies s3:GetObject on arn:aws:s3:::amzn-s3-demo-bucket/report.csv.>")


def test_a_prepared_policy_set_evaluates_many_requests() -> None:
    scenario = load_scenario(user_scenario({"Sid": "Own", "Effect": "Allow", "Action": "s3:*",
                                            "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/${aws:username}/*"}))
    base = scenario.request
    results = {}
    for user in ("alice", "bob"):
        request = Request(f"arn:aws:iam::111122223333:user/{user}", base.action,
                          "arn:aws:s3:::amzn-s3-demo-bucket/alice/notes.txt")
        results[user] = evaluate(scenario, request=request).outcome
    assert results == {"alice": Outcome.ALLOWED, "bob": Outcome.IMPLICIT_DENY}


def test_decision_is_truthy_only_when_allowed() -> None:
    assert evaluate(user_scenario({"Effect": "Allow", "Action": "*", "Resource": "*"}))
    denied: Decision = evaluate(user_scenario({"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}))
    assert not denied and denied.blocked_by is Layer.IDENTITY
    assert denied.statements("identity", matched=False)[0].failed_element == "Action"
