"""Lint: over-broad grants in a policy, each with why it is risky and how to narrow it.

:func:`lint_policy` looks at a policy's ``Allow`` statements and reports each grant that is
broader than a task needs, as a :class:`LintFinding` located in the policy text: every
action (``"Action": "*"``), every action of a service (``s3:*``), ``Allow`` with
``NotAction`` or ``NotResource``, ``iam:PassRole`` or ``sts:AssumeRole`` on every role,
privilege-escalation actions (:data:`ESCALATION_ACTIONS`; medium rather than high for those an
``iam:PermissionsBoundary`` condition keeps within a named boundary, :data:`BOUNDED_ACTIONS`, as
AWS's delegation example does), ``"Resource": "*"`` for actions that can be limited to
resources, and a public ``Principal``. :data:`RULES` lists the rules.
With the action catalog (:mod:`iamkit.account.catalog`) it also counts what service wildcards allow
and finds actions that could be limited to resources.

Sources:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege
    https://docs.aws.amazon.com/wellarchitected/latest/framework/sec_permissions_least_privileges.html
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..account.catalog import installed_catalog
from ..engine.jsonpos import locate
from ..engine.matching import action_matches, glob_matcher
from ..engine.policy import Policy, PolicyKind, Statement, parse_policy
from ..errors import format_path

__all__ = [
    "BOUNDED_ACTIONS",
    "ESCALATION_ACTIONS",
    "LintFinding",
    "RULES",
    "lint_policy",
]

ESCALATION_ACTIONS = (
    "iam:AddUserToGroup", "iam:AttachGroupPolicy", "iam:AttachRolePolicy", "iam:AttachUserPolicy",
    "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:CreatePolicyVersion", "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteUserPermissionsBoundary", "iam:PutGroupPolicy", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy",
    "iam:PutUserPermissionsBoundary", "iam:PutUserPolicy", "iam:SetDefaultPolicyVersion", "iam:UpdateAssumeRolePolicy",
    "iam:UpdateLoginProfile",
)
"""Actions that let a principal give itself (or another) more permissions. Replacing a
permissions boundary (``Put…PermissionsBoundary``) lifts the cap as surely as deleting it:
AWS's own delegation example allows it only with an ``iam:PermissionsBoundary`` condition
(https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html)."""

BOUNDED_ACTIONS = frozenset(a.lower() for a in (
    "iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy",
    "iam:PutUserPermissionsBoundary", "iam:PutUserPolicy"))
"""The escalation actions that an ``iam:PermissionsBoundary`` condition confines to users and
roles whose boundary is the one it names, so that what they are given stays within it: the
condition key is the boundary of the identity the action changes, or the one it sets, as in
AWS's delegation example. Removing a boundary (``Delete…PermissionsBoundary``) is not among
them: the condition then only picks whose cap is lifted.
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html"""

RULES: Mapping[str, tuple[str, str]] = {
    "action-wildcard": ("high", "`\"Action\": \"*\"` allows every action of every service"),
    "service-wildcard": ("medium", "a service wildcard such as `s3:*` allows every action of the service"),
    "privilege-escalation": ("high", "permissions-management actions that can grant more permissions"),
    "passrole-wildcard": ("high", "`iam:PassRole` on every role"),
    "assume-any-role": ("high", "`sts:AssumeRole` on every role"),
    "allow-not-action": ("high", "`NotAction` with `Allow` allows everything else, future actions included"),
    "allow-not-resource": ("medium", "`NotResource` with `Allow` allows every other resource"),
    "resource-wildcard": ("medium", "`\"Resource\": \"*\"` with actions that can be limited to resources"),
    "public-principal": ("high", "`\"Principal\": \"*\"` without a condition"),
}
"""Every lint rule: id → (severity, what it finds)."""


@dataclass(frozen=True, slots=True)
class LintFinding:
    """One over-broad grant.

    Attributes:
        rule: the rule's id (see :data:`RULES`), such as ``service-wildcard``.
        severity: ``high`` (broad or escalating access) or ``medium``.
        path: JSON path of the element, ``Statement[0].Action[1]``.
        message: what is granted and why it is risky (lowercase, input in backticks).
        hint: how to narrow it.
        line, column: where the element is in the policy text, when it came as text.
        statement: the ``Sid`` or path of the statement.
    """

    rule: str
    severity: str
    path: str
    message: str
    hint: str
    line: int | None = None
    column: int | None = None
    statement: str | None = None

    def __str__(self) -> str:
        where = self.path + (f" (line {self.line}, column {self.column})" if self.line is not None else "")
        return f"{where}: {self.severity}: {self.message} [{self.rule}] — hint: {self.hint}"

    def __repr__(self) -> str:
        return f"<LintFinding {self.severity} {self.rule} at {self.path}>"

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready data."""
        return {"rule": self.rule, "severity": self.severity, "path": self.path, "message": self.message,
                "hint": self.hint, "line": self.line, "column": self.column, "statement": self.statement}


_RULE_ORDER = {rule: i for i, rule in enumerate(RULES)}


def _every_role(resource: str) -> bool:
    """Whether a ``Resource`` ARN pattern covers every role of an account, as ``"*"`` does:
    ``arn:aws:iam::*:role/*``, ``arn:aws:iam::111122223333:role/*``, ``arn:aws:iam::*:*``; not a
    path's roles (``role/app/*``)."""
    parts = resource.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[5].endswith("*"):
        return False
    service, region, head = parts[2], parts[3], parts[5][:-1]
    return bool(glob_matcher(service)("iam") and glob_matcher(region)("")
                and any(glob_matcher(head)("role/"[:end]) for end in range(6)))


def _required_boundaries(st: Statement) -> tuple[str, ...]:
    """The boundaries a statement's condition requires of the identity an IAM action changes:
    the values of a plain ``StringEquals``, ``ArnEquals`` or ``ArnLike`` test of
    ``iam:PermissionsBoundary`` that name whole ARNs; none when there is no such test (an
    ``IfExists`` one passes when the identity has no boundary, a negated one for any other)."""
    for condition in st.conditions:
        spec = condition.operator
        if (condition.key.lower() == "iam:permissionsboundary" and not spec.if_exists and not spec.qualifier
                and spec.base.name in ("StringEquals", "ArnEquals", "ArnLike")
                and all(isinstance(v, str) and v.startswith("arn:") and (spec.base.name == "StringEquals"
                        or not any(c in v for c in "*?")) for v in condition.values)):
            return tuple(condition.values)
    return ()


def lint_policy(policy: Policy | Mapping[str, Any] | str, *, kind: PolicyKind | str = PolicyKind.IDENTITY) -> list[LintFinding]:
    """Over-broad grants in a policy, each with why it is risky and how to narrow it.

    Only ``Allow`` statements are looked at: a broad ``Deny`` is a guardrail, not a grant.
    With the action catalog, ``Resource: "*"`` is reported for actions that could be
    limited to resources and service wildcards say how many actions they allow.

    Args:
        policy: a parsed :class:`~iamkit.Policy`, or JSON text (findings then carry line
            and column) or a dict to parse as ``kind``.
        kind: where the policy is attached; ``Principal "*"`` is checked in resource-based
            policies and trust policies.

    Returns:
        The findings in document order (statement, element, entry).

    Raises:
        PolicyError: when the document is not a policy AWS would accept.
    """
    if not isinstance(policy, Policy):
        policy = parse_policy(policy, kind)
    cat = installed_catalog()
    positions = locate(policy.source) if policy.source else None
    listed = isinstance(policy.document.get("Statement"), list)
    findings: list[tuple[int, int, int, LintFinding]] = []

    def add(st: Statement, element: str | None, index: int | None, rule: str, message: str, hint: str,
            severity: str | None = None) -> None:
        path: tuple[str | int, ...] = ("Statement", st.number) if listed else ("Statement",)
        if element is not None:
            path += (element,)
            if index is not None and isinstance(st.document.get(element), list):
                path += (index,)
        where = positions.of(path) if positions else None
        line, column = where if where else (st.line, st.column) if element is None else (None, None)
        order = ("Action", "NotAction", "Resource", "NotResource", "Principal", None).index(element)
        findings.append((st.number, order, index or 0, LintFinding(
            rule, severity or RULES[rule][0], format_path(path), message, hint, line, column, st.label)))

    for st in policy.statements:
        if st.effect != "Allow":
            continue
        resources = st.resources or ()
        everywhere = (not st.not_resource and "*" in resources) or st.not_resource
        every_role = everywhere or any(_every_role(r) for r in resources)
        boundaries = _required_boundaries(st)
        element = "NotAction" if st.not_action else "Action"
        if st.not_action:
            add(st, "NotAction", None, "allow-not-action",
                f"`Allow` with `NotAction` allows every action except {_names(st.actions)}, including actions AWS "
                "adds later",
                "list the actions to allow in `Action`; keep `NotAction` for `Deny` statements")
        if st.not_resource:
            add(st, "NotResource", None, "allow-not-resource",
                f"`Allow` with `NotResource` allows every resource except {_names(resources)}, including ones "
                "created later",
                "list the resources to allow in `Resource`; keep `NotResource` for `Deny` statements")
        star = not st.not_action and "*" in st.actions
        for i, entry in enumerate(st.actions if not st.not_action else ()):
            prefix, _, rest = entry.partition(":")
            if entry == "*":
                admin = " on every resource: this is administrator access" if "*" in resources else ""
                add(st, element, i, "action-wildcard", f"`\"Action\": \"*\"` allows every action of every AWS "
                    f"service{admin}", "list only the actions the task needs — `iamkit least-privilege` writes them "
                    "from an activity log")
                continue
            if rest == "*":
                count = ""
                if cat is not None and cat.service(prefix) is not None:
                    infos = [cat.action(a) for a in cat.expand(entry)]
                    writes = sum(1 for x in infos if x is not None and x.access_level in ("Write", "Permissions management"))
                    count = f" ({len(infos)} actions, {writes} of them write or permissions management)"
                add(st, element, i, "service-wildcard", f"`{entry}` allows every `{prefix.lower()}` action{count}",
                    f"list the `{prefix.lower()}` actions the task needs, or a narrower pattern such as "
                    f"`{prefix.lower()}:Get*`")
            escalating = [a for a in ESCALATION_ACTIONS if action_matches(entry, a)]
            if escalating:
                what = f"`{entry}`" if [entry.lower()] == [a.lower() for a in escalating] else \
                    f"`{entry}` allows {_names(escalating, 3)}, which"
                if boundaries and all(a.lower() in BOUNDED_ACTIONS for a in escalating):
                    add(st, element, i, "privilege-escalation",
                        f"{what} can give more permissions, but only to users and roles whose permissions boundary "
                        f"is {'one of ' if len(boundaries) > 1 else ''}{_names(boundaries)}: what they are given "
                        "stays within it",
                        "this is how AWS delegates permissions management: also deny changing the boundary policy "
                        "(`iam:CreatePolicyVersion`, `iam:SetDefaultPolicyVersion`, `iam:DeletePolicyVersion` on "
                        "it) and removing boundaries (`iam:DeleteUserPermissionsBoundary`, "
                        "`iam:DeleteRolePermissionsBoundary`)", "medium")
                else:
                    add(st, element, i, "privilege-escalation",
                        f"{what} can let a principal give itself or others more permissions"
                        f"{' on every resource' if everywhere else ''} (privilege escalation)",
                        "grant permissions management only to administrators, limit `Resource` to the identities "
                        "and policies it is for, and use a permissions boundary", None if everywhere else "medium")
            if every_role and action_matches(entry, "iam:PassRole"):
                add(st, element, i, "passrole-wildcard",
                    f"`{entry}` on every role lets the principal pass any role to a service, and so act with that "
                    "role's permissions", "name the roles it may pass in `Resource`, and add an `iam:PassedToService` "
                    "condition")
            if every_role and action_matches(entry, "sts:AssumeRole"):
                add(st, element, i, "assume-any-role",
                    f"`{entry}` on every role lets the principal take on any role that trusts its account",
                    "name the roles it may assume in `Resource`")
        if cat is not None and not star and not st.not_action and not st.not_resource and "*" in resources:
            limitable: list[str] = []
            example = ""
            for entry in st.actions:
                try:
                    names = cat.expand(entry) if ("*" in entry or "?" in entry) else [entry]
                except ValueError:
                    continue
                for name in names:
                    info = cat.action(name)
                    if info is not None and info.resource_types and info.name not in limitable:
                        limitable.append(info.name)
                        example = example or next((rt.arn for rt in info.resource_types if rt.arn), "")
            if limitable:
                index = list(resources).index("*")
                add(st, "Resource", index, "resource-wildcard",
                    f"`\"Resource\": \"*\"` applies {_names(limitable, 3)} to every resource, though "
                    f"{'it' if len(limitable) == 1 else 'they'} can be limited to specific ARNs",
                    "list the ARNs the task needs" + (f", in the form `{example}`" if example else ""))
        if (PolicyKind(policy.kind).has_principal and policy.kind is not PolicyKind.RCP
                and st.principal_element == "Principal" and not st.conditions
                and (st.principals is None or "*" in (st.principals or {}).get("AWS", ()))):
            who = "assume this role" if policy.kind is PolicyKind.TRUST else "use this resource"
            add(st, "Principal", None, "public-principal",
                f"`\"Principal\": \"*\"` without a condition lets anyone — every AWS account, and anonymous callers "
                f"where the service allows them — {who}",
                "name the accounts or roles in `Principal`, or add a condition such as `aws:PrincipalOrgID` or "
                "`aws:SourceArn`")
    findings.sort(key=lambda f: (f[0], f[1], f[2], _RULE_ORDER[f[3].rule]))
    return [f for *_, f in findings]


def _names(items: Sequence[str], limit: int = 3) -> str:
    if not items:
        return "nothing"
    shown = ", ".join(f"`{x}`" for x in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
