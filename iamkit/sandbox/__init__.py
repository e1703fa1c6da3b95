"""The sandbox: a local IAM and STS endpoint, so that real ``aws`` commands and boto3 run with
no AWS account and nothing is sent to AWS.

================  ================================================================
``server``        :class:`Sandbox`: moto's server on loopback and the environment
                  that points the AWS tools at it
``guard``         the loopback guard: nothing leaves the machine while a sandbox runs
``_endpoint``     moto's HTTP server, with AWS-shaped errors (private)
``demo``          the demo companies a sandbox can be seeded with
``_moto``         moto's account, seen from iamkit (private)
================  ================================================================
"""

from ._moto import ACCOUNT_ID, RootAccount, set_root_account
from .demo import COMPANIES, DEMO_NOW, PLANTED_MISTAKES, credential_report, seed_demo
from .guard import guard_active, loopback_only
from .server import Sandbox, SandboxError, current_sandbox, start_sandbox

__all__ = [
    "ACCOUNT_ID",
    "COMPANIES",
    "DEMO_NOW",
    "PLANTED_MISTAKES",
    "RootAccount",
    "Sandbox",
    "SandboxError",
    "credential_report",
    "current_sandbox",
    "guard_active",
    "loopback_only",
    "seed_demo",
    "set_root_account",
    "start_sandbox",
]
