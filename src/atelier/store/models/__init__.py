"""The metadata schema as typed SQLAlchemy 2 models: one module per area, all registered on
one ``Base`` (migrations in ``store/migrations``).

- ``base``: the declarative base and the constraint naming convention
- ``runs``: workspaces, experiments, runs and what they record (tags, properties, metrics,
  artifacts, snapshots)
- ``compute``: environments and compute targets
- ``registry``: model versions with their tags, properties and files
- ``data``: datastores, datasets and data lineage
- ``endpoints``: endpoints, deployments, keys and replicas
- ``packages``: the image registry
- ``secrets``: the workspace key vault
- ``pipelines``: published pipelines and pipeline endpoints
- ``schedules``: pipeline schedules and the slots they fired
- ``access``: users, tokens, members and the audit log
- ``mlflow``: what the MLflow protocol has and Atelier's own schema does not
- ``studio``: the Studio's browser sessions

Importing this package registers every table on ``Base.metadata``; import a model from here
(``from atelier.store.models import RunRow``).
"""

from __future__ import annotations

from atelier.store.models.access import AuditRow, MemberRow, TokenRow, UserRow
from atelier.store.models.base import NAMING, Base
from atelier.store.models.compute import ComputeTargetRow, EnvironmentRow
from atelier.store.models.data import (
    DatasetFileRow,
    DatasetRow,
    DatastoreRow,
    ModelDatasetRow,
    RunInputRow,
)
from atelier.store.models.endpoints import (
    DeploymentModelRow,
    DeploymentRow,
    EndpointKeyRow,
    EndpointRow,
    ReplicaRow,
)
from atelier.store.models.mlflow import MlflowLoggedModelRow, MlflowRegisteredModelRow
from atelier.store.models.packages import PackageFileRow, PackageRow
from atelier.store.models.pipelines import (
    PipelineEndpointRow,
    PipelineEndpointVersionRow,
    PublishedPipelineRow,
)
from atelier.store.models.registry import ModelFileRow, ModelPropertyRow, ModelRow, ModelTagRow
from atelier.store.models.runs import (
    ArtifactRow,
    ExperimentRow,
    MetricChunkRow,
    MetricDocumentRow,
    MetricLatestRow,
    RunPropertyRow,
    RunRow,
    RunTagRow,
    SnapshotRow,
    WorkspaceRow,
)
from atelier.store.models.schedules import ScheduleFiringRow, ScheduleRow
from atelier.store.models.secrets import SecretRow
from atelier.store.models.studio import StudioSessionRow

__all__ = [
    "NAMING",
    "ArtifactRow",
    "AuditRow",
    "Base",
    "ComputeTargetRow",
    "DatasetFileRow",
    "DatasetRow",
    "DatastoreRow",
    "DeploymentModelRow",
    "DeploymentRow",
    "EndpointKeyRow",
    "EndpointRow",
    "EnvironmentRow",
    "ExperimentRow",
    "MemberRow",
    "MetricChunkRow",
    "MetricDocumentRow",
    "MetricLatestRow",
    "MlflowLoggedModelRow",
    "MlflowRegisteredModelRow",
    "ModelDatasetRow",
    "ModelFileRow",
    "ModelPropertyRow",
    "ModelRow",
    "ModelTagRow",
    "PackageFileRow",
    "PackageRow",
    "PipelineEndpointRow",
    "PipelineEndpointVersionRow",
    "PublishedPipelineRow",
    "ReplicaRow",
    "RunInputRow",
    "RunPropertyRow",
    "RunRow",
    "RunTagRow",
    "ScheduleFiringRow",
    "ScheduleRow",
    "SecretRow",
    "SnapshotRow",
    "StudioSessionRow",
    "TokenRow",
    "UserRow",
    "WorkspaceRow",
]
