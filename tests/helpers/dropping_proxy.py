"""A loopback TCP proxy in front of a real server that loses answers on purpose: the
request reaches the server and is answered, then the proxy resets the client's connection
instead of passing the answer on (what a worker killed mid-answer, or a network that
drops a reply, does to a client)."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator


class DroppingProxy:
    """Forwards ``127.0.0.1:<port>`` to ``upstream``; ``drop(prefix, times)`` makes the
    next ``times`` requests whose first bytes start with ``prefix`` lose their answer."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.dropped = 0
        self._rules: list[list[object]] = []
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def drop(self, prefix: bytes, times: int = 1) -> None:
        with self._lock:
            self._rules.append([prefix, times])

    def _matches(self, data: bytes) -> bool:
        with self._lock:
            for rule in self._rules:
                prefix, left = rule
                live = isinstance(prefix, bytes) and isinstance(left, int) and left > 0
                if live and isinstance(left, int) and data.startswith(bytes(prefix)):  # type: ignore[arg-type]
                    rule[1] = left - 1
                    return True
        return False

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            with self._lock:
                self._open += [client, server]
            doomed = threading.Event()
            threading.Thread(
                target=self._requests, args=(client, server, doomed), daemon=True
            ).start()
            threading.Thread(
                target=self._answers, args=(server, client, doomed), daemon=True
            ).start()

    def _requests(
        self, client: socket.socket, server: socket.socket, doomed: threading.Event
    ) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                if self._matches(data):
                    doomed.set()
                server.sendall(data)
        with contextlib.suppress(OSError):
            server.shutdown(socket.SHUT_WR)

    def _answers(
        self, server: socket.socket, client: socket.socket, doomed: threading.Event
    ) -> None:
        with contextlib.suppress(OSError):
            while data := server.recv(65536):
                if doomed.is_set():
                    # answered by the server, never delivered: reset the client's connection
                    # (counted first: the client may look as soon as it sees the reset)
                    with self._lock:
                        self.dropped += 1
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    client.shutdown(socket.SHUT_RD)  # wakes the thread reading requests
                    client.close()
                    server.close()
                    return
                client.sendall(data)
        with contextlib.suppress(OSError):
            client.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.listener.close()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.close()


@contextlib.contextmanager
def dropping_proxy(url: str) -> Iterator[DroppingProxy]:
    """A ``DroppingProxy`` in front of the server at ``url`` (``http://host:port``)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    proxy = DroppingProxy((host, int(port)))
    try:
        yield proxy
    finally:
        proxy.close()
