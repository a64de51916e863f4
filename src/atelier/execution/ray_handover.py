"""Runs on a Ray cluster whose nodes share no filesystem with the submitting machine.

The run's supervisor runs on the node Ray chooses (:mod:`atelier.execution.ray_node`, the
Ray job's entrypoint): it fetches the snapshot, builds or reuses the environment there and
reports everything through the backend. This side (the supervisor process started at
submit) only submits that job and watches it:

- the run ends (on the node): nothing to do; a job still waiting for a node when its run
  was canceled is stopped;
- the job ends while its run has not (the node died, the supervisor was killed, the node
  lacks Atelier): the run is resubmitted while ``max_retries`` allows, else it is Failed
  with Ray's reason.

If this side goes away, the run goes on; the reapers fail it if its node supervisor stops
heartbeating (after ``NODE_GRACE_SECONDS`` while retries are left).

It speaks the Jobs API's REST routes with httpx: this side needs no Ray import (seconds on
a small machine, and a long-lived process would carry it).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import time
from typing import Any

import httpx

from atelier.client.api import SupervisionAPI
from atelier.client.backend import Backend
from atelier.core.errors import AtelierError, ComputeTargetException
from atelier.core.records import RunRecord
from atelier.core.status import TERMINAL_STATUSES, RunStatus

__all__ = ["hand_over", "job_resources", "node_entrypoint", "node_supervised"]

NODE_MODULE = "atelier.execution.ray_node"
_POLL_SECONDS = 0.5
_RUN_POLL_SECONDS = 2.0
#: how long a job may keep going after its run ended before it is stopped
_STOP_AFTER_SECONDS = 30.0
#: how long the Jobs API may stay unreachable before this side stops watching
_LOST_CONTACT_SECONDS = 120.0
#: variables of this machine passed on to the node's supervisor when set
_PASSED = ("ATELIER_HEARTBEAT_TIMEOUT", "ATELIER_KEEP_RUN_DIRS")
_ENDED = ("SUCCEEDED", "FAILED", "STOPPED")


class _Jobs:
    """The few routes of Ray's Jobs API this side uses (``/api/jobs/``)."""

    def __init__(self, address: str) -> None:
        self.http = httpx.Client(base_url=address.rstrip("/"), timeout=30.0)

    def submit(self, body: dict[str, Any]) -> None:
        answer = self.http.post("/api/jobs/", json=body)
        if answer.status_code != 200:
            raise RuntimeError(f"HTTP {answer.status_code}: {answer.text.strip()[-500:]}")

    def info(self, job_id: str) -> dict[str, Any]:
        answer = self.http.get(f"/api/jobs/{job_id}")
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
        return found

    def stop(self, job_id: str) -> None:
        self.http.post(f"/api/jobs/{job_id}/stop")


def node_supervised(config: dict[str, Any], backend: Backend) -> bool:
    """True when the target's runs are supervised on their node: the target says its nodes
    share no filesystem with this machine, or (unsaid) the workspace is on a server."""
    shared = config.get("shared_filesystem")
    if shared is not None:
        return not bool(shared)
    return backend.tracking_uri.startswith(("http://", "https://"))


def node_environment(
    backend: Backend, supervision: SupervisionAPI, workspace: str, run_id: str
) -> dict[str, str]:
    """What the node's supervisor needs to reach the workspace: the server and a token for
    this run only, or an embedded home's database and blob store."""
    child = backend.child_environment()
    uri = child["ATELIER_TRACKING_URI"]
    env = {key: os.environ[key] for key in _PASSED if key in os.environ}
    if uri.startswith(("http://", "https://")):
        return {
            **env,
            "ATELIER_TRACKING_URI": uri,
            **supervision.run_environment(workspace, run_id),
        }
    database = child.get("ATELIER_DATABASE_URL", "")
    if database.startswith("sqlite"):
        raise ComputeTargetException(
            "this Ray target's nodes share no filesystem with this machine, so they cannot "
            "reach this home's SQLite database: log in to a workspace server (atelier login "
            "--url ...), or keep the home on PostgreSQL and an object store (ATELIER_DATABASE_URL,"
            " ATELIER_BLOB_URL), or recreate the target with shared_filesystem=True"
        )
    return {
        **env,
        "ATELIER_TRACKING_URI": uri,
        "ATELIER_DATABASE_URL": database,
        "ATELIER_BLOB_URL": child.get("ATELIER_BLOB_URL", ""),
    }


def node_entrypoint(
    config: dict[str, Any], workspace: str, run_id: str, attempt: int, attempts: int, why: str
) -> str:
    """The shell line the Ray job runs on its node."""
    python = str(config.get("node_python") or "python3")
    command = [python, "-m", NODE_MODULE, "--workspace", workspace, "--run-id", run_id]
    command += ["--attempt", str(attempt), "--attempts", str(attempts)]
    if why:
        command += ["--previous", why]
    return "exec " + shlex.join(command)


def job_resources(config: dict[str, Any]) -> dict[str, Any]:
    """The Jobs API's entrypoint resources for a run: the target's ``resources``, or one CPU
    (with none, Ray would run the job on the head node)."""
    wanted = dict(config.get("resources") or {"CPU": 1})
    options: dict[str, Any] = {}
    for key, name in (("CPU", "entrypoint_num_cpus"), ("GPU", "entrypoint_num_gpus")):
        if key in wanted:
            options[name] = float(wanted.pop(key))
    if "memory" in wanted:
        options["entrypoint_memory"] = int(wanted.pop("memory"))
    if wanted:
        options["entrypoint_resources"] = {k: float(v) for k, v in wanted.items()}
    return options


def hand_over(
    backend: Backend,
    supervision: SupervisionAPI,
    workspace: str,
    record: RunRecord,
    config: dict[str, Any],
) -> int:
    """Submit the run's node supervisor as a Ray job and watch it to the end (see the
    module's docstring); 0 once the run has ended, 1 when this side failed it."""
    run_id = record.run_id
    attempts = 1 + int((record.definition or {}).get("max_retries") or 0)
    attempt, why = 1, ""
    client = _Jobs(str(config.get("address") or ""))
    try:
        env = node_environment(backend, supervision, workspace, run_id)
        while True:
            job_id = f"atelier-{run_id}-{attempt}-{os.urandom(3).hex()}"
            client.submit(
                {
                    "entrypoint": node_entrypoint(
                        config, workspace, run_id, attempt, attempts, why
                    ),
                    "submission_id": job_id,
                    "runtime_env": {"env_vars": env},
                    "metadata": {
                        "atelier_run_id": run_id,
                        "atelier_workspace": workspace,
                        "atelier_attempt": str(attempt),
                    },
                    **job_resources(config),
                }
            )
            ended = _watch(client, job_id, backend, workspace, run_id)
            if ended is None:
                return 0
            if attempt >= attempts:
                retried = f" (attempt {attempt} of {attempts})" if attempts > 1 else ""
                _fail(backend, workspace, run_id, "NodeLost", ended + retried)
                return 1
            attempt, why = attempt + 1, ended
    except AtelierError as exc:
        _fail(backend, workspace, run_id, "SystemError", exc.message)
        return 1
    except (httpx.HTTPError, RuntimeError) as exc:
        message = f"the Ray cluster at {config.get('address')} refused the run's job ({exc})"
        _fail(backend, workspace, run_id, "SystemError", message)
        return 1
    finally:
        client.http.close()


def _fail(backend: Backend, workspace: str, run_id: str, code: str, message: str) -> None:
    with contextlib.suppress(AtelierError):  # it may have ended meanwhile
        if backend.runs.get(workspace, run_id).status not in TERMINAL_STATUSES:
            error = {"code": code, "message": message}
            backend.runs.transition(workspace, run_id, RunStatus.FAILED, error=error)


def _watch(client: _Jobs, job_id: str, backend: Backend, workspace: str, run_id: str) -> str | None:
    """Follow the job until its run ends (None) or the job ends first (why, as a sentence)."""
    run_status: RunStatus | None = None
    run_checked = 0.0
    run_ended_at: float | None = None
    unreachable_since: float | None = None
    while True:
        time.sleep(_POLL_SECONDS)
        now = time.monotonic()
        if now - run_checked > _RUN_POLL_SECONDS:
            with contextlib.suppress(AtelierError):
                run_status = backend.runs.get(workspace, run_id).status
                run_checked = now
        try:
            info = client.info(job_id)
        except (httpx.HTTPError, ValueError):
            unreachable_since = unreachable_since or now
            if now - unreachable_since > _LOST_CONTACT_SECONDS:
                return None  # the run goes on without a watcher; the reapers stay
            continue
        unreachable_since = None
        status = str(info.get("status") or "")
        job_ended = status in _ENDED
        if run_status in TERMINAL_STATUSES:
            if job_ended:
                return None
            run_ended_at = run_ended_at or now
            if status == "PENDING" or now - run_ended_at > _STOP_AFTER_SECONDS:
                with contextlib.suppress(httpx.HTTPError):
                    client.stop(job_id)
                return None
            continue
        if job_ended:
            # the node's last words (its final status) may still be on their way
            time.sleep(_RUN_POLL_SECONDS)
            with contextlib.suppress(AtelierError):
                if backend.runs.get(workspace, run_id).status in TERMINAL_STATUSES:
                    return None
            code = info.get("driver_exit_code")
            said = f", exit code {code}" if code is not None else ""
            return (
                f"its Ray job {job_id} ended {status}{said} before the run did: "
                f"{info.get('message') or 'no reason given'}"
            )
