"""The account model: a get-account-authorization-details export, principals' policies
with their provenance, roles and trust.

Export format: https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
"""

from __future__ import annotations

import json

import pytest

from conftest import CASES
from iamkit import Layer, Outcome
from iamkit.account import Account, AccountError, load_account
from iamkit.account.model import OUTSIDE_USER

EXPORT = CASES / "accounts" / "examplecorp.json"
BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket"


@pytest.fixture(scope="module")
def account() -> Account:
    return Account.from_file(EXPORT)


def test_loads_every_part_of_the_export(account: Account) -> None:
    assert account.account_id == "111122223333"
    assert list(account.users) == ["alice", "bob", "carol"]
    assert list(account.groups) == ["developers", "admins"]
    assert list(account.roles) == ["AppServer", "Deploy", "PartnerAudit"]
    assert account.users["alice"].tags == {"team": "finance"}
    assert account.users["carol"].boundary == "arn:aws:iam::111122223333:policy/DeveloperBoundary"
    assert account.roles["AppServer"].instance_profiles == ("AppServer",)
    assert account.instance_profiles["AppServer"].roles == ("AppServer",)
    # The default version of a managed policy is the one that counts.
    assert account.policies["arn:aws:iam::111122223333:policy/ReadReports"].default_version == "v2"
    assert account.policies["arn:aws:iam::aws:policy/AdministratorAccess"].aws_managed
    assert account.problems == []


def test_identity_policies_come_with_their_origin(account: Account) -> None:
    origins = [str(p.origin) for p in account.identity_policies("carol")]
    assert origins == [
        "inline policy `NoDeletes` in user `carol`",
        "managed policy `AdministratorAccess` attached to user `carol`",
        "inline policy `TeamPrefix` in group `developers`",
        "managed policy `ReadReports` attached to group `developers`",
    ]
    assert str(account.permissions_boundary("carol").origin) == "permissions boundary `DeveloperBoundary` of user `carol`"


def test_decision_names_the_policy_and_what_it_is_attached_to(account: Account) -> None:
    decision = account.evaluate("alice", "s3:GetObject", f"{BUCKET}/reports/q3.csv")
    assert decision.outcome is Outcome.ALLOWED
    (deciding,) = decision.determining
    assert deciding.origin.attached_to == "group/developers" and deciding.origin.policy == "ReadReports"
    assert "managed policy `ReadReports` attached to group `developers`" in decision.explain()
    assert decision.to_dict()["determining"][0]["origin"] == {
        "kind": "managed", "policy": "ReadReports", "attachedTo": "group/developers",
        "arn": "arn:aws:iam::111122223333:policy/ReadReports"}


def test_principal_tags_feed_policy_variables(account: Account) -> None:
    assert account.evaluate("alice", "s3:PutObject", f"{BUCKET}/teams/finance/plan.xlsx").allowed
    assert not account.evaluate("alice", "s3:PutObject", f"{BUCKET}/teams/audit/plan.xlsx").allowed
    assert account.context("alice")["aws:PrincipalTag/team"] == "finance"


def test_boundary_and_inline_deny(account: Account) -> None:
    boundary = account.evaluate("carol", "iam:CreateUser")
    assert boundary.outcome is Outcome.IMPLICIT_DENY and boundary.blocked_by.value == "boundary"
    deny = account.evaluate("contractors/carol", "s3:DeleteObject", f"{BUCKET}/x")
    assert deny.outcome is Outcome.EXPLICIT_DENY
    assert deny.determining[0].origin.kind == "inline"


def test_principals_by_name_reference_or_arn(account: Account) -> None:
    assert account.principal("arn:aws:iam::111122223333:user/contractors/carol").name == "carol"
    assert account.principal("role/Deploy").name == "Deploy"
    with pytest.raises(AccountError, match="hint: did you mean `alice`"):
        account.principal("alise")
    with pytest.raises(AccountError, match="is in account 999999999999, not in account 111122223333"):
        account.principal("arn:aws:iam::999999999999:user/alice")  # not this account's alice


@pytest.mark.parametrize("method", ["trust_policy", "assume_role", "who_can_assume"])
def test_a_role_argument_that_names_a_user_is_an_account_error(account: Account, method: str) -> None:
    for ref in ("bob", "user/bob", "arn:aws:iam::111122223333:user/bob", account.users["bob"]):
        with pytest.raises(AccountError, match="is a user, not a role — hint: give a role of the account"):
            getattr(account, method)(ref)
    assert getattr(account, method)("arn:aws:iam::111122223333:role/Deploy") is not None


def test_who_can_assume_weighs_trust_permission_and_boundary(account: Account) -> None:
    mfa = {"aws:MultiFactorAuthPresent": "true"}
    # bob's admin policy allows sts:AssumeRole; carol's AdministratorAccess is cut by her boundary;
    # alice has no permission; all need MFA because the trust policy says so.
    assert [who for who, _ in account.who_can_assume("Deploy", context=mfa)] == ["arn:aws:iam::111122223333:user/bob"]
    assert account.who_can_assume("Deploy") == []
    everyone = dict(account.who_can_assume("Deploy", context=mfa, allowed_only=False))
    assert everyone["arn:aws:iam::111122223333:user/contractors/carol"].blocked_by.value == "boundary"
    assert [who for who, _ in account.who_can_assume("AppServer")] == ["ec2.amazonaws.com"]


def test_cross_account_trust_needs_the_external_id(account: Account) -> None:
    assert account.who_can_assume("PartnerAudit") == []
    (who, decision), = account.who_can_assume("PartnerAudit", context={"sts:ExternalId": "partner-7f3a"})
    assert who == "arn:aws:iam::444455556666:root" and decision.allowed
    # The trust policy names the account, which lets in its IAM users and roles, not its root user,
    # who cannot call AssumeRole (id_credentials_sts-comparison.html, "Who can call": "IAM user or
    # IAM role with existing temporary security credentials"): a stand-in user asks for them.
    assert decision.request.principal == f"arn:aws:iam::444455556666:user/{OUTSIDE_USER}"
    assert [t.policy_name for t in decision.determining if t.layer is Layer.IDENTITY] == [
        "stand-in for account 444455556666's own policies (not in this export)"]


def test_another_accounts_user_named_in_a_trust_policy_is_let_in_by_it() -> None:
    # Their own permission lives in their account: the trust policy alone is the question
    # (id_roles_common-scenarios_aws-accounts.html: the trusting account's trust policy and the
    # trusted account's identity policy must both allow).
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {
        "AWS": ["arn:aws:iam::444455556666:user/bob", "arn:aws:iam::444455556666:root"]}}]}
    account = Account.from_authorization_details({"RoleDetailList": [{
        "RoleName": "R", "RoleId": "AROAEXAMPLE", "Arn": "arn:aws:iam::111122223333:role/R", "Path": "/",
        "AssumeRolePolicyDocument": trust}]})
    found = dict(account.who_can_assume("R", allowed_only=False))
    assert sorted(found) == ["arn:aws:iam::444455556666:root", "arn:aws:iam::444455556666:user/bob"]
    assert all(d.allowed for d in found.values())
    trust["Statement"][0]["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    account = Account.from_authorization_details({"RoleDetailList": [{
        "RoleName": "R", "RoleId": "AROAEXAMPLE", "Arn": "arn:aws:iam::111122223333:role/R", "Path": "/",
        "AssumeRolePolicyDocument": trust}]})
    assert account.who_can_assume("R") == []


def test_assumed_role_session_evaluates_with_role_and_session_policies(account: Account) -> None:
    session = account.assume_role("Deploy", "ci-42", session_policy={
        "Version": "2012-10-17", "Statement": [{"Sid": "OnlyS3", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    assert session.arn == "arn:aws:sts::111122223333:assumed-role/Deploy/ci-42"
    put = session.evaluate("s3:PutObject", f"{BUCKET}/build.zip")
    assert put.allowed and sorted(t.sid for t in put.determining) == ["DeployApps", "OnlyS3"]
    lam = session.evaluate("lambda:UpdateFunctionCode", "*")
    assert lam.outcome is Outcome.IMPLICIT_DENY and lam.blocked_by.value == "session"
    assert lam.request.principal == session.arn


def test_a_policy_iamkit_cannot_read_stops_only_the_principals_that_hold_it() -> None:
    # A policy left out could hold a Deny ("an explicit deny in any of these policies overrides the
    # allow", reference_policies_evaluation-logic.html): iamkit refuses to answer for its holders
    # rather than answer without it, and goes on for everyone else.
    broken = json.loads(EXPORT.read_text())
    broken["GroupDetailList"][0]["GroupPolicyList"][0]["PolicyDocument"] = {"Statement": [{"Effect": "Maybe"}]}
    account = Account.from_authorization_details(broken)
    with pytest.raises(AccountError, match="cannot evaluate user `alice`: iamkit cannot read a policy AWS would "
                                           "consult: `group/developers/TeamPrefix.Statement") as caught:
        account.evaluate("alice", "s3:GetObject", f"{BUCKET}/reports/q3.csv")
    assert caught.value.problems and caught.value.problems[0].path.startswith("group/developers/TeamPrefix")
    assert account.evaluate("bob", "s3:GetObject", f"{BUCKET}/reports/q3.csv").allowed
    assert any("`Effect` must be `Allow` or `Deny`" in p.message for p in account.problems)
    assert all(p.path.startswith("group/developers/TeamPrefix.Statement[0]") and p.severity == "warning"
               and p.hint.endswith("iamkit cannot evaluate the principals that hold this policy")
               for p in account.problems)


def test_a_trust_policy_iamkit_cannot_read_leaves_who_may_assume_unknown() -> None:
    broken = json.loads(EXPORT.read_text())
    role = next(r for r in broken["RoleDetailList"] if r["RoleName"] == "Deploy")
    role["AssumeRolePolicyDocument"] = {"Version": "2012-10-17", "Statement": [{"Effect": "Maybe"}]}
    account = Account.from_authorization_details(broken)
    with pytest.raises(AccountError, match="cannot evaluate who may assume role `Deploy`"):
        account.who_can_assume("Deploy")


def _without(*, policies: tuple[str, ...] = (), groups: tuple[str, ...] = ()) -> Account:
    """The example account, its export missing these managed policies (by name) and groups."""
    data = json.loads(EXPORT.read_text())
    data["Policies"] = [p for p in data["Policies"] if p["PolicyName"] not in policies]
    data["GroupDetailList"] = [g for g in data["GroupDetailList"] if g["GroupName"] not in groups]
    return Account.from_authorization_details(data)


# A boundary can only narrow what the identity policies allow, so evaluating without one that the export
# names but lacks would widen the answer; AWS warns that removing a boundary "might increase its permissions":
# https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUserPermissionsBoundary.html
# https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
# AWS says nothing of an export that lacks it (a `--filter` export does): iamkit fails closed and refuses.
BOUNDARY_ARN = "arn:aws:iam::111122223333:policy/DeveloperBoundary"


def test_a_missing_boundary_is_not_the_absence_of_one() -> None:
    account = _without(policies=("DeveloperBoundary",))
    with pytest.raises(AccountError, match=f"cannot evaluate user `carol`: its permissions boundary `{BOUNDARY_ARN}` "
                                           "is not in the export — hint: export again") as caught:
        account.evaluate("carol", "iam:CreateUser")  # AdministratorAccess allows it; the boundary does not
    assert [p.path for p in caught.value.problems] == [f"Policies[{BOUNDARY_ARN}]"]
    with pytest.raises(AccountError, match="its permissions boundary"):
        account.permissions_boundary("carol")
    assert account.evaluate("alice", "s3:GetObject", f"{BUCKET}/reports/q3.csv").allowed  # alice has no boundary


def test_a_missing_group_or_managed_policy_stops_the_evaluation() -> None:
    # A missing group's or policy's Deny would be missed, its Allow too: no answer is a safe guess. Groups'
    # policies apply to their members: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_groups.html
    data = json.loads(EXPORT.read_text())
    data["UserDetailList"][0]["GroupList"].append("quarantine")  # alice: not in GroupDetailList
    alice = Account.from_authorization_details(data)
    with pytest.raises(AccountError, match="cannot evaluate user `alice`: its group `quarantine` is not in the export"):
        alice.evaluate("alice", "s3:GetObject", f"{BUCKET}/reports/q3.csv")  # ReadReports alone would allow it
    with pytest.raises(AccountError, match="its group `admins` is not in the export"):
        _without(groups=("admins",)).identity_policies("bob")
    carol = _without(policies=("AdministratorAccess", "DeveloperBoundary"))
    with pytest.raises(AccountError) as caught:
        carol.evaluate("carol", "s3:DeleteObject", f"{BUCKET}/x")
    assert "policy `arn:aws:iam::aws:policy/AdministratorAccess` attached to it is not in the export; its permissions " \
           f"boundary `{BOUNDARY_ARN}`" in str(caught.value)  # every missing document, at once
    with pytest.raises(AccountError, match="attached to its group `admins`"):
        _without(policies=("AdministratorAccess",)).who_can_assume("Deploy")  # bob might be able to


def test_who_may_assume_answers_for_everyone_it_can_and_lists_the_others() -> None:
    # carol's boundary is missing: her answer is unknown, not "no boundary", and the others are still answered.
    found = _without(policies=("DeveloperBoundary",)).assume_candidates(
        "Deploy", context={"aws:MultiFactorAuthPresent": "true"})
    (who, error), = found.unknown
    assert who == "arn:aws:iam::111122223333:user/contractors/carol"
    assert "cannot evaluate user `carol`: its permissions boundary" in str(error)
    assert [p.path for p in error.problems] == [f"Policies[{BOUNDARY_ARN}]"]
    assert [w for w, d in found.decisions if d.allowed] == ["arn:aws:iam::111122223333:user/bob"]
    assert who not in dict(found.decisions) and len(found.decisions) == 4
    with pytest.raises(AccountError, match="cannot evaluate user `carol`"):
        _without(policies=("DeveloperBoundary",)).who_can_assume("Deploy")
    complete = Account.from_file(EXPORT).assume_candidates("Deploy")
    assert complete.unknown == [] and len(complete.decisions) == 5


@pytest.mark.parametrize("source", ["/no/such/export.json", {"Nope": []}, [1, 2]])
def test_unreadable_exports_raise_account_error(source, tmp_path) -> None:
    with pytest.raises(AccountError):
        load_account(source)


def test_invalid_json_file_names_line_and_column(tmp_path) -> None:
    path = tmp_path / "export.json"
    path.write_text('{"UserDetailList": [}')
    with pytest.raises(AccountError, match=r"line 1, column 21: not valid JSON"):
        Account.from_file(path)


def test_pages_are_merged() -> None:
    data = json.loads(EXPORT.read_text())
    pages = [{"UserDetailList": data["UserDetailList"], "IsTruncated": True, "Marker": "x"},
             {k: v for k, v in data.items() if k != "UserDetailList"}]
    account = Account.from_authorization_details(pages)
    assert list(account.users) == ["alice", "bob", "carol"] and len(account.roles) == 3


def test_a_large_export_loads_and_evaluates() -> None:
    data = json.loads(EXPORT.read_text())
    template = data["UserDetailList"][0]
    data["UserDetailList"] = [
        {**template, "UserName": f"user{i:03}", "Arn": f"arn:aws:iam::111122223333:user/user{i:03}",
         "UserId": f"AIDA{i:018}"} for i in range(400)]
    account = Account.from_authorization_details(data)
    allowed = [u for u in account.users if account.evaluate(u, "s3:GetObject", f"{BUCKET}/reports/a.csv").allowed]
    assert len(allowed) == 400
