"""The Decision: what the engine decided, and every reason it had.

A :class:`Decision` is frozen and self-contained; every view (text, HTML, JSON, the AWS
simulator response, tables, flowcharts, widgets) renders from it and none re-evaluates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from typing import Any, Collection, NamedTuple

from ..display import mime_bundle
from .conditions import ConditionResult
from .explain import decision_html, decision_text
from .policy import Origin, Statement
from .principals import PrincipalMatch
from .scenario import Request
from .variables import Multivalued

__all__ = ["Decision", "Layer", "LayerVerdict", "Outcome", "Step", "StatementTrace", "Verdict", "missing_keys",
           "reason"]


class Outcome(str, Enum):
    """The three results of AWS's evaluation (the values of ``EvalDecision``)."""

    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicitDeny"
    IMPLICIT_DENY = "implicitDeny"

    def __str__(self) -> str:
        return self.value


class Layer(str, Enum):
    """The policy layers AWS consults, in the order of its flowchart."""

    RCP = "rcp"
    SCP = "scp"
    RESOURCE = "resource"
    IDENTITY = "identity"
    BOUNDARY = "boundary"
    SESSION = "session"

    @property
    def label(self) -> str:
        """A human name for the layer."""
        return _LAYER_LABELS[self]

    def __str__(self) -> str:
        return self.value


_LAYER_LABELS = {
    Layer.RCP: "resource control policy",
    Layer.SCP: "service control policy",
    Layer.RESOURCE: "resource policy",
    Layer.IDENTITY: "identity policy",
    Layer.BOUNDARY: "permissions boundary",
    Layer.SESSION: "session policy",
}


class StatementTrace(NamedTuple):
    """How one statement compared with the request, recorded while evaluating.

    Attributes:
        layer: which layer the statement's policy belongs to.
        policy: index of the policy within its layer (or within its level for SCPs/RCPs).
        level: the organization level for SCPs and RCPs (0 = root), else None.
        policy_name: the policy's display name.
        origin: where the policy comes from in an account (which user, group or role it is
            attached to), when it was loaded from one.
        statement: the statement itself (Sid, Effect, path, line and column).
        action: True when the action matched (``Action``) or was not excluded (``NotAction``).
        action_entry: the entry that matched (or excluded) the action, if any.
        resource: True/False, or None when not compared (an earlier element failed) or
            when the statement has no resource element (role trust policies).
        resource_entry: the entry that matched (or excluded) the resource, if any.
        principal: how ``Principal`` named the caller; None when it did not or when the
            statement has no principal element.
        principal_applies: True/False for statements with a principal element, else None.
        conditions: the result of each condition, in order; empty when not evaluated.
        conditions_met: True/False, or None when conditions were not evaluated.
        unresolved: policy variables in ``Resource`` that had no value.
        matched: True when the statement applies to the request.
    """

    layer: Layer
    policy: int
    level: int | None
    policy_name: str | None
    origin: Origin | None
    statement: Statement
    action: bool
    action_entry: str | None
    resource: bool | None
    resource_entry: str | None
    principal: PrincipalMatch | None
    principal_applies: bool | None
    conditions: tuple[ConditionResult, ...]
    conditions_met: bool | None
    unresolved: tuple[str, ...]
    matched: bool

    @property
    def effect(self) -> str:
        """``Allow`` or ``Deny``."""
        return self.statement.effect

    @property
    def sid(self) -> str | None:
        """The statement's ``Sid``."""
        return self.statement.sid

    @property
    def where(self) -> str:
        """``identity policy 2, Statement[1]`` — where a person finds this statement."""
        policy = str(self.origin) if self.origin else self.policy_name or f"{self.layer.label} {self.policy}"
        return f"{policy}, {self.statement.path}"

    @property
    def ref(self) -> str:
        """``ReadReports (identity policy 0, Statement[0])``, or only where it is when it has no Sid."""
        return f"{self.sid} ({self.where})" if self.sid else self.where

    @property
    def failed_element(self) -> str | None:
        """The first element that kept the statement from applying, or None when it applied."""
        if self.matched:
            return None
        if not self.action:
            return "NotAction" if self.statement.not_action else "Action"
        if self.resource is False:
            return "NotResource" if self.statement.not_resource else "Resource"
        if self.principal_applies is False:
            return self.statement.principal_element
        return "Condition"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        st = self.statement
        return {
            "layer": self.layer.value,
            "policy": self.policy,
            "level": self.level,
            "policyName": self.policy_name,
            "origin": self.origin.to_dict() if self.origin else None,
            "statement": st.path,
            "sid": st.sid,
            "effect": st.effect,
            "line": st.line,
            "column": st.column,
            "action": self.action,
            "actionEntry": self.action_entry,
            "resource": self.resource,
            "resourceEntry": self.resource_entry,
            "principal": None if self.principal is None else self.principal.value,
            "principalApplies": self.principal_applies,
            "conditions": [c.to_dict() for c in self.conditions],
            "conditionsMet": self.conditions_met,
            "unresolved": list(self.unresolved),
            "matched": self.matched,
        }

    def __repr__(self) -> str:
        state = "applies" if self.matched else f"not applicable ({self.failed_element})"
        return f"<StatementTrace {self.effect} {self.statement.label} in {self.where}: {state}>"


class Step(NamedTuple):
    """One box of AWS's evaluation flowchart and what happened there for this request.

    A Decision has a Step for every box, in the order the request met them; the boxes it
    never reached come last, as ``unreached``.

    Attributes:
        name: ``service-rule``, ``deny``, ``rcp``, ``scp``, ``resource``, ``identity``,
            ``boundary``, ``session`` — the flowchart's nodes.
        verdict: ``allow`` (this step allowed the request), ``deny`` (explicit deny),
            ``implicit`` (no allow: implicit deny), ``pass`` (this step let the request
            continue), ``skip`` (there is no such policy: nothing to check), ``unreached``
            (the decision fell before this box).
        detail: one sentence saying why.
        deciding: True for the one step where the decision fell.
    """

    name: str
    verdict: str
    detail: str
    deciding: bool = False

    @property
    def reached(self) -> bool:
        """False for a box the request never got to."""
        return self.verdict != "unreached"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {"name": self.name, "verdict": self.verdict, "detail": self.detail, "deciding": self.deciding}


class LayerVerdict(NamedTuple):
    """What one layer's own statements say about the request, whatever the other layers say.

    This is the per-policy-type answer of AWS's ``EvalDecisionDetails`` and of the flowchart's
    boxes: a matching Deny is ``explicitDeny``; an Allow is ``allowed`` (for SCPs, an Allow at
    every level of the organization; RCPs allow through ``RCPFullAWSAccess`` unless one
    denies); otherwise ``implicitDeny``.

    Attributes:
        layer: the layer.
        outcome: the layer's own verdict.
        matched: the layer's statements that applied to the request.
        missing_context_keys: keys this layer's policies asked for that the request lacked.
    """

    layer: Layer
    outcome: Outcome
    matched: tuple[StatementTrace, ...]
    missing_context_keys: tuple[str, ...]

    @property
    def allows(self) -> bool:
        """True when the layer on its own allows the request."""
        return self.outcome is Outcome.ALLOWED

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {"layer": self.layer.value, "decision": self.outcome.value,
                "matched": [reason(t) for t in self.matched],
                "missingContextKeys": list(self.missing_context_keys)}


@dataclass(frozen=True)
class Decision:
    """The outcome of evaluating one request, with everything that led to it.

    Attributes:
        outcome: ``allowed``, ``explicitDeny`` or ``implicitDeny``.
        request: the request as evaluated.
        context: the request context actually used, including the principal keys iamkit
            derived from the principal ARN.
        deciding: the statement that decided: the first matching Deny; for an allowed
            request the grant that allowed it (the resource-based or identity policy
            statement, never a guardrail's allow-all); None for an implicit deny and for
            requests allowed without a statement (a service rule, the root user).
        determining: the matching Deny statements if any, else the matching Allow statements.
        trace: every statement looked at, in layer order.
        steps: every box of AWS's flowchart, in the order the request met them (see :class:`Step`).
        supplied: the layers the request had policies in (RCPs only where they apply to the
            action's service), in flowchart order; :attr:`layers` gives each one's verdict.
        scp_levels: how many levels of the organization had SCPs (each must allow).
        blocked_by: the layer that denied (explicitly or for lack of an allow); None when allowed, or
            when a service rule denied (a kind of credentials that can never call the action).
        missing_context_keys: keys the policies asked for that the request did not have.
        notes: surprises worth knowing (values that could not be compared, rules applied).
        scenario_id: the scenario's id, when there was one.
    """

    outcome: Outcome
    request: Request
    context: dict[str, Any]
    deciding: StatementTrace | None
    determining: tuple[StatementTrace, ...]
    trace: tuple[StatementTrace, ...]
    steps: tuple[Step, ...]
    supplied: tuple[Layer, ...]
    scp_levels: int
    blocked_by: Layer | None
    missing_context_keys: tuple[str, ...]
    notes: tuple[str, ...]
    scenario_id: str | None = None

    @property
    def allowed(self) -> bool:
        """True when the request is allowed."""
        return self.outcome is Outcome.ALLOWED

    def __bool__(self) -> bool:
        return self.allowed

    @cached_property
    def layers(self) -> tuple[LayerVerdict, ...]:
        """Each supplied layer's own verdict (see :class:`LayerVerdict`), in flowchart order,
        read from the trace when first asked for."""
        return tuple(_verdict(self, layer) for layer in self.supplied)

    def layer(self, layer: Layer | str) -> LayerVerdict | None:
        """One layer's own verdict, or None when the request had no such policy."""
        wanted = Layer(layer)
        return next((v for v in self.layers if v.layer is wanted), None)

    @property
    def deciding_step(self) -> Step:
        """The flowchart box where the decision fell."""
        return next(s for s in self.steps if s.deciding)

    @property
    def headline(self) -> str:
        """The outcome in a few words: ``ALLOWED``, ``DENIED (explicit deny)``, or an implicit
        deny with its reason: nothing allowed it, or a service rule that no policy lifts."""
        if self.outcome is Outcome.ALLOWED:
            return "ALLOWED"
        if self.outcome is Outcome.EXPLICIT_DENY:
            return "DENIED (explicit deny)"
        if self.deciding_step.name == "service-rule":
            return "DENIED (implicit deny: a service rule no policy lifts)"
        return "DENIED (implicit deny: nothing allowed it)"

    def summary(self) -> str:
        """The answer in one sentence: the outcome and what decided it."""
        r = self.request
        t = self.deciding
        if self.outcome is Outcome.EXPLICIT_DENY and t is not None:
            more = len(self.determining) - 1
            also = f"; {more} more statement{'s' if more > 1 else ''} deny it too" if more > 0 else ""
            return f"Explicitly denied: {t.ref} denies {r.action} on {r.resource}{also}."
        if self.outcome is Outcome.ALLOWED and t is not None:
            return f"Allowed: {t.ref} allows {r.action} on {r.resource}."
        verdict = "Allowed" if self.allowed else "Implicitly denied"
        return f"{verdict}: {self.deciding_step.detail}."

    def statements(self, layer: Layer | str | None = None, *, matched: bool | None = None) -> list[StatementTrace]:
        """The traced statements, optionally of one layer and/or only those that (did not) apply."""
        wanted = None if layer is None else Layer(layer)
        return [t for t in self.trace
                if (wanted is None or t.layer is wanted) and (matched is None or t.matched is matched)]

    def to_dict(self) -> dict[str, Any]:
        """The whole decision as plain JSON-ready data."""
        return {
            "id": self.scenario_id,
            "decision": self.outcome.value,
            "request": self.request.to_dict(),
            "context": self.context,
            "summary": self.summary(),
            "deciding": None if self.deciding is None else reason(self.deciding),
            "determining": [reason(t) for t in self.determining],
            "layers": [v.to_dict() for v in self.layers],
            "blockedBy": None if self.blocked_by is None else self.blocked_by.value,
            "missingContextKeys": list(self.missing_context_keys),
            "notes": list(self.notes),
            "steps": [s.to_dict() for s in self.steps],
            "trace": [t.to_dict() for t in self.trace],
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The decision as JSON text (see :meth:`to_dict`)."""
        return json.dumps(self.to_dict(), indent=indent)

    def explain(self) -> str:
        """A plain-text explanation that teaches on its own."""
        return decision_text(self)

    def _repr_html_(self) -> str:
        return decision_html(self)

    def _repr_mimebundle_(self, include: Collection[str] | None = None, exclude: Collection[str] | None = None,
                          **kwargs: Any) -> dict[str, Any]:
        # iamkit.display's protocol, without its mixin: a compiled class cannot inherit an interpreted one.
        return mime_bundle({"text/plain": self.explain, "text/html": self._repr_html_}, include, exclude)

    def __repr__(self) -> str:
        return f"<Decision {self.summary()}>"


class Verdict(NamedTuple):
    """A decision's answer without its trace: what :meth:`iamkit.PolicySet.check` returns and
    what a batch result line holds.

    The engine computes it the way it computes a :class:`Decision` and a test holds every
    field equal to the same field of the Decision for the same request; for the trace of every
    statement, the flowchart's steps and the notes, evaluate in full.

    Attributes:
        outcome: ``allowed``, ``explicitDeny`` or ``implicitDeny``.
        deciding: the statement that decided (see :attr:`Decision.deciding`), fully traced.
        determining: the matching Deny statements if any, else the matching Allow statements.
        blocked_by: the layer that denied, or None.
        missing_context_keys: keys the policies asked for that the request did not have.
        scenario_id: the scenario's id, when there was one.
    """

    outcome: Outcome
    deciding: StatementTrace | None
    determining: tuple[StatementTrace, ...]
    blocked_by: Layer | None
    missing_context_keys: tuple[str, ...]
    scenario_id: str | None = None

    @property
    def allowed(self) -> bool:
        """True when the request is allowed."""
        return self.outcome is Outcome.ALLOWED

    def __bool__(self) -> bool:
        return self.allowed

    def __repr__(self) -> str:
        by = f" by {self.deciding.ref}" if self.deciding is not None else \
            f" at the {self.blocked_by.label}" if self.blocked_by is not None else ""
        return f"<Verdict {self.outcome.value}{by}>"


def _verdict(d: Decision, layer: Layer) -> LayerVerdict:
    traces = [t for t in d.trace if t.layer is layer]
    matched = tuple(t for t in traces if t.matched)
    if any(t.effect == "Deny" for t in matched):
        outcome = Outcome.EXPLICIT_DENY
    elif layer is Layer.RCP:  # RCPFullAWSAccess at every level: only a Deny stops here
        outcome = Outcome.ALLOWED
    elif layer is Layer.SCP:  # an Allow at every level of the organization
        levels = {t.level for t in matched if t.effect == "Allow"}
        outcome = Outcome.ALLOWED if len(levels) == d.scp_levels else Outcome.IMPLICIT_DENY
    else:
        outcome = Outcome.ALLOWED if matched else Outcome.IMPLICIT_DENY
    missing: dict[str, str] = {}
    for t in traces:
        missing_keys(t, missing)
    return LayerVerdict(layer, outcome, matched, tuple(missing.values()))


def missing_keys(t: StatementTrace, into: dict[str, str]) -> None:
    """Add the context keys and policy variables ``t`` asked for that the request lacked (a
    multivalued key as a variable has no value, but the request has it)."""
    for c in t.conditions:
        if c.missing:
            into.setdefault(c.key.lower(), c.key)
        for var in c.unresolved:
            if not isinstance(var, Multivalued):
                into.setdefault(var.lower(), var)
    for var in t.unresolved:
        if not isinstance(var, Multivalued):
            into.setdefault(var.lower(), var)


def reason(t: StatementTrace) -> dict[str, Any]:
    """A short, JSON-ready reference to a determining statement (batch output)."""
    st = t.statement
    return {
        "layer": t.layer.value,
        "policy": t.policy,
        "level": t.level,
        "policyName": t.policy_name,
        "origin": t.origin.to_dict() if t.origin else None,
        "statement": st.path,
        "sid": st.sid,
        "effect": st.effect,
        "line": st.line,
        "column": st.column,
    }
