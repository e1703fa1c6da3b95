"""Exercise checkers: predict → run → explain, with feedback that teaches.

Each checker compares a learner's answer with the engine's Decision and returns a
:class:`Feedback`. Hints grow more specific with each attempt; the answer itself is only
revealed when asked for (``reveal=True``) — never before the learner has tried. An answer
left as ``None`` (not yet answered) gets an invitation, not a verdict.

Grading: the notebooks' check cells carry nbgrader metadata (``grade: true``). When the
environment variable ``IAMKIT_GRADING`` is ``1`` (set it while running ``nbgrader
autograde``), a wrong or missing answer raises :class:`WrongAnswer`, so the grader scores
the cell zero; learners never see that, they see feedback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from html import escape
from typing import Any, Callable, Mapping

from .display import RichDisplay
from .engine.decision import Decision, Outcome
from .engine.evaluator import evaluate
from .engine.explain import what_would_change
from .engine.scenario import Scenario, load_scenario
from .errors import ExerciseError, PolicyError, ScenarioError, WrongAnswer

__all__ = ["ExerciseError", "Feedback", "WrongAnswer", "check_deciding_statement", "check_fix", "check_prediction"]

_OUTCOME_WORDS = {
    "allowed": Outcome.ALLOWED, "allow": Outcome.ALLOWED,
    "explicitdeny": Outcome.EXPLICIT_DENY, "explicit deny": Outcome.EXPLICIT_DENY,
    "implicitdeny": Outcome.IMPLICIT_DENY, "implicit deny": Outcome.IMPLICIT_DENY,
}


def _graded(feedback: "Feedback") -> "Feedback":
    if not feedback.correct and os.environ.get("IAMKIT_GRADING") == "1":
        raise WrongAnswer(feedback.message)
    return feedback


_NOT_ANSWERED = "not answered yet: write your answer in the cell above, run it, then run this cell again"


@dataclass(frozen=True)
class Feedback(RichDisplay):
    """The result of checking one answer.

    Attributes:
        correct: whether the answer is right.
        message: what the learner should read first.
        hint: a nudge for the next attempt (None when correct).
        answer: the explained answer, present only when revealed or once correct.
    """

    correct: bool
    message: str
    hint: str | None = None
    answer: str | None = None

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        lines = [("✔ " if self.correct else "✖ ") + self.message]
        if self.hint:
            lines.append(f"hint: {self.hint}")
        if self.answer:
            lines.append(f"answer: {self.answer}")
        return "\n".join(lines)

    def _representations(self) -> dict[str, Callable[[], str]]:
        return {"text/plain": self.__str__, "text/html": self._html}

    def _html(self) -> str:
        colour = "#009E73" if self.correct else "#D55E00"
        parts = [f'<div class="iamkit-feedback" style="border-left:6px solid {colour};padding:4px 10px">',
                 f"<p><strong>{'✔ Correct' if self.correct else '✖ Not yet'}</strong>: {escape(self.message)}</p>"]
        if self.hint:
            parts.append(f"<p><em>Hint:</em> {escape(self.hint)}</p>")
        if self.answer:
            parts.append(f"<p><em>Answer:</em> {escape(self.answer)}</p>")
        parts.append("</div>")
        return "".join(parts)


def _decision(scenario: Scenario | Mapping[str, Any] | str) -> Decision:
    return evaluate(scenario if isinstance(scenario, Scenario) else load_scenario(scenario))


_HINTS = {
    Outcome.EXPLICIT_DENY: [
        "check every policy for a Deny statement whose Action, Resource and Condition all match",
        "an explicit Deny in any layer wins over every Allow",
    ],
    Outcome.IMPLICIT_DENY: [
        "is there an Allow that matches in every layer that must allow (SCPs, boundary, session policy)?",
        "without a matching Allow, AWS denies by default — that is an implicit deny",
    ],
    Outcome.ALLOWED: [
        "look for an Allow whose Action, Resource and Condition match, and check that no Deny matches",
        "every guardrail that applies (SCP levels, boundary, session policy) must also allow",
    ],
}


def check_prediction(scenario: Scenario | Mapping[str, Any] | str, predicted: str | None, *, attempt: int = 1,
                     reveal: bool = False) -> Feedback:
    """Check a predicted outcome: ``allowed``, ``explicitDeny`` or ``implicitDeny``.

    Args:
        scenario: the exercise's scenario.
        predicted: the learner's prediction (case and spaces are forgiven: "explicit deny").
        attempt: which try this is; hints get more specific from the second try.
        reveal: show the answer even if the prediction is wrong.

    Raises:
        ExerciseError: when ``predicted`` is not one of the three outcomes.
    """
    if predicted is None:
        return _graded(Feedback(False, _NOT_ANSWERED, "predict one of `allowed`, `explicitDeny`, `implicitDeny`"))
    guess = _OUTCOME_WORDS.get(" ".join(predicted.strip().lower().replace("_", " ").replace("-", " ").split()))
    if guess is None:
        raise ExerciseError(f"`{predicted}` is not an outcome — answer `allowed`, `explicitDeny` or `implicitDeny`")
    d = _decision(scenario)
    if guess is d.outcome:
        return Feedback(True, f"the request is {d.outcome.value}", answer=d.summary())
    hints = _HINTS[d.outcome]
    message = f"the request is not {guess.value}"
    hint = hints[min(attempt, len(hints)) - 1]
    return _graded(Feedback(False, message, hint, d.summary() if reveal else None))


def check_deciding_statement(scenario: Scenario | Mapping[str, Any] | str, statement: str | None, *,
                             attempt: int = 1, reveal: bool = False) -> Feedback:
    """Check which statement decided, by its Sid, its label (``Statement[1]``) or where it is
    (``identity policy 1, Statement[0]``, as the trace names it); ``"none"`` when nothing
    decides (an implicit deny). A Sid or label that names statements of several policies,
    not all of which decide, is not an answer: the feedback asks which one."""
    if statement is None:
        return _graded(Feedback(False, _NOT_ANSWERED, "name the deciding statement's Sid, or `none`"))
    d = _decision(scenario)
    # Any matching Deny decides an explicit deny; an allowed request is decided by its grant.
    deciding = list(d.determining) if d.outcome is Outcome.EXPLICIT_DENY else [d.deciding] if d.deciding else []
    if not deciding:
        correct = statement.strip().lower() in ("", "none", "no statement")
        why = ("nothing allowed the request (implicit deny)" if d.outcome is Outcome.IMPLICIT_DENY
               else d.deciding_step.detail)
        return _graded(Feedback(correct, f"no statement decides: {why}" if correct
                                else f"`{statement}` did not decide: no statement does", None if correct else
                                "an implicit deny has no deciding statement" if d.outcome is Outcome.IMPLICIT_DENY
                                else f"this request is allowed without a statement: {why}",
                                d.summary() if correct or reveal else None))
    named = [t for t in d.trace if t.where == statement] or [t for t in d.trace if t.statement.label == statement]
    decides = [t in deciding for t in named]
    if named and all(decides):
        return Feedback(True, f"`{statement}` decides the request ({d.outcome.value})", answer=d.summary())
    first = deciding[0]
    if any(decides):
        places = "; ".join(f"`{t.where}`" for t in named)
        message = f"`{statement}` names {len(named)} statements ({places}): which one do you mean?"
        return _graded(Feedback(False, message, "answer with one of the places listed, written as shown",
                                d.summary() if reveal else None))
    if named:
        t = named[0]
        why = ("it does not apply" if not t.matched else f"a {first.effect} outweighs it" if t.effect != first.effect
               else f"it applies, but the grant that decides is in the {first.layer.label}")
        message = f"`{statement}` is looked at but does not decide: {why}"
    else:
        message = f"there is no statement `{statement}` in this scenario"
    hint = ("denies are checked first" if attempt == 1 else
            f"the deciding statement is a {first.effect} in the {first.layer.label}")
    return _graded(Feedback(False, message, hint, d.summary() if reveal else None))


def check_fix(scenario: Scenario | Mapping[str, Any] | str | None, goal: str, *, attempt: int = 1,
              reveal: bool = False) -> Feedback:
    """Check an edited scenario against a goal: ``allowed`` or ``denied``.

    The learner edits a policy of the exercise's scenario; this evaluates the edited scenario
    and says whether it now meets the goal, with what would still change the outcome.

    Raises:
        ExerciseError: when ``goal`` is neither ``allowed`` nor ``denied``.
    """
    if goal not in ("allowed", "denied"):
        raise ExerciseError(f"`{goal}` is not a goal — use `allowed` or `denied`")
    if scenario is None:
        return _graded(Feedback(False, _NOT_ANSWERED, "edit the policy, then check the scenario that uses it"))
    try:
        d = _decision(scenario)
    except (ScenarioError, PolicyError) as exc:
        first = exc.problems[0] if exc.problems else None
        return _graded(Feedback(False, "the policy does not parse yet", str(first) if first else None))
    met = d.allowed if goal == "allowed" else not d.allowed
    if met:
        return Feedback(True, f"the request is now {d.outcome.value}", answer=d.summary())
    hints = what_would_change(d)
    hint = hints[0] if hints and attempt > 1 else _HINTS[d.outcome][0]
    return _graded(Feedback(False, f"the request is still {d.outcome.value}", hint, d.summary() if reveal else None))
