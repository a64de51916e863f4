"""``/workspaces/{workspace}/datastores``: named storage locations and their files.

The server holds the credentials and does every file operation itself: a client never
sees a credential, only the files. Registration goes through the same check as the
embedded backend in server mode (``services.datastores.check_location``): a ``local``
datastore, or a URL inside the server's own blob storage or home, is refused.

Roles: Readers list datastores and read their files, and so does a run's token (its
script reads dataset inputs: a run acts for a member who reads them anyway; credentials
never leave the server, and writing stays a Contributor's); Contributors register datastores
and upload; Owners replace (``overwrite``) and unregister datastores, change the default
and delete files. The workspace's managed ``workspaceblobstore`` is never replaced or
unregistered, and its URL is shown relative to the workspace.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import IO, Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse
from pydantic import Field

from atelier.core.access import Access
from atelier.core.data_records import DataFile, DatastoreRecord
from atelier.core.errors import PermissionDeniedError
from atelier.server.auth import MANAGE, RUN_READ, WRITE, guard, principal_of
from atelier.server.paths import check_location
from atelier.server.routes._common import database, settings
from atelier.server.routes.files import _TAR_DOC
from atelier.server.schemas import Body
from atelier.server.streams import consume_body, iter_file, require_type, scratch_folder, unpack_tar
from atelier.services import members
from atelier.services.datastore_rules import DatastoreAccess
from atelier.storage.network_guard import NetworkGuard

router = APIRouter(tags=["datastores"])
STORES = "/workspaces/{workspace}/datastores"
STORE = f"{STORES}/{{name}}"
_lock = threading.Lock()


class DatastoreRegister(Body):
    name: str = Field(max_length=255)
    kind: str = Field(max_length=32)
    url: str = Field(max_length=4096)
    config: dict[str, Any] = Field(default_factory=dict)
    credentials: dict[str, str] = Field(default_factory=dict)
    overwrite: bool = False
    validate_access: bool = Field(default=True, alias="validate")


class DefaultDatastore(Body):
    name: str = Field(max_length=255)


class DatastorePaths(Body):
    paths: list[str] = Field(max_length=100_000)


def _stores(request: Request) -> DatastoreAccess:
    """The server's datastore service (``server_mode``: local paths and endpoints on
    internal addresses refused)."""
    state = request.app.state
    with _lock:
        found: DatastoreAccess | None = getattr(state, "datastores", None)
        if found is None:
            allowed = NetworkGuard.from_setting(settings(request).allowed_storage_hosts)
            found = DatastoreAccess(
                database(request), settings(request), server_mode=True, network=allowed
            )
            state.datastores = found
        return found


@router.post(
    STORES,
    dependencies=guard(WRITE),
    status_code=status.HTTP_201_CREATED,
    response_model=DatastoreRecord,
)
def register(workspace: str, body: DatastoreRegister, request: Request) -> DatastoreRecord:
    """Register a datastore (credentials are sealed with the server's key, never returned).
    ``overwrite`` replaces an existing one only for an Owner; the managed store never."""
    return _stores(request).register(
        workspace,
        body.name,
        kind=body.kind,
        url=body.url,
        config=body.config,
        credentials=body.credentials,
        overwrite=body.overwrite,
        validate=body.validate_access,
        may_replace=body.overwrite and _is_owner(request, workspace),
    )


def _is_owner(request: Request, workspace: str) -> bool:
    """Whether the caller may manage the workspace (an Owner or an admin; no run token)."""
    try:
        with database(request).session() as session:
            members.authorize(session, principal_of(request), workspace, Access.MANAGE)
    except PermissionDeniedError:
        return False
    return True


@router.get(STORES, dependencies=guard(RUN_READ), response_model=list[DatastoreRecord])
def list_datastores(workspace: str, request: Request) -> list[DatastoreRecord]:
    return _stores(request).list(workspace)


@router.get(
    "/workspaces/{workspace}/default-datastore",
    dependencies=guard(RUN_READ),
    response_model=DatastoreRecord,
)
def get_default(workspace: str, request: Request) -> DatastoreRecord:
    """The workspace's default datastore (``workspaceblobstore`` on the server's storage
    until an Owner names another)."""
    return _stores(request).get_default(workspace)


@router.put(
    "/workspaces/{workspace}/default-datastore",
    dependencies=guard(MANAGE),
    response_model=DatastoreRecord,
)
def set_default(workspace: str, body: DefaultDatastore, request: Request) -> DatastoreRecord:
    return _stores(request).set_default(workspace, body.name)


@router.get(STORE, dependencies=guard(RUN_READ), response_model=DatastoreRecord)
def get(workspace: str, name: str, request: Request) -> DatastoreRecord:
    return _stores(request).get(workspace, name)


@router.delete(STORE, dependencies=guard(MANAGE), status_code=status.HTTP_204_NO_CONTENT)
def unregister(workspace: str, name: str, request: Request) -> None:
    _stores(request).unregister(workspace, name)


@router.get(f"{STORE}/files", dependencies=guard(RUN_READ), response_model=list[DataFile])
def list_files(
    workspace: str,
    name: str,
    request: Request,
    pattern: Annotated[str, Query(max_length=4096)] = "**",
) -> list[DataFile]:
    return _stores(request).files(workspace, name).list_files(pattern)


@router.post(f"{STORE}/digests", dependencies=guard(RUN_READ), response_model=list[str])
def digests(workspace: str, name: str, body: DatastorePaths, request: Request) -> list[str]:
    """The SHA-256 of each file (a POST: the list can be long)."""
    return _stores(request).files(workspace, name).digests(body.paths)


@router.get(
    f"{STORE}/files/{{path:path}}", dependencies=guard(RUN_READ), response_class=StreamingResponse
)
def download(workspace: str, name: str, path: str, request: Request) -> StreamingResponse:
    clean = check_location(path, what="datastore path")
    handle = _stores(request).files(workspace, name).open(clean)
    return StreamingResponse(iter_file(handle), media_type="application/octet-stream")


@router.post(
    f"{STORE}/files",
    dependencies=guard(WRITE),
    response_model=list[str],
    openapi_extra=_TAR_DOC,
)
async def upload(workspace: str, name: str, request: Request, overwrite: bool = False) -> list[str]:
    """Upload the files of a tar stream to their paths on the datastore, all or nothing;
    without ``overwrite`` existing files are kept. Answers the paths written."""
    require_type(request, "application/x-tar")
    files = _stores(request).files(workspace, name)
    with scratch_folder() as folder:

        def store_archive(stream: IO[bytes]) -> list[str]:
            found: list[tuple[str, Path]] = [
                (path, local) for path, local, _ in unpack_tar(stream, folder)
            ]
            return files.upload_files(found, overwrite=overwrite)

        return await consume_body(request, settings(request).max_upload_bytes, store_archive)


@router.delete(
    f"{STORE}/files/{{path:path}}",
    dependencies=guard(MANAGE),
    status_code=status.HTTP_204_NO_CONTENT,
)
def remove(workspace: str, name: str, path: str, request: Request) -> None:
    clean = check_location(path, what="datastore path")
    _stores(request).files(workspace, name).remove(clean)
