"""Content-addressed objects on any fsspec filesystem.

Errors name the object, never where the store keeps it: they reach clients of a server.

An object is stored once under ``objects/<sha256[:2]>/<sha256[2:]>`` however many runs
hold it. Writes go to ``tmp/<random>`` first and are renamed into place, so a crash
never leaves a partial object under a real name. On a local disk the store's folders are
0700 and its objects 0600: other local users read none of them.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import fsspec

from atelier.core.errors import NotFoundError, StorageError
from atelier.core.paths import PRIVATE_FILE, private_folder

_CHUNK = 1024 * 1024


class BlobStore:
    """Objects addressed by the SHA-256 of their bytes."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            fs, root = fsspec.core.url_to_fs(url)
        except (ImportError, ValueError) as exc:
            raise StorageError(f"cannot open blob store {url!r}: {exc}") from exc
        self.fs: Any = fs
        self.root: str = root.rstrip("/")
        self.is_local = "file" in (
            fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
        )
        try:
            self._makedirs(f"{self.root}/tmp")
            self._makedirs(f"{self.root}/objects")
        except OSError as exc:
            raise StorageError(f"cannot create blob store at {url!r}: {exc}") from exc

    def _makedirs(self, folder: str) -> None:
        """A folder of the store; on a local disk private to this user (0700)."""
        if self.is_local:
            private_folder(Path(folder))
        else:
            self.fs.makedirs(folder, exist_ok=True)

    def _object_path(self, digest: str) -> str:
        return f"{self.root}/objects/{digest[:2]}/{digest[2:]}"

    def put(self, source: IO[bytes]) -> tuple[str, int]:
        """Store the bytes read from ``source``; return their digest and size."""
        tmp = f"{self.root}/tmp/{uuid.uuid4().hex}"
        hasher = hashlib.sha256()
        size = 0
        try:
            with self.fs.open(tmp, "wb") as sink:
                while chunk := source.read(_CHUNK):
                    hasher.update(chunk)
                    sink.write(chunk)
                    size += len(chunk)
            digest = hasher.hexdigest()
            final = self._object_path(digest)
            if self.fs.exists(final):
                self.fs.rm(tmp)
            else:
                self._makedirs(final.rsplit("/", 1)[0])
                if self.is_local:
                    Path(tmp).chmod(PRIVATE_FILE)
                self.fs.mv(tmp, final)
        except OSError as exc:
            self._discard(tmp)
            raise StorageError(f"writing to the blob store failed: {_reason(exc)}") from exc
        except BaseException:
            self._discard(tmp)
            raise
        return digest, size

    def put_file(self, path: Path) -> tuple[str, int]:
        """Store a local file, reading it only once more if its content is not stored yet."""
        hasher = hashlib.sha256()
        size = 0
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(_CHUNK):
                    hasher.update(chunk)
                    size += len(chunk)
        except OSError as exc:
            raise StorageError(f"cannot read {path}: {exc}") from exc
        digest = hasher.hexdigest()
        if self.exists(digest):
            return digest, size
        with path.open("rb") as handle:
            return self.put(handle)

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        import io

        return self.put(io.BytesIO(data))

    def open(self, digest: str) -> IO[bytes]:
        """A readable stream of the object; ``NotFoundError`` if it is missing."""
        try:
            handle: IO[bytes] = self.fs.open(self._object_path(digest), "rb")
        except FileNotFoundError as exc:
            raise NotFoundError(f"blob {digest} is missing from the blob store") from exc
        except OSError as exc:
            raise StorageError(f"reading blob {digest} failed: {_reason(exc)}") from exc
        return handle

    def iter_bytes(self, digest: str) -> Iterator[bytes]:
        with self.open(digest) as handle:
            while chunk := handle.read(_CHUNK):
                yield chunk

    def copy_to(self, digest: str, destination: Path) -> None:
        """Write the object to a local file atomically (temporary name, then rename)."""
        destination.parent.mkdir(parents=True, exist_ok=True)
        tmp = destination.with_name(f".{destination.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            with self.open(digest) as source, tmp.open("wb") as sink:
                shutil.copyfileobj(source, sink, _CHUNK)
            tmp.replace(destination)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"writing {destination} failed: {exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)

    def delete(self, digest: str) -> None:
        self._discard(self._object_path(digest))

    def exists(self, digest: str) -> bool:
        return bool(self.fs.exists(self._object_path(digest)))

    def _discard(self, path: str) -> None:
        try:
            if self.fs.exists(path):
                self.fs.rm(path)
        except OSError:
            pass  # best effort: an orphan temporary file holds no name anyone reads


def _reason(exc: OSError) -> str:
    """What went wrong without the file name (an errno error names the server's path)."""
    return exc.strerror or str(exc) or type(exc).__name__
