"""Local web services: ``Model.deploy`` starts a scoring server on this machine.

The names follow ``azureml.core.webservice``::

    config = LocalWebservice.deploy_configuration(port=8890)
    service = Model.deploy(ws, "iris-svc", [model], inference_config, config)
    service.wait_for_deployment(show_output=True)
    service.run(json.dumps({"data": [[1, 2, 3, 4]]}))

A deployment is a detached ``python -m atelier.serving.server`` process listening on
127.0.0.1. Its folder, ``<ATELIER_HOME>/services/<workspace>/<name>/``, holds the
downloaded models (``models/<name>/<version>/<asset>``), the server's output
(``service.log``) and the deployment's state (``service.json``: pid, port, keys, models),
written atomically. The state lives in that file, not in the metadata database, so only
processes on this machine with the same ``ATELIER_HOME`` see the service; a later change
should move it into the database (then ``Model.delete``'s check can move to the services).

Keys are handed to the server when it starts, so :meth:`Webservice.regen_key` restarts
the process (same port, same models) with the new key.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.errors import (
    AlreadyExistsError,
    AtelierError,
    ConflictError,
    NotFoundError,
    ValidationError,
)
from atelier.core.settings import load_settings
from atelier.core.timeutil import now_ms
from atelier.execution.agent import spawn_detached
from atelier.sdk.inference import InferenceConfig

if TYPE_CHECKING:
    from atelier.sdk.model import Model
    from atelier.sdk.workspace import Workspace

__all__ = [
    "LocalWebservice",
    "LocalWebserviceDeploymentConfiguration",
    "Webservice",
    "WebserviceError",
    "deploy_local",
]

HOST = "127.0.0.1"
STATE_FILE = "service.json"
LOG_FILE = "service.log"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{2,31}")
_SERVER_MODULE = "atelier.serving.server"
_LOG_TAIL_LINES = 40
_STOP_GRACE_SECONDS = 10.0

TRANSITIONING = "Transitioning"
HEALTHY = "Healthy"
FAILED = "Failed"


class WebserviceError(AtelierError):
    """A deployment failed to start, or the service answered a request with an error."""

    code = "webservice_error"
    exit_code = 7


class LocalWebserviceDeploymentConfiguration:
    """Where and how a local service runs: its port (0 = any free one) and worker count."""

    def __init__(self, port: int | None = None, workers: int = 1) -> None:
        if port is not None and (
            isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535
        ):
            raise ValidationError(f"port must be 0-65535, or None for a free port; got {port!r}")
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValidationError(f"workers must be a whole number >= 1; got {workers!r}")
        self.port = port or 0
        self.workers = workers

    def __repr__(self) -> str:
        return f"LocalWebserviceDeploymentConfiguration(port={self.port}, workers={self.workers})"


class Webservice:
    """A deployed service. ``Webservice(ws, "iris-svc")`` opens it (``NotFoundError`` if
    there is none by that name)."""

    compute_type = "Local"

    def __init__(self, workspace: Workspace, name: str) -> None:
        self.workspace = workspace
        self.name = name
        self._folder = _service_dir(workspace.name, name)
        self._state = _read_state(self._folder, name)

    # --- what it is -------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._state["port"])

    @property
    def scoring_uri(self) -> str:
        return f"http://{HOST}:{self.port}/score"

    @property
    def swagger_uri(self) -> str:
        return f"http://{HOST}:{self.port}/swagger.json"

    @property
    def models(self) -> builtins.list[str]:
        """The deployed models' ids (``<name>:<version>``)."""
        return [f"{m['name']}:{m['version']}" for m in self._state["models"]]

    @property
    def state(self) -> str:
        """``Transitioning`` while starting, ``Healthy`` once ``init()`` ran and the process
        is alive, ``Failed`` when the process died or ``init()`` raised."""
        return self._probe()

    def serialize(self) -> dict[str, Any]:
        """The service as a JSON-ready dict (without its keys)."""
        return {
            "name": self.name,
            "computeType": self.compute_type,
            "state": self.state,
            "scoringUri": self.scoring_uri,
            "swaggerUri": self.swagger_uri,
            "models": self.models,
            "port": self.port,
            "workers": self._state["workers"],
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(workspace={self.workspace.name!r}, name={self.name!r})"

    # --- listing --------------------------------------------------------------------------
    @classmethod
    def list(
        cls,
        workspace: Workspace,
        compute_type: str | None = None,
        image_name: str | None = None,
        image_id: str | None = None,
        model_name: str | None = None,
        model_id: str | None = None,
        tags: Any = None,
        properties: Any = None,
        image_digest: str | None = None,
    ) -> builtins.list[Webservice]:
        """The workspace's local services by name; ``model_name``/``model_id`` filter."""
        del image_name, image_id, tags, properties, image_digest  # azureml's image-era filters
        if compute_type is not None and compute_type.lower() != "local":
            return []
        root = _workspace_dir(workspace.name)
        found: builtins.list[Webservice] = []
        if not root.is_dir():
            return found
        for folder in sorted(root.iterdir()):
            if not (folder / STATE_FILE).is_file():
                continue
            try:
                service = LocalWebservice(workspace, folder.name)
            except NotFoundError:  # deleted meanwhile
                continue
            if model_name is not None and all(
                m.split(":")[0] != model_name for m in service.models
            ):
                continue
            if model_id is not None and model_id not in service.models:
                continue
            found.append(service)
        return found

    # --- using it -------------------------------------------------------------------------
    def wait_for_deployment(self, show_output: bool = False, timeout_sec: float = 60) -> None:
        """Block until the service is ``Healthy``.

        Raises :class:`WebserviceError` with the last lines of ``service.log`` when the
        process exits or ``init()`` fails, or when ``timeout_sec`` passes first."""
        deadline = time.monotonic() + timeout_sec
        shown = ""
        while True:
            state = self._probe()
            if show_output and state != shown:
                print(f"{self.name}: {state}", flush=True)
                shown = state
            if state == HEALTHY:
                return
            if state == FAILED:
                raise WebserviceError(
                    f"service {self.name!r} failed to start; the end of its log "
                    f"({self._folder / LOG_FILE}):\n{self._log_tail()}"
                )
            if time.monotonic() >= deadline:
                raise WebserviceError(
                    f"service {self.name!r} was not ready after {timeout_sec} s; the end of "
                    f"its log:\n{self._log_tail()}"
                )
            time.sleep(0.1)

    def run(self, input_data: Any) -> Any:
        """POST ``input_data`` to the scoring URI with the primary key; return the parsed
        JSON answer. A string or bytes is sent as is, anything else as JSON. A non-2xx
        answer raises :class:`WebserviceError` with the problem's detail."""
        import httpx

        body = input_data if isinstance(input_data, str | bytes) else json.dumps(input_data)
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self._state['primary_key']}",
        }
        try:
            response = httpx.post(self.scoring_uri, content=body, headers=headers, timeout=120)
        except httpx.HTTPError as exc:
            raise WebserviceError(
                f"service {self.name!r} could not be reached at {self.scoring_uri}: {exc}; "
                "check service.state and service.get_logs()"
            ) from None
        if not response.is_success:
            raise WebserviceError(
                f"service {self.name!r} answered {response.status_code}: {_detail(response)}"
            )
        try:
            return response.json()
        except ValueError:
            return response.text

    def get_keys(self) -> tuple[str, str]:
        """The (primary, secondary) bearer keys; either is accepted by ``/score``."""
        return str(self._state["primary_key"]), str(self._state["secondary_key"])

    def regen_key(self, key: str, set_key: str | None = None) -> None:
        """Replace the ``'Primary'`` or ``'Secondary'`` key with a new random one (or
        ``set_key``). The server reads its keys at start, so this restarts the process on
        the same port and waits until it is ready again; the old key stops working."""
        field = {"primary": "primary_key", "secondary": "secondary_key"}.get(str(key).lower())
        if field is None:
            raise ValidationError(f"key must be 'Primary' or 'Secondary'; got {key!r}")
        if set_key is not None and (not isinstance(set_key, str) or len(set_key) < 16):
            raise ValidationError("set_key must be a string of at least 16 characters")
        _stop(self._state)
        self._state[field] = set_key if set_key is not None else secrets.token_urlsafe(32)
        self._state = _start(self._folder, self._state)
        self.wait_for_deployment()

    def get_logs(self, num_lines: int = 5000) -> str:
        """The last ``num_lines`` lines of the server's output."""
        return _tail(self._folder / LOG_FILE, num_lines)

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Not supported for local services yet: delete and deploy again."""
        del args, kwargs
        raise ValidationError(
            "updating a local service is not supported yet; "
            "use Model.deploy(..., overwrite=True) to replace it"
        )

    def delete(self) -> None:
        """Stop the server (its whole process group) and remove the service's folder."""
        _stop(self._state)
        shutil.rmtree(self._folder, ignore_errors=True)

    # --- helpers --------------------------------------------------------------------------
    def _probe(self) -> str:
        import httpx

        self._state = _read_state(self._folder, self.name)
        if not _alive(int(self._state["pid"])):
            return self._record(FAILED)
        try:
            response = httpx.get(f"http://{HOST}:{self.port}/readyz", timeout=2)
        except httpx.HTTPError:
            return TRANSITIONING  # not listening yet
        if response.status_code == 200:
            return self._record(HEALTHY)
        # uvicorn answers only after the app's startup (init()) finished: it failed
        return self._record(FAILED)

    def _record(self, state: str) -> str:
        if self._state.get("state") != state:
            self._state["state"] = state
            _write_state(self._folder, self._state)
        return state

    def _log_tail(self) -> str:
        return _tail(self._folder / LOG_FILE, _LOG_TAIL_LINES) or "(the log is empty)"


class LocalWebservice(Webservice):
    """A service running on this machine (the only kind Atelier has yet)."""

    @staticmethod
    def deploy_configuration(
        port: int | None = None, workers: int = 1
    ) -> LocalWebserviceDeploymentConfiguration:
        """Its configuration: ``port`` (None or 0 = a free port) and ``workers``."""
        return LocalWebserviceDeploymentConfiguration(port=port, workers=workers)


def deploy_local(
    workspace: Workspace,
    name: str,
    models: builtins.list[Model],
    inference_config: InferenceConfig,
    deployment_config: LocalWebserviceDeploymentConfiguration | None = None,
    overwrite: bool = False,
) -> LocalWebservice:
    """``Model.deploy``: download ``models``, start the server, return the service.

    Returns at once; call ``wait_for_deployment()`` to wait until it is ready.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValidationError(
            f"service name {name!r} must be 3-32 letters, digits or '-', starting with a letter"
        )
    models = builtins.list(models or ())
    if not models:
        raise ValidationError("give at least one model to deploy")
    if len({(m.name, m.version) for m in models}) != len(models):
        raise ValidationError("the same model version is listed twice")
    if not isinstance(inference_config, InferenceConfig):
        raise ValidationError("inference_config must be an InferenceConfig")
    config = deployment_config or LocalWebserviceDeploymentConfiguration()
    if not isinstance(config, LocalWebserviceDeploymentConfiguration):
        raise ValidationError(
            "only local deployments are supported: pass LocalWebservice.deploy_configuration()"
        )
    folder = _service_dir(workspace.name, name)
    if (folder / STATE_FILE).is_file():
        if not overwrite:
            raise AlreadyExistsError(
                f"service {name!r} already exists; pass overwrite=True to replace it "
                "or delete it first"
            )
        LocalWebservice(workspace, name).delete()
    port = _free_port(config.port)
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        raise ConflictError(
            f"service {name!r} is being deployed by another process; try again later"
        ) from None
    try:
        root = folder / "models"
        for model in models:
            model.download(root / model.name / str(model.version))
        model_dir = root / models[0].name / str(models[0].version) if len(models) == 1 else root
        source = inference_config.source_directory.resolve()
        state: dict[str, Any] = {
            "name": name,
            "workspace": workspace.name,
            "port": port,
            "workers": config.workers,
            "entry_script": str(source / inference_config.entry_script),
            "source_directory": str(source),
            "model_dir": str(model_dir),
            "models": [{"name": m.name, "version": m.version} for m in models],
            "primary_key": secrets.token_urlsafe(32),
            "secondary_key": secrets.token_urlsafe(32),
            "created_ms": now_ms(),
            "pid": 0,
            "state": TRANSITIONING,
        }
        _start(folder, state)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return LocalWebservice(workspace, name)


def live_services_using(workspace: Workspace, model_name: str, version: int) -> list[str]:
    """Names of the workspace's running local services that serve this model version."""
    model_id = f"{model_name}:{version}"
    return [
        service.name
        for service in Webservice.list(workspace, model_id=model_id)
        if _alive(int(service._state["pid"]))
    ]


# --- processes ----------------------------------------------------------------------------
def _start(folder: Path, state: dict[str, Any]) -> dict[str, Any]:
    """Start the server for ``state`` (a free port is checked first); record its pid."""
    _check_port_free(int(state["port"]))
    log = folder / LOG_FILE
    with log.open("a") as handle:
        handle.write(f"--- starting {_SERVER_MODULE} on {HOST}:{state['port']} ---\n")
    command = [
        sys.executable,
        "-m",
        _SERVER_MODULE,
        "--entry-script",
        state["entry_script"],
        "--source-dir",
        state["source_directory"],
        "--model-dir",
        state["model_dir"],
        "--host",
        HOST,
        "--port",
        str(state["port"]),
        "--workers",
        str(state["workers"]),
    ]
    env = {key: value for key, value in os.environ.items() if not key.startswith("ATELIER_SCORING")}
    # keys travel in the environment, off the command line that other users can read
    env["ATELIER_SCORING_KEYS"] = json.dumps([state["primary_key"], state["secondary_key"]])
    env["PYTHONUNBUFFERED"] = "1"
    shell = 'log=$1; shift; exec "$@" >> "$log" 2>&1'
    state["pid"] = spawn_detached(["/bin/sh", "-c", shell, "sh", str(log), *command], env)
    state["state"] = TRANSITIONING
    try:
        _write_state(folder, state)
    except BaseException:
        _stop(state)
        raise
    return state


def _stop(state: dict[str, Any]) -> None:
    """Terminate the server's process group: SIGTERM, then SIGKILL after a grace period."""
    pid = int(state.get("pid") or 0)
    if not _alive(pid):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + _STOP_GRACE_SECONDS
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)  # stragglers of the group, or the leader itself
    while _alive(pid) and time.monotonic() < deadline + 5:
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) scoring server."""
    if pid <= 0:
        return False
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False  # our own child, just reaped
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # someone else's process: the pid was reused
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():  # Linux: rule out zombies and reused pids
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            return False
        if stat.rpartition(")")[2].split()[:1] == ["Z"]:
            return False
        return _SERVER_MODULE.encode() in cmdline
    return True


def _free_port(port: int) -> int:
    """``port`` if it is free, or (for 0) a port the system picks."""
    if port == 0:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((HOST, 0))
            return int(probe.getsockname()[1])
    _check_port_free(port)
    return port


def _check_port_free(port: int) -> None:
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


# --- files --------------------------------------------------------------------------------
def _workspace_dir(workspace: str) -> Path:
    return load_settings().home.expanduser().resolve() / "services" / workspace


def _service_dir(workspace: str, name: str) -> Path:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise NotFoundError(f"there is no service {name!r} in workspace {workspace!r}")
    return _workspace_dir(workspace) / name


def _read_state(folder: Path, name: str) -> dict[str, Any]:
    try:
        state: dict[str, Any] = json.loads((folder / STATE_FILE).read_text())
    except FileNotFoundError:
        raise NotFoundError(
            f"there is no service {name!r} in workspace {folder.parent.name!r}; "
            "Webservice.list(ws) shows the deployed ones"
        ) from None
    except (OSError, ValueError) as exc:
        raise WebserviceError(f"the state of service {name!r} is unreadable: {exc}") from None
    return state


def _write_state(folder: Path, state: dict[str, Any]) -> None:
    """Write ``service.json`` whole or not at all (a temporary file, then a rename)."""
    fd, temporary = tempfile.mkstemp(prefix=".service-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w") as handle:  # mkstemp made it 0600: the keys stay private
            json.dump(state, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temporary).replace(folder / STATE_FILE)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _detail(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return str(response.text)[:2000] or str(response.reason_phrase)
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)
    return str(body)
