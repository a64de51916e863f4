"""Experiments: named groups of runs, created on first use, archivable."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from atelier.core.errors import InvalidStateError, NotFoundError, ValidationError
from atelier.core.ids import new_id
from atelier.core.names import check_experiment_name, check_key, check_text_value
from atelier.core.records import ExperimentRecord
from atelier.core.status import TERMINAL_STATUSES
from atelier.core.timeutil import now_ms
from atelier.services import workspaces
from atelier.services._convert import experiment_record
from atelier.store.models import ArtifactRow, ExperimentRow, RunRow

ViewType = Literal["ActiveOnly", "ArchivedOnly", "All"]


def get_row(session: Session, workspace: str, name: str) -> ExperimentRow:
    ws = workspaces.get_row(session, workspace)
    row = session.scalar(
        select(ExperimentRow).where(ExperimentRow.workspace_id == ws.id, ExperimentRow.name == name)
    )
    if row is None:
        check_experiment_name(name)
        raise NotFoundError(
            f"experiment {name!r} not found in workspace {workspace!r}; "
            "Experiment(ws, name) creates it"
        )
    return row


def get_or_create(session: Session, workspace: str, name: str) -> ExperimentRecord:
    """The experiment of that name, created if it does not exist yet."""
    check_experiment_name(name)
    ws = workspaces.get_row(session, workspace)
    query = select(ExperimentRow).where(
        ExperimentRow.workspace_id == ws.id, ExperimentRow.name == name
    )
    row = session.scalar(query)
    if row is None:
        row = ExperimentRow(
            id=new_id(),
            workspace_id=ws.id,
            name=name,
            archived=False,
            tags={},
            run_count=0,
            created_ms=now_ms(),
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            # another process created it between our read and write
            row = session.scalar(query)
            if row is None:
                raise
    return experiment_record(row)


def get(session: Session, workspace: str, name: str) -> ExperimentRecord:
    return experiment_record(get_row(session, workspace, name))


def list_all(
    session: Session, workspace: str, view_type: ViewType = "ActiveOnly", name: str | None = None
) -> list[ExperimentRecord]:
    if view_type not in ("ActiveOnly", "ArchivedOnly", "All"):
        raise ValidationError(
            f"view_type {view_type!r} is not one of 'ActiveOnly', 'ArchivedOnly', 'All'"
        )
    ws = workspaces.get_row(session, workspace)
    query = select(ExperimentRow).where(ExperimentRow.workspace_id == ws.id)
    if view_type == "ActiveOnly":
        query = query.where(ExperimentRow.archived.is_(False))
    elif view_type == "ArchivedOnly":
        query = query.where(ExperimentRow.archived.is_(True))
    if name is not None:
        query = query.where(ExperimentRow.name == name)
    return [experiment_record(row) for row in session.scalars(query.order_by(ExperimentRow.name))]


def set_archived(session: Session, workspace: str, name: str, archived: bool) -> ExperimentRecord:
    row = get_row(session, workspace, name)
    row.archived = archived
    session.flush()
    return experiment_record(row)


def set_tags(
    session: Session, workspace: str, name: str, tags: dict[str, str | None]
) -> ExperimentRecord:
    row = get_row(session, workspace, name)
    merged = dict(row.tags or {})
    for key, value in tags.items():
        merged[check_key("tag", key)] = check_text_value("tag", key, value)
    row.tags = merged
    session.flush()
    return experiment_record(row)


def remove_tags(session: Session, workspace: str, name: str, keys: list[str]) -> ExperimentRecord:
    """Remove the tags ``keys`` (those the experiment does not have are ignored)."""
    row = get_row(session, workspace, name)
    wanted = {check_key("tag", key) for key in keys}
    row.tags = {key: value for key, value in (row.tags or {}).items() if key not in wanted}
    session.flush()
    return experiment_record(row)


def delete(session: Session, workspace: str, name: str) -> set[str]:
    """Delete the experiment with its runs, metrics and files; return the blob digests
    its runs referenced. ``InvalidStateError`` while one of its runs has not ended."""
    row = get_row(session, workspace, name)
    unfinished = session.scalar(
        select(RunRow.run_id)
        .where(RunRow.experiment_id == row.id, RunRow.status.not_in(list(TERMINAL_STATUSES)))
        .limit(1)
    )
    if unfinished is not None:
        raise InvalidStateError(
            f"experiment {name!r} has a run that has not ended ({unfinished}); "
            "cancel or wait for its runs before deleting it"
        )
    digests = set(
        session.scalars(
            select(ArtifactRow.digest)
            .join(RunRow, RunRow.run_id == ArtifactRow.run_id)
            .where(RunRow.experiment_id == row.id)
        )
    )
    session.delete(row)
    session.flush()
    return digests


def require_active(row: ExperimentRow) -> None:
    if row.archived:
        raise InvalidStateError(
            f"experiment {row.name!r} is archived; call experiment.reactivate() before "
            "starting runs in it"
        )
