"""The warm launcher of Ray nodes (:mod:`atelier.execution.ray_node`) and of the cluster's
watcher of retries (:mod:`atelier.execution.ray_handover`): a loop that listens on a port
for hand-overs (one JSON line that brings the launcher's key) and forks the work of each,
one at a time or any number at once, ending some seconds after the last one ended. It also
holds where a node keeps its runs (``ATELIER_NODE_ROOT``). It imports no supervisor, so the
submitting side can use it without the node's stack.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from atelier.execution.agent import read_request

__all__ = ["KEY_VARIABLE", "NODE_ROOT_VARIABLE", "Launcher", "Work", "listen", "node_root",
           "use_node_home"]  # fmt: skip

#: where a node keeps run folders and built environments (set on the node's ``ray start``)
NODE_ROOT_VARIABLE = "ATELIER_NODE_ROOT"
#: the key a hand-over to a warm launcher must bring (in the launcher job's variables)
KEY_VARIABLE = "ATELIER_LAUNCHER_KEY"
#: the variables a run brings; a launcher's later runs replace its first run's
_RUN_PREFIXES = ("ATELIER_", "AZUREML_", "MLFLOW_")


def node_root() -> Path:
    """This node's folder for runs and environments."""
    configured = os.environ.get(NODE_ROOT_VARIABLE)
    root = Path(configured) if configured else Path.home() / ".cache" / "atelier-node"
    root = root.expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root


def use_node_home() -> Path:
    """Make this node's folder the process's home (run folders and environments stay on
    this node) and point an embedded home's tracking URI at it; the folder."""
    root = node_root()
    os.environ["ATELIER_HOME"] = str(root)
    uri = os.environ.get("ATELIER_TRACKING_URI", "")
    if not uri.startswith(("http://", "https://")):
        # an embedded home: its database and blob store come in ATELIER_DATABASE_URL and
        # ATELIER_BLOB_URL, reached from here with this node's home for the rest
        os.environ["ATELIER_TRACKING_URI"] = f"file://{root}"
    return root


Work = Callable[[dict[str, Any]], int]


def _fork(
    work: Work, request: dict[str, Any], env: dict[str, str] | None, close: list[socket.socket]
) -> int:
    """Run ``work(request)`` in a forked child (with ``env``, the request's variables, in
    place of the previous request's); its pid."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        for handle in close:
            handle.close()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if env is not None:
            for key in [k for k in os.environ if k.startswith(_RUN_PREFIXES)]:
                if key not in (NODE_ROOT_VARIABLE, KEY_VARIABLE):
                    del os.environ[key]
            os.environ.update(env)
        from atelier.execution.local import kill_with_parent

        kill_with_parent()  # a launcher killed with its job leaves nothing of it behind
        code = work(request)
    finally:
        os._exit(code)


def listen(port: int) -> socket.socket | None:
    """A launcher's socket on ``port``, or None when it is taken."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        server.bind(("0.0.0.0", port))
    except OSError as exc:
        print(f"atelier launcher: port {port} is taken ({exc})", flush=True)
        server.close()
        return None
    server.listen(16)
    server.setblocking(False)
    return server


class Launcher:
    """A warm launcher's loop: fork ``work`` for each request that brings the key (one at a
    time when ``single``, the node's run launcher; any number for the cluster's watcher of
    retries), and end ``idle_seconds`` after the last one ended (see the module's
    docstring)."""

    def __init__(
        self, server: socket.socket | None, idle_seconds: float, work: Work, single: bool
    ) -> None:
        self.server = server
        self.idle_seconds = idle_seconds
        self.work = work
        self.single = single
        self.key = os.environ.get(KEY_VARIABLE, "")
        self.children: set[int] = set()
        self.stopping = False
        self.idle_since = time.monotonic()

    def _terminate(self, signum: int, frame: FrameType | None) -> None:
        del frame
        self.stopping = True  # Ray stops the job: stop what goes on, then end
        for child in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    def _reap(self) -> int:
        """The launcher's exit code if it must end now (a run launcher whose supervisor was
        killed), else 0."""
        for child in list(self.children):
            pid, status = os.waitpid(child, os.WNOHANG)
            if pid == 0:
                continue
            self.children.discard(child)
            self.idle_since = time.monotonic()
            if self.single and os.WIFSIGNALED(status) and not self.stopping:
                # as if the node died: the job ends FAILED and the run is retried
                print(
                    f"the run's supervisor was killed by signal {os.WTERMSIG(status)}", flush=True
                )
                return 1
        return 0

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            try:
                request = read_request(connection)
            except (OSError, ValueError):
                return
            if not self.key or request.get("key") != self.key:
                connection.sendall(b"refused\n")
            elif (self.single and self.children) or self.stopping:
                connection.sendall(b"busy\n")
            else:
                close = [connection] + ([self.server] if self.server else [])
                env = dict(request.get("env") or {})
                self.children.add(_fork(self.work, request, env, close))
                connection.sendall(b"ok\n")

    def serve(self, first: dict[str, Any] | None) -> int:
        signal.signal(signal.SIGTERM, self._terminate)
        if first is not None:
            self.children.add(_fork(self.work, first, None, [self.server] if self.server else []))
        selector = selectors.DefaultSelector()
        if self.server is not None:
            selector.register(self.server, selectors.EVENT_READ)
        try:
            while True:
                events = selector.select(timeout=0.25)
                # ended runs first: a hand-over just after a run ended finds this one idle
                code = self._reap()
                if code:
                    return code
                if not self.children and (
                    self.stopping
                    or self.server is None
                    or time.monotonic() - self.idle_since > self.idle_seconds
                ):
                    return 0
                for _ in events:
                    with contextlib.suppress(BlockingIOError, InterruptedError):
                        connection, _ = self.server.accept()  # type: ignore[union-attr]
                        self._answer(connection)
        finally:
            selector.close()
            if self.server is not None:
                self.server.close()
