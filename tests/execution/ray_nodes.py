"""Ray worker nodes joined to the session's head for the tests of runs on nodes that share no
filesystem with the submitting machine.

``host_node``: a second Ray node on this machine in its own processes, temp folder, working
folder and ``ATELIER_NODE_ROOT`` (proves the mechanism: nothing of the run is looked for in
the submitter's folders). ``container_node``: a Ray node inside a podman container that shares
no filesystem with the host (host network only, so it joins over loopback), its image made
from the base image with Python, Ray, uv and Atelier installed from wheels resolved on the host.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atelier.execution.ray_provision import HEAD_MARKER, _free_ports, _marked, stop_local_head

REPO = Path(__file__).resolve().parents[2]
WHEELS_CACHE = Path(tempfile.gettempdir()) / "atelier-test-wheels"
_JOIN_TIMEOUT_SECONDS = 120.0


@dataclass
class WorkerNode:
    resource: str
    root: str  # ATELIER_NODE_ROOT as the node sees it
    stop: Any
    #: SIGKILL every process of the node at once, as when its machine dies
    kill: Any = None


def _alive_with(address: str, resource: str) -> bool:
    try:
        with urllib.request.urlopen(f"{address}/api/v0/nodes?limit=1000", timeout=5) as answer:
            nodes = json.loads(answer.read())["data"]["result"]["result"]
    except (OSError, ValueError, KeyError):
        return False
    return any(
        n["state"] == "ALIVE" and resource in (n.get("resources_total") or {}) for n in nodes
    )


def _wait_joined(head: dict[str, Any], resource: str, alive: Any, log: Path) -> None:
    deadline = time.monotonic() + _JOIN_TIMEOUT_SECONDS
    while not _alive_with(head["address"], resource):
        if not alive() or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"the Ray worker node did not join: {tail}")
        time.sleep(0.5)


def _start_arguments(
    head: dict[str, Any], resource: str, temp_dir: str, units: int = 1
) -> list[str]:
    names = "node-manager object-manager dashboard-agent-listen dashboard-agent-grpc"
    names += " runtime-env-agent metrics-export"
    flags = {
        "--address": head["gcs_address"],
        "--node-ip-address": "127.0.0.1",
        "--num-cpus": "1",
        "--resources": json.dumps({resource: units}),
        "--object-store-memory": str(80 * 1024 * 1024),
        **{
            f"--{name}-port": str(port)
            for name, port in zip(names.split(), _free_ports(6), strict=True)
        },
        "--temp-dir": temp_dir,
    }
    return ["start", "--block", *(part for pair in flags.items() for part in pair),
            "--disable-usage-stats"]  # fmt: skip


def host_node(head: dict[str, Any], folder: Path, units: int = 1) -> WorkerNode:
    """A second Ray node on this machine (its own temp, working and node folders) with
    ``units`` of its own resource."""
    resource = f"atelier_node_{uuid.uuid4().hex[:6]}"
    temp_dir = tempfile.mkdtemp(prefix="atelier-ray-", dir="/tmp")
    cwd, root = folder / "cwd", folder / "root"
    cwd.mkdir(parents=True)
    token = uuid.uuid4().hex
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATELIER_", "AZUREML_"))}
    env.update(
        {
            HEAD_MARKER: token,
            "ATELIER_NODE_ROOT": str(root),
            "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    log = folder / "node.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ray.scripts.scripts",
                *_start_arguments(head, resource, temp_dir, units),
            ],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    config = {
        "started_head": True,
        "head_pid": proc.pid,
        "head_token": token,
        "head_temp_dir": temp_dir,
    }

    def stop() -> None:
        stop_local_head(config)
        proc.wait(timeout=30)

    def kill() -> None:
        for pid in _marked(token):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=30)

    try:
        _wait_joined(head, resource, lambda: proc.poll() is None, log)
    except BaseException:
        stop()
        raise
    return WorkerNode(resource, str(root), stop, kill)


def node_requirements() -> list[str]:
    """What a container node installs from the host's wheels: Atelier's dependencies and
    this machine's Ray (the node must run the head's version)."""
    import ray

    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return [*sorted(deps), f"ray[default]=={ray.__version__}"]


DEPS_IMAGE = "localhost/atelier-test/ray-node-deps"
CONTAINER_ROOT = "/var/atelier-node"


def deps_image(engine: Any, folder: Path, log: Any) -> str:
    """The base image with Ray, uv and Atelier's dependencies from the host's wheels, built
    once per machine and requirements (``.ci/run`` builds it beside the base image, before
    the tests)."""
    from atelier.containers import BASE_IMAGE, VENV, host_wheels, wheels_key

    requirements = node_requirements()
    deps = f"{DEPS_IMAGE}:{wheels_key(requirements)}"
    if engine.image_exists(deps):
        return deps
    wheels = host_wheels(requirements, WHEELS_CACHE, log)
    context = Path(tempfile.mkdtemp(prefix="deps-", dir=folder))
    shutil.copytree(wheels, context / "wheels", copy_function=os.link)
    (context / "requirements.txt").write_text("\n".join(requirements) + "\n")
    (context / "Dockerfile").write_text(
        f"FROM {BASE_IMAGE}\n"
        "COPY wheels /tmp/wheels\nCOPY requirements.txt /tmp/requirements.txt\n"
        f"RUN {VENV}/bin/pip install --no-cache-dir --no-index --find-links /tmp/wheels "
        "-r /tmp/requirements.txt && rm -rf /tmp/wheels\n"
    )
    engine.build(context, [deps], log, timeout=1800)
    shutil.rmtree(context, ignore_errors=True)
    return deps


def node_image(engine: Any, folder: Path, log: Any) -> str:
    """An image for a Ray node: the base image with Ray, uv and Atelier's dependencies from
    the host's wheels (:func:`deps_image`) and this checkout's Atelier package on top (a new
    image, removed by the caller)."""
    from atelier.containers import VENV

    deps = deps_image(engine, folder, log)
    context = folder / "node"
    context.mkdir(parents=True)
    # this checkout's Atelier as it is (pure Python): its package folder into the venv
    shutil.copytree(
        REPO / "src" / "atelier",
        context / "atelier",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    tag = f"localhost/atelier-test/ray-node:{uuid.uuid4().hex[:10]}"
    site = f"{VENV}/lib/python3.{sys.version_info.minor}/site-packages"
    (context / "Dockerfile").write_text(
        f"FROM {deps}\nCOPY atelier {site}/atelier\nRUN mkdir -p {CONTAINER_ROOT}\n"
    )
    engine.build(context, [tag], log)
    return tag


def container_node(head: dict[str, Any], engine: Any, folder: Path) -> WorkerNode:
    """A Ray node in a podman container sharing no filesystem with the host: no volume, the
    host's network only (it joins the head over loopback)."""
    log_path = folder / "image.log"
    with log_path.open("a", encoding="utf-8") as log:
        image = node_image(engine, folder, log)
    resource = f"atelier_box_{uuid.uuid4().hex[:6]}"
    name = f"atelier-test-ray-node-{uuid.uuid4().hex[:8]}"
    command = ["ray", *_start_arguments(head, resource, "/tmp/ray")]
    engine.run(
        image,
        name=name,
        command=command,
        network="host",
        env={
            "ATELIER_NODE_ROOT": CONTAINER_ROOT,
            "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0",
            # Debian's 3.11 beside the host's 3.11 of another patch level
            "RAY_DEFAULT_PYTHON_VERSION_MATCH_LEVEL": "minor",
        },
    )

    def stop() -> None:
        engine.remove(name)
        engine.remove_image(image)

    try:
        logs = folder / "node.log"

        def alive() -> bool:
            logs.write_text(engine.logs(name))
            return bool(engine.is_running(name))

        _wait_joined(head, resource, alive, logs)
    except BaseException:
        stop()
        raise
    return WorkerNode(resource, CONTAINER_ROOT, stop)
