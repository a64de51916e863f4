"""The embedded backend's endpoints: one transaction through the service per call, and
the endpoint keys' encryption.

Keys are random 32-byte tokens. The database holds each one sealed with the workspace
secret box (AES-GCM, the key vault's key: ``ATELIER_SECRET_KEY`` or ``<ATELIER_HOME>/secret.key``)
so :meth:`EmbeddedEndpoints.get_keys` can return it, plus its SHA-256 digest, which is all
a router needs to check a request.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import secrets
import uuid
from typing import Any

from atelier.client.api.endpoints import EndpointAPI
from atelier.client.api.reporting import EndpointReportingAPI
from atelier.core.endpoints import EndpointRecord, ReplicaReport, model_data_prefix
from atelier.core.errors import ValidationError
from atelier.core.settings import Settings
from atelier.core.timeutil import now_ms
from atelier.services import endpoints
from atelier.storage.blobstore import BlobStore
from atelier.storage.named import NamedFiles
from atelier.storage.secretbox import SecretBox, load_secret_box
from atelier.store.database import Database

_MIN_KEY_LENGTH = 16


def key_digest(key: str) -> str:
    """The SHA-256 hex digest routers compare a presented key with."""
    return hashlib.sha256(key.encode()).hexdigest()


class _Cipher:
    """The workspace secret box (``storage/secretbox.py``), loaded on first use; a sealed
    key is stored as ``<key id>:<base64 of the AES-GCM box>``."""

    _CONTEXT = b"atelier-endpoint-key"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._box: SecretBox | None = None

    def _load(self) -> SecretBox:
        if self._box is None:
            self._box = load_secret_box(self.settings)
        return self._box

    def encrypt(self, value: str) -> str:
        box = self._load()
        sealed = base64.urlsafe_b64encode(box.seal(value.encode(), self._CONTEXT)).decode()
        return f"{box.key_id}:{sealed}"

    def decrypt(self, token: str) -> str:
        key_id, _, sealed = token.partition(":")
        plain = self._load().open(
            base64.urlsafe_b64decode(sealed), self._CONTEXT, key_id, "an endpoint key"
        )
        return plain.decode()


class EmbeddedEndpoints:
    """``EndpointAPI`` over this process's database."""

    def __init__(self, db: Database, blobs: BlobStore, settings: Settings) -> None:
        self.db = db
        self.files = NamedFiles(blobs)
        self.cipher = _Cipher(settings)

    def _sealed(self, key: str) -> tuple[str, str]:
        return self.cipher.encrypt(key), key_digest(key)

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
        keys = {slot: self._sealed(secrets.token_urlsafe(32)) for slot in endpoints.KEY_SLOTS}
        with self.db.session() as session:
            return endpoints.create(
                session,
                workspace,
                name,
                kind=kind,
                port=port,
                auth_enabled=auth_enabled,
                config=config,
                keys_by_slot=keys,
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
        with self.db.session() as session:
            sealed = endpoints.keys(session, workspace, name)
        primary, secondary = (self.cipher.decrypt(sealed[slot]) for slot in endpoints.KEY_SLOTS)
        return primary, secondary

    def regen_key(
        self, workspace: str, name: str, slot: str, value: str | None = None
    ) -> EndpointRecord:
        if value is not None and (not isinstance(value, str) or len(value) < _MIN_KEY_LENGTH):
            raise ValidationError(
                f"a key must be a string of at least {_MIN_KEY_LENGTH} characters"
            )
        ciphertext, digest = self._sealed(value if value is not None else secrets.token_urlsafe(32))
        with self.db.session() as session:
            return endpoints.set_key(session, workspace, name, slot, ciphertext, digest)

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
        prefix = model_data_prefix(workspace, endpoint, deployment, day)
        name = f"part-{now_ms()}-{uuid.uuid4().hex[:8]}.parquet"
        return self.files.write(f"{prefix}/{name}", data)

    def model_data(
        self, workspace: str, endpoint: str, deployment: str | None = None
    ) -> builtins.list[tuple[str, bytes]]:
        """Every stored batch of the endpoint (or one deployment): (path, bytes), oldest
        day first."""
        prefix = model_data_prefix(workspace, endpoint, deployment)
        return [(path, self.files.read(path)) for path in self.files.list(prefix)]


def _conforms(implementation: EmbeddedEndpoints) -> tuple[EndpointAPI, EndpointReportingAPI]:
    """mypy checks here that the class satisfies both protocols (the SDK sees the first,
    serving processes the second)."""
    return implementation, implementation
