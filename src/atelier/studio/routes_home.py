"""Signing in and out, the workspaces list, a workspace's experiments, and the short
links that name a run or an experiment only (the MLflow client's "View run" links)."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from atelier.core.access import Access
from atelier.core.errors import NotFoundError, UnauthenticatedError
from atelier.server.auth import PUBLIC, READ, USER, Rule, check_principal
from atelier.services import members, run_table, studio_sessions
from atelier.studio.context import database_of
from atelier.studio.render import page
from atelier.studio.security import COOKIE, SECURITY_HEADERS, page_guard, viewer_of

router = APIRouter(tags=["studio"], include_in_schema=False)


def _redirect(target: str) -> RedirectResponse:
    answer = RedirectResponse(target, status_code=303)
    answer.headers.update(SECURITY_HEADERS)
    return answer


def safe_next(target: str | None) -> str:
    """A local path to go to after signing in; anything else (another site) becomes ``/``."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def _set_cookie(request: Request, answer: Response, cookie: str) -> None:
    answer.set_cookie(
        COOKIE,
        cookie,
        max_age=studio_sessions.SESSION_LIFETIME_MS // 1000,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


@router.get("/signin", dependencies=page_guard(PUBLIC), response_class=HTMLResponse)
def signin_page(request: Request, next: str = "/", expired: int = 0) -> HTMLResponse:
    """The sign-in form."""
    return page(request, "signin.html", next=safe_next(next), expired=bool(expired))


@router.post("/signin", dependencies=page_guard(PUBLIC), response_model=None)
def signin(
    request: Request,
    token: Annotated[str, Form(max_length=500)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Exchange a token for a session cookie (HttpOnly, SameSite=Strict)."""
    try:
        with database_of(request).session() as session:
            opened = studio_sessions.open_session(session, token)
    except UnauthenticatedError as exc:
        return page(
            request, "signin.html", status_code=401, next=safe_next(next), message=exc.message
        )
    answer = _redirect(safe_next(next))
    _set_cookie(request, answer, opened.cookie)
    return answer


@router.get("/local-signin/{key}", dependencies=page_guard(PUBLIC), response_model=None)
def local_signin(key: str, request: Request) -> Response:
    """A local ``atelier studio``'s launch link: opens a session for the home's owner."""
    expected: str | None = getattr(request.app.state, "studio_local_key", None)
    if expected is None or not secrets.compare_digest(expected.encode(), key.encode()):
        raise NotFoundError("no such sign-in link; use the one 'atelier studio' printed")
    with database_of(request).session() as session:
        opened = studio_sessions.open_session(session, None)
    answer = _redirect("/")
    _set_cookie(request, answer, opened.cookie)
    return answer


@router.post("/signout", dependencies=page_guard(USER), response_model=None)
def signout(request: Request) -> Response:
    """End the session (its cookie stops working at once)."""
    cookie = request.cookies.get(COOKIE)
    if cookie:
        with database_of(request).session() as session:
            studio_sessions.close(session, cookie)
    answer = _redirect("/signin")
    answer.delete_cookie(COOKIE, path="/")
    return answer


@router.get("/", dependencies=page_guard(USER), response_class=HTMLResponse)
@router.get("/workspaces", dependencies=page_guard(USER), response_class=HTMLResponse)
def workspaces_page(request: Request) -> HTMLResponse:
    """The workspaces the viewer may read."""
    with database_of(request).session() as session:
        items = members.visible_workspaces(session, viewer_of(request).principal)
    return page(request, "workspaces.html", items=items, workspace=None)


@router.get("/workspaces/{workspace}", dependencies=page_guard(READ), response_class=HTMLResponse)
def workspace_page(workspace: str, request: Request) -> HTMLResponse:
    """A workspace's experiments with their run counts and last activity."""
    with database_of(request).session() as session:
        found = run_table.experiment_summaries(session, workspace)
    return page(request, "workspace.html", workspace=workspace, experiments=found)


def _readable(request: Request, workspace: str | None, what: str) -> str:
    if workspace is not None:
        with database_of(request).session() as session:
            try:
                check_principal(
                    session,
                    viewer_of(request).principal,
                    Rule("workspace", Access.READ),
                    {"workspace": workspace},
                )
            except Exception:
                workspace = None
    if workspace is None:
        raise NotFoundError(f"{what} not found, or not in a workspace you may read")
    return workspace


@router.get("/runs/{run_id}", dependencies=page_guard(USER), response_model=None)
def run_link(run_id: str, request: Request) -> Response:
    """A run named by its id alone: redirect to its page in its workspace."""
    with database_of(request).session() as session:
        workspace = run_table.workspace_run(session, run_id)
    workspace = _readable(request, workspace, f"run {run_id!r}")
    return _redirect(f"/workspaces/{quote(workspace)}/runs/{quote(run_id)}")


@router.get("/experiments/{experiment_id}", dependencies=page_guard(USER), response_model=None)
def experiment_link(experiment_id: str, request: Request) -> Response:
    """An experiment named by its id alone (MLflow's links): redirect to its page."""
    with database_of(request).session() as session:
        found = run_table.experiment_by_id(session, experiment_id)
    workspace = _readable(request, found[0] if found else None, f"experiment {experiment_id!r}")
    name = found[1] if found else ""
    return _redirect(f"/workspaces/{quote(workspace)}/experiments/{quote(name, safe='')}")


@router.get("/mlflow/{workspace}/", dependencies=page_guard(PUBLIC), response_model=None)
def mlflow_home(workspace: str) -> Response:
    """An MLflow tracking URI opened in a browser (``/mlflow/<ws>/#/experiments/…``): on
    to the Studio's home, whose script follows the ``#/…`` part to the page it names."""
    return _redirect("/")
