"""The classroom lane: a hub on loopback, three learners, lesson 06, nbgrader (run by classroom/test.sh)."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
from typing import Any, Iterator

import pytest

from .hub import CLASSROOM, ROOT, Hub

LANE = os.environ.get("IAMKIT_CLASSROOM_LANE") == "1"
ARTIFACTS = pathlib.Path(os.environ.get("IAMKIT_ARTIFACTS", ROOT / "test-artifacts")) / "classroom"
LESSON = "06-deny-wins"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if LANE:
        return
    skip = pytest.mark.skip(reason="the classroom lane runs these: classroom/test.sh (IAMKIT_LANES=classroom)")
    here = pathlib.Path(__file__).parent
    for item in items:
        if here in pathlib.Path(item.fspath).parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def state() -> Iterator[pathlib.Path]:
    """The classroom's state folder, removed at the end (the last test checks it is)."""
    folder = pathlib.Path(tempfile.mkdtemp(prefix="iamkit-classroom-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def released(state: pathlib.Path) -> pathlib.Path:
    """Lesson 06 released with nbgrader, before any learner signs in; the course folder."""
    result = subprocess.run([sys.executable, str(CLASSROOM / "course.py"), "--state", str(state), "release", LESSON],
                            capture_output=True, text=True)
    assert result.returncode == 0, f"release failed:\n{result.stdout}{result.stderr}"
    return state / "course"


@pytest.fixture(scope="session")
def hub(state: pathlib.Path, released: pathlib.Path) -> Iterator[Hub]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    running = Hub(state, ARTIFACTS / "jupyterhub.log")
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def measurements() -> Iterator[dict[str, Any]]:
    """What the lane measures, written to test-artifacts/classroom/measurements.txt at the end."""
    found: dict[str, Any] = {}
    yield found
    if found:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        lines = [f"{key}: {value}" for key, value in found.items()]
        (ARTIFACTS / "measurements.txt").write_text("\n".join(lines) + "\n")
        print("\n" + "\n".join(lines), file=sys.stderr)
