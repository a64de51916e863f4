from __future__ import annotations

import json
from pathlib import Path

import pytest

from atelier import AlreadyExistsError, Experiment, NotFoundError, ValidationError, Workspace
from tests.conftest import unique
from tests.sdk.conftest import embedded_only


def test_create_get_list_delete(home: Path) -> None:
    name = unique("ws")
    created = Workspace.create(name, description="team space", tags={"team": "vision"})
    fetched = Workspace.get(name)
    assert fetched == created
    assert fetched.get_details()["description"] == "team space"
    assert fetched.tags == {"team": "vision"}
    assert name in Workspace.list()
    assert Workspace(workspace_name=name).id == created.id
    fetched.delete()
    with pytest.raises(NotFoundError, match="atelier workspace create"):
        Workspace.get(name)
    assert name not in Workspace.list()


def test_create_twice_needs_exist_ok(home: Path) -> None:
    name = unique("ws")
    first = Workspace.create(name)
    with pytest.raises(AlreadyExistsError, match="exist_ok=True"):
        Workspace.create(name)
    assert Workspace.create(name, exist_ok=True) == first


def test_azureml_style_arguments_are_accepted(home: Path) -> None:
    ws = Workspace.create(
        unique("ws"),
        subscription_id="sub",
        resource_group="rg",
        location="westeurope",
        create_resource_group=True,
        exist_ok=True,
    )
    assert ws.location == "westeurope"
    assert Workspace("sub", "rg", ws.name) == ws


@pytest.mark.parametrize("bad", ["x", "has space", "-x", "a/b"])
def test_invalid_names_are_refused(home: Path, bad: str) -> None:
    with pytest.raises(ValidationError, match="invalid workspace name"):
        Workspace.create(bad)


def test_embedded_mode_keeps_sqlite_and_blobs_under_home(
    home: Path, database: str, backend: str
) -> None:
    embedded_only(backend, "the home's own database and blob folder")
    ws = Workspace.create(unique("ws"))
    details = ws.get_details()
    assert details["mode"] == "embedded"
    assert details["trackingUri"] == f"file://{home.resolve()}"
    assert (home / "blobs").is_dir()
    if database == "sqlite":
        assert (home / "atelier.db").is_file()


def test_config_round_trip_walks_up_parents(home: Path, tmp_path: Path) -> None:
    ws = Workspace.create(unique("ws"))
    project = tmp_path / "project"
    written = ws.write_config(project)
    assert written == project / ".azureml" / "config.json"  # azureml's place
    assert json.loads(written.read_text())["workspace_name"] == ws.name
    deep = project / "src" / "pkg"
    deep.mkdir(parents=True)
    assert Workspace.from_config(deep) == ws
    assert Workspace.from_config(written) == ws


def test_plain_config_json_is_found_too(home: Path, tmp_path: Path) -> None:
    ws = Workspace.create(unique("ws"))
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"workspace_name": ws.name}))
    assert Workspace.from_config(folder) == ws


def test_missing_config_says_how_to_write_one(home: Path, tmp_path: Path) -> None:
    empty = tmp_path / "nothing-here"
    empty.mkdir()
    (empty / "config.json").write_text('{"unrelated": true}')
    with pytest.raises(NotFoundError, match="write_config"):
        Workspace.from_config(empty)


def test_delete_removes_runs_and_their_files(home: Path, backend: str) -> None:
    embedded_only(backend, "counts the objects in the home's blob folder")
    ws = Workspace.create(unique("ws"))
    with Experiment(ws, "e").start_logging() as run:
        run.upload_file("outputs/only-here.txt", _stream(b"unique bytes for this test"))
    objects = home / "blobs" / "objects"
    assert any(p.is_file() for p in objects.rglob("*"))
    ws.delete()
    assert not any(p.is_file() for p in objects.rglob("*"))


def test_deleting_one_workspace_keeps_blobs_shared_with_another(home: Path) -> None:
    first, second = Workspace.create(unique("ws")), Workspace.create(unique("ws"))
    for ws in (first, second):
        with Experiment(ws, "e").start_logging() as run:
            run.upload_file("same.txt", _stream(b"shared content"))
    first.delete()
    run = next(iter(Experiment(second, "e").get_runs()))
    target = home.parent / "got.txt"
    run.download_file("same.txt", target)
    assert target.read_bytes() == b"shared content"


def _stream(data: bytes) -> object:
    import io

    return io.BytesIO(data)
