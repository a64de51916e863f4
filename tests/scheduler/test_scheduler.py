"""The scheduler against a real database (SQLite and PostgreSQL): slots fire the real
script run stored with the schedule, missed slots fire once, no slot fires twice however
many schedulers race for it, disabled schedules stay quiet, data triggers fire on new and
changed files. The clock is injected: no test waits for a minute to pass."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from atelier import Workspace
from atelier.core.errors import AlreadyExistsError, NotFoundError, ValidationError
from atelier.core.schedules import FiringRecord, ScheduleRecord
from atelier.core.timeutil import now_ms
from atelier.scheduler import targets
from atelier.scheduler.engine import Scheduler
from atelier.scheduler.targets import register_target_kind
from atelier.sdk.pipelines.schedule import Schedule, ScheduleRecurrence
from atelier.sdk.tracking.run import Run
from atelier.sdk.tracking.runconfig import ScriptRunConfig

MINUTE = 60_000

SCRIPT = """\
import os
from atelier import Run
run = Run.get_context()
run.log("fired", 1)
run.tag("changed", os.environ.get("AML_PARAMETER_changed", ""))
run.tag("mode", os.environ.get("AML_PARAMETER_mode", ""))
"""


class Clock:
    """Real time plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = 0

    def __call__(self) -> int:
        return now_ms() + self.offset


@pytest.fixture(autouse=True)
def _quiet_afterwards(ws: Workspace) -> Iterator[None]:
    """On PostgreSQL the session's tests share one database, and a scheduler fires every
    workspace's schedules: disable this test's so that later tests' clocks leave them be."""
    yield
    for schedule in Schedule.list(ws):
        schedule.disable()


def mine(fired: list[FiringRecord], schedule: Schedule) -> list[FiringRecord]:
    return [item for item in fired if item.schedule_id == schedule.id]


@pytest.fixture
def config(tmp_path: Path) -> ScriptRunConfig:
    folder = tmp_path / "job"
    folder.mkdir()
    (folder / "job.py").write_text(SCRIPT)
    return ScriptRunConfig(source_directory=str(folder), script="job.py")


def every_minutes(minutes: int) -> ScheduleRecurrence:
    """Starting tomorrow: no scheduler on the real clock (a test server's, on a shared
    database) reaches its slots while a test runs; the tests' clocks jump there."""
    now = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)
    return ScheduleRecurrence("Minute", minutes, start_time=now + timedelta(days=1))


def jump_to(clock: Clock, schedule: Schedule, extra_ms: int = 1) -> None:
    """Move ``clock`` to just after the schedule's next due time."""
    due = Schedule.get(schedule._workspace, schedule.id).next_run_time_ms
    assert due is not None
    clock.offset = due - now_ms() + extra_ms


def test_a_due_slot_fires_the_stored_script_run_once(
    ws: Workspace, config: ScriptRunConfig
) -> None:
    schedule = Schedule.create_for_script_run(
        ws,
        "nightly",
        config,
        "scheduled",
        recurrence=every_minutes(5),
        pipeline_parameters={"mode": "full"},
    )
    clock = Clock()
    scheduler = Scheduler(clock=clock)
    assert mine(scheduler.run_once(), schedule) == []  # its first slot is tomorrow
    jump_to(clock, schedule)
    fired = mine(scheduler.run_once(), schedule)
    assert len(fired) == 1
    assert mine(scheduler.run_once(), schedule) == []  # the same slot never fires again
    run = schedule.get_last_pipeline_run()
    assert run is not None and run.id == fired[0].run_id
    run.wait_for_completion(raise_on_error=True)
    assert run.get_metrics()["fired"] == 1
    assert run.get_tags()["mode"] == "full"
    assert run.get_tags()["azureml.pipelines.scheduleId"] == schedule.id
    assert [item.id for item in schedule.get_pipeline_runs()] == [run.id]


@pytest.mark.one_database
def test_slots_missed_while_no_scheduler_ran_fire_once(
    ws: Workspace, config: ScriptRunConfig
) -> None:
    """A scheduler back after three hours fires the missed slots once, then goes on from
    the next slot after now."""
    schedule = Schedule.create_for_script_run(
        ws, "catch-up", config, "scheduled", recurrence=every_minutes(5)
    )
    clock = Clock()
    jump_to(clock, schedule, 3 * 60 * MINUTE)
    scheduler = Scheduler(clock=clock)
    assert len(mine(scheduler.run_once(), schedule)) == 1
    assert mine(scheduler.run_once(), schedule) == []
    following = Schedule.get(ws, schedule.id).next_run_time_ms
    assert following is not None and clock() < following <= clock() + 5 * MINUTE


@pytest.fixture
def counted_pipelines() -> Iterator[list[str]]:
    """Schedules of published pipelines submit through a function that counts them (the
    race below is about claims; the runs themselves are tested above)."""
    submitted: list[str] = []
    lock = threading.Lock()

    def submit(workspace: Workspace, schedule: ScheduleRecord, parameters: dict[str, Any]) -> str:
        with lock:
            submitted.append(schedule.id)
            return f"run-{len(submitted)}"

    before = dict(targets.TARGET_KINDS)
    register_target_kind("pipeline", submit)
    yield submitted
    targets._loaded.pop("pipeline", None)
    targets.TARGET_KINDS.clear()
    targets.TARGET_KINDS.update(before)


def test_schedulers_racing_never_fire_one_slot_twice(
    ws: Workspace, counted_pipelines: list[str]
) -> None:
    """Four schedulers race for every slot of ten: each slot fires exactly once."""
    schedule = Schedule.create(ws, "raced", "pipeline-1", "raced", recurrence=every_minutes(1))
    clock = Clock()
    jump_to(clock, schedule, -MINUTE)
    schedulers = [Scheduler(clock=clock) for _ in range(4)]
    won: list[str] = []
    lock = threading.Lock()
    for _ in range(10):
        clock.offset += MINUTE
        barrier = threading.Barrier(len(schedulers))

        def one_pass(scheduler: Scheduler, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            fired = mine(scheduler.run_once(), schedule)
            with lock:
                won.extend(item.id for item in fired)

        threads = [threading.Thread(target=one_pass, args=(item,)) for item in schedulers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    firings = ws._backend.schedules.firings(ws.name, schedule.id)
    assert len(won) == len(firings) == counted_pipelines.count(schedule.id) == 10
    assert len({item.slot_ms for item in firings}) == 10
    assert all(item.run_id for item in firings)


@pytest.mark.one_database
def test_a_disabled_schedule_stays_quiet_and_resumes_after_now(
    ws: Workspace, counted_pipelines: list[str]
) -> None:
    schedule = Schedule.create(ws, "paused", "pipeline-1", "paused", recurrence=every_minutes(5))
    schedule.disable()
    assert Schedule.get(ws, "paused").status == "Disabled"
    assert Schedule.list(ws) == [] and len(Schedule.list(ws, active_only=False)) == 1
    clock = Clock()
    clock.offset = 2 * 24 * 60 * MINUTE
    scheduler = Scheduler(clock=clock)
    assert mine(scheduler.run_once(), schedule) == []
    schedule.enable()  # from the real now: the disabled hour's slots never fire
    assert schedule.status == "Active"
    assert schedule.next_run_time_ms is not None and schedule.next_run_time_ms > now_ms()
    assert schedule.id not in counted_pipelines
    assert len(mine(scheduler.run_once(), schedule)) == 1  # two days ahead: one slot is due


def test_a_submission_that_fails_is_recorded_and_the_slot_is_spent(ws: Workspace) -> None:
    """No target is registered for published pipelines here (the pipelines package does
    that): the firing says why no run started, and the next pass does not retry it."""
    schedule = Schedule.create(ws, "orphan", "pipeline-x", "orphan", recurrence=every_minutes(5))
    clock = Clock()
    jump_to(clock, schedule)
    scheduler = Scheduler(clock=clock)
    if "pipeline" in targets.TARGET_KINDS or "pipeline" in targets._loaded:
        pytest.skip("a pipeline target is registered in this build")
    (firing,) = mine(scheduler.run_once(), schedule)
    assert firing.run_id is None and firing.error and "pipeline" in firing.error
    assert mine(scheduler.run_once(), schedule) == []
    assert schedule.get_last_pipeline_run() is None


@pytest.mark.one_database
def test_data_trigger_fires_on_new_and_changed_files(
    ws: Workspace, config: ScriptRunConfig, tmp_path: Path
) -> None:
    store = ws.get_default_datastore()
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "old.csv").write_text("a\n1\n")
    store.upload(str(incoming), target_path="incoming", show_progress=False)
    schedule = Schedule.create_for_script_run(
        ws,
        "on-data",
        config,
        "watched",
        datastore=store,
        path_on_datastore="incoming",
        polling_interval=60,
        data_path_parameter_name="changed",
    )
    assert schedule.datastore_name == store.name and schedule.recurrence is None
    clock = Clock()
    scheduler = Scheduler(clock=clock)
    clock.offset = 60 * MINUTE + 1000
    assert mine(scheduler.run_once(), schedule) == []  # polled: nothing new since made
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "new.csv").write_text("a\n2\n")
    store.upload(str(batch), target_path="incoming", show_progress=False)
    assert mine(scheduler.run_once(), schedule) == []  # the next poll: an hour later
    clock.offset += 60 * MINUTE
    (firing,) = mine(scheduler.run_once(), schedule)
    assert firing.reason == "data" and firing.changed_paths == ["incoming/new.csv"]
    run = Run.get(ws, firing.run_id or "")
    run.wait_for_completion(raise_on_error=True)
    assert run.get_tags()["changed"] == "incoming/new.csv"
    clock.offset += 60 * MINUTE
    assert mine(scheduler.run_once(), schedule) == []  # no change since


def test_bad_schedules_are_refused_and_nothing_is_kept(
    ws: Workspace, config: ScriptRunConfig
) -> None:
    with pytest.raises(ValidationError, match="week_days"):
        Schedule.create(
            ws, "bad", "p", "e", recurrence=ScheduleRecurrence("Day", 1, week_days=["Monday"])
        )
    with pytest.raises(ValueError, match="interval"):
        Schedule.create(ws, "bad", "p", "e", recurrence=ScheduleRecurrence("Week", 0))
    with pytest.raises(ValidationError, match="recurrence"):
        Schedule.create(ws, "bad", "p", "e")
    with pytest.raises(ValidationError, match="not both"):
        Schedule.create(
            ws, "bad", "p", "e", recurrence=every_minutes(5), datastore=ws.get_default_datastore()
        )
    with pytest.raises(NotFoundError, match="datastore"):
        Schedule.create(ws, "bad", "p", "e", datastore="no_such_store")
    with pytest.raises(ValidationError, match="polling_interval"):
        Schedule.create(
            ws, "bad", "p", "e", datastore=ws.get_default_datastore(), polling_interval=0
        )
    assert Schedule.list(ws, active_only=False) == []
    Schedule.create(ws, "taken", "p", "e", recurrence=every_minutes(5))
    with pytest.raises(AlreadyExistsError, match="taken"):
        Schedule.create(ws, "taken", "p", "e", recurrence=every_minutes(5))
    with pytest.raises(NotFoundError, match="atelier schedule list"):
        Schedule.get(ws, "no-such-schedule")


@pytest.mark.one_database
def test_enabling_again_waits_for_the_next_slot_after_now(
    ws: Workspace, counted_pipelines: list[str]
) -> None:
    """Without a start time the first run is at once, and the slots follow from the moment
    the schedule was made: enabling it again fires at the next of those, not at once."""
    schedule = Schedule.create(ws, "hourly", "pipeline-1", "hourly", recurrence=every_hour())
    made = schedule.next_run_time_ms
    assert made is not None and made <= now_ms()
    schedule.disable()
    schedule.enable()
    following = schedule.next_run_time_ms
    assert following is not None and now_ms() < following <= made + 60 * MINUTE
    assert (following - made) % (60 * MINUTE) == 0
    assert mine(Scheduler().run_once(), schedule) == []


def every_hour() -> ScheduleRecurrence:
    return ScheduleRecurrence("Hour", 1)


CHILD = """\
import sys
from atelier.scheduler.engine import Scheduler
fired = Scheduler(clock=lambda: int(sys.argv[1])).run_once()
print(",".join(item.schedule_id for item in fired))
"""


def test_schedulers_in_separate_processes_never_fire_one_slot_twice(ws: Workspace) -> None:
    """Two scheduler processes, each with its own connections, pass at the same instant:
    the slot fires once (the threads above race over many slots). No pipeline target is
    registered in them: the firing records that, which is enough to count claims."""
    schedule = Schedule.create(ws, "two-procs", "pipeline-1", "procs", recurrence=every_minutes(1))
    due = Schedule.get(ws, schedule.id).next_run_time_ms
    assert due is not None
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(due + 1)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [child.communicate(timeout=120)[0] for child in children]
    assert all(child.returncode == 0 for child in children)
    assert sum(out.count(schedule.id) for out in outputs) == 1, outputs
    (firing,) = ws._backend.schedules.firings(ws.name, schedule.id)
    assert firing.slot_ms == due
