"""Distributed runs on a Ray target: each node of the run is a placement-group bundle, its
ranks run as Ray jobs pinned to that bundle's node, with the rendezvous on node 0."""

from __future__ import annotations

import importlib.util
import io
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from atelier import Workspace
from atelier.azureml.core import Experiment, ScriptRunConfig
from atelier.azureml.core.runconfig import MpiConfiguration, PyTorchConfiguration
from atelier.execution.distributed import node_layout, rank_environment
from atelier.sdk.compute.targets import AmlCompute, ComputeTarget
from tests.conftest import _missing
from tests.execution.test_distributed import DDP_TRAINING

sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

SHOW_PLACE = """
import os
from atelier.azureml.core import Run
run = Run.get_context()
for name in ("RANK", "LOCAL_RANK", "NODE_RANK", "WORLD_SIZE", "MASTER_ADDR",
             "AZUREML_NODE_COUNT", "OMPI_COMM_WORLD_LOCAL_RANK"):
    run.log(name, os.environ[name])
"""


def _run(
    ws: Workspace, tmp_path: Path, ray_head: dict[str, Any], script: str, config: object
) -> Any:
    if "cluster" not in ws.compute_targets:
        ComputeTarget.create(
            ws, "cluster", AmlCompute.provisioning_configuration(address=ray_head["address"])
        )
    folder = tmp_path / "src"
    folder.mkdir(parents=True)
    (folder / "job.py").write_text(textwrap.dedent(script))
    run_config = ScriptRunConfig(
        source_directory=folder,
        script="job.py",
        compute_target="cluster",
        distributed_job_config=config,
    )
    return Experiment(ws, "distributed-ray").submit(run_config)


def _placement_groups(address: str) -> list[str]:
    from ray.util.state import list_placement_groups

    return [group.state for group in list_placement_groups(address=address)]


@pytest.mark.one_database
@sqlite_only
def test_ranks_of_two_nodes_train_with_torch_on_the_ray_cluster(
    ws: Workspace, tmp_path: Path, ray_head: dict[str, Any]
) -> None:
    if importlib.util.find_spec("torch") is None:
        _missing("PyTorch", "pip install 'atelier-ml[distributed-test]' (the CPU build)")
    config = PyTorchConfiguration(communication_backend="Gloo", process_count=2, node_count=2)
    run = _run(ws, tmp_path, ray_head, DDP_TRAINING + SHOW_PLACE, config)
    log = io.StringIO()
    run.stream_logs(log)
    run.wait_for_completion(raise_on_error=True)
    # the test cluster has one node: the two nodes' bundles are packed on it, and said so
    placed = re.search(r"placing 2 node\(s\) on Ray \(PACK\): ([\d.]+), ([\d.]+); ", log.getvalue())
    assert placed and placed.group(1) == placed.group(2), log.getvalue()
    assert "share a Ray node" in log.getvalue()
    children = sorted(run.get_children(), key=lambda child: child.display_name)
    assert [c.display_name for c in children] == ["rank-0", "rank-1"]
    for rank, child in enumerate(children):
        metrics = child.get_metrics()
        assert metrics["world"] == 2.0 and metrics["replicas_equal"] is True
        assert metrics["loss"][-1] < metrics["loss"][0]
        assert metrics["RANK"] == metrics["NODE_RANK"] == str(rank)  # one rank per node
        assert metrics["LOCAL_RANK"] == metrics["OMPI_COMM_WORLD_LOCAL_RANK"] == "0"
        assert metrics["AZUREML_NODE_COUNT"] == "2" and metrics["MASTER_ADDR"] == placed.group(1)
    assert set(_placement_groups(ray_head["address"])) <= {"REMOVED"}  # released at the end


@pytest.mark.one_database
@sqlite_only
def test_nodes_the_cluster_cannot_hold_fail_the_run_saying_why(
    ws: Workspace, tmp_path: Path, ray_head: dict[str, Any]
) -> None:
    run = _run(ws, tmp_path, ray_head, "print('never')\n", MpiConfiguration(3, node_count=2))
    details = run.wait_for_completion(raise_on_error=False, timeout_seconds=120)
    assert details["status"] == "Failed"
    message = details["error"]["message"]
    assert "cannot place 2 node(s) of 3 process(es)" in message
    assert "lower process_count_per_node or node_count" in message
    assert run.get_children() == []


def test_a_rank_is_pinned_by_its_node_id() -> None:
    """By Ray's node-id label (this Ray takes label selectors), never by the IP that two
    nodes on one machine share; a job that is no rank is not pinned."""
    from atelier.execution.distributed_ray import NODE_VARIABLE, job_pinning

    assert job_pinning({NODE_VARIABLE: "ab12 10.0.0.7"}) == {
        "entrypoint_label_selector": {"ray.io/node-id": "ab12"}
    }
    assert job_pinning({"RANK": "0"}) == {}


def test_ranks_are_numbered_node_by_node() -> None:
    """Node n holds ranks n * per_node ... ; local ranks restart on each node."""
    env = rank_environment(3, 4, 29500, "10.0.0.7", per_node=2)
    assert (env["RANK"], env["NODE_RANK"], env["LOCAL_RANK"]) == ("3", "1", "1")
    assert env["LOCAL_WORLD_SIZE"] == env["OMPI_COMM_WORLD_LOCAL_SIZE"] == "2"
    assert env["AZUREML_NODE_COUNT"] == "2" and env["WORLD_SIZE"] == "4"
    assert env["AZ_BATCH_MASTER_NODE"] == "10.0.0.7:29500" and env["MASTER_ADDR"] == "10.0.0.7"
    assert node_layout(
        {"distributed_job_config": {"node_count": 2, "process_count_per_node": 3}}
    ) == (2, 3)
    assert node_layout({}) == (1, 1)
    single = rank_environment(1, 2, 29500)  # one node, as on the local target
    assert (single["NODE_RANK"], single["LOCAL_RANK"], single["MASTER_ADDR"]) == (
        "0",
        "1",
        "127.0.0.1",
    )


@pytest.mark.slow
@pytest.mark.one_database
@sqlite_only
def test_on_a_two_node_cluster_each_node_of_the_run_is_its_own_ray_node(
    ws: Workspace, tmp_path: Path, ray_head: dict[str, Any]
) -> None:
    """STRICT_SPREAD: a second Ray node on this machine (the same IP as the head, so only
    the bundle's resource tells the nodes apart); then nodes larger than the second one
    fail at once, saying why. Last in the module: the node is gone after it."""
    from ray.job_submission import JobSubmissionClient

    from tests.execution.ray_nodes import host_node

    node = host_node(ray_head, tmp_path / "node")
    try:
        run = _run(ws, tmp_path, ray_head, SHOW_PLACE, MpiConfiguration(1, node_count=2))
        log = io.StringIO()
        run.stream_logs(log)
        run.wait_for_completion(raise_on_error=True)
        assert "placing 2 node(s) on Ray (STRICT_SPREAD)" in log.getvalue()
        children = {child.id: child for child in run.get_children()}
        jobs = JobSubmissionClient(ray_head["address"]).list_jobs()
        ranks = {
            children[job.metadata["atelier_run_id"]].get_metrics()["RANK"]: job.driver_node_id
            for job in jobs
            if job.metadata.get("atelier_run_id") in children
        }
        assert sorted(ranks) == ["0", "1"] and ranks["0"] != ranks["1"]  # one Ray node each

        too_big = _run(ws, tmp_path / "big", ray_head, "print('never')\n", MpiConfiguration(2, 2))
        details = too_big.wait_for_completion(raise_on_error=False, timeout_seconds=120)
        assert details["status"] == "Failed"
        assert "cannot place 2 node(s) of 2 process(es)" in details["error"]["message"]
        assert re.search(r"2 node\(s\) with (1, 2|2, 1) CPU", details["error"]["message"])
    finally:
        node.stop()
