"""Runs: one module per part of the resource.

- ``runs`` (this module): creating a run, its tags and properties; the entry point that
  re-exports the others' functions, so a caller imports one module
- ``run_records``: reading one run or many into records, lookups other services use
- ``run_queries``: a workspace's or experiment's runs filtered and ordered, descendants,
  runs whose supervisor went silent
- ``run_transitions``: the status machine, cancel, heartbeats and the queue
- ``run_logs``: a run's script output
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from atelier.core.errors import (
    AlreadyExistsError,
    ConflictError,
    NotFoundError,
    ValidationError,
)
from atelier.core.ids import new_run_id
from atelier.core.names import check_key, check_run_id, check_text_value
from atelier.core.records import RunRecord
from atelier.core.status import RunStatus
from atelier.core.timeutil import now_ms
from atelier.services import experiments
from atelier.services._convert import run_record
from atelier.services.run_queries import descendants, list_runs, stale_runs
from atelier.services.run_records import (
    absent_run,
    get,
    get_rows,
    require_in_workspace,
    require_writable,
    workspace_of,
)
from atelier.services.run_transitions import (
    ACTIVE_STATUSES,
    TRANSITIONS,
    cancel,
    heartbeat,
    queue_state,
    transition,
)
from atelier.store.models import ExperimentRow, RunPropertyRow, RunRow, RunTagRow

_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


def _check_request_id(request_id: str) -> None:
    if not isinstance(request_id, str) or not _REQUEST_ID.fullmatch(request_id):
        raise ValidationError(
            f"invalid request id {request_id!r}: use 1-64 letters, digits, '.', '_', ':' or "
            "'-' starting with a letter or digit (a new UUID per request)"
        )


def _created_by(
    session: Session, workspace: str, experiment: str, request_id: str
) -> RunRecord | None:
    """The run a request with ``request_id`` created, if one did; a request id that
    created a run elsewhere is a ``ConflictError`` (request ids must be new per request)."""
    run_id = session.scalar(select(RunRow.run_id).where(RunRow.request_id == request_id))
    if run_id is None:
        return None
    try:
        found = get(session, workspace, run_id)
    except NotFoundError:
        found = None
    if found is None or found.experiment_name != experiment:
        raise ConflictError(
            f"request id {request_id!r} already created another run; send a new request id "
            "with each new run"
        )
    return found


__all__ = [
    "ACTIVE_STATUSES",
    "TRANSITIONS",
    "absent_run",
    "add_properties",
    "cancel",
    "create",
    "descendants",
    "get",
    "get_rows",
    "heartbeat",
    "list_runs",
    "queue_state",
    "remove_tags",
    "require_in_workspace",
    "require_writable",
    "set_tags",
    "stale_runs",
    "transition",
    "workspace_of",
]


def create(
    session: Session,
    workspace: str,
    experiment: str,
    *,
    parent_run_id: str | None = None,
    display_name: str = "",
    run_type: str = "interactive",
    target: str = "local",
    status: RunStatus = RunStatus.RUNNING,
    tags: dict[str, Any] | None = None,
    properties: dict[str, Any] | None = None,
    run_id: str | None = None,
    definition: dict[str, Any] | None = None,
    snapshot_id: str | None = None,
    request_id: str | None = None,
) -> RunRecord:
    """Create a run (and its experiment if needed) in the given initial status.

    ``request_id`` (chosen by the client, sent again when it retries) makes the creation
    idempotent: a request id already used returns the run it created, unchanged."""
    if request_id is not None:
        _check_request_id(request_id)
        done = _created_by(session, workspace, experiment, request_id)
        if done is not None:
            return done
    experiments.get_or_create(session, workspace, experiment)
    exp = experiments.get_row(session, workspace, experiment)
    experiments.require_active(exp)
    if parent_run_id is not None:
        parent, _ = get_rows(session, workspace, parent_run_id)
        if parent.experiment_id != exp.id:
            raise ValidationError("a child run must belong to its parent's experiment")
    if run_id is None:
        run_id = new_run_id(exp.name)
    else:
        check_run_id(run_id)
        if session.get(RunRow, run_id) is not None:
            raise AlreadyExistsError(f"run id {run_id!r} is taken; choose another or omit it")
    number = session.execute(
        update(ExperimentRow)
        .where(ExperimentRow.id == exp.id)
        .values(run_count=ExperimentRow.run_count + 1)
        .returning(ExperimentRow.run_count)
    ).scalar_one()
    created = now_ms()
    row = RunRow(
        run_id=run_id,
        experiment_id=exp.id,
        number=number,
        parent_run_id=parent_run_id,
        display_name=display_name or run_id,
        run_type=run_type,
        target=target,
        status=status.value,
        created_ms=created,
        started_ms=created if status == RunStatus.RUNNING else None,
        definition=definition,
        snapshot_id=snapshot_id,
        request_id=request_id,
    )
    try:
        with session.begin_nested():  # the same request id arriving twice at once
            session.add(row)
    except IntegrityError:
        done = _created_by(session, workspace, experiment, request_id or "")
        if done is None:
            raise
        return done
    clean_tags = _clean("tag", tags)
    clean_props = _clean("property", properties)
    session.add_all(RunTagRow(run_id=run_id, key=k, value=v) for k, v in clean_tags.items())
    session.add_all(RunPropertyRow(run_id=run_id, key=k, value=v) for k, v in clean_props.items())
    session.flush()
    return run_record(row, exp.name, workspace, clean_tags, clean_props)


def _clean(kind: str, values: dict[str, Any] | None) -> dict[str, str]:
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ValidationError(f"{kind}s must be a dict of names to values, not {type(values)}")
    return {check_key(kind, k): check_text_value(kind, k, v) for k, v in values.items()}


def set_tags(session: Session, workspace: str, run_id: str, tags: dict[str, Any]) -> None:
    get_rows(session, workspace, run_id)
    for key, value in _clean("tag", tags).items():
        existing = session.get(RunTagRow, (run_id, key))
        if existing is None:
            session.add(RunTagRow(run_id=run_id, key=key, value=value))
        else:
            existing.value = value
    session.flush()


def remove_tags(session: Session, workspace: str, run_id: str, keys: list[str]) -> None:
    get_rows(session, workspace, run_id)
    session.execute(
        delete(RunTagRow).where(RunTagRow.run_id == run_id, RunTagRow.key.in_(list(keys)))
    )


def add_properties(
    session: Session, workspace: str, run_id: str, properties: dict[str, Any]
) -> None:
    """Add properties; a property is immutable, so a different value for a key raises."""
    get_rows(session, workspace, run_id)
    for key, value in _clean("property", properties).items():
        existing = session.get(RunPropertyRow, (run_id, key))
        if existing is None:
            session.add(RunPropertyRow(run_id=run_id, key=key, value=value))
        elif existing.value != value:
            raise ConflictError(
                f"property {key!r} of run {run_id!r} is already {existing.value!r}; properties "
                "are immutable, record a changing value with run.tag() instead"
            )
    session.flush()
