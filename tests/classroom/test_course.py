"""The nbgrader course made from the lessons: every exercise has a solution, the student version is the lesson."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import nbformat
import pytest

from .hub import CLASSROOM, ROOT

sys.path.insert(0, str(CLASSROOM))
import course  # noqa: E402 - classroom/ is not a package


def test_every_exercise_of_every_lesson_has_a_solution() -> None:
    solutions = course.load_solutions()
    for lesson in course.LESSONS:
        course.source_notebook(nbformat.read(ROOT / "notebooks" / f"{lesson}.ipynb", as_version=4), solutions)
    wanted = {cell.metadata["nbgrader"]["grade_id"] for lesson in course.LESSONS
              for cell in nbformat.read(ROOT / "notebooks" / f"{lesson}.ipynb", as_version=4).cells
              if cell.metadata.get("nbgrader", {}).get("solution")}
    assert set(solutions) == wanted, f"solutions.toml has no such cell: {sorted(set(solutions) - wanted)}"


def test_a_missing_solution_is_named() -> None:
    lesson = nbformat.read(ROOT / "notebooks" / "06-deny-wins.ipynb", as_version=4)
    solutions = course.load_solutions()
    del solutions["06-deny-wins-2"]
    with pytest.raises(course.CourseError, match="no solution in solutions.toml for 06-deny-wins-2"):
        course.source_notebook(lesson, solutions)


def test_hidden_tests_assert_the_checker_the_learner_sees() -> None:
    source = course.source_notebook(nbformat.read(ROOT / "notebooks" / "06-deny-wins.ipynb", as_version=4),
                                    course.load_solutions())
    (check,) = [cell.source for cell in source.cells
                if cell.metadata.get("nbgrader", {}).get("grade_id") == "06-deny-wins-1-check"]
    assert check.endswith("### BEGIN HIDDEN TESTS\n_graded = check_prediction(exercise, prediction)\n"
                          "assert _graded, str(_graded)\n### END HIDDEN TESTS\ncheck_prediction(exercise, prediction)")
    assert not any(cell.get("outputs") for cell in source.cells), "the source version has no outputs"


def test_the_student_version_of_every_lesson_is_the_lesson(tmp_path: pathlib.Path) -> None:
    course.prepare(tmp_path)
    solutions = course.load_solutions()
    for lesson in course.LESSONS:
        course.write_source(tmp_path, lesson, solutions)
        course.nbgrader(tmp_path, "generate_assignment", lesson)
        released = nbformat.read(tmp_path / "release" / lesson / f"{lesson}.ipynb", as_version=4)
        committed = nbformat.read(ROOT / "notebooks" / f"{lesson}.ipynb", as_version=4)
        assert [c.source.rstrip() for c in released.cells] == [c.source.rstrip() for c in committed.cells], lesson
        assert "BEGIN SOLUTION" not in nbformat.writes(released) and "HIDDEN TESTS" not in nbformat.writes(released)
        assert (tmp_path / "release" / lesson / "data" / "06-exercise-predict.json").exists(), "the data goes along"


def test_release_refuses_a_solution_the_checker_rejects(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = tmp_path / "solutions.toml"
    wrong.write_text(course.SOLUTIONS.read_text().replace('deciding = "KeepOthersOutOfHR"', 'deciding = "ReadTheBucket"'))
    monkeypatch.setattr(course, "SOLUTIONS", wrong)
    with pytest.raises(course.CourseError, match="the solutions of 06-deny-wins do not pass its checks"):
        course.release(tmp_path / "course", tmp_path / "homes", ["06-deny-wins"])
    assert not (tmp_path / "course" / "release" / "06-deny-wins").exists(), "nothing is released"


def test_the_command_names_unknown_lessons() -> None:
    result = subprocess.run([sys.executable, str(CLASSROOM / "course.py"), "--state", "/nonexistent", "release", "06-deny"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "unknown lesson `06-deny`" in result.stderr


def test_a_home_is_seeded_once_and_a_learners_work_is_kept(tmp_path: pathlib.Path) -> None:
    home = tmp_path / "homes" / "ada"
    command = [sys.executable, str(CLASSROOM / "course.py"), "--state", str(tmp_path), "seed", str(home)]
    subprocess.run(command, check=True)
    assert sorted(path.stem for path in home.glob("*.ipynb")) == course.LESSONS, "every lesson, from notebooks/ before a release"
    assert (home / "data" / "06-exercise-predict.json").exists()
    guard = home / ".ipython" / "profile_default" / "startup" / "00-iamkit-guard.py"
    assert guard.read_text() == course.KERNEL_STARTUP.read_text()
    (home / "06-deny-wins.ipynb").write_text("ada's work")
    guard.write_text("")
    subprocess.run(command, check=True)
    assert (home / "06-deny-wins.ipynb").read_text() == "ada's work", "a second start keeps the learner's notebook"
    assert guard.read_text() == course.KERNEL_STARTUP.read_text(), "and puts the guard back"
    assert not (home / course.INSTRUCTOR_NOTEBOOK.name).exists(), "the instructor notebook is for admins"


def test_a_course_with_nothing_graded_yet(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{pathlib.Path(sys.executable).parent}:{os.environ['PATH']}")  # nbgrader runs alembic
    course.prepare(tmp_path)
    assert course.grades(tmp_path).empty and course.most_missed(tmp_path).empty
    table = course.progress(tmp_path, ["ada"], ["06-deny-wins"])
    assert table.loc["ada", "06-deny-wins"] == "not started"
