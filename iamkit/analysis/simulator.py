"""The AWS-shaped view: :func:`simulate_custom_policy` and :func:`simulate_principal_policy`,
stand-ins for boto3's ``iam.simulate_custom_policy`` and ``iam.simulate_principal_policy``
that run on iamkit's engine.

They take the same keyword arguments and return the same response shape, so a learner
can swap them for ``boto3.client("iam")``'s methods. Every (action, resource) pair is one
engine :class:`~iamkit.Decision`; both responses are rendered from those Decisions by the
same functions, and nothing is evaluated twice.

What AWS documents, and what iamkit does where the documentation is silent:

- One ``EvaluationResult`` per action; its top-level fields aggregate every resource,
  the most restrictive decision winning; ``ResourceSpecificResults`` holds one entry per
  requested ARN (omitted when ``ResourceArns`` is absent or ``["*"]``).
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html
- ``EvalResourceName``: AWS now reports the ARN *template* of the resource type; iamkit
  has no service reference, so it reports the one requested resource, or ``*`` for several.
- ``MatchedStatements``: the deciding statements (denies if any, else allows) of identity
  policies, the resource policy and the permissions boundary; never SCP statements, as
  the API reference says. ``SourcePolicyId`` / ``SourcePolicyType`` name the policy:

  ======================================  ==========================  =====================
  policy                                  ``SourcePolicyId``          ``SourcePolicyType``
  ======================================  ==========================  =====================
  ``PolicyInputList`` item N              ``PolicyInputList.N``       ``IAM Policy``
  ``ResourcePolicy``                      ``ResourcePolicy``          ``Resource Policy``
  ``PermissionsBoundaryPolicyInputList``  ``…PolicyInputList.1``      (none observed)
  inline policy of a user, group, role    the policy's name           ``user``/``group``/``role``
  AWS / customer managed policy           the policy's name           ``aws-managed``/``user-managed``
  the entity's permissions boundary       the policy's name           as a managed policy
  ======================================  ==========================  =====================

  ``IAM Policy``/``Resource Policy`` are what the service returns, although botocore's
  ``PolicySourceType`` enum does not list them; the enum has no boundary type, and a
  boundary is a managed policy, so it is typed as one.
- Positions follow the service: 1-based lines and columns pointing just *after* a token.
  A statement starts just after the ``[`` (first statement), just after the previous
  statement's ``}`` (later ones) or just after its own ``{`` (a lone statement object), and
  ends just after its ``}`` — as in the AWS CLI example, where ``{`` at column 37 and ``}``
  at column 166 are reported as 38 and 167. They count in :func:`policy_text`: the JSON
  text a policy was given as, or, for an account's policies (held as documents), the
  document as ``json.dumps(document, indent=4)``: four spaces as the IAM console's editor
  writes, which reproduces the CLI's ``simulate-principal-policy`` example (3:19 to 9:10).
  AWS counts in the text it stored, so a policy stored with other whitespace (an AWS
  managed policy, say) gets other numbers from AWS.
- Without ``CallerArn``, ``simulate_custom_policy``'s caller is ``user/simulated-caller`` in
  the resource owner's account (``ResourceOwner``, else the first account named in
  ``ResourceArns``, else ``123456789012``), so a simulation without a caller tests the
  policies within one account.

:func:`simulate_principal_policy` reads the entity's policies from an
:class:`~iamkit.account.Account`: ``account=``, else the running sandbox's, read through
its IAM client at each call (the learner changes it as they go):

- A user's inline and attached policies and its groups'; a role's own; a group's own,
  evaluated for a member with no policies of its own (``user/simulated-caller`` in the
  group's account); then the ``PolicyInputList`` policies. The boundary is the entity's,
  replaced by ``PermissionsBoundaryPolicyInputList`` when that holds a policy (an empty
  list keeps the entity's, as observed in cloud-custodian/cloud-custodian#7012).
- The caller is ``CallerArn``, else the user or role itself ("as Bob, as if Bob had David's
  policies"). The context holds what the account knows of the caller when the caller is
  one of its users or roles (:meth:`~iamkit.account.Account.context`: ARN, id, tags),
  then ``ContextEntries``, which win (keys compare case-insensitively). AWS's simulator
  may leave principal tags to ``ContextEntries`` (boto/boto3#2084): give them to be sure.
- ``ResourcePolicy`` needs ``CallerArn`` unless ``PolicySourceArn`` is a user.
- An account export has no organization: no SCPs, no ``OrganizationsDecisionDetail``.
- ``PolicyExclusionList`` removes the entity's own policies, never the ``…InputList`` ones;
  ``PolicyArn`` matches managed permissions policies (exclude the boundary with
  ``PolicyType`` ``permission-boundary``); ``scp`` and ``rcp`` find nothing to remove.
- ``NoSuchEntity`` when ``PolicySourceArn`` names no user, group or role of the account.
"""

from __future__ import annotations

import bisect
import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, NamedTuple, Sequence

from ..account.model import Account, Group, Role, User
from ..engine.conditions import OPERATORS
from ..engine.decision import Decision, Layer, Outcome
from ..engine.evaluator import evaluate
from ..engine.jsonpos import locate
from ..engine.policy import Origin, Policy, PolicyKind, build_policy
from ..engine.principals import ACCOUNT_ID, CallerKind, parse_caller
from ..engine.scenario import CONCRETE_ACTION, RESOURCE_ARN, Request, Scenario
from ..errors import Problem, SimulationError, format_path, suggest

__all__ = ["SimulationError", "policy_text", "simulate_custom_policy", "simulate_principal_policy"]

DEFAULT_ACCOUNT = "123456789012"
"""The account of the default caller when nothing names one (AWS's example account)."""

DEFAULT_CALLER = "user/simulated-caller"
"""The caller used when ``CallerArn`` is not given, in the resource owner's account; also
the member a group is simulated for."""

DEFAULT_MAX_ITEMS = 100
"""``MaxItems`` when not given, as the API reference documents."""

MAX_ORGANIZATION_LEVELS = 7
"""Levels ``OrderedOrganizationPolicyInputList`` may hold (botocore's model: ``max`` 7)."""

POLICY_TYPES = ("inline", "aws-managed", "user-managed", "permission-boundary", "scp", "rcp")
"""``PolicyExclusionList``'s ``PolicyType`` values (botocore's ``PolicyIdentifierPolicyType``)."""

_OWNER = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):root$")
_ENTITY = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):(user|group|role)/(?:.*/)?([^/]+)$")
_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?:aws|\d{12}):policy/(.+)$")
_NAME = re.compile(r"^[\w+=,.@-]+$")
_NAME_PATTERN = re.compile(r"^[\w+=,.@*?-]+$")
_IDENTIFIERS = ("PolicyType", "PolicyArn", "InlinePolicyIdentifier")
_INLINE_FIELDS = ("PolicyName", "AttachmentType", "AttachmentName")
_SEVERITY = {Outcome.ALLOWED: 0, Outcome.IMPLICIT_DENY: 1, Outcome.EXPLICIT_DENY: 2}
_CONTEXT_FIELDS = ("ContextKeyName", "ContextKeyValues", "ContextKeyType")
_CONTEXT_PARSERS: dict[str, Callable[[str], Any] | None] = {
    "string": None,
    "numeric": OPERATORS["NumericEquals"].prepare,
    "boolean": OPERATORS["Bool"].prepare,
    "ip": OPERATORS["IpAddress"].prepare,
    "binary": OPERATORS["BinaryEquals"].prepare,
    "date": OPERATORS["DateEquals"].prepare,
}
_CONTEXT_TYPES = tuple(t for base in _CONTEXT_PARSERS for t in (base, base + "List"))

Position = tuple[int, int]
Entity = User | Group | Role


@dataclass
class _Problems:
    """Every problem of a request: parameters, the entity, policy documents."""

    invalid: list[Problem] = field(default_factory=list)
    missing: list[Problem] = field(default_factory=list)
    malformed: list[Problem] = field(default_factory=list)

    def add(self, path: Sequence[str | int], message: str, hint: str | None = None) -> None:
        self.invalid.append(Problem(format_path(path), message, hint))

    def raise_any(self) -> None:
        problems = self.invalid + self.missing + self.malformed
        if problems:
            code = "InvalidInput" if self.invalid else "NoSuchEntity" if self.missing else "MalformedPolicyDocument"
            raise SimulationError(code, problems)


class _Named(NamedTuple):
    """A policy of the simulation and how ``MatchedStatements`` names it."""

    policy: Policy
    id: str
    type: str | None


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


def simulate_custom_policy(
    *,
    PolicyInputList: Sequence[str],
    ActionNames: Sequence[str],
    PermissionsBoundaryPolicyInputList: Sequence[str] | None = None,
    OrderedOrganizationPolicyInputList: Sequence[Mapping[str, Sequence[str]]] | None = None,
    ResourceArns: Sequence[str] | None = None,
    ResourcePolicy: str | None = None,
    ResourceOwner: str | None = None,
    CallerArn: str | None = None,
    ContextEntries: Sequence[Mapping[str, Any]] | None = None,
    ResourceHandlingOption: str | None = None,
    MaxItems: int | None = None,
    Marker: str | None = None,
) -> dict[str, Any]:
    """Simulate policies given as JSON text, the way ``iam.simulate_custom_policy`` does.

    Parameter names are AWS's own, so ``simulate_custom_policy(**params)`` and
    ``boto3.client("iam").simulate_custom_policy(**params)`` take the same ``params``.

    Args:
        PolicyInputList: identity-based policies, each as JSON text.
        ActionNames: concrete actions such as ``s3:GetObject`` (no wildcards).
        PermissionsBoundaryPolicyInputList: at most one permissions boundary, as JSON text.
        OrderedOrganizationPolicyInputList: SCP levels, root first, account last, each
            ``{"ServiceControlPolicyInputList": [json, ...]}``; every level must allow.
        ResourceArns: resources to simulate; ``["*"]`` when absent.
        ResourcePolicy: a resource-based policy attached to every simulated resource.
        ResourceOwner: ``arn:aws:iam::ACCOUNT:root`` (or the bare account id) owning the
            resources whose ARN names no account, such as S3 buckets.
        CallerArn: the calling IAM user or role; required with ``ResourcePolicy``.
        ContextEntries: ``{"ContextKeyName", "ContextKeyValues", "ContextKeyType"}`` items.
        ResourceHandlingOption: accepted and ignored (EC2 scenarios are not modelled).
        MaxItems: results per page, 1–1000, default 100.
        Marker: the ``Marker`` of the previous page.

    Returns:
        ``{"EvaluationResults": [...], "IsTruncated": bool}`` plus ``"Marker"`` when
        truncated: one result per action, shaped as botocore's ``SimulatePolicyResponse``.

    Raises:
        SimulationError: ``InvalidInput`` for a wrong parameter, ``MalformedPolicyDocument``
            for a policy AWS would reject; every problem is listed with its location.
    """
    out = _Problems()
    actions, resources, start, limit = _read_request(ActionNames, ResourceArns, MaxItems, Marker, out)
    del ResourceHandlingOption  # accepted for compatibility; EC2 scenarios are not modelled
    if PolicyInputList is None:
        out.add(("PolicyInputList",), "`PolicyInputList` is required", "pass a list of identity policies as JSON text")
    identity = _identity_inputs(PolicyInputList, out)
    boundary = _boundary_input(PermissionsBoundaryPolicyInputList, out)
    resource = _resource_input(ResourcePolicy, out)
    if ResourcePolicy is not None and CallerArn is None:
        out.add(("CallerArn",), "`CallerArn` is required when `ResourcePolicy` is given",
                "the resource policy's `Principal` needs a caller to compare with: pass an IAM user or role ARN")
    scps = _organization(OrderedOrganizationPolicyInputList, out)
    owner = _owner(ResourceOwner, out)
    principal = _caller(CallerArn, out) if CallerArn is not None else _default_caller(owner, resources)
    context = _context(ContextEntries, out)
    out.raise_any()
    assert principal is not None
    simulation = _simulation(principal, context, identity, boundary, resource, scps, owner)
    return _respond(simulation, actions, resources, start, limit)


def simulate_principal_policy(
    *,
    PolicySourceArn: str,
    ActionNames: Sequence[str],
    PolicyInputList: Sequence[str] | None = None,
    PermissionsBoundaryPolicyInputList: Sequence[str] | None = None,
    PolicyExclusionList: Sequence[Mapping[str, Any]] | None = None,
    ResourceArns: Sequence[str] | None = None,
    ResourcePolicy: str | None = None,
    ResourceOwner: str | None = None,
    CallerArn: str | None = None,
    ContextEntries: Sequence[Mapping[str, Any]] | None = None,
    ResourceHandlingOption: str | None = None,
    MaxItems: int | None = None,
    Marker: str | None = None,
    account: Account | None = None,
) -> dict[str, Any]:
    """Simulate the policies of a user, group or role, the way ``iam.simulate_principal_policy``
    does, on an account iamkit has loaded.

    Parameter names are AWS's own, so ``simulate_principal_policy(**params, account=acct)``
    and ``boto3.client("iam").simulate_principal_policy(**params)`` take the same ``params``.
    The module docstring says what iamkit decides where AWS's documentation is silent.

    Args:
        PolicySourceArn: the user, group or role whose policies are simulated; a user's
            groups' policies are included.
        ActionNames: concrete actions such as ``s3:GetObject`` (no wildcards).
        PolicyInputList: more identity-based policies, as JSON text, added to the entity's.
        PermissionsBoundaryPolicyInputList: at most one boundary, as JSON text; it replaces
            the entity's own for this simulation.
        PolicyExclusionList: the entity's policies to leave out, each one of
            ``{"PolicyType": ...}``, ``{"PolicyArn": ...}`` (``*`` and ``?`` allowed in the
            name) or ``{"InlinePolicyIdentifier": {"PolicyName", "AttachmentType",
            "AttachmentName"}}``.
        ResourceArns: resources to simulate; ``["*"]`` when absent.
        ResourcePolicy: a resource-based policy attached to every simulated resource.
        ResourceOwner: ``arn:aws:iam::ACCOUNT:root`` (or the bare account id) owning the
            resources whose ARN names no account; by default the caller's account.
        CallerArn: the calling IAM user or role, if not the entity itself; required with
            ``ResourcePolicy`` unless ``PolicySourceArn`` is a user.
        ContextEntries: ``{"ContextKeyName", "ContextKeyValues", "ContextKeyType"}`` items;
            they override the keys iamkit derives from the caller.
        ResourceHandlingOption: accepted and ignored (EC2 scenarios are not modelled).
        MaxItems: results per page, 1–1000, default 100.
        Marker: the ``Marker`` of the previous page.
        account: not a boto3 parameter — the :class:`~iamkit.account.Account` holding the
            entity, such as ``load_account("export.json")``; by default the running
            sandbox's account, read at the call.

    Returns:
        ``{"EvaluationResults": [...], "IsTruncated": bool}`` plus ``"Marker"`` when
        truncated: one result per action, shaped as botocore's ``SimulatePolicyResponse``.

    Raises:
        SimulationError: ``InvalidInput`` for a wrong parameter (or no account to read),
            ``NoSuchEntity`` when the account has no such entity (with the closest name),
            ``MalformedPolicyDocument`` for a policy AWS would reject; every problem is
            listed with its location.
    """
    out = _Problems()
    actions, resources, start, limit = _read_request(ActionNames, ResourceArns, MaxItems, Marker, out)
    del ResourceHandlingOption  # accepted for compatibility; EC2 scenarios are not modelled
    if account is None:
        account = _sandbox_account(out)
    entity = _entity(account, PolicySourceArn, out) if account is not None else None
    excluded = _exclusions(PolicyExclusionList, out)
    added = _identity_inputs(PolicyInputList, out)
    boundary = _boundary_input(PermissionsBoundaryPolicyInputList, out)
    resource = _resource_input(ResourcePolicy, out)
    if ResourcePolicy is not None and CallerArn is None and entity is not None and not isinstance(entity, User):
        out.add(("CallerArn",), f"`CallerArn` is required when `ResourcePolicy` is given and `PolicySourceArn` "
                f"is a {entity.kind}", "the resource policy's `Principal` needs a caller to compare with: pass an "
                "IAM user ARN")
    owner = _owner(ResourceOwner, out)
    caller = _caller(CallerArn, out) if CallerArn is not None else None
    entries = _context(ContextEntries, out)
    out.raise_any()
    assert account is not None and entity is not None
    holder = _member(entity) if isinstance(entity, Group) else entity
    own = [_from_account(p) for p in account.identity_policies(holder) if not excluded(p)]
    if boundary is None:
        attached = account.permissions_boundary(holder)
        boundary = _from_account(attached) if attached is not None and not excluded(attached) else None
    principal = caller or holder.arn
    simulation = _simulation(principal, _principal_context(account, principal, entries), own + added, boundary,
                             resource, (), owner)
    return _respond(simulation, actions, resources, start, limit)


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


# ── reading the request ─────────────────────────────────────────────────────────


def _read_request(action_names: Any, resource_arns: Any, max_items: Any, marker: Any,
                  out: _Problems) -> tuple[list[str], list[str], int, int]:
    """The actions, the resources (``["*"]`` when absent) and the page asked for."""
    actions = _strings(action_names, "ActionNames", out)
    for i, action in enumerate(actions):
        if not CONCRETE_ACTION.match(action):
            out.add(("ActionNames", i), f"`{action}` is not a concrete action",
                    "the simulator takes no wildcards: name each action, such as `s3:GetObject`")
    resources = _strings(resource_arns, "ResourceArns", out) if resource_arns is not None else ["*"]
    for i, arn in enumerate(resources):
        if arn != "*" and not RESOURCE_ARN.match(arn):
            out.add(("ResourceArns", i), f"`{arn}` is not an ARN or `*`",
                    "an ARN has six parts: `arn:partition:service:region:account-id:resource`")
    start, limit = _page(marker, max_items, len(actions), out)
    return actions, resources, start, limit


def _strings(value: Any, name: str, out: _Problems) -> list[str]:
    """A list-of-strings parameter; problems for anything else."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        out.add((name,), f"`{name}` must be a list of strings", f'wrap a single value in a list: `{name}=["..."]`')
        return []
    good = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            good.append(item)
        else:
            out.add((name, i), f"must be a string, not {type(item).__name__}",
                    "pass policies as JSON text: `json.dumps(policy)`" if "Policy" in name else None)
    return good


def _page(marker: str | None, max_items: int | None, total: int, out: _Problems) -> tuple[int, int]:
    """The first index and the page size that ``Marker`` and ``MaxItems`` ask for."""
    limit = DEFAULT_MAX_ITEMS if max_items is None else max_items
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        out.add(("MaxItems",), f"`MaxItems` must be a whole number from 1 to 1000, not `{max_items}`")
        limit = DEFAULT_MAX_ITEMS
    if marker is None:
        return 0, limit
    if not (isinstance(marker, str) and marker.isdigit() and 0 < int(marker) < total):
        out.add(("Marker",), f"`{marker}` is not a marker this simulator returned for these actions",
                "pass the `Marker` of the previous response, with the same `ActionNames`")
        return 0, limit
    return int(marker), limit


def _sequence(value: Any, name: str, out: _Problems) -> list[Any]:
    """A list parameter that may be absent."""
    if value is None:
        return []
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        out.add((name,), f"`{name}` must be a list", f'wrap a single policy in a list: `{name}=[policy_json]`')
        return []
    return list(value)


def _parse(text: Any, kind: PolicyKind, path: tuple[str | int, ...], source_id: str, source_type: str | None,
           out: _Problems) -> _Named | None:
    """One policy given as JSON text, named as the response will name it."""
    if not isinstance(text, str):
        out.add(path, f"must be a policy document as JSON text, not {type(text).__name__}", "pass `json.dumps(policy)`")
        return None
    policy, problems = build_policy(text, kind, source_id, path)
    out.malformed.extend(problems)
    return None if policy is None else _Named(policy, source_id, source_type)


def _identity_inputs(texts: Any, out: _Problems) -> list[_Named]:
    """``PolicyInputList``: identity policies as JSON text."""
    parsed = [_parse(text, PolicyKind.IDENTITY, ("PolicyInputList", i), f"PolicyInputList.{i + 1}", "IAM Policy", out)
              for i, text in enumerate(_sequence(texts, "PolicyInputList", out))]
    return [p for p in parsed if p]


def _boundary_input(texts: Any, out: _Problems) -> _Named | None:
    """``PermissionsBoundaryPolicyInputList``: at most one boundary as JSON text."""
    name = "PermissionsBoundaryPolicyInputList"
    boundaries = _sequence(texts, name, out)
    if len(boundaries) > 1:
        out.add((name,), f"{len(boundaries)} permissions boundaries given; AWS simulates only one",
                "an IAM entity has at most one permissions boundary: pass a list of one policy")
    return _parse(boundaries[0], PolicyKind.BOUNDARY, (name, 0), f"{name}.1", None, out) if boundaries else None


def _resource_input(text: Any, out: _Problems) -> _Named | None:
    """``ResourcePolicy``: the policy attached to every simulated resource."""
    if text is None:
        return None
    return _parse(text, PolicyKind.RESOURCE, ("ResourcePolicy",), "ResourcePolicy", "Resource Policy", out)


def _organization(levels: Any, out: _Problems) -> list[list[_Named]]:
    """SCP levels from ``OrderedOrganizationPolicyInputList``, root first."""
    name = "OrderedOrganizationPolicyInputList"
    levels = _sequence(levels, name, out)
    if len(levels) > MAX_ORGANIZATION_LEVELS:
        out.add((name,), f"{len(levels)} levels given; an organization has at most {MAX_ORGANIZATION_LEVELS}",
                "the root, up to five levels of OUs, and the account")
    parsed = []
    for i, level in enumerate(levels):
        texts = level.get("ServiceControlPolicyInputList") if isinstance(level, Mapping) else None
        if not texts or isinstance(texts, str) or not isinstance(texts, Sequence):
            out.add((name, i), "each level needs a non-empty `ServiceControlPolicyInputList`",
                    'write `{"ServiceControlPolicyInputList": [scp_json]}`; AWS attaches FullAWSAccess by default')
            continue
        path = (name, i, "ServiceControlPolicyInputList")
        policies = [_parse(text, PolicyKind.SCP, path + (j,), f"{name}.{i + 1}.ServiceControlPolicyInputList.{j + 1}",
                           None, out) for j, text in enumerate(texts)]
        parsed.append([p for p in policies if p])
    return parsed


def _owner(owner_arn: Any, out: _Problems) -> str | None:
    """The account id in ``ResourceOwner``."""
    if owner_arn is None:
        return None
    if isinstance(owner_arn, str):
        m = _OWNER.match(owner_arn)
        if m:
            return m.group(1)
        if ACCOUNT_ID.match(owner_arn):
            return owner_arn
    out.add(("ResourceOwner",), f"`{owner_arn}` is not an account",
            "write the account as `arn:aws:iam::111122223333:root`")
    return None


def _default_caller(owner: str | None, resources: Sequence[str]) -> str:
    """``simulate_custom_policy``'s caller without ``CallerArn``: in the owner's account."""
    named = (arn.split(":")[4] for arn in resources if RESOURCE_ARN.match(arn))
    account = owner or next((a for a in named if ACCOUNT_ID.match(a)), DEFAULT_ACCOUNT)
    return f"arn:aws:iam::{account}:{DEFAULT_CALLER}"


def _caller(caller_arn: Any, out: _Problems) -> str | None:
    """``CallerArn``, when it is an IAM user or role."""
    caller = parse_caller(caller_arn) if isinstance(caller_arn, str) else None
    if caller is None or caller.kind not in (CallerKind.USER, CallerKind.ROLE):
        out.add(("CallerArn",), f"`{caller_arn}` is not an IAM user or role ARN",
                "the simulator's caller is an IAM user or role, such as `arn:aws:iam::111122223333:user/alice`; "
                "assumed-role sessions, federated users and services cannot be simulated callers")
        return None
    return caller_arn


def _context(entries: Any, out: _Problems) -> dict[str, str | list[str]]:
    """``ContextEntries`` as the engine's context: key → string, or list for ``…List`` types."""
    context: dict[str, str | list[str]] = {}
    seen: dict[str, str] = {}
    for i, entry in enumerate(_sequence(entries, "ContextEntries", out)):
        path: tuple[str | int, ...] = ("ContextEntries", i)
        if not isinstance(entry, Mapping):
            out.add(path, "a context entry must be an object with `ContextKeyName`, `ContextKeyValues` "
                    "and `ContextKeyType`")
            continue
        for key in entry:
            if key not in _CONTEXT_FIELDS:
                out.add(path + (key,), f"unknown field `{key}`", suggest(str(key), _CONTEXT_FIELDS))
        name, values = entry.get("ContextKeyName"), entry.get("ContextKeyValues", [])
        kind = entry.get("ContextKeyType") or ("string" if isinstance(values, list) and len(values) == 1 else "stringList")
        if not isinstance(name, str) or ":" not in name:
            out.add(path + ("ContextKeyName",), f"`{name}` is not a context key name",
                    "keys carry their service prefix, such as `aws:SourceIp` or `s3:prefix`")
            continue
        if name.lower() in seen:
            out.add(path + ("ContextKeyName",), f"context key `{name}` repeats `{seen[name.lower()]}`",
                    "context key names are case-insensitive: give each key once")
            continue
        seen[name.lower()] = name
        if kind not in _CONTEXT_TYPES:
            out.add(path + ("ContextKeyType",), f"unknown context key type `{kind}`",
                    suggest(str(kind), _CONTEXT_TYPES) or "use one of " + ", ".join(f"`{t}`" for t in _CONTEXT_TYPES))
            continue
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            out.add(path + ("ContextKeyValues",), "`ContextKeyValues` must be a list of strings",
                    'write numbers and booleans as text too: `["42"]`, `["true"]`')
            continue
        single = not kind.endswith("List")
        if single and len(values) != 1:
            out.add(path + ("ContextKeyValues",), f"a `{kind}` key takes exactly one value, not {len(values)}",
                    f"use `{kind}List` for a key with several values")
            continue
        parser = _CONTEXT_PARSERS[kind.removesuffix("List")]
        for j, value in enumerate(values):
            try:
                if parser is not None:
                    parser(value)
            except ValueError:
                out.add(path + ("ContextKeyValues", j), f"`{value}` is not a valid `{kind}` value")
        context[name] = values[0] if single else list(values)
    return context


def _statement_spans(text: str) -> dict[str, tuple[Position, Position]]:
    """Where AWS says each statement of a policy text starts and ends (see the module doc).

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


# ── the entity and its policies (simulate_principal_policy) ─────────────────────


def _sandbox_account(out: _Problems) -> Account | None:
    """The running sandbox's account, read now: the learner changes it as they go."""
    from ..sandbox.server import current_sandbox  # on first use: moto loads only with a sandbox

    sandbox = current_sandbox()
    if sandbox is None:
        out.add(("account",), "no account to simulate: `account=` was not given and no sandbox is running",
                'pass the account, such as `account=load_account("export.json")`, or start the sandbox first '
                "with `start_sandbox()`")
        return None
    return Account.from_client(sandbox.client("iam"), sandbox.account_id)


def _entity(account: Account, arn: Any, out: _Problems) -> Entity | None:
    """The user, group or role ``PolicySourceArn`` names (by name: a path is not needed)."""
    m = _ENTITY.match(arn) if isinstance(arn, str) else None
    if m is None:
        out.add(("PolicySourceArn",), f"`{arn}` is not the ARN of an IAM user, group or role",
                "write it as `arn:aws:iam::111122223333:user/alice`, or with `group/` or `role/`")
        return None
    _, account_id, kind, name = m.groups()
    tables: dict[str, Mapping[str, Entity]] = {"user": account.users, "group": account.groups, "role": account.roles}
    table = tables[kind]
    if account_id != account.account_id:
        message = f"`{arn}` is in account {account_id}, not in the simulated account {account.account_id}"
        hint = f"name a {kind} of account {account.account_id}, or load the account that holds this one"
    elif name in table:
        return table[name]
    else:
        message = f"the {kind} with name `{name}` cannot be found in account {account.account_id}"
        by_lower = {n.lower(): e for n, e in table.items()}
        close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
        hint = (f"did you mean `{by_lower[close[0]].arn}`?" if close
                else f"its {kind}s are " + ", ".join(f"`{n}`" for n in sorted(table)) if table
                else f"the account has no {kind}s")
    out.missing.append(Problem("PolicySourceArn", message, hint))
    return None


def _member(group: Group) -> User:
    """A user in ``group`` with no policies of its own: whom a group's policies are simulated for."""
    partition, account_id = group.arn.split(":")[1], group.arn.split(":")[4]
    return User(DEFAULT_CALLER.partition("/")[2], f"arn:{partition}:iam::{account_id}:{DEFAULT_CALLER}", "", "/",
                {}, (), None, groups=(group.name,))


def _managed_type(origin: Origin) -> str:
    return "aws-managed" if origin.arn is not None and ":iam::aws:policy/" in origin.arn else "user-managed"


def _from_account(policy: Policy) -> _Named:
    """An account's policy as the response names it: its name, and its type from its origin."""
    origin = policy.origin
    assert origin is not None, "the account gives every policy an origin"
    kind = origin.attached_to.partition("/")[0] if origin.kind == "inline" else _managed_type(origin)
    return _Named(policy, origin.policy, kind)


def _principal_context(account: Account, principal: str, entries: Mapping[str, Any]) -> dict[str, Any]:
    """What the account knows of the caller, then ``ContextEntries``, which win."""
    known = next((p for p in account.principals() if p.arn == principal), None)
    given = {key.lower() for key in entries}
    derived = account.context(known) if known is not None else {}
    context: dict[str, Any] = {k: v for k, v in derived.items() if k.lower() not in given}
    context.update(entries)
    return context


def _exclusions(identifiers: Any, out: _Problems) -> Callable[[Policy], bool]:
    """``PolicyExclusionList`` as a test of an account's policy."""
    name = "PolicyExclusionList"
    tests: list[Callable[[Origin], bool]] = []
    for i, identifier in enumerate(_sequence(identifiers, name, out)):
        keys = list(identifier) if isinstance(identifier, Mapping) else []
        if len(keys) != 1 or keys[0] not in _IDENTIFIERS:
            out.add((name, i), "a policy identifier holds exactly one of " + ", ".join(f"`{k}`" for k in _IDENTIFIERS),
                    (suggest(str(keys[0]), _IDENTIFIERS) if len(keys) == 1 else None)
                    or 'such as `{"PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}`')
            continue
        key = keys[0]
        read = {"PolicyType": _excluded_type, "PolicyArn": _excluded_arn, "InlinePolicyIdentifier": _excluded_inline}
        test = read[key](identifier[key], (name, i, key), out)
        if test is not None:
            tests.append(test)
    return lambda policy: policy.origin is not None and any(test(policy.origin) for test in tests)


def _excluded_type(value: Any, path: tuple[str | int, ...], out: _Problems) -> Callable[[Origin], bool] | None:
    if value not in POLICY_TYPES:
        out.add(path, f"unknown policy type `{value}`",
                suggest(str(value), POLICY_TYPES) or "use one of " + ", ".join(f"`{t}`" for t in POLICY_TYPES))
        return None
    kinds = {"inline": "inline", "boundary": "permission-boundary"}
    return lambda origin: kinds.get(origin.kind, _managed_type(origin)) == value


def _excluded_arn(value: Any, path: tuple[str | int, ...], out: _Problems) -> Callable[[Origin], bool] | None:
    m = _POLICY_ARN.match(value) if isinstance(value, str) else None
    if m is None or m.group(1).count("*") > 1:
        out.add(path, f"`{value}` is not a managed policy ARN",
                "such as `arn:aws:iam::aws:policy/ReadOnlyAccess`; wildcards go in the name only: "
                "at most one `*`, any number of `?`")
        return None
    pattern = _wildcards(value)
    return lambda origin: origin.kind == "managed" and pattern.fullmatch(origin.arn or "") is not None


def _excluded_inline(value: Any, path: tuple[str | int, ...], out: _Problems) -> Callable[[Origin], bool] | None:
    if not isinstance(value, Mapping):
        out.add(path, "must be an object with " + ", ".join(f"`{k}`" for k in _INLINE_FIELDS))
        return None
    before = len(out.invalid)
    for key in value:
        if key not in _INLINE_FIELDS:
            out.add(path + (key,), f"unknown field `{key}`", suggest(str(key), _INLINE_FIELDS))
    name, kind, holder = (value.get(k) for k in _INLINE_FIELDS)
    if not isinstance(name, str) or not _NAME.match(name):
        out.add(path + ("PolicyName",), f"`{name}` is not an inline policy name",
                "letters, digits and `+=,.@_-`, without wildcards")
    if kind not in ("user", "group", "role"):
        out.add(path + ("AttachmentType",), f"`{kind}` is not `user`, `group` or `role`")
    if not isinstance(holder, str) or not _NAME_PATTERN.match(holder) or holder.count("*") > 1:
        out.add(path + ("AttachmentName",), f"`{holder}` is not a user, group or role name",
                "at most one `*` (any characters) and any number of `?` (one character)")
    if len(out.invalid) > before or not isinstance(name, str) or not isinstance(holder, str):
        return None
    entity = _wildcards(holder, re.IGNORECASE)
    return lambda origin: (origin.kind == "inline" and origin.policy.lower() == name.lower()
                           and origin.attached_to.partition("/")[0] == kind
                           and entity.fullmatch(origin.attached_to.partition("/")[2]) is not None)


def _wildcards(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """IAM's ``*`` (any characters) and ``?`` (one character) as a regular expression."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), flags)


# ── evaluating and rendering ────────────────────────────────────────────────────


def _simulation(principal: str, context: Mapping[str, Any], identity: Sequence[_Named], boundary: _Named | None,
                resource: _Named | None, scps: Sequence[Sequence[_Named]], owner: str | None) -> _Simulation:
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


def _respond(simulation: _Simulation, actions: Sequence[str], resources: Sequence[str], start: int,
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
