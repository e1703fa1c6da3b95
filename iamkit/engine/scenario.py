"""Scenarios: one request plus every policy AWS would consult for it.

The JSON shape is the contract in ``shared/scenario-format.md``. :func:`load_scenario`
accepts it as text or as a dict and reports every problem with its JSON path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from ..errors import InputError, Problem, ProblemCollector, ScenarioError, format_path, suggest
from .conditions import TYPED_CONTEXT_KEYS, context_value_problem
from .policy import Policy, PolicyKind, build_policy, validate_policy
from .principals import ACCOUNT_ID, Caller, parse_caller
from .reading import decode, load_json

__all__ = ["Request", "Scenario", "TRUST_ACTIONS", "load_request", "load_scenario"]

SCENARIO_FIELDS = (
    "id", "request", "identityPolicies", "resourcePolicy", "permissionsBoundary",
    "sessionPolicy", "scps", "rcps",
)
# Fields other tools put on a scenario that carry no meaning for evaluation.
ANNOTATION_FIELDS = ("description", "expected")
REQUEST_FIELDS = ("principal", "action", "resource", "resourceAccount", "context")
_SCENARIO_FIELD_SET = frozenset(SCENARIO_FIELDS + ANNOTATION_FIELDS)
_REQUEST_FIELD_SET = frozenset(REQUEST_FIELDS)

TRUST_ACTIONS = frozenset({
    "sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity",
    "sts:tagsession", "sts:setsourceidentity", "sts:setcontext",
})
"""Actions (lowercase) whose resource-based policy is the role's trust policy."""

CONCRETE_ACTION = re.compile(r"^[A-Za-z0-9-]+:[A-Za-z0-9_-]+$")
"""A request's action: one concrete ``service:Name``, no wildcards."""
RESOURCE_ARN = re.compile(r"^arn:[^:]+:[^:]*:[^:]*:[^:]*:.+", re.S)
"""A request's resource ARN: six colon-separated parts."""

ContextValue = str | list[str]


@dataclass(frozen=True, init=False)
class Request:
    """One request: who calls which action on which resource, in which context.

    Attributes:
        principal: the caller's ARN (user, role, session, federated user or root).
        action: one concrete action, ``service:Name``.
        resource: one concrete ARN, or ``"*"``.
        resource_account: the account that owns the resource, when given explicitly.
        context: the request context as given: key → string or list of strings.
    """

    principal: str
    action: str
    resource: str = "*"
    resource_account: str | None = None
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    # Written out, as Policy's is (see there): one store per field once compiled.
    def __init__(self, principal: str, action: str, resource: str = "*", resource_account: str | None = None,
                 context: Mapping[str, ContextValue] | None = None) -> None:
        object.__setattr__(self, "principal", principal)
        object.__setattr__(self, "action", action)
        object.__setattr__(self, "resource", resource)
        object.__setattr__(self, "resource_account", resource_account)
        object.__setattr__(self, "context", {} if context is None else context)

    @property
    def caller(self) -> Caller:
        """The parsed principal (the request was validated, so it parses)."""
        caller = parse_caller(self.principal)
        if caller is None:
            raise ValueError(f"`{self.principal}` is not a principal ARN")
        return caller

    @property
    def owner_account(self) -> str:
        """The account that owns the resource: explicit, else from the ARN, else the caller's."""
        if self.resource_account:
            return self.resource_account
        if self.resource.startswith("arn:"):
            parts = self.resource.split(":", 5)
            if len(parts) > 4 and parts[4]:
                return parts[4]
        return self.caller.account

    @property
    def same_account(self) -> bool:
        """True when the caller and the resource belong to the same account."""
        return self.caller.account == self.owner_account

    def to_dict(self) -> dict[str, Any]:
        """The request in the scenario format."""
        out: dict[str, Any] = {"principal": self.principal, "action": self.action, "resource": self.resource}
        if self.resource_account:
            out["resourceAccount"] = self.resource_account
        out["context"] = dict(self.context)
        return out


@dataclass(frozen=True, init=False)
class Scenario:
    """A request with every policy that applies to it, parsed and validated.

    Attributes:
        request: the request.
        identity_policies: every identity-based policy of the principal.
        resource_policy: the resource's policy (a role trust policy for ``sts:AssumeRole*``).
        permissions_boundary: the principal's permissions boundary.
        session_policy: the session policy of a role or federated-user session.
        scps: service control policies, one tuple per organization level, root first.
        rcps: resource control policies, same shape.
        id: the scenario's id, echoed in results.
    """

    request: Request
    identity_policies: tuple[Policy, ...] = ()
    resource_policy: Policy | None = None
    permissions_boundary: Policy | None = None
    session_policy: Policy | None = None
    scps: tuple[tuple[Policy, ...], ...] = ()
    rcps: tuple[tuple[Policy, ...], ...] = ()
    id: str | None = None

    # Written out, as Policy's is (see there): one store per field once compiled.
    def __init__(self, request: Request, identity_policies: tuple[Policy, ...] = (),
                 resource_policy: Policy | None = None, permissions_boundary: Policy | None = None,
                 session_policy: Policy | None = None, scps: tuple[tuple[Policy, ...], ...] = (),
                 rcps: tuple[tuple[Policy, ...], ...] = (), id: str | None = None) -> None:
        object.__setattr__(self, "request", request)
        object.__setattr__(self, "identity_policies", identity_policies)
        object.__setattr__(self, "resource_policy", resource_policy)
        object.__setattr__(self, "permissions_boundary", permissions_boundary)
        object.__setattr__(self, "session_policy", session_policy)
        object.__setattr__(self, "scps", scps)
        object.__setattr__(self, "rcps", rcps)
        object.__setattr__(self, "id", id)

    def __repr__(self) -> str:
        r = self.request
        return f"<Scenario {self.id or ''} {r.principal} → {r.action} on {r.resource}>".replace("  ", " ")


def _request(raw: Any, out: ProblemCollector) -> Request | None:
    path: tuple[str | int, ...] = ("request",)
    if not isinstance(raw, dict):
        out.add(path, "`request` must be an object with `principal`, `action` and `resource`"
                if raw is not None else "the scenario has no `request`",
                '`"request": {"principal": "arn:aws:iam::111122223333:user/alice", "action": "s3:GetObject", '
                '"resource": "arn:aws:s3:::amzn-s3-demo-bucket/key"}`')
        return None
    for key in raw if not _REQUEST_FIELD_SET.issuperset(raw) else ():
        if key not in REQUEST_FIELDS:
            out.add(path + (key,), f"unknown request field `{key}`",
                    suggest(key, REQUEST_FIELDS) or "a request has " + ", ".join(f"`{f}`" for f in REQUEST_FIELDS))
    ok = True
    principal = raw.get("principal")
    if not isinstance(principal, str):
        out.add(path + ("principal",), "the request has no `principal` ARN" if principal is None
                else "`principal` must be a string")
        ok = False
    elif parse_caller(principal) is None:
        out.add(path + ("principal",), f"`{principal}` is not a principal AWS can send",
                "use a user, role, assumed-role session, federated-user or root ARN, "
                "such as `arn:aws:iam::111122223333:user/alice`")
        ok = False
    action = raw.get("action")
    if not isinstance(action, str):
        out.add(path + ("action",), "the request has no `action`" if action is None else "`action` must be a string")
        ok = False
    elif not CONCRETE_ACTION.match(action):
        hint = ("a request names one concrete action; wildcards belong in policies" if any(c in action for c in "*?")
                else "write it as `service:Action`, for example `s3:GetObject`")
        out.add(path + ("action",), f"`{action}` is not a concrete action", hint)
        ok = False
    resource = raw.get("resource", "*")
    if not isinstance(resource, str) or not (resource == "*" or RESOURCE_ARN.match(resource)):
        out.add(path + ("resource",), f"`{resource}` is not an ARN or `*`",
                "an ARN has six parts: `arn:partition:service:region:account-id:resource`")
        ok = False
    account = raw.get("resourceAccount")
    if account is not None and not (isinstance(account, str) and ACCOUNT_ID.match(account)):
        out.add(path + ("resourceAccount",), f"`{account}` is not a 12-digit account id",
                'write it as a string: `"resourceAccount": "111122223333"`')
        ok = False
    context = _context(raw.get("context"), path + ("context",), out)
    if not ok or context is None:
        return None
    return Request(principal, action, resource, account, context)  # type: ignore[arg-type]


def _context_value(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return None


def _context(raw: Any, path: tuple[str | int, ...], out: ProblemCollector) -> dict[str, ContextValue] | None:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        out.add(path, "`context` must be an object of key → string or list of strings")
        return None
    context: dict[str, ContextValue] = {}
    seen: dict[str, str] = {}
    for key, value in raw.items():
        lowered = key.lower()
        if lowered in seen:
            out.add(path + (key,), f"context key `{key}` repeats `{seen[lowered]}`",
                    "context key names are case-insensitive: give each key once")
            continue
        seen[lowered] = key
        if isinstance(value, str):  # the common case, checked as the loop below checks it
            problem = context_value_problem(key, value) if lowered in TYPED_CONTEXT_KEYS else None
            if problem is None:
                context[key] = value
            else:
                out.add(path + (key,), *problem)
            continue
        if isinstance(value, list):
            items = list(map(_context_value, value))
            if None in items:  # items are strings or None
                out.add(path + (key,), f"context key `{key}` must hold strings")
                continue
            context[key] = items  # type: ignore[assignment]
        else:
            text = _context_value(value)
            if text is None:
                out.add(path + (key,), f"context key `{key}` must be a string or a list of strings, not "
                        + ("null" if value is None else "an object"),
                        "leave a key out to say it is missing")
                continue
            context[key] = text
        stored = context[key]
        for item in (stored,) if isinstance(stored, str) else stored:
            problem = context_value_problem(key, item)
            if problem is not None:
                out.add(path + (key,), *problem)
                del context[key]
                break
    return context


def _policy(raw: Any, path: tuple[str | int, ...], kind: PolicyKind, out: ProblemCollector,
            name: str) -> Policy | None:
    policy, problems = build_policy(raw, kind, name, path)
    if problems:
        out.items.extend(problems)
    if out.warnings_wanted and policy is not None:
        where = format_path(path)
        out.items.extend(
            replace(p, path=where if p.path == "$" else where + ("" if p.path.startswith("[") else ".") + p.path)
            for p in validate_policy(raw, kind) if p.severity == "warning")
    return policy


def _levels(raw: Any, field_name: str, kind: PolicyKind, out: ProblemCollector) -> tuple[tuple[Policy, ...], ...]:
    if raw is None:
        return ()
    label = "SCP" if kind is PolicyKind.SCP else "RCP"
    if not isinstance(raw, list) or any(not isinstance(level, list) for level in raw):
        out.add((field_name,), f"`{field_name}` must be a list of levels, each a list of policies",
                f"root first, the account's own level last: `[[root {label}s], [OU {label}s], [account {label}s]]`")
        return ()
    levels = []
    for i, level in enumerate(raw):
        policies = []
        for j, doc in enumerate(level):
            policy = _policy(doc, (field_name, i, j), kind, out, f"{label} level {i} #{j}")
            if policy is not None:
                policies.append(policy)
        levels.append(tuple(policies))
    return tuple(levels)


def load_request(source: Mapping[str, Any]) -> Request:
    """Validate a request in the scenario format's ``request`` shape.

    Raises:
        ScenarioError: with every problem, located under ``request``.
    """
    out = ProblemCollector()
    request = _request(dict(source), out)
    if out.items or request is None:
        raise ScenarioError(out.items)
    return request


def load_scenario(source: str | Mapping[str, Any], *, warnings: list[Problem] | None = None) -> Scenario:
    """Parse and validate a scenario.

    Args:
        source: JSON text or a decoded dict in the scenario format.
        warnings: when given, the warnings of every policy (legal but surprising) are
            appended to it, each located under the policy's path.

    Returns:
        The :class:`Scenario`, with every policy parsed for its kind.

    Raises:
        ScenarioError: with every problem found, each naming its JSON path.
    """
    if isinstance(source, (str, bytes)):
        try:
            source, _ = load_json(decode(source) if isinstance(source, bytes) else source)
        except InputError as exc:
            raise ScenarioError(exc.problems) from None
    out = ProblemCollector(warnings_wanted=warnings is not None)
    if not isinstance(source, dict):
        raise ScenarioError([Problem("$", "a scenario must be a JSON object", '`{"id": ..., "request": {...}, ...}`')])
    for key in source if not _SCENARIO_FIELD_SET.issuperset(source) else ():
        if key not in SCENARIO_FIELDS and key not in ANNOTATION_FIELDS:
            out.add((key,), f"unknown scenario field `{key}`",
                    suggest(key, SCENARIO_FIELDS) or "see the scenario format for the fields")
    scenario_id = source.get("id")
    if scenario_id is not None and not isinstance(scenario_id, str):
        out.add(("id",), "`id` must be a string")
        scenario_id = None
    request = _request(source.get("request"), out)

    raw_identity = source.get("identityPolicies")
    identity: list[Policy] = []
    if raw_identity is not None and not isinstance(raw_identity, list):
        out.add(("identityPolicies",), "`identityPolicies` must be a list of policies",
                "wrap a single policy in a list: `[{...}]`")
    else:
        for i, doc in enumerate(raw_identity or ()):
            policy = _policy(doc, ("identityPolicies", i), PolicyKind.IDENTITY, out, f"identity policy {i}")
            if policy is not None:
                identity.append(policy)

    trust = request is not None and request.action.lower() in TRUST_ACTIONS
    resource_kind = PolicyKind.TRUST if trust else PolicyKind.RESOURCE
    singles: dict[str, Policy | None] = {}
    for field_name, kind, name in (
        ("resourcePolicy", resource_kind, "trust policy" if trust else "resource policy"),
        ("permissionsBoundary", PolicyKind.BOUNDARY, "permissions boundary"),
        ("sessionPolicy", PolicyKind.SESSION, "session policy"),
    ):
        raw = source.get(field_name)
        singles[field_name] = None if raw is None else _policy(raw, (field_name,), kind, out, name)

    scps = _levels(source.get("scps"), "scps", PolicyKind.SCP, out)
    rcps = _levels(source.get("rcps"), "rcps", PolicyKind.RCP, out)
    if warnings is not None:
        warnings.extend(out.warnings())
    errors = out.errors()
    if errors or request is None:
        raise ScenarioError(errors)
    return Scenario(
        request=request,
        identity_policies=tuple(identity),
        resource_policy=singles["resourcePolicy"],
        permissions_boundary=singles["permissionsBoundary"],
        session_policy=singles["sessionPolicy"],
        scps=scps,
        rcps=rcps,
        id=scenario_id,
    )
