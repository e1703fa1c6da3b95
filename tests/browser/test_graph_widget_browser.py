"""The browser draws iamkit's diagrams: iamkit.views.graphview in a real JupyterLab, on a kernel whose
PATH holds no Graphviz ``dot``. The drawing must be Graphviz's SVG of the very DOT source the
Diagram holds: the edges it highlights (``penwidth="3"``) are the SVG's bold edges, and the text
alternative is the Diagram's text, linked to the drawing for screen readers.

The fixture notebook is written through JupyterLab's contents API into the server's copy of the
repository, so there is no notebook file of its own to keep in step with the code."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from typing import Any, Iterator

import pytest

from iamkit import evaluate
from iamkit.views.diagrams import Diagram, flowchart
from iamkit.widgets.playground import DENY_WINS

from .driver import BOLD_EDGES, Locator, Notebook, Page, Server, expect, notebook_session

PATH = "tests/browser/notebooks/graph-widget.ipynb"
WITHOUT_DENY = {**DENY_WINS, "identityPolicies": DENY_WINS["identityPolicies"][:1]}
"""The deny-wins request with only the Allow policy: allowed, by another path."""

SETUP = f"""\
import json, os, shutil, sys
os.environ["PATH"] = os.path.dirname(sys.executable)  # this kernel finds no Graphviz `dot`
assert shutil.which("dot") is None, shutil.which("dot")
from iamkit import evaluate
from iamkit.views.diagrams import DiagramError, flowchart
from iamkit.views.graphview import browser_view, mimebundle
denied = flowchart(evaluate(json.loads({json.dumps(json.dumps(DENY_WINS))})))
allowed = flowchart(evaluate(json.loads({json.dumps(json.dumps(WITHOUT_DENY))})))
try:
    denied.svg()
except DiagramError as error:
    print("server-side SVG:", error)
"""
CELLS = (
    ("setup", SETUP),
    ("graph:bundle", "display(mimebundle(denied.source, denied.text), raw=True)"),
    ("graph:view", 'view = browser_view(denied.source, denied.text, title="the evaluation flowchart")\nview'),
)


EXECUTE = """async ([code, ms]) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({code, store_history: false});
  let error = null;
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'error') error = `${msg.content.ename}: ${msg.content.evalue}`;
  };
  const late = new Promise((resolve) => setTimeout(() => resolve(`no answer within ${ms / 1000} s`), ms));
  return (await Promise.race([future.done.then(() => error), late]));
}"""
"""Run code in the notebook's kernel, as a cell would; the error it raised, or null."""


def highlighted(diagram: Diagram) -> list[str]:
    """The edges the DOT source draws bold: the path the diagram highlights."""
    edges = re.findall(r'^\s*"([^"]+)" -> "([^"]+)" \[(.*)\];$', diagram.source, re.MULTILINE)
    return sorted(f"{tail}->{head}" for tail, head, attrs in edges if 'penwidth="3"' in attrs)


def write_notebook(lab: Server) -> None:
    cells = [{"cell_type": "code", "execution_count": None, "id": f"cell-{i}", "metadata": {"tags": [tag]},
              "outputs": [], "source": source} for i, (tag, source) in enumerate(CELLS)]
    model = {"type": "notebook", "format": "json",
             "content": {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                      "language": "python"}},
                         "nbformat": 4, "nbformat_minor": 5}}
    request = urllib.request.Request(f"{lab.url}/api/contents/{PATH}", method="PUT", data=json.dumps(model).encode(),
                                     headers={"Authorization": f"token {lab.token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10):
        pass


def execute(page: Page, code: str, ms: int = 30_000) -> None:
    error = page.evaluate(EXECUTE, [code, ms])
    assert error is None, f"the kernel raised {error} running {code!r}"


def graph(notebook: Notebook, tag: str) -> Locator:
    (index,) = notebook.tagged(tag)
    view = notebook.cell(index).locator(".iamkit-graph")
    expect(view).to_be_visible()
    return view


def expect_drawn(view: Locator, diagram: Diagram, timeout_s: float = 30) -> None:
    """The view shows Graphviz's SVG of ``diagram``, highlighted as its DOT source says."""
    expect(view.locator(".iamkit-graph-drawing svg")).to_be_visible()
    want = highlighted(diagram)
    assert want, "the diagram highlights no path: the test would prove nothing"
    deadline = time.monotonic() + timeout_s
    while (bold := view.evaluate(BOLD_EDGES)) != want:
        assert time.monotonic() < deadline, f"the drawing highlights {bold}, its DOT source {want}"
        view.page.wait_for_timeout(200)


@pytest.fixture(scope="module")
def notebook(lab: Server, browser: Any) -> Iterator[Notebook]:
    write_notebook(lab)
    with notebook_session(lab, browser, PATH) as opened:
        yield opened


def test_the_kernel_has_no_dot(notebook: Notebook) -> None:
    (index,) = notebook.tagged("setup")
    expect(notebook.cell(index)).to_contain_text("server-side SVG: Graphviz's `dot` program is not installed")


def test_the_bundle_draws_the_diagrams_highlighted_path_and_links_its_words(notebook: Notebook) -> None:
    denied = flowchart(evaluate(DENY_WINS))
    view = graph(notebook, "graph:bundle")
    expect_drawn(view, denied)
    assert "n_deny->n_explicit_deny" in highlighted(denied)  # deny wins: the path ends in the explicit deny

    svg = view.locator(".iamkit-graph-drawing svg")
    expect(svg).to_have_attribute("role", "img")
    described = svg.get_attribute("aria-describedby")
    assert described, "the drawing names no text alternative"
    assert view.page.locator(f"#{described}").text_content() == denied.text
    expect(view.locator(".iamkit-graph-status")).to_be_hidden()
    expect(svg).to_contain_text("DENY")  # Graphviz's labels, not the fallback's words
    notebook.screenshot(notebook.tagged("graph:bundle")[0], "graph-widget-bundle")


def test_a_view_redraws_and_keeps_the_last_good_drawing_when_dot_fails(notebook: Notebook) -> None:
    denied, allowed = flowchart(evaluate(DENY_WINS)), flowchart(evaluate(WITHOUT_DENY))
    assert highlighted(denied) != highlighted(allowed)
    view = graph(notebook, "graph:view")
    expect_drawn(view, denied)
    expect(view.locator(".iamkit-graph-drawing svg")).to_have_attribute("aria-label", "the evaluation flowchart")

    execute(notebook.page, 'view.dot = "digraph { a -> "')  # DOT Graphviz cannot parse
    status = view.locator(".iamkit-graph-status")
    expect(status).to_contain_text("The browser could not draw this diagram")
    expect(status).to_contain_text("syntax error")
    expect(status).to_contain_text("The last drawing that worked is still shown")
    expect(view.locator(".iamkit-graph-drawing")).to_have_class(re.compile(r"\biamkit-graph-stale\b"))
    expect_drawn(view, denied)
    notebook.screenshot(notebook.tagged("graph:view")[0], "graph-widget-failed")

    execute(notebook.page, "view.dot, view.text = allowed.source, allowed.text")
    expect_drawn(view, allowed)
    expect(status).to_be_hidden()
    expect(view.locator(".iamkit-graph-drawing")).not_to_have_class(re.compile(r"\biamkit-graph-stale\b"))
    assert view.locator(".iamkit-graph-text pre").text_content() == allowed.text
    notebook.screenshot(notebook.tagged("graph:view")[0], "graph-widget-redrawn")
