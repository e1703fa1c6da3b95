"""The audit's results: a :class:`Finding` per departure from a best practice, and the
:class:`AuditReport` that sorts them, counts them and shows them as text, HTML, JSON or a
pandas DataFrame.

:func:`iamkit.analysis.audit.audit` makes them; the rules they name are
:data:`iamkit.analysis.audit.RULES`. Each finding quotes the AWS page its ``why`` comes from.

Sources:

- Security best practices in IAM: https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html
- Root user best practices: https://docs.aws.amazon.com/accounts/latest/reference/best-practices-root-user.html
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import escape
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

from ..display import RichDisplay
from ..errors import Problem

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__all__ = [
    "SEVERITIES",
    "AuditReport",
    "Finding",
    "iso_utc",
]

SEVERITIES = ("critical", "high", "medium", "low")
"""Severities, most severe first: findings sort in this order."""

_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def iso_utc(moment: datetime | None) -> str | None:
    """A moment as the report's JSON writes it: ISO 8601 in UTC, to the second (None stays None)."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Finding:
    """One departure from a best practice.

    Attributes:
        rule: the rule's id (see :data:`RULES`).
        severity: ``critical``, ``high``, ``medium`` or ``low``.
        principal: the ARN of the user, role or policy; ``<root_account>`` for the root user.
        title: what is wrong, naming the principal.
        why: why it matters, citing AWS's best practice.
        fix: the ``aws`` command(s) that fix it, one a line; ``#`` starts a comment.
        evidence: the facts that triggered it (JSON-ready: dates as ISO 8601 text).
        docs: the AWS page the ``why`` comes from.
    """

    rule: str
    severity: str
    principal: str
    title: str
    why: str
    fix: str
    evidence: Mapping[str, Any] = field(default_factory=dict, hash=False)
    docs: str = ""

    @property
    def name(self) -> str:
        """The principal's short name: ``dave``, ``AppRole``, ``EverythingPolicy``, ``<root_account>``."""
        return _short_name(self.principal)

    def sort_key(self) -> tuple[int, str, str, str]:
        """(severity rank, rule, principal, title): the report's order."""
        return (_RANK.get(self.severity, len(SEVERITIES)), self.rule, self.principal, self.title)

    def to_dict(self) -> dict[str, Any]:
        """The finding as plain JSON-ready data."""
        return {"rule": self.rule, "severity": self.severity, "principal": self.principal, "name": self.name,
                "title": self.title, "why": self.why, "fix": self.fix, "evidence": dict(self.evidence),
                "docs": self.docs}

    def __repr__(self) -> str:
        return f"<Finding {self.severity} {self.rule} {self.principal}>"


def _short_name(principal: str) -> str:
    if principal.startswith("arn:"):
        return principal.split(":", 5)[-1].rsplit("/", 1)[-1]
    return principal


@dataclass(frozen=True)
class AuditReport(RichDisplay):
    """The findings of an audit, sorted by severity, rule and principal.

    Iterate over it, take ``len()``, group with :meth:`by_rule`. In Jupyter it displays as a
    table; :meth:`explain` is the same as text, :meth:`to_json` as JSON.

    Attributes:
        account_id: the audited account.
        now: the moment ages were measured from.
        findings: every finding, most severe first.
        problems: what could not be read (bad credential-report rows, unparsable policies);
            the audit went on without them.
        notes: what the audit could not check, and why.
    """

    account_id: str
    now: datetime
    findings: tuple[Finding, ...] = ()
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.findings)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def by_rule(self) -> dict[str, list[Finding]]:
        """The findings grouped by rule id, in the report's order."""
        out: dict[str, list[Finding]] = {}
        for finding in self.findings:
            out.setdefault(finding.rule, []).append(finding)
        return out

    def counts(self) -> dict[str, int]:
        """How many findings of each severity (every severity listed, most severe first)."""
        counts = dict.fromkeys(SEVERITIES, 0)
        for finding in self.findings:
            counts[finding.severity] = counts.get(finding.severity, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data."""
        return {
            "accountId": self.account_id,
            "now": iso_utc(self.now),
            "counts": self.counts(),
            "findings": [f.to_dict() for f in self.findings],
            "problems": [p.to_dict() for p in self.problems],
            "notes": list(self.notes),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def to_frame(self) -> pandas.DataFrame:
        """The findings as a pandas DataFrame, one row each (pandas is imported only here).

        Raises:
            ImportError: pandas is not installed.
        """
        import pandas

        columns = ["severity", "rule", "principal", "name", "title", "why", "fix", "docs", "evidence"]
        return pandas.DataFrame([f.to_dict() for f in self.findings], columns=columns)

    def _headline(self) -> str:
        when = self.now.date().isoformat()
        if not self.findings:
            return f"audit of account {self.account_id} on {when}: no findings"
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items() if n)
        n = len(self.findings)
        return f"audit of account {self.account_id} on {when}: {n} finding{'s' if n != 1 else ''} ({counts})"

    def explain(self) -> str:
        """The report as text: a table of findings, then each finding's why, fix and docs."""
        lines = [self._headline()]
        if self.findings:
            rows = [(f.severity, f.rule, f.principal, f.title) for f in self.findings]
            widths = [max(len(r[i]) for r in rows + [("severity", "rule", "principal", "")]) for i in range(3)]
            lines.append("")
            lines.append(f"{'severity':<{widths[0]}}  {'rule':<{widths[1]}}  {'principal':<{widths[2]}}  finding")
            for sev, rule, principal, title in rows:
                lines.append(f"{sev:<{widths[0]}}  {rule:<{widths[1]}}  {principal:<{widths[2]}}  {title}")
            for number, f in enumerate(self.findings, 1):
                lines.append("")
                lines.append(f"{number}. [{f.severity}] {f.rule}: {f.title}")
                lines.append(f"   why:  {f.why}")
                fix = f.fix.splitlines() or [""]
                lines.append(f"   fix:  {fix[0]}")
                lines.extend(f"         {line}" for line in fix[1:])
                lines.append(f"   docs: {f.docs}")
        if self.problems:
            lines.append("")
            lines.append("not audited (could not be read):")
            lines.extend(f"  {p}" for p in self.problems)
        if self.notes:
            lines.append("")
            lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.explain()

    def __repr__(self) -> str:
        if not self.findings:
            return f"<AuditReport account {self.account_id}: no findings>"
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items() if n)
        return f"<AuditReport account {self.account_id}: {len(self.findings)} findings ({counts})>"

    def _repr_html_(self) -> str:
        e = escape
        out = [f"<div class=\"iamkit-audit\"><p><strong>{e(self._headline())}</strong></p>"]
        if self.findings:
            out.append("<table><thead><tr><th>severity</th><th>rule</th><th>principal</th><th>finding</th>"
                       "<th>fix</th></tr></thead><tbody>")
            for f in self.findings:
                out.append(
                    f"<tr class=\"severity-{e(f.severity)}\"><td>{e(f.severity)}</td><td><code>{e(f.rule)}</code></td>"
                    f"<td><code>{e(f.principal)}</code></td>"
                    f"<td>{e(f.title)}<br><small>{e(f.why)} <a href=\"{e(f.docs, quote=True)}\" target=\"_blank\" "
                    f"rel=\"noopener noreferrer\">AWS docs</a></small></td>"
                    f"<td><pre>{e(f.fix)}</pre></td></tr>")
            out.append("</tbody></table>")
        if self.problems:
            out.append("<p>Not audited (could not be read):</p><ul>")
            out.extend(f"<li><code>{e(str(p))}</code></li>" for p in self.problems)
            out.append("</ul>")
        if self.notes:
            out.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in self.notes) + "</ul>")
        out.append("</div>")
        return "".join(out)

    def _representations(self) -> dict[str, Callable[[], str]]:
        return {"text/plain": self.explain, "text/html": self._repr_html_}
