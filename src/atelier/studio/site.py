"""The Studio mounted on the workspace server, and served alone for a local home.

``create_site(settings)`` is the server (``atelier.server.app.create_app``) with the
Studio's pages at ``/`` and its static files at ``/static``; ``atelier server start``
serves it. ``serve_local(settings, port)`` serves it for an embedded home on 127.0.0.1,
opened through a launch link only the person who started it sees.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from atelier.core.settings import Settings
from atelier.server.app import create_app
from atelier.server.config import ServerSettings
from atelier.studio import errors
from atelier.studio.render import STATIC
from atelier.studio.routes_data import router as data_router
from atelier.studio.routes_drift import router as drift_router
from atelier.studio.routes_endpoints import router as endpoints_router
from atelier.studio.routes_experiments import router as experiments_router
from atelier.studio.routes_home import router as home_router
from atelier.studio.routes_resources import router as resources_router
from atelier.studio.routes_runs import router as runs_router
from atelier.studio.routes_runviews import router as runviews_router
from atelier.studio.security import SECURITY_HEADERS

ROUTERS = (
    home_router,
    experiments_router,
    runs_router,
    runviews_router,
    drift_router,
    endpoints_router,
    data_router,
    resources_router,
)


class _StaticFiles(StaticFiles):
    """The package's static files, with the Studio's security headers."""

    async def get_response(self, path: str, scope: Any) -> Any:
        answer = await super().get_response(path, scope)
        answer.headers.update({k: v for k, v in SECURITY_HEADERS.items() if k != "Cache-Control"})
        answer.headers["Cache-Control"] = "public, max-age=3600"
        return answer


def mount_studio(app: FastAPI) -> FastAPI:
    """Add the Studio's pages and static files to the server ``app``."""
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", _StaticFiles(directory=STATIC), name="studio-static")
    errors.install(app)
    return app


def create_site(settings: Settings, local_key: str | None = None) -> FastAPI:
    """The server with the Studio; with ``local_key``, a local Studio whose launch link
    ``/local-signin/<key>`` signs its owner in."""
    app = mount_studio(create_app(settings))
    app.state.studio_local = local_key is not None
    app.state.studio_local_key = local_key
    return app


def app_from_environment() -> FastAPI:
    """The server with the Studio over the ``ATELIER_*`` settings (uvicorn's factory)."""
    return create_site(ServerSettings())


def serve_local(
    settings: Settings, port: int, announce: Callable[[str], None], host: str = "127.0.0.1"
) -> None:
    """Serve the Studio for the home of ``settings`` on ``host:port`` until interrupted;
    ``announce`` gets the launch link once the port is known."""
    import uvicorn

    key = secrets.token_urlsafe(24)
    app = create_site(settings, local_key=key)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)

    original = server.startup

    async def startup(sockets: Any = None) -> None:
        await original(sockets)
        for bound in server.servers:
            for sock in bound.sockets:
                announce(f"http://{host}:{sock.getsockname()[1]}/local-signin/{key}")
                return

    server.startup = startup  # type: ignore[method-assign]
    server.run()
