"""HTML fragments the widgets show, and the guard that keeps callbacks from failing silently.

Every string that came from a policy, a request or an account is HTML-escaped here or by the
engine's own renderers (:func:`~iamkit.engine.explain.decision_html`, :func:`~iamkit.views.tables.styled`,
the Diagram's DOT escaping). Backticks in messages become ``<code>`` after escaping, so they
can never open markup.

Diagrams are drawn by Graphviz's ``dot`` once per DOT source: the DOT is deterministic, so
toggling a statement off and on again hits the cache instead of starting ``dot`` again.
"""

from __future__ import annotations

import functools
import html
import re
import shutil
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable, Iterable, TypeVar

import ipywidgets as widgets

from ..errors import AccountError, Problem
from ..views.diagrams import Diagram, DiagramError
from ..views.graphview import GraphView

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["diagram_html", "error_html", "finish_drawing", "guarded", "list_html", "problems_html", "start_drawing",
           "status_html", "table_html", "text_html"]

SVG_CACHE_SIZE = 256
"""How many rendered SVGs are kept, by DOT source."""

_CODE = re.compile(r"`([^`\n]+)`")
F = TypeVar("F", bound=Callable[..., Any])


def text_html(text: str) -> str:
    """Escape a message and show its backticked parts as code."""
    return _CODE.sub(r"<code>\1</code>", html.escape(text, quote=True))


def list_html(items: Iterable[str], css: str, empty: str = "") -> str:
    """A bulleted list of messages (escaped), or ``empty`` when there are none."""
    rows = "".join(f"<li>{text_html(item)}</li>" for item in items)
    if not rows:
        return f'<div class="{css}"><p>{text_html(empty)}</p></div>' if empty else ""
    return f'<div class="{css}"><ul>{rows}</ul></div>'


def problems_html(headline: str, problems: Iterable[Problem], *, ok: bool) -> str:
    """A status: a ✔/✖ headline, then every problem (errors ✖, warnings ⚠) with its location."""
    return status_html(headline, (f"{'⚠' if p.severity == 'warning' else '✖'} {p}" for p in problems), ok=ok)


def status_html(headline: str, lines: Iterable[str] = (), *, ok: bool) -> str:
    """A status: a ✔/✖ headline, then one item per line (escaped, backticks as code)."""
    icon, colour = ("✔", "#1a7f37") if ok else ("✖", "#b35900")
    items = "".join(f"<li>{text_html(line)}</li>" for line in lines)
    state = "iamkit-ok" if ok else "iamkit-invalid"
    return (f'<div class="{state}" style="border-left:4px solid {colour};padding:2px 8px">'
            f"<p>{icon} {text_html(headline)}</p>" + (f"<ul>{items}</ul>" if items else "") + "</div>")


def error_html(error: BaseException, doing: str) -> str:
    """An exception, shown in the widget (JupyterLab would swallow it): an account that cannot
    answer (an export that lacks a policy the principal needs) is the input's gap and says so;
    anything else is unexpected."""
    if isinstance(error, AccountError):
        return status_html(f"the account cannot answer while {doing}; the last good state is still shown",
                           [str(error)], ok=False)
    frames = "".join(traceback.format_exception(type(error), error, error.__traceback__)[-6:])
    return ('<div class="iamkit-error" style="border-left:4px solid #b35900;padding:2px 8px">'
            f"<p>✖ something went wrong while {html.escape(doing)}: "
            f"<code>{html.escape(type(error).__name__)}: {html.escape(str(error))}</code>. "
            "The last good state is still shown; if the input looks valid, this is an iamkit bug.</p>"
            f"<details><summary>details</summary><pre>{html.escape(frames)}</pre></details></div>")


def guarded(doing: str) -> Callable[[F], F]:
    """Decorate a widget method so that an exception is shown in ``self.status`` instead of
    propagating out of an ``observe`` callback (where JupyterLab shows nothing).

    The exception is kept on ``self.last_error`` until the next edit; callbacks nested in
    one edit (an editor's change re-evaluating a Playground) keep the first error.
    """

    def wrap(method: F) -> F:
        @functools.wraps(method)
        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            depth = self.__dict__.get("_guard_depth", 0)
            if depth == 0:  # a new edit: forget the last one's error (nested callbacks keep it)
                self.last_error = None
            self.__dict__["_guard_depth"] = depth + 1
            try:
                return method(self, *args, **kwargs)
            except Exception as error:  # noqa: BLE001 - shown to the learner, kept for tests
                self.last_error = error
                self.status.value = error_html(error, doing)
                return None
            finally:
                self.__dict__["_guard_depth"] = depth

        return run  # type: ignore[return-value]

    return wrap


@functools.lru_cache(maxsize=SVG_CACHE_SIZE)
def _svg(source: str) -> str:
    """SVG text for DOT source, without the XML prolog (it sits inside HTML)."""
    svg = Diagram("cached", source, "").svg()
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


_drawer: ThreadPoolExecutor | None = None


def start_drawing(diagram: Diagram) -> Future[str] | None:
    """Start ``dot`` on a diagram in the background (a cache hit returns at once), so the
    caller can render its other outputs meanwhile; :func:`diagram_html` then finds the SVG
    in the cache. None where threads are unavailable (the drawing then happens inline)."""
    global _drawer
    try:
        if _drawer is None:
            _drawer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="iamkit-dot")
        return _drawer.submit(_svg, diagram.source)
    except RuntimeError:  # no threads (Pyodide), or the interpreter is shutting down
        return None


def finish_drawing(drawing: Future[str] | None) -> None:
    """Wait for :func:`start_drawing`; its errors are :func:`diagram_html`'s to show."""
    if drawing is not None:
        try:
            drawing.result()
        except Exception:  # noqa: BLE001 - diagram_html renders the fallback
            pass


def diagram_html(diagram: Diagram, *, draw: bool = True) -> str:
    """A diagram as inline SVG with its text alternative; when ``dot`` is missing (or
    ``draw`` is False) the text alternative alone, with the Diagram's own install hint."""
    text = f'<pre style="white-space:pre-wrap">{html.escape(diagram.text)}</pre>'
    if not draw:
        return f'<div class="iamkit-diagram iamkit-diagram-text">{text}</div>'
    words = f"<details><summary>In words</summary>{text}</details>"
    try:
        svg = _svg(diagram.source)
    except DiagramError:
        bundle = diagram._repr_mimebundle_(include=("image/svg+xml", "text/html"))
        fallback = bundle.get("text/html")
        if fallback is None:  # dot came back between the two calls
            return diagram_html(diagram)
        return fallback
    return f'<div class="iamkit-diagram" style="overflow:auto;max-width:100%">{svg}{words}</div>'


def dot_installed() -> bool:
    """Whether Graphviz's `dot` can draw here (else diagram parts are drawn by the browser)."""
    return shutil.which("dot") is not None


def diagram_part(css: str) -> widgets.DOMWidget:
    """A widget part for a diagram: HTML with server-drawn SVG where `dot` is installed, else a
    :class:`~iamkit.views.graphview.GraphView` that the browser draws. Fill it with :func:`show_diagram`."""
    part: widgets.DOMWidget = widgets.HTML() if dot_installed() else GraphView()
    part.add_class(css)
    return part


def show_diagram(part: widgets.DOMWidget, diagram: Diagram, *, draw: bool = True) -> None:
    """Show a diagram in a :func:`diagram_part`."""
    if isinstance(part, GraphView):
        part.dot, part.text = (diagram.source if draw else ""), diagram.text
    else:
        part.value = diagram_html(diagram, draw=draw)


def svg_cache_info() -> Any:
    """Hits, misses and size of the SVG cache (for benchmarks)."""
    return _svg.cache_info()


def table_html(table: "pd.DataFrame", empty: str = "") -> str:
    """One of :mod:`iamkit.views.tables`' tables as styled, escaped HTML."""
    from ..views.tables import styled

    if table.empty and empty:
        return f"<p>{text_html(empty)}</p>"
    return styled(table).to_html()
