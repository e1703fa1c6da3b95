"""iamkit.views.graphview without a browser: the vendored Graphviz is the file npm's lock pins, it ships
inside the package, and the widget and its display bundle carry a Diagram's DOT source and text
alternative unchanged. tests/browser/test_graph_widget_browser.py shows the browser drawing it."""

from __future__ import annotations

import base64
import hashlib
import importlib.resources
import json
import pathlib
from typing import Any

import pytest

from iamkit import evaluate
from iamkit.views import graphview as graph
from iamkit.views.diagrams import flowchart
from iamkit.views.graphview import WIDGET_VIEW, GraphView, browser_view, mimebundle
from iamkit.widgets.playground import DENY_WINS

ROOT = pathlib.Path(__file__).resolve().parent.parent
STATIC = importlib.resources.files("iamkit.views") / "static"
LOCK = json.loads((ROOT / "js" / "package-lock.json").read_text())["packages"]
VENDORED = json.loads(STATIC.joinpath("VENDORED.json").read_text())


def sri(data: bytes) -> str:
    """A Subresource Integrity string, as npm's lock writes them."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


# ── the vendored JavaScript ──────────────────────────────────────────────────────


@pytest.mark.parametrize("name", sorted(VENDORED))
def test_the_vendored_file_is_the_one_npm_s_lock_pins(name: str) -> None:
    record = VENDORED[name]
    locked = LOCK[f"node_modules/{record['package']}"]
    assert (record["version"], record["integrity"]) == (locked["version"], locked["integrity"]), (
        f"static/VENDORED.json names {record['package']}@{record['version']}, js/package-lock.json "
        f"{locked['version']} — run scripts/vendor-js")
    data = STATIC.joinpath(name).read_bytes()
    assert sri(data) == record["sha512"], f"static/{name} was changed by hand — run scripts/vendor-js"


def test_package_json_pins_exact_versions_and_the_lock_follows_it() -> None:
    wanted = json.loads((ROOT / "js" / "package.json").read_text())["dependencies"]
    assert wanted, "js/package.json names no dependency"
    for package, version in wanted.items():
        assert version[0].isdigit() and all(c.isdigit() or c == "." for c in version), (
            f"js/package.json: `{package}` must be pinned to an exact version, not `{version}`")
        assert LOCK[f"node_modules/{package}"]["version"] == version, (
            "js/package-lock.json is stale — run npm install --package-lock-only --ignore-scripts --prefix js")
    assert {r["package"] for r in VENDORED.values()} == set(wanted)


def test_viz_is_the_pinned_release_with_its_webassembly_inlined() -> None:
    source = graph.viz_source()
    version = VENDORED["viz.js"]["version"]
    assert source.startswith(f"/*!\nViz.js {version}\n"), "static/viz.js is not the banner-stamped release"
    assert "function findWasmBinary(){return binaryDecode(" in source, (
        "this viz.js does not inline its WebAssembly: it would fetch a .wasm file the package does not ship")
    assert "export { engines, formats, graphvizVersion, instance };" in source  # graph.js imports `instance`


def test_the_front_end_loads_nothing_from_the_network() -> None:
    js = STATIC.joinpath("graph.js").read_text()
    assert "import(/* webpackIgnore: true */ url)" in js  # the kernel's copy, from a blob: URL
    for remote in ("fetch(", "http://", "https://", "cdn", "unpkg", "jsdelivr", "esm.sh"):
        assert remote not in js, f"graph.js mentions `{remote}`"


def test_the_licences_ship_beside_the_code() -> None:
    licences = STATIC.joinpath("LICENSES.md").read_text()
    for part in ("Viz.js — MIT License", "Expat — MIT License", "Graphviz — Eclipse Public License - v 1.0",
                 "Copyright (c) Michael Daines", "7. GENERAL"):
        assert part in licences


# ── the widget and its bundle ────────────────────────────────────────────────────

DIAGRAM = flowchart(evaluate(DENY_WINS))


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[GraphView]:
    """Every GraphView that mimebundle makes during the test."""
    views: list[GraphView] = []

    def spy(*args: Any, **kwargs: Any) -> GraphView:
        views.append(browser_view(*args, **kwargs))
        return views[-1]

    monkeypatch.setattr(graph, "browser_view", spy)
    return views


def test_the_bundle_is_a_live_view_of_the_diagram_and_its_words(made: list[GraphView]) -> None:
    bundle = mimebundle(DIAGRAM.source, DIAGRAM.text)
    assert set(bundle) == {WIDGET_VIEW, "text/plain"}
    assert bundle["text/plain"] == DIAGRAM.text
    (view,) = made
    assert bundle[WIDGET_VIEW]["model_id"] == view.model_id
    assert (view.dot, view.text, view.title) == (DIAGRAM.source, DIAGRAM.text, "")
    assert 'penwidth="3"' in view.dot  # the highlighted path travels in the DOT, untouched


def test_the_bundle_honours_include_and_exclude_and_makes_no_widget_it_does_not_show(made: list[GraphView]) -> None:
    assert mimebundle(DIAGRAM.source, DIAGRAM.text, include=("text/plain",)) == {"text/plain": DIAGRAM.text}
    assert mimebundle(DIAGRAM.source, DIAGRAM.text, exclude=(WIDGET_VIEW,)) == {"text/plain": DIAGRAM.text}
    assert mimebundle(DIAGRAM.source, DIAGRAM.text, include=("image/svg+xml", "text/html")) == {}
    assert made == []
    only_view = mimebundle(DIAGRAM.source, DIAGRAM.text, exclude=("text/plain",), title="the flowchart")
    assert set(only_view) == {WIDGET_VIEW}
    (view,) = made
    assert view.title == "the flowchart"


def test_a_view_displays_its_text_alternative_as_plain_text_and_has_a_one_line_repr() -> None:
    view = browser_view(DIAGRAM.source, DIAGRAM.text, title="the flowchart")
    data, _metadata = view._repr_mimebundle_()
    assert data["text/plain"] == DIAGRAM.text
    assert data[WIDGET_VIEW]["model_id"] == view.model_id
    assert repr(view) == f"<GraphView the flowchart: {DIAGRAM.text.splitlines()[0]}>"
    assert repr(GraphView()) == "<GraphView diagram: no text alternative>"


@pytest.mark.parametrize("arguments", [(None, "words"), ("digraph {}", b"words"), ("digraph {}", "words", 3)])
def test_browser_view_refuses_what_is_not_text(arguments: tuple[Any, ...]) -> None:
    dot, text, *title = arguments
    with pytest.raises(TypeError, match=r"must be a string, not `(NoneType|bytes|int)`"):
        browser_view(dot, text, title=title[0] if title else "")


def sent(view: GraphView, monkeypatch: pytest.MonkeyPatch, content: Any) -> list[dict[str, Any]]:
    """What the view sends the page when the page sends it ``content``."""
    messages: list[dict[str, Any]] = []
    monkeypatch.setattr(view, "send", lambda message, buffers=None: messages.append(message))
    view._answer(view, content, [])
    return messages


def test_a_view_sends_graphviz_when_the_page_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    view = browser_view(DIAGRAM.source, DIAGRAM.text)
    (answer,) = sent(view, monkeypatch, {"kind": "iamkit-viz-request"})
    assert answer == {"kind": "iamkit-viz", "source": STATIC.joinpath("viz.js").read_text(encoding="utf-8")}
    assert sent(view, monkeypatch, {"kind": "something else"}) == []
    assert sent(view, monkeypatch, "iamkit-viz-request") == []


def test_a_view_says_why_graphviz_cannot_be_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> str:
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(graph, "viz_source", missing)
    view = browser_view(DIAGRAM.source, DIAGRAM.text)
    (answer,) = sent(view, monkeypatch, {"kind": "iamkit-viz-request"})
    assert set(answer) == {"kind", "error"}
    assert answer["error"].startswith("iamkit's copy of Graphviz for the browser cannot be read (No such file or directory: ")
    assert answer["error"].endswith("viz.js); reinstall iamkit")
