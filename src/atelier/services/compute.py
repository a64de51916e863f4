"""Compute targets: where runs execute. ``local`` exists in every workspace."""

from __future__ import annotations

import os
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from atelier.core.errors import (
    AlreadyExistsError,
    ComputeTargetNotFoundError,
    InvalidStateError,
    ValidationError,
)
from atelier.core.ids import new_id
from atelier.core.records import ComputeRecord
from atelier.core.ssh_names import check_ssh_settings
from atelier.core.status import TERMINAL_STATUSES
from atelier.core.timeutil import now_ms
from atelier.services import workspaces
from atelier.store.models import ComputeTargetRow, ExperimentRow, RunRow

KINDS = ("local", "ray", "ssh")
LOCAL = "local"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{1,31}")
NAME_RULE = "2-32 characters: letters, digits and '-', starting with a letter"


def _record(row: ComputeTargetRow) -> ComputeRecord:
    return ComputeRecord(
        id=row.id,
        name=row.name,
        kind=row.kind,
        config=dict(row.config or {}),
        state=row.state,
        error=row.error,
        created_ms=row.created_ms,
    )


def _local_defaults() -> dict[str, Any]:
    return {"max_concurrent_runs": max(1, os.cpu_count() or 1)}


def _row(session: Session, workspace: str, name: str) -> ComputeTargetRow:
    ws = workspaces.get_row(session, workspace)
    row = session.scalar(
        select(ComputeTargetRow).where(
            ComputeTargetRow.workspace_id == ws.id, ComputeTargetRow.name == name
        )
    )
    if row is None and name == LOCAL:
        row = ComputeTargetRow(
            id=new_id(),
            workspace_id=ws.id,
            name=LOCAL,
            kind="local",
            config=_local_defaults(),
            state="Succeeded",
            created_ms=now_ms(),
        )
        session.add(row)
        session.flush()
    if row is None:
        raise ComputeTargetNotFoundError(
            f"compute target {name!r} not found in workspace {workspace!r}; create it with "
            "ComputeTarget.create(...) or 'atelier compute create', or use 'local'"
        )
    return row


def create(
    session: Session, workspace: str, name: str, kind: str, config: dict[str, Any]
) -> ComputeRecord:
    if not _NAME.fullmatch(name):
        raise ValidationError(f"invalid compute target name {name!r}: use {NAME_RULE}")
    if kind not in KINDS:
        raise ValidationError(f"compute kind {kind!r} is not one of {', '.join(KINDS)}")
    if kind == "ssh":
        check_ssh_settings(config)
    ws = workspaces.get_row(session, workspace)
    exists = session.scalar(
        select(ComputeTargetRow.id).where(
            ComputeTargetRow.workspace_id == ws.id, ComputeTargetRow.name == name
        )
    )
    if exists is not None or name == LOCAL:
        raise AlreadyExistsError(f"compute target {name!r} already exists; pick another name")
    row = ComputeTargetRow(
        id=new_id(),
        workspace_id=ws.id,
        name=name,
        kind=kind,
        config=config,
        state="Creating",
        created_ms=now_ms(),
    )
    session.add(row)
    session.flush()
    return _record(row)


def get(session: Session, workspace: str, name: str) -> ComputeRecord:
    return _record(_row(session, workspace, name))


def list_all(session: Session, workspace: str) -> list[ComputeRecord]:
    _row(session, workspace, LOCAL)
    ws = workspaces.get_row(session, workspace)
    rows = session.scalars(
        select(ComputeTargetRow)
        .where(ComputeTargetRow.workspace_id == ws.id)
        .order_by(ComputeTargetRow.name)
    )
    return [_record(row) for row in rows]


def update(
    session: Session,
    workspace: str,
    name: str,
    *,
    state: str | None = None,
    config: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> ComputeRecord:
    row = _row(session, workspace, name)
    if state is not None:
        row.state = state
    if config is not None:
        merged = dict(row.config or {})
        merged.update(config)
        limit = merged.get("max_concurrent_runs")
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise ValidationError("max_concurrent_runs must be a whole number >= 1")
        if row.kind == "ssh":
            check_ssh_settings(merged)
        row.config = merged
    if error is not None:
        row.error = error
    session.flush()
    return _record(row)


def delete(session: Session, workspace: str, name: str) -> None:
    """Delete a target; refused for ``local`` and while runs on it are unfinished."""
    if name == LOCAL:
        raise InvalidStateError("the 'local' compute target always exists and cannot be deleted")
    row = _row(session, workspace, name)
    busy = session.scalar(
        select(RunRow.run_id)
        .join(ExperimentRow, ExperimentRow.id == RunRow.experiment_id)
        .where(
            ExperimentRow.workspace_id == row.workspace_id,
            RunRow.target == name,
            RunRow.status.not_in([s.value for s in TERMINAL_STATUSES]),
        )
        .limit(1)
    )
    if busy is not None:
        raise InvalidStateError(
            f"compute target {name!r} still has run {busy!r} unfinished; cancel it first"
        )
    session.delete(row)
