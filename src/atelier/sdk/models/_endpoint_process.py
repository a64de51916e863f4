"""The local endpoint's processes and files, for :mod:`atelier.sdk.models.webservice`.

An endpoint's folder, ``<ATELIER_HOME>/services/<workspace>/<name>/``, holds the models
of each deployment generation (``deployments/<deployment>/<id>/models/...``) and the
log of the router and its replicas (``service.log``). Its state lives in the database.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.errors import ConflictError, ValidationError
from atelier.core.extras import require_extra
from atelier.core.settings import load_settings
from atelier.execution.agent import spawn_detached
from atelier.execution.environments import ensure_environment
from atelier.sdk.models.nocode import no_code_script

if TYPE_CHECKING:
    from atelier.sdk.models.inference import InferenceConfig
    from atelier.sdk.models.model import Model

HOST = "127.0.0.1"
LOG_FILE = "service.log"
MANAGER_MODULE = "atelier.serving.endpoint"
_STOP_GRACE_SECONDS = 20.0


def workspace_dir(workspace: str) -> Path:
    return load_settings().home.expanduser().resolve() / "services" / workspace


def endpoint_dir(workspace: str, name: str) -> Path:
    return workspace_dir(workspace) / name


def free_port(port: int) -> int:
    """``port`` if it is free, or (for 0) a port the system picks."""
    if port == 0:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((HOST, 0))
            return int(probe.getsockname()[1])
    check_port_free(port)
    return port


def check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # as uvicorn does: a port in TIME_WAIT after a stop is still usable
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            raise ConflictError(
                f"port {port} on {HOST} is in use ({exc.strerror}); choose another port "
                "or pass port=0 for a free one"
            ) from None


def start_manager(
    tracking_uri: str,
    workspace: str,
    name: str,
    folder: Path,
    environment: dict[str, str] | None = None,
) -> int:
    """Start the endpoint's router and manager process, detached; return its pid.
    ``environment`` is what the backend says a child needs to reach it (a server's URL
    and token for the HTTP backend: the manager reports to the server)."""
    # the router and manager run on this Python: say which extra it lacks, not that the
    # process died
    require_extra("serve", "a local web service", modules=("fastapi", "uvicorn"))
    log = folder / LOG_FILE
    with log.open("a") as handle:
        handle.write(f"--- starting the endpoint {workspace}/{name} ---\n")
    command = [
        sys.executable,
        "-m",
        MANAGER_MODULE,
        "--tracking-uri",
        tracking_uri,
        "--workspace",
        workspace,
        "--name",
        name,
        "--log",
        str(log),
    ]
    env = {key: value for key, value in os.environ.items() if not key.startswith("ATELIER_SCORING")}
    env.update(environment or {})
    env["PYTHONUNBUFFERED"] = "1"
    shell = 'log=$1; shift; exec "$@" >> "$log" 2>&1'
    return spawn_detached(["/bin/sh", "-c", shell, "sh", str(log), *command], env)


def stop_manager(pid: int) -> None:
    """Terminate the manager's process group (router and replicas): SIGTERM, then SIGKILL."""
    if not alive(pid):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + _STOP_GRACE_SECONDS
    while _group_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    while alive(pid) and time.monotonic() < deadline + 5:
        time.sleep(0.05)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return alive(pgid) or _members(pgid)


def _members(pgid: int) -> bool:
    """Whether a non-zombie process other than the leader is in the group (Linux)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return False
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) endpoint manager."""
    if pid <= 0:
        return False
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False  # our own child, just reaped
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():  # Linux: rule out zombies and reused pids
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            return False
        if stat.rpartition(")")[2].split()[:1] == ["Z"]:
            return False
        for _ in range(20):
            if cmdline:
                break
            # empty while the process is between fork and exec (the shell's own exec of
            # Python included): look again rather than call a starting endpoint dead
            time.sleep(0.05)
            with contextlib.suppress(OSError):
                cmdline = (proc / "cmdline").read_bytes()
        return MANAGER_MODULE.encode() in cmdline
    return True


def tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def deployment_spec(
    folder: Path,
    deployment: str,
    models: list[Model],
    inference_config: InferenceConfig | None,
    settings: dict[str, Any],
) -> dict[str, Any]:
    """Download ``models`` into a fresh generation folder and describe the replicas."""
    if not models:
        raise ValidationError("give at least one model to deploy")
    if len({(m.name, m.version) for m in models}) != len(models):
        raise ValidationError("the same model version is listed twice")
    generation_dir = folder / "deployments" / deployment / uuid.uuid4().hex[:12]
    root = generation_dir / "models"
    for model in models:
        model.download(root / model.name / str(model.version))
    model_dir = root / models[0].name / str(models[0].version) if len(models) == 1 else root
    spec: dict[str, Any] = dict(settings)
    spec["model_dir"] = str(model_dir)
    spec["python"] = sys.executable
    if inference_config is None:
        script = no_code_script(models, generation_dir / "source")
        spec["entry_script"] = str(script)
        spec["source_directory"] = str(script.parent)
        spec["no_code"] = True
        return spec
    source = inference_config.source_directory.resolve()
    spec["entry_script"] = str(source / inference_config.entry_script)
    spec["source_directory"] = str(source)
    environment = inference_config.environment
    if environment is not None:
        env_spec = environment.to_spec()
        with (folder / LOG_FILE).open("a") as log:
            python = ensure_environment(env_spec, load_settings().home.expanduser() / "envs", log)
        spec["python"] = str(python)
        spec["environment"] = {"name": environment.name, "version": environment.version}
        spec["environment_variables"] = dict(env_spec.get("environment_variables") or {})
    return spec
