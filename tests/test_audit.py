"""The best-practice audit (iamkit.analysis.audit): every rule, its principal, severity and fix command.

Cases live in tests/cases/audit/: a messy account that breaks every rule once or twice (with
look-alikes that must not be flagged), a clean account, and a credential report with malformed
rows. Sources: AWS's IAM security best practices
(https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html), the root user best
practices (https://docs.aws.amazon.com/accounts/latest/reference/best-practices-root-user.html)
and the credential report's format
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html).
"""

from __future__ import annotations

import argparse
import base64
import json
import shlex
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from conftest import CASES, ROOT
from iamkit import IamkitError
from iamkit.account import Account
from iamkit.analysis.audit import (
    KEY_MAX_AGE_DAYS,
    NEW_KEY_GRACE_DAYS,
    RULES,
    UNUSED_DAYS,
    AuditError,
    audit,
)
from iamkit.analysis.credential_report import parse_credential_report
from iamkit.analysis.report import SEVERITIES, AuditReport, Finding
from iamkit.cli.audit import register as register_cli

AUDIT = CASES / "audit"
EXPECTED = json.loads((AUDIT / "messy-expected.json").read_text())
NOW = datetime.fromisoformat(EXPECTED["now"])
HEADER = (AUDIT / "clean-credential-report.csv").read_text().splitlines()[0]
ACCOUNT_ID = "111122223333"


def _account(name: str) -> Account:
    return Account.from_file(AUDIT / f"{name}-export.json")


def _csv(name: str) -> str:
    return (AUDIT / f"{name}-credential-report.csv").read_text()


@pytest.fixture(scope="module")
def messy() -> AuditReport:
    return audit(_account("messy"), _csv("messy"), now=NOW)


@pytest.fixture(scope="module")
def clean() -> AuditReport:
    return audit(_account("clean"), _csv("clean"), now=NOW)


def _row(user: str, *, password: str = "false", password_last_used: str = "N/A", mfa: str = "false",
         key1: tuple[str, str, str] = ("false", "N/A", "N/A"), key2: tuple[str, str, str] = ("false", "N/A", "N/A"),
         created: str = "2023-01-10T09:00:00+00:00") -> str:
    """One credential-report line in AWS's 22 columns."""
    arn = f"arn:aws:iam::{ACCOUNT_ID}:root" if user == "<root_account>" else f"arn:aws:iam::{ACCOUNT_ID}:user/{user}"
    return ",".join([user, arn, created, password, password_last_used, "N/A", "N/A", mfa,
                     key1[0], key1[1], key1[2], "N/A", "N/A", key2[0], key2[1], key2[2], "N/A", "N/A",
                     "false", "N/A", "false", "N/A"])


def _report(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def _ago(days: int) -> str:
    return (NOW - timedelta(days=days)).isoformat()


EMPTY = Account.from_authorization_details({"UserDetailList": []}, ACCOUNT_ID)


# ── every rule, on the messy account ──────────────────────────────────────────


def test_messy_account_yields_exactly_the_expected_findings(messy: AuditReport) -> None:
    got = sorted((f.rule, f.principal) for f in messy)
    want = sorted((f["rule"], f["principal"]) for f in EXPECTED["findings"])
    assert got == want, messy.explain()
    assert messy.problems == ()


def test_every_rule_is_planted_in_the_messy_account() -> None:
    assert {f["rule"] for f in EXPECTED["findings"]} == set(RULES)


@pytest.mark.parametrize("case", EXPECTED["findings"], ids=lambda c: f"{c['rule']}:{c['principal'].rsplit('/', 1)[-1]}")
def test_each_finding_has_its_principal_severity_and_fix(messy: AuditReport, case: dict[str, Any]) -> None:
    matches = [f for f in messy if f.rule == case["rule"] and f.principal == case["principal"]]
    assert len(matches) == 1, messy.explain()
    finding = matches[0]
    assert finding.severity == case["severity"] == RULES[case["rule"]].severity
    for fragment in case["fix"]:
        assert fragment in finding.fix, finding.fix
    assert finding.why == RULES[finding.rule].why and finding.docs == RULES[finding.rule].docs
    assert finding.docs.startswith("https://docs.aws.amazon.com/")
    assert finding.title and finding.evidence
    json.dumps(finding.evidence)  # JSON-ready


def test_the_clean_account_yields_an_empty_report(clean: AuditReport) -> None:
    assert len(clean) == 0 and list(clean) == [] and clean.findings == ()
    assert clean.problems == () and clean.notes == ()
    assert "no findings" in clean.explain()
    assert clean.to_dict()["findings"] == []
    assert clean.counts() == dict.fromkeys(SEVERITIES, 0)
    assert repr(clean) == f"<AuditReport account {ACCOUNT_ID}: no findings>"


def test_look_alikes_are_not_flagged(messy: AuditReport) -> None:
    names = {f.name for f in messy}
    # alice is fine; frank's key is 4 days old; grace's admin-shaped policy is only her permissions
    # boundary; AWS managed AdministratorAccess is AWS's own; the service-linked role is AWS's;
    # the trusts with sts:ExternalId / aws:PrincipalOrgID or the account's own root are fine.
    for name in ("alice", "frank", "grace", "DeveloperBoundary", "AdministratorAccess", "AWSServiceRoleForSupport",
                 "partner-audit", "org-readers", "same-account", "new-pipeline", "app-server"):
        assert name not in names
    # Inline policies on groups and roles are not `inline-policy` findings.
    assert [f.name for f in messy if f.rule == "inline-policy"] == ["carol"]


def test_findings_are_sorted_and_deterministic(messy: AuditReport) -> None:
    order = [(SEVERITIES.index(f.severity), f.rule, f.principal, f.title) for f in messy]
    assert order == sorted(order)
    again = audit(_account("messy"), _csv("messy"), now=NOW)
    assert again.to_json() == messy.to_json()


def test_evidence_holds_the_facts_that_triggered_the_finding(messy: AuditReport) -> None:
    old = next(f for f in messy if f.rule == "access-key-old" and f.name == "dave")
    assert old.evidence["access_key"] == 1
    assert old.evidence["last_rotated"] == "2023-01-10T09:00:00+00:00"
    assert old.evidence["age_days"] == 507 and old.evidence["max_age_days"] == KEY_MAX_AGE_DAYS
    unused = next(f for f in messy if f.rule == "access-key-unused" and f.name == "erin")
    assert unused.evidence["unused_days"] == 120 and unused.evidence["last_used"] == "2024-02-01T09:00:00+00:00"
    never = next(f for f in messy if f.rule == "access-key-unused" and f.name == "dave")
    assert never.evidence["access_key"] == 2 and never.evidence["last_used"] == "N/A"
    trust = next(f for f in messy if f.rule == "trust-account-no-condition")
    assert trust.evidence["accounts"] == ["777788889999"]
    admin = next(f for f in messy if f.rule == "admin-wildcard" and f.name == "EverythingPolicy")
    assert admin.evidence["attached_to"] == ["group/admins"] and admin.evidence["statement"] == "Everything"
    role = next(f for f in messy if f.rule == "role-unused" and f.name == "old-migration")
    assert role.evidence["last_used"] is None and role.evidence["age_days"] == 516


def test_trust_fixes_are_the_roles_own_policy_with_a_condition(messy: AuditReport) -> None:
    finding = next(f for f in messy if f.rule == "trust-account-no-condition")
    command = finding.fix.splitlines()[0]
    document = json.loads(command.split("--policy-document ", 1)[1].strip("'"))
    statement = document["Statement"][0]
    assert statement["Principal"] == {"AWS": "777788889999"}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": "EXTERNAL_ID"}}


# ── broad grants: what `iamkit lint` rates high ───────────────────────────────
# AWS: "grant only the permissions required to perform a task"
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege); with
# NotAction, "all of the applicable actions or services that are not listed are allowed if you use the
# Allow effect" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html).


def _holding(document: dict[str, Any]) -> Account:
    """An account whose group `ops` holds the document twice: as a managed and an inline policy."""
    arn = f"arn:aws:iam::{ACCOUNT_ID}:policy/Ops"
    details = {
        "UserDetailList": [],
        "GroupDetailList": [{"GroupName": "ops", "GroupId": "AGPAOPS", "Arn": f"arn:aws:iam::{ACCOUNT_ID}:group/ops",
                             "Path": "/", "CreateDate": "2023-01-10T09:00:00+00:00",
                             "AttachedManagedPolicies": [{"PolicyName": "Ops", "PolicyArn": arn}],
                             "GroupPolicyList": [{"PolicyName": "OpsInline", "PolicyDocument": document}]}],
        "RoleDetailList": [],
        "Policies": [{"PolicyName": "Ops", "Arn": arn, "Path": "/", "DefaultVersionId": "v1", "AttachmentCount": 1,
                      "PolicyVersionList": [{"Document": document, "VersionId": "v1", "IsDefaultVersion": True}]}],
    }
    return Account.from_authorization_details(details)


LOOK_ALIKES = [  # narrow grants, and a Deny: none is a broad grant
    {"Effect": "Allow", "Action": "iam:PassRole", "Resource": f"arn:aws:iam::{ACCOUNT_ID}:role/app"},
    {"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"},
    {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/*"},
]


@pytest.mark.parametrize(("statement", "lint_rules"), [
    ({"Effect": "Allow", "Action": "iam:*", "Resource": "*"}, {"privilege-escalation", "passrole-wildcard"}),
    ({"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"}, {"passrole-wildcard"}),
    ({"Effect": "Allow", "NotAction": "aws-portal:*", "Resource": "*"}, {"allow-not-action"}),
    ({"Effect": "Allow", "Action": "iam:AttachUserPolicy", "Resource": "*"}, {"privilege-escalation"}),
    ({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}, {"assume-any-role"}),
], ids=["iam-star", "passrole-runinstances", "allow-notaction", "attach-user-policy", "assume-any-role"])
def test_a_grant_lint_rates_high_is_a_finding(statement: dict[str, Any], lint_rules: set[str]) -> None:
    report = audit(_holding(_policy(statement, *LOOK_ALIKES)), now=NOW)
    assert set(report.by_rule()) == {"broad-grant"}
    found = report.by_rule()["broad-grant"]
    assert [f.name for f in found] == ["ops", "Ops"]  # the group's inline policy, the managed policy
    for finding in found:
        assert finding.severity == "high"
        assert {g["lint_rule"] for g in finding.evidence["grants"]} == lint_rules
        assert all(g["path"].startswith("Statement[0]") for g in finding.evidence["grants"])  # not the look-alikes
        assert "--policy-document file://least-privilege.json" in finding.fix


def test_an_administrator_statement_is_admin_wildcard_not_also_a_broad_grant() -> None:
    report = audit(_holding(_policy({"Effect": "Allow", "Action": "*", "Resource": "*"},
                                    {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"})), now=NOW)
    assert {f.evidence["statement"] for f in report.by_rule()["admin-wildcard"]} == {"Statement[0]"}
    grants = [g for f in report.by_rule()["broad-grant"] for g in f.evidence["grants"]]
    assert grants and all(g["path"].startswith("Statement[1]") for g in grants)


# ── applying the fixes ─────────────────────────────────────────────────────────
# The fixes are applied to the export the way IAM would run them, and the user's permissions
# compared before and after. IAM refuses a name already taken, whatever its case: "IAM user,
# group, role, and policy names must be unique within the account. Names are not distinguished
# by case." (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicy.html and
# API_CreateGroup.html); the commands after such a refusal would act on the existing entity.


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(action: str, resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def _export(users: dict[str, dict[str, Any]], groups: dict[str, list[str]] | None = None,
            policies: dict[str, dict[str, Any]] | None = None,
            group_inline: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """An export: users as name → {"groups", "attached" (ARNs), "inline" (name → document)},
    groups as name → attached ARNs, managed policies as ARN → document."""
    when = "2023-01-10T09:00:00+00:00"
    return {
        "UserDetailList": [{
            "UserName": name, "UserId": f"AIDA{name.upper()}", "Arn": f"arn:aws:iam::{ACCOUNT_ID}:user/{name}",
            "Path": "/", "CreateDate": when, "GroupList": list(u.get("groups", [])),
            "AttachedManagedPolicies": [{"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a}
                                        for a in u.get("attached", [])],
            "UserPolicyList": [{"PolicyName": n, "PolicyDocument": d} for n, d in u.get("inline", {}).items()],
        } for name, u in users.items()],
        "GroupDetailList": [{
            "GroupName": name, "GroupId": f"AGPA{name.upper()}", "Arn": f"arn:aws:iam::{ACCOUNT_ID}:group/{name}",
            "Path": "/", "CreateDate": when,
            "AttachedManagedPolicies": [{"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in attached],
            "GroupPolicyList": [{"PolicyName": f"{name}-inline", "PolicyDocument": (group_inline or {})[name]}]
            if name in (group_inline or {}) else [],
        } for name, attached in (groups or {}).items()],
        "RoleDetailList": [],
        "Policies": [{
            "PolicyName": arn.rsplit("/", 1)[-1], "Arn": arn, "Path": "/", "DefaultVersionId": "v1",
            "AttachmentCount": 1, "PolicyVersionList": [{"Document": d, "VersionId": "v1", "IsDefaultVersion": True}],
        } for arn, d in (policies or {}).items()],
    }


def _apply(details: dict[str, Any], fix: str) -> dict[str, Any]:
    """The export after running the fix's commands as IAM would (refusing a taken name)."""
    details = json.loads(json.dumps(details))
    users = {u["UserName"]: u for u in details["UserDetailList"]}
    groups = {g["GroupName"].lower(): g for g in details["GroupDetailList"]}
    policies = {p["Arn"]: p for p in details["Policies"]}
    files: dict[str, Any] = {}
    skip = 0
    for line in fix.splitlines():
        words = shlex.split(line.split("  #", 1)[0], comments=True)
        if skip or not words:
            skip -= bool(skip)
            continue
        if ">" in words:
            words, out = words[:words.index(">")], words[words.index(">") + 1]
        assert words[:2] == ["aws", "iam"], line
        verb, options = words[2], dict(zip(words[3::2], words[4::2], strict=True))
        user = users.get(options.get("--user-name", ""))
        if verb == "get-user-policy":
            files[out] = next(p["PolicyDocument"] for p in user["UserPolicyList"]
                              if p["PolicyName"] == options["--policy-name"])
        elif verb == "create-policy":
            name = options["--policy-name"]
            assert all(p["PolicyName"].lower() != name.lower() for p in policies.values()
                       if ":iam::aws:" not in p["Arn"]), f"EntityAlreadyExists: policy {name}"
            arn = f"arn:aws:iam::{ACCOUNT_ID}:policy/{name}"
            policies[arn] = {"PolicyName": name, "Arn": arn, "Path": "/", "DefaultVersionId": "v1",
                             "AttachmentCount": 0, "PolicyVersionList": [
                                 {"Document": files[options["--policy-document"].removeprefix("file://")],
                                  "VersionId": "v1", "IsDefaultVersion": True}]}
        elif verb == "create-group":
            name = options["--group-name"]
            if "skip this and the next if another user's fix created it" in line and name.lower() in groups:
                skip = 1  # as the comment says: the group and its policy are there
                continue
            assert name.lower() not in groups, f"EntityAlreadyExists: group {name}"
            groups[name.lower()] = {"GroupName": name, "GroupId": f"AGPA{name.upper()}", "Path": "/",
                                    "Arn": f"arn:aws:iam::{ACCOUNT_ID}:group/{name}", "CreateDate": NOW.isoformat(),
                                    "AttachedManagedPolicies": [], "GroupPolicyList": []}
        elif verb == "attach-group-policy":
            arn = options["--policy-arn"]
            assert arn in policies, f"NoSuchEntity: policy {arn}"
            groups[options["--group-name"].lower()]["AttachedManagedPolicies"].append(
                {"PolicyName": arn.rsplit("/", 1)[-1], "PolicyArn": arn})
        elif verb == "add-user-to-group":
            user["GroupList"].append(groups[options["--group-name"].lower()]["GroupName"])
        elif verb == "detach-user-policy":
            user["AttachedManagedPolicies"] = [a for a in user["AttachedManagedPolicies"]
                                               if a["PolicyArn"] != options["--policy-arn"]]
        elif verb == "delete-user-policy":
            user["UserPolicyList"] = [p for p in user["UserPolicyList"] if p["PolicyName"] != options["--policy-name"]]
        else:
            pytest.fail(f"the test cannot apply `{verb}`")
    details["GroupDetailList"], details["Policies"] = list(groups.values()), list(policies.values())
    return details


def _fix_all(details: dict[str, Any], rule: str) -> tuple[Account, Account]:
    """The account before, and after every `rule` finding's fix was run, one after the other."""
    before = Account.from_authorization_details(details)
    after = details
    for finding in audit(before, now=NOW).by_rule()[rule]:
        after = _apply(after, finding.fix)
    return before, Account.from_authorization_details(after)


def _can(account: Account, user: str, action: str, resource: str = "*") -> bool:
    return account.evaluate(user, action, resource).allowed


READ_ONLY = f"arn:aws:iam::{ACCOUNT_ID}:policy/ReadReports"
ADMIN = f"arn:aws:iam::{ACCOUNT_ID}:policy/Everything"
TEAM = f"arn:aws:iam::{ACCOUNT_ID}:policy/TeamTools"
POLICIES = {READ_ONLY: _policy(_allow("s3:GetObject")), ADMIN: _policy(_allow("*")),
            TEAM: _policy(_allow("sqs:SendMessage"))}


def test_a_fix_never_adds_the_user_to_a_group_that_holds_more() -> None:
    # The only group holding ReadReports also holds Everything: joining it would make carol an administrator.
    details = _export({"carol": {"attached": [READ_ONLY]}}, {"admins": [ADMIN, READ_ONLY]}, POLICIES)
    before, after = _fix_all(details, "policy-attached-to-user")
    assert not _can(before, "carol", "iam:CreateUser") and not _can(after, "carol", "iam:CreateUser")
    assert _can(after, "carol", "s3:GetObject")
    assert after.users["carol"].attached == () and "admins" not in after.users["carol"].groups
    finding = audit(before, now=NOW).by_rule()["policy-attached-to-user"][0]
    assert finding.evidence["groups_granting_more"] == ["admins"]


def test_a_fix_never_adds_the_user_to_a_group_with_an_inline_policy() -> None:
    details = _export({"carol": {"attached": [READ_ONLY]}}, {"readers": [READ_ONLY]}, POLICIES,
                      group_inline={"readers": _policy(_allow("iam:*"))})
    before, after = _fix_all(details, "policy-attached-to-user")
    assert not _can(after, "carol", "iam:CreateUser") and _can(after, "carol", "s3:GetObject")
    assert "readers" not in after.users["carol"].groups


def test_a_group_holding_no_more_than_the_user_has_is_chosen_over_one_holding_more() -> None:
    # `team` holds ReadReports and TeamTools; carol holds both (TeamTools directly too): it adds nothing.
    details = _export({"carol": {"attached": [READ_ONLY, TEAM]}}, {"admins": [ADMIN, READ_ONLY], "team": [READ_ONLY, TEAM]},
                      POLICIES)
    before, after = _fix_all(details, "policy-attached-to-user")
    assert after.users["carol"].groups == ("team", "team") and after.users["carol"].attached == ()
    assert not _can(after, "carol", "iam:CreateUser")
    assert "create-group" not in audit(before, now=NOW).by_rule()["policy-attached-to-user"][0].fix


def test_a_user_already_in_a_group_with_the_policy_only_has_it_detached() -> None:
    details = _export({"carol": {"attached": [READ_ONLY], "groups": ["admins"]}}, {"admins": [ADMIN, READ_ONLY]},
                      POLICIES)
    finding = audit(Account.from_authorization_details(details), now=NOW).by_rule()["policy-attached-to-user"][0]
    assert finding.fix == f"aws iam detach-user-policy --user-name carol --policy-arn {READ_ONLY}"


def test_a_new_group_never_takes_a_name_already_in_use() -> None:
    # A group named like the one the fix would create exists, and holds more.
    details = _export({"carol": {"attached": [READ_ONLY]}, "dan": {"attached": [READ_ONLY]}},
                      {"readreports-users": [ADMIN]}, POLICIES)
    before, after = _fix_all(details, "policy-attached-to-user")
    for user in ("carol", "dan"):
        assert not _can(after, user, "iam:CreateUser") and _can(after, user, "s3:GetObject")
    assert after.users["carol"].groups == after.users["dan"].groups == ("ReadReports-users-2",)


def test_same_named_inline_policies_of_two_users_stay_each_users_own() -> None:
    details = _export({
        "u1": {"inline": {"S3Access": _policy(_allow("s3:GetObject", "arn:aws:s3:::a/*"))}},
        "u2": {"inline": {"S3Access": _policy(_allow("s3:PutObject", "arn:aws:s3:::b/*"))}},
    }, policies={f"arn:aws:iam::{ACCOUNT_ID}:policy/u1-S3Access-users": _policy(_allow("*"))})
    before, after = _fix_all(details, "inline-policy")
    for account in (before, after):
        assert _can(account, "u1", "s3:GetObject", "arn:aws:s3:::a/k")
        assert not _can(account, "u1", "s3:PutObject", "arn:aws:s3:::b/k")
        assert _can(account, "u2", "s3:PutObject", "arn:aws:s3:::b/k")
        assert not _can(account, "u2", "s3:GetObject", "arn:aws:s3:::a/k")
    assert after.users["u1"].inline == {} == after.users["u2"].inline
    assert after.users["u1"].groups != after.users["u2"].groups


def test_an_inline_policy_fix_never_reuses_a_managed_policy_name() -> None:
    # A customer managed policy already has the inline policy's name (in another case).
    taken = f"arn:aws:iam::{ACCOUNT_ID}:policy/s3access"
    details = _export({"u1": {"inline": {"S3Access": _policy(_allow("s3:GetObject", "arn:aws:s3:::a/*"))}}},
                      policies={taken: _policy(_allow("*"))})
    _, after = _fix_all(details, "inline-policy")
    assert _can(after, "u1", "s3:GetObject", "arn:aws:s3:::a/k") and not _can(after, "u1", "iam:CreateUser")


# ── trust policies: which conditions narrow who may assume ─────────────────────
# AWS on `"Principal": "*"` in a role trust policy: "we strongly recommend that you limit who can access the
# role through other means, such as a Condition element that limits access to only certain IP addresses"
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html). A condition
# on another key (aws:SecureTransport, aws:CurrentTime) limits how or when, not who.


def _trusting(statement: dict[str, Any]) -> Account:
    details = {"UserDetailList": [], "Policies": [], "RoleDetailList": [{
        "RoleName": "r", "RoleId": "AROAR", "Arn": f"arn:aws:iam::{ACCOUNT_ID}:role/r", "Path": "/",
        "CreateDate": _ago(10), "RoleLastUsed": {}, "AttachedManagedPolicies": [], "RolePolicyList": [],
        "InstanceProfileList": [], "AssumeRolePolicyDocument": _policy(statement)}]}
    return Account.from_authorization_details(details)


def _trust_rules(statement: dict[str, Any]) -> set[str]:
    return set(audit(_trusting(statement), now=NOW).by_rule())


STAR = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}


@pytest.mark.parametrize("condition", [
    {"Bool": {"aws:SecureTransport": "true"}},
    {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
    {"StringLike": {"sts:RoleSessionName": "*"}},
    {"StringLike": {"aws:PrincipalArn": "*"}},  # every ARN
    {"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},  # every organization but one
    {"StringEqualsIfExists": {"aws:SourceAccount": ACCOUNT_ID}},  # a caller without the key passes
    {"Null": {"aws:PrincipalOrgID": "false"}},  # any organization
], ids=["secure-transport", "current-time", "session-name", "principal-arn-star", "not-equals", "if-exists", "null"])
def test_a_condition_that_does_not_narrow_the_caller_keeps_the_wildcard_finding(condition: dict[str, Any]) -> None:
    assert "trust-wildcard-principal" in _trust_rules({**STAR, "Condition": condition})


@pytest.mark.parametrize("condition", [
    {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
    {"StringEquals": {"aws:PrincipalAccount": "444455556666"}},
    {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::444455556666:role/ci-*"}},
    {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}},
    {"ArnEquals": {"aws:SourceArn": "arn:aws:s3:::amzn-s3-demo-bucket"}},
    {"StringEquals": {"sts:ExternalId": "partner-4d1e"}},
    {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
], ids=["org", "account", "principal-arn", "source-account", "source-arn", "external-id", "source-ip"])
def test_only_a_condition_that_narrows_the_caller_silences_the_wildcard_finding(condition: dict[str, Any]) -> None:
    tls = {"Bool": {"aws:SecureTransport": "true"}}
    assert "trust-wildcard-principal" in _trust_rules({**STAR, "Condition": tls})
    assert "trust-wildcard-principal" not in _trust_rules({**STAR, "Condition": {**condition, **tls}})


def test_an_unrelated_condition_keeps_the_other_account_finding() -> None:
    statement = {**STAR, "Principal": {"AWS": "777788889999"}, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    assert "trust-account-no-condition" in _trust_rules(statement)


def test_the_wildcard_fix_keeps_the_statements_own_conditions() -> None:
    statement = {**STAR, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    finding = audit(_trusting(statement), now=NOW).by_rule()["trust-wildcard-principal"][0]
    document = json.loads(shlex.split(finding.fix.splitlines()[0])[-1])
    assert document["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "true"},
                                                     "StringEquals": {"aws:PrincipalOrgID": "o-EXAMPLE"}}


# GitHub's OIDC provider: "AWS Identity and Access Management (IAM) recommends that users evaluate the IAM
# condition key, token.actions.githubusercontent.com:sub, in the trust policy of any role that trusts GitHub's
# OIDC identity provider (IdP)." (https://docs.github.com/actions/deployment/security-hardening-your-deployments/
# configuring-openid-connect-in-amazon-web-services; AWS: https://docs.aws.amazon.com/IAM/latest/UserGuide/
# id_roles_create_for-idp_oidc.html#idp_oidc_Create_GitHub)
GITHUB = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/token.actions.githubusercontent.com"
AUD = {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}


def _github(condition: dict[str, Any] | None, provider: str = GITHUB) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity"}
    return {**statement, "Condition": condition} if condition is not None else statement


@pytest.mark.parametrize("condition", [
    None,
    {"StringEquals": AUD},
    {"StringEquals": AUD, "StringLike": {"token.actions.githubusercontent.com:sub": "*"}},
    {"StringEquals": AUD, "StringLike": {"token.actions.githubusercontent.com:sub": "repo:*"}},
    {"StringEquals": AUD, "StringNotEquals": {"token.actions.githubusercontent.com:sub": "repo:evil/x:*"}},
    {"StringEquals": AUD, "StringLikeIfExists": {"token.actions.githubusercontent.com:sub": "repo:org/app:*"}},
], ids=["no-condition", "aud-only", "sub-star", "sub-any-repo", "sub-not-equals", "sub-if-exists"])
def test_a_github_trust_without_a_sub_condition_is_high(condition: dict[str, Any] | None) -> None:
    report = audit(_trusting(_github(condition)), now=NOW)
    finding = report.by_rule()["trust-github-no-sub"][0]
    assert finding.severity == "high" and finding.name == "r"
    document = json.loads(shlex.split(finding.fix.splitlines()[0])[-1])
    condition_after = document["Statement"][0]["Condition"]
    assert condition_after["StringLike"]["token.actions.githubusercontent.com:sub"].startswith("repo:OWNER/REPO:")
    assert condition_after["StringEquals"] == AUD


@pytest.mark.parametrize("condition", [
    {"StringEquals": {**AUD, "token.actions.githubusercontent.com:sub": "repo:org/app:ref:refs/heads/main"}},
    {"StringEquals": AUD, "StringLike": {"token.actions.githubusercontent.com:sub": "repo:org/*"}},
    {"StringEquals": AUD, "ForAnyValue:StringLike": {"token.actions.githubusercontent.com:sub": ["repo:org/a:*"]}},
], ids=["one-branch", "one-owner", "for-any-value"])
def test_a_github_trust_limited_to_repositories_is_not_flagged(condition: dict[str, Any]) -> None:
    assert "trust-github-no-sub" in _trust_rules(_github({"StringEquals": AUD}))
    assert "trust-github-no-sub" not in _trust_rules(_github(condition))


# ── rotating a key when the user has two ───────────────────────────────────────
# "You can have a maximum of two access keys" (https://docs.aws.amazon.com/IAM/latest/UserGuide/
# id_credentials_access-keys.html): CreateAccessKey fails with LimitExceeded while the user has two.


def _run_key_commands(fix: str, keys: dict[str, str]) -> dict[str, str]:
    """The user's keys (slot placeholder → status) after the fix, as IAM would run it; the new key is NEW."""
    keys = dict(keys)
    for line in fix.splitlines():
        words = shlex.split(line.split("  #", 1)[0], comments=True)
        if not words or words[2] == "list-access-keys":
            continue
        options = dict(zip(words[3::2], words[4::2], strict=True))
        if words[2] == "create-access-key":
            assert len(keys) < 2, "LimitExceeded: the user already has two access keys"
            keys["NEW"] = "Active"
        elif words[2] == "update-access-key":
            keys[options["--access-key-id"]] = options["--status"]
        elif words[2] == "delete-access-key":
            del keys[options["--access-key-id"]]
        else:
            pytest.fail(f"the test cannot apply `{words[2]}`")
    return keys


@pytest.mark.parametrize(("key2", "status"), [(("true", _ago(30), "N/A"), "Active"),
                                               (("false", _ago(30), "N/A"), "Inactive")],
                         ids=["second-key-active", "second-key-inactive"])
def test_rotating_an_old_key_frees_a_slot_first_when_the_user_has_two(key2: tuple[str, str, str],
                                                                     status: str) -> None:
    # dave's case in the messy account: key 1 is old and in use, key 2 exists.
    report = audit(EMPTY, _report(_row("dave", key1=("true", _ago(507), _ago(1)), key2=key2)), now=NOW)
    fix = report.by_rule()["access-key-old"][0].fix
    assert _run_key_commands(fix, {"KEY_ID_1": "Active", "KEY_ID_2": status}) == {"NEW": "Active"}


# ── thresholds ─────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(("days", "flagged"), [(KEY_MAX_AGE_DAYS, False), (KEY_MAX_AGE_DAYS + 1, True)])
def test_access_key_age_threshold(days: int, flagged: bool) -> None:
    report = audit(EMPTY, _report(_row("kim", key1=("true", _ago(days), _ago(1)))), now=NOW)
    assert ("access-key-old" in report.by_rule()) is flagged


@pytest.mark.parametrize(("days", "flagged"), [(NEW_KEY_GRACE_DAYS, False), (NEW_KEY_GRACE_DAYS + 1, True)])
def test_a_never_used_key_gets_a_grace_period(days: int, flagged: bool) -> None:
    report = audit(EMPTY, _report(_row("kim", key1=("true", _ago(days), "N/A"))), now=NOW)
    assert ("access-key-unused" in report.by_rule()) is flagged


@pytest.mark.parametrize(("days", "flagged"), [(UNUSED_DAYS, False), (UNUSED_DAYS + 1, True)])
def test_access_key_unused_threshold(days: int, flagged: bool) -> None:
    report = audit(EMPTY, _report(_row("kim", key1=("true", _ago(60), _ago(days)))), now=NOW)
    assert ("access-key-unused" in report.by_rule()) is flagged


def test_inactive_keys_are_left_alone() -> None:
    report = audit(EMPTY, _report(_row("kim", key1=("false", _ago(900), "N/A"), key2=("false", _ago(900), "N/A"))),
                   now=NOW)
    assert len(report) == 0


def test_a_user_without_a_password_needs_no_mfa() -> None:
    assert len(audit(EMPTY, _report(_row("svc")), now=NOW)) == 0


def test_a_root_row_with_both_keys_active_is_one_finding_per_key() -> None:
    row = _row("<root_account>", password="not_supported", mfa="true",
               key1=("true", _ago(10), _ago(1)), key2=("true", _ago(5), "N/A"))
    report = audit(EMPTY, _report(row), now=NOW)
    assert [(f.rule, f.principal, f.evidence["access_key"]) for f in report] == [
        ("root-access-keys", "<root_account>", 1), ("root-access-keys", "<root_account>", 2)]
    assert all(f.name == "<root_account>" for f in report)


def test_now_defaults_to_today_and_accepts_a_date() -> None:
    from datetime import date

    report = audit(EMPTY, now=date(2024, 6, 1))
    assert report.now == NOW
    assert audit(EMPTY).now.tzinfo is not None


# ── without a credential report ────────────────────────────────────────────────


def test_without_a_credential_report_the_credential_rules_are_skipped_and_said_so() -> None:
    report = audit(_account("messy"), now=NOW)
    rules = set(report.by_rule())
    assert rules == {"admin-wildcard", "broad-grant", "inline-policy", "policy-attached-to-user", "role-unused",
                     "trust-account-no-condition", "trust-github-no-sub", "trust-wildcard-principal"}
    assert report.notes and "no credential report" in report.notes[0]
    assert "note: no credential report" in report.explain()


def test_a_report_without_a_root_row_says_the_root_user_was_not_checked() -> None:
    report = audit(EMPTY, _report(_row("svc")), now=NOW)
    assert any("<root_account>" in note for note in report.notes)


# ── reading the credential report ──────────────────────────────────────────────


def test_parse_credential_report_types_every_column() -> None:
    rows = parse_credential_report(_csv("messy"))
    assert [r.user for r in rows] == ["<root_account>", "alice", "bob", "carol", "dave", "erin", "frank", "grace"]
    root, alice, bob = rows[0], rows[1], rows[2]
    assert root.is_root and root.password_enabled is None and root.mfa_active is False and root.line == 2
    assert root.access_keys[0].active and root.access_keys[0].last_used_service == "iam"
    assert alice.password_enabled is True and alice.mfa_active is True
    assert alice.password_last_used == datetime(2024, 5, 31, 9, tzinfo=timezone.utc)
    assert alice.password_next_rotation is None
    assert bob.password_last_used is None and bob.raw["password_last_used"] == "no_information"
    assert bob.access_keys[1].last_rotated is None and bob.access_keys[1].last_used_region is None
    assert [c.active for c in bob.certificates] == [False, False]
    assert all(r.user_creation_time and r.user_creation_time.tzinfo for r in rows)


def test_the_report_is_accepted_as_bytes_base64_or_the_clis_json() -> None:
    text = _csv("clean")
    encoded = base64.b64encode(text.encode()).decode()
    cli_output = json.dumps({"Content": encoded, "ReportFormat": "text/csv", "GeneratedTime": "2024-06-01T00:00:00Z"})
    want = parse_credential_report(text)
    for given in (text.encode("utf-8-sig"), encoded, cli_output, text.replace("\n", "\r\n")):
        assert parse_credential_report(given) == want


def test_malformed_rows_are_reported_by_line_and_column_and_the_rest_is_audited() -> None:
    text = _csv("malformed")
    with pytest.raises(AuditError) as caught:
        parse_credential_report(text)
    error = caught.value
    assert isinstance(error, IamkitError) and isinstance(error, ValueError)
    located = [(p.line, p.path) for p in error.problems]
    assert located == [(3, "mfa_active"), (4, "row"), (6, "access_key_1_last_rotated")]
    bad = error.problems[0]
    assert bad.column == text.splitlines()[2].index(",maybe,") + 2  # the field's first character
    assert "`maybe` is not `true` or `false`" in bad.message
    assert "mfa_active (line 3, column" in str(error)
    assert [r.user for r in error.rows] == ["<root_account>", "erin"]

    report = audit(_account("clean"), text, now=NOW)
    assert [(p.line, p.path) for p in report.problems] == located
    assert sorted((f.rule, f.name) for f in report) == [("password-never-used", "erin"), ("user-no-mfa", "erin")]
    assert "not audited (could not be read):" in report.explain()
    assert report.to_dict()["problems"][0]["line"] == 3


def test_a_header_without_a_needed_column_is_fatal() -> None:
    text = _csv("clean").replace("mfa_active", "mfa_actve", 1)
    with pytest.raises(AuditError) as caught:
        audit(EMPTY, text, now=NOW)
    problem = caught.value.problems[0]
    assert problem.line == 1 and "`mfa_active`" in problem.message
    assert problem.hint == "did you mean `mfa_actve`?"
    assert caught.value.rows == ()


@pytest.mark.parametrize("text", ["", "\n\n", "{\"ReportFormat\": \"text/csv\"}", "{not json", b"\xff\xfe\x00"])
def test_an_empty_or_foreign_report_is_fatal(text: str | bytes) -> None:
    with pytest.raises(AuditError) as caught:
        parse_credential_report(text)
    assert caught.value.problems[0].line is not None


# ── the report as an object ────────────────────────────────────────────────────


def test_report_protocols(messy: AuditReport) -> None:
    assert len(messy) == len(EXPECTED["findings"]) == len(list(messy))
    assert all(isinstance(f, Finding) for f in messy)
    groups = messy.by_rule()
    assert sum(len(v) for v in groups.values()) == len(messy)
    assert [f.name for f in groups["role-unused"]] == ["old-migration", "stale-reports"]
    assert list(groups) == list(dict.fromkeys(f.rule for f in messy))
    assert repr(messy) == (f"<AuditReport account {ACCOUNT_ID}: 21 findings "
                           "(4 critical, 6 high, 8 medium, 3 low)>")
    assert repr(messy.findings[0]) == "<Finding critical root-access-keys <root_account>>"
    assert "\n" not in repr(messy)
    assert hash(messy.findings[0]) == hash(messy.findings[0])


def test_to_json_is_the_whole_report(messy: AuditReport) -> None:
    data = json.loads(messy.to_json())
    assert data["accountId"] == ACCOUNT_ID and data["now"] == "2024-06-01T00:00:00+00:00"
    assert data["counts"] == {"critical": 4, "high": 6, "medium": 8, "low": 3}
    assert [f["rule"] for f in data["findings"]] == [f.rule for f in messy]
    assert set(data["findings"][0]) == {"rule", "severity", "principal", "name", "title", "why", "fix", "evidence",
                                        "docs"}
    assert data == messy.to_dict()


def test_mimebundle_has_text_and_html(messy: AuditReport) -> None:
    bundle = messy._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    text = bundle["text/plain"]
    assert text.startswith(f"audit of account {ACCOUNT_ID} on 2024-06-01: 21 findings")
    assert "severity  rule" in text and "aws iam delete-login-profile --user-name bob" in text
    assert "docs: https://docs.aws.amazon.com/" in text
    assert "<table>" in bundle["text/html"] and "aws iam delete-login-profile --user-name bob" in bundle["text/html"]
    assert set(messy._repr_mimebundle_(include=["text/plain"])) == {"text/plain"}
    assert set(messy._repr_mimebundle_(exclude=["text/plain"])) == {"text/html"}


def test_html_escapes_every_untrusted_string() -> None:
    evil = "<img src=x onerror=alert(1)>"
    script = "<script>alert(1)</script>"
    details = {
        "UserDetailList": [{
            "UserName": evil, "UserId": "AIDAEVIL", "Arn": f"arn:aws:iam::{ACCOUNT_ID}:user/{evil}", "Path": "/",
            "CreateDate": "2023-01-10T09:00:00+00:00",
            "AttachedManagedPolicies": [{"PolicyName": script, "PolicyArn": f"arn:aws:iam::{ACCOUNT_ID}:policy/{script}"}],
            "UserPolicyList": [{"PolicyName": script, "PolicyDocument": {
                "Version": "2012-10-17", "Statement": [{"Sid": "x", "Effect": "Allow", "Action": "*", "Resource": "*"}]}}],
        }],
        "Policies": [],
    }
    account = Account.from_authorization_details(details)
    report = audit(account, _report(_row(evil, password="true", password_last_used=_ago(1))), now=NOW)
    assert {f.rule for f in report} >= {"user-no-mfa", "inline-policy", "policy-attached-to-user", "admin-wildcard"}
    html = report._repr_html_()
    assert "<img" not in html and "<script" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;script&gt;" in html
    # In the fix commands the untrusted names are shell-quoted.
    mfa = next(f for f in report if f.rule == "user-no-mfa")
    assert f"--user-name '{evil}'" in mfa.fix


def test_to_frame_imports_pandas_only_when_asked(messy: AuditReport) -> None:
    pandas = pytest.importorskip("pandas")
    frame = messy.to_frame()
    assert isinstance(frame, pandas.DataFrame)
    assert len(frame) == len(messy) and list(frame.columns)[:3] == ["severity", "rule", "principal"]
    assert list(frame["rule"]) == [f.rule for f in messy]


def test_importing_the_audit_does_not_import_pandas() -> None:
    code = "import sys, iamkit.analysis.audit; print('pandas' in sys.modules, 'IPython' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["False", "False"]


# ── the command line ───────────────────────────────────────────────────────────


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="iamkit")
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["audit", *argv])
    return int(args.run(args))


def test_cli_exit_0_for_a_clean_account(capsys: pytest.CaptureFixture[str]) -> None:
    code = _cli([str(AUDIT / "clean-export.json"), "--credential-report", str(AUDIT / "clean-credential-report.csv"),
                 "--now", "2024-06-01"])
    out, err = capsys.readouterr()
    assert code == 0 and "no findings" in out and err == ""


def test_cli_exit_1_with_findings(capsys: pytest.CaptureFixture[str]) -> None:
    code = _cli([str(AUDIT / "messy-export.json"), "--credential-report", str(AUDIT / "messy-credential-report.csv"),
                 "--now", "2024-06-01"])
    out, err = capsys.readouterr()
    assert code == 1 and "21 findings" in out and "aws iam delete-login-profile --user-name bob" in out and err == ""


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = _cli([str(AUDIT / "messy-export.json"), "--json", "--now", "2024-06-01"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["now"] == "2024-06-01T00:00:00+00:00" and data["notes"]
    assert {f["rule"] for f in data["findings"]} == {"admin-wildcard", "broad-grant", "inline-policy",
                                                     "policy-attached-to-user", "role-unused",
                                                     "trust-account-no-condition", "trust-github-no-sub",
                                                     "trust-wildcard-principal"}


def test_cli_exit_2_for_malformed_rows_after_auditing_the_rest(capsys: pytest.CaptureFixture[str]) -> None:
    report = str(AUDIT / "malformed-credential-report.csv")
    code = _cli([str(AUDIT / "clean-export.json"), "--credential-report", report, "--now", "2024-06-01"])
    out, err = capsys.readouterr()
    assert code == 2
    assert "user-no-mfa" in out and "erin" in out
    lines = err.splitlines()
    assert len(lines) == 4 and lines[0].startswith(f"{report}:3:") and ": error: mfa_active: `maybe`" in lines[0]
    assert lines[3].startswith("iamkit: partial audit: 3 parts of the input could not be audited")
    assert "Traceback" not in err


def _partial(tmp_path: Any, details: dict[str, Any]) -> str:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(details))
    return str(path)


# A partial audit is not a clean one: what was not read was not found clean, so the command exits 2
# (bad input), prints the report of the rest and lists what was not audited.
@pytest.mark.parametrize(("details", "not_audited"), [
    # A policy iamkit cannot parse.
    (_export({}, {"ops": [f"arn:aws:iam::{ACCOUNT_ID}:policy/StarArn"]},
             {f"arn:aws:iam::{ACCOUNT_ID}:policy/StarArn": _policy(_allow("*", "arn:*"))}),
     "Policies[StarArn].Statement[0].Resource"),
    # A customer managed policy attached to a user, its document not in the export (`--filter User`).
    # AWS managed policies are never audited: the missing ReadOnlyAccess hides nothing, and is not counted.
    (_export({"ann": {"attached": [f"arn:aws:iam::{ACCOUNT_ID}:policy/Missing", "arn:aws:iam::aws:policy/ReadOnlyAccess"]}}),
     "policy `Missing` attached to user/ann is not in the export"),
    # A group named in a user's GroupList, not in the export: its policies were not looked at.
    (_export({"dan": {"groups": ["guard"]}}), "group `guard` of user/dan is not in the export"),
], ids=["unparsable-policy", "missing-policy", "missing-group"])
def test_cli_exit_2_for_a_partial_audit(tmp_path: Any, details: dict[str, Any], not_audited: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    code = _cli([_partial(tmp_path, details), "--now", "2024-06-01"])
    out, err = capsys.readouterr()
    assert code == 2
    assert "not audited (could not be read):" in out and not_audited in out
    assert not_audited in err and "iamkit: partial audit: 1 part of the input could not be audited" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("argv", [
    ["missing-export.json"],
    ["{export}", "--credential-report", "missing.csv"],
    ["{csv}"],
    ["{export}", "--credential-report", "{export}"],
])
def test_cli_exit_2_for_bad_input_without_a_traceback(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    given = [a.format(export=AUDIT / "clean-export.json", csv=AUDIT / "clean-credential-report.csv") for a in argv]
    code = _cli(given)
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and err and "Traceback" not in err


def test_cli_reads_the_export_from_standard_input(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO((AUDIT / "messy-export.json").read_text()))
    assert _cli(["-", "--now", "2024-06-01"]) == 1
    assert "trust-wildcard-principal" in capsys.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.StringIO("{oops"))
    assert _cli(["-"]) == 2
    assert "<stdin> line 1, column 2: not valid JSON" in capsys.readouterr().err


def test_cli_rejects_a_bad_date(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        _cli([str(AUDIT / "clean-export.json"), "--now", "yesterday"])
    assert caught.value.code == 2
    assert "`yesterday` is not a date: use YYYY-MM-DD" in capsys.readouterr().err


# ── the demo company ───────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def sandbox() -> Any:
    pytest.importorskip("iamkit.sandbox.demo")
    pytest.importorskip("moto")
    from iamkit.sandbox import current_sandbox, start_sandbox

    running = current_sandbox()
    sb = start_sandbox()
    yield sb
    if running is None:
        sb.stop()


def _audit_seed(sandbox: Any, seed: str) -> AuditReport:
    from iamkit.sandbox import demo

    sandbox.seed(seed)
    iam = sandbox.client("iam")
    details = demo.authorization_details(iam)
    # moto lists AWS managed policies without `PolicyName` (AWS always includes it).
    for policy in details["Policies"]:
        policy.setdefault("PolicyName", policy["Arn"].rsplit("/", 1)[-1])
    return audit(Account.from_authorization_details(details), demo.credential_report(iam), now=demo.DEMO_NOW)


def test_the_demo_company_plants_every_mistake_the_audit_finds(sandbox: Any) -> None:
    from iamkit.sandbox.demo import PLANTED_MISTAKES

    report = _audit_seed(sandbox, "demo")
    found = {(f.rule, f.name) for f in report}
    assert found >= set(PLANTED_MISTAKES), report.explain()
    assert {rule for rule, _ in PLANTED_MISTAKES} == set(RULES)  # lesson 11 meets every rule
    assert report.problems == ()


def test_the_clean_demo_company_has_no_findings(sandbox: Any) -> None:
    report = _audit_seed(sandbox, "clean")
    assert len(report) == 0, report.explain()
    assert report.problems == () and report.notes == ()
