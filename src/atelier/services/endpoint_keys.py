"""An endpoint's two keys (``primary``, ``secondary``): made, sealed, opened and replaced.

Keys are random 32-byte tokens, or a caller's own of at least 16 characters. The database
holds each one sealed with the workspace secret box (AES-GCM, the key vault's key:
``ATELIER_SECRET_KEY`` or ``<ATELIER_HOME>/secret.key``; see ``storage/secretbox.py``) as
``<key id>:<base64 of the box>``, so :func:`open_keys` can give them back to a caller allowed
to read them, plus each key's SHA-256 digest, which is all a router or replica needs to
check a request.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from atelier.core.endpoints import EndpointRecord
from atelier.core.errors import ValidationError
from atelier.services.endpoint_records import KEY_SLOTS, bump, get, get_row
from atelier.storage.secretbox import SecretBox
from atelier.store.models import EndpointKeyRow

__all__ = [
    "KEY_SLOTS",
    "MIN_KEY_LENGTH",
    "add_keys",
    "key_digest",
    "new_keys",
    "open_keys",
    "regenerate",
]

#: the shortest key a caller may choose
MIN_KEY_LENGTH = 16
#: binds a sealed key to its use, so no other sealed value of the box opens as a key
_CONTEXT = b"atelier-endpoint-key"

#: a key as the database holds it: (sealed key, SHA-256 hex digest of the key)
SealedKey = tuple[str, str]


def key_digest(key: str) -> str:
    """The SHA-256 hex digest a router compares a presented key with."""
    return hashlib.sha256(key.encode()).hexdigest()


def _seal(box: SecretBox, key: str) -> SealedKey:
    sealed = base64.urlsafe_b64encode(box.seal(key.encode(), _CONTEXT)).decode()
    return f"{box.key_id}:{sealed}", key_digest(key)


def _open(box: SecretBox, ciphertext: str) -> str:
    key_id, _, sealed = ciphertext.partition(":")
    return box.open(base64.urlsafe_b64decode(sealed), _CONTEXT, key_id, "an endpoint key").decode()


def _check_sealed(keys_by_slot: dict[str, SealedKey]) -> None:
    for slot, (ciphertext, digest) in keys_by_slot.items():
        if slot not in KEY_SLOTS:
            raise ValidationError(f"key slot must be 'primary' or 'secondary'; got {slot!r}")
        if not ciphertext or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ValidationError("a key needs its ciphertext and its SHA-256 hex digest")


def new_keys(box: SecretBox) -> dict[str, SealedKey]:
    """A fresh random key for each slot, sealed with ``box``."""
    return {slot: _seal(box, secrets.token_urlsafe(32)) for slot in KEY_SLOTS}


def add_keys(session: Session, endpoint_id: str, keys_by_slot: dict[str, SealedKey]) -> None:
    """Store a new endpoint's sealed keys: one for each slot."""
    _check_sealed(keys_by_slot)
    if set(keys_by_slot) != set(KEY_SLOTS):
        raise ValidationError("an endpoint needs a primary and a secondary key")
    for slot, (ciphertext, digest) in keys_by_slot.items():
        session.add(
            EndpointKeyRow(endpoint_id=endpoint_id, slot=slot, ciphertext=ciphertext, digest=digest)
        )


def open_keys(session: Session, box: SecretBox, workspace: str, name: str) -> tuple[str, str]:
    """The endpoint's (primary, secondary) keys in the clear. ``NotFoundError`` if there is
    no such endpoint; ``SecretKeyError`` if ``box`` is not the key they were sealed with."""
    row = get_row(session, workspace, name)
    sealed = {
        key.slot: key.ciphertext
        for key in session.scalars(
            select(EndpointKeyRow).where(EndpointKeyRow.endpoint_id == row.id)
        )
    }
    primary, secondary = (_open(box, sealed[slot]) for slot in KEY_SLOTS)
    return primary, secondary


def regenerate(
    session: Session,
    box: SecretBox,
    workspace: str,
    endpoint: str,
    slot: str,
    value: str | None = None,
) -> EndpointRecord:
    """Replace the ``slot`` key with ``value`` (at least :data:`MIN_KEY_LENGTH` characters)
    or, without one, a new random key; the endpoint's revision rises so its manager hands
    the new digest to the router. ``ValidationError`` for a short value or an unknown slot."""
    if value is not None and (not isinstance(value, str) or len(value) < MIN_KEY_LENGTH):
        raise ValidationError(f"a key must be a string of at least {MIN_KEY_LENGTH} characters")
    ciphertext, digest = _seal(box, value if value is not None else secrets.token_urlsafe(32))
    _check_sealed({slot: (ciphertext, digest)})
    row = get_row(session, workspace, endpoint)
    key = session.get(EndpointKeyRow, (row.id, slot))
    if key is None:
        session.add(
            EndpointKeyRow(endpoint_id=row.id, slot=slot, ciphertext=ciphertext, digest=digest)
        )
    else:
        key.ciphertext = ciphertext
        key.digest = digest
    bump(row)
    session.flush()
    return get(session, workspace, endpoint)
