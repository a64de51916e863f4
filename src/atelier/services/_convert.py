"""ORM rows to records."""

from __future__ import annotations

from typing import Any

from atelier.core.records import ExperimentRecord, RunRecord, WorkspaceRecord
from atelier.core.status import RunStatus
from atelier.store.models import ExperimentRow, RunRow, WorkspaceRow


def workspace_record(row: WorkspaceRow) -> WorkspaceRecord:
    return WorkspaceRecord(
        id=row.id,
        name=row.name,
        description=row.description,
        location=row.location or None,
        tags=dict(row.tags or {}),
        created_ms=row.created_ms,
        subscription_id=row.subscription_id,
        resource_group=row.resource_group,
        sku=row.sku,
    )


def experiment_record(row: ExperimentRow) -> ExperimentRecord:
    return ExperimentRecord(
        id=row.id,
        workspace_id=row.workspace_id,
        name=row.name,
        archived=row.archived,
        tags=dict(row.tags or {}),
        created_ms=row.created_ms,
    )


def run_record(
    row: RunRow | Any,
    experiment_name: str,
    workspace_name: str,
    tags: dict[str, str],
    properties: dict[str, str],
    latest_metrics: dict[str, float] | None = None,
) -> RunRecord:
    return RunRecord(
        run_id=row.run_id,
        experiment_id=row.experiment_id,
        experiment_name=experiment_name,
        workspace_name=workspace_name,
        number=row.number,
        parent_run_id=row.parent_run_id,
        display_name=row.display_name,
        run_type=row.run_type,
        target=row.target,
        status=RunStatus(row.status),
        created_ms=row.created_ms,
        started_ms=row.started_ms,
        ended_ms=row.ended_ms,
        tags=tags,
        properties=properties,
        error=row.error,
        latest_metrics=latest_metrics,
        definition=row.definition,
        snapshot_id=row.snapshot_id,
        exit_code=row.exit_code,
        heartbeat_ms=row.heartbeat_ms,
        supervisor=row.supervisor,
    )
