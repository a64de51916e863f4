"""A package's or a model's tar stream from a server is unpacked only as its listing says: regular
files it names, of the sizes it records, below the folder; anything else is refused with
a StorageError that says to download again."""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from atelier.client.http.archives import RawStream, unpack_listed
from atelier.core.errors import StorageError


@dataclass(frozen=True)
class Entry:
    path: str
    size: int


def _tar(members: list[tuple[str, bytes]], link: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        if link is not None:
            info = tarfile.TarInfo(link)
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            archive.addfile(info)
    return buffer.getvalue()


def _chunks(data: bytes, size: int = 700) -> RawStream:
    return RawStream(iter([data[i : i + size] for i in range(0, len(data), size)]))


def test_the_listed_files_are_written_in_their_folders(tmp_path: Path) -> None:
    long_name = "runtime/" + "deep/" * 30 + "module.py"  # longer than a plain tar header
    members = [("score.py", b"print(1)\n"), (long_name, b"x" * 5000), ("empty.txt", b"")]
    listed = [Entry(name, len(data)) for name, data in members]
    unpack_listed(_chunks(_tar(members)), tmp_path, listed, "package p:1")
    for name, data in members:
        assert (tmp_path / name).read_bytes() == data


@pytest.mark.parametrize(
    ("members", "link", "listed", "message"),
    [
        ([("../escape.py", b"x")], None, [Entry("../escape.py", 1)], "outside|escape|not"),
        ([("a.py", b"x")], "a-link", [Entry("a.py", 1)], "p:1 does not list"),
        ([("a.py", b"x"), ("extra.py", b"y")], None, [Entry("a.py", 1)], "p:1 does not list"),
        ([("a.py", b"xx")], None, [Entry("a.py", 1)], "with 2 bytes"),
        ([("a.py", b"x")], None, [Entry("a.py", 1), Entry("b.py", 1)], "lacks 1 listed"),
        ([("a.py", b"x"), ("a.py", b"x")], None, [Entry("a.py", 1)], "p:1 does not list"),
    ],
)
def test_what_the_listing_does_not_say_is_refused(
    tmp_path: Path,
    members: list[tuple[str, bytes]],
    link: str | None,
    listed: list[Entry],
    message: str,
) -> None:
    folder = tmp_path / "staging"
    folder.mkdir()
    with pytest.raises(StorageError, match=message):
        unpack_listed(_chunks(_tar(members, link)), folder, listed, "package p:1")
    assert not (tmp_path / "escape.py").exists()
    assert not (folder / "a-link").exists()


def test_a_stream_cut_short_is_an_error(tmp_path: Path) -> None:
    data = _tar([("big.bin", b"z" * 20_000)])
    with pytest.raises(StorageError, match="archive of model m:2 was cut short"):
        unpack_listed(_chunks(data[:9000]), tmp_path, [Entry("big.bin", 20_000)], "model m:2")
