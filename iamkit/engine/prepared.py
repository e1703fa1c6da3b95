"""A prepared policy set: a scenario's policies parsed and validated once, then asked about
many requests — the shape of a whole-account analysis over thousands of principals and tens of
thousands of actions.

:meth:`PolicySet.check` answers a request fast: the :class:`~iamkit.engine.decision.Verdict` (outcome,
deciding and determining statements, blocking layer, missing context keys), computed the way
:func:`~iamkit.engine.evaluator.evaluate` computes a Decision but tracing only the statements that
apply. :meth:`PolicySet.evaluate` gives the full :class:`~iamkit.engine.decision.Decision` with the
trace of every statement, for the requests a person will look at. The two agree field by field
(``tests/test_fast_paths.py`` holds them equal on every corpus and documented scenario).
A policy set works out once, for each action and resource it is asked about, which statements
can apply, and remembers statement traces and answers between requests, each by everything of
a request that it reads (see :class:`~iamkit.engine.evaluator.Plan`)::

    policies = PolicySet(scenario)
    denied = [r for r in requests if not policies.check(r).allowed]
    print(policies.evaluate(denied[0]).explain())
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping

from .decision import Decision, Verdict
from .evaluator import Plan, evaluate
from .scenario import Request, Scenario, load_scenario

__all__ = ["PolicySet"]


class PolicySet:
    """A scenario's policies, parsed once, for evaluating many requests.

    Args:
        scenario: a :class:`~iamkit.engine.scenario.Scenario`, or a scenario dict or JSON text
            (validated once, here). Its own request is the default one.

    Raises:
        ScenarioError: when ``scenario`` is a dict or text that is not a valid scenario.

    Attributes:
        scenario: the parsed scenario whose policies every request is evaluated against.
    """

    __slots__ = ("_plan", "scenario")

    def __init__(self, scenario: Scenario | Mapping[str, Any] | str):
        self.scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        self._plan = Plan(self.scenario)  # what it works out once, and remembers, about the policies

    def check(self, request: Request | None = None) -> Verdict:
        """The answer for one request, fast: outcome, deciding and determining statements,
        blocking layer and missing context keys, without the trace of every statement.

        Args:
            request: the request (default: the scenario's own).

        Returns:
            The :class:`~iamkit.engine.decision.Verdict`, equal to the same fields of :meth:`evaluate`'s
            Decision.
        """
        return self._plan.verdict(self.scenario.request if request is None else request)

    def check_all(self, requests: Iterable[Request]) -> Iterator[Verdict]:
        """:meth:`check` for each request, in order."""
        answer = self._plan.verdict
        for request in requests:
            yield answer(request)

    def evaluate(self, request: Request | None = None) -> Decision:
        """The full :class:`~iamkit.engine.decision.Decision` for one request, with the trace of every
        statement, the flowchart's steps and the notes, as :func:`~iamkit.engine.evaluator.evaluate` gives it.

        Args:
            request: the request (default: the scenario's own).
        """
        return evaluate(self.scenario, request=request)

    def __repr__(self) -> str:
        n = len(self._plan.places)
        return f"<PolicySet {self.scenario.id or ''} ({n} statement{'s' if n != 1 else ''})>".replace("  ", " ")

