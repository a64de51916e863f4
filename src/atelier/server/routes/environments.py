"""``/workspaces/{workspace}/environments``: register versions, get, list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from atelier.core.records import EnvironmentRecord
from atelier.server.auth import RUN_READ, WRITE, guard
from atelier.server.pages import LimitQuery, Page, PageTokenQuery, page
from atelier.server.routes._common import database
from atelier.server.schemas import EnvironmentRegister
from atelier.services import environments

router = APIRouter(tags=["environments"])
ENVIRONMENTS = "/workspaces/{workspace}/environments"


@router.post(
    f"{ENVIRONMENTS}/{{name:path}}", dependencies=guard(WRITE), response_model=EnvironmentRecord
)
def register(
    workspace: str, name: str, body: EnvironmentRegister, request: Request
) -> EnvironmentRecord:
    """A new version of ``name`` (or the current one, if its spec is unchanged)."""
    with database(request).session() as session:
        return environments.register(session, workspace, name, body.spec)


@router.get(
    f"{ENVIRONMENTS}/{{name:path}}", dependencies=guard(RUN_READ), response_model=EnvironmentRecord
)
def get_environment(
    workspace: str,
    name: str,
    request: Request,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> EnvironmentRecord:
    with database(request).session() as session:
        return environments.get(session, workspace, name, version)


@router.get(ENVIRONMENTS, dependencies=guard(RUN_READ), response_model=Page[EnvironmentRecord])
def list_environments(
    workspace: str, request: Request, limit: LimitQuery = 1000, page_token: PageTokenQuery = None
) -> Page[EnvironmentRecord]:
    with database(request).session() as session:
        found = environments.list_all(session, workspace)
    return page(found, limit, page_token)
