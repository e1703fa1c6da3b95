"""Pandas tables of policies, decisions and audit findings: views of the engine's objects.

Every table is rendered from what the engine produced — a :class:`~iamkit.engine.policy.Policy`, a
:class:`~iamkit.engine.decision.Decision` and its trace, an audit report — and nothing here evaluates a
policy. :func:`account_matrix` pivots the decisions the account gives it
(:meth:`Account.decide_each <iamkit.account.Account.decide_each>`) exactly as :func:`matrix` does.

Each function returns a plain DataFrame (filter it, join it, assert on it). :func:`styled` turns
any of them, filtered or not, into a pandas Styler for notebooks, in which meaning is carried by
text as well as colour (``✔ allowed`` / ``✖ explicit deny`` / ``· implicit deny`` on light tints
of the colour-blind-safe Okabe–Ito palette, dark text) and every string that came from a policy,
a request or an account is HTML-escaped.

This is a view module: it imports pandas, and ``import iamkit`` does not import it. Where pandas
is not installed (Pyodide's core distribution, in the workbook's JupyterLite edition), every
function returns a :class:`Table` instead, the same columns and cells, and :func:`styled` shows it
as HTML with the same text, colours and escaping (both in :mod:`iamkit.views.plain_table`, with
the palette both share; :class:`Table` is exported here too, as the type these functions return).
"""

from __future__ import annotations

import hashlib
import html
from enum import Enum
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

try:
    import pandas as pd
except ImportError:  # JupyterLite's Pyodide has no pandas: the tables are Tables (below)
    pd = None

from ..engine.conditions import policy_value_text
from ..engine.decision import missing_keys
from ..engine.explain import condition_text
from ..engine.policy import Policy, Statement
from .plain_table import (
    EFFECT_TINT,
    INK,
    MUTED,
    OUTCOME_TEXT,
    SEVERITY_TINT,
    TABLE_CAPTION,
    TABLE_KIND,
    TINTS,
    StyledTable,
    Table,
    link_lines,
    tint_css,
)

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

    from ..account.entities import Role, User
    from ..account.model import Account
    from ..engine.decision import Decision, StatementTrace

__all__ = [
    "FINDING_COLUMNS",
    "POLICY_COLUMNS",
    "TRACE_COLUMNS",
    "Table",
    "account_matrix",
    "findings_table",
    "matrix",
    "policy_table",
    "styled",
    "trace_table",
]

POLICY_COLUMNS = ("statement", "effect", "action", "resource", "principal", "conditions", "line")
"""The columns of :func:`policy_table`, in order."""

TRACE_COLUMNS = ("layer", "policy", "statement", "effect", "action", "resource", "principal", "conditions",
                 "values compared", "missing keys", "applies", "determining")
"""The columns of :func:`trace_table`, in order."""

FINDING_COLUMNS = ("rule", "severity", "principal", "title", "why", "fix", "evidence", "docs")
"""The columns of :func:`findings_table`, in order (the attributes of an audit finding)."""

NO_MATCH = "no match"
NOT_COMPARED = "not compared"


# ── building the tables ──────────────────────────────────────────────────────────────


def policy_table(policy: Policy) -> pd.DataFrame:
    """One row per statement of a policy, as written.

    Args:
        policy: a parsed policy (:func:`iamkit.parse_policy`, or one of an account's).

    Returns:
        A DataFrame with the columns :data:`POLICY_COLUMNS`: ``statement`` (the ``Sid``, or the
        JSON path when there is none), ``effect``, ``action`` and ``resource`` (entries joined
        by ``", "``, prefixed ``NotAction:``/``NotResource:`` for the negated elements),
        ``principal`` (``AWS: …; Service: …``, prefixed ``NotPrincipal:``; empty when the
        statement names none), ``conditions`` (one line per operator and key:
        ``StringEquals aws:username: alice``) and ``line`` (where the statement starts in the
        source text, when known).
    """
    rows = [
        {
            "statement": st.label,
            "effect": st.effect,
            "action": _entries("NotAction" if st.not_action else None, st.actions),
            "resource": "" if st.resources is None else _entries("NotResource" if st.not_resource else None,
                                                                   st.resources),
            "principal": _principal_text(st),
            "conditions": "\n".join(
                f"{c.operator.text} {c.key}: {', '.join(policy_value_text(v) for v in c.values)}" for c in st.conditions),
            "line": st.line,
        }
        for st in policy.statements
    ]
    df = _frame(rows, POLICY_COLUMNS, {"line": "Int64"})
    kind = policy.kind.label
    where = str(policy.origin) if policy.origin else f"{kind} `{policy.name}`" if policy.name else kind
    return _tag(df, "policy", where)


def trace_table(decision: Decision) -> pd.DataFrame:
    """One row per statement the engine looked at, in the order it looked (the Decision's trace).

    Args:
        decision: what :func:`iamkit.evaluate` or ``Account.evaluate`` returned.

    Returns:
        A DataFrame with the columns :data:`TRACE_COLUMNS`:

        - ``layer``: ``identity policy``, ``permissions boundary``, ``service control policy``, …
        - ``policy``: where the policy comes from (``managed policy `ReadReports` attached to
          group `developers```) or its name in the scenario (``identity policy 0``).
        - ``statement``: the ``Sid``, or the JSON path when there is none.
        - ``effect``: ``Allow`` or ``Deny``.
        - ``action``: the entry that matched the action, ``no match``, ``not in NotAction`` or
          ``excluded by NotAction: …``.
        - ``resource``: likewise; ``not compared`` when an earlier element failed, empty when
          the statement has no resource element (role trust policies).
        - ``principal``: how ``Principal`` named the caller (``Principal: account``),
          ``no match``, ``NotPrincipal: exempt`` / ``NotPrincipal: not exempt``, or empty for
          statements without a principal element.
        - ``conditions``: one line per condition,
          ``StringEquals aws:username: request `bob` vs policy `alice` → false``; ``not compared``
          when an earlier element failed.
        - ``values compared``: one line per condition key the request had,
          ``aws:username = `bob```.
        - ``missing keys``: the context keys the statement asked for that the request lacked
          (condition keys and policy variables without a value), joined by ``", "``: the
          statement's part of the Decision's ``missing_context_keys``.
        - ``applies``: True when the statement applies to the request.
        - ``determining``: True for the statements that decided (the matching Denies, else
          the matching Allows).
    """
    decided = {id(t) for t in decision.determining}  # the same objects as in the trace
    rows = [_trace_row(t, id(t) in decided) for t in decision.trace]
    df = _frame(rows, TRACE_COLUMNS, {"applies": bool, "determining": bool})
    r = decision.request
    return _tag(df, "trace", f"{decision.outcome.value}: {r.principal} → {r.action} on {r.resource}")


def matrix(decisions: Iterable[Decision]) -> pd.DataFrame:
    """Pivot decisions into a principal × action table of outcomes.

    Rows are the request principals (ARNs) and columns the actions, both in the order they
    first appear; a cell is ``allowed``, ``explicitDeny`` or ``implicitDeny``, or missing
    (NaN) when no decision was given for that pair. The resource may differ from cell to cell.

    Args:
        decisions: Decisions, for example one per (principal, action) from :func:`iamkit.evaluate`.

    Returns:
        The DataFrame, its index named ``principal`` and its columns ``action``.

    Raises:
        ValueError: when two decisions share a principal and an action (make one matrix per
            resource instead).
    """
    return _pivot(((d.request.principal, d.request.action, d.request.resource, d.outcome.value) for d in decisions))


def account_matrix(account: Account, principals: Iterable[str | User | Role] | None, actions: Iterable[str],
                   resource: str = "*", **kwargs: Any) -> pd.DataFrame:
    """Who in an account may do what: :meth:`Account.decide_each`'s decisions, pivoted as :func:`matrix`.

    Args:
        account: the account.
        principals: users and roles, as names (``alice``), references (``role/Deploy``), ARNs or
            objects; None for every user, then every role. Rows are labelled as given
            (objects and None by their reference, ``user/alice``).
        actions: the actions, one column each.
        resource: the resource of every request.
        **kwargs: passed to :meth:`Account.evaluate` (``context=``, ``scps=``, …).

    Returns:
        The outcomes, as :func:`matrix` returns them.

    Raises:
        iamkit.account.AccountError: when a principal is not in the account.
    """
    decisions = account.decide_each(principals, actions, resource, **kwargs)
    return _pivot((label, d.request.action, d.request.resource, d.outcome.value) for label, d in decisions)


def findings_table(findings: Any) -> pd.DataFrame:
    """One row per audit finding, in the order the audit reported them.

    Args:
        findings: an audit report with a ``findings`` attribute, or any iterable of findings:
            objects with the attributes ``rule``, ``severity``, ``principal``, ``title``,
            ``why``, ``fix``, ``evidence`` and ``docs``. Enum values show as their value;
            lists (evidence, documentation links) as one item per line.

    Returns:
        A DataFrame with the columns :data:`FINDING_COLUMNS`.
    """
    items = getattr(findings, "findings", findings)
    rows = [{column: _cell(getattr(f, column, None)) for column in FINDING_COLUMNS} for f in items]
    return _tag(_frame(rows, FINDING_COLUMNS), "findings", "")


# ── styling for notebooks ──────────────────────────────────────────────────────────────


def styled(table: pd.DataFrame) -> Styler:
    """A pandas Styler of one of this module's tables, for notebooks.

    Works on a table as returned or after filtering rows or choosing columns
    (``styled(trace_table(d).query("applies"))``). Meaning is carried by text as well as
    colour; every cell, row and column label and the caption are HTML-escaped.

    Args:
        table: a DataFrame returned by :func:`policy_table`, :func:`trace_table`,
            :func:`matrix`, :func:`account_matrix` or :func:`findings_table`.

    Returns:
        A Styler with stable CSS classes (``iamkit-table iamkit-KIND``) and a deterministic id.
    """
    dress = {"matrix": _style_matrix, "trace": _style_trace, "policy": _style_policy, "findings": _style_findings}
    kind = table.attrs.get(TABLE_KIND)
    kind = kind if kind in dress else _guess_kind(table)
    if isinstance(table, Table):
        return StyledTable(table, kind)  # type: ignore[return-value]
    digest = hashlib.sha1(repr((kind, table.to_dict("split"))).encode()).hexdigest()[:10]
    s = table.style
    s.set_uuid(f"iamkit-{digest}")
    s.set_table_attributes(f'class="iamkit-table iamkit-{kind}"')
    s.format(escape="html", na_rep="")
    s.format_index(escape="html", axis=0)
    s.format_index(escape="html", axis=1)
    caption = table.attrs.get(TABLE_CAPTION)
    if caption:
        s.set_caption(html.escape(caption))
    s.set_table_styles([
        {"selector": "td", "props": "white-space: pre-line; text-align: left; vertical-align: top"},
        {"selector": "th", "props": "text-align: left"},
        {"selector": "caption", "props": "caption-side: top; text-align: left; font-weight: bold"},
    ])
    return dress.get(kind, lambda s, t: s)(s, table)


def _style_matrix(s: Styler, table: pd.DataFrame) -> Styler:
    s.format(lambda v: OUTCOME_TEXT.get(v, v), escape="html", na_rep="— not evaluated")
    return s.map(lambda v: tint_css(v) if v in OUTCOME_TEXT else f"color: {MUTED}")


def _style_trace(s: Styler, table: pd.DataFrame) -> Styler:
    s.hide(axis="index")
    _format(s, table, "applies", lambda v: "✔ applies" if v else "· does not apply")
    _format(s, table, "determining", lambda v: "★ determining" if v else "")

    def row(r: pd.Series) -> list[str]:
        # The statements that decided stand out in their effect's tint; those that did not apply recede.
        if bool(r.get("determining", False)):
            background = TINTS[EFFECT_TINT.get(str(r.get("effect")), "neutral")][0]
            css = f"background-color: {background}; color: {INK}; font-weight: bold"
        elif "applies" in r and not r["applies"]:
            css = f"color: {MUTED}"
        else:
            css = ""
        return ["" if column == "effect" else css for column in r.index]

    s.apply(row, axis=1)
    return _color(s, table, "effect", lambda v: tint_css(EFFECT_TINT.get(v, "neutral")))


def _style_policy(s: Styler, table: pd.DataFrame) -> Styler:
    s.hide(axis="index")
    return _color(s, table, "effect", lambda v: tint_css(EFFECT_TINT.get(v, "neutral")))


def _style_findings(s: Styler, table: pd.DataFrame) -> Styler:
    s.hide(axis="index")
    _format(s, table, "docs", link_lines)
    return _color(s, table, "severity", lambda v: tint_css(SEVERITY_TINT.get(str(v).lower(), "neutral")))



def _format(s: Styler, table: pd.DataFrame, column: str, how: Callable[[Any], str]) -> None:
    """Format one column (when the table has it), escaping the value before ``how`` sees it."""
    if column in table.columns:
        s.format(how, subset=[column], escape="html", na_rep="")


def _color(s: Styler, table: pd.DataFrame, column: str, how: Callable[[Any], str]) -> Styler:
    return s.map(how, subset=[column]) if column in table.columns else s



def _guess_kind(table: pd.DataFrame) -> str:
    """Recognise a table whose attrs were lost (some pandas operations drop them)."""
    columns = set(table.columns)
    for kind, known in (("trace", TRACE_COLUMNS), ("policy", POLICY_COLUMNS), ("findings", FINDING_COLUMNS)):
        if columns and columns <= set(known) and len(columns & set(known)) >= 3:
            return kind
    if table.index.name == "principal" and table.columns.name == "action":
        return "matrix"
    return "table"


# ── cells ────────────────────────────────────────────────────────────────────────────


def _trace_row(t: StatementTrace, determining: bool) -> dict[str, Any]:
    st = t.statement
    compared = {c.key: c.context_values for c in t.conditions if not c.missing}
    return {
        "layer": t.layer.label,
        "policy": _policy_where(t),
        "statement": st.label,
        "effect": st.effect,
        "action": _action_cell(t),
        "resource": _resource_cell(t),
        "principal": _principal_cell(t),
        "conditions": _conditions_cell(t),
        "values compared": "\n".join(f"{key} = {_request_values(values)}" for key, values in compared.items()),
        "missing keys": ", ".join(_missing(t)),
        "applies": t.matched,
        "determining": determining,
    }


def _missing(t: StatementTrace) -> list[str]:
    """The context keys and policy variables the statement asked for that the request lacked,
    as the engine counts them for the Decision's ``missing_context_keys``."""
    found: dict[str, str] = {}
    missing_keys(t, found)
    return list(found.values())


def _policy_where(t: StatementTrace) -> str:
    if t.origin is not None:
        return str(t.origin)
    return t.policy_name or f"{t.layer.label} {t.policy}"


def _action_cell(t: StatementTrace) -> str:
    negated = t.statement.not_action
    if t.action:
        return "not in NotAction" if negated else t.action_entry or ""
    return f"excluded by NotAction: {t.action_entry}" if negated and t.action_entry else NO_MATCH


def _resource_cell(t: StatementTrace) -> str:
    st = t.statement
    if st.resources is None:
        return ""
    if t.resource is None:
        return NOT_COMPARED
    if t.resource:
        return "not in NotResource" if st.not_resource else t.resource_entry or ""
    return f"excluded by NotResource: {t.resource_entry}" if st.not_resource and t.resource_entry else NO_MATCH


def _principal_cell(t: StatementTrace) -> str:
    element = t.statement.principal_element
    if element is None:
        return ""
    if t.principal_applies is None:
        return NOT_COMPARED
    if element == "NotPrincipal":
        return "NotPrincipal: not exempt" if t.principal_applies else "NotPrincipal: exempt"
    if t.principal_applies and t.principal is not None:
        return f"Principal: {t.principal.value}"
    return "Principal: matches" if t.principal_applies else NO_MATCH


def _conditions_cell(t: StatementTrace) -> str:
    if not t.statement.conditions:
        return ""
    if t.conditions_met is None:
        return NOT_COMPARED
    lines = []
    for c in t.conditions:
        line = condition_text(c)
        lines.append(f"{line} ({c.note})" if c.note else line)
    return "\n".join(lines)


def _request_values(values: tuple[str, ...] | None) -> str:
    return ", ".join(f"`{v}`" for v in values or ()) or "(none)"


def _entries(negated: str | None, entries: Iterable[str]) -> str:
    text = ", ".join(entries)
    return f"{negated}: {text}" if negated else text


def _principal_text(st: Statement) -> str:
    if st.principal_element is None:
        return ""
    block = "*" if st.principals is None else "; ".join(f"{kind}: {', '.join(values)}"
                                                         for kind, values in st.principals.items())
    return f"NotPrincipal: {block}" if st.principal_element == "NotPrincipal" else block


def _cell(value: Any) -> Any:
    """An audit finding's attribute as a table cell: enums by value, sequences one item a line."""
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return "\n".join(f"{k}: {_cell(v)}".replace("\n", ", ") for k, v in value.items())  # one line a key
    if isinstance(value, (list, tuple, set, frozenset)) and not hasattr(value, "_fields"):  # not a NamedTuple
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return "\n".join(str(_cell(v)) for v in items)
    return str(value)


# ── plumbing ─────────────────────────────────────────────────────────────────────────


def _frame(rows: list[dict[str, Any]], columns: tuple[str, ...], types: Mapping[str, Any] | None = None) -> pd.DataFrame:
    if pd is None:
        return Table([[row[c] for c in columns] for row in rows], columns)  # type: ignore[return-value]
    df = pd.DataFrame(rows, columns=list(columns))
    for column, kind in (types or {}).items():
        df[column] = df[column].astype(kind)
    return df


def _tag(df: pd.DataFrame, kind: str, caption: str) -> pd.DataFrame:
    df.attrs[TABLE_KIND] = kind
    if caption:
        df.attrs[TABLE_CAPTION] = caption
    return df


def _pivot(cells: Iterable[tuple[str, str, str, str]]) -> pd.DataFrame:
    """(row, action, resource, outcome) cells → the principal × action table."""
    grid: dict[str, dict[str, str]] = {}
    resources: dict[tuple[str, str], str] = {}
    actions: dict[str, None] = {}
    for row, action, resource, outcome in cells:
        if (row, action) in resources:
            raise ValueError(f"two decisions for `{row}` and `{action}` (resources `{resources[row, action]}` and "
                             f"`{resource}`) — hint: make one matrix per resource")
        resources[row, action] = resource
        grid.setdefault(row, {})[action] = outcome
        actions[action] = None
    if pd is None:
        table = Table([[grid[row].get(a) for a in actions] for row in grid], list(actions), list(grid), "principal", "action")
        return _tag(table, "matrix", "")  # type: ignore[arg-type]
    df = pd.DataFrame.from_dict(grid, orient="index", columns=list(actions)) if grid else pd.DataFrame()
    df = df.reindex(index=list(grid), columns=list(actions))
    df.index.name = "principal"
    df.columns.name = "action"
    return _tag(df, "matrix", "")
