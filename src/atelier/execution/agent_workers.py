"""The agent's supervisors, kept warm between runs (used by :mod:`.agent_process`).

A supervisor forked from the agent still pays, for its first run, what the agent cannot do
for it without opening the store: the database engine, SQLAlchemy's mapper setup and the
compilation of every statement it runs. A supervisor that has ended its run therefore tells
the agent it is idle and waits on its channel (a socket pair) for the next run of the same
store, instead of exiting: a sweep's trials, one after another, find it warm. The agent
closes the channel of a supervisor idle for ``ATELIER_AGENT_WORKER_IDLE_SECONDS`` (default
60) and then it exits; between runs it holds no database connection.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import selectors
import socket
import time
from collections.abc import Callable
from typing import Any

from atelier.client.registry import release_connections

#: the variables that name a store: a warm supervisor serves runs of one store only
_STORE_VARIABLES = ("ATELIER_TRACKING_URI", "ATELIER_HOME", "ATELIER_DATABASE_URL",
                    "ATELIER_BLOB_URL", "ATELIER_TOKEN")  # fmt: skip
_LINE_LIMIT = 1 << 20

Supervise = Callable[[str, str, dict[str, str]], int]


def store_key(request: dict[str, Any]) -> str:
    env = request.get("env") or {}
    return json.dumps([env.get(name, "") for name in _STORE_VARIABLES])


class Workers:
    """The agent's side: which supervisors are idle (by store) and which are busy."""

    def __init__(self, selector: selectors.BaseSelector) -> None:
        self.selector = selector
        self.idle_seconds = float(os.environ.get("ATELIER_AGENT_WORKER_IDLE_SECONDS", "60"))
        self.idle: dict[str, list[tuple[socket.socket, float]]] = {}
        self.busy: dict[socket.socket, str] = {}

    def channels(self) -> list[socket.socket]:
        return [*self.busy, *(c for pool in self.idle.values() for c, _ in pool)]

    def launch(self, server: socket.socket, request: dict[str, Any], run: Supervise) -> None:
        """Hand the run to an idle supervisor of its store, else fork a new one."""
        key = store_key(request)
        if not self.idle.get(key):
            self._collect_idle(key)
        pool = self.idle.get(key) or []
        while pool:
            channel, _ = pool.pop()
            try:
                channel.sendall(json.dumps(request).encode() + b"\n")
            except OSError:  # it died while idle: the next one, or a new one
                self._drop(channel)
                continue
            self.busy[channel] = key
            return
        ours, theirs = socket.socketpair()
        # the agent's ends stay with the agent: a copy there would keep a channel open
        detach([server, ours, *self.channels()], lambda: _work(theirs, request, run))
        theirs.close()
        self.selector.register(ours, selectors.EVENT_READ, "worker")
        self.busy[ours] = key

    def _collect_idle(self, key: str) -> None:
        """Take in the idle messages already sent by busy supervisors of ``key``: a run
        submitted as soon as the one before it ended can reach the agent in the same round
        as that supervisor's "idle", and must still find it warm."""
        mine = [channel for channel, owner in self.busy.items() if owner == key]
        if not mine:
            return
        ready, _, _ = select.select(mine, [], [], 0)
        for channel in ready:
            self.readable(channel)

    def readable(self, channel: socket.socket) -> None:
        """A supervisor said it is idle, or its channel closed (it exited)."""
        try:
            said = channel.recv(64)
        except OSError:
            said = b""
        key = self.busy.pop(channel, None)
        if not said or key is None:
            self._drop(channel)
            return
        self.idle.setdefault(key, []).append((channel, time.monotonic()))

    def expire(self, now: float | None = None) -> None:
        """Let go of the supervisors idle for too long (they exit when their channel closes)."""
        now = time.monotonic() if now is None else now
        for key, pool in list(self.idle.items()):
            for channel, since in list(pool):
                if now - since > self.idle_seconds:
                    pool.remove((channel, since))
                    self._drop(channel)
            if not pool:
                del self.idle[key]

    def close(self) -> None:
        for channel in self.channels():
            self._drop(channel)
        self.idle.clear()
        self.busy.clear()

    def _drop(self, channel: socket.socket) -> None:
        self.busy.pop(channel, None)
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(channel)
        channel.close()


def detach(agent_sockets: list[socket.socket], work: Callable[[], int]) -> None:
    """Run ``work`` in a grandchild in a session of its own (so the agent has no child to
    reap), without the agent's sockets; return once the child between has exited."""
    first = os.fork()
    if first:
        os.waitpid(first, 0)
        return
    code = 1
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        for sock in agent_sockets:
            sock.close()
        code = work()
    finally:
        os._exit(code)


def _work(channel: socket.socket, request: dict[str, Any], run: Supervise) -> int:
    """A warm supervisor: supervise, say idle, wait for the next run; exit when the agent
    closes the channel."""
    code = 1
    with channel:
        while True:
            code = run(request["workspace"], request["run_id"], request.get("env") or {})
            release_connections()  # nothing held open between runs (tests drop databases)
            try:
                channel.sendall(b"idle")
                line = _read_line(channel)
            except OSError:
                return code
            if not line:
                return code
            request = json.loads(line)


def _read_line(channel: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n") and len(data) < _LINE_LIMIT:
        chunk = channel.recv(65536)
        if not chunk:
            return b""
        data += chunk
    return data
