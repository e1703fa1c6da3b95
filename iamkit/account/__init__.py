"""An AWS account: its IAM configuration, activity, MFA devices and the catalog of actions.

================  ================================================================
``model``         :class:`Account`: users, groups, roles and policies, from an export or
                  the sandbox; the policies AWS consults for each principal
``activity``      CloudTrail records read for the permissions they used
``catalog``       AWS's services and actions (Service Authorization Reference data)
``mfa``           virtual MFA devices' codes, and MFA in a request's context
================  ================================================================
"""

from .model import (
    Account,
    AccountError,
    Group,
    InstanceProfile,
    ManagedPolicy,
    Role,
    Session,
    User,
    load_account,
)

__all__ = ["Account", "AccountError", "Group", "InstanceProfile", "ManagedPolicy", "Role", "Session", "User",
           "load_account"]
