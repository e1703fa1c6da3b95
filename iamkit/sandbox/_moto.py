"""moto's in-process IAM backend: the sandbox account, and what moto does not model (the root user).

The sandbox (:mod:`iamkit.sandbox`) serves this backend; the demo companies
(:mod:`iamkit.sandbox.demo`) and lesson 11 set the root user's state in it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from ..errors import SandboxError

__all__ = ["ACCESS_KEY_ID", "ACCOUNT_ID", "REGION", "SECRET_ACCESS_KEY", "RootAccount", "forget_iam", "iam_backend",
           "prepare_account", "require_moto", "set_root_account"]

ACCOUNT_ID = "123456789012"
"""The sandbox's account: moto's default account id."""

REGION = "us-east-1"
# AWS's documented example credentials: obviously fake, and never valid anywhere.
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

_INSTALL_HINT = "install the workbook extras: pip install 'iamkit[workbook]'"


@dataclass
class RootAccount:
    """What the credential report's ``<root_account>`` row says about the root user.

    Attributes:
        created: when the account was created (``user_creation_time``).
        mfa_active: whether the root user has MFA (also ``AccountMFAEnabled``).
        password_last_used: the last console sign-in, or None for ``no_information``.
        access_key_created: when the root access key was created, or None for no key
            (also ``AccountAccessKeysPresent``).
        access_key_last_used: when the root access key was last used, or None for ``N/A``.
    """

    created: datetime
    mfa_active: bool = False
    password_last_used: datetime | None = None
    access_key_created: datetime | None = None
    access_key_last_used: datetime | None = None

    def csv_row(self, account_id: str) -> str:
        """The ``<root_account>`` line of a credential report, newline included."""
        def when(moment: datetime | None, missing: str) -> str:
            return missing if moment is None else moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")

        key = self.access_key_created is not None
        fields = [
            "<root_account>", f"arn:aws:iam::{account_id}:root", when(self.created, "N/A"),
            "not_supported", when(self.password_last_used, "no_information"), "not_supported", "not_supported",
            "true" if self.mfa_active else "false",
            "true" if key else "false", when(self.access_key_created, "N/A"),
            when(self.access_key_last_used, "N/A") if key else "N/A",
            ("us-east-1" if self.access_key_last_used else "N/A") if key else "N/A",
            ("iam" if self.access_key_last_used else "N/A") if key else "N/A",
            "false", "N/A", "N/A", "N/A", "N/A",
            "false", "N/A", "false", "N/A",
        ]
        return ",".join(fields) + "\n"


def iam_backend(account_id: str = ACCOUNT_ID) -> Any:
    """moto's in-process IAM backend of an account (created on first use)."""
    from moto.backends import get_backend

    return get_backend("iam")[account_id]["aws"]


def forget_iam() -> None:
    """Drop moto's IAM accounts before a reset.

    moto's reset re-creates every backend before dropping it; for IAM that means loading the
    AWS managed policies once more for nothing. Dropping them first is what the reset ends with.
    """
    from moto.backends import get_backend

    get_backend("iam").clear()


def prepare_account(account_id: str = ACCOUNT_ID) -> Any:
    """Create the account's IAM backend now, and give its credential report a root row.

    Returns:
        The backend.
    """
    backend = iam_backend(account_id)
    if "get_credential_report" not in vars(backend):
        original: Callable[[], str] = backend.get_credential_report

        def get_credential_report() -> str:
            header, _, rows = original().partition("\n")
            return header + "\n" + backend._iamkit_root.csv_row(backend.account_id) + rows

        backend.get_credential_report = get_credential_report  # this backend only
    if getattr(backend, "_iamkit_root", None) is None:
        apply_root(backend, RootAccount(created=datetime.now(timezone.utc).replace(microsecond=0)))
    return backend


def apply_root(backend: Any, root: RootAccount) -> None:
    backend._iamkit_root = root
    summary = backend.account_summary
    summary._account_mfa_enabled = 1 if root.mfa_active else 0
    summary._account_access_keys_present = 1 if root.access_key_created is not None else 0


def set_root_account(root: RootAccount, account_id: str = ACCOUNT_ID) -> None:
    """Describe the sandbox account's root user (moto has no root user of its own).

    Sets the credential report's ``<root_account>`` row and ``get-account-summary``'s
    ``AccountMFAEnabled`` / ``AccountAccessKeysPresent``. Works on moto's in-process backend:
    the sandbox of this process.

    Args:
        root: the root user's state.
        account_id: the account, the sandbox's by default.

    Raises:
        SandboxError: moto is not installed.
    """
    require_moto()
    apply_root(prepare_account(account_id), root)


def require_moto() -> None:
    """Raise a :class:`SandboxError` that says what to do where the sandbox cannot run."""
    if sys.platform == "emscripten":  # Pyodide: the workbook's JupyterLite edition
        raise SandboxError("the sandbox cannot run in the browser edition of the workbook: it is a local AWS "
                           "endpoint, and a browser tab cannot serve one",
                           "open this lesson in the full workbook (./scripts/workbook) or on Binder; here, "
                           "the lessons' cells that need no sandbox run, and 06 (deny wins) and 07 "
                           "(conditions) run whole")
    try:
        import moto.server  # noqa: F401
    except ImportError as exc:
        raise SandboxError(f"the sandbox needs moto's server, which is not installed ({exc.name})",
                           _INSTALL_HINT) from None
    try:
        import boto3  # noqa: F401
    except ImportError:
        raise SandboxError("the sandbox needs boto3, which is not installed", _INSTALL_HINT) from None
