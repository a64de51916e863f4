"""The workspace's other resources as pages: models, datasets, datastores, environments,
compute, endpoints (keys revealed only to a Contributor or Owner), key vault names and
members. Listings share one template; secrets never reach a page unasked."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse

from atelier.core.records import ModelQuery
from atelier.server.auth import MANAGE, READ, USER, WRITE
from atelier.server.routes._common import secret_box
from atelier.services import (
    compute,
    datasets,
    datastores,
    endpoint_records,
    endpoints,
    environments,
    members,
    models,
    secrets,
    users,
)
from atelier.studio.context import database_of, may
from atelier.studio.render import page, when
from atelier.studio.security import SECURITY_HEADERS, page_guard, viewer_of

router = APIRouter(tags=["studio"], include_in_schema=False)

WS = "/workspaces/{workspace}"
Version = Annotated[int, Path(ge=1, le=1_000_000_000)]


def _cell(value: Any) -> str:
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str, ensure_ascii=False)[:300]
    return "" if value is None else str(value)


def _listing(
    request: Request,
    workspace: str,
    title: str,
    headers: list[str],
    rows: list[tuple[str | None, list[Any]]],
    empty: str,
) -> HTMLResponse:
    """A table page: each row is (link or None, cells)."""
    return page(
        request,
        "listing.html",
        workspace=workspace,
        title=title,
        headers=headers,
        rows=[(link, [_cell(c) for c in cells]) for link, cells in rows],
        empty=empty,
    )


@router.get(f"{WS}/models", dependencies=page_guard(READ), response_class=HTMLResponse)
def models_page(workspace: str, request: Request) -> HTMLResponse:
    """Registered models, every version."""
    with database_of(request).session() as session:
        found = models.list_models(session, workspace, ModelQuery())
    rows: list[tuple[str | None, list[Any]]] = [
        (
            f"/workspaces/{workspace}/models/{m.name}/{m.version}",
            [m.name, m.version, m.framework or "", m.tags, when(m.created_ms)],
        )
        for m in found
    ]
    headers = ["Name", "Version", "Framework", "Tags", "Created"]
    return _listing(request, workspace, "Models", headers, rows, "No models registered yet.")


@router.get(
    f"{WS}/models/{{name}}/{{version}}", dependencies=page_guard(READ), response_class=HTMLResponse
)
def model_page(workspace: str, name: str, version: Version, request: Request) -> HTMLResponse:
    """One model version: its tags, properties, files, the run it came from and datasets."""
    with database_of(request).session() as session:
        record = models.get(session, workspace, name, version)
        files = models.files(session, workspace, name, version)
        used = datasets.model_datasets(session, workspace, name, version)
    return page(request, "model.html", workspace=workspace, model=record, files=files, used=used)


@router.get(f"{WS}/datasets", dependencies=page_guard(READ), response_class=HTMLResponse)
def datasets_page(workspace: str, request: Request) -> HTMLResponse:
    """Datasets, newest version of each."""
    with database_of(request).session() as session:
        found = datasets.list_latest(session, workspace)
    rows: list[tuple[str | None, list[Any]]] = [
        (
            f"/workspaces/{workspace}/datasets/{d.name}/{d.version}",
            [d.name, d.version, d.kind, d.file_count, d.total_size, d.description],
        )
        for d in found
    ]
    headers = ["Name", "Version", "Kind", "Files", "Bytes", "Description"]
    return _listing(request, workspace, "Datasets", headers, rows, "No datasets registered yet.")


@router.get(f"{WS}/datastores", dependencies=page_guard(READ), response_class=HTMLResponse)
def datastores_page(workspace: str, request: Request) -> HTMLResponse:
    """Datastores (whether they hold credentials, never the credentials)."""
    with database_of(request).session() as session:
        found = datastores.list_all(session, workspace)
    rows: list[tuple[str | None, list[Any]]] = [
        (None, [d.name, d.kind, d.url, "yes" if d.has_credentials else "", d.is_default])
        for d in found
    ]
    headers = ["Name", "Kind", "URL", "Credentials", "Default"]
    return _listing(request, workspace, "Datastores", headers, rows, "No datastores.")


@router.get(f"{WS}/environments", dependencies=page_guard(READ), response_class=HTMLResponse)
def environments_page(workspace: str, request: Request) -> HTMLResponse:
    """Registered environments with their specs."""
    with database_of(request).session() as session:
        found = environments.list_all(session, workspace)
    rows: list[tuple[str | None, list[Any]]] = [
        (
            f"/workspaces/{workspace}/environments/{e.name}/{e.version}",
            [e.name, e.version, e.spec, when(e.created_ms)],
        )
        for e in found
    ]
    headers = ["Name", "Version", "Spec", "Created"]
    return _listing(request, workspace, "Environments", headers, rows, "No environments.")


@router.get(f"{WS}/compute", dependencies=page_guard(READ), response_class=HTMLResponse)
def compute_page(workspace: str, request: Request) -> HTMLResponse:
    """Compute targets and their state."""
    with database_of(request).session() as session:
        found = compute.list_all(session, workspace)
    rows: list[tuple[str | None, list[Any]]] = [
        (
            f"/workspaces/{workspace}/compute/{c.name}",
            [c.name, c.kind, c.state, c.error or "", when(c.created_ms)],
        )
        for c in found
    ]
    headers = ["Name", "Kind", "State", "Error", "Created"]
    return _listing(request, workspace, "Compute targets", headers, rows, "No compute targets.")


@router.get(f"{WS}/endpoints", dependencies=page_guard(READ), response_class=HTMLResponse)
def endpoints_page(workspace: str, request: Request) -> HTMLResponse:
    """Endpoints with their deployments and traffic split; keys only on demand."""
    with database_of(request).session() as session:
        found = endpoint_records.list_all(session, workspace)
    return page(
        request, "endpoints.html", workspace=workspace, endpoints=found, may=may(request, workspace)
    )


@router.post(f"{WS}/endpoints/{{name}}/keys", dependencies=page_guard(WRITE))
def endpoint_keys(workspace: str, name: str, request: Request) -> JSONResponse:
    """An endpoint's two keys in the clear, for a Contributor or Owner who asks."""
    box = secret_box(request)
    with database_of(request).session() as session:
        primary, secondary = endpoints.open_keys(session, box, workspace, name)
    body = {"primary_key": primary, "secondary_key": secondary}
    return JSONResponse(body, headers=SECURITY_HEADERS)


@router.get(f"{WS}/keyvault", dependencies=page_guard(READ), response_class=HTMLResponse)
def keyvault_page(workspace: str, request: Request) -> HTMLResponse:
    """The names of the workspace's secrets (never their values)."""
    with database_of(request).session() as session:
        found = secrets.list_secrets(session, workspace)
    rows: list[tuple[str | None, list[Any]]] = [
        (None, [s.name, when(s.created_ms), when(s.updated_ms)]) for s in found
    ]
    headers = ["Secret", "Created", "Updated"]
    return _listing(request, workspace, "Key vault", headers, rows, "No secrets.")


@router.get(f"{WS}/members", dependencies=page_guard(MANAGE), response_class=HTMLResponse)
def members_page(workspace: str, request: Request) -> HTMLResponse:
    """Who holds which role in the workspace (Owners only)."""
    viewer_of(request)
    with database_of(request).session() as session:
        found = members.list_members(session, workspace)
    rows: list[tuple[str | None, list[Any]]] = [(None, [m.user_name, m.role.value]) for m in found]
    manage_hint = "Change roles with 'atelier workspace member add'."
    return _listing(request, workspace, "Members", ["User", "Role"], rows, manage_hint)


@router.get("/tokens", dependencies=page_guard(USER), response_class=HTMLResponse)
def tokens_page(request: Request) -> HTMLResponse:
    """Your own tokens (names, ids, times, never secrets)."""
    principal = viewer_of(request).principal
    rows: list[tuple[str | None, list[Any]]] = []
    if principal.token_id != "local":
        with database_of(request).session() as session:
            found = users.list_tokens(session, principal.user_name, "user")
        rows = [
            (
                None,
                [t.name, t.id, when(t.created_ms), when(t.expires_ms), "yes" if t.revoked else ""],
            )
            for t in found
        ]
    headers = ["Name", "Id", "Created", "Expires", "Revoked"]
    hint = "Create one with 'atelier token create'; revoke with 'atelier token revoke ID'."
    return page(
        request, "listing.html", workspace=None, title="Your tokens", headers=headers,
        rows=[(link, [_cell(c) for c in cells]) for link, cells in rows], empty=hint,
    )  # fmt: skip
