"""A class of three on the hub: lesson 06 in each learner's server, nbgrader's grades, and isolation.

The tests run in file order and share one hub (conftest.py): learners are created and started,
work lesson 06 (linus answers wrong), two of them act on the same IAM user names, the lessons are
collected and autograded, and the hub is stopped with nothing left behind.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import pathlib
import re
import subprocess
import sys
import time
import urllib.error
from typing import Any

import nbformat
import psutil
import pytest
from nbclient import NotebookClient

from iamkit.exercises import check_deciding_statement, check_fix, check_prediction

from .conftest import ARTIFACTS, LESSON
from .hub import CLASSROOM, ROOT, Hub, learner_processes, memory

sys.path.insert(0, str(CLASSROOM))
import course  # noqa: E402 - classroom/ is not a package

LEARNERS = ["ada", "grace", "linus"]
WRONG = "linus"
# linus's answers: another outcome, and the Allow that matches but does not decide.
WRONG_ANSWERS = {"06-deny-wins-1": 'prediction = "allowed"', "06-deny-wins-2": 'deciding = "ReadTheBucket"'}
RESULTS: dict[str, Any] = {}  # what one test leaves for the next


def lesson() -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "notebooks" / f"{LESSON}.ipynb", as_version=4)


def answer_cells(notebook: nbformat.NotebookNode) -> dict[str, Any]:
    return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in notebook.cells
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")}


def answers(learner: str) -> dict[str, str]:
    """What a learner types into each answer cell: the solutions, or linus's wrong answers."""
    if learner == WRONG:
        return WRONG_ANSWERS
    solutions = course.load_solutions()
    return {grade_id: solutions[grade_id] for grade_id in answer_cells(lesson())}


def checker_says(given: dict[str, str]) -> dict[str, bool]:
    """Each check cell of the lesson run here, on these answers, with iamkit's checkers: right or not."""
    namespace: dict[str, Any] = {"json": json, "check_prediction": check_prediction,
                                 "check_deciding_statement": check_deciding_statement, "check_fix": check_fix}
    for code in given.values():
        exec(code, namespace)
    verdicts = {}
    cwd = os.getcwd()
    os.chdir(ROOT / "notebooks")  # the check cells open data/… as the lesson does
    try:
        for cell in lesson().cells:
            grading = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and grading.get("grade") and not grading.get("solution"):
                before, check = course.last_statement(cell.source)
                exec(before, namespace)
                verdicts[grading["grade_id"]] = bool(eval(check, namespace))
    finally:
        os.chdir(cwd)
    return verdicts


def test_three_learners_start_through_the_rest_api(hub: Hub, measurements: dict[str, Any]) -> None:
    hub.create_users(LEARNERS)
    names = {user["name"] for user in hub.api("GET", "/users")}
    assert set(LEARNERS) <= names, f"the hub lists {sorted(names)}"
    for learner in LEARNERS:
        seconds = hub.start_server(learner)
        measurements[f"{learner}: server start (spawn to ready)"] = f"{seconds:.1f} s"
        measurements[f"{learner}: idle server, no kernel"] = "{rss:.0f} MiB RSS, {uss:.0f} MiB USS".format(**memory(learner))
        listing = {item["name"] for item in hub.request("GET", f"/user/{learner}/api/contents")["content"]}
        assert {f"{LESSON}.ipynb", "data"} <= listing, f"{learner}'s home has {sorted(listing)}"
        with pytest.raises(urllib.error.HTTPError) as refused:
            hub.request("GET", f"/user/{learner}/formgrader")
        assert refused.value.code == 404, "a learner's server has no formgrader"
        page = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                         hub.request_text(f"/user/{learner}/lab"), re.DOTALL)
        assert page, "JupyterLab's page carries its configuration"
        disabled = json.loads(page.group(1)).get("disabledExtensions", [])
        assert set(course.LEARNER_LAB_DISABLED) <= set(disabled), f"a learner's JupyterLab leaves out {disabled}"
    homes = {home.name for home in (hub.state / "homes").iterdir()}
    assert set(LEARNERS) <= homes, "each learner's home is a folder of its own"


async def work_the_lesson(hub: Hub, learner: str) -> dict[str, Any]:
    """Open the lesson in the learner's server, answer, run every cell, save; then measure, then close the kernel."""
    notebook = nbformat.from_dict(hub.contents(learner, f"{LESSON}.ipynb"))
    for grade_id, code in answers(learner).items():
        answer_cells(notebook)[grade_id].source = code
    started = time.monotonic()
    kernel = await hub.kernel(learner, f"{LESSON}.ipynb")
    errors, first_cell = [], None
    try:
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            ran = await kernel.execute(cell.source)
            first_cell = first_cell or time.monotonic() - started
            cell.outputs = [nbformat.from_dict(output) for output in ran.outputs]
            if ran.error and "raises-exception" not in cell.metadata.get("tags", []):
                errors.append(f"cell {index}: {ran.error}")
        elapsed = time.monotonic() - started
        used = memory(learner)  # the server and the kernel (lesson 06 evaluates offline: no moto)
        processes = len(learner_processes(learner))
    finally:
        await kernel.close()
    hub.save(learner, f"{LESSON}.ipynb", notebook)
    return {"errors": errors, "seconds": elapsed, "first_cell": first_cell, "memory": used, "processes": processes}


def test_each_learner_works_lesson_06_in_their_server(hub: Hub, measurements: dict[str, Any]) -> None:
    async def everyone() -> list[dict[str, Any]]:
        return await asyncio.gather(*(work_the_lesson(hub, learner) for learner in LEARNERS))

    for learner, result in zip(LEARNERS, asyncio.run(everyone()), strict=True):
        assert not result["errors"], f"{learner}'s lesson raised:\n" + "\n".join(result["errors"])
        measurements[f"{learner}: kernel start and setup cell"] = f"{result['first_cell']:.1f} s"
        measurements[f"{learner}: lesson {LESSON}, every cell (three learners at once)"] = f"{result['seconds']:.1f} s"
        measurements[f"{learner}: server + kernel after lesson 06"] = (
            "{rss:.0f} MiB RSS, {uss:.0f} MiB USS, {cpu:.1f} CPU s since the server started".format(**result["memory"])
            + f", {result['processes']} processes")
        saved = nbformat.from_dict(hub.contents(learner, f"{LESSON}.ipynb"))
        assert answer_cells(saved)["06-deny-wins-1"].source == answers(learner)["06-deny-wins-1"], "the answers were saved"
    RESULTS["lesson worked"] = True


def listening_in(port: int) -> set[str | None]:
    """Whose processes (by JUPYTERHUB_USER) listen on a loopback port."""
    return {psutil.Process(c.pid).environ().get("JUPYTERHUB_USER") for c in psutil.net_connections("tcp")
            if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN and c.pid}


def test_two_learners_on_the_same_user_names_never_meet(hub: Hub, measurements: dict[str, Any]) -> None:
    setup = ("import json, socket\nimport iamkit, iamkit.sandbox\nguarded_before_sandbox = iamkit.sandbox.guard_active()\n"
             "sandbox = iamkit.start_sandbox()\niam = sandbox.client('iam')\n"
             "print(json.dumps({'guard': guarded_before_sandbox, 'endpoint': sandbox.endpoint_url,"
             " 'folder': str(sandbox.workdir.parent)}))")
    users = "print(json.dumps(sorted((u['UserName'], u.get('Tags', [{}])[0].get('Value')) "  \
            "for u in (iam.get_user(UserName=x['UserName'])['User'] for x in iam.list_users()['Users']))))"

    async def scene() -> dict[str, Any]:
        ada, grace = await hub.kernel("ada", "isolation.ipynb"), await hub.kernel("grace", "isolation.ipynb")
        try:
            seen = {}
            for name, kernel in (("ada", ada), ("grace", grace)):
                started = time.monotonic()
                ran = await kernel.execute(setup)
                measurements[f"{name}: start_sandbox() in a new kernel"] = f"{time.monotonic() - started:.1f} s"
                assert not ran.error, f"{name}: {ran.error}"
                seen[name] = json.loads(ran.text)
                RESULTS.setdefault("sandbox folders", []).append(seen[name]["folder"])
                # the same user name in both accounts: the second would fail with EntityAlreadyExists if they were one
                tags = f"Tags=[{{'Key': 'owner', 'Value': '{name}'}}]"
                ran = await kernel.execute(f"iam.create_user(UserName='shared-name', {tags})\n"
                                           f"iam.create_user(UserName='only-{name}', {tags})")
                assert not ran.error, f"{name} could not create the users: {ran.error}"
            ran = await ada.execute("iam.delete_user(UserName='shared-name')")
            assert not ran.error, ran.error
            for name, kernel in (("ada", ada), ("grace", grace)):
                seen[name]["users"] = json.loads((await kernel.execute(users)).text)
                listed = await kernel.execute("!aws iam list-users --query 'Users[].UserName' --output text")
                seen[name]["aws"] = listed.text.split()
                seen[name]["off machine"] = (await kernel.execute(
                    "try:\n    socket.create_connection(('192.0.2.1', 80), timeout=1)\nexcept iamkit.sandbox.SandboxError as e:\n"
                    "    print('refused')")).text.strip()
                seen[name]["moto runs in"] = listening_in(int(seen[name]["endpoint"].rsplit(":", 1)[1]))
            for name, kernel in (("ada", ada), ("grace", grace)):  # the heaviest a lesson's sandbox gets: the demo company
                ran = await kernel.execute("sandbox.seed('demo')")
                assert not ran.error, f"{name}: {ran.error}"
                measurements[f"{name}: server + kernel + moto with the demo company"] = \
                    "{rss:.0f} MiB RSS, {uss:.0f} MiB USS".format(**memory(name))
            return seen
        finally:
            await ada.close()
            await grace.close()

    seen = asyncio.run(scene())
    assert seen["ada"]["guard"] and seen["grace"]["guard"], "the guard is on in a new kernel before any sandbox starts"
    assert seen["ada"]["endpoint"] != seen["grace"]["endpoint"], "each learner's sandbox has a port of its own"
    for name in ("ada", "grace"):
        assert seen[name]["moto runs in"] == {name}, f"{name}'s moto server runs in {seen[name]['moto runs in']}'s processes"
        assert seen[name]["off machine"] == "refused", f"{name}'s kernel reached off the machine"
    assert seen["ada"]["users"] == [["only-ada", "ada"]], "ada's account: her delete happened, grace's users never appear"
    assert seen["grace"]["users"] == [["only-grace", "grace"], ["shared-name", "grace"]], \
        "grace's account: ada's delete of the same name did not touch it"
    assert seen["ada"]["aws"] == ["only-ada"] and sorted(seen["grace"]["aws"]) == ["only-grace", "shared-name"], \
        "the aws command in each kernel reaches that learner's sandbox"


def test_nbgrader_grades_agree_with_iamkit_checkers(hub: Hub, released: pathlib.Path, measurements: dict[str, Any]) -> None:
    assert RESULTS.get("lesson worked"), "the learners did not work the lesson"
    started = time.monotonic()
    result = subprocess.run([sys.executable, str(CLASSROOM / "course.py"), "--state", str(hub.state),
                             "--admins", "instructor", "grade", LESSON], capture_output=True, text=True)
    measurements[f"collect and autograde {len(LEARNERS)} learners"] = f"{time.monotonic() - started:.1f} s"
    assert result.returncode == 0, f"grading failed:\n{result.stdout}{result.stderr}"
    (ARTIFACTS / "grade-table.txt").write_text(result.stdout)
    grades = course.grades(released)
    assert sorted(grades["learner"].unique()) == LEARNERS
    for learner in LEARNERS:
        expected = checker_says(answers(learner))
        given = grades[grades["learner"] == learner].set_index("exercise")["score"]
        got = {exercise: bool(given[exercise]) for exercise in given.index}
        assert got == expected, f"{learner}: nbgrader scored {got}, iamkit's checkers say {expected}"
    wrong = checker_says(answers(WRONG))
    assert not any(wrong.values()) and all(checker_says(answers("ada")).values()), "the test's answers are what it claims"
    table = course.progress(released, LEARNERS, [LESSON])
    assert table.loc["ada", LESSON] == "finished" and table.loc[WRONG, LESSON] == "0/2 checks"
    assert WRONG in result.stdout and "finished" in result.stdout, f"the grade table is printed:\n{result.stdout}"
    missed = course.most_missed(released)
    assert missed.to_dict() == {"06-deny-wins-1-check": 1, "06-deny-wins-2-check": 1}


def test_the_instructor_notebook_shows_the_class(hub: Hub) -> None:
    notebook = nbformat.read(CLASSROOM / "class-at-a-glance.ipynb", as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells), "the instructor notebook is committed without outputs"
    env = {"IAMKIT_CLASSROOM_DIR": str(hub.state), "IAMKIT_CLASSROOM_CODE": str(CLASSROOM),
           "IAMKIT_CLASSROOM_ADMINS": "instructor"}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(hub.state)}}).execute()
    finally:
        for name, value in saved.items():
            os.environ.pop(name) if value is None else os.environ.__setitem__(name, value)
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    html = "".join(output.get("data", {}).get("text/html", "") for output in outputs)
    assert all(learner in html for learner in LEARNERS) and "finished" in html and "0/2 checks" in html
    plots = [output["data"]["image/png"] for output in outputs if "image/png" in output.get("data", {})]
    assert plots, "the most-missed exercises are a plot"
    (ARTIFACTS / "most-missed.png").write_bytes(base64.b64decode(plots[0]))


def test_stopping_the_hub_leaves_nothing(hub: Hub) -> None:
    servers = [process.pid for learner in LEARNERS for process in learner_processes(learner)]
    assert servers, "the learners' servers ran until now"
    left = hub.stop()
    assert not left, "left behind:\n" + "\n".join(left)
    assert not [pid for pid in servers if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    sandboxes = [folder for folder in RESULTS.get("sandbox folders", []) if pathlib.Path(folder).exists()]
    assert RESULTS.get("sandbox folders") and not sandboxes, f"sandbox folders left: {sandboxes}"
