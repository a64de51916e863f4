"""Datastore registration and access with their rules, for the embedded backend and the
server alike: the driver must be installed, the location must not expose the server's own
files (``server_mode``), access is probed before the record is kept, and credentials are
sealed with the key vault's key and only ever opened here to reach the files."""

from __future__ import annotations

import builtins
from dataclasses import replace
from typing import Any

from atelier.core.data_names import kind_of_url
from atelier.core.data_records import DatastoreRecord
from atelier.core.settings import Settings
from atelier.services import datastores
from atelier.storage.datastore_drivers import require_driver
from atelier.storage.datastores import DatastoreFiles
from atelier.storage.network_guard import NetworkGuard
from atelier.storage.secretbox import SecretBox, load_secret_box
from atelier.store.database import Database


class DatastoreAccess:
    """``DatastoreAPI`` in this process. Embedded mode is the user's own machine, so local
    datastores are allowed; a server passes ``server_mode=True`` to refuse them."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        server_mode: bool = False,
        network: NetworkGuard | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.server_mode = server_mode
        #: on a server, the endpoints a datastore may connect to (no internal addresses)
        self.network = network
        self._box: SecretBox | None = None

    def box(self) -> SecretBox:
        """The key vault's key, loaded on first use (only credentials need it)."""
        if self._box is None:
            self._box = load_secret_box(self.settings)
        return self._box

    def _default_location(self, workspace: str) -> tuple[str, str]:
        blob_url = self.settings.resolved_blob_url.rstrip("/")
        return kind_of_url(blob_url), f"{blob_url}/datastores/{workspace}"

    def register(
        self,
        workspace: str,
        name: str,
        *,
        kind: str,
        url: str,
        config: dict[str, Any],
        credentials: dict[str, str],
        overwrite: bool,
        validate: bool,
        may_replace: bool = True,
    ) -> DatastoreRecord:
        """Register a datastore; replacing one needs ``may_replace`` (an Owner on a server),
        and the managed ``workspaceblobstore`` (made first, so its name is taken) never is."""
        require_driver(kind)
        self.get_default(workspace)
        datastores.check_location(
            kind,
            url,
            server_mode=self.server_mode,
            protected=[self.settings.resolved_blob_url, str(self.settings.home)],
        )
        if self.network is not None:
            self.network.check_config(config)
        if validate:
            DatastoreFiles(name, kind, url, config, credentials, self.network).probe(
                create=bool(config.get("create_if_not_exists"))
            )
        box = self.box() if credentials else None
        with self.db.session() as session:
            record = datastores.register(
                session,
                workspace,
                name,
                kind=kind,
                url=url,
                config=config,
                credentials=credentials,
                box=box,
                overwrite=overwrite,
                may_replace=may_replace,
            )
        return self._shown(workspace, record)

    def _shown(self, workspace: str, record: DatastoreRecord) -> DatastoreRecord:
        """The record as a client sees it: on a server the managed store's URL names it
        within the workspace, never the server's own storage location."""
        if not self.server_mode or not record.config.get("managed"):
            return record
        return replace(record, url=f"atelier://{workspace}/{record.name}")

    def get(self, workspace: str, name: str) -> DatastoreRecord:
        with self.db.session() as session:
            return self._shown(workspace, datastores.get(session, workspace, name))

    def get_default(self, workspace: str) -> DatastoreRecord:
        kind, url = self._default_location(workspace)
        with self.db.session() as session:
            return self._shown(workspace, datastores.ensure_default(session, workspace, kind, url))

    def set_default(self, workspace: str, name: str) -> DatastoreRecord:
        self.get_default(workspace)
        with self.db.session() as session:
            return self._shown(workspace, datastores.set_default(session, workspace, name))

    def list(self, workspace: str) -> builtins.list[DatastoreRecord]:
        self.get_default(workspace)
        with self.db.session() as session:
            found = datastores.list_all(session, workspace)
        return [self._shown(workspace, record) for record in found]

    def unregister(self, workspace: str, name: str) -> None:
        self.get_default(workspace)
        with self.db.session() as session:
            datastores.unregister(session, workspace, name)

    def files(self, workspace: str, name: str) -> DatastoreFiles:
        self.get_default(workspace)
        with self.db.session() as session:
            record = datastores.get(session, workspace, name)
            credentials = (
                datastores.credentials(session, self.box(), workspace, name)
                if record.has_credentials
                else {}
            )
        if self.network is not None and not record.config.get("managed"):
            self.network.check_config(record.config)  # again: names may resolve elsewhere now
        return DatastoreFiles(
            record.name, record.kind, record.url, record.config, credentials, self.network
        )
