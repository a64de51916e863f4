"""``/workspaces``: create, list, show and delete workspaces."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from atelier.core.records import WorkspaceRecord
from atelier.server.auth import MANAGE, RUN_READ, USER, guard, principal_of
from atelier.server.pages import LimitQuery, Page, PageTokenQuery, page
from atelier.server.routes._common import blobs, database
from atelier.server.schemas import WorkspaceCreate
from atelier.services import artifacts, members, workspaces

router = APIRouter(tags=["workspaces"])


@router.post(
    "/workspaces",
    dependencies=guard(USER),
    status_code=status.HTTP_201_CREATED,
    response_model=WorkspaceRecord,
)
def create_workspace(body: WorkspaceCreate, request: Request) -> WorkspaceRecord:
    """Create a workspace; its creator becomes its Owner."""
    with database(request).session() as session:
        return members.create_workspace(
            session,
            principal_of(request),
            body.name,
            description=body.description,
            location=body.location,
            tags=body.tags,
            exist_ok=body.exist_ok,
            subscription_id=body.subscription_id,
            resource_group=body.resource_group,
            sku=body.sku,
        )


@router.get("/workspaces", dependencies=guard(USER), response_model=Page[WorkspaceRecord])
def list_workspaces(
    request: Request, limit: LimitQuery = 100, page_token: PageTokenQuery = None
) -> Page[WorkspaceRecord]:
    """The workspaces you are a member of (every one for a server admin)."""
    with database(request).session() as session:
        found = members.visible_workspaces(session, principal_of(request))
    return page(found, limit, page_token)


@router.get("/workspaces/{workspace}", dependencies=guard(RUN_READ), response_model=WorkspaceRecord)
def get_workspace(workspace: str, request: Request) -> WorkspaceRecord:
    with database(request).session() as session:
        return workspaces.get(session, workspace)


@router.delete(
    "/workspaces/{workspace}",
    dependencies=guard(MANAGE),
    status_code=status.HTTP_204_NO_CONTENT,
)
def delete_workspace(workspace: str, request: Request) -> None:
    """Delete the workspace and everything in it (Owners only)."""
    db = database(request)
    with db.session() as session:
        digests = workspaces.delete(session, workspace)
    with db.session() as session:
        orphans = artifacts.unreferenced(session, digests)
    for digest in orphans:
        blobs(request).delete(digest)
