"""Drive JupyterLab and Voila from Playwright: servers we start and stop, notebooks we open and
run, widgets we find. The fixtures in conftest.py put these together; tests import from here.

Facts this rests on (see the project's jupyter-testing notes):

- JupyterLab's toolbar reads "idle" before a kernel exists: wait on
  ``window.jupyterapp.shell.currentWidget.sessionContext`` instead (needs
  ``--LabApp.expose_app_in_browser=True``).
- ``notebook:run-all-cells`` is started fire-and-forget; awaiting it inside ``page.evaluate``
  can hang with no timeout, so the run is polled from Python.
- JupyterLab scrolls internally: screenshots are taken of cell locators, not of the page.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Iterator

try:
    from playwright.sync_api import Browser, Locator, Page, expect
except ImportError:  # conftest.py skips every browser test, with the reason
    Browser = Locator = Page = Any  # type: ignore[misc,assignment]
    expect = None  # type: ignore[assignment]

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("IAMKIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]  # containers often give /dev/shm 64 MB: Chromium's tabs crash
UI_TIMEOUT_MS = 30_000
"""How long one expectation waits for the kernel to answer and the page to re-render."""
KERNEL_TIMEOUT_MS = 60_000
RUN_TIMEOUT_MS = 90_000
"""A whole notebook's run (lessons take under 30 s in a fresh kernel)."""


def why_browser_tests_skip() -> str | None:
    """Why no browser test can run here (with the fix), or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -e '.[test]')"
    if importlib.util.find_spec("pytest_timeout") is None:  # never a browser test without a timeout
        return "pytest-timeout is not installed (pip install -e '.[test]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set IAMKIT_CHROMIUM)"
    return None


def mark_tests(items: list[Any], folder: pathlib.Path, why_skipped: str | None, timeout: int) -> None:
    """Skip the tests under ``folder`` with the reason, or give each one without its own a timeout."""
    import pytest

    for item in items:
        if folder not in pathlib.Path(str(item.path)).parents:
            continue
        if why_skipped:
            item.add_marker(pytest.mark.skip(reason=why_skipped))
        elif item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(timeout))


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ── servers ──────────────────────────────────────────────────────────────────────


@dataclass
class Server:
    """A server we started: its process (the server itself, not a shell), URL, token and log."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    token: str
    log: pathlib.Path

    def request(self, method: str, path: str, timeout: float = 10) -> Any:
        request = urllib.request.Request(self.url + path, method=method, data=b"" if method == "POST" else None,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body and response.headers.get_content_type() == "application/json" else body

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def wait_until_up(self, path: str, timeout: float = 60) -> None:
        """Poll ``path`` until it answers 200; fail with the log if the process dies or never answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
                self.request("GET", path, timeout=2)
                return
            time.sleep(0.25)
        raise RuntimeError(f"{self.name} did not answer {path} within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, shutdown_path: str | None = None) -> None:
        """Ask the server to shut down, its kernels with it (through ``shutdown_path``, else with
        SIGTERM); then make sure: SIGTERM, SIGKILL, and the process group it leads. Only
        processes we started."""
        if self.process.poll() is None:
            if shutdown_path:
                with contextlib.suppress(OSError, urllib.error.URLError):
                    self.request("POST", shutdown_path)
            else:  # Voila shuts its kernels down on SIGTERM
                self.process.send_signal(signal.SIGTERM)
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None and self.process.poll() is None:
                self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
                break
            except subprocess.TimeoutExpired:
                continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # the session start_new_session gave it


def jupyter_env(home: pathlib.Path) -> dict[str, str]:
    """The environment of a server of ours: isolated Jupyter and IPython directories, and the
    venv's programs first on PATH (lessons run ``!iamkit`` and ``!aws``)."""
    env = dict(os.environ)
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")):
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(home / sub)
    env["PATH"] = os.pathsep.join([str(pathlib.Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def launch(name: str, argv: list[str], env: dict[str, str], cwd: pathlib.Path) -> subprocess.Popen[bytes]:
    """Start a server program directly — no shell in between, so the PID is the server's — in
    its own session, logging to test-artifacts/browser/NAME.log."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with (ARTIFACTS / f"{name}.log").open("wb") as out:
        return subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)


def as_root() -> list[str]:
    return ["--allow-root"] if os.geteuid() == 0 else []


def started(make: Callable[[], Server], ready_path: str, attempts: int = 3) -> Server:
    """Start a server and wait until ``ready_path`` answers. A server that exits while starting
    (another process took its free port in between) is started again on a new port."""
    for attempt in range(1, attempts + 1):
        server = make()
        try:
            server.wait_until_up(ready_path)
            return server
        except BaseException:
            exited = server.process.poll() is not None
            server.stop()
            if not exited or attempt == attempts:
                raise
    raise AssertionError("unreachable")


LAB_SETTINGS = {
    # Never write a notebook back (the root is a copy anyway).
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    # Every cell in the DOM, so that tests find and screenshot any cell.
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    # No news, no update checks: nothing leaves the machine.
    "@jupyterlab/apputils-extension/notification": {"checkForUpdates": False, "fetchNews": "false"},
}


def start_jupyterlab(home: pathlib.Path) -> Server:
    """JupyterLab on 127.0.0.1 serving a copy of notebooks/ and tests/browser/notebooks/ (same
    relative layout, so relative data paths hold): the browser can never rewrite a committed file."""
    work = home / "root"
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    shutil.copytree(ROOT / "notebooks", work / "notebooks", ignore=ignore)
    shutil.copytree(HERE / "notebooks", work / "tests" / "browser" / "notebooks", ignore=ignore)
    shutil.copytree(ROOT / "tests" / "cases" / "accounts", work / "tests" / "cases" / "accounts", ignore=ignore)
    env = jupyter_env(home)
    for plugin, settings in LAB_SETTINGS.items():
        path = pathlib.Path(env["JUPYTER_CONFIG_DIR"], "lab", "user-settings", plugin + ".jupyterlab-settings")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))

    def server() -> Server:
        port, token = free_port(), os.urandom(24).hex()
        argv = [sys.executable, "-m", "jupyterlab", "--no-browser", *as_root(),
                "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
                "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
                "--ServerApp.terminals_enabled=False"]
        return Server("jupyterlab", launch("jupyterlab", argv, env, work), f"http://127.0.0.1:{port}", token,
                      ARTIFACTS / "jupyterlab.log")

    return started(server, "/api/status")


def start_voila(home: pathlib.Path, notebook: pathlib.Path) -> Server:
    """Voila serving one notebook as an app page on 127.0.0.1 (its own kernel per page load)."""
    env = jupyter_env(home)

    def server() -> Server:
        port = free_port()
        argv = [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}",
                "--Voila.ip=127.0.0.1", "--Voila.port_retries=0", "--show_tracebacks=True"]
        return Server("voila", launch("voila", argv, env, notebook.parent), f"http://127.0.0.1:{port}", "",
                      ARTIFACTS / "voila.log")

    return started(server, "/voila/static/voila.js")  # a static file: cheap, no kernel


def new_page(browser: Browser) -> Page:
    """A page in a fresh browser context, with the UI timeout for actions and expectations."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(UI_TIMEOUT_MS)
    expect.set_options(timeout=UI_TIMEOUT_MS)
    return context.new_page()


def screenshot(locator: Locator, name: str) -> pathlib.Path:
    """Save one element as test-artifacts/browser/NAME.png. JupyterLab and Voila scroll inside a
    panel, so a page screenshot shows only the viewport: the window grows to fit the element."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{slug(name)}.png"
    page, box = locator.page, locator.bounding_box()
    viewport = page.viewport_size
    tall = viewport is not None and box is not None and box["height"] + 150 > viewport["height"]
    if tall:
        page.set_viewport_size({"width": viewport["width"], "height": int(box["height"]) + 200})
    try:
        locator.screenshot(path=str(path), animations="disabled")
    finally:
        if tall:
            page.set_viewport_size(viewport)
    return path


# ── a notebook in JupyterLab ─────────────────────────────────────────────────────

KERNEL_READY = """(path) => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const s = w && w.sessionContext;
  return !!(w && w.context && w.context.path === path && s && s.isReady && s.session && s.session.kernel
            && s.session.kernel.status === 'idle');
}"""

BOLD_EDGES = """(root) => {
  const svg = root.querySelector('.iamkit-graph-drawing svg');
  return svg ? [...svg.querySelectorAll('g.edge')]
    .filter(g => [...g.querySelectorAll('path')].some(p => p.getAttribute('stroke-width') === '3'))
    .map(g => g.querySelector('title').textContent).sort() : null;
}"""
"""The edges a graph widget's SVG draws bold, as Graphviz titles them (``tail->head``); null without a drawing."""

RUN_STATE = """() => {
  const nb = window.jupyterapp.shell.currentWidget;
  const kernel = nb.sessionContext.session && nb.sessionContext.session.kernel;
  const cells = nb.content.widgets.filter(c => c.model.type === 'code');
  const errors = [];
  cells.forEach((c, i) => {
    const tags = c.model.getMetadata('tags') || [];
    for (const o of c.model.outputs.toJSON()) {
      if (o.output_type === 'error' && !tags.includes('raises-exception'))
        errors.push(`code cell ${i + 1}: ${o.ename}: ${o.evalue}`);
    }
  });
  const pending = [...nb.node.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].some(p => p.textContent.includes('*'));
  const last = cells[cells.length - 1];
  return {errors, pending, idle: !!kernel && kernel.status === 'idle',
          lastRan: !last || last.model.executionCount !== null};
}"""

MARK_CELLS = """() => {
  const nb = window.jupyterapp.shell.currentWidget;
  return nb.content.widgets.map((c, i) => {
    c.node.setAttribute('data-iamkit-cell', String(i));
    return {index: i, type: c.model.type, tags: c.model.getMetadata('tags') || []};
  });
}"""


@dataclass
class Notebook:
    """A notebook open in JupyterLab after Run All finished; cells by index (all cells, from 0)."""

    page: Page
    path: str
    cells: list[dict[str, Any]]
    run_seconds: float

    def cell(self, index: int) -> Locator:
        return self.page.locator(f'.jp-Notebook [data-iamkit-cell="{index}"]')

    def tagged(self, tag: str) -> list[int]:
        return [c["index"] for c in self.cells if tag in c["tags"]]

    def screenshot(self, index: int, name: str) -> pathlib.Path:
        return screenshot(self.cell(index), name)


def open_notebook(page: Page, lab: Server, path: str) -> None:
    """Open a notebook in a fresh workspace and wait until its kernel exists and is idle."""
    page.goto(f"{lab.url}/lab/tree/{path}?token={lab.token}&reset")
    page.wait_for_function(KERNEL_READY, arg=path, timeout=KERNEL_TIMEOUT_MS, polling=250)
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # the notebook gets the whole width


def run_all(page: Page, timeout_ms: int = RUN_TIMEOUT_MS) -> float:
    """Run every cell, wait until the last one has finished, fail on the first error; the seconds taken."""
    start = time.monotonic()
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    settled = 0
    while True:
        state = page.evaluate(RUN_STATE)
        if state["errors"]:
            raise AssertionError("the notebook raised: " + "; ".join(state["errors"]))
        settled = settled + 1 if state["idle"] and state["lastRan"] and not state["pending"] else 0
        if settled >= 3:  # idle on three polls in a row, not between two cells
            return time.monotonic() - start
        if time.monotonic() - start > timeout_ms / 1000:
            raise AssertionError(f"the notebook did not finish within {timeout_ms / 1000:.0f} s: {state}")
        page.wait_for_timeout(200)


def run_notebook(page: Page, lab: Server, path: str) -> Notebook:
    open_notebook(page, lab, path)
    seconds = run_all(page)
    return Notebook(page, path, page.evaluate(MARK_CELLS), seconds)


def shutdown_kernels(lab: Server) -> None:
    """End every kernel of the server, so that finished notebooks do not compete for CPU."""
    with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
        for session in lab.request("GET", "/api/sessions"):
            lab.request("DELETE", f"/api/sessions/{session['id']}")


# ── widgets ───────────────────────────────────────────────────────────────────────

WIDGET_CSS = {
    "widget:playground": ".iamkit-playground",
    "widget:deny-wins": ".iamkit-deny-wins",
    "widget:trust-explorer": ".iamkit-trust-explorer",
    "widget:account-explorer": ".iamkit-account-explorer",
    "widget:policy-editor": ".iamkit-policy-editor",
    "widget:exercise": ".iamkit-exercise",
}
"""The outermost element of each tagged widget (its ipywidgets DOM classes)."""


def widget_kind(tags: list[str]) -> str | None:
    kinds = [t for t in tags if t.startswith("widget:")]
    return kinds[0] if kinds else None


def expect_widget_rendered(root: Locator, tags: list[str]) -> Locator:
    """A live widget view is shown (not "Error displaying widget"), of the kind the tags name."""
    expect(root.locator(".jupyter-widgets").first).to_be_visible()
    expect(root).not_to_contain_text("Error displaying widget")
    kind = widget_kind(tags)
    if kind is None:
        return root.locator(".jupyter-widgets").first
    assert kind in WIDGET_CSS, f"unknown widget tag `{kind}` — the browser tests know {', '.join(WIDGET_CSS)}"
    widget = root.locator(WIDGET_CSS[kind]).first
    expect(widget).to_be_visible()
    return widget


DECISION = re.compile(r"^\s*(ALLOWED|DENIED \((explicit|implicit) deny)")
"""How an explained Decision starts."""


def wait_for_html(locator: Locator, predicate: Callable[[str], bool], what: str, timeout_ms: int = UI_TIMEOUT_MS) -> str:
    """Wait until the element's inner HTML satisfies ``predicate``; returns it."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        now = locator.inner_html()
        if predicate(now):
            return now
        if time.monotonic() > deadline:
            raise AssertionError(f"{locator}: {what} within {timeout_ms / 1000:.0f} s")
        locator.page.wait_for_timeout(100)


def wait_for_change(locator: Locator, before: str, timeout_ms: int = UI_TIMEOUT_MS) -> str:
    """Wait until the element's inner HTML differs from ``before`` (the kernel re-rendered it)."""
    return wait_for_html(locator, lambda now: now != before, "no change", timeout_ms)


def checkbox(widget: Locator, label: str) -> Locator:
    """The checkbox input of an ipywidgets Checkbox whose description contains ``label``."""
    return widget.locator(".iamkit-toggle", has_text=label).locator("input[type=checkbox]")


@contextlib.contextmanager
def notebook_session(lab: Server, browser: Any, path: str) -> Iterator[Notebook]:
    """A notebook opened in a new page and run to the end; the page and its kernels go afterwards."""
    page = new_page(browser)
    try:
        yield run_notebook(page, lab, path)
    finally:
        page.context.close()
        shutdown_kernels(lab)
