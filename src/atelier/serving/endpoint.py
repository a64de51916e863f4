"""``python -m atelier.serving.endpoint``: one endpoint's router and manager process.

::

    python -m atelier.serving.endpoint --tracking-uri file:///home/me/.atelier \\
        --workspace demo --name iris-svc --log /path/to/service.log

It reads the endpoint from the backend, binds its port and accepts client connections
there, while the :class:`~atelier.serving.manager.EndpointManager` runs the replicas.
Each accepted connection is handed to a replica when the endpoint has a single
deployment (:mod:`atelier.serving.handoff`: the replica then answers it, one hop);
otherwise the :class:`~atelier.serving.router.Router` (uvicorn, with uvloop when
installed) serves it and proxies to the replicas. With TLS on (:mod:`atelier.serving.tls`)
the router terminates it for every connection. SIGTERM stops the router, then every
replica.

The router's process and its replicas share their Prometheus numbers through a folder
beside the log (``PROMETHEUS_MULTIPROC_DIR``), emptied when the endpoint starts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import logging
import os
import shutil
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.client.registry import backend_for, reporting_for
from atelier.serving.direct import server_protocol

if TYPE_CHECKING:
    import uvicorn

    from atelier.serving.manager import EndpointManager

__all__ = ["main"]

logger = logging.getLogger("atelier.serving.router")
_ACCEPTS_PER_WAKEUP = 64


class _Acceptor:
    """Accepts on the endpoint's port: hands each connection to a replica, or attaches it
    to the router's uvicorn server."""

    def __init__(
        self, listener: socket.socket, server: uvicorn.Server, manager: EndpointManager
    ) -> None:
        self.listener = listener
        self.server = server
        self.manager = manager
        self.loop = asyncio.get_running_loop()
        self._tasks: set[asyncio.Task[Any]] = set()

    async def run(self) -> None:
        while not self.server.started:
            if self.server.should_exit:
                return
            await asyncio.sleep(0.01)
        self.manager.on_returned = self.dispatch
        self.listener.setblocking(False)
        self.loop.add_reader(self.listener.fileno(), self._accept)

    def _accept(self) -> None:
        for _ in range(_ACCEPTS_PER_WAKEUP):
            try:
                connection, _address = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # out of descriptors, say: log it, keep the others going
                logger.warning("accepting a connection failed: %r", exc)
                return
            self.dispatch(connection)

    def dispatch(self, connection: socket.socket) -> None:
        if self.server.should_exit:
            connection.close()
            return
        if self.manager.hand_over(connection):
            return
        tls = self.manager.tls
        if tls.required and tls.context is None:
            connection.close()  # never in the clear while TLS is on
            return
        connection.setblocking(False)
        task = self.loop.create_task(
            self.loop.connect_accepted_socket(self._router_protocol, connection, ssl=tls.context)
        )
        self._tasks.add(task)
        task.add_done_callback(self._adopted)

    def _adopted(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.debug("a connection closed before the router took it: %r", task.exception())

    def _router_protocol(self) -> asyncio.Protocol:
        return server_protocol(self.server)

    def close(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            self.loop.remove_reader(self.listener.fileno())
        self.listener.close()


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the arguments, then serve the endpoint until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m atelier.serving.endpoint")
    parser.add_argument("--tracking-uri", default="")
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--log", required=True, type=Path)
    args = parser.parse_args(argv)
    # before prometheus_client is imported (by the router): it reads this once
    metrics_dir = args.log.with_name(args.log.name + ".metrics")
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)

    import uvicorn

    from atelier.serving.manager import EndpointManager
    from atelier.serving.router import Router

    backend = backend_for(args.tracking_uri or None)
    reporting = reporting_for(args.tracking_uri or None)
    record = backend.endpoints.get(args.workspace, args.name)
    manager = EndpointManager(backend.endpoints, reporting, args.workspace, args.name, args.log)
    router = Router(manager)
    host = str(record.config.get("host") or "127.0.0.1")
    manager.say(f"router for {args.workspace}/{args.name} on port {record.port}")
    listener = socket.create_server((host, record.port), backlog=2048)
    config = uvicorn.Config(
        router,
        host=host,
        port=record.port,
        loop="uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio",
        http="httptools" if importlib.util.find_spec("httptools") is not None else "h11",
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=15,
        # Keep idle client connections well past clients' own idle expiry (httpx: 5 s, like
        # uvicorn's default): when the server closes first, a request the client sends on
        # that connection at the same moment fails.
        timeout_keep_alive=75,
    )
    server = uvicorn.Server(config)

    async def serve() -> None:
        acceptor = _Acceptor(listener, server, manager)
        accepting = asyncio.ensure_future(acceptor.run())
        try:
            await server.serve(sockets=[])
        finally:
            accepting.cancel()
            acceptor.close()

    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(serve())


if __name__ == "__main__":
    main()
