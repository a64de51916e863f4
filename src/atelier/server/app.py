"""``create_app(settings)``: the workspace server as one FastAPI application."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from atelier.core.settings import Settings
from atelier.server import problems
from atelier.server.auth import PUBLIC, Rule, authorize_workspace, guard, route_rule
from atelier.server.body_limits import BodyLimits
from atelier.server.config import server_settings
from atelier.server.docs_assets import add_offline_docs
from atelier.server.gate import Gate, ServerMetrics
from atelier.server.json_response import MetricJSONResponse
from atelier.server.mlflow_api import mount_mlflow
from atelier.server.pool_metrics import PoolCollector
from atelier.server.pool_metrics import lifespan as worker_lifespan
from atelier.server.routes import ROUTERS
from atelier.storage.blobstore import BlobStore
from atelier.store.database import Database

API_PREFIX = "/api/v1"


def create_app(settings: Settings) -> FastAPI:
    """The server over ``settings``' database and blob store.

    ``app.state.database`` and ``app.state.blobs`` hold the ``Database`` and ``BlobStore``
    every router uses; ``app.state.settings`` the ``ServerSettings``.
    """
    config = server_settings(settings)
    app = FastAPI(
        title="Atelier",
        version="1",
        summary="Workspaces, experiments, runs, metrics, files and models over HTTP.",
        docs_url=None,  # add_offline_docs serves /docs with Swagger UI's files from here
        redoc_url=None,
        openapi_url="/openapi.json",
        # the worker's threads, and the reaper that fails runs whose supervisor is lost
        lifespan=worker_lifespan,
        default_response_class=MetricJSONResponse,  # NaN and infinite metrics in replies
    )
    app.state.settings = config
    # one connection per thread, plus one for the event loop's own use (probes, streams)
    app.state.database = Database(config.resolved_database_url, config.server_threads + 1)
    app.state.blobs = BlobStore(config.resolved_blob_url)
    metrics = ServerMetrics()
    metrics.registry.register(PoolCollector(app.state.database))
    app.state.metrics = metrics
    problems.install(app)
    _add_probes(app, metrics)
    add_offline_docs(app)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    app.state.mlflow_default_workspace = config.mlflow_default_workspace
    mount_mlflow(app, authorize_workspace)  # /mlflow/{workspace}/api/2.0/... and /api/2.0/...
    app.add_middleware(BodyLimits, settings=config)  # inside the Gate: Host checks come first
    app.add_middleware(Gate, settings=config, database=app.state.database, metrics=metrics)
    return app


def _add_probes(app: FastAPI, metrics: ServerMetrics) -> None:
    @app.get("/healthz", dependencies=guard(PUBLIC), tags=["probes"])
    def healthz() -> dict[str, str]:
        """The process answers."""
        return {"status": "ok"}

    @app.get("/readyz", dependencies=guard(PUBLIC), tags=["probes"], response_model=None)
    async def readyz(request: Request) -> Any:
        """The database answers and its schema is current."""
        database: Database = request.app.state.database
        try:
            await run_in_threadpool(database.ensure_schema)
        except Exception as exc:
            return JSONResponse(
                {"status": "unavailable", "detail": f"database: {type(exc).__name__}"},
                status_code=503,
            )
        return {"status": "ready"}

    @app.get("/metrics", dependencies=guard(PUBLIC), tags=["probes"])
    def prometheus() -> Response:
        """Prometheus metrics of this worker process."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def route_table(app: FastAPI) -> list[tuple[str, str, Rule | None]]:
    """Every (method, path, rule) the app serves, including included routers' routes."""
    table: list[tuple[str, str, Rule | None]] = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            table.append((method, context.path or route.path, route_rule(route)))
    return table
