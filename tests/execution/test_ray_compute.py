"""Running scripts on a Ray cluster (``AmlCompute``): runs are Ray jobs on the session's head."""

from __future__ import annotations

import io
import os
import socket
import textwrap
from pathlib import Path
from typing import Any

import pytest

from atelier import Experiment, Workspace
from atelier.core.errors import ComputeTargetException
from atelier.sdk.compute.targets import AmlCompute, ComputeTarget
from atelier.sdk.tracking.run import Run
from atelier.sdk.tracking.runconfig import ScriptRunConfig
from tests.execution.reaping import running_sleeper
from tests.execution.sweeping import sweep_on

pytestmark = pytest.mark.one_database  # the database kind is incidental here

# the happy path runs on both databases (the job must reach the run's store); the rest of
# the runs' life does not depend on the database and is covered on both by test_submit
sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def _target(ws: Workspace, ray_head: dict[str, Any], name: str = "cluster") -> ComputeTarget:
    config = AmlCompute.provisioning_configuration(max_nodes=2, address=ray_head["address"])
    return ComputeTarget.create(ws, name, config)


def _submit(ws: Workspace, tmp_path: Path, body: str, target: str = "cluster") -> Run:
    folder = tmp_path / "src"
    folder.mkdir(exist_ok=True)
    (folder / "train.py").write_text(textwrap.dedent(body))
    config = ScriptRunConfig(source_directory=folder, script="train.py", compute_target=target)
    config.run_config.environment_variables["MY_SETTING"] = "on"
    return Experiment(ws, "x").submit(config)


def _job(address: str, run: Run) -> Any:
    """The Ray job of ``run``, found by the metadata the executor gives it."""
    from ray.job_submission import JobSubmissionClient

    jobs = [
        job
        for job in JobSubmissionClient(address).list_jobs()
        if (job.metadata or {}).get("atelier_run_id") == run.id
    ]
    assert len(jobs) == 1, jobs
    return jobs[0]


def test_the_session_head_was_started_here(ray_head: dict[str, Any]) -> None:
    from atelier.execution.ray_provision import _marked

    assert ray_head["started_head"] is True
    assert ray_head["address"].startswith("http://127.0.0.1:")
    assert ray_head["max_concurrent_runs"] == 2
    # Ray's unix sockets live under its temp folder: it must stay short
    assert len(ray_head["head_temp_dir"]) < 40
    assert ray_head["head_pid"] in _marked(ray_head["head_token"])


def test_a_script_runs_as_a_ray_job(
    ws: Workspace, tmp_path: Path, ray_head: dict[str, Any]
) -> None:
    target = _target(ws, ray_head)
    assert target.type == "AmlCompute"
    assert target.provisioning_state == "Succeeded"
    assert target.config["address"] == ray_head["address"]
    assert target.config["started_head"] is False
    assert target.config["max_concurrent_runs"] == 2
    run = _submit(
        ws,
        tmp_path,
        """
        import os, sys
        from atelier import Run
        print("hello from ray", flush=True)
        print("a warning", file=sys.stderr)
        print("setting is", os.environ.get("MY_SETTING"))
        Run.get_context().log("acc", 0.9)
        os.makedirs("outputs", exist_ok=True)
        with open("outputs/x.txt", "w") as handle:
            handle.write("made on ray")
        """,
    )
    out = io.StringIO()
    run.stream_logs(out)
    details = run.wait_for_completion(timeout_seconds=60)
    assert details["status"] == "Completed"
    assert details["exitCode"] == 0
    logs = out.getvalue()
    assert "hello from ray" in logs
    assert "a warning" in logs
    assert "setting is on" in logs
    assert "Running entrypoint for job" not in logs  # Ray's own lines are left out
    assert run.get_metrics()["acc"] == 0.9
    assert "outputs/x.txt" in run.get_file_names()
    assert run.download_file("outputs/x.txt", tmp_path / "x.txt").read_text() == "made on ray"
    job = _job(ray_head["address"], run)
    assert job.status == "SUCCEEDED"
    assert job.submission_id.startswith(f"atelier-{run.id}-")


@sqlite_only
def test_a_failing_script_fails_the_run(
    ws: Workspace, tmp_path: Path, ray_head: dict[str, Any]
) -> None:
    _target(ws, ray_head)
    run = _submit(ws, tmp_path, "raise ValueError('the data is empty')\n")
    details = run.wait_for_completion(raise_on_error=False, timeout_seconds=60)
    assert details["status"] == "Failed"
    assert details["exitCode"] == 1
    assert details["error"]["code"] == "ScriptExecutionError"
    assert "ValueError: the data is empty" in details["error"]["message"]
    assert _job(ray_head["address"], run).status == "FAILED"


@sqlite_only
def test_cancel_stops_the_ray_job(ws: Workspace, tmp_path: Path, ray_head: dict[str, Any]) -> None:
    _target(ws, ray_head)
    run = running_sleeper(lambda body: _submit(ws, tmp_path, body))
    assert run.get_status() == "Running"
    run.cancel()
    details = run.wait_for_completion(raise_on_error=False, timeout_seconds=60)
    assert details["status"] == "Canceled"
    assert _job(ray_head["address"], run).status == "STOPPED"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@sqlite_only
def test_an_unreachable_cluster_fails_provisioning(ws: Workspace) -> None:
    address = f"http://127.0.0.1:{_closed_port()}"
    config = AmlCompute.provisioning_configuration(address=address)
    with pytest.raises(ComputeTargetException, match="no Ray cluster answers at") as raised:
        ComputeTarget.create(ws, "gone", config)
    assert "dashboard" in raised.value.message
    assert ComputeTarget(ws, "gone").provisioning_state == "Failed"


@sqlite_only
def test_a_ray_client_address_asks_for_the_jobs_url(ws: Workspace) -> None:
    config = AmlCompute.provisioning_configuration(address="ray://127.0.0.1:1")
    with pytest.raises(ComputeTargetException, match="Ray Client address") as raised:
        ComputeTarget.create(ws, "client", config)
    assert "http://" in raised.value.message


def test_the_job_gets_the_runs_variables_not_the_whole_environment() -> None:
    from atelier.execution.ray_compute import job_entrypoint, job_environment

    env = {
        **os.environ,
        "ATELIER_RUN_ID": "r1",
        "AZUREML_RUN_ID": "r1",
        "PYTHONUNBUFFERED": "1",
        "MY_SETTING": "on",
        "PATH": "/env/bin:" + os.environ.get("PATH", ""),
    }
    passed = job_environment(env)
    assert {"ATELIER_RUN_ID", "AZUREML_RUN_ID", "PYTHONUNBUFFERED", "MY_SETTING"} <= set(passed)
    assert "PATH" not in passed
    assert "HOME" not in passed
    line = job_entrypoint(
        ["/env/bin/python", "-u", "/w d/t.py"], Path("/w d"), Path("/env/bin/python")
    )
    assert line == (
        "cd '/w d' && export PATH=/env/bin:\"$PATH\" && exec /env/bin/python -u '/w d/t.py'"
    )


@sqlite_only
def test_a_sweep_runs_its_trials_as_ray_jobs(
    ws: Workspace, tmp_path: Path, ray_head: dict[str, Any]
) -> None:
    _target(ws, ray_head)
    sweep_on(ws, tmp_path, "cluster")
