"""Endpoints and their deployments: names, traffic splits, keys, and what managers report.

The rules live here: endpoint and deployment names, a traffic split that names existing
deployments and adds up to 100, a deployment that still takes traffic cannot be deleted,
the models a deployment serves must exist (and then cannot be deleted, see
:func:`deployments_using`), and every change an endpoint's manager must act on raises the
endpoint's ``revision``. Keys arrive encrypted (the client holds the cipher) with their
SHA-256 digests; a router checks requests against the digests only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from atelier.core.endpoints import (
    FAILED,
    KINDS,
    STATES,
    TRANSITIONING,
    DeploymentRecord,
    EndpointRecord,
    ReplicaRecord,
    ReplicaReport,
    check_deployment_name,
    check_endpoint_name,
)
from atelier.core.errors import (
    AlreadyExistsError,
    ConflictError,
    NotFoundError,
    StoreError,
    ValidationError,
)
from atelier.core.ids import new_id
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
    "check_deployment_name",
    "check_endpoint_name",
    "create",
    "delete",
    "delete_deployment",
    "deployments_using",
    "get",
    "keys",
    "list_all",
    "put_deployment",
    "report",
    "set_key",
    "set_manager",
    "set_traffic",
]

KEY_SLOTS = ("primary", "secondary")
_ERROR_MAX = 20_000


# --- reading ------------------------------------------------------------------------------
def _row(session: Session, workspace: str, name: str) -> EndpointRow:
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


def _deployment_row(session: Session, endpoint: EndpointRow, name: str) -> DeploymentRow:
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


def _records(session: Session, workspace: str, rows: Sequence[EndpointRow]) -> list[EndpointRecord]:
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
    return _records(session, workspace, [_row(session, workspace, name)])[0]


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
    return _records(session, workspace, rows)


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


def keys(session: Session, workspace: str, name: str) -> dict[str, str]:
    """The endpoint's encrypted keys by slot (``primary``, ``secondary``)."""
    row = _row(session, workspace, name)
    return {
        key.slot: key.ciphertext
        for key in session.scalars(
            select(EndpointKeyRow).where(EndpointKeyRow.endpoint_id == row.id)
        )
    }


# --- changing -----------------------------------------------------------------------------
def _check_port(port: object) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValidationError(f"port must be 1-65535; got {port!r}")
    return port


def _check_keys(keys_by_slot: dict[str, tuple[str, str]]) -> None:
    for slot, (ciphertext, digest) in keys_by_slot.items():
        if slot not in KEY_SLOTS:
            raise ValidationError(f"key slot must be 'primary' or 'secondary'; got {slot!r}")
        if not ciphertext or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ValidationError("a key needs its ciphertext and its SHA-256 hex digest")


def create(
    session: Session,
    workspace: str,
    name: str,
    *,
    kind: str,
    port: int,
    auth_enabled: bool,
    config: dict[str, Any],
    keys_by_slot: dict[str, tuple[str, str]],
) -> EndpointRecord:
    """Create an endpoint (no deployments yet). ``AlreadyExistsError`` if the name is taken,
    ``ConflictError`` if another endpoint of the workspace uses ``port``."""
    check_endpoint_name(name)
    if kind not in KINDS:
        raise ValidationError(f"endpoint kind must be one of {', '.join(KINDS)}; got {kind!r}")
    _check_port(port)
    _check_keys(keys_by_slot)
    if set(keys_by_slot) != set(KEY_SLOTS):
        raise ValidationError("an endpoint needs a primary and a secondary key")
    ws = workspaces.get_row(session, workspace)
    if session.scalar(
        select(EndpointRow.id).where(EndpointRow.workspace_id == ws.id, EndpointRow.name == name)
    ):
        raise AlreadyExistsError(
            f"endpoint {name!r} already exists in workspace {workspace!r}; update it, pass "
            "overwrite=True, or delete it first"
        )
    taken = session.scalar(
        select(EndpointRow.name).where(EndpointRow.workspace_id == ws.id, EndpointRow.port == port)
    )
    if taken is not None:
        raise ConflictError(
            f"port {port} is already the port of endpoint {taken!r}; choose another port "
            "or pass port=0 for a free one"
        )
    stamp = now_ms()
    row = EndpointRow(
        id=new_id(),
        workspace_id=ws.id,
        name=name,
        kind=kind,
        port=port,
        auth_enabled=bool(auth_enabled),
        config=dict(config),
        traffic={},
        manager_pid=0,
        revision=1,
        applied_revision=0,
        created_ms=stamp,
        updated_ms=stamp,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise AlreadyExistsError(
            f"endpoint {name!r} was created meanwhile by another process; use it or pick "
            "another name"
        ) from exc
    for slot, (ciphertext, digest) in keys_by_slot.items():
        session.add(
            EndpointKeyRow(endpoint_id=row.id, slot=slot, ciphertext=ciphertext, digest=digest)
        )
    session.flush()
    return get(session, workspace, name)


def _bump(row: EndpointRow) -> None:
    row.revision += 1
    row.updated_ms = now_ms()


def _model_rows(
    session: Session, workspace_id: str, workspace: str, models: Iterable[tuple[str, int]]
) -> list[ModelRow]:
    found: list[ModelRow] = []
    for name, version in models:
        row = session.scalar(
            select(ModelRow).where(
                ModelRow.workspace_id == workspace_id,
                ModelRow.name == name,
                ModelRow.version == version,
            )
        )
        if row is None:
            raise NotFoundError(
                f"model {name}:{version} not found in workspace {workspace!r}; register it "
                "first, or list the versions with 'atelier model list'"
            )
        found.append(row)
    if len({row.id for row in found}) != len(found):
        raise ValidationError("the same model version is listed twice")
    return found


def put_deployment(
    session: Session,
    workspace: str,
    endpoint: str,
    name: str,
    spec: dict[str, Any],
    models: Sequence[tuple[str, int]],
) -> EndpointRecord:
    """Create deployment ``name`` or roll it to a new generation with ``spec`` and
    ``models``. The endpoint's first deployment gets all its traffic."""
    check_deployment_name(name)
    if not isinstance(spec, dict):
        raise ValidationError("a deployment spec must be a dict")
    row = _row(session, workspace, endpoint)
    model_rows = _model_rows(session, row.workspace_id, workspace, models)
    stamp = now_ms()
    deployment = session.scalar(
        select(DeploymentRow).where(DeploymentRow.endpoint_id == row.id, DeploymentRow.name == name)
    )
    if deployment is None:
        deployment = DeploymentRow(
            id=new_id(),
            endpoint_id=row.id,
            name=name,
            generation=1,
            spec=dict(spec),
            state=TRANSITIONING,
            served_generation=0,
            error=None,
            created_ms=stamp,
            updated_ms=stamp,
        )
        session.add(deployment)
        if not row.traffic:
            row.traffic = {name: 100}
    else:
        deployment.generation += 1
        deployment.spec = dict(spec)
        deployment.state = TRANSITIONING
        deployment.error = None
        deployment.updated_ms = stamp
    session.flush()
    session.execute(
        sql_delete(DeploymentModelRow).where(DeploymentModelRow.deployment_id == deployment.id)
    )
    for model in model_rows:
        session.add(DeploymentModelRow(deployment_id=deployment.id, model_id=model.id))
    _bump(row)
    session.flush()
    return get(session, workspace, endpoint)


def delete_deployment(session: Session, workspace: str, endpoint: str, name: str) -> EndpointRecord:
    """Delete a deployment that takes no traffic (``ConflictError`` otherwise)."""
    row = _row(session, workspace, endpoint)
    deployment = _deployment_row(session, row, name)
    share = int(row.traffic.get(name, 0))
    if share > 0:
        raise ConflictError(
            f"deployment {name!r} still takes {share}% of endpoint {endpoint!r}'s traffic; "
            "move it to other deployments with set_traffic first, or delete the endpoint"
        )
    row.traffic = {k: v for k, v in row.traffic.items() if k != name}
    session.delete(deployment)
    _bump(row)
    session.flush()
    return get(session, workspace, endpoint)


def set_traffic(
    session: Session, workspace: str, endpoint: str, traffic: dict[str, int]
) -> EndpointRecord:
    """Split the endpoint's requests: percentages per deployment, adding up to 100."""
    row = _row(session, workspace, endpoint)
    if not isinstance(traffic, dict) or not traffic:
        raise ValidationError("traffic must be a dict of deployment name -> percentage")
    names = set(
        session.scalars(select(DeploymentRow.name).where(DeploymentRow.endpoint_id == row.id))
    )
    clean: dict[str, int] = {}
    for name, share in traffic.items():
        if name not in names:
            raise NotFoundError(
                f"endpoint {endpoint!r} has no deployment {name!r}; it has "
                f"{', '.join(sorted(names)) or 'none'}"
            )
        if isinstance(share, bool) or not isinstance(share, int) or not 0 <= share <= 100:
            raise ValidationError(f"traffic for {name!r} must be a whole percentage 0-100")
        clean[name] = share
    if sum(clean.values()) != 100:
        raise ValidationError(
            f"traffic percentages must add up to 100; these add up to {sum(clean.values())}"
        )
    row.traffic = {name: share for name, share in clean.items() if share > 0}
    _bump(row)
    session.flush()
    return get(session, workspace, endpoint)


def set_key(
    session: Session, workspace: str, endpoint: str, slot: str, ciphertext: str, digest: str
) -> EndpointRecord:
    """Replace the primary or secondary key (encrypted, with its digest)."""
    _check_keys({slot: (ciphertext, digest)})
    row = _row(session, workspace, endpoint)
    key = session.get(EndpointKeyRow, (row.id, slot))
    if key is None:
        session.add(
            EndpointKeyRow(endpoint_id=row.id, slot=slot, ciphertext=ciphertext, digest=digest)
        )
    else:
        key.ciphertext = ciphertext
        key.digest = digest
    _bump(row)
    session.flush()
    return get(session, workspace, endpoint)


def set_manager(session: Session, workspace: str, endpoint: str, pid: int) -> EndpointRecord:
    """Record the pid of the process that manages the endpoint (0: none)."""
    row = _row(session, workspace, endpoint)
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
    row = _row(session, workspace, endpoint)
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
    row = _row(session, workspace, endpoint)
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


def delete(session: Session, workspace: str, name: str) -> None:
    """Delete the endpoint with its deployments, keys and replica records."""
    row = _row(session, workspace, name)
    session.delete(row)
    session.flush()
