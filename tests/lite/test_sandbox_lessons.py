"""A lesson that needs the sandbox, in the JupyterLite edition: the sandbox cannot run in a browser tab
(moto needs cryptography, which Pyodide here lacks), so the site's build marks the cells that need it
with ``%%needs_sandbox`` (lite/build.py, lite/iamkit_lite.py). Run All goes to the end: those cells show
the browser edition's note, not a traceback, and the cells that need no sandbox (TOTP codes, the QR
code, policy evaluation, the exercises) show the outputs they show in the full workbook.

The rewrite itself (which cells, and a build that refuses a lesson it does not understand) is
tested here too, without the browser."""

from __future__ import annotations

import importlib.util
import json
import pathlib
from typing import Any, Iterator

import pytest
from browser.driver import KERNEL_READY, run_all, screenshot

from .conftest import ROOT

LESSON = "10-mfa.ipynb"
KERNEL_MS = 240_000
RUN_MS = 300_000
OUTPUTS = """() => window.jupyterapp.shell.currentWidget.content.widgets
  .filter(c => c.model.type === 'code')
  .map(c => ({source: c.model.sharedModel.getSource(), tags: c.model.getMetadata('tags') || [],
              count: c.model.executionCount, outputs: c.model.outputs.toJSON()}))"""
"""Every code cell of the open notebook: its source, tags, execution count and outputs (nbformat)."""
REAL_OUTPUTS = ("totp(rfc_seed, at=59, digits=8)", "consecutive_codes(rfc_seed, at=DEMO_NOW)",
                "example.qr_image()", 'print(json.dumps(ENFORCE_MFA_POLICY["Statement"][-1]',
                'for name, mfa_policy in [("BoolIfExists"', "check_prediction(keys_exercise, prediction)")
"""Cells of the lesson that need no sandbox, all after its first sandbox cell, by a piece of their code."""


def _build_module() -> Any:
    spec = importlib.util.spec_from_file_location("iamkit_lite_build", ROOT / "lite" / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _text(outputs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """What a cell showed, as (kind, text): streams joined per name, each result's text/plain."""
    shown: list[tuple[str, str]] = []
    for name in ("stdout", "stderr"):
        text = "".join("".join(o["text"]) for o in outputs if o["output_type"] == "stream" and o["name"] == name)
        if text:
            shown.append((name, text))
    for o in outputs:
        if o["output_type"] in ("execute_result", "display_data"):
            shown.append(("text/plain", "".join(o["data"].get("text/plain", ""))))
    return shown


@pytest.fixture(scope="module")
def cells(browser: Any, served: str) -> Iterator[list[dict[str, Any]]]:
    """The lesson opened in the site and Run All to the end (no cell may raise): its code cells."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(served) else route.abort())
    page = context.new_page()
    try:
        page.goto(f"{served}lab/index.html?path={LESSON}")
        page.wait_for_function(KERNEL_READY, arg=LESSON, timeout=KERNEL_MS, polling=500)
        run_all(page, timeout_ms=RUN_MS)  # fails on the first error output: a traceback is a failure here
        screenshot(page.locator(".iamkit-lite-skipped").first, "lite-sandbox-note")
        yield page.evaluate(OUTPUTS)
    finally:
        context.close()


def test_the_cells_that_need_the_sandbox_show_the_browser_editions_note(cells: list[dict[str, Any]]) -> None:
    original = json.loads((ROOT / "notebooks" / LESSON).read_text(encoding="utf-8"))
    aws_cells = [c for c in original["cells"] if c["cell_type"] == "code" and "!aws " in "".join(c["source"])]
    marked = [c for c in cells if c["source"].startswith("%%needs_sandbox")]
    assert len(marked) > len(aws_cells) >= 5, "the lesson's sandbox cells were not marked in the site"
    assert all("iamkit-lite-sandbox" in c["tags"] for c in marked)
    for cell in marked:
        assert cell["count"] is not None, f"Run All did not reach {cell['source'][:80]!r}"
        (output,) = cell["outputs"]
        note = "".join(output["data"]["text/html"])
        assert 'class="iamkit-lite-skipped"' in note and "Not run in the browser edition" in note, note
        assert "./scripts/workbook" in note and "https://mybinder.org/v2/gh/iamkit/iamkit/" in note, note
        assert "cannot run in a browser tab" in note, note
    # A cell that fails only because an earlier sandbox cell did not run says which name it lacks.
    (seed,) = [c for c in marked if "carol.seed\").read_text()" in c["source"]]
    assert "uses <code>workdir</code>, which earlier cells make with the sandbox" in "".join(
        seed["outputs"][0]["data"]["text/html"])


def test_the_cells_that_need_no_sandbox_show_their_real_outputs(cells: list[dict[str, Any]]) -> None:
    original = json.loads((ROOT / "notebooks" / LESSON).read_text(encoding="utf-8"))
    stored = {"".join(c["source"]): c["outputs"] for c in original["cells"] if c["cell_type"] == "code"}
    first_sandbox = next(i for i, c in enumerate(cells) if c["source"].startswith("%%needs_sandbox"))
    for marker in REAL_OUTPUTS:
        (index,) = [i for i, c in enumerate(cells) if marker in c["source"]]
        cell = cells[index]
        assert index > first_sandbox and not cell["source"].startswith("%%"), marker
        want = _text(stored[cell["source"]])
        assert want, f"the stored lesson has no output for {marker!r}"
        assert _text(cell["outputs"]) == want, f"{marker!r} showed {cell['outputs']}"
    (qr,) = [c for c in cells if "example.qr_image()" in c["source"]]
    assert any("image/png" in o.get("data", {}) for o in qr["outputs"]), "the QR code was not drawn"


# ── the rewrite, without the browser ─────────────────────────────────────────────


def _notebook(*sources: str) -> dict[str, Any]:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# title"]}]
    cells += [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "id": f"c{i}",
               "source": [s]} for i, s in enumerate(sources)]
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_the_rewrite_follows_what_each_cell_needs() -> None:
    build = _build_module()
    notebook = _notebook(
        "import json\nimport boto3\nimport iamkit\n\nsandbox = iamkit.start_sandbox()\niam = boto3.client('iam')\n"
        "REPORT = 'arn:aws:s3:::b/r'",
        "!aws iam create-user --user-name carol",
        "users = iam.list_users()",          # needs a name a sandbox statement makes
        "print(REPORT)",                      # needs nothing
        "users = []\nprint(users)",           # binds the name afresh: runs
        "!iamkit validate data/p.json",       # iamkit runs in the kernel's process
    )
    skipped, total = build.browser_lesson(notebook, "99-test.ipynb", frozenset({"json", "iamkit", "iamkit_lite"}))
    sources = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
    assert (skipped, total) == (3, 7)
    assert sources[0].splitlines()[-4:] == ["import json", "import iamkit", "", "REPORT = 'arn:aws:s3:::b/r'"]
    assert sources[0].startswith("# the browser edition") and "%load_ext iamkit_lite" in sources[0]
    assert sources[1].splitlines()[:2] == ["%%needs_sandbox", "import boto3"]
    assert sources[2].startswith("%%needs_sandbox\n!aws iam create-user")
    assert sources[3].startswith("%%needs_sandbox --uses iam\n")
    assert sources[4:] == ["print(REPORT)", "users = []\nprint(users)", "!iamkit validate data/p.json"]
    note = "".join(notebook["cells"][1]["source"])
    assert "iamkit-lite-note" in notebook["cells"][1]["metadata"]["tags"] and "99-test.ipynb" in note


@pytest.mark.parametrize(("sources", "complaint"), [
    (("import iamkit", "sandbox = iamkit.start_sandbox()"), "does not start the sandbox"),
    (("sandbox = iamkit.start_sandbox()", "%%time\n!aws iam list-users"), "already a cell magic"),
    (("sandbox = iamkit.start_sandbox()", "!ls data"), "needs a shell"),
    (("sandbox = iamkit.start_sandbox()", "!aws iam list-users"), "every code cell needs the sandbox"),
    (("sandbox = iamkit.start_sandbox()", "print(("), "not Python"),
])
def test_a_lesson_of_another_shape_fails_the_build(sources: tuple[str, ...], complaint: str) -> None:
    build = _build_module()
    with pytest.raises(build.BuildError, match=complaint):
        build.browser_lesson(_notebook(*sources), "99-test.ipynb", frozenset({"iamkit"}))


def test_needs_sandbox_runs_the_cell_where_the_sandbox_can_run() -> None:
    from IPython.core.interactiveshell import InteractiveShell

    spec = importlib.util.spec_from_file_location("iamkit_lite", ROOT / "lite" / "iamkit_lite.py")
    assert spec and spec.loader
    extension = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extension)
    shell = InteractiveShell.instance()
    try:
        extension.load_ipython_extension(shell)
        shell.run_cell("%%needs_sandbox --uses iam\nran_here = 40 + 2")
        assert shell.user_ns["ran_here"] == 42
    finally:
        InteractiveShell.clear_instance()


# ── every other lesson that needs the sandbox (about 15 s a lesson) ──

SANDBOX_LESSONS = ["00-start-here.ipynb", "01-users.ipynb", "02-groups.ipynb", "03-roles.ipynb",
                   "04-policy-anatomy.ipynb", "05-trust-vs-permission.ipynb", "08-guardrails.ipynb",
                   "09-least-privilege.ipynb", "11-capstone.ipynb"]
"""The lessons besides LESSON that start the sandbox (the build prints each one's count of cells)."""


@pytest.mark.parametrize("lesson", SANDBOX_LESSONS)
def test_every_sandbox_lesson_runs_to_the_end(browser: Any, served: str, site: pathlib.Path, lesson: str) -> None:
    assert "%%needs_sandbox" in (site / "files" / lesson).read_text(encoding="utf-8")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(served) else route.abort())
    page = context.new_page()
    try:
        page.goto(f"{served}lab/index.html?path={lesson}")
        page.wait_for_function(KERNEL_READY, arg=lesson, timeout=KERNEL_MS, polling=500)
        run_all(page, timeout_ms=RUN_MS)
        shown = page.evaluate(OUTPUTS)
    finally:
        context.close()
    assert all(c["count"] is not None for c in shown), "Run All did not reach every cell"
    for cell in shown:
        if cell["source"].startswith("%%needs_sandbox"):
            assert 'class="iamkit-lite-skipped"' in "".join(cell["outputs"][0]["data"]["text/html"]), cell["source"]
