"""The simulator's response: each (action, resource) pair evaluated once, then rendered as
AWS's ``SimulatePolicyResponse`` (``EvaluationResults``, ``MatchedStatements`` with the
positions of the statements, ``MissingContextValues``, the decision details, pages).

Every result is read from the engine's :class:`~iamkit.Decision`; what iamkit reports where
AWS's documentation is silent is listed in :mod:`iamkit.analysis.simulator`.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple, Sequence

from ..engine.decision import Decision, Layer, Outcome
from ..engine.evaluator import evaluate
from ..engine.jsonpos import locate
from ..engine.policy import Policy
from ..engine.scenario import Request, Scenario
from ..errors import format_path
from .simulator_request import NamedPolicy

__all__ = ["policy_text", "prepare_simulation", "respond"]

_SEVERITY = {Outcome.ALLOWED: 0, Outcome.IMPLICIT_DENY: 1, Outcome.EXPLICIT_DENY: 2}

Position = tuple[int, int]


class _Source(NamedTuple):
    """A policy as the response names it, and where each of its statements is."""

    id: str
    type: str | None
    spans: dict[str, tuple[Position, Position]]


_PolicyKey = tuple[Layer, "int | None", int]
"""A policy as the trace records it: layer, organization level, index in its layer."""


@dataclass
class _Simulation:
    """The prepared request: policies, caller, context and where reported statements are."""

    scenario: Scenario
    sources: dict[_PolicyKey, _Source]
    scp_levels: int
    owner: str | None


def policy_text(policy: Policy) -> str:
    """The text a simulator response's ``StartPosition``/``EndPosition`` count in.

    A policy given as JSON text keeps that text. An account's policies are held as
    documents, so their text is ``json.dumps(document, indent=4)``, laid out as the IAM
    console's editor writes; AWS counts in the text it stored, which may differ.

    Args:
        policy: a policy, such as one of ``account.identity_policies("alice")``.

    Returns:
        The text to show beside a response, in which its positions point at statements.
    """
    if policy.source is not None:
        return policy.source
    return json.dumps(policy.document, indent=4, ensure_ascii=False)


def _statement_spans(text: str) -> dict[str, tuple[Position, Position]]:
    """Where AWS says each statement of a policy text starts and ends (see :mod:`iamkit.analysis.simulator`).

    Args:
        text: the policy, already accepted by :func:`json.loads`.

    Returns:
        Statement path (``Statement[1]`` or ``Statement``) → (start, end) as (line, column).
    """
    values = locate(text).values
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def offset(where: Position) -> int:
        return line_starts[where[0] - 1] + where[1] - 1

    def position(at: int) -> Position:
        line = bisect.bisect_right(line_starts, at)
        return line, at - line_starts[line - 1] + 1

    def end_of(start: int) -> int:
        return json.JSONDecoder().raw_decode(text, start)[1]

    top = values.get(("Statement",))
    if top is None:
        return {}
    at = offset(top)
    if text[at] == "{":
        return {"Statement": (position(at + 1), position(end_of(at)))}
    spans: dict[str, tuple[Position, Position]] = {}
    previous, i = at + 1, 0
    while ("Statement", i) in values:
        end = end_of(offset(values[("Statement", i)]))
        spans[format_path(("Statement", i))] = (position(previous), position(end))
        previous, i = end, i + 1
    return spans


# ── evaluating and rendering ────────────────────────────────────────────────────


def prepare_simulation(principal: str, context: Mapping[str, Any], identity: Sequence[NamedPolicy], boundary: NamedPolicy | None,
                resource: NamedPolicy | None, scps: Sequence[Sequence[NamedPolicy]], owner: str | None) -> _Simulation:
    """One prepared policy set for every pair, and where each reported statement is."""
    reported = [(Layer.IDENTITY, i, n) for i, n in enumerate(identity)]
    reported += [(layer, 0, n) for layer, n in ((Layer.BOUNDARY, boundary), (Layer.RESOURCE, resource)) if n]
    sources: dict[_PolicyKey, _Source] = {
        (layer, None, index): _Source(n.id, n.type, _statement_spans(policy_text(n.policy)))
        for layer, index, n in reported
    }
    # Each (action, resource) pair replaces this request: see _decide.
    request = Request(principal, "iam:SimulatePolicy", "*", None, dict(context))
    scenario = Scenario(request=request, identity_policies=tuple(n.policy for n in identity),
                        resource_policy=resource.policy if resource else None,
                        permissions_boundary=boundary.policy if boundary else None,
                        scps=tuple(tuple(n.policy for n in level) for level in scps))
    return _Simulation(scenario, sources, len(scps), owner)


def respond(simulation: _Simulation, actions: Sequence[str], resources: Sequence[str], start: int,
             limit: int) -> dict[str, Any]:
    """The response: one ``EvaluationResult`` per action of the page."""
    per_resource = list(resources) != ["*"]
    end = min(start + limit, len(actions))
    results = []
    for action in actions[start:end]:
        decisions = [_decide(simulation, action, arn) for arn in resources]
        results.append(_action_result(action, resources, decisions, simulation, per_resource))
    response: dict[str, Any] = {"EvaluationResults": results, "IsTruncated": end < len(actions)}
    if end < len(actions):
        response["Marker"] = str(end)
    return response


def _decide(simulation: _Simulation, action: str, resource: str) -> Decision:
    """The engine's Decision for one (action, resource) pair."""
    names_account = resource != "*" and bool(resource.split(":")[4])
    owner = None if names_account else simulation.owner
    request = Request(simulation.scenario.request.principal, action, resource, owner,
                      simulation.scenario.request.context)
    return evaluate(simulation.scenario, request=request)


def _allows(decision: Decision, layer: Layer) -> bool:
    """The layer's own verdict, as the engine recorded it; a layer the request lacks allows."""
    verdict = decision.layer(layer)
    return verdict is None or verdict.allows


def _matched(decision: Decision, sources: Mapping[_PolicyKey, _Source]) -> list[dict[str, Any]]:
    """``MatchedStatements``: the deciding statements of the reported policies (no SCPs)."""
    out = []
    for t in decision.determining:
        source = sources.get((t.layer, t.level, t.policy))
        if source is None:
            continue
        ref: dict[str, Any] = {"SourcePolicyId": source.id}
        if source.type is not None:
            ref["SourcePolicyType"] = source.type
        span = source.spans.get(t.statement.path)
        if span:
            ref["StartPosition"] = {"Line": span[0][0], "Column": span[0][1]}
            ref["EndPosition"] = {"Line": span[1][0], "Column": span[1][1]}
        out.append(ref)
    return out


def _missing(decision: Decision) -> list[str]:
    """``MissingContextValues``: keys policies asked for that the request lacked, without SCPs."""
    keys: dict[str, str] = {}
    for verdict in decision.layers:
        if verdict.layer is not Layer.SCP:
            for key in verdict.missing_context_keys:
                keys.setdefault(key.lower(), key)
    return list(keys.values())


def _details(decision: Decision, simulation: _Simulation) -> dict[str, str]:
    """``EvalDecisionDetails`` of a cross-account pair: each policy type's own decision."""
    return {{Layer.IDENTITY: "IAM Policy", Layer.RESOURCE: "Resource Policy"}[v.layer]: v.outcome.value
            for v in decision.layers if v.layer in (Layer.IDENTITY, Layer.RESOURCE)}


def _resource_result(resource: str, decision: Decision, simulation: _Simulation) -> dict[str, Any]:
    """One ``ResourceSpecificResult``."""
    result: dict[str, Any] = {
        "EvalResourceName": resource,
        "EvalResourceDecision": decision.outcome.value,
        "MatchedStatements": _matched(decision, simulation.sources),
        "MissingContextValues": _missing(decision),
    }
    if not decision.request.same_account and _allows(decision, Layer.SCP):
        result["EvalDecisionDetails"] = _details(decision, simulation)
    if simulation.scenario.permissions_boundary is not None:
        result["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": _allows(decision, Layer.BOUNDARY)}
    return result


def _unique(items: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _action_result(action: str, resources: Sequence[str], decisions: Sequence[Decision],
                   simulation: _Simulation, per_resource: bool) -> dict[str, Any]:
    """One ``EvaluationResult``: every resource of one action, aggregated."""
    outcome = max((d.outcome for d in decisions), key=_SEVERITY.__getitem__)
    deciding = [d for d in decisions if d.outcome is outcome]
    result: dict[str, Any] = {
        "EvalActionName": action,
        "EvalResourceName": resources[0] if len(resources) == 1 else "*",
        "EvalDecision": outcome.value,
        "MatchedStatements": _unique([s for d in deciding for s in _matched(d, simulation.sources)]),
        "MissingContextValues": _unique([k for d in decisions for k in _missing(d)]),
    }
    organizations = all(_allows(d, Layer.SCP) for d in decisions)
    if simulation.scp_levels:
        result["OrganizationsDecisionDetail"] = {"AllowedByOrganizations": organizations}
    if simulation.scenario.permissions_boundary is not None:
        allowed = all(_allows(d, Layer.BOUNDARY) for d in decisions)
        result["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": allowed}
    cross = [d for d in decisions if not d.request.same_account]
    if organizations and (per_resource or cross):
        # Most restrictive decision per policy type; empty within one account.
        details: dict[str, str] = {}
        for d in cross:
            for kind, value in _details(d, simulation).items():
                if kind not in details or _SEVERITY[Outcome(value)] > _SEVERITY[Outcome(details[kind])]:
                    details[kind] = value
        result["EvalDecisionDetails"] = details
    if per_resource:
        pairs = zip(resources, decisions, strict=True)
        result["ResourceSpecificResults"] = [_resource_result(r, d, simulation) for r, d in pairs]
    return result
