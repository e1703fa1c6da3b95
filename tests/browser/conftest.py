"""A real browser on a real JupyterLab (and Voila): what only a browser can show.

Debian's Chromium (``/usr/bin/chromium``, from ``apt-get install chromium``) driven by
Playwright's sync API; browsers are never downloaded. Every test here is skipped when
Chromium or Playwright is missing, and runs under pytest-timeout (``BROWSER_TIMEOUT``
seconds, set-up included, unless a test says otherwise): a Playwright call waiting on
JupyterLab could otherwise wait forever.

One JupyterLab serves the whole session (see :func:`driver.start_jupyterlab`). Screenshots of
the cells the tests looked at, the servers' logs and a screenshot of any failing page go to
``test-artifacts/browser/`` (gitignored).
"""

from __future__ import annotations

import contextlib
import shutil
from typing import Any, Iterator

import pytest

from .driver import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_FLAGS,
    HERE,
    mark_tests,
    new_page,
    slug,
    start_jupyterlab,
    why_browser_tests_skip,
)

BROWSER_TIMEOUT = 120
"""Seconds for each browser test, its set-up included (the first one starts JupyterLab)."""

WHY_SKIPPED = why_browser_tests_skip()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_tests(items, HERE, WHY_SKIPPED, BROWSER_TIMEOUT)


def pytest_report_header(config: pytest.Config) -> str:
    return f"browser tests: {WHY_SKIPPED or 'Chromium at ' + CHROMIUM}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if WHY_SKIPPED:
        terminalreporter.write_line(f"browser tests skipped: {WHY_SKIPPED}", yellow=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when == "call":
        for name in ("page", "notebook", "app"):
            value = getattr(item, "funcargs", {}).get(name)
            page = getattr(value, "page", value)
            if page is not None and hasattr(page, "screenshot"):
                with contextlib.suppress(Exception):
                    ARTIFACTS.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(ARTIFACTS / f"FAILED-{slug(item.name)}.png"), full_page=True)
                break


@pytest.fixture(scope="session", autouse=True)
def fresh_artifacts() -> None:
    """test-artifacts/browser/ holds this run's screenshots and logs only."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """JupyterLab for the session, on a copy of the notebooks."""
    server = start_jupyterlab(tmp_path_factory.mktemp("jupyterlab"))
    try:
        yield server
    finally:
        server.stop("/api/shutdown")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page in a fresh browser context, closed after the test."""
    page = new_page(browser)
    try:
        yield page
    finally:
        page.context.close()
