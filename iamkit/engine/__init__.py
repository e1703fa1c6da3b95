"""The engine: policy text in, a :class:`Decision` out, by AWS's documented evaluation logic.

One module a step, in the order a request goes through them:

================  ================================================================
``reading``       bytes to JSON: sizes, duplicate keys, AWS's document limits
``jsonpos``       where each value sits in the text, for located messages
``policy``        parse and validate a policy document into statements
``model``         the parsed policy: Policy, Statement, Condition, Origin, PolicyKind
``principals``    principal elements and the caller's ARN
``matching``      action and resource wildcards
``variables``     policy variables such as ``${aws:username}``
``conditions``    condition operators, each comparison recorded
``scenario``      a request and every policy that applies to it
``evaluator``     :func:`evaluate`: the flowchart, a step for every box
``decision``      the :class:`Decision`: outcome, deciding statement, steps, layers, trace;
                  the :class:`Verdict`, its answer alone
``explain``       what one change would do to the answer
``prepared``      :class:`PolicySet`: policies parsed once, many requests answered fast
================  ================================================================

It is plain Python, which :mod:`iamkit.native` may run compiled. It imports no IPython, graphviz,
pandas or ipywidgets, and nothing from :mod:`iamkit.views`, :mod:`iamkit.widgets` or
:mod:`iamkit.analysis`.
"""

from .. import native

native.extend(__name__, __path__)  # its compiled modules, where they are built (iamkit.native)

from .conditions import ConditionResult
from .decision import Decision, Layer, Outcome, StatementTrace, Step, Verdict
from .evaluator import evaluate, rcp_services, verdict
from .policy import Condition, Origin, Policy, PolicyKind, Statement, parse_policy, validate_policy
from .prepared import PolicySet
from .scenario import Request, Scenario, load_scenario

__all__ = [
    "Condition",
    "ConditionResult",
    "Decision",
    "Layer",
    "Origin",
    "Outcome",
    "Policy",
    "PolicyKind",
    "PolicySet",
    "Request",
    "Scenario",
    "Statement",
    "StatementTrace",
    "Step",
    "Verdict",
    "evaluate",
    "load_scenario",
    "parse_policy",
    "rcp_services",
    "validate_policy",
    "verdict",
]
