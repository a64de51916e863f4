"""The agent process (``python -m atelier.execution.agent_process --home HOME``).

It imports the stack a supervisor needs once, at start, then listens on the home's Unix
socket (:func:`atelier.execution.agent.socket_path`) and forks a supervisor per request,
so every fork starts with that stack already imported. It exits after
``ATELIER_AGENT_IDLE_SECONDS`` (default 300) without requests.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

# the stack a supervisor needs, imported once here and shared by every fork
import atelier.client.embedded  # noqa: F401 - imported for its cost, not its names
from atelier.execution import supervisor
from atelier.execution.agent import socket_path

_REQUEST_LIMIT = 1 << 20


def _serve(home: Path, idle_seconds: float) -> None:
    path = socket_path(home)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    path.chmod(0o600)
    server.listen(16)
    server.settimeout(idle_seconds)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        while True:
            try:
                connection, _ = server.accept()
            except TimeoutError:
                return
            with connection:
                connection.settimeout(5)
                data = b""
                while not data.endswith(b"\n") and len(data) < _REQUEST_LIMIT:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                request = json.loads(data or b"{}")
                if not request.get("ping"):
                    _fork_supervisor(server, request, supervisor.run_forked)
                connection.sendall(b"ok")
    finally:
        server.close()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _fork_supervisor(server: socket.socket, request: dict[str, Any], run: Any) -> None:
    first = os.fork()
    if first:
        os.waitpid(first, 0)
        return
    code = 1
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        server.close()
        code = run(request["workspace"], request["run_id"], request.get("env") or {})
    finally:
        os._exit(code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Atelier's supervisor launcher for one home.")
    parser.add_argument("--home", required=True)
    args = parser.parse_args(argv)
    idle = float(os.environ.get("ATELIER_AGENT_IDLE_SECONDS", "300"))
    _serve(Path(args.home), idle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
