"""The deny-wins lesson in the JupyterLite edition: no server but a static one on loopback, the Python
kernel is Pyodide in the browser, Graphviz is WebAssembly in the browser. The lesson runs top to
bottom; a policy edited in its playground redraws the flowchart with the new highlighted path, the
one the DOT source of the new Decision highlights; and no request tries to leave loopback."""

from __future__ import annotations

import json
import pathlib
import re
import time
from typing import Any, Iterator

import pytest
from browser.driver import ARTIFACTS, BOLD_EDGES, KERNEL_READY, RUN_STATE, expect, run_all, screenshot

from iamkit import evaluate
from iamkit.views.diagrams import Diagram, flowchart

from .conftest import ROOT

LESSON = "06-deny-wins.ipynb"
SCENARIO = json.loads((ROOT / "notebooks" / "data" / "06-protect-reports.json").read_text())
KERNEL_MS = 240_000
"""Pyodide's first start: the runtime, the standard library and 27 wheels, from loopback."""
RUN_MS = 300_000
UI_MS = 60_000


def highlighted(diagram: Diagram) -> list[str]:
    edges = re.findall(r'^\s*"([^"]+)" -> "([^"]+)" \[(.*)\];$', diagram.source, re.MULTILINE)
    return sorted(f"{tail}->{head}" for tail, head, attrs in edges if 'penwidth="3"' in attrs)


class Lesson:
    """The lesson open in the site, run to the end; what the page asked of the network."""

    def __init__(self, page: Any, outside: list[str], first_drawing_s: float, run_s: float):
        self.page, self.outside, self.first_drawing_s, self.run_s = page, outside, first_drawing_s, run_s


@pytest.fixture(scope="module")
def lesson(browser: Any, served: str) -> Iterator[Lesson]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    outside: list[str] = []

    def refuse(route: Any) -> None:
        if route.request.url.startswith(served):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", refuse)
    context.on("request", lambda request: None if request.url.startswith(served) else outside.append(request.url))
    page = context.new_page()
    try:
        started = time.monotonic()
        page.goto(f"{served}lab/index.html?path={LESSON}")
        page.wait_for_function(KERNEL_READY, arg=LESSON, timeout=KERNEL_MS, polling=500)
        run_s = run_all(page, timeout_ms=RUN_MS)
        drawn = page.locator(".iamkit-graph-drawing svg").first
        expect(drawn).to_be_visible(timeout=UI_MS)
        first_drawing_s = time.monotonic() - started
        yield Lesson(page, outside, first_drawing_s, run_s)
    finally:
        context.close()


def test_the_lesson_runs_top_to_bottom_with_browser_drawn_flowcharts(lesson: Lesson, site: pathlib.Path) -> None:
    state = lesson.page.evaluate(RUN_STATE)
    assert state["errors"] == [] and state["lastRan"], state
    denied = flowchart(evaluate(SCENARIO))
    charts = lesson.page.locator(".iamkit-graph")
    assert charts.count() >= 4, "the lesson's flowcharts were not drawn by the browser"
    expect(lesson.page.locator(".jp-OutputArea")).not_to_contain_text(["Error displaying widget"])
    playground = lesson.page.locator(".iamkit-playground")
    assert wait_for_bold(playground.locator(".iamkit-flowchart"), highlighted(denied))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file()) / 2**20
    (ARTIFACTS / "lite-timings.txt").write_text(f"site: {size:.1f} MiB\nfirst flowchart drawn "
                                                f"{lesson.first_drawing_s:.1f} s after opening {LESSON}\n"
                                                f"Run All: {lesson.run_s:.1f} s\n")


def test_editing_a_policy_in_the_playground_redraws_the_highlighted_path(lesson: Lesson) -> None:
    playground = lesson.page.locator(".iamkit-playground")
    chart = playground.locator(".iamkit-flowchart")
    editors = playground.locator(".iamkit-editor textarea")
    values = [editors.nth(i).input_value() for i in range(editors.count())]
    (index,) = [i for i, v in enumerate(values) if "ProtectReports" in v]
    policy = json.loads(values[index])
    policy["Statement"][0]["Action"] = ["s3:PutObject"]  # the Deny no longer covers deleting
    playground.locator(".iamkit-policies .jupyter-widget-Collapse-header").nth(index).click()  # open its section
    editors.nth(index).fill(json.dumps(policy, indent=2))

    changed = json.loads(json.dumps(SCENARIO))
    changed["identityPolicies"][1] = policy
    before, after = highlighted(flowchart(evaluate(SCENARIO))), highlighted(flowchart(evaluate(changed)))
    assert before != after and "n_deny->n_explicit_deny" in before and "n_session->n_allowed" in after
    expect(playground.locator(".iamkit-result")).to_contain_text("ALLOWED", timeout=UI_MS)
    assert wait_for_bold(chart, after)
    screenshot(playground, "lite-playground-edited")


def test_no_request_tried_to_leave_loopback(lesson: Lesson) -> None:
    assert lesson.outside == [], f"requests that would have left loopback: {sorted(set(lesson.outside))}"


def wait_for_bold(chart: Any, want: list[str]) -> bool:
    """Wait until the chart's SVG draws exactly ``want`` bold; fail with what it draws."""
    deadline = time.monotonic() + UI_MS / 1000
    while (bold := chart.evaluate(BOLD_EDGES)) != want:
        assert time.monotonic() < deadline, f"the flowchart highlights {bold}, its DOT source {want}"
        chart.page.wait_for_timeout(250)
    return True



def test_the_sandbox_lessons_say_where_they_run(site: pathlib.Path) -> None:
    # Lessons that start the sandbox carry a note at the top in the site (only there).
    def note(name: str) -> list[str]:
        cells = json.loads((site / "files" / name).read_text(encoding="utf-8"))["cells"]
        return ["".join(c["source"]) for c in cells[:3] if "iamkit-lite-note" in c["metadata"].get("tags", [])]

    assert note("01-users.ipynb") and "full workbook" in note("01-users.ipynb")[0]
    assert note(LESSON) == []
    assert "iamkit-lite-note" not in (ROOT / "notebooks" / "01-users.ipynb").read_text()
