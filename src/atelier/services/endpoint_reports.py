"""What an endpoint's processes send back: its manager's pid, the manager's reports
(per deployment its state, the generation it serves and its replicas), the failure of a
manager that is gone, and the model data (request inputs and outputs) its replicas collect.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from atelier.core.endpoints import (
    FAILED,
    STATES,
    EndpointRecord,
    ReplicaReport,
    model_data_prefix,
)
from atelier.core.errors import StoreError, ValidationError
from atelier.core.timeutil import now_ms
from atelier.services.endpoint_records import get, get_row
from atelier.storage.blobstore import BlobStore
from atelier.storage.named import NamedFiles
from atelier.store.models import DeploymentRow, ReplicaRow

__all__ = ["mark_failed", "model_data", "report", "set_manager", "write_model_data"]

_ERROR_MAX = 20_000


def set_manager(session: Session, workspace: str, endpoint: str, pid: int) -> EndpointRecord:
    """Record the pid of the process that manages the endpoint (0: none)."""
    row = get_row(session, workspace, endpoint)
    row.manager_pid = int(pid)
    row.updated_ms = now_ms()
    session.flush()
    return get(session, workspace, endpoint)


def report(
    session: Session,
    workspace: str,
    endpoint: str,
    applied_revision: int,
    reports: Sequence[ReplicaReport],
) -> EndpointRecord:
    """A manager's report: the revision it acted on, and per deployment its state, the
    generation it serves and its replicas. A report about an older generation than the
    deployment's current one updates the replicas only."""
    row = get_row(session, workspace, endpoint)
    for item in reports:
        if item.state not in STATES:
            raise ValidationError(f"unknown deployment state {item.state!r}")
        deployment = session.scalar(
            select(DeploymentRow).where(
                DeploymentRow.endpoint_id == row.id, DeploymentRow.name == item.deployment
            )
        )
        if deployment is None:
            continue  # deleted meanwhile
        if item.generation == deployment.generation:
            deployment.state = item.state
            deployment.error = (item.error or "")[-_ERROR_MAX:] or None
        deployment.served_generation = item.served_generation
        deployment.updated_ms = now_ms()
        session.execute(sql_delete(ReplicaRow).where(ReplicaRow.deployment_id == deployment.id))
        for replica in item.replicas:
            session.add(
                ReplicaRow(
                    deployment_id=deployment.id,
                    index=replica.index,
                    pid=replica.pid,
                    port=replica.port,
                    generation=replica.generation,
                    state=replica.state,
                    restarts=replica.restarts,
                    started_ms=replica.started_ms,
                )
            )
    row.applied_revision = max(row.applied_revision, min(int(applied_revision), row.revision))
    try:
        session.flush()
    except IntegrityError as exc:
        raise StoreError(f"could not record the report of endpoint {endpoint!r}: {exc}") from exc
    return get(session, workspace, endpoint)


def mark_failed(session: Session, workspace: str, endpoint: str, error: str) -> EndpointRecord:
    """Mark every deployment Failed (the manager is gone) with ``error``."""
    row = get_row(session, workspace, endpoint)
    for deployment in session.scalars(
        select(DeploymentRow).where(DeploymentRow.endpoint_id == row.id)
    ):
        if deployment.state != FAILED:
            deployment.state = FAILED
            deployment.error = error[-_ERROR_MAX:]
    session.execute(
        sql_delete(ReplicaRow).where(
            ReplicaRow.deployment_id.in_(
                select(DeploymentRow.id).where(DeploymentRow.endpoint_id == row.id)
            )
        )
    )
    row.manager_pid = 0
    session.flush()
    return get(session, workspace, endpoint)


def write_model_data(
    blobs: BlobStore, workspace: str, endpoint: str, deployment: str, day: str, data: bytes
) -> str:
    """Store one Parquet batch in the day's partition (``YYYY-MM-DD``); return where it went.
    ``ValidationError`` for a bad endpoint, deployment or day."""
    prefix = model_data_prefix(workspace, endpoint, deployment, day)
    name = f"part-{now_ms()}-{uuid.uuid4().hex[:8]}.parquet"
    return NamedFiles(blobs).write(f"{prefix}/{name}", data)


def model_data(
    blobs: BlobStore, workspace: str, endpoint: str, deployment: str | None = None
) -> list[tuple[str, bytes]]:
    """Every stored batch of the endpoint (or one deployment): (path, bytes), oldest day
    first."""
    files = NamedFiles(blobs)
    prefix = model_data_prefix(workspace, endpoint, deployment)
    return [(path, files.read(path)) for path in files.list(prefix)]
