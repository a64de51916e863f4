"""A run's page (overview, metric charts, files, log, child runs), the data its charts
and log tail fetch, its few actions, and the comparison of several runs."""

from __future__ import annotations

import io
import zipfile
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from atelier.core.errors import NotFoundError
from atelier.core.status import TERMINAL_STATUSES
from atelier.server.auth import READ, WRITE
from atelier.services import (
    artifacts,
    datasets,
    metric_series,
    run_logs,
    run_queries,
    run_records,
    run_table,
    run_transitions,
    runs,
    snapshots,
)
from atelier.storage.blobstore import BlobStore
from atelier.studio.context import database_of, may
from atelier.studio.render import page
from atelier.studio.security import SECURITY_HEADERS, page_guard

router = APIRouter(tags=["studio"], include_in_schema=False)

RUN = "/workspaces/{workspace}/runs/{run_id}"
#: how many charts a run page draws at once, how much of a file it previews
CHARTS = 6
PREVIEW_BYTES = 256 * 1024
LOG_BYTES = 512 * 1024
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
IMAGE_TYPES |= {".gif": "image/gif", ".webp": "image/webp"}
#: run properties and tags that tell where the run's code came from (azureml's, MLflow's)
GIT_PREFIXES = ("azureml.git.", "mlflow.source.git.")


def _run_url(workspace: str, run_id: str) -> str:
    return f"/workspaces/{quote(workspace)}/runs/{quote(run_id)}"


def _back(workspace: str, run_id: str, anchor: str = "") -> RedirectResponse:
    answer = RedirectResponse(_run_url(workspace, run_id) + anchor, 303)
    answer.headers.update(SECURITY_HEADERS)
    return answer


@router.get(RUN, dependencies=page_guard(READ), response_class=HTMLResponse)
def run_page(
    workspace: str,
    run_id: str,
    request: Request,
    metric: Annotated[list[str] | None, Query(max_length=250)] = None,
) -> HTMLResponse:
    """Overview, metric charts, files, log and child runs of one run."""
    with database_of(request).session() as session:
        record = run_records.get(session, workspace, run_id)
        summaries, metric_count = run_table.metric_summaries(session, workspace, run_id)
        files = artifacts.list_files(session, workspace, run_id)
        children = run_queries.descendants(session, workspace, run_id, recursive=False)
        inputs = datasets.run_inputs(session, workspace, run_id)
        documents = run_table.run_documents(session, workspace, run_id)
    names = [m.name for m in summaries]
    git = {
        k: v for k, v in {**record.tags, **record.properties}.items() if k.startswith(GIT_PREFIXES)
    }
    charted = [n for n in (metric or []) if n] or names[:CHARTS]
    return page(
        request,
        "run.html",
        workspace=workspace,
        run=record,
        running=record.status not in TERMINAL_STATUSES,
        metrics=summaries,
        metric_count=metric_count,
        charted=charted,
        files=files,
        children=children,
        inputs=inputs,
        git=git,
        images=[d for d in documents if d.kind == "image"],
        tables=[d for d in documents if d.kind != "image"],
        may=may(request, workspace),
    )


@router.get(f"{RUN}/series", dependencies=page_guard(READ))
def series(
    workspace: str,
    run_id: str,
    request: Request,
    name: Annotated[str, Query(max_length=250)],
    points: Annotated[int, Query(ge=10, le=metric_series.MAX_POINTS)] = 4000,
) -> JSONResponse:
    """A metric's points for its chart: at most ``points``, extremes kept."""
    with database_of(request).session() as session:
        found = metric_series.chart_series(session, workspace, run_id, name, points)
    return JSONResponse(found, headers=SECURITY_HEADERS)


@router.get(f"{RUN}/files", dependencies=page_guard(READ), response_class=HTMLResponse)
def file_page(
    workspace: str, run_id: str, request: Request, path: Annotated[str, Query(max_length=1024)]
) -> HTMLResponse:
    """One file of the run: a preview of text (as text) or an image."""
    with database_of(request).session() as session:
        record = run_records.get(session, workspace, run_id)
        found = artifacts.get(session, workspace, run_id, path)
    suffix = "." + found.path.rsplit(".", 1)[-1].lower() if "." in found.path else ""
    text = None
    truncated = False
    if suffix not in IMAGE_TYPES:
        blobs: BlobStore = request.app.state.blobs
        with blobs.open(found.digest) as handle:
            head = handle.read(PREVIEW_BYTES + 1)
        truncated = len(head) > PREVIEW_BYTES
        text = head[:PREVIEW_BYTES].decode("utf-8", errors="replace")
    return page(
        request,
        "file.html",
        workspace=workspace,
        run=record,
        file=found,
        text=text,
        truncated=truncated,
        is_image=suffix in IMAGE_TYPES,
    )


@router.get(f"{RUN}/raw", dependencies=page_guard(READ), response_model=None)
def raw_file(
    workspace: str, run_id: str, request: Request, path: Annotated[str, Query(max_length=1024)]
) -> Response:
    """A run file's bytes: images as themselves, anything else as a download (never as a
    page of this site, so a file cannot run script here)."""
    with database_of(request).session() as session:
        found = artifacts.get(session, workspace, run_id, path)
    blobs: BlobStore = request.app.state.blobs
    with blobs.open(found.digest) as handle:
        content = handle.read()
    suffix = "." + found.path.rsplit(".", 1)[-1].lower() if "." in found.path else ""
    headers = {**SECURITY_HEADERS, "Content-Security-Policy": "default-src 'none'; sandbox"}
    if suffix in IMAGE_TYPES:
        return Response(content, media_type=IMAGE_TYPES[suffix], headers=headers)
    name = quote(found.path.rsplit("/", 1)[-1])
    headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{name}"
    return Response(content, media_type="application/octet-stream", headers=headers)


@router.get(f"{RUN}/snapshot", dependencies=page_guard(READ), response_model=None)
def snapshot_download(workspace: str, run_id: str, request: Request) -> Response:
    """The run's snapshot (its source folder as submitted) as a zip file."""
    blobs: BlobStore = request.app.state.blobs
    with database_of(request).session() as session:
        record = run_records.get(session, workspace, run_id)
        if not record.snapshot_id:
            raise NotFoundError(f"run {run_id!r} has no snapshot (it was not submitted)")
        manifest = snapshots.files(session, blobs, workspace, record.snapshot_id)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in manifest:
            info = zipfile.ZipInfo(entry.path)
            info.external_attr = (0o100000 | (entry.mode & 0o777)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with blobs.open(entry.digest) as handle, archive.open(info, "w") as out:
                while chunk := handle.read(1 << 20):
                    out.write(chunk)
    name = quote(f"{run_id}-snapshot.zip")
    headers = {**SECURITY_HEADERS, "Content-Disposition": f"attachment; filename*=UTF-8''{name}"}
    return Response(buffer.getvalue(), media_type="application/zip", headers=headers)


@router.get(f"{RUN}/log", dependencies=page_guard(READ))
def log_tail(
    workspace: str,
    run_id: str,
    request: Request,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    """The run's output from ``offset`` (for the live tail) and whether the run ended."""
    home = request.app.state.settings.home
    content, ended = run_logs.read_log(
        database_of(request), request.app.state.blobs, home, workspace, run_id, offset
    )
    content = content[:LOG_BYTES]
    body = {"text": content.decode("utf-8", errors="replace"), "next": offset + len(content)}
    return JSONResponse({**body, "ended": ended}, headers=SECURITY_HEADERS)


@router.post(f"{RUN}/tags/delete", dependencies=page_guard(WRITE), response_model=None)
def delete_tag(
    workspace: str, run_id: str, request: Request, key: Annotated[str, Form(max_length=255)]
) -> Response:
    """Remove one tag of the run (Contributor)."""
    with database_of(request).session() as session:
        record = run_records.get(session, workspace, run_id)
        if key not in record.tags:
            raise NotFoundError(f"run {run_id!r} has no tag {key!r}")
        runs.remove_tags(session, workspace, run_id, [key])
    return _back(workspace, run_id, "#tags")


@router.post(f"{RUN}/cancel", dependencies=page_guard(WRITE), response_model=None)
def cancel(workspace: str, run_id: str, request: Request) -> Response:
    """Cancel the run (Contributor)."""
    with database_of(request).session() as session:
        run_transitions.cancel(session, workspace, run_id)
    return _back(workspace, run_id)


@router.get("/workspaces/{workspace}/compare", dependencies=page_guard(READ))
def compare(
    workspace: str,
    request: Request,
    runs_: Annotated[list[str] | None, Query(alias="runs", max_length=300)] = None,
) -> HTMLResponse:
    """Several runs side by side: properties, metrics, and overlaid charts."""
    chosen = list(dict.fromkeys(runs_ or []))[:20]
    found: list[Any] = []
    with database_of(request).session() as session:
        for run_id in chosen:
            found.append(run_records.get(session, workspace, run_id, with_latest_metrics=True))
    metric_names = sorted({n for r in found for n in (r.latest_metrics or {})})
    param_names = sorted({n for r in found for n in r.properties})
    return page(
        request,
        "compare.html",
        workspace=workspace,
        runs=found,
        metric_names=metric_names[:200],
        param_names=param_names[:200],
    )
