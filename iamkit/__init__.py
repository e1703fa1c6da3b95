"""iamkit: learn AWS IAM by watching real policy decisions being made.

The packages, each importing only those above it (``tests/test_imports.py`` checks):

=====================  ===============================================================
``iamkit.engine``      parse and validate policies, evaluate a request with AWS's
                       documented logic, and return a :class:`Decision` that records why
``iamkit.sandbox``     a local IAM endpoint for boto3 and the ``aws`` command
``iamkit.account``     an account's users, groups, roles and policies; activity logs;
                       MFA devices; the catalog of AWS actions
``iamkit.analysis``    effective permissions, lint, least privilege, the audit, and
                       AWS's simulator API
``iamkit.views``       tables and diagrams rendered from Decisions (never deciding)
``iamkit.exercises``   the lessons' answer checkers
``iamkit.widgets``     the lessons' ipywidgets
``iamkit.cli``         the ``iamkit`` command
=====================  ===============================================================

Under them all: ``iamkit.errors`` (every exception), ``iamkit.display`` (how an object
shows itself in Jupyter) and ``iamkit.native`` (the engine compiled with mypyc, where it is built).

The names below are the public API. The engine's are imported eagerly; the others load on
first use, so ``import iamkit`` (and the batch command line) stays fast and needs only the
standard library. Views and widgets are imported on their own.
"""

from importlib import import_module as _import_module
from typing import Any as _Any

from . import native

native.extend(__name__, __path__)  # the compiled engine, where it is built for these sources

from .engine import (
    Condition,
    ConditionResult,
    Decision,
    Layer,
    Origin,
    Outcome,
    Policy,
    PolicyKind,
    PolicySet,
    Request,
    Scenario,
    Statement,
    StatementTrace,
    Step,
    Verdict,
    evaluate,
    load_scenario,
    parse_policy,
    validate_policy,
)
from .errors import IamkitError, InputError, PolicyError, Problem, ScenarioError

__version__ = "0.1.0"

_LAZY = {
    "Account": "account.model", "AccountError": "account.model", "load_account": "account.model",
    "AuditReport": "analysis.report", "Finding": "analysis.report",
    "CatalogError": "account.catalog", "effective_permissions": "analysis.effective",
    "generate_policy": "analysis.least_privilege", "unused_permissions": "analysis.unused",
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
