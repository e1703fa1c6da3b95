"""The sandbox: real AWS commands, typed verbatim, against a local IAM and STS endpoint.

Each lesson runs twice: through boto3, and through the real ``aws`` command in a
subprocess. The commands are written exactly as a learner types them (``aws iam …``);
:func:`aws` runs a list of them in one subprocess through awscli's own driver
(``awscli.clidriver``, what the ``aws`` script calls), which saves the CLI's start-up time
per command. One test runs the ``aws`` script itself, as ``!aws`` in a notebook does.
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from typing import Any, Iterator

import pytest

pytest.importorskip("moto.server")
pytest.importorskip("awscli")
pyotp = pytest.importorskip("pyotp")

from iamkit.cli.sandbox import register as register_cli  # noqa: E402
from iamkit.sandbox import (  # noqa: E402
    ACCOUNT_ID,
    RootAccount,
    Sandbox,
    SandboxError,
    current_sandbox,
    demo,
    guard_active,
    set_root_account,
    start_sandbox,
)

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
LOCAL = ["User", "Role", "Group", "LocalManagedPolicy"]  # without the ~1,600 AWS managed policies
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                   "Action": "sts:AssumeRole"}],
}

# Runs `aws …` lines (JSON list on stdin) through awscli's driver; JSON results on stdout.
RUNNER = r"""
import contextlib, io, json, shlex, sys
from awscli.clidriver import create_clidriver
results = []
for line in json.load(sys.stdin):
    argv = shlex.split(line)
    assert argv[0] == "aws", line
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = create_clidriver().main(argv[1:])
    results.append({"status": status, "stdout": out.getvalue(), "stderr": err.getvalue()})
json.dump(results, sys.__stdout__)
"""


def aws(*lines: str, cwd: pathlib.Path | None = None) -> list[Any]:
    """Run ``aws …`` command lines, verbatim, with this process's environment.

    Returns:
        Each command's JSON output, parsed (None when it printed nothing).
    """
    done = subprocess.run([sys.executable, "-c", RUNNER], input=json.dumps(lines), capture_output=True,
                          text=True, cwd=cwd, timeout=120)
    assert done.returncode == 0, done.stderr
    outputs = []
    for line, result in zip(lines, json.loads(done.stdout), strict=True):
        assert result["status"] == 0, f"{line}\n{result['stderr']}"
        outputs.append(json.loads(result["stdout"]) if result["stdout"].strip() else None)
    return outputs


def environment() -> dict[str, str]:
    """os.environ, without what pytest itself changes between tests."""
    return {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}


@pytest.fixture(scope="module")
def environment_before() -> Iterator[dict[str, str]]:
    """The environment before the module's sandbox started; checked again after it stopped."""
    before = environment()
    yield before
    running = current_sandbox()
    if running is not None:
        running.stop()
    assert environment() == before


@pytest.fixture(scope="module")
def _module_sandbox(environment_before: dict[str, str]) -> None:
    start_sandbox(seed="demo")


@pytest.fixture
def sandbox(_module_sandbox: None) -> Sandbox:
    """The module's sandbox (started again, with the demo company, if a test stopped it)."""
    running = current_sandbox()
    return running if running is not None else start_sandbox(seed="demo")


# ---------------------------------------------------------------------------------------------
# Starting


def test_the_sandbox_sets_the_environment(sandbox: Sandbox) -> None:
    assert sandbox.endpoint_url.startswith("http://127.0.0.1:")
    assert os.environ["AWS_ENDPOINT_URL"] == sandbox.endpoint_url
    assert os.environ["AWS_ACCESS_KEY_ID"] == "AKIAIOSFODNN7EXAMPLE"
    assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"
    assert os.environ["AWS_PAGER"] == ""
    assert os.environ["AWS_EC2_METADATA_DISABLED"] == "true"
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
        assert name not in os.environ
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        assert pathlib.Path(os.environ[name]).read_text() == ""
    assert {k: os.environ[k] for k in sandbox.env} == sandbox.env
    if shutil.which("aws", path=os.path.dirname(sys.executable)):  # `!aws` runs this environment's aws
        assert shutil.which("aws") == os.path.join(os.path.dirname(sys.executable), "aws")
    assert sandbox.account_id == ACCOUNT_ID == "123456789012"
    assert guard_active()
    assert repr(sandbox) == f"<Sandbox {sandbox.endpoint_url} account 123456789012, seed demo>"


def test_starting_twice_returns_the_running_sandbox(sandbox: Sandbox) -> None:
    assert start_sandbox() is sandbox
    assert start_sandbox(seed="clean") is sandbox and sandbox.seeded == "demo"
    assert sandbox.start() is sandbox
    with pytest.raises(SandboxError, match="already running"):
        Sandbox().start()
    port = int(sandbox.endpoint_url.rsplit(":", 1)[1])
    with pytest.raises(SandboxError, match="already running"):
        start_sandbox(port=port + 1 if port < 65535 else port - 1)


def test_an_unknown_seed_suggests_the_right_one(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxError, match="unknown seed `dmeo`") as caught:
        sandbox.seed("dmeo")
    assert caught.value.hint == "did you mean `demo`?"


# ---------------------------------------------------------------------------------------------
# The demo company


def test_the_demo_company(sandbox: Sandbox) -> None:
    iam = sandbox.client("iam")
    details = demo.authorization_details(iam)
    users = {u["UserName"]: u for u in details["UserDetailList"]}
    assert sorted(users) == ["alice", "bob", "carol", "dave", "erin", "frank", "mallory"]
    assert users["alice"]["GroupList"] == ["developers"]
    assert {t["Key"]: t["Value"] for t in users["alice"]["Tags"]} == {"team": "platform", "project": "atlas"}
    groups = {g["GroupName"]: [p["PolicyArn"] for p in g["AttachedManagedPolicies"]] for g in details["GroupDetailList"]}
    assert groups == {
        "admins": ["arn:aws:iam::aws:policy/AdministratorAccess"],
        "developers": ["arn:aws:iam::aws:policy/PowerUserAccess"],
        "read-only": [READ_ONLY],
        "billing": ["arn:aws:iam::aws:policy/job-function/Billing"],
    }
    policies = {p["PolicyName"]: p for p in details["Policies"]}
    assert policies["ReadOnlyAccess"]["AttachmentCount"] == 2  # read-only and vendor-access
    assert {"BucketReader", "DeveloperBoundary", "ContractorFullAccess"} <= set(policies)
    roles = {r["RoleName"]: r for r in details["RoleDetailList"]}
    assert roles["app-server"]["InstanceProfileList"][0]["InstanceProfileName"] == "app-server"
    assert roles["developer-functions"]["PermissionsBoundary"]["PermissionsBoundaryArn"].endswith(
        ":policy/DeveloperBoundary")
    trust = roles["partner-audit"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": "examplecorp-7f3a9c"}}
    assert iam.list_account_aliases()["AccountAliases"] == ["examplecorp"]
    bob_key = iam.list_access_keys(UserName="bob")["AccessKeyMetadata"][0]
    assert bob_key["CreateDate"] == demo.DEMO_NOW - timedelta(days=200)
    assert "LastUsedDate" not in iam.get_role(RoleName="old-migration")["Role"].get("RoleLastUsed", {})
    summary = iam.get_account_summary()["SummaryMap"]
    assert (summary["AccountMFAEnabled"], summary["AccountAccessKeysPresent"]) == (0, 1)


def _findings(report: str, details: dict[str, Any]) -> set[tuple[str, str]]:
    """A small reference audit of the planted rules, evaluated at DEMO_NOW."""
    old = demo.DEMO_NOW - timedelta(days=90)
    found: set[tuple[str, str]] = set()
    for row in csv.DictReader(io.StringIO(report)):
        user = row["user"]
        active = [n for n in ("1", "2") if row[f"access_key_{n}_active"] == "true"]
        if user == "<root_account>":
            if active:
                found.add(("root-access-keys", user))
            if row["mfa_active"] == "false":
                found.add(("root-no-mfa", user))
        elif row["password_enabled"] == "true":
            if row["mfa_active"] == "false":
                found.add(("user-no-mfa", user))
            if row["password_last_used"] in ("no_information", "N/A"):
                found.add(("password-never-used", user))
        for n in active:
            if datetime.fromisoformat(row[f"access_key_{n}_last_rotated"]) < old:
                found.add(("access-key-old", user))
            if row[f"access_key_{n}_last_used_date"] == "N/A":
                found.add(("access-key-unused", user))
        if len(active) == 2:
            found.add(("access-keys-two-active", user))
    for user in details["UserDetailList"]:
        if user["AttachedManagedPolicies"]:
            found.add(("policy-attached-to-user", user["UserName"]))
        if user["UserPolicyList"]:
            found.add(("inline-policy", user["UserName"]))
    for policy in details["Policies"]:
        document = next(v["Document"] for v in policy["PolicyVersionList"] if v["IsDefaultVersion"])
        if any(s["Effect"] == "Allow" and s.get("Action") == "*" and s.get("Resource") == "*"
               for s in document["Statement"]):
            found.add(("admin-wildcard", policy["PolicyName"]))
    for role in details["RoleDetailList"]:
        for statement in role["AssumeRolePolicyDocument"]["Statement"]:
            principals = statement["Principal"].get("AWS", [])
            principals = [principals] if isinstance(principals, str) else principals
            if "*" in principals:
                found.add(("trust-wildcard-principal", role["RoleName"]))
            if any(p.endswith(":root") and f":{ACCOUNT_ID}:" not in p for p in principals) \
                    and not statement.get("Condition"):
                found.add(("trust-account-no-condition", role["RoleName"]))
            keys = {key for condition in statement.get("Condition", {}).values() for key in condition}
            if str(statement["Principal"].get("Federated", "")).endswith("/token.actions.githubusercontent.com") \
                    and "token.actions.githubusercontent.com:sub" not in keys:
                found.add(("trust-github-no-sub", role["RoleName"]))
        for inline in role["RolePolicyList"]:
            if any(s["Effect"] == "Allow" and "iam:PassRole" in s["Action"] and s["Resource"] == "*"
                   for s in inline["PolicyDocument"]["Statement"]):
                found.add(("broad-grant", role["RoleName"]))
        if not role.get("RoleLastUsed", {}).get("LastUsedDate") and role["CreateDate"] < old:
            found.add(("role-unused", role["RoleName"]))
    return found


def test_the_planted_mistakes_are_the_findings_and_seeding_is_deterministic(sandbox: Sandbox) -> None:
    assert {rule for rule, _ in demo.PLANTED_MISTAKES} == {
        "user-no-mfa", "access-key-old", "access-key-unused", "access-keys-two-active", "password-never-used",
        "policy-attached-to-user", "inline-policy", "admin-wildcard", "trust-wildcard-principal",
        "trust-account-no-condition", "role-unused", "root-access-keys", "root-no-mfa", "trust-github-no-sub",
        "broad-grant"}
    assert len(demo.PLANTED_MISTAKES) == len(set(demo.PLANTED_MISTAKES))
    iam = sandbox.client("iam")
    sandbox.seed("demo")
    details, report = demo.authorization_details(iam, filter=LOCAL), demo.credential_report(iam)
    assert _findings(report, details) == set(demo.PLANTED_MISTAKES)
    assert report.splitlines()[1].startswith("<root_account>,arn:aws:iam::123456789012:root,")

    sandbox.seed("clean")
    assert _findings(demo.credential_report(iam), demo.authorization_details(iam, filter=LOCAL)) == set()

    sandbox.seed("demo")  # moto's random ids are seeded too: identical, ids and dates included
    assert demo.authorization_details(iam, filter=LOCAL) == details
    assert demo.credential_report(iam) == report


# ---------------------------------------------------------------------------------------------
# The lessons, through the aws command


def test_users_groups_and_policies_with_the_aws_command(sandbox: Sandbox) -> None:
    created, *_, attached, groups = aws(
        "aws iam create-user --user-name learner",
        "aws iam create-group --group-name auditors",
        "aws iam add-user-to-group --user-name learner --group-name auditors",
        "aws iam attach-group-policy --group-name auditors --policy-arn arn:aws:iam::aws:policy/ReadOnlyAccess",
        "aws iam list-attached-group-policies --group-name auditors",
        "aws iam list-groups-for-user --user-name learner",
    )
    assert created["User"]["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/learner"
    assert attached["AttachedPolicies"] == [{"PolicyName": "ReadOnlyAccess", "PolicyArn": READ_ONLY}]
    assert [g["GroupName"] for g in groups["Groups"]] == ["auditors"]
    iam = sandbox.client("iam")
    assert [u["UserName"] for u in iam.get_group(GroupName="auditors")["Users"]] == ["learner"]


def test_roles_mfa_keys_and_sessions_with_the_aws_command(sandbox: Sandbox, tmp_path: pathlib.Path) -> None:
    (tmp_path / "trust.json").write_text(json.dumps(TRUST))
    role, _, _, device, key, caller, session = aws(
        "aws iam create-role --role-name lesson-role --assume-role-policy-document file://trust.json",
        "aws iam attach-role-policy --role-name lesson-role --policy-arn arn:aws:iam::aws:policy/ReadOnlyAccess",
        "aws iam create-user --user-name mfa-learner",
        "aws iam create-virtual-mfa-device --virtual-mfa-device-name mfa-learner"
        " --outfile seed.txt --bootstrap-method Base32StringSeed",
        "aws iam create-access-key --user-name mfa-learner",
        "aws sts get-caller-identity",
        f"aws sts assume-role --role-arn arn:aws:iam::{ACCOUNT_ID}:role/lesson-role --role-session-name lesson",
        cwd=tmp_path)
    assert role["Role"]["AssumeRolePolicyDocument"] == TRUST
    assert caller["Account"] == ACCOUNT_ID
    assert session["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/lesson-role/lesson"
    assert session["Credentials"]["AccessKeyId"].startswith("ASIA")
    assert key["AccessKey"]["Status"] == "Active" and key["AccessKey"]["AccessKeyId"].startswith("AKIA")

    serial = device["VirtualMFADevice"]["SerialNumber"]
    assert serial == f"arn:aws:iam::{ACCOUNT_ID}:mfa/mfa-learner"
    seed = (tmp_path / "seed.txt").read_text().strip()
    now = datetime.now()
    code1, code2 = pyotp.TOTP(seed).at(now - timedelta(seconds=30)), pyotp.TOTP(seed).at(now)
    assert demo.mfa_codes(seed, now) == (code1, code2)
    _, devices, keys = aws(
        f"aws iam enable-mfa-device --user-name mfa-learner --serial-number {serial}"
        f" --authentication-code1 {code1} --authentication-code2 {code2}",
        "aws iam list-mfa-devices --user-name mfa-learner",
        "aws iam list-access-keys --user-name mfa-learner")
    assert [d["SerialNumber"] for d in devices["MFADevices"]] == [serial]
    assert [k["AccessKeyId"] for k in keys["AccessKeyMetadata"]] == [key["AccessKey"]["AccessKeyId"]]


def test_reports_with_the_aws_command(sandbox: Sandbox) -> None:
    _, report, details, summary, roles = aws(
        "aws iam generate-credential-report",
        "aws iam get-credential-report",
        "aws iam get-account-authorization-details --filter User Role Group LocalManagedPolicy",
        "aws iam get-account-summary",
        "aws iam list-roles --query 'Roles[].RoleName'")
    rows = list(csv.DictReader(io.StringIO(base64.b64decode(report["Content"]).decode())))
    assert rows[0]["user"] == "<root_account>"
    assert {"alice", "bob", "carol"} <= {row["user"] for row in rows}
    assert {"UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"} <= set(details)
    assert "app-server" in [r["RoleName"] for r in details["RoleDetailList"]]
    assert (summary["SummaryMap"]["AccountMFAEnabled"], summary["SummaryMap"]["AccountAccessKeysPresent"]) == (0, 1)
    assert "partner-audit" in roles


def test_the_aws_script_itself(sandbox: Sandbox) -> None:
    if shutil.which("aws", path=os.path.dirname(sys.executable)) is None:
        pytest.skip("no aws script next to this Python")
    done = subprocess.run("aws sts get-caller-identity --query Account --output text",  # as `!aws …` runs it
                          shell=True, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, ACCOUNT_ID), done.stderr


def test_what_moto_lacks_fails_fast_and_says_so(sandbox: Sandbox) -> None:
    policy = json.dumps({"Version": "2012-10-17", "Statement": []})
    done = subprocess.run([sys.executable, "-m", "awscli", "iam", "simulate-custom-policy",
                           "--policy-input-list", policy, "--action-names", "s3:GetObject"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "NotImplemented" in done.stderr and "iamkit.simulate_custom_policy" in done.stderr
    assert "max retries" not in done.stderr


# ---------------------------------------------------------------------------------------------
# The same lessons through boto3


def test_the_lessons_through_boto3(sandbox: Sandbox) -> None:
    import boto3

    iam = boto3.client("iam")  # the environment points the default session at the sandbox
    assert iam.meta.endpoint_url == sandbox.endpoint_url
    iam.create_user(UserName="boto-learner")
    iam.create_group(GroupName="boto-auditors")
    iam.add_user_to_group(GroupName="boto-auditors", UserName="boto-learner")
    iam.attach_group_policy(GroupName="boto-auditors", PolicyArn=READ_ONLY)
    role = iam.create_role(RoleName="boto-role", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="boto-learner")["VirtualMFADevice"]
    totp = pyotp.TOTP(device["Base32StringSeed"].decode())
    now = datetime.now()
    iam.enable_mfa_device(UserName="boto-learner", SerialNumber=device["SerialNumber"],
                          AuthenticationCode1=totp.at(now - timedelta(seconds=30)), AuthenticationCode2=totp.at(now))
    key = iam.create_access_key(UserName="boto-learner")["AccessKey"]

    assert iam.list_attached_group_policies(GroupName="boto-auditors")["AttachedPolicies"][0]["PolicyArn"] == READ_ONLY
    assert iam.list_mfa_devices(UserName="boto-learner")["MFADevices"][0]["SerialNumber"] == device["SerialNumber"]
    assert iam.get_policy(PolicyArn=READ_ONLY)["Policy"]["PolicyName"] == "ReadOnlyAccess"

    sts = boto3.client("sts")
    assert sts.get_caller_identity()["Account"] == ACCOUNT_ID
    as_learner = boto3.session.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    assert as_learner.client("sts").get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/boto-learner"
    credentials = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="boto")["Credentials"]
    as_role = boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"],
                                    aws_secret_access_key=credentials["SecretAccessKey"],
                                    aws_session_token=credentials["SessionToken"])
    assert as_role.client("sts").get_caller_identity()["Arn"].endswith(":assumed-role/boto-role/boto")


def test_sandbox_client_ignores_the_environment(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert sandbox.client("iam").meta.endpoint_url == sandbox.endpoint_url
    assert sandbox.client("sts").get_caller_identity()["Account"] == ACCOUNT_ID


def test_reset_empties_the_account(sandbox: Sandbox) -> None:
    iam = sandbox.client("iam")
    sandbox.reset()
    assert sandbox.seeded is None
    assert iam.list_users()["Users"] == []
    assert iam.list_groups()["Groups"] == []
    assert iam.list_roles()["Roles"] == []
    assert iam.list_policies(Scope="Local")["Policies"] == []
    assert iam.get_policy(PolicyArn=READ_ONLY)["Policy"]["PolicyName"] == "ReadOnlyAccess"  # AWS's stay
    rows = list(csv.DictReader(io.StringIO(demo.credential_report(iam))))
    assert [r["user"] for r in rows] == ["<root_account>"]
    assert (rows[0]["mfa_active"], rows[0]["access_key_1_active"]) == ("false", "false")


# ---------------------------------------------------------------------------------------------
# The command line, and stopping


def test_iamkit_sandbox_start_prints_the_exports(environment_before: dict[str, str]) -> None:
    running = current_sandbox()
    if running is not None:
        running.stop()
    parser = argparse.ArgumentParser(prog="iamkit")
    register_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["sandbox", "start", "--seed", "clean"])
    out = io.StringIO()
    seen: dict[str, Any] = {}

    def interrupted() -> None:  # the foreground wait, interrupted as by Ctrl+C
        running = current_sandbox()
        assert running is not None
        seen["users"] = len(running.client("iam").list_users()["Users"])
        raise KeyboardInterrupt

    assert args.run(args, out=out, wait=interrupted) == 0
    text = out.getvalue()
    assert "export AWS_ENDPOINT_URL=http://127.0.0.1:" in text
    assert "export AWS_PAGER=''" in text
    assert "unset AWS_SESSION_TOKEN" in text and "press Ctrl+C to stop" in text
    assert seen["users"] == 7
    assert current_sandbox() is None
    assert environment() == environment_before


def test_a_taken_port_is_a_clear_error(environment_before: dict[str, str]) -> None:
    running = current_sandbox()
    if running is not None:
        running.stop()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SandboxError, match=f"port `{port}` is already in use") as caught:
            start_sandbox(port=port)
    assert caught.value.hint is not None and "port" in caught.value.hint
    assert current_sandbox() is None and not guard_active()
    assert environment() == environment_before


def test_stop_restores_the_environment_exactly(environment_before: dict[str, str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    running = current_sandbox()
    if running is not None:
        running.stop()
    assert environment() == environment_before
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token")
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", "https://iam.example.com")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    before = environment()
    with Sandbox() as sb:
        assert current_sandbox() is sb
        assert "AWS_PROFILE" not in os.environ and "AWS_ENDPOINT_URL_IAM" not in os.environ
        assert sb.client("iam").list_users()["Users"] == []
    assert environment() == before
    assert current_sandbox() is None and not guard_active()
    with pytest.raises(SandboxError, match="not running"):
        sb.endpoint_url  # noqa: B018


@pytest.mark.parametrize("step", ["_put_aws_on_path", "_swap_boto3_session", "reset"])
def test_an_interrupt_while_starting_undoes_the_start(step: str, environment_before: dict[str, str],
                                                      tmp_path: pathlib.Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # Jupyter's "interrupt the kernel" is a KeyboardInterrupt wherever the lesson's cell is.
    running = current_sandbox()
    if running is not None:
        running.stop()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Sandbox, step, interrupted)
    sb = Sandbox()
    with pytest.raises(KeyboardInterrupt):
        sb.start()
    assert not sb.running and current_sandbox() is None and not guard_active()
    assert environment() == environment_before
    assert _sandbox_folders(tmp_path) == []
    monkeypatch.undo()
    with Sandbox() as again:  # nothing was left behind to get in its way
        assert again.client("iam").list_users()["Users"] == []


@pytest.mark.parametrize("port", ["70000", "-1", "http"])
def test_a_port_that_is_not_one_is_a_clear_error(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="iamkit")
    register_cli(parser.add_subparsers(dest="command"))
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["sandbox", "start", "--port", port])
    assert exited.value.code == 2
    assert f"argument --port: `{port}` is not a port: give a number from 1 to 65535" in capsys.readouterr().err
    with pytest.raises(SandboxError, match="`70000` is not a port") as caught:
        Sandbox(port=70000)
    assert caught.value.hint == "give a number from 1 to 65535, or 0 for a free one"


# ---------------------------------------------------------------------------------------------
# Its files: removed on every way out


def _sandbox_folders(tmp: pathlib.Path) -> list[pathlib.Path]:
    return sorted(tmp.glob("iamkit-sandbox-*"))


def _start_child(tmp: pathlib.Path, *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, *argv], env={**os.environ, "TMPDIR": str(tmp)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _until_a_folder(tmp: pathlib.Path, child: subprocess.Popen[str]) -> pathlib.Path:
    for _ in range(1200):
        found = _sandbox_folders(tmp)
        if found:
            return found[0]
        assert child.poll() is None, child.communicate()
        time.sleep(0.05)
    pytest.fail("the sandbox made no folder within a minute")


def test_a_sandbox_killed_before_its_banner_removes_its_folder(tmp_path: pathlib.Path) -> None:
    child = _start_child(tmp_path, "-m", "iamkit", "sandbox", "start", "--seed", "demo")
    _until_a_folder(tmp_path, child)
    child.send_signal(signal.SIGTERM)  # while the demo company loads: no banner yet
    out, err = child.communicate(timeout=60)
    assert "# iamkit sandbox:" not in out and "# sandbox stopped" in out
    assert child.returncode == 0, err
    assert _sandbox_folders(tmp_path) == []


def test_the_folder_of_a_sandbox_killed_outright_is_removed_by_its_watcher(tmp_path: pathlib.Path) -> None:
    child = _start_child(tmp_path, "-m", "iamkit", "sandbox", "start")
    _until_a_folder(tmp_path, child)
    child.kill()  # SIGKILL, as a kernel shut down "now": no clean-up code runs in it
    child.communicate(timeout=60)
    for _ in range(200):
        if not _sandbox_folders(tmp_path):
            break
        time.sleep(0.05)
    assert _sandbox_folders(tmp_path) == []


def test_the_workdir_is_removed_when_the_sandbox_stops_or_the_process_exits(tmp_path: pathlib.Path) -> None:
    running = current_sandbox()
    if running is not None:
        running.stop()
    with Sandbox() as sb:
        seed = sb.workdir / "carol.seed"
        seed.write_text("JBSWY3DPEHPK3PXP")
        folder = sb.workdir.parent
    assert not folder.exists()
    with pytest.raises(SandboxError, match="not running"):
        sb.workdir  # noqa: B018
    lesson = ("import iamkit\n"
              "sandbox = iamkit.start_sandbox()\n"
              "(sandbox.workdir / 'carol.seed').write_text('JBSWY3DPEHPK3PXP')\n"
              "print(sandbox.workdir)\n")  # and the kernel exits without stopping the sandbox
    done = subprocess.run([sys.executable, "-c", lesson], env={**os.environ, "TMPDIR": str(tmp_path)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(str(tmp_path))
    assert _sandbox_folders(tmp_path) == []


@pytest.mark.parametrize("lesson", ["10-mfa.ipynb", "11-capstone.ipynb"])
def test_the_lessons_keep_their_files_in_the_sandbox_workdir(lesson: str) -> None:
    cells = json.loads((pathlib.Path(__file__).parent.parent / "notebooks" / lesson).read_text())["cells"]
    code = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]
    assert any(line.startswith("workdir = sandbox.workdir") for line in code[0].splitlines())
    for made_here in ("mkdtemp", "mkstemp", "TemporaryDirectory", "NamedTemporaryFile"):
        assert not any(made_here in source for source in code), made_here  # a folder the sandbox would not remove


def test_in_the_browser_edition_the_sandbox_says_where_to_go(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pyodide (JupyterLite) reports sys.platform "emscripten"; no local endpoint can run there.
    monkeypatch.setattr(sys, "platform", "emscripten")
    with pytest.raises(SandboxError, match="cannot run in the browser edition") as caught:
        set_root_account(RootAccount(created=datetime(2026, 1, 1)))
    assert "./scripts/workbook" in caught.value.hint and "06" in caught.value.hint
