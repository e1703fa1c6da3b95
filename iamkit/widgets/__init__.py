"""Widgets: thin, testable views over the engine for JupyterLab.

Each widget composes stock ipywidgets; its parts are attributes (``.editor``, ``.request``,
``.result``, …) that tests drive by setting ``.value`` and reading HTML values. Every
control change goes controls → :func:`iamkit.evaluate` → re-render from the Decision; bad
input shows the engine's located problems inline and keeps the last good state; an
unexpected exception in a callback is shown in the widget's ``status``.

Importing :mod:`iamkit` does not import ipywidgets; importing :mod:`iamkit.widgets` does.

==========================  =====================================================
:class:`PolicyEditor`       a policy's JSON, validated on every edit
:class:`RequestBuilder`     principal, action (catalog suggestions), resource, context
:class:`Playground`         every policy of a scenario, statement switches, the Decision
:class:`DenyWinsDemo`       the deny-wins lesson: an Allow and a Deny, two switches
:class:`TrustExplorer`      who may assume a role, in which context
:class:`AccountExplorer`    a user's or role's groups, policies, permissions and graph
:class:`PredictExercise`    predict allowed / explicit deny / implicit deny
:class:`DecidingStatementExercise`  name the statement that decided
:class:`FixPolicyExercise`  edit a policy until the request is allowed (or denied)
==========================  =====================================================
"""

from .editor import PolicyEditor
from .exercises import DecidingStatementExercise, FixPolicyExercise, PredictExercise
from .explorers import AccountExplorer, TrustExplorer
from .playground import DenyWinsDemo, Playground, StatementToggles
from .request import RequestBuilder

__all__ = [
    "AccountExplorer",
    "DecidingStatementExercise",
    "DenyWinsDemo",
    "FixPolicyExercise",
    "Playground",
    "PolicyEditor",
    "PredictExercise",
    "RequestBuilder",
    "StatementToggles",
    "TrustExplorer",
]
