"""Who a Studio page acts for, and the checks every page passes.

A page accepts the ``Authorization: Bearer`` header (scripts) or the session cookie a
sign-in set (browsers). Either way the route's :class:`~atelier.server.auth.Rule` is
checked by the server's own code, so roles hold exactly as on the REST API; a request
that changes state with the cookie must also carry the session's CSRF token (form field
``csrf`` or header ``X-CSRF-Token``).
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from atelier.core.access import Principal
from atelier.core.errors import PermissionDeniedError, UnauthenticatedError
from atelier.server.auth import Authorize, Rule, bearer_secret, check, check_principal
from atelier.services import studio_sessions
from atelier.store.database import Database

COOKIE = "atelier_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})

#: Content-Security-Policy of every Studio answer: scripts and styles only from the
#: Studio's own static files (no inline script), nothing may frame a page
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True, slots=True)
class Viewer:
    """The person a page is drawn for: ``csrf`` is None for Bearer-header requests."""

    principal: Principal
    csrf: str | None
    local: bool = False


def local_principal() -> Principal:
    """Who a local ``atelier studio`` acts as: the home's owner, with every right."""
    return Principal(user_id="local", user_name=getpass.getuser(), is_admin=True, token_id="local")


def _resolve(
    database: Database, cookie: str, rule: Rule, path: dict[str, Any], local: bool
) -> Viewer:
    with database.session() as session:
        access = studio_sessions.resolve(session, cookie)
        if access.principal is None:
            if not local:
                raise UnauthenticatedError("your Studio session has expired; sign in again")
            return Viewer(local_principal(), access.csrf, local=True)
        check_principal(session, access.principal, rule, path)
        return Viewer(access.principal, access.csrf)


class StudioAuthorize(Authorize):
    """The server's :class:`Authorize` for pages: Bearer header or session cookie."""

    async def __call__(self, request: Request) -> Principal | None:
        database: Database = request.app.state.database
        path = dict(request.path_params)
        local = bool(getattr(request.app.state, "studio_local", False))
        if request.headers.get("authorization") is not None or self.rule.scope == "public":
            principal = check(database, bearer_secret(request), self.rule, path)
            request.state.principal = principal
            request.state.viewer = Viewer(principal, None) if principal else None
            return principal
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            raise UnauthenticatedError("sign in to the Studio with a token to see this page")
        viewer: Viewer = await run_in_threadpool(_resolve, database, cookie, self.rule, path, local)
        if request.method not in _SAFE:
            given = request.headers.get(CSRF_HEADER)
            if given is None:
                form = await request.form()
                field = form.get(CSRF_FIELD)
                given = field if isinstance(field, str) else None
            assert viewer.csrf is not None
            if not studio_sessions.csrf_matches(viewer.csrf, given):
                raise PermissionDeniedError(
                    "this request carries no valid CSRF token (a form of another site, or a "
                    "page open since before you signed in again); reload the page and retry"
                )
        request.state.principal = viewer.principal
        request.state.viewer = viewer
        return viewer.principal


def page_guard(rule: Rule) -> list[Any]:
    """``dependencies=page_guard(READ)``: a Studio route's rule (read back by the server's
    ``route_rule``, so the role matrix test walks Studio routes too)."""
    return [Depends(StudioAuthorize(rule))]


def viewer_of(request: Request) -> Viewer:
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    if viewer is None:
        raise UnauthenticatedError("sign in to the Studio with a token to see this page")
    return viewer
