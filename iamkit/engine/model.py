"""The parsed policy: what :mod:`iamkit.engine.policy` makes of a document and the evaluator reads.

:class:`Policy` holds its :class:`Statement` s in order, each with its :class:`Condition` s
already bound to their operators; :class:`PolicyKind` says where a policy is attached, and
:class:`Origin` where it came from (the user, group or role, managed or inline), so that a
Decision can name it. Everything here is immutable. Import these names from
:mod:`iamkit.engine.policy`, the policy's public home.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterator, Mapping, NamedTuple

from ..errors import Problem
from .conditions import OperatorSpec

__all__ = ["OLD_VERSION", "VERSION", "Condition", "Origin", "Policy", "PolicyKind", "Statement"]

VERSION = "2012-10-17"
OLD_VERSION = "2008-10-17"


class PolicyKind(str, Enum):
    """Where a policy is attached, which decides the elements it may hold."""

    IDENTITY = "identity"
    RESOURCE = "resource"
    TRUST = "trust"
    BOUNDARY = "boundary"
    SESSION = "session"
    SCP = "scp"
    RCP = "rcp"

    @property
    def label(self) -> str:
        """A human name: "identity policy", "role trust policy", …"""
        return _LABELS[self]

    @property
    def has_principal(self) -> bool:
        """True for the kinds that must name a principal (resource-based policies)."""
        return self in (PolicyKind.RESOURCE, PolicyKind.TRUST, PolicyKind.RCP)


_LABELS = {
    PolicyKind.IDENTITY: "identity policy",
    PolicyKind.RESOURCE: "resource policy",
    PolicyKind.TRUST: "role trust policy",
    PolicyKind.BOUNDARY: "permissions boundary",
    PolicyKind.SESSION: "session policy",
    PolicyKind.SCP: "service control policy",
    PolicyKind.RCP: "resource control policy",
}


class Condition(NamedTuple):
    """One key of one operator in a ``Condition`` block, with its policy values."""

    operator: OperatorSpec
    key: str
    values: tuple[Any, ...]


class Statement(NamedTuple):
    """One statement of a policy.

    Attributes:
        number: 0-based place in the ``Statement`` list (0 for a lone statement object).
        path: JSON path of the statement, ``Statement[1]`` (or ``Statement``).
        sid: the ``Sid``, or None.
        effect: ``"Allow"`` or ``"Deny"``.
        actions: entries of ``Action`` or, when ``not_action``, of ``NotAction``.
        not_action: True when the statement uses ``NotAction``.
        resources: entries of ``Resource``/``NotResource``, or None when neither is present
            (role trust policies).
        not_resource: True when the statement uses ``NotResource``.
        principal_element: ``"Principal"``, ``"NotPrincipal"`` or None.
        principals: the principal block by type, or None for ``"*"``.
        conditions: every (operator, key, values) of the ``Condition`` block, in order.
        line, column: where the statement starts in the source text, when known.
        document: the statement as written.
    """

    number: int
    path: str
    sid: str | None
    effect: str
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...] | None
    not_resource: bool
    principal_element: str | None
    principals: dict[str, tuple[str, ...]] | None
    conditions: tuple[Condition, ...]
    line: int | None
    column: int | None
    document: Mapping[str, Any]

    @property
    def label(self) -> str:
        """``Sid`` when it has one, else its path: how a person names this statement."""
        return self.sid if self.sid else self.path

    def __repr__(self) -> str:
        return f"<Statement {self.label}: {self.effect}>"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a policy comes from in an account: what it is and what it is attached to.

    Attributes:
        kind: ``managed`` (AWS or customer managed), ``inline``, ``boundary`` or ``trust``.
        policy: the policy's name.
        attached_to: the identity it is attached to, as ``user/alice``, ``group/developers``
            or ``role/App``.
        arn: the managed policy's ARN, for managed policies and boundaries.
    """

    kind: str
    policy: str
    attached_to: str
    arn: str | None = None

    def __str__(self) -> str:
        what = {"managed": "managed policy", "inline": "inline policy", "boundary": "permissions boundary",
                "trust": "trust policy"}.get(self.kind, self.kind)
        holder_kind, _, holder = self.attached_to.partition("/")
        verb = "of" if self.kind in ("boundary", "trust") else "attached to" if self.kind == "managed" else "in"
        return f"{what} `{self.policy}` {verb} {holder_kind} `{holder}`"

    def to_dict(self) -> dict[str, str | None]:
        """Plain JSON-ready data."""
        return {"kind": self.kind, "policy": self.policy, "attachedTo": self.attached_to, "arn": self.arn}


@dataclass(frozen=True, slots=True, init=False)
class Policy:
    """An immutable, validated policy document.

    Attributes:
        kind: where the policy is attached (identity, resource, trust, …).
        statements: the statements in order.
        version: the ``Version`` element, or None when absent.
        id: the ``Id`` element, or None.
        name: a display name given by the caller (a file name, a managed policy name).
        warnings: problems AWS accepts but a reader should know about.
        origin: where the policy comes from in an account, when it was loaded from one.
        source: the JSON text it was parsed from, when it came as text.
        document: the policy as a plain dict.
    """

    kind: PolicyKind
    statements: tuple[Statement, ...]
    version: str | None
    id: str | None
    name: str | None = None
    warnings: tuple[Problem, ...] = ()
    origin: Origin | None = None
    source: str | None = field(default=None, repr=False, compare=False)
    document: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # Written out rather than generated: the __init__ a frozen dataclass generates runs as Python,
    # field by field, where mypyc compiles each object.__setattr__ below into one store (a batch
    # line builds four or five policies). tests/test_api.py checks it takes the fields as declared.
    def __init__(self, kind: PolicyKind, statements: tuple[Statement, ...], version: str | None, id: str | None,
                 name: str | None = None, warnings: tuple[Problem, ...] = (), origin: Origin | None = None,
                 source: str | None = None, document: Mapping[str, Any] | None = None) -> None:
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "statements", statements)
        object.__setattr__(self, "version", version)
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "warnings", warnings)
        object.__setattr__(self, "origin", origin)
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "document", {} if document is None else document)

    @property
    def substitutes_variables(self) -> bool:
        """Policy variables are only substituted under ``Version`` 2012-10-17."""
        return self.version == VERSION

    def __iter__(self) -> Iterator[Statement]:
        return iter(self.statements)

    def __len__(self) -> int:
        return len(self.statements)

    def __repr__(self) -> str:
        name = f" {self.name}" if self.name else ""
        n = len(self.statements)
        return f"<Policy{name} ({self.kind.label}, {n} statement{'s' if n != 1 else ''})>"

    def to_json(self, indent: int | None = 2) -> str:
        """The policy document as JSON text."""
        return json.dumps(self.document, indent=indent)
