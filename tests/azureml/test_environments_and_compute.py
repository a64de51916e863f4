"""Curated environments, azureml's environment files and builds, compute status objects,
the job configurations and RunDetails."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from atelier import Workspace
from atelier.azureml.core import ComputeTarget, Environment, Experiment, ScriptRunConfig
from atelier.azureml.core.runconfig import (
    DEFAULT_CPU_IMAGE,
    DockerConfiguration,
    MpiConfiguration,
    PyTorchConfiguration,
    RunConfiguration,
)
from atelier.azureml.exceptions import ComputeTargetException, UserErrorException
from atelier.azureml.widgets import RunDetails
from atelier.core.errors import AlreadyExistsError, NotFoundError
from atelier.sdk.widgets import render_html, render_table, sparkline


def test_curated_environments(ws: Workspace) -> None:
    minimal = Environment.get(ws, "AzureML-Minimal")
    assert minimal.version == "1"
    assert minimal.to_spec()["pip"] == []
    torch_env = Environment.get(ws, "AzureML-PyTorch-1.6-CPU")
    assert torch_env.to_spec()["pip"] == ["torch==2.13.0+cpu"]  # never a bare torch (CUDA)
    with pytest.raises(NotFoundError, match="AzureML-Minimal") as caught:
        Environment.get(ws, "AzureML-Nope")
    assert "AzureML-Tutorial" in str(caught.value)


def test_docker_image_and_dockerfile_are_recorded(ws: Workspace, tmp_path: Path) -> None:
    env = Environment.from_docker_image("img-env", DEFAULT_CPU_IMAGE)
    assert env.docker.enabled and env.docker.base_image == DEFAULT_CPU_IMAGE
    registered = env.register(ws)
    assert Environment.get(ws, "img-env").docker.enabled
    assert registered.docker.base_image == DEFAULT_CPU_IMAGE
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.11-slim\nRUN pip install six\n")
    from_file = Environment.from_dockerfile("file-env", dockerfile)
    assert "pip install six" in (from_file.docker.base_dockerfile or "")
    assert Environment.from_dockerfile("text-env", "FROM x\n").docker.base_dockerfile == "FROM x\n"
    with pytest.raises(NotFoundError, match="Dockerfile"):
        Environment.from_dockerfile("bad", tmp_path / "missing")
    with pytest.raises(UserErrorException, match="image name"):
        Environment.from_docker_image("bad", "")


def test_save_and_load_in_azureml_layout(tmp_path: Path) -> None:
    env = Environment.from_dockerfile("saved", "FROM python:3.11-slim\n")
    env.python.conda_dependencies.add_pip_package("six")
    env.environment_variables = {"MODE": "test"}
    env.save_to_directory(tmp_path / "env")
    names = sorted(p.name for p in (tmp_path / "env").iterdir())
    assert names == ["BaseDockerfile", "azureml_environment.json", "conda_dependencies.yml"]
    definition = json.loads((tmp_path / "env" / "azureml_environment.json").read_text())
    assert definition["docker"]["baseDockerfile"] == "BaseDockerfile"
    assert definition["environmentVariables"] == {"MODE": "test"}
    loaded = Environment.load_from_directory(tmp_path / "env")
    assert loaded.to_spec() == env.to_spec()
    with pytest.raises(AlreadyExistsError, match="overwrite=True"):
        env.save_to_directory(tmp_path / "env")
    env.save_to_directory(tmp_path / "env", overwrite=True)
    with pytest.raises(NotFoundError, match="save_to_directory"):
        Environment.load_from_directory(tmp_path)


def test_build_local_of_a_user_managed_environment(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    env = Environment("host")
    env.python.user_managed_dependencies = True
    build = env.build_local(ws)
    details = build.wait_for_completion(show_output=True)
    assert details["status"] == "Succeeded" and details["python"]
    assert build.status == "Succeeded"
    assert env.build(ws).wait_for_completion()["status"] == "Succeeded"  # build(ws) too


def test_compute_status_object(ws: Workspace) -> None:
    local = ComputeTarget(ws, "local")
    status = local.get_status()
    assert status == "Succeeded"  # still the provisioning state as a string
    assert status.state == "Running" and status.provisioning_state == "Succeeded"
    assert status.provisioning_errors == []
    assert status.serialize()["currentNodeCount"] == 1
    assert local.serialize()["properties"]["computeType"] == "Local"
    assert ws.compute_targets["local"].tags == {}
    with pytest.raises(ComputeTargetException, match="cannot be detached"):
        local.detach()


def test_job_configurations() -> None:
    torch_config = PyTorchConfiguration(communication_backend="Gloo", process_count=4, node_count=2)
    assert torch_config.process_count_per_node == 2 and torch_config.process_count == 4
    assert MpiConfiguration(process_count_per_node=3).process_count == 3
    with pytest.raises(UserErrorException, match="multiple of node_count"):
        PyTorchConfiguration(process_count=3, node_count=2)
    with pytest.raises(UserErrorException, match="node_count must be a whole number"):
        MpiConfiguration(node_count=0)
    config = ScriptRunConfig(
        ".",
        script="x.py",
        distributed_job_config=torch_config,
        docker_runtime_config=DockerConfiguration(use_docker=True),
    )
    again = RunConfiguration.from_dict(config.run_config.to_dict())
    assert isinstance(again.distributed_job_config, PyTorchConfiguration)
    assert again.distributed_job_config.process_count == 4
    assert again.docker.use_docker
    with pytest.raises(UserErrorException, match="MpiConfiguration or a PyTorchConfiguration"):
        ScriptRunConfig(".", script="x.py", distributed_job_config={"nodes": 2})


def test_run_details_shows_status_children_and_metrics(ws: Workspace) -> None:
    run = Experiment(ws, "widget").start_logging()
    for loss in (0.9, 0.5, 0.2):
        run.log("loss", loss)
    run.log("solver", "adam")
    with run.child_run("fold-1") as child:
        child.log("acc", 0.8)
    run.complete()
    details = RunDetails(run)
    data = details.get_widget_data()
    assert data["status"] == "Completed"
    assert data["children"][0]["metrics"] == {"acc": 0.8}
    out = io.StringIO()
    Console(file=out, width=120).print(render_table(data))
    assert "loss" in out.getvalue() and "fold-1" in out.getvalue() and sparkline([0.9, 0.5, 0.2])
    assert "<svg" in render_html(data) and "fold-1" in render_html(data)
    details.show()  # a terminal here: draws the live table and returns as the run has ended
    with pytest.raises(UserErrorException, match="RunDetails takes a Run"):
        RunDetails("run-id")  # type: ignore[arg-type]
