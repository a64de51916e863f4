"""The embedded backend's environments: one transaction through the service per call."""

from __future__ import annotations

import builtins
from typing import Any

from atelier.client.api.compute import EnvironmentAPI
from atelier.core.records import EnvironmentRecord
from atelier.services import environments
from atelier.storage.blobstore import BlobStore
from atelier.store.database import Database


class EmbeddedEnvironments:
    """``EnvironmentAPI`` over this process's database (the blob store is not used yet)."""

    def __init__(self, db: Database, blobs: BlobStore) -> None:
        self.db = db
        self.blobs = blobs

    def register(self, workspace: str, name: str, spec: dict[str, Any]) -> EnvironmentRecord:
        with self.db.session() as session:
            return environments.register(session, workspace, name, spec)

    def get(self, workspace: str, name: str, version: int | None = None) -> EnvironmentRecord:
        with self.db.session() as session:
            return environments.get(session, workspace, name, version)

    def list(self, workspace: str) -> builtins.list[EnvironmentRecord]:
        with self.db.session() as session:
            return environments.list_all(session, workspace)


def _conforms(implementation: EmbeddedEnvironments) -> EnvironmentAPI:
    """mypy checks here that the class satisfies its protocol."""
    return implementation
