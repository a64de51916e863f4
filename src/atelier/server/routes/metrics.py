"""Metrics of runs: batched scalar series and JSON documents in, values and histories out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from atelier.server.auth import READ, WRITE, guard
from atelier.server.json_response import MetricJSONResponse
from atelier.server.routes._common import database
from atelier.server.schemas import DocumentBatch, MetricSearch, ScalarBatch
from atelier.services import metrics

router = APIRouter(tags=["metrics"])
RUN = "/workspaces/{workspace}/runs/{run_id}"
BackendBatch = tuple[Sequence[int], Sequence[float], Sequence[int]]


@router.post(f"{RUN}/metrics/scalars", dependencies=guard(WRITE))
def log_scalars(workspace: str, run_id: str, body: ScalarBatch, request: Request) -> dict[str, int]:
    """Append points to scalar series: ``{"series": {name: {steps, values, timestamps}}}``."""
    series: dict[str, BackendBatch] = {
        name: (batch.steps, batch.values, batch.timestamps) for name, batch in body.series.items()
    }
    with database(request).session() as session:
        count = metrics.log_scalars(session, workspace, run_id, series)
    return {"count": count}


@router.post(f"{RUN}/metrics/documents", dependencies=guard(WRITE))
def log_documents(
    workspace: str, run_id: str, body: DocumentBatch, request: Request
) -> dict[str, int]:
    with database(request).session() as session:
        metrics.log_documents(session, workspace, run_id, list(body.entries))
    return {"count": len(body.entries)}


@router.post("/workspaces/{workspace}/metrics/search", dependencies=guard(READ))
def get_metrics(workspace: str, body: MetricSearch, request: Request) -> Response:
    """Each run's metrics (scalars as their values, documents as logged), by run id; NaN
    and infinite values as JSON's ``NaN`` and ``Infinity`` tokens."""
    with database(request).session() as session:
        return MetricJSONResponse(metrics.get_metrics(session, workspace, body.run_ids, body.name))


@router.get(f"{RUN}/metrics/history", dependencies=guard(READ))
def history(
    workspace: str,
    run_id: str,
    request: Request,
    name: Annotated[str, Query(max_length=250)],
) -> Response:
    """Every point of one series: ``{"steps", "values", "timestamps"}``."""
    with database(request).session() as session:
        return MetricJSONResponse(metrics.get_history(session, workspace, run_id, name))
