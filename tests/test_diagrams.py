"""Diagrams render from a Decision or the account model: asserted on their DOT source.

Structure (nodes, the highlighted path, where the deciding statement is named), determinism,
escaping of untrusted names, the text alternatives and the fallback when Graphviz's `dot`
is missing. Rendered SVG is only checked for being produced and for holding no markup that
came from user text (layouts differ across Graphviz versions).
"""

from __future__ import annotations

import copy
import html
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import CASES, ROOT, user_scenario
from iamkit import Decision, IamkitError, Layer, evaluate
from iamkit.account import Account, AccountError
from iamkit.views.diagrams import (
    Diagram,
    DiagramError,
    account_graph,
    cross_account_diagram,
    flowchart,
    trust_diagram,
)
from iamkit.views.dot import ALLOW, DENY, IMPLICIT, MISSING_DOT
from iamkit.views.graphview import WIDGET_VIEW

EXPORT = CASES / "accounts" / "examplecorp.json"
BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket"
ALICE = "arn:aws:iam::111122223333:user/alice"
PAYLOADS = ['"><img src=x onerror=alert(1)>', "</script>", '"quoted"', "{braces}", "back\\slash"]
MFA = {"aws:MultiFactorAuthPresent": "true"}

# ── reading DOT source ─────────────────────────────────────────────────────────

_ATTR = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
_NODE = re.compile(r'\s*"([^"]+)" \[(.*)\];$')
_EDGE = re.compile(r'\s*"([^"]+)" -> "([^"]+)" \[(.*)\];$')


def nodes(source: str) -> dict[str, dict[str, str]]:
    return {m[1]: dict(_ATTR.findall(m[2])) for m in map(_NODE.match, source.splitlines()) if m}


def edges(source: str) -> dict[tuple[str, str], dict[str, str]]:
    return {(m[1], m[2]): dict(_ATTR.findall(m[3])) for m in map(_EDGE.match, source.splitlines()) if m}


def shown(label: str) -> str:
    """What Graphviz displays for a label: DOT escapes undone, then character entities."""
    return html.unescape(re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], label))


def flat(text: str) -> str:
    """Text without whitespace, so a name wrapped across label lines still matches."""
    return re.sub(r"\s", "", text)


def text_of(attrs: dict[str, str]) -> str:
    """An edge's (or node's) label as displayed, wrapped lines joined with spaces."""
    return shown(attrs["label"]).replace("\n", " ")


def bold_edges(source: str) -> set[tuple[str, str]]:
    return {k for k, a in edges(source).items() if "bold" in a.get("style", "")}


def label(source: str, node: str) -> str:
    """A node's label as displayed, its wrapped lines joined with spaces."""
    return shown(nodes(source)[node]["label"]).replace("\n", " ")


# ── decisions ──────────────────────────────────────────────────────────────────


def _scenario(*statements: dict, **extra: object) -> dict:
    scenario = user_scenario(statements[0])
    scenario["identityPolicies"][0]["Statement"] += list(statements[1:])
    scenario.update(extra)
    return scenario


READ = {"Sid": "ReadReports", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}


def _scenarios() -> dict[str, dict]:
    cross = _scenario(READ, resourcePolicy={"Version": "2012-10-17", "Statement": [
        {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999988887777:root"},
         "Action": "s3:GetObject", "Resource": "*"}]})
    cross["request"].update(resource="arn:aws:s3:::partner-bucket/x", resourceAccount="444455556666")
    cross_ok = copy.deepcopy(cross)
    cross_ok["resourcePolicy"]["Statement"][0]["Principal"]["AWS"] = "111122223333"
    cross_none = copy.deepcopy(cross)
    del cross_none["resourcePolicy"]
    whoami = _scenario(READ)
    whoami["request"]["action"] = "sts:GetCallerIdentity"
    only_ec2 = {"Version": "2012-10-17", "Statement": [{"Sid": "OnlyEc2", "Effect": "Allow", "Action": "ec2:*",
                                                        "Resource": "*"}]}
    trust = _scenario(READ, permissionsBoundary=only_ec2, resourcePolicy={"Version": "2012-10-17", "Statement": [
        {"Sid": "TrustAlice", "Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "sts:AssumeRole"}]})
    trust["request"].update(action="sts:AssumeRole", resource="arn:aws:iam::111122223333:role/Deploy")
    session = _scenario(READ, sessionPolicy=only_ec2)
    session["request"]["principal"] = "arn:aws:sts::111122223333:assumed-role/App/build-7"
    return {
        "allowed": _scenario(READ),
        "trust": trust,
        "session": session,
        "boundary": _scenario(READ, permissionsBoundary=only_ec2),
        "deny": _scenario(READ, {"Sid": "NoReports", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}),
        "scp": _scenario(READ, scps=[[only_ec2]]),
        "whoami": whoami,
        "cross": cross,
        "cross_ok": cross_ok,
        "cross_none": cross_none,
    }


@pytest.fixture(scope="module")
def decisions() -> dict[str, Decision]:
    return {name: evaluate(scenario) for name, scenario in _scenarios().items()}


@pytest.fixture(scope="module")
def account() -> Account:
    return Account.from_file(EXPORT)


# ── the flowchart ──────────────────────────────────────────────────────────────

BOXES = ["n_service_rule", "n_deny", "n_rcp", "n_scp", "n_resource", "n_identity", "n_boundary", "n_session"]
TERMINALS = ["n_explicit_deny", "n_implicit_deny", "n_allowed"]


def test_plain_flowchart_is_the_lesson() -> None:
    chart = flowchart()
    found = nodes(chart.source)
    assert list(found) == ["n_start", *BOXES, *TERMINALS]
    assert all(found[b]["shape"] == "diamond" for b in BOXES)
    # Shape and words carry the meaning, not only colour.
    assert found["n_explicit_deny"]["shape"] == "octagon" and "DENY" in label(chart.source, "n_explicit_deny")
    assert "dashed" in found["n_implicit_deny"]["style"] and "implicit deny" in label(chart.source, "n_implicit_deny")
    assert found["n_allowed"]["peripheries"] == "2" and "ALLOWED" in label(chart.source, "n_allowed")
    assert (found["n_explicit_deny"]["color"], found["n_implicit_deny"]["color"], found["n_allowed"]["color"]) == (
        DENY, IMPLICIT, ALLOW)
    assert "RCPFullAWSAccess" in label(chart.source, "n_rcp")
    assert "sts:GetCallerIdentity" in label(chart.source, "n_service_rule")
    assert bold_edges(chart.source) == set()
    assert ("n_deny", "n_explicit_deny") in edges(chart.source)
    assert chart.text.startswith("AWS's policy evaluation flowchart (deny wins)")
    assert "every level of the organization" in chart.text and "Outcomes:" in chart.text
    assert "passed" not in chart.source and "stopped here" not in chart.source


def test_flowchart_highlights_the_path_to_the_blocking_boundary(decisions) -> None:
    chart = flowchart(decisions["boundary"])
    assert bold_edges(chart.source) == {
        ("n_start", "n_service_rule"), ("n_service_rule", "n_deny"), ("n_deny", "n_rcp"), ("n_rcp", "n_scp"),
        ("n_scp", "n_resource"), ("n_resource", "n_identity"), ("n_identity", "n_boundary"),
        ("n_boundary", "n_implicit_deny")}
    for key, attrs in edges(chart.source).items():
        if key not in bold_edges(chart.source):
            assert attrs["style"] == "solid" and attrs["penwidth"] == "1"
    found = nodes(chart.source)
    boundary = label(chart.source, "n_boundary")
    assert "✖ stopped here" in boundary
    assert "no statement in the permissions boundary allowed s3:GetObject" in boundary
    assert "OnlyEc2 (permissions boundary, Statement[0]): Action did not match" in boundary
    assert "✔ passed" in label(chart.source, "n_identity") and "✔ passed" in label(chart.source, "n_deny")
    assert "· none: nothing to check" in label(chart.source, "n_scp")
    assert "bold" in found["n_boundary"]["style"] and found["n_boundary"]["penwidth"] == "3"
    assert "bold" not in found["n_session"]["style"] and "bold" not in found["n_allowed"]["style"]
    assert "this request" in label(chart.source, "n_implicit_deny")
    assert "passed the explicit-deny check (no statement explicitly denies the request)" in chart.text
    assert chart.text.endswith("and stopped at the permissions boundary: no statement in the permissions boundary "
                               "allowed s3:GetObject (the permissions boundary does not allow the request).")


def test_flowchart_names_the_deny_at_the_deny_box(decisions) -> None:
    chart = flowchart(decisions["deny"])
    assert bold_edges(chart.source) == {("n_start", "n_service_rule"), ("n_service_rule", "n_deny"),
                                        ("n_deny", "n_explicit_deny")}
    deny = label(chart.source, "n_deny")
    assert "✖ DENY: stopped here" in deny and "Deny NoReports (identity policy 0, Statement[1])" in deny
    assert all("NoReports" not in label(chart.source, n) for n in BOXES if n != "n_deny")
    assert "stopped at the explicit-deny check: NoReports (identity policy 0, Statement[1]) explicitly denies it" \
        in chart.text


def test_flowchart_names_the_allow_at_the_allowing_box(decisions) -> None:
    chart = flowchart(decisions["allowed"])
    identity = label(chart.source, "n_identity")
    assert "✔ allows" in identity and "Allow ReadReports (identity policy 0, Statement[0])" in identity
    # No boundary and no session policy: the path passes those boxes, marked as absent.
    assert "· none" in label(chart.source, "n_boundary") and "· none" in label(chart.source, "n_session")
    assert ("n_session", "n_allowed") in bold_edges(chart.source)
    assert all("ReadReports" not in label(chart.source, n) for n in BOXES if n != "n_identity")
    assert "was allowed at the identity policies" in chart.text and "ALLOWED" in chart.text.splitlines()[0]


def test_flowchart_scp_block_and_service_rule(decisions) -> None:
    scp = flowchart(decisions["scp"])
    assert ("n_scp", "n_implicit_deny") in bold_edges(scp.source)
    assert "no statement in the service control policy allowed s3:GetObject" in label(scp.source, "n_scp")
    whoami = flowchart(decisions["whoami"])
    assert bold_edges(whoami.source) == {("n_start", "n_service_rule"), ("n_service_rule", "n_allowed")}
    assert "allowed without a statement: AWS always allows `sts:GetCallerIdentity`" \
        in label(whoami.source, "n_service_rule")


def test_cross_account_path_follows_the_engine_steps(decisions) -> None:
    # Without a resource policy the engine weighs the identity side first, then finds the
    # resource policy missing: the path says so, with edges the lesson chart lacks.
    chart = flowchart(decisions["cross_none"])
    bold = bold_edges(chart.source)
    assert ("n_scp", "n_identity") in bold and ("n_session", "n_resource") in bold
    assert ("n_resource", "n_implicit_deny") in bold
    assert edges(chart.source)[("n_scp", "n_identity")]["constraint"] == "false"
    assert "✖ stopped here" in label(chart.source, "n_resource")
    # Checked after the decision fell, shown but not on the path.
    cross = flowchart(decisions["cross"])
    assert ("n_resource", "n_implicit_deny") in bold_edges(cross.source)
    assert ("n_resource", "n_identity") not in bold_edges(cross.source)
    assert "checked after the decision fell" in label(cross.source, "n_identity")
    assert "Checked after the decision fell: the identity policies" in cross.text


def test_trust_and_session_paths(decisions) -> None:
    # A trust policy naming the caller still needs the caller's permissions boundary.
    trust = flowchart(decisions["trust"])
    assert {("n_resource", "n_boundary"), ("n_boundary", "n_implicit_deny")} <= bold_edges(trust.source)
    assert "no statement in the permissions boundary allowed sts:AssumeRole" in label(trust.source, "n_boundary")
    # A role session: no boundary (shown as none), then the session policy blocks.
    session = flowchart(decisions["session"])
    assert {("n_identity", "n_boundary"), ("n_boundary", "n_session"), ("n_session", "n_implicit_deny")} \
        <= bold_edges(session.source)
    assert "· none" in label(session.source, "n_boundary")
    assert "no statement in the session policy allowed s3:GetObject" in label(session.source, "n_session")
    assert ("found no permissions boundary to check (the principal has no permissions boundary), "
            "and stopped at the session policy") in session.text


def test_a_service_rule_deny_shows_the_engines_reason() -> None:
    # A federated-user session cannot call IAM operations, whatever its policies allow
    # (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html,
    # "Permissions"). A statement did allow, so the box must not say that nothing allowed it.
    scenario = _scenario({"Sid": "AllowIam", "Effect": "Allow", "Action": "iam:*", "Resource": "*"})
    scenario["request"].update(principal="arn:aws:sts::111122223333:federated-user/bob", action="iam:ListUsers",
                               resource="*")
    decision = evaluate(scenario)
    step = decision.deciding_step
    assert (step.name, decision.blocked_by) == ("service-rule", None)
    chart = flowchart(decision)
    box = label(chart.source, "n_service_rule")
    assert "✖ stopped here" in box and flat(step.detail) in flat(box)
    assert "nothing allowed" not in box and "no statement" not in box
    assert chart.text.endswith(f"stopped at the service-rule check: {step.detail}.")
    assert "no statement" not in chart.text


def test_each_box_names_only_its_own_allowing_statements() -> None:
    # The session box decides this allow: it names the session policy's statement, not the
    # identity grant (which the summary names).
    scenario = _scenario({"Sid": "Grant", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                         permissionsBoundary={"Version": "2012-10-17", "Statement": [
                             {"Sid": "Fence", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]},
                         sessionPolicy={"Version": "2012-10-17", "Statement": [
                             {"Sid": "Sess", "Effect": "Allow", "Action": "*", "Resource": "*"}]})
    scenario["request"]["principal"] = "arn:aws:sts::111122223333:assumed-role/App/build-7"
    decision = evaluate(scenario)
    assert decision.allowed and decision.deciding_step.name == "session"
    chart = flowchart(decision)
    box = label(chart.source, "n_session")
    own = decision.layer(Layer.SESSION).matched
    assert "✔ allows" in box and [t.sid for t in own] == ["Sess"]
    assert flat(f"Allow Sess ({own[0].where})") in flat(box)
    assert "Grant" not in box and "Fence" not in box
    assert chart.text.endswith("and was allowed at the session policy (the session policy allows the request), "
                               "by Allow Sess (session policy, Statement[0]).")
    assert chart.text.splitlines()[1] == decision.summary() and "Grant" in decision.summary()


@pytest.mark.parametrize("name", ["allowed", "boundary", "deny", "scp", "whoami", "cross", "cross_ok", "cross_none",
                                  "trust", "session"])
def test_the_bold_edges_form_one_path_from_request_to_outcome(decisions, name: str) -> None:
    decision = decisions[name]
    bold = bold_edges(flowchart(decision).source)
    following = dict(bold)
    assert len(following) == len(bold), "a box is left by two bold edges"
    node, seen = "n_start", 0
    while node in following:
        node, seen = following[node], seen + 1
    assert seen == len(bold)
    assert node == {"allowed": "n_allowed", "explicitDeny": "n_explicit_deny",
                    "implicitDeny": "n_implicit_deny"}[decision.outcome.value]


# ── the account graph ──────────────────────────────────────────────────────────


def test_account_graph_reads_the_model(account: Account) -> None:
    graph = account_graph(account)
    found, links = nodes(graph.source), edges(graph.source)
    assert {"user_alice", "user_bob", "user_carol", "group_developers", "group_admins", "role_AppServer",
            "role_Deploy", "role_PartnerAudit", "profile_AppServer"} <= set(found)
    assert ("user_alice", "group_developers") in links and text_of(links["user_alice", "group_developers"]) == "member of"
    managed = next(n for n in found if n.startswith("policy_") and "ReadReports" in label(graph.source, n))
    inline = next(n for n in found if n.startswith("inline_") and "NoDeletes" in label(graph.source, n))
    assert found[managed]["shape"] == "note" and "managed policy" in label(graph.source, managed)
    assert "customer managed" in label(graph.source, managed)
    assert found[inline]["shape"] == "component" and "inline policy" in label(graph.source, inline)
    boundary = next(k for k in links if k[0] == "user_carol" and "DeveloperBoundary" in label(graph.source, k[1]))
    assert links[boundary]["style"] == "dashed" and links[boundary]["label"] == "boundary"
    assert ("profile_AppServer", "role_AppServer") in links
    # Trust policies, read and not evaluated: who is named, with conditions flagged.
    ec2 = next(n for n in found if "ec2.amazonaws.com" in label(graph.source, n))
    assert found[ec2]["shape"] == "cds" and "trusted" in links[ec2, "role_AppServer"]["label"]
    partner = next(n for n in found if "444455556666" in label(graph.source, n))
    assert "with conditions" in text_of(links[partner, "role_PartnerAudit"])
    assert "tags" not in graph.source and "team = finance" in label(graph.source, "user_alice")
    assert graph.text.splitlines()[0] == ("Account 111122223333: 3 users, 2 groups, 3 roles, 3 managed policies, "
                                          "1 instance profile.")
    assert ("user `carol`: member of group `developers`; inline policy `NoDeletes`; permissions boundary "
            "`DeveloperBoundary`; managed policy `AdministratorAccess`.") in graph.text
    assert "role `AppServer`: its trust policy names service `ec2.amazonaws.com`" in graph.text
    assert "role `Deploy`: its trust policy names account 111122223333 (with conditions)" in graph.text


def test_account_graph_draws_evaluated_assumers(account: Account) -> None:
    assumers = {role: account.who_can_assume(role, context=MFA, allowed_only=False) for role in account.roles}
    graph = account_graph(account, assumers=assumers)
    links = edges(graph.source)
    assert links["user_bob", "role_Deploy"]["label"] == "may assume"
    # Denied candidates are not drawn; nothing is evaluated from the trust policy instead.
    assert ("user_carol", "role_Deploy") not in links
    assert not any("trusted" in a["label"] for a in links.values())
    assert "role `Deploy`: may be assumed by user `bob`; inline policy `DeployApps`." in graph.text
    assert "role `PartnerAudit`: no principal given may assume it; managed policy `ReadReports`." in graph.text
    plain = account_graph(account, assumers={"AppServer": ["ec2.amazonaws.com"]})
    assert any(k[1] == "role_AppServer" and a["label"] == "may assume" for k, a in edges(plain.source).items())


def test_account_graph_focus_keeps_the_neighbourhood(account: Account) -> None:
    carol = account_graph(account, focus="carol")
    found = nodes(carol.source)
    assert "user_carol" in found and "group_developers" in found and "bold" in found["user_carol"]["style"]
    assert "user_bob" not in found and "user_alice" not in found and "role_Deploy" not in found
    assert any("TeamPrefix" in label(carol.source, n) for n in found)  # through her group
    assert carol.text.startswith("Account 111122223333, around user `carol`:")
    role = account_graph(account, focus="role/AppServer")
    assert set(nodes(role.source)) >= {"role_AppServer", "profile_AppServer"}
    assert not any(n.startswith("user_") for n in nodes(role.source))
    group = account_graph(account, focus="admins")
    assert {"group_admins", "user_bob"} <= set(nodes(group.source))
    with pytest.raises(AccountError, match="did you mean `carol`"):
        account_graph(account, focus="carlo")


# ── trust and cross-account ────────────────────────────────────────────────────


def test_trust_diagram_from_who_can_assume(account: Account) -> None:
    candidates = account.who_can_assume("Deploy", context=MFA, allowed_only=False)
    diagram = trust_diagram("Deploy", candidates, account.identity_policies("Deploy"))
    found, links = nodes(diagram.source), edges(diagram.source)
    assert "n_role" in found and "Deploy" in label(diagram.source, "n_role")
    by_who = {shown(found[t]["label"]).split("\n", 1)[1].replace("\n", ""): (t, a)
              for (t, h), a in links.items() if h == "n_role"}
    bob, bob_edge = by_who["arn:aws:iam::111122223333:user/bob"]
    # The trust policy names the account, which delegates to bob's identity policy: that grants.
    bob_decision = dict(candidates)["arn:aws:iam::111122223333:user/bob"]
    assert bob_decision.deciding is not None and bob_decision.deciding.layer is Layer.IDENTITY
    assert bob_edge["style"] == "bold"
    assert f"may assume ({bob_decision.deciding.statement.label})" in text_of(bob_edge)
    _, carol_edge = by_who["arn:aws:iam::111122223333:user/contractors/carol"]
    assert carol_edge["style"] == "dashed" and "implicit deny at the permissions boundary" in text_of(carol_edge)
    assert "Allow lambda:UpdateFunctionCode, s3:PutObject" in label(diagram.source, "n_policy_0")
    assert ("n_role", "n_policy_0") in links
    assert diagram.text.startswith("Role `Deploy`.\nWho may assume it:\n")
    assert f"- `arn:aws:iam::111122223333:user/bob`: allowed by Allow {bob_decision.deciding.statement.label} (" \
        in diagram.text
    assert ("- `arn:aws:iam::111122223333:user/contractors/carol`: implicitly denied: nothing in the permissions "
            "boundary allowed it.") in diagram.text
    assert "- inline policy `DeployApps`: Allow lambda:UpdateFunctionCode, s3:PutObject." in diagram.text
    nobody = trust_diagram("PartnerAudit", account.who_can_assume("PartnerAudit"), [])
    assert "no one among the candidates given" in nobody.text and "nothing" in nobody.text


def test_cross_account_diagram_shows_each_side(decisions) -> None:
    diagram = cross_account_diagram(decisions["cross"])
    assert 'subgraph "cluster_caller"' in diagram.source and 'subgraph "cluster_resource"' in diagram.source
    assert "caller's account 111122223333" in diagram.source and "resource's account 444455556666" in diagram.source
    caller_block = diagram.source.split('subgraph "cluster_resource"')[0]
    assert '"n_identity"' in caller_block and '"n_resource_policy"' not in caller_block
    assert "✔ allows" in label(diagram.source, "n_identity")
    assert "ReadReports" in label(diagram.source, "n_identity")
    policy = label(diagram.source, "n_resource_policy")
    assert "✖ does not allow" in policy and "does not allow this cross-account request" in policy
    assert edges(diagram.source)[("n_resource_policy", "n_outcome")]["style"] == "bold"
    assert "DENY" in label(diagram.source, "n_outcome")
    assert "The resource's side (account 444455556666): the resource control policies: not applicable" in diagram.text
    assert "A cross-account request needs both sides to allow it." in diagram.text
    ok = cross_account_diagram(decisions["cross_ok"])
    assert "Allow Partner (resource policy, Statement[0])" in label(ok.source, "n_resource_policy")
    assert "ALLOWED" in label(ok.source, "n_outcome")
    deny = cross_account_diagram(decisions["deny"])
    assert 'subgraph "cluster_resource"' not in deny.source  # same account: one cluster
    assert "✖ DENY" in label(deny.source, "n_identity") and "not reached" in label(deny.source, "n_resource_policy")
    assert deny.text.startswith("Same-account request:")


def test_cross_account_diagram_of_a_service_caller() -> None:
    decision = evaluate({"request": {"principal": "logs.amazonaws.com", "action": "s3:PutObject",
                                     "resource": "arn:aws:s3:::log-bucket/x", "resourceAccount": "111122223333"},
                         "resourcePolicy": {"Version": "2012-10-17", "Statement": [
                             {"Sid": "Logs", "Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"},
                              "Action": "s3:PutObject", "Resource": "*"}]}})
    diagram = cross_account_diagram(decision)
    assert "caller: an AWS service" in diagram.source
    # The decision fell at the resource policy: the identity side was never reached.
    assert "not reached" in label(diagram.source, "n_identity")
    assert "Allow Logs (resource policy, Statement[0])" in label(diagram.source, "n_resource_policy")
    assert diagram.text.startswith("Request by an AWS service: logs.amazonaws.com → s3:PutObject")
    assert "(account )" not in diagram.text


def test_cross_account_diagram_of_a_service_caller_shows_what_the_engine_recorded() -> None:
    # The view imposes no rule of its own on a service caller: a Deny the engine found in
    # the identity layer is drawn there, as deciding.
    scenario = {"request": {"principal": "cloudtrail.amazonaws.com", "action": "s3:PutObject",
                            "resource": "arn:aws:s3:::logs/x", "resourceAccount": "111122223333"},
                "identityPolicies": [{"Version": "2012-10-17", "Statement": [
                    {"Sid": "IdDeny", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}],
                "resourcePolicy": {"Version": "2012-10-17", "Statement": [
                    {"Sid": "Bucket", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
                     "Action": "s3:PutObject", "Resource": "*"}]}}
    decision = evaluate(scenario)
    assert decision.outcome.value == "explicitDeny" and [t.layer for t in decision.determining] == [Layer.IDENTITY]
    diagram = cross_account_diagram(decision)
    identity = label(diagram.source, "n_identity")
    assert "✖ DENY" in identity and "Deny IdDeny (identity policy 0, Statement[0])" in identity
    assert edges(diagram.source)[("n_identity", "n_outcome")]["style"] == "bold"
    assert "the identity side: DENY: explicitly denies (Deny IdDeny (identity policy 0, Statement[0]))" \
        in diagram.text
    assert "no identity policies" not in diagram.source + diagram.text
    # Without the Deny or the bucket policy, the decision falls at the resource policy: only
    # that side is drawn as deciding, and the identity side says what the engine recorded.
    del scenario["identityPolicies"], scenario["resourcePolicy"]
    decision = evaluate(scenario)
    assert (decision.blocked_by, decision.deciding_step.name) == (Layer.RESOURCE, "resource")
    diagram = cross_account_diagram(decision)
    recorded = next(s for s in decision.steps if s.name == "identity")
    assert flat(recorded.detail) in flat(label(diagram.source, "n_identity"))
    assert edges(diagram.source)[("n_resource_policy", "n_outcome")]["style"] == "bold"
    assert edges(diagram.source)[("n_identity", "n_outcome")]["style"] == "invis"


# ── determinism ────────────────────────────────────────────────────────────────


def _all_diagrams(account: Account, decisions: dict[str, Decision]) -> list[Diagram]:
    return [
        flowchart(), *(flowchart(d) for d in decisions.values()),
        account_graph(account), account_graph(account, focus="carol"),
        trust_diagram("Deploy", account.who_can_assume("Deploy", context=MFA, allowed_only=False),
                      account.identity_policies("Deploy")),
        *(cross_account_diagram(d) for d in decisions.values()),
    ]


def test_same_input_gives_byte_identical_source(account: Account, decisions) -> None:
    first = [(d.source, d.text) for d in _all_diagrams(account, decisions)]
    again = _all_diagrams(Account.from_file(EXPORT), {k: evaluate(v) for k, v in _scenarios().items()})
    assert first == [(d.source, d.text) for d in again]
    assert not re.search(r"\d{4}-\d\d-\d\dT|0x[0-9a-f]{6,}", "".join(s for s, _ in first))


# ── escaping untrusted text ────────────────────────────────────────────────────


def _evil_account(payload: str) -> Account:
    data = json.loads(EXPORT.read_text())
    alice = data["UserDetailList"][0]
    alice.update(UserName=payload, Arn=f"arn:aws:iam::111122223333:user/{payload}", GroupList=[payload],
                 Tags=[{"Key": payload, "Value": payload}],
                 UserPolicyList=[{"PolicyName": payload, "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                     {"Sid": payload, "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}]}}])
    data["UserDetailList"][2]["GroupList"] = [payload]
    data["GroupDetailList"][0]["GroupName"] = payload
    data["Policies"][0]["PolicyName"] = payload
    deploy = data["RoleDetailList"][1]
    deploy.update(RoleName=payload, Arn=f"arn:aws:iam::111122223333:role/{payload}",
                  Tags=[{"Key": "team", "Value": payload}])
    deploy["RolePolicyList"][0]["PolicyName"] = payload
    return Account.from_authorization_details(data)


def _evil_decision(payload: str) -> Decision:
    scenario = _scenario({"Sid": payload, "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
                         {"Sid": "x" + payload, "Effect": "Deny", "Action": "s3:GetObject", "Resource": "*",
                          "Condition": {"StringEquals": {"aws:PrincipalTag/team": payload}}},
                         resourcePolicy={"Version": "2012-10-17", "Statement": [
                             {"Sid": payload, "Effect": "Allow", "Principal": {"AWS": "111122223333"},
                              "Action": "s3:GetObject", "Resource": "*"}]})
    scenario["request"].update(resource=f"arn:aws:s3:::partner-bucket/{payload}", resourceAccount="444455556666",
                               context={"aws:PrincipalTag/team": payload})
    return evaluate(scenario)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_untrusted_names_are_escaped_everywhere(payload: str) -> None:
    account = _evil_account(payload)
    user_arn = f"arn:aws:iam::111122223333:user/{payload}"
    role = account.roles[payload]
    deny = account.evaluate(user_arn, "s3:DeleteObject", f"{BUCKET}/x")
    assert deny.outcome.value == "explicitDeny" and deny.determining[0].sid == payload
    evil = _evil_decision(payload)
    assert evil.outcome.value == "explicitDeny"
    diagrams = {
        "flowchart": flowchart(deny),
        "flowchart_sid": flowchart(evil),
        "account": account_graph(account),
        "account_focus": account_graph(account, focus=user_arn),
        "trust": trust_diagram(payload, account.who_can_assume(role, context=MFA, allowed_only=False),
                               account.identity_policies(role)),
        "cross": cross_account_diagram(evil),
    }
    for kind, diagram in diagrams.items():
        source = diagram.source
        # Nothing of the payload survives raw in the DOT text.
        assert "<img" not in source and "</script" not in source and "{braces}" not in source, kind
        assert payload not in source, kind
        # Every line is one statement: a quote in a name cannot end a string early.
        for line in source.splitlines()[1:-1]:
            assert line.strip().startswith(("graph [", "node [", "edge [", '"', "subgraph", "}", "{ rank")), (kind, line)
        # What Graphviz will display is the name exactly.
        labels = "".join(flat(shown(a["label"])) for a in nodes(source).values())
        labels += "".join(flat(shown(a["label"])) for a in edges(source).values())
        assert flat(payload) in labels, kind
        # And dot accepts it, drawing no markup from user text.
        svg = diagram.svg()
        assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
        assert "<img" not in svg and "<script" not in svg and "</script" not in svg, kind
        texts = html.unescape("".join(re.findall(r"<text[^>]*>([^<]*)</text>", svg)))
        assert flat(payload) in flat(texts), kind
        # The text alternative names it too, as written.
        assert payload in diagram.text or flat(payload) in flat(diagram.text), kind
    assert payload in diagrams["flowchart"].text
    deny_label = label(diagrams["flowchart"].source, "n_deny")
    assert flat(f"Deny {payload} (inline policy `{payload}` in user `{payload}`, Statement[0])") in flat(deny_label)


def test_node_ids_are_sanitised_and_distinct() -> None:
    account = _evil_account('"><img src=x onerror=alert(1)>')
    ids = list(nodes(account_graph(account).source))
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", i) for i in ids)
    assert len(ids) == len(set(ids))


# ── display, rendering and the missing-dot fallback ───────────────────────────


def test_mimebundle_is_svg_plus_text(decisions) -> None:
    chart = flowchart(decisions["boundary"])
    bundle = chart._repr_mimebundle_()
    assert set(bundle) == {"image/svg+xml", "text/plain"}
    assert bundle["image/svg+xml"].lstrip().startswith("<?xml") and bundle["text/plain"] == chart.text
    assert set(chart._repr_mimebundle_(include={"text/plain"})) == {"text/plain"}
    assert set(chart._repr_mimebundle_(exclude={"image/svg+xml"})) == {"text/plain"}
    assert repr(chart).startswith("<Diagram flowchart: 12 nodes, ") and "\n" not in repr(chart)


def _no_dot(monkeypatch) -> None:
    import graphviz

    def pipe(self, *args, **kwargs):
        raise graphviz.ExecutableNotFound(["dot", "-Tsvg"])

    monkeypatch.setattr(graphviz.Source, "pipe", pipe)


def test_missing_dot_falls_back_to_text_and_source(monkeypatch, tmp_path) -> None:
    _no_dot(monkeypatch)
    diagram = flowchart(_evil_decision('"><img src=x onerror=alert(1)>'))
    # Where the browser can draw it (iamkit.views.graphview), it does; the text alternative comes along.
    drawn = diagram._repr_mimebundle_()
    assert set(drawn) == {WIDGET_VIEW, "text/plain"} and drawn["text/plain"] == diagram.text
    # Where it cannot (no widget view wanted, as in a plain-text front end), text and source.
    bundle = diagram._repr_mimebundle_(exclude=[WIDGET_VIEW])
    assert set(bundle) == {"text/plain", "text/html"}
    plain = bundle["text/plain"]
    assert plain.startswith(diagram.text) and MISSING_DOT in plain and plain.endswith(diagram.source)
    assert "sudo apt-get install graphviz" in plain and "conda install -c conda-forge graphviz" in plain
    assert "Traceback" not in plain
    assert "<img" not in bundle["text/html"] and html.escape(diagram.source) in bundle["text/html"]
    assert html.escape(MISSING_DOT) in bundle["text/html"]
    with pytest.raises(DiagramError, match="`dot` program is not installed — hint: on Debian/Ubuntu") as error:
        diagram.svg()
    assert isinstance(error.value, IamkitError) and "conda-forge" in error.value.hint
    with pytest.raises(DiagramError):
        diagram.save(tmp_path / "chart.svg")
    # The source and the text need no dot.
    assert diagram.save(tmp_path / "chart.dot").read_text() == diagram.source
    assert diagram.save(tmp_path / "chart.txt").read_text() == diagram.text + "\n"


def test_missing_graphviz_package_falls_back_too(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "graphviz", None)
    assert set(flowchart()._repr_mimebundle_()) == {WIDGET_VIEW, "text/plain"}
    monkeypatch.setitem(sys.modules, "anywidget", None)  # nor the browser renderer: text and source
    monkeypatch.delitem(sys.modules, "iamkit.views.graphview", raising=False)
    bundle = flowchart()._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert "`graphviz` Python package is not installed" in bundle["text/plain"]
    with pytest.raises(DiagramError, match="pip install graphviz"):
        flowchart().svg()


def test_missing_dot_on_the_path_in_a_fresh_process() -> None:
    code = ("from iamkit.views.diagrams import flowchart; b = flowchart()._repr_mimebundle_(exclude=["
            f"{WIDGET_VIEW!r}]); print(sorted(b)); print(b['text/plain'])")
    env = {**os.environ, "PATH": ""}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("['text/html', 'text/plain']")
    assert MISSING_DOT in result.stdout and 'digraph "iamkit_flowchart"' in result.stdout
    assert result.stderr == ""


def test_save_renders_by_suffix(tmp_path) -> None:
    chart = flowchart()
    assert chart.save(tmp_path / "chart.svg").read_text().lstrip().startswith("<?xml")
    assert chart.save(tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")
    with pytest.raises(DiagramError, match=r"cannot save a diagram as `\.jpeg` — hint: use a `\.svg`"):
        chart.save(tmp_path / "chart.jpeg")


@pytest.mark.parametrize("module", ["diagrams", "dot", "flowchart", "account_diagrams"])
def test_diagrams_module_keeps_views_out_of_the_engine(module: str) -> None:
    source = (ROOT / "iamkit" / "views" / f"{module}.py").read_text()
    assert "import IPython" not in source and "import pandas" not in source
    assert re.search(r"^import graphviz|^from graphviz", source, re.M) is None  # imported lazily


def test_a_service_rule_deny_is_headlined_as_one_in_the_flowchart() -> None:
    # The title reads the Decision's headline: a credential limit decided, not "nothing allowed it"
    # (API_GetSessionToken.html: "You cannot call any IAM API operations unless MFA authentication
    # information is included in the request").
    decision = evaluate({
        "request": {"principal": ALICE, "action": "iam:ListUsers", "resource": "*",
                    "context": {"aws:TokenIssueTime": "2026-12-07T08:00:00Z"}},
        "identityPolicies": [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}],
    })
    first = flowchart(decision).text.splitlines()[0]
    assert first.endswith(f"{decision.headline}.") and "nothing allowed it" not in first


def test_account_graph_shows_a_trust_policy_iamkit_cannot_read() -> None:
    # Who may assume the role is then unknown (the account refuses to answer): the graph says so
    # instead of drawing a role that no one is trusted to assume.
    data = json.loads(EXPORT.read_text())
    deploy = next(r for r in data["RoleDetailList"] if r["RoleName"] == "Deploy")
    deploy["AssumeRolePolicyDocument"] = {"Version": "2012-10-17", "Statement": [{"Effect": "Maybe"}]}
    graph = account_graph(Account.from_authorization_details(data))
    (line,) = [line for line in graph.text.splitlines() if line.startswith("role `Deploy`")]
    assert "its trust policy iamkit cannot read" in line and "names no principal" not in line
    assert ("role_Deploy", "trust_Deploy") in edges(graph.source)
