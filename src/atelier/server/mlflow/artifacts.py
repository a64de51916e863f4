"""``/api/2.0/mlflow-artifacts/artifacts``: MLflow's artifact proxy over Atelier's blob store.

Uploads stream into a spooled temporary file (memory up to 8 MiB, disk beyond) and then
into the content-addressed store, so a large file never sits whole in memory and a broken
upload leaves no file behind. Downloads stream the blob back in 1 MiB chunks.
"""

from __future__ import annotations

import mimetypes
import tempfile
from collections.abc import Iterator
from typing import IO

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from atelier.server.mlflow._common import MlflowError, MlflowRoute, begin, query, reply, text
from atelier.server.paths import check_location
from atelier.services import mlflow_artifacts

router = APIRouter(route_class=MlflowRoute)
ROOT = "/api/2.0/mlflow-artifacts/artifacts"
_SPOOL_BYTES = 8 * 1024 * 1024
_CHUNK = 1024 * 1024


@router.put(ROOT + "/{path:path}")
async def upload(request: Request, path: str) -> Response:
    ctx = await begin(request, "write")
    check_location(path, what="artifact path")  # the REST rule: no '#', '?', %-escapes
    await ctx.call(mlflow_artifacts.locate, path)  # refuse before reading the body
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
        try:
            async for chunk in request.stream():
                if chunk:
                    await run_in_threadpool(spool.write, chunk)
        except ClientDisconnect:
            raise MlflowError(
                "INVALID_PARAMETER_VALUE", 400, f"the upload of {path!r} was interrupted"
            ) from None
        spool.seek(0)
        await ctx.call(mlflow_artifacts.upload, ctx.blobs, path, spool)
    return reply({})


@router.get(ROOT + "/{path:path}")
async def download(request: Request, path: str) -> Response:
    ctx = await begin(request, "read")
    check_location(path, what="artifact path")
    if path.startswith(f"{mlflow_artifacts.REGISTRY}/") and path.endswith(
        f"/{mlflow_artifacts.MLMODEL}"
    ):
        generated = await ctx.call(mlflow_artifacts.read_generated, path)
        if generated is not None:
            return Response(generated, media_type="text/yaml")
    digest, size = await ctx.call(mlflow_artifacts.find_file, path)
    handle = await run_in_threadpool(ctx.blobs.open, digest)  # a missing blob is a 404 here
    media = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return StreamingResponse(
        _chunks(handle),
        media_type=media,
        headers={"Content-Length": str(size), "X-Content-Type-Options": "nosniff"},
    )


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := handle.read(_CHUNK):
            yield chunk
    finally:
        handle.close()


@router.get(ROOT)
async def list_artifacts(request: Request) -> Response:
    ctx = await begin(request, "read")
    path = text(query(request), "path", required=False).rstrip("/")
    if not path:
        return reply({})
    entries = await ctx.call(mlflow_artifacts.list_dir, path)
    files = []
    for entry in entries:
        item: dict[str, object] = {"path": entry.name, "is_dir": entry.is_dir}
        if entry.size is not None:
            item["file_size"] = entry.size
        files.append(item)
    return reply({"files": files})
