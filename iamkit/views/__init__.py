"""Views: each formats what a :class:`~iamkit.Decision` (or an account) recorded, and never
decides anything itself; none of them imports the evaluator.

==============  ================================================================
``tables``      pandas tables (an HTML table where pandas is missing)
``diagrams``    Graphviz flowcharts and account diagrams, with text alternatives
``graphview``   a widget that draws DOT in the browser (Graphviz compiled to WebAssembly)
==============  ================================================================

The Decision's own text, HTML and JSON are in :mod:`iamkit.engine.decision`; the widgets
are in :mod:`iamkit.widgets`.
"""
