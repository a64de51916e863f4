"""``HttpBackend``: every client protocol over a server's REST API (``/api/v1``), one module
per resource beside this one (``workspaces``, ``runs``, ``compute``, ``data``,
``models``, ``packages``, ``secrets``, ``endpoints``, ``schedules``; run supervision is in ``runs``)
over one shared ``transport``.

Errors come back as the same ``AtelierError`` subclasses the embedded backend raises;
uploads and downloads stream; listings follow the server's pages.
"""

from __future__ import annotations

from atelier.client.backend import Connection
from atelier.client.http.compute import HttpCompute, HttpEnvironments
from atelier.client.http.data import HttpDatasets, HttpDatastores
from atelier.client.http.endpoints import HttpEndpoints
from atelier.client.http.models import HttpModels
from atelier.client.http.packages import HttpPackages
from atelier.client.http.pipelines import HttpPipelines
from atelier.client.http.runs import (
    HttpArtifacts,
    HttpMetrics,
    HttpRuns,
    HttpSnapshots,
    HttpSupervision,
)
from atelier.client.http.schedules import HttpSchedules
from atelier.client.http.secrets import HttpSecrets
from atelier.client.http.transport import Transport
from atelier.client.http.workspaces import HttpExperiments, HttpWorkspaces
from atelier.core.settings import load_settings


class HttpBackend:
    """A workspace server at ``url``, reached with ``token``."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.tracking_uri = url.rstrip("/")
        self.transport = Transport(url, token)
        self.workspaces = HttpWorkspaces(self.transport)
        self.experiments = HttpExperiments(self.transport)
        self.runs = HttpRuns(self.transport)
        self.metrics = HttpMetrics(self.transport)
        self.artifacts = HttpArtifacts(self.transport)
        self.snapshots = HttpSnapshots(self.transport)
        self.environments = HttpEnvironments(self.transport)
        self.compute = HttpCompute(self.transport)
        self.models = HttpModels(self.transport)
        self.secrets = HttpSecrets(self.transport)
        self.packages = HttpPackages(self.transport)
        self.datastores = HttpDatastores(self.transport)
        self.datasets = HttpDatasets(self.transport)
        self.endpoints = HttpEndpoints(self.transport)
        self.pipelines = HttpPipelines(self.transport)
        self.supervision = HttpSupervision(self.transport)
        self.schedules = HttpSchedules(self.transport)
        # one object answers both: the protocols, not the classes, keep them apart
        self.reporting = self.endpoints

    def child_environment(self) -> dict[str, str]:
        """What a supervisor started on this machine needs: the server, this token, and
        a local home for its working copies (the run's script gets a run token instead,
        from ``supervision.run_environment``)."""
        home = load_settings().home.expanduser().resolve()
        return {
            "ATELIER_TRACKING_URI": self.tracking_uri,
            "ATELIER_TOKEN": self.transport.token,
            "ATELIER_HOME": str(home),
        }

    def close(self) -> None:
        self.transport.close()


def _conforms(backend: HttpBackend) -> Connection:
    """mypy checks here that the backend provides every protocol, supervision and
    reporting included."""
    return backend
