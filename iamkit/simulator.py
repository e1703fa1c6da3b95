"""The AWS-shaped view: :func:`simulate_custom_policy`, a stand-in for boto3's
``iam.simulate_custom_policy`` that runs on iamkit's engine.

It takes the same keyword arguments and returns the same response shape, so a learner
can swap it for ``boto3.client("iam").simulate_custom_policy``. Every (action, resource)
pair is one engine :class:`~iamkit.Decision`; the response is rendered from those
Decisions and nothing is evaluated twice.

What AWS documents, and what iamkit does where the documentation is silent:

- One ``EvaluationResult`` per action; its top-level fields aggregate every resource,
  the most restrictive decision winning; ``ResourceSpecificResults`` holds one entry per
  requested ARN (omitted when ``ResourceArns`` is absent or ``["*"]``).
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html
- ``EvalResourceName``: AWS now reports the ARN *template* of the resource type; iamkit
  has no service reference, so it reports the one requested resource, or ``*`` for several.
- ``MatchedStatements``: the deciding statements (denies if any, else allows) of identity
  policies (``PolicyInputList.N``, type ``IAM Policy``), the resource policy
  (``ResourcePolicy``, type ``Resource Policy``) and the boundary
  (``PermissionsBoundaryPolicyInputList.1``, no type: none has been observed); never SCP
  statements, as the API reference says. ``IAM Policy``/``Resource Policy`` are what the
  service returns, although botocore's ``PolicySourceType`` enum does not list them.
- Positions follow the service: 1-based lines and columns pointing just *after* a token.
  A statement starts just after the ``[`` (first statement), just after the previous
  statement's ``}`` (later ones) or just after its own ``{`` (a lone statement object), and
  ends just after its ``}`` — as in the AWS CLI example, where ``{`` at column 37 and ``}``
  at column 166 are reported as 38 and 167.
- Without ``CallerArn`` the caller is ``user/simulated-caller`` in the resource owner's
  account (``ResourceOwner``, else the first account named in ``ResourceArns``, else
  ``123456789012``), so a simulation without a caller tests the policies within one account.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, NamedTuple, Sequence

from .conditions import OPERATORS
from .decision import Decision, Layer, Outcome
from .errors import IamkitError, Problem, format_path, suggest
from .evaluate import evaluate
from .jsonpos import locate
from .policy import Policy, PolicyKind, build_policy
from .principals import ACCOUNT_ID, CallerKind, parse_caller
from .scenario import CONCRETE_ACTION, RESOURCE_ARN, Request, Scenario

__all__ = ["SimulationError", "simulate_custom_policy"]

DEFAULT_ACCOUNT = "123456789012"
"""The account of the default caller when nothing names one (AWS's example account)."""

DEFAULT_CALLER = "user/simulated-caller"
"""The caller used when ``CallerArn`` is not given, in the resource owner's account."""

DEFAULT_MAX_ITEMS = 100
"""``MaxItems`` when not given, as the API reference documents."""

MAX_ORGANIZATION_LEVELS = 7
"""Levels ``OrderedOrganizationPolicyInputList`` may hold (botocore's model: ``max`` 7)."""

_OWNER = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):root$")
_SEVERITY = {Outcome.ALLOWED: 0, Outcome.IMPLICIT_DENY: 1, Outcome.EXPLICIT_DENY: 2}
_SOURCE_TYPES = {Layer.IDENTITY: "IAM Policy", Layer.RESOURCE: "Resource Policy"}
_REPORTED_LAYERS = (Layer.RESOURCE, Layer.IDENTITY, Layer.BOUNDARY)
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


class SimulationError(IamkitError, ValueError):
    """AWS would reject the request; ``code`` is the error code it would return.

    Attributes:
        code: ``"InvalidInput"`` when a parameter is wrong, ``"MalformedPolicyDocument"``
            when a policy document is.
        problems: every problem found, each located by parameter and 0-based index, such
            as ``PolicyInputList[1].Statement[0].Effect``, with line and column in its text.
    """

    def __init__(self, code: str, problems: Sequence[Problem]):
        self.code = code
        self.problems: tuple[Problem, ...] = tuple(problems)
        lines = [str(p) for p in self.problems]
        head = lines[0] if len(lines) == 1 else f"{len(lines)} problems:\n" + "\n".join(f"  {s}" for s in lines)
        super().__init__(head)

    @property
    def response(self) -> dict[str, Any]:
        """The error as botocore's ``ClientError.response`` holds it, so
        ``err.response["Error"]["Code"]`` reads the same here and against AWS."""
        return {"Error": {"Code": self.code, "Message": str(self)}}


@dataclass
class _Problems:
    """Every problem of a request, parameters and policy documents apart."""

    invalid: list[Problem] = field(default_factory=list)
    malformed: list[Problem] = field(default_factory=list)

    def add(self, path: Sequence[str | int], message: str, hint: str | None = None) -> None:
        self.invalid.append(Problem(format_path(path), message, hint))

    def raise_any(self) -> None:
        if self.invalid or self.malformed:
            code = "InvalidInput" if self.invalid else "MalformedPolicyDocument"
            raise SimulationError(code, self.invalid + self.malformed)


class _Source(NamedTuple):
    """A policy as the response names it, and where each of its statements is."""

    layer: Layer
    spans: dict[str, tuple[Position, Position]]


@dataclass
class _Simulation:
    """The parsed request: policies, caller, context and where statements are."""

    scenario: Scenario
    sources: dict[str, _Source]
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
    actions = _strings(ActionNames, "ActionNames", out)
    for i, action in enumerate(actions):
        if not CONCRETE_ACTION.match(action):
            out.add(("ActionNames", i), f"`{action}` is not a concrete action",
                    "the simulator takes no wildcards: name each action, such as `s3:GetObject`")
    resources = _strings(ResourceArns, "ResourceArns", out) if ResourceArns is not None else ["*"]
    for i, arn in enumerate(resources):
        if arn != "*" and not RESOURCE_ARN.match(arn):
            out.add(("ResourceArns", i), f"`{arn}` is not an ARN or `*`",
                    "an ARN has six parts: `arn:partition:service:region:account-id:resource`")
    start, limit = _page(Marker, MaxItems, len(actions), out)
    del ResourceHandlingOption  # accepted for compatibility; EC2 scenarios are not modelled
    simulation = _prepare(out, PolicyInputList, PermissionsBoundaryPolicyInputList,
                          OrderedOrganizationPolicyInputList, ResourcePolicy, ResourceOwner,
                          CallerArn, ContextEntries, resources)
    out.raise_any()
    assert simulation is not None
    per_resource = ResourceArns is not None and list(resources) != ["*"]
    end = min(start + limit, len(actions))
    results = []
    for action in actions[start:end]:
        decisions = [_decide(simulation, action, arn) for arn in resources]
        results.append(_action_result(action, resources, decisions, simulation, per_resource))
    response: dict[str, Any] = {"EvaluationResults": results, "IsTruncated": end < len(actions)}
    if end < len(actions):
        response["Marker"] = str(end)
    return response


# ── reading the request ─────────────────────────────────────────────────────────


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


def _prepare(out: _Problems, identity_texts: Any, boundary_texts: Any, org_levels: Any,
             resource_text: Any, owner_arn: Any, caller_arn: Any, entries: Any,
             resources: Sequence[str]) -> _Simulation | None:
    """Parse every policy and parameter into one prepared scenario (None on problems)."""
    sources: dict[str, _Source] = {}

    def parse(text: Any, kind: PolicyKind, path: tuple[str | int, ...], name: str, layer: Layer) -> Policy | None:
        if not isinstance(text, str):
            out.add(path, f"must be a policy document as JSON text, not {type(text).__name__}",
                    "pass `json.dumps(policy)`")
            return None
        policy, problems = build_policy(text, kind, name, path)
        out.malformed.extend(problems)
        if policy is not None:
            sources[name] = _Source(layer, _statement_spans(text))
        return policy

    if identity_texts is None:
        out.add(("PolicyInputList",), "`PolicyInputList` is required", "pass a list of identity policies as JSON text")
    identity = [parse(text, PolicyKind.IDENTITY, ("PolicyInputList", i), f"PolicyInputList.{i + 1}", Layer.IDENTITY)
                for i, text in enumerate(_sequence(identity_texts, "PolicyInputList", out))]
    boundaries = _sequence(boundary_texts, "PermissionsBoundaryPolicyInputList", out)
    if len(boundaries) > 1:
        out.add(("PermissionsBoundaryPolicyInputList",),
                f"{len(boundaries)} permissions boundaries given; AWS simulates only one",
                "an IAM entity has at most one permissions boundary: pass a list of one policy")
    boundary = (parse(boundaries[0], PolicyKind.BOUNDARY, ("PermissionsBoundaryPolicyInputList", 0),
                      "PermissionsBoundaryPolicyInputList.1", Layer.BOUNDARY) if boundaries else None)
    resource = None
    if resource_text is not None:
        resource = parse(resource_text, PolicyKind.RESOURCE, ("ResourcePolicy",), "ResourcePolicy", Layer.RESOURCE)
        if caller_arn is None:
            out.add(("CallerArn",), "`CallerArn` is required when `ResourcePolicy` is given",
                    "the resource policy's `Principal` needs a caller to compare with: pass an IAM user or role ARN")
    scps = _organization(org_levels, parse, out)
    owner = _owner(owner_arn, out)
    principal = _caller(caller_arn, owner, resources, out)
    context = _context(entries, out)
    if out.invalid or out.malformed or principal is None:
        return None
    # The policies are a prepared set: each (action, resource) pair replaces this request.
    request = Request(principal, "iam:SimulateCustomPolicy", "*", None, context)
    scenario = Scenario(request=request, identity_policies=tuple(p for p in identity if p),
                        resource_policy=resource, permissions_boundary=boundary, scps=scps)
    return _Simulation(scenario, sources, len(scps), owner)


def _sequence(value: Any, name: str, out: _Problems) -> list[Any]:
    """A list parameter that may be absent."""
    if value is None:
        return []
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        out.add((name,), f"`{name}` must be a list", f'wrap a single policy in a list: `{name}=[policy_json]`')
        return []
    return list(value)


def _organization(levels: Any, parse: Callable[..., Policy | None], out: _Problems) -> tuple[tuple[Policy, ...], ...]:
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
        policies = [parse(text, PolicyKind.SCP, path + (j,), f"{name}.{i + 1}.ServiceControlPolicyInputList.{j + 1}",
                          Layer.SCP) for j, text in enumerate(texts)]
        parsed.append(tuple(p for p in policies if p))
    return tuple(parsed)


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


def _caller(caller_arn: Any, owner: str | None, resources: Sequence[str], out: _Problems) -> str | None:
    """The principal ARN: ``CallerArn``, else the default caller in the owner's account."""
    if caller_arn is None:
        named = (arn.split(":")[4] for arn in resources if RESOURCE_ARN.match(arn))
        account = owner or next((a for a in named if ACCOUNT_ID.match(a)), DEFAULT_ACCOUNT)
        return f"arn:aws:iam::{account}:{DEFAULT_CALLER}"
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


# ── evaluating and rendering ────────────────────────────────────────────────────


def _decide(simulation: _Simulation, action: str, resource: str) -> Decision:
    """The engine's Decision for one (action, resource) pair."""
    names_account = resource != "*" and bool(resource.split(":")[4])
    owner = None if names_account else simulation.owner
    request = Request(simulation.scenario.request.principal, action, resource, owner,
                      simulation.scenario.request.context)
    return evaluate(simulation.scenario, request=request)


def _verdict(decision: Decision, layer: Layer) -> Outcome:
    """What one layer alone says: deny if a statement denies, allowed if one allows."""
    matched = decision.statements(layer, matched=True)
    if any(t.effect == "Deny" for t in matched):
        return Outcome.EXPLICIT_DENY
    return Outcome.ALLOWED if matched else Outcome.IMPLICIT_DENY


def _allowed_by_organizations(decision: Decision, levels: int) -> bool:
    """No SCP denies and an SCP at every level allows."""
    matched = decision.statements(Layer.SCP, matched=True)
    if any(t.effect == "Deny" for t in matched):
        return False
    return all(any(t.level == i for t in matched) for i in range(levels))


def _matched(decision: Decision, sources: Mapping[str, _Source]) -> list[dict[str, Any]]:
    """``MatchedStatements``: the deciding statements, without SCPs."""
    out = []
    for t in decision.determining:
        name = t.policy_name
        if t.layer not in _REPORTED_LAYERS or name is None or name not in sources:
            continue
        ref: dict[str, Any] = {"SourcePolicyId": name}
        if t.layer in _SOURCE_TYPES:
            ref["SourcePolicyType"] = _SOURCE_TYPES[t.layer]
        span = sources[name].spans.get(t.statement.path)
        if span:
            ref["StartPosition"] = {"Line": span[0][0], "Column": span[0][1]}
            ref["EndPosition"] = {"Line": span[1][0], "Column": span[1][1]}
        out.append(ref)
    return out


def _missing(decision: Decision) -> list[str]:
    """``MissingContextValues``: keys policies asked for that the request lacked, without SCPs."""
    keys: dict[str, str] = {}
    for t in decision.trace:
        if t.layer is Layer.SCP:
            continue
        for name in [c.key for c in t.conditions if c.missing] + [v for c in t.conditions for v in c.unresolved]:
            keys.setdefault(name.lower(), name)
        for name in t.unresolved:
            keys.setdefault(name.lower(), name)
    return list(keys.values())


def _details(decision: Decision, simulation: _Simulation) -> dict[str, str]:
    """``EvalDecisionDetails`` of a cross-account pair: each policy type's own decision."""
    details = {"IAM Policy": _verdict(decision, Layer.IDENTITY).value}
    if simulation.scenario.resource_policy is not None:
        details["Resource Policy"] = _verdict(decision, Layer.RESOURCE).value
    return details


def _resource_result(resource: str, decision: Decision, simulation: _Simulation) -> dict[str, Any]:
    """One ``ResourceSpecificResult``."""
    result: dict[str, Any] = {
        "EvalResourceName": resource,
        "EvalResourceDecision": decision.outcome.value,
        "MatchedStatements": _matched(decision, simulation.sources),
        "MissingContextValues": _missing(decision),
    }
    if not decision.request.same_account and _allowed_by_organizations(decision, simulation.scp_levels):
        result["EvalDecisionDetails"] = _details(decision, simulation)
    if simulation.scenario.permissions_boundary is not None:
        allowed = _verdict(decision, Layer.BOUNDARY) is Outcome.ALLOWED
        result["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": allowed}
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
    organizations = all(_allowed_by_organizations(d, simulation.scp_levels) for d in decisions)
    if simulation.scp_levels:
        result["OrganizationsDecisionDetail"] = {"AllowedByOrganizations": organizations}
    if simulation.scenario.permissions_boundary is not None:
        allowed = all(_verdict(d, Layer.BOUNDARY) is Outcome.ALLOWED for d in decisions)
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
