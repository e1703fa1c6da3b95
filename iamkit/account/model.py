"""An AWS account's IAM configuration, loaded from ``get-account-authorization-details``.

The same model serves the sandbox and a real account's export: users, groups, roles with
their trust policies, managed policies (default versions), inline policies, permissions
boundaries, instance profiles and tags. For any principal it gathers the policies AWS
would consult, each with its :class:`~iamkit.engine.policy.Origin`, so a Decision says which
policy, attached to which user or group, decided.

Sources: https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html

The entities (:class:`User`, :class:`Group`, :class:`Role`, :class:`ManagedPolicy`,
:class:`InstanceProfile`) are defined in :mod:`iamkit.account.entities` and exported here as
well, since an :class:`Account` is made of them; reading the export is
:mod:`iamkit.account.export`'s job.
"""

from __future__ import annotations

import ipaddress
import os
import pathlib
import urllib.parse
from dataclasses import dataclass, replace
from typing import Any, Iterable, Iterator, Mapping, NamedTuple, Sequence

from ..engine.decision import Decision
from ..engine.evaluator import evaluate
from ..engine.policy import Origin, Policy, PolicyKind, build_policy
from ..engine.principals import SERVICE_PRINCIPAL, CallerKind, parse_caller
from ..engine.scenario import TRUST_ACTIONS, Request, Scenario, load_request
from ..errors import AccountError, Problem, format_path, suggest
from .entities import Group, Identity, InstanceProfile, ManagedPolicy, Principal, Role, User
from .export import read_export_file, read_pages

__all__ = ["OUTSIDE_USER", "Account", "AccountError", "AssumeCandidates", "Group", "InstanceProfile", "ManagedPolicy",
           "Role", "Session", "User", "load_account"]

OUTSIDE_USER = "any-iam-principal"
"""The name of the stand-in user that asks, for the IAM users and roles of another account a
trust policy names, whether the trust policy lets them in (:meth:`Account.who_can_assume`)."""


class Account:
    """One AWS account's IAM configuration.

    Build it with :meth:`from_authorization_details`, :meth:`from_file` or
    :meth:`from_client`. Policies are parsed once, on first use, and cached. A policy iamkit
    cannot read, and a group, managed policy or permissions boundary that the export names
    but does not hold, stop only the principals that need them (:class:`AccountError`, and a
    warning in :attr:`problems`): a lost Deny or boundary would silently widen what they may
    do, so one odd policy in a large export never stops the analysis of the others, nor is
    guessed at.

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
        self._unreadable: dict[tuple[str, str, str], tuple[Problem, ...]] = {}

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
        return cls(*read_pages(details, account_id, None))

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
        return cls(*read_export_file(path, account_id))

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
            AccountError: when the account has no such user or role (with a suggestion), or
                ``ref`` is a group or another account's ARN.
        """
        if isinstance(ref, (User, Role)):
            return ref
        given = ref
        if ref.startswith("arn:"):
            for p in self.principals():
                if p.arn == ref:
                    return p
            ref = self._local(ref)
        kind, _, rest = ref.partition("/") if ref.startswith(("user/", "role/")) else ("", "", ref)
        name = rest.rsplit("/", 1)[-1]
        path = "/" + rest[: -len(name)] if "/" in rest else None
        for table_kind, table in (("user", self.users), ("role", self.roles)):
            found = table.get(name)
            if kind in ("", table_kind) and found is not None and path in (None, found.path):
                return found
        if ref.startswith("group/") and name in self.groups:
            members = [u.name for u in self.users.values() if name in u.groups]
            raise AccountError(f"`{given}` is a group, not a user or role — hint: a group is not a principal: its "
                               "policies apply to its members" + (f", such as `{members[0]}`" if members else ""))
        hint = suggest(name, [*self.users, *self.roles])
        raise AccountError(f"no user or role `{given}` in account {self.account_id}" + (f" — hint: {hint}" if hint else ""))

    def _local(self, arn: str) -> str:
        """What follows the account in an ARN of this account (``user/alice``).

        Raises:
            AccountError: for another account's ARN, which names none of this account's principals.
        """
        parts = arn.split(":", 5)
        if len(parts) == 6 and parts[4] not in ("", self.account_id):
            raise AccountError(f"`{arn}` is in account {parts[4]}, not in account {self.account_id} — hint: give a "
                               f"user or role of account {self.account_id}, or load account {parts[4]}'s export")
        return parts[-1]

    def _role(self, ref: str | Role) -> Role:
        """A role by name (``Deploy``), reference (``role/Deploy``) or ARN.

        Raises:
            AccountError: when the account has no such role, or ``ref`` names a user or a group.
        """
        if isinstance(ref, Role):
            return ref
        text = ref.ref if isinstance(ref, User) else str(ref)
        local = self._local(text) if text.startswith("arn:") else text
        if not local.startswith(("user/", "group/", "role/")):
            local = f"user/{local}" if local in self.users and local not in self.roles else f"role/{local}"
        roles = ", ".join(f"`{name}`" for name in list(self.roles)[:5]) + (", …" if len(self.roles) > 5 else "")
        hint = f"give a role of the account: {roles}" if roles else "the account has no role"
        lookup = text if text.startswith("arn:") else local
        if local.startswith("role/"):
            try:
                found = self.principal(lookup)
            except AccountError:
                close = suggest(local.rsplit("/", 1)[-1], self.roles)
                raise AccountError(f"no role `{text}` in account {self.account_id} — hint: {close or hint}") from None
        else:
            found = self.principal(lookup)  # a user, or the error that names a group
        if isinstance(found, Role):
            return found
        raise AccountError(f"`{text}` is a user, not a role — hint: {hint}")

    def principals(self) -> Iterator[Principal]:
        """Every user, then every role."""
        yield from self.users.values()
        yield from self.roles.values()

    def _policy(self, document: Mapping[str, Any], kind: PolicyKind, origin: Origin, where: str,
                failed: list[Problem]) -> Policy | None:
        """The parsed policy, or None when iamkit cannot read it: then its problems are added to
        ``failed`` (and, once, to :attr:`problems` as warnings)."""
        key = (origin.kind, origin.arn or origin.attached_to + "/" + origin.policy, kind.value)
        if key not in self._parsed:
            policy, problems = build_policy(document, kind, origin.policy, (where,))
            # Only errors come back, and then no policy: whoever holds it cannot be evaluated.
            self.problems.extend(replace(x, severity="warning", hint=(x.hint + "; " if x.hint else "")
                                         + "iamkit cannot evaluate the principals that hold this policy")
                                 for x in problems)
            self._parsed[key] = policy if policy is None else _with_origin(policy, origin)
            self._unreadable[key] = tuple(problems)
        cached = self._parsed[key]
        if cached is None:
            failed.extend(self._unreadable[key])
        elif cached.origin != origin:
            return _with_origin(cached, origin)
        return cached

    def _managed(self, arn: str, holder: str, failed: list[Problem], kind: str = "managed") -> Policy | None:
        managed = self.policies[arn]  # present: _require_documents has checked
        policy_kind = PolicyKind.BOUNDARY if kind == "boundary" else PolicyKind.IDENTITY
        origin = Origin(kind, managed.name, holder, arn)
        return self._policy(managed.document, policy_kind, origin, format_path(("Policies", managed.name)), failed)

    @staticmethod
    def _refuse_unreadable(what: str, failed: list[Problem]) -> None:
        """Refuse to answer without a policy AWS would consult: a Deny in it, or a limit, would be lost."""
        if failed:
            raise AccountError(f"cannot evaluate {what}: iamkit cannot read a policy AWS would consult: "
                               + "; ".join(f"`{x.path}`: {x.message}" for x in failed)
                               + " — hint: fix the policy (`iamkit validate` shows every problem in it); iamkit "
                               "does not guess what a policy it cannot read allows or denies", failed)

    def _missing(self, p: Principal, *, identity: bool = True, boundary: bool = True) -> list[Problem]:
        """What AWS would consult for the principal but the export does not hold: a group it is
        a member of, a managed policy attached to it or to one of its groups, its boundary."""
        missing: list[Problem] = []
        if identity:
            holders: list[Identity] = [p]
            for name in p.groups if isinstance(p, User) else ():
                group = self.groups.get(name)
                if group is None:
                    missing.append(Problem(f"GroupDetailList[{name}]", f"its group `{name}` is not in the export",
                                           _MISSING_HINT))
                else:
                    holders.append(group)
            for holder in holders:
                whose = "it" if holder is p else f"its group `{holder.name}`"
                missing.extend(Problem(f"Policies[{arn}]", f"policy `{arn}` attached to {whose} is not in the export",
                                       _MISSING_HINT) for arn in holder.attached if arn not in self.policies)
        if boundary and p.boundary and p.boundary not in self.policies:
            missing.append(Problem(f"Policies[{p.boundary}]", f"its permissions boundary `{p.boundary}` is not in "
                                   "the export", _MISSING_HINT))
        return missing

    def _require_documents(self, p: Principal, *, identity: bool = True, boundary: bool = True) -> None:
        """Refuse to gather an incomplete set of policies: a missing Deny or boundary would
        widen every answer, and a missing Allow narrow it, without a word."""
        missing = self._missing(p, identity=identity, boundary=boundary)
        if missing:
            raise AccountError(f"cannot evaluate {p.kind} `{p.name}`: " + "; ".join(m.message for m in missing)
                               + f" — hint: {_MISSING_HINT}", missing)

    def identity_policies(self, principal: str | Principal) -> list[Policy]:
        """Every identity policy AWS consults for the principal, with its origin: the
        principal's inline and attached policies, then each group's.

        Raises:
            AccountError: when a group of the principal, or a managed policy attached to it or
                to a group, is not in the export (``problems`` names each): iamkit does not
                guess what a missing policy allows or denies.
        """
        p = self.principal(principal)
        self._require_documents(p, boundary=False)
        out: list[Policy] = []
        holders: list[Identity] = [p]
        if isinstance(p, User):
            holders += [self.groups[g] for g in p.groups]
        failed: list[Problem] = []
        for holder in holders:
            for name, document in holder.inline.items():
                policy = self._policy(document, PolicyKind.IDENTITY, Origin("inline", name, holder.ref),
                                      f"{holder.ref}/{name}", failed)
                if policy is not None:
                    out.append(policy)
            for arn in holder.attached:
                policy = self._managed(arn, holder.ref, failed)
                if policy is not None:
                    out.append(policy)
        self._refuse_unreadable(f"{p.kind} `{p.name}`", failed)
        return out

    def permissions_boundary(self, principal: str | Principal) -> Policy | None:
        """The principal's permissions boundary, or None when it has none.

        Raises:
            AccountError: when the export names a boundary but does not hold its document:
                a boundary that cannot be read is not the absence of one.
        """
        p = self.principal(principal)
        self._require_documents(p, identity=False)
        failed: list[Problem] = []
        boundary = self._managed(p.boundary, p.ref, failed, "boundary") if p.boundary else None
        self._refuse_unreadable(f"{p.kind} `{p.name}`", failed)
        return boundary

    def trust_policy(self, role: str | Role) -> Policy | None:
        """A role's trust policy (who may assume it).

        Raises:
            AccountError: when iamkit cannot read it: who may assume the role is then unknown.
        """
        r = self._role(role)
        failed: list[Problem] = []
        trust = self._policy(r.trust_policy, PolicyKind.TRUST, Origin("trust", r.name, r.ref), f"{r.ref}/trust",
                             failed)
        self._refuse_unreadable(f"who may assume role `{r.name}`", failed)
        return trust

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

        Raises:
            AccountError: when the principal is not in the account, or the export lacks one of
                its groups, managed policies or its permissions boundary (all named at once).
        """
        p = self.principal(principal)
        self._require_documents(p)
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
        r = self._role(role)
        policy = _parse_given(session_policy, PolicyKind.SESSION, "session policy") if session_policy else None
        return Session(self, r, session_name, policy)

    def assume_candidates(self, role: str | Role, *, context: Mapping[str, Any] | None = None) -> "AssumeCandidates":
        """Everyone who might assume the role, each with the Decision that says whether they
        may, and apart, those iamkit cannot answer for.

        The candidates are those of :meth:`who_can_assume`. A user or role whose own documents
        the export lacks or iamkit cannot read (a group, a managed policy, a permissions
        boundary: see :meth:`scenario`) is not guessed at: it is listed in ``unknown`` with
        the error that says what is missing, and the others are still answered.

        Raises:
            AccountError: when the role is not in the account, or its trust policy cannot be
                read: then nobody's answer is known.
            ScenarioError: when ``context`` holds a value no request can.
        """
        r = self._role(role)
        trust = self.trust_policy(r)
        decisions: list[tuple[str, Decision]] = []
        unknown: list[tuple[str, AccountError]] = []
        for p in self.principals():
            if p is not r:
                try:
                    decisions.append((p.arn, self.evaluate(p, "sts:AssumeRole", r.arn, context=context)))
                except AccountError as exc:
                    unknown.append((p.arn, exc))
        for outsider in sorted(self._named_outsiders(trust)):
            decisions.append((outsider, evaluate(self._outsider_attempt(outsider, r, trust, context))))
        return AssumeCandidates(decisions, unknown)

    def who_can_assume(self, role: str | Role, *, context: Mapping[str, Any] | None = None,
                       allowed_only: bool = True) -> list[tuple[str, Decision]]:
        """Who may assume the role, each with the Decision that says so.

        Users and roles of this account are evaluated fully: the trust policy, their own
        permission for ``sts:AssumeRole``, their permissions boundary. Services and other
        accounts' principals named in the trust policy are evaluated on the trust policy
        alone — their own side lives in their account, so a stand-in policy allows it. For a
        trust policy that names another account (its id or root ARN), the candidate is that
        account's IAM users and roles, asked for as the stand-in user :data:`OUTSIDE_USER`
        of the account: its root user cannot assume roles.

        Args:
            role: the role.
            context: the request context of the attempt (``aws:MultiFactorAuthPresent``,
                ``sts:ExternalId``, …): trust policies often have conditions.
            allowed_only: leave out the candidates that are denied.

        Raises:
            AccountError: when the export lacks a document some candidate needs (see
                :meth:`scenario`): leaving the candidate out could hide one who may assume it.
                :meth:`assume_candidates` answers for the others and lists those apart.
        """
        found = self.assume_candidates(role, context=context)
        if found.unknown:
            raise found.unknown[0][1]
        return [(who, d) for who, d in found.decisions if d.allowed or not allowed_only]

    def _outsider_attempt(self, outsider: str, role: Role, trust: Policy | None,
                          context: Mapping[str, Any] | None) -> Scenario:
        """The attempt to assume ``role`` of a service or another account's principal that its
        trust policy names. Their own side is not in this export: a service needs none, and
        another account's principal gets a stand-in identity policy, named for what it is,
        that allows the call, so that the trust policy decides. A trust policy naming the
        account lets in the account's IAM users and roles, never its root user, who cannot
        assume roles: a stand-in user of that account asks for them."""
        caller = parse_caller(outsider)
        principal = outsider
        identity: tuple[Policy, ...] = ()
        if caller is not None and caller.kind is not CallerKind.SERVICE:
            if caller.kind is CallerKind.ROOT:
                principal = f"arn:{caller.partition}:iam::{caller.account}:user/{OUTSIDE_USER}"
            identity = (_parse_given({"Version": "2012-10-17", "Statement": [
                {"Sid": "StandIn", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role.arn}]},
                PolicyKind.IDENTITY, f"stand-in for account {caller.account}'s own policies (not in this export)"),)
        request = Request(principal, "sts:AssumeRole", role.arn, self.account_id, dict(context or {}))
        return Scenario(request=request, identity_policies=identity, resource_policy=trust,
                        id=f"{outsider} assumes {role.ref}")

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


class AssumeCandidates(NamedTuple):
    """What :meth:`Account.assume_candidates` found.

    Attributes:
        decisions: ``(candidate, Decision)`` for everyone iamkit could answer for, allowed or not.
        unknown: ``(candidate, AccountError)`` for the users and roles it could not: the error
            names the document that is missing or unreadable.
    """

    decisions: list[tuple[str, Decision]]
    unknown: list[tuple[str, AccountError]]


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


_MISSING_HINT = ("export again with `aws iam get-account-authorization-details` and no `--filter`, so that every "
                 "group and managed policy is in it; iamkit does not guess what a missing policy allows or denies")


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
