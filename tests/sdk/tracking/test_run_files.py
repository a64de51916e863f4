from __future__ import annotations

import io
from pathlib import Path

import pytest

from atelier import AlreadyExistsError, Experiment, NotFoundError, ValidationError, Workspace


def test_upload_list_and_download(ws: Workspace, tmp_path: Path) -> None:
    run = Experiment(ws, "files").start_logging()
    local = tmp_path / "model.bin"
    local.write_bytes(b"\x00weights" * 100)
    record = run.upload_file("outputs/model.bin", local)
    assert record.size == len(b"\x00weights" * 100)
    run.upload_file("notes.txt", io.BytesIO(b"from a stream"))
    assert run.get_file_names() == ["notes.txt", "outputs/model.bin"]
    target = run.download_file("outputs/model.bin", tmp_path / "down")
    assert target.read_bytes() == local.read_bytes()
    folder = tmp_path / "folder"
    folder.mkdir()
    assert run.download_file("notes.txt", folder) == folder / "notes.txt"


def test_files_are_write_once(ws: Workspace) -> None:
    run = Experiment(ws, "files").start_logging()
    run.upload_file("a.txt", io.BytesIO(b"1"))
    with pytest.raises(AlreadyExistsError, match="write-once"):
        run.upload_file("a.txt", io.BytesIO(b"2"))


def test_upload_folder_and_download_files(ws: Workspace, tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "sub").mkdir(parents=True)
    (source / "a.txt").write_text("a")
    (source / "sub" / "b.txt").write_text("b")
    run = Experiment(ws, "files").start_logging()
    run.upload_folder("outputs", source)
    run.upload_file("logs/run.log", io.BytesIO(b"log"))
    assert run.get_file_names() == ["logs/run.log", "outputs/a.txt", "outputs/sub/b.txt"]
    out = tmp_path / "out"
    written = run.download_files(prefix="outputs", output_directory=out)
    assert sorted(p.relative_to(out).as_posix() for p in written) == [
        "outputs/a.txt",
        "outputs/sub/b.txt",
    ]
    flat = tmp_path / "flat"
    run.download_files(prefix="outputs", output_directory=flat, append_prefix=False)
    assert (flat / "sub" / "b.txt").read_text() == "b"


@pytest.mark.parametrize("name", ["../escape.txt", "/etc/passwd", "a/../../b", ""])
def test_names_escaping_the_run_are_refused(ws: Workspace, name: str) -> None:
    run = Experiment(ws, "files").start_logging()
    with pytest.raises(ValidationError):
        run.upload_file(name, io.BytesIO(b"x"))
    assert run.get_file_names() == []


def test_a_link_out_of_the_folder_refuses_the_whole_upload(ws: Workspace, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not share")
    source = tmp_path / "src"
    source.mkdir()
    (source / "ok.txt").write_text("fine")
    (source / "link.txt").symlink_to(secret)
    run = Experiment(ws, "files").start_logging()
    with pytest.raises(ValidationError, match="outside"):
        run.upload_folder("outputs", source)
    assert run.get_file_names() == []


def test_folder_upload_is_all_or_nothing_on_a_name_clash(ws: Workspace, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.txt").write_text("a")
    (source / "b.txt").write_text("b")
    run = Experiment(ws, "files").start_logging()
    run.upload_file("outputs/b.txt", io.BytesIO(b"first"))
    with pytest.raises(AlreadyExistsError):
        run.upload_folder("outputs", source)
    assert run.get_file_names() == ["outputs/b.txt"]


def test_missing_files(ws: Workspace, tmp_path: Path) -> None:
    run = Experiment(ws, "files").start_logging()
    with pytest.raises(NotFoundError, match="no such file"):
        run.upload_file("x", tmp_path / "absent")
    with pytest.raises(NotFoundError, match="get_file_names"):
        run.download_file("absent.txt", tmp_path / "x")
    assert not (tmp_path / "x").exists()
