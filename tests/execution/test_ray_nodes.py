"""Runs on Ray nodes that share no filesystem with the submitting machine: the run's
supervisor runs on the node Ray chose (pinned here by a custom resource), fetches the
snapshot through the server with the run's token, and reports back itself."""

from __future__ import annotations

import contextlib
import json
import os
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atelier import Experiment, Workspace
from atelier.client.http.transport import write_credentials
from atelier.client.registry import reset_backends
from atelier.core.errors import ValidationError
from atelier.core.paths import LOG_NAME, run_work_dir
from atelier.core.processes import lost_reason
from atelier.execution.run_files import SUPERVISOR_LOG
from atelier.execution.supervisor_process import SUPERVISOR_MODULE
from atelier.sdk.compute.targets import AmlCompute, ComputeTarget
from atelier.sdk.tracking.run import Run
from atelier.sdk.tracking.runconfig import RunConfiguration, ScriptRunConfig
from tests.conftest import unique
from tests.execution.ray_nodes import WorkerNode, container_node, host_node
from tests.helpers import web
from tests.helpers.cli import invoke


@pytest.fixture(scope="module")
def worker(
    ray_head: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerNode]:
    node = host_node(ray_head, tmp_path_factory.mktemp("ray-node"))
    yield node
    node.stop()


@pytest.fixture(scope="module")
def box(ray_head: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerNode]:
    """A Ray node in a podman container: no volume, the host's network only."""
    from tests.helpers.containers import engine_with_base_image

    engine = engine_with_base_image()
    node = container_node(ray_head, engine, tmp_path_factory.mktemp("ray-box"))
    yield node
    node.stop()


@pytest.fixture
def on_server(home: Path, server: Any) -> Path:
    """The test's home logged in to the session's server (as ``atelier login`` does)."""
    write_credentials(server.url, server.admin_token, home)
    reset_backends()
    return home


def _on_node(prefix: str, head: dict[str, Any], node: WorkerNode, **settings: Any) -> Workspace:
    """A new workspace whose target "nodes" pins runs to ``node``."""
    ws = Workspace.create(unique(prefix))
    config = AmlCompute.provisioning_configuration(
        address=head["address"], resources={node.resource: 1}, **settings
    )
    ComputeTarget.create(ws, "nodes", config)
    return ws


def _submit(ws: Workspace, tmp_path: Path, body: str, target: str, retries: int = 0) -> Run:
    folder = tmp_path / "src"
    folder.mkdir(exist_ok=True)
    (folder / "train.py").write_text(textwrap.dedent(body))
    config = ScriptRunConfig(source_directory=folder, script="train.py", compute_target=target)
    config.run_config.environment_variables["MY_SETTING"] = "on"
    config.run_config.max_retries = retries
    return Experiment(ws, "remote").submit(config)


def _running_sleeper(ws: Workspace, tmp_path: Path) -> Run:
    """A run of a long sleep on the target "nodes", once its script has started."""
    run = _submit(ws, tmp_path, "import time\nprint('up', flush=True)\ntime.sleep(300)\n", "nodes")
    deadline = time.monotonic() + 120
    while run.get_status() != "Running":
        assert time.monotonic() < deadline, f"the run did not start: {run.get_status()}"
        time.sleep(0.2)
    return run


def _log(run: Run, tmp_path: Path, name: str) -> str:
    return run.download_file(name, tmp_path / name.replace("/", "_")).read_text()


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_run_on_a_remote_node_reports_through_the_server(
    on_server: Path, tmp_path: Path, ray_head: dict[str, Any], worker: WorkerNode
) -> None:
    ws = _on_node("remote", ray_head, worker, min_nodes=1, max_nodes=3)
    status = ComputeTarget(ws, "nodes").get_status()
    assert status.current_node_count == 2  # the head and the worker, read from the cluster
    assert "no autoscaler" in (status.scaling_warning or "")  # not silently ignored
    assert "min_nodes=1, max_nodes=3" in (status.scaling_warning or "")
    run = _submit(
        ws,
        tmp_path,
        """
        import os
        from pathlib import Path
        from atelier import Run
        print("running in", Path.cwd(), "setting", os.environ.get("MY_SETTING"), flush=True)
        Run.get_context().log("acc", 0.75)
        os.makedirs("outputs", exist_ok=True)
        Path("outputs/model.txt").write_text("made on the node")
        """,
        "nodes",
    )
    details = run.wait_for_completion(timeout_seconds=120, raise_on_error=False)
    assert details["status"] == "Completed", details
    assert run.get_metrics()["acc"] == 0.75
    assert run.download_file("outputs/model.txt", tmp_path / "m").read_text() == "made on the node"
    driver = _log(run, tmp_path, LOG_NAME)
    assert f"running in {worker.root}/runs/{run.id}/wd setting on" in driver
    # nothing of the run was ever under the submitting machine's run folder
    assert not (run_work_dir(on_server, run.id) / "wd").exists()
    assert run.get_details()["status"] == "Completed"
    # the CLI shows the same (last: each command closes the backends this test holds)
    shown = invoke(["compute", "show", "nodes", "-w", ws.name, "-o", "json"], cwd=tmp_path)
    assert shown.code == 0, shown
    assert "no autoscaler" in json.loads(shown.stdout)["config"]["scaling_warning"]
    shown = invoke(["compute", "show", "nodes", "-w", ws.name], cwd=tmp_path)
    assert "nodes alive" in shown.stdout


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_run_on_a_container_node_needs_nothing_of_the_hosts_filesystem(
    on_server: Path, tmp_path: Path, ray_head: dict[str, Any], box: WorkerNode
) -> None:
    ws = _on_node("box", ray_head, box)
    run = _submit(
        ws,
        tmp_path,
        """
        import os, socket
        from pathlib import Path
        from atelier import Run
        print("on", socket.gethostname(), "in", Path.cwd(), flush=True)
        Run.get_context().log("loss", 0.25)
        os.makedirs("outputs", exist_ok=True)
        Path("outputs/where.txt").write_text(str(Path.cwd()))
        """,
        "nodes",
    )
    details = run.wait_for_completion(timeout_seconds=180, raise_on_error=False)
    assert details["status"] == "Completed", details
    assert run.get_metrics()["loss"] == 0.25
    where = run.download_file("outputs/where.txt", tmp_path / "w").read_text()
    assert where == f"{box.root}/runs/{run.id}/wd"
    assert f"in {where}" in _log(run, tmp_path, LOG_NAME)
    # the snapshot was fetched inside the container, never unpacked on the host
    assert not (run_work_dir(on_server, run.id) / "wd").exists()
    assert not Path(where).exists()


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_node_runs_output_shows_while_it_runs_and_cancel_reaches_it(
    on_server: Path, tmp_path: Path, ray_head: dict[str, Any], worker: WorkerNode
) -> None:
    run = _running_sleeper(_on_node("cancel", ray_head, worker), tmp_path)
    # the node streams the script's output to the server while it runs
    deadline = time.monotonic() + 60
    while "up" not in run.get_details_with_logs()["logFiles"].get(LOG_NAME, ""):
        assert time.monotonic() < deadline, "the node's output did not arrive while it ran"
        time.sleep(0.2)
    assert run.get_status() == "Running"
    run.cancel()
    details = run.wait_for_completion(timeout_seconds=60, raise_on_error=False)
    assert details["status"] == "Canceled", details
    assert "cancel requested; stopping the script" in _log(run, tmp_path, SUPERVISOR_LOG)


def _submitters(run_id: str) -> list[int]:
    """The pids of this machine's supervisors of ``run_id`` started afresh (no agent)."""
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            line = (entry / "cmdline").read_bytes().split(b"\0")
            if SUPERVISOR_MODULE.encode() in line and run_id.encode() in line:
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_run_lost_with_its_node_is_retried_after_the_submitter_is_gone(
    on_server: Path,
    tmp_path: Path,
    ray_head: dict[str, Any],
    worker: WorkerNode,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The submitting side hands the run's retry policy to the cluster's watcher and goes
    away; the first attempt's supervisor is then killed (as when its node dies) and the
    watcher starts the second attempt, which completes."""
    monkeypatch.setenv("ATELIER_AGENT", "0")  # the submitting side: a process of its own
    ws = _on_node("retry", ray_head, worker)
    run = _submit(
        ws,
        tmp_path,
        """
        import os, signal, time
        from pathlib import Path
        from atelier import Run
        root = Path(os.environ["ATELIER_NODE_ROOT"])
        run_id = Run.get_context().id
        if (root / f"{run_id}.first").exists():
            print("second attempt done", flush=True)
        else:
            (root / f"{run_id}.first").write_text("")
            while not (root / f"{run_id}.go").exists():
                time.sleep(0.1)
            os.kill(os.getppid(), signal.SIGKILL)
            time.sleep(60)
        """,
        "nodes",
        retries=1,
    )
    root = Path(worker.root)
    deadline = time.monotonic() + 120
    while not (root / f"{run.id}.first").exists():
        assert time.monotonic() < deadline, f"the first attempt did not start: {run.get_status()}"
        time.sleep(0.2)
    while _submitters(run.id):  # it leaves once the cluster's watcher follows the run
        assert time.monotonic() < deadline, "the submitting side did not hand the run over"
        time.sleep(0.2)
    # the cluster's watcher (a Ray job on the head) follows it now
    jobs = web.get(f"{ray_head['address']}/api/jobs/", timeout=30).json()
    watchers = [
        j for j in jobs if "--serve" in j["entrypoint"] and "ray_handover" in j["entrypoint"]
    ]
    assert any(j["status"] == "RUNNING" for j in watchers), watchers
    (root / f"{run.id}.go").write_text("")
    details = run.wait_for_completion(timeout_seconds=180, raise_on_error=False)
    assert details["status"] == "Completed", details
    assert "second attempt done" in _log(run, tmp_path, LOG_NAME)
    said = _log(run, tmp_path, SUPERVISOR_LOG)
    assert "attempt 2 of 2: its Ray job" in said and "ended FAILED" in said, said


def test_jobs_ask_for_the_targets_resources() -> None:
    from atelier.execution.ray_handover import job_resources, launcher_kind, node_entrypoint

    assert job_resources({}) == {"entrypoint_num_cpus": 1.0}
    assert job_resources({"resources": {"CPU": 2, "GPU": 1, "trainer": 1}}) == {
        "entrypoint_num_cpus": 2.0,
        "entrypoint_num_gpus": 1.0,
        "entrypoint_resources": {"trainer": 1.0},
    }
    line = node_entrypoint({"node_python": "/opt/venv/bin/python"}, "w s", "r1", 2, 3, "why")
    assert line == (
        "exec /opt/venv/bin/python -m atelier.execution.ray_node --workspace 'w s' "
        "--run-id r1 --attempt 2 --attempts 3 --previous why"
    )
    warm = node_entrypoint({"launcher_idle_seconds": 5}, "w", "r1", 1, 1, "", serve=20001)
    assert warm.endswith("--attempts 1 --serve 20001 --idle 5")
    # launchers serve runs of targets asking the same resources of the same interpreter
    assert launcher_kind({"resources": {"CPU": 1}}) == launcher_kind({})
    assert launcher_kind({"resources": {"trainer": 1}}) != launcher_kind({})


def test_bad_resources_and_retries_are_refused() -> None:
    with pytest.raises(ValidationError, match="amount > 0"):
        AmlCompute.provisioning_configuration(resources={"trainer": 0})
    with pytest.raises(ValidationError, match="launcher_idle_seconds must be"):
        AmlCompute.provisioning_configuration(launcher_idle_seconds=-1)
    config = RunConfiguration()
    config.max_retries = -1
    with pytest.raises(ValidationError, match="max_retries must be"):
        config.to_dict()
    config.max_retries = 2
    assert RunConfiguration.from_dict(config.to_dict()).max_retries == 2


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_an_embedded_home_on_postgresql_hands_runs_to_nodes(
    ws: Workspace, tmp_path: Path, ray_head: dict[str, Any], worker: WorkerNode
) -> None:
    """No server: the node reaches the home's PostgreSQL and blob store itself."""
    config = AmlCompute.provisioning_configuration(
        address=ray_head["address"], resources={worker.resource: 1}, shared_filesystem=False
    )
    ComputeTarget.create(ws, "apart", config)
    body = "from atelier import Run\nRun.get_context().log('n', 3)\nprint('on the node')\n"
    run = _submit(ws, tmp_path, body, "apart")
    details = run.wait_for_completion(timeout_seconds=120, raise_on_error=False)
    assert details["status"] == "Completed", details
    assert run.get_metrics()["n"] == 3
    assert "on the node" in _log(run, tmp_path, LOG_NAME)
    assert run.get_details()["runDefinition"]["max_retries"] == 0


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_an_embedded_sqlite_home_cannot_hand_runs_to_nodes(
    ws: Workspace, tmp_path: Path, ray_head: dict[str, Any]
) -> None:
    config = AmlCompute.provisioning_configuration(
        address=ray_head["address"], shared_filesystem=False
    )
    ComputeTarget.create(ws, "apart", config)
    run = _submit(ws, tmp_path, "print('never')\n", "apart")
    details = run.wait_for_completion(timeout_seconds=60, raise_on_error=False)
    assert details["status"] == "Failed"
    assert "cannot reach this home's SQLite database" in details["error"]["message"]


class _LostJobs:
    """A Jobs API whose jobs all end FAILED at once (their node died), with no launcher."""

    def __init__(self) -> None:
        self.submitted: list[dict[str, Any]] = []

    def list(self) -> list[dict[str, Any]]:
        return []

    def submit(self, body: dict[str, Any]) -> None:
        self.submitted.append(body)

    def info(self, job_id: str) -> dict[str, Any]:
        return {"status": "FAILED", "driver_exit_code": 1, "message": "node died"}


def test_a_run_whose_jobs_keep_ending_is_resubmitted_then_failed_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from types import SimpleNamespace

    from atelier.core.status import RunStatus
    from atelier.execution import ray_handover

    monkeypatch.setattr(ray_handover, "_POLL_SECONDS", 0.01)
    monkeypatch.setattr(ray_handover, "_RUN_POLL_SECONDS", 0.01)
    ended: list[dict[str, Any]] = []
    runs = SimpleNamespace(
        get=lambda ws, run: SimpleNamespace(status=RunStatus.RUNNING),
        transition=lambda ws, run, status, error: ended.append(error),
    )
    jobs = _LostJobs()
    run = {"workspace": "w", "run_id": "r1", "attempt": 1, "attempts": 3, "previous": ""}
    code = ray_handover._follow(
        jobs,  # type: ignore[arg-type]
        SimpleNamespace(runs=runs),  # type: ignore[arg-type]
        {"launcher_idle_seconds": 0},
        {},
        run,
        "job-1",
        None,
    )
    assert code == 1
    # attempts 2 and 3 were submitted, each saying why the one before ended
    assert [b["entrypoint"].split("--attempt ")[1][:1] for b in jobs.submitted] == ["2", "3"]
    assert (
        "--previous 'its Ray job job-1 ended FAILED, exit code 1" in jobs.submitted[0]["entrypoint"]
    )
    assert ended[0]["code"] == "NodeLost"
    assert ended[0]["message"].endswith("node died (attempt 3 of 3)")


def test_a_node_supervisor_with_retries_left_gets_a_grace() -> None:
    now = 1_000_000_000
    info = {"host": "box (Ray node)", "node": True, "pid": os.getpid(), "grace_seconds": 90}
    assert lost_reason(info, now - 60_000, now, 15) is None
    reason = lost_reason(info, now - 100_000, now, 15)
    assert reason == "its supervisor on box (Ray node) stopped heartbeating for more than 90 s"
    del info["grace_seconds"]
    assert lost_reason(info, now - 60_000, now, 15) is not None


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_node_that_dies_mid_run_leaves_the_run_failed_with_a_reason(
    on_server: Path, tmp_path: Path, ray_head: dict[str, Any], worker: WorkerNode
) -> None:
    """Last in this module: it kills the module's worker node."""
    run = _running_sleeper(_on_node("dies", ray_head, worker), tmp_path)
    worker.kill()
    details = run.wait_for_completion(timeout_seconds=120, raise_on_error=False)
    assert details["status"] == "Failed", details
    # whichever notices first: Ray ending the job, or the heartbeats stopping
    assert details["error"]["code"] in ("NodeLost", "SupervisorLost"), details["error"]
    message = details["error"]["message"]
    assert "ended FAILED" in message or "(Ray node) stopped heartbeating" in message, message
