"""Diagrams of an account: its graph of principals and policies, a role's trust, and a
request between two accounts.

:func:`account_graph` reads the :class:`~iamkit.account.Account` model (memberships,
attachments, boundaries, trust policies, instance profiles); :func:`trust_diagram` and
:func:`cross_account_diagram` draw what Decisions recorded (who may assume a role; where each
side of a cross-account request allowed or denied it). None of them evaluates a request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping, NamedTuple, Sequence

from ..engine.decision import Decision, Layer, Outcome
from ..engine.policy import Policy, Statement
from ..engine.principals import CallerKind
from ..errors import AccountError
from .dot import (
    ALLOW,
    DENY,
    GREY,
    IMPLICIT,
    NEUTRAL,
    OUTCOME_COLOUR,
    TINT,
    VERDICT_COLOUR,
    Diagram,
    DotGraph,
    dot_id,
    dot_label,
    first_few,
    statement_ref,
)

if TYPE_CHECKING:
    from ..account.model import Account

__all__ = ["account_graph", "cross_account_diagram", "trust_diagram"]


# ── an account's graph ─────────────────────────────────────────────────────────


class _Edge(NamedTuple):
    tail: str
    head: str
    label: str
    phrase: str  # the text alternative, about the tail ("member of group developers")
    style: str = "solid"
    colour: str = "black"


def _principal_word(who: str, principal_type: str | None = None) -> str:
    """How to name a principal: service, account, user, role, session, identity provider, …"""
    if principal_type in _TYPE_WORDS:
        return _TYPE_WORDS[principal_type]
    if who == "*":
        return "anyone"
    if not who.startswith("arn:"):
        return "service" if who.endswith(".amazonaws.com") else "account" if who.isdigit() else "principal"
    resource = who.split(":", 5)[-1]
    if resource == "root":
        return "account"
    return {"user": "user", "role": "role", "assumed-role": "session", "federated-user": "federated user",
            "saml-provider": "SAML provider", "oidc-provider": "OIDC provider"}.get(resource.split("/")[0], "principal")


_TYPE_WORDS = {"Service": "service", "Federated": "identity provider", "CanonicalUser": "canonical user"}


def _outsider_name(who: str) -> str:
    if who.startswith("arn:") and who.endswith(":root"):
        return who.split(":")[4]
    return who


def account_graph(account: "Account", focus: str | None = None, *,
                  assumers: Mapping[str, Sequence[str | tuple[str, Decision]]] | None = None) -> Diagram:
    """Users → groups → policies, permissions boundaries, roles and who may assume them.

    Reads the account model only: memberships, attachments, boundaries, trust policies
    and instance profiles. Managed policies are notes reading "managed policy" (AWS or
    customer managed), inline policies are component boxes reading "inline policy";
    a permissions boundary is a dashed edge labelled "boundary".

    Args:
        account: the account.
        focus: keep one user, role or group (name, ``user/…`` reference or ARN) and its
            neighbourhood: what it belongs to and carries, and who may assume it.
        assumers: who may assume each role, by role name: ARNs or service names, or
            the ``(who, Decision)`` pairs of :meth:`Account.who_can_assume` (only the
            allowed ones are drawn). Without it, the principals each trust policy names
            are drawn ("trusted"), which is not yet a decision: conditions, the caller's
            own permissions and its boundary still apply.

    Returns:
        A :class:`Diagram`.

    Raises:
        AccountError: when ``focus`` names no user, role or group of the account.
    """
    g = DotGraph("iamkit_account", rankdir="LR", nodesep="0.25", ranksep="0.6",
               label=dot_label(f"IAM in account {account.account_id}", width=100))
    names: dict[str, str] = {}  # node id -> how the text names it
    edges: list[_Edge] = []
    by_arn: dict[str, str] = {}

    def add(node_id: str, noun: str, **attrs: str) -> str:
        if node_id not in g.nodes:
            g.node(node_id, **attrs)
            names[node_id] = noun
        return node_id

    def tag_lines(tags: Mapping[str, str]) -> list[str]:
        return [f"{k} = {v}" for k, v in sorted(tags.items())]

    for name in sorted(account.users):
        u = account.users[name]
        node = add(dot_id("user", name), f"user `{name}`", shape="ellipse", style="filled", color=NEUTRAL,
                   fillcolor=NEUTRAL + TINT, label=dot_label("user", name, *tag_lines(u.tags)))
        by_arn[u.arn] = node
    for name in sorted(account.groups):
        add(dot_id("group", name), f"group `{name}`", shape="folder", style="filled", color=NEUTRAL,
            fillcolor=NEUTRAL + TINT, label=dot_label("group", name))
    for name in sorted(account.roles):
        r = account.roles[name]
        node = add(dot_id("role", name), f"role `{name}`", shape="hexagon", style="filled", color=ALLOW,
                   fillcolor=ALLOW + TINT, label=dot_label("role", name, *tag_lines(r.tags)))
        by_arn[r.arn] = node

    def managed(arn: str) -> tuple[str, str]:
        policy = account.policies.get(arn)
        name = policy.name if policy is not None else arn.rsplit("/", 1)[-1]
        owner = ("AWS managed" if ":iam::aws:policy/" in arn else "customer managed") if policy is not None \
            else "document not in the export"
        return name, add(dot_id("policy", arn), f"managed policy `{name}`", shape="note", style="filled", color=GREY,
                   fillcolor="#FFFFFF", label=dot_label("managed policy", name, f"({owner})"))

    def holder_edges(kind: str, name: str, inline: Mapping[str, Any], attached: Iterable[str],
                     boundary: str | None) -> None:
        node = dot_id(kind, name)
        for policy_name in sorted(inline):
            target = add(dot_id("inline", f"{kind}/{name}/{policy_name}"), f"inline policy `{policy_name}`",
                         shape="component", style="filled", color=GREY, fillcolor="#FFFFFF",
                         label=dot_label("inline policy", policy_name))
            edges.append(_Edge(node, target, "inline", f"inline policy `{policy_name}`"))
        for arn in sorted(attached):
            policy_name, target = managed(arn)
            edges.append(_Edge(node, target, "attached", f"managed policy `{policy_name}`"))
        if boundary:
            policy_name, target = managed(boundary)
            edges.append(_Edge(node, target, "boundary", f"permissions boundary `{policy_name}`",
                               style="dashed", colour=IMPLICIT))

    for name in sorted(account.users):
        u = account.users[name]
        for group in sorted(u.groups):
            if group in account.groups:
                edges.append(_Edge(dot_id("user", name), dot_id("group", group), "member of", f"member of group `{group}`"))
        holder_edges("user", name, u.inline, u.attached, u.boundary)
    for name in sorted(account.groups):
        grp = account.groups[name]
        holder_edges("group", name, grp.inline, grp.attached, None)
    for name in sorted(account.roles):
        r = account.roles[name]
        holder_edges("role", name, r.inline, r.attached, r.boundary)
    for name in sorted(account.instance_profiles):
        profile = account.instance_profiles[name]
        node = add(dot_id("profile", name), f"instance profile `{name}`", shape="tab", style="filled", color=GREY,
                   fillcolor="#FFFFFF", label=dot_label("instance profile", name))
        for role in sorted(profile.roles):
            if role in account.roles:
                edges.append(_Edge(node, dot_id("role", role), "carries", f"carries role `{role}`"))

    def principal_node(who: str, principal_type: str | None = None) -> str:
        if who in by_arn:
            return by_arn[who]
        account_id = who.split(":")[4] if who.startswith("arn:") and who.endswith(":root") else who
        if account_id == account.account_id:
            return add(dot_id("account", account_id), f"account {account_id}", shape="house", style="filled",
                       color=NEUTRAL, fillcolor=NEUTRAL + TINT,
                       label=dot_label("this account", account_id, "(delegates to its identity policies)"))
        word = _principal_word(who, principal_type)
        return add(dot_id("ext", who), f"{word} `{_outsider_name(who)}`", shape="cds" if word == "service" else "house",
                   style="filled", color=GREY, fillcolor="#FFFFFF", label=dot_label(word, _outsider_name(who)))

    for name in sorted(account.roles):
        role_node = dot_id("role", name)
        if assumers is not None:
            for item in assumers.get(name, ()):
                if isinstance(item, tuple):
                    who, decision = item
                    if not decision.allowed:
                        continue
                else:
                    who = item
                edges.append(_Edge(principal_node(who), role_node, "may assume", f"may assume role `{name}`",
                                   colour=ALLOW))
            continue
        try:
            trust = account.trust_policy(account.roles[name])
        except AccountError:  # iamkit cannot read it: the graph says so rather than show no one trusted
            target = add(dot_id("trust", name), f"trust policy of role `{name}`, which iamkit cannot read",
                         shape="note", style="filled,dashed", color=IMPLICIT, fillcolor="#FFFFFF",
                         label=dot_label("trust policy", "(iamkit cannot read it)"))
            edges.append(_Edge(role_node, target, "trusts", "its trust policy iamkit cannot read", style="dashed",
                               colour=IMPLICIT))
            continue
        for st in trust.statements if trust is not None else ():
            if st.effect != "Allow" or st.principal_element != "Principal":
                continue
            cond = " (with conditions)" if st.conditions else ""
            named = [("AWS", "*")] if st.principals is None else [(t, v) for t, vs in st.principals.items() for v in vs]
            for ptype, value in sorted(named):
                who = value if ptype != "AWS" or value.startswith("arn:") or value == "*" \
                    else f"arn:aws:iam::{value}:root"
                edges.append(_Edge(principal_node(who, ptype), role_node, f"trusted{cond}",
                                   f"named in the trust policy of role `{name}`{cond}", style="dashed", colour=NEUTRAL))

    keep = set(g.nodes)
    focus_node = None
    if focus is not None:
        if focus in account.groups and focus not in account.users and focus not in account.roles:
            focus_node = dot_id("group", focus)
        else:
            p = account.principal(focus)
            focus_node = dot_id(p.kind, p.name)
        keep = _neighbourhood(focus_node, edges)
        g.nodes[focus_node].update(penwidth="3", style="filled,bold")
        g.attrs["label"] = dot_label(f"IAM in account {account.account_id}: around {names[focus_node]}", width=100)

    for node_id in list(g.nodes):
        if node_id not in keep:
            del g.nodes[node_id], g.node_cluster[node_id]
    kept_edges = sorted({e for e in edges if e.tail in keep and e.head in keep}, key=lambda e: (e.tail, e.head, e.label))
    for e in kept_edges:
        g.edge(e.tail, e.head, label=dot_label(e.label, width=20), style=e.style, color=e.colour)
    return g.diagram("account", _account_text(account, names, kept_edges, keep, focus_node, assumers is not None))


def _neighbourhood(focus: str, edges: list[_Edge]) -> set[str]:
    """The focus, what it reaches (not going on past another role), and who points at it."""
    keep = {focus}
    frontier = [focus]
    while frontier:
        node = frontier.pop()
        for e in edges:
            if e.tail == node and e.head not in keep:
                keep.add(e.head)
                if not e.head.startswith("role_"):
                    frontier.append(e.head)
    keep.update(e.tail for e in edges if e.head == focus)
    return keep


def _account_text(account: "Account", names: Mapping[str, str], edges: list[_Edge], keep: set[str],
                  focus: str | None, evaluated: bool) -> str:
    kinds = (("user", "user", "users"), ("group", "group", "groups"), ("role", "role", "roles"),
             ("policy", "managed policy", "managed policies"), ("profile", "instance profile", "instance profiles"))
    counts = []
    for prefix, one, many in kinds:
        n = sum(1 for node in keep if node.startswith(prefix + "_"))
        counts.append(f"{n} {one if n == 1 else many}")
    head = f"Account {account.account_id}" + (f", around {names[focus]}" if focus else "") + ": " + \
        ", ".join(counts) + "."
    lines = [head]
    for node in [n for n in names if n in keep and n.startswith(("user_", "group_", "role_"))]:
        out = [e.phrase for e in edges if e.tail == node]
        if node.startswith("role_"):
            verb = "may be assumed by" if evaluated else "its trust policy names"
            into = [f"{names[e.tail]}{' (with conditions)' if 'conditions' in e.label else ''}"
                    for e in edges if e.head == node and e.label != "carries"]
            carried = [names[e.tail] for e in edges if e.head == node and e.label == "carries"]
            if into:
                out.insert(0, f"{verb} {', '.join(into)}")
            elif not any(e.label == "trusts" for e in edges if e.tail == node):  # an unreadable one says so itself
                out.insert(0, "no principal given may assume it" if evaluated else "its trust policy names no principal")
            out += [f"carried by {c}" for c in carried]
        lines.append(f"{names[node]}: " + ("; ".join(out) if out else "no policies or memberships") + ".")
    return "\n".join(lines)


# ── role trust ─────────────────────────────────────────────────────────────────


def _summarise(st: Statement) -> str:
    actions = first_few(list(st.actions), 4)
    what = ("everything except " if st.not_action else "") + ", ".join(actions)
    if st.resources is not None and list(st.resources) != ["*"]:
        where = ", ".join(first_few(list(st.resources), 2))
        what += f" {'not on' if st.not_resource else 'on'} {where}"
    if st.conditions:
        what += " (with conditions)"
    return f"{st.effect} {what}"


def _policy_title(policy: Policy, index: int, quote: str = "") -> str:
    if policy.origin is not None:
        kind = {"managed": "managed policy", "inline": "inline policy", "boundary": "permissions boundary"}.get(
            policy.origin.kind, policy.origin.kind)
        return f"{kind} {quote}{policy.origin.policy}{quote}"
    return f"{policy.kind.label} {quote}{policy.name or index}{quote}"


def _assume_verdict(decision: Decision) -> tuple[str, str, str]:
    """(edge label, colour, phrase) for one candidate's Decision to assume the role."""
    t = decision.deciding
    if decision.outcome is Outcome.IMPLICIT_DENY:
        where = decision.blocked_by.label if decision.blocked_by is not None else "evaluation"
        return f"✖ implicit deny at the {where}", IMPLICIT, f"implicitly denied: nothing in the {where} allowed it"
    by = f" ({t.statement.label})" if t is not None else ""
    phrase = f" by {statement_ref(t)}" if t is not None else ""
    if decision.allowed:
        return f"✔ may assume{by}", ALLOW, "allowed" + phrase
    return f"✖ explicit deny{by}", DENY, "explicitly denied" + phrase


def trust_diagram(role_name: str, assumers: Sequence[tuple[str, Decision]],
                  permissions: Sequence[Policy]) -> Diagram:
    """Who may assume a role → the role → what it may do.

    Args:
        role_name: the role's name.
        assumers: each candidate with the Decision on its ``sts:AssumeRole`` — what
            :meth:`Account.who_can_assume` returns (pass ``allowed_only=False`` to draw the
            denied ones too, with where they were denied).
        permissions: the role's permission policies (``account.identity_policies(role)``),
            whose statements are summarised.

    Returns:
        A :class:`Diagram`.
    """
    g = DotGraph("iamkit_trust", rankdir="LR", nodesep="0.3", ranksep="0.8",
               label=dot_label(f"Role {role_name}: who may assume it, and what it may do", width=100))
    g.node("n_role", shape="hexagon", style="filled,bold", color=ALLOW, fillcolor=ALLOW + TINT, penwidth="2",
           label=dot_label("role", role_name))
    lines = [f"Role `{role_name}`."]
    who_lines = []
    for i, (who, decision) in enumerate(assumers):
        node = f"n_who_{i}"
        word = _principal_word(who)
        label, colour, phrase = _assume_verdict(decision)
        g.node(node, shape="cds" if word == "service" else "ellipse", style="filled", color=colour,
               fillcolor=colour + TINT, label=dot_label(word, _outsider_name(who)))
        g.edge(node, "n_role", label=dot_label(label, width=28), color=colour,
               style="bold" if decision.allowed else "dashed", penwidth="2" if decision.allowed else "1")
        who_lines.append(f"- `{who}`: {phrase}.")
    lines.append("Who may assume it:" if who_lines else "Who may assume it: no one among the candidates given.")
    lines += who_lines
    lines.append("What it may do:" if permissions else "What it may do: nothing (no permission policies).")
    for i, policy in enumerate(permissions):
        node = f"n_policy_{i}"
        title = _policy_title(policy, i)
        statements = [_summarise(st) for st in policy.statements]
        g.node(node, shape="note", style="filled", color=GREY, fillcolor="#FFFFFF",
               label=dot_label(title, *first_few(statements, 6, "more statements"), width=48))
        g.edge("n_role", node, label=dot_label("may do"), color="black", style="solid")
        lines.append(f"- {_policy_title(policy, i, '`')}: " + ("; ".join(statements) or "no statements") + ".")
    return g.diagram("trust", "\n".join(lines))


# ── cross-account requests ─────────────────────────────────────────────────────


def _side(decision: Decision, names: tuple[str, ...], layers: tuple[Layer, ...]) -> tuple[str, str, list[str]]:
    """(verdict word, colour, lines) for one side of the request, read from the steps."""
    denies = [t for t in decision.determining if t.layer in layers] if decision.outcome is Outcome.EXPLICIT_DENY else []
    if denies:
        return "deny", DENY, ["✖ DENY: explicitly denies", *first_few([statement_ref(t) for t in denies], 2)]
    steps = [s for s in decision.steps if s.name in names and s.reached]
    if not steps:
        if decision.steps[0].verdict == "allow":
            return "skip", GREY, ["· not needed: AWS always allows this action"]
        return "skip", GREY, ["· not reached: the decision fell earlier"]
    if any(s.verdict == "implicit" for s in steps):
        return "implicit", IMPLICIT, ["✖ does not allow", *(s.detail for s in steps if s.verdict == "implicit")]
    if all(s.verdict == "skip" for s in steps):
        return "skip", NEUTRAL, ["· not applicable", *(s.detail for s in steps)]
    allows = [t for layer in layers if (v := decision.layer(layer)) for t in v.matched if t.effect == "Allow"]
    return "allow", ALLOW, ["✔ allows", *first_few([statement_ref(t) for t in allows], 2)]


def cross_account_diagram(decision: Decision) -> Diagram:
    """A request between two accounts: each account as a cluster, with where each side
    (the caller's SCPs and identity policies; the resource's RCPs and resource-based
    policy) allowed or denied, read from the decision's steps and trace.

    Args:
        decision: the decision on a request; a same-account request is drawn as one cluster.

    Returns:
        A :class:`Diagram`.
    """
    r = decision.request
    caller_account, owner = r.caller.account, r.owner_account or "(unknown)"
    service = r.caller.kind is CallerKind.SERVICE
    same = r.same_account and not service
    caller_side = "an AWS service" if service else f"account {caller_account}"
    g = DotGraph("iamkit_cross_account", rankdir="TB", nodesep="0.5", ranksep="0.35",
               label=dot_label(f"{r.principal} → {r.action} on {r.resource}: {decision.headline}", width=100))
    left, right = "cluster_caller", "cluster_resource"
    if same:
        right = left
        g.cluster(left, label=dot_label(f"account {caller_account} (caller and resource)"), style="rounded",
                  color=GREY)
    else:
        g.cluster(left, label=dot_label("caller: an AWS service" if service else f"caller's account {caller_account}"),
                  style="rounded", color=GREY)
        g.cluster(right, label=dot_label(f"resource's account {owner}"), style="rounded", color=GREY)

    sides = {
        "n_scp": (left, "service control policies", ("scp",), (Layer.SCP,)),
        "n_identity": (left, "identity side: identity policies, permissions boundary, session policy",
                       ("identity", "boundary", "session"), (Layer.IDENTITY, Layer.BOUNDARY, Layer.SESSION)),
        "n_rcp": (right, "resource control policies", ("rcp",), (Layer.RCP,)),
        "n_resource_policy": (right, "resource-based policy", ("resource",), (Layer.RESOURCE,)),
    }
    g.node("n_caller", left, shape="ellipse", style="filled", color=NEUTRAL, fillcolor=NEUTRAL + TINT,
           label=dot_label("caller", r.principal))
    verdicts = {}
    for node, (cluster, title, names, layers) in sides.items():
        verdict, colour, lines = _side(decision, names, layers)
        verdicts[node] = (verdict, lines)
        bold = verdict in ("deny", "implicit", "allow")
        g.node(node, cluster, shape="box", style="rounded,filled" + (",bold" if bold else ""), color=colour,
               fillcolor=colour + TINT, penwidth="3" if bold else "1", label=dot_label(title, *lines, width=40))
    g.node("n_resource", right, shape="cylinder", style="filled", color=NEUTRAL, fillcolor=NEUTRAL + TINT,
           label=dot_label("resource", r.resource))
    outcome_shape = {Outcome.ALLOWED: {"shape": "box", "style": "rounded,filled,bold", "peripheries": "2"},
                     Outcome.EXPLICIT_DENY: {"shape": "octagon", "style": "filled,bold"},
                     Outcome.IMPLICIT_DENY: {"shape": "box", "style": "filled,dashed,bold"}}[decision.outcome]
    colour = OUTCOME_COLOUR[decision.outcome]
    words = {Outcome.ALLOWED: ("ALLOWED",), Outcome.EXPLICIT_DENY: ("DENY", "explicit deny"),
             Outcome.IMPLICIT_DENY: ("DENY", "implicit deny: nothing allowed it")}[decision.outcome]
    g.node("n_outcome", **outcome_shape, color=colour, fillcolor=colour + TINT, penwidth="3",
           label=dot_label(*words))
    g.edge("n_caller", "n_scp", label=dot_label("request"))
    g.edge("n_scp", "n_identity", label="")
    g.edge("n_identity", "n_rcp", label=dot_label("to the resource's account" if not same else ""), constraint="false")
    g.edge("n_rcp", "n_resource_policy", label="")
    g.edge("n_resource_policy", "n_resource", label=dot_label("attached to"))
    decided_at = decision.deciding_step.name
    for node in sides:
        verdict, _ = verdicts[node]
        # A side that denied, the side whose box the decision fell at, or a side that allowed.
        if verdict == "deny" or (verdict == "implicit" and decided_at in sides[node][2]) \
                or (decision.allowed and verdict == "allow"):
            g.edge(node, "n_outcome", label=dot_label("decides" if verdict != "allow" else "allows"),
                   color=VERDICT_COLOUR[verdict], style="bold", penwidth="2")
    for attrs in g.edges.values():
        attrs.setdefault("color", GREY)
        attrs.setdefault("style", "solid")
    # Keep the outcome below both accounts.
    for node in ("n_identity", "n_resource"):
        if (node, "n_outcome") not in g.edges:
            g.edge(node, "n_outcome", label="", style="invis")

    def describe(node: str) -> str:
        verdict, lines = verdicts[node]
        title = sides[node][1].split(":")[0]
        return f"the {title}: {lines[0].lstrip('✔✖· ')}" + (f" ({'; '.join(lines[1:])})" if lines[1:] else "")

    if service:
        intro = f"Request by an AWS service: {r.principal} → {r.action} on {r.resource} (account {owner})."
        rule = ""
    elif same:
        intro = (f"Same-account request: {r.principal} → {r.action} on {r.resource}, all in account {owner}. "
                 "Either side's allow can suffice.")
        rule = ""
    else:
        intro = (f"Cross-account request: {r.principal} (account {caller_account}) → {r.action} on {r.resource} "
                 f"(account {owner}).")
        rule = "A cross-account request needs both sides to allow it. "
    lines = [intro,
             f"The caller's side ({caller_side}): {describe('n_scp')}; {describe('n_identity')}.",
             f"The resource's side (account {owner}): {describe('n_rcp')}; {describe('n_resource_policy')}.",
             f"{rule}Outcome: {decision.headline}."]
    return g.diagram("cross-account", "\n".join(lines))
