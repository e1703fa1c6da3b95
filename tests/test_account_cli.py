"""The account commands: can, permissions, who-can-assume, expand — exit codes and no tracebacks."""

from __future__ import annotations

import json
import pathlib

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
    (["who-can-assume", EXPORT, "NoSuchRole"], "no role `NoSuchRole` in account 111122223333 — hint: give a role of "
                                               "the account: `AppServer`, `Deploy`, `PartnerAudit`"),
    (["who-can-assume", EXPORT, "Deploi"], "no role `Deploi` in account 111122223333 — hint: did you mean `Deploy`?"),
    (["who-can-assume", EXPORT, "arn:aws:iam::111122223333:user/bob"],
     "`arn:aws:iam::111122223333:user/bob` is a user, not a role — hint: give a role of the account: `AppServer`"),
    (["who-can-assume", EXPORT, "bob"], "`bob` is a user, not a role"),
    (["who-can-assume", EXPORT, "arn:aws:iam::111122223333:group/admins"], "`arn:aws:iam::111122223333:group/admins` "
     "is a group, not a user or role — hint: a group is not a principal: its policies apply to its members, such as "
     "`bob`"),
    (["can", EXPORT, "group/developers", "s3:GetObject"], "`group/developers` is a group, not a user or role"),
    (["permissions", EXPORT, "arn:aws:iam::111122223333:group/developers"], "is a group, not a user or role"),
    # Another account's ARN is none of this account's principals, though a name matches:
    (["can", EXPORT, "arn:aws:iam::999999999999:user/alice", "s3:GetObject"],
     "`arn:aws:iam::999999999999:user/alice` is in account 999999999999, not in account 111122223333 — hint: "),
    (["who-can-assume", EXPORT, "arn:aws:iam::999999999999:role/Deploy"], "is in account 999999999999"),
    (["can", EXPORT, "arn:", "s3:GetObject"], "no user or role `arn:` in account 111122223333"),
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


def _export(tmp_path, change) -> str:
    """The example export, changed by ``change(data)``, written to a file."""
    data = json.loads(open(EXPORT).read())
    change(data)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(data))
    return str(path)


def _drop_boundary(data) -> None:
    data["Policies"] = [p for p in data["Policies"] if p["PolicyName"] != "DeveloperBoundary"]


# A permissions boundary the export names but lacks is not "no boundary": no command answers as if it were
# (https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUserPermissionsBoundary.html: removing one
# "might increase its permissions"). AWS says nothing of such an export, so the commands fail closed.
@pytest.mark.parametrize("command", [
    ["can", "{}", "carol", "iam:CreateUser"],
    ["permissions", "{}", "carol", "--service", "iam"],
])
def test_a_missing_boundary_is_an_error_naming_the_user_and_the_policy(command, tmp_path, capsys) -> None:
    path = _export(tmp_path, _drop_boundary)
    assert main([part.format(path) for part in command]) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert "cannot evaluate user `carol`: its permissions boundary " \
           "`arn:aws:iam::111122223333:policy/DeveloperBoundary` is not in the export — hint: " in captured.err
    assert captured.out == "" and "Traceback" not in captured.err


def test_who_can_assume_answers_the_others_and_marks_who_it_cannot(tmp_path, capsys) -> None:
    path = _export(tmp_path, _drop_boundary)
    assert main(["who-can-assume", path, "Deploy", "--context", "aws:MultiFactorAuthPresent=true"]) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert "✔ arn:aws:iam::111122223333:user/bob: Allowed: " in captured.out and len(lines) == 5
    assert lines[-1].startswith("? arn:aws:iam::111122223333:user/contractors/carol: unknown: cannot evaluate user "
                                "`carol`: its permissions boundary `arn:aws:iam::111122223333:policy/DeveloperBoundary` "
                                "is not in the export — hint: ")
    assert "1 of 5 candidates could not be evaluated, so the answer is incomplete" in captured.err
    assert "Traceback" not in captured.err


def test_a_missing_group_is_an_error(tmp_path, capsys) -> None:
    path = _export(tmp_path, lambda data: data["UserDetailList"][0]["GroupList"].append("quarantine"))
    assert main(["can", path, "alice", "s3:GetObject", REPORT]) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert "cannot evaluate user `alice`: its group `quarantine` is not in the export" in captured.err
    assert "ALLOWED" not in captured.out


def test_the_export_s_problems_are_printed_as_warnings(tmp_path, capsys) -> None:
    def break_team_prefix(data) -> None:
        data["GroupDetailList"][0]["GroupPolicyList"][0]["PolicyDocument"] = {"Statement": [{"Effect": "Maybe"}]}

    path = _export(tmp_path, break_team_prefix)
    warning = f"{path}: warning: group/developers/TeamPrefix.Statement[0].Effect: `Effect` must be `Allow` or `Deny`"
    # alice is in `developers`: iamkit cannot answer for her without the policy, and says why.
    for command in (["can", path, "alice", "s3:GetObject", REPORT], ["permissions", path, "alice", "--service", "s3"]):
        assert main(command) == EXIT_BAD_INPUT, command
        captured = capsys.readouterr()
        assert warning in captured.err and captured.out == "", command
        assert "cannot evaluate user `alice`: iamkit cannot read a policy AWS would consult" in captured.err
    assert main(["who-can-assume", path, "Deploy"]) == EXIT_BAD_INPUT  # the others answered, alice marked unknown
    captured = capsys.readouterr()
    assert warning in captured.err and "✖ arn:aws:iam::111122223333:user/bob: " in captured.out
    assert "? arn:aws:iam::111122223333:user/alice: unknown: cannot evaluate user `alice`: iamkit cannot read a " \
           "policy AWS would consult" in captured.out
    # bob is not: his answer stands (the policy is not his, so it is not read for him).
    assert main(["can", path, "bob", "s3:GetObject", REPORT]) == EXIT_OK


@pytest.mark.parametrize(("pattern", "message"), [
    ("s3", "iamkit: `s3` is a service, not an action — hint: did you mean `s3:*`, every action of the service?"),
    ("nosuch", "iamkit: `nosuch` has no service prefix — hint: write `service:Action`, such as `s3:Get*`"),
    ("s*:Get*", "iamkit: `s*:Get*` has a wildcard in its service prefix, which AWS does not accept"),
])
def test_expand_a_pattern_aws_would_reject_is_a_message(pattern, message, capsys) -> None:
    # An Action entry is `service:action`, a wildcard only in the action part:
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    assert main(["expand", pattern, "s3:GetObjectT*"]) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err
    assert [line.split()[0] for line in captured.out.splitlines()] == ["s3:GetObjectTagging", "s3:GetObjectTorrent"]


@pytest.mark.parametrize("command", [["can", "{}", "alice", "s3:GetObject"], ["permissions", "{}", "alice"],
                                     ["who-can-assume", "{}", "Deploy"], ["audit", "{}"]])
@pytest.mark.parametrize("content", ["{}", "[1]", '{"Users": []}', "[]"])
def test_not_an_export_names_the_file(command, content, tmp_path, capsys) -> None:
    path = tmp_path / "notes.json"
    path.write_text(content)
    assert main([part.format(path) for part in command]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith(f"iamkit: `{path}`: not a get-account-authorization-details export: expected "
                          "`UserDetailList`, `GroupDetailList`, `RoleDetailList` or `Policies` — hint: write one with "
                          "`aws iam get-account-authorization-details > export.json`")


@pytest.mark.parametrize(("service", "message"), [
    ("s33", "iamkit: no service `s33` in the action catalog — hint: did you mean `s3`?"),
    ("nosuch", "iamkit: no service `nosuch` in the action catalog — hint: give a service prefix, such as `s3`"),
])
def test_permissions_for_an_unknown_service_is_bad_input(service, message, capsys) -> None:
    assert main(["permissions", EXPORT, "alice", "--service", service]) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


@pytest.mark.parametrize("holder", ["managed", "inline"])
def test_a_policy_document_that_is_not_json_is_located_in_the_export(holder, tmp_path, capsys) -> None:
    # The API returns documents as URL-encoded JSON text
    # (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html);
    # one that does not parse is named by where it sits in the export, not as `$`.
    export = json.loads(pathlib.Path(EXPORT).read_text())
    broken = '{"Version": "2012-10-17", "Statement": [{'
    if holder == "managed":
        export["Policies"][0]["PolicyVersionList"][1]["Document"] = broken
        path = "Policies.ReadReports.PolicyVersionList.v2.Document"
    else:
        alice = next(u for u in export["UserDetailList"] if u["UserName"] == "alice")
        alice["UserPolicyList"] = [{"PolicyName": "scratch", "PolicyDocument": broken}]
        path = "UserDetailList.alice.UserPolicyList.scratch.PolicyDocument"
    bad = tmp_path / "export.json"
    bad.write_text(json.dumps(export))
    assert main(["can", str(bad), "alice", "s3:GetObject"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert f"error: {path}: not valid JSON" in err and "of the document's text" in err and "mangles" not in err
