"""``/workspaces/{workspace}/endpoints``: endpoints, their deployments, keys and the
reports of the manager process that runs them (on the machine that deployed them).

Keys are generated, sealed with the server's key and opened by the server
(``services/endpoint_keys.py``, as in the embedded backend); records carry only their
digests.

Roles: Readers read endpoints and collected model data; Contributors create endpoints,
set their tags, properties and description, put deployments, set traffic, read the keys
(to call the endpoint) and report as its manager; Owners regenerate keys, turn key auth
and TLS on or off, and delete endpoints and deployments.

An endpoint records who created it: the authenticated user, whatever the body says.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from pydantic import Field, StrictBool
from starlette.concurrency import run_in_threadpool

from atelier.core.endpoints import EndpointRecord, ReplicaRecord, ReplicaReport
from atelier.core.errors import ValidationError
from atelier.server.auth import MANAGE, READ, WRITE, guard, principal_of
from atelier.server.routes._common import blobs, database, secret_box
from atelier.server.schemas import Body
from atelier.server.streams import require_type
from atelier.services import endpoints

router = APIRouter(tags=["endpoints"])
ENDPOINTS = "/workspaces/{workspace}/endpoints"
ENDPOINT = f"{ENDPOINTS}/{{name}}"
DEPLOYMENT = f"{ENDPOINT}/deployments/{{deployment}}"
#: one collected batch of model data (Parquet) at most
_MODEL_DATA_MAX = 64 * 1024 * 1024
#: integers the database keeps in 32 bits (ports, pids, generations) or 64 (times)
Small = Annotated[int, Field(ge=0, le=2**31 - 1)]
Big = Annotated[int, Field(ge=0, le=2**63 - 1)]


class EndpointCreate(Body):
    name: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    port: Small
    auth_enabled: bool = True
    config: dict[str, Any] = Field(default_factory=dict)


class DeploymentPut(Body):
    spec: dict[str, Any]
    models: list[tuple[str, int]] = Field(default_factory=list)


class Traffic(Body):
    traffic: dict[str, int]


class KeyRegen(Body):
    value: str | None = Field(default=None, max_length=1024)


class Details(Body):
    """What ``set_details`` changes; a field left out stays as it is."""

    tags: dict[str, str] | None = None
    properties: dict[str, str] | None = None
    description: str | None = Field(default=None, max_length=4096)


class TlsSettings(Body):
    cname: str | None = Field(max_length=253)
    cert_sha256: str = Field(min_length=64, max_length=64)


class Access(Body):
    """What ``set_access`` changes; a field left out stays as it is (``tls: null`` turns
    TLS off)."""

    auth_enabled: StrictBool | None = None
    tls: TlsSettings | None = None


class Manager(Body):
    pid: Small


class ReplicaBody(Body):
    index: Small
    pid: Small
    port: Small
    generation: Small
    state: str = Field(max_length=32)
    restarts: Small = 0
    started_ms: Big


class ReportBody(Body):
    deployment: str = Field(max_length=64)
    generation: Small
    state: str = Field(max_length=32)
    served_generation: Small
    error: str | None = Field(default=None, max_length=100_000)
    replicas: list[ReplicaBody] = Field(default_factory=list)


class Reports(Body):
    applied_revision: Small
    reports: list[ReportBody]


class Failure(Body):
    error: str = Field(max_length=100_000)


class Keys(Body):
    primary: str
    secondary: str


class ModelData(Body):
    path: str
    data: str  # base64


@router.post(
    ENDPOINTS,
    dependencies=guard(WRITE),
    status_code=status.HTTP_201_CREATED,
    response_model=EndpointRecord,
)
def create(workspace: str, body: EndpointCreate, request: Request) -> EndpointRecord:
    box = secret_box(request)
    with database(request).session() as session:
        return endpoints.create(
            session,
            box,
            workspace,
            body.name,
            kind=body.kind,
            port=body.port,
            auth_enabled=body.auth_enabled,
            config=body.config,
            created_by=principal_of(request).user_name,
        )


@router.get(ENDPOINTS, dependencies=guard(READ), response_model=list[EndpointRecord])
def list_endpoints(
    workspace: str,
    request: Request,
    model_name: Annotated[str | None, Query(max_length=255)] = None,
    model_version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> list[EndpointRecord]:
    """The workspace's endpoints; with ``model_name`` those serving that model (version)."""
    model = (model_name, model_version) if model_name is not None else None
    with database(request).session() as session:
        return endpoints.list_all(session, workspace, model)


@router.get(ENDPOINT, dependencies=guard(READ), response_model=EndpointRecord)
def get(workspace: str, name: str, request: Request) -> EndpointRecord:
    with database(request).session() as session:
        return endpoints.get(session, workspace, name)


@router.delete(ENDPOINT, dependencies=guard(MANAGE), status_code=status.HTTP_204_NO_CONTENT)
def delete(workspace: str, name: str, request: Request) -> None:
    with database(request).session() as session:
        endpoints.delete(session, workspace, name)


@router.patch(ENDPOINT, dependencies=guard(WRITE), response_model=EndpointRecord)
def set_details(workspace: str, name: str, body: Details, request: Request) -> EndpointRecord:
    """Replace the tags and/or description, add properties (the fields given)."""
    details = {key: getattr(body, key) for key in body.model_fields_set}
    with database(request).session() as session:
        return endpoints.set_details(session, workspace, name, details)


@router.put(f"{ENDPOINT}/access", dependencies=guard(MANAGE), response_model=EndpointRecord)
def set_access(workspace: str, name: str, body: Access, request: Request) -> EndpointRecord:
    """Turn key auth and/or TLS on or off on the live endpoint (the fields given)."""
    # only the fields given; the service refuses a null auth_enabled and checks the TLS
    changes = body.model_dump(include=body.model_fields_set)
    with database(request).session() as session:
        return endpoints.set_access(session, workspace, name, changes)


@router.put(DEPLOYMENT, dependencies=guard(WRITE), response_model=EndpointRecord)
def put_deployment(
    workspace: str, name: str, deployment: str, body: DeploymentPut, request: Request
) -> EndpointRecord:
    with database(request).session() as session:
        return endpoints.put_deployment(
            session, workspace, name, deployment, body.spec, list(body.models)
        )


@router.delete(DEPLOYMENT, dependencies=guard(MANAGE), response_model=EndpointRecord)
def delete_deployment(
    workspace: str, name: str, deployment: str, request: Request
) -> EndpointRecord:
    with database(request).session() as session:
        return endpoints.delete_deployment(session, workspace, name, deployment)


@router.put(f"{ENDPOINT}/traffic", dependencies=guard(WRITE), response_model=EndpointRecord)
def set_traffic(workspace: str, name: str, body: Traffic, request: Request) -> EndpointRecord:
    with database(request).session() as session:
        return endpoints.set_traffic(session, workspace, name, body.traffic)


@router.post(f"{ENDPOINT}/keys", dependencies=guard(WRITE), response_model=Keys)
def get_keys(workspace: str, name: str, request: Request) -> Keys:
    """The two keys in the clear (a POST: never cached, and audited)."""
    box = secret_box(request)
    with database(request).session() as session:
        primary, secondary = endpoints.open_keys(session, box, workspace, name)
    return Keys(primary=primary, secondary=secondary)


@router.post(f"{ENDPOINT}/keys/{{slot}}", dependencies=guard(MANAGE), response_model=EndpointRecord)
def regen_key(
    workspace: str, name: str, slot: str, body: KeyRegen, request: Request
) -> EndpointRecord:
    box = secret_box(request)
    with database(request).session() as session:
        return endpoints.regenerate(session, box, workspace, name, slot, body.value)


@router.put(f"{ENDPOINT}/manager", dependencies=guard(WRITE), response_model=EndpointRecord)
def set_manager(workspace: str, name: str, body: Manager, request: Request) -> EndpointRecord:
    with database(request).session() as session:
        return endpoints.set_manager(session, workspace, name, body.pid)


@router.post(f"{ENDPOINT}/report", dependencies=guard(WRITE), response_model=EndpointRecord)
def report(workspace: str, name: str, body: Reports, request: Request) -> EndpointRecord:
    reports = [
        ReplicaReport(
            deployment=item.deployment,
            generation=item.generation,
            state=item.state,
            served_generation=item.served_generation,
            error=item.error,
            replicas=tuple(ReplicaRecord(**r.model_dump()) for r in item.replicas),
        )
        for item in body.reports
    ]
    with database(request).session() as session:
        return endpoints.report(session, workspace, name, body.applied_revision, reports)


@router.post(f"{ENDPOINT}/failure", dependencies=guard(WRITE), response_model=EndpointRecord)
def mark_failed(workspace: str, name: str, body: Failure, request: Request) -> EndpointRecord:
    with database(request).session() as session:
        return endpoints.mark_failed(session, workspace, name, body.error)


@router.post(
    f"{DEPLOYMENT}/model-data",
    dependencies=guard(WRITE),
    status_code=status.HTTP_201_CREATED,
    openapi_extra={
        "requestBody": {
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
            "required": True,
        }
    },
)
async def write_model_data(
    workspace: str,
    name: str,
    deployment: str,
    request: Request,
    day: Annotated[str, Query(max_length=10)],
) -> dict[str, str]:
    """Store one Parquet batch (application/octet-stream) in the day's partition."""
    require_type(request, "application/octet-stream")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > _MODEL_DATA_MAX:
            raise ValidationError(f"a model-data batch is at most {_MODEL_DATA_MAX} bytes")
    path = await run_in_threadpool(
        endpoints.write_model_data, blobs(request), workspace, name, deployment, day, bytes(data)
    )
    return {"path": path}


@router.get(f"{ENDPOINT}/model-data", dependencies=guard(READ), response_model=list[ModelData])
def model_data(
    workspace: str,
    name: str,
    request: Request,
    deployment: Annotated[str | None, Query(max_length=64)] = None,
) -> list[ModelData]:
    """Every collected batch, oldest day first (base64 in JSON)."""
    found = endpoints.model_data(blobs(request), workspace, name, deployment)
    return [ModelData(path=p, data=base64.b64encode(d).decode("ascii")) for p, d in found]
