"""``/workspaces/{workspace}/datasets``: registered dataset versions and their lineage
(the runs that consumed a version, the model versions built from it).

Roles: Readers read versions, files and lineage; Contributors register versions, record
a run's inputs (a run's own token may, for its run) and link models to datasets. A run's
token reads versions and their files (a script reads its TabularDataset inputs with it),
not lineage, and writes nothing but its own run's inputs. A
dataset version is immutable, so nothing here deletes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status
from pydantic import Field

from atelier.core.data_records import (
    DataFile,
    DatasetRecord,
    ModelDatasetRecord,
    RunInputRecord,
)
from atelier.server.auth import READ, RUN_READ, WRITE, guard
from atelier.server.routes._common import database
from atelier.server.schemas import Body
from atelier.services import datasets

#: a version number the database can hold
Version = Annotated[int, Path(ge=1, le=2**31 - 1)]
router = APIRouter(tags=["datasets"])
DATASETS = "/workspaces/{workspace}/datasets"
BY_ID = "/workspaces/{workspace}/dataset-ids/{dataset_id}"


class DataFileBody(Body):
    path: str = Field(max_length=4096)
    size: Annotated[int, Field(ge=0, le=2**63 - 1)]
    mtime_ms: Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
    digest: str = Field(default="", max_length=128)


class DatasetRegister(Body):
    name: str = Field(max_length=255)
    kind: str = Field(max_length=32)
    definition: dict[str, Any]
    files: list[DataFileBody] = Field(default_factory=list)
    description: str = Field(default="", max_length=100_000)
    tags: dict[str, Any] = Field(default_factory=dict)
    create_new_version: bool = False


class RunInputs(Body):
    inputs: list[dict[str, Any]]


class ModelDatasets(Body):
    datasets: list[tuple[str, str]]


@router.post(
    DATASETS,
    dependencies=guard(WRITE),
    status_code=status.HTTP_201_CREATED,
    response_model=DatasetRecord,
)
def register(workspace: str, body: DatasetRegister, request: Request) -> DatasetRecord:
    files = [DataFile(**item.model_dump()) for item in body.files]
    with database(request).session() as session:
        return datasets.register(
            session,
            workspace,
            body.name,
            kind=body.kind,
            definition=body.definition,
            files=files,
            description=body.description,
            tags=body.tags,
            create_new_version=body.create_new_version,
        )


@router.get(DATASETS, dependencies=guard(RUN_READ), response_model=list[DatasetRecord])
def list_latest(workspace: str, request: Request) -> list[DatasetRecord]:
    with database(request).session() as session:
        return datasets.list_latest(session, workspace)


@router.get(f"{DATASETS}/{{name}}", dependencies=guard(RUN_READ), response_model=DatasetRecord)
def get(
    workspace: str,
    name: str,
    request: Request,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> DatasetRecord:
    with database(request).session() as session:
        return datasets.get(session, workspace, name, version)


@router.get(BY_ID, dependencies=guard(RUN_READ), response_model=DatasetRecord)
def get_by_id(workspace: str, dataset_id: str, request: Request) -> DatasetRecord:
    with database(request).session() as session:
        return datasets.get_by_id(session, workspace, dataset_id)


@router.get(f"{BY_ID}/files", dependencies=guard(RUN_READ), response_model=list[DataFile])
def files(workspace: str, dataset_id: str, request: Request) -> list[DataFile]:
    with database(request).session() as session:
        return datasets.files(session, workspace, dataset_id)


@router.get(f"{BY_ID}/runs", dependencies=guard(READ), response_model=list[RunInputRecord])
def runs_using(workspace: str, dataset_id: str, request: Request) -> list[RunInputRecord]:
    with database(request).session() as session:
        return datasets.runs_using(session, workspace, dataset_id)


@router.get(f"{BY_ID}/models", dependencies=guard(READ), response_model=list[ModelDatasetRecord])
def models_using(workspace: str, dataset_id: str, request: Request) -> list[ModelDatasetRecord]:
    with database(request).session() as session:
        return datasets.models_using(session, workspace, dataset_id)


RUN_INPUTS = "/workspaces/{workspace}/runs/{run_id}/inputs"


@router.post(RUN_INPUTS, dependencies=guard(WRITE), status_code=status.HTTP_204_NO_CONTENT)
def record_run_inputs(workspace: str, run_id: str, body: RunInputs, request: Request) -> None:
    """What a run consumed (a run's own token may record its run's inputs)."""
    with database(request).session() as session:
        datasets.record_run_inputs(session, workspace, run_id, body.inputs)


@router.get(RUN_INPUTS, dependencies=guard(READ), response_model=list[RunInputRecord])
def run_inputs(workspace: str, run_id: str, request: Request) -> list[RunInputRecord]:
    with database(request).session() as session:
        return datasets.run_inputs(session, workspace, run_id)


MODEL_DATASETS = "/workspaces/{workspace}/models/{name}/versions/{version}/datasets"


@router.put(MODEL_DATASETS, dependencies=guard(WRITE), status_code=status.HTTP_204_NO_CONTENT)
def link_model(
    workspace: str, name: str, version: Version, body: ModelDatasets, request: Request
) -> None:
    """Link the model version to (scenario, dataset id) pairs."""
    with database(request).session() as session:
        datasets.link_model(session, workspace, name, version, list(body.datasets))


@router.get(MODEL_DATASETS, dependencies=guard(READ), response_model=list[ModelDatasetRecord])
def model_datasets(
    workspace: str, name: str, version: Version, request: Request
) -> list[ModelDatasetRecord]:
    with database(request).session() as session:
        return datasets.model_datasets(session, workspace, name, version)
