"""``/workspaces/{workspace}/pipelines``: published pipelines, pipeline endpoints, and
their REST submission.

``POST .../published/{id}/runs`` (or ``.../endpoints/{name}/runs``) with a bearer token and
``{"ExperimentName": ..., "ParameterAssignments": {...}}`` records a pipeline run and
starts a runner process on this server for it; the answer carries the run's ``Id``.
Roles: Readers list and read; Contributors publish, disable/enable and submit.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field

from atelier.core.errors import AtelierError
from atelier.core.pipelines import PipelineEndpointRecord, PublishedPipelineRecord
from atelier.core.records import RunRecord
from atelier.core.status import RunStatus
from atelier.server.auth import READ, WRITE, guard
from atelier.server.routes._common import database, settings
from atelier.server.schemas import Body
from atelier.services import pipelines, run_transitions

router = APIRouter(tags=["pipelines"])
PUBLISHED = "/workspaces/{workspace}/pipelines/published"
ENDPOINTS = "/workspaces/{workspace}/pipelines/endpoints"
#: runner processes started here, waited for once they end (no zombies)
_runners: list[subprocess.Popen[bytes]] = []


class PublishBody(Body):
    name: str = Field(max_length=255)
    graph: dict[str, Any]
    description: str = ""
    version: str = Field(default="", max_length=64)
    continue_on_step_failure: bool = False


class StatusBody(Body):
    status: str


class EndpointBody(Body):
    name: str = Field(max_length=255)
    description: str = ""
    pipeline_id: str


class VersionBody(Body):
    pipeline_id: str
    make_default: bool = True


class DefaultBody(Body):
    version: int


class SubmitBody(BaseModel):
    """azureml's REST body; its other fields (DataPathAssignments ...) are ignored."""

    model_config = ConfigDict(extra="ignore")
    ExperimentName: str = Field(min_length=1, max_length=255)  # azureml REST spelling
    ParameterAssignments: dict[str, Any] = Field(default_factory=dict)
    PipelineVersion: str | None = None
    RegenerateOutputs: bool = False


def _start_runner(request: Request, workspace: str, record: RunRecord) -> dict[str, Any]:
    """Start the runner with this server's own store, or fail the run saying why."""
    for runner in list(_runners):
        if runner.poll() is not None:
            _runners.remove(runner)
    config = settings(request)
    env = {
        k: v for k, v in os.environ.items() if k not in ("ATELIER_TRACKING_URI", "ATELIER_TOKEN")
    }
    env.update(
        ATELIER_HOME=str(config.home),
        ATELIER_DATABASE_URL=config.resolved_database_url,
        ATELIER_BLOB_URL=config.resolved_blob_url,
    )
    command = [sys.executable, "-m", "atelier.execution.pipeline_runner"]
    try:
        _runners.append(
            subprocess.Popen(
                [*command, "--workspace", workspace, "--run-id", record.run_id],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
    except OSError as exc:
        with database(request).session() as session:
            run_transitions.transition(
                session, workspace, record.run_id, RunStatus.FAILED,
                error={"code": "SystemError", "message": f"the runner did not start: {exc}"},
            )  # fmt: skip
        raise AtelierError(f"the pipeline runner did not start: {exc}") from exc
    return {
        "Id": record.run_id,
        "RunId": record.run_id,
        "ExperimentName": record.experiment_name,
        "Status": record.status.value,
    }


@router.post(
    PUBLISHED,
    dependencies=guard(WRITE),
    status_code=status.HTTP_201_CREATED,
    response_model=PublishedPipelineRecord,
)
def publish(workspace: str, body: PublishBody, request: Request) -> PublishedPipelineRecord:
    with database(request).session() as session:
        return pipelines.publish(session, workspace, **body.model_dump())


@router.get(PUBLISHED, dependencies=guard(READ), response_model=list[PublishedPipelineRecord])
def list_published(
    workspace: str, request: Request, active_only: bool = True
) -> list[PublishedPipelineRecord]:
    with database(request).session() as session:
        return pipelines.list_published(session, workspace, active_only)


@router.get(
    f"{PUBLISHED}/{{pipeline_id}}", dependencies=guard(READ), response_model=PublishedPipelineRecord
)
def get_published(workspace: str, pipeline_id: str, request: Request) -> PublishedPipelineRecord:
    with database(request).session() as session:
        return pipelines.get(session, workspace, pipeline_id)


@router.put(
    f"{PUBLISHED}/{{pipeline_id}}/status",
    dependencies=guard(WRITE),
    response_model=PublishedPipelineRecord,
)
def set_status(
    workspace: str, pipeline_id: str, body: StatusBody, request: Request
) -> PublishedPipelineRecord:
    with database(request).session() as session:
        return pipelines.set_status(session, workspace, pipeline_id, body.status)


@router.post(
    f"{PUBLISHED}/{{pipeline_id}}/runs",
    dependencies=guard(WRITE),
    status_code=status.HTTP_201_CREATED,
    response_model=dict[str, Any],
)
def submit_published(
    workspace: str, pipeline_id: str, body: SubmitBody, request: Request
) -> dict[str, Any]:
    """Start a run of the published pipeline; answers its ``Id``."""
    with database(request).session() as session:
        record = pipelines.start_run(
            session, workspace, pipeline_id, experiment=body.ExperimentName,
            parameters=body.ParameterAssignments, regenerate_outputs=body.RegenerateOutputs,
        )  # fmt: skip
    return _start_runner(request, workspace, record)


@router.post(
    ENDPOINTS,
    dependencies=guard(WRITE),
    status_code=status.HTTP_201_CREATED,
    response_model=PipelineEndpointRecord,
)
def publish_endpoint(
    workspace: str, body: EndpointBody, request: Request
) -> PipelineEndpointRecord:
    with database(request).session() as session:
        return pipelines.publish_endpoint(session, workspace, **body.model_dump())


@router.get(ENDPOINTS, dependencies=guard(READ), response_model=list[PipelineEndpointRecord])
def list_endpoints(workspace: str, request: Request) -> list[PipelineEndpointRecord]:
    with database(request).session() as session:
        return pipelines.list_endpoints(session, workspace)


@router.get(
    f"{ENDPOINTS}/{{name}}", dependencies=guard(READ), response_model=PipelineEndpointRecord
)
def get_endpoint(workspace: str, name: str, request: Request) -> PipelineEndpointRecord:
    with database(request).session() as session:
        return pipelines.get_endpoint(session, workspace, name)


@router.post(
    f"{ENDPOINTS}/{{name}}/versions",
    dependencies=guard(WRITE),
    response_model=PipelineEndpointRecord,
)
def add_version(
    workspace: str, name: str, body: VersionBody, request: Request
) -> PipelineEndpointRecord:
    with database(request).session() as session:
        return pipelines.add_version(session, workspace, name, body.pipeline_id, body.make_default)


@router.put(
    f"{ENDPOINTS}/{{name}}/default",
    dependencies=guard(WRITE),
    response_model=PipelineEndpointRecord,
)
def set_default(
    workspace: str, name: str, body: DefaultBody, request: Request
) -> PipelineEndpointRecord:
    with database(request).session() as session:
        return pipelines.set_default_version(session, workspace, name, body.version)


@router.post(
    f"{ENDPOINTS}/{{name}}/runs",
    dependencies=guard(WRITE),
    status_code=status.HTTP_201_CREATED,
    response_model=dict[str, Any],
)
def submit_endpoint(
    workspace: str, name: str, body: SubmitBody, request: Request
) -> dict[str, Any]:
    """Start a run of the endpoint's default version (or ``PipelineVersion``)."""
    with database(request).session() as session:
        endpoint, published = pipelines.endpoint_pipeline(
            session, workspace, name, body.PipelineVersion
        )
        record = pipelines.start_run(
            session, workspace, published.id, experiment=body.ExperimentName,
            parameters=body.ParameterAssignments, endpoint_id=endpoint.id,
            regenerate_outputs=body.RegenerateOutputs,
        )  # fmt: skip
    return _start_runner(request, workspace, record)
