"""The account commands: can, permissions, who-can-assume, expand — exit codes and no tracebacks."""

from __future__ import annotations

import pytest

from conftest import CASES
from iamkit.cli import main
from iamkit.errors import EXIT_BAD_INPUT, EXIT_DENIED, EXIT_OK

EXPORT = str(CASES / "accounts" / "examplecorp.json")
REPORT = "arn:aws:s3:::amzn-s3-demo-bucket/reports/q3.csv"


def test_can_explains_with_provenance(capsys) -> None:
    assert main(["can", EXPORT, "alice", "s3:GetObject", REPORT]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith("ALLOWED: arn:aws:iam::111122223333:user/alice → s3:GetObject")
    assert "managed policy `ReadReports` attached to group `developers`" in out
    assert main(["can", EXPORT, "carol", "iam:CreateUser"]) == EXIT_DENIED
    assert "Implicitly denied: the permissions boundary does not allow the request." in capsys.readouterr().out


def test_can_takes_context(capsys) -> None:
    args = ["can", EXPORT, "bob", "sts:AssumeRole", "arn:aws:iam::111122223333:role/Deploy"]
    assert main(args) == EXIT_DENIED
    assert main([*args, "--context", "aws:MultiFactorAuthPresent=true"]) == EXIT_OK
    capsys.readouterr()
    assert main([*args, "--context", "oops"]) == EXIT_BAD_INPUT
    assert "`oops` is not KEY=VALUE" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (["can", "/no/such.json", "alice", "s3:GetObject"], "cannot read `/no/such.json`"),
    (["can", EXPORT, "alise", "s3:GetObject"], "hint: did you mean `alice`?"),
    (["can", EXPORT, "alice", "s3:Get*"], "is not a concrete action"),
    (["who-can-assume", EXPORT, "NoSuchRole"], "no user or role `role/NoSuchRole`"),
    (["can", "sandbox", "alice", "s3:GetObject"], "no sandbox endpoint"),
])
def test_bad_input_is_a_located_message(args, message, capsys, monkeypatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert main(args) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_permissions_lists_allowed_actions_with_the_deciding_statement(capsys) -> None:
    assert main(["permissions", EXPORT, "alice", "--service", "s3", "--resource", REPORT]) == EXIT_OK
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert any(line.startswith("s3:GetObject ") and "ReadReports" in line for line in lines)
    assert not any(line.startswith("s3:PutObject ") for line in lines)
    assert "actions allowed for arn:aws:iam::111122223333:user/alice" in captured.err


def test_who_can_assume(capsys) -> None:
    assert main(["who-can-assume", EXPORT, "PartnerAudit", "--context", "sts:ExternalId=partner-7f3a"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "✔ arn:aws:iam::444455556666:root: Allowed: Partner (trust policy `PartnerAudit`" in out
    assert "✖ arn:aws:iam::111122223333:user/alice: Implicitly denied: the trust policy does not allow" in out


def test_expand(capsys) -> None:
    assert main(["expand", "s3:GetObjectT*"]) == EXIT_OK
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["s3:GetObjectTagging", "s3:GetObjectTorrent"]
    assert out[0].split()[1] == "Read"
    assert main(["expand", "s3:GetObjekt"]) == EXIT_BAD_INPUT
    assert "did you mean `s3:GetObject`?" in capsys.readouterr().err
