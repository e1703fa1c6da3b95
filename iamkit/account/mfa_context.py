"""MFA in a request's context: the keys AWS sets for a request signed with or without MFA,
and AWS's example policy that denies almost everything to a user who did not sign in with MFA.

:func:`mfa_context` returns the context keys AWS sets (or does not set) for a request, and
:data:`ENFORCE_MFA_POLICY` is the policy; the virtual MFA devices that produce the codes are
in :mod:`iamkit.account.mfa`.

Sources:

- The MFA condition keys:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-multifactorauthpresent
- The example policy:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_iam_mfa-selfmanage.html
"""

from __future__ import annotations

from typing import Any

from ..errors import MfaError

__all__ = ["ENFORCE_MFA_POLICY", "MfaError", "mfa_context"]


def mfa_context(present: bool, age_seconds: int | None = None, *, long_term_keys: bool = False) -> dict[str, str]:
    """The MFA keys AWS puts in a request's context, ready to merge into a scenario's ``context``.

    AWS sets ``aws:MultiFactorAuthPresent`` only for requests signed with temporary
    credentials (console sign-in, ``GetSessionToken``, ``AssumeRole``), and
    ``aws:MultiFactorAuthAge`` only when MFA was used. In AWS's words: "The
    `aws:MultiFactorAuthPresent` key is not present when an API or CLI command is called
    with long-term credentials, such as user access key pairs. Therefore we recommend that
    when you check for this key that you use the `...IfExists` versions of the condition
    operators." A Deny with ``Bool`` ``"false"`` lets access-key requests through; a Deny
    with ``BoolIfExists`` ``"false"`` stops them too (see :data:`ENFORCE_MFA_POLICY`).
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-multifactorauthpresent)

    Args:
        present: whether the temporary credentials were obtained with MFA.
        age_seconds: seconds since the MFA sign-in; only with ``present=True``, where it
            defaults to 0 (just signed in), since AWS always sets it then.
        long_term_keys: the request is signed with an IAM user's access keys: AWS sets
            neither key, so the context is empty. Only with ``present=False``.

    Returns:
        ``{"aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthAge": "300"}``,
        ``{"aws:MultiFactorAuthPresent": "false"}``, or ``{}`` for long-term keys.

    Raises:
        MfaError: for a combination AWS never produces (MFA with long-term keys, an age
            without MFA) or an age that is not a whole number of seconds from 0 up.
    """
    if not isinstance(present, bool):
        raise MfaError(f"`present` must be True or False, not `{present!r}`")
    if long_term_keys:
        if present:
            raise MfaError("requests signed with long-term access keys never carry MFA",
                           "to use MFA from the CLI, get temporary credentials with `sts get-session-token "
                           "--serial-number ... --token-code ...` and sign with those (present=True)")
        if age_seconds is not None:
            raise MfaError("`aws:MultiFactorAuthAge` is not present for long-term access keys",
                           "drop `age_seconds`")
        return {}
    if not present:
        if age_seconds is not None:
            raise MfaError("`aws:MultiFactorAuthAge` is not present when MFA was not used",
                           "drop `age_seconds`, or pass present=True")
        return {"aws:MultiFactorAuthPresent": "false"}
    age = 0 if age_seconds is None else age_seconds
    if isinstance(age, bool) or not isinstance(age, int) or age < 0:
        raise MfaError(f"`{age_seconds!r}` is not an MFA age",
                       "give the whole seconds since the MFA sign-in: 0 or more")
    return {"aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthAge": str(age)}


ENFORCE_MFA_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AllowListActions",
            "Effect": "Allow",
            "Action": ["iam:ListUsers", "iam:ListVirtualMFADevices"],
            "Resource": "*",
        },
        {
            "Sid": "AllowUserToCreateVirtualMFADevice",
            "Effect": "Allow",
            "Action": ["iam:CreateVirtualMFADevice"],
            "Resource": "arn:aws:iam::*:mfa/*",
        },
        {
            "Sid": "AllowUserToManageTheirOwnMFA",
            "Effect": "Allow",
            "Action": ["iam:EnableMFADevice", "iam:GetMFADevice", "iam:ListMFADevices", "iam:ResyncMFADevice"],
            "Resource": "arn:aws:iam::*:user/${aws:username}",
        },
        {
            "Sid": "AllowUserToDeactivateTheirOwnMFAOnlyWhenUsingMFA",
            "Effect": "Allow",
            "Action": ["iam:DeactivateMFADevice"],
            "Resource": ["arn:aws:iam::*:user/${aws:username}"],
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        },
        {
            "Sid": "BlockMostAccessUnlessSignedInWithMFA",
            "Effect": "Deny",
            "NotAction": [
                "iam:CreateVirtualMFADevice",
                "iam:EnableMFADevice",
                "iam:ListMFADevices",
                "iam:ListUsers",
                "iam:ListVirtualMFADevices",
                "iam:ResyncMFADevice",
            ],
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        },
    ],
}
"""AWS's example "IAM: Allows IAM users to self-manage an MFA device": a user may set up
and manage their own MFA device at any time, and may do nothing else (even with other
policies allowing it) until they sign in with MFA. The last statement is the one that
enforces MFA: a Deny of everything *except* setting up MFA, ``BoolIfExists`` so that it
also denies requests signed with long-term access keys, where the key is absent. Note
that ``iam:GetMFADevice`` is allowed but not exempted from that Deny, so it too needs MFA.
Copy it before changing it: ``copy.deepcopy(ENFORCE_MFA_POLICY)``.
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_iam_mfa-selfmanage.html)"""
