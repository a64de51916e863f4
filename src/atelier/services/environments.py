"""Environments: named, versioned Python specs; registering an unchanged spec is a no-op."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from atelier.core.errors import NotFoundError, StoreError, ValidationError
from atelier.core.ids import new_id
from atelier.core.names import check_version
from atelier.core.records import EnvironmentRecord
from atelier.core.timeutil import now_ms
from atelier.services import workspaces
from atelier.store.models import EnvironmentRow

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")
NAME_RULE = "1-255 characters: letters, digits, '-', '_' and '.', starting with a letter or digit"

#: keys of ``Environment.to_spec()`` and the JSON types each may hold
_SPEC_TYPES: dict[str, tuple[type, ...]] = {
    "python_version": (str, type(None)),
    "pip": (list,),
    "conda_packages": (list,),
    "user_managed": (bool,),
    "interpreter_path": (str, type(None)),
    "environment_variables": (dict,),
    "base_image": (str,),
}
_REGISTER_ATTEMPTS = 5


def check_environment_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise ValidationError(f"invalid environment name {name!r}: use {NAME_RULE}")
    return name


def check_spec(spec: object) -> dict[str, Any]:
    """The spec itself if its known keys hold the right types; ``ValidationError`` if not."""
    if not isinstance(spec, dict):
        raise ValidationError(
            f"an environment spec must be a dict, not {type(spec).__name__}; "
            "build it with Environment.to_spec()"
        )
    for key, types in _SPEC_TYPES.items():
        if key in spec and not isinstance(spec[key], types):
            wanted = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise ValidationError(
                f"environment spec key {key!r} must be {wanted}, "
                f"not {type(spec[key]).__name__}; build the spec with Environment.to_spec()"
            )
    for key in ("pip", "conda_packages"):
        if not all(isinstance(item, str) for item in spec.get(key, [])):
            raise ValidationError(f"environment spec key {key!r} must be a list of strings")
    variables = spec.get("environment_variables", {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in variables.items()):
        raise ValidationError(
            "environment_variables must map strings to strings; convert values with str()"
        )
    return spec


def spec_hash(spec: dict[str, Any]) -> str:
    """sha256 of the spec's canonical JSON (sorted keys, no spaces)."""
    try:
        canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"the environment spec is not plain JSON: {exc}") from exc
    return hashlib.sha256(canonical.encode()).hexdigest()


def _record(row: EnvironmentRow) -> EnvironmentRecord:
    return EnvironmentRecord(
        id=row.id,
        name=row.name,
        version=row.version,
        spec_hash=row.spec_hash,
        spec=dict(row.spec),
        created_ms=row.created_ms,
    )


def _latest_row(session: Session, workspace_id: str, name: str) -> EnvironmentRow | None:
    return session.scalar(
        select(EnvironmentRow)
        .where(EnvironmentRow.workspace_id == workspace_id, EnvironmentRow.name == name)
        .order_by(EnvironmentRow.version.desc())
        .limit(1)
    )


def register(
    session: Session, workspace: str, name: str, spec: dict[str, Any]
) -> EnvironmentRecord:
    """Register ``spec`` under ``name`` and return the version that holds it.

    The first registration is version 1; registering the latest version's spec again
    returns that version unchanged; a changed spec becomes latest + 1. Raises
    ``ValidationError`` for a bad name or spec and ``NotFoundError`` for an unknown workspace.
    """
    check_environment_name(name)
    digest = spec_hash(check_spec(spec))
    ws = workspaces.get_row(session, workspace)
    for _ in range(_REGISTER_ATTEMPTS):
        latest = _latest_row(session, ws.id, name)
        if latest is not None and latest.spec_hash == digest:
            return _record(latest)
        row = EnvironmentRow(
            id=new_id(),
            workspace_id=ws.id,
            name=name,
            version=1 if latest is None else latest.version + 1,
            spec_hash=digest,
            spec=spec,
            created_ms=now_ms(),
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            # another process registered a version between our read and write; look again
            continue
        return _record(row)
    raise StoreError(f"environment {name!r} kept changing while registering it; try again")


def get(
    session: Session, workspace: str, name: str, version: int | None = None
) -> EnvironmentRecord:
    """The named environment: its latest version, or ``version``; ``NotFoundError`` if absent."""
    if version is not None:
        version = check_version("environment", version)
    ws = workspaces.get_row(session, workspace)
    latest = _latest_row(session, ws.id, name)
    if latest is None:
        check_environment_name(name)
        raise NotFoundError(
            f"environment {name!r} not found in workspace {workspace!r}; "
            f"register it with Environment({name!r}).register(ws)"
        )
    if version is None or version == latest.version:
        return _record(latest)
    row = session.scalar(
        select(EnvironmentRow).where(
            EnvironmentRow.workspace_id == ws.id,
            EnvironmentRow.name == name,
            EnvironmentRow.version == version,
        )
    )
    if row is None:
        raise NotFoundError(
            f"environment {name!r} has no version {version} in workspace {workspace!r}; "
            f"the latest is {latest.version} (omit version to get it)"
        )
    return _record(row)


def list_all(session: Session, workspace: str) -> list[EnvironmentRecord]:
    """The latest version of each environment in the workspace, sorted by name."""
    ws = workspaces.get_row(session, workspace)
    newest = (
        select(EnvironmentRow.name, func.max(EnvironmentRow.version).label("version"))
        .where(EnvironmentRow.workspace_id == ws.id)
        .group_by(EnvironmentRow.name)
        .subquery()
    )
    query = (
        select(EnvironmentRow)
        .join(
            newest,
            (EnvironmentRow.name == newest.c.name) & (EnvironmentRow.version == newest.c.version),
        )
        .where(EnvironmentRow.workspace_id == ws.id)
        .order_by(EnvironmentRow.name)
    )
    return [_record(row) for row in session.scalars(query)]
