from __future__ import annotations

import io
from pathlib import Path

import pytest

from atelier import NotFoundError
from atelier.storage.blobstore import BlobStore


def test_identical_bytes_are_stored_once(tmp_path: Path) -> None:
    store = BlobStore(str(tmp_path / "blobs"))
    first = store.put(io.BytesIO(b"hello"))
    second = store.put(io.BytesIO(b"hello"))
    assert first == second
    assert first[1] == 5
    objects = [p for p in (tmp_path / "blobs" / "objects").rglob("*") if p.is_file()]
    assert len(objects) == 1
    assert b"".join(store.iter_bytes(first[0])) == b"hello"


class _Exploding(io.RawIOBase):
    def __init__(self) -> None:
        self.calls = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.calls += 1
        if self.calls > 2:
            raise OSError("disk vanished")
        return b"x" * 1024


def test_a_failed_write_leaves_no_object_and_no_temporary_file(tmp_path: Path) -> None:
    store = BlobStore(str(tmp_path / "blobs"))
    with pytest.raises(Exception, match="disk vanished"):
        store.put(_Exploding())  # type: ignore[arg-type]
    leftovers = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert leftovers == []


def test_missing_object_is_not_found(tmp_path: Path) -> None:
    store = BlobStore(str(tmp_path / "blobs"))
    with pytest.raises(NotFoundError, match="missing") as caught:
        store.open("ab" * 32)
    assert str(tmp_path) not in str(caught.value)  # a server's clients see this message


def test_copy_to_writes_the_whole_file_atomically(tmp_path: Path) -> None:
    store = BlobStore(str(tmp_path / "blobs"))
    digest, _ = store.put(io.BytesIO(b"payload" * 1000))
    target = tmp_path / "out" / "f.bin"
    store.copy_to(digest, target)
    assert target.read_bytes() == b"payload" * 1000
    assert [p.name for p in target.parent.iterdir()] == ["f.bin"]
