"""The Zero to JupyterHub values and the learners' image: parsed, consistent, and checked against the chart's schema.

The chart's ``values.schema.json`` comes with the chart (``helm pull jupyterhub/jupyterhub --untar``);
no registry reachable from CI serves it, so the schema test runs when ``IAMKIT_Z2JH_SCHEMA`` names
that file (JSON, or the chart source's ``values.schema.yaml``) and is skipped otherwise.
"""

from __future__ import annotations

import os
import pathlib
import re
from typing import Any, Iterator

import jsonschema
import pytest
import yaml

from .hub import CLASSROOM, ROOT

Z2JH = CLASSROOM / "z2jh"
VALUES = yaml.safe_load((Z2JH / "values.yaml").read_text())


def leaves(values: Any, schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, Any, dict[str, Any] | None]]:
    """Every key path of ``values`` with its value and the schema that governs it (None: the schema has no such key).

    Descends while the schema lists ``properties``; a key under an object that allows any key
    (``additionalProperties: true`` or a pattern) is governed by that object's schema.
    """
    if not isinstance(values, dict) or "properties" not in schema:
        yield path, values, schema
        return
    for key, value in values.items():
        where = f"{path}.{key}" if path else key
        if key in schema["properties"]:
            yield from leaves(value, schema["properties"][key], where)
        elif schema.get("additionalProperties") is True or any(re.fullmatch(p, key) for p in schema.get("patternProperties", {})):
            yield where, value, {}
        else:
            yield where, value, None


def check(values: Any, schema: dict[str, Any]) -> list[str]:
    problems = []
    for path, value, governing in leaves(values, schema):
        if governing is None:
            problems.append(f"`{path}` is not a key of the chart's values schema")
            continue
        leaf = {k: v for k, v in governing.items() if k not in ("required", "properties", "additionalProperties")}
        try:
            jsonschema.validate(value, leaf)
        except jsonschema.ValidationError as error:
            problems.append(f"`{path}`: {error.message}")
    return problems


def test_the_checker_finds_a_misspelt_key_and_a_wrong_type() -> None:
    schema = {"type": "object", "properties": {"singleuser": {"type": "object", "additionalProperties": False, "properties": {
        "memory": {"type": "object", "properties": {"limit": {"type": ["number", "string", "null"]}}},
        "extraEnv": {"type": "object", "additionalProperties": True}}}}}
    assert check({"singleuser": {"memory": {"limit": "1G"}, "extraEnv": {"ANY": "1"}}}, schema) == []
    assert check({"singleuser": {"memroy": {"limit": "1G"}, "memory": {"limit": [1]}}}, schema) == [
        "`singleuser.memroy` is not a key of the chart's values schema",
        "`singleuser.memory.limit`: [1] is not of type 'number', 'string', 'null'"]


@pytest.mark.skipif(not os.environ.get("IAMKIT_Z2JH_SCHEMA"), reason="set IAMKIT_Z2JH_SCHEMA to the chart's values.schema.json")
def test_every_key_is_in_the_charts_schema() -> None:
    schema = yaml.safe_load(pathlib.Path(os.environ["IAMKIT_Z2JH_SCHEMA"]).read_text())  # JSON is YAML
    assert check(VALUES, schema) == []


def test_the_resources_are_the_measured_ones_and_consistent() -> None:
    def mebibytes(text: str) -> float:
        number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)([MG])", text).groups()
        return float(number) * {"M": 10**6, "G": 10**9}[unit] / 2**20

    memory, cpu = VALUES["singleuser"]["memory"], VALUES["singleuser"]["cpu"]
    assert 300 <= mebibytes(memory["guarantee"]) < mebibytes(memory["limit"]), \
        "the guarantee holds a server with one lesson's kernel and sandbox (about 305 MiB measured)"
    assert 0 < cpu["guarantee"] <= cpu["limit"]
    hook = VALUES["singleuser"]["lifecycleHooks"]["postStart"]["exec"]["command"]
    assert hook[1] == "/srv/iamkit/classroom/course.py" and "seed" in hook
    assert VALUES["hub"]["config"]["Authenticator"]["admin_users"], "a real class names its admins"


def test_the_image_installs_exactly_the_lock() -> None:
    dockerfile = (Z2JH / "Dockerfile").read_text()
    syncs = re.findall(r"uv sync [^\n]*", dockerfile)
    assert syncs and all("--locked" in line and "--extra classroom" in line for line in syncs)
    assert "uv lock" not in dockerfile and "pip install iamkit" not in dockerfile
    for source in re.findall(r"^COPY (.+) \S+$", dockerfile, re.MULTILINE):
        for path in source.split():
            assert (ROOT / path).exists(), f"the Dockerfile copies `{path}`, which is not in the repository"
