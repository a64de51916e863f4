"""``python -m atelier.serving.endpoint``: one endpoint's router and manager process.

::

    python -m atelier.serving.endpoint --tracking-uri file:///home/me/.atelier \\
        --workspace demo --name iris-svc --log /path/to/service.log

It reads the endpoint from the backend, binds its port (uvicorn, with uvloop when
installed) and serves the :class:`~atelier.serving.router.Router` there, while the
:class:`~atelier.serving.manager.EndpointManager` runs the replicas. SIGTERM stops the
router, then every replica.
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Sequence
from pathlib import Path

from atelier.client.registry import backend_for
from atelier.serving.manager import EndpointManager
from atelier.serving.router import Router

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the arguments, then serve the endpoint until SIGTERM."""
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m atelier.serving.endpoint")
    parser.add_argument("--tracking-uri", default="")
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--log", required=True, type=Path)
    args = parser.parse_args(argv)
    backend = backend_for(args.tracking_uri or None)
    record = backend.endpoints.get(args.workspace, args.name)
    manager = EndpointManager(backend, args.workspace, args.name, args.log)
    router = Router(manager)
    manager.say(f"router for {args.workspace}/{args.name} on port {record.port}")
    uvicorn.run(
        router,
        host=str(record.config.get("host") or "127.0.0.1"),
        port=record.port,
        loop="uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio",
        http="httptools" if importlib.util.find_spec("httptools") is not None else "h11",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=15,
        # Keep idle client connections well past clients' own idle expiry (httpx: 5 s, like
        # uvicorn's default): when the server closes first, a request the client sends on
        # that connection at the same moment fails.
        timeout_keep_alive=75,
    )


if __name__ == "__main__":
    main()
