"""The simulator's request: its parameters read and checked, every problem collected.

:func:`read_request` and the ``read_…`` functions take the keyword arguments of
``simulate_custom_policy`` / ``simulate_principal_policy`` as boto3 would send them, turn the
policies into engine :class:`~iamkit.engine.policy.Policy` objects named as the response will
name them (:class:`NamedPolicy`), and add each problem, with its parameter path, to a
:class:`Problems`, which raises them together as one :class:`~iamkit.errors.SimulationError`.
What the parameters mean: :mod:`iamkit.analysis.simulator`.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping, NamedTuple, Sequence

from ..engine.conditions import OPERATORS
from ..engine.jsonpos import line_column
from ..engine.policy import Policy, PolicyKind, build_policy
from ..engine.principals import ACCOUNT_ID, CallerKind, parse_caller
from ..engine.scenario import CONCRETE_ACTION, RESOURCE_ARN
from ..errors import Problem, ProblemCollector, SimulationError, format_path, suggest

__all__ = ["DEFAULT_ACCOUNT", "DEFAULT_CALLER", "DEFAULT_MAX_ITEMS", "MAX_ORGANIZATION_LEVELS", "MAX_POLICY_LENGTH",
           "NamedPolicy", "Problems", "RESOURCE_HANDLING_OPTIONS", "default_caller", "read_boundary_input",
           "read_caller", "read_context", "read_handling_option", "read_identity_inputs", "read_organization",
           "read_owner", "read_request", "read_resource_input", "read_sequence"]

DEFAULT_ACCOUNT = "123456789012"
"""The account of the default caller when nothing names one (AWS's example account)."""

DEFAULT_CALLER = "user/simulated-caller"
"""The caller used when ``CallerArn`` is not given, in the resource owner's account; also
the member a group is simulated for."""

DEFAULT_MAX_ITEMS = 100
"""``MaxItems`` when not given, as the API reference documents."""

MAX_ORGANIZATION_LEVELS = 7
"""Levels ``OrderedOrganizationPolicyInputList`` may hold (botocore's model: ``max`` 7)."""
RESOURCE_HANDLING_OPTIONS = ("EC2-VPC-InstanceStore", "EC2-VPC-InstanceStore-Subnet", "EC2-VPC-EBS", "EC2-VPC-EBS-Subnet")
"""The scenarios ``ResourceHandlingOption`` names, as the API reference lists them."""

MAX_POLICY_LENGTH = 131072
"""Characters a policy parameter may hold, whitespace included (botocore's ``policyDocumentType``)."""
_POLICY_CHARACTER = re.compile("[^\t\n\r\u0020-\u00ff]")
"""A character ``policyDocumentType``'s pattern does not allow: beyond Latin-1, or a control."""
_OWNER = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):root$")
_CONTEXT_FIELDS = ("ContextKeyName", "ContextKeyValues", "ContextKeyType")
_CONTEXT_PARSERS: dict[str, Callable[[str], Any] | None] = {
    "string": None,
    "numeric": OPERATORS["NumericEquals"].prepare,
    "boolean": OPERATORS["Bool"].prepare,
    "ip": OPERATORS["IpAddress"].prepare,
    "binary": OPERATORS["BinaryEquals"].prepare,
    "date": OPERATORS["DateEquals"].prepare,
}
_CONTEXT_TYPES = tuple(t for base in _CONTEXT_PARSERS for t in (base, base + "List"))

class Problems(ProblemCollector):
    """Every problem of a request: its parameters (``items``, AWS's ``InvalidInput``), the
    entity it names (``missing``, ``NoSuchEntity``) and its policy documents (``malformed``,
    ``MalformedPolicyDocument``)."""

    def __init__(self) -> None:
        super().__init__()
        self.missing: list[Problem] = []
        self.malformed: list[Problem] = []

    def raise_any(self) -> None:
        problems = self.items + self.missing + self.malformed
        if problems:
            code = "InvalidInput" if self.items else "NoSuchEntity" if self.missing else "MalformedPolicyDocument"
            raise SimulationError(code, problems)


class NamedPolicy(NamedTuple):
    """A policy of the simulation and how ``MatchedStatements`` names it."""

    policy: Policy
    id: str
    type: str | None

# ── reading the request ─────────────────────────────────────────────────────────


def read_request(action_names: Any, resource_arns: Any, max_items: Any, marker: Any,
                  out: Problems) -> tuple[list[str], list[str], int, int]:
    """The actions, the resources (``["*"]`` when absent) and the page asked for."""
    actions = _strings(action_names, "ActionNames", out)
    for i, action in enumerate(actions):
        if not CONCRETE_ACTION.match(action):
            out.add(("ActionNames", i), f"`{action}` is not a concrete action",
                    "the simulator takes no wildcards: name each action, such as `s3:GetObject`")
    resources = _strings(resource_arns, "ResourceArns", out) if resource_arns is not None else ["*"]
    if isinstance(resource_arns, (list, tuple)) and not resource_arns:  # AWS is silent: refuse, not guess
        out.add(("ResourceArns",), "`ResourceArns` is an empty list",
                "leave `ResourceArns` out to simulate all resources (`*`), or name at least one ARN")
    for i, arn in enumerate(resources):
        if arn != "*" and not RESOURCE_ARN.match(arn):
            out.add(("ResourceArns", i), f"`{arn}` is not an ARN or `*`",
                    "an ARN has six parts: `arn:partition:service:region:account-id:resource`")
    start, limit = _page(marker, max_items, len(actions), out)
    return actions, resources, start, limit


def read_handling_option(option: Any, out: Problems) -> None:
    """``ResourceHandlingOption``: one of the documented EC2 scenarios, or absent.

    iamkit does not model the scenarios (which resources each one requires), so a valid
    option changes nothing; a misspelt one is refused, as it names no scenario."""
    if option is not None and option not in RESOURCE_HANDLING_OPTIONS:
        out.add(("ResourceHandlingOption",), f"`{option}` is not a resource handling option",
                suggest(str(option), RESOURCE_HANDLING_OPTIONS)
                or "use one of " + ", ".join(f"`{o}`" for o in RESOURCE_HANDLING_OPTIONS) + ", or leave it out")


def _strings(value: Any, name: str, out: Problems) -> list[str]:
    """A list-of-strings parameter; problems for anything else."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        out.add((name,), f"`{name}` must be a list of strings", f'wrap a single value in a list: `{name}=["..."]`')
        return []
    good = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            good.append(item)
        else:
            out.add((name, i), f"must be a string, not {type(item).__name__}",
                    "pass policies as JSON text: `json.dumps(policy)`" if "Policy" in name else None)
    return good


def _page(marker: str | None, max_items: int | None, total: int, out: Problems) -> tuple[int, int]:
    """The first index and the page size that ``Marker`` and ``MaxItems`` ask for."""
    limit = DEFAULT_MAX_ITEMS if max_items is None else max_items
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        out.add(("MaxItems",), f"`MaxItems` must be a whole number from 1 to 1000, not `{max_items}`")
        limit = DEFAULT_MAX_ITEMS
    if marker is None:
        return 0, limit
    if not (isinstance(marker, str) and marker.isdigit() and 0 < int(marker) < total):
        out.add(("Marker",), f"`{marker}` is not a marker this simulator returned for these actions",
                "pass the `Marker` of the previous response, with the same `ActionNames`")
        return 0, limit
    return int(marker), limit


def read_sequence(value: Any, name: str, out: Problems) -> list[Any]:
    """A list parameter that may be absent."""
    if value is None:
        return []
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        out.add((name,), f"`{name}` must be a list", f'wrap a single policy in a list: `{name}=[policy_json]`')
        return []
    return list(value)


def _parse(text: Any, kind: PolicyKind, path: tuple[str | int, ...], source_id: str, source_type: str | None,
           out: Problems) -> NamedPolicy | None:
    """One policy given as JSON text, named as the response will name it."""
    if not isinstance(text, str):
        out.add(path, f"must be a policy document as JSON text, not {type(text).__name__}", "pass `json.dumps(policy)`")
        return None
    if len(text) > MAX_POLICY_LENGTH:
        out.add(path, f"the policy is {len(text):,} characters long; the simulator takes at most {MAX_POLICY_LENGTH:,}",
                "whitespace counts too: `json.dumps(policy, separators=(\",\", \":\"))` writes none")
        return None
    bad = _POLICY_CHARACTER.search(text)
    if bad is not None:
        out.items.append(Problem(format_path(path), f"character `{ascii(bad.group())[1:-1]}` is not allowed in a policy "
                                 "parameter", "the simulator takes printable characters up to U+00FF, tab, line feed "
                                 "and carriage return: write others as JSON escapes (`json.dumps` does by default)",
                                 *line_column(text, bad.start())))
        return None
    policy, problems = build_policy(text, kind, source_id, path)
    out.malformed.extend(problems)
    return None if policy is None else NamedPolicy(policy, source_id, source_type)


def read_identity_inputs(texts: Any, out: Problems) -> list[NamedPolicy]:
    """``PolicyInputList``: identity policies as JSON text."""
    parsed = [_parse(text, PolicyKind.IDENTITY, ("PolicyInputList", i), f"PolicyInputList.{i + 1}", "IAM Policy", out)
              for i, text in enumerate(read_sequence(texts, "PolicyInputList", out))]
    return [p for p in parsed if p]


def read_boundary_input(texts: Any, out: Problems) -> NamedPolicy | None:
    """``PermissionsBoundaryPolicyInputList``: at most one boundary as JSON text."""
    name = "PermissionsBoundaryPolicyInputList"
    boundaries = read_sequence(texts, name, out)
    if len(boundaries) > 1:
        out.add((name,), f"{len(boundaries)} permissions boundaries given; AWS simulates only one",
                "an IAM entity has at most one permissions boundary: pass a list of one policy")
    return _parse(boundaries[0], PolicyKind.BOUNDARY, (name, 0), f"{name}.1", None, out) if boundaries else None


def read_resource_input(text: Any, out: Problems) -> NamedPolicy | None:
    """``ResourcePolicy``: the policy attached to every simulated resource."""
    if text is None:
        return None
    return _parse(text, PolicyKind.RESOURCE, ("ResourcePolicy",), "ResourcePolicy", "Resource Policy", out)


def read_organization(levels: Any, out: Problems) -> list[list[NamedPolicy]]:
    """SCP levels from ``OrderedOrganizationPolicyInputList``, root first."""
    name = "OrderedOrganizationPolicyInputList"
    levels = read_sequence(levels, name, out)
    if len(levels) > MAX_ORGANIZATION_LEVELS:
        out.add((name,), f"{len(levels)} levels given; an organization has at most {MAX_ORGANIZATION_LEVELS}",
                "the root, up to five levels of OUs, and the account")
    parsed = []
    for i, level in enumerate(levels):
        texts = level.get("ServiceControlPolicyInputList") if isinstance(level, Mapping) else None
        if not texts or isinstance(texts, str) or not isinstance(texts, Sequence):
            out.add((name, i), "each level needs a non-empty `ServiceControlPolicyInputList`",
                    'write `{"ServiceControlPolicyInputList": [scp_json]}`; AWS attaches FullAWSAccess by default')
            continue
        path = (name, i, "ServiceControlPolicyInputList")
        policies = [_parse(text, PolicyKind.SCP, path + (j,), f"{name}.{i + 1}.ServiceControlPolicyInputList.{j + 1}",
                           None, out) for j, text in enumerate(texts)]
        parsed.append([p for p in policies if p])
    return parsed


def read_owner(owner_arn: Any, out: Problems) -> str | None:
    """The account id in ``ResourceOwner``."""
    if owner_arn is None:
        return None
    if isinstance(owner_arn, str):
        m = _OWNER.match(owner_arn)
        if m:
            return m.group(1)
        if ACCOUNT_ID.match(owner_arn):
            return owner_arn
    out.add(("ResourceOwner",), f"`{owner_arn}` is not an account",
            "write the account as `arn:aws:iam::111122223333:root`")
    return None


def default_caller(owner: str | None, resources: Sequence[str]) -> str:
    """``simulate_custom_policy``'s caller without ``CallerArn``: in the owner's account."""
    named = (arn.split(":")[4] for arn in resources if RESOURCE_ARN.match(arn))
    account = owner or next((a for a in named if ACCOUNT_ID.match(a)), DEFAULT_ACCOUNT)
    return f"arn:aws:iam::{account}:{DEFAULT_CALLER}"


def read_caller(caller_arn: Any, out: Problems) -> str | None:
    """``CallerArn``, when it is an IAM user or role."""
    caller = parse_caller(caller_arn) if isinstance(caller_arn, str) else None
    if caller is None or caller.kind not in (CallerKind.USER, CallerKind.ROLE):
        out.add(("CallerArn",), f"`{caller_arn}` is not an IAM user or role ARN",
                "the simulator's caller is an IAM user or role, such as `arn:aws:iam::111122223333:user/alice`; "
                "assumed-role sessions, federated users and services cannot be simulated callers")
        return None
    return caller_arn


def read_context(entries: Any, out: Problems) -> dict[str, str | list[str]]:
    """``ContextEntries`` as the engine's context: key → string, or list for ``…List`` types."""
    context: dict[str, str | list[str]] = {}
    seen: dict[str, str] = {}
    for i, entry in enumerate(read_sequence(entries, "ContextEntries", out)):
        path: tuple[str | int, ...] = ("ContextEntries", i)
        if not isinstance(entry, Mapping):
            out.add(path, "a context entry must be an object with `ContextKeyName`, `ContextKeyValues` "
                    "and `ContextKeyType`")
            continue
        for key in entry:
            if key not in _CONTEXT_FIELDS:
                out.add(path + (key,), f"unknown field `{key}`", suggest(str(key), _CONTEXT_FIELDS))
        name, values = entry.get("ContextKeyName"), entry.get("ContextKeyValues", [])
        kind = entry.get("ContextKeyType") or ("string" if isinstance(values, list) and len(values) == 1 else "stringList")
        if not isinstance(name, str) or ":" not in name:
            out.add(path + ("ContextKeyName",), f"`{name}` is not a context key name",
                    "keys carry their service prefix, such as `aws:SourceIp` or `s3:prefix`")
            continue
        if name.lower() in seen:
            out.add(path + ("ContextKeyName",), f"context key `{name}` repeats `{seen[name.lower()]}`",
                    "context key names are case-insensitive: give each key once")
            continue
        seen[name.lower()] = name
        if kind not in _CONTEXT_TYPES:
            out.add(path + ("ContextKeyType",), f"unknown context key type `{kind}`",
                    suggest(str(kind), _CONTEXT_TYPES) or "use one of " + ", ".join(f"`{t}`" for t in _CONTEXT_TYPES))
            continue
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            out.add(path + ("ContextKeyValues",), "`ContextKeyValues` must be a list of strings",
                    'write numbers and booleans as text too: `["42"]`, `["true"]`')
            continue
        single = not kind.endswith("List")
        if single and len(values) != 1:
            out.add(path + ("ContextKeyValues",), f"a `{kind}` key takes exactly one value, not {len(values)}",
                    f"use `{kind}List` for a key with several values")
            continue
        parser = _CONTEXT_PARSERS[kind.removesuffix("List")]
        for j, value in enumerate(values):
            try:
                if parser is not None:
                    parser(value)
            except ValueError:
                out.add(path + ("ContextKeyValues", j), f"`{value}` is not a valid `{kind}` value")
        context[name] = values[0] if single else list(values)
    return context
