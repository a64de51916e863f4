"""The supervisor's end of the relay (:mod:`atelier.client.relay`).

While its script runs, a local supervisor listens on a Unix socket in a private folder and
runs the relayed calls of the script's processes on its own backend, one thread per
connection. Only the methods in :data:`atelier.client.relay.RELAYED` are served.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from atelier.client.backend import Backend
from atelier.client.relay import RELAYED, error_answer, recv_frame, send_frame


class RelayServer:
    """Serves a backend's relayed calls on a private Unix socket until closed."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        # a short private folder: socket paths are limited to about 100 bytes
        self.folder = Path(tempfile.mkdtemp(prefix="atelier-relay-"))
        self.path = str(self.folder / "s")
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(16)
        self.connections: list[socket.socket] = []
        self.closed = False
        self.thread = threading.Thread(target=self._accept, name="atelier-relay", daemon=True)
        self.thread.start()

    def __enter__(self) -> RelayServer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return  # closed
            self.connections.append(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            while True:
                try:
                    resource, method, args, kwargs = recv_frame(connection)
                except (OSError, EOFError, ValueError):
                    return
                try:
                    send_frame(connection, self._answer(resource, method, args, kwargs))
                except OSError:
                    return

    def _answer(
        self, resource: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[bool, Any]:
        if method not in RELAYED.get(resource, ()):
            return False, ("validation_error", f"{resource}.{method} is not relayed")
        try:
            return True, getattr(getattr(self.backend, resource), method)(*args, **kwargs)
        except Exception as exc:  # the script gets the error, the supervisor goes on
            return False, error_answer(exc)

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)
        self.server.close()
        for connection in self.connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        shutil.rmtree(self.folder, ignore_errors=True)
