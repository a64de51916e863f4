"""Pages of data drift detectors: the workspace's detectors (datasets, frequency,
threshold, schedule state, the latest window's magnitude) and one detector (its drift
magnitude over time, the latest window's top features, links to the window runs)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from atelier.server.auth import READ
from atelier.services import drift_views
from atelier.studio.context import database_of
from atelier.studio.render import page
from atelier.studio.security import page_guard

router = APIRouter(tags=["studio"], include_in_schema=False)

WS = "/workspaces/{workspace}"


@router.get(f"{WS}/drift", dependencies=page_guard(READ), response_class=HTMLResponse)
def detectors_page(workspace: str, request: Request) -> HTMLResponse:
    """The workspace's data drift detectors by name."""
    with database_of(request).session() as session:
        found = drift_views.list_detectors(session, workspace)
    return page(request, "drift_list.html", workspace=workspace, detectors=found)


@router.get(f"{WS}/drift/{{name}}", dependencies=page_guard(READ), response_class=HTMLResponse)
def detector_page(workspace: str, name: str, request: Request) -> HTMLResponse:
    """One detector: magnitude per window as a chart and a table, the latest window's
    features by contribution with their metrics."""
    with database_of(request).session() as session:
        view = drift_views.drift_view(session, request.app.state.blobs, workspace, name)
    return page(request, "drift.html", workspace=workspace, drift=view, detector=view.detector)
