"""One router per resource, mounted under ``/api/v1`` by ``create_app``."""

from __future__ import annotations

from fastapi import APIRouter

from atelier.server.routes import (
    access,
    compute,
    datasets,
    datastores,
    endpoints,
    environments,
    experiments,
    files,
    metrics,
    models,
    packages,
    pipelines,
    runs,
    schedules,
    secrets,
    snapshots,
    workspaces,
)

#: in matching order: routes are tried one by one, so the busiest (runs, metrics) go first
ROUTERS: list[APIRouter] = [
    runs.router,
    metrics.router,
    workspaces.router,
    access.router,
    experiments.router,
    files.router,
    snapshots.router,
    environments.router,
    compute.router,
    models.router,
    secrets.router,
    packages.router,
    datastores.router,
    datasets.router,
    endpoints.router,
    pipelines.router,
    schedules.router,
]
