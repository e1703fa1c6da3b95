"""iamkit: learn AWS IAM by watching real policy decisions being made.

The engine parses and validates policies, evaluates requests with AWS's documented
logic, and returns a :class:`Decision` that records why. Around it: an account model,
AWS's simulator API, the action catalog, an audit, least-privilege tools, MFA codes and a
local sandbox. Views (``iamkit.views.tables``, ``iamkit.views.diagrams``, ``iamkit.widgets``) render
from Decisions and are imported on their own.

The engine's names are imported eagerly; the others load on first use, so ``import
iamkit`` (and the batch command line) stays fast and needs only the standard library.
Functions named like their module stay in it: ``iamkit.analysis.audit.audit``,
``iamkit.account.catalog.catalog``.
"""

from importlib import import_module as _import_module
from typing import Any as _Any

from .engine import (
    Condition,
    ConditionResult,
    Decision,
    Layer,
    Origin,
    Outcome,
    Policy,
    PolicyKind,
    Request,
    Scenario,
    Statement,
    StatementTrace,
    Step,
    evaluate,
    load_scenario,
    parse_policy,
    validate_policy,
)
from .errors import IamkitError, InputError, PolicyError, Problem, ScenarioError

__version__ = "0.1.0"

_LAZY = {
    "Account": "account.model", "AccountError": "account.model", "load_account": "account.model",
    "AuditReport": "analysis.audit", "Finding": "analysis.audit",
    "CatalogError": "account.catalog", "effective_permissions": "account.catalog",
    "generate_policy": "analysis.least_privilege", "unused_permissions": "analysis.least_privilege",
    "lint_policy": "analysis.lint",
    "VirtualMfaDevice": "account.mfa", "totp": "account.mfa",
    "Sandbox": "sandbox.server", "SandboxError": "sandbox.server", "start_sandbox": "sandbox.server",
    "SimulationError": "analysis.simulator", "simulate_custom_policy": "analysis.simulator",
    "simulate_principal_policy": "analysis.simulator",
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
