"""A batch-scoring run in a workspace served over HTTP: the driver reports its progress
and reads its tabular input through the server, as a run's script does."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from atelier import Experiment, Workspace
from atelier.sdk.compute.environment import Environment
from atelier.sdk.data.dataset import Dataset
from atelier.sdk.parallel_run import ParallelRunConfig, prepare

SCORE = """
    def init():
        pass

    def run(mini_batch):
        return mini_batch.assign(double=mini_batch["n"] * 2)
"""


@pytest.mark.parametrize("backend", ["http"], indirect=True)
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_tabular_dataset_is_scored_in_a_server_workspace(ws: Workspace, tmp_path: Path) -> None:
    source = tmp_path / "score"
    source.mkdir()
    (source / "score.py").write_text(textwrap.dedent(SCORE))
    pd.DataFrame({"n": range(50)}).to_csv(tmp_path / "n.csv", index=False)
    store = ws.get_default_datastore()
    store.upload_files([str(tmp_path / "n.csv")], target_path="numbers", overwrite=True)
    table = Dataset.Tabular.from_delimited_files((store, "numbers/n.csv")).register(ws, "numbers")
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
        mini_batch_size="100",
    )
    run = Experiment(ws, "batch").submit(prepare(config, [table]).script_run_config())
    out = io.StringIO()
    run.stream_logs(out)
    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Completed", (details.get("error"), out.getvalue())
    text = run.download_file("outputs/parallel_run_step.txt", tmp_path / "o.txt").read_text()
    assert text.splitlines() == [f"{n} {2 * n}" for n in range(50)]
    assert run.get_metrics()["total_mini_batches"] >= 4
    assert [d["name"] for d in details["inputDatasets"]] == ["numbers"]
