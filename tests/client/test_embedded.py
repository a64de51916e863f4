"""The client contract on the embedded backend (services in this process, SQLite)."""

from __future__ import annotations

import getpass
from typing import Any

import pytest

from tests.client.abstract.assets import (
    ComputeContract,
    DatasetContract,
    DatastoreContract,
    EnvironmentContract,
    ModelContract,
    PackageContract,
    SecretContract,
)
from tests.client.abstract.automation import (
    PipelineContract,
    ScheduleContract,
    SchedulingContract,
)
from tests.client.abstract.endpoints import (
    EndpointContract,
    ReportingContract,
)
from tests.client.abstract.tracking import (
    ArtifactContract,
    ExperimentContract,
    MetricContract,
    RunContract,
    SnapshotContract,
    SupervisionContract,
    WorkspaceContract,
)


@pytest.fixture(scope="module")
def connection(embedded_connection: Any) -> Any:
    return embedded_connection


class TestEmbeddedWorkspace(WorkspaceContract):
    pass


class TestEmbeddedExperiment(ExperimentContract):
    pass


class TestEmbeddedRun(RunContract):
    pass


class TestEmbeddedMetric(MetricContract):
    pass


class TestEmbeddedArtifact(ArtifactContract):
    pass


class TestEmbeddedSnapshot(SnapshotContract):
    pass


class TestEmbeddedSupervision(SupervisionContract):
    pass


class TestEmbeddedCompute(ComputeContract):
    pass


class TestEmbeddedEnvironment(EnvironmentContract):
    pass


class TestEmbeddedModel(ModelContract):
    pass


class TestEmbeddedPackage(PackageContract):
    pass


class TestEmbeddedDatastore(DatastoreContract):
    pass


class TestEmbeddedDataset(DatasetContract):
    pass


class TestEmbeddedSecret(SecretContract):
    pass


class TestEmbeddedEndpoint(EndpointContract):
    deployer = getpass.getuser()


class TestEmbeddedReporting(ReportingContract):
    pass


class TestEmbeddedPipeline(PipelineContract):
    pass


class TestEmbeddedSchedule(ScheduleContract):
    pass


class TestEmbeddedScheduling(SchedulingContract):
    pass
