"""A best-practice audit of an AWS account's IAM, with the command that fixes each finding.

Two inputs, both read-only exports of a real account (or of the sandbox):

- the account's IAM configuration, from ``aws iam get-account-authorization-details``
  (an :class:`~iamkit.account.Account`): policies, trust policies, roles' last use;
- optionally the **credential report** (``aws iam generate-credential-report`` then
  ``aws iam get-credential-report``, its ``Content`` base64-decoded): passwords, MFA and
  access keys of every user and of the root user, which the first export does not hold.

Every :class:`Finding` names its rule, severity and principal, says why it matters (quoting
AWS's best-practice pages), and gives the ``aws`` command(s) that fix it with the account's
real names filled in. The credential report carries no access key IDs, so commands that act
on one key say ``KEY_ID`` and begin with the ``list-access-keys`` call that shows it.

The rules and their thresholds (the numbers are the module constants below), most severe first:

- ``root-access-keys`` (critical): the ``<root_account>`` row has an active access key.
- ``root-no-mfa`` (critical): the ``<root_account>`` row has ``mfa_active`` false.
- ``trust-wildcard-principal`` (critical): a trust policy allows ``Principal: "*"`` (or
  ``{"AWS": "*"}``) with no ``Condition``.
- ``user-no-mfa`` (high): a user has a password and no MFA device.
- ``admin-wildcard`` (high): a customer managed or inline policy allows ``Action: "*"`` on
  ``Resource: "*"``.
- ``access-key-old`` (medium): an active key was last rotated more than 90 days ago.
- ``access-key-unused`` (medium): an active key has not been used for more than 90 days, or
  was never used and is more than 7 days old.
- ``password-never-used`` (medium): a user has a password never used to sign in.
- ``role-unused`` (medium): a role older than 90 days was not used in the last 90 days
  (service-linked roles, under ``/aws-service-role/``, are skipped).
- ``trust-account-no-condition`` (medium): a trust policy allows another account (its id or
  its root ARN) with no ``Condition`` such as ``sts:ExternalId``.
- ``access-keys-two-active`` (low): a user has two active access keys.
- ``policy-attached-to-user`` (low): a managed policy is attached to a user, not a group.
- ``inline-policy`` (low): a user has an inline policy.

Choices iamkit made, and why:

- 90 days for key age and for unused credentials and roles: the defaults of AWS Config's
  managed rules ``access-keys-rotated`` (``maxAccessKeyAge``) and
  ``iam-user-unused-credentials-check`` (``maxCredentialUsageAge``).
- 7 days' grace for a never-used access key: time to deploy a new key (AWS suggests waiting
  "several days" while rotating). A never-used *password* gets no grace.
- Inline policies are flagged on users only. On a role an inline policy is the one-to-one
  binding AWS describes as the use case for inline policies; a group's is already shared.
- ``admin-wildcard`` never flags AWS managed policies (``AdministratorAccess`` is AWS's own,
  meant for administrators), nor a customer managed policy used only as a permissions
  boundary (a boundary grants nothing). Who holds such a policy shows up through
  ``policy-attached-to-user`` when it is attached to a user directly.
- Trust rules follow the statement as written: any ``Condition`` silences them.

Sources:

- Security best practices in IAM: https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html
- Root user best practices: https://docs.aws.amazon.com/accounts/latest/reference/best-practices-root-user.html
- The credential report's columns:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html
- Access keys (two per user, rotation): https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html
- Managed versus inline policies:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies-choosing-managed-or-inline.html
- User groups: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_groups.html
- The confused deputy problem: https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html
- AWS Config rules: https://docs.aws.amazon.com/config/latest/developerguide/access-keys-rotated.html,
  https://docs.aws.amazon.com/config/latest/developerguide/iam-user-unused-credentials-check.html
- ``DeleteAccessKey`` without a user name acts on the caller's (the root user's) own key:
  https://docs.aws.amazon.com/cli/latest/reference/iam/delete-access-key.html
"""

from __future__ import annotations

import argparse
import base64
import binascii
import csv
import json
import re
import shlex
import sys
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from html import escape
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence

from ..account.model import Account, AccountError, Group, Role, User, load_account
from ..display import RichDisplay
from ..engine.policy import Policy, PolicyKind, Statement, build_policy
from ..engine.reading import load_json, read_bytes
from ..errors import EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK, AuditError, InputError, Problem, printable, suggest

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__all__ = [
    "KEY_MAX_AGE_DAYS",
    "NEW_KEY_GRACE_DAYS",
    "RULES",
    "SEVERITIES",
    "UNUSED_DAYS",
    "AccessKey",
    "AuditError",
    "AuditReport",
    "Certificate",
    "CredentialRow",
    "Finding",
    "Rule",
    "audit",
    "parse_credential_report",
    "register_cli",
]

KEY_MAX_AGE_DAYS = 90
"""An active access key last rotated longer ago than this is ``access-key-old`` (AWS Config's
``access-keys-rotated`` default)."""

UNUSED_DAYS = 90
"""Keys and roles not used for longer than this are unused (AWS Config's
``iam-user-unused-credentials-check`` default); a role must also be older than this."""

NEW_KEY_GRACE_DAYS = 7
"""A never-used active key younger than this is left alone: it may be on its way to its application."""

SEVERITIES = ("critical", "high", "medium", "low")
"""Severities, most severe first: findings sort in this order."""

ROOT = "<root_account>"
"""The credential report's name for the root user."""

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
    Rule("user-no-mfa", "high", "a user signs in with a password and no MFA",
         "With a password alone, anyone who learns it signs in as this user. AWS's IAM best practices: \"for scenarios "
         "in which you need an IAM user or root user in your account, require MFA for additional security.\"",
         f"{_BEST}#enable-mfa-for-privileged-users"),
    Rule("admin-wildcard", "high", "a policy allows every action on every resource",
         "`\"Action\": \"*\"` on `\"Resource\": \"*\"` is full administrator access. AWS's IAM best practices: "
         "\"grant only the permissions required to perform a task.\"", f"{_BEST}#grant-least-privilege"),
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

_RANK = {s: i for i, s in enumerate(SEVERITIES)}


# ── findings and the report ────────────────────────────────────────────────────


@dataclass(frozen=True)
class Finding:
    """One departure from a best practice.

    Attributes:
        rule: the rule's id (see :data:`RULES`).
        severity: ``critical``, ``high``, ``medium`` or ``low``.
        principal: the ARN of the user, role or policy; ``<root_account>`` for the root user.
        title: what is wrong, naming the principal.
        why: why it matters, citing AWS's best practice.
        fix: the ``aws`` command(s) that fix it, one a line; ``#`` starts a comment.
        evidence: the facts that triggered it (JSON-ready: dates as ISO 8601 text).
        docs: the AWS page the ``why`` comes from.
    """

    rule: str
    severity: str
    principal: str
    title: str
    why: str
    fix: str
    evidence: Mapping[str, Any] = field(default_factory=dict, hash=False)
    docs: str = ""

    @property
    def name(self) -> str:
        """The principal's short name: ``dave``, ``AppRole``, ``EverythingPolicy``, ``<root_account>``."""
        return _short_name(self.principal)

    def sort_key(self) -> tuple[int, str, str, str]:
        """(severity rank, rule, principal, title): the report's order."""
        return (_RANK.get(self.severity, len(SEVERITIES)), self.rule, self.principal, self.title)

    def to_dict(self) -> dict[str, Any]:
        """The finding as plain JSON-ready data."""
        return {"rule": self.rule, "severity": self.severity, "principal": self.principal, "name": self.name,
                "title": self.title, "why": self.why, "fix": self.fix, "evidence": dict(self.evidence),
                "docs": self.docs}

    def __repr__(self) -> str:
        return f"<Finding {self.severity} {self.rule} {self.principal}>"


def _short_name(principal: str) -> str:
    if principal.startswith("arn:"):
        return principal.split(":", 5)[-1].rsplit("/", 1)[-1]
    return principal


@dataclass(frozen=True)
class AuditReport(RichDisplay):
    """The findings of an audit, sorted by severity, rule and principal.

    Iterate over it, take ``len()``, group with :meth:`by_rule`. In Jupyter it displays as a
    table; :meth:`explain` is the same as text, :meth:`to_json` as JSON.

    Attributes:
        account_id: the audited account.
        now: the moment ages were measured from.
        findings: every finding, most severe first.
        problems: what could not be read (bad credential-report rows, unparsable policies);
            the audit went on without them.
        notes: what the audit could not check, and why.
    """

    account_id: str
    now: datetime
    findings: tuple[Finding, ...] = ()
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.findings)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def by_rule(self) -> dict[str, list[Finding]]:
        """The findings grouped by rule id, in the report's order."""
        out: dict[str, list[Finding]] = {}
        for finding in self.findings:
            out.setdefault(finding.rule, []).append(finding)
        return out

    def counts(self) -> dict[str, int]:
        """How many findings of each severity (every severity listed, most severe first)."""
        counts = dict.fromkeys(SEVERITIES, 0)
        for finding in self.findings:
            counts[finding.severity] = counts.get(finding.severity, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data."""
        return {
            "accountId": self.account_id,
            "now": _iso(self.now),
            "counts": self.counts(),
            "findings": [f.to_dict() for f in self.findings],
            "problems": [p.to_dict() for p in self.problems],
            "notes": list(self.notes),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def to_frame(self) -> pandas.DataFrame:
        """The findings as a pandas DataFrame, one row each (pandas is imported only here).

        Raises:
            ImportError: pandas is not installed.
        """
        import pandas

        columns = ["severity", "rule", "principal", "name", "title", "why", "fix", "docs", "evidence"]
        return pandas.DataFrame([f.to_dict() for f in self.findings], columns=columns)

    def _headline(self) -> str:
        when = self.now.date().isoformat()
        if not self.findings:
            return f"audit of account {self.account_id} on {when}: no findings"
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items() if n)
        n = len(self.findings)
        return f"audit of account {self.account_id} on {when}: {n} finding{'s' if n != 1 else ''} ({counts})"

    def explain(self) -> str:
        """The report as text: a table of findings, then each finding's why, fix and docs."""
        lines = [self._headline()]
        if self.findings:
            rows = [(f.severity, f.rule, f.principal, f.title) for f in self.findings]
            widths = [max(len(r[i]) for r in rows + [("severity", "rule", "principal", "")]) for i in range(3)]
            lines.append("")
            lines.append(f"{'severity':<{widths[0]}}  {'rule':<{widths[1]}}  {'principal':<{widths[2]}}  finding")
            for sev, rule, principal, title in rows:
                lines.append(f"{sev:<{widths[0]}}  {rule:<{widths[1]}}  {principal:<{widths[2]}}  {title}")
            for number, f in enumerate(self.findings, 1):
                lines.append("")
                lines.append(f"{number}. [{f.severity}] {f.rule}: {f.title}")
                lines.append(f"   why:  {f.why}")
                fix = f.fix.splitlines() or [""]
                lines.append(f"   fix:  {fix[0]}")
                lines.extend(f"         {line}" for line in fix[1:])
                lines.append(f"   docs: {f.docs}")
        if self.problems:
            lines.append("")
            lines.append("not audited (could not be read):")
            lines.extend(f"  {p}" for p in self.problems)
        if self.notes:
            lines.append("")
            lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.explain()

    def __repr__(self) -> str:
        if not self.findings:
            return f"<AuditReport account {self.account_id}: no findings>"
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items() if n)
        return f"<AuditReport account {self.account_id}: {len(self.findings)} findings ({counts})>"

    def _repr_html_(self) -> str:
        e = escape
        out = [f"<div class=\"iamkit-audit\"><p><strong>{e(self._headline())}</strong></p>"]
        if self.findings:
            out.append("<table><thead><tr><th>severity</th><th>rule</th><th>principal</th><th>finding</th>"
                       "<th>fix</th></tr></thead><tbody>")
            for f in self.findings:
                out.append(
                    f"<tr class=\"severity-{e(f.severity)}\"><td>{e(f.severity)}</td><td><code>{e(f.rule)}</code></td>"
                    f"<td><code>{e(f.principal)}</code></td>"
                    f"<td>{e(f.title)}<br><small>{e(f.why)} <a href=\"{e(f.docs, quote=True)}\" target=\"_blank\" "
                    f"rel=\"noopener noreferrer\">AWS docs</a></small></td>"
                    f"<td><pre>{e(f.fix)}</pre></td></tr>")
            out.append("</tbody></table>")
        if self.problems:
            out.append("<p>Not audited (could not be read):</p><ul>")
            out.extend(f"<li><code>{e(str(p))}</code></li>" for p in self.problems)
            out.append("</ul>")
        if self.notes:
            out.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in self.notes) + "</ul>")
        out.append("</div>")
        return "".join(out)

    def _representations(self) -> dict[str, Callable[[], str]]:
        return {"text/plain": self.explain, "text/html": self._repr_html_}


# ── the credential report ──────────────────────────────────────────────────────


@dataclass(frozen=True)
class AccessKey:
    """One of a user's two access-key slots, as the credential report describes it.

    Attributes:
        number: 1 or 2.
        active: the key exists and its status is ``Active``.
        last_rotated: when it was created or last changed, or None.
        last_used: when it last signed a request, or None (``N/A``: never, or not tracked).
        last_used_region, last_used_service: where it was last used, or None.
    """

    number: int
    active: bool
    last_rotated: datetime | None
    last_used: datetime | None
    last_used_region: str | None = None
    last_used_service: str | None = None


@dataclass(frozen=True)
class Certificate:
    """One of a user's two X.509 signing-certificate slots."""

    number: int
    active: bool
    last_rotated: datetime | None


@dataclass(frozen=True)
class CredentialRow:
    """One row of the credential report: a user's (or the root user's) credentials.

    Attributes:
        user: the user's name, ``<root_account>`` for the root user.
        arn: the user's ARN (the account's root ARN for the root user).
        line: the row's line in the CSV text (the header is line 1).
        user_creation_time: when the user was created.
        password_enabled: True or False; None for the root user (``not_supported``).
        password_last_used: the last console sign-in, or None (``no_information``, ``N/A``).
        password_last_changed, password_next_rotation: or None.
        mfa_active: an MFA device is enabled.
        access_keys: both access-key slots.
        certificates: both signing-certificate slots.
        raw: the row as written, by column name.
    """

    user: str
    arn: str
    line: int
    user_creation_time: datetime | None
    password_enabled: bool | None
    password_last_used: datetime | None
    password_last_changed: datetime | None
    password_next_rotation: datetime | None
    mfa_active: bool
    access_keys: tuple[AccessKey, ...]
    certificates: tuple[Certificate, ...] = ()
    raw: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False, hash=False)

    @property
    def is_root(self) -> bool:
        """True for the ``<root_account>`` row."""
        return self.user == ROOT


_MISSING = {"n/a", "no_information", "not_supported", ""}
_KEY_COLUMNS = [f"access_key_{n}_{part}" for n in (1, 2)
                for part in ("active", "last_rotated", "last_used_date", "last_used_region", "last_used_service")]
_COLUMNS: dict[str, str] = {
    "user": "text", "arn": "text", "user_creation_time": "date", "password_enabled": "bool",
    "password_last_used": "date", "password_last_changed": "date", "password_next_rotation": "date",
    "mfa_active": "bool",
    **{c: "bool" if c.endswith("_active") else "date" if c.endswith(("_rotated", "_date")) else "text"
       for c in _KEY_COLUMNS},
    "cert_1_active": "bool", "cert_1_last_rotated": "date", "cert_2_active": "bool", "cert_2_last_rotated": "date",
}
_REQUIRED = ("user", "arn", "password_enabled", "password_last_used", "mfa_active",
             *(f"access_key_{n}_{part}" for n in (1, 2) for part in ("active", "last_rotated", "last_used_date")))
_HINT = "give the CSV of `aws iam get-credential-report`, its `Content` base64-decoded"


def _decode_report(text: str | bytes) -> str:
    """The CSV text, from CSV text or bytes, base64, or the JSON ``get-credential-report`` prints."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise AuditError([Problem("$", f"the credential report is not UTF-8 text (byte {exc.start + 1})", _HINT,
                                      line=1, column=1)]) from None
    text = text.lstrip("\ufeff")
    if text.lstrip().startswith("{"):
        try:
            data, _ = load_json(text)
        except InputError as exc:
            raise AuditError([replace(p, message=f"not a credential report, and not readable JSON: "
                                      f"{p.message.removeprefix('not valid JSON: ')}", hint=_HINT)
                              for p in exc.problems]) from None
        content = data.get("Content") if isinstance(data, dict) else None
        if not isinstance(content, str):
            raise AuditError([Problem("$", "JSON without a `Content` string: not the output of "
                                      "`aws iam get-credential-report`", _HINT, line=1, column=1)])
        text = content
    stripped = text.strip()
    if stripped and "," not in stripped.split("\n", 1)[0]:
        try:
            decoded = base64.b64decode("".join(stripped.split()), validate=True).decode("utf-8-sig")
        except (binascii.Error, ValueError):
            decoded = None
        if decoded is not None and "," in decoded.split("\n", 1)[0]:
            return decoded
    return text


def _field_starts(line: str) -> list[int]:
    """The 1-based character column where each CSV field of a line starts."""
    starts, quoted = [1], False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            starts.append(i + 2)
    return starts


def _parse_date(value: str) -> datetime:
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _parse_value(kind: str, value: str) -> tuple[Any, str | None]:
    """(value, error message) for one field."""
    v = value.strip()
    if kind == "text":
        return (None if v.lower() in _MISSING else v), None
    if kind == "bool":
        if v.lower() in ("true", "false"):
            return v.lower() == "true", None
        if v.lower() in _MISSING:
            return None, None
        return None, f"`{value}` is not `true` or `false`"
    if v.lower() in _MISSING:
        return None, None
    try:
        return _parse_date(v), None
    except ValueError:
        return None, f"`{value}` is not an ISO 8601 date-time, `N/A` or `no_information`"


def _parse(text: str | bytes) -> tuple[list[CredentialRow], list[Problem]]:
    """Every readable row and every problem; raises only when the header is unusable."""
    lines = _decode_report(text).split("\n")
    header_line = lines[0].rstrip("\r") if lines else ""
    if not header_line.strip():
        raise AuditError([Problem("header", "the credential report is empty", _HINT, line=1, column=1)])
    header = [h.strip() for h in next(csv.reader([header_line]))]
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        header_problems = []
        for column in missing:
            hint = suggest(column, [h for h in header if h not in _COLUMNS]) or _HINT
            header_problems.append(Problem("header", f"the header has no `{column}` column", hint, line=1, column=1))
        raise AuditError(header_problems)
    index = {name: i for i, name in reversed(list(enumerate(header)))}
    rows: list[CredentialRow] = []
    problems: list[Problem] = []
    for number, raw_line in enumerate(lines[1:], start=2):
        line = raw_line.rstrip("\r")
        if not line.strip():
            continue
        fields = next(csv.reader([line]))
        starts = _field_starts(line)
        if len(fields) != len(header):
            problems.append(Problem(
                "row", f"{len(fields)} field{'s' if len(fields) != 1 else ''} where the header has {len(header)}; "
                "the row was skipped", "every row of a credential report has one field per header column",
                line=number, column=1))
            continue
        values: dict[str, Any] = {}
        row_problems = []
        for column, kind in _COLUMNS.items():
            if column not in index:
                values[column] = None
                continue
            i = index[column]
            value, error = _parse_value(kind, fields[i])
            if error:
                row_problems.append(Problem(column, f"{error} (field {i + 1}); the row was skipped", None,
                                            line=number, column=starts[i] if i < len(starts) else 1))
            values[column] = value
        if not values["user"]:
            row_problems.append(Problem("user", "the row has no user name; the row was skipped", None,
                                        line=number, column=starts[index["user"]]))
        if row_problems:
            problems.extend(row_problems)
            continue
        keys = tuple(AccessKey(n, bool(values[f"access_key_{n}_active"]), values[f"access_key_{n}_last_rotated"],
                               values[f"access_key_{n}_last_used_date"], values[f"access_key_{n}_last_used_region"],
                               values[f"access_key_{n}_last_used_service"]) for n in (1, 2))
        certs = tuple(Certificate(n, bool(values[f"cert_{n}_active"]), values[f"cert_{n}_last_rotated"])
                      for n in (1, 2) if f"cert_{n}_active" in index)
        rows.append(CredentialRow(
            user=values["user"], arn=values["arn"] or "", line=number,
            user_creation_time=values["user_creation_time"], password_enabled=values["password_enabled"],
            password_last_used=values["password_last_used"], password_last_changed=values["password_last_changed"],
            password_next_rotation=values["password_next_rotation"], mfa_active=bool(values["mfa_active"]),
            access_keys=keys, certificates=certs, raw=dict(zip(header, fields, strict=True))))
    return rows, problems


def parse_credential_report(text: str | bytes) -> list[CredentialRow]:
    """Read a credential report into typed rows, dates parsed, ``N/A`` and friends as None.

    Args:
        text: the CSV (``aws iam get-credential-report --query Content --output text | base64 -d``);
            the base64 text itself, or the JSON the command prints, are accepted too.

    Returns:
        One :class:`CredentialRow` per user, the ``<root_account>`` row included, in file order.

    Raises:
        AuditError: with every problem, each naming its line and column. When only some rows
            are malformed, ``error.rows`` holds the others (:func:`audit` reports the bad rows
            and audits the rest).
    """
    rows, problems = _parse(text)
    if problems:
        raise AuditError(problems, rows)
    return rows


# ── the audit ──────────────────────────────────────────────────────────────────


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


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
                   {k: _iso(v) if isinstance(v, datetime) else v for k, v in evidence.items()}, rule.docs)


def _key_lines(user: str, key: AccessKey) -> list[str]:
    """How to find the KEY_ID of a key the credential report describes (it holds no key IDs)."""
    created = f" (created {_iso(key.last_rotated)})" if key.last_rotated else ""
    return [f"aws iam list-access-keys --user-name {_q(user)}  # KEY_ID: access key {key.number}{created}"]


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
            yield from _key_findings(user, arn, key, now, row.line)
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
        created = f" (created {_iso(key.last_rotated)})" if key.last_rotated else ""
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


def _key_findings(user: str, arn: str, key: AccessKey, now: datetime, line: int) -> Iterator[Finding]:
    deactivate = [
        *_key_lines(user, key),
        f"aws iam update-access-key --user-name {_q(user)} --access-key-id KEY_ID --status Inactive",
        f"aws iam delete-access-key --user-name {_q(user)} --access-key-id KEY_ID  # once nothing broke",
    ]
    age = _days(now, key.last_rotated) if key.last_rotated else None
    if age is not None and age > KEY_MAX_AGE_DAYS:
        yield _finding("access-key-old", arn, f"access key {key.number} of user `{user}` is {age} days old", [
            f"aws iam create-access-key --user-name {_q(user)}  # give the new key to the key's applications, then:",
            *deactivate,
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


def _user_findings(account: Account) -> Iterator[Finding]:
    for user in account.users.values():
        for policy_arn in user.attached:
            policy_name = policy_arn.rsplit("/", 1)[-1]
            groups = _groups_with(account, policy_arn)
            group = groups[0] if groups else f"{policy_name}-users"[:128]
            steps = [] if groups else [f"aws iam create-group --group-name {_q(group)}",
                                       f"aws iam attach-group-policy --group-name {_q(group)} --policy-arn {_q(policy_arn)}"]
            yield _finding("policy-attached-to-user", user.arn,
                           f"managed policy `{policy_name}` is attached to user `{user.name}` directly", [
                               *steps,
                               f"aws iam add-user-to-group --user-name {_q(user.name)} --group-name {_q(group)}",
                               f"aws iam detach-user-policy --user-name {_q(user.name)} --policy-arn {_q(policy_arn)}",
                           ], user=user.name, policy_arn=policy_arn, groups_with_policy=groups)
        for policy_name in user.inline:
            group = f"{policy_name}-users"[:128]
            managed_arn = f"arn:{_partition(user.arn)}:iam::{account.account_id}:policy/{policy_name}"
            document = f"{policy_name}.json"
            yield _finding("inline-policy", user.arn, f"user `{user.name}` has inline policy `{policy_name}`", [
                f"aws iam get-user-policy --user-name {_q(user.name)} --policy-name {_q(policy_name)} "
                f"--query PolicyDocument --output json > {_q(document)}",
                f"aws iam create-policy --policy-name {_q(policy_name)} --policy-document {_q('file://' + document)}",
                f"aws iam create-group --group-name {_q(group)}",
                f"aws iam attach-group-policy --group-name {_q(group)} --policy-arn {_q(managed_arn)}",
                f"aws iam add-user-to-group --user-name {_q(user.name)} --group-name {_q(group)}",
                f"aws iam delete-user-policy --user-name {_q(user.name)} --policy-name {_q(policy_name)}",
            ], user=user.name, policy_name=policy_name)


def _is_admin(statement: Statement) -> bool:
    return (statement.effect == "Allow" and not statement.not_action and "*" in statement.actions
            and statement.resources is not None and not statement.not_resource and "*" in statement.resources)


def _parsed(document: Any, kind: PolicyKind, name: str, where: str, problems: list[Problem]) -> Policy | None:
    policy, errors = build_policy(document, kind, name, (where,))
    problems.extend(replace(p, severity="warning", hint=(p.hint + "; " if p.hint else "") + "not audited")
                    for p in errors)
    return policy


def _admin_findings(account: Account, problems: list[Problem]) -> Iterator[Finding]:
    boundaries = {p.boundary for p in account.principals() if p.boundary}
    for arn, managed in sorted(account.policies.items()):
        holders = _attached_to(account, arn)
        if managed.aws_managed or (arn in boundaries and not holders):
            continue
        policy = _parsed(managed.document, PolicyKind.IDENTITY, managed.name, f"Policies[{managed.name}]", problems)
        for st in (s for s in policy or () if _is_admin(s)):
            yield _finding("admin-wildcard", arn,
                           f"customer managed policy `{managed.name}` allows every action on every resource "
                           f"({st.label})", [
                               f"aws iam list-entities-for-policy --policy-arn {_q(arn)}  # who has it",
                               f"aws iam create-policy-version --policy-arn {_q(arn)} "
                               "--policy-document file://least-privilege.json --set-as-default",
                           ], policy=managed.name, policy_arn=arn, statement=st.label, attached_to=holders,
                           default_version=managed.default_version)
    holders_: list[User | Group | Role] = [*account.users.values(), *account.groups.values(), *account.roles.values()]
    for holder in holders_:
        for policy_name, document in holder.inline.items():
            policy = _parsed(document, PolicyKind.IDENTITY, policy_name, f"{holder.ref}/{policy_name}", problems)
            for st in (s for s in policy or () if _is_admin(s)):
                kind = holder.kind
                yield _finding("admin-wildcard", holder.arn,
                               f"inline policy `{policy_name}` of {kind} `{holder.name}` allows every action on every "
                               f"resource ({st.label})", [
                                   f"aws iam put-{kind}-policy --{kind}-name {_q(holder.name)} "
                                   f"--policy-name {_q(policy_name)} --policy-document file://least-privilege.json",
                                   f"aws iam delete-{kind}-policy --{kind}-name {_q(holder.name)} "
                                   f"--policy-name {_q(policy_name)}  # or remove it",
                               ], policy=policy_name, attached_to=holder.ref, statement=st.label)


_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ROOT_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):root$")


def _trust_fix(role: Role, condition: Mapping[str, Any], flagged: Sequence[int],
               principal: Mapping[str, Any] | None = None) -> list[str]:
    """``update-assume-role-policy`` with the role's own trust policy, the flagged statements fixed."""
    document = json.loads(json.dumps(role.trust_policy))
    statements = document.get("Statement")
    listed = isinstance(statements, list)
    for number in flagged:
        statement = statements[number] if listed else statements
        if isinstance(statement, dict):
            statement["Condition"] = dict(condition)
            if principal is not None:
                statement["Principal"] = dict(principal)
    return [f"aws iam update-assume-role-policy --role-name {_q(role.name)} "
            f"--policy-document {_q(json.dumps(document, separators=(',', ':')))}"]


def _trust_findings(account: Account, problems: list[Problem]) -> Iterator[Finding]:
    for role in account.roles.values():
        if role.path.startswith(SERVICE_LINKED_PATH) or not role.trust_policy:
            continue
        trust = _parsed(role.trust_policy, PolicyKind.TRUST, role.name, f"{role.ref}/trust", problems)
        wildcard, outsiders = [], []
        for st in trust or ():
            if st.effect != "Allow" or st.principal_element != "Principal" or st.conditions:
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
        The :class:`AuditReport`: findings sorted by severity, rule and principal. Rows of the
        credential report that cannot be read are in ``report.problems``, and the rest are
        audited.

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
            rows, row_problems = _parse(credential_report)
            problems.extend(row_problems)
        else:
            rows = list(credential_report)
        findings.extend(_credential_findings(account, rows, moment))
        if not any(r.is_root for r in rows):
            notes.append("the credential report has no `<root_account>` row: the root user was not checked")
    findings.extend(_user_findings(account))
    findings.extend(_admin_findings(account, problems))
    findings.extend(_trust_findings(account, problems))
    findings.extend(_role_findings(account, moment))
    unique = {(f.rule, f.principal, f.title): f for f in findings}
    ordered = sorted(unique.values(), key=Finding.sort_key)
    return AuditReport(account.account_id, moment, tuple(ordered), tuple(problems), tuple(notes))


# ── the command line ───────────────────────────────────────────────────────────


def _date_argument(text: str) -> datetime:
    try:
        return _utc(datetime.fromisoformat(text.replace("Z", "+00:00")))  # type: ignore[return-value]
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text}` is not a date: use YYYY-MM-DD") from None


def register_cli(subparsers: Any) -> None:
    """Add ``iamkit audit EXPORT [--credential-report CSV] [--json] [--now YYYY-MM-DD]``.

    Exit status: 0 no findings, 1 findings, 2 bad input (an unreadable export or report,
    or credential-report rows that were skipped). Bad input never prints a traceback.

    Args:
        subparsers: what ``ArgumentParser.add_subparsers()`` returned; the command sets
            ``run`` to a function of the parsed arguments that returns the exit status.
    """
    parser = subparsers.add_parser(
        "audit", help="check an account against AWS's IAM best practices",
        description="Audit an account export (aws iam get-account-authorization-details > EXPORT) and, with "
                    "--credential-report, its credential report. Each finding says why it matters and the aws "
                    "command that fixes it. Exit status: 0 no findings, 1 findings, 2 bad input.")
    parser.add_argument("export", metavar="EXPORT", help="the JSON of `aws iam get-account-authorization-details`, "
                                                         "or - for standard input")
    parser.add_argument("--credential-report", metavar="CSV", default=None,
                        help="the credential report: `aws iam get-credential-report --query Content --output text "
                             "| base64 -d > CSV` (the command's JSON output is accepted too)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--now", type=_date_argument, default=None, metavar="YYYY-MM-DD",
                        help="measure ages from this date (default: today)")
    parser.set_defaults(run=run_cli)


def run_cli(args: argparse.Namespace) -> int:
    """Run ``iamkit audit`` on parsed arguments; returns the exit status."""
    try:
        account = load_account(args.export)
    except AccountError as exc:
        print(printable(f"iamkit: {exc}"), file=sys.stderr)
        return EXIT_BAD_INPUT
    report_text: bytes | None = None
    if args.credential_report is not None:
        try:
            report_text = read_bytes(args.credential_report)
        except InputError as exc:
            print(printable(f"iamkit: {exc.problems[0].message}"), file=sys.stderr)
            return EXIT_BAD_INPUT
    try:
        report = audit(account, report_text, now=args.now)
    except AuditError as exc:
        for problem in exc.problems:
            print(problem.located(args.credential_report), file=sys.stderr)
        return EXIT_BAD_INPUT
    print(report.to_json() if args.json else printable(report.explain()))
    errors = [p for p in report.problems if p.severity == "error"]
    for problem in report.problems:
        print(problem.located(args.credential_report if problem.severity == "error" else args.export),
              file=sys.stderr)
    if errors:
        return EXIT_BAD_INPUT
    return EXIT_FINDINGS if report.findings else EXIT_OK
