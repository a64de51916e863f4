"""ParallelRunStep in a pipeline: a FileDataset scored in mini-batches by the batch driver
into a PipelineData that the next step reads; resubmitted unchanged, both steps are
reused."""

from __future__ import annotations

from pathlib import Path

import pytest

from atelier import Experiment, Workspace
from atelier.azureml.pipeline.core import Pipeline, PipelineData
from atelier.azureml.pipeline.steps import ParallelRunStep, PythonScriptStep
from atelier.core.errors import ValidationError
from atelier.sdk.data.dataset import Dataset
from atelier.sdk.data.datastore import Datastore
from tests.execution.test_parallel_run import _config, lake, source  # noqa: F401

pytestmark = pytest.mark.one_database  # the database kind is incidental here

COUNT = """
import argparse, pathlib

parser = argparse.ArgumentParser()
parser.add_argument("--scores")
args = parser.parse_args()
lines = pathlib.Path(args.scores, "parallel_run_step.txt").read_text().splitlines()
print("counted", len(lines), "scored files:", " ".join(line.split()[0] for line in lines))
"""

sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@sqlite_only
def test_a_parallel_run_step_feeds_the_next_step_and_is_reused(
    ws: Workspace,
    source: Path,  # noqa: F811
    lake: Datastore,  # noqa: F811
    tmp_path: Path,
) -> None:
    files = Dataset.File.from_files((lake, "files"))
    scores = PipelineData("scores")
    score = ParallelRunStep(
        name="score",
        parallel_run_config=_config(source, error_threshold=2),
        inputs=[files.as_named_input("parts")],
        output=scores,
        arguments=["--prefix", "p:"],
    )
    counter = tmp_path / "count"
    counter.mkdir()
    (counter / "count.py").write_text(COUNT)
    count = PythonScriptStep(
        "count.py",
        name="count",
        arguments=["--scores", scores],
        inputs=[scores],
        source_directory=counter,
    )
    pipeline = Pipeline(ws, [score, count])
    assert pipeline.validate() == []
    exp = Experiment(ws, "batch-pipeline")
    first = exp.submit(pipeline)
    first.wait_for_completion(show_output=False)
    log = first.find_step_run("count")[0].get_job_log()
    # part-04 and part-05 share the mini-batch that always fails (error_threshold=2 allows it)
    assert "counted 5 scored files: p:part-00.csv p:part-01.csv p:part-02.csv" in log
    again = exp.submit(pipeline)
    again.wait_for_completion(show_output=False)
    reused = {step.name: step.get_details()["reuse"]["reused_run_id"] for step in again.get_steps()}
    assert all(reused.values()), reused


def test_a_parallel_run_step_refuses_inputs_that_are_not_datasets(source: Path) -> None:  # noqa: F811
    with pytest.raises(ValidationError, match="FileDataset or TabularDataset"):
        ParallelRunStep("score", _config(source), inputs=[PipelineData("raw")])
    with pytest.raises(ValidationError, match="ParallelRunConfig"):
        ParallelRunStep("score", "not a config", inputs=[])  # type: ignore[arg-type]
