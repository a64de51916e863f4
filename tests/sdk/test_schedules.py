"""``Schedule`` through the SDK on the embedded backend and over HTTP (SQLite and
PostgreSQL): create, read, change, disable and enable; bad input answered with typed
errors; and a schedule made over HTTP fired by the server's own scheduler."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from atelier import Workspace
from atelier.core.errors import AlreadyExistsError, NotFoundError, ValidationError
from atelier.scheduler.engine import Scheduler
from atelier.sdk.pipelines.schedule import Schedule, ScheduleRecurrence, TimeZone
from atelier.sdk.tracking.run import Run
from atelier.sdk.tracking.runconfig import ScriptRunConfig


@pytest.fixture
def config(tmp_path: Path) -> ScriptRunConfig:
    folder = tmp_path / "job"
    folder.mkdir()
    (folder / "job.py").write_text("from atelier import Run\nRun.get_context().log('ran', 1)\n")
    return ScriptRunConfig(source_directory=str(folder), script="job.py")


def test_create_read_change_disable_enable(ws: Workspace) -> None:
    recurrence = ScheduleRecurrence(
        frequency="Week",
        interval=1,
        week_days=["Monday", "Thursday"],
        time_of_day="06:30",
        time_zone=TimeZone.WEuropeStandardTime,
        start_time="2030-01-01T00:00:00",
    )
    made = Schedule.create(
        ws,
        name="weekly",
        pipeline_id="pipeline-1",
        experiment_name="retrain",
        recurrence=recurrence,
        description="twice a week",
        pipeline_parameters={"alpha": 0.5},
    )
    assert made.status == "Active" and made.pipeline_id == "pipeline-1"
    assert made.pipeline_endpoint_id is None
    assert made.recurrence is not None and made.recurrence.week_days == ["Monday", "Thursday"]
    assert made.recurrence.time_zone == "W. Europe Standard Time"
    # 2030-01-03 is the first Thursday: 06:30 in Berlin is 05:30 UTC
    assert made.next_run_time_ms == 1_893_648_600_000
    found = Schedule.get(ws, made.id)
    assert found.name == "weekly" and found.description == "twice a week"
    assert [item.id for item in Schedule.list(ws)] == [made.id]
    assert [item.id for item in Schedule.list(ws, pipeline_id="pipeline-1")] == [made.id]
    assert Schedule.list(ws, pipeline_id="pipeline-2") == []
    found.update(description="daily now", recurrence=ScheduleRecurrence("Day", 1, hours=[4]))
    again = Schedule.get(ws, "weekly")
    assert again.description == "daily now"
    assert again.recurrence is not None and again.recurrence.frequency == "Day"
    again.disable()
    assert again.status == "Disabled" and again.next_run_time_ms is None
    assert Schedule.list(ws) == [] and len(Schedule.list(ws, active_only=False)) == 1
    again.enable()
    assert again.status == "Active" and again.next_run_time_ms is not None
    endpoint = Schedule.create_for_pipeline_endpoint(
        ws, "by-endpoint", "endpoint-1", "retrain", recurrence=ScheduleRecurrence("Hour", 6)
    )
    assert endpoint.pipeline_endpoint_id == "endpoint-1" and endpoint.pipeline_id is None
    assert [s.id for s in Schedule.get_schedules_for_pipeline_endpoint_id(ws, "endpoint-1")] == [
        endpoint.id
    ]
    assert endpoint.get_pipeline_runs() == [] and endpoint.get_last_pipeline_run() is None
    keyword = Schedule.create(
        ws,
        "keyword",
        pipeline_endpoint_id="endpoint-2",
        experiment_name="retrain",
        recurrence=ScheduleRecurrence("Hour", 6),
    )
    assert keyword.pipeline_endpoint_id == "endpoint-2"
    for schedule in Schedule.list(ws):
        schedule.disable()


def test_bad_input_is_refused_with_what_to_fix(ws: Workspace) -> None:
    with pytest.raises(ValidationError, match="frequency"):
        Schedule.create(ws, "bad", "p", "e", recurrence=ScheduleRecurrence("Fortnight", 1))
    with pytest.raises(ValidationError, match="hours"):
        Schedule.create(ws, "bad", "p", "e", recurrence=ScheduleRecurrence("Day", 1, hours=[25]))
    with pytest.raises(ValidationError, match="schedule name"):
        Schedule.create(ws, "no spaces", "p", "e", recurrence=ScheduleRecurrence("Day", 1))
    with pytest.raises(ValidationError, match="pipeline_id"):
        Schedule.create(ws, "bad", "", "e", recurrence=ScheduleRecurrence("Day", 1))
    with pytest.raises(ValidationError, match="pipeline_endpoint_id"):
        Schedule.create(ws, "bad", experiment_name="e", recurrence=ScheduleRecurrence("Day", 1))
    with pytest.raises(ValidationError, match="experiment"):
        Schedule.create(ws, "bad", "p", recurrence=ScheduleRecurrence("Day", 1))
    assert Schedule.list(ws, active_only=False) == []
    made = Schedule.create(ws, "once", "p", "e", recurrence=ScheduleRecurrence("Day", 1))
    made.disable()
    with pytest.raises(AlreadyExistsError):
        Schedule.create(ws, "once", "p", "e", recurrence=ScheduleRecurrence("Day", 1))
    with pytest.raises(ValidationError, match="status"):
        made.update(status="Paused")
    with pytest.raises(NotFoundError):
        Schedule.get(ws, "never-made")


def test_a_schedule_fires_its_script_run(
    ws: Workspace, backend: str, config: ScriptRunConfig
) -> None:
    """Over HTTP the server's scheduler (``atelier server start`` runs one) fires a
    schedule without a start time at once. Embedded, ``atelier scheduler`` would: here the
    same scheduler's pass, on a clock moved to the slot, stands in for it (the slot is
    tomorrow, so that a test server's scheduler on a shared database leaves it alone)."""
    if backend == "http":
        recurrence = ScheduleRecurrence("Day", 1)
    else:
        tomorrow = datetime.now(UTC).replace(tzinfo=None, microsecond=0) + timedelta(days=1)
        recurrence = ScheduleRecurrence("Day", 1, start_time=tomorrow)
    schedule = Schedule.create_for_script_run(
        ws, "daily", config, "scheduled", recurrence=recurrence
    )
    if backend == "embedded":
        due = schedule.next_run_time_ms
        assert due is not None
        Scheduler(clock=lambda: due + 1).run_once()
    deadline = time.monotonic() + 60
    run = schedule.get_last_pipeline_run()
    while run is None and time.monotonic() < deadline:
        time.sleep(0.2)
        run = schedule.get_last_pipeline_run()
    schedule.disable()
    assert isinstance(run, Run)
    run.wait_for_completion(raise_on_error=True)
    assert run.get_metrics()["ran"] == 1
    assert [item.id for item in schedule.get_pipeline_runs()] == [run.id]
