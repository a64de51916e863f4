"""Running the server: uvicorn on uvloop and httptools, TCP_NODELAY on every connection.

``app_from_environment`` is the factory each worker process calls, so ``--workers N``
gives N processes sharing one listening socket, each with its own database pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from atelier.server.app import create_app
from atelier.server.config import ServerSettings


def set_nodelay(transport: asyncio.BaseTransport) -> bool:
    """Turn off Nagle's algorithm on the connection's socket; True if it was a TCP one."""
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return True
    return False


#: a kept-alive connection older than this is closed after its next answer
#: (``Connection: close``), so clients spread again over the workers (see the class)
CONNECTION_MAX_SECONDS = 30.0


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol that sets TCP_NODELAY as each connection is accepted
    (small JSON answers then leave at once instead of waiting for the client's ACK), and
    ends a kept-alive connection after ``CONNECTION_MAX_SECONDS``.

    Workers share one listening socket, and a kept-alive connection stays with the worker
    that accepted it: after a worker restarts, every client has reconnected to the others
    and would stay there. Ending each connection after a while (with a complete answer
    saying ``Connection: close``; the client simply opens another) lets the idle worker,
    the first to accept, take its share again."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        set_nodelay(transport)
        self.opened_at = time.monotonic()
        super().connection_made(transport)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self.cycle is not None and time.monotonic() - self.opened_at >= CONNECTION_MAX_SECONDS:
            self.cycle.keep_alive = False


def app_from_environment() -> FastAPI:
    """The app over the ``ATELIER_*`` settings of this process (one per worker)."""
    return create_app(ServerSettings())


#: see ``uvicorn_options``
WORKER_HEALTHCHECK_SECONDS = 60
KEEP_ALIVE_SECONDS = 75


def uvicorn_options(host: str, port: int, workers: int) -> dict[str, Any]:
    return {
        "host": host,
        "port": port,
        "workers": workers,
        "factory": True,
        "loop": "uvloop",
        "http": "atelier.server.serve:NoDelayHttpToolsProtocol",
        "proxy_headers": False,
        "server_header": False,
        "access_log": False,
        "log_level": "info",
        # how long the parent waits for a worker to answer its ping before it kills it as
        # hung; a new worker answers only once its interpreter has started, which on a busy
        # machine takes longer than uvicorn's 5 s, so with the default the workers were
        # killed and replaced in a loop and the server never served
        "timeout_worker_healthcheck": WORKER_HEALTHCHECK_SECONDS,
        # how long an idle kept-alive connection stays open (uvicorn's default is 5 s):
        # clients such as mlflow's (requests) reuse a pooled connection however long it
        # sat idle, and one sent just as the server closes it fails with "Remote end
        # closed connection without response"; idle gaps of over a minute are rarer
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
    }


def start(
    host: str,
    port: int,
    workers: int,
    factory: str = "atelier.server.serve:app_from_environment",
) -> None:
    """Serve the app ``factory`` (an import string uvicorn calls in each worker) until
    interrupted.

    The server's own files (database, blobs, scratch uploads, caches under its home) are
    private to the user running it: the umask is set to 077 for this process and the
    worker processes it starts."""
    os.umask(0o077)

    uvicorn.run(factory, **uvicorn_options(host, port, workers))
