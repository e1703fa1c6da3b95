"""The IAM entities of an account, as AWS describes them: users, groups, roles, managed
policies and instance profiles, each a frozen dataclass holding what the export holds.

:class:`~iamkit.account.model.Account` gathers them and answers questions about them;
:mod:`iamkit.account.export` builds them from ``get-account-authorization-details``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Mapping

__all__ = ["Group", "Identity", "InstanceProfile", "ManagedPolicy", "Principal", "Role", "User"]


@dataclass(frozen=True)
class ManagedPolicy:
    """A managed policy and its default version.

    Attributes:
        name: the policy's name.
        arn: its ARN (``arn:aws:iam::aws:policy/...`` for AWS managed policies).
        document: the default version's document as a dict.
        default_version: the default version id, such as ``v3``.
        attachment_count: how many identities it is attached to.
    """

    name: str
    arn: str
    document: Mapping[str, Any] = field(repr=False)
    default_version: str = "v1"
    attachment_count: int = 0

    @property
    def aws_managed(self) -> bool:
        """True for policies AWS maintains (``arn:aws:iam::aws:policy/…``)."""
        return ":iam::aws:policy/" in self.arn


@dataclass(frozen=True)
class Identity:
    """What users, groups and roles share (a base class: build a User, Group or Role)."""

    kind: ClassVar[str] = ""
    name: str
    arn: str
    id: str
    path: str
    inline: Mapping[str, Mapping[str, Any]] = field(repr=False)
    attached: tuple[str, ...]
    created: datetime | None

    @property
    def ref(self) -> str:
        """``user/alice``, ``group/developers``, ``role/App``: how traces name it."""
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class Group(Identity):
    """An IAM group: policies attached once for every member."""

    kind: ClassVar[str] = "group"


@dataclass(frozen=True)
class User(Identity):
    """An IAM user: a person (or a legacy application) with long-term credentials."""

    kind: ClassVar[str] = "user"
    groups: tuple[str, ...] = ()
    boundary: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Role(Identity):
    """An IAM role: permissions that principals named in its trust policy may assume."""

    kind: ClassVar[str] = "role"
    trust_policy: Mapping[str, Any] = field(default_factory=dict, repr=False)
    boundary: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    instance_profiles: tuple[str, ...] = ()
    last_used: datetime | None = None


@dataclass(frozen=True)
class InstanceProfile:
    """An instance profile: how an EC2 instance carries a role."""

    name: str
    arn: str
    roles: tuple[str, ...]


Principal = User | Role
