"""``atelier schedule list | show | disable | enable`` and ``atelier scheduler --once``
against a home whose schedules the SDK made."""

from __future__ import annotations

from pathlib import Path

from atelier import Workspace
from atelier.sdk.pipelines.schedule import Schedule, ScheduleRecurrence
from atelier.sdk.tracking.run import Run
from atelier.sdk.tracking.runconfig import ScriptRunConfig
from tests.helpers.cli import Atelier, assert_one_line_error


def test_schedule_journey(atelier: Atelier, tmp_path: Path) -> None:
    assert atelier("workspace", "create", "lab").code == 0
    ws = Workspace.get("lab")
    folder = tmp_path / "job"
    folder.mkdir()
    (folder / "job.py").write_text("print('scheduled hello')\n")
    config = ScriptRunConfig(source_directory=str(folder), script="job.py")
    Schedule.create_for_script_run(
        ws, "hourly", config, "jobs", recurrence=ScheduleRecurrence("Hour", 1)
    )
    Schedule.create(
        ws,
        "weekly",
        "pipeline-1",
        "jobs",
        recurrence=ScheduleRecurrence(
            "Week", 2, week_days=["Friday"], time_of_day="18:00", start_time="2031-01-01T00:00:00"
        ),
    )
    listing = atelier("schedule", "list", "-w", "lab", "-o", "json").json()
    assert [entry["name"] for entry in listing] == ["hourly", "weekly"]
    assert listing[1]["when"] == "every 2 Week at 18:00 on Friday"
    table = atelier("schedule", "list", "-w", "lab")
    assert "hourly" in table.stdout and "Active" in table.stdout

    fired = atelier("scheduler", "--once")  # the hourly one has no start time: due at once
    assert fired.code == 0 and "fired" in fired.stdout, fired.stderr
    shown = atelier("schedule", "show", "hourly", "-w", "lab", "-o", "json").json()
    assert shown["status"] == "Active" and shown["target"] == "script"
    assert len(shown["recent"]) == 1 and shown["recent"][0]["run"]
    Run.get(ws, shown["recent"][0]["run"]).wait_for_completion(raise_on_error=True)

    done = atelier("schedule", "disable", "hourly", "-w", "lab")
    assert done.code == 0 and "disabled" in done.stdout
    assert [e["name"] for e in atelier("schedule", "list", "-w", "lab", "-o", "json").json()] == [
        "weekly"
    ]
    every = atelier("schedule", "list", "-w", "lab", "--all", "-o", "json").json()
    assert {e["name"]: e["status"] for e in every} == {"hourly": "Disabled", "weekly": "Active"}
    assert atelier("schedule", "enable", "hourly", "-w", "lab").code == 0
    assert Schedule.get(ws, "hourly").status == "Active"
    Schedule.get(ws, "hourly").disable()

    missing = atelier("schedule", "show", "nope", "-w", "lab")
    assert_one_line_error(missing, 3, "schedule 'nope' not found", "atelier schedule list")
