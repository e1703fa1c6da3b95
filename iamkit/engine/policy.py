"""Policy documents: parse AWS's JSON policy grammar into an immutable model, and validate it.

The model (:class:`Policy`, :class:`Statement`, :class:`Condition`, :class:`PolicyKind`,
:class:`Origin`) is defined in :mod:`iamkit.engine.model` and exported from here, the place
to import it from.

Validation collects every problem before raising, each with its JSON path, line and
column (when the policy came as text), a message and, where possible, a hint. It knows the
``MalformedPolicyDocument`` rules of IAM and which elements each kind of policy may hold;
with ``creating=True`` also what IAM refuses to store (a managed policy without ``Version``
2012-10-17, a condition key without a service prefix, …), which evaluation reports as warnings,
since AWS still evaluates older documents.

Most documents hold nothing to report, not even a warning: those take a shorter way through
the same rules (the clean path, ``_clean_policy``), which gives up at the first thing unusual
and leaves the document to the collecting path. ``tests/test_clean_path.py`` holds the two to
the same answers.

Why this module is over 500 lines: the clean path restates the collecting path's rules in
fewer steps, so it sits next to them and reads their private patterns and caches; in another
module a rule changed here could be missed there.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal
from functools import lru_cache
from typing import Any, Callable, Mapping, Sequence

from ..errors import InputError, PolicyError, Problem, ProblemCollector, format_path, json_type, suggest
from .conditions import EPOCH_SECONDS, OPERATORS, parse_operator, policy_value_text
from .jsonpos import Positions
from .model import OLD_VERSION, VERSION, Condition, Origin, Policy, PolicyKind, Statement
from .principals import ACCOUNT_ID
from .reading import decode, load_json
from .variables import parse_template, resource_template

__all__ = [
    "Condition",
    "Origin",
    "Policy",
    "PolicyKind",
    "Statement",
    "parse_policy",
    "validate_policy",
]

TOP_LEVEL = ("Version", "Id", "Statement")
ELEMENTS = ("Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition")
PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")
_ELEMENT_SET = frozenset(ELEMENTS)

_ACTION = re.compile(r"^[A-Za-z0-9-]+:[A-Za-z0-9*?_-]*\Z")
_ARN = re.compile(r"^arn:[^:]*:[^:]*:[^:]*:[^:]*:.+", re.S)
_PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:.+\Z")
_CANONICAL = re.compile(r"^[0-9a-f]{64}\Z")
# A key is `prefix:name`: the prefix is a service (`aws`, `s3`) or, for web identity federation, the
# provider's URL (`token.actions.githubusercontent.com:sub`, `oidc.eks.REGION.amazonaws.com/id/ID:aud`).
_CONDITION_KEY = re.compile(r"^[^:\s]+:.+\Z", re.S)
_SID = re.compile(r"^[A-Za-z0-9]*\Z")
_EPOCH_LIMIT = 2**63  # epoch seconds must fit a signed 64-bit integer


def _strings(value: Any, path: tuple[str | int, ...], element: str, out: ProblemCollector) -> tuple[str, ...]:
    """An element that takes a string or a non-empty list of strings."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value:
        good = [item for item in value if isinstance(item, str)]
        if len(good) == len(value):  # the common case: every entry a string
            return tuple(good)
        good = []
        for i, item in enumerate(value):
            if isinstance(item, str):
                good.append(item)
            else:
                out.add(path + (i,), f"`{element}` entries must be strings, not {json_type(item)}")
        return tuple(good)
    if isinstance(value, list):
        out.add(path, f"`{element}` is an empty list", f"list at least one value, or remove `{element}`")
    else:
        out.add(path, f"`{element}` must be a string or a list of strings, not {json_type(value)}")
    return ()


def _check_action(action: str, path: tuple[str | int, ...], out: ProblemCollector) -> None:
    if "${" in action:
        out.add(path, f"action `{action}` holds a policy variable, and `Action` substitutes none",
                "policy variables work only in `Resource` and in conditions: list the actions themselves")
    elif ":" not in action:
        out.add(path, f"action `{action}` has no service prefix",
                "write actions as `service:Action`, for example `s3:GetObject`")
    else:
        out.add(path, f"action `{action}` is malformed",
                "an action is `service:Action`; only letters, digits, `*` and `?` may follow the colon")


def _check_resource(resource: str, path: tuple[str | int, ...], out: ProblemCollector) -> None:
    hint = "an ARN has six parts: `arn:partition:service:region:account-id:resource`"
    if resource[:4].lower() == "arn:" and not resource.startswith("arn:"):
        hint = f"an ARN starts with `arn:` in lowercase: `arn:{resource[4:]}`"
    elif resource.startswith("arn:") and resource.count(":") >= 5:  # all six parts, the last one empty
        out.add(path, f"resource `{resource}` names no resource after the fifth colon",
                "name the resource after the last colon, such as `arn:aws:s3:::my-bucket/*`")
        return
    elif resource.startswith("arn:"):
        hint += f"; this one has {resource.count(':') + 1}"
    out.add(path, f"resource `{resource}` is not an ARN or `*`", hint)


_ACCOUNT_FIELD = re.compile(r"^(|[0-9]{12}|aws)\Z")  # blank (S3, Route 53), an account id, or AWS's own


@lru_cache(maxsize=16384)
def _arn_field_problems(resource: str) -> tuple[tuple[str, str], ...]:
    """The rules IAM applies to the fields of a six-part resource ARN: a partition and a lowercase
    service; an account that is blank, 12 digits or `aws`; no region in an IAM ARN; and neither
    region nor account in an S3 bucket or object ARN (wildcards are accepted in every field).
    Returns each problem's message and hint; the same ARNs recur, so the answer is cached."""
    _, partition, service, region, account, rest = resource.split(":", 5)
    problems = []
    if not partition:
        problems.append((f"resource `{resource}` has no partition",
                         "the second part of an ARN is the partition: `aws`, `aws-cn` or `aws-us-gov`"))
    if not service:
        problems.append((f"resource `{resource}` has no service",
                         "the third part of an ARN is the service, for example `arn:aws:s3:::bucket`"))
    elif service != service.lower():
        problems.append((f"resource `{resource}` writes service `{service}` in capitals",
                         f"service prefixes are lowercase: write `arn:{partition}:{service.lower()}:{region}:{account}:"
                         f"{rest}`"))
    if not _ACCOUNT_FIELD.match(account) and not any(c in account for c in "*?$"):
        problems.append((f"resource `{resource}` names account `{account}`, which is not an account id",
                         "an account id is 12 digits, such as `111122223333`; write `*` for any account"))
    if region and "*" not in region and "?" not in region:
        fixed = f"arn:{partition}:{service}::{account}:{rest}"
        if service == "iam":
            problems.append((f"resource `{resource}` names region `{region}`, but IAM ARNs have no region",
                             f"IAM is global: write `{fixed}`"))
        elif service == "s3" and not account:
            problems.append((f"resource `{resource}` names region `{region}`, but S3 bucket and object ARNs have no "
                             f"region", f"write `{fixed}`; only access point ARNs carry a region and an account"))
    elif (service == "s3" and not region and account and not any(c in account for c in "*?$")
          and not rest.startswith(("accesspoint/", "*"))):  # a Multi-Region Access Point has an account, no region
        problems.append((f"resource `{resource}` names account `{account}`, but S3 bucket and object ARNs have no "
                         "account", f"bucket names are global: write `arn:{partition}:s3:::{rest}`"))
    if _malformed_variable(rest):
        problems.append((f"resource `{resource}` holds a `${{` that starts no policy variable", _VARIABLE_HINT))
    return tuple(problems)


_VARIABLE_HINT = ("write a variable as `${aws:username}`, closed by `}` and with no space in the key; for the "
                  "characters `${` themselves write `${$}{`")


def _malformed_variable(text: str) -> bool:
    """Whether ``text`` holds a ``${`` that starts no policy variable (``${aws:username`` with no
    closing brace, ``${}``, a space in the key): AWS reads it as plain text."""
    template = parse_template(text) if "${" in text else None
    return template is not None and any(part[0] == "text" and "${" in part[1] for part in template)


def _variable_outside_resource_part(resource: str) -> bool:
    """Whether ``resource`` has a policy variable before the ARN's fifth colon, where AWS does
    not substitute one (:func:`~iamkit.engine.variables.resource_template`)."""
    return "${" in resource and resource_template(resource) is None


def _principal_block(value: Any, path: tuple[str | int, ...], element: str,
                     out: ProblemCollector) -> dict[str, tuple[str, ...]] | None:
    if value == "*":
        return None
    if not isinstance(value, dict) or not value:
        out.add(path, f"`{element}` must be `\"*\"` or an object such as `{{\"AWS\": \"arn:aws:iam::111122223333:root\"}}`")
        return {}
    block: dict[str, tuple[str, ...]] = {}
    for ptype, entries in value.items():
        ppath = path + (ptype,)
        if ptype not in PRINCIPAL_TYPES:
            out.add(ppath, f"unknown principal type `{ptype}`",
                    suggest(ptype, PRINCIPAL_TYPES) or "use `AWS`, `Service`, `Federated` or `CanonicalUser`", at_key=True)
            continue
        values = _strings(entries, ppath, f"{element}.{ptype}", out)
        for i, entry in enumerate(values):
            epath = ppath + (i,) if isinstance(entries, list) else ppath
            if "${" in entry:
                out.add(epath, f"principal `{entry}` holds a policy variable, and `{element}` substitutes none",
                        "policy variables work only in `Resource` and in conditions: name the principal itself, or "
                        "compare `aws:PrincipalArn` in a condition")
                continue
            if ptype == "AWS":
                if ":group/" in entry and _PRINCIPAL_ARN.match(entry):
                    out.add(epath, f"`{entry}` is a group, and a group cannot be a principal",
                            "name the users, or attach an identity policy to the group instead")
                    continue
                if entry != "*" and ("*" in entry or "?" in entry):
                    out.add(epath, f"principal `{entry}` uses a wildcard inside an ARN",
                            "AWS only accepts `*` alone; to match many principals use `\"Principal\": \"*\"` "
                            "with an `ArnLike` condition on `aws:PrincipalArn`")
                    continue
                if entry == "*" or ACCOUNT_ID.match(entry) or _PRINCIPAL_ARN.match(entry):
                    continue
                out.add(epath, f"malformed principal `{entry}`",
                        "use a 12-digit account id, `arn:aws:iam::ACCOUNT:root`, or the ARN of a user, role or session")
            elif ptype == "Service" and ("*" in entry or "?" in entry) and entry != "*":
                out.add(epath, f"service principal `{entry}` uses a wildcard",
                        "name the service, for example `ec2.amazonaws.com`")
            elif ptype == "CanonicalUser" and not _CANONICAL.match(entry):
                out.add(epath, f"malformed canonical user id `{entry}`", "a canonical user id is 64 hexadecimal digits")
        block[ptype] = values
    return block


def _conditions(value: Any, path: tuple[str | int, ...], out: ProblemCollector, creating: bool) -> tuple[Condition, ...]:
    if not isinstance(value, dict):
        out.add(path, f"`Condition` must be an object, not {json_type(value)}",
                'write `{"Operator": {"key": "value"}}`, for example `{"Bool": {"aws:MultiFactorAuthPresent": "true"}}`')
        return ()
    result: list[Condition] = []
    for op_name, block in value.items():
        opath = path + (op_name,)
        spec = parse_operator(op_name)
        if spec is None:
            out.add(opath, f"unknown condition operator `{op_name}`", _operator_hint(op_name), at_key=True)
            continue
        if not isinstance(block, dict) or not block:
            out.add(opath, f"`{op_name}` names no condition key" if block == {} else
                    f"`{op_name}` must map condition keys to values, not {json_type(block)}",
                    f'write `{{"{op_name}": {{"aws:username": "alice"}}}}`' + (f", or remove `{op_name}`"
                                                                             if block == {} else ""))
            continue
        seen: dict[str, str] = {}
        for key, raw in block.items():
            kpath = opath + (key,)
            if not _CONDITION_KEY.match(key):
                # IAM refuses to store such a key; a document that is only evaluated gets a warning
                message = (f"condition key `{key}` has no service prefix, and IAM accepts only keys written "
                           "`service:key`" if creating else
                           f"condition key `{key}` has no service prefix, so no AWS request will carry it")
                out.add(kpath, message,
                        suggest("aws:" + key, _COMMON_KEYS) or "keys look like `aws:SourceIp` or `s3:prefix`",
                        severity="error" if creating else "warning", at_key=True)
            first = seen.setdefault(key.lower(), key)
            if first != key:
                out.add(kpath, f"condition key `{key}` repeats `{first}` in `{op_name}`: AWS reads key names "
                        "without regard to case", f"keep one `{first}` entry and list every value in it", at_key=True)
            values = raw if isinstance(raw, list) else [raw]
            if not values:
                out.add(kpath, f"condition key `{key}` has no values", "give at least one value")
                continue
            good = []
            typed = spec.base.family not in ("String", "Arn")  # the families whose every value is valid
            for i, item in enumerate(values):
                if isinstance(item, (dict, list)) or item is None:
                    ipath = kpath + (i,) if isinstance(raw, list) else kpath
                    out.add(ipath, f"condition values must be strings, numbers or booleans, not {json_type(item)}")
                    continue
                text = policy_value_text(item)
                for message, hint, severity in (_condition_value_problems(spec.text, text)
                                                if typed or "${" in text else ()):
                    ipath = kpath + (i,) if isinstance(raw, list) else kpath
                    out.add(ipath, message, hint, severity=severity)
                good.append(item)
            result.append(Condition(spec, key, tuple(good)))
    return tuple(result)


_EXPECTED = {
    "Numeric": "a number written with ASCII digits, such as `10`, `-2.5` or `1e3`",
    "Date": "a date such as `2025-01-31` or `2025-01-31T12:00:00Z`, or epoch seconds",
    "Bool": "`true` or `false`",
    "Null": "`true` or `false`",
    "Binary": "base64-encoded bytes",
    "IpAddress": "an IP address or CIDR range such as `203.0.113.0/24`",
}
_YYYYMMDD = re.compile(r"^(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])\Z")
_YYYY = re.compile(r"^(19|20)[0-9]{2}\Z")  # a year alone, as W3C's date formats allow


@lru_cache(maxsize=16384)
def _condition_value_problems(operator: str, text: str) -> tuple[tuple[str, str, str], ...]:
    """Reject a typed value that cannot be one of its family's values, as AWS does: read as
    "never matches", it would make a negated operator such as ``NotIpAddress`` always true.
    Returns each problem's message, hint and severity for a value of ``operator`` (a name that
    :func:`~iamkit.engine.conditions.parse_operator` knows); the same values recur, so it is cached."""
    spec = parse_operator(operator)
    assert spec is not None
    op = spec.base
    if op.variables and "${" in text:
        return (((f"`{text}` holds a `${{` that starts no policy variable", _VARIABLE_HINT, "error"),)
                if _malformed_variable(text) else ())
    if op.family in ("String", "Arn"):
        return ()
    try:
        op.prepare(text)
    except ValueError:
        hint = f"use {_EXPECTED[op.family]}"
        if "${" in text:
            hint = f"`{op.name}` does not substitute policy variables; {hint}"
        return ((f"`{text}` is not a valid value for `{spec.text}`", hint, "error"),)
    digits = text.strip()
    if op.family == "Date" and EPOCH_SECONDS.fullmatch(digits) and not -_EPOCH_LIMIT <= Decimal(digits) < _EPOCH_LIMIT:
        return ((f"`{text}` is out of range for epoch seconds in `{spec.text}`",
                 f"epoch seconds lie between {-_EPOCH_LIMIT} and {_EPOCH_LIMIT - 1}; "
                 "for a date write it as `2025-01-31T12:00:00Z`", "error"),)
    if op.family == "Date" and _YYYYMMDD.match(digits):
        meant = f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"
        read = datetime.fromtimestamp(int(digits), timezone.utc).strftime("%Y-%m-%d")
        return ((f"`{text}` is read as epoch seconds ({read}), not as the date {meant}",
                 f"write `{meant}` for that date", "warning"),)
    if op.family == "Date" and _YYYY.match(digits):
        read = datetime.fromtimestamp(int(digits), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return ((f"`{text}` is read as epoch seconds ({read}), not as the year {digits}",
                 f"write `{digits}-01-01T00:00:00Z` for the year's first moment", "warning"),)
    return ()


_COMMON_KEYS = (
    "aws:username", "aws:userid", "aws:SourceIp", "aws:SourceVpc", "aws:SourceVpce", "aws:SourceArn",
    "aws:SourceAccount", "aws:PrincipalArn", "aws:PrincipalAccount", "aws:PrincipalOrgID",
    "aws:PrincipalType", "aws:PrincipalTag/", "aws:RequestTag/", "aws:ResourceTag/", "aws:TagKeys",
    "aws:MultiFactorAuthPresent", "aws:MultiFactorAuthAge", "aws:SecureTransport", "aws:CurrentTime",
    "aws:EpochTime", "aws:RequestedRegion", "aws:CalledVia", "aws:ViaAWSService", "aws:ResourceAccount",
)


def _operator_names() -> list[str]:
    names = []
    for base in OPERATORS:
        names.append(base)
        if base != "Null":
            names.append(base + "IfExists")
            names.extend(f"{q}:{base}" for q in ("ForAnyValue", "ForAllValues"))
    return names


_ALL_OPERATOR_NAMES = _operator_names()


def _operator_hint(name: str) -> str:
    if name == "Null" or name.startswith("NullIfExists") or name.endswith(":Null"):
        return "`Null` takes neither `IfExists` nor `ForAnyValue:`/`ForAllValues:`"
    return suggest(name, _ALL_OPERATOR_NAMES) or "see the condition operators in AWS's IAM JSON policy reference"


def _statement(raw: Any, index: int, path: tuple[str | int, ...], kind: PolicyKind,
               out: ProblemCollector, creating: bool) -> Statement | None:
    if not isinstance(raw, dict):
        out.add(path, f"a statement must be an object, not {json_type(raw)}")
        return None
    for key in [k for k in raw if k not in _ELEMENT_SET] if not _ELEMENT_SET.issuperset(raw) else ():
        out.add(path + (key,), f"unknown element `{key}` in a statement",
                suggest(key, ELEMENTS) or "statement elements are " + ", ".join(f"`{e}`" for e in ELEMENTS),
                at_key=True)

    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        out.add(path + ("Sid",), f"`Sid` must be a string, not {json_type(sid)}")
        sid = None
    elif sid and kind in (PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SESSION) and not _SID.match(sid):
        out.add(path + ("Sid",), f"`Sid` `{sid}` holds characters IAM does not accept",
                "IAM accepts only letters A–Z, a–z and digits 0–9 in a `Sid`",
                severity="error" if creating else "warning")

    effect = raw.get("Effect")
    if effect is None:
        out.add(path, "statement has no `Effect`", 'add `"Effect": "Allow"` or `"Effect": "Deny"`')
    elif not isinstance(effect, str):
        out.add(path + ("Effect",), f"`Effect` must be the string `Allow` or `Deny`, not {json_type(effect)}",
                'a statement has one effect: write `"Effect": "Allow"` or `"Effect": "Deny"`')
    elif effect not in ("Allow", "Deny"):
        out.add(path + ("Effect",), f"`Effect` must be `Allow` or `Deny`, not `{effect}`",
                suggest(effect, ("Allow", "Deny")) or "`Effect` is case-sensitive: `Allow` or `Deny`")

    # Action / NotAction
    actions: tuple[str, ...] = ()
    not_action = "NotAction" in raw
    if "Action" in raw and not_action:
        out.add(path, "statement has both `Action` and `NotAction`", "keep only one of them")
    elif "Action" not in raw and not not_action:
        out.add(path, "statement has no `Action` or `NotAction`", 'add `"Action": "service:Action"`')
    else:
        element = "NotAction" if not_action else "Action"
        actions = _strings(raw[element], path + (element,), element, out)
        for i, action in enumerate(actions):
            if action != "*" and not _ACTION.match(action):
                _check_action(action, path + (element, i) if isinstance(raw[element], list) else path + (element,), out)

    # Resource / NotResource
    resources: tuple[str, ...] | None = None
    not_resource = "NotResource" in raw
    if "Resource" in raw and not_resource:
        out.add(path, "statement has both `Resource` and `NotResource`", "keep only one of them")
    elif "Resource" in raw or not_resource:
        element = "NotResource" if not_resource else "Resource"
        if kind is PolicyKind.TRUST:
            out.add(path + (element,), f"`{element}` is not allowed in a role trust policy",
                    "the resource of a trust policy is the role itself; remove the element", at_key=True)
        resources = _strings(raw[element], path + (element,), element, out)
        for i, resource in enumerate(resources):
            if resource == "*":
                continue
            problems = _arn_field_problems(resource) if _ARN.match(resource) else None
            rpath = path + (element, i) if isinstance(raw[element], list) else path + (element,)
            if problems is None:
                _check_resource(resource, rpath, out)
            for message, hint in problems or ():
                out.add(rpath, message, hint)
            if problems is not None and _variable_outside_resource_part(resource):
                out.add(rpath, f"`{resource}` has a policy variable before the ARN's fifth colon, where AWS does "
                        "not substitute one: iamkit reads the entry as written, so it matches no resource",
                        "a variable can stand only in the resource part, after `arn:partition:service:region:"
                        "account:`; write the account or region itself, or compare it in a condition "
                        "(`aws:ResourceAccount`, `aws:RequestedRegion`)", severity="warning")
    elif kind is not PolicyKind.TRUST:
        out.add(path, "statement has no `Resource` or `NotResource`",
                'add `"Resource": "*"` or the ARNs this statement is about')

    # Principal / NotPrincipal
    principal_element: str | None = None
    principals: dict[str, tuple[str, ...]] | None = None
    has_p, has_np = "Principal" in raw, "NotPrincipal" in raw
    if has_p and has_np:
        out.add(path, "statement has both `Principal` and `NotPrincipal`", "keep only one of them")
    elif has_p or has_np:
        principal_element = "Principal" if has_p else "NotPrincipal"
        ppath = path + (principal_element,)
        label = kind.label
        if not kind.has_principal:
            out.add(ppath, f"`{principal_element}` is not allowed in an {label}" if label[0] in "aeiou"
                    else f"`{principal_element}` is not allowed in a {label}",
                    "a policy attached to an identity applies to that identity; remove the element", at_key=True)
        elif kind is PolicyKind.TRUST and has_np:
            out.add(ppath, "IAM does not accept `NotPrincipal` in a role trust policy" if creating else
                    "IAM does not accept `NotPrincipal` in a role trust policy; iamkit evaluates it anyway",
                    "name who may assume the role in `Principal`; narrow it with conditions",
                    severity="error" if creating else "warning", at_key=True)
        elif kind is PolicyKind.RCP and (has_np or raw["Principal"] != "*"):
            out.add(ppath, "a resource control policy must use `\"Principal\": \"*\"`",
                    "narrow who is affected with conditions such as `aws:PrincipalAccount`")
        principals = _principal_block(raw[principal_element], ppath, principal_element, out)
        if has_np and effect == "Allow":
            # AWS: "NotPrincipal must be used with "Effect":"Deny". Using it with "Effect":"Allow" is not supported."
            out.add(ppath, "AWS does not support `NotPrincipal` with `Allow`, which would grant everyone else, "
                    "anonymous users included", "use `Deny` with `NotPrincipal`, or name the principals in `Principal`",
                    severity="error" if creating else "warning", at_key=True)
    elif kind.has_principal:
        out.add(path, f"statement has no `Principal` — a {kind.label} must say whom it applies to",
                'add `"Principal": {"AWS": "arn:aws:iam::111122223333:root"}` or the principals you mean')

    if kind is PolicyKind.RCP:
        _rcp_rules(raw, path, effect, not_action, out, creating)

    conditions = _conditions(raw["Condition"], path + ("Condition",), out, creating) if "Condition" in raw else ()

    position = out.positions.of(path) if out.positions is not None else None
    line, column = position if position else (None, None)
    return Statement(
        number=index,
        path=format_path(path),
        sid=sid,
        effect=effect if effect in ("Allow", "Deny") else "Deny",
        actions=actions,
        not_action=not_action,
        resources=resources,
        not_resource=not_resource,
        principal_element=principal_element,
        principals=principals,
        conditions=conditions,
        line=line,
        column=column,
        document=raw,
    )


def _rcp_full_access(raw: Mapping[str, Any]) -> bool:
    """Whether a statement is AWS's ``RCPFullAWSAccess``: allow every principal every action on every resource."""
    return (raw.get("Principal") == "*" and raw.get("Action") in ("*", ["*"]) and raw.get("Resource") in ("*", ["*"])
            and "Condition" not in raw)


def _rcp_rules(raw: Mapping[str, Any], path: tuple[str | int, ...], effect: Any, not_action: bool,
               out: ProblemCollector, creating: bool) -> None:
    """What Organizations refuses in a resource control policy beyond the principal: ``Allow``
    anywhere but in its own ``RCPFullAWSAccess``, and ``NotAction``, which is not one of an RCP's
    elements (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_syntax.html).
    Either would teach a wrong rule if it passed in silence: an ``Allow`` in an RCP limits nothing."""
    severity = "error" if creating else "warning"
    if effect == "Allow" and not _rcp_full_access(raw):
        out.add(path + ("Effect",), "AWS accepts `Allow` in a resource control policy only in its own "
                "`RCPFullAWSAccess`, which every level already carries: this statement allows nothing and limits "
                "nothing", "an RCP can only deny: write a `Deny` of what must not happen (AWS's examples deny access "
                "from outside the organization with a condition on `aws:PrincipalOrgID`)", severity=severity)
    if not_action:
        out.add(path + ("NotAction",), "AWS does not accept `NotAction` in a resource control policy"
                + ("" if creating else "; iamkit evaluates it anyway"),
                "name the actions to deny in `Action`", severity=severity, at_key=True)


# The clean path: most documents hold no problem at all, not even a warning. It checks the same
# rules as the collecting functions above in fewer steps, and gives up (None) at the first thing
# unusual: the full path of _build then finds every problem and words it.

_TOP_LEVEL_SET = frozenset(TOP_LEVEL)
# Enum members bound once: reading `PolicyKind.TRUST` costs a class lookup each time.
_IDENTITY, _RESOURCE, _TRUST, _BOUNDARY, _SESSION, _RCP = (
    PolicyKind.IDENTITY, PolicyKind.RESOURCE, PolicyKind.TRUST, PolicyKind.BOUNDARY, PolicyKind.SESSION, PolicyKind.RCP)


# What was found clean, so that a value seen before costs one set lookup (at most _KNOWN_LIMIT
# of each: the sets are emptied when full).
_KNOWN_LIMIT = 16384
_clean_actions: set[str] = set()
_clean_resources: set[str] = set()
_clean_keys: set[str] = set()


def _known(value: str, known: set[str]) -> bool:
    """Remember ``value`` in ``known`` (emptied first when full); True, so that it ends a check."""
    if len(known) >= _KNOWN_LIMIT:
        known.clear()
    known.add(value)
    return True


def _clean_action(action: str) -> bool:
    return (action == "*" or _ACTION.match(action) is not None) and _known(action, _clean_actions)


def _clean_resource(resource: str) -> bool:
    return (resource == "*" or (_ARN.match(resource) is not None and not _arn_field_problems(resource)
                                and not _variable_outside_resource_part(resource))) \
        and _known(resource, _clean_resources)


def _clean_strings(value: Any, known: set[str], clean: Callable[[str], bool]) -> tuple[str, ...] | None:
    """What :func:`_strings` gives, when every entry is a string in ``known`` or that ``clean``
    accepts; else None."""
    if type(value) is str:
        return (value,) if value in known or clean(value) else None
    if type(value) is not list or not value:
        return None
    for item in value:
        if type(item) is not str or not (item in known or clean(item)):
            return None
    return tuple(value)


def _clean_conditions(value: Any) -> tuple[Condition, ...] | None:
    """What :func:`_conditions` gives, when it finds nothing to say; else None."""
    if type(value) is not dict:
        return None
    result = []
    for op_name, block in value.items():
        spec = parse_operator(op_name)
        if spec is None or type(block) is not dict or not block:
            return None
        if len(block) > 1 and len({key.lower() for key in block}) < len(block):  # a key named twice
            return None
        typed = spec.base.family not in ("String", "Arn")
        for key, raw in block.items():
            if key not in _clean_keys and not (_CONDITION_KEY.match(key) and _known(key, _clean_keys)):
                return None
            if type(raw) is str:  # the common case: one string, its own policy_value_text()
                if (typed or "${" in raw) and _condition_value_problems(spec.text, raw):
                    return None
                # Built as the tuple it is: calling a NamedTuple class runs its generated __new__ as Python.
                result.append(tuple.__new__(Condition, (spec, key, (raw,))))
                continue
            values = raw if type(raw) is list else [raw]
            if not values:
                return None
            for item in values:
                if isinstance(item, (dict, list)) or item is None:
                    return None
                text = policy_value_text(item)
                if (typed or "${" in text) and _condition_value_problems(spec.text, text):
                    return None
            result.append(tuple.__new__(Condition, (spec, key, tuple(values))))
    return tuple(result)


@lru_cache(maxsize=16384)
def _clean_principal(ptype: str, entry: str) -> bool:
    """Whether :func:`_principal_block` has nothing to say of ``entry`` under ``ptype`` (the
    type included): it judges each entry alone, so it is asked about this one alone, once."""
    out = ProblemCollector()
    _principal_block({ptype: entry}, (), "Principal", out)
    return not out.items


def _clean_principals(value: Any) -> dict[str, tuple[str, ...]] | None:
    """What :func:`_principal_block` gives for a block other than ``"*"`` when it finds nothing
    to say; else None."""
    if type(value) is not dict or not value:
        return None
    block = {}
    for ptype, entries in value.items():
        if type(entries) is str:
            values: tuple[str, ...] = (entries,)
        elif type(entries) is list and entries and all(type(entry) is str for entry in entries):
            values = tuple(entries)
        else:
            return None
        if not all(_clean_principal(ptype, entry) for entry in values):
            return None
        block[ptype] = values
    return block


def _clean_statement(raw: Any, number: int, path: tuple[str | int, ...], text_path: str, kind: PolicyKind,
                     positions: Positions | None) -> Statement | None:
    """What :func:`_statement` gives, when it finds nothing to say; else None."""
    if type(raw) is not dict or not _ELEMENT_SET.issuperset(raw):
        return None
    sid = raw.get("Sid")
    if sid is not None:
        if type(sid) is not str:
            return None
        # _SID's rule: a non-empty Sid of ASCII letters and digits is isascii() and isalnum()
        if sid and (kind is _IDENTITY or kind is _BOUNDARY or kind is _SESSION) and not (sid.isascii() and sid.isalnum()):
            return None
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        return None

    not_action = "NotAction" in raw
    if not_action == ("Action" in raw):  # both, or neither
        return None
    if kind is _RCP and (not_action or (effect == "Allow" and not _rcp_full_access(raw))):
        return None
    actions = _clean_strings(raw["NotAction" if not_action else "Action"], _clean_actions, _clean_action)
    if actions is None:
        return None

    not_resource = "NotResource" in raw
    resources: tuple[str, ...] | None = None
    if not_resource or "Resource" in raw:
        if kind is _TRUST or (not_resource and "Resource" in raw):
            return None
        resources = _clean_strings(raw["NotResource" if not_resource else "Resource"], _clean_resources, _clean_resource)
        if resources is None:
            return None
    elif kind is not _TRUST:
        return None

    principal_element: str | None = None
    principals: dict[str, tuple[str, ...]] | None = None
    has_principal = kind.has_principal
    if "Principal" in raw:
        if "NotPrincipal" in raw or not has_principal or (kind is _RCP and raw["Principal"] != "*"):
            return None
        principal_element = "Principal"
    elif "NotPrincipal" in raw:  # allowed without a warning only in a resource policy's Deny
        if kind is not _RESOURCE or effect == "Allow":
            return None
        principal_element = "NotPrincipal"
    elif has_principal:
        return None
    if principal_element is not None and raw[principal_element] != "*":
        principals = _clean_principals(raw[principal_element])
        if principals is None:
            return None

    conditions: tuple[Condition, ...] | None = ()
    if "Condition" in raw:
        conditions = _clean_conditions(raw["Condition"])
        if conditions is None:
            return None

    position = positions.of(path) if positions is not None else None
    line, column = position if position else (None, None)
    return tuple.__new__(Statement, (number, text_path, sid, effect, actions, not_action, resources, not_resource,
                                     principal_element, principals, conditions, line, column, raw))  # as Condition is


def _clean_policy(source: str | Mapping[str, Any], document: Any, kind: PolicyKind, name: str | None,
                  positions: Positions | None) -> Policy | None:
    """The policy, when ``document`` holds no problem and no warning; None otherwise."""
    version = document.get("Version") if type(document) is dict else None
    if version != VERSION or not _TOP_LEVEL_SET.issuperset(document):
        return None
    policy_id = document.get("Id")
    if policy_id is not None and type(policy_id) is not str:
        return None
    raw = document.get("Statement")
    if type(raw) is dict:
        st = _clean_statement(raw, 0, ("Statement",), "Statement", kind, positions)
        if st is None:
            return None
        statements: tuple[Statement, ...] = (st,)
    elif type(raw) is list and raw:
        built = []
        sids = set()
        for i, item in enumerate(raw):
            st = _clean_statement(item, i, ("Statement", i), f"Statement[{i}]", kind, positions)
            if st is None:
                return None
            if st.sid:
                if st.sid in sids:
                    return None
                sids.add(st.sid)
            built.append(st)
        statements = tuple(built)
    else:
        return None
    return Policy(kind, statements, version, policy_id, name, (), None, source if isinstance(source, str) else None,
                  document)


def _load(source: str | bytes, out_prefix: tuple[str | int, ...]) -> tuple[Any, Positions | None, list[Problem]]:
    """The document of a text and where its values stand, or the located problems of reading it
    (bounded size and depth, no duplicate keys, strict numbers and strings: see
    :mod:`iamkit.engine.reading`)."""
    try:
        text = decode(source) if isinstance(source, bytes) else source
        document, positions = load_json(text, prefix=out_prefix)
    except InputError as exc:
        return None, None, list(exc.problems)
    return document, positions, []


def _build(source: str | Mapping[str, Any], kind: PolicyKind | str, name: str | None,
           prefix: tuple[str | int, ...] = (), *, creating: bool = False) -> tuple[Policy | None, list[Problem]]:
    kind = kind if isinstance(kind, PolicyKind) else PolicyKind(kind)
    document, positions = source, None
    if isinstance(source, (str, bytes)):
        document, positions, problems = _load(source, prefix)
        if problems:
            return None, problems
    policy = _clean_policy(source, document, kind, name, positions)
    if policy is not None:
        return policy, []
    return _collect(source, document, positions, kind, name, prefix, creating)


def _collect(source: str | Mapping[str, Any], document: Any, positions: Positions | None, kind: PolicyKind,
             name: str | None, prefix: tuple[str | int, ...], creating: bool) -> tuple[Policy | None, list[Problem]]:
    """The policy and every problem of ``document``, each worded and located: the full path."""
    out = ProblemCollector(positions, prefix)
    if not isinstance(document, dict):
        out.add((), f"a policy must be a JSON object, not {json_type(document)}",
                'start with `{"Version": "2012-10-17", "Statement": [...]}`')
        return None, out.items
    for key in document:
        if key not in TOP_LEVEL:
            out.add((key,), f"unknown top-level element `{key}`",
                    suggest(key, TOP_LEVEL) or "a policy holds `Version`, `Id` and `Statement`", at_key=True)

    version = document.get("Version")
    managed = creating and kind in (PolicyKind.IDENTITY, PolicyKind.BOUNDARY)
    if version is None and managed:
        out.add((), "the policy has no `Version`, and IAM creates a managed policy only with `Version` 2012-10-17",
                'add `"Version": "2012-10-17"` before `Statement`')
    elif version is None:
        out.add((), "the policy has no `Version`, so AWS reads policy variables such as `${aws:username}` "
                "as plain text", 'add `"Version": "2012-10-17"`', severity="warning")
    elif version == OLD_VERSION and managed:
        out.add(("Version",), "`Version` 2008-10-17 is too old: IAM creates a managed policy only with "
                "`Version` 2012-10-17", 'use `"Version": "2012-10-17"`')
    elif version == OLD_VERSION:
        out.add(("Version",), "`Version` 2008-10-17 does not support policy variables",
                'use `"Version": "2012-10-17"`', severity="warning")
    elif version != VERSION:
        out.add(("Version",), f"`Version` must be `2012-10-17` or `2008-10-17`, not `{version}`",
                "`Version` is the policy language version, not today's date: use `2012-10-17`")
        version = None
    policy_id = document.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        out.add(("Id",), f"`Id` must be a string, not {json_type(policy_id)}",
                'write `"Id": "ReportsPolicy"`, or remove `Id`: it is optional')
        policy_id = None

    statements: list[Statement] = []
    raw = document.get("Statement")
    if raw is None:
        out.add((), "the policy has no `Statement`", 'add `"Statement": [{"Effect": "Allow", ...}]`')
    elif isinstance(raw, dict):
        st = _statement(raw, 0, ("Statement",), kind, out, creating)
        statements = [st] if st else []
    elif isinstance(raw, list) and raw:
        for i, item in enumerate(raw):
            st = _statement(item, i, ("Statement", i), kind, out, creating)
            if st:
                statements.append(st)
    elif raw == []:
        out.add(("Statement",), "`Statement` is an empty list", 'add a statement: `[{"Effect": "Allow", ...}]`')
    else:
        out.add(("Statement",), f"`Statement` must be a statement object or a list of them, not {json_type(raw)}",
                'write `"Statement": [{"Effect": "Allow", "Action": "...", "Resource": "..."}]`')

    seen: dict[str, int] = {}
    for st in statements:
        if st.sid:
            if st.sid in seen:
                out.add(("Statement", st.number, "Sid") if isinstance(raw, list) else ("Statement", "Sid"),
                        f"duplicate `Sid` `{st.sid}` (also used by Statement[{seen[st.sid]}])",
                        "every `Sid` in a policy must be unique")
            else:
                seen[st.sid] = st.number

    if positions is not None:  # report in reading order
        out.items.sort(key=lambda p: (p.line is None, p.line or 0, p.column or 0))
    policy = Policy(
        kind=kind,
        statements=tuple(statements),
        version=version,
        id=policy_id,
        name=name,
        warnings=tuple(out.warnings()),
        source=source if isinstance(source, str) else None,
        document=document,
    )
    return policy, out.items


def validate_policy(source: str | Mapping[str, Any], kind: PolicyKind | str = PolicyKind.IDENTITY,
                    *, creating: bool = False) -> list[Problem]:
    """Every problem in a policy document, errors and warnings, without raising.

    Args:
        source: JSON text or an already-decoded dict.
        kind: where the policy is attached (``"identity"``, ``"resource"``, ``"trust"``,
            ``"boundary"``, ``"session"``, ``"scp"``, ``"rcp"``).
        creating: True to check the document as IAM does when it is created: an identity
            policy or permissions boundary must then have ``Version`` 2012-10-17, and every
            condition key a service prefix. False (the default) accepts what AWS evaluates,
            such as a policy with no ``Version`` or ``Version`` 2008-10-17, with a warning.

    Returns:
        The problems in document order; empty when the policy is clean.
    """
    return _build(source, kind, None, creating=creating)[1]


def parse_policy(source: str | Mapping[str, Any], kind: PolicyKind | str = PolicyKind.IDENTITY,
                 *, name: str | None = None, creating: bool = False) -> Policy:
    """Parse and validate a policy document.

    Args:
        source: JSON text (problems then carry line and column) or a decoded dict.
        kind: where the policy is attached; decides e.g. whether ``Principal`` is allowed.
        name: a display name for traces and tables.
        creating: True to reject what IAM rejects when it creates a managed policy, as
            :func:`validate_policy` does.

    Returns:
        The immutable :class:`Policy`; warnings are kept on ``policy.warnings``.

    Raises:
        PolicyError: with every located problem, when AWS would reject the document.
    """
    policy, problems = _build(source, kind, name, creating=creating)
    errors = [p for p in problems if p.severity == "error"]
    if errors or policy is None:
        raise PolicyError(errors)
    return policy


def build_policy(source: str | Mapping[str, Any], kind: PolicyKind | str, name: str | None,
                 prefix: Sequence[str | int]) -> tuple[Policy | None, list[Problem]]:
    """Parse for a caller that reports problems itself, under a path prefix (scenarios)."""
    policy, problems = _build(source, kind, name, tuple(prefix))
    if not problems:
        return policy, problems
    errors = [p for p in problems if p.severity == "error"]
    return (None if errors else policy), errors
