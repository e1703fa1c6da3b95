"""Classroom app mode: notebooks/apps/playground.ipynb served by Voila (what ./scripts/playground
starts), in a real browser — no code on the page, and the Playground answers edits."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from .driver import ROOT, checkbox, expect, screenshot, start_voila

APP = ROOT / "notebooks" / "apps" / "playground.ipynb"
PAGE_TIMEOUT_MS = 60_000
"""Voila runs the notebook in a new kernel before it sends the page."""


@pytest.fixture(scope="module")
def voila(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    server = start_voila(tmp_path_factory.mktemp("voila"), APP)
    try:
        yield server
    finally:
        server.stop()


def test_playground_page_shows_no_code_and_answers_edits(voila: Any, page: Any) -> None:
    page.goto(voila.url + "/", timeout=PAGE_TIMEOUT_MS)
    app = page.locator(".iamkit-app")
    expect(app).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    expect(page.locator("h1", has_text="iamkit playground")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("playground_app()")  # code cells hidden
    expect(page.locator("body")).not_to_contain_text("Traceback")

    playground = app.locator(".iamkit-playground")
    result = playground.locator(".iamkit-result")
    expect(result).to_contain_text("ALLOWED")  # alice reads reports/2024.csv
    checkbox(playground, "ReadReports").uncheck()
    expect(result).to_contain_text("DENIED (implicit deny")
    checkbox(playground, "ReadReports").check()
    expect(result).to_contain_text("ALLOWED")

    action = playground.locator(".iamkit-action input")
    action.fill("s3:DeleteObject")
    expect(result).to_contain_text("DENIED (implicit deny")
    expect(result).to_contain_text("s3:DeleteObject")
    screenshot(app, "app-playground")


def test_the_address_picks_a_scenario_and_the_picker_switches(voila: Any, page: Any) -> None:
    page.goto(voila.url + "/?scenario=alice-reads-report.json", timeout=PAGE_TIMEOUT_MS)
    picker = page.locator(".iamkit-scenario-picker select")
    expect(picker).to_have_value("alice-reads-report.json", timeout=PAGE_TIMEOUT_MS)
    others = [o for o in picker.locator("option").all_inner_texts() if o != "alice-reads-report.json"]
    if not others:
        pytest.skip("notebooks/data holds one scenario only")
    result = page.locator(".iamkit-playground .iamkit-result")
    before = result.inner_text()
    picker.select_option(others[0])
    expect(result).not_to_have_text(before)
    expect(page.locator(".iamkit-playground")).to_have_count(1)  # replaced, not added
