"""Users and their tokens: random secrets shown once, stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from atelier.core.access import IssuedToken, Principal, TokenRecord, UserRecord
from atelier.core.errors import (
    AlreadyExistsError,
    InvalidStateError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
    ValidationError,
)
from atelier.core.ids import new_id
from atelier.core.names import check_workspace_name
from atelier.core.status import TERMINAL_STATUSES
from atelier.core.timeutil import now_ms
from atelier.services import run_tokens, runs, workspaces
from atelier.store.models import TokenRow, UserRow, WorkspaceRow

#: every token starts with this, so a leaked one is easy to spot in logs and scanners
TOKEN_PREFIX = "atl_"
_DAY_MS = 86_400_000
_MAX_TOKEN_NAME = 255
_MAX_DAYS = 36_500


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _user_record(row: UserRow) -> UserRecord:
    return UserRecord(
        id=row.id,
        name=row.name,
        is_admin=row.is_admin,
        disabled=row.disabled,
        created_ms=row.created_ms,
    )


def check_user_name(name: object) -> str:
    """User names follow the workspace naming rule (2-63 letters, digits, '-', '_')."""
    try:
        return check_workspace_name(name)
    except ValidationError:
        raise ValidationError(
            f"invalid user name {name!r}: use 2-63 characters: letters, digits, '-' and '_', "
            "starting with a letter or digit"
        ) from None


def user_row(session: Session, name: str) -> UserRow:
    row = session.scalar(select(UserRow).where(UserRow.name == name))
    if row is None:
        check_user_name(name)
        raise NotFoundError(
            f"user {name!r} not found; list users with 'atelier user list' or create one "
            f"with 'atelier user create {name}'"
        )
    return row


def create_user(session: Session, name: str, *, is_admin: bool = False) -> UserRecord:
    """A new user (no password: users authenticate only with tokens)."""
    check_user_name(name)
    if session.scalar(select(UserRow.id).where(UserRow.name == name)) is not None:
        raise AlreadyExistsError(f"user {name!r} already exists; pick another name")
    row = UserRow(id=new_id(), name=name, is_admin=is_admin, disabled=False, created_ms=now_ms())
    session.add(row)
    session.flush()
    return _user_record(row)


def get_user(session: Session, name: str) -> UserRecord:
    return _user_record(user_row(session, name))


def list_users(session: Session) -> list[UserRecord]:
    return [_user_record(row) for row in session.scalars(select(UserRow).order_by(UserRow.name))]


def count_users(session: Session) -> int:
    return len(list(session.scalars(select(UserRow.id))))


def set_disabled(session: Session, name: str, disabled: bool) -> UserRecord:
    """Disable (or enable) a user: a disabled user's tokens stop working at once."""
    row = user_row(session, name)
    row.disabled = disabled
    session.flush()
    return _user_record(row)


def _token_record(session: Session, row: TokenRow) -> TokenRecord:
    user = session.get(UserRow, row.user_id)
    workspace_name = None
    if row.workspace_id is not None:
        workspace_name = workspaces.name_of(session, row.workspace_id)
    return TokenRecord(
        id=row.id,
        name=row.name,
        user_name=user.name if user is not None else "",
        run_id=row.run_id,
        workspace_name=workspace_name,
        created_ms=row.created_ms,
        expires_ms=row.expires_ms,
        revoked=row.revoked,
    )


def _issue(session: Session, row: TokenRow) -> IssuedToken:
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row.secret_hash = hash_secret(secret)
    session.add(row)
    session.flush()
    return IssuedToken(record=_token_record(session, row), secret=secret)


def create_token(
    session: Session, user_name: str, name: str = "", expires_in_days: float | None = None
) -> IssuedToken:
    """A new token for the user; ``expires_in_days`` None means it never expires."""
    user = user_row(session, user_name)
    if user.disabled:
        raise PermissionDeniedError(f"user {user_name!r} is disabled; enable it first")
    if len(name) > _MAX_TOKEN_NAME:
        raise ValidationError(f"token name is longer than {_MAX_TOKEN_NAME} characters")
    expires_ms = None
    if expires_in_days is not None:
        if not 0 < expires_in_days <= _MAX_DAYS:
            raise ValidationError(
                f"expires_in_days must be above 0 and at most {_MAX_DAYS}, got "
                f"{expires_in_days!r}; leave it out for a token that does not expire"
            )
        expires_ms = now_ms() + int(expires_in_days * _DAY_MS)
    row = TokenRow(
        id=new_id(), name=name, user_id=user.id, created_ms=now_ms(), expires_ms=expires_ms
    )
    return _issue(session, row)


def create_run_token(
    session: Session, principal: Principal, workspace: str, run_id: str
) -> IssuedToken:
    """A token that can touch only ``run_id``: what a run's script reports back with. It
    works while the run is unfinished (and a short grace after), while the token that minted
    it does, and never beyond its user's current role (:mod:`atelier.services.run_tokens`).
    ``InvalidStateError`` for a run that has already ended."""
    run, experiment = runs.get_rows(session, workspace, run_id)
    if run.status in TERMINAL_STATUSES:
        raise InvalidStateError(
            f"run {run_id!r} is {run.status}: a run token is only for an unfinished run"
        )
    row = TokenRow(
        id=new_id(),
        name=f"run {run_id}",
        user_id=principal.user_id,
        run_id=run_id,
        workspace_id=experiment.workspace_id,
        parent_token_id=principal.token_id,
        created_ms=now_ms(),
        expires_ms=now_ms() + 7 * _DAY_MS,
    )
    return _issue(session, row)


def list_tokens(session: Session, user_name: str, kind: str | None = None) -> list[TokenRecord]:
    """The user's tokens, oldest first: ``kind`` "user" for its own tokens, "run" for the
    run tokens minted for its runs, None for both."""
    user = user_row(session, user_name)
    query = select(TokenRow).where(TokenRow.user_id == user.id)
    if kind == "user":
        query = query.where(TokenRow.run_id.is_(None))
    elif kind == "run":
        query = query.where(TokenRow.run_id.is_not(None))
    elif kind is not None:
        raise ValidationError(f"token kind must be 'user' or 'run', not {kind!r}")
    rows = session.scalars(query.order_by(TokenRow.created_ms, TokenRow.id))
    return [_token_record(session, row) for row in rows]


def token_owner(session: Session, token_id: str) -> str:
    row = session.get(TokenRow, token_id)
    if row is None:
        raise NotFoundError(f"token {token_id!r} not found; list yours with 'atelier token list'")
    user = session.get(UserRow, row.user_id)
    return user.name if user is not None else ""


def revoke_token(session: Session, token_id: str) -> TokenRecord:
    """Revoke a token: it stops working at once; revoking twice is harmless."""
    row = session.get(TokenRow, token_id)
    if row is None:
        raise NotFoundError(f"token {token_id!r} not found; list yours with 'atelier token list'")
    row.revoked = True
    session.flush()
    return _token_record(session, row)


_TOKENS, _USERS = TokenRow.__table__, UserRow.__table__
_WORKSPACES = WorkspaceRow.__table__
#: the token, its user and (for a run token) its workspace's name: one cached query a request
_BEARER = (
    select(
        _TOKENS.c.id.label("token_id"),
        _TOKENS.c.revoked,
        _TOKENS.c.expires_ms,
        _TOKENS.c.run_id,
        _TOKENS.c.workspace_id,
        _TOKENS.c.parent_token_id,
        _USERS.c.id.label("user_id"),
        _USERS.c.name.label("user_name"),
        _USERS.c.is_admin,
        _USERS.c.disabled,
        _WORKSPACES.c.name.label("workspace_name"),
    )
    .join(_USERS, _USERS.c.id == _TOKENS.c.user_id)
    .outerjoin(_WORKSPACES, _WORKSPACES.c.id == _TOKENS.c.workspace_id)
    .where(_TOKENS.c.secret_hash == bindparam("secret_hash"))
)


def authenticate(session: Session, secret: str) -> Principal:
    """Who the bearer of ``secret`` is; ``UnauthenticatedError`` for a wrong, expired or
    revoked token or a disabled user (one message for all, so a guesser learns nothing), and
    for a run token that no longer stands for anything (:mod:`atelier.services.run_tokens`)."""
    refused = UnauthenticatedError(
        "the token is not valid (wrong, expired or revoked); create a new one with "
        "'atelier token create' and log in again with 'atelier login'"
    )
    if not secret.startswith(TOKEN_PREFIX):
        raise refused
    return authenticate_hash(session, hash_secret(secret))


def authenticate_hash(session: Session, secret_hash: str) -> Principal:
    """:func:`authenticate` for a token known by the hash of its secret (a Studio session
    keeps only that): the same checks, each time, so revoking the token ends the session."""
    refused = UnauthenticatedError(
        "the token is not valid (wrong, expired or revoked); create a new one with "
        "'atelier token create' and log in again with 'atelier login'"
    )
    row = session.connection().execute(_BEARER, {"secret_hash": secret_hash}).first()
    if row is None or row.revoked or row.disabled:
        raise refused
    if row.expires_ms is not None and row.expires_ms <= now_ms():
        raise refused
    workspace_name = None
    if row.workspace_id is not None:
        workspace_name = row.workspace_name or ""
    role = None
    if row.run_id is not None:
        role = run_tokens.bounded_role(
            session,
            run_id=row.run_id,
            workspace_id=row.workspace_id,
            user_id=row.user_id,
            is_admin=row.is_admin,
            parent_token_id=row.parent_token_id,
        )
        if role is None:
            raise refused
    return Principal(
        user_id=row.user_id,
        user_name=row.user_name,
        is_admin=row.is_admin and row.run_id is None,
        token_id=row.token_id,
        run_id=row.run_id,
        workspace_name=workspace_name,
        role=role,
    )
