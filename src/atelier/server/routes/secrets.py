"""``/workspaces/{workspace}/secrets``: the workspace key vault over HTTP.

Roles: Readers list names and times; reading values needs Contributor (a run's own run
token may read the values of its run's workspace, so ``Run.get_context().get_secret``
works inside runs submitted through the server); setting and deleting need Owner.
Values travel only in the bodies of ``POST .../secrets/values`` (read) and
``PUT .../secrets`` (set): never in a URL, so never in the audit log, which records the
route and the caller only.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status

from atelier.core.access import Access
from atelier.core.secrets import SecretRecord
from atelier.server.auth import MANAGE, READ, Rule, guard
from atelier.server.routes._common import database, secret_box
from atelier.server.schemas import Body
from atelier.services import secrets

router = APIRouter(tags=["secrets"])
SECRETS = "/workspaces/{workspace}/secrets"
#: Contributors and the workspace's own runs (run token) read values
READ_VALUES = Rule("workspace", Access.WRITE, run_token=True)


class SecretValues(Body):
    values: dict[str, Any]  # checked by the service, whose errors say what to do


class SecretNames(Body):
    names: list[Any]


@router.get(SECRETS, dependencies=guard(READ), response_model=list[SecretRecord])
def list_secrets(workspace: str, request: Request) -> list[SecretRecord]:
    """Names and times only."""
    with database(request).session() as session:
        return secrets.list_secrets(session, workspace)


@router.put(SECRETS, dependencies=guard(MANAGE), response_model=list[SecretRecord])
def set_secrets(workspace: str, body: SecretValues, request: Request) -> list[SecretRecord]:
    """Create or replace several secrets at once (all checked before any is written)."""
    box = secret_box(request)
    with database(request).session() as session:
        return secrets.set_secrets(session, box, workspace, body.values)


@router.post(f"{SECRETS}/values", dependencies=guard(READ_VALUES), response_model=dict[str, str])
def get_values(workspace: str, body: SecretNames, request: Request) -> dict[str, str]:
    """The values of ``names`` (a POST so that names and values stay out of URLs)."""
    box = secret_box(request)
    with database(request).session() as session:
        return secrets.get_secrets(session, box, workspace, body.names)


@router.delete(
    f"{SECRETS}/{{name}}", dependencies=guard(MANAGE), status_code=status.HTTP_204_NO_CONTENT
)
def delete_secret(workspace: str, name: str, request: Request) -> None:
    with database(request).session() as session:
        secrets.delete_secret(session, workspace, name)
