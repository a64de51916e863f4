"""The embedded backend's key vault: the key is loaded once, on the first value read or
written (listing and deleting never need it)."""

from __future__ import annotations

import builtins
import threading

from atelier.client.api.secrets import SecretAPI
from atelier.core.secrets import SecretRecord
from atelier.core.settings import Settings
from atelier.services import secrets
from atelier.storage.secretbox import SecretBox, load_secret_box
from atelier.store.database import Database


class EmbeddedSecrets:
    """``SecretAPI`` over this process's database, with the key of these settings."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._box: SecretBox | None = None
        self._lock = threading.Lock()

    def box(self) -> SecretBox:
        """The key in use (``SecretKeyError`` if it is malformed or its file is unsafe)."""
        with self._lock:
            if self._box is None:
                self._box = load_secret_box(self.settings)
            return self._box

    def set(self, workspace: str, values: dict[str, str]) -> builtins.list[SecretRecord]:
        box = self.box()
        with self.db.session() as session:
            return secrets.set_secrets(session, box, workspace, values)

    def get(self, workspace: str, names: builtins.list[str]) -> dict[str, str]:
        box = self.box()
        with self.db.session() as session:
            return secrets.get_secrets(session, box, workspace, names)

    def list(self, workspace: str) -> builtins.list[SecretRecord]:
        with self.db.session() as session:
            return secrets.list_secrets(session, workspace)

    def delete(self, workspace: str, name: str) -> None:
        with self.db.session() as session:
            secrets.delete_secret(session, workspace, name)


def _conforms(vault: EmbeddedSecrets) -> SecretAPI:
    """mypy checks here that the class satisfies its protocol."""
    return vault
