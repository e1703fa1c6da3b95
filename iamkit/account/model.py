"""An AWS account's IAM configuration, loaded from ``get-account-authorization-details``.

The same model serves the sandbox and a real account's export: users, groups, roles with
their trust policies, managed policies (default versions), inline policies, permissions
boundaries, instance profiles and tags. For any principal it gathers the policies AWS
would consult, each with its :class:`~iamkit.engine.policy.Origin`, so a Decision says which
policy, attached to which user or group, decided.

Sources: https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
"""

from __future__ import annotations

import ipaddress
import os
import pathlib
import re
import urllib.parse
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, ClassVar, Iterable, Iterator, Mapping, Sequence

from ..engine.decision import Decision
from ..engine.evaluator import evaluate
from ..engine.jsonpos import Positions
from ..engine.policy import Origin, Policy, PolicyKind, build_policy
from ..engine.principals import SERVICE_PRINCIPAL
from ..engine.reading import MAX_EXPORT_BYTES, load_json, read_text
from ..engine.scenario import TRUST_ACTIONS, Request, Scenario, load_request
from ..errors import AccountError, InputError, Problem, format_path, json_type, suggest

__all__ = ["Account", "AccountError", "Group", "InstanceProfile", "ManagedPolicy", "Role", "Session", "User",
           "load_account"]

_ACCOUNT_IN_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):")


@dataclass(frozen=True)
class ManagedPolicy:
    """A managed policy and its default version.

    Attributes:
        name: the policy's name.
        arn: its ARN (``arn:aws:iam::aws:policy/...`` for AWS managed policies).
        document: the default version's document as a dict.
        default_version: the default version id, such as ``v3``.
        attachment_count: how many identities it is attached to.
    """

    name: str
    arn: str
    document: Mapping[str, Any] = field(repr=False)
    default_version: str = "v1"
    attachment_count: int = 0

    @property
    def aws_managed(self) -> bool:
        """True for policies AWS maintains (``arn:aws:iam::aws:policy/…``)."""
        return ":iam::aws:policy/" in self.arn


@dataclass(frozen=True)
class _Identity:
    """What users, groups and roles share."""

    kind: ClassVar[str] = ""
    name: str
    arn: str
    id: str
    path: str
    inline: Mapping[str, Mapping[str, Any]] = field(repr=False)
    attached: tuple[str, ...]
    created: datetime | None

    @property
    def ref(self) -> str:
        """``user/alice``, ``group/developers``, ``role/App``: how traces name it."""
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class Group(_Identity):
    """An IAM group: policies attached once for every member."""

    kind: ClassVar[str] = "group"


@dataclass(frozen=True)
class User(_Identity):
    """An IAM user: a person (or a legacy application) with long-term credentials."""

    kind: ClassVar[str] = "user"
    groups: tuple[str, ...] = ()
    boundary: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Role(_Identity):
    """An IAM role: permissions that principals named in its trust policy may assume."""

    kind: ClassVar[str] = "role"
    trust_policy: Mapping[str, Any] = field(default_factory=dict, repr=False)
    boundary: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    instance_profiles: tuple[str, ...] = ()
    last_used: datetime | None = None


@dataclass(frozen=True)
class InstanceProfile:
    """An instance profile: how an EC2 instance carries a role."""

    name: str
    arn: str
    roles: tuple[str, ...]


Principal = User | Role


def _document(raw: Any) -> Any:
    """A policy document as the API (URL-encoded JSON), the CLI or boto3 (a dict) give it."""
    if isinstance(raw, str):
        text = raw if raw.lstrip().startswith("{") else urllib.parse.unquote(raw)
        return load_json(text)[0]
    return raw


def _joined(name: str, problems: Sequence[Problem]) -> str:
    """Problems of one export as one message: ``name line 3, column 5: path: message — hint``."""
    return "; ".join(name + (f" line {p.line}, column {p.column}" if p.line is not None else "")
                     + ("" if p.path == "$" else f": {p.path}") + f": {p.message}"
                     + (f" — hint: {p.hint}" if p.hint else "") for p in problems)


@dataclass(frozen=True)
class _Object:
    """The shape of an object of the export: its fields' shapes, and which it must have."""

    fields: Mapping[str, Any]
    required: tuple[str, ...] = ()


_DOCUMENT = (str, Mapping)  # a policy document: URL-encoded JSON text, or decoded
_DATE = (str, datetime)
_SHAPE_NAMES = {str: "a string", bool: "a boolean", int: "a number", _DOCUMENT: "a policy document", _DATE: "a date"}
_INLINE = [_Object({"PolicyName": str, "PolicyDocument": _DOCUMENT}, ("PolicyName", "PolicyDocument"))]
_ATTACHED = [_Object({"PolicyArn": str, "PolicyName": str}, ("PolicyArn",))]
_BOUNDARY = _Object({"PermissionsBoundaryArn": str, "PermissionsBoundaryType": str})
_TAGS = [_Object({"Key": str, "Value": str}, ("Key",))]
_IDENTITY = {"Arn": str, "Path": str, "CreateDate": _DATE, "AttachedManagedPolicies": _ATTACHED, "Tags": _TAGS,
             "PermissionsBoundary": _BOUNDARY}
_EXPORT = _Object({
    "UserDetailList": [_Object({**_IDENTITY, "UserName": str, "UserId": str, "UserPolicyList": _INLINE,
                                "GroupList": [str]}, ("UserName", "Arn"))],
    "GroupDetailList": [_Object({**_IDENTITY, "GroupName": str, "GroupId": str, "GroupPolicyList": _INLINE},
                                ("GroupName", "Arn"))],
    "RoleDetailList": [_Object({
        **_IDENTITY, "RoleName": str, "RoleId": str, "RolePolicyList": _INLINE, "AssumeRolePolicyDocument": _DOCUMENT,
        "RoleLastUsed": _Object({"LastUsedDate": _DATE, "Region": str}),
        "InstanceProfileList": [_Object({"InstanceProfileName": str, "Arn": str,
                                         "Roles": [_Object({"RoleName": str}, ("RoleName",))]},
                                        ("InstanceProfileName", "Arn"))],
    }, ("RoleName", "Arn"))],
    "Policies": [_Object({"PolicyName": str, "Arn": str, "DefaultVersionId": str, "AttachmentCount": int,
                          "PolicyVersionList": [_Object({"Document": _DOCUMENT, "VersionId": str,
                                                         "IsDefaultVersion": bool}, ("Document",))]},
                         ("Arn",))],
})


def _shape_problems(value: Any, shape: Any, path: tuple[str | int, ...], out: list[tuple[tuple[str | int, ...], str]]
                    ) -> None:
    """Append (path, message) for each place where ``value`` is not of ``shape``; None counts as absent."""
    what = f"`{path[-1]}`" if path and isinstance(path[-1], str) else "each item"
    if isinstance(shape, list):
        if not isinstance(value, list):
            out.append((path, f"{what} must be a list, not {json_type(value)}"))
            return
        for i, item in enumerate(value):
            _shape_problems(item, shape[0], path + (i,), out)
    elif isinstance(shape, _Object):
        if not isinstance(value, Mapping):
            out.append((path, f"{what} must be an object, not {json_type(value)}"))
            return
        out.extend((path, f"`{key}` is missing") for key in shape.required if value.get(key) is None)
        for key, inner in shape.fields.items():
            if value.get(key) is not None:
                _shape_problems(value[key], inner, path + (key,), out)
    elif not isinstance(value, shape) or (shape is int and isinstance(value, bool)):
        out.append((path, f"{what} must be {_SHAPE_NAMES[shape]}, not {json_type(value)}"))


def _date(raw: Any) -> datetime | None:
    if isinstance(raw, datetime):
        return raw
    if isinstance(raw, str) and raw:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return None


def _tags(raw: Any) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in raw or ()}


def _inline(raw: Any) -> dict[str, Any]:
    return {p["PolicyName"]: _document(p["PolicyDocument"]) for p in raw or ()}


def _attached(raw: Any) -> tuple[str, ...]:
    return tuple(p["PolicyArn"] for p in raw or ())


class Account:
    """One AWS account's IAM configuration.

    Build it with :meth:`from_authorization_details`, :meth:`from_file` or
    :meth:`from_client`. Policies are parsed once, on first use, and cached; a policy
    iamkit cannot parse is left out and reported in :attr:`problems`, so one odd policy in
    a large export never stops the analysis of the others.

    Attributes:
        account_id: the 12-digit account id.
        users, groups, roles: by name.
        policies: managed policies by ARN.
        instance_profiles: by name.
        problems: what could not be read, each located in the export.
    """

    def __init__(self, account_id: str, users: Mapping[str, User], groups: Mapping[str, Group],
                 roles: Mapping[str, Role], policies: Mapping[str, ManagedPolicy],
                 instance_profiles: Mapping[str, InstanceProfile]):
        self.account_id = account_id
        self.users = dict(users)
        self.groups = dict(groups)
        self.roles = dict(roles)
        self.policies = dict(policies)
        self.instance_profiles = dict(instance_profiles)
        self.problems: list[Problem] = []
        self._parsed: dict[tuple[str, str, str], Policy | None] = {}

    # ── loading ────────────────────────────────────────────────────────────────

    @classmethod
    def from_authorization_details(cls, details: Mapping[str, Any] | Sequence[Mapping[str, Any]],
                                   account_id: str | None = None) -> "Account":
        """Build an account from ``get-account-authorization-details`` output.

        Args:
            details: one response, or a list of pages (they are merged).
            account_id: the account id; by default read from the ARNs in the export.

        Raises:
            AccountError: when the export is not in AWS's shape.
        """
        return cls._from_pages(details, account_id, None)

    @classmethod
    def _from_pages(cls, details: Any, account_id: str | None, positions: Positions | None) -> "Account":
        pages = [details] if isinstance(details, Mapping) else list(details)
        merged: dict[str, list[Any]] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
        shape: list[tuple[tuple[str | int, ...], str]] = []
        for number, page in enumerate(pages):
            if not isinstance(page, Mapping) or not any(k in page for k in merged):
                raise AccountError("not a get-account-authorization-details export: expected `UserDetailList`, "
                                   "`GroupDetailList`, `RoleDetailList` or `Policies`")
            _shape_problems(page, _EXPORT, () if isinstance(details, Mapping) else (number,), shape)
        if shape:
            problems = [Problem(format_path(path), message, "the export is not what "
                                "`aws iam get-account-authorization-details` writes: export it again",
                                *(positions.of(path) or (None, None) if positions else (None, None)))
                        for path, message in shape]
            raise AccountError(_joined("the export", problems), problems)
        for page in pages:
            for key in merged:
                merged[key].extend(page.get(key) or ())
        try:
            return cls._build(merged, account_id)
        except (KeyError, TypeError, ValueError) as exc:
            raise AccountError(f"the export is missing or mangles a field AWS always includes: {exc}") from None

    @classmethod
    def _build(cls, data: Mapping[str, list[Any]], account_id: str | None) -> "Account":
        policies = {}
        for p in data["Policies"]:
            versions = p.get("PolicyVersionList") or ()
            default = next((v for v in versions if v.get("IsDefaultVersion")), versions[0] if versions else None)
            document = _document(default["Document"]) if default else {}
            # moto leaves PolicyName out for AWS managed policies; the ARN ends with it.
            name = p.get("PolicyName") or p["Arn"].rsplit("/", 1)[-1]
            policies[p["Arn"]] = ManagedPolicy(name, p["Arn"], document, p.get("DefaultVersionId", "v1"),
                                               p.get("AttachmentCount", 0))
        groups = {
            g["GroupName"]: Group(g["GroupName"], g["Arn"], g.get("GroupId", ""), g.get("Path", "/"),
                                  _inline(g.get("GroupPolicyList")), _attached(g.get("AttachedManagedPolicies")),
                                  _date(g.get("CreateDate")))
            for g in data["GroupDetailList"]
        }
        users = {
            u["UserName"]: User(u["UserName"], u["Arn"], u.get("UserId", ""), u.get("Path", "/"),
                                _inline(u.get("UserPolicyList")), _attached(u.get("AttachedManagedPolicies")),
                                _date(u.get("CreateDate")), tuple(u.get("GroupList") or ()),
                                (u.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"), _tags(u.get("Tags")))
            for u in data["UserDetailList"]
        }
        roles = {}
        profiles: dict[str, InstanceProfile] = {}
        for r in data["RoleDetailList"]:
            names = []
            for ip in r.get("InstanceProfileList") or ():
                names.append(ip["InstanceProfileName"])
                profiles[ip["InstanceProfileName"]] = InstanceProfile(
                    ip["InstanceProfileName"], ip["Arn"], tuple(x["RoleName"] for x in ip.get("Roles") or ()))
            roles[r["RoleName"]] = Role(
                r["RoleName"], r["Arn"], r.get("RoleId", ""), r.get("Path", "/"), _inline(r.get("RolePolicyList")),
                _attached(r.get("AttachedManagedPolicies")), _date(r.get("CreateDate")),
                _document(r.get("AssumeRolePolicyDocument") or {}),
                (r.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"), _tags(r.get("Tags")), tuple(names),
                _date((r.get("RoleLastUsed") or {}).get("LastUsedDate")))
        if account_id is None:
            arns = (x.arn for x in [*users.values(), *groups.values(), *roles.values()])
            found = next((m.group(1) for m in map(_ACCOUNT_IN_ARN.match, arns) if m), None)
            account_id = found or next((m.group(1) for m in map(_ACCOUNT_IN_ARN.match, policies) if m), "")
        return cls(account_id or "000000000000", users, groups, roles, policies, profiles)

    @classmethod
    def from_file(cls, path: str | pathlib.Path, account_id: str | None = None) -> "Account":
        """Load an export written by ``aws iam get-account-authorization-details > FILE``.

        Args:
            path: the file, or ``"-"`` for standard input; at most
                :data:`~iamkit.engine.reading.MAX_EXPORT_BYTES` are read, gzip-compressed too.

        Raises:
            AccountError: when the file cannot be read or is not such an export; its
                ``problems`` are located in the file.
        """
        name = "<stdin>" if path == "-" else f"`{path}`"
        try:
            data, positions = load_json(read_text(path, limit=MAX_EXPORT_BYTES), limit=MAX_EXPORT_BYTES)
        except InputError as exc:
            raise AccountError(_joined(name, exc.problems), exc.problems) from None
        try:
            return cls._from_pages(data, account_id, positions)
        except AccountError as exc:
            raise AccountError(_joined(name, exc.problems) if exc.problems else str(exc), exc.problems) from None

    @classmethod
    def from_client(cls, iam: Any, account_id: str | None = None) -> "Account":
        """Read an account through a boto3 IAM client (the sandbox's, or a real one: read-only).

        Args:
            iam: ``boto3.client("iam")``; it needs ``iam:GetAccountAuthorizationDetails``.
            account_id: the account id, when the ARNs cannot tell (an empty account).
        """
        pages = list(iam.get_paginator("get_account_authorization_details").paginate())
        return cls.from_authorization_details(pages or [{"UserDetailList": []}], account_id)

    # ── finding principals and their policies ─────────────────────────────────────

    def principal(self, ref: str | Principal) -> Principal:
        """A user or role by name (``alice``), reference (``role/App``) or ARN.

        Raises:
            AccountError: when the account has no such user or role (with a suggestion).
        """
        if isinstance(ref, (User, Role)):
            return ref
        if ref.startswith("arn:"):
            for p in self.principals():
                if p.arn == ref:
                    return p
            ref = ref.split(":", 5)[-1]
        kind, _, rest = ref.partition("/") if ref.startswith(("user/", "role/")) else ("", "", ref)
        name = rest.rsplit("/", 1)[-1]
        path = "/" + rest[: -len(name)] if "/" in rest else None
        for table_kind, table in (("user", self.users), ("role", self.roles)):
            found = table.get(name)
            if kind in ("", table_kind) and found is not None and path in (None, found.path):
                return found
        hint = suggest(name, [*self.users, *self.roles])
        raise AccountError(f"no user or role `{ref}` in account {self.account_id}" + (f" — hint: {hint}" if hint else ""))

    def principals(self) -> Iterator[Principal]:
        """Every user, then every role."""
        yield from self.users.values()
        yield from self.roles.values()

    def _policy(self, document: Mapping[str, Any], kind: PolicyKind, origin: Origin, where: str) -> Policy | None:
        key = (origin.kind, origin.arn or origin.attached_to + "/" + origin.policy, kind.value)
        if key not in self._parsed:
            policy, problems = build_policy(document, kind, origin.policy, (where,))
            if problems:
                self.problems.extend(problems)
            self._parsed[key] = policy if policy is None else _with_origin(policy, origin)
        cached = self._parsed[key]
        if cached is not None and cached.origin != origin:
            return _with_origin(cached, origin)
        return cached

    def _managed(self, arn: str, holder: str, kind: str = "managed") -> Policy | None:
        managed = self.policies.get(arn)
        name = arn.rsplit("/", 1)[-1]
        if managed is None:
            problem = Problem(f"Policies[{arn}]", f"policy `{name}` is attached to {holder} but its document is not "
                              "in the export", "export with `aws iam get-account-authorization-details` without "
                              "`--filter`, so managed policies are included", severity="warning")
            if problem not in self.problems:
                self.problems.append(problem)
            return None
        policy_kind = PolicyKind.BOUNDARY if kind == "boundary" else PolicyKind.IDENTITY
        origin = Origin(kind, managed.name, holder, arn)
        return self._policy(managed.document, policy_kind, origin, format_path(("Policies", name)))

    def identity_policies(self, principal: str | Principal) -> list[Policy]:
        """Every identity policy AWS consults for the principal, with its origin: the
        principal's inline and attached policies, then each group's."""
        p = self.principal(principal)
        out: list[Policy] = []
        holders: list[_Identity] = [p]
        if isinstance(p, User):
            holders += [self.groups[g] for g in p.groups if g in self.groups]
        for holder in holders:
            for name, document in holder.inline.items():
                policy = self._policy(document, PolicyKind.IDENTITY, Origin("inline", name, holder.ref),
                                      f"{holder.ref}/{name}")
                if policy is not None:
                    out.append(policy)
            for arn in holder.attached:
                policy = self._managed(arn, holder.ref)
                if policy is not None:
                    out.append(policy)
        return out

    def permissions_boundary(self, principal: str | Principal) -> Policy | None:
        """The principal's permissions boundary, or None."""
        p = self.principal(principal)
        return self._managed(p.boundary, p.ref, "boundary") if p.boundary else None

    def trust_policy(self, role: str | Role) -> Policy | None:
        """A role's trust policy (who may assume it)."""
        r = self.principal(role if isinstance(role, Role) or str(role).startswith(("arn:", "role/")) else f"role/{role}")
        assert isinstance(r, Role)
        return self._policy(r.trust_policy, PolicyKind.TRUST, Origin("trust", r.name, r.ref), f"{r.ref}/trust")

    def context(self, principal: str | Principal) -> dict[str, str]:
        """The request-context keys AWS derives from the principal: its name, id and tags."""
        p = self.principal(principal)
        context = {"aws:PrincipalArn": p.arn, "aws:PrincipalAccount": self.account_id}
        if isinstance(p, User):
            context["aws:username"] = p.name
            context["aws:userid"] = p.id
        else:
            context["aws:userid"] = p.id
        for key, value in p.tags.items():
            context[f"aws:PrincipalTag/{key}"] = value
        return context

    # ── evaluating ─────────────────────────────────────────────────────────────

    def scenario(self, principal: str | Principal, action: str, resource: str = "*", *,
                 context: Mapping[str, Any] | None = None, resource_policy: Mapping[str, Any] | Policy | None = None,
                 session_policy: Mapping[str, Any] | Policy | None = None,
                 scps: Sequence[Sequence[Mapping[str, Any]]] | None = None,
                 resource_account: str | None = None, caller_arn: str | None = None) -> Scenario:
        """The scenario AWS would evaluate for this principal's request, every policy in it.

        Args:
            principal: a user or role of the account.
            action, resource: the request (validated like a scenario's: ScenarioError).
            context: request context; the principal's own keys are added where absent.
            resource_policy: the resource's policy; for ``sts:AssumeRole*`` on one of this
                account's roles it defaults to that role's trust policy.
            session_policy: for a role session.
            scps: SCP levels (root first) as policy dicts.
            resource_account: the account owning the resource, when its ARN does not say.
            caller_arn: evaluate as this ARN (an assumed-role session of the role) instead.
        """
        p = self.principal(principal)
        merged = self.context(p)
        merged.update(context or {})
        request = load_request({"principal": caller_arn or p.arn, "action": action, "resource": resource,
                                "resourceAccount": resource_account, "context": merged})
        trust = action.lower() in TRUST_ACTIONS
        rp: Policy | None
        if isinstance(resource_policy, Policy) or resource_policy is None:
            rp = resource_policy
        else:
            rp = _parse_given(resource_policy, PolicyKind.TRUST if trust else PolicyKind.RESOURCE, "resource policy")
        if rp is None and trust and resource.split(":")[-1].startswith("role/"):
            target = next((r for r in self.roles.values() if r.arn == resource), None)
            rp = self.trust_policy(target) if target else None
        sp = session_policy if isinstance(session_policy, Policy) or session_policy is None else _parse_given(
            session_policy, PolicyKind.SESSION, "session policy")
        levels = tuple(tuple(_parse_given(doc, PolicyKind.SCP, f"SCP level {i} #{j}") for j, doc in enumerate(level))
                       for i, level in enumerate(scps or ()))
        return Scenario(request=request, identity_policies=tuple(self.identity_policies(p)), resource_policy=rp,
                        permissions_boundary=self.permissions_boundary(p), session_policy=sp, scps=levels,
                        id=f"{p.ref} {action} {resource}")

    def evaluate(self, principal: str | Principal, action: str, resource: str = "*", **kwargs: Any) -> Decision:
        """Can this principal do this? The Decision names the policy, and what it is attached
        to, that decided. Keyword arguments as for :meth:`scenario`."""
        return evaluate(self.scenario(principal, action, resource, **kwargs))

    def decide_each(self, principals: Iterable[str | Principal] | None, actions: Iterable[str], resource: str = "*",
                    **kwargs: Any) -> list[tuple[str, Decision]]:
        """One Decision per principal and action (what a who-may-do-what matrix shows).

        Args:
            principals: users and roles, as names (``alice``), references (``role/Deploy``), ARNs
                or objects; None for every user, then every role. Each Decision comes with the
                principal as given (objects and None by their reference, ``user/alice``).
            actions: the actions, each evaluated once per principal.
            resource: the resource of every request.
            **kwargs: passed to :meth:`evaluate` (``context=``, ``scps=``, …).

        Raises:
            AccountError: when a principal is not in the account.
        """
        chosen: Iterable[str | Principal] = self.principals() if principals is None else principals
        labelled = {(p if isinstance(p, str) else p.ref): p for p in chosen}
        wanted = list(dict.fromkeys(actions))
        return [(label, self.evaluate(p, action, resource, **kwargs)) for label, p in labelled.items() for action in wanted]

    # ── roles and trust ────────────────────────────────────────────────────────

    def assume_role(self, role: str | Role, session_name: str = "session", *,
                    session_policy: Mapping[str, Any] | None = None) -> "Session":
        """A session of the role, whose requests evaluate with the role's policies and the
        optional session policy. (Whether a caller *may* assume it: :meth:`who_can_assume`.)"""
        r = self.principal(role if isinstance(role, Role) or str(role).startswith(("arn:", "role/")) else f"role/{role}")
        assert isinstance(r, Role)
        policy = _parse_given(session_policy, PolicyKind.SESSION, "session policy") if session_policy else None
        return Session(self, r, session_name, policy)

    def who_can_assume(self, role: str | Role, *, context: Mapping[str, Any] | None = None,
                       allowed_only: bool = True) -> list[tuple[str, Decision]]:
        """Who may assume the role, each with the Decision that says so.

        Users and roles of this account are evaluated fully: the trust policy, their own
        permission for ``sts:AssumeRole``, their permissions boundary. Services and other
        accounts' principals named in the trust policy are evaluated on the trust policy
        alone — their own side lives in their account.

        Args:
            role: the role.
            context: the request context of the attempt (``aws:MultiFactorAuthPresent``,
                ``sts:ExternalId``, …): trust policies often have conditions.
            allowed_only: leave out the candidates that are denied.
        """
        r = self.principal(role if isinstance(role, Role) or str(role).startswith(("arn:", "role/")) else f"role/{role}")
        assert isinstance(r, Role)
        trust = self.trust_policy(r)
        out: list[tuple[str, Decision]] = []
        for p in self.principals():
            if p is not r:
                out.append((p.arn, self.evaluate(p, "sts:AssumeRole", r.arn, context=context)))
        for outsider in sorted(self._named_outsiders(trust)):
            request = Request(outsider, "sts:AssumeRole", r.arn, self.account_id, dict(context or {}))
            out.append((outsider, evaluate(Scenario(request=request, resource_policy=trust,
                                                    id=f"{outsider} assumes {r.ref}"))))
        return [(who, d) for who, d in out if d.allowed or not allowed_only]

    def _named_outsiders(self, trust: Policy | None) -> set[str]:
        """Services and principals of other accounts that a trust policy names."""
        names: set[str] = set()
        for st in trust.statements if trust else ():
            if st.principal_element != "Principal" or st.effect != "Allow" or st.principals is None:
                continue
            for ptype, values in st.principals.items():
                for value in values:
                    if ptype == "Service" and SERVICE_PRINCIPAL.match(value):
                        names.add(value)
                    elif ptype == "AWS" and self.account_id not in value and value != "*":
                        names.add(value if value.startswith("arn:") else f"arn:aws:iam::{value}:root")
        return names


@dataclass(frozen=True)
class Session:
    """An assumed-role session: the role's policies, plus an optional session policy."""

    account: Account
    role: Role
    name: str
    session_policy: Policy | None = None

    @property
    def arn(self) -> str:
        """``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``."""
        return f"arn:aws:sts::{self.account.account_id}:assumed-role/{self.role.name}/{self.name}"

    def evaluate(self, action: str, resource: str = "*", **kwargs: Any) -> Decision:
        """Evaluate a request made with this session's credentials."""
        return evaluate(self.scenario(action, resource, **kwargs))

    def scenario(self, action: str, resource: str = "*", **kwargs: Any) -> Scenario:
        """The scenario of a request made with this session's credentials."""
        context = dict(kwargs.pop("context", None) or {})
        context.setdefault("aws:userid", f"{self.role.id}:{self.name}")
        return self.account.scenario(self.role, action, resource, context=context, caller_arn=self.arn,
                                     session_policy=self.session_policy, **kwargs)


def _with_origin(policy: Policy, origin: Origin) -> Policy:
    return replace(policy, name=origin.policy, origin=origin)


def _parse_given(document: Mapping[str, Any] | Policy, kind: PolicyKind, name: str) -> Policy:
    if isinstance(document, Policy):
        return document
    policy, problems = build_policy(document, kind, name, (name,))
    if policy is None:
        raise AccountError("; ".join(str(p) for p in problems))
    return policy


def load_account(source: str | pathlib.Path | Mapping[str, Any] | Iterable[Mapping[str, Any]] | Any) -> Account:
    """An :class:`Account` from wherever a learner has one.

    Args:
        source: a file path; ``"-"`` for an export on standard input; ``"sandbox"`` for the
            sandbox whose loopback endpoint ``AWS_ENDPOINT_URL`` names (never AWS itself);
            an export dict, or its pages; or a boto3 IAM client.

    Raises:
        AccountError: when the source cannot be read, with where and why.
    """
    if source == "sandbox":
        return _from_sandbox(os.environ.get("AWS_ENDPOINT_URL", ""))
    if isinstance(source, (str, pathlib.Path)):
        return Account.from_file(source)
    if isinstance(source, (Mapping, list)):
        return Account.from_authorization_details(source)
    if hasattr(source, "get_paginator"):
        return Account.from_client(source)
    raise AccountError(f"cannot load an account from {type(source).__name__}: give a file path, an export dict, "
                       "or a boto3 IAM client")


def _loopback(endpoint: str) -> bool:
    """True when ``endpoint`` is an http(s) URL of this machine: ``localhost``, 127.0.0.0/8 or ``::1``,
    with no user name or password (``http://127.0.0.1:1@example.com`` is example.com)."""
    try:
        url = urllib.parse.urlsplit(endpoint)
        url.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    if url.scheme not in ("http", "https") or "@" in url.netloc or not url.hostname:
        return False
    if url.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(url.hostname).is_loopback
    except ValueError:
        return False


def _from_sandbox(endpoint: str) -> Account:
    """The sandbox's account, read with the sandbox's own fake credentials, never the user's."""
    if not _loopback(endpoint):
        raise AccountError("no sandbox endpoint in AWS_ENDPOINT_URL (it must be http://127.0.0.1:PORT, "
                           "http://localhost:PORT or http://[::1]:PORT) — hint: run `iamkit sandbox start` in "
                           "another terminal and paste the export lines it prints")
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        raise AccountError("reading the sandbox needs boto3 — hint: install the workbook extras: "
                           "pip install 'iamkit[workbook]'") from None
    from ..sandbox._moto import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY

    iam = boto3.client("iam", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY_ID,
                       aws_secret_access_key=SECRET_ACCESS_KEY, aws_session_token=None,
                       config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=60))
    try:
        return Account.from_client(iam)
    except (BotoCoreError, ClientError) as exc:
        raise AccountError(f"cannot read the sandbox at `{endpoint}`: {str(exc)[:1].lower() + str(exc)[1:]} — hint: "
                           "is `iamkit sandbox start` still running? Start it again and paste the export lines "
                           "it prints") from None
