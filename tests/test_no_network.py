"""Nothing leaves this machine: every connection of a sandbox session goes to loopback.

An audit hook records the destination of every ``socket.connect`` and ``socket.sendto``, and
every name looked up with ``socket.getaddrinfo``, in this process while a session runs
(boto3, assume-role, the credential report); a wrapper records the same in an ``aws`` command
subprocess. The tests fail if any destination is not ``127.0.0.0/8`` or ``::1``.

The guard is checked against TEST-NET addresses (RFC 5737, RFC 3849), which are never routed,
and AWS names: the audit hook fires before ``connect`` and before ``getaddrinfo``, so no packet
and no DNS query is ever sent.
"""

from __future__ import annotations

import ipaddress
import json
import os
import pathlib
import socket
import subprocess
import sys
from typing import Any, Iterator

import pytest

pytest.importorskip("moto.server")
pytest.importorskip("awscli")

from iamkit.sandbox import (  # noqa: E402
    SandboxError,
    current_sandbox,
    demo,
    guard_active,
    loopback_only,
    start_sandbox,
)

_recorded: list[tuple[int, Any]] | None = None


def _record(event: str, args: tuple[Any, ...]) -> None:
    if _recorded is None:
        return
    if event in ("socket.connect", "socket.sendto"):
        _recorded.append((getattr(args[0], "family", -1), args[-1]))
    elif event == "socket.getaddrinfo":  # a name lookup: the DNS query would leave the machine
        _recorded.append((LOOKUP, args[0]))


sys.addaudithook(_record)  # cannot be removed: it records only inside `recording()`


def recording() -> list[tuple[int, Any]]:
    """Start recording this process's connections; returns the list that fills up."""
    global _recorded
    _recorded = []
    return _recorded


def stop_recording() -> None:
    global _recorded
    _recorded = None


LOOKUP = -1  # the "family" of a recorded name lookup


def on_this_machine(family: int, address: Any) -> bool:
    """A loopback IP (127.0.0.0/8, ::1) or a lookup of one; a socket family that is not IP."""
    if family == LOOKUP:
        host = address.decode() if isinstance(address, bytes) else address
        if host in (None, "", "localhost"):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    if family not in (socket.AF_INET, socket.AF_INET6):
        return True
    return ipaddress.ip_address(str(address[0]).split("%", 1)[0]).is_loopback


# Runs `aws …` lines through awscli's driver, recording every connection it opens.
RECORDING_AWS = r"""
import json, shlex, sys
destinations = []
def record(event, args):
    if event in ("socket.connect", "socket.sendto"):
        address = args[-1]
        destinations.append([getattr(args[0], "family", -1), list(address) if isinstance(address, tuple) else address])
    elif event == "socket.getaddrinfo":
        host = args[0].decode() if isinstance(args[0], bytes) else args[0]
        destinations.append([-1, host])
sys.addaudithook(record)
from awscli.clidriver import create_clidriver
statuses = [create_clidriver().main(shlex.split(line)[1:]) for line in json.loads(sys.argv[2])]
with open(sys.argv[1], "w") as out:
    json.dump({"statuses": statuses, "destinations": destinations}, out)
"""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    before = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    running = current_sandbox()
    sb = running or start_sandbox(seed="demo")
    yield sb
    if running is None:
        sb.stop()
        assert {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"} == before


def test_a_sandbox_session_stays_on_this_machine(sandbox: Any) -> None:
    import boto3

    connections = recording()
    try:
        iam, sts = boto3.client("iam"), boto3.client("sts")
        iam.create_user(UserName="network-check")
        key = iam.create_access_key(UserName="network-check")["AccessKey"]
        iam.create_role(RoleName="network-check", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{sandbox.account_id}:root"},
                           "Action": "sts:AssumeRole"}]}))
        assert sts.get_caller_identity()["Account"] == sandbox.account_id
        credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{sandbox.account_id}:role/network-check",
                                      RoleSessionName="check")["Credentials"]
        as_role = boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"],
                                        aws_secret_access_key=credentials["SecretAccessKey"],
                                        aws_session_token=credentials["SessionToken"])
        assert as_role.client("sts").get_caller_identity()["Arn"].endswith("assumed-role/network-check/check")
        as_user = boto3.session.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
        as_user.client("iam").list_groups()
        assert "network-check" in demo.credential_report(iam)
        demo.authorization_details(iam, filter=["User", "Role"])
        sandbox.client("iam").list_users()
    finally:
        stop_recording()
    assert any(family != LOOKUP for family, _ in connections), "no connection at all: nothing was checked"
    leaving = [(family, address) for family, address in connections if not on_this_machine(family, address)]
    assert leaving == []


def test_the_aws_command_stays_on_this_machine(sandbox: Any, tmp_path: pathlib.Path) -> None:
    lines = [
        "aws sts get-caller-identity",
        "aws iam list-users",
        "aws iam create-role --role-name cli-network-check --assume-role-policy-document"
        f" '{{\"Version\": \"2012-10-17\", \"Statement\": [{{\"Effect\": \"Allow\", \"Principal\":"
        f" {{\"AWS\": \"arn:aws:iam::{sandbox.account_id}:root\"}}, \"Action\": \"sts:AssumeRole\"}}]}}'",
        f"aws sts assume-role --role-arn arn:aws:iam::{sandbox.account_id}:role/cli-network-check"
        " --role-session-name check",
        "aws iam generate-credential-report",
        "aws iam get-credential-report",
    ]
    log = tmp_path / "connections.json"
    done = subprocess.run([sys.executable, "-c", RECORDING_AWS, str(log), json.dumps(lines)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(log.read_text())
    assert result["statuses"] == [0] * len(lines), done.stderr
    assert any(d[0] != LOOKUP for d in result["destinations"]), "no connection at all: nothing was checked"
    leaving = [d for d in result["destinations"] if not on_this_machine(d[0], d[1])]
    assert leaving == []


def test_the_guard_refuses_addresses_off_this_machine(sandbox: Any) -> None:
    assert guard_active()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(SandboxError, match=r"refused a connection to `192\.0\.2\.1:443`") as caught:
            sock.connect(("192.0.2.1", 443))
    assert caught.value.hint is not None and "AWS_ENDPOINT_URL" in caught.value.hint
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        with pytest.raises(SandboxError):
            sock.sendto(b"x", ("198.51.100.7", 53))
    with pytest.raises(SandboxError, match=r"`iam\.amazonaws\.com:443`"):  # refused before the DNS query
        socket.getaddrinfo("iam.amazonaws.com", 443)
    with pytest.raises(SandboxError):
        socket.gethostbyname("sts.amazonaws.com")
    assert socket.getaddrinfo("localhost", 80)  # local names stay allowed
    if socket.has_ipv6:
        try:
            sock6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        except OSError:
            pass
        else:
            with sock6, pytest.raises(SandboxError):
                sock6.connect(("2001:db8::1", 443))
    # boto3 pointed away from the sandbox: the guard's error is what stopped it
    import boto3
    from botocore.config import Config

    client = boto3.session.Session().client("sts", endpoint_url="https://192.0.2.1",
                                            config=Config(retries={"max_attempts": 1}))
    with pytest.raises(Exception) as failed:
        client.get_caller_identity()
    chain, error = [], failed.value
    while error is not None:
        chain.append(error)
        error = getattr(error, "kwargs", {}).get("error") or error.__cause__ or error.__context__
    assert any(isinstance(e, SandboxError) for e in chain), chain


def test_the_guard_lets_loopback_through(sandbox: Any) -> None:
    port = int(sandbox.endpoint_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    with socket.create_connection(("localhost", port), timeout=5):
        pass


def test_loopback_only_nests_and_switches_off() -> None:
    outside = guard_active()
    with loopback_only():
        with loopback_only():
            assert guard_active()
        assert guard_active()
        with socket.socket() as sock, pytest.raises(SandboxError):
            sock.connect(("203.0.113.9", 80))
    assert guard_active() == outside
