"""A warm launcher for supervisors, so a submitted script starts in well under a second.

Starting a supervisor as a fresh interpreter costs the import of the whole stack (about a
second on a small machine). The agent is a background process per Atelier home that has
imported it once and forks a supervisor per run on request, over a Unix socket. It never
opens a database itself, so its forked children start clean. It exits after
``ATELIER_AGENT_IDLE_SECONDS`` (default 300) without requests once no run it launched is
left unfinished; ``launch`` falls back to a fresh interpreter whenever the agent cannot be
reached. While runs it launched are unfinished, it looks every few seconds (in a forked
child) for those whose supervisor died, fails them and kills what they left running.

This module is the callers' side (start the agent, ask it for a launch);
:mod:`atelier.execution.agent_process` is the agent itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

_REQUEST_LIMIT = 1 << 20
#: checks in a row a watched store may fail to answer before the agent stops watching it
_MAX_UNANSWERED = 60
#: detached processes this process started, reaped here once they end (no zombies)
_spawned: set[int] = set()


def spawn_detached(args: list[str], env: dict[str, str]) -> int:
    """Start ``args`` in a new session with its standard streams on /dev/null; return its pid.

    No ``Popen`` handle is kept: such a process outlives the caller by design."""
    for pid in list(_spawned):
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == 0:
                continue
        _spawned.discard(pid)
    actions = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]
    pid = os.posix_spawn(args[0], args, env, file_actions=actions, setsid=True)
    _spawned.add(pid)
    return pid


#: a socket path that overrides the per-home one, so one agent serves every home of a
#: process tree (the test suite sets it: each test has its own home, and a fresh agent
#: per test would cost an interpreter start for every first submission)
SOCKET_VARIABLE = "ATELIER_AGENT_SOCKET"


def socket_path(home: Path) -> Path:
    """Short and unique per home (Unix socket paths are limited to about 100 bytes), or
    ``ATELIER_AGENT_SOCKET`` when set: the agent forks each supervisor with the variables
    of the submission it was asked for, so one agent can serve several homes."""
    pinned = os.environ.get(SOCKET_VARIABLE)
    if pinned:
        return Path(pinned)
    digest = hashlib.sha1(str(home.resolve()).encode(), usedforsecurity=False).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"atelier-agent-{os.getuid()}-{digest}.sock"


def request_launch(home: Path, payload: dict[str, Any], timeout: float = 2.0) -> bool:
    """Ask the home's agent to start a supervisor; False if there is no agent to ask."""
    path = socket_path(home)
    if not path.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(timeout)
            client.connect(str(path))
            client.sendall(json.dumps(payload).encode() + b"\n")
            return client.recv(16) == b"ok"
    except OSError:
        return False


def read_request(connection: socket.socket) -> dict[str, Any]:
    """One request from a launcher's client: a JSON line (of at most ``_REQUEST_LIMIT``)."""
    connection.settimeout(5)
    data = b""
    while not data.endswith(b"\n") and len(data) < _REQUEST_LIMIT:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    request: dict[str, Any] = json.loads(data or b"{}")
    return request


#: what the agent can run besides a run's supervisor, by a request's ``kind``: the module
#: of each, whose ``run_forked(workspace, run_id, env)`` a fork of the agent calls, and
#: whose ``main`` a fresh interpreter runs (``python -m``). Named, not imported: a sweep's
#: controller lives in the SDK, above this layer, and the agent imports it only once a
#: sweep asks for it (later sweeps then fork with it imported)
ENTRY_MODULES = {
    "run": "atelier.execution.supervisor_process",
    "pipeline": "atelier.execution.pipeline_runner",
    "sweep": "atelier.sdk.sweeps._controller_process",
}


def hand_over(home: Path, payload: dict[str, Any], env: dict[str, str]) -> None:
    """Run ``payload`` (``workspace``, ``run_id``, ``kind``, ``env``) in a detached process:
    forked by the home's warm agent when one answers; else an agent is started that forks
    it as soon as it listens (one interpreter started, not two); else (``ATELIER_AGENT=0``,
    or another process is starting the agent right now) a fresh interpreter."""
    if os.environ.get("ATELIER_AGENT", "1") != "0":
        if request_launch(home, payload):
            return
        if start_agent(home, env, first=payload):
            return
    run_fresh(payload, env)


def enter_fork(env: dict[str, str]) -> None:
    """In a process forked by the agent for a request: take the submitter's variables and
    leave the agent's standard streams (for /dev/null)."""
    os.environ.clear()
    os.environ.update(env)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    if devnull > 2:  # a warm supervisor enters once per run: no descriptor left open
        os.close(devnull)


def run_fresh(payload: dict[str, Any], env: dict[str, str]) -> None:
    """Start what ``payload`` asks for in a fresh interpreter (``python -m`` its module)."""
    module = ENTRY_MODULES[str(payload.get("kind") or "run")]
    command = [sys.executable, "-m", module, "--workspace", str(payload["workspace"])]
    spawn_detached([*command, "--run-id", str(payload["run_id"])], env)


def start_agent(home: Path, env: dict[str, str], first: dict[str, Any] | None = None) -> bool:
    """Start the home's agent in the background unless one is starting or running. With
    ``first`` (a launch request whose ``env`` is ``env``), the agent started runs it once
    it listens, or the agent found running is asked to: True when one of them took it."""
    lock_path = socket_path(home).with_suffix(".lock")
    with lock_path.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # another process is starting it
        if request_launch(home, {"ping": True}, timeout=0.5):
            return first is not None and request_launch(home, first)
        command = [sys.executable, "-m", "atelier.execution.agent_process", "--home", str(home)]
        if first is not None:
            # the agent's own variables are the request's: only what names the run is passed
            named = {key: first[key] for key in ("workspace", "run_id", "kind") if key in first}
            command += ["--first", json.dumps(named)]
        spawn_detached(command, env)
        return first is not None
