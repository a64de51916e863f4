"""The supervisor relay: a script started by a local supervisor reports through it.

Opening the store from a script costs the import of the database layer and a connection
(about half a second of CPU on a small machine), which dwarfs a short trial of a sweep.
The run's supervisor has all of that open already, so it listens on a Unix socket
(``ATELIER_SUPERVISOR_SOCKET``, made private to this user) and the script's
``Run.get_context()`` gets a :class:`RelayBackend`: the calls a script makes most (its
run's record, metrics, tags, properties, artifacts) travel over the socket and the
supervisor runs them on its backend; any other call opens the real backend here, on first
use, exactly as before. A script that cannot reach the socket (the supervisor is gone, or
it runs elsewhere) uses the real backend for everything.

Frames are a 4-byte length and a pickle: both ends are the same user's processes (the
socket's folder is 0700), as trusted as the store's own files.
"""

from __future__ import annotations

import os
import pickle
import socket
import struct
import threading
from typing import TYPE_CHECKING, Any, cast

from atelier.core.errors import ERRORS_BY_CODE, AtelierError, StoreError

if TYPE_CHECKING:
    from atelier.client.backend import Backend

#: where a supervised script finds its supervisor's relay
ENV_SOCKET = "ATELIER_SUPERVISOR_SOCKET"

#: resource -> the methods relayed to the supervisor (plain data in, plain data out)
RELAYED: dict[str, frozenset[str]] = {
    "workspaces": frozenset({"get"}),
    "experiments": frozenset({"get", "get_or_create"}),
    "runs": frozenset(
        [
            "get",
            "locate",
            "list",
            "children",
            "create",
            "transition",
            "cancel",
            "set_tags",
            "remove_tags",
            "add_properties",
            "read_log",
        ]
    ),
    "metrics": frozenset({"log_scalars", "log_documents", "get", "history"}),
    "artifacts": frozenset({"upload_files", "list", "download"}),
}

_HEADER = struct.Struct("!I")


def send_frame(sock: socket.socket, value: Any) -> None:
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_HEADER.pack(len(body)) + body)


def recv_frame(sock: socket.socket) -> Any:
    """The next frame's value; ``EOFError`` when the other end closed."""
    header = _recv_exact(sock, _HEADER.size)
    (size,) = _HEADER.unpack(header)
    return pickle.loads(_recv_exact(sock, size))  # same user, private socket


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise EOFError("the relay closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def error_answer(exc: BaseException) -> tuple[str, str]:
    """How a failed call travels back: its error's code and message."""
    if isinstance(exc, AtelierError):
        return exc.code, exc.message
    return StoreError.code, f"{type(exc).__name__}: {exc}"


def rebuild_error(code: str, message: str) -> AtelierError:
    kind = ERRORS_BY_CODE.get(code, AtelierError)
    try:
        return kind(message)
    except TypeError:  # a class with more required arguments
        return AtelierError(message)


class RelayBackend:
    """A ``Backend`` for a supervised script: relayed calls go to the supervisor, the rest
    to the real backend for ``tracking_uri`` (opened on first use)."""

    def __init__(self, path: str, sock: socket.socket, tracking_uri: str) -> None:
        self._path = path
        self._sock = sock
        self._pid = os.getpid()
        self._tracking_uri = tracking_uri
        self._lock = threading.Lock()
        self._real: Backend | None = None

    @property
    def tracking_uri(self) -> str:
        return self._tracking_uri

    def real(self) -> Backend:
        if self._real is None:
            from atelier.client.registry import backend_for

            self._real = backend_for(self._tracking_uri)
        return self._real

    def child_environment(self) -> dict[str, str]:
        return self.real().child_environment()

    def call(
        self, resource: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        with self._lock:
            try:
                if self._pid != os.getpid():  # a forked child: a connection of its own
                    self._sock = _connect(self._path)
                    self._pid = os.getpid()
                send_frame(self._sock, (resource, method, args, kwargs))
                ok, value = recv_frame(self._sock)
            except (OSError, EOFError) as exc:
                raise StoreError(
                    f"the run's supervisor stopped answering ({exc}); the run is ending"
                ) from exc
        if ok:
            return value
        raise rebuild_error(*value)

    def __getattr__(self, resource: str) -> Any:
        if resource.startswith("_"):
            raise AttributeError(resource)
        return _Resource(self, resource)


class _Resource:
    def __init__(self, relay: RelayBackend, name: str) -> None:
        self._relay = relay
        self._name = name
        self._relayed = RELAYED.get(name, frozenset())

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)
        if method not in self._relayed:
            return getattr(getattr(self._relay.real(), self._name), method)
        relay, resource = self._relay, self._name

        def relayed(*args: Any, **kwargs: Any) -> Any:
            return relay.call(resource, method, args, kwargs)

        return relayed


def relay_backend(tracking_uri: str) -> Backend | None:
    """The relay to this process's supervisor, or None when there is none to reach."""
    path = os.environ.get(ENV_SOCKET)
    if not path or not tracking_uri.startswith("file://"):
        return None
    try:
        sock = _connect(path)
    except OSError:
        return None
    return cast("Backend", RelayBackend(path, sock, tracking_uri))


def _connect(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        raise
    return sock
