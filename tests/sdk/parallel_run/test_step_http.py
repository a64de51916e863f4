"""A batch-scoring run in a workspace served over HTTP: the supervisor downloads the file
input, and the driver reports its progress through the server with the run's token."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest

from atelier import Experiment, Workspace
from atelier.sdk.compute.environment import Environment
from atelier.sdk.data.dataset import Dataset
from atelier.sdk.parallel_run import ParallelRunConfig, prepare

SCORE = """
    from pathlib import Path

    def init():
        pass

    def run(mini_batch):
        return [f"{Path(p).name} {int(Path(p).read_text()) * 2}" for p in mini_batch]
"""


@pytest.mark.parametrize("backend", ["http"], indirect=True)
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_file_dataset_is_scored_in_a_server_workspace(ws: Workspace, tmp_path: Path) -> None:
    source = tmp_path / "score"
    source.mkdir()
    (source / "score.py").write_text(textwrap.dedent(SCORE))
    numbers = tmp_path / "numbers"
    numbers.mkdir()
    for n in range(7):
        (numbers / f"n{n}.txt").write_text(str(n))
    store = ws.get_default_datastore()
    store.upload(str(numbers), target_path="numbers", overwrite=True, show_progress=False)
    files = Dataset.File.from_files((store, "numbers")).register(ws, "numbers")
    environment = Environment("batch")
    environment.python.user_managed_dependencies = True
    config = ParallelRunConfig(
        environment=environment,
        entry_script="score.py",
        source_directory=str(source),
        error_threshold=0,
        output_action="append_row",
        compute_target="local",
        node_count=1,
        process_count_per_node=2,
        mini_batch_size="2",
    )
    run = Experiment(ws, "batch").submit(prepare(config, [files]).script_run_config())
    out = io.StringIO()
    run.stream_logs(out)
    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Completed", (details.get("error"), out.getvalue())
    text = run.download_file("outputs/parallel_run_step.txt", tmp_path / "o.txt").read_text()
    assert text.splitlines() == [f"n{n}.txt {2 * n}" for n in range(7)]
    assert run.get_metrics()["total_mini_batches"] == 4
    assert "HTTP Request" not in out.getvalue()  # the driver's log is its own
    assert [d["name"] for d in details["inputDatasets"]] == ["numbers"]


TABLE_SCORE = """
    def init():
        pass

    def run(mini_batch):
        return [f"{x} {x * 3}" for x in mini_batch["x"]]
"""


@pytest.mark.parametrize("backend", ["http"], indirect=True)
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_tabular_dataset_is_scored_by_a_pipeline_step_on_a_server(
    ws: Workspace, tmp_path: Path
) -> None:
    """The driver reads the TabularDataset with the run's token."""
    from atelier.azureml.pipeline.core import Pipeline, PipelineData
    from atelier.azureml.pipeline.steps import ParallelRunStep

    source = tmp_path / "score"
    source.mkdir()
    (source / "score.py").write_text(textwrap.dedent(TABLE_SCORE))
    (tmp_path / "rows").mkdir()
    (tmp_path / "rows" / "rows.csv").write_text("x\n" + "".join(f"{n}\n" for n in range(5)))
    store = ws.get_default_datastore()
    store.upload(str(tmp_path / "rows"), target_path="rows", overwrite=True, show_progress=False)
    table = Dataset.Tabular.from_delimited_files(path=(store, "rows/rows.csv"))
    environment = Environment("batch")
    environment.python.user_managed_dependencies = True
    config = ParallelRunConfig(
        environment=environment, entry_script="score.py", source_directory=str(source),
        error_threshold=0, output_action="append_row", compute_target="local", node_count=1,
        process_count_per_node=1, mini_batch_size="1KB",
    )  # fmt: skip
    scores = PipelineData("scores")
    step = ParallelRunStep("score", config, inputs=[table.as_named_input("rows")], output=scores)
    run = Experiment(ws, "batch").submit(Pipeline(ws, [step]))
    run.wait_for_completion(show_output=False, raise_on_error=False)
    (step_run,) = run.get_steps()
    assert run.get_status() == "Completed", step_run.get_job_log()[-2000:]
    folder = Path(step_run.get_output_data("scores").download(tmp_path / "out"))
    lines = (folder / "parallel_run_step.txt").read_text().splitlines()
    assert lines == [f"{n} {3 * n}" for n in range(5)]
