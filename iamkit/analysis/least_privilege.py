"""Least privilege: the policy an activity log calls for.

:func:`generate_policy` reads an activity log with :mod:`iamkit.account.activity` and
writes, deterministically, the policy that covers exactly what was used: the actions the
calls needed, on the resources the log names. Calls that were denied are left out — the
principal never had them. It mirrors IAM Access Analyzer's policy generation, and
:meth:`GeneratedPolicy.access_analyzer_response` gives its ``GetGeneratedPolicy`` response
shape (moto does not implement that API). The grants a principal's policies hold and the
log never used are :mod:`iamkit.analysis.unused`'s job (:func:`fits_resource` and
:func:`cloudtrail_time` serve both); over-broad grants in a policy are
:mod:`iamkit.analysis.lint`'s.

When the action catalog (:mod:`iamkit.account.catalog`) is available it checks every action and
narrows resources to the types each action can act on; without it the results are
coarser and say so.

Sources:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-policy-generation.html
    https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_GetGeneratedPolicy.html
"""

from __future__ import annotations

import html
import json
import re
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
)
from ..account.catalog import installed_catalog
from ..display import RichDisplay
from ..engine.matching import arn_matcher
from ..engine.policy import Policy, PolicyKind, parse_policy
from ..engine.principals import CallerKind, parse_caller
from ..errors import Problem, suggest

if TYPE_CHECKING:  # pragma: no cover
    from ..account.catalog import Catalog

__all__ = [
    "GeneratedPolicy",
    "Grant",
    "cloudtrail_time",
    "fits_resource",
    "generate_policy",
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


def fits_resource(cat: Catalog | None, action: str, arn: str, cache: dict[str, list[tuple[str, Any, int]]]) -> bool:
    """Whether an action can be limited to this ARN (``cache`` keeps each service's
    resource-type patterns between calls: pass the same dict for one log).

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
            lines[0] += f" between {cloudtrail_time(self.start_time)} and {cloudtrail_time(self.end_time)}"
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


def cloudtrail_time(when: datetime | None) -> str:
    """A time as CloudTrail records write it, in UTC: ``2024-05-01T09:30:00Z`` (empty for None)."""
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
                    arn for arn in event.resources if fits_resource(cat, name, arn, cache))
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
            scoped = [arn for arn in event.resources if fits_resource(cat, names[key], arn, cache)]
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
