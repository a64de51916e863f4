"""The client contract on the HTTP backend, against a real server on loopback."""

from __future__ import annotations

import io
from typing import Any

import pytest

from atelier.core.status import RunStatus
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
    new_run,
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
    def test_a_remote_supervisor_streams_the_log_while_the_run_goes(
        self, connection: Any, workspace: str
    ) -> None:
        """A supervisor on a Ray node sends the script's output at offsets; readers see it
        before the run ends; a chunk sent again is no duplicate, one past the end is not
        taken; once the log is uploaded and the run ended, the uploaded one is shown."""
        run = new_run(connection, workspace, status=RunStatus.RUNNING)
        stream = connection.supervision.stream_log
        assert stream(workspace, run.run_id, 0, b"") == 0
        assert stream(workspace, run.run_id, 0, b"epoch 1\n") == 8
        assert stream(workspace, run.run_id, 0, b"epoch 1\n") == 8  # sent again
        assert stream(workspace, run.run_id, 20, b"lost\n") == 8  # a gap: go on from 8
        assert stream(workspace, run.run_id, 8, b"epoch 2\n") == 16
        assert connection.runs.read_log(workspace, run.run_id, 0) == (
            b"epoch 1\nepoch 2\n",
            False,
        )
        assert connection.runs.read_log(workspace, run.run_id, 8) == (b"epoch 2\n", False)
        connection.artifacts.upload(
            workspace, run.run_id, "user_logs/std_log.txt", io.BytesIO(b"the whole log\n")
        )
        connection.runs.transition(workspace, run.run_id, RunStatus.COMPLETED)
        assert stream(workspace, run.run_id, 16, b"late\n") == 0  # ended: nothing kept
        assert connection.runs.read_log(workspace, run.run_id, 0) == (b"the whole log\n", True)


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
    deployer = "admin"  # the server's admin, whose token the connection holds


class TestHttpReporting(ReportingContract):
    pass


class TestHttpPipeline(PipelineContract):
    pass


class TestHttpSchedule(ScheduleContract):
    pass
