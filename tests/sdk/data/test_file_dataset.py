"""File datasets (to_path, download, mount, take, split, filter) and immutable versions."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from atelier import AlreadyExistsError, InvalidStateError, NotFoundError, ValidationError, Workspace
from atelier.sdk.data.dataset import Dataset
from atelier.sdk.data.datastore import Datastore
from atelier.sdk.data.file_dataset import MOUNT_METHOD, FileDataset


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    for label in ("cat", "dog"):
        (folder / label).mkdir(parents=True)
        for index in range(3):
            (folder / label / f"{label}{index}.png").write_bytes(bytes([index]) * (10 + index))
    (folder / "labels.csv").write_text("file,label\n")
    return folder


def test_to_path_download_take_split_and_filter(images: Path, tmp_path: Path) -> None:
    ds = Dataset.File.from_files(str(images))
    assert ds.to_path()[:2] == ["/cat/cat0.png", "/cat/cat1.png"]
    assert len(ds.to_path()) == 7
    pngs = Dataset.File.from_files(str(images / "**" / "*.png"))
    assert len(pngs.to_path()) == 6
    written = pngs.take(2).download(tmp_path / "out")
    assert [Path(p).name for p in written] == ["cat0.png", "cat1.png"]
    assert (tmp_path / "out" / "cat" / "cat1.png").read_bytes() == b"\x01" * 11
    with pytest.raises(AlreadyExistsError, match="already exists"):  # as every download
        pngs.take(1).download(tmp_path / "out")
    left, right = pngs.random_split(0.5, seed=1)
    assert sorted(left.to_path() + right.to_path()) == sorted(pngs.to_path())
    assert not set(left.to_path()) & set(right.to_path())
    small = ds.filter("endswith(name, '.png') and size <= 10")
    assert small.to_path() == ["/cat/cat0.png", "/dog/dog0.png"]
    assert ds.filter("startswith(path, 'dog/')").skip(1).to_path() == [
        "/dog/dog1.png",
        "/dog/dog2.png",
    ]


def test_a_path_matching_nothing(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="matches no files"):
        Dataset.File.from_files(str(tmp_path / "*.nothing"))
    lazy = Dataset.File.from_files(str(tmp_path / "*.nothing"), validate=False)
    assert isinstance(lazy, FileDataset)


def test_mount_is_a_read_only_view_from_the_cache(images: Path, tmp_path: Path, home: Path) -> None:
    ds = Dataset.File.from_files(str(images / "dog"))
    assert MOUNT_METHOD == "cache"
    point = tmp_path / "mnt"
    with ds.mount(point) as mounted:
        files = sorted(p.name for p in mounted.mount_point.rglob("*.png"))
        assert files == ["dog0.png", "dog1.png", "dog2.png"]
        # read-only files (root could still write them, so the mode is what is checked)
        assert (point / "dog0.png").resolve().stat().st_mode & 0o222 == 0
        assert (point / "dog2.png").read_bytes() == b"\x02" * 12
    assert not any(point.iterdir())
    with ds.mount() as again:  # the cache is reused
        assert (again.mount_point / "dog1.png").is_file()
    assert not again.mount_point.exists()


def _touch_later(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    later = time.time() + 5
    os.utime(path, (later, later))


def _pictures(ws: Workspace, images: Path, backend: str) -> tuple[Datastore, Any, Any]:
    """A datastore holding ``images``, with (write a file later, delete a file) on it:
    the folder itself as a local datastore, or over HTTP (a server refuses local
    datastores) the workspace's default datastore on the server, changed through it."""
    if backend == "embedded":

        def unlink(relative: str) -> None:
            (images / relative).unlink()

        store = Datastore.register_local(ws, "pics", images)
        return store, lambda rel, data: _touch_later(images / rel, data), unlink
    store = ws.get_default_datastore()
    store.upload(images, show_progress=False)
    files = store._files()

    def write(relative: str, data: bytes) -> None:
        time.sleep(0.01)  # a later modification time than the registration's
        files.write_bytes(relative, data, overwrite=True)

    return store, write, files.remove


def test_a_registered_version_is_immutable(ws: Workspace, images: Path, backend: str) -> None:
    store, write, remove = _pictures(ws, images, backend)
    ds = Dataset.File.from_files((store, "**/*.png"))
    v1 = ds.register(ws, "pets", description="pets", tags={"n": 6})
    with pytest.raises(AlreadyExistsError, match="create_new_version=True"):
        ds.register(ws, "pets")
    write("cat/cat9.png", b"new")  # appears after registration
    assert len(Dataset.get_by_name(ws, "pets").to_path()) == 6  # type: ignore[attr-defined]
    assert len(ds.to_path()) == 7  # the unregistered definition sees it
    # same content, new mtime: still the same version
    write("dog/dog0.png", b"\x00" * 10)
    assert len(v1.to_path()) == 6
    write("dog/dog1.png", b"tampered")
    with pytest.raises(InvalidStateError, match=r"dataset 'pets' version 1 changed .*dog1\.png"):
        v1.to_path()
    v2 = ds.register(ws, "pets", create_new_version=True)
    assert (v2.version, len(v2.to_path())) == (2, 7)
    remove("cat/cat0.png")
    with pytest.raises(InvalidStateError, match="is gone"):
        Dataset.get_by_name(ws, "pets", version=2).to_path()  # type: ignore[attr-defined]
    with pytest.raises(NotFoundError, match="no version 3"):
        Dataset.get_by_name(ws, "pets", version="3")
    with pytest.raises(ValidationError, match="invalid dataset name"):
        ds.register(ws, "bad name")


def test_registering_ten_files_records_sizes_and_hashes(ws: Workspace, images: Path) -> None:
    ds = Dataset.File.from_files(str(images)).register(ws, "all-images")
    record = ws._backend.datasets.files(ws.name, ds.id or "")
    assert len(record) == 7
    assert all(len(f.digest) == 64 and f.size > 0 and f.mtime_ms > 0 for f in record)
    listed = Dataset.list(ws)
    assert [d.name for d in listed] == ["all-images"]
