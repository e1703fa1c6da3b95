"""Effective permissions: every action of AWS's catalog evaluated with the engine for one
principal and one resource, each with the statement that decided it.

:func:`effective_permissions` asks the engine about every action the catalog
(:mod:`iamkit.account.catalog`) lists for the resource, but evaluates only one action of
each group that matches the same statements and that the engine's own rules treat alike:
the others share its outcome, so a whole catalog of about 22,000 actions takes a few
hundred evaluations. The result equals evaluating each action on its own.

Sources:

- Policy evaluation logic: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
- Actions, resources and condition keys (the Service Authorization Reference):
  https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, NamedTuple, Sequence

from ..account.catalog import Catalog, catalog
from ..display import RichDisplay
from ..engine.decision import Decision, Outcome
from ..engine.evaluator import evaluate
from ..engine.policy import Policy, PolicyKind
from ..engine.principals import parse_caller
from ..engine.scenario import RESOURCE_ARN, Request, Scenario, load_scenario
from ..errors import Problem, ScenarioError, suggest

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__all__ = [
    "FRAME_COLUMNS",
    "EffectivePermissions",
    "PermissionRow",
    "effective_permissions",
]


class PermissionRow(NamedTuple):
    """One action's decision in an :class:`EffectivePermissions` table.

    Attributes:
        action: the action, ``s3:GetObject``.
        service: its service prefix.
        access_level: its AWS access level.
        decision: ``allowed``, ``explicitDeny`` or ``implicitDeny``.
        allowed: True when allowed.
        deciding_statement: the label (``Sid`` or path) of the statement that decided: the
            first matching Deny, else the first Allow of a resource or identity policy
            (rather than an SCP's or a boundary's, which only let the grant through).
        deciding_policy: that statement's policy name (``identity policy 0``).
        where: where to find it: ``identity policy 0, Statement[1]``.
    """

    action: str
    service: str
    access_level: str
    decision: str
    allowed: bool
    deciding_statement: str | None
    deciding_policy: str | None
    where: str | None


FRAME_COLUMNS = ("action", "service", "access_level", "decision", "allowed", "deciding_statement", "deciding_policy")


@dataclass(frozen=True)
class EffectivePermissions(RichDisplay):
    """What one principal may do on one resource, action by action.

    Attributes:
        principal: the principal ARN.
        resource: the resource ARN, or ``"*"``.
        rows: one :class:`PermissionRow` per action considered, by service.
        evaluations: how many requests the engine evaluated to decide every row.
    """

    principal: str
    resource: str
    rows: tuple[PermissionRow, ...]
    evaluations: int
    _scenario: Scenario = field(repr=False, compare=False)
    _request: Request = field(repr=False, compare=False)
    _decisions: dict[str, Decision] = field(default_factory=dict, repr=False, compare=False)

    def allowed(self) -> list[str]:
        """The allowed actions."""
        return [r.action for r in self.rows if r.allowed]

    def decision(self, action: str) -> Decision:
        """The full :class:`Decision` for one of the actions (evaluated on demand if the
        table was filled from an equivalent request)."""
        key = action.lower()
        found = self._decisions.get(key)
        if found is None:
            name = next((r.action for r in self.rows if r.action.lower() == key), action)
            found = evaluate(self._scenario, request=_with_action(self._request, name))
            self._decisions[key] = found
        return found

    def counts(self) -> dict[str, int]:
        """How many actions got each outcome."""
        out = {o.value: 0 for o in Outcome}
        for r in self.rows:
            out[r.decision] += 1
        return out

    def to_frame(self) -> pandas.DataFrame:
        """The rows as a pandas DataFrame (pandas is imported only here), with columns
        action, service, access_level, decision, allowed, deciding_statement, deciding_policy."""
        import pandas

        return pandas.DataFrame([r[: len(FRAME_COLUMNS)] for r in self.rows], columns=list(FRAME_COLUMNS))

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[PermissionRow]:
        return iter(self.rows)

    def __repr__(self) -> str:
        return (f"<EffectivePermissions {self.principal} on {self.resource}: "
                f"{len(self.allowed())} of {len(self.rows)} actions allowed>")

    def _text(self, limit: int = 20) -> str:
        counts = self.counts()
        lines = [repr(self)[1:-1], "  " + ", ".join(f"{n} {k}" for k, n in counts.items())]
        allowed = [r for r in self.rows if r.allowed]
        for r in allowed[:limit]:
            lines.append(f"  ✔ {r.action} ({r.access_level}) — {r.deciding_statement} in {r.where}")
        if len(allowed) > limit:
            lines.append(f"  … and {len(allowed) - limit} more allowed")
        return "\n".join(lines)

    def _representations(self) -> dict[str, Callable[[], str]]:
        return {"text/plain": self._text, "text/html": self._html}

    def _html(self) -> str:
        import html

        allowed = [r for r in self.rows if r.allowed]
        body = "".join(f"<tr><td><code>{html.escape(r.action)}</code></td><td>{html.escape(r.access_level)}</td>"
                       f"<td>{html.escape(r.deciding_statement or '')}</td><td>{html.escape(r.where or '')}</td></tr>"
                       for r in allowed[:200])
        counts = ", ".join(f"{n} {k}" for k, n in self.counts().items())
        return (f'<div class="iamkit-effective"><p><b>{html.escape(self.principal)}</b> on '
                f"<code>{html.escape(self.resource)}</code>: {counts}</p>"
                "<table><tr><th>allowed action</th><th>access level</th><th>statement</th><th>where</th></tr>"
                f"{body}</table></div>")


def _with_action(request: Request, action: str) -> Request:
    return Request(request.principal, action, request.resource, request.resource_account, request.context)


def _as_scenario(source: Scenario | Policy | Sequence[Policy] | Mapping[str, Any] | str,
                 principal: str | None) -> Scenario:
    if isinstance(source, Scenario):
        return source
    if isinstance(source, (str, bytes, Mapping)):
        return load_scenario(source)  # type: ignore[arg-type]
    policies = (source,) if isinstance(source, Policy) else tuple(source)
    for p in policies:
        if not isinstance(p, Policy) or p.kind is not PolicyKind.IDENTITY:
            raise TypeError("give a Scenario, or identity policies as Policy objects "
                            "(put boundaries, resource policies and SCPs in a Scenario)")
    if principal is None:
        raise TypeError("name the principal whose identity policies these are")
    named = tuple(p if p.name else replace(p, name=f"identity policy {i}") for i, p in enumerate(policies))
    return Scenario(request=Request(principal, "sts:GetCallerIdentity"), identity_policies=named)


def _policies(scenario: Scenario) -> Iterator[Policy]:
    for level in scenario.rcps + scenario.scps:
        yield from level
    for single in (scenario.resource_policy, scenario.permissions_boundary, scenario.session_policy):
        if single is not None:
            yield single
    yield from scenario.identity_policies


def _action_masks(scenario: Scenario, cat: Catalog) -> tuple[int, dict[str, int], dict[str, int]]:
    """Which statements each action matches, as bit masks: (every action's bits, bits
    some actions add, bits some actions clear). Bit i is statement i of :func:`_policies`."""
    base = 0
    add: dict[str, int] = {}
    clear: dict[str, int] = {}
    bit = 1
    for policy in _policies(scenario):
        for st in policy.statements:
            sets = [cat.matched_names(entry) for entry in st.actions]
            if any(s is None for s in sets):  # "*": Action matches all, NotAction none
                if not st.not_action:
                    base |= bit
            else:
                if st.not_action:
                    base |= bit
                target = clear if st.not_action else add
                for names in sets:
                    for name in names or ():
                        target[name] = target.get(name, 0) | bit
            bit <<= 1
    return base, add, clear


def effective_permissions(scenario_or_policies: Scenario | Policy | Sequence[Policy] | Mapping[str, Any] | str,
                          principal: str | None = None, resource: str = "*", service: str | None = None, *,
                          context: Mapping[str, str | list[str]] | None = None,
                          resource_account: str | None = None, using: Catalog | None = None) -> EffectivePermissions:
    """Evaluate every catalog action for one principal and resource with the engine.

    Actions that match exactly the same statements, and that the engine's own rules treat
    alike (see :func:`iamkit.engine.evaluator.action_traits`), lead to the same evaluation: the engine evaluates
    one of them and the others share its outcome and determining statements. The result
    equals evaluating each action on its own (a test compares the two).

    Args:
        scenario_or_policies: a :class:`Scenario` (its policies are the prepared set), a
            scenario dict or JSON text, or identity :class:`Policy` objects.
        principal: the caller's ARN; by default the scenario request's principal.
        resource: a resource ARN, or ``"*"``. For an ARN, only actions with a resource type
            whose ARN pattern fits it are considered.
        service: only this service's actions (a prefix such as ``"s3"``).
        context: the request context; by default the scenario request's context.
        resource_account: the account that owns the resource, when not in the ARN.
        using: the catalog; the shared one by default.

    Returns:
        :class:`EffectivePermissions` with one row per action.

    Raises:
        ScenarioError: when the principal or the resource is malformed, the service is not
            in the catalog, or a scenario dict/text is invalid.
        CatalogError: when the catalog's data package is missing.
    """
    scenario = _as_scenario(scenario_or_policies, principal)
    principal = principal or scenario.request.principal
    problems = []
    if parse_caller(principal) is None:
        problems.append(Problem("principal", f"`{principal}` is not a principal AWS can send",
                                "use a user, role, assumed-role session, federated-user or root ARN"))
    if resource != "*" and not RESOURCE_ARN.match(resource):
        problems.append(Problem("resource", f"`{resource}` is not an ARN or `*`",
                                "an ARN has six parts: `arn:partition:service:region:account-id:resource`"))
    cat = using or catalog()
    if service is not None and cat.service(service) is None:  # else an empty table would read as "nothing allowed"
        problems.append(Problem("service", f"no service `{service}` in the action catalog",
                                suggest(service, cat.services()) or "give a service prefix, such as `s3`, `iam` or `ec2`"))
    if problems:
        raise ScenarioError(problems)
    if context is None:
        context = scenario.request.context if isinstance(scenario_or_policies, (Scenario, Mapping, str)) else {}
    request = Request(principal, "sts:GetCallerIdentity", resource, resource_account, dict(context))

    base, add, clear = _action_masks(scenario, cat)
    groups: dict[tuple[int, tuple[str, bool, bool]], tuple[str, bool, str | None, str | None, str | None]] = {}
    decisions: dict[str, Decision] = {}
    rows: list[PermissionRow] = []
    make_row = tuple.__new__  # PermissionRow(*head, *tail) without the keyword-handling __new__: 22,000 rows
    for name, head, traits in cat.candidates(resource, service):
        key = ((base | add.get(name, 0)) & ~clear.get(name, 0), traits)
        tail = groups.get(key)
        if tail is None:
            decision = decisions[name] = evaluate(scenario, request=_with_action(request, head[0]))
            first = decision.deciding
            tail = groups[key] = (decision.outcome.value, decision.allowed, *(
                (None, None, None) if first is None else (first.statement.label, first.policy_name, first.where)))
        rows.append(make_row(PermissionRow, head + tail))
    return EffectivePermissions(principal, resource, tuple(rows), len(groups), scenario, request, decisions)
