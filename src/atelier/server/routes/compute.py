"""``/workspaces/{workspace}/computes``: compute targets."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from atelier.core.records import ComputeRecord
from atelier.server.auth import MANAGE, RUN_READ, WRITE, guard
from atelier.server.pages import LimitQuery, Page, PageTokenQuery, page
from atelier.server.routes._common import database
from atelier.server.schemas import ComputeCreate, ComputePatch
from atelier.services import compute

router = APIRouter(tags=["compute"])
COMPUTES = "/workspaces/{workspace}/computes"


@router.post(
    COMPUTES,
    dependencies=guard(WRITE),
    status_code=status.HTTP_201_CREATED,
    response_model=ComputeRecord,
)
def create_compute(workspace: str, body: ComputeCreate, request: Request) -> ComputeRecord:
    with database(request).session() as session:
        return compute.create(session, workspace, body.name, body.kind, body.config)


@router.get(f"{COMPUTES}/{{name:path}}", dependencies=guard(RUN_READ), response_model=ComputeRecord)
def get_compute(workspace: str, name: str, request: Request) -> ComputeRecord:
    with database(request).session() as session:
        return compute.get(session, workspace, name)


@router.get(COMPUTES, dependencies=guard(RUN_READ), response_model=Page[ComputeRecord])
def list_computes(
    workspace: str, request: Request, limit: LimitQuery = 1000, page_token: PageTokenQuery = None
) -> Page[ComputeRecord]:
    with database(request).session() as session:
        found = compute.list_all(session, workspace)
    return page(found, limit, page_token)


@router.patch(f"{COMPUTES}/{{name:path}}", dependencies=guard(WRITE), response_model=ComputeRecord)
def update_compute(
    workspace: str, name: str, body: ComputePatch, request: Request
) -> ComputeRecord:
    with database(request).session() as session:
        return compute.update(
            session, workspace, name, state=body.state, config=body.config, error=body.error
        )


@router.delete(
    f"{COMPUTES}/{{name:path}}", dependencies=guard(MANAGE), status_code=status.HTTP_204_NO_CONTENT
)
def delete_compute(workspace: str, name: str, request: Request) -> None:
    with database(request).session() as session:
        compute.delete(session, workspace, name)
