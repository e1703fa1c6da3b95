"""Unused permissions: what a principal's identity policies grant that its activity log
never used, statement by statement.

:func:`unused_permissions` replays each authorized call of the log through the engine
against the account's policies (with the context the record tells: source IP, MFA, time,
region) and credits the ``Allow`` statements that matched. With the action catalog
(:mod:`iamkit.account.catalog`) wildcards are expanded to the actions they grant; without
it the ``Action`` entries are reported as written, and the report says so. It is the
counterpart of :func:`iamkit.analysis.least_privilege.generate_policy`, which writes the
policy the same log calls for.

Sources:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-policy-generation.html
    https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#remove-credentials
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, NamedTuple, Sequence

from ..account.activity import ActivityEvent, made_by, read_activity
from ..account.catalog import installed_catalog
from ..display import RichDisplay
from ..engine.matching import action_matches
from ..engine.policy import Origin, Statement
from .least_privilege import cloudtrail_time, fits_resource

if TYPE_CHECKING:  # pragma: no cover
    import pandas

    from ..account.catalog import Catalog
    from ..account.model import Account, Role, User

__all__ = [
    "FRAME_COLUMNS",
    "StatementUsage",
    "UnusedReport",
    "unused_permissions",
]


class StatementUsage(NamedTuple):
    """What one ``Allow`` statement of an identity policy grants, and what of it was used.

    Attributes:
        policy: the policy's name.
        origin: where the policy comes from in the account.
        statement: the statement (Sid, path, line and column).
        level: ``"action"`` when the catalog expanded the grants to actions; ``"pattern"``
            when it was not available and the ``Action`` entries themselves are reported
            (a ``NotAction`` statement then grants ``*``).
        granted: the actions (or entries) it grants, sorted.
        used: the actions the log shows were used through this statement.
        unused: what it grants that was never used: actions, or entries no used action matches.
    """

    policy: str
    origin: Origin | None
    statement: Statement
    level: str
    granted: tuple[str, ...]
    used: tuple[str, ...]
    unused: tuple[str, ...]

    @property
    def where(self) -> str:
        """``inline policy `S3Work` in user `dana`, Statement[1]``."""
        return f"{self.origin or self.policy}, {self.statement.path}"

    @property
    def granted_services(self) -> tuple[str, ...]:
        """The service prefixes it grants actions of (``*`` for every service)."""
        return _services(self.granted)

    @property
    def unused_services(self) -> tuple[str, ...]:
        """The services it grants of which no action was used."""
        used = set(_services(self.used))
        return tuple(s for s in self.granted_services if s not in used and s != "*")


def _service(name: str) -> str:
    return name.partition(":")[0].lower() if ":" in name else name


def _services(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({_service(n) for n in names}))


FRAME_COLUMNS = ("policy", "attached_to", "statement", "action", "service", "access_level", "used")


@dataclass(frozen=True)
class UnusedReport(RichDisplay):
    """A principal's granted-but-unused permissions, statement by statement.

    Attributes:
        principal: the principal's ARN.
        statements: one :class:`StatementUsage` per ``Allow`` statement of its identity
            policies, in the order AWS consults them.
        used_actions: the actions the log shows the principal used (authorized calls).
        not_in_policies: used actions no identity policy statement grants (granted by a
            resource policy, for example).
        events_used: how many of the principal's calls were counted.
        expanded: True when wildcards were expanded through the action catalog.
        notes: how uses were attributed where the engine could not say exactly.
    """

    principal: str
    statements: tuple[StatementUsage, ...]
    used_actions: tuple[str, ...]
    not_in_policies: tuple[str, ...]
    events_used: int
    expanded: bool
    notes: tuple[str, ...] = ()
    _levels: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def unused_actions(self) -> list[str]:
        """Every granted action (or entry, without the catalog) that no statement saw used, sorted."""
        used = {a.lower() for a in self.used_actions}
        return sorted({a for st in self.statements for a in st.unused if a.lower() not in used}, key=str.lower)

    def unused_services(self) -> list[str]:
        """The services granted of which nothing was used, sorted."""
        used = set(_services(self.used_actions))
        return sorted({s for st in self.statements for s in st.granted_services if s not in used and s != "*"})

    def by_policy(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """Per policy (named by its origin): ``granted``, ``used``, ``unused`` and ``unused_services``."""
        out: dict[str, dict[str, set[str]]] = {}
        for st in self.statements:
            entry = out.setdefault(str(st.origin or st.policy), {"granted": set(), "used": set(), "unused": set()})
            entry["granted"].update(st.granted)
            entry["used"].update(st.used)
            entry["unused"].update(st.unused)
        result = {}
        for key, entry in out.items():
            used = {a.lower() for a in entry["used"]}
            used_services = set(_services(entry["used"]))
            result[key] = {
                "granted": _sorted(entry["granted"]),
                "used": _sorted(entry["used"]),
                "unused": _sorted(a for a in entry["unused"] if a.lower() not in used),
                "unused_services": _sorted(s for s in _services(entry["granted"]) if s not in used_services and s != "*"),
            }
        return result

    def to_frame(self) -> pandas.DataFrame:
        """One row per granted action (or entry) per statement, as a pandas DataFrame (pandas
        is imported only here): policy, attached_to, statement, action, service, access_level, used."""
        import pandas

        rows = [(st.policy, st.origin.attached_to if st.origin else None, st.statement.label, action, _service(action),
                 self._levels.get(action.lower()), action not in st.unused)
                for st in self.statements for action in st.granted]
        return pandas.DataFrame(rows, columns=list(FRAME_COLUMNS))

    def __repr__(self) -> str:
        granted = len({a.lower() for st in self.statements for a in st.granted})
        what = "actions" if self.expanded else "action entries"
        return (f"<UnusedReport {self.principal}: {len(self.unused_actions())} of {granted} granted {what} unused, "
                f"{len(self.used_actions)} used>")

    def explain(self, limit: int = 8) -> str:
        """Statement by statement: what it grants, what was used, what was not."""
        lines = [repr(self)[1:-1]]
        for st in self.statements:
            lines.append(f"  {st.statement.label} ({st.where}): grants {len(st.granted)} "
                         f"{'actions' if st.level == 'action' else 'entries'}, {len(st.used)} used")
            if st.used:
                lines.append("    ✔ used: " + _listing(st.used, limit))
            if st.unused:
                lines.append("    ✘ unused: " + _listing(st.unused, limit))
            if st.unused_services:
                lines.append("    ✘ services never used: " + _listing(st.unused_services, limit))
        if self.not_in_policies:
            lines.append("  used but granted by no identity policy: " + _listing(self.not_in_policies, limit))
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)

    def _representations(self) -> dict[str, Callable[[], str]]:
        return {"text/plain": self.explain, "text/html": self._html}

    def _html(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(st.statement.label)}</td><td>{html.escape(str(st.origin or st.policy))}</td>"
            f"<td>{len(st.granted)}</td><td>{html.escape(_listing(st.used, 20))}</td>"
            f"<td>{html.escape(_listing(st.unused, 20))}</td><td>{html.escape(_listing(st.unused_services, 20))}</td></tr>"
            for st in self.statements)
        page = (f'<div class="iamkit-unused"><p><b>{html.escape(repr(self)[1:-1])}</b></p><table>'
                "<tr><th>statement</th><th>policy</th><th>grants</th><th>used</th><th>unused</th>"
                f"<th>services never used</th></tr>{rows}</table>"
                + "".join(f"<p><small>note: {html.escape(n)}</small></p>" for n in self.notes) + "</div>")
        return page


def _sorted(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(items), key=lambda a: (a.lower(), a)))


def _listing(items: Sequence[str], limit: int) -> str:
    if not items:
        return "—"
    return ", ".join(items[:limit]) + (f" … and {len(items) - limit} more" if len(items) > limit else "")


def _context(event: ActivityEvent) -> dict[str, str]:
    """The request context a record tells: source IP, MFA, time, region."""
    context: dict[str, str] = {}
    record = event.record
    ip = record.get("sourceIPAddress")
    if isinstance(ip, str) and re.match(r"^[0-9a-fA-F:.]+$", ip) and any(c.isdigit() for c in ip):
        context["aws:SourceIp"] = ip
    identity = record.get("userIdentity")
    session = identity.get("sessionContext") if isinstance(identity, Mapping) else None
    attributes = session.get("attributes") if isinstance(session, Mapping) else None
    if isinstance(attributes, Mapping) and attributes.get("mfaAuthenticated") in ("true", "false"):
        context["aws:MultiFactorAuthPresent"] = attributes["mfaAuthenticated"]
    if event.time is not None:
        context["aws:CurrentTime"] = cloudtrail_time(event.time)
    if event.region:
        context["aws:RequestedRegion"] = event.region
    return context


def unused_permissions(account: Account, principal: str | User | Role, events: Any) -> UnusedReport:
    """The permissions a principal's identity policies grant that its activity never used.

    Each authorized call of the principal (its sessions too, for a role) is evaluated with
    the engine against the account's policies, with the context the record tells (source
    IP, MFA, time, region); the ``Allow`` statements of identity policies whose ``Action``
    and ``Resource`` matched are credited with the action. When the engine cannot re-create
    the call (a condition on a key the log does not record), the statements whose ``Action``
    covers the action are credited instead, and a note says so.

    Args:
        account: the account holding the principal and its policies.
        principal: a user or role of the account (name, ``user/NAME``, ``role/NAME`` or ARN).
        events: an activity log in any form :func:`read_activity` reads.

    Returns:
        An :class:`UnusedReport`. With the action catalog, wildcards are expanded to the
        actions they grant; without it, ``Action`` entries are reported as written.

    Raises:
        AccountError: when the account has no such principal, or its export lacks one of the
            principal's groups, managed policies or its boundary.
        ActivityError: when the log cannot be read.
    """
    from ..engine.decision import Layer
    from ..engine.scenario import CONCRETE_ACTION

    p = account.principal(principal)
    log = read_activity(events)
    cat = installed_catalog()
    policies = account.identity_policies(p)
    mine = [e for e in log.events if made_by(e, p.arn) and e.is_api_call and not e.denied and e.actions]
    credited: dict[tuple[int, int], set[str]] = {}
    used_names: dict[str, str] = {}
    fallback = 0
    cache: dict[str, list[tuple[str, Any, int]]] = {}
    for event in mine:
        caller = {"caller_arn": event.arn} if event.arn and event.arn != p.arn else {}
        for action in event.actions:
            info = cat.action(action) if cat is not None else None
            name = info.name if info is not None else action
            used_names.setdefault(name.lower(), name)
            hits: set[tuple[int, int]] = set()
            if CONCRETE_ACTION.match(name):
                for resource in [r for r in event.resources if fits_resource(cat, name, r, cache)] or ["*"]:
                    decision = account.evaluate(p, name, resource, context=_context(event), **caller)
                    matched = [t for t in decision.trace if t.layer is Layer.IDENTITY and t.effect == "Allow"
                               and t.action and t.resource is not False]
                    met = [t for t in matched if t.conditions_met is not False]
                    hits.update((t.policy, t.statement.number) for t in (met or matched))
            if not hits:
                hits = {(i, st.number) for i, pol in enumerate(policies) for st in pol.statements
                        if st.effect == "Allow" and _covers(st, name)}
                fallback += bool(hits)
            for key in hits:
                credited.setdefault(key, set()).add(name)
    notes = []
    if fallback:
        notes.append(f"{fallback} use{'s' if fallback != 1 else ''} could not be re-created with the engine (a "
                     "condition or resource the log does not record); the statements whose `Action` covers the "
                     "action were credited")
    expand = _expander(cat)
    levels: dict[str, str] = {}
    usages: list[StatementUsage] = []
    for i, pol in enumerate(policies):
        for st in pol.statements:
            if st.effect != "Allow":
                continue
            used = _sorted(credited.get((i, st.number), ()))
            if cat is None:
                granted = ("*",) if st.not_action else _sorted(st.actions)
                unused = tuple(g for g in granted if not any(action_matches(g, a) for a in used))
                usages.append(StatementUsage(pol.name or f"identity policy {i}", pol.origin, st, "pattern",
                                             granted, used, unused))
                continue
            grants = {a.lower(): a for entry in st.actions for a in expand(entry)}
            if st.not_action:
                grants = {a.lower(): a for a in expand("*") if a.lower() not in grants}
            grants.update({a.lower(): a for a in used})  # the log knows an action the catalog does not
            granted = _sorted(grants.values())
            for a in granted:
                if a.lower() not in levels:
                    found = cat.action(a)
                    levels[a.lower()] = found.access_level if found is not None else ""
            used_lower = {a.lower() for a in used}
            usages.append(StatementUsage(pol.name or f"identity policy {i}", pol.origin, st, "action", granted, used,
                                         tuple(a for a in granted if a.lower() not in used_lower)))
    credited_anywhere = {a.lower() for u in usages for a in u.used}
    return UnusedReport(
        principal=p.arn, statements=tuple(usages), used_actions=_sorted(used_names.values()),
        not_in_policies=_sorted(n for k, n in used_names.items() if k not in credited_anywhere),
        events_used=len(mine), expanded=cat is not None, notes=tuple(notes),
        _levels={k: v for k, v in levels.items() if v},
    )


def _expander(cat: Catalog | None) -> Any:
    """A cached ``Catalog.expand`` that gives nothing for entries AWS's grammar rejects."""
    cache: dict[str, list[str]] = {}

    def expand(entry: str) -> list[str]:
        key = entry.lower()
        if key not in cache:
            try:
                cache[key] = cat.expand(entry) if cat is not None else []
            except ValueError:
                cache[key] = []
        return cache[key]

    return expand


def _covers(st: Statement, action: str) -> bool:
    hit = any(action_matches(entry, action) for entry in st.actions)
    return not hit if st.not_action else hit

