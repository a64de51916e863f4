"""The ``ray`` compute backend (``AmlCompute``): runs are Ray jobs submitted to a cluster.

:class:`RayExecutor` submits each run's command as a Ray job through
``ray.job_submission.JobSubmissionClient`` and streams the job's log into the run's. The
cluster itself (an existing one checked by address, or a head started on this machine) is
:mod:`atelier.execution.ray_provision`'s part.

This is the path of a cluster that shares this machine's filesystem: the job runs
``cd <run folder> && <python> ...`` with the paths of the submitting machine, and the
supervisor here uploads ``./outputs`` and ``./logs`` from that folder after the job ends (a
head started by ``provision`` is on this machine, where both hold). A cluster whose nodes
share no filesystem with this machine (a workspace on a server, or a target with
``shared_filesystem=False``) runs the supervisor itself on the node instead:
:mod:`atelier.execution.ray_handover` submits it and :mod:`atelier.execution.ray_node` is it.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import shlex
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import IO, Any

# imported at module level so a missing Ray is reported by ``compute._load`` with the
# install hint (``pip install 'atelier-ml[ray]'``)
from ray.job_submission import JobStatus, JobSubmissionClient

from atelier.core.errors import ComputeTargetException
from atelier.execution.distributed_ray import job_pinning
from atelier.execution.environments import ensure_environment
from atelier.execution.ray_handover import job_resources

__all__ = [
    "RayExecutor",
    "RayJob",
    "job_entrypoint",
    "job_environment",
]

_LOG_POLL_SECONDS = 0.25
_STOP_TIMEOUT_SECONDS = 30.0
#: how long the Jobs API may stay unreachable while a run is going before it fails
_LOST_CONTACT_SECONDS = 60.0
#: variables of the run's environment that are always passed to the job
_PASSED_PREFIXES = ("ATELIER_", "AZUREML_", "MLFLOW_")
#: lines Ray itself writes into a job's log (not the script's output)
_RAY_LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+\t[A-Z]+ (job_manager|job_supervisor)\.py:\d+ -- "
)


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
        pinned = job_pinning(env)  # a distributed run's rank: on its node
        if not pinned and self.config.get("resources"):  # the target's: a worker node may be
            pinned = job_resources(self.config)  # launched for them (ray_autoscaler)
        try:
            client.submit_job(
                **pinned,
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

    @property
    def local_pid(self) -> int | None:
        return None  # the job runs on the cluster; nothing of it lives on this host

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
