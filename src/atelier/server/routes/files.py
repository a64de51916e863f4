"""A run's files: streamed uploads (one raw file, or many as a tar stream) and downloads."""

from __future__ import annotations

from typing import IO, Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse

from atelier.core.records import ArtifactRecord
from atelier.server.auth import READ, WRITE, guard
from atelier.server.pages import LimitQuery, Page, PageTokenQuery, page
from atelier.server.paths import check_location
from atelier.server.routes._common import blobs, database, settings
from atelier.server.streams import (
    consume_body,
    iter_file,
    require_type,
    scratch_folder,
    unpack_tar,
)
from atelier.services import artifacts

router = APIRouter(tags=["files"])
FILES = "/workspaces/{workspace}/runs/{run_id}/files"
_UPLOAD_DOC = {
    "requestBody": {
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        "required": True,
    }
}
_TAR_DOC = {
    "requestBody": {
        "content": {"application/x-tar": {"schema": {"type": "string", "format": "binary"}}},
        "required": True,
    }
}


@router.put(
    f"{FILES}/{{path:path}}",
    dependencies=guard(WRITE),
    status_code=status.HTTP_201_CREATED,
    response_model=ArtifactRecord,
    openapi_extra=_UPLOAD_DOC,
)
async def upload_file(workspace: str, run_id: str, path: str, request: Request) -> ArtifactRecord:
    """Store the body (application/octet-stream) as the run's file ``path`` (write-once).
    The bytes stream to a temporary blob; a cut-off upload names nothing."""
    require_type(request, "application/octet-stream")
    clean = check_location(path)
    db, store = database(request), blobs(request)

    def store_stream(stream: IO[bytes]) -> ArtifactRecord:
        with db.session() as session:
            return artifacts.upload(session, store, workspace, run_id, clean, stream)

    return await consume_body(request, settings(request).max_upload_bytes, store_stream)


@router.post(
    FILES,
    dependencies=guard(WRITE),
    status_code=status.HTTP_201_CREATED,
    response_model=list[ArtifactRecord],
    openapi_extra=_TAR_DOC,
)
async def upload_files(workspace: str, run_id: str, request: Request) -> list[ArtifactRecord]:
    """Store every regular file of a tar stream (application/x-tar), all or nothing."""
    require_type(request, "application/x-tar")
    db, store = database(request), blobs(request)
    with scratch_folder() as folder:

        def store_archive(stream: IO[bytes]) -> list[ArtifactRecord]:
            files = [(name, local) for name, local, _ in unpack_tar(stream, folder)]
            with db.session() as session:
                return artifacts.upload_files(session, store, workspace, run_id, files)

        return await consume_body(request, settings(request).max_upload_bytes, store_archive)


@router.get(FILES, dependencies=guard(READ), response_model=Page[ArtifactRecord])
def list_files(
    workspace: str,
    run_id: str,
    request: Request,
    prefix: Annotated[str | None, Query(max_length=1024)] = None,
    limit: LimitQuery = 1000,
    page_token: PageTokenQuery = None,
) -> Page[ArtifactRecord]:
    clean = check_location(prefix, what="prefix") if prefix else None
    with database(request).session() as session:
        found = artifacts.list_files(session, workspace, run_id, clean)
    return page(found, limit, page_token)


@router.get(f"{FILES}/{{path:path}}", dependencies=guard(READ), response_class=StreamingResponse)
def download_file(workspace: str, run_id: str, path: str, request: Request) -> StreamingResponse:
    """The file's bytes, streamed."""
    clean = check_location(path)
    with database(request).session() as session:
        record = artifacts.get(session, workspace, run_id, clean)
    handle = blobs(request).open(record.digest)
    return StreamingResponse(
        iter_file(handle),
        media_type="application/octet-stream",
        headers={"Content-Length": str(record.size), "X-Atelier-Digest": record.digest},
    )
