"""An AWS account: its IAM configuration, activity, MFA devices and the catalog of actions.

================  ================================================================
``model``         :class:`Account`: users, groups, roles and policies, from an export or
                  the sandbox; the policies AWS consults for each principal
``entities``      the users, groups, roles, managed policies and instance profiles
``export``        reading ``get-account-authorization-details`` into those entities
``activity``      CloudTrail records read for the permissions they used
``catalog``       AWS's services and actions (Service Authorization Reference data)
``mfa``           virtual MFA devices: their seeds, codes and QR codes
``mfa_context``   MFA in a request's context, and AWS's policy that enforces it
================  ================================================================
"""

from .entities import Group, InstanceProfile, ManagedPolicy, Role, User
from .model import Account, AccountError, AssumeCandidates, Session, load_account

__all__ = ["Account", "AccountError", "AssumeCandidates", "Group", "InstanceProfile", "ManagedPolicy", "Role", "Session",
           "User", "load_account"]
