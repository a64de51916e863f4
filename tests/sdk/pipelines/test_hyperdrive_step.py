"""A sweep as a pipeline step: trials read the step's input, the next step reads the best
trial's output, the metrics output holds every trial's metrics, and an unchanged
resubmission reuses the sweep."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from atelier import Experiment, Run, ValidationError, Workspace
from atelier.azureml.pipeline.core import Pipeline, PipelineData, PipelineRun
from atelier.azureml.pipeline.steps import HyperDriveStep, HyperDriveStepRun, PythonScriptStep
from atelier.sdk.data.dataset import Dataset
from atelier.sdk.tracking.runconfig import ScriptRunConfig
from atelier.train.hyperdrive import (
    GridParameterSampling,
    HyperDriveConfig,
    HyperDriveRun,
    PrimaryMetricGoal,
    choice,
)
from tests.helpers import web

TRAIN = """
    import argparse, pathlib
    from atelier import Run
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    parser.add_argument("--quality", type=float)
    args = parser.parse_args()
    run = Run.get_context()
    rows = len(run.input_datasets["table"].to_pandas_dataframe())
    run.log("accuracy", args.quality * rows)
    pathlib.Path(args.model).mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.model, "model.txt").write_text(f"quality {args.quality}\\n")
"""

USE = """
    import argparse, pathlib
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    args = parser.parse_args()
    print("using", pathlib.Path(args.model, "model.txt").read_text().strip())
"""


def _pipeline(ws: Workspace, source: Path, tmp_path: Path) -> Pipeline:
    (source / "sweep.py").write_text(textwrap.dedent(TRAIN))
    (source / "use.py").write_text(textwrap.dedent(USE))
    (tmp_path / "table").mkdir()
    (tmp_path / "table" / "rows.csv").write_text("x,y\n1,2\n3,4\n5,6\n7,8\n")
    store = ws.get_default_datastore()
    store.upload(str(tmp_path / "table"), target_path="table", overwrite=True, show_progress=False)
    table = Dataset.Tabular.from_delimited_files(path=(store, "table/rows.csv"))
    table = table.register(ws, "rows")
    model, metrics = PipelineData("model"), PipelineData("m")
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(source_directory=source, script="sweep.py"),
        hyperparameter_sampling=GridParameterSampling({"--quality": choice(0.5, 2.0)}),
        primary_metric_name="accuracy",
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_total_runs=2,
        max_concurrent_runs=2,
    )
    sweep = HyperDriveStep(
        "sweep", config, estimator_entry_script_arguments=["--model", model],
        inputs=[table.as_named_input("table")], outputs=[model], metrics_output=metrics,
    )  # fmt: skip
    use = PythonScriptStep(
        "use.py", name="use", arguments=["--model", model], inputs=[model],
        source_directory=source,
    )  # fmt: skip
    return Pipeline(ws, [sweep, use])


@pytest.mark.slow  # a pipeline runs a sweep's trials
@pytest.mark.parametrize("backend", ["http"], indirect=True)
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_sweep_step_hands_its_best_trial_on(ws: Workspace, source: Path, tmp_path: Path) -> None:
    """On a server workspace: each trial reads a TabularDataset with its run's token."""
    pipeline = _pipeline(ws, source, tmp_path)
    exp = Experiment(ws, "hd-pipes")
    run = exp.submit(pipeline)
    run.wait_for_completion(show_output=False)
    assert run.get_status() == "Completed"
    (step,) = run.find_step_run("sweep")
    assert isinstance(step, HyperDriveStepRun) and step.type == "hyperdrive"
    assert isinstance(Run.get(ws, step.id), HyperDriveRun)
    assert isinstance(Run.get(ws, run.id), PipelineRun)
    trials = step.get_children()
    assert len(trials) == 2 and all(t.get_status() == "Completed" for t in trials)
    best = step.get_best_run_by_primary_metric()
    assert best is not None and best.get_metrics()["accuracy"] == 8.0  # 2.0 x 4 rows
    assert "using quality 2.0" in run.find_step_run("use")[0].get_job_log()
    folder = step.get_output_data("model").download(tmp_path / "model")
    assert (Path(folder) / "model.txt").read_text() == "quality 2.0\n"
    got = step.get_output_data("m").download(tmp_path / "metrics")
    metrics = json.loads((Path(got) / "metrics.json").read_text())
    assert sorted(v["accuracy"] for v in metrics.values()) == [2.0, 8.0]
    assert set(metrics) == {t.id for t in trials}

    again = exp.submit(pipeline)
    again.wait_for_completion(show_output=False)
    reused = {s.name: s for s in again.get_steps()}
    assert reused["sweep"].reused_run_id == step.id
    assert reused["use"].reused_run_id is not None
    assert reused["sweep"].get_output_data("model").path_on_datastore == (
        step.get_output_data("model").path_on_datastore
    )
    # the run's pipeline, published from the run alone, runs again (reusing every step)
    published = run.publish_pipeline("hd", "from a run", "1", continue_on_step_failure=True)
    assert (published.name, published.version, published.total_run_steps) == ("hd", "1", 2)
    assert published.continue_on_step_failure is True
    third = published.submit(ws, "hd-pipes")
    third.wait_for_completion(show_output=False)
    assert all(s.reused_run_id for s in third.get_steps())


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_sweep_step_refuses_what_azure_refuses(ws: Workspace, source: Path) -> None:
    with pytest.raises(ValidationError, match="HyperDriveConfig"):
        HyperDriveStep("sweep", hyperdrive_config="not a config")  # type: ignore[arg-type]
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(source_directory=source, script="train.py"),
        hyperparameter_sampling=GridParameterSampling({"--quality": choice(1.0)}),
        primary_metric_name="accuracy",
        primary_metric_goal="maximize",
        max_total_runs=1,
        max_concurrent_runs=50,
    )
    step = HyperDriveStep("sweep", config)
    with pytest.raises(ValidationError, match="max_concurrent_runs"):
        Experiment(ws, "hd-pipes").submit(Pipeline(ws, [step]))
    with pytest.raises(ValidationError, match="metrics_output"):
        HyperDriveStep("sweep", config, metrics_output="m.json")  # type: ignore[arg-type]


@pytest.mark.slow  # a pipeline runs a sweep's trials
@pytest.mark.parametrize("backend", ["http"], indirect=True)
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_published_pipeline_with_a_sweep_step_runs_on_the_server(
    ws: Workspace, source: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Published without ever being run here, then started by a REST call: the server runs
    the pipeline, and its sweep step runs every trial and hands the best one on."""
    server = request.getfixturevalue("server")
    published = _pipeline(ws, source, tmp_path).publish("hd-rest")
    answer = web.post(
        published.endpoint,
        json={"ExperimentName": "hd-rest"},
        headers={"Authorization": f"Bearer {server.admin_token}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    run = PipelineRun(Experiment(ws, "hd-rest"), answer.json()["Id"])
    run.wait_for_completion(show_output=False)
    assert run.get_status() == "Completed"
    (step,) = run.find_step_run("sweep")
    assert step.reused_run_id is None
    trials = step.get_children()
    assert len(trials) == 2 and all(t.get_status() == "Completed" for t in trials)
    best = step.get_best_run_by_primary_metric()
    assert best is not None and best.get_metrics()["accuracy"] == 8.0
    assert "using quality 2.0" in run.find_step_run("use")[0].get_job_log()
