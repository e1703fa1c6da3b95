"""The Playground: edit every policy of a scenario and the request, switch statements off
and on, and watch the engine's Decision re-render on every valid edit; and DenyWinsDemo,
the fixed deny-wins lesson.

The views only assemble what the controls hold into a Scenario, call
:func:`iamkit.evaluate`, and render the Decision (its HTML, the highlighted flowchart, the
trace table, what would change it). No policy logic lives here.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

import ipywidgets as widgets
import traitlets

from ..engine.decision import Decision
from ..engine.evaluator import evaluate
from ..engine.explain import decision_html, what_would_change
from ..engine.policy import Policy
from ..engine.scenario import Scenario, load_scenario
from ..views.diagrams import flowchart
from ..views.tables import policy_table, trace_table
from ._model import SlotIndex, StatementKey, assemble, slot_key, slots, statement_keys, without
from ._render import (
    diagram_part,
    finish_drawing,
    guarded,
    list_html,
    show_diagram,
    start_drawing,
    status_html,
    table_html,
    text_html,
)
from .editor import PolicyEditor
from .request import RequestBuilder

__all__ = ["DENY_WINS", "DenyWinsDemo", "Playground", "StatementToggles"]

Key = tuple[str, SlotIndex]


def _statement_label(st: Any) -> str:
    return f"{st.effect} {st.label}"


class StatementToggles(widgets.HBox):
    """One Checkbox per statement of a policy, labelled with its effect and Sid (or path),
    to switch it off and on.

    A switch stays with its statement when the policy is edited: a statement is known by
    its Sid, or without one by its text (:func:`~iamkit.widgets._model.statement_keys`), so
    inserting, removing or reordering statements moves no switch to another statement.
    Editing the text of a switched-off statement without a Sid makes it a new statement,
    switched on.

    State:
        checkboxes: the checkboxes, in statement order.
        off: the keys of the switched-off statements (a trait).
    """

    off = traitlets.Any(frozenset())

    def __init__(self, policy: Policy | None = None):
        super().__init__(layout=widgets.Layout(flex_flow="row wrap"))
        self.add_class("iamkit-toggles")
        self.checkboxes: list[widgets.Checkbox] = []
        self._keys: tuple[StatementKey, ...] = ()
        if policy is not None:
            self.show(policy)

    def show(self, policy: Policy) -> None:
        """Show the policy's statements; switched-off statements stay off, by key."""
        keys = statement_keys(policy)
        if keys == self._keys:  # the same statements in the same order: only an Effect may have changed
            for box, st in zip(self.checkboxes, policy.statements, strict=True):
                box.description = _statement_label(st)
            return
        for box in self.checkboxes:
            box.close()
        off = self.off & set(keys)
        self.checkboxes = []
        for st, key in zip(policy.statements, keys, strict=True):
            box = widgets.Checkbox(value=key not in off, description=_statement_label(st), indent=False,
                                   layout=widgets.Layout(width="auto", margin="0 12px 0 0"))
            box.add_class("iamkit-toggle")
            box.observe(self._toggled, names="value")
            self.checkboxes.append(box)
        self._keys = keys
        self.children = tuple(self.checkboxes)
        self.off = frozenset(off)

    def _toggled(self, change: Any = None) -> None:
        self.off = frozenset(key for key, box in zip(self._keys, self.checkboxes, strict=True) if not box.value)


class Playground(widgets.VBox):
    """Every policy of a scenario in an editor, the request in a builder, and the Decision.

    Parts:
        editors: one :class:`PolicyEditor` per policy, by ``(layer, index)``: ``("identity", 0)``,
            ``("resource", 0)``, ``("boundary", 0)``, ``("session", 0)``, ``("scp", (level, i))``,
            ``("rcp", (level, i))``; shown in an Accordion (``policies``).
        toggles: one :class:`StatementToggles` per policy, same keys.
        request: the :class:`RequestBuilder`.
        result: ``HTML``: the Decision explained (CSS ``iamkit-result``; inside, ``iamkit-decision``).
        hints: ``HTML``: what would change the outcome (``iamkit-hints``).
        flowchart: ``HTML``: AWS's flowchart with this request's path (``iamkit-flowchart``).
        trace: ``HTML``: every statement looked at (``iamkit-trace``).
        status: ``HTML``: which inputs are invalid, or unexpected errors (``iamkit-status``).

    State:
        decision: the last good :class:`~iamkit.Decision` (a trait; or :meth:`on_change`).
        scenario: the scenario as given; :meth:`current_scenario` is the one evaluated.
        last_error: an unexpected exception from the last callback, or None.

    Args:
        scenario: a Scenario, or a scenario dict or JSON text.
        draw: draw the flowchart as SVG with Graphviz's ``dot`` (cached by DOT source);
            False shows its text alternative.
        check_catalog: editors warn about actions the AWS catalog does not know.
    """

    decision = traitlets.Any(None, allow_none=True)

    def __init__(self, scenario: Scenario | Mapping[str, Any] | str, *, draw: bool = True, check_catalog: bool = True):
        super().__init__()
        self.scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        self.draw = draw
        self.last_error: Exception | None = None
        self.status = widgets.HTML()
        self.status.add_class("iamkit-status")
        self.status.add_class("iamkit-playground-status")
        self.result = widgets.HTML()
        self.result.add_class("iamkit-result")
        self.hints = widgets.HTML()
        self.hints.add_class("iamkit-hints")
        self.flowchart = diagram_part("iamkit-flowchart")
        self.trace = widgets.HTML()
        self.trace.add_class("iamkit-trace")

        self.slots = slots(self.scenario)
        self.editors: dict[Key, PolicyEditor] = {}
        self.toggles: dict[Key, StatementToggles] = {}
        self._titles: dict[Key, str] = {}
        pages = []
        for slot in self.slots:
            key = slot.key
            editor = PolicyEditor(slot.policy, check_catalog=check_catalog)
            toggles = StatementToggles(slot.policy)
            self.editors[key], self.toggles[key], self._titles[key] = editor, toggles, slot.title
            pages.append(widgets.VBox((toggles, editor)))
        self.policies = widgets.Accordion(children=tuple(pages), titles=tuple(self._titles.values()))
        self.policies.add_class("iamkit-policies")
        if pages:
            self.policies.selected_index = 0
        r = self.scenario.request
        self.request = RequestBuilder(r.principal, r.action, r.resource, r.context, resource_account=r.resource_account)
        self.views = widgets.Tab(children=(self.flowchart, self.trace), titles=("Flowchart", "Every statement"))
        self.add_class("iamkit-playground")
        self.children = (self.policies, self.request, self.status, self.result, self.hints, self.views)

        for key, editor in self.editors.items():
            editor.observe(self._policy_edited, names="policy")
            editor.observe(self._validity, names="valid")
            self.toggles[key].observe(self._evaluate, names="off")
        self.request.observe(self._evaluate, names="request")
        self.request.observe(self._validity, names="valid")
        self._validity()
        self._evaluate()

    # ── helpers for notebooks and tests ──────────────────────────────────────────

    def editor_for(self, layer: str, index: SlotIndex = 0) -> PolicyEditor:
        """The editor of one policy: ``("identity", 1)``, ``("scp", (1, 0))`` — or, for SCPs
        and RCPs, an int counting policies across levels, root first.

        Raises:
            KeyError: when the scenario has no such policy.
        """
        return self.editors[slot_key(layer, index, list(self.editors))]

    def set_policy(self, layer: str, index: SlotIndex, document: Mapping[str, Any] | str) -> None:
        """Replace one policy's text, as if typed into its editor."""
        self.editor_for(layer, index).value = document  # type: ignore[assignment]

    def toggle(self, layer: str, index: SlotIndex, statement: int, on: bool) -> None:
        """Switch one statement (by its place in the policy) off or on, as its checkbox does."""
        key = slot_key(layer, index, list(self.editors))
        self.toggles[key].checkboxes[statement].value = on

    def current_scenario(self) -> Scenario:
        """The scenario as the controls hold it: last valid policies, minus switched-off
        statements, with the last valid request."""
        policies = {key: without(editor.policy, self.toggles[key].off) for key, editor in self.editors.items()}
        return assemble(self.scenario, self.request.request, policies)

    def on_change(self, callback: Callable[[Decision], Any]) -> None:
        """Call ``callback(decision)`` after each re-evaluation that changes the Decision."""
        self.observe(lambda change: callback(change["new"]), names="decision")

    def __repr__(self) -> str:
        n = len(self.editors)
        head = f"<Playground: {n} polic{'ies' if n != 1 else 'y'}"
        return head + (f"; {self.decision.summary()}>" if self.decision is not None else ">")

    # ── reacting ───────────────────────────────────────────────────────────────

    @guarded("re-evaluating after an edit")
    def _policy_edited(self, change: Any) -> None:
        key = next(k for k, e in self.editors.items() if e is change["owner"])
        self.toggles[key].show(change["new"])
        self._evaluate()

    @guarded("checking the inputs")
    def _validity(self, change: Any = None) -> None:
        bad = [f"the {title} is not valid (see its problems); the decision uses its last valid version"
               for key, title in self._titles.items() if not self.editors[key].valid]
        if not self.request.valid:
            bad.append("the request is not valid (see its problems); the decision uses the last valid request")
        if bad:
            self.status.value = status_html(f"{len(bad)} input{'s are' if len(bad) != 1 else ' is'} not valid", bad,
                                            ok=False)
        else:
            self.status.value = status_html("every policy and the request are valid", ok=True)

    @guarded("evaluating the request")
    def _evaluate(self, change: Any = None) -> None:
        decision = evaluate(self.current_scenario())
        self._show(decision)
        self.decision = decision
        self.request.suggest_keys = decision.missing_context_keys
        self._validity()  # replaces an earlier error message

    def _show(self, d: Decision) -> None:
        chart = flowchart(d)
        drawing = start_drawing(chart) if self.draw else None  # dot runs while the rest renders
        self.result.value = decision_html(d)
        self.hints.value = ("<p><strong>What would change the outcome</strong></p>"
                            + list_html(what_would_change(d), "iamkit-hint-list", "nothing to suggest"))
        self.trace.value = table_html(trace_table(d))
        finish_drawing(drawing)
        show_diagram(self.flowchart, chart, draw=self.draw)


DENY_WINS: dict[str, Any] = {
    "id": "deny-wins",
    "request": {"principal": "arn:aws:iam::111122223333:user/alice", "action": "s3:DeleteObject",
                "resource": "arn:aws:s3:::amzn-s3-demo-bucket/reports/2024.csv"},
    "identityPolicies": [
        {"Version": "2012-10-17", "Statement": [
            {"Sid": "AllowS3", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]},
        {"Version": "2012-10-17", "Statement": [
            {"Sid": "DenyDeleteReports", "Effect": "Deny", "Action": "s3:DeleteObject",
             "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/reports/*"}]},
    ],
}
"""The deny-wins lesson: alice deletes a report; one policy allows all of S3, another denies deleting reports."""


class DenyWinsDemo(widgets.VBox):
    """Deny wins: an Allow and a Deny that both match one request, each with a switch.

    Parts:
        allow, deny: ``Checkbox`` switching the Allow and the Deny statement on and off.
        policies: ``HTML``: the two statements as a table.
        lesson: ``HTML``: one sentence on why this outcome (``iamkit-lesson``).
        result: ``HTML``: the Decision explained (``iamkit-result``).
        flowchart: ``HTML``: the flowchart with the path highlighted (``iamkit-flowchart``).
        status: ``HTML`` for unexpected errors.

    State:
        decision: the Decision shown (a trait).
    """

    decision = traitlets.Any(None, allow_none=True)

    def __init__(self, *, draw: bool = True):
        super().__init__()
        self.draw = draw
        self.last_error: Exception | None = None
        self.scenario = load_scenario(DENY_WINS)
        allow_policy, deny_policy = self.scenario.identity_policies
        wide = widgets.Layout(width="auto")
        self.allow = widgets.Checkbox(True, description="Allow AllowS3: s3:* on every resource (identity policy 0)",
                                      indent=False, layout=wide)
        self.deny = widgets.Checkbox(True, description="Deny DenyDeleteReports: s3:DeleteObject on reports/* "
                                     "(identity policy 1)", indent=False, layout=wide)
        self.policies = widgets.HTML(table_html(policy_table(allow_policy)) + table_html(policy_table(deny_policy)))
        self.lesson = widgets.HTML()
        self.result = widgets.HTML()
        self.flowchart = diagram_part("iamkit-flowchart")
        self.status = widgets.HTML()
        for part, css in ((self.allow, "iamkit-toggle"), (self.deny, "iamkit-toggle"), (self.policies, "iamkit-policies"),
                          (self.lesson, "iamkit-lesson"), (self.result, "iamkit-result"),
                          (self.status, "iamkit-status")):
            part.add_class(css)
        self.add_class("iamkit-deny-wins")
        self.children = (self.policies, widgets.HBox((self.allow, self.deny)), self.lesson, self.result,
                         self.flowchart, self.status)
        self.allow.observe(self._evaluate, names="value")
        self.deny.observe(self._evaluate, names="value")
        self._evaluate()

    def __repr__(self) -> str:
        return f"<DenyWinsDemo: {self.decision.summary()}>" if self.decision is not None else "<DenyWinsDemo>"

    @guarded("evaluating the request")
    def _evaluate(self, change: Any = None) -> None:
        allow_policy, deny_policy = self.scenario.identity_policies
        policies = (without(allow_policy, set() if self.allow.value else set(statement_keys(allow_policy))),
                    without(deny_policy, set() if self.deny.value else set(statement_keys(deny_policy))))
        d = evaluate(dataclasses.replace(self.scenario, identity_policies=policies))
        matched = {t.effect for t in d.trace if t.matched}
        if d.outcome.value == "explicitDeny":
            words = ("Both statements match the request, and the Deny wins: an explicit Deny overrides every Allow, "
                     "in any policy." if "Allow" in matched else "The Deny matches the request: explicit deny.")
        elif d.allowed:
            words = "The Allow matches and no Deny does: allowed."
        else:
            words = ("No statement allows the request, so AWS denies it by default: an implicit deny. "
                     "A Deny is not needed for a denial.")
        self.lesson.value = f"<p>{text_html(words)}</p>"
        self.result.value = decision_html(d)
        show_diagram(self.flowchart, flowchart(d), draw=self.draw)
        self.decision = d
