"""Views: each formats what a :class:`~iamkit.Decision` (or an account) recorded, and never
decides anything itself; none of them imports the evaluator.

====================  ==========================================================
``tables``            pandas tables of policies, traces, matrices and findings
``plain_table``       the same tables as HTML where pandas is missing (JupyterLite)
``diagrams``          where to import the diagrams from
``flowchart``         AWS's evaluation flowchart, a Decision's path highlighted
``account_diagrams``  the account graph, trust versus permission, cross-account
``dot``               what the diagrams share: DOT text, rendering, text alternatives
``graphview``         a widget that draws DOT in the browser (Graphviz in WebAssembly)
====================  ==========================================================

The Decision's own text, HTML and JSON are in :mod:`iamkit.engine.decision`; the widgets
are in :mod:`iamkit.widgets`.
"""
