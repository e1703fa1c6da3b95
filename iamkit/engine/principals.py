"""Who is calling, and whether a ``Principal``/``NotPrincipal`` entry names them.

A caller is parsed from its ARN once per request. Matching reports *how* an entry named
the caller, because AWS treats a resource policy that names the exact IAM user or session
differently from one that names the role or the whole account.
"""

from __future__ import annotations

import re
from enum import Enum
from functools import lru_cache
from typing import NamedTuple

__all__ = ["MATCH_RANK", "Caller", "CallerKind", "PrincipalMatch", "not_principal_exempts", "parse_caller",
           "principal_match"]

ACCOUNT_ID = re.compile(r"^[0-9]{12}\Z")
_IAM = re.compile(r"^arn:(aws[a-z-]*):iam::([0-9]{12}):(root|user/.+|role/.+|federated-user/.+)\Z")
_STS = re.compile(r"^arn:(aws[a-z-]*):sts::([0-9]{12}):(assumed-role/([^/]+)/(.+)|federated-user/(.+))\Z")
SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?\Z")


class CallerKind(str, Enum):
    """The kinds of principal a request can come from."""

    USER = "user"
    ROLE = "role"
    ASSUMED_ROLE = "assumed-role"
    FEDERATED_USER = "federated-user"
    ROOT = "root"
    SERVICE = "service"


class PrincipalMatch(str, Enum):
    """How a ``Principal`` entry named the caller."""

    EVERYONE = "everyone"  # "*" or {"AWS": "*"}
    ACCOUNT = "account"  # the account id or its root ARN: delegates to the account
    ROLE = "role"  # the role ARN, for the role or one of its sessions
    EXACT = "exact"  # the caller's own ARN (user, session, federated user, root, service)


MATCH_RANK = {PrincipalMatch.ACCOUNT: 0, PrincipalMatch.ROLE: 1, PrincipalMatch.EVERYONE: 2, PrincipalMatch.EXACT: 3}
"""How directly each kind of match names the caller (higher: more directly), which is how much a
resource-policy Allow that matched so grants. ``*`` names every principal as itself: no
permissions boundary or session policy limits that grant, so it ranks above the role ARN, whose
grant they do limit. Allows add up, so the match a statement keeps, and the statement that
decides, is the highest."""


class Caller(NamedTuple):
    """A parsed request principal.

    Attributes:
        arn: the ARN as given (or a service principal name).
        kind: user, role, assumed-role session, federated-user session, root or service.
        account: the 12-digit account id ("" for a service).
        partition: ``aws``, ``aws-cn`` or ``aws-us-gov``.
        name: user name, role name (for roles and their sessions) or federated user name.
        session: the session name of an assumed-role session, else "".
    """

    arn: str
    kind: CallerKind
    account: str
    partition: str = "aws"
    name: str = ""
    session: str = ""

    @property
    def root_arn(self) -> str:
        """The ARN of the caller's account root."""
        return f"arn:{self.partition}:iam::{self.account}:root"

    @property
    def role_arn(self) -> str:
        """The role ARN behind a role or assumed-role session (without a path for sessions)."""
        if self.kind is CallerKind.ROLE:
            return self.arn
        return f"arn:{self.partition}:iam::{self.account}:role/{self.name}"

    @property
    def service_linked(self) -> bool:
        """Whether the caller is a service-linked role, given by its role ARN: IAM creates those
        under the path ``/aws-service-role/`` (a session's ARN does not carry its role's path)."""
        return self.kind is CallerKind.ROLE and ":role/aws-service-role/" in self.arn

    @property
    def principal_type(self) -> str:
        """The value AWS gives ``aws:PrincipalType`` for this caller."""
        return {
            CallerKind.USER: "User",
            CallerKind.ROLE: "AssumedRole",
            CallerKind.ASSUMED_ROLE: "AssumedRole",
            CallerKind.FEDERATED_USER: "FederatedUser",
            CallerKind.ROOT: "Account",
            CallerKind.SERVICE: "Service",
        }[self.kind]

    @property
    def principal_arn(self) -> str:
        """The value AWS gives ``aws:PrincipalArn``: a session reports its role's ARN."""
        return self.role_arn if self.kind is CallerKind.ASSUMED_ROLE else self.arn


@lru_cache(maxsize=4096)
def parse_caller(arn: str) -> Caller | None:
    """Parse a request principal, or return None when it is not one AWS can send."""
    m = _IAM.match(arn)
    if m:
        partition, account, rest = m.groups()
        if rest == "root":
            return Caller(arn, CallerKind.ROOT, account, partition)
        kind, _, path_name = rest.partition("/")
        name = path_name.rsplit("/", 1)[-1]
        if not name:
            return None
        if kind == "federated-user":
            return Caller(arn, CallerKind.FEDERATED_USER, account, partition, name)
        return Caller(arn, CallerKind.USER if kind == "user" else CallerKind.ROLE, account, partition, name)
    m = _STS.match(arn)
    if m:
        partition, account, _, role, session, federated = m.groups()
        if federated:
            return Caller(arn, CallerKind.FEDERATED_USER, account, partition, federated)
        return Caller(arn, CallerKind.ASSUMED_ROLE, account, partition, role, session)
    if SERVICE_PRINCIPAL.match(arn):
        return Caller(arn, CallerKind.SERVICE, "")
    return None


def _names_account(entry: str, caller: Caller) -> bool:
    return bool(caller.account) and (entry == caller.account or entry == caller.root_arn)


def _names_role(entry: str, caller: Caller) -> bool:
    if caller.kind is CallerKind.ROLE:
        return entry == caller.arn
    if caller.kind is CallerKind.ASSUMED_ROLE:
        # A session ARN carries the role name but not its path: match on account and name.
        prefix = f"arn:{caller.partition}:iam::{caller.account}:role/"
        return entry.startswith(prefix) and entry.rsplit("/", 1)[-1] == caller.name
    return False


def principal_match(entries: dict[str, tuple[str, ...]] | None, caller: Caller) -> PrincipalMatch | None:
    """How a ``Principal`` block names the caller, or None when it does not.

    Args:
        entries: the block by type (``AWS``, ``Service``, ``Federated``, ``CanonicalUser``),
            or None for ``"Principal": "*"``.
        caller: the parsed request principal.
    """
    if entries is None:
        return PrincipalMatch.EVERYONE
    # A service is named under `Service`, every other caller under `AWS`: the ARN of a user
    # under `Service` or `Federated` names nobody.
    own_type = "Service" if caller.kind is CallerKind.SERVICE else "AWS"
    best: PrincipalMatch | None = None
    for ptype, values in entries.items():
        for entry in values:
            if entry == "*" and ptype == "AWS":
                how = PrincipalMatch.EVERYONE
            elif ptype != own_type:
                continue
            elif entry == caller.arn:
                return PrincipalMatch.ROLE if caller.kind is CallerKind.ROLE else PrincipalMatch.EXACT
            elif ptype != "AWS":
                continue
            elif _names_role(entry, caller):
                how = PrincipalMatch.ROLE
            elif _names_account(entry, caller):
                # The account root is its account: naming the account by id names it exactly.
                how = PrincipalMatch.EXACT if caller.kind is CallerKind.ROOT else PrincipalMatch.ACCOUNT
            else:
                continue
            if best is None or MATCH_RANK[how] > MATCH_RANK[best]:
                best = how
    return best



def not_principal_exempts(entries: dict[str, tuple[str, ...]] | None, caller: Caller, *, allow: bool = False) -> bool:
    """True when a ``NotPrincipal`` block exempts the caller.

    AWS evaluates the caller's whole chain — the account, then the role, then the session
    or user. A ``Deny`` exempts the caller only when every link of its chain is listed: a user
    needs its ARN and its account; a session its ARN, its role and its account. AWS no longer
    supports ``NotPrincipal`` with ``Allow`` and does not say how it reads the chain then, so
    iamkit grants the least: an ``Allow`` (``allow``) leaves out a caller any link of whose
    chain is listed.
    """
    if entries is None:
        return True
    listed = [e for values in entries.values() for e in values]
    if "*" in listed:
        return True
    links: list[bool] = []
    if caller.account:
        links.append(any(_names_account(e, caller) for e in listed))
    if caller.kind in (CallerKind.ROLE, CallerKind.ASSUMED_ROLE):
        links.append(any(_names_role(e, caller) for e in listed))
    if caller.kind is not CallerKind.ROOT and caller.kind is not CallerKind.ROLE:
        links.append(caller.arn in listed)
    return any(links) if allow else all(links)
