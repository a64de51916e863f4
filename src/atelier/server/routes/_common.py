"""What every router needs: the app's database, blob store and secret box, and tar helpers."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Protocol

from fastapi import Request
from fastapi.responses import StreamingResponse

from atelier.core.errors import NotFoundError
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
