"""Where a datastore's credentials are kept: in the workspace key vault, as one secret
(a JSON object) written in the same transaction as the datastore, under a name no user can
give (``datastore:<name>``), so only the server reads it. Workspaces made before keep their
``datastore-<name>`` secrets until the datastore is registered again; the key vault hides
them from users because a datastore names them. This is the only module that reads or
writes datastore credentials."""

from __future__ import annotations

import contextlib
import json

from sqlalchemy.orm import Session

from atelier.core.errors import NotFoundError, StorageError
from atelier.services import secrets
from atelier.storage.secretbox import SecretBox

PREFIX = "datastore:"


def secret_name(datastore: str) -> str:
    return f"{PREFIX}{datastore}"


def store(
    session: Session,
    box: SecretBox | None,
    workspace: str,
    datastore: str,
    credentials: dict[str, str],
    previous: str | None = None,
) -> str | None:
    """Keep the credentials in the key vault; return the secret's name (None if there are
    none). The datastore's ``previous`` secret, if another, is removed."""
    name = secret_name(datastore)
    if previous != name:
        forget(session, workspace, previous)
    if not credentials:
        forget(session, workspace, name)
        return None
    if box is None:
        raise StorageError("storing credentials needs the key vault's key; none was loaded")
    value = json.dumps(credentials, sort_keys=True)
    secrets.set_server_secret(session, box, workspace, name, value)
    return name


def load(
    session: Session, box: SecretBox, workspace: str, datastore: str, name: str | None
) -> dict[str, str]:
    """The credentials; a missing secret says what to do, never what was stored."""
    if not name:
        return {}
    try:
        data = json.loads(secrets.get_server_secret(session, box, workspace, name))
    except NotFoundError:
        raise StorageError(
            f"the credentials of datastore {datastore!r} (key vault secret {name!r}) are "
            "gone; register the datastore again with overwrite=True"
        ) from None
    return {str(k): str(v) for k, v in data.items()}


def forget(session: Session, workspace: str, name: str | None) -> None:
    if not name:
        return
    with contextlib.suppress(NotFoundError):  # already gone: nothing to forget
        secrets.delete_server_secret(session, workspace, name)
