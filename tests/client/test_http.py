"""The client contract on the HTTP backend, against a real server on loopback."""

from __future__ import annotations

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
def connection(http_connection: Any) -> Any:
    return http_connection


class TestHttpWorkspace(WorkspaceContract):
    pass


class TestHttpExperiment(ExperimentContract):
    pass


class TestHttpRun(RunContract):
    pass


class TestHttpMetric(MetricContract):
    pass


class TestHttpArtifact(ArtifactContract):
    pass


class TestHttpSnapshot(SnapshotContract):
    pass


class TestHttpSupervision(SupervisionContract):
    pass


class TestHttpCompute(ComputeContract):
    pass


class TestHttpEnvironment(EnvironmentContract):
    pass


class TestHttpModel(ModelContract):
    pass


class TestHttpPackage(PackageContract):
    pass


class TestHttpDatastore(DatastoreContract):
    pass


class TestHttpDataset(DatasetContract):
    pass


class TestHttpSecret(SecretContract):
    pass


class TestHttpEndpoint(EndpointContract):
    pass


class TestHttpReporting(ReportingContract):
    pass


class TestHttpPipeline(PipelineContract):
    pass


class TestHttpSchedule(ScheduleContract):
    pass
