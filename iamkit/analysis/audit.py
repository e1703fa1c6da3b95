"""A best-practice audit of an AWS account's IAM, with the command that fixes each finding.

Two inputs, both read-only exports of a real account (or of the sandbox):

- the account's IAM configuration, from ``aws iam get-account-authorization-details``
  (an :class:`~iamkit.account.Account`): policies, trust policies, roles' last use;
- optionally the **credential report** (``aws iam generate-credential-report`` then
  ``aws iam get-credential-report``, its ``Content`` base64-decoded): passwords, MFA and
  access keys of every user and of the root user, which the first export does not hold
  (read by :mod:`iamkit.analysis.credential_report`).

Every :class:`~iamkit.analysis.report.Finding` names its rule, severity and principal, says
why it matters (quoting AWS's best-practice pages), and gives the ``aws`` command(s) that fix
it with the account's real names filled in. The credential report carries no access key IDs,
so commands that act on one key say ``KEY_ID`` and begin with the ``list-access-keys`` call
that shows it. The findings and their :class:`~iamkit.analysis.report.AuditReport` are in
:mod:`iamkit.analysis.report`.

Why this module is over 500 lines: it holds one job, the rules. Each rule's table entry
(:data:`RULES`: severity, why, docs) and its check (the fix commands it writes) are read and
changed together; splitting them apart would split each rule in two. The command is
:mod:`iamkit.cli.audit`.

The rules and their thresholds (the numbers are the module constants below), most severe first:

- ``root-access-keys`` (critical): the ``<root_account>`` row has an active access key.
- ``root-no-mfa`` (critical): the ``<root_account>`` row has ``mfa_active`` false.
- ``trust-wildcard-principal`` (critical): a trust policy allows ``Principal: "*"`` (or
  ``{"AWS": "*"}``) with no condition that narrows who calls (:data:`_CALLER_KEYS`:
  ``aws:PrincipalOrgID``, ``aws:PrincipalAccount``, ``aws:PrincipalArn``, ``aws:SourceAccount``,
  ``aws:SourceArn``, ``sts:ExternalId``, ``aws:SourceIp``…, with a value that is not only
  wildcards, under an operator that is not negated nor ``…IfExists``).
- ``trust-github-no-sub`` (high): a trust policy allows ``sts:AssumeRoleWithWebIdentity`` to
  GitHub's OIDC provider (``token.actions.githubusercontent.com``) with no such condition on
  ``token.actions.githubusercontent.com:sub``.
- ``user-no-mfa`` (high): a user has a password and no MFA device.
- ``admin-wildcard`` (high): a customer managed or inline policy allows ``Action: "*"`` on
  ``Resource: "*"``.
- ``broad-grant`` (high): a customer managed or inline policy has a grant that ``iamkit lint``
  (:func:`iamkit.analysis.lint.lint_policy`) rates high, in a statement that is not already
  ``admin-wildcard``: privilege escalation (``iam:*``, ``iam:AttachUserPolicy``… on every
  resource), ``iam:PassRole`` or ``sts:AssumeRole`` on every role, ``Allow`` with ``NotAction``,
  ``Action: "*"`` on some resources.
- ``access-key-old`` (medium): an active key was last rotated more than 90 days ago. The fix
  creates the new key first; when the user already has two keys, the most AWS allows, it
  retires the other key before that.
- ``access-key-unused`` (medium): an active key has not been used for more than 90 days, or
  was never used and is more than 7 days old.
- ``password-never-used`` (medium): a user has a password never used to sign in.
- ``role-unused`` (medium): a role older than 90 days was not used in the last 90 days
  (service-linked roles, under ``/aws-service-role/``, are skipped).
- ``trust-account-no-condition`` (medium): a trust policy allows another account (its id or
  its root ARN) with no condition that narrows who calls, such as ``sts:ExternalId``.
- ``access-keys-two-active`` (low): a user has two active access keys.
- ``policy-attached-to-user`` (low): a managed policy is attached to a user, not a group.
  The fix never grants the user more than it has: it moves the policy to a group only if the
  group adds nothing (no inline policy, no managed policy the user lacks), and otherwise
  creates a group that holds the policy alone.
- ``inline-policy`` (low): a user has an inline policy. The fix makes it a managed policy of
  its own, in a group of its own, named after the user too when another user's inline policy
  has the same name.

The names of the groups and policies a fix creates are never taken in the account (IAM names
are unique whatever their case): a ``create-group`` that fails would leave the next commands
acting on the group that already has the name.

Choices iamkit made, and why:

- 90 days for key age and for unused credentials and roles: the defaults of AWS Config's
  managed rules ``access-keys-rotated`` (``maxAccessKeyAge``) and
  ``iam-user-unused-credentials-check`` (``maxCredentialUsageAge``).
- 7 days' grace for a never-used access key: time to deploy a new key (AWS suggests waiting
  "several days" while rotating). A never-used *password* gets no grace.
- Inline policies are flagged on users only. On a role an inline policy is the one-to-one
  binding AWS describes as the use case for inline policies; a group's is already shared.
- ``admin-wildcard`` and ``broad-grant`` never flag AWS managed policies (``AdministratorAccess``
  is AWS's own, meant for administrators), nor a customer managed policy used only as a
  permissions boundary (a boundary grants nothing). Who holds such a policy shows up through
  ``policy-attached-to-user`` when it is attached to a user directly.
- Trust rules follow the statement as written: a condition on another key
  (``aws:SecureTransport``, ``aws:CurrentTime``, ``aws:MultiFactorAuthPresent``) does not
  narrow who may assume the role, so it does not silence them.

Sources:

- Security best practices in IAM: https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html
- ``Allow`` with ``NotAction``: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
- Root user best practices: https://docs.aws.amazon.com/accounts/latest/reference/best-practices-root-user.html
- The credential report's columns:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html
- Access keys (two per user, rotation): https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html
- Managed versus inline policies:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies-choosing-managed-or-inline.html
- User groups: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_groups.html
- The confused deputy problem: https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html
- A role for GitHub's OIDC provider:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html#idp_oidc_Create_GitHub and
  https://docs.github.com/actions/deployment/security-hardening-your-deployments/configuring-openid-connect-in-amazon-web-services
- AWS Config rules: https://docs.aws.amazon.com/config/latest/developerguide/access-keys-rotated.html,
  https://docs.aws.amazon.com/config/latest/developerguide/iam-user-unused-credentials-check.html
- ``DeleteAccessKey`` without a user name acts on the caller's (the root user's) own key:
  https://docs.aws.amazon.com/cli/latest/reference/iam/delete-access-key.html
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from typing import Any, Iterable, Iterator, Mapping, Sequence

from ..account.model import Account, Group, Role, User
from ..engine.matching import action_matches
from ..engine.policy import Policy, PolicyKind, Statement, build_policy
from ..errors import AuditError, Problem
from .credential_report import ROOT, AccessKey, CredentialRow, read_credential_report
from .lint import RULES as LINT_RULES
from .lint import LintFinding, lint_policy
from .report import AuditReport, Finding, iso_utc

__all__ = [
    "KEY_MAX_AGE_DAYS",
    "NEW_KEY_GRACE_DAYS",
    "RULES",
    "UNUSED_DAYS",
    "AuditError",
    "Rule",
    "audit",
]

KEY_MAX_AGE_DAYS = 90
"""An active access key last rotated longer ago than this is ``access-key-old`` (AWS Config's
``access-keys-rotated`` default)."""

UNUSED_DAYS = 90
"""Keys and roles not used for longer than this are unused (AWS Config's
``iam-user-unused-credentials-check`` default); a role must also be older than this."""

NEW_KEY_GRACE_DAYS = 7
"""A never-used active key younger than this is left alone: it may be on its way to its application."""

SERVICE_LINKED_PATH = "/aws-service-role/"

_BEST = "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html"
_ROOT_DOCS = "https://docs.aws.amazon.com/accounts/latest/reference/best-practices-root-user.html"


# ── the rules ──────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Rule:
    """One best practice the audit checks.

    Attributes:
        id: the rule's id, such as ``user-no-mfa``.
        severity: ``critical``, ``high``, ``medium`` or ``low``.
        summary: what the rule looks for, in a few words.
        why: why it matters, citing AWS's best-practice page.
        docs: the AWS page the ``why`` comes from.
    """

    id: str
    severity: str
    summary: str
    why: str
    docs: str


RULES: dict[str, Rule] = {r.id: r for r in (
    Rule("root-access-keys", "critical", "the root user has an active access key",
         "A root access key \"gives full access to all your resources for all AWS services, including your billing "
         "information\", and its permissions cannot be reduced. AWS's root user best practices: \"Don't create access "
         "keys for the root user\".", _ROOT_DOCS),
    Rule("root-no-mfa", "critical", "the root user has no MFA",
         "Whoever has the root user's password controls the whole account, with no way to limit it. AWS's root user "
         "best practices: \"Enable AWS multi-factor authentication (MFA) on your AWS account root user.\"", _ROOT_DOCS),
    Rule("trust-wildcard-principal", "critical", "any AWS principal may assume the role",
         "A trust policy that allows `Principal: \"*\"` with no condition lets principals of every AWS account assume "
         "the role. AWS's IAM best practices: \"Before you grant permissions for public or cross-account access in AWS, "
         "we recommend that you verify if such access is required.\"", f"{_BEST}#bp-preview-access"),
    Rule("trust-github-no-sub", "high", "any GitHub repository's workflows may assume the role",
         "GitHub's OIDC provider signs a token for every workflow of every repository on GitHub; a trust policy "
         "that does not check the token's `sub` (its repository and branch) lets all of them assume the role. "
         "GitHub: \"AWS Identity and Access Management (IAM) recommends that users evaluate the IAM condition key, "
         "token.actions.githubusercontent.com:sub, in the trust policy of any role that trusts GitHub's OIDC "
         "identity provider (IdP).\"",
         "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html#idp_oidc_Create_GitHub"),
    Rule("user-no-mfa", "high", "a user signs in with a password and no MFA",
         "With a password alone, anyone who learns it signs in as this user. AWS's IAM best practices: \"for scenarios "
         "in which you need an IAM user or root user in your account, require MFA for additional security.\"",
         f"{_BEST}#enable-mfa-for-privileged-users"),
    Rule("admin-wildcard", "high", "a policy allows every action on every resource",
         "`\"Action\": \"*\"` on `\"Resource\": \"*\"` is full administrator access. AWS's IAM best practices: "
         "\"grant only the permissions required to perform a task.\"", f"{_BEST}#grant-least-privilege"),
    Rule("broad-grant", "high", "a policy grants what `iamkit lint` rates high",
         "Some grants come close to administrator access: permissions-management actions such as `iam:*` let a "
         "principal give itself more permissions; `iam:PassRole` on every role lets it hand any role to a service "
         "(with `ec2:RunInstances`, to an instance it launches) and act with that role's permissions; and with "
         "`NotAction`, AWS: \"all of the applicable actions or services that are not listed are allowed if you use "
         "the Allow effect\". AWS's IAM best practices: \"grant only the permissions required to perform a task.\"",
         f"{_BEST}#grant-least-privilege"),
    Rule("access-key-old", "medium", f"an active access key is older than {KEY_MAX_AGE_DAYS} days",
         "A long-term key that never changes stays valid wherever it was ever copied. AWS's IAM best practices: "
         "\"Update access keys when needed for use cases that require long-term credentials\"; AWS Config's "
         f"`access-keys-rotated` rule flags active keys not rotated within {KEY_MAX_AGE_DAYS} days by default.",
         f"{_BEST}#update-access-keys"),
    Rule("access-key-unused", "medium", "an active access key is not used",
         "A key nobody uses is all risk and no benefit. AWS's IAM best practices: \"Regularly review and remove unused "
         "users, roles, permissions, policies, and credentials\"; AWS Config's `iam-user-unused-credentials-check` "
         f"flags credentials unused for {UNUSED_DAYS} days by default.", f"{_BEST}#remove-credentials"),
    Rule("password-never-used", "medium", "a user has a password that was never used",
         "A console password nobody signs in with is a credential to steal and nothing more. AWS's IAM best practices: "
         "\"Regularly review and remove unused users, roles, permissions, policies, and credentials\".",
         f"{_BEST}#remove-credentials"),
    Rule("role-unused", "medium", f"a role was not used for {UNUSED_DAYS} days",
         "A role nobody assumes is standing access that nobody needs, and whoever may assume it keeps that right. "
         "AWS's IAM best practices: \"Regularly review and remove unused users, roles, permissions, policies, and "
         "credentials\".", f"{_BEST}#remove-credentials"),
    Rule("trust-account-no-condition", "medium", "another account may assume the role with no condition",
         "Any principal that account allows may assume the role; when it is a third party serving many customers, "
         "another customer can trick it into using your role (the confused deputy problem). AWS: \"You address the "
         "confused deputy problem by including the ExternalId condition check in the role's trust policy\".",
         "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html"),
    Rule("access-keys-two-active", "low", "a user has two active access keys",
         "Two keys exist for rotation: \"You can have a maximum of two access keys. This allows you to rotate the "
         "active keys according to best practices.\" Once applications use the new key, deactivate the old one; two "
         "active keys double what can leak.", "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html"),
    Rule("policy-attached-to-user", "low", "a managed policy is attached to a user, not a group",
         "Permissions given person by person must be reviewed and changed person by person. AWS: \"User groups let you "
         "specify permissions for multiple users, which can make it easier to manage the permissions for those users\".",
         "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_groups.html"),
    Rule("inline-policy", "low", "a user has an inline policy",
         "An inline policy exists only on this user: it cannot be reused or rolled back to an earlier version, and is "
         "easy to miss in a review. AWS: \"In most cases, we recommend that you use managed policies instead of inline "
         "policies.\"", "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies-choosing-managed-or-inline.html"),
)}


# ── the audit ──────────────────────────────────────────────────────────────────


def _utc(moment: datetime | date | None) -> datetime | None:
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        return datetime(moment.year, moment.month, moment.day, tzinfo=timezone.utc)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _days(now: datetime, then: datetime) -> int:
    return (now - _utc(then)).days  # type: ignore[operator]


def _q(value: str) -> str:
    """A shell-safe argument: names in an export are untrusted input."""
    return shlex.quote(value)


def _partition(arn: str) -> str:
    parts = arn.split(":")
    return parts[1] if len(parts) > 2 and parts[0] == "arn" and parts[1] else "aws"


def _finding(rule_id: str, principal: str, title: str, fix: Iterable[str], **evidence: Any) -> Finding:
    rule = RULES[rule_id]
    return Finding(rule.id, rule.severity, principal, title, rule.why, "\n".join(fix),
                   {k: iso_utc(v) if isinstance(v, datetime) else v for k, v in evidence.items()}, rule.docs)


def _key_lines(user: str, key: AccessKey, placeholder: str = "KEY_ID") -> list[str]:
    """How to find the KEY_ID of a key the credential report describes (it holds no key IDs)."""
    created = f" (created {iso_utc(key.last_rotated)})" if key.last_rotated else ""
    return [f"aws iam list-access-keys --user-name {_q(user)}  # {placeholder}: access key {key.number}{created}"]


def _exists(key: AccessKey) -> bool:
    """The slot holds a key: an active one, or an inactive one the report dates."""
    return key.active or key.last_rotated is not None


def _credential_findings(account: Account, rows: Sequence[CredentialRow], now: datetime) -> Iterator[Finding]:
    for row in rows:
        if row.is_root:
            yield from _root_findings(row, account)
            continue
        user, arn = row.user, row.arn or f"arn:aws:iam::{account.account_id}:user/{row.user}"
        if row.password_enabled and not row.mfa_active:
            serial = f"arn:{_partition(arn)}:iam::{account.account_id}:mfa/{user}"
            yield _finding("user-no-mfa", arn, f"user `{user}` signs in with a password and has no MFA device", [
                f"aws iam create-virtual-mfa-device --virtual-mfa-device-name {_q(user)} "
                f"--outfile {_q(user + '-mfa.png')} --bootstrap-method QRCodePNG",
                f"aws iam enable-mfa-device --user-name {_q(user)} --serial-number {_q(serial)} "
                "--authentication-code1 CODE1 --authentication-code2 CODE2",
            ], user=user, password_enabled=True, mfa_active=False, password_last_used=row.password_last_used,
                line=row.line)
        if row.password_enabled and row.password_last_used is None:
            yield _finding("password-never-used", arn, f"user `{user}` has a console password that was never used", [
                f"aws iam delete-login-profile --user-name {_q(user)}",
            ], user=user, password_enabled=True, password_last_used=row.raw.get("password_last_used", "no_information"),
                password_last_changed=row.password_last_changed, user_creation_time=row.user_creation_time,
                line=row.line)
        active = [k for k in row.access_keys if k.active]
        for key in active:
            other = next((k for k in row.access_keys if k.number != key.number and _exists(k)), None)
            yield from _key_findings(user, arn, key, other, now, row.line)
        if len(active) == 2:
            # Keep the key used last; deactivate the other (never used counts as oldest).
            stale = min(active, key=lambda k: (k.last_used or datetime.min.replace(tzinfo=timezone.utc),
                                               k.last_rotated or datetime.min.replace(tzinfo=timezone.utc), -k.number))
            yield _finding("access-keys-two-active", arn, f"user `{user}` has two active access keys", [
                *_key_lines(user, stale),
                f"aws iam update-access-key --user-name {_q(user)} --access-key-id KEY_ID --status Inactive"
                f"  # key {stale.number}: the one used least recently",
            ], user=user, **{f"access_key_{k.number}_last_rotated": k.last_rotated for k in active},
                **{f"access_key_{k.number}_last_used": k.last_used for k in active}, line=row.line)


def _root_findings(row: CredentialRow, account: Account) -> Iterator[Finding]:
    for key in (k for k in row.access_keys if k.active):
        created = f" (created {iso_utc(key.last_rotated)})" if key.last_rotated else ""
        yield _finding("root-access-keys", ROOT, f"the root user has an active access key (key {key.number})", [
            f"aws iam list-access-keys  # with the root user's credentials; KEY_ID: access key {key.number}{created}",
            "aws iam delete-access-key --access-key-id KEY_ID  # no --user-name: the caller's own, the root user's key",
        ], access_key=key.number, last_rotated=key.last_rotated, last_used=key.last_used,
            last_used_service=key.last_used_service, line=row.line)
    if not row.mfa_active:
        yield _finding("root-no-mfa", ROOT, "the root user has no MFA device", [
            "# no aws command assigns the root user's MFA: sign in as the root user, open Security credentials, "
            "choose Assign MFA device",
        ], mfa_active=False, password_last_used=row.password_last_used, line=row.line)


def _retire(user: str, key: AccessKey, placeholder: str = "KEY_ID") -> list[str]:
    return [
        *_key_lines(user, key, placeholder),
        f"aws iam update-access-key --user-name {_q(user)} --access-key-id {placeholder} --status Inactive",
        f"aws iam delete-access-key --user-name {_q(user)} --access-key-id {placeholder}  # once nothing broke",
    ]


def _key_findings(user: str, arn: str, key: AccessKey, other: AccessKey | None, now: datetime,
                  line: int) -> Iterator[Finding]:
    """Findings on one active key; ``other`` is the user's other key, if it has one."""
    deactivate = _retire(user, key)
    age = _days(now, key.last_rotated) if key.last_rotated else None
    if age is not None and age > KEY_MAX_AGE_DAYS:
        # A user has at most two access keys: with two, create-access-key fails until one is deleted.
        first = [] if other is None else [
            f"# user `{user}` has two access keys, the most AWS allows: retire key {other.number} first "
            "(make sure nothing uses it)",
            *_key_lines(user, other, f"KEY_ID_{other.number}"),
            *([f"aws iam update-access-key --user-name {_q(user)} --access-key-id KEY_ID_{other.number} "
               "--status Inactive"] if other.active else []),
            f"aws iam delete-access-key --user-name {_q(user)} --access-key-id KEY_ID_{other.number}",
        ]
        yield _finding("access-key-old", arn, f"access key {key.number} of user `{user}` is {age} days old", [
            *first,
            f"aws iam create-access-key --user-name {_q(user)}  # give the new key to the key's applications, then:",
            *(deactivate if other is None else _retire(user, key, f"KEY_ID_{key.number}")),
        ], user=user, access_key=key.number, last_rotated=key.last_rotated, age_days=age,
            max_age_days=KEY_MAX_AGE_DAYS, line=line)
    if key.last_used is None:
        if age is not None and age > NEW_KEY_GRACE_DAYS:
            yield _finding("access-key-unused", arn,
                           f"access key {key.number} of user `{user}` was never used since it was created {age} days ago",
                           deactivate,
                           user=user, access_key=key.number, last_rotated=key.last_rotated, last_used="N/A",
                           age_days=age, grace_days=NEW_KEY_GRACE_DAYS, line=line)
    else:
        idle = _days(now, key.last_used)
        if idle > UNUSED_DAYS:
            yield _finding("access-key-unused", arn,
                           f"access key {key.number} of user `{user}` was last used {idle} days ago", deactivate,
                           user=user, access_key=key.number, last_rotated=key.last_rotated, last_used=key.last_used,
                           unused_days=idle, max_unused_days=UNUSED_DAYS, line=line)


def _groups_with(account: Account, arn: str) -> list[str]:
    return sorted(g.name for g in account.groups.values() if arn in g.attached)


def _attached_to(account: Account, arn: str) -> list[str]:
    holders: list[User | Group | Role] = [*account.users.values(), *account.groups.values(), *account.roles.values()]
    return sorted(h.ref for h in holders if arn in h.attached)


_NAME_MAX = 128  # the longest group or managed-policy name IAM accepts


class _Names:
    """New group and policy names for the fixes: none taken in the account or by another fix.

    IAM names are unique in an account whatever their case, and ``create-group`` or
    ``create-policy`` with a taken name fails: the commands after it would then act on the
    group or policy that already holds the name, and whatever it grants.
    """

    def __init__(self, taken: Iterable[str]):
        self._taken = {name.lower() for name in taken}

    def new(self, base: str) -> str:
        name, number = base[:_NAME_MAX], 1
        while name.lower() in self._taken:
            number += 1
            name = f"{base[:_NAME_MAX - len(str(number)) - 1]}-{number}"
        self._taken.add(name.lower())
        return name


def _managed_of(account: Account, user: User) -> set[str]:
    """Every managed policy the user holds, directly or through its groups."""
    held = set(user.attached)
    for name in user.groups:
        if name in account.groups:
            held.update(account.groups[name].attached)
    return held


def _user_findings(account: Account) -> Iterator[Finding]:
    groups = _Names(account.groups)
    policies = _Names(m.name for m in account.policies.values() if not m.aws_managed)
    new_groups: dict[str, str] = {}  # a managed policy's ARN → the group created for it
    inline_owners: dict[str, int] = {}
    for user in account.users.values():
        for policy_name in user.inline:
            inline_owners[policy_name.lower()] = inline_owners.get(policy_name.lower(), 0) + 1
    for user in account.users.values():
        for policy_arn in user.attached:
            yield _attached_finding(account, user, policy_arn, groups, new_groups)
        for policy_name in user.inline:
            # Another user's inline policy of the same name holds another document: each
            # (user, policy) gets its own managed policy and group.
            shared = inline_owners[policy_name.lower()] > 1
            managed = policies.new(f"{user.name}-{policy_name}" if shared else policy_name)
            group = groups.new(f"{managed}-users")
            managed_arn = f"arn:{_partition(user.arn)}:iam::{account.account_id}:policy/{managed}"
            document = f"{managed}.json"
            yield _finding("inline-policy", user.arn, f"user `{user.name}` has inline policy `{policy_name}`", [
                f"aws iam get-user-policy --user-name {_q(user.name)} --policy-name {_q(policy_name)} "
                f"--query PolicyDocument --output json > {_q(document)}",
                f"aws iam create-policy --policy-name {_q(managed)} --policy-document {_q('file://' + document)}",
                f"aws iam create-group --group-name {_q(group)}",
                f"aws iam attach-group-policy --group-name {_q(group)} --policy-arn {_q(managed_arn)}",
                f"aws iam add-user-to-group --user-name {_q(user.name)} --group-name {_q(group)}",
                f"aws iam delete-user-policy --user-name {_q(user.name)} --policy-name {_q(policy_name)}",
            ], user=user.name, policy_name=policy_name, managed_policy=managed, group=group)


def _attached_finding(account: Account, user: User, policy_arn: str, groups: _Names,
                      new_groups: dict[str, str]) -> Finding:
    """``policy-attached-to-user``, with a fix that never grants the user more than it has.

    A group may take over the policy only if it adds nothing: no inline policy, and no
    managed policy the user does not already hold. Otherwise the fix creates a group that
    holds the policy alone.
    """
    policy_name = policy_arn.rsplit("/", 1)[-1]
    holding = _groups_with(account, policy_arn)
    held = _managed_of(account, user)
    member = [g for g in holding if g in user.groups]
    fitting = [g for g in holding if not account.groups[g].inline and set(account.groups[g].attached) <= held]
    steps: list[str] = []
    if member:
        group = member[0]
    elif fitting:
        group = fitting[0]
        steps.append(f"aws iam add-user-to-group --user-name {_q(user.name)} --group-name {_q(group)}")
    else:
        if policy_arn not in new_groups:
            new_groups[policy_arn] = groups.new(f"{policy_name}-users")
        group = new_groups[policy_arn]
        shared = any(policy_arn in u.attached for u in account.users.values() if u is not user)
        steps += [f"aws iam create-group --group-name {_q(group)}"
                  + ("  # skip this and the next if another user's fix created it" if shared else ""),
                  f"aws iam attach-group-policy --group-name {_q(group)} --policy-arn {_q(policy_arn)}",
                  f"aws iam add-user-to-group --user-name {_q(user.name)} --group-name {_q(group)}"]
    steps.append(f"aws iam detach-user-policy --user-name {_q(user.name)} --policy-arn {_q(policy_arn)}")
    return _finding("policy-attached-to-user", user.arn,
                    f"managed policy `{policy_name}` is attached to user `{user.name}` directly", steps,
                    user=user.name, policy_arn=policy_arn, groups_with_policy=holding, group=group,
                    groups_granting_more=[g for g in holding if g not in member and g not in fitting])


def _is_admin(statement: Statement) -> bool:
    return (statement.effect == "Allow" and not statement.not_action and "*" in statement.actions
            and statement.resources is not None and not statement.not_resource and "*" in statement.resources)


def _parsed(document: Any, kind: PolicyKind, name: str, where: str, problems: list[Problem]) -> Policy | None:
    policy, errors = build_policy(document, kind, name, (where,))
    problems.extend(replace(p, severity="warning", hint=(p.hint + "; " if p.hint else "") + "not audited")
                    for p in errors)
    return policy


def _broad_grants(policy: Policy | None) -> list[LintFinding]:
    """What ``iamkit lint`` rates high in the policy, leaving out the statements that are
    administrator access (``admin-wildcard`` reports those whole)."""
    if policy is None:
        return []
    admin = {st.label for st in policy if _is_admin(st)}
    return [f for f in lint_policy(policy) if f.severity == "high" and f.statement not in admin]


def _broad_title(what: str, grants: Sequence[LintFinding]) -> str:
    kinds = "; ".join(dict.fromkeys(LINT_RULES[f.rule][1] for f in grants))
    where = ", ".join(dict.fromkeys(f.path for f in grants))
    return f"{what} grants more than a task needs: {kinds} ({where})"


def _broad_evidence(grants: Sequence[LintFinding]) -> list[dict[str, str]]:
    return [{"lint_rule": f.rule, "path": f.path, "message": f.message, "hint": f.hint} for f in grants]


def _admin_findings(account: Account, problems: list[Problem]) -> Iterator[Finding]:
    boundaries = {p.boundary for p in account.principals() if p.boundary}
    for arn, managed in sorted(account.policies.items()):
        holders = _attached_to(account, arn)
        if managed.aws_managed or (arn in boundaries and not holders):
            continue
        policy = _parsed(managed.document, PolicyKind.IDENTITY, managed.name, f"Policies[{managed.name}]", problems)
        fix = [f"aws iam list-entities-for-policy --policy-arn {_q(arn)}  # who has it",
               f"aws iam create-policy-version --policy-arn {_q(arn)} "
               "--policy-document file://least-privilege.json --set-as-default"]
        for st in (s for s in policy or () if _is_admin(s)):
            yield _finding("admin-wildcard", arn,
                           f"customer managed policy `{managed.name}` allows every action on every resource "
                           f"({st.label})", fix, policy=managed.name, policy_arn=arn, statement=st.label,
                           attached_to=holders, default_version=managed.default_version)
        if grants := _broad_grants(policy):
            yield _finding("broad-grant", arn, _broad_title(f"customer managed policy `{managed.name}`", grants),
                           [*fix, *(f"# {f.path}: {f.hint}" for f in grants)], policy=managed.name, policy_arn=arn,
                           grants=_broad_evidence(grants), attached_to=holders,
                           default_version=managed.default_version)
    holders_: list[User | Group | Role] = [*account.users.values(), *account.groups.values(), *account.roles.values()]
    for holder in holders_:
        for policy_name, document in holder.inline.items():
            policy = _parsed(document, PolicyKind.IDENTITY, policy_name, f"{holder.ref}/{policy_name}", problems)
            kind = holder.kind
            fix = [f"aws iam put-{kind}-policy --{kind}-name {_q(holder.name)} "
                   f"--policy-name {_q(policy_name)} --policy-document file://least-privilege.json",
                   f"aws iam delete-{kind}-policy --{kind}-name {_q(holder.name)} "
                   f"--policy-name {_q(policy_name)}  # or remove it"]
            for st in (s for s in policy or () if _is_admin(s)):
                yield _finding("admin-wildcard", holder.arn,
                               f"inline policy `{policy_name}` of {kind} `{holder.name}` allows every action on every "
                               f"resource ({st.label})", fix, policy=policy_name, attached_to=holder.ref,
                               statement=st.label)
            if grants := _broad_grants(policy):
                yield _finding("broad-grant", holder.arn,
                               _broad_title(f"inline policy `{policy_name}` of {kind} `{holder.name}`", grants),
                               [*fix, *(f"# {f.path}: {f.hint}" for f in grants)], policy=policy_name,
                               attached_to=holder.ref, grants=_broad_evidence(grants))


_CALLER_KEYS = frozenset(k.lower() for k in (
    "aws:PrincipalOrgID", "aws:PrincipalOrgPaths", "aws:PrincipalAccount", "aws:PrincipalArn", "aws:SourceAccount",
    "aws:SourceArn", "aws:SourceOrgID", "aws:SourceOrgPaths", "sts:ExternalId", "aws:SourceIp", "aws:SourceVpc",
    "aws:SourceVpce"))
"""Condition keys that narrow who may assume a role: the caller's organization, account or ARN,
the resource a service acts for, an external id, the network the call comes from."""

_GITHUB = re.compile(r":oidc-provider/(token\.actions\.githubusercontent\.com(?:/[^/:]+)?)$")


def _limits(statement: Statement, keys: Iterable[str]) -> bool:
    """Whether a condition of the statement only matches some values of one of ``keys``.

    A negated operator (``StringNotEquals``: every value but one), ``…IfExists`` (a request
    without the key passes), ``Null``, and values that are only wildcards (``*``,
    ``repo:*``) narrow nothing; neither does a condition on another key (``aws:SecureTransport``).
    """
    wanted = {k.lower() for k in keys}
    for condition in statement.conditions:
        base = condition.operator.base.name
        if condition.key.lower() not in wanted or condition.operator.if_exists or "Not" in base or base == "Null":
            continue
        if any(not _only_wildcards(str(v)) for v in condition.values):
            return True
    return False


def _only_wildcards(value: str) -> bool:
    return not value.removeprefix("repo:").strip("*?")


_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ROOT_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):root$")


def _trust_fix(role: Role, condition: Mapping[str, Any], flagged: Sequence[int],
               principal: Mapping[str, Any] | None = None) -> list[str]:
    """``update-assume-role-policy`` with the role's own trust policy, ``condition`` added to
    the flagged statements' own conditions."""
    document = json.loads(json.dumps(role.trust_policy))
    statements = document.get("Statement")
    listed = isinstance(statements, list)
    for number in flagged:
        statement = statements[number] if listed else statements
        if isinstance(statement, dict):
            merged = dict(statement.get("Condition") or {})
            for operator, keys in condition.items():
                merged[operator] = {**merged.get(operator, {}), **keys}
            statement["Condition"] = merged
            if principal is not None:
                statement["Principal"] = dict(principal)
    return [f"aws iam update-assume-role-policy --role-name {_q(role.name)} "
            f"--policy-document {_q(json.dumps(document, separators=(',', ':')))}"]


def _trust_findings(account: Account, problems: list[Problem]) -> Iterator[Finding]:
    for role in account.roles.values():
        if role.path.startswith(SERVICE_LINKED_PATH) or not role.trust_policy:
            continue
        trust = _parsed(role.trust_policy, PolicyKind.TRUST, role.name, f"{role.ref}/trust", problems)
        wildcard, outsiders, github, issuers = [], [], [], []
        for st in trust or ():
            if st.effect != "Allow" or st.principal_element != "Principal":
                continue
            found = [m.group(1) for p in (st.principals or {}).get("Federated", ()) if (m := _GITHUB.search(p))]
            if found and any(action_matches(a, "sts:AssumeRoleWithWebIdentity") for a in st.actions) \
                    and not st.not_action and not _limits(st, {f"{issuer}:sub" for issuer in found}):
                github.append(st)
                issuers += found
            if _limits(st, _CALLER_KEYS):
                continue
            if st.principals is None or "*" in st.principals.get("AWS", ()):
                wildcard.append(st)
            others = sorted(v for v in st.principals.get("AWS", ()) if v != "*") if st.principals else []
            accounts = [v for v in others if (_ACCOUNT_ID.match(v) and v != account.account_id)
                        or ((m := _ROOT_ARN.match(v)) and m.group(1) != account.account_id)]
            if accounts:
                outsiders.append((st, accounts))
        if wildcard:
            labels = [st.label for st in wildcard]
            yield _finding("trust-wildcard-principal", role.arn,
                           f"role `{role.name}` may be assumed by any AWS principal ({', '.join(labels)})",
                           _trust_fix(role, {"StringEquals": {"aws:PrincipalOrgID": "o-EXAMPLE"}},
                                      [st.number for st in wildcard]) +
                           ["# or name the principals that need the role instead of \"*\""],
                           role=role.name, statements=labels, trusted=["*"])
        if github:
            labels = [st.label for st in github]
            yield _finding("trust-github-no-sub", role.arn,
                           f"role `{role.name}` may be assumed from any GitHub repository's workflows "
                           f"({', '.join(labels)})",
                           _trust_fix(role, {"StringEquals": {f"{issuers[0]}:aud": "sts.amazonaws.com"},
                                             "StringLike": {f"{issuers[0]}:sub": "repo:OWNER/REPO:ref:refs/heads/BRANCH"}},
                                      [st.number for st in github]) +
                           ["# OWNER/REPO and BRANCH: the repository and branch whose workflows need the role"],
                           role=role.name, statements=labels)
        if outsiders:
            labels = [st.label for st, _ in outsiders]
            accounts = sorted({a for _, found in outsiders for a in found})
            yield _finding("trust-account-no-condition", role.arn,
                           f"role `{role.name}` may be assumed from account {', '.join(accounts)} with no condition",
                           _trust_fix(role, {"StringEquals": {"sts:ExternalId": "EXTERNAL_ID"}},
                                      [st.number for st, _ in outsiders]) +
                           ["# EXTERNAL_ID: the value the third party gave you; for your own organization's accounts, "
                            "use aws:PrincipalOrgID instead"],
                           role=role.name, statements=labels, accounts=accounts)


def _missing(account: Account) -> Iterator[Problem]:
    """What the export names but does not hold: the audit cannot look at it. (AWS managed
    policies are never audited, so a missing one hides nothing.)"""
    hint = "export with `aws iam get-account-authorization-details` without `--filter`; not audited"
    holders: list[User | Group | Role] = [*account.users.values(), *account.groups.values(), *account.roles.values()]
    for holder in holders:
        for arn in holder.attached:
            if arn not in account.policies and ":iam::aws:policy/" not in arn:
                yield Problem(f"Policies[{arn}]", f"policy `{arn.rsplit('/', 1)[-1]}` attached to {holder.ref} is not "
                              "in the export", hint, severity="warning")
    for user in account.users.values():
        for name in user.groups:
            if name not in account.groups:
                yield Problem(f"GroupDetailList[{name}]", f"group `{name}` of {user.ref} is not in the export", hint,
                              severity="warning")


def _role_findings(account: Account, now: datetime) -> Iterator[Finding]:
    for role in account.roles.values():
        if role.path.startswith(SERVICE_LINKED_PATH) or role.created is None:
            continue
        age = _days(now, role.created)
        idle = _days(now, role.last_used) if role.last_used else None
        if age <= UNUSED_DAYS or (idle is not None and idle <= UNUSED_DAYS):
            continue
        name = _q(role.name)
        steps = [f"aws iam get-role --role-name {name} --query Role.RoleLastUsed  # check it is still unused"]
        steps += [f"aws iam remove-role-from-instance-profile --instance-profile-name {_q(p)} --role-name {name}"
                  for p in role.instance_profiles]
        steps += [f"aws iam detach-role-policy --role-name {name} --policy-arn {_q(arn)}" for arn in role.attached]
        steps += [f"aws iam delete-role-policy --role-name {name} --policy-name {_q(p)}" for p in role.inline]
        steps.append(f"aws iam delete-role --role-name {name}")
        title = (f"role `{role.name}` was last used {idle} days ago" if idle is not None
                 else f"role `{role.name}` has not been used since it was created {age} days ago")
        yield _finding("role-unused", role.arn, title, steps, role=role.name, created=role.created,
                       last_used=role.last_used, age_days=age, unused_days=idle, max_unused_days=UNUSED_DAYS)


def audit(account: Account, credential_report: str | bytes | Sequence[CredentialRow] | None = None, *,
          now: datetime | date | None = None) -> AuditReport:
    """Check an account against AWS's IAM best practices.

    Args:
        account: the account, from ``get-account-authorization-details``
            (:meth:`Account.from_file`, :meth:`Account.from_client`, …).
        credential_report: the credential report's CSV (or rows already parsed). Without it
            the root, MFA, password and access-key rules cannot run; the report says so.
        now: when to measure ages from (default: now, UTC); a naive datetime is taken as UTC.

    Returns:
        The :class:`AuditReport`: findings sorted by severity, rule and principal. What could
        not be audited is in ``report.problems``: rows of the credential report that cannot be
        read, policies that cannot be parsed, and customer managed policies and groups the
        export names but does not hold. The rest is audited.

    Raises:
        AuditError: the credential report is unusable as a whole (empty, or its header lacks a
            column the audit needs).
    """
    moment = _utc(now) or datetime.now(timezone.utc).replace(microsecond=0)
    problems: list[Problem] = []
    notes: list[str] = []
    findings: list[Finding] = []
    if credential_report is None:
        notes.append("no credential report: root-access-keys, root-no-mfa, user-no-mfa, password-never-used and the "
                     "access-key rules were not checked (aws iam generate-credential-report, then "
                     "aws iam get-credential-report)")
    else:
        if isinstance(credential_report, (str, bytes)):
            rows, row_problems = read_credential_report(credential_report)
            problems.extend(row_problems)
        else:
            rows = list(credential_report)
        findings.extend(_credential_findings(account, rows, moment))
        if not any(r.is_root for r in rows):
            notes.append("the credential report has no `<root_account>` row: the root user was not checked")
    problems.extend(_missing(account))
    findings.extend(_user_findings(account))
    findings.extend(_admin_findings(account, problems))
    findings.extend(_trust_findings(account, problems))
    findings.extend(_role_findings(account, moment))
    unique = {(f.rule, f.principal, f.title): f for f in findings}
    ordered = sorted(unique.values(), key=Finding.sort_key)
    return AuditReport(account.account_id, moment, tuple(ordered), tuple(problems), tuple(notes))
