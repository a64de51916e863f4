"""Where a datastore's credentials are kept: the one place to change when the workspace
key vault arrives. Until then they are encrypted (Fernet) into the datastore's row."""

from __future__ import annotations

import json

from atelier.core.errors import StorageError


def seal(credentials: dict[str, str], key: bytes) -> bytes | None:
    """The credentials encrypted for storage (None when there are none)."""
    if not credentials:
        return None
    from cryptography.fernet import Fernet

    return Fernet(key).encrypt(json.dumps(credentials, sort_keys=True).encode())


def unseal(sealed: bytes | None, key: bytes, datastore: str) -> dict[str, str]:
    """The stored credentials; a wrong key says what to do, never what was stored."""
    if not sealed:
        return {}
    from cryptography.fernet import Fernet, InvalidToken

    try:
        data = json.loads(Fernet(key).decrypt(sealed))
    except (InvalidToken, ValueError) as exc:
        raise StorageError(
            f"the credentials of datastore {datastore!r} cannot be decrypted with this "
            "machine's key (ATELIER_SECRET_KEY or <home>/keys/datastores.key); register the "
            "datastore again with overwrite=True"
        ) from exc
    return {str(k): str(v) for k, v in data.items()}
