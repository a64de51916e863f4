"""Workspaces: create, look up, list, delete."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from atelier.core.errors import AlreadyExistsError, NotFoundError, ValidationError
from atelier.core.ids import new_id
from atelier.core.names import check_key, check_text_value, check_workspace_name
from atelier.core.records import WorkspaceRecord
from atelier.core.timeutil import now_ms
from atelier.services._convert import workspace_record
from atelier.store.models import ArtifactRow, ExperimentRow, RunRow, WorkspaceRow

_ID_BY_NAME = select(WorkspaceRow.__table__.c.id).where(
    WorkspaceRow.__table__.c.name == bindparam("name")
)


def _not_found(name: str) -> NotFoundError:
    check_workspace_name(name)
    return NotFoundError(
        f"workspace {name!r} not found; create it with 'atelier workspace create {name}' "
        "or Workspace.create(name)"
    )


def get_row(session: Session, name: str) -> WorkspaceRow:
    row = session.scalar(select(WorkspaceRow).where(WorkspaceRow.name == name))
    if row is None:
        raise _not_found(name)
    return row


def id_of(session: Session, name: str) -> str:
    """The id of the workspace called ``name`` (one cached query); ``NotFoundError`` if none."""
    found = session.connection().execute(_ID_BY_NAME, {"name": name}).scalar()
    if found is None:
        raise _not_found(name)
    return str(found)


def create(
    session: Session,
    name: str,
    *,
    description: str = "",
    location: str | None = None,
    tags: dict[str, str] | None = None,
    exist_ok: bool = False,
    subscription_id: str | None = None,
    resource_group: str | None = None,
    sku: str | None = None,
) -> WorkspaceRecord:
    """Create a workspace; with ``exist_ok`` return the existing one of that name (as it
    was recorded). azureml's coordinates (``location``, ``subscription_id``,
    ``resource_group``, ``sku``) are kept as given, None where not given."""
    check_workspace_name(name)
    coordinates = {
        key: _coordinate(key, value, limit)
        for key, value, limit in (
            ("location", location, 64),
            ("subscription_id", subscription_id, 128),
            ("resource_group", resource_group, 128),
            ("sku", sku, 64),
        )
    }
    clean_tags = {
        check_key("tag", k): check_text_value("tag", k, v) for k, v in (tags or {}).items()
    }
    existing = session.scalar(select(WorkspaceRow).where(WorkspaceRow.name == name))
    if existing is not None:
        if exist_ok:
            return workspace_record(existing)
        raise AlreadyExistsError(
            f"workspace {name!r} already exists; use Workspace.get({name!r}) or pass exist_ok=True"
        )
    row = WorkspaceRow(
        id=new_id(),
        name=name,
        description=description,
        location=coordinates["location"] or "",
        subscription_id=coordinates["subscription_id"],
        resource_group=coordinates["resource_group"],
        sku=coordinates["sku"],
        tags=clean_tags,
        created_ms=now_ms(),
    )
    session.add(row)
    session.flush()
    return workspace_record(row)


def _coordinate(key: str, value: str | None, limit: int) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationError(f"workspace {key} must be a string of at most {limit} characters")
    return value


def get(session: Session, name: str) -> WorkspaceRecord:
    return workspace_record(get_row(session, name))


def list_all(session: Session) -> list[WorkspaceRecord]:
    rows = session.scalars(select(WorkspaceRow).order_by(WorkspaceRow.name))
    return [workspace_record(row) for row in rows]


def delete(session: Session, name: str) -> set[str]:
    """Delete the workspace and everything in it; return the blob digests it referenced."""
    row = get_row(session, name)
    digests = set(
        session.scalars(
            select(ArtifactRow.digest)
            .join(RunRow, RunRow.run_id == ArtifactRow.run_id)
            .join(ExperimentRow, ExperimentRow.id == RunRow.experiment_id)
            .where(ExperimentRow.workspace_id == row.id)
        )
    )
    session.delete(row)
    session.flush()
    return digests


def name_of(session: Session, workspace_id: str) -> str:
    """The name of the workspace with this id ('' if it is gone)."""
    row = session.get(WorkspaceRow, workspace_id)
    return row.name if row is not None else ""
