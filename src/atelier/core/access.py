"""Who may do what: users, tokens, roles and the audit trail, as plain records.

A workspace member holds one role; each role includes the rights of the ones below it::

    Owner        manage members, keys and deletion
     └── Contributor   create and run
          └── Reader        read

A server admin may do everything everywhere. A run token acts only on its own run, only
while that run is unfinished (and a short grace after), while the token that minted it is
valid, and never beyond its user's current role.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    READER = "Reader"
    CONTRIBUTOR = "Contributor"
    OWNER = "Owner"


class Access(enum.StrEnum):
    """What a request needs in a workspace: each level needs the role of the same rank."""

    READ = "read"
    WRITE = "write"
    MANAGE = "manage"


#: the least role that grants each access
REQUIRED_ROLE: dict[Access, Role] = {
    Access.READ: Role.READER,
    Access.WRITE: Role.CONTRIBUTOR,
    Access.MANAGE: Role.OWNER,
}
_RANK = {Role.READER: 1, Role.CONTRIBUTOR: 2, Role.OWNER: 3}


def role_allows(role: Role | None, access: Access) -> bool:
    """True when ``role`` grants ``access`` (None, no membership, grants nothing)."""
    return role is not None and _RANK[role] >= _RANK[REQUIRED_ROLE[access]]


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRecord:
    id: str
    name: str
    is_admin: bool = False
    disabled: bool = False
    created_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenRecord:
    """A token's metadata; its secret is never stored and appears only in ``IssuedToken``."""

    id: str
    name: str
    user_name: str
    run_id: str | None = None
    workspace_name: str | None = None
    created_ms: int
    expires_ms: int | None = None
    revoked: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuedToken:
    """A new token: ``secret`` is shown this once and kept only as a hash."""

    record: TokenRecord
    secret: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """Who a request acts as: a user, or a run token limited to one run of one workspace.

    For a run token, ``role`` is what its user holds in that workspace now (Owner for a
    server admin): the token never does more than its user currently may."""

    user_id: str
    user_name: str
    is_admin: bool = False
    token_id: str
    run_id: str | None = None
    workspace_name: str | None = None
    role: Role | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberRecord:
    workspace_name: str
    user_name: str
    role: Role


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    id: int
    at_ms: int
    actor: str
    action: str
    workspace_name: str | None = None
    target: str = ""
    status: int = 0
