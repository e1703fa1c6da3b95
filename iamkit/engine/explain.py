"""Text and HTML explanations of a Decision, for terminals, notebooks and test failures.

Both render only from the Decision; user-provided text is always escaped in HTML. This module
imports nothing of iamkit at run time (the Decision's type only for annotations), so
``Decision.explain()`` and its notebook display can use it directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .conditions import ConditionResult
    from .decision import Decision, StatementTrace

__all__ = ["condition_text", "decision_html", "decision_text", "statement_text", "what_would_change"]

_ICON = {"allow": "✔", "deny": "✖", "implicit": "✖", "pass": "→", "skip": "·"}  # unreached steps are listed apart


def _values(values: tuple[str | None, ...] | None) -> str:
    if values is None:
        return "(missing)"
    return ", ".join("(no value)" if v is None else f"`{v}`" for v in values) or "(none)"


def condition_text(c: "ConditionResult") -> str:
    """One line: ``StringEquals aws:username: request `bob` vs policy `alice` → false``."""
    got = "missing from the request" if c.missing else f"request {_values(c.context_values)}"
    line = f"{c.operator} {c.key}: {got} vs policy {_values(c.values)} → {'true' if c.result else 'false'}"
    if c.unresolved:
        line += f" (no value for {', '.join('${' + u + '}' for u in c.unresolved)})"
    return line


def statement_text(t: "StatementTrace") -> str:
    """One line per statement, saying whether it applied and, if not, which element failed."""
    st = t.statement
    where = f" at line {st.line}" if st.line else ""
    if t.matched:
        state = "applies"
    else:
        state = f"does not apply: {t.failed_element} does not match"
    return f"{st.effect:<5} {st.label} ({t.where}{where}) {state}"


def decision_text(d: "Decision") -> str:
    """A plain-text explanation that stands on its own."""
    r = d.request
    lines = [
        f"{d.headline}: {r.principal} → {r.action} on {r.resource}",
        f"  {d.summary()}",
    ]
    if d.outcome.value == "implicitDeny" and d.blocked_by is not None:
        lines.append(f"  blocked at: the {d.blocked_by.label} (no statement allowed the request)")
    if len(d.determining) > 1 or (d.determining and d.deciding is None):
        verb = "every matching Deny" if d.outcome.value == "explicitDeny" else "every matching Allow"
        lines.append(f"  {verb}:")
        lines.extend(f"    {t.effect} {t.statement.label} ({t.where})" for t in d.determining)
    lines.append("  path through AWS's evaluation logic:")
    lines.extend(f"    {_ICON[s.verdict]} {s.name}: {s.detail}" for s in d.steps if s.reached)
    unreached = [s.name for s in d.steps if not s.reached]
    if unreached:
        lines.append(f"    (not reached: {', '.join(unreached)})")
    if d.missing_context_keys:
        lines.append("  context keys the policies asked for but the request did not have: "
                     + ", ".join(d.missing_context_keys))
    for note in d.notes:
        lines.append(f"  note: {note}")
    if d.trace:
        lines.append("  statements:")
        for t in d.trace:
            lines.append(f"    {statement_text(t)}")
            for c in t.conditions:
                lines.append(f"        {condition_text(c)}")
    return "\n".join(lines)


def decision_html(d: "Decision") -> str:
    """A self-contained HTML explanation (no scripts; every user string escaped)."""
    from html import escape  # here: the text explanation and ``import iamkit`` do without it
    outcome = d.outcome.value
    colour = {"allowed": "#1a7f37", "explicitDeny": "#b35900", "implicitDeny": "#6e7781"}[outcome]
    r = d.request
    parts = [
        f'<div class="iamkit-decision iamkit-{outcome}" style="border-left:6px solid {colour};padding:4px 10px">',
        f'<p><strong>{escape(d.headline)}</strong>: <code>{escape(r.principal)}</code> → '
        f"<code>{escape(r.action)}</code> on <code>{escape(r.resource)}</code></p>",
    ]
    parts.append(f"<p>{escape(d.summary())}</p>")
    if outcome == "implicitDeny" and d.blocked_by is not None:
        parts.append(f"<p>Blocked at the <strong>{escape(d.blocked_by.label)}</strong>: "
                     "no statement allowed the request.</p>")
    if len(d.determining) > 1 or (d.determining and d.deciding is None):
        verb = "Every matching Deny" if outcome == "explicitDeny" else "Every matching Allow"
        items = "".join(f"<li>{escape(t.effect)} <code>{escape(t.statement.label)}</code> — {escape(t.where)}</li>"
                        for t in d.determining)
        parts.append(f"<p>{verb}:</p><ul>{items}</ul>")
    steps = "".join(f"<li>{_ICON[s.verdict]} <strong>{escape(s.name)}</strong>: {escape(s.detail)}</li>"
                    for s in d.steps if s.reached)
    parts.append(f"<details open><summary>Path through AWS's evaluation logic</summary><ol>{steps}</ol></details>")
    if d.missing_context_keys:
        keys = ", ".join(f"<code>{escape(k)}</code>" for k in d.missing_context_keys)
        parts.append(f"<p>Context keys the policies asked for but the request did not have: {keys}</p>")
    for note in d.notes:
        parts.append(f"<p><em>Note:</em> {escape(note)}</p>")
    if d.trace:
        rows = []
        for t in d.trace:
            conds = "<br>".join(escape(condition_text(c)) for c in t.conditions)
            rows.append(
                "<tr>"
                f"<td>{escape(t.layer.label)}</td><td>{escape(t.where)}</td>"
                f"<td>{escape(t.effect)}</td>"
                f"<td>{'applies' if t.matched else escape('no: ' + str(t.failed_element))}</td>"
                f"<td>{conds}</td></tr>"
            )
        parts.append(
            "<details><summary>Every statement looked at</summary><table>"
            "<thead><tr><th>layer</th><th>statement</th><th>effect</th><th>applies?</th><th>conditions</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></details>"
        )
    parts.append("</div>")
    return "".join(parts)


def what_would_change(d: "Decision") -> list[str]:
    """What would change the outcome, read from the trace (nothing is re-evaluated).

    For a denial: the Allow statements that nearly applied (every element matched but one)
    and the context keys they missed; the layer that had no Allow. For an explicit deny:
    the Deny statements to narrow. For an allow: the statements it rests on.
    """
    hints: list[str] = []
    outcome = d.outcome.value
    if outcome == "explicitDeny":
        for t in d.determining:
            hints.append(f"the Deny `{t.statement.label}` ({t.where}) decides: while it matches, no Allow anywhere "
                         "can help — narrow its Action/Resource or add a condition that excludes this request")
        return hints
    if outcome == "allowed":
        labels = ", ".join(f"`{t.statement.label}`" for t in d.determining) or d.deciding_step.detail
        return [f"the request rests on {labels}; a matching Deny in any layer would turn it into an explicit deny"]
    near = [t for t in d.trace if t.effect == "Allow" and not t.matched and t.action
            and t.resource is not False and t.principal_applies is not False]
    for t in near:
        failed = [c for c in t.conditions if not c.result]
        for c in failed:
            if c.missing:
                hints.append(f"`{t.statement.label}` ({t.where}) needs `{c.key}` in the request context "
                             f"({c.operator} {_values(c.values)})")
            else:
                hints.append(f"`{t.statement.label}` ({t.where}) nearly applies: its condition {condition_text(c)}")
    for t in d.trace:
        if t.effect == "Allow" and not t.matched and t.action and t.resource is False:
            hints.append(f"`{t.statement.label}` ({t.where}) allows the action but not this resource "
                         f"(it lists {', '.join(f'`{r}`' for r in t.statement.resources or ())})")
    if d.blocked_by is not None:
        hints.append(f"nothing in the {d.blocked_by.label} allows `{d.request.action}` on `{d.request.resource}`: "
                     "an Allow statement there would be needed")
    return hints
