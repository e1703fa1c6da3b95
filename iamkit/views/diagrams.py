"""Graphviz diagrams: the evaluation flowchart, an account's graph, role trust, cross-account.

Every diagram renders only from what it is given — a :class:`~iamkit.engine.decision.Decision`
(its ``steps``, ``trace``, ``determining`` and ``blocked_by``) or the
:class:`~iamkit.account.Account` model — and none re-evaluates a request.

A :class:`Diagram` holds deterministic DOT source (stable node ids such as ``n_identity``,
nodes and edges in a fixed order, no timestamps) and a text alternative that describes the
same thing in words. In Jupyter it displays as SVG drawn by Graphviz's ``dot`` program;
when ``dot`` (or the ``graphviz`` Python package) is missing it displays the text
alternative, how to install ``dot``, and the DOT source — never a traceback.

Untrusted text (user, group, role and policy names, Sids, tag values, ARNs) is escaped for
DOT wherever it appears: ``\\`` and ``"`` are backslash-escaped, ``&`` ``<`` ``>`` ``{`` ``}``
``|`` become character entities, and newlines and other control characters cannot break a
line or a statement. Node ids are built from names reduced to ``[A-Za-z0-9_]``.

Colours are Okabe–Ito (safe for colour-blind readers), and shape and text always carry the
same meaning: an octagon reading "DENY" for an explicit deny, a dashed box reading "DENY
(implicit deny)", a double-bordered box reading "ALLOWED", diamonds for the questions.
"""

from __future__ import annotations

import hashlib
import html
import pathlib
import re
import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, NamedTuple, Sequence

from ..display import mime_filter, wanted
from ..engine.decision import Decision, Layer, Outcome, StatementTrace, Step
from ..engine.policy import Policy, Statement
from ..engine.principals import CallerKind
from ..errors import DiagramError

if TYPE_CHECKING:
    from ..account.model import Account

__all__ = ["Diagram", "DiagramError", "account_graph", "cross_account_diagram", "flowchart", "trust_diagram"]

# Okabe–Ito: distinguishable with every common colour-vision deficiency.
ALLOW = "#009E73"  # bluish green
DENY = "#D55E00"  # vermillion
IMPLICIT = "#E69F00"  # orange
NEUTRAL = "#56B4E9"  # sky blue
GREY = "#999999"
_TINT = "33"  # alpha for fills: a light tint of the same colour, text stays black

INSTALL_HINT = ("on Debian/Ubuntu `sudo apt-get install graphviz`, "
                "with conda `conda install -c conda-forge graphviz`")
MISSING_DOT = f"Graphviz's `dot` program is not installed: {INSTALL_HINT}"

_FONT = "Helvetica,Arial,sans-serif"
_WRAP = 42


# ── the Diagram ────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Diagram:
    """A diagram as DOT source plus a text alternative; displays itself in Jupyter.

    Attributes:
        kind: ``flowchart``, ``account``, ``trust`` or ``cross-account``.
        source: the DOT source, byte-identical for the same input.
        text: the same content in words, for terminals, screen readers and test failures.
        nodes, edges: how many of each the source holds.
    """

    kind: str
    source: str
    text: str
    nodes: int = field(default=0, compare=False)
    edges: int = field(default=0, compare=False)

    def svg(self) -> str:
        """The diagram as SVG text, drawn by Graphviz's ``dot``.

        Raises:
            DiagramError: when the ``graphviz`` package or the ``dot`` program is missing,
                or ``dot`` fails; the message says how to install it.
        """
        return _render(self.source, "svg").decode("utf-8")

    def save(self, path: str | pathlib.Path) -> pathlib.Path:
        """Write the diagram to a file; the suffix picks the format.

        ``.svg``, ``.png`` and ``.pdf`` are drawn by ``dot``; ``.dot``/``.gv`` write the DOT
        source and ``.txt`` the text alternative (neither needs ``dot``).

        Returns:
            The path written.

        Raises:
            DiagramError: for another suffix, or when ``dot`` is needed and missing.
        """
        target = pathlib.Path(path)
        suffix = target.suffix.lower().lstrip(".")
        if suffix in ("dot", "gv"):
            target.write_text(self.source, encoding="utf-8")
        elif suffix == "txt":
            target.write_text(self.text + "\n", encoding="utf-8")
        elif suffix in ("svg", "png", "pdf"):
            target.write_bytes(_render(self.source, suffix))
        else:
            raise DiagramError(f"cannot save a diagram as `{target.suffix or target.name}`",
                               "use a `.svg`, `.png`, `.pdf`, `.dot` or `.txt` file name")
        return target

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle: dict[str, Any] = {}
        if wanted("image/svg+xml", include, exclude):
            try:
                bundle["image/svg+xml"] = self.svg()
            except DiagramError as error:
                # No `dot` here (or no graphviz package): the browser draws it, where it can.
                drawn = _browser_bundle(self, include, exclude) if INSTALL_HINT in (error.hint or "") else None
                if drawn is not None:
                    return drawn
                message = MISSING_DOT if error.hint == INSTALL_HINT else str(error)
                fallback = {"text/plain": f"{self.text}\n\n{message}\n\nDOT source:\n{self.source}",
                            "text/html": self._fallback_html(message)}
                return mime_filter(fallback, include, exclude)
        if wanted("text/plain", include, exclude):
            bundle["text/plain"] = self.text
        return bundle

    def _fallback_html(self, message: str) -> str:
        return ('<div class="iamkit-diagram iamkit-diagram-fallback">'
                f"<p><strong>{html.escape(message)}</strong></p>"
                f'<pre style="white-space:pre-wrap">{html.escape(self.text)}</pre>'
                f"<details><summary>DOT source</summary><pre>{html.escape(self.source)}</pre></details></div>")

    def __repr__(self) -> str:
        return f"<Diagram {self.kind}: {self.nodes} nodes, {self.edges} edges>"


def _browser_bundle(diagram: Diagram, include: Any, exclude: Any) -> dict[str, Any] | None:
    """The diagram as a widget the browser draws (Graphviz in WebAssembly), where anywidget is
    installed; None where it is not, or when the widget view is not wanted."""
    try:
        from .graphview import WIDGET_VIEW, mimebundle
    except ImportError:  # anywidget is not installed
        return None
    if not wanted(WIDGET_VIEW, include, exclude):
        return None
    return mimebundle(diagram.source, diagram.text, include, exclude)


def _render(source: str, fmt: str) -> bytes:
    try:
        import graphviz
    except ImportError:
        raise DiagramError("the `graphviz` Python package is not installed",
                           "`pip install graphviz`, and Graphviz's `dot` program: " + INSTALL_HINT) from None
    try:
        return graphviz.Source(source).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise DiagramError("Graphviz's `dot` program is not installed", INSTALL_HINT) from None
    except graphviz.CalledProcessError as error:
        stderr = error.stderr.decode("utf-8", "replace") if isinstance(error.stderr, bytes) else str(error.stderr)
        raise DiagramError(f"`dot` could not draw the diagram: {stderr.strip()}",
                           "report this as an iamkit bug, with the DOT source") from None


# ── DOT text ───────────────────────────────────────────────────────────────────

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "{": "&#123;", "}": "&#125;", "|": "&#124;"}


def _escape(text: str) -> str:
    """One line of label text, safe inside a DOT double-quoted string.

    Backslashes and quotes are escaped (so ``\\N`` or ``\\l`` stay literal and a quote cannot
    end the string); ``& < > { } |`` become entities, which Graphviz decodes for display,
    so no markup or record syntax survives; newlines and control characters are shown as
    ``↵`` or a space so user text cannot start a line of its own.
    """
    out = []
    for ch in text.replace("\r\n", "\n"):
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch in _ENTITIES:
            out.append(_ENTITIES[ch])
        elif ch in "\r\n":
            out.append("↵")
        elif ord(ch) < 32 or 127 <= ord(ch) < 160:
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def _label(*lines: str, width: int = _WRAP) -> str:
    """Lines of text, each escaped and wrapped, joined with DOT line breaks (``\\n``)."""
    out: list[str] = []
    for line in lines:
        wrapped = textwrap.wrap(line, width, break_long_words=True, break_on_hyphens=False) or [""]
        out.extend(_escape(w) for w in wrapped)
    return "\\n".join(out)


def _slug(prefix: str, name: str) -> str:
    """A stable node id: ``prefix_name`` reduced to ``[A-Za-z0-9_]``, with a short hash when
    the name had to change (so two names never share an id)."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")[:40]
    if slug != name or not slug:
        slug = f"{slug}_{hashlib.sha1(name.encode('utf-8')).hexdigest()[:8]}".lstrip("_")
    return f"{prefix}_{slug}"


class _Graph:
    """A small DOT writer: nodes, edges and clusters in the order they were added."""

    def __init__(self, name: str, **attrs: str):
        self.name = name
        self.attrs = {"fontname": _FONT, "fontsize": "12", "labelloc": "t", **attrs}
        self.nodes: dict[str, dict[str, str]] = {}
        self.node_cluster: dict[str, str | None] = {}
        self.edges: dict[tuple[str, str], dict[str, str]] = {}
        self.clusters: dict[str, dict[str, str]] = {}
        self.ranks: list[tuple[str, tuple[str, ...]]] = []  # ("same" | "sink", node ids)

    def node(self, node_id: str, cluster: str | None = None, **attrs: str) -> None:
        self.nodes.setdefault(node_id, {}).update(attrs)
        self.node_cluster.setdefault(node_id, cluster)

    def edge(self, tail: str, head: str, **attrs: str) -> None:
        self.edges.setdefault((tail, head), {}).update(attrs)

    def cluster(self, cluster_id: str, **attrs: str) -> None:
        self.clusters[cluster_id] = attrs

    @staticmethod
    def _attrs(attrs: Mapping[str, str]) -> str:
        # Labels are escaped by _label; every other value is iamkit's own (shapes, colours).
        ordered = sorted(attrs.items(), key=lambda kv: (kv[0] != "label", kv[0]))
        return ", ".join(f'{k}="{v if k in ("label", "xlabel") else _escape(v)}"' for k, v in ordered)

    def source(self) -> str:
        lines = [f'digraph "{self.name}" {{',
                 f"  graph [{self._attrs(self.attrs)}];",
                 f'  node [fontname="{_FONT}", fontsize="10", margin="0.12,0.06"];',
                 f'  edge [fontname="{_FONT}", fontsize="9"];']
        for cluster_id, attrs in self.clusters.items():
            lines.append(f'  subgraph "{cluster_id}" {{')
            lines.append(f"    graph [{self._attrs(attrs)}];")
            lines.extend(f'    "{n}" [{self._attrs(a)}];' for n, a in self.nodes.items()
                         if self.node_cluster[n] == cluster_id)
            lines.append("  }")
        lines.extend(f'  "{n}" [{self._attrs(a)}];' for n, a in self.nodes.items() if self.node_cluster[n] is None)
        lines.extend(f'  "{t}" -> "{h}" [{self._attrs(a)}];' for (t, h), a in self.edges.items())
        for rank, group in self.ranks:
            lines.append(f'  {{ rank="{rank}"; ' + " ".join(f'"{n}";' for n in group) + " }")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def diagram(self, kind: str, text: str) -> Diagram:
        return Diagram(kind, self.source(), text, len(self.nodes), len(self.edges))


def _more(items: Sequence[str], limit: int, noun: str = "more") -> list[str]:
    shown = list(items[:limit])
    if len(items) > limit:
        shown.append(f"… and {len(items) - limit} {noun}")
    return shown


def _statement_ref(t: StatementTrace) -> str:
    return f"{t.effect} {t.statement.label} ({t.where})"


_HEADLINE = {
    Outcome.ALLOWED: "ALLOWED",
    Outcome.EXPLICIT_DENY: "DENIED (explicit deny)",
    Outcome.IMPLICIT_DENY: "DENIED (implicit deny: nothing allowed it)",
}
_OUTCOME_COLOUR = {Outcome.ALLOWED: ALLOW, Outcome.EXPLICIT_DENY: DENY, Outcome.IMPLICIT_DENY: IMPLICIT}
_VERDICT_COLOUR = {"pass": ALLOW, "allow": ALLOW, "skip": NEUTRAL, "deny": DENY, "implicit": IMPLICIT}


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


def _deciding_lines(decision: Decision, step: Step) -> list[str]:
    """What decided, for the box where the decision fell."""
    action = decision.request.action
    if decision.outcome is Outcome.EXPLICIT_DENY:
        return ["denied by:", *_more([_statement_ref(t) for t in decision.determining], 3)]
    if decision.outcome is Outcome.ALLOWED:
        if decision.deciding is None:
            return [f"allowed without a statement: {step.detail}"]
        return ["allowed by:", _statement_ref(decision.deciding)]
    layer = decision.blocked_by
    if layer is None:
        return [f"no statement allowed {action}"]
    lines = [f"no statement in the {layer.label} allowed {action}"]
    misses = [t for t in decision.statements(layer) if t.effect == "Allow" and not t.matched]
    if misses:
        lines.append("closest:")
        lines.extend(_more([f"{t.statement.label} ({t.where}): {t.failed_element} did not match" for t in misses], 2))
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
        title = f"{r.principal} → {r.action} on {r.resource}: {_HEADLINE[decision.outcome]}"
    g = _Graph("iamkit_flowchart", rankdir="TB", nodesep="0.35", ranksep="0.3", label=_label(title, width=100))

    steps = list(decision.steps) if decision is not None else []
    deciding = next(i for i, v in enumerate(steps) if v.deciding) if decision is not None else -1
    # An allowed request goes on to ALLOWED through the boxes after the deciding one.
    path = [v for v in steps if v.reached] if decision is not None and decision.allowed else steps[: deciding + 1]
    checked = [v for v in steps[deciding + 1:] if v.verdict not in ("skip", "unreached")]
    after = checked if decision is not None and not decision.allowed else []
    seen = {v.name: (i, v) for i, v in reversed(list(enumerate(path)))}
    late = {v.name: v for v in after if v.name not in seen}

    # Boxes.
    g.node(_START, shape="box", style="rounded,filled", color=NEUTRAL, fillcolor=NEUTRAL + _TINT, penwidth="1",
           label=_label("request", *((decision.request.principal, f"→ {decision.request.action}",
                                      f"on {decision.request.resource}") if decision else ())))
    for box in _BOXES:
        attrs = {"shape": "diamond", "group": "main"}
        if decision is None:
            attrs.update(style="filled", color=NEUTRAL, fillcolor=NEUTRAL + _TINT, penwidth="1",
                         label=_label(box.question, width=30))
        elif box.step in seen:
            i, v = seen[box.step]
            marker = _MARKER[v.verdict]
            if v.deciding and v.verdict == "implicit":
                marker = "✖ stopped here: nothing allowed it"
            lines = [box.question, marker]
            if v.deciding:
                lines += _deciding_lines(decision, v)
            colour = _VERDICT_COLOUR.get(v.verdict, GREY)
            attrs.update(style="filled,bold", color=colour, fillcolor=colour + _TINT, penwidth="3",
                         label=_label(*lines, width=34))
        elif box.step in late:
            v = late[box.step]
            attrs.update(style="solid", color=GREY, penwidth="1",
                         label=_label(box.question, f"(checked after the decision fell: {_MARKER[v.verdict]})",
                                      width=34))
        else:
            attrs.update(style="solid", color=GREY, penwidth="1", label=_label(box.question, width=30))
        g.node(box.node, **attrs)
    terminals = (
        (_EXPLICIT, Outcome.EXPLICIT_DENY, {"shape": "octagon", "style": "filled"}, ("DENY", "explicit deny")),
        (_IMPLICIT, Outcome.IMPLICIT_DENY, {"shape": "box", "style": "filled,dashed"},
         ("DENY", "implicit deny: nothing allowed it")),
        (_ALLOWED, Outcome.ALLOWED, {"shape": "box", "style": "rounded,filled", "peripheries": "2"}, ("ALLOWED",)),
    )
    for node_id, outcome, attrs, words in terminals:
        colour = _OUTCOME_COLOUR[outcome]
        reached = decision is not None and decision.outcome is outcome
        lines = [*words, "◀ this request"] if reached else list(words)
        g.node(node_id, **attrs, color=colour, fillcolor=colour + _TINT, penwidth="3" if reached else "1",
               label=_label(*lines, width=30))
        if reached:
            g.nodes[node_id]["style"] += ",bold"

    # Edges: the lesson's, then the path's (bold) — adding any transition the lesson lacks.
    route = [_START] + [_BY_STEP[v.name].node for v in path]
    if decision is not None:
        route.append(_TERMINAL[decision.outcome])
    on_path = set(zip(route, route[1:], strict=False))
    for tail, head, text in _FLOW_EDGES:
        g.edge(tail, head, label=_label(text, width=24) if text else "")
    for tail, head in zip(route, route[1:], strict=False):
        if (tail, head) not in g.edges:
            g.edge(tail, head, label=_label("then"), constraint="false")
    colour = _OUTCOME_COLOUR[decision.outcome] if decision is not None else "black"
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
            by = f", by {_statement_ref(decision.deciding)}" if decision.deciding is not None else ""
            phrases.append(f"was allowed at the {title} ({v.detail}){by}")
        elif v.verdict == "deny":
            by = "; ".join(f"{t.statement.label} ({t.where})" for t in decision.determining)
            phrases.append(f"stopped at the {title}: {by or 'a statement'} explicitly denies it")
        elif v.deciding:
            what = decision.blocked_by.label if decision.blocked_by is not None else title
            phrases.append(f"stopped at the {title}: no statement in the {what} allowed {r.action} ({v.detail})")
        else:
            phrases.append(f"found no allow in the {title} ({v.detail})")
    sentence = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + ", and " + phrases[-1]
    lines = [f"Flowchart: {r.principal} → {r.action} on {r.resource}: {_HEADLINE[decision.outcome]}.",
             f"{decision.summary()}",
             f"The request {sentence}."]
    if after:
        lines.append("Checked after the decision fell: "
                     + "; ".join(f"the {_BY_STEP[v.name].title} ({v.detail})" for v in after) + ".")
    return "\n".join(lines)


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
    g = _Graph("iamkit_account", rankdir="LR", nodesep="0.25", ranksep="0.6",
               label=_label(f"IAM in account {account.account_id}", width=100))
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
        node = add(_slug("user", name), f"user `{name}`", shape="ellipse", style="filled", color=NEUTRAL,
                   fillcolor=NEUTRAL + _TINT, label=_label("user", name, *tag_lines(u.tags)))
        by_arn[u.arn] = node
    for name in sorted(account.groups):
        add(_slug("group", name), f"group `{name}`", shape="folder", style="filled", color=NEUTRAL,
            fillcolor=NEUTRAL + _TINT, label=_label("group", name))
    for name in sorted(account.roles):
        r = account.roles[name]
        node = add(_slug("role", name), f"role `{name}`", shape="hexagon", style="filled", color=ALLOW,
                   fillcolor=ALLOW + _TINT, label=_label("role", name, *tag_lines(r.tags)))
        by_arn[r.arn] = node

    def managed(arn: str) -> tuple[str, str]:
        policy = account.policies.get(arn)
        name = policy.name if policy is not None else arn.rsplit("/", 1)[-1]
        owner = ("AWS managed" if ":iam::aws:policy/" in arn else "customer managed") if policy is not None \
            else "document not in the export"
        return name, add(_slug("policy", arn), f"managed policy `{name}`", shape="note", style="filled", color=GREY,
                   fillcolor="#FFFFFF", label=_label("managed policy", name, f"({owner})"))

    def holder_edges(kind: str, name: str, inline: Mapping[str, Any], attached: Iterable[str],
                     boundary: str | None) -> None:
        node = _slug(kind, name)
        for policy_name in sorted(inline):
            target = add(_slug("inline", f"{kind}/{name}/{policy_name}"), f"inline policy `{policy_name}`",
                         shape="component", style="filled", color=GREY, fillcolor="#FFFFFF",
                         label=_label("inline policy", policy_name))
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
                edges.append(_Edge(_slug("user", name), _slug("group", group), "member of", f"member of group `{group}`"))
        holder_edges("user", name, u.inline, u.attached, u.boundary)
    for name in sorted(account.groups):
        grp = account.groups[name]
        holder_edges("group", name, grp.inline, grp.attached, None)
    for name in sorted(account.roles):
        r = account.roles[name]
        holder_edges("role", name, r.inline, r.attached, r.boundary)
    for name in sorted(account.instance_profiles):
        profile = account.instance_profiles[name]
        node = add(_slug("profile", name), f"instance profile `{name}`", shape="tab", style="filled", color=GREY,
                   fillcolor="#FFFFFF", label=_label("instance profile", name))
        for role in sorted(profile.roles):
            if role in account.roles:
                edges.append(_Edge(node, _slug("role", role), "carries", f"carries role `{role}`"))

    def principal_node(who: str, principal_type: str | None = None) -> str:
        if who in by_arn:
            return by_arn[who]
        account_id = who.split(":")[4] if who.startswith("arn:") and who.endswith(":root") else who
        if account_id == account.account_id:
            return add(_slug("account", account_id), f"account {account_id}", shape="house", style="filled",
                       color=NEUTRAL, fillcolor=NEUTRAL + _TINT,
                       label=_label("this account", account_id, "(delegates to its identity policies)"))
        word = _principal_word(who, principal_type)
        return add(_slug("ext", who), f"{word} `{_outsider_name(who)}`", shape="cds" if word == "service" else "house",
                   style="filled", color=GREY, fillcolor="#FFFFFF", label=_label(word, _outsider_name(who)))

    for name in sorted(account.roles):
        role_node = _slug("role", name)
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
        trust = account.trust_policy(account.roles[name])
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
            focus_node = _slug("group", focus)
        else:
            p = account.principal(focus)
            focus_node = _slug(p.kind, p.name)
        keep = _neighbourhood(focus_node, edges)
        g.nodes[focus_node].update(penwidth="3", style="filled,bold")
        g.attrs["label"] = _label(f"IAM in account {account.account_id}: around {names[focus_node]}", width=100)

    for node_id in list(g.nodes):
        if node_id not in keep:
            del g.nodes[node_id], g.node_cluster[node_id]
    kept_edges = sorted({e for e in edges if e.tail in keep and e.head in keep}, key=lambda e: (e.tail, e.head, e.label))
    for e in kept_edges:
        g.edge(e.tail, e.head, label=_label(e.label, width=20), style=e.style, color=e.colour)
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
            else:
                out.insert(0, "no principal given may assume it" if evaluated else "its trust policy names no principal")
            out += [f"carried by {c}" for c in carried]
        lines.append(f"{names[node]}: " + ("; ".join(out) if out else "no policies or memberships") + ".")
    return "\n".join(lines)


# ── role trust ─────────────────────────────────────────────────────────────────


def _summarise(st: Statement) -> str:
    actions = _more(list(st.actions), 4)
    what = ("everything except " if st.not_action else "") + ", ".join(actions)
    if st.resources is not None and list(st.resources) != ["*"]:
        where = ", ".join(_more(list(st.resources), 2))
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
    phrase = f" by {_statement_ref(t)}" if t is not None else ""
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
    g = _Graph("iamkit_trust", rankdir="LR", nodesep="0.3", ranksep="0.8",
               label=_label(f"Role {role_name}: who may assume it, and what it may do", width=100))
    g.node("n_role", shape="hexagon", style="filled,bold", color=ALLOW, fillcolor=ALLOW + _TINT, penwidth="2",
           label=_label("role", role_name))
    lines = [f"Role `{role_name}`."]
    who_lines = []
    for i, (who, decision) in enumerate(assumers):
        node = f"n_who_{i}"
        word = _principal_word(who)
        label, colour, phrase = _assume_verdict(decision)
        g.node(node, shape="cds" if word == "service" else "ellipse", style="filled", color=colour,
               fillcolor=colour + _TINT, label=_label(word, _outsider_name(who)))
        g.edge(node, "n_role", label=_label(label, width=28), color=colour,
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
               label=_label(title, *_more(statements, 6, "more statements"), width=48))
        g.edge("n_role", node, label=_label("may do"), color="black", style="solid")
        lines.append(f"- {_policy_title(policy, i, '`')}: " + ("; ".join(statements) or "no statements") + ".")
    return g.diagram("trust", "\n".join(lines))


# ── cross-account requests ─────────────────────────────────────────────────────


def _side(decision: Decision, names: tuple[str, ...], layers: tuple[Layer, ...]) -> tuple[str, str, list[str]]:
    """(verdict word, colour, lines) for one side of the request, read from the steps."""
    denies = [t for t in decision.determining if t.layer in layers] if decision.outcome is Outcome.EXPLICIT_DENY else []
    if denies:
        return "deny", DENY, ["✖ DENY: explicitly denies", *_more([_statement_ref(t) for t in denies], 2)]
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
    return "allow", ALLOW, ["✔ allows", *_more([_statement_ref(t) for t in allows], 2)]


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
    g = _Graph("iamkit_cross_account", rankdir="TB", nodesep="0.5", ranksep="0.35",
               label=_label(f"{r.principal} → {r.action} on {r.resource}: {_HEADLINE[decision.outcome]}", width=100))
    left, right = "cluster_caller", "cluster_resource"
    if same:
        right = left
        g.cluster(left, label=_label(f"account {caller_account} (caller and resource)"), style="rounded",
                  color=GREY)
    else:
        g.cluster(left, label=_label("caller: an AWS service" if service else f"caller's account {caller_account}"),
                  style="rounded", color=GREY)
        g.cluster(right, label=_label(f"resource's account {owner}"), style="rounded", color=GREY)

    sides = {
        "n_scp": (left, "service control policies", ("scp",), (Layer.SCP,)),
        "n_identity": (left, "identity side: identity policies, permissions boundary, session policy",
                       ("identity", "boundary", "session"), (Layer.IDENTITY, Layer.BOUNDARY, Layer.SESSION)),
        "n_rcp": (right, "resource control policies", ("rcp",), (Layer.RCP,)),
        "n_resource_policy": (right, "resource-based policy", ("resource",), (Layer.RESOURCE,)),
    }
    g.node("n_caller", left, shape="ellipse", style="filled", color=NEUTRAL, fillcolor=NEUTRAL + _TINT,
           label=_label("caller", r.principal))
    verdicts = {}
    for node, (cluster, title, names, layers) in sides.items():
        verdict, colour, lines = _side(decision, names, layers)
        if service and node == "n_identity":
            verdict, colour, lines = "skip", GREY, ["· not applicable: an AWS service has no identity policies here"]
        verdicts[node] = (verdict, lines)
        bold = verdict in ("deny", "implicit", "allow")
        g.node(node, cluster, shape="box", style="rounded,filled" + (",bold" if bold else ""), color=colour,
               fillcolor=colour + _TINT, penwidth="3" if bold else "1", label=_label(title, *lines, width=40))
    g.node("n_resource", right, shape="cylinder", style="filled", color=NEUTRAL, fillcolor=NEUTRAL + _TINT,
           label=_label("resource", r.resource))
    outcome_shape = {Outcome.ALLOWED: {"shape": "box", "style": "rounded,filled,bold", "peripheries": "2"},
                     Outcome.EXPLICIT_DENY: {"shape": "octagon", "style": "filled,bold"},
                     Outcome.IMPLICIT_DENY: {"shape": "box", "style": "filled,dashed,bold"}}[decision.outcome]
    colour = _OUTCOME_COLOUR[decision.outcome]
    words = {Outcome.ALLOWED: ("ALLOWED",), Outcome.EXPLICIT_DENY: ("DENY", "explicit deny"),
             Outcome.IMPLICIT_DENY: ("DENY", "implicit deny: nothing allowed it")}[decision.outcome]
    g.node("n_outcome", **outcome_shape, color=colour, fillcolor=colour + _TINT, penwidth="3",
           label=_label(*words))
    g.edge("n_caller", "n_scp", label=_label("request"))
    g.edge("n_scp", "n_identity", label="")
    g.edge("n_identity", "n_rcp", label=_label("to the resource's account" if not same else ""), constraint="false")
    g.edge("n_rcp", "n_resource_policy", label="")
    g.edge("n_resource_policy", "n_resource", label=_label("attached to"))
    for node in sides:
        verdict, _ = verdicts[node]
        if verdict in ("deny", "implicit") or (decision.allowed and verdict == "allow"):
            g.edge(node, "n_outcome", label=_label("decides" if verdict != "allow" else "allows"),
                   color=_VERDICT_COLOUR[verdict], style="bold", penwidth="2")
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
        intro = (f"Request by an AWS service: {r.principal} → {r.action} on {r.resource} (account {owner}). "
                 "A service has no identity policies here: the resource's policy decides.")
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
             f"{rule}Outcome: {_HEADLINE[decision.outcome]}."]
    return g.diagram("cross-account", "\n".join(lines))
