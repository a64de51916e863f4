"""Pipeline schedules: what each submits, and when or on what data change.

API (each takes an open session; workspaces are addressed by name)::

    create(session, workspace, spec, *, now, data_state=None) -> ScheduleRecord
    get(session, workspace, schedule_id_or_name) -> ScheduleRecord
    list_all(session, workspace, *, active_only, target_id=None) -> list[ScheduleRecord]
    update(session, workspace, schedule_id, changes, *, now, data_state=None) -> ScheduleRecord
    firings(session, workspace, schedule_id) -> list[FiringRecord]   # newest first

``spec`` holds azureml's ``Schedule.create`` arguments by name (``target_kind`` says what
``target_id`` names: a published pipeline, a pipeline endpoint, or nothing for a script
run whose ``target_definition`` is stored here). A schedule has a ``recurrence`` or a
watched ``datastore_name`` (+ ``path_on_datastore``), never both. ``data_state`` is what
the watched path holds now (``schedule_data.watch_state``): changes after it fire runs.

Claiming and recording slots is in ``schedule_slots``; the arithmetic in ``schedule_times``.

Errors: ``ValidationError`` (an impossible recurrence, a bad name or value, neither or both
triggers), ``NotFoundError`` (no such workspace, schedule or datastore),
``AlreadyExistsError`` (the name is taken in the workspace).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from atelier.core.errors import AlreadyExistsError, NotFoundError, ValidationError
from atelier.core.ids import new_id
from atelier.core.names import check_experiment_name, check_relative_path
from atelier.core.schedules import (
    ACTIVE,
    DISABLED,
    STATUSES,
    TARGET_KINDS,
    FiringRecord,
    ScheduleRecord,
    check_polling_interval,
    check_recurrence,
    check_schedule_name,
)
from atelier.services import datastores, workspaces
from atelier.services.schedule_times import first_due_ms, next_due_ms
from atelier.store.models import ScheduleFiringRow, ScheduleRow

#: the fields ``update`` may change (azureml's ``Schedule.update`` arguments)
UPDATABLE = (
    "name",
    "description",
    "recurrence",
    "pipeline_parameters",
    "status",
    "datastore_name",
    "polling_interval",
    "data_path_parameter_name",
    "continue_on_step_failure",
    "path_on_datastore",
    # a drift detector's definition (DataDriftDetector.update); no other kind's
    "target_definition",
)
_MINUTE_MS = 60_000


def record(row: ScheduleRow, workspace: str) -> ScheduleRecord:
    return ScheduleRecord(
        id=row.id,
        workspace_name=workspace,
        name=row.name,
        description=row.description,
        status=row.status,
        target_kind=row.target_kind,
        target_id=row.target_id,
        target_definition=dict(row.target_definition),
        experiment_name=row.experiment_name,
        pipeline_parameters=dict(row.pipeline_parameters),
        recurrence=dict(row.recurrence) if row.recurrence is not None else None,
        datastore_name=row.datastore_name,
        path_on_datastore=row.path_on_datastore,
        polling_interval=row.polling_interval,
        data_path_parameter_name=row.data_path_parameter_name,
        continue_on_step_failure=row.continue_on_step_failure,
        next_due_ms=row.next_due_ms,
        created_ms=row.created_ms,
        updated_ms=row.updated_ms,
    )


def firing_record(row: ScheduleFiringRow, workspace: str) -> FiringRecord:
    return FiringRecord(
        id=row.id,
        schedule_id=row.schedule_id,
        workspace_name=workspace,
        slot_ms=row.slot_ms,
        reason=row.reason,
        fired_ms=row.fired_ms,
        run_id=row.run_id,
        error=row.error,
        changed_paths=list(row.changed_paths.get("paths", [])),
    )


def _text(name: str, value: object, *, empty: bool = True) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or (not empty and not value):
        raise ValidationError(f"{name} must be a string; got {value!r}")
    if len(value) > 4000:
        raise ValidationError(f"{name} is longer than 4000 characters")
    return value


def _parameters(value: object) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise ValidationError("pipeline_parameters must be a dict of name -> value")
    return dict(value)


def _check_drift_definition(definition: object) -> dict[str, Any]:
    """A drift detector's definition holds its two datasets, a frequency and a threshold
    (the SDK fills the rest); anything else would only fail when the schedule fires."""
    if not isinstance(definition, Mapping):
        raise ValidationError("a drift detector's definition must be an object")
    for side in ("baseline", "target"):
        dataset = definition.get(side)
        if not isinstance(dataset, Mapping) or not isinstance(dataset.get("definition"), Mapping):
            raise ValidationError(f"a drift detector's definition needs its {side} dataset")
    if definition.get("frequency") not in ("Day", "Week", "Month"):
        raise ValidationError("a drift detector's frequency is one of Day, Week, Month")
    threshold = definition.get("drift_threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise ValidationError("a drift detector's drift_threshold is a number from 0 to 1")
    if not 0 <= threshold <= 1:
        raise ValidationError("a drift detector's drift_threshold is a number from 0 to 1")
    return dict(definition)


def _check_target(kind: object, target_id: object, definition: object) -> None:
    if kind not in TARGET_KINDS:
        raise ValidationError(f"target kind {kind!r} is not one of {', '.join(TARGET_KINDS)}")
    if kind == "datadrift":
        _check_drift_definition(definition)
    if kind == "script":
        if not isinstance(definition, Mapping) or not definition.get("snapshot_id"):
            raise ValidationError("a script schedule needs its run definition and snapshot")
    elif not isinstance(target_id, str) or not target_id:
        raise ValidationError(
            "give the pipeline to schedule: pipeline_id= (a published pipeline) or "
            "pipeline_endpoint_id= (a pipeline endpoint)"
        )


def _apply_trigger(
    session: Session, row: ScheduleRow, workspace: str, now: int, *, fresh: bool = True
) -> None:
    """Check the recurrence or the watched datastore and set the next due time: the first
    slot of a new (``fresh``) recurrence, else the first slot after now (re-enabled)."""
    if row.recurrence is not None and row.datastore_name is not None:
        raise ValidationError(
            "give a schedule either recurrence= or datastore= (a data trigger), not both"
        )
    if row.recurrence is not None:
        row.recurrence = check_recurrence(row.recurrence)
        if fresh or row.anchor_ms is None:
            row.anchor_ms = now
            due = first_due_ms(row.recurrence, now)
        else:
            due = next_due_ms(row.recurrence, row.anchor_ms, now)
        row.next_due_ms = due if row.status == ACTIVE else None
        return
    if row.datastore_name is None:
        raise ValidationError(
            "give a schedule a recurrence=ScheduleRecurrence(...) or a datastore= to watch"
        )
    datastores.get(session, workspace, row.datastore_name)  # NotFoundError when absent
    if row.path_on_datastore:
        row.path_on_datastore = check_relative_path(row.path_on_datastore, what="path_on_datastore")
    row.polling_interval = check_polling_interval(row.polling_interval)
    due = now + row.polling_interval * _MINUTE_MS
    row.next_due_ms = due if row.status == ACTIVE else None


def create(
    session: Session,
    workspace: str,
    spec: Mapping[str, Any],
    *,
    now: int,
    data_state: dict[str, str] | None = None,
) -> ScheduleRecord:
    """A new schedule, due at its first slot: Active unless ``spec`` says ``status:
    Disabled`` (a drift detector starts so, until its schedule is enabled)."""
    workspace_id = workspaces.id_of(session, workspace)
    status = spec.get("status") or ACTIVE
    if status not in STATUSES:
        raise ValidationError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    _check_target(spec.get("target_kind"), spec.get("target_id"), spec.get("target_definition"))
    row = ScheduleRow(
        id=new_id(),
        workspace_id=workspace_id,
        name=check_schedule_name(spec.get("name")),
        description=_text("description", spec.get("description")) or "",
        status=status,
        target_kind=spec["target_kind"],
        target_id=spec.get("target_id"),
        target_definition=dict(spec.get("target_definition") or {}),
        experiment_name=check_experiment_name(spec.get("experiment_name")),
        pipeline_parameters=_parameters(spec.get("pipeline_parameters")),
        recurrence=spec.get("recurrence"),
        datastore_name=_text("datastore", spec.get("datastore_name"), empty=False),
        path_on_datastore=_text("path_on_datastore", spec.get("path_on_datastore")),
        polling_interval=spec.get("polling_interval", 5),
        data_path_parameter_name=_text(
            "data_path_parameter_name", spec.get("data_path_parameter_name")
        ),
        continue_on_step_failure=_flag(spec.get("continue_on_step_failure")),
        data_state=data_state if spec.get("datastore_name") else None,
        created_ms=now,
        updated_ms=now,
    )
    _apply_trigger(session, row, workspace, now)
    _check_free_name(session, workspace_id, row.name, workspace)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise _taken(row.name, workspace) from exc
    return record(row, workspace)


def _flag(value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ValidationError(f"continue_on_step_failure must be True, False or None; got {value!r}")


def _taken(name: str, workspace: str) -> AlreadyExistsError:
    return AlreadyExistsError(
        f"schedule {name!r} already exists in workspace {workspace!r}; pick another name "
        "or change that one with Schedule.update"
    )


def _check_free_name(session: Session, workspace_id: str, name: str, workspace: str) -> None:
    taken = session.scalar(
        select(ScheduleRow.id).where(
            ScheduleRow.workspace_id == workspace_id, ScheduleRow.name == name
        )
    )
    if taken is not None:
        raise _taken(name, workspace)


def get_row(session: Session, workspace: str, schedule: str) -> ScheduleRow:
    """The schedule by id or, failing that, by name."""
    workspace_id = workspaces.id_of(session, workspace)
    for column in (ScheduleRow.id, ScheduleRow.name):
        row = session.scalar(
            select(ScheduleRow).where(ScheduleRow.workspace_id == workspace_id, column == schedule)
        )
        if row is not None:
            return row
    raise NotFoundError(
        f"schedule {schedule!r} not found in workspace {workspace!r}; list them with "
        f"Schedule.list(ws) or 'atelier schedule list -w {workspace}'"
    )


def get(session: Session, workspace: str, schedule: str) -> ScheduleRecord:
    return record(get_row(session, workspace, schedule), workspace)


def list_all(
    session: Session, workspace: str, *, active_only: bool = True, target_id: str | None = None
) -> list[ScheduleRecord]:
    """The workspace's schedules by name (only Active ones unless ``active_only`` is off;
    only those submitting ``target_id`` when given)."""
    query = select(ScheduleRow).where(
        ScheduleRow.workspace_id == workspaces.id_of(session, workspace)
    )
    if active_only:
        query = query.where(ScheduleRow.status == ACTIVE)
    if target_id is not None:
        query = query.where(ScheduleRow.target_id == target_id)
    return [record(row, workspace) for row in session.scalars(query.order_by(ScheduleRow.name))]


def update(
    session: Session,
    workspace: str,
    schedule: str,
    changes: Mapping[str, Any],
    *,
    now: int,
    data_state: dict[str, str] | None = None,
) -> ScheduleRecord:
    """Change the fields azureml's ``Schedule.update`` takes; a recurrence, a status or a
    watched path that changes starts the schedule afresh from ``now`` (no slot of the
    time it was disabled fires)."""
    unknown = sorted(set(changes) - set(UPDATABLE))
    if unknown:
        raise ValidationError(f"cannot update {', '.join(unknown)}; change {', '.join(UPDATABLE)}")
    row = get_row(session, workspace, schedule)
    status = changes.get("status")
    if status is not None and status not in STATUSES:
        raise ValidationError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    restart = _assign(row, changes)
    if data_state is not None:
        row.data_state = data_state
    if restart:
        _apply_trigger(session, row, workspace, now, fresh=changes.get("recurrence") is not None)
    if row.status == DISABLED:
        row.next_due_ms = None
    if "name" in changes and changes["name"] is not None:
        _check_free_other(session, row, workspace)
    row.updated_ms = now
    session.flush()
    return record(row, workspace)


def _assign(row: ScheduleRow, changes: Mapping[str, Any]) -> bool:
    """Set the given (non-None) fields; True when the trigger must be set afresh."""
    restart = False
    for field, value in changes.items():
        if value is None:
            continue
        if field == "name":
            row.name = check_schedule_name(value)
        elif field == "description":
            row.description = _text("description", value) or ""
        elif field == "pipeline_parameters":
            row.pipeline_parameters = _parameters(value)
        elif field == "continue_on_step_failure":
            row.continue_on_step_failure = _flag(value)
        elif field == "data_path_parameter_name":
            row.data_path_parameter_name = _text(field, value)
        elif field == "target_definition":
            if row.target_kind != "datadrift":
                raise ValidationError("only a drift detector's definition can be updated")
            row.target_definition = _check_drift_definition(value)
        else:
            restart = restart or field != "status" or value != row.status
            if field == "recurrence" and row.datastore_name is not None:
                raise ValidationError("this schedule watches a datastore; it takes no recurrence")
            if field in ("datastore_name", "path_on_datastore") and row.recurrence is not None:
                raise ValidationError("this schedule has a recurrence; it watches no datastore")
            setattr(row, field, value)
    return restart


def _check_free_other(session: Session, row: ScheduleRow, workspace: str) -> None:
    other = session.scalar(
        select(ScheduleRow.id).where(
            ScheduleRow.workspace_id == row.workspace_id,
            ScheduleRow.name == row.name,
            ScheduleRow.id != row.id,
        )
    )
    if other is not None:
        raise _taken(row.name, workspace)


def firings(session: Session, workspace: str, schedule: str) -> list[FiringRecord]:
    """The slots the schedule fired, newest first, with the runs they started."""
    row = get_row(session, workspace, schedule)
    found = session.scalars(
        select(ScheduleFiringRow)
        .where(ScheduleFiringRow.schedule_id == row.id)
        .order_by(ScheduleFiringRow.slot_ms.desc())
    )
    return [firing_record(item, workspace) for item in found]
