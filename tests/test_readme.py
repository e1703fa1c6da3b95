"""The README's promises: a Binder link per lesson, and commands that exist."""

from __future__ import annotations

import re

from conftest import ROOT
from iamkit.cli import build_parser

README = (ROOT / "README.md").read_text()
BINDER = re.compile(r"https://mybinder\.org/v2/gh/[\w.-]+/[\w.-]+/HEAD\?urlpath=lab/tree/(notebooks/[\w.-]+\.ipynb)")


def test_every_lesson_has_a_binder_launch_link_and_every_link_a_lesson() -> None:
    lessons = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    linked = BINDER.findall(README)
    assert linked[0] == "notebooks/00-start-here.ipynb"  # the badge
    assert sorted(set(linked)) == lessons


def test_every_command_in_the_table_exists() -> None:
    commands = set(re.findall(r"^\| `iamkit ([a-z-]+)", README, re.M))
    parser = build_parser()
    known = set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert commands and commands <= known
    assert known - commands == set(), "every command is documented"


def test_the_two_setup_commands_exist_and_ci_runs_the_test_one() -> None:
    assert "./scripts/workbook" in README and "./scripts/test" in README
    assert (ROOT / "scripts" / "workbook").exists() and (ROOT / "scripts" / "test").exists()
    assert "./scripts/test" in (ROOT / ".ci" / "run").read_text()
