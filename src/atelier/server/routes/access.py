"""Users, tokens, workspace members and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status

from atelier.core.access import AuditRecord, MemberRecord, TokenRecord, UserRecord
from atelier.core.errors import PermissionDeniedError
from atelier.server.auth import ADMIN, MANAGE, READ, USER, guard, principal_of
from atelier.server.routes._common import database
from atelier.server.schemas import MemberSet, TokenCreate, UserCreate
from atelier.services import audit, members, users

router = APIRouter(tags=["access"])
MEMBERS = "/workspaces/{workspace}/members"


@router.get("/whoami", dependencies=guard(USER))
def whoami(request: Request) -> dict[str, Any]:
    principal = principal_of(request)
    return {"name": principal.user_name, "admin": principal.is_admin, "run_id": principal.run_id}


@router.post(
    "/users",
    dependencies=guard(ADMIN),
    status_code=status.HTTP_201_CREATED,
    response_model=UserRecord,
)
def create_user(body: UserCreate, request: Request) -> UserRecord:
    with database(request).session() as session:
        return users.create_user(session, body.name, is_admin=body.admin)


@router.get("/users", dependencies=guard(ADMIN), response_model=list[UserRecord])
def list_users(request: Request) -> list[UserRecord]:
    with database(request).session() as session:
        return users.list_users(session)


@router.post("/users/{user}/disable", dependencies=guard(ADMIN), response_model=UserRecord)
def disable_user(user: str, request: Request) -> UserRecord:
    with database(request).session() as session:
        return users.set_disabled(session, user, True)


@router.post("/users/{user}/enable", dependencies=guard(ADMIN), response_model=UserRecord)
def enable_user(user: str, request: Request) -> UserRecord:
    with database(request).session() as session:
        return users.set_disabled(session, user, False)


def _check_self_or_admin(request: Request, user: str) -> None:
    principal = principal_of(request)
    if user != principal.user_name and not principal.is_admin:
        raise PermissionDeniedError("only a server admin may manage another user's tokens")


@router.post("/tokens", dependencies=guard(USER), status_code=status.HTTP_201_CREATED)
def create_token(body: TokenCreate, request: Request) -> dict[str, Any]:
    """A new token for you (or, for an admin, for ``user``); its secret is shown only now."""
    principal = principal_of(request)
    if principal.run_id is not None:
        raise PermissionDeniedError("a run token cannot create tokens")
    owner = body.user or principal.user_name
    _check_self_or_admin(request, owner)
    with database(request).session() as session:
        issued = users.create_token(session, owner, body.name, body.expires_in_days)
    return {"token": issued.secret, **_token_json(issued.record)}


def _token_json(record: TokenRecord) -> dict[str, Any]:
    """A token's metadata; a run token is marked ``kind: "run"`` with its run and workspace."""
    return {
        "id": record.id,
        "name": record.name,
        "kind": "user" if record.run_id is None else "run",
        "user_name": record.user_name,
        "run_id": record.run_id,
        "workspace_name": record.workspace_name,
        "created_ms": record.created_ms,
        "expires_ms": record.expires_ms,
        "revoked": record.revoked,
    }


@router.get("/tokens", dependencies=guard(USER))
def list_tokens(
    request: Request,
    user: Annotated[str | None, Query(max_length=63)] = None,
    kind: Annotated[str | None, Query(max_length=16)] = None,  # the service checks it
) -> list[dict[str, Any]]:
    """Your tokens (or ``user``'s, for an admin), without their secrets: your own and the
    run tokens minted for your runs (``kind`` picks one of the two)."""
    owner = user or principal_of(request).user_name
    _check_self_or_admin(request, owner)
    with database(request).session() as session:
        return [_token_json(record) for record in users.list_tokens(session, owner, kind)]


@router.delete("/tokens/{token_id}", dependencies=guard(USER))
def revoke_token(token_id: str, request: Request) -> dict[str, Any]:
    with database(request).session() as session:
        _check_self_or_admin(request, users.token_owner(session, token_id))
        return _token_json(users.revoke_token(session, token_id))


@router.get("/audit", dependencies=guard(ADMIN), response_model=list[AuditRecord])
def list_audit(
    request: Request,
    workspace: Annotated[str | None, Query(max_length=63)] = None,
    actor: Annotated[str | None, Query(max_length=63)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_id: Annotated[int | None, Query(ge=1)] = None,
) -> list[AuditRecord]:
    """Who did what, newest first (server admins)."""
    with database(request).session() as session:
        return audit.list_entries(
            session, workspace_name=workspace, actor=actor, limit=limit, before_id=before_id
        )


@router.get(MEMBERS, dependencies=guard(READ), response_model=list[MemberRecord])
def list_members(workspace: str, request: Request) -> list[MemberRecord]:
    with database(request).session() as session:
        return members.list_members(session, workspace)


@router.put(f"{MEMBERS}/{{user}}", dependencies=guard(MANAGE), response_model=MemberRecord)
def set_member(workspace: str, user: str, body: MemberSet, request: Request) -> MemberRecord:
    """Add a member with a role, or change a member's role (Owners only)."""
    with database(request).session() as session:
        return members.set_member(session, workspace, user, body.role)


@router.delete(
    f"{MEMBERS}/{{user}}", dependencies=guard(MANAGE), status_code=status.HTTP_204_NO_CONTENT
)
def remove_member(workspace: str, user: str, request: Request) -> None:
    with database(request).session() as session:
        members.remove_member(session, workspace, user)
