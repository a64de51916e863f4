"""``/workspaces/{workspace}/packages``: the image registry (model packages) over HTTP.

Roles: Readers list, read and download packages (a file, or all of them as one tar
stream); Contributors create them (packages are
immutable, so there is nothing to manage). A new package arrives as one tar stream:
``package.json`` (label, models, manifest, build log) and the build context's own files
under ``files/``; it is unpacked into a private scratch folder (regular files only, no
path leaving it) and handed to the same service the embedded backend uses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse

from atelier.core.errors import ValidationError
from atelier.core.packages import PackageFileRecord, PackageRecord
from atelier.server.auth import READ, WRITE, guard
from atelier.server.paths import check_location
from atelier.server.routes._common import (
    blobs,
    database,
    settings,
    stream_listed_file,
    stream_tar,
)
from atelier.server.routes.files import _TAR_DOC
from atelier.server.streams import consume_body, require_type, scratch_folder, unpack_tar
from atelier.services import packages

#: a version number the database can hold
Version = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
router = APIRouter(tags=["packages"])
PACKAGES = "/workspaces/{workspace}/packages"
VERSION = f"{PACKAGES}/{{name}}/versions/{{version}}"
META = "package.json"
FILES_PREFIX = "files/"
_META_MAX = 8 * 1024 * 1024


def _metadata(local: Path) -> dict[str, Any]:
    if local.stat().st_size > _META_MAX:
        raise ValidationError(f"{META} in the upload is larger than {_META_MAX} bytes")
    try:
        meta = json.loads(local.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{META} in the upload is not JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise ValidationError(f"{META} must hold a JSON object")
    return meta


def _models(value: Any) -> list[tuple[str, int]]:
    if not isinstance(value, list) or not all(
        isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) for item in value
    ):
        raise ValidationError("'models' must be a list of [name, version] pairs")
    return [(str(name), int(version)) for name, version in value]


@router.post(
    PACKAGES,
    dependencies=guard(WRITE),
    status_code=status.HTTP_201_CREATED,
    response_model=PackageRecord,
    openapi_extra=_TAR_DOC,
)
async def create(
    workspace: str,
    request: Request,
    name: Annotated[str, Query(max_length=256, description="The image name.")],
) -> PackageRecord:
    """Create the next version of image ``name`` from a tar stream (application/x-tar)."""
    require_type(request, "application/x-tar")
    db, store = database(request), blobs(request)
    with scratch_folder() as folder:

        def store_archive(stream: IO[bytes]) -> PackageRecord:
            meta: dict[str, Any] | None = None
            files: list[tuple[str, Path]] = []
            for path, local, _ in unpack_tar(stream, folder):
                if path == META:
                    meta = _metadata(local)
                elif path.startswith(FILES_PREFIX) and len(path) > len(FILES_PREFIX):
                    files.append((path[len(FILES_PREFIX) :], local))
                else:
                    raise ValidationError(
                        f"{path!r} in the upload is neither {META} nor under {FILES_PREFIX}"
                    )
            if meta is None:
                raise ValidationError(f"the upload has no {META}; send label, models, manifest")
            label, manifest = meta.get("label"), meta.get("manifest", {})
            log = meta.get("log", "")
            if not isinstance(manifest, dict) or not isinstance(log, str):
                raise ValidationError("'manifest' must be an object and 'log' a string")
            models = _models(meta.get("models", []))
            with db.session() as session:
                return packages.create(
                    session, store, workspace, name, label, models, files, manifest, log
                )

        return await consume_body(request, settings(request).max_upload_bytes, store_archive)


@router.get(PACKAGES, dependencies=guard(READ), response_model=list[PackageRecord])
def list_packages(
    workspace: str,
    request: Request,
    name: Annotated[str | None, Query(max_length=256)] = None,
) -> list[PackageRecord]:
    with database(request).session() as session:
        return packages.list_packages(session, workspace, name)


@router.get(f"{PACKAGES}/{{name}}", dependencies=guard(READ), response_model=PackageRecord)
def get_latest(workspace: str, name: str, request: Request) -> PackageRecord:
    with database(request).session() as session:
        return packages.get(session, workspace, name, None)


@router.get(VERSION, dependencies=guard(READ), response_model=PackageRecord)
def get_version(workspace: str, name: str, version: Version, request: Request) -> PackageRecord:
    with database(request).session() as session:
        return packages.get(session, workspace, name, version)


@router.get(f"{VERSION}/files", dependencies=guard(READ), response_model=list[PackageFileRecord])
def files(workspace: str, name: str, version: Version, request: Request) -> list[PackageFileRecord]:
    with database(request).session() as session:
        return packages.files(session, workspace, name, version)


@router.get(
    f"{VERSION}/files/{{path:path}}", dependencies=guard(READ), response_class=StreamingResponse
)
def download(
    workspace: str, name: str, version: Version, path: str, request: Request
) -> StreamingResponse:
    clean = check_location(path)
    with database(request).session() as session:
        found = packages.files(session, workspace, name, version, path=clean)
    return stream_listed_file(request, found, clean, f"package {name}:{version}")


@router.get(
    f"{VERSION}/archive",
    dependencies=guard(READ),
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-tar": {}}}},
)
def archive(workspace: str, name: str, version: Version, request: Request) -> StreamingResponse:
    """Every file of the package as one tar stream (application/x-tar), by its path in the
    package: how a client extracts it (a package holds Atelier's runtime, some 500 files,
    which one request per file made a round trip each)."""
    with database(request).session() as session:
        found = packages.files(session, workspace, name, version)
    return stream_tar(blobs(request), found)
