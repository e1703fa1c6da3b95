"""Shared helpers for the test suite."""

from __future__ import annotations

import ipaddress
import json
import pathlib
import socket
import sys
from typing import Any, Iterator

import pytest

CASES = pathlib.Path(__file__).parent / "cases"
ROOT = pathlib.Path(__file__).parent.parent
SHARED = ROOT.parent / "shared"


OFF_MACHINE: list[str] = []
"""Every connection or name lookup this test process attempted beyond loopback (see
tests/test_zz_network.py, which runs last and fails if there is any)."""


def _loopback(host: Any) -> bool:
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _refused_by_the_sandbox_guard() -> bool:
    sandbox = sys.modules.get("iamkit.sandbox")
    return bool(sandbox and sandbox.guard_active())


def _record_network(event: str, args: tuple[Any, ...]) -> None:
    if event not in ("socket.connect", "socket.getaddrinfo") or _refused_by_the_sandbox_guard():
        return  # the guard raises before anything is sent (tests/test_no_network.py checks it does)
    if event == "socket.connect":
        sock, address = args
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
            OFF_MACHINE.append(f"connect {address}")
    elif event == "socket.getaddrinfo" and not _loopback(args[0]):
        OFF_MACHINE.append(f"lookup {args[0]}")


sys.addaudithook(_record_network)


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
