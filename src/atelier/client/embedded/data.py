"""The embedded backend's data area: datastores (credentials sealed in this process) and
dataset versions with their lineage, one transaction through the services per call."""

from __future__ import annotations

import builtins
from typing import Any

from atelier.client.api.data import DatasetAPI, DatastoreAPI, DatastoreFilesAPI
from atelier.core.data_records import (
    DataFile,
    DatasetRecord,
    ModelDatasetRecord,
    RunInputRecord,
)
from atelier.services import datasets as dataset_service
from atelier.services.datastore_rules import DatastoreAccess
from atelier.storage.datastores import DatastoreFiles
from atelier.store.database import Database


class EmbeddedDatastores(DatastoreAccess):
    """``DatastoreAPI`` in this process (the rules live in ``services.datastore_rules``)."""


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
