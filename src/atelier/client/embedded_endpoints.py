"""The embedded backend's endpoints: one transaction through the service per call, and
the endpoint keys' encryption.

Keys are random 32-byte tokens. The database holds each one encrypted with Fernet (AES
with an HMAC) so :meth:`EmbeddedEndpoints.get_keys` can return it, plus its SHA-256
digest, which is all a router needs to check a request. The Fernet key comes from
``ATELIER_SECRET_KEY`` or, failing that, from ``<ATELIER_HOME>/secret.key`` (created once,
mode 0600): whoever can read that file and the database can read the keys.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import os
import secrets
import uuid
from pathlib import Path
from typing import Any

from atelier.core.endpoints import EndpointRecord, ReplicaReport, model_data_prefix
from atelier.core.errors import StoreError, ValidationError
from atelier.core.settings import Settings
from atelier.core.timeutil import now_ms
from atelier.services import endpoints
from atelier.storage.blobstore import BlobStore
from atelier.storage.named import NamedFiles
from atelier.store.database import Database

SECRET_ENV = "ATELIER_SECRET_KEY"
SECRET_FILE = "secret.key"
_MIN_KEY_LENGTH = 16


def key_digest(key: str) -> str:
    """The SHA-256 hex digest routers compare a presented key with."""
    return hashlib.sha256(key.encode()).hexdigest()


class _Cipher:
    """Fernet with the home's secret, loaded on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._fernet: Any = None

    def _load(self) -> Any:
        from cryptography.fernet import Fernet

        if self._fernet is not None:
            return self._fernet
        secret = os.environ.get(SECRET_ENV, "").encode()
        if not secret:
            path = self.settings.home.expanduser().resolve() / SECRET_FILE
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(Fernet.generate_key())
            secret = Path(path).read_bytes().strip()
        try:
            self._fernet = Fernet(secret)
        except ValueError:
            raise ValidationError(
                f"{SECRET_ENV} (or {SECRET_FILE}) is not a Fernet key: 32 url-safe base64-encoded "
                "bytes, e.g. from 'python -c \"import cryptography.fernet as f; "
                "print(f.Fernet.generate_key().decode())\"'"
            ) from None
        return self._fernet

    def encrypt(self, value: str) -> str:
        return str(self._load().encrypt(value.encode()).decode())

    def decrypt(self, token: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return str(self._load().decrypt(token.encode()).decode())
        except InvalidToken:
            raise StoreError(
                f"an endpoint key cannot be decrypted with this secret; {SECRET_ENV} or "
                f"{SECRET_FILE} changed since it was made: regenerate the keys with "
                "service.regen_key('Primary') and ('Secondary')"
            ) from None


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
