"""ExampleCorp: a small, deterministic company to explore in the sandbox.

Two versions of the same company, built through boto3 against the sandbox:

- ``"demo"``: ExampleCorp with the mistakes an audit should find, listed in
  :data:`PLANTED_MISTAKES` as ``(rule id, principal name)``;
- ``"clean"``: the same company with every mistake fixed.

ExampleCorp (account ``123456789012``, alias ``examplecorp``):

=============  ===================================================================
groups         ``admins`` (AdministratorAccess), ``developers`` (PowerUserAccess),
               ``read-only`` (ReadOnlyAccess), ``billing`` (job-function/Billing)
users          alice, bob, carol, dave, erin, frank, mallory, tagged ``team``/``project``
policies       ``BucketReader`` and ``DeveloperBoundary`` (customer managed)
roles          ``app-server`` (EC2, with an instance profile), ``report-generator``
               (Lambda), ``developer-functions`` (Lambda, with the ``DeveloperBoundary``
               permissions boundary), ``partner-audit`` (account 444455556666, with an
               ExternalId), ``legacy-deploy`` (the build system; its inline policy
               ``launch-app-servers`` passes a role to EC2), ``vendor-access``
demo only      the ``ContractorFullAccess`` policy and the ``old-migration`` role (trusts
               GitHub Actions)
=============  ===================================================================

Ages are set in moto's in-process backend relative to :data:`DEMO_NOW`, so that "older than
90 days" has one answer whatever today's date is: evaluate ages against ``DEMO_NOW``.

moto keeps permissions boundaries on roles only (``put-user-permissions-boundary`` is not
implemented), so the developers' boundary sits on the role they deploy functions with.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import struct
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Sequence

from ..errors import SandboxError
from ._moto import RootAccount, set_root_account

__all__ = [
    "COMPANIES",
    "DEMO_NOW",
    "PARTNER_ACCOUNT",
    "PLANTED_MISTAKES",
    "VENDOR_ACCOUNT",
    "authorization_details",
    "credential_report",
    "mfa_codes",
    "seed_demo",
]

DEMO_NOW = datetime(2026, 11, 30, tzinfo=timezone.utc)
"""The demo's "today": every date in the demo is a whole number of days before it."""

COMPANIES = ("demo", "clean")
"""The names :func:`seed_demo` accepts."""

PARTNER_ACCOUNT = "444455556666"
"""An auditing partner, trusted by ``partner-audit`` with an ExternalId."""
VENDOR_ACCOUNT = "777788889999"
"""A vendor, trusted by ``vendor-access`` (without a condition in ``"demo"``)."""

PLANTED_MISTAKES: list[tuple[str, str]] = [
    ("user-no-mfa", "carol"),                          # console password, no MFA
    ("user-no-mfa", "frank"),                          # console password, no MFA (and never used)
    ("password-never-used", "frank"),                  # console password created 30 days ago, never used
    ("access-key-old", "bob"),                         # active key created 200 days ago
    ("access-key-unused", "erin"),                     # active key created 10 days ago, never used
    ("access-keys-two-active", "dave"),                # two active keys
    ("inline-policy", "dave"),                         # inline policy `scratch-bucket`
    ("policy-attached-to-user", "mallory"),            # ContractorFullAccess attached to the user
    ("admin-wildcard", "ContractorFullAccess"),        # customer managed: Action "*" on Resource "*"
    ("trust-wildcard-principal", "legacy-deploy"),     # trusts "AWS": "*"
    ("broad-grant", "legacy-deploy"),                  # inline `launch-app-servers`: iam:PassRole on "*"
    ("trust-github-no-sub", "old-migration"),          # trusts GitHub's OIDC provider, no `sub` condition
    ("trust-account-no-condition", "vendor-access"),   # trusts 777788889999's root, no condition
    ("role-unused", "old-migration"),                  # created 400 days ago, never used
    ("root-access-keys", "<root_account>"),            # the root user has an active access key
    ("root-no-mfa", "<root_account>"),                 # the root user has no MFA
]
"""Every finding an audit of ``"demo"`` should report, as ``(rule id, principal name)``.

The principal is a user or role name, a policy name for ``admin-wildcard``, and
``<root_account>`` (the credential report's name) for the root user. ``"clean"`` has none.
"""

ClientFactory = Callable[[str], Any]


# ---------------------------------------------------------------------------------------------
# The company, as data


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _trust(principal: dict[str, Any] | str, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return _policy(statement)


AWS_POLICY = "arn:aws:iam::aws:policy/"
_GITHUB_ISSUER = "token.actions.githubusercontent.com"
BUCKET = "amzn-s3-demo-bucket"

_POLICIES: dict[str, tuple[str, dict[str, Any]]] = {
    "BucketReader": ("Read the reports bucket", _policy(
        {"Sid": "ListReports", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"},
        {"Sid": "ReadReports", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"},
    )),
    "DeveloperBoundary": ("The most a developer can ever be allowed", _policy(
        {"Sid": "AppServices", "Effect": "Allow",
         "Action": ["s3:*", "dynamodb:*", "lambda:*", "logs:*", "cloudwatch:*"], "Resource": "*"},
        {"Sid": "NoIdentityChanges", "Effect": "Deny", "Action": "iam:*", "Resource": "*"},
    )),
    "ContractorFullAccess": ("Temporary access for the migration contractor", _policy(
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
    )),
}

_GROUPS: dict[str, str] = {
    "admins": AWS_POLICY + "AdministratorAccess",
    "developers": AWS_POLICY + "PowerUserAccess",
    "read-only": AWS_POLICY + "ReadOnlyAccess",
    "billing": AWS_POLICY + "job-function/Billing",
}


@dataclass(frozen=True)
class _Key:
    created: int                 # days before DEMO_NOW
    last_used: int | None        # days before DEMO_NOW; None: never used


@dataclass(frozen=True)
class _User:
    name: str
    team: str
    project: str
    created: int
    groups: tuple[str, ...] = ()
    console: bool = False
    password_last_used: int | None = None
    mfa: bool = False
    keys: tuple[_Key, ...] = ()
    attached: tuple[str, ...] = ()                      # customer managed policy names
    inline: tuple[tuple[str, dict[str, Any]], ...] = ()


@dataclass(frozen=True)
class _Role:
    name: str
    description: str
    trust: dict[str, Any]
    policies: tuple[str, ...]                           # ARNs, or customer managed policy names
    created: int
    last_used: int | None
    instance_profile: bool = False
    boundary: str | None = None                         # customer managed policy name
    inline: tuple[tuple[str, dict[str, Any]], ...] = ()


def _users(demo: bool) -> list[_User]:
    scratch = _policy({"Effect": "Allow", "Action": "s3:*",
                       "Resource": ["arn:aws:s3:::examplecorp-scratch-dave", "arn:aws:s3:::examplecorp-scratch-dave/*"]})
    return [
        _User("alice", "platform", "atlas", 700, ("developers",), console=True, password_last_used=1, mfa=True,
              keys=(_Key(60, 1),)),
        _User("bob", "platform", "atlas", 900, ("admins",), console=True, password_last_used=2, mfa=True,
              keys=(_Key(200 if demo else 30, 1),)),
        _User("carol", "finance", "ledger", 500, ("read-only", "billing"), console=True, password_last_used=3,
              mfa=not demo),
        _User("dave", "data", "lake", 400, ("developers",),
              keys=(_Key(80, 2), _Key(10, 1)) if demo else (_Key(10, 1),),
              inline=(("scratch-bucket", scratch),) if demo else ()),
        _User("erin", "data", "lake", 20, ("developers",), keys=(_Key(10, None if demo else 3),)),
        _User("frank", "support", "helpdesk", 30, ("read-only",), console=True,
              password_last_used=None if demo else 5, mfa=not demo),
        _User("mallory", "contractors", "migration", 45, () if demo else ("developers",),
              keys=(_Key(40, 1),), attached=("ContractorFullAccess",) if demo else ()),
    ]


def _roles(demo: bool, account: str) -> list[_Role]:
    external_id = {"StringEquals": {"sts:ExternalId": "examplecorp-7f3a9c"}}
    # The build system launches the application servers: it passes their role to EC2. In "demo" it may
    # pass any role, so whoever assumes it can launch an instance with any role's permissions.
    launch = _policy({"Sid": "LaunchAppServers", "Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"},
                     {"Sid": "PassAppServerRole", "Effect": "Allow", "Action": "iam:PassRole",
                      "Resource": f"arn:aws:iam::{account}:role/app-server",
                      "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}})
    if demo:
        launch = _policy({"Effect": "Allow", "Action": ["ec2:RunInstances", "iam:PassRole"], "Resource": "*"})
    github = f"arn:aws:iam::{account}:oidc-provider/{_GITHUB_ISSUER}"
    roles = [
        _Role("app-server", "The application servers (EC2)", _trust({"Service": "ec2.amazonaws.com"}),
              ("BucketReader",), 300, 1, instance_profile=True),
        _Role("report-generator", "Builds the nightly reports (Lambda)", _trust({"Service": "lambda.amazonaws.com"}),
              (AWS_POLICY + "service-role/AWSLambdaBasicExecutionRole", "BucketReader"), 250, 1),
        _Role("developer-functions", "Functions the developers deploy, capped by DeveloperBoundary",
              _trust({"Service": "lambda.amazonaws.com"}),
              (AWS_POLICY + "service-role/AWSLambdaBasicExecutionRole", AWS_POLICY + "PowerUserAccess"), 100, 4,
              boundary="DeveloperBoundary"),
        _Role("partner-audit", "The auditing partner's read-only access",
              _trust({"AWS": f"arn:aws:iam::{PARTNER_ACCOUNT}:root"}, external_id),
              (AWS_POLICY + "SecurityAudit",), 200, 5),
        _Role("legacy-deploy", "Deployments from the build system",
              _trust({"AWS": "*"}) if demo else _trust({"Service": "codebuild.amazonaws.com"}),
              (AWS_POLICY + "PowerUserAccess",), 500, 2, inline=(("launch-app-servers", launch),)),
        _Role("vendor-access", "The monitoring vendor's read-only access",
              _trust({"AWS": f"arn:aws:iam::{VENDOR_ACCOUNT}:root"}, None if demo else external_id),
              (AWS_POLICY + "ReadOnlyAccess",), 150, 3),
    ]
    if demo:
        # Run from GitHub Actions; its trust checks the token's audience but not which repository it is for.
        roles.append(_Role("old-migration", "The 2025 data-centre migration, run from GitHub Actions",
                           _policy({"Effect": "Allow", "Principal": {"Federated": github},
                                    "Action": "sts:AssumeRoleWithWebIdentity",
                                    "Condition": {"StringEquals": {f"{_GITHUB_ISSUER}:aud": "sts.amazonaws.com"}}}),
                           (AWS_POLICY + "AdministratorAccess",), 400, None))
    return roles


def _root(demo: bool) -> RootAccount:
    if demo:
        return RootAccount(created=_ago(1500), mfa_active=False, password_last_used=_ago(20),
                           access_key_created=_ago(30), access_key_last_used=_ago(2))
    return RootAccount(created=_ago(1500), mfa_active=True, password_last_used=_ago(60))


def _ago(days: int) -> datetime:
    return DEMO_NOW - timedelta(days=days)


# ---------------------------------------------------------------------------------------------
# Building it


def seed_demo(client_factory: ClientFactory, name: str = "demo") -> None:
    """Create ExampleCorp in an empty sandbox account through boto3, with deterministic dates.

    Every resource is created with the API calls a learner would type; then the dates AWS
    would have recorded over the company's history (creation, last use) are set in moto's
    in-process IAM backend, relative to :data:`DEMO_NOW`.

    Args:
        client_factory: a function of a service name returning a boto3 client bound to the
            sandbox, such as ``Sandbox.client``.
        name: ``"demo"`` (with :data:`PLANTED_MISTAKES`) or ``"clean"``.

    Raises:
        SandboxError: unknown name, or the endpoint is not this process's sandbox (dates can
            only be set in an in-process moto).
    """
    if name not in COMPANIES:
        raise SandboxError(f"unknown demo company `{name}`", f"choose one of {', '.join(COMPANIES)}")
    demo = name == "demo"
    iam = client_factory("iam")
    account = client_factory("sts").get_caller_identity()["Account"]
    arns: dict[str, str] = {}

    iam.create_account_alias(AccountAlias="examplecorp")
    for policy_name, (description, document) in _POLICIES.items():
        if policy_name == "ContractorFullAccess" and not demo:
            continue
        arns[policy_name] = iam.create_policy(PolicyName=policy_name, PolicyDocument=json.dumps(document),
                                              Description=description)["Policy"]["Arn"]
    for group, policy_arn in _GROUPS.items():
        iam.create_group(GroupName=group)
        iam.attach_group_policy(GroupName=group, PolicyArn=policy_arn)

    users = _users(demo)
    for user in users:
        iam.create_user(UserName=user.name, Tags=[{"Key": "team", "Value": user.team},
                                                  {"Key": "project", "Value": user.project}])
        for group in user.groups:
            iam.add_user_to_group(GroupName=group, UserName=user.name)
        if user.console:
            iam.create_login_profile(UserName=user.name, Password=f"Example-{user.name}-2026!")
        if user.mfa:
            device = iam.create_virtual_mfa_device(VirtualMFADeviceName=user.name)["VirtualMFADevice"]
            code1, code2 = mfa_codes(device["Base32StringSeed"], DEMO_NOW)
            iam.enable_mfa_device(UserName=user.name, SerialNumber=device["SerialNumber"],
                                  AuthenticationCode1=code1, AuthenticationCode2=code2)
        for _ in user.keys:
            iam.create_access_key(UserName=user.name)
        for policy_name in user.attached:
            iam.attach_user_policy(UserName=user.name, PolicyArn=arns[policy_name])
        for policy_name, document in user.inline:
            iam.put_user_policy(UserName=user.name, PolicyName=policy_name, PolicyDocument=json.dumps(document))

    roles = _roles(demo, account)
    for role in roles:
        extra = {"PermissionsBoundary": arns[role.boundary]} if role.boundary else {}
        iam.create_role(RoleName=role.name, Description=role.description,
                        AssumeRolePolicyDocument=json.dumps(role.trust), Tags=[{"Key": "team", "Value": "platform"}],
                        **extra)
        for policy in role.policies:
            iam.attach_role_policy(RoleName=role.name, PolicyArn=arns.get(policy, policy))
        for policy_name, document in role.inline:
            iam.put_role_policy(RoleName=role.name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
        if role.instance_profile:
            iam.create_instance_profile(InstanceProfileName=role.name)
            iam.add_role_to_instance_profile(InstanceProfileName=role.name, RoleName=role.name)

    _set_history(account, users, roles)
    set_root_account(_root(demo), account)


def _set_history(account: str, users: list[_User], roles: list[_Role]) -> None:
    """Set creation and last-use dates in moto's in-process backend."""
    from moto.backends import get_backend
    from moto.iam.models import AccessKeyLastUsed

    backend: Any = get_backend("iam")[account]["aws"]
    if any(user.name not in backend.users for user in users):
        raise SandboxError("the demo company was created on another endpoint than this process's sandbox",
                           "seed through `Sandbox.seed()`, or `iamkit sandbox start --seed demo`")
    company_created = _ago(1500)
    for policy in backend.managed_policies.values():
        if policy.account_id == account and "iam::aws:" not in policy.arn:
            policy.create_date = policy.update_date = company_created
            for version in policy.versions:
                version.create_date = company_created
    for group in backend.groups.values():
        group.create_date = company_created
    for user in users:
        model: Any = backend.users[user.name]
        model.create_date = _ago(user.created)
        model.password_last_used = None if user.password_last_used is None else _ago(user.password_last_used)
        for device in model.mfa_devices.values():
            device.enable_date = _ago(user.created)
        for key, spec in zip(model.access_keys, user.keys, strict=True):
            key.create_date = _ago(spec.created)
            key.last_used = None if spec.last_used is None else AccessKeyLastUsed(
                timestamp=_ago(spec.last_used), service="s3", region="us-east-1")
    for device in backend.virtual_mfa_devices.values():
        if device.user is not None:
            device.enable_date = _ago(next(u.created for u in users if u.name == device.user.name))
            if device.user_attribute is not None:
                device.user_attribute["CreateDate"] = device.user.create_date
    for role in roles:
        model = backend.get_role(role.name)
        model.create_date = _ago(role.created)
        model.last_used = None if role.last_used is None else _ago(role.last_used)
        model.last_used_region = None if role.last_used is None else "us-east-1"
        if role.instance_profile:
            for profile in backend.instance_profiles.values():
                if profile.name == role.name:
                    profile.create_date = _ago(role.created)


# ---------------------------------------------------------------------------------------------
# Reading the account back, as an audit would


def mfa_codes(seed: str | bytes, at: datetime | None = None) -> tuple[str, str]:
    """Two consecutive TOTP codes (RFC 6238: SHA-1, 30 s, 6 digits), as ``enable-mfa-device`` wants.

    Args:
        seed: the device's ``Base32StringSeed`` (text, or the bytes boto3 returns).
        at: the moment of the second code; now by default.

    Returns:
        ``(code1, code2)``: the codes of the previous and the current 30-second step.
    """
    text = seed.decode("ascii") if isinstance(seed, bytes) else seed
    key = base64.b32decode(text.strip().upper() + "=" * (-len(text.strip()) % 8))
    step = int((at.timestamp() if at is not None else time.time()) // 30)

    def code(counter: int) -> str:
        digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
        offset = digest[-1] & 0x0F
        value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
        return f"{value % 1_000_000:06d}"

    return code(step - 1), code(step)


def credential_report(client: Any, *, attempts: int = 20) -> str:
    """Generate the account's credential report, then fetch it.

    Args:
        client: a boto3 IAM client.
        attempts: how many times to ask while AWS is still generating the report.

    Returns:
        The report as CSV text, one row per user, the ``<root_account>`` row first.

    Raises:
        SandboxError: the report was still not ready after ``attempts`` tries.
    """
    from botocore.exceptions import ClientError

    for attempt in range(attempts):
        state = client.generate_credential_report().get("State")
        if state == "COMPLETE" or attempt == attempts - 1:
            try:
                content = client.get_credential_report()["Content"]
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in ("ReportNotPresent", "ReportInProgress",
                                                                     "ReportExpired"):
                    raise
            else:
                return content.decode("utf-8") if isinstance(content, bytes) else str(content)
        if state != "COMPLETE":
            time.sleep(min(0.05 * 2 ** attempt, 2.0))
    raise SandboxError("the credential report was not ready in time", "ask again in a few seconds")


_DETAIL_KEYS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")


def authorization_details(client: Any, *, filter: Sequence[str] | None = None) -> dict[str, Any]:
    """Every page of ``get_account_authorization_details``, merged into one response.

    Args:
        client: a boto3 IAM client.
        filter: AWS's ``Filter``: entity types among ``User``, ``Role``, ``Group``,
            ``LocalManagedPolicy`` and ``AWSManagedPolicy``; None for everything. The sandbox
            lists every AWS managed policy (about 1,600, a few megabytes), attached or not:
            ``["User", "Role", "Group", "LocalManagedPolicy"]`` is much faster.

    Returns:
        ``{"UserDetailList": [...], "GroupDetailList": [...], "RoleDetailList": [...],
        "Policies": [...]}``, AWS's shape, policy documents decoded to dicts by boto3. moto
        leaves out each policy's ``PolicyName``; it is filled in from the ARN.
    """
    merged: dict[str, Any] = {key: [] for key in _DETAIL_KEYS}
    arguments = {} if filter is None else {"Filter": list(filter)}
    for page in client.get_paginator("get_account_authorization_details").paginate(**arguments):
        for key in _DETAIL_KEYS:
            merged[key].extend(page.get(key, []))
    for policy in merged["Policies"]:
        policy.setdefault("PolicyName", policy["Arn"].rsplit("/", 1)[-1])
    return merged
