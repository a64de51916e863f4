"""What every router needs: the app's database, blob store and secret box, and tar helpers."""

from __future__ import annotations

import tarfile
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Protocol

from fastapi import Request
from fastapi.responses import StreamingResponse

from atelier.core.errors import NotFoundError, StorageError
from atelier.server.config import ServerSettings
from atelier.server.paths import check_location
from atelier.server.streams import iter_file
from atelier.storage.blobstore import BlobStore
from atelier.storage.secretbox import SecretBox, load_secret_box
from atelier.store.database import Database


def database(request: Request) -> Database:
    found: Database = request.app.state.database
    return found


def blobs(request: Request) -> BlobStore:
    found: BlobStore = request.app.state.blobs
    return found


def settings(request: Request) -> ServerSettings:
    found: ServerSettings = request.app.state.settings
    return found


_box_lock = threading.Lock()


def secret_box(request: Request) -> SecretBox:
    """The server's key (``ATELIER_SECRET_KEY`` or its key file), loaded on first use: it
    seals secrets and endpoint keys."""
    state = request.app.state
    with _box_lock:
        box: SecretBox | None = getattr(state, "secret_box", None)
        if box is None:
            box = load_secret_box(settings(request))
            state.secret_box = box
        return box


class _StoredFile(Protocol):
    @property
    def path(self) -> str: ...
    @property
    def digest(self) -> str: ...
    @property
    def size(self) -> int: ...


def stream_listed_file(
    request: Request, entries: Iterable[_StoredFile], path: str, owner: str
) -> StreamingResponse:
    """Stream the blob of the entry named ``path`` (checked first); ``NotFoundError``
    naming ``owner`` (e.g. "model iris:1") when no entry has that path."""
    clean = check_location(path)
    for entry in entries:
        if entry.path == clean:
            return StreamingResponse(
                iter_file(blobs(request).open(entry.digest)),
                media_type="application/octet-stream",
                headers={"Content-Length": str(entry.size)},
            )
    raise NotFoundError(f"{owner} has no file {clean!r}")


_BLOCK = 512
_READ = 1024 * 1024


def stream_tar(store: BlobStore, entries: Iterable[_StoredFile]) -> StreamingResponse:
    """Every entry's blob as one tar stream (application/x-tar, its length known up front):
    a folder of many small files in one request, where a download file by file costs a
    round trip each. A blob that turns out missing, shorter or longer than its record
    breaks the stream off (the status is sent by then), so the client sees a truncated
    archive, never a wrong file."""
    made = int(time.time())
    listed = []
    length = 2 * _BLOCK  # the two empty blocks that end an archive
    for entry in entries:
        info = tarfile.TarInfo(entry.path)
        info.size, info.mode, info.mtime = entry.size, 0o644, made
        header = info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8")
        listed.append((header, entry.digest, entry.size))
        length += len(header) + entry.size + (-entry.size % _BLOCK)

    def body() -> Iterator[bytes]:
        for header, digest, size in listed:
            yield header
            sent = 0
            with store.open(digest) as handle:
                while sent < size and (chunk := handle.read(min(_READ, size - sent))):
                    sent += len(chunk)
                    yield chunk
                extra = handle.read(1)
            if sent != size or extra:
                raise StorageError(f"blob {digest} does not hold the {size} bytes recorded")
            yield bytes(-size % _BLOCK)
        yield bytes(2 * _BLOCK)

    return StreamingResponse(
        body(), media_type="application/x-tar", headers={"Content-Length": str(length)}
    )
