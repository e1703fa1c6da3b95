"""Every view names the same deciding statement and the same blocking layer.

The engine states the answer once (``Decision.deciding``, ``blocked_by``, the deciding
``Step``, ``summary()``); the text, HTML, JSON, batch line, flowchart, exercises, widgets,
simulator response and effective-permissions table only format it. This renders the
scenarios of tests/cases/docs (always) and of the shared dev corpus (when it is there)
through each view and checks they agree.
"""

from __future__ import annotations

import html
import json
from typing import Any

import pytest
from test_diagrams import flat, label

from conftest import SHARED, load_cases
from iamkit import Decision, Layer, evaluate, load_scenario
from iamkit.analysis.simulator import simulate_custom_policy
from iamkit.cli.simulate import result_line
from iamkit.engine.decision import reason
from iamkit.exercises import check_deciding_statement
from iamkit.views.diagrams import flowchart

CORPUS = SHARED / "corpus" / "reference-dev.jsonl"
DOC_SCENARIOS = [case["scenario"] for _, data in load_cases("docs") for case in data["cases"]]
CORPUS_SCENARIOS = ([{k: v for k, v in json.loads(line).items() if k != "expected"}
                     for line in CORPUS.read_text().splitlines() if line.strip()] if CORPUS.exists() else [])
BOX = {Layer.RCP: "n_rcp", Layer.SCP: "n_scp", Layer.RESOURCE: "n_resource", Layer.IDENTITY: "n_identity",
       Layer.BOUNDARY: "n_boundary", Layer.SESSION: "n_session"}


def check_views(d: Decision, scenario: dict[str, Any]) -> None:
    t, blocked = d.deciding, d.blocked_by
    summary = d.summary()
    step = d.deciding_step
    # The engine's own facts agree with each other.
    assert [s.deciding for s in d.steps].count(True) == 1
    if d.outcome.value == "explicitDeny":
        assert t is d.determining[0] and t.effect == "Deny" and step.name == "deny"
    elif d.allowed:
        assert blocked is None and (t is None or (t.effect == "Allow" and t.layer in (Layer.RESOURCE, Layer.IDENTITY)))
    elif blocked is None:  # a kind of credentials that can never call the action (credential_limit)
        assert t is None and step.name == "service-rule"
    else:
        assert t is None and step.name == BOX[blocked][2:]
    if t is not None:
        assert t.ref in summary and t.where in t.ref

    # repr, text, HTML and JSON.
    assert repr(d) == f"<Decision {summary}>"
    text = d.explain().splitlines()
    assert text[1] == f"  {summary}"
    page = d._repr_html_()
    assert html.escape(summary) in page
    if blocked is not None and d.outcome.value == "implicitDeny":
        assert f"blocked at: the {blocked.label}" in d.explain()
        assert f"Blocked at the <strong>{html.escape(blocked.label)}</strong>" in page
    data = d.to_dict()
    assert data["deciding"] == (reason(t) if t else None) and data["summary"] == summary
    assert data["blockedBy"] == (blocked.value if blocked else None)

    # The batch line.
    line, bad = result_line(1, json.dumps(scenario))
    batch = json.loads(line)
    assert not bad and batch["decision"] == d.outcome.value
    assert batch["deciding"] == data["deciding"] and batch["blockedBy"] == data["blockedBy"]

    # The flowchart: the deciding box says what decided; its text alternative the summary.
    chart = flowchart(d)
    box = flat(label(chart.source, "n_" + step.name.replace("-", "_")))
    if t is not None and (t.effect == "Deny" or t.layer.value == step.name):
        assert flat(f"{t.effect} {t.statement.label} ({t.where})") in box
    if d.allowed and "n_" + step.name in BOX.values():
        # The deciding box names its own layer's statements only.
        assert all(u.layer.value == step.name for u in d.trace if flat(f"({u.where})") in box)
    if blocked is None and d.outcome.value == "implicitDeny":
        assert flat(step.detail) in box and "nothingallowed" not in box
    if d.outcome.value == "implicitDeny":
        assert step.name == (BOX[blocked][2:] if blocked is not None else "service-rule") and "stoppedhere" in box
    assert summary in chart.text

    # The exercise checker accepts the deciding statement (or "none").
    assert check_deciding_statement(scenario, t.where if t else "none").correct
    if t is not None and sum(u.statement.label == t.statement.label for u in d.trace) == 1:
        assert check_deciding_statement(scenario, t.statement.label).correct  # a label that names it alone


@pytest.mark.parametrize("scenario", DOC_SCENARIOS, ids=[s["id"] for s in DOC_SCENARIOS])
def test_views_agree_on_the_documented_scenarios(scenario: dict[str, Any]) -> None:
    check_views(evaluate(scenario), scenario)


@pytest.mark.skipif(not CORPUS_SCENARIOS, reason=f"the shared corpus is not at {CORPUS}")
def test_views_agree_on_the_whole_dev_corpus() -> None:
    for scenario in CORPUS_SCENARIOS:
        try:
            check_views(evaluate(scenario), scenario)
        except AssertionError as exc:
            raise AssertionError(f"scenario {scenario.get('id')}: {exc}") from exc


def simulator_params(scenario: dict[str, Any]) -> dict[str, Any] | None:
    """The SimulateCustomPolicy call for a scenario it can express: an IAM user or role in the
    resource's account, no RCPs, no session policy and string context values only."""
    s = load_scenario(scenario)
    r = s.request
    if s.rcps or s.session_policy is not None or not r.same_account or r.caller.kind.value not in ("user", "role"):
        return None
    if any(not isinstance(v, str) for v in r.context.values()):
        return None
    params: dict[str, Any] = {
        "PolicyInputList": [json.dumps(p) for p in scenario.get("identityPolicies", [])],
        "ActionNames": [r.action], "ResourceArns": [r.resource], "CallerArn": r.principal,
        "ContextEntries": [{"ContextKeyName": k, "ContextKeyValues": [v], "ContextKeyType": "string"}
                           for k, v in r.context.items()],
    }
    if scenario.get("permissionsBoundary") is not None:
        params["PermissionsBoundaryPolicyInputList"] = [json.dumps(scenario["permissionsBoundary"])]
    if scenario.get("resourcePolicy") is not None:
        params["ResourcePolicy"] = json.dumps(scenario["resourcePolicy"])
    if scenario.get("scps"):
        params["OrderedOrganizationPolicyInputList"] = [
            {"ServiceControlPolicyInputList": [json.dumps(p) for p in level]} for level in scenario["scps"]]
    return params


def test_the_simulator_response_reports_the_engines_layers() -> None:
    checked = 0
    for scenario in DOC_SCENARIOS + CORPUS_SCENARIOS[:400]:
        params = simulator_params(scenario)
        if params is None:
            continue
        d = evaluate(scenario)
        try:
            (result,) = simulate_custom_policy(**params)["EvaluationResults"]
        except Exception:  # noqa: BLE001 - a scenario the simulator refuses is not a view of it
            continue
        checked += 1
        assert result["EvalDecision"] == d.outcome.value, scenario["id"]
        scp, boundary = d.layer(Layer.SCP), d.layer(Layer.BOUNDARY)
        if scp is not None:
            assert result["OrganizationsDecisionDetail"]["AllowedByOrganizations"] == scp.allows, scenario["id"]
        if boundary is not None:
            assert result["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"] == boundary.allows
    assert checked >= 20
