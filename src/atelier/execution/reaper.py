"""Failing runs whose supervisor is gone, through a backend, and stopping what it left here.

:func:`reap` is the check for one workspace: every unfinished supervised run whose
supervisor died on this host, or has not heartbeaten for ``ATELIER_HEARTBEAT_TIMEOUT``
seconds, is Failed with a ``SupervisorLost`` error, and what it left on this host (the
script and everything it started, found as :func:`atelier.core.processes.kill_run_processes`
says) is killed. It runs when
a client polls a run, in the warm agent for the runs it launched (:func:`reap_watched`,
in a forked child every few seconds, so no client needs to poll), and, for a server, in the
server itself (``atelier.server.reaper``).
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

from atelier.client.backend import Backend
from atelier.client.registry import backend_for
from atelier.containers import find_engine
from atelier.core.errors import AtelierError, NotFoundError
from atelier.core.processes import (
    MISSED_BEATS_MS,
    heartbeat_timeout_seconds,
    kill_run_processes,
    lost_reason,
)
from atelier.core.status import TERMINAL_STATUSES, RunStatus
from atelier.core.timeutil import now_ms
from atelier.execution.container_run import LABEL

#: how often the agent looks for lost supervisors of the runs it launched
REAP_SECONDS = 5.0


def reap(backend: Backend, workspace: str, timeout_seconds: float | None = None) -> list[str]:
    """Fail the unfinished runs of ``workspace`` whose supervisor is gone (its process is
    dead on this host, or it has not heartbeaten for ``timeout_seconds``, by default
    ``ATELIER_HEARTBEAT_TIMEOUT`` or 15) and kill their processes on this host; the ids of
    the runs it failed."""
    timeout = timeout_seconds or heartbeat_timeout_seconds()
    now = now_ms()
    reaped = []
    for record in backend.runs.stale_runs(workspace, now - MISSED_BEATS_MS):
        info = record.supervisor or {}
        reason = lost_reason(info, record.heartbeat_ms, now, timeout)
        if reason is None:
            continue
        with contextlib.suppress(AtelierError):
            backend.runs.transition(
                workspace,
                record.run_id,
                RunStatus.FAILED,
                error={
                    "code": "SupervisorLost",
                    "message": f"the run was marked Failed because {reason}",
                },
            )
            reaped.append(record.run_id)
            kill_run_processes(record.run_id, info)
            remove_run_containers(record.run_id)
    return reaped


def remove_run_containers(run_id: str) -> None:
    """Remove the containers of a docker-enabled run (``atelier.run=<run id>``): killing the
    engine's client, as :func:`kill_run_processes` does, leaves its container running."""
    with contextlib.suppress(AtelierError, OSError):
        find_engine().remove_labelled(f"{LABEL}={run_id}")


def watch_key(env: dict[str, str], workspace: str) -> str:
    """What the agent watches for a launch: the store (tracking URI and home) and workspace."""
    return json.dumps([env.get("ATELIER_TRACKING_URI", ""), env.get("ATELIER_HOME", ""), workspace])


def reap_watched(watched: dict[str, dict[str, Any]]) -> dict[str, list[str] | None]:
    """In a child of the agent: reap each watched store and workspace, and return, by key,
    the watched runs (``entry["runs"]``) that have ended, or None where the store did not
    answer. Runs in its own process because it opens the store, which the agent itself
    never does (its forks must start clean)."""
    ended: dict[str, list[str] | None] = {}
    for key, entry in watched.items():
        env: dict[str, str] = entry["env"]
        workspace = str(entry["workspace"])
        os.environ.clear()
        os.environ.update(env)
        try:
            backend = backend_for(env.get("ATELIER_TRACKING_URI"))
            reap(backend, workspace)
            ended[key] = [run for run in entry["runs"] if _has_ended(backend, workspace, run)]
        except AtelierError:
            ended[key] = None  # not answering now: looked at again next time
    return ended


def _has_ended(backend: Backend, workspace: str, run_id: str) -> bool:
    try:
        return backend.runs.get(workspace, run_id).status in TERMINAL_STATUSES
    except NotFoundError:
        return True
