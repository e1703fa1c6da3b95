"""The notebooks as committed: clean, freshly run, and shaped like a lesson (no browser, no kernel
for the lessons; nbval runs them in the notebook lane of scripts/test and reports their times).

Lessons are ``notebooks/NN-slug.ipynb``: stored outputs from one top-to-bottom run in a fresh
kernel (nbval compares them), no widget state, no timing metadata, no warnings; a title with
Objectives / Prerequisites / Time, then a Recap, Exercises with at least one nbgrader-graded
check, and Going further links to AWS's documentation. Apps (``notebooks/apps/*.ipynb``, served by
Voila) are committed without outputs and are run here in a fresh kernel.
"""

from __future__ import annotations

import json
import pathlib
import re
from typing import Any

import pytest

from conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
APPS = sorted((NOTEBOOKS / "apps").glob("*.ipynb"))
LESSON_NAME = re.compile(r"^(\d\d)-[a-z0-9]+(?:-[a-z0-9]+)*\.ipynb$")
WIDGET_KINDS = {"widget:playground", "widget:deny-wins", "widget:trust-explorer", "widget:account-explorer",
                "widget:policy-editor", "widget:exercise"}
"""The widget tags the browser tests know (tests/browser/driver.py, WIDGET_CSS)."""
WARNING = re.compile(r"\b\w*Warning\b|warnings\.warn|^\s*warn(ing)?:", re.IGNORECASE | re.MULTILINE)
SHELL = re.compile(r"^\s*(!|%%?(bash|sh|system)\b)", re.MULTILINE)


def load(path: pathlib.Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell: dict[str, Any]) -> str:
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else text


def tags(cell: dict[str, Any]) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def markdown_sections(nb: dict[str, Any]) -> dict[str, str]:
    """Level-2 sections of the markdown, by heading: the text up to the next level-2 heading."""
    sections: dict[str, str] = {}
    current = None
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        for line in source(cell).splitlines():
            if line.startswith("## "):
                current = line[3:].strip()
                sections[current] = ""
            elif current is not None:
                sections[current] += line + "\n"
    return sections


def ids(paths: list[pathlib.Path]) -> list[str]:
    return [p.stem for p in paths]


# ── every notebook ─────────────────────────────────────────────────────────────


@pytest.mark.parametrize("path", LESSONS + APPS, ids=ids(LESSONS + APPS))
def test_notebook_is_clean(path: pathlib.Path) -> None:
    import nbformat

    nb = load(path)
    nbformat.validate(nbformat.reads(path.read_text(encoding="utf-8"), as_version=4))
    assert "widgets" not in nb["metadata"], "stale widget state in metadata.widgets: re-run scripts/refresh-notebooks"
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3", "the kernelspec must be python3"
    for number, cell in enumerate(nb["cells"]):
        meta = cell.get("metadata", {})
        assert "execution" not in meta and "ExecuteTime" not in meta, f"cell {number}: execution timing metadata"
        if "widget" in tags(cell):
            kinds = [t for t in tags(cell) if t.startswith("widget:")]
            assert len(kinds) == 1 and kinds[0] in WIDGET_KINDS, \
                f"cell {number}: a `widget` cell needs one of {sorted(WIDGET_KINDS)}, has {kinds}"


# ── lessons ───────────────────────────────────────────────────────────────────


def test_lessons_are_numbered_consecutively_from_00() -> None:
    assert LESSONS, "no lessons in notebooks/"
    bad = [p.name for p in LESSONS if not LESSON_NAME.match(p.name)]
    assert not bad, f"lesson files are named NN-lowercase-slug.ipynb: {bad}"
    numbers = [int(LESSON_NAME.match(p.name).group(1)) for p in LESSONS]  # type: ignore[union-attr]
    assert numbers == list(range(len(LESSONS))), f"lesson numbers must run 00, 01, … without gaps or repeats: {numbers}"


@pytest.mark.parametrize("path", LESSONS, ids=ids(LESSONS))
def test_lesson_was_run_top_to_bottom_and_stored_quietly(path: pathlib.Path) -> None:
    code = [(n, c) for n, c in enumerate(load(path)["cells"]) if c["cell_type"] == "code"]
    run = [(n, c) for n, c in code if "skip-execution" not in tags(c)]
    counts = [c.get("execution_count") for _, c in run]
    assert counts == list(range(1, len(run) + 1)), (
        f"execution counts {counts} are not 1, 2, 3, …: run the notebook top to bottom in a fresh kernel "
        "(scripts/refresh-notebooks) before committing")
    assert any(c.get("outputs") for _, c in run), "no stored outputs: nbval has nothing to compare"
    for n, cell in code:
        if "skip-execution" in tags(cell):
            assert not cell.get("outputs"), f"cell {n} is skipped by nbval and nbclient but has outputs"
        for output in cell.get("outputs", []):
            if output["output_type"] == "error":
                assert "raises-exception" in tags(cell), f"cell {n} stores an error: {output.get('ename')}"
            if output["output_type"] == "stream" and output.get("name") == "stderr":
                text = "".join(output.get("text", ""))
                assert not WARNING.search(text), f"cell {n} stores a warning on stderr: {text[:200]!r}"
                assert SHELL.search(source(cell)), f"cell {n} writes to stderr: {text[:200]!r}"
            for mime in output.get("data", {}):
                assert mime != "application/vnd.jupyter.widget-state+json", f"cell {n} stores widget state"


@pytest.mark.parametrize("path", LESSONS, ids=ids(LESSONS))
def test_lesson_opens_with_a_title_objectives_prerequisites_and_time(path: pathlib.Path) -> None:
    first = load(path)["cells"][0]
    assert first["cell_type"] == "markdown", "the first cell is the lesson's markdown introduction"
    text = source(first)
    number = path.name[:2]
    assert re.match(rf"# {number} · \S", text), f"the title reads `# {number} · Title`, not {text.splitlines()[0]!r}"
    for label in ("**Objectives.**", "**Prerequisites.**", "**Time.**"):
        assert label in text, f"the introduction lacks {label}"


@pytest.mark.parametrize("path", LESSONS, ids=ids(LESSONS))
def test_lesson_ends_with_recap_exercises_and_going_further(path: pathlib.Path) -> None:
    nb = load(path)
    sections = markdown_sections(nb)
    order = [name for name in sections if name in ("Recap", "Exercises", "Going further")]
    assert order == ["Recap", "Exercises", "Going further"], \
        f"a lesson ends with ## Recap, ## Exercises, ## Going further (in that order); found {order}"
    assert re.search(r"\]\(https://docs\.aws\.amazon\.com/[^)\s]+\)", sections["Going further"]), \
        "Going further links to pages of https://docs.aws.amazon.com/"


@pytest.mark.parametrize("path", LESSONS, ids=ids(LESSONS))
def test_lesson_has_a_graded_exercise_check(path: pathlib.Path) -> None:
    cells = load(path)["cells"]
    checks = [c for c in cells if "exercise-check" in tags(c)]
    assert checks, "at least one cell tagged `exercise-check` (see notebooks conventions)"
    grade_ids = []
    for cell in cells:
        nbgrader = cell.get("metadata", {}).get("nbgrader")
        if nbgrader is None:
            continue
        assert nbgrader.get("schema_version") == 3 and nbgrader.get("grade_id"), f"incomplete nbgrader metadata {nbgrader}"
        grade_ids.append(nbgrader["grade_id"])
    assert len(grade_ids) == len(set(grade_ids)), f"nbgrader grade ids repeat: {grade_ids}"
    for cell in checks:
        nbgrader = cell["metadata"].get("nbgrader", {})
        assert cell["cell_type"] == "code", "an exercise check is a code cell"
        assert nbgrader.get("grade") is True and nbgrader.get("locked") is True and nbgrader.get("solution") is False \
            and nbgrader.get("points", 0) > 0, f"an exercise check is a locked, graded nbgrader cell: {nbgrader}"
        assert nbgrader["grade_id"].startswith(path.stem), f"grade id {nbgrader['grade_id']} names another lesson"


# ── apps ──────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("path", APPS, ids=ids(APPS))
def test_app_is_committed_without_outputs(path: pathlib.Path) -> None:
    cells = load(path)["cells"]
    assert cells[0]["cell_type"] == "markdown" and source(cells[0]).startswith("# "), "an app opens with a title"
    for n, cell in enumerate(cells):
        if cell["cell_type"] == "code":
            assert cell.get("execution_count") is None and not cell.get("outputs"), \
                f"cell {n}: Voila runs the app itself; commit it without outputs"


@pytest.mark.parametrize("path", APPS, ids=ids(APPS))
def test_app_runs_in_a_fresh_kernel_and_shows_a_widget(path: pathlib.Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    mimes = {m for output in last.outputs for m in output.get("data", {})}
    assert "application/vnd.jupyter.widget-view+json" in mimes, f"the app's last cell shows no widget: {last.outputs}"
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    noise = [o for o in outputs if o.get("name") == "stderr" or o.output_type == "error"]
    assert not noise, f"the app writes errors or warnings: {noise}"
