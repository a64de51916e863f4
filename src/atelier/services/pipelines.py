"""Published pipelines and pipeline endpoints: publish, look up, disable/enable, and the
record of a run started from one (the server's REST submission; the SDK submits the same
graph itself)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from atelier.core.errors import (
    AlreadyExistsError,
    InvalidStateError,
    NotFoundError,
    ValidationError,
)
from atelier.core.pipelines import (
    ACTIVE,
    DISABLED,
    PIPELINE_ENDPOINT,
    PIPELINE_RUN_TYPE,
    PUBLISHED_PIPELINE,
    PipelineEndpointRecord,
    PublishedPipelineRecord,
    check_pipeline_name,
    run_definition,
)
from atelier.core.records import RunRecord
from atelier.core.status import RunStatus
from atelier.core.timeutil import now_ms
from atelier.services import runs, workspaces
from atelier.store.models import (
    PipelineEndpointRow,
    PipelineEndpointVersionRow,
    PublishedPipelineRow,
)


def _published(row: PublishedPipelineRow) -> PublishedPipelineRecord:
    return PublishedPipelineRecord(
        id=row.id,
        name=row.name,
        description=row.description,
        version=row.version,
        status=row.status,
        continue_on_step_failure=row.continue_on_step_failure,
        graph=row.graph,
        created_ms=row.created_ms,
    )


_STEP_FIELDS = {"name": str, "definition": dict, "upstream": list, "snapshot_id": str}


def _check_graph(graph: Any) -> dict[str, Any]:
    """The graph as ``Pipeline.publish`` makes it: steps with a name, a run definition,
    the steps they wait for and a snapshot; parameters with scalar defaults."""
    if (
        not isinstance(graph, dict)
        or not isinstance(graph.get("steps"), list)
        or not graph["steps"]
    ):
        raise ValidationError("a published pipeline needs a graph with at least one step")
    names = set()
    for step in graph["steps"]:
        if not isinstance(step, dict) or any(
            not isinstance(step.get(field), kind) for field, kind in _STEP_FIELDS.items()
        ):
            raise ValidationError(
                "each step of a pipeline graph needs a name, a definition, its upstream "
                "steps and a snapshot_id; publish with Pipeline.publish()"
            )
        names.add(step["name"])
    if any(u not in names for step in graph["steps"] for u in step["upstream"]):
        raise ValidationError("a step of the pipeline graph waits for a step it does not have")
    parameters = graph.get("parameters", {})
    if not isinstance(parameters, dict) or any(
        v is not None and not isinstance(v, str | int | float | bool) for v in parameters.values()
    ):
        raise ValidationError("a pipeline graph's parameters map names to scalar defaults")
    return graph


def publish(
    session: Session,
    workspace: str,
    *,
    name: str,
    graph: dict[str, Any],
    description: str = "",
    version: str = "",
    continue_on_step_failure: bool = False,
) -> PublishedPipelineRecord:
    row = PublishedPipelineRow(
        id=str(uuid.uuid4()),
        workspace_id=workspaces.id_of(session, workspace),
        name=check_pipeline_name(name),
        description=str(description or ""),
        version=str(version or ""),
        status=ACTIVE,
        continue_on_step_failure=bool(continue_on_step_failure),
        graph=_check_graph(graph),
        created_ms=now_ms(),
    )
    session.add(row)
    session.flush()
    return _published(row)


def _row(session: Session, workspace: str, pipeline_id: str) -> PublishedPipelineRow:
    row = session.get(PublishedPipelineRow, str(pipeline_id))
    if row is None or row.workspace_id != workspaces.id_of(session, workspace):
        raise NotFoundError(
            f"no published pipeline {pipeline_id!r} in workspace {workspace!r}; "
            "list them with 'atelier pipeline list --published'"
        )
    return row


def get(session: Session, workspace: str, pipeline_id: str) -> PublishedPipelineRecord:
    return _published(_row(session, workspace, pipeline_id))


def list_published(
    session: Session, workspace: str, active_only: bool = True
) -> list[PublishedPipelineRecord]:
    query = select(PublishedPipelineRow).where(
        PublishedPipelineRow.workspace_id == workspaces.id_of(session, workspace)
    )
    if active_only:
        query = query.where(PublishedPipelineRow.status == ACTIVE)
    rows = session.scalars(query.order_by(PublishedPipelineRow.created_ms.desc()))
    return [_published(r) for r in rows]


def set_status(
    session: Session, workspace: str, pipeline_id: str, status: str
) -> PublishedPipelineRecord:
    if status not in (ACTIVE, DISABLED):
        raise ValidationError(f"status must be {ACTIVE!r} or {DISABLED!r}")
    row = _row(session, workspace, pipeline_id)
    row.status = status
    session.flush()
    return _published(row)


def start_run(
    session: Session,
    workspace: str,
    pipeline_id: str,
    *,
    experiment: str,
    parameters: dict[str, Any] | None = None,
    endpoint_id: str | None = None,
    regenerate_outputs: bool = False,
) -> RunRecord:
    """The pipeline run of a published pipeline, Queued for a runner to take; a disabled
    pipeline is ``InvalidStateError``."""
    row = _row(session, workspace, pipeline_id)
    if row.status != ACTIVE:
        raise InvalidStateError(
            f"published pipeline {row.name!r} ({row.id}) is disabled; enable it first"
        )
    definition = run_definition(
        row.graph,
        parameters,
        regenerate_outputs=regenerate_outputs,
        continue_on_step_failure=row.continue_on_step_failure,
    )
    properties = {"azureml.runsource": PIPELINE_RUN_TYPE, PUBLISHED_PIPELINE: row.id}
    if endpoint_id:
        properties[PIPELINE_ENDPOINT] = endpoint_id
    return runs.create(
        session,
        workspace,
        experiment,
        status=RunStatus.QUEUED,
        run_type=PIPELINE_RUN_TYPE,
        properties=properties,
        definition=definition,
    )


# --- endpoints -------------------------------------------------------------------------
def _endpoint(session: Session, row: PipelineEndpointRow) -> PipelineEndpointRecord:
    versions = session.scalars(
        select(PipelineEndpointVersionRow)
        .where(PipelineEndpointVersionRow.endpoint_id == row.id)
        .order_by(PipelineEndpointVersionRow.version)
    )
    return PipelineEndpointRecord(
        id=row.id,
        name=row.name,
        description=row.description,
        status=row.status,
        default_version=row.default_version,
        versions={str(v.version): v.pipeline_id for v in versions},
        created_ms=row.created_ms,
    )


def _endpoint_row(session: Session, workspace: str, name_or_id: str) -> PipelineEndpointRow:
    ws_id = workspaces.id_of(session, workspace)
    row = session.scalar(
        select(PipelineEndpointRow).where(
            PipelineEndpointRow.workspace_id == ws_id,
            (PipelineEndpointRow.name == name_or_id) | (PipelineEndpointRow.id == name_or_id),
        )
    )
    if row is None:
        raise NotFoundError(
            f"no pipeline endpoint {name_or_id!r} in workspace {workspace!r}; "
            "create one with PipelineEndpoint.publish(ws, name, description, pipeline)"
        )
    return row


def publish_endpoint(
    session: Session, workspace: str, *, name: str, description: str, pipeline_id: str
) -> PipelineEndpointRecord:
    ws_id = workspaces.id_of(session, workspace)
    clean = check_pipeline_name(name, "pipeline endpoint")
    taken = session.scalar(
        select(PipelineEndpointRow.id).where(
            PipelineEndpointRow.workspace_id == ws_id, PipelineEndpointRow.name == clean
        )
    )
    if taken is not None:
        raise AlreadyExistsError(
            f"pipeline endpoint {clean!r} exists; add a version with endpoint.add_default(pipeline)"
        )
    _row(session, workspace, pipeline_id)
    row = PipelineEndpointRow(
        id=str(uuid.uuid4()),
        workspace_id=ws_id,
        name=clean,
        description=str(description or ""),
        status=ACTIVE,
        default_version=0,
        created_ms=now_ms(),
    )
    session.add(row)
    session.add(PipelineEndpointVersionRow(endpoint_id=row.id, version=0, pipeline_id=pipeline_id))
    session.flush()
    return _endpoint(session, row)


def get_endpoint(session: Session, workspace: str, name_or_id: str) -> PipelineEndpointRecord:
    return _endpoint(session, _endpoint_row(session, workspace, name_or_id))


def list_endpoints(session: Session, workspace: str) -> list[PipelineEndpointRecord]:
    rows = session.scalars(
        select(PipelineEndpointRow)
        .where(PipelineEndpointRow.workspace_id == workspaces.id_of(session, workspace))
        .order_by(PipelineEndpointRow.name)
    )
    return [_endpoint(session, r) for r in rows]


def add_version(
    session: Session, workspace: str, name_or_id: str, pipeline_id: str, make_default: bool
) -> PipelineEndpointRecord:
    row = _endpoint_row(session, workspace, name_or_id)
    _row(session, workspace, pipeline_id)
    current = _endpoint(session, row)
    version = max(int(v) for v in current.versions) + 1 if current.versions else 0
    session.add(
        PipelineEndpointVersionRow(endpoint_id=row.id, version=version, pipeline_id=pipeline_id)
    )
    if make_default:
        row.default_version = version
    session.flush()
    return _endpoint(session, row)


def set_default_version(
    session: Session, workspace: str, name_or_id: str, version: int
) -> PipelineEndpointRecord:
    row = _endpoint_row(session, workspace, name_or_id)
    if str(version) not in _endpoint(session, row).versions:
        raise NotFoundError(f"pipeline endpoint {row.name!r} has no version {version}")
    row.default_version = int(version)
    session.flush()
    return _endpoint(session, row)


def endpoint_pipeline(
    session: Session, workspace: str, name_or_id: str, version: int | str | None = None
) -> tuple[PipelineEndpointRecord, PublishedPipelineRecord]:
    """The endpoint and the published pipeline of ``version`` (default: its default)."""
    record = get_endpoint(session, workspace, name_or_id)
    wanted = str(record.default_version if version in (None, "") else version)
    if wanted not in record.versions:
        raise NotFoundError(
            f"pipeline endpoint {record.name!r} has no version {wanted}; "
            f"versions: {sorted(record.versions, key=int)}"
        )
    return record, get(session, workspace, record.versions[wanted])
