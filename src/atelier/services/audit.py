"""The audit log: who did what, when, where, and how it ended."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from atelier.core.access import AuditRecord
from atelier.core.errors import ValidationError
from atelier.core.timeutil import now_ms
from atelier.store.models import AuditRow

_MAX_LIMIT = 1000


def record(
    session: Session,
    actor: str,
    action: str,
    *,
    workspace_name: str | None = None,
    target: str = "",
    status: int = 0,
) -> None:
    session.add(
        AuditRow(
            at_ms=now_ms(),
            actor=actor[:63],
            action=action[:255],
            workspace_name=workspace_name[:63] if workspace_name else None,
            target=target[:1024],
            status=status,
        )
    )


def list_entries(
    session: Session,
    *,
    workspace_name: str | None = None,
    actor: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[AuditRecord]:
    """The newest entries first; page with ``before_id`` (the last id of the previous page)."""
    if not 0 < limit <= _MAX_LIMIT:
        raise ValidationError(f"limit must be between 1 and {_MAX_LIMIT}, got {limit}")
    query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
    if workspace_name is not None:
        query = query.where(AuditRow.workspace_name == workspace_name)
    if actor is not None:
        query = query.where(AuditRow.actor == actor)
    if before_id is not None:
        query = query.where(AuditRow.id < before_id)
    return [
        AuditRecord(
            id=row.id,
            at_ms=row.at_ms,
            actor=row.actor,
            action=row.action,
            workspace_name=row.workspace_name,
            target=row.target,
            status=row.status,
        )
        for row in session.scalars(query)
    ]
