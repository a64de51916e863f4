"""Snapshots of source folders: a tar stream in, a manifest and its files out."""

from __future__ import annotations

from typing import IO

from fastapi import APIRouter, Request, status
from fastapi.responses import StreamingResponse

from atelier.core.errors import NotFoundError
from atelier.core.records import SnapshotFile, SnapshotRecord
from atelier.server.auth import RUN_READ, WRITE, guard
from atelier.server.paths import check_location
from atelier.server.routes._common import blobs, database, settings
from atelier.server.routes.files import _TAR_DOC
from atelier.server.streams import consume_body, iter_file, require_type, scratch_folder, unpack_tar
from atelier.services import snapshots

router = APIRouter(tags=["snapshots"])
SNAPSHOTS = "/workspaces/{workspace}/snapshots"


@router.post(
    SNAPSHOTS,
    dependencies=guard(WRITE),
    status_code=status.HTTP_201_CREATED,
    response_model=SnapshotRecord,
    openapi_extra=_TAR_DOC,
)
async def create_snapshot(workspace: str, request: Request) -> SnapshotRecord:
    """Store a source folder sent as a tar stream (file modes are kept; links refused)."""
    require_type(request, "application/x-tar")
    db, store = database(request), blobs(request)
    with scratch_folder() as folder:

        def store_archive(stream: IO[bytes]) -> SnapshotRecord:
            files = unpack_tar(stream, folder)
            with db.session() as session:
                return snapshots.create(session, store, workspace, files)

        return await consume_body(request, settings(request).max_upload_bytes, store_archive)


@router.get(
    f"{SNAPSHOTS}/{{snapshot_id}}/files",
    dependencies=guard(RUN_READ),
    response_model=list[SnapshotFile],
)
def snapshot_files(workspace: str, snapshot_id: str, request: Request) -> list[SnapshotFile]:
    with database(request).session() as session:
        return snapshots.files(session, blobs(request), workspace, snapshot_id)


@router.get(
    f"{SNAPSHOTS}/{{snapshot_id}}/files/{{path:path}}",
    dependencies=guard(RUN_READ),
    response_class=StreamingResponse,
)
def snapshot_file(
    workspace: str, snapshot_id: str, path: str, request: Request
) -> StreamingResponse:
    """One file of the snapshot, streamed."""
    clean = check_location(path)
    with database(request).session() as session:
        manifest = snapshots.files(session, blobs(request), workspace, snapshot_id)
    for entry in manifest:
        if entry.path == clean:
            return StreamingResponse(
                iter_file(blobs(request).open(entry.digest)),
                media_type="application/octet-stream",
                headers={"Content-Length": str(entry.size)},
            )
    raise NotFoundError(f"snapshot {snapshot_id!r} has no file {clean!r}")
