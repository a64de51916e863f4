"""``/workspaces/{workspace}/models``: the model registry over HTTP."""

from __future__ import annotations

from typing import IO, Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse
from pydantic import ValidationError as PydanticValidationError

from atelier.core.errors import ValidationError
from atelier.core.records import ModelFileRecord, ModelQuery, ModelRecord, ModelSpec
from atelier.server.auth import MANAGE, READ, WRITE, guard
from atelier.server.pages import LimitQuery, Page, PageTokenQuery, page
from atelier.server.paths import check_location
from atelier.server.routes._common import (
    blobs,
    database,
    settings,
    stream_listed_file,
    stream_tar,
)
from atelier.server.routes.files import _TAR_DOC
from atelier.server.schemas import ModelFromRun, ModelPatch, ModelSearch, ModelSpecBody
from atelier.server.streams import consume_body, require_type, scratch_folder, unpack_tar
from atelier.services import models

router = APIRouter(tags=["models"])
MODELS = "/workspaces/{workspace}/models"
VERSION = f"{MODELS}/{{name}}/versions/{{version}}"


def _spec(text: str) -> ModelSpec:
    try:
        body = ModelSpecBody.model_validate_json(text)
    except PydanticValidationError as exc:
        raise ValidationError(f"the spec parameter is not a valid model spec: {exc}") from None
    return ModelSpec(**body.model_dump())


@router.post(
    f"{MODELS}/{{name}}/versions",
    dependencies=guard(WRITE),
    status_code=status.HTTP_201_CREATED,
    response_model=ModelRecord,
    openapi_extra=_TAR_DOC,
)
async def register(
    workspace: str,
    name: str,
    request: Request,
    spec: Annotated[str, Query(max_length=100_000, description="ModelSpec as JSON.")] = "{}",
) -> ModelRecord:
    """Register the files of a tar stream (application/x-tar) as the next version."""
    require_type(request, "application/x-tar")
    parsed = _spec(spec)
    db, store = database(request), blobs(request)
    with scratch_folder() as folder:

        def store_archive(stream: IO[bytes]) -> ModelRecord:
            files = [(path, local) for path, local, _ in unpack_tar(stream, folder)]
            if not files:
                raise ValidationError("the upload holds no file; send the model's files")
            with db.session() as session:
                return models.register(session, store, workspace, name, files, parsed)

        return await consume_body(request, settings(request).max_upload_bytes, store_archive)


@router.post(
    f"{MODELS}/{{name}}/from-run",
    dependencies=guard(WRITE),
    status_code=status.HTTP_201_CREATED,
    response_model=ModelRecord,
)
def register_from_run(
    workspace: str, name: str, body: ModelFromRun, request: Request
) -> ModelRecord:
    spec = ModelSpec(**body.spec.model_dump())
    with database(request).session() as session:
        return models.register_from_run(session, workspace, name, body.run_id, body.path, spec)


@router.get(f"{MODELS}/{{name}}", dependencies=guard(READ), response_model=ModelRecord)
def get_latest(workspace: str, name: str, request: Request) -> ModelRecord:
    with database(request).session() as session:
        return models.get(session, workspace, name, None)


@router.get(VERSION, dependencies=guard(READ), response_model=ModelRecord)
def get_version(workspace: str, name: str, version: int, request: Request) -> ModelRecord:
    with database(request).session() as session:
        return models.get(session, workspace, name, version)


@router.post(f"{MODELS}/search", dependencies=guard(READ), response_model=Page[ModelRecord])
def search(
    workspace: str,
    body: ModelSearch,
    request: Request,
    limit: LimitQuery = 1000,
    page_token: PageTokenQuery = None,
) -> Page[ModelRecord]:
    with database(request).session() as session:
        found = models.list_models(session, workspace, ModelQuery(**body.model_dump()))
    return page(found, limit, page_token)


@router.get(f"{VERSION}/files", dependencies=guard(READ), response_model=list[ModelFileRecord])
def files(workspace: str, name: str, version: int, request: Request) -> list[ModelFileRecord]:
    with database(request).session() as session:
        return models.files(session, workspace, name, version)


@router.get(
    f"{VERSION}/files/{{path:path}}", dependencies=guard(READ), response_class=StreamingResponse
)
def download(
    workspace: str, name: str, version: int, path: str, request: Request
) -> StreamingResponse:
    clean = check_location(path)
    with database(request).session() as session:
        found = models.files(session, workspace, name, version, path=clean)
    return stream_listed_file(request, found, clean, f"model {name}:{version}")


@router.get(
    f"{VERSION}/archive",
    dependencies=guard(READ),
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-tar": {}}}},
)
def archive(workspace: str, name: str, version: int, request: Request) -> StreamingResponse:
    """Every file of the model version as one tar stream (application/x-tar), by its path:
    how a client downloads a model (one request, whatever its number of files)."""
    with database(request).session() as session:
        found = models.files(session, workspace, name, version)
    return stream_tar(blobs(request), found)


@router.patch(VERSION, dependencies=guard(WRITE), response_model=ModelRecord)
def patch(
    workspace: str, name: str, version: int, body: ModelPatch, request: Request
) -> ModelRecord:
    """Change description or replace tags; add tags, remove tag keys, add properties."""
    with database(request).session() as session:
        record = models.get(session, workspace, name, version)
        if body.description is not None or body.tags is not None:
            record = models.update(
                session, workspace, name, version, description=body.description, tags=body.tags
            )
        if body.set_tags:
            record = models.set_tags(session, workspace, name, version, body.set_tags)
        if body.remove_tags:
            record = models.remove_tags(session, workspace, name, version, body.remove_tags)
        if body.properties:
            record = models.add_properties(session, workspace, name, version, body.properties)
        return record


@router.delete(VERSION, dependencies=guard(MANAGE), status_code=status.HTTP_204_NO_CONTENT)
def delete(workspace: str, name: str, version: int, request: Request) -> None:
    with database(request).session() as session:
        models.delete_version(session, workspace, name, version)
