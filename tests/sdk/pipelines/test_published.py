"""Publishing pipelines, pipeline endpoints, and starting runs of them (SDK and REST)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from atelier import Experiment, InvalidStateError, NotFoundError, Workspace
from atelier.azureml.pipeline.core import (
    Pipeline,
    PipelineData,
    PipelineEndpoint,
    PipelineParameter,
    PipelineRun,
    PublishedPipeline,
)
from atelier.azureml.pipeline.steps import PythonScriptStep
from atelier.core.errors import UndeclaredParameterError, ValidationError
from atelier.sdk.pipelines.published import submit_by_id
from tests.helpers import web
from tests.sdk.conftest import embedded_only

pytestmark = pytest.mark.one_database  # the database kind is incidental here


def _pipeline(ws: Workspace, source: Path) -> Pipeline:
    prepared = PipelineData("prepared")
    rows = PipelineParameter("rows", default_value=4)
    prepare = PythonScriptStep(
        "prepare.py", name="prepare", arguments=["--out", prepared, "--rows", rows],
        outputs=[prepared], source_directory=source,
    )  # fmt: skip
    return Pipeline(ws, [prepare], description="makes rows")


def test_publish_list_disable_enable_and_submit(ws: Workspace, source: Path) -> None:
    published = _pipeline(ws, source).publish("prep", description="prepares", version="1.0")
    assert published.status == "Active"
    assert published.total_run_steps == 1
    assert published.parameters == {"rows": 4}
    assert published.endpoint.endswith(
        f"/workspaces/{ws.name}/pipelines/published/{published.id}/runs"
    )
    assert PublishedPipeline.get(ws, published.id).name == "prep"
    assert [p.id for p in PublishedPipeline.list(ws)] == [published.id]

    run = published.submit(ws, "published-runs", pipeline_parameters={"rows": 6})
    assert isinstance(run, PipelineRun)
    run.wait_for_completion(show_output=False)
    assert "prepared 6 rows" in run.find_step_run("prepare")[0].get_job_log()
    assert run.properties["azureml.pipelineid"] == published.id

    published.disable()
    assert PublishedPipeline.list(ws) == []
    assert [p.status for p in PublishedPipeline.list(ws, active_only=False)] == ["Disabled"]
    with pytest.raises(InvalidStateError, match="disabled"):
        published.submit(ws, "published-runs")
    published.enable()
    with pytest.raises(UndeclaredParameterError):
        published.submit(ws, "published-runs", pipeline_parameters={"nope": 1})
    with pytest.raises(NotFoundError):
        PublishedPipeline.get(ws, "00000000-0000-0000-0000-000000000000")


def test_pipeline_endpoint_versions_and_submit(ws: Workspace, source: Path) -> None:
    first = _pipeline(ws, source).publish("prep-v1")
    endpoint = PipelineEndpoint.publish(ws, "prep-endpoint", "rows on demand", first)
    assert endpoint.default_version == "0"
    second = _pipeline(ws, source).publish("prep-v2")
    endpoint.add_default(second)
    versions = endpoint.list_versions()
    assert [(v["version"], v["pipeline_id"], v["is_default"]) for v in versions] == [
        ("0", first.id, False),
        ("1", second.id, True),
    ]
    found = PipelineEndpoint.get(ws, name="prep-endpoint")
    assert found.id == endpoint.id
    run = found.submit("endpoint-runs", pipeline_parameters={"rows": 2})
    run.wait_for_completion(show_output=False)
    assert run.properties["azureml.pipelineid"] == second.id
    assert run.properties["azureml.pipelineendpointid"] == endpoint.id
    old = found.submit("endpoint-runs", pipeline_version="0")
    assert old.properties["azureml.pipelineid"] == first.id
    old.wait_for_completion(show_output=False)
    with pytest.raises(NotFoundError, match="no version 7"):
        found.submit("endpoint-runs", pipeline_version="7")
    by_id = submit_by_id(ws, "endpoint-runs", pipeline_endpoint_id=endpoint.id)
    assert by_id.properties["azureml.pipelineid"] == second.id
    by_id.wait_for_completion(show_output=False)
    with pytest.raises(ValidationError, match="exactly one"):
        submit_by_id(ws, "endpoint-runs")


def _post(url: str, token: str, body: Any) -> httpx.Response:
    return web.post(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_rest_submission_with_a_bearer_token(
    ws: Workspace, source: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    if backend != "http":
        pytest.skip("the REST endpoint is served by 'atelier server'")
    server = request.getfixturevalue("server")
    published = _pipeline(ws, source).publish("rest-prep")
    body = {"ExperimentName": "rest-runs", "ParameterAssignments": {"rows": "3"}}
    answer = _post(published.endpoint, server.admin_token, body)
    assert answer.status_code == 201, answer.text
    run = PipelineRun(Experiment(ws, "rest-runs"), answer.json()["Id"])
    run.wait_for_completion(show_output=False)
    assert "prepared 3 rows" in run.find_step_run("prepare")[0].get_job_log()

    assert _post(published.endpoint, "not-a-token", body).status_code == 401
    bad = _post(published.endpoint, server.admin_token, {"ExperimentName": "x",
                "ParameterAssignments": {"colour": 1}})  # fmt: skip
    assert bad.status_code == 400
    assert "not declared" in bad.text
    published.disable()
    refused = _post(published.endpoint, server.admin_token, body)
    assert refused.status_code == 409
    assert "disabled" in refused.text
    endpoint = PipelineEndpoint.publish(ws, "rest-endpoint", "", _pipeline(ws, source).publish("e"))
    started = _post(endpoint.endpoint, server.admin_token, {"ExperimentName": "rest-runs"})
    assert started.status_code == 201, started.text
    PipelineRun(Experiment(ws, "rest-runs"), started.json()["Id"]).wait_for_completion(False)


def test_a_schedule_of_a_published_pipeline_fires_a_pipeline_run(
    ws: Workspace, source: Path, backend: str
) -> None:
    # a scheduler runs beside the store it fires from: the server's own (tested in
    # tests/scheduler over HTTP) or an embedded home's
    embedded_only(backend, "this test's scheduler fires from the embedded store")
    from datetime import UTC, datetime, timedelta

    from atelier.azureml.pipeline.core import Schedule, ScheduleRecurrence
    from atelier.core.timeutil import now_ms
    from atelier.scheduler.engine import Scheduler

    published = _pipeline(ws, source).publish("nightly-prep")
    start = datetime.now(UTC).replace(tzinfo=None, microsecond=0) + timedelta(days=1)
    schedule = Schedule.create(
        ws,
        name="nightly-prep",
        pipeline_id=published.id,
        experiment_name="scheduled-prep",
        recurrence=ScheduleRecurrence("Day", 1, start_time=start),
        pipeline_parameters={"rows": 3},
    )
    try:
        due = Schedule.get(ws, schedule.id).next_run_time_ms
        assert due is not None
        fired = [
            item
            for item in Scheduler(clock=lambda: due + 1).run_once()
            if item.schedule_id == schedule.id
        ]
        assert len(fired) == 1 and fired[0].run_id, fired
        run = schedule.get_last_pipeline_run()
        assert isinstance(run, PipelineRun) and run.id == fired[0].run_id
        run.wait_for_completion(show_output=False)
        assert "prepared 3 rows" in run.find_step_run("prepare")[0].get_job_log()
        assert run.get_tags()["azureml.pipelines.scheduleId"] == schedule.id
        assert due > now_ms()  # the slot was tomorrow's: only the injected clock reached it
    finally:
        schedule.disable()
