"""Reading AWS's ``get-account-authorization-details`` export into the account's entities.

The export is checked against AWS's shape first, and every misplaced field is reported with
its path (and its line and column in a file) before anything is built; policy documents are
accepted URL-encoded (the API), as JSON text or decoded (the CLI, boto3); pages are merged.

Sources: https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
"""

from __future__ import annotations

import pathlib
import re
import urllib.parse
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Mapping, NamedTuple, Sequence

from ..engine.jsonpos import Positions
from ..engine.reading import MAX_EXPORT_BYTES, load_json, read_text
from ..errors import AccountError, InputError, Problem, format_path, json_type
from .entities import Group, InstanceProfile, ManagedPolicy, Role, User

__all__ = ["ExportParts", "read_export_file", "read_pages"]

_ACCOUNT_IN_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):")


class ExportParts(NamedTuple):
    """What an :class:`~iamkit.account.model.Account` is made of, in its constructor's order."""

    account_id: str
    users: dict[str, User]
    groups: dict[str, Group]
    roles: dict[str, Role]
    policies: dict[str, ManagedPolicy]
    instance_profiles: dict[str, InstanceProfile]


def _document(raw: Any, where: tuple[str | int, ...]) -> Any:
    """A policy document as the API (URL-encoded JSON), the CLI or boto3 (a dict) give it.

    Raises:
        AccountError: when a document given as text is not JSON, located at ``where`` in the
            export and, within the document's text, by line and column.
    """
    if isinstance(raw, str):
        text = raw if raw.lstrip().startswith("{") else urllib.parse.unquote(raw)
        try:
            return load_json(text, prefix=where)[0]
        except InputError as exc:
            problems = [replace(p, line=None, column=None, message=p.message + (
                f" (line {p.line}, column {p.column} of the document's text)" if p.line is not None else ""))
                for p in exc.problems]
            raise AccountError(_joined("the export", problems), problems) from None
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


def _inline(raw: Any, where: tuple[str | int, ...]) -> dict[str, Any]:
    return {p["PolicyName"]: _document(p["PolicyDocument"], (*where, p["PolicyName"], "PolicyDocument"))
            for p in raw or ()}


def _attached(raw: Any) -> tuple[str, ...]:
    return tuple(p["PolicyArn"] for p in raw or ())



def read_export_file(path: str | pathlib.Path, account_id: str | None = None) -> ExportParts:
    """Read an export written by ``aws iam get-account-authorization-details > FILE``.

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
        return read_pages(data, account_id, positions)
    except AccountError as exc:
        raise AccountError(_joined(name, exc.problems) if exc.problems else f"{name}: {exc}", exc.problems) from None


def read_pages(details: Any, account_id: str | None, positions: Positions | None) -> ExportParts:
    """An export's pages, checked against AWS's shape and merged: what an :class:`Account` is built from.

    Args:
        details: one ``get-account-authorization-details`` response, or a list of pages.
        account_id: the account id; by default read from the ARNs in the export.
        positions: where each value is in the source text, to locate problems; None without one.

    Raises:
        AccountError: when the export is not in AWS's shape.
    """
    pages = [details] if isinstance(details, Mapping) else list(details)
    merged: dict[str, list[Any]] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
    shape: list[tuple[tuple[str | int, ...], str]] = []
    # An empty list of pages holds no account at all, not an empty account.
    for number, page in enumerate(pages or [None]):
        if not isinstance(page, Mapping) or not any(k in page for k in merged):
            raise AccountError("not a get-account-authorization-details export: expected `UserDetailList`, "
                               "`GroupDetailList`, `RoleDetailList` or `Policies` — hint: write one with "
                               "`aws iam get-account-authorization-details > export.json`")
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
        return _build(merged, account_id)
    except AccountError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise AccountError(f"the export is missing or mangles a field AWS always includes: {exc}") from None


def _build(data: Mapping[str, list[Any]], account_id: str | None) -> ExportParts:
    policies = {}
    for p in data["Policies"]:
        versions = p.get("PolicyVersionList") or ()
        default = next((v for v in versions if v.get("IsDefaultVersion")), versions[0] if versions else None)
        document = _document(default["Document"], ("Policies", p.get("PolicyName") or p["Arn"], "PolicyVersionList",
                                                    default.get("VersionId", 0), "Document")) if default else {}
        # moto leaves PolicyName out for AWS managed policies; the ARN ends with it.
        name = p.get("PolicyName") or p["Arn"].rsplit("/", 1)[-1]
        policies[p["Arn"]] = ManagedPolicy(name, p["Arn"], document, p.get("DefaultVersionId", "v1"),
                                           p.get("AttachmentCount", 0))
    groups = {
        g["GroupName"]: Group(g["GroupName"], g["Arn"], g.get("GroupId", ""), g.get("Path", "/"),
                              _inline(g.get("GroupPolicyList"), ("GroupDetailList", g["GroupName"], "GroupPolicyList")),
                              _attached(g.get("AttachedManagedPolicies")),
                              _date(g.get("CreateDate")))
        for g in data["GroupDetailList"]
    }
    users = {
        u["UserName"]: User(u["UserName"], u["Arn"], u.get("UserId", ""), u.get("Path", "/"),
                            _inline(u.get("UserPolicyList"), ("UserDetailList", u["UserName"], "UserPolicyList")),
                            _attached(u.get("AttachedManagedPolicies")),
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
        where = ("RoleDetailList", r["RoleName"])
        roles[r["RoleName"]] = Role(
            r["RoleName"], r["Arn"], r.get("RoleId", ""), r.get("Path", "/"),
            _inline(r.get("RolePolicyList"), (*where, "RolePolicyList")),
            _attached(r.get("AttachedManagedPolicies")), _date(r.get("CreateDate")),
            _document(r.get("AssumeRolePolicyDocument") or {}, (*where, "AssumeRolePolicyDocument")),
            (r.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"), _tags(r.get("Tags")), tuple(names),
            _date((r.get("RoleLastUsed") or {}).get("LastUsedDate")))
    if account_id is None:
        arns = (x.arn for x in [*users.values(), *groups.values(), *roles.values()])
        found = next((m.group(1) for m in map(_ACCOUNT_IN_ARN.match, arns) if m), None)
        account_id = found or next((m.group(1) for m in map(_ACCOUNT_IN_ARN.match, policies) if m), "")
    return ExportParts(account_id or "000000000000", users, groups, roles, policies, profiles)

