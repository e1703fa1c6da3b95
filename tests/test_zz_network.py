"""Runs last (file order): nothing in this test process tried to reach beyond loopback.

tests/conftest.py records every socket connection and name lookup of the whole run with an
audit hook; the sandbox's own guard and tests/test_no_network.py cover its subprocesses.
"""

from __future__ import annotations

from conftest import OFF_MACHINE


def test_no_connection_left_loopback_during_the_suite() -> None:
    assert OFF_MACHINE == []
