"""The JupyterLite edition in a real browser: the site scripts/lite builds, served on loopback, in
Debian's Chromium (never a downloaded browser), with every request that would leave loopback
refused and recorded.

Off unless IAMKIT_LITE=1 (the lite lane sets it): the site is then built once per session into a
temporary folder (``lite/build.py build``: npm's Pyodide core and PyPI's wheels, hash-checked), or
IAMKIT_LITE_SITE names a site already built. Skipped, with the reason, without Chromium,
Playwright or pytest-timeout; with IAMKIT_LITE=1 and no jupyterlite-core, the run stops with the
fix. Every test runs under a timeout (LITE_TIMEOUT seconds, the build included).
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import subprocess
import sys
import time
import urllib.request
from typing import Any, Iterator

import pytest
from browser.driver import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, free_port, mark_tests, why_browser_tests_skip

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
LITE_TIMEOUT = 600
"""Seconds for each test here, set-up included (building the site takes about a minute)."""

if not (os.environ.get("IAMKIT_LITE") or os.environ.get("IAMKIT_LITE_SITE")):  # not in the unit lane's `pytest tests`
    WHY_SKIPPED: str | None = "the lite lane is off (IAMKIT_LITE=1 builds the site, IAMKIT_LITE_SITE=DIR uses one built)"
else:
    WHY_SKIPPED = why_browser_tests_skip()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The lane asked for: a missing builder is a broken set-up, not a reason to pass by skipping.
    if os.environ.get("IAMKIT_LITE") and importlib.util.find_spec("jupyterlite_core") is None:
        raise pytest.UsageError("the lite lane needs jupyterlite-core: install the lite extra "
                                "(./scripts/test installs it; pip install -e '.[lite]')")
    mark_tests(items, HERE, WHY_SKIPPED, LITE_TIMEOUT)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The built site: IAMKIT_LITE_SITE, or a fresh build of this tree."""
    given = os.environ.get("IAMKIT_LITE_SITE")
    if given:
        return pathlib.Path(given).resolve()
    output = tmp_path_factory.mktemp("lite") / "site"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with (ARTIFACTS / "lite-build.log").open("wb") as log:
        done = subprocess.run([sys.executable, str(ROOT / "lite" / "build.py"), "build", "--output", str(output)],
                              stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=LITE_TIMEOUT)
    tail = (ARTIFACTS / "lite-build.log").read_text(errors="replace").splitlines()[-15:]
    assert done.returncode == 0, "scripts/lite build failed:\n" + "\n".join(tail)
    return output


@pytest.fixture(scope="session")
def served(site: pathlib.Path) -> Iterator[str]:
    """The site on 127.0.0.1 (``lite/build.py serve``): its base URL."""
    port = free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with (ARTIFACTS / "lite-serve.log").open("wb") as log:
        server = subprocess.Popen([sys.executable, str(ROOT / "lite" / "build.py"), "serve", "--port", str(port),
                                   "--site", str(site)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "index.html", timeout=2).close()
                break
            except OSError:
                assert server.poll() is None, "the site's server exited: see test-artifacts/browser/lite-serve.log"
                assert time.monotonic() < deadline, f"the site's server did not answer {url} within 30 s"
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Chromium that cannot resolve any name: only the loopback address answers."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=[*CHROMIUM_FLAGS, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
        try:
            yield chromium
        finally:
            chromium.close()
