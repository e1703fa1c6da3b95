"""Exercise widgets: predict the outcome, name the deciding statement, fix a policy.

Each wraps one checker of :mod:`iamkit.exercises` (which evaluates with the engine and
writes the feedback); the widget counts attempts and holds the answer back until the
learner has tried at least once and pressed Reveal, or answered correctly.
"""

from __future__ import annotations

from html import escape
from typing import Any, Mapping

import ipywidgets as widgets

from ..engine.scenario import Scenario, load_scenario
from ..exercises import Feedback, check_deciding_statement, check_fix, check_prediction
from ..views.tables import policy_table
from ._model import SlotIndex, assemble, slot_key, slots
from ._render import guarded, table_html, text_html
from .editor import PolicyEditor

__all__ = ["DecidingStatementExercise", "FixPolicyExercise", "PredictExercise"]

NO_STATEMENT = "(no statement: nothing allowed it)"
"""The choice for "no statement decides" (an implicit deny)."""


def _scenario_html(scenario: Scenario) -> str:
    """The request and every policy as tables: what the learner reasons about."""
    r = scenario.request
    context = "".join(f"<li><code>{escape(k)}</code> = <code>{escape(str(v))}</code></li>" for k, v in r.context.items())
    parts = [f"<p><strong>Request</strong>: <code>{escape(r.principal)}</code> → <code>{escape(r.action)}</code> "
             f"on <code>{escape(r.resource)}</code></p>"]
    if context:
        parts.append(f"<p>Context:</p><ul>{context}</ul>")
    parts.extend(table_html(policy_table(slot.policy)) for slot in slots(scenario))
    return "<details open><summary>The scenario</summary>" + "".join(parts) + "</details>"


class _Exercise(widgets.VBox):
    """Prompt, scenario, an answer control, Check and Reveal buttons, and feedback."""

    kind = "exercise"

    def __init__(self, scenario: Scenario | Mapping[str, Any] | str, prompt: str, answer: widgets.Widget,
                 *, show_scenario: bool = True):
        super().__init__()
        self.scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        self.last_error: Exception | None = None
        self.attempts = 0
        self.solved = False
        self.revealed = False
        self.last_feedback: Feedback | None = None
        self.prompt = widgets.HTML(f"<p>{text_html(prompt)}</p>")
        self.details = widgets.HTML(_scenario_html(self.scenario) if show_scenario else "")
        self.check_button = widgets.Button(description="Check", button_style="primary", icon="check")
        self.reveal_button = widgets.Button(description="Reveal the answer", icon="eye")
        self.feedback = widgets.HTML()
        self.status = widgets.HTML()
        for part, css in ((self.prompt, "iamkit-prompt"), (self.details, "iamkit-scenario"),
                          (self.check_button, "iamkit-check"), (self.reveal_button, "iamkit-reveal"),
                          (self.feedback, "iamkit-exercise-feedback"), (self.status, "iamkit-status")):
            part.add_class(css)
        self.add_class("iamkit-exercise")
        self.add_class(f"iamkit-{self.kind}")
        self.check_button.on_click(lambda _: self.check())
        self.reveal_button.on_click(lambda _: self.reveal())
        self.children = (self.prompt, self.details, answer, widgets.HBox((self.check_button, self.reveal_button)),
                         self.feedback, self.status)

    # ── what each exercise says ────────────────────────────────────────────────

    def _answer(self) -> str | None:
        """The learner's current answer, or None when there is none to check."""
        raise NotImplementedError

    def _check(self, answer: str, attempt: int, reveal: bool) -> Feedback:
        raise NotImplementedError

    _missing = "choose an answer first"

    # ── Check and Reveal ──────────────────────────────────────────────────────

    @guarded("checking the answer")
    def check(self) -> Feedback | None:
        """Check the current answer (what the Check button does); returns the Feedback."""
        answer = self._answer()
        if answer is None:
            self.feedback.value = f'<p class="iamkit-nudge">{text_html(self._missing)}</p>'
            return None
        self.attempts += 1
        feedback = self._check(answer, self.attempts, False)
        self.solved = self.solved or feedback.correct
        self._show(feedback)
        return feedback

    @guarded("revealing the answer")
    def reveal(self) -> Feedback | None:
        """Show the answer — only once the learner has tried at least once (what the Reveal
        button does); returns the Feedback, or None when it is too early."""
        answer = self._answer()
        if self.attempts == 0 or answer is None:
            self.feedback.value = ('<p class="iamkit-nudge">Try at least once and press <strong>Check</strong> first: '
                                   "the answer is revealed after one try.</p>")
            return None
        feedback = self._check(answer, self.attempts, True)
        self.revealed = True
        self._show(feedback)
        return feedback

    def _show(self, feedback: Feedback) -> None:
        self.last_feedback = feedback
        bundle = feedback._repr_mimebundle_()
        tries = f"attempt {self.attempts}" + (" · answer revealed" if self.revealed else "")
        self.feedback.value = f'<p class="iamkit-attempts"><small>{tries}</small></p>{bundle["text/html"]}'
        self.status.value = ""

    def __repr__(self) -> str:
        state = "solved" if self.solved else "revealed" if self.revealed else "not solved yet"
        return f"<{type(self).__name__}: {self.attempts} attempt{'s' if self.attempts != 1 else ''}, {state}>"


class PredictExercise(_Exercise):
    """Predict the outcome: allowed, explicit deny or implicit deny.

    Parts:
        prompt, details (the scenario as tables), choice (``ToggleButtons``),
        check_button, reveal_button, feedback (``iamkit-exercise-feedback``), status.

    State:
        attempts, solved, revealed, last_feedback.
    """

    kind = "predict"

    def __init__(self, scenario: Scenario | Mapping[str, Any] | str, prompt: str, *, show_scenario: bool = True):
        self.choice = widgets.ToggleButtons(options=(("allowed", "allowed"), ("explicit deny", "explicitDeny"),
                                                     ("implicit deny", "implicitDeny")), value=None)
        self.choice.add_class("iamkit-choice")
        super().__init__(scenario, prompt, self.choice, show_scenario=show_scenario)

    _missing = "choose allowed, explicit deny or implicit deny first"

    def _answer(self) -> str | None:
        return self.choice.value

    def _check(self, answer: str, attempt: int, reveal: bool) -> Feedback:
        return check_prediction(self.scenario, answer, attempt=attempt, reveal=reveal)


class DecidingStatementExercise(_Exercise):
    """Name the statement that decides the request (or none, for an implicit deny).

    Parts:
        prompt, details, choice (``Dropdown`` of every statement of every policy, labelled
        with effect and where it is; its value is where the statement is,
        ``identity policy 1, Statement[0]``, or ``none``), check_button, reveal_button,
        feedback, status.
    """

    kind = "deciding-statement"

    def __init__(self, scenario: Scenario | Mapping[str, Any] | str, prompt: str, *, show_scenario: bool = True):
        loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        # One choice per statement of each policy, its value where it is as the trace names it
        # (``identity policy 1, Statement[0]``): two Sid-less statements stay two choices.
        options = [(f"{st.label} — {st.effect} in {slot.title}", f"{slot.title}, {st.path}")
                   for slot in slots(loaded) for st in slot.policy.statements]
        options.append((NO_STATEMENT, "none"))
        self.choice = widgets.Dropdown(options=options, value=None, description="statement",
                                       layout=widgets.Layout(width="auto"))
        self.choice.add_class("iamkit-choice")
        super().__init__(loaded, prompt, self.choice, show_scenario=show_scenario)

    _missing = "choose a statement first"

    def _answer(self) -> str | None:
        return self.choice.value

    def _check(self, answer: str, attempt: int, reveal: bool) -> Feedback:
        return check_deciding_statement(self.scenario, answer, attempt=attempt, reveal=reveal)


class FixPolicyExercise(_Exercise):
    """Edit one policy of the scenario until the request is ``allowed`` (or ``denied``).

    Parts:
        prompt, details, editor (a :class:`PolicyEditor` on that policy), check_button,
        reveal_button, feedback, status.

    Args:
        scenario: the exercise's scenario.
        layer, index: which policy to edit (as for :meth:`Playground.set_policy`).
        goal: ``allowed`` or ``denied``.
        prompt: the task; by default "Edit the … so that the request is …".
    """

    kind = "fix-policy"

    def __init__(self, scenario: Scenario | Mapping[str, Any] | str, layer: str, index: SlotIndex, goal: str,
                 prompt: str | None = None, *, show_scenario: bool = True):
        if goal not in ("allowed", "denied"):
            raise ValueError(f"`{goal}` is not a goal — hint: use `allowed` or `denied`")
        loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        by_key = {s.key: s for s in slots(loaded)}
        self.key = slot_key(layer, index, list(by_key))
        slot = by_key[self.key]
        self.goal = goal
        self.editor = PolicyEditor(slot.policy)
        prompt = prompt or f"Edit the {slot.title} so that the request is {goal}."
        super().__init__(loaded, prompt, self.editor, show_scenario=show_scenario)

    _missing = "the policy is not valid yet: fix the problems shown under it, then check"

    def edited_scenario(self) -> Scenario:
        """The scenario with the editor's last valid policy in place."""
        policies = {slot.key: slot.policy for slot in slots(self.scenario)}
        policies[self.key] = self.editor.policy
        return assemble(self.scenario, self.scenario.request, policies)

    def _answer(self) -> str | None:
        return "edited" if self.editor.valid else None

    def _check(self, answer: str, attempt: int, reveal: bool) -> Feedback:
        return check_fix(self.edited_scenario(), self.goal, attempt=attempt, reveal=reveal)


