"""Endpoints: REST scoring services with two keys and one or more deployments behind a
traffic split. One module per part of the resource:

- ``endpoints`` (this module): create and delete an endpoint; the entry point that
  re-exports the others' functions, so a caller imports one module
- ``endpoint_records``: reading endpoints into records, lookups, which deployments serve a
  model (a model used by a deployment cannot be deleted)
- ``endpoint_keys``: the keys, sealed with the workspace secret box; records carry only
  their SHA-256 digests, which is what a router checks requests against
- ``endpoint_deployments``: deployments (models that must exist, generations) and the
  traffic split (existing deployments, adding up to 100)
- ``endpoint_reports``: what the endpoint's manager and replicas send back (state,
  replicas, failure, collected model data)

Every change an endpoint's manager must act on raises the endpoint's ``revision``.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from atelier.core.endpoints import KINDS, EndpointRecord, check_endpoint_name
from atelier.core.errors import AlreadyExistsError, ConflictError, ValidationError
from atelier.core.ids import new_id
from atelier.core.timeutil import now_ms
from atelier.services import endpoint_keys, workspaces
from atelier.services.endpoint_deployments import delete_deployment, put_deployment, set_traffic
from atelier.services.endpoint_keys import open_keys, regenerate
from atelier.services.endpoint_records import (
    KEY_SLOTS,
    bump,
    deployments_using,
    get,
    get_row,
    list_all,
)
from atelier.services.endpoint_reports import (
    mark_failed,
    model_data,
    report,
    set_manager,
    write_model_data,
)
from atelier.storage.secretbox import SecretBox
from atelier.store.models import EndpointRow

__all__ = [
    "KEY_SLOTS",
    "create",
    "delete",
    "delete_deployment",
    "deployments_using",
    "get",
    "list_all",
    "mark_failed",
    "model_data",
    "open_keys",
    "put_deployment",
    "regenerate",
    "report",
    "set_access",
    "set_details",
    "set_manager",
    "set_traffic",
    "write_model_data",
]


#: what ``set_details`` changes: azureml's descriptive members of a service
DETAILS = ("tags", "properties", "description")
_DESCRIPTION_MAX = 4096


def _string_map(what: str, value: object) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValidationError(f"{what} must be a dict of strings to strings; got {value!r}")
    return dict(value)


def check_details(details: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    """``details`` checked: only tags, properties (dicts of strings) and description (a
    string or None). Against ``old`` (the endpoint's config), a property may be added but
    not changed, as in azureml."""
    unknown = sorted(set(details) - set(DETAILS))
    if unknown:
        raise ValidationError(f"only {', '.join(DETAILS)} can be set; not {', '.join(unknown)}")
    checked: dict[str, Any] = {}
    if "tags" in details:
        checked["tags"] = _string_map("tags", details["tags"])
    if "properties" in details:
        properties = _string_map("properties", details["properties"])
        recorded = dict((old or {}).get("properties") or {})
        changed = sorted(k for k, v in properties.items() if k in recorded and recorded[k] != v)
        if changed:
            raise ValidationError(
                f"a service's properties can be added but not changed: {', '.join(changed)} "
                "already set; use tags for values that change"
            )
        checked["properties"] = {**recorded, **properties}
    if "description" in details:
        description = details["description"]
        if description is not None and (
            not isinstance(description, str) or len(description) > _DESCRIPTION_MAX
        ):
            raise ValidationError(
                f"description must be a string of at most {_DESCRIPTION_MAX} characters"
            )
        checked["description"] = description
    return checked


def set_details(
    session: Session, workspace: str, name: str, details: dict[str, Any]
) -> EndpointRecord:
    """Replace the endpoint's tags and/or description and add properties (the keys of
    ``details``); nothing the endpoint's process acts on, so no new revision.
    ``ValidationError`` as :func:`check_details` says."""
    row = get_row(session, workspace, name)
    config = dict(row.config or {})
    config.update(check_details(details, config))
    row.config = config
    row.updated_ms = now_ms()
    session.flush()
    return get(session, workspace, name)


#: who deployed the endpoint (the user name), kept in its config; set by the backend
CREATED_BY = "created_by"
#: the endpoint's TLS settings in its config: ``{"cname": str | None, "cert_sha256": hex}``;
#: the certificate and key themselves stay in the endpoint's folder on its machine
TLS = "tls"
#: what ``set_access`` changes: whether requests need a key, and TLS
ACCESS = ("auth_enabled", TLS)
_CNAME = re.compile(r"[A-Za-z0-9*]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def check_tls(value: object) -> dict[str, Any] | None:
    """TLS settings checked: None (plain HTTP) or ``{"cname": a host name or None,
    "cert_sha256": the certificate's SHA-256 hex digest}``."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"cname", "cert_sha256"}:
        raise ValidationError(
            "tls must be null or {'cname': a host name or null, 'cert_sha256': the "
            f"certificate's SHA-256 hex digest}}; got {value!r}"
        )
    cname, digest = value["cname"], value["cert_sha256"]
    if cname is not None and (not isinstance(cname, str) or not _CNAME.fullmatch(cname)):
        raise ValidationError(
            f"tls cname must be a host name such as 'svc.example.com'; got {cname!r}"
        )
    if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ValidationError("tls cert_sha256 must be 64 lowercase hex digits")
    return {"cname": cname, "cert_sha256": digest}


def set_access(
    session: Session, workspace: str, name: str, changes: dict[str, Any]
) -> EndpointRecord:
    """Turn key auth on or off (``auth_enabled``) and/or set TLS (``tls``, see
    :func:`check_tls`) on a live endpoint: its revision rises, so its manager applies them
    (the keys exist from the endpoint's creation, whatever ``auth_enabled`` was).
    ``ValidationError`` for another key or a bad value."""
    unknown = sorted(set(changes) - set(ACCESS))
    if unknown:
        raise ValidationError(f"only {', '.join(ACCESS)} can be set; not {', '.join(unknown)}")
    row = get_row(session, workspace, name)
    if "auth_enabled" in changes:
        if not isinstance(changes["auth_enabled"], bool):
            raise ValidationError("auth_enabled must be true or false")
        row.auth_enabled = changes["auth_enabled"]
    if TLS in changes:
        config = dict(row.config or {})
        tls = check_tls(changes[TLS])
        if tls is None:
            config.pop(TLS, None)
        else:
            config[TLS] = tls
        row.config = config
    bump(row)
    session.flush()
    return get(session, workspace, name)


def _check_port(port: object) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValidationError(f"port must be 1-65535; got {port!r}")
    return port


def create(
    session: Session,
    box: SecretBox,
    workspace: str,
    name: str,
    *,
    kind: str,
    port: int,
    auth_enabled: bool,
    config: dict[str, Any],
    created_by: str | None = None,
) -> EndpointRecord:
    """Create an endpoint (no deployments yet) with two new random keys sealed with ``box``;
    ``created_by`` (the deploying user's name) replaces any the config carries.
    ``ValidationError`` for a bad name, kind or port, ``AlreadyExistsError`` if the name is
    taken, ``ConflictError`` if another endpoint of the workspace uses ``port``."""
    keys_by_slot = endpoint_keys.new_keys(box)
    check_endpoint_name(name)
    if kind not in KINDS:
        raise ValidationError(f"endpoint kind must be one of {', '.join(KINDS)}; got {kind!r}")
    _check_port(port)
    config = {**config, **check_details({k: config[k] for k in DETAILS if k in config})}
    config.pop(CREATED_BY, None)
    if created_by:
        config[CREATED_BY] = str(created_by)
    if TLS in config:
        config[TLS] = check_tls(config[TLS])
    ws = workspaces.get_row(session, workspace)
    if session.scalar(
        select(EndpointRow.id).where(EndpointRow.workspace_id == ws.id, EndpointRow.name == name)
    ):
        raise AlreadyExistsError(
            f"endpoint {name!r} already exists in workspace {workspace!r}; update it, or "
            "delete it first"
        )
    taken = session.scalar(
        select(EndpointRow.name).where(EndpointRow.workspace_id == ws.id, EndpointRow.port == port)
    )
    if taken is not None:
        raise ConflictError(
            f"port {port} is already the port of endpoint {taken!r}; choose another port "
            "or pass port=0 for a free one"
        )
    stamp = now_ms()
    row = EndpointRow(
        id=new_id(),
        workspace_id=ws.id,
        name=name,
        kind=kind,
        port=port,
        auth_enabled=bool(auth_enabled),
        config=dict(config),
        traffic={},
        manager_pid=0,
        revision=1,
        applied_revision=0,
        created_ms=stamp,
        updated_ms=stamp,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise AlreadyExistsError(
            f"endpoint {name!r} was created meanwhile by another process; use it or pick "
            "another name"
        ) from exc
    endpoint_keys.add_keys(session, row.id, keys_by_slot)
    session.flush()
    return get(session, workspace, name)


def delete(session: Session, workspace: str, name: str) -> None:
    """Delete the endpoint with its deployments, keys and replica records."""
    row = get_row(session, workspace, name)
    session.delete(row)
    session.flush()
