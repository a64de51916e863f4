"""The embedded backend's endpoints: one transaction through the service per call; the
keys are sealed with this home's secret box (``services/endpoint_keys.py``)."""

from __future__ import annotations

import builtins
import getpass
import threading
from typing import Any

from atelier.client.api.endpoints import EndpointAPI
from atelier.client.api.reporting import EndpointReportingAPI
from atelier.core.endpoints import EndpointRecord, ReplicaReport
from atelier.core.settings import Settings
from atelier.services import endpoints
from atelier.storage.blobstore import BlobStore
from atelier.storage.secretbox import SecretBox, load_secret_box
from atelier.store.database import Database


class EmbeddedEndpoints:
    """``EndpointAPI`` over this process's database."""

    def __init__(self, db: Database, blobs: BlobStore, settings: Settings) -> None:
        self.db = db
        self.blobs = blobs
        self.settings = settings
        self._box: SecretBox | None = None
        self._lock = threading.Lock()

    def box(self) -> SecretBox:
        """The key the endpoint keys are sealed with, loaded on first use."""
        with self._lock:
            if self._box is None:
                self._box = load_secret_box(self.settings)
            return self._box

    def create(
        self,
        workspace: str,
        name: str,
        *,
        kind: str,
        port: int,
        auth_enabled: bool,
        config: dict[str, Any],
    ) -> EndpointRecord:
        box = self.box()
        with self.db.session() as session:
            return endpoints.create(
                session,
                box,
                workspace,
                name,
                kind=kind,
                port=port,
                auth_enabled=auth_enabled,
                config=config,
                created_by=_local_user(),
            )

    def get(self, workspace: str, name: str) -> EndpointRecord:
        with self.db.session() as session:
            return endpoints.get(session, workspace, name)

    def list(
        self, workspace: str, model: tuple[str, int | None] | None = None
    ) -> builtins.list[EndpointRecord]:
        with self.db.session() as session:
            return endpoints.list_all(session, workspace, model)

    def delete(self, workspace: str, name: str) -> None:
        with self.db.session() as session:
            endpoints.delete(session, workspace, name)

    def put_deployment(
        self,
        workspace: str,
        endpoint: str,
        name: str,
        spec: dict[str, Any],
        models: builtins.list[tuple[str, int]],
    ) -> EndpointRecord:
        with self.db.session() as session:
            return endpoints.put_deployment(session, workspace, endpoint, name, spec, models)

    def delete_deployment(self, workspace: str, endpoint: str, name: str) -> EndpointRecord:
        with self.db.session() as session:
            return endpoints.delete_deployment(session, workspace, endpoint, name)

    def set_traffic(self, workspace: str, endpoint: str, traffic: dict[str, int]) -> EndpointRecord:
        with self.db.session() as session:
            return endpoints.set_traffic(session, workspace, endpoint, traffic)

    def get_keys(self, workspace: str, name: str) -> tuple[str, str]:
        box = self.box()
        with self.db.session() as session:
            return endpoints.open_keys(session, box, workspace, name)

    def regen_key(
        self, workspace: str, name: str, slot: str, value: str | None = None
    ) -> EndpointRecord:
        box = self.box()
        with self.db.session() as session:
            return endpoints.regenerate(session, box, workspace, name, slot, value)

    def set_details(self, workspace: str, name: str, details: dict[str, Any]) -> EndpointRecord:
        with self.db.session() as session:
            return endpoints.set_details(session, workspace, name, details)

    def set_access(self, workspace: str, name: str, changes: dict[str, Any]) -> EndpointRecord:
        with self.db.session() as session:
            return endpoints.set_access(session, workspace, name, changes)

    def set_manager(self, workspace: str, name: str, pid: int) -> EndpointRecord:
        with self.db.session() as session:
            return endpoints.set_manager(session, workspace, name, pid)

    def report(
        self,
        workspace: str,
        name: str,
        applied_revision: int,
        reports: builtins.list[ReplicaReport],
    ) -> EndpointRecord:
        with self.db.session() as session:
            return endpoints.report(session, workspace, name, applied_revision, reports)

    def mark_failed(self, workspace: str, name: str, error: str) -> EndpointRecord:
        with self.db.session() as session:
            return endpoints.mark_failed(session, workspace, name, error)

    def write_model_data(
        self, workspace: str, endpoint: str, deployment: str, day: str, data: bytes
    ) -> str:
        """Store one Parquet batch in the day's partition; return where it went."""
        return endpoints.write_model_data(self.blobs, workspace, endpoint, deployment, day, data)

    def model_data(
        self, workspace: str, endpoint: str, deployment: str | None = None
    ) -> builtins.list[tuple[str, bytes]]:
        """Every stored batch of the endpoint (or one deployment): (path, bytes), oldest
        day first."""
        return endpoints.model_data(self.blobs, workspace, endpoint, deployment)


def _local_user() -> str | None:
    """This machine's user, who deploys with the embedded backend (None if the system
    cannot tell: no login name in the environment and no passwd entry)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return None


def _conforms(implementation: EmbeddedEndpoints) -> tuple[EndpointAPI, EndpointReportingAPI]:
    """mypy checks here that the class satisfies both protocols (the SDK sees the first,
    serving processes the second)."""
    return implementation, implementation
