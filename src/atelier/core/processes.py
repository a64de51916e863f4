"""A run's processes on this host: naming them safely, telling whether its supervisor is
lost, and stopping what it left behind.

A supervisor reports in its heartbeat where it runs (``host``), its ``pid`` and process
group (``pgid``), and once the script has started the script's process group
(``script_pgid``). Process ids are reused, so the supervisor's comes with its start time
(``pid_start``: clock ticks since boot, from ``/proc``): a dead supervisor is not mistaken
for a later process with its pid. What a heartbeat says comes
from the client, so it only ever narrows the search: a process is killed only when it is in
one of those groups and shows it belongs to the run (``ATELIER_RUN_ID`` in its environment,
or ``--run-id`` on its command line). Where ``/proc`` is missing nothing is killed.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
from pathlib import Path
from typing import Any

#: a supervisor heartbeats every second; after this many missed beats it is looked at
MISSED_BEATS_MS = 3_000
#: ``ATELIER_HEARTBEAT_TIMEOUT``: a supervisor silent this long is lost, wherever it runs
DEFAULT_HEARTBEAT_TIMEOUT_SECONDS = 15.0


def heartbeat_timeout_seconds() -> float:
    """How long a supervisor may stay silent (``ATELIER_HEARTBEAT_TIMEOUT``, default 15 s)."""
    try:
        return float(os.environ.get("ATELIER_HEARTBEAT_TIMEOUT", "") or 0) or (
            DEFAULT_HEARTBEAT_TIMEOUT_SECONDS
        )
    except ValueError:
        return DEFAULT_HEARTBEAT_TIMEOUT_SECONDS


def process_start(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot), or None where that cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[19]) if len(fields) > 19 else None


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def is_alive(pid: int, start: int | None = None) -> bool:
    """True while ``pid`` runs (not a zombie) and, given ``start``, is the process that
    started then (not a later one with a reused pid)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive, and not ours to judge
    # a zombie child of ours counts as dead (and is collected here)
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    if _state(pid) == "Z":
        return False
    return start is None or process_start(pid) in (None, start)


def lost_reason(
    info: dict[str, Any], heartbeat_ms: int | None, now: int, timeout_seconds: float
) -> str | None:
    """Why a run's supervisor is lost (its process died on this host, or it has been silent
    for longer than ``timeout_seconds``), or None while it is not."""
    if (heartbeat_ms or 0) >= now - MISSED_BEATS_MS:
        return None
    # a supervisor on a Ray node with retries left: the submitting side may resubmit it once
    # Ray says its job ended, so it is given that long (``grace_seconds``) before a reaper
    grace = float(info.get("grace_seconds") or 0)
    here = info.get("host") == socket.gethostname()
    pid = int(info.get("pid") or 0)
    if here and not grace and not is_alive(pid, info.get("pid_start")):
        return "its supervisor process died"
    timeout_seconds = max(timeout_seconds, grace)
    if (heartbeat_ms or 0) < now - int(timeout_seconds * 1000):
        where = f" on {info['host']}" if info.get("node") and info.get("host") else ""
        return f"its supervisor{where} stopped heartbeating for more than {timeout_seconds:g} s"
    return None


def _belongs_to(pid: int, run_id: str) -> bool:
    """True when process ``pid`` is part of run ``run_id``: a script (and what it started)
    carries ``ATELIER_RUN_ID`` in its environment; a supervisor started afresh names the
    run on its command line."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    wanted = run_id.encode()
    if b"ATELIER_RUN_ID=" + wanted in environ:
        return True
    return any(
        flag == b"--run-id" and value == wanted for flag, value in itertools.pairwise(arguments)
    )


def run_processes(run_id: str, groups: set[int]) -> list[int]:
    """The processes of this host in one of the process ``groups`` that belong to run
    ``run_id``; none where ``/proc`` is missing."""
    found = []
    with contextlib.suppress(OSError):
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            pid = int(entry.name)
            in_group = len(fields) > 2 and int(fields[2]) in groups and fields[0] != "Z"
            if in_group and pid != os.getpid() and _belongs_to(pid, run_id):
                found.append(pid)
    return found


def kill_run_processes(run_id: str, info: dict[str, Any]) -> list[int]:
    """Stop what a lost supervisor of run ``run_id`` left on this host: every process of the
    script's group and of the supervisor's own session that belongs to the run (SIGKILL);
    the pids killed. ``info`` is what the supervisor reported, so nobody can name another
    process in it and have it killed: a process is killed only when it shows it belongs to
    this run, and only on the host the supervisor ran on."""
    if not info or info.get("host") != socket.gethostname():
        return []
    groups = {int(info.get(key) or 0) for key in ("script_pgid", "pgid")} - {0, 1}
    groups.discard(os.getpgid(0))
    killed = []
    for pid in run_processes(run_id, groups):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    return killed
