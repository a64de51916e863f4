"""``/workspaces/{workspace}/experiments``: get or create, list, archive, tag and delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from atelier.core.records import ExperimentRecord
from atelier.server.auth import MANAGE, RUN_READ, WRITE, guard
from atelier.server.pages import LimitQuery, Page, PageTokenQuery, page
from atelier.server.routes._common import blobs, database
from atelier.server.schemas import ExperimentPatch
from atelier.services import artifacts, experiments

router = APIRouter(tags=["experiments"])
PREFIX = "/workspaces/{workspace}/experiments"


@router.put(f"{PREFIX}/{{name}}", dependencies=guard(WRITE), response_model=ExperimentRecord)
def put_experiment(workspace: str, name: str, request: Request) -> ExperimentRecord:
    """The experiment of that name, created if it does not exist yet."""
    with database(request).session() as session:
        return experiments.get_or_create(session, workspace, name)


@router.get(f"{PREFIX}/{{name}}", dependencies=guard(RUN_READ), response_model=ExperimentRecord)
def get_experiment(workspace: str, name: str, request: Request) -> ExperimentRecord:
    with database(request).session() as session:
        return experiments.get(session, workspace, name)


@router.get(PREFIX, dependencies=guard(RUN_READ), response_model=Page[ExperimentRecord])
def list_experiments(
    workspace: str,
    request: Request,
    view_type: Annotated[str, Query(max_length=20)] = "ActiveOnly",
    name: Annotated[str | None, Query(max_length=255)] = None,
    limit: LimitQuery = 100,
    page_token: PageTokenQuery = None,
) -> Page[ExperimentRecord]:
    with database(request).session() as session:
        found = experiments.list_all(session, workspace, view_type, name)  # type: ignore[arg-type]
    return page(found, limit, page_token)


@router.patch(f"{PREFIX}/{{name}}", dependencies=guard(WRITE), response_model=ExperimentRecord)
def patch_experiment(
    workspace: str, name: str, body: ExperimentPatch, request: Request
) -> ExperimentRecord:
    """Archive or reactivate the experiment and set (or, with null, remove) tags."""
    with database(request).session() as session:
        record = experiments.get(session, workspace, name)
        if body.archived is not None:
            record = experiments.set_archived(session, workspace, name, body.archived)
        if body.tags is not None:
            record = experiments.set_tags(session, workspace, name, body.tags)
        if body.remove_tags is not None:
            record = experiments.remove_tags(session, workspace, name, body.remove_tags)
        return record


@router.delete(
    f"{PREFIX}/{{name}}", dependencies=guard(MANAGE), status_code=status.HTTP_204_NO_CONTENT
)
def delete_experiment(workspace: str, name: str, request: Request) -> None:
    """Delete the experiment with its runs, metrics and files (Owners only); 409 while one
    of its runs has not ended."""
    db = database(request)
    with db.session() as session:
        digests = experiments.delete(session, workspace, name)
    with db.session() as session:
        orphans = artifacts.unreferenced(session, digests)
    for digest in orphans:
        blobs(request).delete(digest)
