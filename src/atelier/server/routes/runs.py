"""``/workspaces/{workspace}/runs``: create, read, search, move through states, tag."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from atelier.core.access import Access
from atelier.core.errors import PermissionDeniedError
from atelier.core.records import RunQuery, RunRecord
from atelier.core.status import RunStatus
from atelier.server.auth import READ, RUN_CREATE, RUN_READ, USER, WRITE, guard, principal_of
from atelier.server.pages import LimitQuery, Page, PageTokenQuery, page
from atelier.server.routes._common import blobs, database, settings
from atelier.server.schemas import Heartbeat, RunCreate, RunPatch, RunSearch, Transition
from atelier.services import members, runs, users
from atelier.services.run_logs import append_streamed, drop_streamed, read_log

router = APIRouter(tags=["runs"])
RUN = "/workspaces/{workspace}/runs/{run_id}"


@router.post(
    "/workspaces/{workspace}/experiments/{experiment}/runs",
    dependencies=guard(RUN_CREATE),
    status_code=status.HTTP_201_CREATED,
    response_model=RunRecord,
)
def create_run(workspace: str, experiment: str, body: RunCreate, request: Request) -> RunRecord:
    """A new run (and its experiment if needed). A run token may create only its own
    child runs."""
    principal = principal_of(request)
    if principal.run_id is not None and body.parent_run_id != principal.run_id:
        raise PermissionDeniedError("a run token may create only child runs of its own run")
    with database(request).session() as session:
        return runs.create(session, workspace, experiment, **body.model_dump())


@router.get(RUN, dependencies=guard(READ), response_model=RunRecord)
async def get_run(
    workspace: str,
    run_id: str,
    request: Request,
    with_latest_metrics: Annotated[bool, Query()] = False,
) -> RunRecord:
    """One run. Answered on the event loop: two indexed point reads (the run, then its tags
    and properties) cost less than the hop to a worker thread and back, which on an idle
    machine is two thread wake-ups (as for :class:`~atelier.server.auth.Authorize`)."""
    with database(request).session() as session:
        return runs.get(session, workspace, run_id, with_latest_metrics)


@router.post(
    "/workspaces/{workspace}/runs/search", dependencies=guard(READ), response_model=Page[RunRecord]
)
def search_runs(
    workspace: str,
    body: RunSearch,
    request: Request,
    limit: LimitQuery = 1000,
    page_token: PageTokenQuery = None,
) -> Page[RunRecord]:
    """Runs of the workspace (or one experiment) filtered and ordered as ``RunQuery`` says."""
    fields = body.model_dump(exclude={"experiment"})
    query = RunQuery(
        **{**fields, "status": tuple(body.status), "tags": body.tags, "properties": body.properties}
    )
    with database(request).session() as session:
        found = runs.list_runs(session, workspace, body.experiment, query)
    return page(found, limit, page_token)


@router.get(f"{RUN}/children", dependencies=guard(READ), response_model=Page[RunRecord])
def run_children(
    workspace: str,
    run_id: str,
    request: Request,
    recursive: Annotated[bool, Query()] = False,
    limit: LimitQuery = 1000,
    page_token: PageTokenQuery = None,
) -> Page[RunRecord]:
    with database(request).session() as session:
        found = runs.descendants(session, workspace, run_id, recursive)
    return page(found, limit, page_token)


@router.post(f"{RUN}/status", dependencies=guard(WRITE), response_model=RunRecord)
def transition(workspace: str, run_id: str, body: Transition, request: Request) -> RunRecord:
    """Move the run to ``status`` (the run's state machine says which moves are allowed)."""
    with database(request).session() as session:
        # the service checks the value and says which statuses exist
        status_value = cast(RunStatus, body.status)
        found = runs.transition(
            session, workspace, run_id, status_value, body.error, body.exit_code
        )
    drop_streamed(database(request), settings(request).home, workspace, run_id)
    return found


@router.post(f"{RUN}/heartbeat", dependencies=guard(WRITE))
def heartbeat(workspace: str, run_id: str, body: Heartbeat, request: Request) -> dict[str, str]:
    with database(request).session() as session:
        found = runs.heartbeat(session, workspace, run_id, body.supervisor)
    return {"status": found.value}


@router.get(f"{RUN}/queue", dependencies=guard(READ))
def queue_state(workspace: str, run_id: str, request: Request) -> dict[str, int]:
    """How many runs are ahead of this one on its target, and the target's slots."""
    with database(request).session() as session:
        ahead, limit = runs.queue_state(session, workspace, run_id)
    return {"ahead": ahead, "limit": limit}


@router.get(
    "/workspaces/{workspace}/stale-runs",
    dependencies=guard(RUN_READ),
    response_model=list[RunRecord],
)
def stale_runs(
    workspace: str, request: Request, older_than_ms: Annotated[int, Query(ge=0)]
) -> list[RunRecord]:
    with database(request).session() as session:
        return runs.stale_runs(session, workspace, older_than_ms)


@router.get(f"{RUN}/log", dependencies=guard(READ), response_class=Response)
def run_log(
    workspace: str, run_id: str, request: Request, offset: Annotated[int, Query(ge=0)] = 0
) -> Response:
    """Script output from ``offset``; the ``X-Atelier-Run-Ended`` header says the run ended."""
    home = settings(request).home
    data, ended = read_log(database(request), blobs(request), home, workspace, run_id, offset)
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"X-Atelier-Run-Ended": "1" if ended else "0"},
    )


@router.put(f"{RUN}/log", dependencies=guard(WRITE))
async def stream_log(
    workspace: str, run_id: str, request: Request, offset: Annotated[int, Query(ge=0)] = 0
) -> dict[str, int]:
    """Script output from a supervisor on another machine (a Ray node), written at
    ``offset`` while the run goes, so ``GET .../log`` shows it live; answers the size the
    server has (the sender goes on from there)."""
    data = await request.body()  # bounded by ATELIER_MAX_JSON_BYTES (body_limits)
    home = settings(request).home
    size = await run_in_threadpool(
        append_streamed, database(request), home, workspace, run_id, offset, data
    )
    return {"size": size}


@router.post(f"{RUN}/cancel", dependencies=guard(WRITE), response_model=RunRecord)
def cancel(workspace: str, run_id: str, request: Request) -> RunRecord:
    with database(request).session() as session:
        return runs.cancel(session, workspace, run_id)


@router.patch(RUN, dependencies=guard(WRITE), status_code=status.HTTP_204_NO_CONTENT)
def patch_run(workspace: str, run_id: str, body: RunPatch, request: Request) -> None:
    """Set tags, remove tag keys and add properties, in one transaction."""
    with database(request).session() as session:
        if body.tags:
            runs.set_tags(session, workspace, run_id, body.tags)
        if body.remove_tags:
            runs.remove_tags(session, workspace, run_id, body.remove_tags)
        if body.properties:
            runs.add_properties(session, workspace, run_id, body.properties)


@router.get("/runs/{run_id}/workspace", dependencies=guard(USER))
def locate(run_id: str, request: Request) -> dict[str, str]:
    """The workspace a run belongs to (for ``Run.get(ws, run_id)`` by id alone)."""
    principal = principal_of(request)
    with database(request).session() as session:
        workspace = runs.workspace_of(session, run_id)
        try:
            members.authorize(session, principal, workspace, Access.READ)
        except PermissionDeniedError:
            # a run the caller may not read looks exactly like an absent one: a 403 would
            # tell that the id exists in some other workspace
            raise runs.absent_run(run_id) from None
    return {"workspace": workspace}


@router.post(f"{RUN}/token", dependencies=guard(WRITE), status_code=status.HTTP_201_CREATED)
def run_token(workspace: str, run_id: str, request: Request) -> dict[str, str]:
    """A token that can touch only this run (and its child runs): what its script gets."""
    principal = principal_of(request)
    with database(request).session() as session:
        issued = users.create_run_token(session, principal, workspace, run_id)
    return {"token": issued.secret, "id": issued.record.id}
