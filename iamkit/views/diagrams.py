"""Graphviz diagrams: the evaluation flowchart, an account's graph, role trust, cross-account.

This module is where the lessons and the widgets import diagrams from; it holds no code of its
own. Each kind lives in the module named for it:

=======================  ============================================================
``dot``                  :class:`Diagram` (DOT source, text alternative, SVG, the
                         fallback when Graphviz is missing), escaping, the palette
``flowchart``            :func:`flowchart`: AWS's deny-wins evaluation flowchart, with
                         a Decision's path highlighted
``account_diagrams``     :func:`account_graph`, :func:`trust_diagram`,
                         :func:`cross_account_diagram`
=======================  ============================================================

Every diagram renders only from what it is given — a :class:`~iamkit.engine.decision.Decision`
(its ``steps``, ``trace``, ``determining`` and ``blocked_by``) or the
:class:`~iamkit.account.Account` model — and none re-evaluates a request.
"""

from __future__ import annotations

from .account_diagrams import account_graph, cross_account_diagram, trust_diagram
from .dot import Diagram, DiagramError
from .flowchart import flowchart

__all__ = ["Diagram", "DiagramError", "account_graph", "cross_account_diagram", "flowchart", "trust_diagram"]
