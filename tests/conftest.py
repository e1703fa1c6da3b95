"""Shared helpers for the test suite."""

from __future__ import annotations

import json
import pathlib
from typing import Any, Iterator

import pytest

CASES = pathlib.Path(__file__).parent / "cases"
ROOT = pathlib.Path(__file__).parent.parent
SHARED = ROOT.parent / "shared"


def load_cases(folder: str) -> Iterator[tuple[pathlib.Path, dict[str, Any]]]:
    """Every JSON case file of a folder under tests/cases, sorted by name."""
    for path in sorted((CASES / folder).glob("*.json")):
        yield path, json.loads(path.read_text())


def user_scenario(statement: dict[str, Any], context: dict[str, Any] | None = None,
                  version: str | None = "2012-10-17") -> dict[str, Any]:
    """alice asks for s3:GetObject; one identity policy holds ``statement``."""
    policy: dict[str, Any] = {"Statement": [statement]}
    if version is not None:
        policy["Version"] = version
    return {
        "id": "case",
        "request": {
            "principal": "arn:aws:iam::111122223333:user/alice",
            "action": "s3:GetObject",
            "resource": "arn:aws:s3:::amzn-s3-demo-bucket/report.csv",
            "context": context or {},
        },
        "identityPolicies": [policy],
    }


@pytest.fixture
def scenario_factory():
    """Build a one-statement scenario for alice (see :func:`user_scenario`)."""
    return user_scenario
