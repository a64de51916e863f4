"""Runs on a Ray cluster whose nodes share no filesystem with the submitting machine.

The run's supervisor runs on a node of the cluster (:mod:`atelier.execution.ray_node`): it
fetches the snapshot, builds or reuses the environment there and reports everything through
the backend. This side (the supervisor process started at submit) starts it and watches:

- it offers the run to an idle *warm launcher* of the target's kind (a Ray job kept on its
  node after an earlier run, holding one run's resources; found in the Jobs API's list and
  reached on its port), which forks the run's supervisor at once; when none takes it, it
  submits a new Ray job for the run (which becomes a launcher afterwards, unless the
  target says ``launcher_idle_seconds=0``);
- the run ends (on the node): nothing to do; a job still waiting for a node when its run
  was canceled is stopped;
- the job ends while its run has not (the node died, the supervisor was killed, the node
  lacks Atelier): the run is resubmitted while ``max_retries`` allows, else it is Failed
  with Ray's reason (``NodeLost``).

A run with retries is handed to the cluster's *watcher* (:func:`main`, a launcher job on
the head node that follows runs, each in a forked child, and resubmits them), so its retry
policy holds once this side is gone; this side then ends. Without a watcher (a head without
Atelier) this side watches to the end. If nothing watches, the run goes on; the reapers fail
it if its node supervisor stops heartbeating (after ``NODE_GRACE_SECONDS`` while retries are
left).

It speaks the Jobs API's REST routes with httpx: this side needs no Ray import (seconds on
a small machine, and a long-lived process would carry it).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import json
import os
import random
import secrets
import shlex
import socket
import sys
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import httpx

from atelier.client.api import SupervisionAPI
from atelier.client.backend import Backend
from atelier.core.errors import AtelierError, ComputeTargetException
from atelier.core.records import RunRecord
from atelier.core.status import TERMINAL_STATUSES, RunStatus
from atelier.core.tls_context import ssl_context
from atelier.execution.ray_launcher import KEY_VARIABLE, Launcher, listen, use_node_home

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
#: how long a node's warm launcher waits for another run by default
_LAUNCHER_IDLE_SECONDS = 60.0
_LAUNCHER_PROTOCOL = 1
#: where a launcher listens on its node (chosen here at random; taken: no warm launcher)
_LAUNCHER_PORTS = (20000, 30000)
_CLAIM_TIMEOUT_SECONDS = 2.0
#: the launcher job's metadata: its kind (see launcher_kind) and port
_KIND, _PORT = "atelier_launcher", "atelier_launcher_port"
#: how often a run with retries is offered to the cluster's watcher until it takes it
_HANDOFF_SECONDS = 1.0
_WATCHER_MIN_IDLE_SECONDS = 30.0
#: what _watch answers once the cluster's watcher follows the run
_HANDED = "handed over"


class _Jobs:
    """The few routes of Ray's Jobs API this side uses (``/api/jobs/``)."""

    def __init__(self, address: str) -> None:
        self.http = httpx.Client(base_url=address.rstrip("/"), timeout=30.0, verify=ssl_context())

    def submit(self, body: dict[str, Any]) -> None:
        answer = self.http.post("/api/jobs/", json=body)
        if answer.status_code != 200:
            raise RuntimeError(f"HTTP {answer.status_code}: {answer.text.strip()[-500:]}")

    def info(self, job_id: str) -> dict[str, Any]:
        answer = self.http.get(f"/api/jobs/{job_id}")
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
        return found

    def list(self) -> list[dict[str, Any]]:
        answer = self.http.get("/api/jobs/")
        answer.raise_for_status()
        found: list[dict[str, Any]] = answer.json()
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
    config: dict[str, Any],
    workspace: str,
    run_id: str,
    attempt: int,
    attempts: int,
    why: str,
    serve: int = 0,
) -> str:
    """The shell line the Ray job runs on its node (a warm launcher on port ``serve``)."""
    python = str(config.get("node_python") or "python3")
    command = [python, "-m", NODE_MODULE, "--workspace", workspace, "--run-id", run_id]
    command += ["--attempt", str(attempt), "--attempts", str(attempts)]
    if why:
        command += ["--previous", why]
    if serve:
        command += ["--serve", str(serve), "--idle", f"{launcher_idle_seconds(config):g}"]
    return "exec " + shlex.join(command)


def launcher_idle_seconds(config: dict[str, Any]) -> float:
    """How long a node's warm launcher waits for the next run (0: one job per run)."""
    value = config.get("launcher_idle_seconds")
    return _LAUNCHER_IDLE_SECONDS if value is None else float(value)


def launcher_kind(config: dict[str, Any]) -> str:
    """Which warm launchers can take this target's runs: those holding the same resources
    with the same interpreter (and speaking this side's protocol)."""
    spec = [_LAUNCHER_PROTOCOL, job_resources(config), str(config.get("node_python") or "")]
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


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
    """Hand the run to a warm launcher on a node, else submit its node supervisor as a Ray
    job, and watch it (see the module's docstring) until it ends, or, for a run with
    retries, until the cluster's watcher holds its retry policy; 0 then, 1 when this side
    failed it."""
    run_id = record.run_id
    attempts = 1 + int((record.definition or {}).get("max_retries") or 0)
    client = _Jobs(str(config.get("address") or ""))
    try:
        env = node_environment(backend, supervision, workspace, run_id)
        run = {"workspace": workspace, "run_id": run_id, "attempt": 1,
               "attempts": attempts, "previous": ""}  # fmt: skip
        job_id = _start(client, config, run, env)
        watcher = _Handoff(client, config, env) if attempts > 1 else None
        return _follow(client, backend, config, env, run, job_id, watcher)
    except AtelierError as exc:
        _fail(backend, workspace, run_id, "SystemError", exc.message)
        return 1
    except (httpx.HTTPError, RuntimeError) as exc:
        message = f"the Ray cluster at {config.get('address')} refused the run's job ({exc})"
        _fail(backend, workspace, run_id, "SystemError", message)
        return 1
    finally:
        client.http.close()


def _start(client: _Jobs, config: dict[str, Any], run: dict[str, Any], env: dict[str, str]) -> str:
    """Start an attempt of the run: an idle warm launcher takes it, else a new Ray job; the
    id of the job it runs in."""
    job_id = _claim(client, config, run, env)
    return job_id if job_id is not None else _submit(client, config, run, env)


def _follow(
    client: _Jobs,
    backend: Backend,
    config: dict[str, Any],
    env: dict[str, str],
    run: dict[str, Any],
    job_id: str,
    watcher: _Handoff | None,
) -> int:
    """Watch the run's job; start the next attempt when the job ends first, while
    attempts are left, else fail the run (``NodeLost``). Ends once the run has ended, or
    once ``watcher`` took the watch over."""
    workspace, run_id = run["workspace"], run["run_id"]
    launcher = launcher_idle_seconds(config) > 0
    while True:
        handoff = None if watcher is None else functools.partial(watcher.offer, run, job_id)
        ended = _watch(client, job_id, backend, workspace, run_id, launcher, handoff)
        if ended is None or ended is _HANDED:
            return 0
        attempt, attempts = int(run["attempt"]), int(run["attempts"])
        if attempt >= attempts:
            retried = f" (attempt {attempt} of {attempts})" if attempts > 1 else ""
            _fail(backend, workspace, run_id, "NodeLost", ended + retried)
            return 1
        run = {**run, "attempt": attempt + 1, "previous": ended}
        job_id = _start(client, config, run, env)


def _running(client: _Jobs, kind: str) -> list[dict[str, Any]]:
    """The running launcher jobs of ``kind`` on the cluster, in random order (several
    submitters at once spread over them)."""
    try:
        jobs = client.list()
    except (httpx.HTTPError, ValueError):
        return []
    found = [
        job
        for job in jobs
        if job.get("status") == "RUNNING" and (job.get("metadata") or {}).get(_KIND) == kind
    ]
    random.shuffle(found)
    return found


def _offer(job: dict[str, Any], request: dict[str, Any]) -> bool:
    """Send ``request`` to the launcher of ``job`` (with the key from its variables); True
    when it took it."""
    host = urllib.parse.urlsplit(str(job.get("driver_agent_http_address") or "")).hostname
    variables = (job.get("runtime_env") or {}).get("env_vars") or {}
    try:
        port = int(job["metadata"][_PORT])
    except (KeyError, ValueError):
        return False
    if not host:
        return False
    line = json.dumps({**request, "key": variables.get(KEY_VARIABLE, "")}).encode() + b"\n"
    try:
        with socket.create_connection((host, port), timeout=_CLAIM_TIMEOUT_SECONDS) as conn:
            conn.settimeout(_CLAIM_TIMEOUT_SECONDS)
            conn.sendall(line)
            return conn.makefile("rb").readline().strip() == b"ok"
    except OSError:
        return False


def _claim(
    client: _Jobs, config: dict[str, Any], run: dict[str, Any], env: dict[str, str]
) -> str | None:
    """Hand the run to an idle warm launcher of this target's kind; the id of its job, or
    None when none took it (none running, all busy, or none reachable)."""
    if launcher_idle_seconds(config) <= 0:
        return None
    for job in _running(client, launcher_kind(config)):
        if _offer(job, {**run, "env": env}):
            return str(job["submission_id"])
    return None


class _Handoff:
    """Hands the watch of a run with retries to the cluster's watcher (a warm launcher job
    on the head node that follows runs and resubmits them, :func:`main`), so the retry
    policy holds without this side; starts that watcher when none runs."""

    def __init__(self, client: _Jobs, config: dict[str, Any], env: dict[str, str]) -> None:
        self.client = client
        self.config = config
        self.env = env
        self.started = False

    def offer(self, run: dict[str, Any], job_id: str) -> bool:
        """True once a watcher follows the run from its job ``job_id``."""
        kind = watcher_kind(self.config)
        request = {**run, "job_id": job_id, "config": self.config, "env": self.env}
        if any(_offer(job, request) for job in _running(self.client, kind)):
            return True
        if not self.started:  # one try: a head without Atelier leaves this side watching
            self.started = True
            port = random.randrange(*_LAUNCHER_PORTS)
            python = str(self.config.get("node_python") or "python3")
            idle = max(launcher_idle_seconds(self.config), _WATCHER_MIN_IDLE_SECONDS)
            command = [python, "-m", __name__, "--serve", str(port), "--idle", f"{idle:g}"]
            with contextlib.suppress(httpx.HTTPError, RuntimeError):
                self.client.submit(
                    {
                        "entrypoint": "exec " + shlex.join(command),
                        "submission_id": f"atelier-watcher-{os.urandom(4).hex()}",
                        "runtime_env": {"env_vars": {KEY_VARIABLE: secrets.token_hex(16)}},
                        # no resources: Ray runs it on the head node
                        "metadata": {_KIND: kind, _PORT: str(port)},
                    }
                )
        return False


def watcher_kind(config: dict[str, Any]) -> str:
    """Which of the cluster's watchers can follow this target's runs."""
    spec = ["watcher", _LAUNCHER_PROTOCOL, str(config.get("node_python") or "")]
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def _watch_handed(request: dict[str, Any]) -> int:
    """In the cluster's watcher (a forked child, with the run's variables): follow the
    run handed over from its job and resubmit it while attempts are left."""
    from atelier.client.registry import backend_for

    use_node_home()
    backend = backend_for(os.environ["ATELIER_TRACKING_URI"])
    config = dict(request.get("config") or {})
    env = dict(request.get("env") or {})
    run = {key: request[key] for key in ("workspace", "run_id", "attempt", "attempts")}
    run["previous"] = str(request.get("previous") or "")
    client = _Jobs(str(config.get("address") or ""))
    try:
        return _follow(client, backend, config, env, run, str(request["job_id"]), None)
    except (AtelierError, httpx.HTTPError, RuntimeError):
        return 1
    finally:
        client.http.close()


def main(argv: list[str] | None = None) -> int:
    """The cluster's watcher (``python -m atelier.execution.ray_handover --serve PORT``):
    follows the runs handed to it, each in a forked child, and ends ``--idle`` seconds
    after the last one ended."""
    parser = argparse.ArgumentParser(description="Follow Atelier runs on this Ray cluster.")
    parser.add_argument("--serve", type=int, required=True)
    parser.add_argument("--idle", type=float, default=_LAUNCHER_IDLE_SECONDS)
    args = parser.parse_args(argv)
    import atelier.client.registry  # noqa: F401 - imported once, before any fork

    ssl_context()
    server = listen(args.serve)
    if server is None:
        return 1
    return Launcher(server, args.idle, _watch_handed, single=False).serve(None)


def _submit(client: _Jobs, config: dict[str, Any], run: dict[str, Any], env: dict[str, str]) -> str:
    """Submit a Ray job for the run: a new warm launcher whose first run it is (or, with
    ``launcher_idle_seconds=0``, a job for this run alone); the job's id."""
    run_id, attempt = run["run_id"], run["attempt"]
    job_id = f"atelier-{run_id}-{attempt}-{os.urandom(3).hex()}"
    serve = random.randrange(*_LAUNCHER_PORTS) if launcher_idle_seconds(config) > 0 else 0
    metadata = {
        "atelier_run_id": run_id,
        "atelier_workspace": run["workspace"],
        "atelier_attempt": str(attempt),
    }
    variables = dict(env)
    if serve:
        metadata.update({_KIND: launcher_kind(config), _PORT: str(serve)})
        variables[KEY_VARIABLE] = secrets.token_hex(16)
    entrypoint = node_entrypoint(
        config, run["workspace"], run_id, attempt, run["attempts"], run["previous"], serve
    )
    client.submit(
        {
            "entrypoint": entrypoint,
            "submission_id": job_id,
            "runtime_env": {"env_vars": variables},
            "metadata": metadata,
            **job_resources(config),
        }
    )
    return job_id


def _fail(backend: Backend, workspace: str, run_id: str, code: str, message: str) -> None:
    with contextlib.suppress(AtelierError):  # it may have ended meanwhile
        if backend.runs.get(workspace, run_id).status not in TERMINAL_STATUSES:
            error = {"code": code, "message": message}
            backend.runs.transition(workspace, run_id, RunStatus.FAILED, error=error)


def _watch(
    client: _Jobs,
    job_id: str,
    backend: Backend,
    workspace: str,
    run_id: str,
    launcher: bool,
    handoff: Callable[[], bool] | None = None,
) -> str | None:
    """Follow the job until its run ends (None), the job ends first (why, as a sentence)
    or ``handoff`` (tried every few seconds) says another watcher took over (``_HANDED``);
    a ``launcher`` job goes on after the run, for the next."""
    run_status: RunStatus | None = None
    run_checked = 0.0
    handoff_tried = 0.0
    run_ended_at: float | None = None
    unreachable_since: float | None = None
    while True:
        time.sleep(_POLL_SECONDS)
        now = time.monotonic()
        if handoff is not None and now - handoff_tried > _HANDOFF_SECONDS:
            if handoff():
                return _HANDED
            handoff_tried = time.monotonic()
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
            if launcher and status == "RUNNING":
                return None
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


if __name__ == "__main__":
    sys.exit(main())
