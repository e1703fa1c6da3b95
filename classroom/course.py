"""The class's nbgrader course: lessons in, learners' homes seeded, submissions collected and autograded.

Run by ``./scripts/classroom release`` and ``./scripts/classroom grade``; the hub's configuration
(``jupyterhub_config.py``) and the instructor notebook import it.

The assignment source is made from the committed lessons and ``solutions.toml``, never edited
by hand: in each lesson an exercise is three cells with nbgrader metadata (see
docs/instructor-guide.md), and the source version adds

- to each answer cell, under its unanswered line, the solution between ``### BEGIN SOLUTION``
  and ``### END SOLUTION``;
- to each explain cell, under its question, a model answer in the same markers;
- to each check cell, before the checker call the learner sees, a hidden test between
  ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` that asserts the same call: the
  grade is what iamkit's checker says (a :class:`~iamkit.exercises.Feedback` is true when right).

With blank stubs, ``nbgrader generate_assignment`` turns that back into the lesson as committed.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import filecmp
import json
import os
import pathlib
import shutil
import subprocess
import sys

import nbformat

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

CLASSROOM = pathlib.Path(__file__).resolve().parent
ROOT = CLASSROOM.parent
NOTEBOOKS = ROOT / "notebooks"
LESSONS = sorted(path.stem for path in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
SOLUTIONS = CLASSROOM / "solutions.toml"
KERNEL_STARTUP = CLASSROOM / "kernel_startup.py"
INSTRUCTOR_NOTEBOOK = CLASSROOM / "class-at-a-glance.ipynb"
COURSE_ID = "iamkit"
# What a learner's JupyterLab leaves out of nbgrader: the instructor's tools and the exchange (this course
# collects from the homes). The notebook toolbar's Validate button stays.
LEARNER_LAB_DISABLED = ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                        "@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:menu"]
LEARNER_SERVER_DISABLED = ["nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.assignment_list",
                           "nbgrader.server_extensions.course_list"]
# nbgrader's settings for this course; written into the course folder and the admins' homes (formgrader reads it there).
NBGRADER_CONFIG = """\
# Written by classroom/course.py: edit that file, not this one.
c = get_config()  # noqa: F821
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = {course_id!r}
c.ClearSolutions.code_stub = {{"python": ""}}  # the released answer cell is the lesson's own unanswered line
c.ClearSolutions.text_stub = ""
c.ExecutePreprocessor.timeout = 120  # per cell; a lesson takes well under 30 s
c.Exchange.root = {exchange!r}
"""


class CourseError(Exception):
    """A step of the course cannot go on; the message says what to do."""


def say(text: str) -> None:
    print(f"\033[1m[iamkit]\033[0m {text}", file=sys.stderr)


# -- the assignment source ------------------------------------------------------------------------

def load_solutions() -> dict[str, str]:
    """``grade_id`` → the solution text of an answer cell (code) or an explain cell (a model answer), from SOLUTIONS."""
    table = tomllib.loads(SOLUTIONS.read_text(encoding="utf-8"))
    return {grade_id: entry["solution"].strip("\n") for grade_id, entry in table.items()}


def last_statement(source: str) -> tuple[str, str]:
    """A check cell split into what comes before its last statement, and that statement (the checker call)."""
    body = ast.parse(source).body
    if not body or not isinstance(body[-1], ast.Expr):
        raise CourseError("a check cell must end with the checker call whose result it shows")
    lines = source.rstrip("\n").split("\n")
    start = body[-1].lineno - 1
    return "\n".join(lines[:start]), "\n".join(lines[start:])


def source_notebook(lesson: nbformat.NotebookNode, solutions: dict[str, str]) -> nbformat.NotebookNode:
    """The nbgrader source version of a lesson: solutions, model answers and hidden tests added, outputs cleared.

    Raises:
        CourseError: an exercise of the lesson has no entry in solutions.toml.
    """
    notebook = nbformat.from_dict(lesson)
    missing = []
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        grading = cell.metadata.get("nbgrader")
        if not grading:
            continue
        grade_id = grading["grade_id"]
        text = cell.source.rstrip("\n")
        if grading.get("solution"):
            if grade_id not in solutions:
                missing.append(grade_id)
                continue
            gap = "\n" if cell.cell_type == "code" else "\n\n"  # a model answer is a paragraph of its own
            cell.source = f"{text}{gap}### BEGIN SOLUTION\n{solutions[grade_id]}\n### END SOLUTION"
        elif grading.get("grade") and cell.cell_type == "code":
            before, check = last_statement(text)
            hidden = (f"### BEGIN HIDDEN TESTS\n_graded = {check}\nassert _graded, str(_graded)\n"
                      "### END HIDDEN TESTS")
            cell.source = "\n".join(part for part in (before, hidden, check) if part)
    if missing:
        raise CourseError(f"no solution in {SOLUTIONS.name} for {', '.join(missing)}: add one per exercise cell")
    return notebook


def write_source(course: pathlib.Path, lesson: str, solutions: dict[str, str]) -> pathlib.Path:
    """``source/LESSON/``: the lesson's source version and the data it reads (``data/``)."""
    folder = course / "source" / lesson
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    shutil.copytree(NOTEBOOKS / "data", folder / "data")
    notebook = source_notebook(nbformat.read(NOTEBOOKS / f"{lesson}.ipynb", as_version=4), solutions)
    nbformat.write(notebook, folder / f"{lesson}.ipynb")
    return folder


# -- nbgrader ---------------------------------------------------------------------------------------

def prepare(course: pathlib.Path) -> None:
    """Create the course folder, its nbgrader_config.py, and the guard for the kernels nbgrader runs."""
    (course / "exchange").mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(nbgrader_config(course))
    install_guard(course / ".ipython")


def install_guard(ipython_dir: pathlib.Path) -> None:
    """Put the loopback guard into an IPython profile's startup: every kernel started with that IPYTHONDIR has it."""
    startup = ipython_dir / "profile_default" / "startup" / "00-iamkit-guard.py"
    startup.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(KERNEL_STARTUP, startup)  # always: a learner cannot keep a kernel without the guard by editing it


def nbgrader_config(course: pathlib.Path) -> str:
    return NBGRADER_CONFIG.format(root=str(course), course_id=COURSE_ID, exchange=str(course / "exchange"))


def nbgrader(course: pathlib.Path, *args: str) -> str:
    """Run one nbgrader command in the course folder (where its nbgrader_config.py is); its output.

    nbgrader runs ``alembic`` from PATH: this environment's bin folder goes first. The kernels it
    starts (validate, autograde) run learners' code: they get the loopback guard, as in the hub.
    """
    env = {**os.environ, "PATH": os.pathsep.join([str(pathlib.Path(sys.executable).parent), os.environ.get("PATH", "")]),
           "IPYTHONDIR": str(course / ".ipython")}
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True, text=True)
    if result.returncode:
        raise CourseError(f"`nbgrader {' '.join(args)}` failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout + result.stderr


def release(course: pathlib.Path, homes: pathlib.Path, lessons: list[str]) -> None:
    """Make the source and student versions of each lesson, check the solutions pass, and seed the homes.

    A learner who already has a lesson's notebook keeps it (their work is never overwritten).
    """
    prepare(course)
    solutions = load_solutions()
    for lesson in lessons:
        folder = write_source(course, lesson, solutions)
        # The source's solutions must pass its hidden tests: nbgrader runs the notebook and reports failures.
        validated = nbgrader(course, "validate", str(folder / f"{lesson}.ipynb"))
        if "Success!" not in validated:
            raise CourseError(f"the solutions of {lesson} do not pass its checks:\n{validated}")
        nbgrader(course, "generate_assignment", lesson, "--force")
        say(f"{lesson}: student version in {course / 'release' / lesson}")
    for home in sorted(homes.iterdir()) if homes.is_dir() else []:
        kept = [lesson for lesson in lessons if not _copy_release(course, lesson, home)]
        if kept:
            say(f"{home.name} already has {', '.join(kept)}: kept their copy")


def _copy_release(course: pathlib.Path, lesson: str, home: pathlib.Path) -> bool:
    """Copy a lesson's student version into a home that has none; False when the home keeps a copy of its own."""
    released = course / "release" / lesson / f"{lesson}.ipynb"
    target = home / f"{lesson}.ipynb"
    if target.exists():
        return filecmp.cmp(released, target, shallow=False)
    shutil.copyfile(released, target)
    return True


def seed_home(home: pathlib.Path, course: pathlib.Path, *, admin: bool) -> None:
    """A learner's home on first start: every lesson (nbgrader's release where there is one), the data, the guard.

    Admins also get the instructor notebook and the course's nbgrader_config.py (for the formgrader).
    Nothing already in the home is replaced.
    """
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "data").exists():
        shutil.copytree(NOTEBOOKS / "data", home / "data")
    for lesson in LESSONS:
        released = course / "release" / lesson / f"{lesson}.ipynb"
        if not (home / f"{lesson}.ipynb").exists():
            shutil.copyfile(released if released.exists() else NOTEBOOKS / f"{lesson}.ipynb", home / f"{lesson}.ipynb")
    install_guard(home / ".ipython")
    if not admin:
        _leave_out_instructor_tools(home / ".jupyter")
    if admin:
        prepare(course)
        (home / "nbgrader_config.py").write_text(nbgrader_config(course))
        if not (home / INSTRUCTOR_NOTEBOOK.name).exists():
            shutil.copyfile(INSTRUCTOR_NOTEBOOK, home / INSTRUCTOR_NOTEBOOK.name)


def _leave_out_instructor_tools(config_dir: pathlib.Path) -> None:
    """A learner's Jupyter config (their ``~/.jupyter``, which outranks the environment's): no nbgrader instructor tools."""
    (config_dir / "labconfig").mkdir(parents=True, exist_ok=True)
    (config_dir / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": dict.fromkeys(LEARNER_LAB_DISABLED, True)}, indent=2) + "\n")
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": dict.fromkeys(LEARNER_SERVER_DISABLED, False)}}, indent=2) + "\n")


# -- collecting and grading --------------------------------------------------------------------------

def collect(course: pathlib.Path, homes: pathlib.Path, lessons: list[str], admins: set[str]) -> dict[str, list[str]]:
    """Copy each learner's worked lessons into ``submitted/``, as nbgrader's collect would.

    A lesson counts as worked when the learner's notebook differs from the student version
    they were given; untouched lessons are not collected (the class table shows them as not started).

    Returns:
        lesson → the learners whose notebook was collected.
    """
    collected: dict[str, list[str]] = {lesson: [] for lesson in lessons}
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f %Z")
    for learner in learners(homes, admins):
        home = homes / learner
        for lesson in lessons:
            released = course / "release" / lesson / f"{lesson}.ipynb"
            worked = home / f"{lesson}.ipynb"
            if not worked.exists() or filecmp.cmp(released, worked, shallow=False):
                continue
            target = course / "submitted" / home.name / lesson
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            shutil.copyfile(worked, target / worked.name)
            shutil.copytree(course / "release" / lesson / "data", target / "data")  # what the notebook reads
            (target / "timestamp.txt").write_text(now)
            collected[lesson].append(home.name)
    return collected


def autograde(course: pathlib.Path, collected: dict[str, list[str]]) -> None:
    """``nbgrader autograde`` each lesson's submissions (check cells restored from the source first)."""
    for lesson, learners in collected.items():
        if learners:
            nbgrader(course, "autograde", lesson, "--force")
            say(f"{lesson}: autograded {', '.join(learners)}")


def grades(course: pathlib.Path):
    """Every autograded exercise check of every submission, as a pandas DataFrame.

    Columns: ``learner``, ``lesson``, ``exercise`` (the check cell's grade_id), ``score``,
    ``max_score``. One row per check cell of each collected submission.
    """
    import pandas as pd
    from nbgrader.api import Gradebook

    rows = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for assignment in gradebook.assignments:
            for submission in assignment.submissions:
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        if grade.cell.cell_type == "code" and grade.auto_score is not None:
                            rows.append({"learner": submission.student.id, "lesson": assignment.name,
                                         "exercise": grade.name, "score": grade.score, "max_score": grade.max_score})
    return pd.DataFrame(rows, columns=["learner", "lesson", "exercise", "score", "max_score"])


def progress(course: pathlib.Path, learners: list[str], lessons: list[str]):
    """Learner × lesson: ``finished`` (every check right), ``k/n checks``, or ``not started`` (nothing collected)."""
    import pandas as pd

    table = grades(course)
    summed = table.groupby(["learner", "lesson"])[["score", "max_score"]].sum()
    cells = {}
    for learner in learners:
        for lesson in lessons:
            if (learner, lesson) not in summed.index:
                cells[learner, lesson] = "not started"
                continue
            score, max_score = summed.loc[(learner, lesson)]
            cells[learner, lesson] = "finished" if score == max_score else f"{score:g}/{max_score:g} checks"
    index = pd.MultiIndex.from_tuples(list(cells), names=["learner", "lesson"])
    return pd.Series(list(cells.values()), index=index, dtype=object).unstack("lesson").reindex(columns=lessons)


def most_missed(course: pathlib.Path):
    """Each exercise check with the number of learners who got it wrong, the most missed first."""
    table = grades(course)
    wrong = table[table["score"] < table["max_score"]].groupby("exercise")["learner"].nunique()
    return wrong.reindex(table["exercise"].unique(), fill_value=0).sort_values(ascending=False).rename("learners wrong")


def learners(homes: pathlib.Path, admins: set[str]) -> list[str]:
    """Everyone with a home who is not an admin."""
    return sorted(home.name for home in homes.iterdir() if home.is_dir() and home.name not in admins) if homes.is_dir() else []


# -- the command line ----------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/classroom", description="The class's nbgrader course.")
    parser.add_argument("--state", type=pathlib.Path, required=True, help="the classroom's state folder")
    parser.add_argument("--admins", default="instructor", help="comma-separated admins (not graded)")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("release", "make the source and student versions and give them to every learner"),
                       ("grade", "collect every learner's worked lessons, autograde them, print the grade table")):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("lessons", nargs="*", metavar="LESSON", help="lessons (default: all, or all released)")
    seed = commands.add_parser("seed", help="give one home the lessons and the kernel's guard (a pod's start hook)")
    seed.add_argument("home", type=pathlib.Path)
    args = parser.parse_args(argv)
    course, homes = args.state / "course", args.state / "homes"
    if args.command == "seed":
        seed_home(args.home, course, admin=False)
        return 0
    unknown = [lesson for lesson in args.lessons if lesson not in LESSONS]
    if unknown:
        parser.error(f"unknown lesson {', '.join(f'`{u}`' for u in unknown)}: choose from {', '.join(LESSONS)}")
    try:
        if args.command == "release":
            release(course, homes, args.lessons or LESSONS)
        else:
            released = [lesson for lesson in LESSONS if (course / "release" / lesson).is_dir()]
            lessons = args.lessons or released
            not_released = sorted(set(lessons) - set(released))
            if not lessons or not_released:
                what = f"{', '.join(not_released)} is not released yet" if not_released else "no lesson is released yet"
                raise CourseError(f"{what}: run ./scripts/classroom release first")
            admins = {name.strip() for name in args.admins.split(",")}
            prepare(course)
            autograde(course, collect(course, homes, lessons, admins))
            print(progress(course, learners(homes, admins), lessons).to_string())
    except CourseError as error:
        say(str(error))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
