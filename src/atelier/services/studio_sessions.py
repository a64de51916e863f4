"""The Studio's browser sessions: a random cookie secret (kept only as its hash) that
stands for the token a person signed in with, plus the CSRF token of its forms."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.orm import Session

from atelier.core.access import Principal
from atelier.core.errors import UnauthenticatedError
from atelier.core.timeutil import now_ms
from atelier.services import users
from atelier.store.models import StudioSessionRow

#: how long a sign-in lasts; the person signs in again afterwards
SESSION_LIFETIME_MS = 12 * 3_600_000


@dataclass(frozen=True, slots=True)
class OpenedSession:
    """A new session: ``cookie`` goes to the browser once, ``csrf`` into its forms."""

    cookie: str
    csrf: str


@dataclass(frozen=True, slots=True)
class SessionAccess:
    """Who a session acts as: ``principal`` is None for a local Studio's own session."""

    principal: Principal | None
    csrf: str


def _digest(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


def open_session(session: Session, token_secret: str | None) -> OpenedSession:
    """Sign in with a user token (checked now and on every later request), or, with None,
    open a local Studio's session. ``UnauthenticatedError`` for a bad or run token."""
    token_hash = None
    if token_secret is not None:
        principal = users.authenticate(session, token_secret.strip())
        if principal.run_id is not None:
            raise UnauthenticatedError(
                "a run token cannot sign in to the Studio; use a user token "
                "('atelier token create')"
            )
        token_hash = users.hash_secret(token_secret.strip())
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    stamp = now_ms()
    session.query(StudioSessionRow).filter(StudioSessionRow.expires_ms <= stamp).delete()
    session.add(
        StudioSessionRow(
            id=_digest(cookie),
            token_hash=token_hash,
            csrf=csrf,
            created_ms=stamp,
            expires_ms=stamp + SESSION_LIFETIME_MS,
        )
    )
    session.flush()
    return OpenedSession(cookie=cookie, csrf=csrf)


def resolve(session: Session, cookie: str) -> SessionAccess:
    """The session of ``cookie``; ``UnauthenticatedError`` when it is unknown, expired,
    or its token no longer valid."""
    row = session.get(StudioSessionRow, _digest(cookie))
    if row is None or row.expires_ms <= now_ms():
        raise UnauthenticatedError("your Studio session has expired; sign in again")
    if row.token_hash is None:
        return SessionAccess(principal=None, csrf=row.csrf)
    try:
        principal = users.authenticate_hash(session, row.token_hash)
    except UnauthenticatedError:
        raise UnauthenticatedError(
            "the token this session signed in with is no longer valid; sign in again"
        ) from None
    return SessionAccess(principal=principal, csrf=row.csrf)


def close(session: Session, cookie: str) -> None:
    """Sign out: the cookie stops working at once."""
    session.execute(delete(StudioSessionRow).where(StudioSessionRow.id == _digest(cookie)))


def csrf_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a request's CSRF token with the session's."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())
