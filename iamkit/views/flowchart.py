"""AWS's evaluation flowchart (deny wins), plain for the lesson or with a Decision's path.

:func:`flowchart` draws the boxes AWS's documentation draws, extended with RCPs, SCPs, the
resource-based policy, permissions boundaries and session policies; given a
:class:`~iamkit.engine.decision.Decision`, it highlights the path the decision's ``steps``
took and names the deciding statements. Its text alternative says the same in words.
It reads the Decision only: it never re-evaluates the request.

Shape and text carry the meaning as well as colour: an octagon reading "DENY" for an
explicit deny, a dashed box reading "DENY (implicit deny)", a double-bordered box reading
"ALLOWED", diamonds for the questions.
"""

from __future__ import annotations

from typing import NamedTuple

from ..engine.decision import Decision, Layer, Outcome, StatementTrace, Step
from .dot import (
    GREY,
    NEUTRAL,
    OUTCOME_COLOUR,
    TINT,
    VERDICT_COLOUR,
    Diagram,
    DotGraph,
    dot_label,
    first_few,
    statement_ref,
)

__all__ = ["flowchart"]


# ── the evaluation flowchart ───────────────────────────────────────────────────


class _Box(NamedTuple):
    step: str  # the Step name
    node: str  # the DOT node id
    title: str  # how the text alternative names it
    question: str  # the lesson


_BOXES = (
    _Box("service-rule", "n_service_rule", "service-rule check",
         "Is it an action AWS always allows? (sts:GetCallerIdentity)"),
    _Box("deny", "n_deny", "explicit-deny check",
         "Does any policy explicitly Deny? (identity, resource, boundary, session, SCP, RCP)"),
    _Box("rcp", "n_rcp", "resource control policies",
         "RCPs: every level implicitly allows through RCPFullAWSAccess, so only a Deny stops here"),
    _Box("scp", "n_scp", "service control policies", "SCPs: does every level of the organization allow?"),
    _Box("resource", "n_resource", "resource-based policy",
         "Does a resource-based policy allow? Same account: its allow can end in ALLOWED. "
         "Cross-account: it is needed"),
    _Box("identity", "n_identity", "identity policies", "Does an identity policy allow?"),
    _Box("boundary", "n_boundary", "permissions boundary", "Permissions boundary (if any): does it allow?"),
    _Box("session", "n_session", "session policy", "Session policy (if any): does it allow?"),
)
_BY_STEP = {b.step: b for b in _BOXES}
_LAYERS = {layer.value for layer in Layer}  # the boxes that are a policy layer

_START, _ALLOWED, _EXPLICIT, _IMPLICIT = "n_start", "n_allowed", "n_explicit_deny", "n_implicit_deny"
_TERMINAL = {Outcome.ALLOWED: _ALLOWED, Outcome.EXPLICIT_DENY: _EXPLICIT, Outcome.IMPLICIT_DENY: _IMPLICIT}

# The lesson's edges, in AWS's order: (from, to, label).
_FLOW_EDGES = (
    (_START, "n_service_rule", ""),
    ("n_service_rule", _ALLOWED, "yes"),
    ("n_service_rule", "n_deny", "no"),
    ("n_deny", _EXPLICIT, "yes"),
    ("n_deny", "n_rcp", "no"),
    ("n_rcp", "n_scp", "no RCP denies"),
    ("n_scp", _IMPLICIT, "a level does not allow"),
    ("n_scp", "n_resource", "every level allows (or no SCPs)"),
    ("n_resource", _ALLOWED, "same account: allows the caller itself"),
    ("n_resource", _IMPLICIT, "cross-account (or a trust or key policy): does not allow"),
    ("n_resource", "n_identity", "not decided yet"),
    ("n_identity", _IMPLICIT, "no"),
    ("n_identity", "n_boundary", "yes"),
    ("n_boundary", _IMPLICIT, "no"),
    ("n_boundary", "n_session", "yes (or no boundary)"),
    ("n_session", _IMPLICIT, "no"),
    ("n_session", _ALLOWED, "yes (or no session policy)"),
)


def _allowing(decision: Decision, step: Step) -> list[StatementTrace]:
    """The Allow statements of the step's own layer that applied, as the engine recorded them
    (none for the service-rule and explicit-deny boxes, which are no layer)."""
    if step.name not in _LAYERS:
        return []
    verdict = decision.layer(step.name)
    return [t for t in verdict.matched if t.effect == "Allow"] if verdict is not None else []


def _deciding_lines(decision: Decision, step: Step) -> list[str]:
    """What decided, for the box where the decision fell: its own statements, or its reason."""
    if decision.outcome is Outcome.EXPLICIT_DENY:
        return ["denied by:", *first_few([statement_ref(t) for t in decision.determining], 3)]
    if decision.outcome is Outcome.ALLOWED:
        allowing = _allowing(decision, step)
        if not allowing:
            return [f"allowed without a statement: {step.detail}"]
        return ["allowed by:", *first_few([statement_ref(t) for t in allowing], 3)]
    layer = decision.blocked_by
    if layer is None:  # a service rule denied, whatever the policies say: its reason
        return [step.detail]
    lines = [f"no statement in the {layer.label} allowed {decision.request.action}"]
    misses = [t for t in decision.statements(layer) if t.effect == "Allow" and not t.matched]
    if misses:
        lines.append("closest:")
        lines.extend(first_few([f"{t.statement.label} ({t.where}): {t.failed_element} did not match" for t in misses], 2))
    return lines


_MARKER = {"pass": "✔ passed", "allow": "✔ allows", "skip": "· none: nothing to check", "deny": "✖ DENY: stopped here",
           "implicit": "✖ did not allow"}


def flowchart(decision: Decision | None = None) -> Diagram:
    """AWS's deny-wins evaluation flowchart, extended with RCPs, SCPs, the resource-based
    policy, permissions boundaries and session policies; with a Decision, its path.

    Args:
        decision: highlight the path this decision's ``steps`` took: the boxes it passed
            and the edges between them in bold, a marker on each box ("✔ passed",
            "✖ stopped here", …), and the deciding statements (Sid or path, and where they
            are) at the box where the decision fell. Without one, the plain lesson chart.

    Returns:
        A :class:`Diagram` whose text alternative describes the path in words.
    """
    title = "AWS policy evaluation (deny wins)"
    if decision is not None:
        r = decision.request
        title = f"{r.principal} → {r.action} on {r.resource}: {decision.headline}"
    g = DotGraph("iamkit_flowchart", rankdir="TB", nodesep="0.35", ranksep="0.3", label=dot_label(title, width=100))

    steps = list(decision.steps) if decision is not None else []
    deciding = next(i for i, v in enumerate(steps) if v.deciding) if decision is not None else -1
    # An allowed request goes on to ALLOWED through the boxes after the deciding one.
    path = [v for v in steps if v.reached] if decision is not None and decision.allowed else steps[: deciding + 1]
    checked = [v for v in steps[deciding + 1:] if v.verdict not in ("skip", "unreached")]
    after = checked if decision is not None and not decision.allowed else []
    seen = {v.name: (i, v) for i, v in reversed(list(enumerate(path)))}
    late = {v.name: v for v in after if v.name not in seen}

    # Boxes.
    g.node(_START, shape="box", style="rounded,filled", color=NEUTRAL, fillcolor=NEUTRAL + TINT, penwidth="1",
           label=dot_label("request", *((decision.request.principal, f"→ {decision.request.action}",
                                      f"on {decision.request.resource}") if decision else ())))
    for box in _BOXES:
        attrs = {"shape": "diamond", "group": "main"}
        if decision is None:
            attrs.update(style="filled", color=NEUTRAL, fillcolor=NEUTRAL + TINT, penwidth="1",
                         label=dot_label(box.question, width=30))
        elif box.step in seen:
            i, v = seen[box.step]
            marker = _MARKER[v.verdict]
            if v.deciding and v.verdict == "implicit":
                marker = "✖ stopped here" + (": nothing allowed it" if decision.blocked_by is not None else "")
            lines = [box.question, marker, *(_deciding_lines(decision, v) if v.deciding else ())]
            colour = VERDICT_COLOUR.get(v.verdict, GREY)
            attrs.update(style="filled,bold", color=colour, fillcolor=colour + TINT, penwidth="3",
                         label=dot_label(*lines, width=34))
        elif box.step in late:
            v = late[box.step]
            attrs.update(style="solid", color=GREY, penwidth="1",
                         label=dot_label(box.question, f"(checked after the decision fell: {_MARKER[v.verdict]})",
                                      width=34))
        else:
            attrs.update(style="solid", color=GREY, penwidth="1", label=dot_label(box.question, width=30))
        g.node(box.node, **attrs)
    terminals = (
        (_EXPLICIT, Outcome.EXPLICIT_DENY, {"shape": "octagon", "style": "filled"}, ("DENY", "explicit deny")),
        (_IMPLICIT, Outcome.IMPLICIT_DENY, {"shape": "box", "style": "filled,dashed"},
         ("DENY", "implicit deny: nothing allowed it")),
        (_ALLOWED, Outcome.ALLOWED, {"shape": "box", "style": "rounded,filled", "peripheries": "2"}, ("ALLOWED",)),
    )
    for node_id, outcome, attrs, words in terminals:
        colour = OUTCOME_COLOUR[outcome]
        reached = decision is not None and decision.outcome is outcome
        lines = [*words, "◀ this request"] if reached else list(words)
        g.node(node_id, **attrs, color=colour, fillcolor=colour + TINT, penwidth="3" if reached else "1",
               label=dot_label(*lines, width=30))
        if reached:
            g.nodes[node_id]["style"] += ",bold"

    # Edges: the lesson's, then the path's (bold) — adding any transition the lesson lacks.
    route = [_START] + [_BY_STEP[v.name].node for v in path]
    if decision is not None:
        route.append(_TERMINAL[decision.outcome])
    on_path = set(zip(route, route[1:], strict=False))
    for tail, head, text in _FLOW_EDGES:
        g.edge(tail, head, label=dot_label(text, width=24) if text else "")
    for tail, head in zip(route, route[1:], strict=False):
        if (tail, head) not in g.edges:
            g.edge(tail, head, label=dot_label("then"), constraint="false")
    colour = OUTCOME_COLOUR[decision.outcome] if decision is not None else "black"
    for key, attrs in g.edges.items():
        if decision is None:
            attrs.update(color="black", fontcolor="black", penwidth="1", style="solid")
        elif key in on_path:
            attrs.update(color=colour, fontcolor="black", penwidth="3", style="bold")
        else:
            attrs.update(color=GREY, fontcolor="#555555", penwidth="1", style="solid")
    g.ranks.append(("same", (_EXPLICIT, _IMPLICIT, _ALLOWED)))
    text = _flowchart_text(decision, path, after) if decision is not None else _LESSON
    return g.diagram("flowchart", text)


_LESSON = "\n".join((
    "AWS's policy evaluation flowchart (deny wins), in order:",
    "1. Service rule: a few actions, such as sts:GetCallerIdentity, are always allowed.",
    "2. An explicit Deny in any policy (identity, resource-based, permissions boundary, session, SCP, RCP) "
    "decides: explicit deny.",
    "3. Resource control policies: every level implicitly allows through RCPFullAWSAccess, so RCPs can only deny.",
    "4. Service control policies: every level of the organization, root to account, must allow; "
    "otherwise implicit deny.",
    "5. Resource-based policy: in the same account, its allow can end the evaluation in ALLOWED; "
    "across accounts it is needed, and the caller's own policies must allow too.",
    "6. Identity policies: one must allow; otherwise implicit deny.",
    "7. Permissions boundary, if the principal has one: it must allow too.",
    "8. Session policy, if the request carries one: it must allow too.",
    "9. Otherwise the request is ALLOWED.",
    "Outcomes: explicit deny (a Deny matched), implicit deny (nothing allowed it), allowed.",
))


def _flowchart_text(decision: Decision, path: list[Step], after: list[Step]) -> str:
    r = decision.request
    phrases = []
    for v in path:
        title = _BY_STEP[v.name].title
        if v.verdict == "pass":
            phrases.append(f"passed the {title} ({v.detail})")
        elif v.verdict == "skip":
            phrases.append(f"found no {title} to check ({v.detail})")
        elif v.verdict == "allow":
            allowing = "; ".join(statement_ref(t) for t in _allowing(decision, v))
            by = f", by {allowing}" if allowing else ""
            phrases.append(f"was allowed at the {title} ({v.detail}){by}")
        elif v.verdict == "deny":
            by = "; ".join(f"{t.statement.label} ({t.where})" for t in decision.determining)
            phrases.append(f"stopped at the {title}: {by or 'a statement'} explicitly denies it")
        elif v.deciding and decision.blocked_by is not None:
            phrases.append(f"stopped at the {title}: no statement in the {decision.blocked_by.label} allowed "
                           f"{r.action} ({v.detail})")
        elif v.deciding:  # a service rule: its reason, not a missing allow
            phrases.append(f"stopped at the {title}: {v.detail}")
        else:
            phrases.append(f"found no allow in the {title} ({v.detail})")
    sentence = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + ", and " + phrases[-1]
    lines = [f"Flowchart: {r.principal} → {r.action} on {r.resource}: {decision.headline}.",
             f"{decision.summary()}",
             f"The request {sentence}."]
    if after:
        lines.append("Checked after the decision fell: "
                     + "; ".join(f"the {_BY_STEP[v.name].title} ({v.detail})" for v in after) + ".")
    return "\n".join(lines)
