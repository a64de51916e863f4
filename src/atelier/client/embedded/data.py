"""The embedded backend's data area: datastores (credentials sealed in this process) and
dataset versions with their lineage, one transaction through the services per call."""

from __future__ import annotations

import builtins
from typing import Any

from atelier.client.api.data import DatasetAPI, DatastoreAPI, DatastoreFilesAPI
from atelier.core.data_names import kind_of_url
from atelier.core.data_records import (
    DataFile,
    DatasetRecord,
    DatastoreRecord,
    ModelDatasetRecord,
    RunInputRecord,
)
from atelier.core.settings import Settings
from atelier.services import datasets as dataset_service
from atelier.services import datastores
from atelier.storage.datastores import DatastoreFiles, require_driver
from atelier.storage.secretbox import SecretBox, load_secret_box
from atelier.store.database import Database


class EmbeddedDatastores:
    """``DatastoreAPI`` in this process. Embedded mode is the user's own machine, so local
    datastores are allowed; a server passes ``server_mode=True`` to refuse them."""

    def __init__(self, db: Database, settings: Settings, server_mode: bool = False) -> None:
        self.db = db
        self.settings = settings
        self.server_mode = server_mode
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
    ) -> DatastoreRecord:
        require_driver(kind)
        datastores.check_location(
            kind,
            url,
            server_mode=self.server_mode,
            protected=[self.settings.resolved_blob_url, str(self.settings.home)],
        )
        if validate:
            DatastoreFiles(name, kind, url, config, credentials).probe(
                create=bool(config.get("create_if_not_exists"))
            )
        box = self.box() if credentials else None
        with self.db.session() as session:
            return datastores.register(
                session,
                workspace,
                name,
                kind=kind,
                url=url,
                config=config,
                credentials=credentials,
                box=box,
                overwrite=overwrite,
            )

    def get(self, workspace: str, name: str) -> DatastoreRecord:
        with self.db.session() as session:
            return datastores.get(session, workspace, name)

    def get_default(self, workspace: str) -> DatastoreRecord:
        kind, url = self._default_location(workspace)
        with self.db.session() as session:
            return datastores.ensure_default(session, workspace, kind, url)

    def set_default(self, workspace: str, name: str) -> DatastoreRecord:
        self.get_default(workspace)
        with self.db.session() as session:
            return datastores.set_default(session, workspace, name)

    def list(self, workspace: str) -> builtins.list[DatastoreRecord]:
        self.get_default(workspace)
        with self.db.session() as session:
            return datastores.list_all(session, workspace)

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
        return DatastoreFiles(record.name, record.kind, record.url, record.config, credentials)


class EmbeddedDatasets:
    """``DatasetAPI`` in this process."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def register(
        self,
        workspace: str,
        name: str,
        *,
        kind: str,
        definition: dict[str, Any],
        files: builtins.list[DataFile],
        description: str,
        tags: dict[str, Any],
        create_new_version: bool,
    ) -> DatasetRecord:
        with self.db.session() as session:
            return dataset_service.register(
                session,
                workspace,
                name,
                kind=kind,
                definition=definition,
                files=files,
                description=description,
                tags=tags,
                create_new_version=create_new_version,
            )

    def get(self, workspace: str, name: str, version: int | None = None) -> DatasetRecord:
        with self.db.session() as session:
            return dataset_service.get(session, workspace, name, version)

    def get_by_id(self, workspace: str, dataset_id: str) -> DatasetRecord:
        with self.db.session() as session:
            return dataset_service.get_by_id(session, workspace, dataset_id)

    def list(self, workspace: str) -> builtins.list[DatasetRecord]:
        with self.db.session() as session:
            return dataset_service.list_latest(session, workspace)

    def files(self, workspace: str, dataset_id: str) -> builtins.list[DataFile]:
        with self.db.session() as session:
            return dataset_service.files(session, workspace, dataset_id)

    def record_run_inputs(
        self, workspace: str, run_id: str, inputs: builtins.list[dict[str, Any]]
    ) -> None:
        with self.db.session() as session:
            dataset_service.record_run_inputs(session, workspace, run_id, inputs)

    def run_inputs(self, workspace: str, run_id: str) -> builtins.list[RunInputRecord]:
        with self.db.session() as session:
            return dataset_service.run_inputs(session, workspace, run_id)

    def runs_using(self, workspace: str, dataset_id: str) -> builtins.list[RunInputRecord]:
        with self.db.session() as session:
            return dataset_service.runs_using(session, workspace, dataset_id)

    def link_model(
        self,
        workspace: str,
        model_name: str,
        model_version: int,
        datasets: builtins.list[tuple[str, str]],
    ) -> None:
        with self.db.session() as session:
            dataset_service.link_model(session, workspace, model_name, model_version, datasets)

    def model_datasets(
        self, workspace: str, model_name: str, model_version: int
    ) -> builtins.list[ModelDatasetRecord]:
        with self.db.session() as session:
            return dataset_service.model_datasets(session, workspace, model_name, model_version)

    def models_using(self, workspace: str, dataset_id: str) -> builtins.list[ModelDatasetRecord]:
        with self.db.session() as session:
            return dataset_service.models_using(session, workspace, dataset_id)


def _conforms(
    stores: EmbeddedDatastores, files: DatastoreFiles, datasets: EmbeddedDatasets
) -> tuple[DatastoreAPI, DatastoreFilesAPI, DatasetAPI]:
    """mypy checks here that these classes satisfy their protocols."""
    return stores, files, datasets
