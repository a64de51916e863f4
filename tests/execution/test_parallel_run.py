"""Batch scoring end to end: ``prepare(ParallelRunConfig, inputs, output)`` submitted with
``Experiment.submit`` scores a FileDataset and a TabularDataset with a scikit-learn model."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from atelier import Experiment, Workspace
from atelier.core.errors import ValidationError
from atelier.sdk.compute.environment import Environment
from atelier.sdk.data._inputs import OutputFileDatasetConfig
from atelier.sdk.data.dataset import Dataset
from atelier.sdk.data.datastore import Datastore
from atelier.sdk.parallel_run import ParallelRunConfig, prepare
from atelier.sdk.tracking.run import Run

pytestmark = pytest.mark.one_database  # the database kind is incidental here

# one journey runs on both databases; the others do not depend on the database
sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

SCORE = """
    import argparse
    import os
    from pathlib import Path

    import joblib
    import pandas as pd
    import sklearn.linear_model

    def init():
        global model, prefix
        parser = argparse.ArgumentParser()
        parser.add_argument("--prefix", default="")
        prefix = parser.parse_known_args()[0].prefix
        model = joblib.load(Path(__file__).parent / "model.joblib")

    def run(mini_batch):
        if isinstance(mini_batch, pd.DataFrame):
            out = mini_batch[["id"]].copy()
            out["label"] = model.predict(mini_batch[["a", "b"]])
            return out
        results = []
        for path in mini_batch:
            frame = pd.read_csv(path)
            if (frame["a"] < 0).any():
                raise ValueError(f"{os.path.basename(path)} holds a negative value")
            labels = model.predict(frame[["a", "b"]])
            results.append(f"{prefix}{os.path.basename(path)} {sum(labels)}")
        return results
"""


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "score"
    folder.mkdir()
    (folder / "score.py").write_text(textwrap.dedent(SCORE))
    frame = pd.DataFrame({"a": [0, 1, 2, 3, 4, 5, 6, 7], "b": [1, 0, 1, 0, 1, 0, 1, 0]})
    model = LogisticRegression().fit(frame[["a", "b"]], frame["a"] >= 4)
    joblib.dump(model, folder / "model.joblib")
    return folder


@pytest.fixture
def lake(ws: Workspace, tmp_path: Path) -> Datastore:
    folder = tmp_path / "lake"
    (folder / "files").mkdir(parents=True)
    for index in range(7):
        rows = pd.DataFrame({"a": [index, index + 1], "b": [0, 1]})
        if index == 5:
            rows["a"] = -1  # a poison file: scoring it always fails
        rows.to_csv(folder / "files" / f"part-{index:02d}.csv", index=False)
    pd.DataFrame({"id": range(300), "a": [i % 9 for i in range(300)], "b": 0}).to_csv(
        folder / "table.csv", index=False
    )
    return Datastore.register_local(ws, "lake", folder)


def _config(source: Path, **changes: Any) -> ParallelRunConfig:
    settings: dict[str, Any] = {
        "environment": Environment("batch"),
        "entry_script": "score.py",
        "source_directory": str(source),
        "error_threshold": -1,
        "output_action": "append_row",
        "compute_target": "local",
        "node_count": 1,
        "process_count_per_node": 2,
        "mini_batch_size": "2",
        "run_max_try": 2,
    }
    settings["environment"].python.user_managed_dependencies = True
    return ParallelRunConfig(**{**settings, **changes})


def _finish(run: Run) -> tuple[dict[str, Any], str]:
    out = io.StringIO()
    run.stream_logs(out)
    return run.wait_for_completion(raise_on_error=False), out.getvalue()


def test_a_file_dataset_is_scored_in_order_past_a_poison_file(
    ws: Workspace, source: Path, lake: Datastore, tmp_path: Path
) -> None:
    files = Dataset.File.from_files((lake, "files")).register(ws, "parts")
    output = OutputFileDatasetConfig("scores", destination=(lake, "scores")).as_upload()
    launch = prepare(
        _config(source, error_threshold=2),
        [files.as_named_input("parts")],
        output,
        arguments=["--prefix", "p:"],
    )
    run = Experiment(ws, "batch").submit(launch.script_run_config())
    details, log = _finish(run)
    assert details["status"] == "Completed", (details.get("error"), log)
    scored = Dataset.File.from_files((lake, "scores/parallel_run_step.txt"))
    lines = Path(scored.download(tmp_path / "got")[0]).read_text().splitlines()
    # part-04 and part-05 share the mini-batch that fails: both are left out, in order
    assert [line.split()[0] for line in lines] == [
        "p:part-00.csv", "p:part-01.csv", "p:part-02.csv", "p:part-03.csv", "p:part-06.csv"
    ]  # fmt: skip
    assert "mini-batch 2 failed (try 2 of 2)" in log
    assert "part-05.csv holds a negative value" in log
    metrics = run.get_metrics()
    assert metrics["mini_batches_failed"] == 1 or metrics["mini_batches_failed"][-1] == 1
    assert metrics["failed_items"] == 2
    assert {d["name"] for d in details["inputDatasets"]} == {"parts"}


@pytest.mark.slow  # a pipeline step runs scoring processes
@sqlite_only
def test_a_tabular_dataset_is_scored_with_a_dataframe_per_mini_batch(
    ws: Workspace, source: Path, lake: Datastore, tmp_path: Path
) -> None:
    table = Dataset.Tabular.from_delimited_files((lake, "table.csv"))
    launch = prepare(_config(source, mini_batch_size="1KB"), [table], None)
    run = Experiment(ws, "batch").submit(launch.script_run_config())
    details, log = _finish(run)
    assert details["status"] == "Completed", (details.get("error"), log)
    run.download_file("outputs/parallel_run_step.txt", str(tmp_path / "scores.txt"))
    lines = (tmp_path / "scores.txt").read_text().splitlines()
    assert [line.split() for line in lines[:5]] == [
        ["0", "False"], ["1", "False"], ["2", "False"], ["3", "False"], ["4", "True"]
    ]  # fmt: skip
    assert [int(line.split()[0]) for line in lines] == list(range(300))
    metrics = run.get_metrics()
    completed = metrics["mini_batches_completed"]
    assert (completed[-1] if isinstance(completed, list) else completed) > 1
    assert metrics["total_mini_batches"] == (
        completed[-1] if isinstance(completed, list) else completed
    )
    run.download_file("logs/parallel_run_summary.json", str(tmp_path / "summary.json"))
    assert '"processed_items": 300' in (tmp_path / "summary.json").read_text()


@sqlite_only
def test_a_step_fails_when_failures_pass_error_threshold(
    ws: Workspace, source: Path, lake: Datastore
) -> None:
    files = Dataset.File.from_files((lake, "files"))
    launch = prepare(_config(source, error_threshold=1), [files], None)
    run = Experiment(ws, "batch").submit(launch.script_run_config())
    details, log = _finish(run)
    assert details["status"] == "Failed", log
    assert "2 items failed, more than error_threshold=1" in details["error"]["message"]


@sqlite_only
def test_inputs_that_do_not_fit_the_configuration_are_refused(
    ws: Workspace, source: Path, lake: Datastore
) -> None:
    files = Dataset.File.from_files((lake, "files"))
    table = Dataset.Tabular.from_delimited_files((lake, "table.csv"))
    with pytest.raises(ValidationError, match="only a TabularDataset"):
        prepare(_config(source, mini_batch_size="1MB"), [files])
    with pytest.raises(ValidationError, match="all be FileDatasets or all TabularDatasets"):
        prepare(_config(source), [files, table])
    with pytest.raises(ValidationError, match="needs inputs"):
        prepare(_config(source), [])
    with pytest.raises(ValidationError, match="give a FileDataset or TabularDataset"):
        prepare(_config(source), ["table.csv"])


@sqlite_only
def test_a_saved_configuration_loads_with_its_registered_environment(
    ws: Workspace, source: Path, tmp_path: Path
) -> None:
    config = _config(source, environment=Environment("batch").register(ws), run_max_try=4)
    config.save_to_yaml(tmp_path / "prs.yml")
    loaded = ParallelRunConfig.load_yaml(ws, tmp_path / "prs.yml")
    assert loaded.to_dict() == config.to_dict()
    assert (loaded.environment.name, loaded.environment.version) == ("batch", "1")
    with pytest.raises(ValidationError, match="names no environment"):
        (tmp_path / "bad.yml").write_text("entry_script: score.py\n")
        ParallelRunConfig.load_yaml(ws, tmp_path / "bad.yml")
