"""Diagrams drawn by the browser: Graphviz compiled to WebAssembly, no ``dot`` program needed.

:class:`GraphView` is an anywidget whose front end (``static/graph.js``) draws DOT source with
the copy of ``@viz-js/viz`` that ships in ``static/viz.js`` (its version and hash in
``static/VENDORED.json``, its licences in ``static/LICENSES.md``; ``scripts/vendor-js``
refreshes it from npm). Nothing is fetched from a CDN: the kernel sends ``viz.js`` to the page
once, when the page's first graph widget asks for it, and every graph widget of the page then
shares one Graphviz. So diagrams draw in JupyterLab, Voilà and JupyterLite alike, wherever
Graphviz's ``dot`` program is missing.

The view shows the drawing, the text alternative (the drawing's ``aria-describedby``, and a
collapsed "In words" section for everyone) and a status line that says why a drawing failed.
A DOT source that fails to draw leaves the last good drawing on screen, greyed, and the text
alternative describes the new source.

It renders only what it is given: a :class:`~iamkit.views.diagrams.Diagram`'s ``source`` and
``text`` pass through unchanged, so the highlighted path, the labels and the words are the
ones the server-side SVG shows.

=========================  ==========================================================
:func:`browser_view`       a :class:`GraphView` of DOT source and its text alternative
:func:`mimebundle`         the widget's display bundle, ``text/plain`` the text alternative
:class:`GraphView`         the widget: ``dot``, ``text`` and ``title`` traits
=========================  ==========================================================
"""

from __future__ import annotations

import functools
import pathlib
from typing import Any, Collection

import anywidget
import traitlets

from ..display import mime_filter, wanted

__all__ = ["WIDGET_VIEW", "GraphView", "browser_view", "mimebundle", "viz_source"]

STATIC = pathlib.Path(__file__).resolve().parent / "static"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
"""The MIME type of a live widget view in a display bundle."""


@functools.lru_cache(maxsize=1)
def viz_source() -> str:
    """The vendored ``@viz-js/viz`` ES module (about 1.2 MB, the WebAssembly inlined).

    Raises:
        OSError: when the file is missing from the installed package.
    """
    return (STATIC / "viz.js").read_text(encoding="utf-8")


class GraphView(anywidget.AnyWidget):
    """DOT source drawn as SVG by the browser, with its text alternative.

    Traits (set them to redraw; the view keeps the last good drawing when new DOT fails):
        dot: the DOT source.
        text: the same content in words, for screen readers and as "In words".
        title: the drawing's accessible name and caption (none when empty).
    """

    _esm = (STATIC / "graph.js").read_text(encoding="utf-8")
    dot = traitlets.Unicode("").tag(sync=True)
    text = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)

    def __init__(self, dot: str = "", text: str = "", *, title: str = "", **kwargs: Any):
        super().__init__(dot=dot, text=text, title=title, **kwargs)
        self.add_class("iamkit-graph-widget")
        self.on_msg(self._answer)

    def _answer(self, widget: Any, content: Any, buffers: Any) -> None:
        """The page's first graph widget asks for Graphviz; send it (or why it cannot be had)."""
        if not (isinstance(content, dict) and content.get("kind") == "iamkit-viz-request"):
            return
        try:
            self.send({"kind": "iamkit-viz", "source": viz_source()})
        except OSError as error:
            self.send({"kind": "iamkit-viz", "error": f"iamkit's copy of Graphviz for the browser cannot be read "
                                                      f"({error.strerror or error}: {STATIC / 'viz.js'}); reinstall iamkit"})

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_()
        assert bundle is not None, "anywidget gives no bundle only to a widget without a view"
        data, metadata = bundle
        data["text/plain"] = self.text
        return mime_filter(data, include, exclude), metadata

    def __repr__(self) -> str:
        first = self.text.strip().splitlines()[0] if self.text.strip() else "no text alternative"
        return f"<GraphView {self.title or 'diagram'}: {first}>"


def browser_view(dot_source: str, text: str, *, title: str = "") -> GraphView:
    """A widget that draws ``dot_source`` in the browser, with ``text`` as its text alternative.

    Args:
        dot_source: DOT source, for example a :class:`~iamkit.views.diagrams.Diagram`'s ``source``.
        text: the same content in words (the Diagram's ``text``).
        title: the drawing's accessible name, also shown as a caption; none when empty.

    Returns:
        The :class:`GraphView`; set its ``dot`` and ``text`` to redraw it.

    Raises:
        TypeError: when ``dot_source`` or ``text`` is not a string.
    """
    for name, value in (("dot_source", dot_source), ("text", text), ("title", title)):
        if not isinstance(value, str):
            raise TypeError(f"`{name}` must be a string, not `{type(value).__name__}`")
    return GraphView(dot_source, text, title=title)


def mimebundle(dot_source: str, text: str, include: Collection[str] | None = None,
               exclude: Collection[str] | None = None, *, title: str = "") -> dict[str, Any]:
    """A display bundle for ``_repr_mimebundle_``: a live :class:`GraphView` and, as
    ``text/plain``, the text alternative (what terminals, previews and tests show).

    ``include`` and ``exclude`` filter MIME types as IPython's do; no widget is made when the
    widget view is not wanted.

    Args:
        dot_source: DOT source.
        text: its text alternative.
        include: MIME types wanted (all when None or empty).
        exclude: MIME types not wanted.
        title: the drawing's accessible name and caption.

    Returns:
        ``{WIDGET_VIEW: {...model_id...}, "text/plain": text}``, less what was filtered out.
    """
    if not wanted(WIDGET_VIEW, include, exclude):
        return mime_filter({"text/plain": text}, include, exclude)
    data, _metadata = browser_view(dot_source, text, title=title)._repr_mimebundle_(include, exclude)
    return data
