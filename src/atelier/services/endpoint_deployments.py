"""An endpoint's deployments and its traffic split.

A deployment serves registered model versions that must exist (and then cannot be deleted,
see ``endpoint_records.deployments_using``); putting it again rolls it to a new generation.
A traffic split names existing deployments with whole percentages adding up to 100, and a
deployment that still takes traffic cannot be deleted. Every change raises the endpoint's
``revision`` for its manager.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from atelier.core.endpoints import TRANSITIONING, EndpointRecord, check_deployment_name
from atelier.core.errors import ConflictError, NotFoundError, ValidationError
from atelier.core.ids import new_id
from atelier.core.timeutil import now_ms
from atelier.services.endpoint_records import bump, deployment_row, get, get_row
from atelier.store.models import DeploymentModelRow, DeploymentRow, ModelRow

__all__ = ["delete_deployment", "put_deployment", "set_traffic"]


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
    row = get_row(session, workspace, endpoint)
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
    bump(row)
    session.flush()
    return get(session, workspace, endpoint)


def delete_deployment(session: Session, workspace: str, endpoint: str, name: str) -> EndpointRecord:
    """Delete a deployment that takes no traffic (``ConflictError`` otherwise)."""
    row = get_row(session, workspace, endpoint)
    deployment = deployment_row(session, row, name)
    share = int(row.traffic.get(name, 0))
    if share > 0:
        raise ConflictError(
            f"deployment {name!r} still takes {share}% of endpoint {endpoint!r}'s traffic; "
            "move it to other deployments with set_traffic first, or delete the endpoint"
        )
    row.traffic = {k: v for k, v in row.traffic.items() if k != name}
    session.delete(deployment)
    bump(row)
    session.flush()
    return get(session, workspace, endpoint)


def set_traffic(
    session: Session, workspace: str, endpoint: str, traffic: dict[str, int]
) -> EndpointRecord:
    """Split the endpoint's requests: percentages per deployment, adding up to 100."""
    row = get_row(session, workspace, endpoint)
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
    bump(row)
    session.flush()
    return get(session, workspace, endpoint)
