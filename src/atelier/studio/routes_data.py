"""Pages of one dataset version (definition, files, a preview of rows and their profile,
the runs and models that used it), one environment (spec, build state and build log) and
one compute target (state, configuration, the runs that ran on it)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from atelier.core.errors import AtelierError, ComputeTargetNotFoundError, NotFoundError
from atelier.execution.environments import build_log_path, build_state
from atelier.server.auth import READ
from atelier.server.routes.datastores import _stores
from atelier.services import compute, dataset_preview, datasets, environments, run_views
from atelier.studio.context import database_of
from atelier.studio.render import page
from atelier.studio.security import page_guard

router = APIRouter(tags=["studio"], include_in_schema=False)

WS = "/workspaces/{workspace}"
Version = Annotated[int, Path(ge=1, le=1_000_000_000)]
#: how many files of a dataset, runs of a target and bytes of a build log a page shows
FILES_SHOWN = 200
RUNS_SHOWN = 100
LOG_TAIL = 256 * 1024
#: configuration keys whose values a page never shows
_HIDDEN = ("key", "password", "secret", "token", "credential")


@router.get(
    f"{WS}/datasets/{{name}}/{{version}}",
    dependencies=page_guard(READ),
    response_class=HTMLResponse,
)
def dataset_page(workspace: str, name: str, version: Version, request: Request) -> HTMLResponse:
    """One dataset version: what it reads, its files, a preview and profile of its first
    rows, and the runs and models that used it."""
    with database_of(request).session() as session:
        record = datasets.get(session, workspace, name, version)
        latest = datasets.get(session, workspace, name).version
        files = datasets.files(session, workspace, record.id)
        used_by_runs = datasets.runs_using(session, workspace, record.id)
        used_by_models = datasets.models_using(session, workspace, record.id)
    local = bool(getattr(request.app.state, "studio_local", False))  # 'atelier studio'
    found = dataset_preview.preview(_stores(request), workspace, record, local_files=local)
    return page(
        request,
        "dataset.html",
        workspace=workspace,
        dataset=record,
        latest=latest,
        files=files[:FILES_SHOWN],
        file_total=len(files),
        definition=json.dumps(record.definition, indent=2, default=str, ensure_ascii=False),
        preview=found,
        runs=used_by_runs,
        models=used_by_models,
    )


@router.get(
    f"{WS}/environments/{{name}}/{{version}}",
    dependencies=page_guard(READ),
    response_class=HTMLResponse,
)
def environment_page(workspace: str, name: str, version: Version, request: Request) -> HTMLResponse:
    """One environment version: its spec, and the state and log of its build on the
    server's host (where runs on the local target build it)."""
    with database_of(request).session() as session:
        record = environments.get(session, workspace, name, version)
    cache_root = request.app.state.settings.home.expanduser() / "envs"
    log, state, truncated = "", "Unknown", False
    try:
        state = build_state(record.spec, cache_root)
        path = build_log_path(record.spec, cache_root)
        if path.is_file():
            with path.open("rb") as handle:
                size = handle.seek(0, 2)
                handle.seek(max(0, size - LOG_TAIL))
                log = handle.read().decode("utf-8", errors="replace")
                truncated = size > LOG_TAIL
    except (AtelierError, TypeError, ValueError, OSError):
        state = "Unknown (the spec cannot be built as stored)"
    return page(
        request,
        "environment.html",
        workspace=workspace,
        environment=record,
        spec=json.dumps(record.spec, indent=2, default=str, ensure_ascii=False),
        state=state,
        log=log,
        truncated=truncated,
    )


def _shown_config(config: dict[str, Any]) -> dict[str, str]:
    return {
        k: "(hidden)" if any(h in k.lower() for h in _HIDDEN) else json.dumps(v, default=str)
        for k, v in sorted(config.items())
    }


@router.get(f"{WS}/compute/{{name}}", dependencies=page_guard(READ), response_class=HTMLResponse)
def compute_target_page(workspace: str, name: str, request: Request) -> HTMLResponse:
    """One compute target: state, configuration (secrets hidden) and its newest runs."""
    with database_of(request).session() as session:
        try:
            record = compute.get(session, workspace, name)
        except ComputeTargetNotFoundError as exc:  # a page that is not there is a 404
            raise NotFoundError(exc.message) from exc
        found, total = run_views.runs_on_target(session, workspace, name, RUNS_SHOWN)
    return page(
        request,
        "compute.html",
        workspace=workspace,
        target=record,
        config=_shown_config(record.config),
        runs=found,
        total=total,
    )
