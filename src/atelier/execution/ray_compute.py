"""The ``ray`` compute backend (``AmlCompute``): runs are Ray jobs submitted to a cluster.

``provision`` checks an existing cluster's Jobs API (``http://head:8265``) or, without an
address, starts a Ray head on 127.0.0.1 for this machine and records how to stop it
(:func:`stop_local_head`). :class:`RayExecutor` submits each run's command as a Ray job
through ``ray.job_submission.JobSubmissionClient`` and streams the job's log into the run's.

Limits of a *remote* cluster: the job runs ``cd <run folder> && <python> ...`` with the
paths of the submitting machine, because the supervisor uploads ``./outputs`` and
``./logs`` from that folder after the job ends (Ray's ``working_dir`` would copy the
snapshot away and the outputs would stay on the cluster). So a remote cluster needs the
same paths (a shared filesystem mounted at the same place, and the environment's
interpreter at the same path, e.g. a user-managed environment with an ``interpreter_path``
that exists on the workers). A head started by ``provision`` is on this machine, where
both hold.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

# imported at module level so a missing Ray is reported by ``compute._load`` with the
# install hint (``pip install 'atelier-ml[ray]'``)
from ray.job_submission import JobStatus, JobSubmissionClient

from atelier.core.errors import ComputeTargetException
from atelier.core.settings import load_settings
from atelier.execution.environments import ensure_environment

#: every process of a head started here carries this variable (value: the head's token), so
#: the head can be stopped without touching other Ray clusters on the machine
HEAD_MARKER = "ATELIER_RAY_HEAD"
HEAD_START_TIMEOUT_SECONDS = 90.0
_CHECK_TIMEOUT_SECONDS = 5.0
_LOG_POLL_SECONDS = 0.25
_STOP_TIMEOUT_SECONDS = 30.0
#: how long the Jobs API may stay unreachable while a run is going before it fails
_LOST_CONTACT_SECONDS = 60.0
_RAY_DASHBOARD_PORT = 8265
#: variables of the run's environment that are always passed to the job
_PASSED_PREFIXES = ("ATELIER_", "AZUREML_", "MLFLOW_")
#: lines Ray itself writes into a job's log (not the script's output)
_RAY_LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+\t[A-Z]+ (job_manager|job_supervisor)\.py:\d+ -- "
)

#: heads started by this process, kept so they are reaped (not left as zombies) here
_heads: dict[int, subprocess.Popen[bytes]] = {}


# --- provisioning -------------------------------------------------------------------------
def provision(settings: dict[str, Any], workspace: str, name: str) -> dict[str, Any]:
    """Check the cluster at ``settings["address"]`` or start a local head; return the
    target's config: ``address`` (a Jobs API URL), ``started_head`` and, for a local head,
    ``head_pid``/``head_token``/``head_temp_dir`` (what :func:`stop_local_head` needs)."""
    max_nodes = int(settings.get("max_nodes") or 1)
    config: dict[str, Any] = {
        key: settings[key]
        for key in ("vm_size", "min_nodes", "max_nodes", "idle_seconds_before_scaledown")
        if key in settings
    }
    config["max_concurrent_runs"] = max(1, max_nodes)
    address = settings.get("address")
    if address:
        return {**config, "address": _resolve_address(str(address)), "started_head": False}
    state_dir = load_settings().home.expanduser().resolve() / "ray" / workspace / name
    return {**config, **start_local_head(state_dir), "started_head": True}


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
    state_dir: Path, timeout: float = HEAD_START_TIMEOUT_SECONDS
) -> dict[str, Any]:
    """Start a Ray head on 127.0.0.1 (2 CPUs, a small object store) and wait for its Jobs API.

    Every port is chosen free (none of Ray's fixed defaults, so it can run beside other
    clusters). ``state_dir`` gets ``head.log`` (Ray's start output) and ``head.json`` (the
    returned config). Raises ``ComputeTargetException`` if the head does not come up.
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
    # the head's processes must not inherit this process's run or store (a job gets its
    # own from the run); the marker lets stop_local_head find exactly these processes
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ATELIER_", "AZUREML_")) and key != "RAY_ADDRESS"
    }
    env[HEAD_MARKER] = token
    env["RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S"] = "0"
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
        except ComputeTargetException:
            if time.monotonic() > deadline:
                raise ComputeTargetException(
                    f"the local Ray head did not answer within {timeout:g} s: "
                    f"{_tail(log_path)} (see {log_path}); "
                    "check that this machine can run Ray (`ray start --head`)"
                ) from None
            time.sleep(0.25)
        else:
            return
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
    given by address): SIGTERM to its ``ray start`` process, which stops Ray's processes in
    order, then SIGKILL to any process still carrying the head's marker; its temp folder
    is removed. Other Ray clusters on the machine are untouched (unlike ``ray stop``)."""
    if not config.get("started_head"):
        return
    pid = int(config.get("head_pid") or 0)
    token = str(config.get("head_token") or "")
    own = _heads.pop(pid, None)
    deadline = time.monotonic() + timeout
    if pid > 0 and _leader_alive(pid, own, token):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
        graceful = min(deadline, time.monotonic() + timeout / 2)
        while time.monotonic() < graceful and _leader_alive(pid, own, token):
            time.sleep(0.1)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        left = _marked(token)
        for member in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(member, sig)
        if own is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                own.wait(timeout=max(0.1, min(2.0, deadline - time.monotonic())))
        pause = time.monotonic() + (2.0 if sig == signal.SIGTERM else 5.0)
        while _marked(token) and time.monotonic() < min(pause, deadline):
            time.sleep(0.1)
    temp_dir = str(config.get("head_temp_dir") or "")
    if Path(temp_dir).name.startswith("atelier-ray-"):
        shutil.rmtree(temp_dir, ignore_errors=True)


def _leader_alive(pid: int, own: subprocess.Popen[bytes] | None, token: str) -> bool:
    if own is not None:
        return own.poll() is None
    return pid in _marked(token)


def _marked(token: str) -> list[int]:
    """This machine's processes whose environment carries the head's marker (Linux)."""
    if not token:
        return []
    needle = f"{HEAD_MARKER}={token}".encode()
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


# --- running scripts ------------------------------------------------------------------------
def _client(address: str) -> Any:
    try:
        return JobSubmissionClient(address)
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError …
        raise ComputeTargetException(
            f"the Ray cluster at {address} does not answer ({exc}); start it again or "
            "recreate the compute target (a head started by Atelier stops with its machine)"
        ) from exc


def job_environment(env: dict[str, str]) -> dict[str, str]:
    """The variables a job needs: Atelier's and azureml's, and whatever the run set or
    changed; not the submitter's whole environment (the Ray workers have their own)."""
    return {
        key: value
        for key, value in env.items()
        if key != "PATH"
        and (
            key.startswith(_PASSED_PREFIXES)
            or key == "PYTHONUNBUFFERED"
            or os.environ.get(key) != value
        )
    }


def job_entrypoint(command: list[str], workdir: Path, python: Path | None) -> str:
    """The shell line Ray runs: in the run's folder, with the environment's ``bin`` first on
    ``PATH`` (as for local runs), replaced by the command so signals reach it directly."""
    line = f"cd {shlex.quote(str(workdir))} && "
    if python is not None:
        line += f'export PATH={shlex.quote(str(python.parent))}:"$PATH" && '
    return line + "exec " + shlex.join(command)


class RayExecutor:
    """Builds (or finds) the environment on this machine and runs the script as a Ray job."""

    def __init__(self, config: dict[str, Any], home: Path) -> None:
        self.config = config
        self.home = home
        address = config.get("address")
        if not address:
            raise ComputeTargetException(
                "this Ray compute target has no address; delete it and create it again with "
                "ComputeTarget.create(ws, name, AmlCompute.provisioning_configuration(...))"
            )
        self.address = str(address)
        self.python: Path | None = None

    def prepare(self, spec: dict[str, Any], log: IO[str]) -> Path:
        # the interpreter is built here; a head started by provision() is on this machine,
        # a remote cluster needs the same path (see the module's docstring)
        self.python = ensure_environment(spec, self.home / "envs", log)
        return self.python

    def start(
        self,
        command: list[str],
        workdir: Path,
        env: dict[str, str],
        out: IO[bytes],
        stderr_tail: collections.deque[str],
    ) -> RayJob:
        client = _client(self.address)
        run_id = env.get("ATELIER_RUN_ID") or "run"
        submission_id = f"atelier-{run_id}-{uuid.uuid4().hex[:8]}"
        entrypoint = job_entrypoint(command, workdir, self.python)
        try:
            client.submit_job(
                entrypoint=entrypoint,
                runtime_env={"env_vars": job_environment(env)},
                submission_id=submission_id,
                metadata={
                    "atelier_run_id": run_id,
                    "atelier_workspace": env.get("ATELIER_WORKSPACE", ""),
                },
            )
        except Exception as exc:
            raise ComputeTargetException(
                f"the Ray cluster at {self.address} refused the run's job ({exc})"
            ) from exc
        return RayJob(client, submission_id, entrypoint, out, stderr_tail)


class RayJob:
    """A submitted Ray job: its status as an exit code, and a thread copying its log."""

    def __init__(
        self,
        client: Any,
        job_id: str,
        entrypoint: str,
        out: IO[bytes],
        stderr_tail: collections.deque[str],
    ) -> None:
        self.client = client
        self.job_id = job_id
        self.out = out
        self.stderr_tail = stderr_tail
        self.exit_code: int | None = None
        self.message: str | None = None
        self._own_lines = {f"Running entrypoint for job {job_id}: {entrypoint}\n"}
        self._offset = 0
        self._pending = ""
        self._unreachable_since: float | None = None
        self._finished = threading.Event()
        self.reader = threading.Thread(target=self._follow, daemon=True)
        self.reader.start()

    # --- the log -----------------------------------------------------------------------
    def _follow(self) -> None:
        while not self._finished.wait(_LOG_POLL_SECONDS):
            self._pull(final=False)
        self._pull(final=True)

    def _pull(self, final: bool) -> None:
        with contextlib.suppress(Exception):  # a missed poll is retried; the end pulls again
            logs: str = self.client.get_job_logs(self.job_id)
            if len(logs) < self._offset:  # the log was replaced: start over
                self._offset = 0
            text = self._pending + logs[self._offset :]
            self._offset = len(logs)
            lines = text.splitlines(keepends=True)
            self._pending = ""
            if lines and not lines[-1].endswith("\n") and not final:
                self._pending = lines.pop()
            for line in lines:
                if line in self._own_lines or _RAY_LOG_LINE.match(line):
                    continue
                self.out.write(line.encode("utf-8", errors="replace"))
                self.stderr_tail.append(line)

    # --- the status --------------------------------------------------------------------
    def _poll(self) -> int | None:
        if self.exit_code is not None:
            return self.exit_code
        try:
            info = self.client.get_job_info(self.job_id)
        except Exception as exc:
            now = time.monotonic()
            self._unreachable_since = self._unreachable_since or now
            if now - self._unreachable_since > _LOST_CONTACT_SECONDS:
                self._finished.set()  # the supervisor gives up on the job: so does the log
                raise ComputeTargetException(
                    f"lost contact with the Ray cluster for more than {_LOST_CONTACT_SECONDS:g} s "
                    f"({exc}); its job {self.job_id} may still be running there"
                ) from exc
            return None
        self._unreachable_since = None
        status = info.status
        if status == JobStatus.SUCCEEDED:
            self.exit_code = 0
        elif status == JobStatus.STOPPED:
            self.exit_code = -signal.SIGTERM
        elif status == JobStatus.FAILED:
            code = getattr(info, "driver_exit_code", None)  # only in newer Ray versions
            self.exit_code = int(code) if code is not None else 1
            if code is None:  # Ray failed the job itself (runtime env, start): say why
                self.message = f"Ray failed the job {self.job_id}: {info.message}"
        return self.exit_code

    def wait(self, timeout: float) -> int | None:
        """The exit code, or None if the job is still going after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while (code := self._poll()) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            time.sleep(min(0.1, left))
        return code

    def stop(self) -> None:
        """Ask Ray to stop the job (SIGTERM, then SIGKILL after a grace period) and wait."""
        with contextlib.suppress(Exception):  # already ended, or the cluster is gone
            self.client.stop_job(self.job_id)
        deadline = time.monotonic() + _STOP_TIMEOUT_SECONDS
        with contextlib.suppress(ComputeTargetException):
            while self._poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)

    def close(self) -> None:
        self._finished.set()
        self.reader.join(timeout=10)
        if self.message:
            line = self.message.rstrip("\n") + "\n"
            self.out.write(line.encode("utf-8", errors="replace"))
            self.stderr_tail.append(line)
