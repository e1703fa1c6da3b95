"""The IAM credential report, read into typed rows: passwords, MFA, access keys and
signing certificates of every user and of the root user.

The report is what ``aws iam generate-credential-report`` then ``aws iam
get-credential-report`` give: a CSV, printed base64-encoded in the command's JSON
``Content``. :func:`parse_credential_report` takes the CSV, the base64 text or that JSON;
dates become timezone-aware datetimes and ``N/A``, ``no_information`` and ``not_supported``
become None. Every malformed row is reported with its line and column, and the others are
kept. :func:`iamkit.analysis.audit.audit` checks the rows against AWS's best practices.

Sources:

- The credential report's columns:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html
- Access keys (two per user, rotation): https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html
"""

from __future__ import annotations

import base64
import binascii
import csv
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Mapping

from ..engine.reading import load_json
from ..errors import AuditError, InputError, Problem, suggest

__all__ = [
    "ROOT",
    "AccessKey",
    "Certificate",
    "CredentialRow",
    "parse_credential_report",
    "read_credential_report",
]

ROOT = "<root_account>"
"""The credential report's name for the root user."""


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


def read_credential_report(text: str | bytes) -> tuple[list[CredentialRow], list[Problem]]:
    """Read a credential report, keeping the rows that can be read.

    Args:
        text: the report, in any form :func:`parse_credential_report` accepts.

    Returns:
        (every readable row, a problem for each row that was skipped), in file order.

    Raises:
        AuditError: only when the report is unusable as a whole (empty, or its header lacks
            a column the audit needs).
    """
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
    rows, problems = read_credential_report(text)
    if problems:
        raise AuditError(problems, rows)
    return rows

