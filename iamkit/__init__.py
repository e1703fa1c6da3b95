"""iamkit: learn AWS IAM by watching real policy decisions being made.

The engine parses and validates policies, evaluates requests with AWS's documented
logic, and returns a :class:`Decision` that records why. Views (tables, diagrams,
widgets) render from that Decision.
"""

from .conditions import ConditionResult
from .decision import Decision, Layer, Outcome, StatementTrace, Step
from .errors import IamkitError, PolicyError, Problem, ScenarioError
from .evaluate import evaluate
from .policy import Condition, Origin, Policy, PolicyKind, Statement, parse_policy, validate_policy
from .scenario import Request, Scenario, load_scenario
from .simulator import SimulationError, simulate_custom_policy

__version__ = "0.1.0"

__all__ = [
    "Condition",
    "ConditionResult",
    "Decision",
    "IamkitError",
    "Layer",
    "Origin",
    "Outcome",
    "Policy",
    "PolicyError",
    "PolicyKind",
    "Problem",
    "Request",
    "Scenario",
    "ScenarioError",
    "SimulationError",
    "Statement",
    "StatementTrace",
    "Step",
    "__version__",
    "evaluate",
    "load_scenario",
    "parse_policy",
    "simulate_custom_policy",
    "validate_policy",
]
