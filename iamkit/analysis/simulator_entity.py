"""The entity ``simulate_principal_policy`` simulates: the user, group or role its
``PolicySourceArn`` names, the policies the account holds for it, and ``PolicyExclusionList``.

The account is the one given, else the running sandbox's, read at each call. How the
entity's policies are gathered and named: :mod:`iamkit.analysis.simulator`.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Callable, Mapping

from ..account.entities import Group, Role, User
from ..account.model import Account
from ..engine.policy import Origin, Policy
from ..errors import Problem, suggest
from .simulator_request import DEFAULT_CALLER, NamedPolicy, Problems, read_sequence

__all__ = ["POLICY_TYPES", "Entity", "find_entity", "group_member", "named_account_policy", "principal_context",
           "read_exclusions", "sandbox_account"]

POLICY_TYPES = ("inline", "aws-managed", "user-managed", "permission-boundary", "scp", "rcp")
"""``PolicyExclusionList``'s ``PolicyType`` values (botocore's ``PolicyIdentifierPolicyType``)."""
_ENTITY = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):(user|group|role)/(?:.*/)?([^/]+)$")
_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?:aws|\d{12}):policy/(.+)$")
_NAME = re.compile(r"^[\w+=,.@-]+$")
_NAME_PATTERN = re.compile(r"^[\w+=,.@*?-]+$")
_IDENTIFIERS = ("PolicyType", "PolicyArn", "InlinePolicyIdentifier")
_INLINE_FIELDS = ("PolicyName", "AttachmentType", "AttachmentName")

Entity = User | Group | Role


def sandbox_account(out: Problems) -> Account | None:
    """The running sandbox's account, read now: the learner changes it as they go."""
    from ..sandbox.server import current_sandbox  # on first use: moto loads only with a sandbox

    sandbox = current_sandbox()
    if sandbox is None:
        out.add(("account",), "no account to simulate: `account=` was not given and no sandbox is running",
                'pass the account, such as `account=load_account("export.json")`, or start the sandbox first '
                "with `start_sandbox()`")
        return None
    return Account.from_client(sandbox.client("iam"), sandbox.account_id)


def find_entity(account: Account, arn: Any, out: Problems) -> Entity | None:
    """The user, group or role ``PolicySourceArn`` names (by name: a path is not needed)."""
    m = _ENTITY.match(arn) if isinstance(arn, str) else None
    if m is None:
        out.add(("PolicySourceArn",), f"`{arn}` is not the ARN of an IAM user, group or role",
                "write it as `arn:aws:iam::111122223333:user/alice`, or with `group/` or `role/`")
        return None
    _, account_id, kind, name = m.groups()
    tables: dict[str, Mapping[str, Entity]] = {"user": account.users, "group": account.groups, "role": account.roles}
    table = tables[kind]
    if account_id != account.account_id:
        message = f"`{arn}` is in account {account_id}, not in the simulated account {account.account_id}"
        hint = f"name a {kind} of account {account.account_id}, or load the account that holds this one"
    elif name in table:
        return table[name]
    else:
        message = f"the {kind} with name `{name}` cannot be found in account {account.account_id}"
        by_lower = {n.lower(): e for n, e in table.items()}
        close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
        hint = (f"did you mean `{by_lower[close[0]].arn}`?" if close
                else f"its {kind}s are " + ", ".join(f"`{n}`" for n in sorted(table)) if table
                else f"the account has no {kind}s")
    out.missing.append(Problem("PolicySourceArn", message, hint))
    return None


def group_member(group: Group) -> User:
    """A user in ``group`` with no policies of its own: whom a group's policies are simulated for."""
    partition, account_id = group.arn.split(":")[1], group.arn.split(":")[4]
    return User(DEFAULT_CALLER.partition("/")[2], f"arn:{partition}:iam::{account_id}:{DEFAULT_CALLER}", "", "/",
                {}, (), None, groups=(group.name,))


def _managed_type(origin: Origin) -> str:
    return "aws-managed" if origin.arn is not None and ":iam::aws:policy/" in origin.arn else "user-managed"


def named_account_policy(policy: Policy) -> NamedPolicy:
    """An account's policy as the response names it: its name, and its type from its origin."""
    origin = policy.origin
    assert origin is not None, "the account gives every policy an origin"
    kind = origin.attached_to.partition("/")[0] if origin.kind == "inline" else _managed_type(origin)
    return NamedPolicy(policy, origin.policy, kind)


def principal_context(account: Account, principal: str, entries: Mapping[str, Any]) -> dict[str, Any]:
    """What the account knows of the caller, then ``ContextEntries``, which win."""
    known = next((p for p in account.principals() if p.arn == principal), None)
    given = {key.lower() for key in entries}
    derived = account.context(known) if known is not None else {}
    context: dict[str, Any] = {k: v for k, v in derived.items() if k.lower() not in given}
    context.update(entries)
    return context


def read_exclusions(identifiers: Any, out: Problems) -> Callable[[Policy], bool]:
    """``PolicyExclusionList`` as a test of an account's policy."""
    name = "PolicyExclusionList"
    tests: list[Callable[[Origin], bool]] = []
    for i, identifier in enumerate(read_sequence(identifiers, name, out)):
        keys = list(identifier) if isinstance(identifier, Mapping) else []
        if len(keys) != 1 or keys[0] not in _IDENTIFIERS:
            out.add((name, i), "a policy identifier holds exactly one of " + ", ".join(f"`{k}`" for k in _IDENTIFIERS),
                    (suggest(str(keys[0]), _IDENTIFIERS) if len(keys) == 1 else None)
                    or 'such as `{"PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}`')
            continue
        key = keys[0]
        read = {"PolicyType": _excluded_type, "PolicyArn": _excluded_arn, "InlinePolicyIdentifier": _excluded_inline}
        test = read[key](identifier[key], (name, i, key), out)
        if test is not None:
            tests.append(test)
    return lambda policy: policy.origin is not None and any(test(policy.origin) for test in tests)


def _excluded_type(value: Any, path: tuple[str | int, ...], out: Problems) -> Callable[[Origin], bool] | None:
    if value not in POLICY_TYPES:
        out.add(path, f"unknown policy type `{value}`",
                suggest(str(value), POLICY_TYPES) or "use one of " + ", ".join(f"`{t}`" for t in POLICY_TYPES))
        return None
    kinds = {"inline": "inline", "boundary": "permission-boundary"}
    return lambda origin: kinds.get(origin.kind, _managed_type(origin)) == value


def _excluded_arn(value: Any, path: tuple[str | int, ...], out: Problems) -> Callable[[Origin], bool] | None:
    m = _POLICY_ARN.match(value) if isinstance(value, str) else None
    if m is None or m.group(1).count("*") > 1:
        out.add(path, f"`{value}` is not a managed policy ARN",
                "such as `arn:aws:iam::aws:policy/ReadOnlyAccess`; wildcards go in the name only: "
                "at most one `*`, any number of `?`")
        return None
    pattern = _wildcards(value)
    return lambda origin: origin.kind == "managed" and pattern.fullmatch(origin.arn or "") is not None


def _excluded_inline(value: Any, path: tuple[str | int, ...], out: Problems) -> Callable[[Origin], bool] | None:
    if not isinstance(value, Mapping):
        out.add(path, "must be an object with " + ", ".join(f"`{k}`" for k in _INLINE_FIELDS))
        return None
    before = len(out.items)
    for key in value:
        if key not in _INLINE_FIELDS:
            out.add(path + (key,), f"unknown field `{key}`", suggest(str(key), _INLINE_FIELDS))
    name, kind, holder = (value.get(k) for k in _INLINE_FIELDS)
    if not isinstance(name, str) or not _NAME.match(name):
        out.add(path + ("PolicyName",), f"`{name}` is not an inline policy name",
                "letters, digits and `+=,.@_-`, without wildcards")
    if kind not in ("user", "group", "role"):
        out.add(path + ("AttachmentType",), f"`{kind}` is not `user`, `group` or `role`")
    if not isinstance(holder, str) or not _NAME_PATTERN.match(holder) or holder.count("*") > 1:
        out.add(path + ("AttachmentName",), f"`{holder}` is not a user, group or role name",
                "at most one `*` (any characters) and any number of `?` (one character)")
    if len(out.items) > before or not isinstance(name, str) or not isinstance(holder, str):
        return None
    entity = _wildcards(holder, re.IGNORECASE)
    return lambda origin: (origin.kind == "inline" and origin.policy.lower() == name.lower()
                           and origin.attached_to.partition("/")[0] == kind
                           and entity.fullmatch(origin.attached_to.partition("/")[2]) is not None)


def _wildcards(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """IAM's ``*`` (any characters) and ``?`` (one character) as a regular expression."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), flags)
