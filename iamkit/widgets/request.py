"""RequestBuilder: who asks for which action on which resource, in which context.

The request is validated by the engine's scenario loader, so its messages name the field
(``request.principal``); the context is JSON or ``key=value`` lines, located by line.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Callable, Iterable, Mapping, Sequence

import ipywidgets as widgets
import traitlets

from ..account.catalog import installed_catalog
from ..engine.reading import load_json
from ..engine.scenario import Request, load_scenario
from ..errors import InputError, Problem, ScenarioError
from ._render import guarded, problems_html, text_html

__all__ = ["ACTION_OPTIONS", "RequestBuilder", "action_options", "context_text", "parse_context"]

ACTION_OPTIONS = 50
"""At most this many catalog suggestions in the action box."""

def action_options(typed: str, limit: int = ACTION_OPTIONS) -> list[str]:
    """Catalog suggestions for what is typed so far: service prefixes (``s3:``) until a
    colon, then that service's actions, those starting with the text first, then those
    containing it; at most ``limit``. Empty without the catalog."""
    cat = installed_catalog()
    text = typed.strip()
    if cat is None:
        return []
    prefix, sep, rest = text.partition(":")
    if not sep:
        low = prefix.lower()
        return [f"{s}:" for s in cat.services() if s.startswith(low)][:limit]
    service = cat.service(prefix) if prefix and not set("*?") & set(prefix) else None
    if service is None:
        return []
    low = text.lower()
    names = [a.name for a in service.actions]
    first = [n for n in names if n.lower().startswith(low)]
    part = rest.lower()
    then = [n for n in names if part and part in n.lower().split(":", 1)[1] and n not in first]
    return (first + then)[:limit]


def _action_warnings(action: str) -> list[Problem]:
    """A warning when the catalog does not know the action (the request stays valid)."""
    cat = installed_catalog()
    if cat is None or action in cat:
        return []
    hint = cat.suggest(action)
    return [Problem("request.action", f"the AWS catalog has no action `{action}`", hint, severity="warning")]


def context_text(context: Mapping[str, Any] | None) -> str:
    """A context as ``key=value`` lines (lists as JSON), the way the context box reads it."""
    lines = []
    for key, value in (context or {}).items():
        shown = json.dumps(value) if isinstance(value, (list, dict)) else str(value).lower() \
            if isinstance(value, bool) else str(value)
        lines.append(f"{key}={shown}")
    return "\n".join(lines)


def parse_context(text: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Read a context box: a JSON object, or ``key=value`` lines (``#`` starts a comment,
    a value starting with ``[`` is a JSON list). The JSON is read as strictly as a policy
    (:func:`~iamkit.engine.reading.load_json`: no key given twice, no ``NaN``). Returns
    (context or None, problems)."""
    stripped = text.strip()
    if not stripped:
        return {}, []
    if stripped.startswith("{"):
        try:
            value, _ = load_json(text, prefix=("context",))
        except InputError as error:
            return None, list(error.problems)
        if not isinstance(value, dict):  # pragma: no cover - starts with "{"
            return None, [Problem("context", "the context must be a JSON object")]
        return value, []
    context: dict[str, Any] = {}
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        body = line.strip()
        if not body or body.startswith("#"):
            continue
        key, sep, value = body.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            problems.append(Problem("context", f"`{body}` is not `key=value`",
                                    "write one key per line, such as `aws:MultiFactorAuthPresent=true`",
                                    number, line.index(body[0]) + 1))
            continue
        if value.startswith("["):
            try:
                items, _ = load_json(value, prefix=("context", key))
            except InputError as error:  # located in the value: moved to its place in the box
                start = line.index("[")
                problems.extend(replace(p, line=number, column=None if p.column is None else start + p.column)
                                for p in error.problems)
                continue
            context[key] = items
        else:
            context[key] = value
    return (None if problems else context), problems


class RequestBuilder(widgets.VBox):
    """Build a request: principal, action (with catalog suggestions), resource and context.

    Parts:
        principal: ``Combobox`` (free text; ``principals`` become its suggestions).
        action: ``Combobox`` whose options are catalog actions matching what is typed.
        resource: ``Text``.
        resource_account: ``Text``, the resource's account when its ARN does not say.
        context: ``Textarea``: a JSON object or ``key=value`` lines.
        suggested: ``HTML`` listing the context keys the policies ask for that are not set.
        status: ``HTML``: "✔ valid request", or each problem with where it is.

    State:
        request: the last valid :class:`~iamkit.Request` (a trait; or :meth:`on_change`).
        valid: whether the current input is valid (a trait).
        suggest_keys: the keys to suggest (the Playground sets them from the last Decision).
        last_error: an unexpected exception from the last edit, or None.
    """

    request = traitlets.Any(None, allow_none=True)
    valid = traitlets.Bool(False)

    def __init__(self, principal: str = "", action: str = "", resource: str = "*",
                 context: Mapping[str, Any] | None = None, *, resource_account: str | None = None,
                 principals: Sequence[str] = (), suggest_keys: Iterable[str] = ()):
        super().__init__()
        self.last_error: Exception | None = None
        self.problems: list[Problem] = []
        wide = widgets.Layout(width="100%")
        self.principal = widgets.Combobox(value=principal, options=tuple(principals), description="principal",
                                          placeholder="arn:aws:iam::111122223333:user/alice", layout=wide)
        self.action = widgets.Combobox(value=action, options=tuple(action_options(action)), description="action",
                                       placeholder="s3:GetObject", layout=wide)
        self.resource = widgets.Text(value=resource, description="resource", placeholder="arn:aws:s3:::bucket/key or *",
                                     layout=wide)
        self.resource_account = widgets.Text(value=resource_account or "", description="resource account",
                                             placeholder="(from the resource ARN)", layout=wide,
                                             style={"description_width": "initial"})
        self.context = widgets.Textarea(value=context_text(context), description="context",
                                        placeholder="aws:MultiFactorAuthPresent=true\naws:SourceIp=203.0.113.7",
                                        rows=3, layout=wide)
        self.suggested = widgets.HTML()
        self.status = widgets.HTML()
        for part, css in ((self.principal, "iamkit-principal"), (self.action, "iamkit-action"),
                          (self.resource, "iamkit-resource"), (self.resource_account, "iamkit-resource-account"),
                          (self.context, "iamkit-context"), (self.suggested, "iamkit-suggested"),
                          (self.status, "iamkit-status")):
            part.add_class(css)
        self.status.add_class("iamkit-request-status")
        self.add_class("iamkit-request-builder")
        self.children = (self.principal, self.action, self.resource, self.resource_account, self.context,
                         self.suggested, self.status)
        self._suggest: tuple[str, ...] = tuple(suggest_keys)
        self._context: dict[str, Any] = {}
        for part in (self.principal, self.action, self.resource, self.resource_account, self.context):
            part.observe(self._edited, names="value")
        self.action.observe(self._typed_action, names="value")
        self._edited()

    # ── public surface ─────────────────────────────────────────────────────────

    @property
    def suggest_keys(self) -> tuple[str, ...]:
        """Context keys the policies ask for; those not set are listed in ``suggested``."""
        return self._suggest

    @suggest_keys.setter
    def suggest_keys(self, keys: Iterable[str]) -> None:
        self._suggest = tuple(dict.fromkeys(keys))
        self._show_suggestions()

    def on_change(self, callback: Callable[[Request], Any]) -> None:
        """Call ``callback(request)`` after each edit that yields a new valid request."""
        self.observe(lambda change: callback(change["new"]), names="request")

    def __repr__(self) -> str:
        r = self.request
        if r is None:
            return "<RequestBuilder: not valid yet>"
        return f"<RequestBuilder {r.principal} → {r.action} on {r.resource}{'' if self.valid else ' (edit invalid)'}>"

    # ── reacting to edits ─────────────────────────────────────────────────────

    @guarded("suggesting actions")
    def _typed_action(self, change: Any = None) -> None:
        self.action.options = tuple(action_options(self.action.value))

    @guarded("checking the request")
    def _edited(self, change: Any = None) -> None:
        context, problems = parse_context(self.context.value)
        raw: dict[str, Any] = {"principal": self.principal.value.strip(), "action": self.action.value.strip(),
                               "resource": self.resource.value.strip() or "*", "context": context or {}}
        if self.resource_account.value.strip():
            raw["resourceAccount"] = self.resource_account.value.strip()
        request = None
        try:
            request = load_scenario({"request": raw}).request
        except ScenarioError as error:
            problems = list(error.problems) + problems
        if context is not None:
            self._context = context
        self._show_suggestions()
        self.problems = problems
        if problems or request is None:
            count = len(problems)
            kept = "; the last valid request stays in use" if self.request is not None else ""
            self.status.value = problems_html(f"not a valid request: {count} problem{'s' if count != 1 else ''}{kept}",
                                              problems, ok=False)
            self.valid = False
            return
        warnings = _action_warnings(request.action)
        self.problems = warnings
        self.status.value = problems_html("valid request", warnings, ok=True)
        self.valid = True
        self.request = request

    def _show_suggestions(self) -> None:
        present = {k.lower() for k in self._context}
        missing = [k for k in self._suggest if k.lower() not in present]
        if not missing:
            self.suggested.value = ""
            return
        keys = ", ".join(f"`{k}`" for k in missing)
        self.suggested.value = (f"<p>The policies ask for context keys this request does not set: {text_html(keys)} "
                                "— add them below as <code>key=value</code> lines to see what changes.</p>")
