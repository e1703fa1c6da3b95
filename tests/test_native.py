"""The engine compiled with mypyc (iamkit/native.py) answers exactly as the plain Python does.

The ``native`` lane of scripts/test builds it and runs the whole suite against it with
``IAMKIT_NATIVE=required``; the unit lane runs the plain Python (``IAMKIT_PURE=1``).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
from test_imports import GRAPH

from iamkit import native

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "reference-dev.jsonl"
REQUIRED = os.environ.get("IAMKIT_NATIVE") == "required"
BUILT = os.path.isdir(native.directory())

needs_build = pytest.mark.skipif(not BUILT, reason="the compiled engine is not built (scripts/native builds it)")


def test_the_key_covers_every_iamkit_module_the_compiled_ones_import() -> None:
    # A compiled module trusts the names and types of what it imports: an edit there must make the build stale.
    closure, todo = set(native.MODULES), list(native.MODULES)
    while todo:
        for imported in GRAPH[todo.pop()] - closure:
            closure.add(imported)
            todo.append(imported)
    assert closure - {"iamkit", "iamkit.engine", "iamkit.cli"} <= set(native.KEYED)


def test_an_edit_to_any_keyed_source_makes_another_key(tmp_path: pathlib.Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "iamkit"
    for module in native.KEYED:
        target = copy.joinpath(*module.split(".")[1:]).with_suffix(".py")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(native.source(module), target)
    monkeypatch.setattr(native, "_HERE", str(copy))
    assert native.key() == native.key()
    first = native.key()
    for module in (native.MODULES[0], "iamkit.errors"):  # a compiled module, and one it imports
        path = pathlib.Path(native.source(module))
        text = path.read_bytes()
        path.write_bytes(text.replace(b"\n", b" \n", 1))
        assert native.key() != first, module
        path.write_bytes(text)
    assert native.key() == first


@pytest.mark.skipif(not REQUIRED, reason="the native lane requires the build; elsewhere it is optional")
def test_the_native_lane_runs_the_compiled_engine() -> None:
    import iamkit.engine.evaluator

    assert native.compiled(), f"{iamkit.engine.evaluator.__file__} is not the build in {native.directory()}"


def test_iamkit_pure_runs_the_plain_python() -> None:
    probe = "import iamkit, iamkit.native as n; print(n.compiled())"
    out = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "IAMKIT_PURE": "1"}, cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def _run(args: list[str], pure: bool, stdin: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "IAMKIT_PURE"}
    if pure:
        env["IAMKIT_PURE"] = "1"
    done = subprocess.run([sys.executable, *args], env=env, cwd=ROOT, input=stdin, capture_output=True, text=True)
    assert done.returncode in (0, 2), done.stderr
    return done.stdout


@needs_build
@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is not here")
def test_compiled_and_plain_batches_agree_line_for_line() -> None:
    # The corpus, then lines each refused in its own way: the messages must agree too.
    broken = ['{"request": ', '{"id": "dup", "id": "again"}', '[]', '{"request": {"principal": 7}}',
              '{"request": {"principal": "arn:aws:iam::111122223333:user/a", "action": "s3:GetObject"}, '
              '"identityPolicies": [{"Statement": {"Effect": "allow", "Action": "s3:*", "Resource": 5}}]}',
              '{"request": {"principal": "arn:aws:iam::111122223333:user/a", "action": "s3:GetObject", '
              '"context": {"aws:SourceIp": "not-an-ip", "aws:EpochTime": ["1", {}]}}, "extra": 1}']
    lines = CORPUS.read_text() + "\n".join(broken) + "\n"
    command = ["-m", "iamkit", "simulate", "--jsonl", "-"]
    plain, compiled = _run(command, pure=True, stdin=lines), _run(command, pure=False, stdin=lines)
    assert plain.count("\n") == sum(1 for line in lines.splitlines() if line.strip())
    assert plain.count('"decision": null') >= len(broken)
    assert compiled == plain


FULL = """
import json, sys
import iamkit, iamkit.native as n
from iamkit import evaluate, load_scenario
out = [n.compiled()]
for line in sys.stdin:
    try:
        out.append(evaluate(load_scenario(json.loads(line))).to_dict())
    except Exception as exc:  # a bad scenario's message must agree too
        out.append(f"{type(exc).__name__}: {exc}")
print(json.dumps(out, sort_keys=True, default=str))
"""


@needs_build
@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is not here")
def test_compiled_and_plain_full_decisions_agree() -> None:
    # Every statement's trace, every condition's values, the steps and notes: what --json and the views read.
    lines = "".join(CORPUS.open().readlines()[::4])
    plain = json.loads(_run(["-c", FULL], pure=True, stdin=lines))
    compiled = json.loads(_run(["-c", FULL], pure=False, stdin=lines))
    assert (plain[0], compiled[0]) == (False, True)
    assert len(plain) > 400 and compiled[1:] == plain[1:]
