"""Unpacking a tar stream a server sends (a package's or a model's files) into a folder,
trusting only what the listing says: each member must be a regular file the listing names,
of the size it records, below the folder; anything else, a member missing or the stream
cut short is a ``StorageError`` (the caller's folder is a staging one it then removes)."""

from __future__ import annotations

import io
import shutil
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

from atelier.core.errors import AtelierError, StorageError, ValidationError
from atelier.core.paths import safe_join

_CHUNK = 1024 * 1024


class _Listed(Protocol):
    @property
    def path(self) -> str: ...
    @property
    def size(self) -> int: ...


class RawStream(io.RawIOBase):
    """A readable binary stream over an iterator of byte chunks (a response body)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._left:
            self._left = next(self._chunks, b"")
            if not self._left:
                return 0
        count = min(len(buffer), len(self._left))
        buffer[:count] = self._left[:count]
        self._left = self._left[count:]
        return count


def unpack_listed(
    stream: io.RawIOBase, folder: Path, listed: Iterable[_Listed], owner: str
) -> None:
    """Write every member of the tar ``stream`` below ``folder``, checking it against
    ``listed``, the files of ``owner`` (e.g. "package scorer:1"; see the module); returns
    once every listed file is written."""
    expected = {entry.path: entry.size for entry in listed}
    written: set[str] = set()
    try:
        with tarfile.open(fileobj=io.BufferedReader(stream, _CHUNK), mode="r|") as archive:
            for member in archive:
                size = expected.get(member.name)
                if not member.isfile() or size is None or member.name in written:
                    raise StorageError(
                        f"the server sent {member.name!r}, which {owner} does not list "
                        "as a file; download it again"
                    )
                if member.size != size:
                    raise StorageError(
                        f"the server sent {member.name!r} with {member.size} bytes, where "
                        f"{owner} lists {size}; download it again"
                    )
                source = archive.extractfile(member)
                if source is None:
                    raise StorageError(f"the server sent {member.name!r} unreadable")
                try:
                    target = safe_join(folder, member.name)
                except ValidationError as exc:
                    raise StorageError(f"the server sent an unsafe path: {exc}") from None
                target.parent.mkdir(parents=True, exist_ok=True)
                with target.open("wb") as sink:
                    shutil.copyfileobj(source, sink, _CHUNK)
                written.add(member.name)
    except (tarfile.TarError, EOFError) as exc:
        raise StorageError(f"the archive of {owner} was cut short or is garbled: {exc}") from exc
    except AtelierError:
        raise
    except OSError as exc:
        raise StorageError(f"cannot write {owner} into {folder}: {exc}") from exc
    missing = sorted(set(expected) - written)
    if missing:
        raise StorageError(
            f"the archive of {owner} lacks {len(missing)} listed file(s), e.g. {missing[0]!r}; "
            "download it again"
        )
