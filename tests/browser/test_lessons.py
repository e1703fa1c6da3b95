"""Every lesson notebook (notebooks/NN-*.ipynb) that displays widgets, run top to bottom in
JupyterLab: each cell tagged ``widget`` must show a live widget of the tagged kind, and a
Playground must answer a statement switch. Whatever lessons exist are picked up."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

from .driver import (
    DECISION,
    ROOT,
    Locator,
    expect,
    expect_widget_rendered,
    run_notebook,
    shutdown_kernels,
    wait_for_change,
    wait_for_html,
    widget_kind,
)

LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def has_widgets(path: pathlib.Path) -> bool:
    cells = json.loads(path.read_text())["cells"]
    return any("widget" in cell.get("metadata", {}).get("tags", []) for cell in cells)


WITH_WIDGETS = [path for path in LESSONS if has_widgets(path)]


@pytest.fixture
def lesson_kernels(lab: Any) -> Any:
    yield
    shutdown_kernels(lab)


@pytest.mark.parametrize("path", WITH_WIDGETS, ids=[p.stem for p in WITH_WIDGETS])
def test_lesson_widgets_render_and_answer(path: pathlib.Path, lab: Any, page: Any, lesson_kernels: Any) -> None:
    notebook = run_notebook(page, lab, f"notebooks/{path.name}")
    tagged = notebook.tagged("widget")
    assert tagged, "the lesson lost its widget cells since collection"
    for index in tagged:
        tags = notebook.cells[index]["tags"]
        widget = expect_widget_rendered(notebook.cell(index), tags)
        kind = widget_kind(tags)
        if kind == "widget:playground":
            toggle_first_statement(widget)
        elif kind == "widget:exercise":
            expect(widget.locator(".iamkit-exercise-feedback")).not_to_contain_text("Answer:")
        notebook.screenshot(index, f"{path.stem}-cell{index}-{(kind or 'widget').split(':')[-1]}")
    print(f"{path.name}: ran in {notebook.run_seconds:.1f} s in the browser")


def toggle_first_statement(playground: Locator) -> None:
    """Switch the first statement: the Decision re-renders (its trace at least changes) and still
    reads as a decision, without an error; switch it back: the original Decision returns."""
    result = playground.locator(".iamkit-result")
    first = playground.locator(".iamkit-toggle input[type=checkbox]").first
    before = result.inner_html()
    first.click()
    wait_for_change(result, before)
    expect(result.locator(".iamkit-decision")).to_have_text(DECISION)
    expect(playground.locator(".iamkit-error")).to_have_count(0)
    first.click()
    wait_for_html(result, lambda now: now == before, "the original decision did not come back")
