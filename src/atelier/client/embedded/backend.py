"""``EmbeddedBackend``: every client protocol in this process, one module per resource
beside this one (``workspaces``, ``runs``, ``compute``, ``environments``, ``data``,
``models``, ``packages``, ``secrets``, ``endpoints``, ``schedules``; run supervision is
in ``runs``).
Each call is one transaction through the services."""

from __future__ import annotations

from atelier.client.backend import Connection
from atelier.client.embedded.compute import EmbeddedCompute
from atelier.client.embedded.data import EmbeddedDatasets, EmbeddedDatastores
from atelier.client.embedded.endpoints import EmbeddedEndpoints
from atelier.client.embedded.environments import EmbeddedEnvironments
from atelier.client.embedded.home import check_home
from atelier.client.embedded.models import EmbeddedModels
from atelier.client.embedded.packages import EmbeddedPackages
from atelier.client.embedded.pipelines import EmbeddedPipelines
from atelier.client.embedded.runs import (
    EmbeddedArtifacts,
    EmbeddedMetrics,
    EmbeddedRuns,
    EmbeddedSnapshots,
    EmbeddedSupervision,
)
from atelier.client.embedded.schedules import EmbeddedSchedules, EmbeddedScheduling
from atelier.client.embedded.secrets import EmbeddedSecrets
from atelier.client.embedded.workspaces import EmbeddedExperiments, EmbeddedWorkspaces
from atelier.core.settings import Settings
from atelier.storage.blobstore import BlobStore
from atelier.store.database import Database


class EmbeddedBackend:
    """Services in this process over a SQLite or PostgreSQL database and an fsspec blob store."""

    def __init__(self, settings: Settings) -> None:
        check_home(settings)
        self.settings = settings
        self.tracking_uri = f"file://{settings.home.expanduser().resolve()}"
        self.db = Database(settings.resolved_database_url)
        self.blobs = BlobStore(settings.resolved_blob_url)
        self.workspaces = EmbeddedWorkspaces(self.db, self.blobs, settings)
        self.experiments = EmbeddedExperiments(self.db, self.blobs, settings)
        self.runs = EmbeddedRuns(self.db, self.blobs, settings)
        self.metrics = EmbeddedMetrics(self.db, self.blobs, settings)
        self.artifacts = EmbeddedArtifacts(self.db, self.blobs, settings)
        self.snapshots = EmbeddedSnapshots(self.db, self.blobs, settings)
        self.compute = EmbeddedCompute(self.db, self.blobs, settings)
        self.environments = EmbeddedEnvironments(self.db, self.blobs)
        self.models = EmbeddedModels(self.db, self.blobs)
        self.datastores = EmbeddedDatastores(self.db, settings)
        self.datasets = EmbeddedDatasets(self.db)
        self.secrets = EmbeddedSecrets(self.db, settings)
        self.packages = EmbeddedPackages(self.db, self.blobs)
        self.endpoints = EmbeddedEndpoints(self.db, self.blobs, settings)
        self.pipelines = EmbeddedPipelines(self.db)
        self.supervision = EmbeddedSupervision(self.db, self.blobs, settings)
        self.schedules = EmbeddedSchedules(self.db, self.datastores)
        #: for schedulers only (``registry.scheduling_for``): not part of ``Connection``
        self.scheduling = EmbeddedScheduling(self.db, self.datastores)
        # one object answers both: the protocols, not the classes, keep them apart
        self.reporting = self.endpoints

    def child_environment(self) -> dict[str, str]:
        """Variables a process started for a run needs to reach this same store."""
        return {
            "ATELIER_TRACKING_URI": self.tracking_uri,
            "ATELIER_HOME": str(self.settings.home.expanduser().resolve()),
            "ATELIER_DATABASE_URL": self.settings.resolved_database_url,
            "ATELIER_BLOB_URL": self.settings.resolved_blob_url,
        }

    def release_connections(self) -> None:
        """Close pooled server connections; the engine (and what it compiled) stays for
        reuse. SQLite's stay open: closing what SQLite takes for the file's last connection
        checkpoints and deletes the write-ahead log under any process that lost its locks
        (see ``_private_database``), and an open file holds nothing a server would wait on."""
        if not self.db.is_sqlite:
            self.db.engine.dispose()

    def close(self) -> None:
        self.db.dispose()


def _conforms(backend: EmbeddedBackend) -> Connection:
    """mypy checks here that the backend provides every protocol, supervision and
    reporting included."""
    return backend
