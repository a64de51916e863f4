"""The MLflow tracking protocol: experiments, runs, metrics, artifacts and models.

``mount_mlflow(app, authorize)`` serves the routes twice: under ``/mlflow/{workspace}``
(tracking URI ``http://host:port/mlflow/<workspace>``) and without a prefix for the
workspace named by ``app.state.mlflow_default_workspace``.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, Response

from atelier.server.mlflow import artifacts, registry, tracking, workspaces
from atelier.server.mlflow._common import (
    AUTHORIZE_STATE,
    Authorize,
    MlflowError,
    MlflowRoute,
    begin,
    logger,
)

__all__ = ["Authorize", "mount_mlflow"]

PREFIX = "/mlflow/{workspace}"

_fallback = APIRouter(route_class=MlflowRoute)


_METHODS = ["GET", "POST", "PATCH", "DELETE", "PUT"]


@_fallback.api_route("/api/2.0/mlflow/{rest:path}", methods=_METHODS)
@_fallback.api_route("/api/3.0/mlflow/{rest:path}", methods=_METHODS)
@_fallback.api_route("/api/2.0/mlflow-artifacts/{rest:path}", methods=_METHODS)
async def unknown_endpoint(request: Request, rest: str) -> Response:
    await begin(request, "read")  # even a miss says nothing to whom may not read
    logger.info("no MLflow endpoint %s %s", request.method, request.url.path)
    raise MlflowError(
        "ENDPOINT_NOT_FOUND",
        404,
        f"{request.method} {request.url.path} is not an MLflow endpoint this server answers",
    )


def mount_mlflow(app: FastAPI, authorize: Authorize) -> None:
    """Add the MLflow routes to ``app``; ``authorize`` is awaited before every operation."""
    setattr(app.state, AUTHORIZE_STATE, authorize)
    for prefix in (PREFIX, ""):
        for part in (tracking.router, registry.router, artifacts.router, workspaces.router):
            app.include_router(part, prefix=prefix, include_in_schema=False)
    # last, so that only paths no route above answers reach it
    for prefix in (PREFIX, ""):
        app.include_router(_fallback, prefix=prefix, include_in_schema=False)
