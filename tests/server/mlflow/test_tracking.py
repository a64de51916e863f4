"""The real ``mlflow`` client logs to Atelier; the SDK sees ordinary runs and metrics."""

from __future__ import annotations

from pathlib import Path

import pytest

from atelier import Run, Workspace

mlflow = pytest.importorskip("mlflow")


def test_params_metrics_tags_and_files_become_an_atelier_run(
    sdk: Workspace, tmp_path: Path
) -> None:
    experiment_id = mlflow.set_experiment("mlflow-demo").experiment_id
    notes = tmp_path / "notes.txt"
    notes.write_text("hello from mlflow", encoding="utf-8")
    with mlflow.start_run(run_name="first") as active:
        mlflow.log_param("alpha", 0.5)
        mlflow.log_params({"l1_ratio": "0.1", "solver": "saga"})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"rmse": 0.25, "r2": 0.9})
        mlflow.set_tag("team", "vision")
        mlflow.set_tags({"stage": "dev", "temp": "x"})
        mlflow.delete_tag("temp")
        mlflow.log_artifact(str(notes))
        mlflow.log_artifact(str(notes), artifact_path="docs/deep")
        folder = tmp_path / "plots"
        (folder / "sub").mkdir(parents=True)
        (folder / "a.csv").write_text("x,y\n1,2\n", encoding="utf-8")
        (folder / "sub" / "b.json").write_text("{}", encoding="utf-8")
        mlflow.log_artifacts(str(folder), artifact_path="plots")
        mlflow.log_dict({"k": 1}, "config/settings.json")
        run_id = active.info.run_id
    run = mlflow.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.info.experiment_id == experiment_id
    assert run.info.run_name == "first"
    assert run.data.params == {"alpha": "0.5", "l1_ratio": "0.1", "solver": "saga"}
    assert run.data.metrics == {"loss": 0.2, "rmse": 0.25, "r2": 0.9}
    assert run.data.tags["team"] == "vision"
    assert "temp" not in run.data.tags
    history = mlflow.MlflowClient().get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(s, 1.0 / (s + 1)) for s in range(5)]
    listed = mlflow.MlflowClient().list_artifacts(run_id)
    assert sorted((f.path, f.is_dir) for f in listed) == [
        ("config", True),
        ("docs", True),
        ("notes.txt", False),
        ("plots", True),
    ]
    copied = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="plots", dst_path=str(tmp_path / "copy")
    )
    assert (Path(copied) / "sub" / "b.json").read_text(encoding="utf-8") == "{}"
    fetched = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="docs/deep/notes.txt", dst_path=str(tmp_path / "out")
    )
    assert Path(fetched).read_text(encoding="utf-8") == "hello from mlflow"

    same = Run.get(sdk, run_id)
    assert same.get_status() == "Completed"
    assert same.get_metrics()["loss"] == [1.0, 0.5, 1.0 / 3, 0.25, 0.2]
    assert same.get_metrics()["rmse"] == 0.25
    assert same.get_tags()["team"] == "vision"
    assert same.get_properties()["alpha"] == "0.5"
    assert sorted(same.get_file_names()) == [
        "config/settings.json",
        "docs/deep/notes.txt",
        "notes.txt",
        "plots/a.csv",
        "plots/sub/b.json",
    ]


def test_experiments_create_get_search_delete_and_restore(tracking: str) -> None:
    client = mlflow.MlflowClient()
    assert client.get_experiment_by_name("absent") is None
    experiment_id = client.create_experiment("exp-a", tags={"owner": "ana"})
    client.create_experiment("exp-b")
    with pytest.raises(mlflow.exceptions.MlflowException) as taken:
        client.create_experiment("exp-a")
    assert taken.value.error_code == "RESOURCE_ALREADY_EXISTS"
    found = client.get_experiment(experiment_id)
    assert (found.name, found.tags["owner"], found.lifecycle_stage) == ("exp-a", "ana", "active")
    client.set_experiment_tag(experiment_id, "stage", "dev")
    assert client.get_experiment_by_name("exp-a").tags["stage"] == "dev"
    names = {e.name for e in client.search_experiments(filter_string="name LIKE 'exp-%'")}
    assert names == {"exp-a", "exp-b"}
    client.delete_experiment(experiment_id)
    assert "exp-a" not in {e.name for e in client.search_experiments()}
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    client.restore_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "active"


def test_default_experiment_nested_runs_and_failed_status(tracking: str) -> None:
    with mlflow.start_run() as parent:
        assert parent.info.experiment_id  # MLflow's default experiment "0" maps to Default
        with mlflow.start_run(nested=True) as child:
            mlflow.log_metric("inner", 1.0)
    client = mlflow.MlflowClient()
    fetched = client.get_run(child.info.run_id)
    assert fetched.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert client.get_experiment(parent.info.experiment_id).name == "Default"
    with pytest.raises(ZeroDivisionError), mlflow.start_run() as failing:
        _ = 1 / 0
    assert client.get_run(failing.info.run_id).info.status == "FAILED"
    run = client.create_run(parent.info.experiment_id)
    client.set_terminated(run.info.run_id, status="KILLED")
    assert client.get_run(run.info.run_id).info.status == "KILLED"
    client.update_run(run.info.run_id, name="renamed")
    assert client.get_run(run.info.run_id).info.run_name == "renamed"
    with pytest.raises(mlflow.exceptions.MlflowException) as ended:
        client.log_metric(run.info.run_id, "late", 1.0)
    assert ended.value.error_code == "INVALID_STATE"
