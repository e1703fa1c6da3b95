"""pyproject.toml, environment.yml and binder/ must agree, and follow repo2docker's rules."""

from __future__ import annotations

import os
import re

import pytest
import yaml

from conftest import ROOT

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

# conda-forge names for PyPI distributions that differ.
CONDA_NAME = {"graphviz": "python-graphviz"}


def _split(spec: str) -> tuple[str, str]:
    """``moto[server]>=5.1,<6`` → (``moto[server]``, ``>=5.1,<6``)."""
    name, constraint = re.match(r"^([A-Za-z0-9_.-]+(?:\[[a-z,]+\])?)\s*(.*)$", spec).groups()
    return name.lower(), constraint.replace(" ", "")


def requirements(extra: str) -> dict[str, str]:
    """The pins of an extra of pyproject.toml ("core": the dependencies themselves)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    out = {}
    specs = project["dependencies"] if extra == "core" else project["optional-dependencies"][extra]
    for spec in specs:
        if ";" in spec:  # only for some Pythons; conda pins one Python
            continue
        name, constraint = _split(spec)
        out[CONDA_NAME.get(name, name)] = constraint
    return out


def conda_dependencies(path) -> dict[str, str]:
    env = yaml.safe_load(path.read_text())
    assert env["channels"] == ["conda-forge"]
    out = {}
    for dep in env["dependencies"]:
        for item in dep["pip"] if isinstance(dep, dict) else [dep]:
            if item.startswith("-"):
                continue
            name, constraint = _split(item)
            out[name] = constraint
    return out


@pytest.mark.parametrize(("path", "extras"), [
    ("environment.yml", ["core", "workbook", "test"]),
    ("binder/environment.yml", ["core", "workbook"]),
])
def test_conda_environments_pin_what_pyproject_pins(path: str, extras: list[str]) -> None:
    conda = conda_dependencies(ROOT / path)
    for extra in extras:
        for name, constraint in requirements(extra).items():
            assert conda.get(name) == constraint, f"{path}: {name} should be {constraint!r}, is {conda.get(name)!r}"
    assert "graphviz" in conda, "the Graphviz program itself comes from conda-forge"
    python = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert python == ">=3.10"
    assert conda["python"] in (">=3.10", "=3.11")


def test_binder_follows_repo2docker() -> None:
    binder = ROOT / "binder"
    # Once binder/ exists repo2docker ignores the top level, so binder/ must be complete.
    assert {p.name for p in binder.iterdir()} == {"environment.yml", "postBuild"}
    post_build = binder / "postBuild"
    assert os.access(post_build, os.X_OK)
    text = post_build.read_text()
    assert text.startswith("#!/bin/bash") and "pip install --no-deps ." in text
