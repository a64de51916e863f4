"""The model registry through the SDK, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from atelier import (
    AlreadyExistsError,
    ConflictError,
    Experiment,
    Model,
    NotFoundError,
    ValidationError,
    Workspace,
)
from atelier.azureml.core.model import Model as AzuremlModel
from tests.conftest import unique


def _folder(root: Path) -> Path:
    """A model folder with nested, binary and empty files."""
    folder = root / "clf"
    (folder / "weights" / "layer").mkdir(parents=True)
    (folder / "config.json").write_text('{"alpha": 0.5}')
    (folder / "weights" / "layer" / "w.bin").write_bytes(bytes(range(256)) * 300)
    (folder / "weights" / "empty.txt").write_bytes(b"")
    return folder


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _blob_count(home: Path) -> int:
    return sum(1 for p in (home / "blobs" / "objects").rglob("*") if p.is_file())


# --- versions and round trips ------------------------------------------------------------
def test_versions_increment_per_name(ws: Workspace, tmp_path: Path) -> None:
    local = tmp_path / "model.pkl"
    local.write_bytes(b"v")
    first = Model.register(ws, local, "iris-clf", description="first")
    second = Model.register(ws, local, "iris-clf")
    other = Model.register(ws, local, "other.model_1")
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert (second.id, second.name) == ("iris-clf:2", "iris-clf")
    assert Model(ws, "iris-clf").version == 2
    assert Model(ws, "iris-clf", version=1).description == "first"
    assert Model(ws, id="iris-clf:1") == first
    assert Model(ws, "iris-clf", version="2") == second
    assert AzuremlModel is Model
    assert first.created_time.tzinfo is not None
    assert first.run_id is None
    assert first.run is None


def test_concurrent_registrations_get_distinct_versions(ws: Workspace, tmp_path: Path) -> None:
    local = tmp_path / "model.pkl"
    local.write_bytes(b"same bytes")
    with ThreadPoolExecutor(8) as pool:
        versions = list(pool.map(lambda _: Model.register(ws, local, "busy").version, range(24)))
    assert sorted(versions) == list(range(1, 25))


def test_file_model_round_trips_byte_for_byte(ws: Workspace, tmp_path: Path) -> None:
    local = tmp_path / "model.pkl"
    local.write_bytes(bytes(range(256)) * 1000)
    model = Model.register(
        ws,
        str(local),
        "pkl",
        tags={"area": "demo", "n": 3},
        properties={"auc": 0.91},
        model_framework=Model.Framework.SCIKITLEARN,
        model_framework_version="1.5.0",
    )
    assert model.get_file_names() == ["model.pkl"]
    assert (model.tags, model.properties) == ({"area": "demo", "n": "3"}, {"auc": "0.91"})
    assert (model.model_framework, model.model_framework_version) == ("ScikitLearn", "1.5.0")
    written = model.download(tmp_path / "out")
    assert written == str(tmp_path / "out" / "model.pkl")
    assert Path(written).read_bytes() == local.read_bytes()
    assert [p.name for p in (tmp_path / "out").iterdir()] == [
        "model.pkl"
    ]  # no staging folder left behind


def test_folder_model_round_trips_byte_for_byte(ws: Workspace, tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    model = Model.register(ws, folder, "folder-model")
    assert model.get_file_names() == [
        "clf/config.json",
        "clf/weights/empty.txt",
        "clf/weights/layer/w.bin",
    ]
    written = Path(Model(ws, "folder-model").download(tmp_path / "out"))
    assert written == tmp_path / "out" / "clf"
    assert _tree(written) == _tree(folder)


def test_child_paths_limit_a_folder(ws: Workspace, tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    model = Model.register(ws, folder, "part", child_paths=["config.json", "weights/layer"])
    assert model.get_file_names() == ["clf/config.json", "clf/weights/layer/w.bin"]
    with pytest.raises(NotFoundError, match="child path 'nope'"):
        Model.register(ws, folder, "part", child_paths=["nope"])
    with pytest.raises(ValidationError, match="escapes"):
        Model.register(ws, folder, "part", child_paths=["../clf"])
    assert Model(ws, "part").version == 1


# --- lineage ----------------------------------------------------------------------------------
def test_register_from_run_reuses_blobs_and_records_lineage(
    ws: Workspace, tmp_path: Path, home: Path
) -> None:
    run = Experiment(ws, "train").start_logging()
    run.upload_file("outputs/model.pkl", io.BytesIO(b"pickled"))
    run.upload_folder("outputs/model", _folder(tmp_path))
    blobs_before = _blob_count(home)
    single = run.register_model("from-run", "outputs/model.pkl", tags={"stage": "dev"})
    folder = run.register_model("from-run", "outputs/model", description="folder")
    assert _blob_count(home) == blobs_before  # no byte copied
    assert (single.run_id, folder.run_id) == (run.id, run.id)
    assert single.run == run
    assert single.get_file_names() == ["model.pkl"]
    assert folder.get_file_names() == [
        "model/config.json",
        "model/weights/empty.txt",
        "model/weights/layer/w.bin",
    ]
    run_digests = {r.path: r.digest for r in ws._backend.artifacts.list(ws.name, run.id)}
    model_digests = {f.path: f.digest for f in ws._backend.models.files(ws.name, "from-run", 2)}
    assert (
        model_digests["model/weights/layer/w.bin"]
        == run_digests["outputs/model/weights/layer/w.bin"]
    )
    assert Path(folder.download(tmp_path / "out")).joinpath("config.json").read_text() == (
        '{"alpha": 0.5}'
    )
    assert [m.id for m in Model.list(ws, run_id=run.id)] == ["from-run:2", "from-run:1"]


def test_register_from_run_refuses_missing_and_escaping_paths(ws: Workspace) -> None:
    run = Experiment(ws, "train").start_logging()
    run.upload_file("outputs/model.pkl", io.BytesIO(b"pickled"))
    with pytest.raises(NotFoundError, match=r"no file or folder 'outputs/model'.*upload"):
        run.register_model("m", "outputs/model")  # a prefix of a file name is not a folder
    for bad in ("../outputs/model.pkl", "/etc/passwd", "outputs/../../x"):
        with pytest.raises(ValidationError):
            run.register_model("m", bad)
    assert Model.list(ws) == []


def test_model_path_defaults_to_the_model_name(ws: Workspace) -> None:
    run = Experiment(ws, "train").start_logging()
    run.upload_file("net.onnx", io.BytesIO(b"onnx"))
    assert run.register_model("net.onnx").get_file_names() == ["net.onnx"]


# --- listing --------------------------------------------------------------------------------
def test_list_filters_and_latest(ws: Workspace, tmp_path: Path) -> None:
    local = tmp_path / "m.bin"
    local.write_bytes(b"m")
    Model.register(ws, local, "a", tags={"stage": "dev"}, properties={"owner": "ann"})
    Model.register(ws, local, "a", tags={"stage": "prod"})
    Model.register(ws, local, "a", tags={"stage": "dev"})
    Model.register(ws, local, "b", tags={"stage": "prod", "gpu": ""})

    def ids(**filters: Any) -> list[str]:
        return [m.id for m in Model.list(ws, **filters)]

    assert ids() == ["a:3", "a:2", "a:1", "b:1"]
    assert ids(name="a") == ["a:3", "a:2", "a:1"]
    assert ids(latest=True) == ["a:3", "b:1"]
    assert ids(tags=[["stage", "prod"]]) == ["a:2", "b:1"]
    assert ids(tags={"stage": "prod"}, latest=True) == ["a:2", "b:1"]
    assert ids(tags=["gpu"]) == ["b:1"]
    assert ids(tags="stage", name="b") == ["b:1"]
    assert ids(properties=[["owner", "ann"]]) == ["a:1"]
    assert ids(name="missing") == []
    assert Model(ws, "a", tags=[["stage", "dev"]]).version == 3
    assert Model(ws, "a", properties=["owner"]).version == 1
    with pytest.raises(NotFoundError, match="no version of model 'a' matches"):
        Model(ws, "a", tags=["gpu"])
    with pytest.raises(ValidationError, match="tags filter"):
        Model.list(ws, tags=[["a", "b", "c"]])
    assert sorted(ws.models) == ["a", "b"]
    assert ws.models["a"].version == 3


# --- tags, properties, description ---------------------------------------------------------
def test_tags_properties_and_update(ws: Workspace, tmp_path: Path) -> None:
    local = tmp_path / "m.bin"
    local.write_bytes(b"m")
    model = Model.register(ws, local, "tagged", tags={"a": "1"}, properties={"p": "x"})
    model.add_tags({"b": 2, "a": "one"})
    assert model.tags == {"a": "one", "b": "2"}
    model.remove_tags(["b", "never-set"])
    assert Model(ws, "tagged").tags == {"a": "one"}
    model.add_properties({"q": "y", "p": "x"})  # the same value again is fine
    with pytest.raises(ConflictError, match="immutable"):
        model.add_properties({"z": "new", "p": "changed"})
    assert Model(ws, "tagged").properties == {"p": "x", "q": "y"}  # nothing of the call kept
    model.update(description="better")
    model.update(tags={"only": "this"})
    reread = Model(ws, "tagged")
    assert (reread.description, reread.tags) == ("better", {"only": "this"})
    with pytest.raises(ValidationError, match="tag key"):
        model.add_tags({"": "x"})


# --- deleting ---------------------------------------------------------------------------------
def test_delete_then_get_is_not_found(ws: Workspace, tmp_path: Path) -> None:
    local = tmp_path / "m.bin"
    local.write_bytes(b"m")
    first = Model.register(ws, local, "gone")
    second = Model.register(ws, local, "gone")
    second.delete()
    assert Model(ws, "gone") == first
    with pytest.raises(NotFoundError, match=r"no version 2.*latest is 1"):
        Model(ws, "gone", version=2)
    first.delete()
    with pytest.raises(NotFoundError, match=r"model 'gone' not found.*Model.register"):
        Model(ws, "gone")
    with pytest.raises(NotFoundError):
        first.delete()
    assert Model.list(ws) == []


def test_deleting_a_workspace_keeps_blobs_another_workspace_uses(
    ws: Workspace, tmp_path: Path
) -> None:
    local = tmp_path / "shared.bin"
    local.write_bytes(b"the same content in two workspaces")
    keeper = Model.register(ws, local, "keeper")
    doomed = Workspace.create(unique("doomed"))
    run = Experiment(doomed, "train").start_logging()
    run.upload_file("outputs/shared.bin", local)
    run.complete()
    doomed.delete()
    assert Path(keeper.download(tmp_path / "out")).read_bytes() == local.read_bytes()


# --- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["bad name", "-dash", ".dot", "a/b", "x" * 256, ""])
def test_bad_names(ws: Workspace, tmp_path: Path, name: str) -> None:
    local = tmp_path / "m.bin"
    local.write_bytes(b"m")
    with pytest.raises(ValidationError, match="invalid model name"):
        Model.register(ws, local, name)


def test_missing_and_empty_paths(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        Model.register(ws, tmp_path / "nope.pkl", "m")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValidationError, match="no files"):
        Model.register(ws, tmp_path / "empty", "m")
    with pytest.raises(ValidationError, match="give the model's name or id"):
        Model(ws)
    with pytest.raises(ValidationError, match="whole number from 1"):
        Model(ws, "m", version="latest")
    local = tmp_path / "m.bin"
    local.write_bytes(b"m")
    with pytest.raises(ValidationError, match="datasets takes"):  # not a dataset: nothing stored
        Model.register(ws, local, "m", datasets=[("training", object())])
    assert Model.list(ws) == []


def test_download_refuses_to_overwrite_without_exist_ok(ws: Workspace, tmp_path: Path) -> None:
    local = tmp_path / "model.pkl"
    local.write_bytes(b"new weights")
    file_model = Model.register(ws, local, "file")
    target = tmp_path / "out"
    target.mkdir()
    (target / "model.pkl").write_bytes(b"old")
    with pytest.raises(AlreadyExistsError, match="exist_ok"):
        file_model.download(target)
    assert (target / "model.pkl").read_bytes() == b"old"
    assert file_model.download(target, exist_ok=True) == str(target / "model.pkl")
    assert (target / "model.pkl").read_bytes() == b"new weights"

    folder_model = Model.register(ws, _folder(tmp_path), "folder")
    (target / "clf").mkdir()
    (target / "clf" / "stale.txt").write_text("stale")
    with pytest.raises(AlreadyExistsError):
        folder_model.download(target)
    folder_model.download(target, exist_ok=True)
    assert _tree(target / "clf") == _tree(tmp_path / "clf")
    assert sorted(p.name for p in target.iterdir()) == ["clf", "model.pkl"]
    with pytest.raises(ValidationError, match="is a file"):
        file_model.download(target / "model.pkl")


# --- get_model_path ---------------------------------------------------------------------------
def test_get_model_path_in_a_model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    models = tmp_path / "models"
    for version in (1, 2, 10):
        (models / "clf" / str(version)).mkdir(parents=True)
        (models / "clf" / str(version) / "model.pkl").write_text(str(version))
    (models / "clf" / "10" / ".atelier-download-x").mkdir()  # an unfinished download
    monkeypatch.delenv("AZUREML_MODEL_DIR", raising=False)
    monkeypatch.setenv("ATELIER_MODEL_DIR", str(models))
    assert Model.get_model_path("clf") == str(models / "clf" / "10" / "model.pkl")
    assert Model.get_model_path("clf", version=2) == str(models / "clf" / "2" / "model.pkl")
    with pytest.raises(NotFoundError, match="_workspace=ws"):
        Model.get_model_path("clf", version=3)
    monkeypatch.delenv("ATELIER_MODEL_DIR")
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(models / "clf" / "2"))  # azureml's single model
    assert Model.get_model_path("clf") == str(models / "clf" / "2" / "model.pkl")
    (models / "clf" / "2" / "extra.txt").write_text("x")
    with pytest.raises(ValidationError, match="exactly one file or folder"):
        Model.get_model_path("clf")


def test_get_model_path_downloads_into_a_cache(
    ws: Workspace, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ATELIER_MODEL_DIR", raising=False)
    monkeypatch.delenv("AZUREML_MODEL_DIR", raising=False)
    Model.register(ws, _folder(tmp_path), "cached")
    path = Path(Model.get_model_path("cached", _workspace=ws))
    assert path.name == "clf"
    assert home.resolve() / "models" in path.parents
    assert _tree(path) == _tree(tmp_path / "clf")
    assert Model.get_model_path("cached", _workspace=ws) == str(path)  # reused, not fetched again
    monkeypatch.setenv("ATELIER_MODEL_DIR", str(tmp_path / "empty-model-dir"))
    with pytest.raises(NotFoundError, match="ATELIER_MODEL_DIR"):
        Model.get_model_path("cached")


def test_get_model_path_inside_a_run_uses_the_runs_workspace(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ATELIER_MODEL_DIR", raising=False)
    monkeypatch.delenv("AZUREML_MODEL_DIR", raising=False)
    local = tmp_path / "model.pkl"
    local.write_bytes(b"weights")
    Model.register(ws, local, "in-run")
    run = Experiment(ws, "score").start_logging()
    monkeypatch.setenv("ATELIER_RUN_ID", run.id)
    assert Path(Model.get_model_path("in-run")).read_bytes() == b"weights"
