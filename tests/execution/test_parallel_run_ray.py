"""Batch scoring on a Ray cluster (``AmlCompute``): the step's run is a Ray job and its
mini-batches go to scoring actors spread over the cluster's nodes."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path
from typing import Any

import pytest

from atelier import Experiment, Workspace
from atelier.sdk.compute.environment import Environment
from atelier.sdk.compute.targets import AmlCompute, ComputeTarget
from atelier.sdk.data.dataset import Dataset
from atelier.sdk.parallel_run import ParallelRunConfig, prepare

pytestmark = pytest.mark.one_database  # the database kind is incidental here

SCORE = """
    import os
    from pathlib import Path

    import ray

    def init():
        global where
        where = ray.get_runtime_context().get_actor_id()

    def run(mini_batch):
        if any(Path(p).name == "f3" for p in mini_batch):
            raise RuntimeError("f3 cannot be scored")
        return [f"{Path(p).name} {Path(p).read_text()} {where}" for p in mini_batch]
"""


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_mini_batches_are_scored_by_ray_actors_in_order(
    ws: Workspace, tmp_path: Path, ray_head: dict[str, Any]
) -> None:
    config = AmlCompute.provisioning_configuration(max_nodes=2, address=ray_head["address"])
    ComputeTarget.create(ws, "cluster", config)
    source = tmp_path / "score"
    source.mkdir()
    (source / "score.py").write_text(textwrap.dedent(SCORE))
    files = tmp_path / "files"
    files.mkdir()
    for index in range(6):
        (files / f"f{index}").write_text(str(index * index))
    environment = Environment("batch-on-ray")
    environment.python.user_managed_dependencies = True
    parallel = ParallelRunConfig(
        environment=environment,
        entry_script="score.py",
        source_directory=str(source),
        error_threshold=-1,
        output_action="append_row",
        compute_target="cluster",
        node_count=1,
        process_count_per_node=2,
        mini_batch_size="1",
        run_max_try=2,
    )
    launch = prepare(parallel, [Dataset.File.from_files(str(files))])
    run = Experiment(ws, "batch").submit(launch.script_run_config())
    out = io.StringIO()
    run.stream_logs(out)
    details = run.wait_for_completion(raise_on_error=False, timeout_seconds=180)
    assert details["status"] == "Completed", (details.get("error"), out.getvalue())
    text = run.download_file("outputs/parallel_run_step.txt", tmp_path / "o.txt").read_text()
    rows = [line.split() for line in text.splitlines()]
    expected = [["f0", "0"], ["f1", "1"], ["f2", "4"], ["f4", "16"], ["f5", "25"]]
    assert [row[:2] for row in rows] == expected
    assert all(len(row) == 3 and len(row[2]) > 8 for row in rows)  # an actor's id each
    assert "f3 cannot be scored" in out.getvalue()
    assert run.get_metrics()["failed_items"] == 1
