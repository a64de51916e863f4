"""Provisioning for the ``ray`` compute backend (``AmlCompute``): the cluster a target uses.

``provision`` checks an existing cluster's Jobs API (``http://head:8265``) or, without an
address, starts a Ray head on 127.0.0.1 for this machine and records how to stop it
(:func:`stop_local_head`). That head runs Ray's autoscaler with Atelier's node provider
(:mod:`atelier.execution.ray_autoscaler`): worker nodes come and go within ``min_nodes``/
``max_nodes``, idle ones leave after ``idle_seconds_before_scaledown``
(:func:`autoscaling_config`, changed by :func:`rescale`). Running scripts on the cluster is
:mod:`atelier.execution.ray_compute`'s part.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# imported at module level so a missing Ray is reported by ``compute._load`` with the
# install hint (``pip install 'atelier-ml[ray]'``)
from ray.job_submission import JobSubmissionClient

from atelier.core.errors import ComputeTargetException
from atelier.core.settings import load_settings
from atelier.execution.ray_cluster import node_counts, scaling_report

__all__ = [
    "HEAD_MARKER",
    "NODE_MARKER",
    "autoscaling_config",
    "check_cluster",
    "provision",
    "rescale",
    "start_local_head",
    "stop_local_head",
    "stop_processes",
]

#: every process of a head started here carries this variable (value: the head's token), so
#: the head can be stopped without touching other Ray clusters on the machine
HEAD_MARKER = "ATELIER_RAY_HEAD"
#: the processes of a worker node launched by the head's autoscaler also carry this one
#: (value: the node's token), so one node can be stopped
NODE_MARKER = "ATELIER_RAY_NODE"
#: the resource a node of a local head reports its number with: Ray's autoscaler tells
#: apart by it the nodes that share 127.0.0.1 (``use_node_id_as_ip``)
NODE_ID_RESOURCE = "NODE_ID_AS_RESOURCE"
HEAD_NODE_NUMBER = 1
HEAD_NODE_TYPE = "atelier.head"
WORKER_NODE_TYPE = "atelier.worker"
#: azureml's idle time before a node is removed when none is given
DEFAULT_IDLE_SECONDS = 120
_PROVIDER_CLASS = "atelier.execution.ray_autoscaler.LocalNodeProvider"
HEAD_START_TIMEOUT_SECONDS = 90.0
_CHECK_TIMEOUT_SECONDS = 5.0
_STOP_TIMEOUT_SECONDS = 30.0
_RAY_DASHBOARD_PORT = 8265

#: heads started by this process, kept so they are reaped (not left as zombies) here
_heads: dict[int, subprocess.Popen[bytes]] = {}


def provision(settings: dict[str, Any], workspace: str, name: str) -> dict[str, Any]:
    """Check the cluster at ``settings["address"]`` or start a local head; return the
    target's config: ``address`` (a Jobs API URL), ``started_head``, for a local head
    ``head_pid``/``head_token``/``head_temp_dir`` (what :func:`stop_local_head` needs), and
    how the scaling settings apply (``autoscaler``, ``scaling_warning``: see
    :func:`atelier.execution.ray_cluster.scaling_report`)."""
    max_nodes = int(settings.get("max_nodes") or 1)
    kept = ("vm_size", "min_nodes", "max_nodes", "idle_seconds_before_scaledown",
            "shared_filesystem", "resources", "node_python", "launcher_idle_seconds")  # fmt: skip
    config: dict[str, Any] = {
        key: settings[key] for key in kept if key in settings and settings[key] is not None
    }
    config["max_concurrent_runs"] = max(1, max_nodes)
    address = settings.get("address")
    if address:
        resolved = _resolve_address(str(address))
        report = scaling_report(settings, resolved)
        return {**config, **report, "address": resolved, "started_head": False}
    state_dir = load_settings().home.expanduser().resolve() / "ray" / workspace / name
    head = start_local_head(state_dir, scaling=settings)
    # the head's own autoscaler applies min_nodes/max_nodes/idle_seconds_before_scaledown
    return {**config, **head, "autoscaler": True, "started_head": True}


def autoscaling_config(settings: dict[str, Any], gcs_address: str, state_dir: Path) -> Path:
    """Write the Ray autoscaler's config for a head started here (``state_dir``/
    ``autoscaler.json``, read by the head's monitor on each update) and return its path:
    one worker node type offering what a run asks (``resources``, at least one CPU),
    ``min_workers``/``max_workers`` = ``min_nodes``/``max_nodes`` and
    ``idle_timeout_minutes`` from ``idle_seconds_before_scaledown`` (azureml's 120 s when
    None); the nodes are launched by :class:`atelier.execution.ray_autoscaler.LocalNodeProvider`."""
    min_nodes = int(settings.get("min_nodes") or 0)
    max_nodes = int(settings.get("max_nodes") or 1)
    idle = settings.get("idle_seconds_before_scaledown")
    idle_seconds = DEFAULT_IDLE_SECONDS if idle is None else float(idle)
    offered: dict[str, float] = {"CPU": 1.0}
    for key, amount in dict(settings.get("resources") or {}).items():
        if key in ("memory", "object_store_memory"):
            continue
        offered[key] = max(offered.get(key, 0.0), float(math.ceil(float(amount))))
    config = {
        "cluster_name": f"atelier-{state_dir.name}",
        "max_workers": max_nodes,
        "upscaling_speed": float(max(1, max_nodes)),
        "idle_timeout_minutes": idle_seconds / 60,
        "provider": {
            "type": "external",
            "module": _PROVIDER_CLASS,
            "gcs_address": gcs_address,
            "state_dir": str(state_dir),
            "use_node_id_as_ip": True,
            "disable_node_updaters": True,
            "disable_launch_config_check": True,
        },
        "auth": {},
        "available_node_types": {
            HEAD_NODE_TYPE: {"resources": {}, "node_config": {}, "max_workers": 0},
            WORKER_NODE_TYPE: {
                "resources": offered,
                "node_config": {},
                "min_workers": min_nodes,
                "max_workers": max_nodes,
            },
        },
        "head_node_type": HEAD_NODE_TYPE,
        # what Ray's autoscaler reads of a cluster it sets up itself: nothing to set up here
        "docker": {},
        "file_mounts": {},
        "cluster_synced_files": [],
        "file_mounts_sync_continuously": False,
        "rsync_exclude": [],
        "rsync_filter": [],
        "initialization_commands": [],
        "setup_commands": [],
        "head_setup_commands": [],
        "worker_setup_commands": [],
        "head_start_ray_commands": [],
        "worker_start_ray_commands": [],
    }
    path = state_dir / "autoscaler.json"
    part = path.with_suffix(".part")
    part.write_text(json.dumps(config, indent=2))
    part.replace(path)  # the monitor never reads half a file
    return path


def rescale(config: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Apply new scaling settings (``min_nodes``, ``max_nodes``,
    ``idle_seconds_before_scaledown``) to a target's cluster and return the config's
    changed keys: a head started here takes them at its autoscaler's next update; for a
    cluster given by address they are recorded and reported (``scaling_warning``)."""
    merged = {**config, **changes}
    if merged.get("started_head") and merged.get("autoscaling_config"):
        path = Path(str(merged["autoscaling_config"]))
        if not path.parent.is_dir():
            raise ComputeTargetException(
                f"the folder of this target's Ray head ({path.parent}) is gone, so its "
                "autoscaler cannot be changed: delete the target and create it again"
            )
        autoscaling_config(merged, str(merged.get("gcs_address") or ""), path.parent)
        if "max_nodes" not in changes:
            return dict(changes)
        return {**changes, "max_concurrent_runs": max(1, int(merged.get("max_nodes") or 1))}
    report = scaling_report(merged, str(merged.get("address") or ""))
    return {**changes, "scaling_warning": report.get("scaling_warning")}


def _resolve_address(address: str) -> str:
    """The Jobs API URL for ``address``, checked to answer."""
    address = address.strip().rstrip("/")
    if address.startswith("ray://"):
        host = urlsplit(address).hostname or "127.0.0.1"
        jobs_url = f"http://{host}:{_RAY_DASHBOARD_PORT}"
        try:
            check_cluster(jobs_url)
        except ComputeTargetException as exc:
            raise ComputeTargetException(
                f"{address} is a Ray Client address, but Atelier submits runs through the Ray "
                f"Jobs API of the cluster's dashboard, which did not answer at {jobs_url} "
                f"({exc.message}). Give the dashboard URL instead: "
                "AmlCompute.provisioning_configuration(address='http://<head>:<dashboard port>')"
            ) from exc
        return jobs_url
    if "://" not in address:
        address = f"http://{address}"
    if urlsplit(address).scheme not in ("http", "https"):
        raise ComputeTargetException(
            f"unsupported Ray address {address!r}: give the cluster's dashboard (Jobs API) URL, "
            f"e.g. http://<head>:{_RAY_DASHBOARD_PORT}"
        )
    check_cluster(address)
    return address


def check_cluster(address: str, timeout: float = _CHECK_TIMEOUT_SECONDS) -> None:
    """Raise ``ComputeTargetException`` unless a Ray Jobs API answers at ``address``."""
    hint = (
        f"start one with `ray start --head --dashboard-host 0.0.0.0` and give its dashboard "
        f"URL (http://<head>:{_RAY_DASHBOARD_PORT}), or give no address to start a Ray head "
        "on this machine"
    )
    try:
        # a quick probe first: the Jobs client itself waits forever on a silent host
        with urllib.request.urlopen(f"{address}/api/version", timeout=timeout) as response:
            response.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ComputeTargetException(
            f"no Ray cluster answers at {address} ({reason}): {hint}"
        ) from exc
    try:
        JobSubmissionClient(address)
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError …
        raise ComputeTargetException(
            f"the Ray Jobs API at {address} did not answer properly ({exc}): {hint}"
        ) from exc


def _short_tmp() -> str:
    """A short folder for Ray's session dir: its unix sockets' paths must stay < 108 bytes."""
    return "/tmp" if Path("/tmp").is_dir() else tempfile.gettempdir()


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def start_local_head(
    state_dir: Path,
    timeout: float = HEAD_START_TIMEOUT_SECONDS,
    scaling: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Start a Ray head on 127.0.0.1 (2 CPUs, a small object store) and wait for its Jobs API.

    Every port is chosen free (none of Ray's fixed defaults, so it can run beside other
    clusters). ``state_dir`` gets ``head.log`` (Ray's start output) and ``head.json`` (the
    returned config). With ``scaling`` (the target's settings) the head runs Ray's
    autoscaler on :func:`autoscaling_config`. Raises ``ComputeTargetException`` if the head
    does not come up.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    temp_dir = tempfile.mkdtemp(prefix="atelier-ray-", dir=_short_tmp())
    (
        gcs,
        dashboard,
        client_server,
        agent_listen,
        agent_grpc,
        runtime_env_agent,
        metrics,
        node_manager,
        object_manager,
    ) = _free_ports(9)
    token = uuid.uuid4().hex
    command = [
        sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block",
        "--node-ip-address", "127.0.0.1",
        "--port", str(gcs),
        "--include-dashboard", "true",
        "--dashboard-host", "127.0.0.1",
        "--dashboard-port", str(dashboard),
        "--ray-client-server-port", str(client_server),
        "--dashboard-agent-listen-port", str(agent_listen),
        "--dashboard-agent-grpc-port", str(agent_grpc),
        "--runtime-env-agent-port", str(runtime_env_agent),
        "--metrics-export-port", str(metrics),
        "--node-manager-port", str(node_manager),
        "--object-manager-port", str(object_manager),
        "--num-cpus", "2",
        "--object-store-memory", str(100 * 1024 * 1024),
        "--temp-dir", temp_dir,
        "--disable-usage-stats",
    ]  # fmt: skip
    autoscaling: Path | None = None
    if scaling is not None:
        autoscaling = autoscaling_config(scaling, f"127.0.0.1:{gcs}", state_dir)
        command += ["--autoscaling-config", str(autoscaling)]
        command += ["--resources", json.dumps({NODE_ID_RESOURCE: HEAD_NODE_NUMBER})]
    # the head's processes must not inherit this process's run or store (a job gets its
    # own from the run); the marker lets stop_local_head find exactly these processes
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ATELIER_", "AZUREML_")) and key != "RAY_ADDRESS"
    }
    env[HEAD_MARKER] = token
    # a job's entrypoint finds this interpreter (with Atelier and Ray) first on its PATH
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    if env.get("PYTHONPATH"):  # the head runs elsewhere: its monitor imports this Atelier
        parts = env["PYTHONPATH"].split(os.pathsep)
        env["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve()) if p else p for p in parts)
    env["RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S"] = "0"
    # the autoscaler looks every second (Ray's default: 5 s) and gives a node launched on
    # this loaded machine time to join before calling it lost
    env["AUTOSCALER_UPDATE_INTERVAL_S"] = "1"
    env["AUTOSCALER_HEARTBEAT_TIMEOUT_S"] = "120"
    # no metrics export from the head's processes, its nodes' and its workers': nothing
    # here scrapes them (Atelier records a run's metrics itself), and collecting them costs
    # every Ray process CPU all the time
    env["RAY_enable_metrics_collection"] = "false"
    log_path = state_dir / "head.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            command,
            cwd=state_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _heads[proc.pid] = proc
    config: dict[str, Any] = {
        "address": f"http://127.0.0.1:{dashboard}",
        "gcs_address": f"127.0.0.1:{gcs}",
        "head_pid": proc.pid,
        "head_token": token,
        "head_temp_dir": temp_dir,
        "head_log": str(log_path),
    }
    if autoscaling is not None:
        config["autoscaling_config"] = str(autoscaling)
    (state_dir / "head.json").write_text(json.dumps(config, indent=2))
    try:
        _wait_for_head(proc, str(config["address"]), log_path, timeout)
    except BaseException:
        stop_local_head({**config, "started_head": True})
        raise
    return config


def _wait_for_head(
    proc: subprocess.Popen[bytes], address: str, log_path: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        try:
            check_cluster(address, timeout=2.0)
            # the Jobs API answers a little before the head lists itself among its nodes
            listed = bool((node_counts(address, timeout=2.0) or {}).get("alive"))
        except ComputeTargetException:
            listed = False
        if listed:
            return
        if time.monotonic() > deadline:
            raise ComputeTargetException(
                f"the local Ray head did not answer within {timeout:g} s: "
                f"{_tail(log_path)} (see {log_path}); "
                "check that this machine can run Ray (`ray start --head`)"
            )
        time.sleep(0.25)
    raise ComputeTargetException(
        f"the local Ray head exited with code {proc.returncode} while starting: "
        f"{_tail(log_path)} (see {log_path})"
    )


def _tail(path: Path, lines: int = 5) -> str:
    with contextlib.suppress(OSError):
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return " | ".join(text[-lines:]) or "no output"
    return "no output"


def stop_local_head(config: dict[str, Any], timeout: float = _STOP_TIMEOUT_SECONDS) -> None:
    """Stop the Ray head that ``provision`` started for a target (nothing for a cluster
    given by address), with the worker nodes its autoscaler launched (their processes carry
    the head's marker): see :func:`stop_processes`. Other Ray clusters on the machine are
    untouched (unlike ``ray stop``)."""
    if not config.get("started_head"):
        return
    pid = int(config.get("head_pid") or 0)
    stop_processes(
        pid,
        str(config.get("head_token") or ""),
        str(config.get("head_temp_dir") or ""),
        own=_heads.pop(pid, None),
        timeout=timeout,
    )
    if config.get("autoscaling_config"):  # the temp folders of the nodes it launched
        nodes = Path(str(config["autoscaling_config"])).parent / "nodes.json"
        with contextlib.suppress(OSError, ValueError):
            for node in dict(json.loads(nodes.read_text()).get("nodes") or {}).values():
                if Path(str(node.get("temp_dir"))).name.startswith("atelier-ray-"):
                    shutil.rmtree(str(node["temp_dir"]), ignore_errors=True)


def stop_processes(
    pid: int,
    token: str,
    temp_dir: str,
    *,
    own: subprocess.Popen[bytes] | None = None,
    marker: str = HEAD_MARKER,
    timeout: float = _STOP_TIMEOUT_SECONDS,
) -> None:
    """Stop a ``ray start`` process (``pid``; ``own`` when this process started it): SIGTERM
    to it, which stops Ray's processes in order, then SIGKILL to any process still carrying
    ``marker`` = ``token``; its temp folder is removed."""
    deadline = time.monotonic() + timeout
    if pid > 0 and _leader_alive(pid, own, token, marker):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
        graceful = min(deadline, time.monotonic() + timeout / 2)
        while time.monotonic() < graceful and _leader_alive(pid, own, token, marker):
            time.sleep(0.1)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        left = _marked(token, marker)
        for member in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(member, sig)
        if own is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                own.wait(timeout=max(0.1, min(2.0, deadline - time.monotonic())))
        pause = time.monotonic() + (2.0 if sig == signal.SIGTERM else 5.0)
        while _marked(token, marker) and time.monotonic() < min(pause, deadline):
            time.sleep(0.1)
    if Path(temp_dir).name.startswith("atelier-ray-"):
        shutil.rmtree(temp_dir, ignore_errors=True)


def _leader_alive(
    pid: int, own: subprocess.Popen[bytes] | None, token: str, marker: str = HEAD_MARKER
) -> bool:
    if own is not None:
        return own.poll() is None
    return pid in _marked(token, marker)


def _marked(token: str, marker: str = HEAD_MARKER) -> list[int]:
    """This machine's processes whose environment carries ``marker`` = ``token`` (Linux)."""
    if not token:
        return []
    needle = f"{marker}={token}".encode()
    found: list[int] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            variables = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if needle in variables:
            found.append(int(entry.name))
    return found
