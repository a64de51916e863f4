"""The client protocols: one small ``Protocol`` per resource, grouped by domain.

===================  =====================================================================
module               protocols
===================  =====================================================================
``workspaces``       ``WorkspaceAPI``, ``ExperimentAPI``
``runs``             ``RunAPI``, ``MetricAPI``, ``ArtifactAPI``, ``SnapshotAPI``
``compute``          ``ComputeAPI``, ``EnvironmentAPI``
``data``             ``DatastoreAPI``, ``DatastoreFilesAPI``, ``DatasetAPI``
``models``           ``ModelAPI``, ``PackageAPI``
``secrets``          ``SecretAPI``
``pipelines``        ``PipelineAPI``
``schedules``        ``ScheduleAPI``, ``SchedulingAPI`` (schedulers only)
``endpoints``        ``EndpointAPI``
``supervision``      ``SupervisionAPI`` (run supervisors only)
``reporting``        ``EndpointReportingAPI`` (serving processes only)
===================  =====================================================================

The user-facing composite the SDK holds is ``atelier.client.backend.Backend``. Each
implementation module checks its classes against these protocols with a typed
``_conforms`` function, so mypy fails when one drifts.
"""

from atelier.client.api.compute import ComputeAPI, EnvironmentAPI
from atelier.client.api.data import DataProgress, DatasetAPI, DatastoreAPI, DatastoreFilesAPI
from atelier.client.api.endpoints import EndpointAPI
from atelier.client.api.models import ModelAPI, PackageAPI
from atelier.client.api.pipelines import PipelineAPI
from atelier.client.api.reporting import EndpointReportingAPI
from atelier.client.api.runs import (
    ArtifactAPI,
    MetricAPI,
    RunAPI,
    ScalarBatch,
    SnapshotAPI,
)
from atelier.client.api.schedules import ScheduleAPI, SchedulingAPI
from atelier.client.api.secrets import SecretAPI
from atelier.client.api.supervision import SupervisionAPI
from atelier.client.api.workspaces import ExperimentAPI, WorkspaceAPI

__all__ = [
    "ArtifactAPI",
    "ComputeAPI",
    "DataProgress",
    "DatasetAPI",
    "DatastoreAPI",
    "DatastoreFilesAPI",
    "EndpointAPI",
    "EndpointReportingAPI",
    "EnvironmentAPI",
    "ExperimentAPI",
    "MetricAPI",
    "ModelAPI",
    "PackageAPI",
    "PipelineAPI",
    "RunAPI",
    "ScalarBatch",
    "ScheduleAPI",
    "SchedulingAPI",
    "SecretAPI",
    "SnapshotAPI",
    "SupervisionAPI",
    "WorkspaceAPI",
]
