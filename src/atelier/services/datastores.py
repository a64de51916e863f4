"""Datastores: named storage locations of a workspace, one of them the default.

Credentials go to the workspace key vault through ``datastore_secrets`` in the same
transaction as the datastore, and are never returned in a record.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from atelier.core.data_names import check_datastore_name
from atelier.core.data_records import DEFAULT_DATASTORE, DatastoreRecord
from atelier.core.errors import (
    AlreadyExistsError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from atelier.core.ids import new_id
from atelier.core.timeutil import now_ms
from atelier.services import datastore_secrets, workspaces
from atelier.storage.datastore_drivers import KNOWN_KINDS
from atelier.storage.secretbox import SecretBox
from atelier.store.models import DatasetRow, DatastoreRow

#: the config key that marks the workspace's own store (set by the server, never by a client)
_MANAGED = "managed"


def _record(row: DatastoreRow) -> DatastoreRecord:
    return DatastoreRecord(
        id=row.id,
        name=row.name,
        kind=row.kind,
        url=row.url,
        config=dict(row.config or {}),
        has_credentials=row.credentials_secret is not None,
        is_default=row.is_default,
        created_ms=row.created_ms,
    )


def check_location(kind: str, url: str, *, server_mode: bool, protected: list[str]) -> None:
    """Refuse a datastore that would expose the server's own files.

    A ``local`` datastore is only allowed in embedded mode (the user's own machine); in
    server mode neither it nor a URL inside the server's blob storage or home may be
    registered by a client.
    """
    if not server_mode:
        return
    if kind == "local":
        raise PermissionDeniedError(
            "local datastores can only be registered in embedded mode: on a server they "
            "would read the server's own disk; use s3://, az:// or gs:// storage"
        )
    for root in protected:
        if "://" in root and url.rstrip("/").startswith(root.rstrip("/")):
            raise PermissionDeniedError(
                f"datastore URL {url!r} lies inside the server's own storage; use another "
                "bucket or prefix"
            )
        if "://" not in root and is_inside(url, [root]):
            raise PermissionDeniedError(f"datastore URL {url!r} lies inside the server's files")


def is_inside(path: str, roots: list[str]) -> bool:
    """Whether a local path lies in (or is) one of ``roots`` (links resolved)."""
    resolved = os.path.realpath(path.split("://", 1)[-1])
    for root in roots:
        base = os.path.realpath(root.split("://", 1)[-1])
        if resolved == base or resolved.startswith(base.rstrip("/") + "/"):
            return True
    return False


def _row(session: Session, workspace: str, name: str) -> DatastoreRow:
    ws = workspaces.get_row(session, workspace)
    row = session.scalar(
        select(DatastoreRow).where(DatastoreRow.workspace_id == ws.id, DatastoreRow.name == name)
    )
    if row is None:
        check_datastore_name(name)
        raise NotFoundError(
            f"datastore {name!r} not found in workspace {workspace!r}; list them with "
            f"'atelier datastore list -w {workspace}' or register it with Datastore.register"
        )
    return row


def ensure_default(session: Session, workspace: str, kind: str, url: str) -> DatastoreRecord:
    """The workspace's default datastore, creating ``workspaceblobstore`` on first use."""
    ws = workspaces.get_row(session, workspace)
    current = session.scalar(
        select(DatastoreRow).where(DatastoreRow.workspace_id == ws.id, DatastoreRow.is_default)
    )
    if current is not None:
        return _record(current)
    existing = session.scalar(
        select(DatastoreRow).where(
            DatastoreRow.workspace_id == ws.id, DatastoreRow.name == DEFAULT_DATASTORE
        )
    )
    if existing is None:
        existing = DatastoreRow(
            id=new_id(),
            workspace_id=ws.id,
            name=DEFAULT_DATASTORE,
            kind=kind,
            url=url,
            config={_MANAGED: True},
            credentials_secret=None,
            is_default=True,
            created_ms=now_ms(),
        )
        session.add(existing)
    existing.is_default = True
    session.flush()
    return _record(existing)


def register(
    session: Session,
    workspace: str,
    name: str,
    *,
    kind: str,
    url: str,
    config: dict[str, Any],
    credentials: dict[str, str],
    box: SecretBox | None,
    overwrite: bool,
    may_replace: bool = True,
) -> DatastoreRecord:
    """Register (or with ``overwrite`` replace) a datastore; ``AlreadyExistsError`` else.

    As in azureml, ``overwrite`` on a name not taken yet simply registers it. Replacing
    one needs ``may_replace`` (an Owner on a server), and the workspace's managed store
    (``workspaceblobstore`` on the server's own storage) is never replaced.
    """
    check_datastore_name(name)
    if kind not in KNOWN_KINDS:
        raise NotFoundError(f"unknown datastore kind {kind!r}; use one of {sorted(KNOWN_KINDS)}")
    if _MANAGED in config:
        raise ValidationError(f"the config key {_MANAGED!r} is the server's own; remove it")
    ws = workspaces.get_row(session, workspace)
    row = session.scalar(
        select(DatastoreRow).where(DatastoreRow.workspace_id == ws.id, DatastoreRow.name == name)
    )
    if row is not None:
        _check_replace(row, workspace, overwrite=overwrite, may_replace=may_replace)
    if row is None:
        row = DatastoreRow(
            id=new_id(), workspace_id=ws.id, name=name, is_default=False, created_ms=now_ms()
        )
        session.add(row)
    row.kind = kind
    row.url = url
    row.config = dict(config)
    row.credentials_secret = datastore_secrets.store(
        session, box, workspace, name, credentials, previous=row.credentials_secret
    )
    session.flush()
    return _record(row)


def _check_replace(
    row: DatastoreRow, workspace: str, *, overwrite: bool, may_replace: bool
) -> None:
    if not overwrite:
        raise AlreadyExistsError(
            f"datastore {row.name!r} already exists in workspace {workspace!r}; pass "
            "overwrite=True to replace it or choose another name"
        )
    if is_managed(row):
        raise PermissionDeniedError(
            f"datastore {row.name!r} is the workspace's managed store and cannot be replaced; "
            "register your storage under another name and make it the default with "
            "ws.set_default_datastore(name)"
        )
    if not may_replace:
        raise PermissionDeniedError(
            f"replacing datastore {row.name!r} needs the Owner role in workspace "
            f"{workspace!r}; register it under another name or ask an Owner"
        )


def is_managed(row: DatastoreRow) -> bool:
    """Whether the row is the workspace's own store on the server's storage."""
    return bool((row.config or {}).get(_MANAGED))


def get(session: Session, workspace: str, name: str) -> DatastoreRecord:
    return _record(_row(session, workspace, name))


def credentials(session: Session, box: SecretBox, workspace: str, name: str) -> dict[str, str]:
    """The datastore's credentials, for the backend that opens it (never listed)."""
    row = _row(session, workspace, name)
    return datastore_secrets.load(session, box, workspace, name, row.credentials_secret)


def list_all(session: Session, workspace: str) -> list[DatastoreRecord]:
    ws = workspaces.get_row(session, workspace)
    rows = session.scalars(
        select(DatastoreRow).where(DatastoreRow.workspace_id == ws.id).order_by(DatastoreRow.name)
    )
    return [_record(row) for row in rows]


def set_default(session: Session, workspace: str, name: str) -> DatastoreRecord:
    row = _row(session, workspace, name)
    session.execute(
        update(DatastoreRow)
        .where(DatastoreRow.workspace_id == row.workspace_id, DatastoreRow.id != row.id)
        .values(is_default=False)
    )
    row.is_default = True
    session.flush()
    return _record(row)


def unregister(session: Session, workspace: str, name: str) -> None:
    """Forget the datastore (its files stay); refused for the default one and while a
    registered dataset reads from it."""
    row = _row(session, workspace, name)
    if is_managed(row):
        raise ConflictError(
            f"datastore {name!r} is the workspace's managed store and stays registered; "
            "make another datastore the default instead (ws.set_default_datastore(name))"
        )
    if row.is_default:
        raise ConflictError(
            f"datastore {name!r} is the workspace's default; make another one the default "
            "(ws.set_default_datastore(name)) before unregistering it"
        )
    users = [
        f"{ds.name}:{ds.version}"
        for ds in session.scalars(
            select(DatasetRow).where(DatasetRow.workspace_id == row.workspace_id)
        )
        if name in (ds.definition or {}).get("datastores", [])
    ]
    if users:
        raise ConflictError(
            f"datastore {name!r} is read by the registered dataset(s) {', '.join(users[:5])}; "
            "it cannot be unregistered while they exist"
        )
    datastore_secrets.forget(session, workspace, row.credentials_secret)
    session.delete(row)
    session.flush()
