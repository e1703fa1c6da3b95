"""pandas tables rendered from the engine's objects: policies, decision traces, outcome matrices
and audit findings, plain and styled for notebooks (text as well as colour, escaped HTML)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from enum import Enum
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

import iamkit
from conftest import CASES, ROOT
from iamkit.account import Account, AccountError
from iamkit.views import tables

ALICE = "arn:aws:iam::111122223333:user/alice"
BOB = "arn:aws:iam::111122223333:user/bob"
BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket"
XSS = '"><img src=x onerror=alert(1)>'
SCRIPT = "</script>"


def scenario(principal: str = ALICE, action: str = "s3:GetObject", resource: str = f"{BUCKET}/report.csv",
             context: dict[str, Any] | None = None, **policies: Any) -> dict[str, Any]:
    return {"request": {"principal": principal, "action": action, "resource": resource, "context": context or {}},
            **policies}


POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "ReadReports", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": [f"{BUCKET}/report.csv", BUCKET]},
        {"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"},
        {"Sid": "OutsideBucket", "Effect": "Deny", "Action": "s3:*", "NotResource": f"{BUCKET}/*"},
        {"Sid": "RequireMfa", "Effect": "Deny", "Action": "s3:*", "Resource": "*",
         "Condition": {"StringEquals": {"aws:username": "alice"},
                       "BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}},
    ],
}
BUCKET_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Account", "Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "s3:GetObject",
         "Resource": f"{BUCKET}/*"},
        {"Sid": "OnlyBob", "Effect": "Deny", "NotPrincipal": {"AWS": BOB}, "Action": "s3:GetObject",
         "Resource": f"{BUCKET}/secret/*"},
    ],
}


@pytest.fixture(scope="module")
def account() -> Account:
    return Account.from_file(CASES / "accounts" / "examplecorp.json")


@pytest.fixture(scope="module")
def mfa_decision() -> iamkit.Decision:
    """alice without MFA: RequireMfa denies; the context key it reads is missing."""
    return iamkit.evaluate(scenario(context={"aws:SourceVpc": "vpc-1"}, identityPolicies=[POLICY],
                                    resourcePolicy=BUCKET_POLICY))


# ── policy_table ──────────────────────────────────────────────────────────────────────


def test_policy_table_has_one_row_per_statement_as_written() -> None:
    policy = iamkit.parse_policy(json.dumps({**POLICY, "Statement": POLICY["Statement"]}, indent=1))
    df = tables.policy_table(policy)
    assert tuple(df.columns) == tables.POLICY_COLUMNS
    assert df["statement"].tolist() == ["ReadReports", "Statement[1]", "OutsideBucket", "RequireMfa"]
    assert df["effect"].tolist() == ["Allow", "Deny", "Deny", "Deny"]
    assert df["action"].tolist() == ["s3:GetObject, s3:ListBucket", "NotAction: s3:*", "s3:*", "s3:*"]
    assert df["resource"].tolist() == [f"{BUCKET}/report.csv, {BUCKET}", "*", f"NotResource: {BUCKET}/*", "*"]
    assert df["principal"].tolist() == ["", "", "", ""]
    assert df.loc[3, "conditions"] == "StringEquals aws:username: alice\nBoolIfExists aws:MultiFactorAuthPresent: false"
    # Lines come from the source text, so a reader can find the statement.
    assert df["line"].tolist() == [st.line for st in policy.statements]
    assert all(isinstance(n, int) and n > 1 for n in df["line"].tolist())


def test_policy_table_shows_principal_blocks_and_unknown_lines() -> None:
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com", "AWS": ["111122223333", BOB]},
         "Action": "sts:AssumeRole"},
        {"Effect": "Deny", "NotPrincipal": {"AWS": BOB}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole", "Condition": {"NumericLessThan": {"x:n": 5}}},
    ]}
    df = tables.policy_table(iamkit.parse_policy(trust, "trust"))
    assert df["principal"].tolist() == [f"Service: ec2.amazonaws.com; AWS: 111122223333, {BOB}",
                                        f"NotPrincipal: AWS: {BOB}", "*"]
    assert df["resource"].tolist() == ["", "", ""]  # trust policies have no resource element
    assert df.loc[2, "conditions"] == "NumericLessThan x:n: 5"
    assert df["line"].isna().all()  # parsed from a dict: no source text


# ── trace_table ───────────────────────────────────────────────────────────────────────


def test_trace_table_has_one_row_per_traced_statement(mfa_decision: iamkit.Decision) -> None:
    d = mfa_decision
    assert d.outcome is iamkit.Outcome.EXPLICIT_DENY
    df = tables.trace_table(d)
    assert tuple(df.columns) == tables.TRACE_COLUMNS
    assert len(df) == len(d.trace)
    by = df.set_index("statement")
    assert by.loc["Account", "layer"] == "resource policy"
    assert by.loc["Account", "principal"] == "Principal: account"
    assert by.loc["Account", "action"] == "s3:GetObject"
    assert by.loc["Account", "resource"] == f"{BUCKET}/*"
    assert by.loc["OnlyBob", "principal"] == "not compared"  # the resource failed first
    assert by.loc["OnlyBob", "resource"] == "no match"
    assert by.loc["ReadReports", "policy"] == "identity policy 0"
    assert by.loc["ReadReports", "resource"] == f"{BUCKET}/report.csv"
    assert by.loc["ReadReports", "principal"] == ""  # identity policies name no principal
    assert by.loc["Statement[1]", "action"] == "excluded by NotAction: s3:*"
    assert by.loc["Statement[1]", "resource"] == "not compared"
    assert by.loc["OutsideBucket", "resource"] == f"excluded by NotResource: {BUCKET}/*"
    row = by.loc["RequireMfa"]
    assert row["conditions"].split("\n") == [
        "StringEquals aws:username: request `alice` vs policy `alice` → true",
        "BoolIfExists aws:MultiFactorAuthPresent: missing from the request vs policy `false` → true",
    ]
    assert row["values compared"] == "aws:username = `alice`"
    assert row["missing keys"] == "aws:MultiFactorAuthPresent"
    assert df["applies"].dtype == bool and df["determining"].dtype == bool


def test_trace_table_missing_keys_are_the_decisions_record() -> None:
    # A policy variable with no value in the request is a missing key too: in Resource the
    # statement matches nothing, in a condition the condition is false
    # (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html,
    # "Request information that you can use for policy variables").
    d = iamkit.evaluate({
        "request": {"principal": "arn:aws:iam::111122223333:user/alice", "action": "s3:GetObject",
                    "resource": f"{BUCKET}/home/alice/x"},
        "identityPolicies": [{"Version": "2012-10-17", "Statement": [
            {"Sid": "Home", "Effect": "Allow", "Action": "s3:GetObject",
             "Resource": f"{BUCKET}/home/${{aws:PrincipalTag/team}}/*"},
            {"Sid": "Tagged", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
             "Condition": {"StringEquals": {"s3:prefix": "${aws:PrincipalTag/dept}"}}}]}]})
    by = tables.trace_table(d).set_index("statement")
    assert by.loc["Home", "missing keys"] == "aws:PrincipalTag/team"
    assert by.loc["Tagged", "missing keys"] == "s3:prefix, aws:PrincipalTag/dept"
    cells = [key for cell in by["missing keys"] if cell for key in cell.split(", ")]
    assert tuple(cells) == d.missing_context_keys


def test_trace_table_flags_the_determining_statements(mfa_decision: iamkit.Decision) -> None:
    df = tables.trace_table(mfa_decision)
    # Allows applied too (ReadReports, the bucket policy), but the Deny decided.
    assert set(df.loc[df["applies"], "statement"]) == {"Account", "ReadReports", "RequireMfa"}
    assert df.loc[df["determining"], "statement"].tolist() == ["RequireMfa"]
    assert df.loc[df["determining"], "statement"].tolist() == [t.statement.label for t in mfa_decision.determining]


def test_trace_table_names_the_account_policy_that_decided(account: Account) -> None:
    d = account.evaluate("carol", "s3:DeleteObject", f"{BUCKET}/x")
    df = tables.trace_table(d)
    assert df["layer"].tolist() == ["identity policy"] * 4 + ["permissions boundary"]
    assert df["policy"].tolist() == [
        "inline policy `NoDeletes` in user `carol`",
        "managed policy `AdministratorAccess` attached to user `carol`",
        "inline policy `TeamPrefix` in group `developers`",
        "managed policy `ReadReports` attached to group `developers`",
        "permissions boundary `DeveloperBoundary` of user `carol`",
    ]
    assert df.loc[df["determining"], "policy"].tolist() == ["inline policy `NoDeletes` in user `carol`"]
    assert df["applies"].tolist() == [True, True, False, False, True]
    assert df.attrs["iamkit.caption"] == (f"explicitDeny: arn:aws:iam::111122223333:user/contractors/carol → "
                                          f"s3:DeleteObject on {BUCKET}/x")


def test_trace_table_of_a_trust_policy_with_a_missing_key(account: Account) -> None:
    d = account.evaluate("alice", "sts:AssumeRole", "arn:aws:iam::111122223333:role/Deploy")
    row = tables.trace_table(d).set_index("statement").loc["Account"]
    assert row["policy"] == "trust policy `Deploy` of role `Deploy`"
    assert row["resource"] == ""  # trust policies have no resource element
    assert row["principal"] == "Principal: account"
    assert row["missing keys"] == "aws:MultiFactorAuthPresent"
    assert row["values compared"] == ""
    assert not row["applies"] and not row["determining"]


# ── matrix ────────────────────────────────────────────────────────────────────────────


def test_matrix_pivots_principal_by_action() -> None:
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*",
         "Condition": {"StringEquals": {"aws:username": "bob"}}},
        {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "*"},
    ]}
    decisions = [iamkit.evaluate(scenario(principal=p, action=a, identityPolicies=[policy]))
                 for p in (BOB, ALICE) for a in ("s3:GetObject", "s3:DeleteObject", "s3:PutObject")]
    df = tables.matrix(decisions)
    assert df.index.name == "principal" and df.columns.name == "action"
    assert df.index.tolist() == [BOB, ALICE]  # order of first appearance
    assert df.columns.tolist() == ["s3:GetObject", "s3:DeleteObject", "s3:PutObject"]
    assert df.to_dict("split")["data"] == [
        ["allowed", "explicitDeny", "implicitDeny"],
        ["allowed", "allowed", "implicitDeny"],
    ]
    # A pair with no decision is missing, not guessed.
    partial = tables.matrix([decisions[0], decisions[4]])
    assert partial.loc[BOB, "s3:GetObject"] == "allowed" and pd.isna(partial.loc[BOB, "s3:DeleteObject"])
    with pytest.raises(ValueError, match="two decisions for .* make one matrix per resource"):
        tables.matrix([decisions[0], decisions[0]])
    assert tables.matrix([]).empty


def test_account_matrix_evaluates_each_cell_with_the_engine(account: Account) -> None:
    actions = ["s3:GetObject", "s3:DeleteObject", "iam:CreateUser"]
    df = tables.account_matrix(account, ["bob", "carol", "role/Deploy", "alice"], actions, f"{BUCKET}/reports/q1.csv")
    assert df.index.tolist() == ["bob", "carol", "role/Deploy", "alice"]  # labelled as given
    assert df.columns.tolist() == actions
    expected = {(p, a): account.evaluate(p, a, f"{BUCKET}/reports/q1.csv").outcome.value
                for p in df.index for a in actions}
    assert {(p, a): df.loc[p, a] for p in df.index for a in actions} == expected
    assert df.loc["carol"].tolist() == ["allowed", "explicitDeny", "implicitDeny"]  # boundary and NoDeletes
    assert df.loc["bob"].tolist() == ["allowed", "allowed", "allowed"]
    assert df.loc["alice", "s3:GetObject"] == "allowed"  # ReadReports, through the developers group
    every = tables.account_matrix(account, None, ["s3:GetObject"])
    assert every.index.tolist() == [p.ref for p in account.principals()]
    with pytest.raises(AccountError):
        tables.account_matrix(account, ["mallory"], ["s3:GetObject"])


# ── findings_table ────────────────────────────────────────────────────────────────────


class Severity(str, Enum):
    HIGH = "high"
    LOW = "low"


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    principal: str
    title: str
    why: str
    fix: str
    evidence: tuple[str, ...]
    docs: tuple[str, ...]


FINDINGS = [
    Finding("admin-without-mfa", Severity.HIGH, "user/bob", "bob is an administrator without MFA",
            "AdministratorAccess allows every action", "require MFA", ("group/admins", "AdministratorAccess"),
            ("https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa.html",)),
    Finding("unused-role", Severity.LOW, "role/Deploy", "Deploy was never used", "unused roles widen the attack surface",
            "delete it", (), ()),
]


def test_findings_table_takes_a_report_or_any_iterable_of_findings() -> None:
    report = SimpleNamespace(findings=FINDINGS)
    df = tables.findings_table(report)
    assert tuple(df.columns) == tables.FINDING_COLUMNS
    assert df["rule"].tolist() == ["admin-without-mfa", "unused-role"]
    assert df["severity"].tolist() == ["high", "low"]  # enums by value
    assert df.loc[0, "evidence"] == "group/admins\nAdministratorAccess"
    assert df.loc[1, "evidence"] == ""
    assert tables.findings_table(iter(FINDINGS)).equals(df)
    duck = SimpleNamespace(rule="r", severity="medium", principal=None, title="t", why="w", fix="f",
                           evidence="one line", docs="https://example.com")
    row = tables.findings_table([duck]).iloc[0]
    assert row["severity"] == "medium" and row["evidence"] == "one line" and row["principal"] is None
    # iamkit.analysis.audit's findings carry JSON-ready evidence: one line a key.
    facts = SimpleNamespace(rule="r", severity="low", principal="p", title="t", why="w", fix="f",
                            evidence={"age_days": 400, "keys": ["AKIA1", "AKIA2"], "last_used": None}, docs="")
    assert tables.findings_table([facts]).loc[0, "evidence"] == "age_days: 400\nkeys: AKIA1, AKIA2\nlast_used: None"
    assert tables.findings_table([]).columns.tolist() == list(tables.FINDING_COLUMNS)


# ── styled: text as well as colour, escaped HTML ──────────────────────────────────────


def test_styled_matrix_says_the_outcome_in_words_and_colour(account: Account) -> None:
    df = tables.account_matrix(account, ["bob", "carol", "alice"], ["s3:DeleteObject", "iam:CreateUser"], f"{BUCKET}/x")
    html = tables.styled(df).to_html()
    for marker in ("✔ allowed", "✖ explicit deny", "· implicit deny"):
        assert marker in html
    for colour in ("#cceee3", "#f7d7bf", "#faebc6"):  # Okabe–Ito tints of #009e73, #d55e00, #e69f00
        assert colour in html
    assert 'class="iamkit-table iamkit-matrix"' in html
    partial = tables.matrix([account.evaluate("bob", "s3:GetObject")]).reindex(columns=["s3:GetObject", "s3:PutObject"])
    assert "— not evaluated" in tables.styled(partial).to_html()


def test_styled_trace_marks_applies_and_determining_in_text(mfa_decision: iamkit.Decision) -> None:
    html = tables.styled(tables.trace_table(mfa_decision)).to_html()
    assert html.count("★ determining") == 1
    assert html.count("✔ applies") == 3
    assert "· does not apply" in html
    assert "<caption>explicitDeny: arn:aws:iam::111122223333:user/alice → s3:GetObject" in html
    # A filtered table keeps its kind, so it is still dressed.
    applying = tables.trace_table(mfa_decision).query("applies")
    assert "· does not apply" not in tables.styled(applying).to_html()
    lost = pd.DataFrame(tables.trace_table(mfa_decision).to_dict("list"))  # attrs gone
    assert "★ determining" in tables.styled(lost).to_html()


def test_styled_findings_link_only_https_docs() -> None:
    odd = SimpleNamespace(rule="r", severity="high", principal="p", title=XSS, why=SCRIPT, fix="f",
                          evidence=(XSS,), docs=("javascript:alert(1)", f"https://example.com/{XSS}"))
    html = tables.styled(tables.findings_table([*FINDINGS, odd])).to_html()
    assert '<a href="https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa.html"' in html
    assert 'href="javascript' not in html
    assert "<img" not in html and SCRIPT not in html


def test_styled_tables_escape_every_user_string(account: Account) -> None:
    # Payloads in Sids, context values, principal names (the request ARN) and policy names.
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": XSS + SCRIPT, "Effect": "Allow", "Action": "s3:*", "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceVpc": SCRIPT}}}]}
    evil_arn = f"arn:aws:iam::111122223333:user/{XSS}{SCRIPT}"
    d = iamkit.evaluate(scenario(principal=evil_arn, context={"aws:SourceVpc": XSS}, identityPolicies=[policy]))
    export = json.loads((CASES / "accounts" / "examplecorp.json").read_text())
    export["UserDetailList"].append({
        "UserName": XSS, "UserId": "AIDAEVIL", "Arn": evil_arn, "Path": "/", "GroupList": [],
        "UserPolicyList": [{"PolicyName": SCRIPT + XSS, "PolicyDocument": policy}]})
    evil = Account.from_authorization_details(export)
    user = evil.users[XSS]
    views = {
        "policy": tables.policy_table(iamkit.parse_policy(policy, name=SCRIPT)),
        "trace": tables.trace_table(d),
        "account trace": tables.trace_table(evil.evaluate(user, "s3:GetObject", context={"aws:SourceVpc": XSS})),
        "matrix": tables.matrix([d]),
        "account matrix": tables.account_matrix(evil, [evil_arn, "bob"], ["s3:GetObject", "s3:PutObject"]),
    }
    assert SCRIPT in views["account trace"].to_string()  # the payloads really are in the tables
    for name, df in views.items():
        html = tables.styled(df).to_html()
        assert "<img" not in html, name
        assert SCRIPT not in html, name
        assert "&lt;img src=x onerror=alert(1)&gt;" in html, name
        assert "&lt;/script&gt;" in html, name


def test_styled_html_is_deterministic_and_distinct_per_table(account: Account) -> None:
    first = tables.styled(tables.account_matrix(account, ["bob"], ["s3:GetObject"])).to_html()
    again = tables.styled(tables.account_matrix(account, ["bob"], ["s3:GetObject"])).to_html()
    other = tables.styled(tables.account_matrix(account, ["alice"], ["s3:GetObject"])).to_html()
    assert first == again
    assert first.split('id="', 1)[1][:20] != other.split('id="', 1)[1][:20]  # no CSS clashes between tables


def test_column_order_is_fixed() -> None:
    assert tables.POLICY_COLUMNS == ("statement", "effect", "action", "resource", "principal", "conditions", "line")
    assert tables.TRACE_COLUMNS == ("layer", "policy", "statement", "effect", "action", "resource", "principal",
                                    "conditions", "values compared", "missing keys", "applies", "determining")
    assert tables.FINDING_COLUMNS == ("rule", "severity", "principal", "title", "why", "fix", "evidence", "docs")
    assert tables.__all__ == sorted(tables.__all__)


def test_the_engine_does_not_import_pandas() -> None:
    code = "import sys, iamkit; iamkit.evaluate; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"
