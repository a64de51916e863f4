"""Reading endpoints: an endpoint's rows into :class:`EndpointRecord` (deployments, their
models and replicas, the keys' digests), lookups by name, and which deployments serve a model.

The other endpoint modules build on these: ``endpoints`` (create, delete), ``endpoint_keys``,
``endpoint_deployments`` and ``endpoint_reports``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from atelier.core.endpoints import DeploymentRecord, EndpointRecord, ReplicaRecord
from atelier.core.errors import NotFoundError
from atelier.core.timeutil import now_ms
from atelier.services import workspaces
from atelier.store.models import (
    DeploymentModelRow,
    DeploymentRow,
    EndpointKeyRow,
    EndpointRow,
    ModelRow,
    ReplicaRow,
)

__all__ = [
    "KEY_SLOTS",
    "bump",
    "deployment_row",
    "deployments_using",
    "get",
    "get_row",
    "list_all",
    "records",
]

#: an endpoint's two keys, in the order its record lists their digests
KEY_SLOTS = ("primary", "secondary")


def get_row(session: Session, workspace: str, name: str) -> EndpointRow:
    ws = workspaces.get_row(session, workspace)
    row = session.scalar(
        select(EndpointRow).where(EndpointRow.workspace_id == ws.id, EndpointRow.name == name)
    )
    if row is None:
        raise NotFoundError(
            f"there is no endpoint {name!r} in workspace {workspace!r}; list them with "
            f"'atelier endpoint list -w {workspace}' or Webservice.list(ws)"
        )
    return row


def deployment_row(session: Session, endpoint: EndpointRow, name: str) -> DeploymentRow:
    row = session.scalar(
        select(DeploymentRow).where(
            DeploymentRow.endpoint_id == endpoint.id, DeploymentRow.name == name
        )
    )
    if row is None:
        names = session.scalars(
            select(DeploymentRow.name).where(DeploymentRow.endpoint_id == endpoint.id)
        ).all()
        raise NotFoundError(
            f"endpoint {endpoint.name!r} has no deployment {name!r}; it has "
            f"{', '.join(sorted(names)) or 'none'}"
        )
    return row


def _children(
    session: Session, deployment_ids: list[str]
) -> tuple[dict[str, list[str]], dict[str, list[ReplicaRecord]]]:
    """The model ids and replicas of these deployments, by deployment id."""
    models: dict[str, list[str]] = {}
    replicas: dict[str, list[ReplicaRecord]] = {}
    if deployment_ids:
        query = (
            select(DeploymentModelRow.deployment_id, ModelRow.name, ModelRow.version)
            .join(ModelRow, ModelRow.id == DeploymentModelRow.model_id)
            .where(DeploymentModelRow.deployment_id.in_(deployment_ids))
            .order_by(ModelRow.name, ModelRow.version)
        )
        for deployment_id, name, version in session.execute(query):
            models.setdefault(deployment_id, []).append(f"{name}:{version}")
        for replica in session.scalars(
            select(ReplicaRow)
            .where(ReplicaRow.deployment_id.in_(deployment_ids))
            .order_by(ReplicaRow.index)
        ):
            replicas.setdefault(replica.deployment_id, []).append(
                ReplicaRecord(
                    index=replica.index,
                    pid=replica.pid,
                    port=replica.port,
                    generation=replica.generation,
                    state=replica.state,
                    restarts=replica.restarts,
                    started_ms=replica.started_ms,
                )
            )
    return models, replicas


def records(session: Session, workspace: str, rows: Sequence[EndpointRow]) -> list[EndpointRecord]:
    ids = [row.id for row in rows]
    if not ids:
        return []
    deployments = session.scalars(
        select(DeploymentRow)
        .where(DeploymentRow.endpoint_id.in_(ids))
        .order_by(DeploymentRow.created_ms, DeploymentRow.name)
    ).all()
    models, replicas = _children(session, [d.id for d in deployments])
    digests: dict[str, dict[str, str]] = {}
    for key in session.scalars(select(EndpointKeyRow).where(EndpointKeyRow.endpoint_id.in_(ids))):
        digests.setdefault(key.endpoint_id, {})[key.slot] = key.digest
    by_endpoint: dict[str, list[DeploymentRecord]] = {}
    for d in deployments:
        by_endpoint.setdefault(d.endpoint_id, []).append(
            DeploymentRecord(
                name=d.name,
                generation=d.generation,
                spec=dict(d.spec),
                models=tuple(models.get(d.id, ())),
                state=d.state,
                served_generation=d.served_generation,
                error=d.error,
                replicas=tuple(replicas.get(d.id, ())),
                created_ms=d.created_ms,
                updated_ms=d.updated_ms,
            )
        )
    return [
        EndpointRecord(
            id=row.id,
            workspace=workspace,
            name=row.name,
            kind=row.kind,
            port=row.port,
            auth_enabled=row.auth_enabled,
            config=dict(row.config),
            traffic={str(k): int(v) for k, v in row.traffic.items()},
            key_digests=tuple(
                digests.get(row.id, {})[slot]
                for slot in KEY_SLOTS
                if slot in digests.get(row.id, {})
            ),
            manager_pid=row.manager_pid,
            revision=row.revision,
            applied_revision=row.applied_revision,
            deployments=tuple(by_endpoint.get(row.id, ())),
            created_ms=row.created_ms,
            updated_ms=row.updated_ms,
        )
        for row in rows
    ]


def get(session: Session, workspace: str, name: str) -> EndpointRecord:
    """The endpoint with its deployments, replicas and key digests."""
    return records(session, workspace, [get_row(session, workspace, name)])[0]


def list_all(
    session: Session, workspace: str, model: tuple[str, int | None] | None = None
) -> list[EndpointRecord]:
    """The workspace's endpoints by name; with ``model`` (name, version or None) only
    those with a deployment serving it."""
    ws = workspaces.get_row(session, workspace)
    query = select(EndpointRow).where(EndpointRow.workspace_id == ws.id)
    if model is not None:
        name, version = model
        serving = (
            select(DeploymentRow.endpoint_id)
            .join(DeploymentModelRow, DeploymentModelRow.deployment_id == DeploymentRow.id)
            .join(ModelRow, ModelRow.id == DeploymentModelRow.model_id)
            .where(ModelRow.workspace_id == ws.id, ModelRow.name == name)
        )
        if version is not None:
            serving = serving.where(ModelRow.version == version)
        query = query.where(EndpointRow.id.in_(serving))
    rows = session.scalars(query.order_by(EndpointRow.name)).all()
    return records(session, workspace, rows)


def deployments_using(session: Session, model_id: str) -> list[str]:
    """``endpoint/deployment`` names that serve the model version with this row id."""
    query = (
        select(EndpointRow.name, DeploymentRow.name)
        .join(DeploymentRow, DeploymentRow.endpoint_id == EndpointRow.id)
        .join(DeploymentModelRow, DeploymentModelRow.deployment_id == DeploymentRow.id)
        .where(DeploymentModelRow.model_id == model_id)
        .order_by(EndpointRow.name, DeploymentRow.name)
    )
    return [f"{endpoint}/{deployment}" for endpoint, deployment in session.execute(query)]


def bump(row: EndpointRow) -> None:
    """Raise the endpoint's revision: a change its manager must act on."""
    row.revision += 1
    row.updated_ms = now_ms()
