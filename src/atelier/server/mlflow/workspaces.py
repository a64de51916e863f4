"""``/api/3.0/mlflow/workspaces``: MLflow 3's workspace listing, over Atelier's workspaces.

Read only: workspaces are created and deleted with Atelier's own API and CLI. Each
workspace is shown only to a caller ``authorize`` lets read it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from atelier.core.errors import AtelierError
from atelier.core.records import WorkspaceRecord
from atelier.server.mlflow._common import AUTHORIZE_STATE, Authorize, MlflowRoute, reply
from atelier.services import workspaces
from atelier.store.database import Database

router = APIRouter(route_class=MlflowRoute)
ROOT = "/api/3.0/mlflow/workspaces"


def workspace_json(record: WorkspaceRecord) -> dict[str, Any]:
    return {"name": record.name, "description": record.description}


def _all(database: Database) -> list[WorkspaceRecord]:
    with database.session() as session:
        return workspaces.list_all(session)


def _one(database: Database, name: str) -> WorkspaceRecord:
    with database.session() as session:
        return workspaces.get(session, name)


@router.get(ROOT)
async def list_workspaces(request: Request) -> Response:
    authorize: Authorize = getattr(request.app.state, AUTHORIZE_STATE)
    shown = []
    refusal: AtelierError | None = None
    for record in await run_in_threadpool(_all, request.app.state.database):
        try:
            await authorize(request, record.name, "read")
        except AtelierError as exc:
            refusal = exc
            continue
        shown.append(workspace_json(record))
    if not shown and refusal is not None and refusal.code == "unauthenticated":
        raise refusal  # an anonymous caller learns nothing, not even that it sees nothing
    return reply({"workspaces": shown})


@router.get(ROOT + "/{workspace_name}")
async def get_workspace(request: Request, workspace_name: str) -> Response:
    authorize: Authorize = getattr(request.app.state, AUTHORIZE_STATE)
    await authorize(request, workspace_name, "read")
    record = await run_in_threadpool(_one, request.app.state.database, workspace_name)
    return reply({"workspace": workspace_json(record)})
