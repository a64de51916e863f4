"""Pages of runs that are more than one run: HyperDrive sweeps (trials best first, the best
one, those a policy stopped early, parallel coordinates of hyperparameters against the
primary metric), pipeline runs (the step graph, each step's run and status) and AutoML
runs (the leaderboard of iterations)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from atelier.core.pipelines import PIPELINE_RUN_TYPE
from atelier.core.records import RunQuery
from atelier.core.status import TERMINAL_STATUSES
from atelier.server.auth import READ
from atelier.services import automl_views, run_queries, run_views
from atelier.studio.context import database_of, may
from atelier.studio.render import duration, page, when
from atelier.studio.security import page_guard

router = APIRouter(tags=["studio"], include_in_schema=False)

WS = "/workspaces/{workspace}"
#: how many sweeps or pipeline runs a listing shows (newest first)
LISTED = 200
#: the pipeline graph's cell size in SVG units
NODE_W, NODE_H, GAP_X, GAP_Y = 180, 44, 60, 22


def _runs_of_type(request: Request, workspace: str, run_type: str) -> list[Any]:
    query = RunQuery(run_type=run_type, include_children=True, limit=LISTED)
    with database_of(request).session() as session:
        return run_queries.list_runs(session, workspace, None, query)


def _run_rows(workspace: str, found: list[Any], kind: str) -> list[tuple[str | None, list[Any]]]:
    return [
        (
            f"/workspaces/{quote(workspace)}/{kind}/{quote(r.run_id)}",
            [
                r.display_name or r.run_id,
                r.experiment_name,
                r.status.value,
                when(r.created_ms),
                duration(r.started_ms, r.ended_ms),
            ],
        )
        for r in found
    ]


def _listing(
    request: Request, workspace: str, title: str, rows: list[Any], empty: str
) -> HTMLResponse:
    return page(
        request,
        "listing.html",
        workspace=workspace,
        title=title,
        headers=["Run", "Experiment", "Status", "Created", "Duration"],
        rows=[(link, [str(c) for c in cells]) for link, cells in rows],
        empty=empty,
    )


@router.get(f"{WS}/sweeps", dependencies=page_guard(READ), response_class=HTMLResponse)
def sweeps_page(workspace: str, request: Request) -> HTMLResponse:
    """The workspace's HyperDrive sweeps, newest first."""
    found = _runs_of_type(request, workspace, run_views.SWEEP_RUN_TYPE)
    hint = "No sweeps yet: Experiment.submit(HyperDriveConfig(...)) starts one."
    return _listing(request, workspace, "Sweeps", _run_rows(workspace, found, "sweeps"), hint)


@router.get(f"{WS}/sweeps/{{run_id}}", dependencies=page_guard(READ), response_class=HTMLResponse)
def sweep_page(workspace: str, run_id: str, request: Request) -> HTMLResponse:
    """One sweep: settings, best trial, trials best first, early-terminated trials, and
    parallel coordinates of the hyperparameters against the primary metric."""
    with database_of(request).session() as session:
        view = run_views.sweep_view(session, workspace, run_id)
    return page(
        request,
        "sweep.html",
        workspace=workspace,
        sweep=view,
        run=view.run,
        running=view.run.status not in TERMINAL_STATUSES,
        may=may(request, workspace),
    )


@router.get(f"{WS}/pipelines", dependencies=page_guard(READ), response_class=HTMLResponse)
def pipelines_page(workspace: str, request: Request) -> HTMLResponse:
    """The workspace's pipeline runs, newest first."""
    found = _runs_of_type(request, workspace, PIPELINE_RUN_TYPE)
    hint = "No pipeline runs yet: Experiment.submit(Pipeline(ws, steps)) starts one."
    rows = _run_rows(workspace, found, "pipelines")
    return _listing(request, workspace, "Pipeline runs", rows, hint)


@router.get(
    f"{WS}/pipelines/{{run_id}}", dependencies=page_guard(READ), response_class=HTMLResponse
)
def pipeline_page(workspace: str, run_id: str, request: Request) -> HTMLResponse:
    """One pipeline run: its steps drawn as a graph (columns by dependency), coloured by
    status, each linking to the step's run."""
    with database_of(request).session() as session:
        view = run_views.pipeline_view(session, workspace, run_id)
    where = {
        s.name: (10 + s.layer * (NODE_W + GAP_X), 10 + s.row * (NODE_H + GAP_Y)) for s in view.steps
    }
    boxes = [{"step": s, "x": where[s.name][0], "y": where[s.name][1]} for s in view.steps]
    edges = [
        {
            "x1": where[a.name][0] + NODE_W,
            "y1": where[a.name][1] + NODE_H // 2,
            "x2": where[b.name][0],
            "y2": where[b.name][1] + NODE_H // 2,
        }
        for a, b in view.edges()
    ]
    return page(
        request,
        "pipeline.html",
        workspace=workspace,
        pipeline=view,
        run=view.run,
        running=view.run.status not in TERMINAL_STATUSES,
        boxes=boxes,
        edges=edges,
        node=(NODE_W, NODE_H),
        width=20 + view.layers * (NODE_W + GAP_X) - GAP_X,
        height=20 + view.rows * (NODE_H + GAP_Y) - GAP_Y,
        may=may(request, workspace),
    )


@router.get(f"{WS}/automl/{{run_id}}", dependencies=page_guard(READ), response_class=HTMLResponse)
def automl_page(workspace: str, run_id: str, request: Request) -> HTMLResponse:
    """One AutoML run: its settings and the leaderboard of its iterations, best first,
    the best one marked."""
    with database_of(request).session() as session:
        view = automl_views.automl_view(session, workspace, run_id)
    return page(
        request,
        "automl.html",
        workspace=workspace,
        automl=view,
        run=view.run,
        running=view.run.status not in TERMINAL_STATUSES,
        may=may(request, workspace),
    )
