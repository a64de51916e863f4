"""Uploads that stream to disk: one file as raw bytes, or many files as a tar stream.

Nothing is held whole in memory. A tar upload is unpacked into a private temporary folder
(regular files only: sparse files, links, devices and paths leaving the folder are
refused) and handed to the service as local files, so a failed or cut-off upload leaves
no blob named.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import shutil
import tarfile
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import IO, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from atelier.core.errors import ValidationError
from atelier.core.paths import safe_join
from atelier.server.paths import check_location

_CHUNK = 1024 * 1024
T = TypeVar("T")


class _QueueReader:
    """A blocking file-like reader over chunks an async producer puts in a queue."""

    def __init__(self) -> None:
        self.chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=8)
        self.buffer = b""
        self.done = False
        self.closed = False  # the consumer is gone: what is still put is dropped

    def put(self, item: bytes | BaseException | None) -> None:
        """Hand one item to the consumer; never blocks for good once it has stopped."""
        while not self.closed:
            try:
                self.chunks.put(item, timeout=0.1)
            except queue.Full:
                continue
            return

    def read(self, size: int = -1) -> bytes:
        while not self.done and (size < 0 or len(self.buffer) < size):
            item = self.chunks.get()
            if item is None:
                self.done = True
            elif isinstance(item, BaseException):
                self.done = True
                raise item
            else:
                self.buffer += item
        if size < 0:
            data, self.buffer = self.buffer, b""
        else:
            data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


def _check_size(total: int, limit: int) -> None:
    if total > limit:
        raise ValidationError(
            f"the upload is larger than the {limit}-byte limit (ATELIER_MAX_UPLOAD_BYTES)"
        )


async def _pump(request: Request, reader: _QueueReader, limit: int) -> None:
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            _check_size(total, limit)
            if chunk:
                await run_in_threadpool(reader.put, chunk)
    except BaseException as exc:
        await run_in_threadpool(reader.put, exc)
        raise
    await run_in_threadpool(reader.put, None)


async def consume_body(request: Request, limit: int, handler: Callable[[IO[bytes]], T]) -> T:
    """Run ``handler(stream)`` in a thread while the request body streams into it.

    When the handler stops early (it refused the upload, or needed only part of it), the
    rest of the body is dropped, so no thread stays blocked handing it chunks."""
    reader = _QueueReader()
    pump = asyncio.ensure_future(_pump(request, reader, limit))
    try:
        result = await run_in_threadpool(handler, reader)  # type: ignore[arg-type]
    except BaseException:
        reader.closed = True
        pump.cancel()
        with contextlib.suppress(BaseException):
            await pump
        raise
    reader.closed = True
    with contextlib.suppress(Exception):
        await pump  # a client that stops sending once it has its answer is not an error
    return result


def unpack_tar(stream: IO[bytes], folder: Path) -> list[tuple[str, Path, int]]:
    """Unpack a tar stream into ``folder``: (path, local file, mode) per regular file.

    Only plain regular files are taken, so what is unpacked is never larger than what was
    sent (and counted against ``ATELIER_MAX_UPLOAD_BYTES``): sparse members, links and
    special files are refused."""
    found: list[tuple[str, Path, int]] = []
    try:
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for member in archive:
                if member.isdir():
                    continue
                if member.issparse():
                    # a sparse member unpacks to far more bytes than it sends, past the
                    # upload limit, which counts the bytes on the wire
                    raise ValidationError(
                        f"{member.name!r} in the upload is a sparse file; sparse tar members "
                        "are refused: archive without --sparse"
                    )
                if not member.isfile():
                    raise ValidationError(
                        f"{member.name!r} in the upload is a link or special file; "
                        "upload regular files only (copy the link's target in)"
                    )
                clean = check_location(member.name, what="file name in the upload")
                target = safe_join(folder, clean)
                target.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(member)
                if source is None:
                    raise ValidationError(f"{member.name!r} in the upload cannot be read")
                with target.open("wb") as sink:
                    shutil.copyfileobj(source, sink, _CHUNK)
                found.append((clean, target, member.mode & 0o777))
    except tarfile.TarError as exc:
        raise ValidationError(f"the upload is not a valid tar stream: {exc}") from exc
    return found


@contextlib.contextmanager
def scratch_folder() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="atelier-upload-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def iter_file(handle: IO[bytes]) -> AsyncIterator[bytes]:
    """A blob's bytes in chunks, read off the event loop; the handle is closed after."""
    try:
        while chunk := await run_in_threadpool(handle.read, _CHUNK):
            yield chunk
    finally:
        await run_in_threadpool(handle.close)


def content_type(request: Request) -> str:
    return (request.headers.get("content-type") or "").split(";")[0].strip().lower()


def require_type(request: Request, *allowed: str) -> None:
    if content_type(request) not in allowed:
        raise ValidationError(
            f"send this upload as {' or '.join(allowed)}, not "
            f"{content_type(request) or 'no Content-Type'!r}"
        )
