"""``atelier schedule``: list, show, disable and enable the workspace's schedules, and
``atelier scheduler``: fire the schedules of an embedded home (``atelier server start``
runs a scheduler of its own)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from atelier.cli._options import WorkspaceOption, open_workspace
from atelier.cli._output import OutputFormat, OutputOption, print_fields, print_json, print_table
from atelier.core.timeutil import ms_to_iso
from atelier.sdk.pipelines.schedule import Schedule

app = typer.Typer(help="List, show, disable and enable pipeline schedules.", no_args_is_help=True)

ScheduleArgument = Annotated[str, typer.Argument(help="Schedule name or id.", show_default=False)]


def _when(schedule: Schedule) -> str:
    recurrence = schedule.recurrence
    if recurrence is not None:
        every = f"every {recurrence.interval} {recurrence.frequency}"
        details = [
            f"at {recurrence.time_of_day}" if recurrence.time_of_day else "",
            f"hours {recurrence.hours}" if recurrence.hours else "",
            f"minutes {recurrence.minutes}" if recurrence.minutes else "",
            f"on {', '.join(recurrence.week_days)}" if recurrence.week_days else "",
        ]
        return " ".join([every, *filter(None, details)])
    path = schedule.path_on_datastore or ""
    return f"on changes in {schedule.datastore_name}/{path} (every {schedule.polling_interval} min)"


def _fields(schedule: Schedule) -> dict[str, Any]:
    record = schedule._record
    return {
        "id": schedule.id,
        "name": schedule.name,
        "status": schedule.status,
        "description": schedule.description,
        "target": record.target_kind + (f" {record.target_id}" if record.target_id else ""),
        "experiment": record.experiment_name,
        "when": _when(schedule),
        "next": ms_to_iso(schedule.next_run_time_ms) or "",
        "parameters": record.pipeline_parameters,
    }


@app.command("list")
def list_(
    workspace: WorkspaceOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Disabled schedules too.")] = False,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """The workspace's schedules (Active ones unless --all)."""
    ws = open_workspace(workspace)
    listing = [_fields(item) for item in Schedule.list(ws, active_only=not all_)]
    if output is OutputFormat.JSON:
        print_json(listing)
        return
    print_table(
        f"Schedules in {ws.name}",
        ("name", "status", "target", "when", "next"),
        ((e["name"], e["status"], e["target"], e["when"], e["next"]) for e in listing),
        no_wrap=("name",),
    )


@app.command("show")
def show(
    schedule: ScheduleArgument,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """A schedule, with the runs its latest slots started."""
    ws = open_workspace(workspace)
    found = Schedule.get(ws, schedule)
    fields = _fields(found)
    firings = ws._backend.schedules.firings(ws.name, found.id)[:10]
    fields["recent"] = [
        {
            "slot": ms_to_iso(item.slot_ms),
            "reason": item.reason,
            "run": item.run_id,
            "error": item.error,
        }
        for item in firings
    ]
    if output is OutputFormat.JSON:
        print_json(fields)
    else:
        print_fields(f"Schedule {found.name}", fields)


@app.command("disable")
def disable(schedule: ScheduleArgument, workspace: WorkspaceOption = None) -> None:
    """Stop a schedule from firing until it is enabled again."""
    ws = open_workspace(workspace)
    found = Schedule.get(ws, schedule)
    found.disable()
    typer.echo(f"Schedule {found.name!r} disabled in workspace {ws.name!r}")


@app.command("enable")
def enable(schedule: ScheduleArgument, workspace: WorkspaceOption = None) -> None:
    """Let a disabled schedule fire again, from its next slot after now."""
    ws = open_workspace(workspace)
    found = Schedule.get(ws, schedule)
    found.enable()
    typer.echo(
        f"Schedule {found.name!r} enabled in workspace {ws.name!r}; next: "
        f"{ms_to_iso(found.next_run_time_ms)}"
    )


def scheduler(
    every: Annotated[float, typer.Option("--every", min=0.1, help="Seconds between passes.")] = 5.0,
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
) -> None:
    """Fire the due schedules of this home's workspaces (ATELIER_HOME /
    ATELIER_DATABASE_URL) until interrupted; two schedulers never fire one slot twice."""
    # SQLAlchemy and the services load only when a scheduler runs
    from atelier.scheduler.engine import Scheduler

    engine = Scheduler()
    if once:
        for firing in engine.run_once():
            typer.echo(f"fired {firing.schedule_id}: {firing.run_id or firing.error}")
        return
    typer.echo(f"scheduler: passes every {every:g} s; Ctrl+C stops it", err=True)
    try:
        engine.serve(every)
    except KeyboardInterrupt:
        typer.echo("scheduler: stopped", err=True)
