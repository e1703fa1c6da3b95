"""iamkit: learn AWS IAM by watching real policy decisions being made.

The engine parses and validates policies, evaluates requests with AWS's documented
logic, and returns a :class:`Decision` that records why. Around it: an account model,
AWS's simulator API, the action catalog, an audit, least-privilege tools, MFA codes and a
local sandbox. Views (``iamkit.tables``, ``iamkit.diagrams``, ``iamkit.widgets``) render
from Decisions and are imported on their own.

The engine's names are imported eagerly; the others load on first use, so ``import
iamkit`` (and the batch command line) stays fast and needs only the standard library.
Functions named like their module stay in it: ``iamkit.audit.audit``,
``iamkit.catalog.catalog``.
"""

from importlib import import_module as _import_module
from typing import Any as _Any

from .conditions import ConditionResult
from .decision import Decision, Layer, Outcome, StatementTrace, Step, Verdict
from .errors import IamkitError, InputError, PolicyError, Problem, ScenarioError
from .evaluate import evaluate
from .policy import Condition, Origin, Policy, PolicyKind, Statement, parse_policy, validate_policy
from .prepared import PolicySet
from .scenario import Request, Scenario, load_scenario

__version__ = "0.1.0"

_LAZY = {
    "Account": "account", "AccountError": "account", "load_account": "account",
    "AuditReport": "audit", "Finding": "audit",
    "CatalogError": "catalog", "effective_permissions": "catalog",
    "generate_policy": "least_privilege", "unused_permissions": "least_privilege", "lint_policy": "lint",
    "VirtualMfaDevice": "mfa", "totp": "mfa",
    "Sandbox": "sandbox", "SandboxError": "sandbox", "start_sandbox": "sandbox",
    "SimulationError": "simulator", "simulate_custom_policy": "simulator", "simulate_principal_policy": "simulator",
}

__all__ = [
    "Account",
    "AccountError",
    "AuditReport",
    "CatalogError",
    "Condition",
    "ConditionResult",
    "Decision",
    "Finding",
    "IamkitError",
    "InputError",
    "Layer",
    "Origin",
    "Outcome",
    "Policy",
    "PolicyError",
    "PolicyKind",
    "PolicySet",
    "Problem",
    "Request",
    "Sandbox",
    "SandboxError",
    "Scenario",
    "ScenarioError",
    "SimulationError",
    "Statement",
    "StatementTrace",
    "Step",
    "Verdict",
    "VirtualMfaDevice",
    "__version__",
    "effective_permissions",
    "evaluate",
    "generate_policy",
    "lint_policy",
    "load_account",
    "load_scenario",
    "parse_policy",
    "simulate_custom_policy",
    "simulate_principal_policy",
    "start_sandbox",
    "totp",
    "unused_permissions",
    "validate_policy",
]


def __getattr__(name: str) -> _Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'iamkit' has no attribute {name!r}")
    value = getattr(_import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({name for name in globals() if not name.startswith("_")} | set(_LAZY) | {"__version__"})
