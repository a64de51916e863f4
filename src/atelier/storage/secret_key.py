"""The key that encrypts datastore credentials at rest in the metadata database.

``ATELIER_SECRET_KEY`` (a Fernet key) wins; else the key is kept in ``<home>/keys/`` with
mode 0600, created on first use. Losing it makes stored credentials unreadable (register
the datastores again); it never leaves this machine.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from atelier.core.errors import StorageError

ENV_SECRET_KEY = "ATELIER_SECRET_KEY"


def load_or_create_key(home: Path) -> bytes:
    """The credential key for this home (created with mode 0600 when absent)."""
    from cryptography.fernet import Fernet

    configured = os.environ.get(ENV_SECRET_KEY)
    if configured:
        return configured.encode()
    path = home.expanduser().resolve() / "keys" / "datastores.key"
    try:
        if path.is_file():
            return path.read_bytes().strip()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = Fernet.generate_key()
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        # the first writer wins; a racing process reads the winner's key
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
        tmp.unlink(missing_ok=True)
        return path.read_bytes().strip()
    except OSError as exc:
        raise StorageError(f"cannot read or create the credential key {path}: {exc}") from exc
