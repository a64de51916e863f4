"""The agent process (``python -m atelier.execution.agent_process --home HOME``).

It imports the stack a supervisor needs once, at start, then listens on the home's Unix
socket (:func:`atelier.execution.agent.socket_path`) and forks a supervisor per request,
so every fork starts with that stack already imported; likewise a pipeline's runner and a
sweep's controller (``kind`` in :data:`atelier.execution.agent.ENTRY_MODULES`). Started
with ``--first``, it first runs the request of the process that started it. It exits after
``ATELIER_AGENT_IDLE_SECONDS`` (default 300) without requests once no run it launched is
left unfinished; meanwhile it looks every few seconds (in a forked child) for launched runs
whose supervisor died, fails them and kills what they left running.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import selectors
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

# the stack a supervisor needs, imported once here and shared by every fork
import atelier.client.embedded.backend  # imported for its cost, not its names
import atelier.execution.pipeline_runner  # noqa: F401 - a pipeline's runner, forked warm
from atelier.core.tls_context import ssl_context
from atelier.execution import reaper, supervisor_process
from atelier.execution.agent import ENTRY_MODULES, read_request, run_fresh, socket_path
from atelier.execution.agent_workers import Workers, detach

#: checks in a row a watched store may fail to answer before the agent stops watching it
_MAX_UNANSWERED = 60


def _serve(home: Path, idle_seconds: float, first: dict[str, Any] | None = None) -> None:
    """Listen on the home's socket and answer requests until idle; ``first`` (the request
    of the process that started this agent) is run as soon as the socket listens."""
    path = socket_path(home)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
        path.chmod(0o600)
        server.listen(16)
    except OSError:
        server.close()
        if first is not None:
            run_fresh(first, first["env"])  # no agent here: the run must still start
        raise
    server.settimeout(1.0)  # accept() only follows select(); never wait long on it
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ, "server")
    workers = Workers(selector)
    watcher = _Watcher()
    last_request = time.monotonic()
    try:
        if first is not None:
            try:
                handed = _dispatch(server, workers, watcher, first)
            except OSError:  # no fork possible now (a process limit): not lost either way
                handed = False
            if not handed:
                run_fresh(first, first["env"])
        while True:
            watcher.tick(server)
            workers.expire()
            events = selector.select(timeout=min(idle_seconds, reaper.REAP_SECONDS))
            if not events:
                # idle, and no launched run left whose supervisor could die unnoticed
                if time.monotonic() - last_request > idle_seconds and watcher.idle():
                    return
                continue
            for key, _ in events:
                if key.data != "server":
                    workers.readable(key.fileobj)  # type: ignore[arg-type]
                    continue
                last_request = time.monotonic()
                _answer(server, workers, watcher)
    finally:
        workers.close()
        selector.close()
        server.close()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _answer(server: socket.socket, workers: Workers, watcher: _Watcher) -> None:
    try:
        connection, _ = server.accept()
    except TimeoutError:
        return
    with connection:
        request = read_request(connection)
        if request.get("ping") or _dispatch(server, workers, watcher, request):
            connection.sendall(b"ok")
        else:
            connection.sendall(b"no")  # the caller starts it in a fresh interpreter


def _dispatch(
    server: socket.socket, workers: Workers, watcher: _Watcher, request: dict[str, Any]
) -> bool:
    """Fork what ``request`` asks for: a run's supervisor (a warm one when one is idle), a
    pipeline's runner or a sweep's controller; and watch the run until it ends. False when
    this agent cannot (a kind it does not know, an entry module that does not import)."""
    kind = request.get("kind") or "run"
    if kind == "run":
        workers.launch(server, request, supervisor_process.run_forked)
    elif kind in ENTRY_MODULES:
        try:
            # imported (if it is not yet) before the fork: later requests fork it warm
            entry = importlib.import_module(ENTRY_MODULES[kind])
        except ImportError:
            return False
        _fork_supervisor(server, workers, request, entry.run_forked)
    else:
        return False
    watcher.watch(request)
    return True


class _Watcher:
    """The runs this agent launched, until they end: every few seconds a forked child
    fails those whose supervisor died and kills what it left (``reaper.reap_watched``), so
    a lost run is noticed without any client polling. The agent itself never opens the
    store; the child reports back which of the watched runs have ended."""

    def __init__(self) -> None:
        self.watched: dict[str, dict[str, Any]] = {}
        self.child: tuple[int, IO[bytes]] | None = None
        self.last = 0.0

    def watch(self, request: dict[str, Any]) -> None:
        env = request.get("env") or {}
        workspace = str(request.get("workspace") or "")
        entry = self.watched.setdefault(
            reaper.watch_key(env, workspace), {"env": env, "workspace": workspace, "runs": []}
        )
        entry["env"] = env
        entry["runs"].append(str(request.get("run_id") or ""))

    def _forget(self, ended: dict[str, list[str] | None]) -> None:
        """Stop watching the runs that ended, and the stores left with none or that have
        not answered for a few minutes (so the agent can still go idle)."""
        for key, runs in ended.items():
            entry = self.watched.get(key)
            if entry is None:
                continue
            if runs is None:
                entry["failures"] = entry.get("failures", 0) + 1
                if entry["failures"] >= _MAX_UNANSWERED:
                    del self.watched[key]
                continue
            entry["failures"] = 0
            entry["runs"] = [run for run in entry["runs"] if run not in runs]
            if not entry["runs"]:
                del self.watched[key]

    def idle(self) -> bool:
        return not self.watched and self.child is None

    def tick(self, server: socket.socket) -> None:
        """Collect the last check's answer once its child has exited; start the next check
        every few seconds while there are runs to watch."""
        if self.child is not None:
            pid, answer = self.child
            if os.waitpid(pid, os.WNOHANG)[0] == 0:
                return
            with answer, contextlib.suppress(ValueError):
                answer.seek(0)
                self._forget(json.loads(answer.read() or b"{}"))
            self.child = None
        if not self.watched or time.monotonic() - self.last < reaper.REAP_SECONDS:
            return
        self.last = time.monotonic()
        # a file, not a pipe: a long answer cannot block the child before the agent reads
        answer = tempfile.TemporaryFile()  # noqa: SIM115 - closed in tick() once the child is done
        pid = os.fork()
        if pid:
            self.child = (pid, answer)
            return
        code = 1
        try:
            server.close()
            answer.write(json.dumps(reaper.reap_watched(self.watched)).encode())
            answer.flush()
            code = 0
        finally:
            os._exit(code)


def _fork_supervisor(
    server: socket.socket, workers: Workers, request: dict[str, Any], run: Any
) -> None:
    env = request.get("env") or {}
    detach(
        [server, *workers.channels()],
        lambda: int(run(request["workspace"], request["run_id"], env)),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Atelier's supervisor launcher for one home.")
    parser.add_argument("--home", required=True)
    parser.add_argument(
        "--first", help="the launch request (JSON, without its env: this process's) to run first"
    )
    args = parser.parse_args(argv)
    first = None
    if args.first:
        first = {**json.loads(args.first), "env": dict(os.environ)}
        if (first.get("kind") or "run") not in ENTRY_MODULES:
            parser.error(f"unknown kind in --first: {first.get('kind')!r}")
    ssl_context()  # the CA bundle of a server's clients, loaded once for every fork
    idle = float(os.environ.get("ATELIER_AGENT_IDLE_SECONDS", "300"))
    _serve(Path(args.home), idle, first)
    return 0


if __name__ == "__main__":
    sys.exit(main())
