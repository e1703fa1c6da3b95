"""Least privilege: the policy an activity log calls for, and the grants it never used.

Two tools for the least-privilege lesson, both deterministic, both reading activity logs
with :mod:`iamkit.account.activity`:

- :func:`generate_policy` writes the policy that covers exactly what was used: the actions
  the calls needed, on the resources the log names. Calls that were denied are left out —
  the principal never had them. It mirrors IAM Access Analyzer's policy generation, and
  :meth:`GeneratedPolicy.access_analyzer_response` gives its ``GetGeneratedPolicy``
  response shape (moto does not implement that API).
- :func:`unused_permissions` compares a principal's identity policies in an
  :class:`~iamkit.account.Account` with the log: which granted actions were never used,
  statement by statement, with each statement's origin.

When the action catalog (:mod:`iamkit.account.catalog`) is available it checks every action and
narrows resources to the types each action can act on; without it the results are
coarser and say so. Over-broad grants in a policy are :mod:`iamkit.analysis.lint`'s job.

Sources:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-policy-generation.html
    https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_GetGeneratedPolicy.html
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, NamedTuple, Sequence

from ..account.activity import (
    ActivityError,
    ActivityEvent,
    made_by,
    no_activity_problem,
    principal_filter,
    read_activity,
    read_log_bytes,
)
from ..account.catalog import installed_catalog
from ..display import RichDisplay
from ..engine.matching import action_matches, arn_matcher
from ..engine.policy import Origin, Policy, PolicyKind, Statement, parse_policy
from ..engine.principals import CallerKind, parse_caller
from ..errors import EXIT_BAD_INPUT, EXIT_OK, Problem, printable, suggest

if TYPE_CHECKING:  # pragma: no cover
    import pandas

    from ..account.catalog import Catalog
    from ..account.model import Account, Role, User

__all__ = [
    "GeneratedPolicy",
    "Grant",
    "StatementUsage",
    "UnusedReport",
    "generate_policy",
    "register_cli",
    "unused_permissions",
]

VERSION = "2012-10-17"

_LITERAL = re.compile(r"[*?]|\$(?=\{)")
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
_NOT_NAME = re.compile(r"[^A-Za-z0-9]+")


def _literal(arn: str) -> str:
    """An ARN from a log, with ``*``, ``?`` and ``${`` written so a policy reads them literally."""
    return arn if arn == "*" else _LITERAL.sub(lambda m: "${" + m.group() + "}", arn)


# ── the catalog, when it is there ──────────────────────────────────────────────────


def _type_patterns(cat: Catalog, prefix: str) -> list[tuple[str, Any, int]]:
    svc = cat.service(prefix)
    if svc is None:
        return []
    return [(t.name, arn_matcher(_PLACEHOLDER.sub("*", t.arn)), len(_PLACEHOLDER.sub("", t.arn)))
            for t in svc.resource_types if t.arn]


def _fits(cat: Catalog | None, action: str, arn: str, cache: dict[str, list[tuple[str, Any, int]]]) -> bool:
    """Whether an action can be limited to this ARN.

    With the catalog: the ARN's most specific resource type in the action's service (an
    object ARN also fits the bucket pattern, but is an object) is one the action acts on.
    Without: S3 object ARNs go to object actions and bucket ARNs to the others; every
    other ARN fits.
    """
    prefix, _, name = action.partition(":")
    if cat is None:
        if prefix != "s3":
            return True
        is_object = "/" in arn.split(":::", 1)[-1]
        wants_object = any(w in name for w in ("Object", "Multipart", "Part"))
        return is_object == wants_object
    info = cat.action(action)
    if info is None:
        return True
    if prefix not in cache:
        cache[prefix] = _type_patterns(cat, prefix)
    hits = [(type_name, literal) for type_name, test, literal in cache[prefix] if test(arn)]
    wanted = {rt.name for rt in info.resource_types}
    if not hits:
        # an ARN of another service (sts:AssumeRole names an iam role): match the action's own types
        return any(arn_matcher(_PLACEHOLDER.sub("*", rt.arn))(arn) for rt in info.resource_types if rt.arn)
    best = max(literal for _, literal in hits)
    return bool(wanted & {t for t, literal in hits if literal == best})


# ── generating a policy ─────────────────────────────────────────────────────────────


class Grant(NamedTuple):
    """An action and the resources a generated policy grants it on (``("*",)`` when the log
    names none the action can be limited to)."""

    action: str
    resources: tuple[str, ...]


@dataclass(frozen=True)
class GeneratedPolicy(RichDisplay):
    """The least-privilege policy for what an activity log shows a principal did.

    Attributes:
        policy: the identity policy as a dict: one statement per distinct set of resources,
            actions and resources sorted, a ``Sid`` on each.
        principal: the principal it was generated for (None: every caller in the log).
        events_used: the calls the policy covers.
        denied: calls of the principal that failed authorization; not granted.
        denied_grants: what those calls would have needed, as action and resources.
        warnings: what to check before using the policy (unknown actions, unreadable
            records, calls the log names no resource for), each located in the log.
        grants: each action with the resources it is granted on.
        is_complete: False when records of the log could not be read, so the policy may
            lack something they show (Access Analyzer's ``isComplete``).
        catalog_version: the action catalog's data version, or None when it was not used.
    """

    policy: Mapping[str, Any]
    principal: str | None
    events_used: tuple[ActivityEvent, ...]
    denied: tuple[ActivityEvent, ...]
    warnings: tuple[Problem, ...]
    grants: tuple[Grant, ...] = field(repr=False)
    denied_grants: tuple[tuple[Grant, ActivityEvent], ...] = field(default=(), repr=False)
    is_complete: bool = True
    catalog_version: str | None = None
    _principals: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @property
    def actions(self) -> list[str]:
        """Every granted action, sorted."""
        return [g.action for g in self.grants]

    @property
    def start_time(self) -> datetime | None:
        """The time of the first call considered."""
        times = [e.time for e in self.events_used + self.denied if e.time]
        return min(times) if times else None

    @property
    def end_time(self) -> datetime | None:
        """The time of the last call considered."""
        times = [e.time for e in self.events_used + self.denied if e.time]
        return max(times) if times else None

    def to_json(self, indent: int | None = 2) -> str:
        """The policy document as JSON text."""
        return json.dumps(self.policy, indent=indent)

    def to_policy(self) -> Policy:
        """The policy as a parsed :class:`~iamkit.Policy`, ready to evaluate.

        Raises:
            PolicyError: when there is nothing to grant (a policy needs a statement).
        """
        return parse_policy(self.to_json(), PolicyKind.IDENTITY, name="generated policy")

    def access_analyzer_response(self, *, trail_arn: str | None = None) -> dict[str, Any]:
        """The policy as IAM Access Analyzer's ``GetGeneratedPolicy`` returns it (boto3's shape).

        iamkit runs no job, so the response is deterministic: ``jobId`` is derived from the
        principal and the policy, and ``startedOn``/``completedOn`` are the time of the last
        call analysed. ``cloudTrailProperties`` covers the time span and regions of the log.

        Args:
            trail_arn: the trail to name; by default an ``iamkit-activity-log`` trail in the
                log's account and first region.

        Raises:
            ActivityError: when no single user or role can be named as ``principalArn``
                (a log of several callers read without ``principal=``).
        """
        principal = self._principal_arn()
        start = self.start_time or datetime(1970, 1, 1, tzinfo=timezone.utc)
        end = self.end_time or start
        regions = sorted({e.region for e in self.events_used + self.denied if e.region})
        caller = parse_caller(principal)
        account = caller.account if caller else "111122223333"
        partition = caller.partition if caller else "aws"
        region = regions[0] if regions else "us-east-1"
        trail = trail_arn or f"arn:{partition}:cloudtrail:{region}:{account}:trail/iamkit-activity-log"
        compact = json.dumps(self.policy, separators=(",", ":"))
        job = str(uuid.uuid5(uuid.NAMESPACE_URL, f"iamkit:generated-policy:{principal}:{compact}"))
        statements = self.policy.get("Statement") or []
        return {
            "jobDetails": {"jobId": job, "status": "SUCCEEDED", "startedOn": end, "completedOn": end},
            "generatedPolicyResult": {
                "properties": {
                    "isComplete": self.is_complete,
                    "principalArn": principal,
                    "cloudTrailProperties": {
                        "trailProperties": [{"cloudTrailArn": trail, "regions": regions, "allRegions": False}],
                        "startTime": start,
                        "endTime": end,
                    },
                },
                "generatedPolicies": [{"policy": compact}] if statements else [],
            },
        }

    def _principal_arn(self) -> str:
        """The user or role ARN Access Analyzer would name."""
        candidates = [self.principal] if self.principal else list(self._principals)
        roles = set()
        for arn in candidates:
            caller = parse_caller(arn) if arn else None
            if caller is not None and caller.kind in (CallerKind.USER, CallerKind.ROLE):
                roles.add(arn)
            elif caller is not None and caller.kind is CallerKind.ASSUMED_ROLE:
                roles.add(caller.role_arn)
        if len(roles) != 1:
            what = "several users or roles" if roles else "no user or role"
            raise ActivityError([Problem("principal", f"the log holds calls of {what}, and Access Analyzer names one "
                                         "`principalArn`", "generate with `principal=` set to a user or role ARN")])
        return roles.pop()

    # ── views ──

    def __repr__(self) -> str:
        who = f" for {self.principal}" if self.principal else ""
        n = len(self.policy.get("Statement") or [])
        return (f"<GeneratedPolicy{who}: {_count(len(self.grants), 'action')} in {_count(n, 'statement')}, "
                f"from {_count(len(self.events_used), 'call')}>")

    def explain(self, *, warnings: bool = True) -> str:
        """The policy with what went into it: the summary, the JSON, denied calls and (unless
        ``warnings`` is False) what to check before use."""
        lines = [repr(self)[1:-1]]
        if self.start_time:
            lines[0] += f" between {_iso(self.start_time)} and {_iso(self.end_time)}"
        lines.append(self.to_json())
        if self.denied:
            lines.append("not granted — these calls were denied, so the principal never had them:")
            for g, e in self.denied_grants:
                lines.append(f"  ✘ {g.action}{_on(g.resources)} — {e.error_code} ({e.where})")
        if self.warnings and warnings:
            lines.append("check before use:")
            lines.extend(f"  {w}" for w in self.warnings)
        return "\n".join(lines)

    def _representations(self) -> dict[str, Callable[[], str]]:
        return {"text/plain": self.explain, "text/html": self._html}

    def _html(self) -> str:
        denied = "".join(f"<li><code>{html.escape(g.action)}</code>{html.escape(_on(g.resources))} — "
                         f"{html.escape(e.error_code or '')} <small>({html.escape(e.where)})</small></li>"
                         for g, e in self.denied_grants)
        warnings = "".join(f"<li>{html.escape(str(w))}</li>" for w in self.warnings)
        page = (f'<div class="iamkit-generated"><p><b>{html.escape(repr(self)[1:-1])}</b></p>'
                f"<pre>{html.escape(self.to_json())}</pre>"
                + (f"<p>Not granted (denied in the log):</p><ul>{denied}</ul>" if denied else "")
                + (f"<p>Check before use:</p><ul>{warnings}</ul>" if warnings else "") + "</div>")
        return page


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _iso(when: datetime | None) -> str:
    return "" if when is None else when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _on(resources: Sequence[str]) -> str:
    if not resources or tuple(resources) == ("*",):
        return ""
    return " on " + ", ".join(resources[:2]) + (f" and {len(resources) - 2} more" if len(resources) > 2 else "")


def _sid(prefixes: Iterable[str]) -> str:
    return "".join(p[:1].upper() + p[1:] for part in sorted(set(prefixes)) for p in _NOT_NAME.split(part) if p)


def generate_policy(events: Any, *, principal: str | None = None) -> GeneratedPolicy:
    """The least-privilege identity policy for what an activity log shows was used.

    Every authorized call of the principal becomes the action it needed
    (``s3.amazonaws.com`` + ``GetObject`` → ``s3:GetObject``), granted on the resources the
    log names for it — ``"*"`` only when the log names none, or when the action cannot be
    limited to resources. Calls denied for lack of permission are not granted: the
    principal never had them. Calls that failed for another reason were authorized, so
    they are granted. Actions with the same resources share a statement.

    Args:
        events: an activity log in any form :func:`read_activity` reads.
        principal: only calls of this user, role (its sessions included) or session; by
            default every call in the log.

    Returns:
        A :class:`GeneratedPolicy`; unreadable records are skipped and listed in its
        ``warnings``.

    Raises:
        ActivityError: when the log cannot be read at all, or the principal is not an ARN.
    """
    log = read_activity(events)
    wanted = principal_filter(principal)
    cat = installed_catalog()
    warnings: list[Problem] = [Problem(p.path, p.message, p.hint, p.line, p.column, "error") for p in log.problems]
    mine = [e for e in log.events if wanted is None or made_by(e, wanted)]
    if wanted is not None and not mine:
        warnings.append(no_activity_problem(wanted, log))
    used: list[ActivityEvent] = []
    denied: list[tuple[Grant, ActivityEvent]] = []
    names: dict[str, str] = {}  # lowercase → canonical action name
    shown: dict[str, set[str]] = {}  # action (lowercase) → ARNs the log names for it
    unscoped: dict[str, list[ActivityEvent]] = {}  # action → calls that named none
    anywhere: set[str] = set()  # actions that take only "*"
    cache: dict[str, list[tuple[str, Any, int]]] = {}

    def canonical(action: str, event: ActivityEvent) -> str:
        key = action.lower()
        if key not in names:
            info = cat.action(action) if cat is not None else None
            names[key] = info.name if info is not None else action
            if info is not None and not info.resource_types:
                anywhere.add(key)
        return names[key]

    for event in mine:
        if not event.is_api_call:
            continue
        if not event.actions:
            warnings.append(event.problem("eventName", f"`{event.name}` needs no permission, so the policy grants "
                                          "nothing for it"))
            continue
        if event.denied:
            for action in event.actions:
                name = canonical(action, event)
                fitting = () if name.lower() in anywhere else tuple(
                    arn for arn in event.resources if _fits(cat, name, arn, cache))
                denied.append((Grant(name, fitting or ("*",)), event))
            continue
        used.append(event)
        for action in event.actions:
            key = action.lower()
            if key not in names:
                _check_action(cat, action, event, warnings)
            canonical(action, event)
            if key in anywhere:
                continue
            scoped = [arn for arn in event.resources if _fits(cat, names[key], arn, cache)]
            if scoped:
                shown.setdefault(key, set()).update(scoped)
            else:
                unscoped.setdefault(key, []).append(event)
    grants: list[Grant] = []
    for key in sorted({a.lower() for e in used for a in e.actions}, key=lambda k: names[k].lower()):
        arns = shown.get(key)
        if key in anywhere or not arns:
            grants.append(Grant(names[key], ("*",)))
            if key not in anywhere:
                first = unscoped[key][0]
                warnings.append(first.problem(None, f"the log names no resource for `{names[key]}`, so it is granted "
                                              "on `\"Resource\": \"*\"`",
                                              "replace `*` with the ARNs the principal needs"))
            continue
        grants.append(Grant(names[key], tuple(sorted(arns))))
        if key in unscoped:
            n = len(unscoped[key])
            first = unscoped[key][0]
            warnings.append(first.problem(None, f"{n} call{'s' if n != 1 else ''} of `{names[key]}` named no resource; "
                                          "the policy grants it only on the resources other calls named",
                                          "check that those calls need no other resource"))
    return GeneratedPolicy(
        policy=_assemble(grants), principal=wanted, events_used=tuple(used),
        denied=tuple(dict.fromkeys(e for _, e in denied)), warnings=tuple(warnings), grants=tuple(grants),
        denied_grants=tuple(denied), is_complete=not log.problems,
        catalog_version=cat.version if cat is not None else None,
        _principals=tuple(log.principals()) if wanted is None else (wanted,),
    )


def _check_action(cat: Catalog | None, action: str, event: ActivityEvent, warnings: list[Problem]) -> None:
    """Warn when the catalog does not know an action the log led to."""
    if cat is None or cat.action(action) is not None:
        return
    prefix = action.partition(":")[0]
    if cat.service(prefix) is None:
        warnings.append(event.problem("eventSource", f"unknown service prefix `{prefix}` for `{event.source}`; "
                                      f"`{action}` is granted as the log names it",
                                      suggest(prefix, cat.services()) or "check the service's prefix in AWS's "
                                      "Service Authorization Reference"))
    else:
        warnings.append(event.problem("eventName", f"unknown action `{action}` for the call `{event.name}`; it is "
                                      "granted as the log names it",
                                      cat.suggest(action) or "check the action the call needs in AWS's Service "
                                      "Authorization Reference"))


def _assemble(grants: Sequence[Grant]) -> dict[str, Any]:
    by_resources: dict[tuple[str, ...], list[str]] = {}
    for g in grants:
        by_resources.setdefault(g.resources, []).append(g.action)
    groups = sorted(by_resources.items(), key=lambda kv: (sorted(a.lower() for a in kv[1])[0], kv[0]))
    bases = [_sid(a.partition(":")[0] for a in actions) + "Access" for _, actions in groups]
    statements = []
    seen: dict[str, int] = {}
    for (resources, actions), base in zip(groups, bases, strict=True):
        seen[base] = seen.get(base, 0) + 1
        sid = base if bases.count(base) == 1 else f"{base}{seen[base]}"
        ordered = sorted(actions, key=str.lower)
        statements.append({
            "Sid": sid,
            "Effect": "Allow",
            "Action": ordered[0] if len(ordered) == 1 else ordered,
            "Resource": _literal(resources[0]) if len(resources) == 1 else [_literal(r) for r in resources],
        })
    return {"Version": VERSION, "Statement": statements}


# ── unused permissions ─────────────────────────────────────────────────────────────


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
        context["aws:CurrentTime"] = _iso(event.time)
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
        AccountError: when the account has no such principal.
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
                for resource in [r for r in event.resources if _fits(cat, name, r, cache)] or ["*"]:
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


# ── the command line ───────────────────────────────────────────────────────────────

def _least_privilege(args: argparse.Namespace) -> int:
    name = "<stdin>" if args.log == "-" else args.log
    try:
        log = read_activity(read_log_bytes(args.log))
        result = generate_policy(log, principal=args.principal)
    except ActivityError as exc:
        for problem in exc.problems:
            print(problem.located(name), file=sys.stderr)
        return EXIT_BAD_INPUT
    for problem in result.warnings:
        print(problem.located(name), file=sys.stderr)
    if not result.grants:
        print(printable(f"iamkit: no policy: {name} holds no authorized calls"
                        + (f" of `{args.principal}`" if args.principal else "")), file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.access_analyzer:
        try:
            response = result.access_analyzer_response()
        except ActivityError as exc:
            for problem in exc.problems:
                print(problem.located(name), file=sys.stderr)
            return EXIT_BAD_INPUT
        print(json.dumps(response, indent=2, default=lambda when: when.isoformat()))
    else:
        print(result.to_json() if args.json else printable(result.explain(warnings=False)))
    return EXIT_BAD_INPUT if log.problems else EXIT_OK


def register_cli(subparsers: Any) -> None:
    """Add ``least-privilege`` to the ``iamkit`` command's subparsers.

    It sets ``run`` to a function taking the parsed arguments and returning the exit status.
    """
    lp = subparsers.add_parser(
        "least-privilege", help="write the least-privilege policy for what an activity log shows was used",
        description="Generate the identity policy that covers exactly the calls a CloudTrail activity log shows "
                    "(a log file, a JSON list of records, or one record per line; gzip is fine). Denied calls are "
                    "not granted. Exit status: 0 a policy was written, 2 bad input (unreadable records are reported "
                    "by line and skipped; the policy covers the rest).")
    lp.add_argument("log", metavar="LOG", help="CloudTrail activity log, or - for standard input")
    lp.add_argument("--principal", metavar="ARN", help="only calls of this user, role (and its sessions) or session")
    output = lp.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print only the policy document as JSON")
    output.add_argument("--access-analyzer", action="store_true",
                        help="print what `aws accessanalyzer get-generated-policy` prints for the policy "
                             "(the response of IAM Access Analyzer's GetGeneratedPolicy), as JSON")
    lp.set_defaults(run=_least_privilege)

