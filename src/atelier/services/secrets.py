"""The workspace key vault: named secrets, encrypted at rest, per workspace.

API (each takes an open SQLAlchemy session; workspaces are addressed by name)::

    set_secret(session, box, workspace, name, value: str) -> SecretRecord     # create or replace
    set_secrets(session, box, workspace, {name: value}) -> list[SecretRecord]  # all or none
    get_secret(session, box, workspace, name) -> str
    get_secrets(session, box, workspace, [names]) -> dict[str, str]            # all or none
    list_secrets(session, workspace) -> list[SecretRecord]   # names and times, never values
    delete_secret(session, workspace, name) -> None

Datastore credentials live in the same table but only the server reads them: they are
stored under names a user cannot give (``datastore:<name>``, through ``set_server_secret``
and ``get_server_secret``), and a secret that a datastore names as its credentials (the
``datastore-<name>`` secrets of workspaces made before) is hidden from the user-facing
functions above: not listed, not read, not replaced, not deleted.

``box`` is a :class:`atelier.storage.secretbox.SecretBox` (``load_secret_box(settings)``);
only the functions that read or write values take it. Each value is sealed with AES-GCM
and bound to its workspace id and name, so a row copied elsewhere does not decrypt.

Errors: ``ValidationError`` (bad name, non-string or oversized value), ``NotFoundError``
(no such workspace or secret; ``get_secrets`` names every missing one), ``SecretKeyError``
(the key in use is not the key a value was stored with, or the value is damaged).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from atelier.core.errors import ConflictError, NotFoundError, StoreError, ValidationError
from atelier.core.ids import new_id
from atelier.core.secrets import SecretRecord, check_secret_name, check_secret_value
from atelier.core.timeutil import now_ms
from atelier.services import workspaces
from atelier.storage.secretbox import SecretBox
from atelier.store.models import DatastoreRow, SecretRow

#: each failed attempt means another process created the same name meanwhile
_SET_ATTEMPTS = 5
#: most secrets one batch may set or read
BATCH_MAX = 1000


def _record(row: SecretRow) -> SecretRecord:
    return SecretRecord(name=row.name, created_ms=row.created_ms, updated_ms=row.updated_ms)


def _context(workspace_id: str, name: str) -> bytes:
    return f"atelier-secret\x00{workspace_id}\x00{name}".encode()


def _missing(workspace: str, names: Iterable[str]) -> NotFoundError:
    listed = ", ".join(repr(name) for name in names)
    return NotFoundError(
        f"secret {listed} not found in workspace {workspace!r}; set it with "
        f"ws.get_default_keyvault().set_secret(name, value) or "
        f"'atelier secret set NAME -w {workspace}' (list them with 'atelier secret list')"
    )


def _check_batch(kind: str, count: int) -> None:
    if count == 0:
        raise ValidationError(f"no secrets to {kind}; pass at least one name")
    if count > BATCH_MAX:
        raise ValidationError(f"{count} secrets in one call; {kind} at most {BATCH_MAX} at a time")


def _server_only(session: Session, workspace_id: str) -> set[str]:
    """Names of the workspace's secrets that only the server reads (datastore credentials)."""
    return set(
        session.scalars(
            select(DatastoreRow.credentials_secret).where(
                DatastoreRow.workspace_id == workspace_id,
                DatastoreRow.credentials_secret.is_not(None),
            )
        )
    )


def _refuse_server_only(session: Session, workspace_id: str, names: Iterable[str]) -> None:
    hidden = _server_only(session, workspace_id)
    for name in names:
        if name in hidden:
            raise ConflictError(
                f"secret {name!r} holds a datastore's credentials, which only the server "
                "reads; choose another name (replace the credentials by registering the "
                "datastore again with overwrite=True)"
            )


def _put(session: Session, box: SecretBox, workspace_id: str, name: str, data: bytes) -> SecretRow:
    sealed = box.seal(data, _context(workspace_id, name))
    for _ in range(_SET_ATTEMPTS):
        row = session.scalar(
            select(SecretRow).where(SecretRow.workspace_id == workspace_id, SecretRow.name == name)
        )
        now = now_ms()
        if row is not None:
            row.sealed, row.key_id, row.updated_ms = sealed, box.key_id, now
            session.flush()
            return row
        row = SecretRow(
            id=new_id(),
            workspace_id=workspace_id,
            name=name,
            sealed=sealed,
            key_id=box.key_id,
            created_ms=now,
            updated_ms=now,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue  # created by another process between our read and write: update it
        return row
    raise StoreError(f"secret {name!r} is being set by others right now; try again")


def set_secret(
    session: Session, box: SecretBox, workspace: str, name: str, value: str
) -> SecretRecord:
    """Create the secret or replace its value; its creation time is kept on replace."""
    return set_secrets(session, box, workspace, {name: value})[0]


def set_secrets(
    session: Session, box: SecretBox, workspace: str, values: Mapping[str, str]
) -> list[SecretRecord]:
    """Set several secrets in one transaction: every one is checked before any is written."""
    if not isinstance(values, Mapping):
        raise ValidationError("pass the secrets as a dict of name -> value")
    _check_batch("set", len(values))
    checked = {
        check_secret_name(name): check_secret_value(name, value) for name, value in values.items()
    }
    ws = workspaces.get_row(session, workspace)
    _refuse_server_only(session, ws.id, checked)
    return [_record(_put(session, box, ws.id, name, data)) for name, data in checked.items()]


def get_secret(session: Session, box: SecretBox, workspace: str, name: str) -> str:
    """The secret's value; ``NotFoundError`` if the workspace has none of that name."""
    return get_secrets(session, box, workspace, [name])[name]


def get_secrets(
    session: Session, box: SecretBox, workspace: str, names: Iterable[str]
) -> dict[str, str]:
    """The values of ``names``; ``NotFoundError`` naming every one that is missing."""
    if isinstance(names, str):
        raise ValidationError("pass a list of secret names, not one string")
    wanted = list(dict.fromkeys(check_secret_name(name) for name in names))
    _check_batch("read", len(wanted))
    ws = workspaces.get_row(session, workspace)
    hidden = _server_only(session, ws.id)
    rows = {
        row.name: row
        for row in session.scalars(
            select(SecretRow).where(SecretRow.workspace_id == ws.id, SecretRow.name.in_(wanted))
        )
        if row.name not in hidden
    }
    absent = [name for name in wanted if name not in rows]
    if absent:
        raise _missing(workspace, absent)
    return _open(box, workspace, ws.id, wanted, rows)


def _open(
    box: SecretBox, workspace: str, workspace_id: str, wanted: list[str], rows: dict[str, SecretRow]
) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in wanted:
        row = rows[name]
        what = f"secret {name!r} of workspace {workspace!r}"
        data = box.open(row.sealed, _context(workspace_id, name), row.key_id, what)
        found[name] = data.decode("utf-8")
    return found


def list_secrets(session: Session, workspace: str) -> list[SecretRecord]:
    """The workspace's secrets by name: names and times only."""
    ws = workspaces.get_row(session, workspace)
    rows = session.scalars(
        select(SecretRow).where(SecretRow.workspace_id == ws.id).order_by(SecretRow.name)
    )
    hidden = _server_only(session, ws.id)
    return [_record(row) for row in rows if row.name not in hidden and ":" not in row.name]


def delete_secret(session: Session, workspace: str, name: str) -> None:
    """Remove the secret; ``NotFoundError`` if there is none of that name."""
    check_secret_name(name)
    ws = workspaces.get_row(session, workspace)
    _refuse_server_only(session, ws.id, [name])
    _delete(session, workspace, ws.id, name)


def _delete(session: Session, workspace: str, workspace_id: str, name: str) -> None:
    result = session.execute(
        delete(SecretRow).where(SecretRow.workspace_id == workspace_id, SecretRow.name == name)
    )
    if getattr(result, "rowcount", 0) == 0:
        raise _missing(workspace, [name])


# --- secrets only the server reads (datastore credentials) -----------------------------
def set_server_secret(
    session: Session, box: SecretBox, workspace: str, name: str, value: str
) -> None:
    """Keep a value under a name users cannot give (``datastore:<name>``)."""
    if ":" not in name:
        raise ValidationError(f"a server-only secret name holds ':', {name!r} does not")
    ws = workspaces.get_row(session, workspace)
    _put(session, box, ws.id, name, check_secret_value(name, value))


def get_server_secret(session: Session, box: SecretBox, workspace: str, name: str) -> str:
    """The value of a secret the server keeps for itself (any name, hidden or not)."""
    ws = workspaces.get_row(session, workspace)
    row = session.scalar(
        select(SecretRow).where(SecretRow.workspace_id == ws.id, SecretRow.name == name)
    )
    if row is None:
        raise _missing(workspace, [name])
    return _open(box, workspace, ws.id, [name], {name: row})[name]


def delete_server_secret(session: Session, workspace: str, name: str) -> None:
    """Remove a secret the server keeps for itself; ``NotFoundError`` if there is none."""
    ws = workspaces.get_row(session, workspace)
    _delete(session, workspace, ws.id, name)
