"""``/workspaces/{workspace}/schedules``: pipeline schedules over HTTP.

Roles: Readers list and read schedules and their firings; Contributors create, change,
disable and enable them. The server's scheduler (started by ``atelier server start``)
fires them; nothing here submits a run.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, status
from pydantic import Field

from atelier.core.schedules import FiringRecord, ScheduleRecord
from atelier.core.timeutil import now_ms
from atelier.server.auth import READ, WRITE, guard
from atelier.server.routes._common import database
from atelier.server.routes.datastores import _stores
from atelier.server.schemas import Body
from atelier.services import schedule_slots, schedules

router = APIRouter(tags=["schedules"])
SCHEDULES = "/workspaces/{workspace}/schedules"
ONE = f"{SCHEDULES}/{{name}}"


class ScheduleCreate(Body):
    """``Schedule.create``'s arguments; the service checks each and says what to fix."""

    name: Any = None
    description: Any = None
    target_kind: Any = None
    target_id: Any = None
    target_definition: dict[str, Any] = Field(default_factory=dict)
    experiment_name: Any = None
    pipeline_parameters: Any = None
    recurrence: dict[str, Any] | None = None
    datastore_name: Any = None
    path_on_datastore: Any = None
    polling_interval: Any = 5
    data_path_parameter_name: Any = None
    continue_on_step_failure: Any = None
    #: "Disabled" makes it without firing (a drift detector's schedule starts so)
    status: Any = None


class ScheduleChanges(Body):
    """``Schedule.update``'s arguments (None leaves a field as it is)."""

    name: Any = None
    description: Any = None
    recurrence: dict[str, Any] | None = None
    pipeline_parameters: Any = None
    status: Any = None
    datastore_name: Any = None
    polling_interval: Any = None
    data_path_parameter_name: Any = None
    continue_on_step_failure: Any = None
    path_on_datastore: Any = None
    #: a drift detector's definition (DataDriftDetector.update)
    target_definition: dict[str, Any] | None = None


@router.get(SCHEDULES, dependencies=guard(READ), response_model=list[ScheduleRecord])
def list_schedules(
    workspace: str,
    request: Request,
    active_only: bool = Query(default=True),
    target_id: str | None = Query(default=None, max_length=255),
) -> list[ScheduleRecord]:
    with database(request).session() as session:
        return schedules.list_all(session, workspace, active_only=active_only, target_id=target_id)


@router.post(
    SCHEDULES,
    dependencies=guard(WRITE),
    status_code=status.HTTP_201_CREATED,
    response_model=ScheduleRecord,
)
def create_schedule(workspace: str, body: ScheduleCreate, request: Request) -> ScheduleRecord:
    spec = body.model_dump()
    state = schedule_slots.watched_state(
        _stores(request), workspace, spec["datastore_name"], spec["path_on_datastore"]
    )
    with database(request).session() as session:
        return schedules.create(session, workspace, spec, now=now_ms(), data_state=state)


@router.get(ONE, dependencies=guard(READ), response_model=ScheduleRecord)
def get_schedule(workspace: str, name: str, request: Request) -> ScheduleRecord:
    """A schedule by id or name."""
    with database(request).session() as session:
        return schedules.get(session, workspace, name)


@router.patch(ONE, dependencies=guard(WRITE), response_model=ScheduleRecord)
def update_schedule(
    workspace: str, name: str, body: ScheduleChanges, request: Request
) -> ScheduleRecord:
    """Change, disable (``status: Disabled``) or enable (``status: Active``) a schedule."""
    changes = body.model_dump(exclude_none=True)
    state = None
    if "datastore_name" in changes or "path_on_datastore" in changes:
        with database(request).session() as session:
            current = schedules.get(session, workspace, name)
        state = schedule_slots.watched_state(
            _stores(request),
            workspace,
            changes.get("datastore_name", current.datastore_name),
            changes.get("path_on_datastore", current.path_on_datastore),
        )
    with database(request).session() as session:
        return schedules.update(session, workspace, name, changes, now=now_ms(), data_state=state)


@router.get(f"{ONE}/firings", dependencies=guard(READ), response_model=list[FiringRecord])
def list_firings(workspace: str, name: str, request: Request) -> list[FiringRecord]:
    """The slots the schedule fired, newest first, with the runs they started."""
    with database(request).session() as session:
        return schedules.firings(session, workspace, name)
