"""Distributed runs on the local target: one process per rank, each a child run with the
variables torch.distributed and MPI programs read."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import pytest

from atelier import Workspace
from atelier.azureml.core import Experiment, ScriptRunConfig
from atelier.azureml.core.runconfig import MpiConfiguration, PyTorchConfiguration
from tests.conftest import _missing

pytestmark = [
    pytest.mark.one_database,
    pytest.mark.parametrize("database", ["sqlite"], indirect=True),
]

SHOW_VARIABLES = """
import os
from atelier.azureml.core import Run
run = Run.get_context()
for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT",
             "OMPI_COMM_WORLD_RANK", "AZ_BATCH_MASTER_NODE"):
    run.log(name, os.environ[name])
run.log("parent", run.parent.id)
"""

DDP_TRAINING = """
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from atelier.azureml.core import Run

dist.init_process_group("gloo")  # env:// rendezvous: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE
rank, world = dist.get_rank(), dist.get_world_size()
torch.manual_seed(0)
model = DistributedDataParallel(torch.nn.Linear(2, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x = torch.randn(64, 2) + rank  # each rank sees its own shard
y = x @ torch.tensor([[2.0], [-1.0]]) + 0.5
run = Run.get_context()
for step in range(30):
    optimizer.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()  # gradients are averaged over the ranks here
    optimizer.step()
    run.log("loss", float(loss))
weights = model.module.weight.detach().clone()
gathered = [torch.zeros_like(weights) for _ in range(world)]
dist.all_gather(gathered, weights)
run.log("replicas_equal", all(torch.equal(weights, other) for other in gathered))
run.log("world", world)
dist.destroy_process_group()
"""


def _submit(ws: Workspace, tmp_path: Path, script: str, config: object) -> object:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "job.py").write_text(textwrap.dedent(script))
    run_config = ScriptRunConfig(
        source_directory=folder, script="job.py", distributed_job_config=config
    )
    run = Experiment(ws, "distributed").submit(run_config)
    run.wait_for_completion(raise_on_error=True)
    return run


def test_each_rank_is_a_child_run_with_its_variables(ws: Workspace, tmp_path: Path) -> None:
    run = _submit(ws, tmp_path, SHOW_VARIABLES, MpiConfiguration(process_count_per_node=2))
    children = sorted(run.get_children(), key=lambda child: child.display_name)  # type: ignore[attr-defined]
    assert [c.display_name for c in children] == ["rank-0", "rank-1"]
    assert [c.get_status() for c in children] == ["Completed", "Completed"]
    for rank, child in enumerate(children):
        metrics = child.get_metrics()
        assert metrics["RANK"] == metrics["OMPI_COMM_WORLD_RANK"] == str(rank)
        assert metrics["WORLD_SIZE"] == "2" and metrics["LOCAL_RANK"] == str(rank)
        assert metrics["AZ_BATCH_MASTER_NODE"] == f"127.0.0.1:{metrics['MASTER_PORT']}"
        assert metrics["parent"] == run.id  # type: ignore[attr-defined]


def test_a_failing_rank_fails_the_run(ws: Workspace, tmp_path: Path) -> None:
    script = "import os, sys, time\nif os.environ['RANK'] == '1': sys.exit(3)\ntime.sleep(60)\n"
    with pytest.raises(Exception, match=r"exited|code 3"):
        _submit(ws, tmp_path, script, PyTorchConfiguration(process_count=2))
    run = next(iter(Experiment(ws, "distributed").get_runs()))
    assert run.get_status() == "Failed"
    statuses = {c.display_name: c.get_status() for c in run.get_children()}
    assert statuses["rank-1"] == "Failed"


def test_torch_distributed_gloo_trains_on_two_processes(ws: Workspace, tmp_path: Path) -> None:
    if importlib.util.find_spec("torch") is None:
        _missing("PyTorch", "pip install 'atelier-ml[distributed-test]' (the CPU build)")
    config = PyTorchConfiguration(communication_backend="Gloo", process_count=2)
    run = _submit(ws, tmp_path, DDP_TRAINING, config)
    children = run.get_children()  # type: ignore[attr-defined]
    assert len(children) == 2
    for child in children:
        metrics = child.get_metrics()
        assert metrics["world"] == 2.0
        assert metrics["replicas_equal"] is True  # DDP kept the replicas in step
        assert metrics["loss"][-1] < metrics["loss"][0]
