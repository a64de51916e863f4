"""Named files beside the content-addressed objects: data that has a place, not a digest.

Model data collected by endpoints lives here, under
``workspaces/<workspace>/modeldata/<endpoint>/<deployment>/date=YYYY-MM-DD/<file>``
in the blob store's filesystem (the workspace's default storage), so any fsspec reader
(pyarrow, pandas, the drift monitor) can read a day's partition. A file appears whole or
not at all: it is written under ``tmp/`` and moved into place.
"""

from __future__ import annotations

import re
import uuid

from atelier.core.errors import StorageError, ValidationError
from atelier.storage.blobstore import BlobStore

__all__ = ["NamedFiles"]

_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._=-]{0,254}")


class NamedFiles:
    """Files at relative paths inside the blob store's root."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    def _path(self, relative: str) -> str:
        parts = relative.split("/")
        if not parts or not all(_SEGMENT.fullmatch(part) for part in parts):
            raise ValidationError(f"{relative!r} is not a safe relative path")
        return f"{self.blobs.root}/{relative}"

    def url(self, relative: str) -> str:
        """Where the file is, as the blob store's filesystem names it."""
        return self._path(relative)

    def write(self, relative: str, data: bytes) -> str:
        """Write ``data`` at ``relative`` atomically; return ``relative`` (the name
        ``list`` gives back: a client never sees the store's own path)."""
        final = self._path(relative)
        tmp = f"{self.blobs.root}/tmp/{uuid.uuid4().hex}"
        fs = self.blobs.fs
        try:
            with fs.open(tmp, "wb") as sink:
                sink.write(data)
            fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
            fs.mv(tmp, final)
        except OSError as exc:
            if fs.exists(tmp):
                fs.rm(tmp)
            raise StorageError(f"writing {relative} failed: {exc}") from exc
        return relative

    def list(self, prefix: str) -> list[str]:
        """Relative paths of the files under ``prefix``, sorted."""
        root = self._path(prefix)
        fs = self.blobs.fs
        if not fs.exists(root):
            return []
        found = fs.find(root)
        base = self.blobs.root.rstrip("/") + "/"
        return sorted(str(path).split(base, 1)[-1] for path in found)

    def read(self, relative: str) -> bytes:
        try:
            with self.blobs.fs.open(self._path(relative), "rb") as handle:
                data: bytes = handle.read()
        except FileNotFoundError as exc:
            raise StorageError(f"{relative} is missing from the blob store") from exc
        return data
