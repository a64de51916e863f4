from __future__ import annotations

from pathlib import Path

import pytest

from atelier import Experiment, InvalidStateError, NotFoundError, ValidationError, Workspace


def test_experiment_is_created_on_first_use(ws: Workspace) -> None:
    first = Experiment(ws, "iris")
    again = Experiment(ws, "iris")
    assert first == again
    assert [e.name for e in Experiment.list(ws)] == ["iris"]
    assert set(ws.experiments) == {"iris"}


def test_archive_hides_and_blocks_new_runs(ws: Workspace) -> None:
    exp = Experiment(ws, "old")
    Experiment(ws, "new")
    exp.archive()
    assert [e.name for e in Experiment.list(ws)] == ["new"]
    assert [e.name for e in Experiment.list(ws, view_type="ArchivedOnly")] == ["old"]
    assert {e.name for e in Experiment.list(ws, view_type="All")} == {"old", "new"}
    with pytest.raises(InvalidStateError, match="reactivate"):
        exp.start_logging()
    exp.reactivate()
    with exp.start_logging() as run:
        run.log("x", 1)
    assert run.get_status() == "Completed"


def test_tags(ws: Workspace) -> None:
    exp = Experiment(ws, "tagged")
    exp.tag("owner", "ana")
    exp.tag("flag")
    assert Experiment(ws, "tagged").tags == {"owner": "ana", "flag": ""}
    assert [e.name for e in Experiment.list(ws, tags={"owner": "ana"})] == ["tagged"]
    assert Experiment.list(ws, tags={"owner": "bo"}) == []


def test_bad_view_type_and_name(ws: Workspace) -> None:
    with pytest.raises(ValidationError, match="view_type"):
        Experiment.list(ws, view_type="Everything")
    with pytest.raises(ValidationError, match="experiment name"):
        Experiment(ws, "bad name")


def _file(folder: Path, text: str) -> Path:
    path = folder / "model.txt"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("database", "backend"), [("sqlite", "embedded")])
def test_delete_by_id_as_azureml(ws: Workspace, tmp_path: Path) -> None:
    exp = Experiment(ws, "to-delete")
    with exp.start_logging() as run:
        run.log("loss", 0.5)
        run.upload_file("outputs/model.txt", str(_file(tmp_path, "weights")))
    model = run.register_model("kept-model", "outputs/model.txt")
    Experiment(ws, "kept")
    Experiment.delete(ws, exp.id)
    assert [e.name for e in Experiment.list(ws, view_type="All")] == ["kept"]
    with pytest.raises(NotFoundError):
        ws.get_run(run.id)
    # a model registered from a deleted run keeps its files (they are shared blobs)
    downloaded = Path(model.download(str(tmp_path / "down")))
    assert downloaded.read_text() == "weights"
    with pytest.raises(NotFoundError, match="no experiment with id"):
        Experiment.delete(ws, exp.id)
