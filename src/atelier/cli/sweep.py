"""``atelier sweep``: submit hyperparameter sweeps (HyperDrive), list them, show their trials
best first, cancel and resume them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from atelier import Experiment, Run, Workspace
from atelier.cli._options import WorkspaceOption, open_workspace
from atelier.cli._output import (
    OutputFormat,
    OutputOption,
    print_fields,
    print_json,
    print_table,
    short_time,
)
from atelier.cli.run_submit import INTERRUPTED
from atelier.core.errors import NotFoundError, RunFailedError
from atelier.core.timeutil import ms_to_iso
from atelier.sdk.sweeps.run import HYPERDRIVE_RUN_TYPE, HyperDriveRun
from atelier.sdk.sweeps.spec import load_sweep

app = typer.Typer(
    help="Hyperparameter sweeps: submit one from a YAML file, list, show, cancel, resume.",
    no_args_is_help=True,
)

RunIdArgument = Annotated[
    str, typer.Argument(help="Sweep run id, as 'atelier sweep list' shows it.", show_default=False)
]


def _sweep(ws: Workspace, run_id: str) -> HyperDriveRun:
    run = Run.get(ws, run_id)
    if run.type != HYPERDRIVE_RUN_TYPE:
        raise NotFoundError(
            f"run {run_id!r} is a {run.type} run, not a sweep; list sweeps with "
            f"'atelier sweep list -e {run.experiment.name} -w {ws.name}'"
        )
    return HyperDriveRun(run.experiment, run.id)


def _trial_rows(run: HyperDriveRun) -> list[dict[str, Any]]:
    return run.get_children_sorted_by_primary_metric()


def _print_trials(run: HyperDriveRun, rows: list[dict[str, Any]]) -> None:
    print_table(
        f"Trials of {run.id}, best {run.primary_metric_name} first",
        ("#", "run id", "status", f"best {run.primary_metric_name}", "hyperparameters"),
        (
            (i, r["run_id"], r["status"], r["best_primary_metric"], r["hyperparameters"])
            for i, r in enumerate(rows, start=1)
        ),
        no_wrap=("run id",),
    )


@app.command("submit")
def submit(
    file: Annotated[
        Path,
        typer.Option("--file", "-f", help="The sweep's YAML file.", show_default=False),
    ],
    workspace: WorkspaceOption = None,
    no_follow: Annotated[
        bool, typer.Option("--no-follow", help="Print the sweep's run id and return at once.")
    ] = False,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Submit the sweep FILE describes and follow its trials until it ends.

    Exits with code 7 if the sweep fails or is canceled."""
    ws = open_workspace(workspace)
    spec = load_sweep(file, ws)
    run = spec.config._submit_to(Experiment(ws, spec.experiment), None)
    if no_follow:
        print_json({"run_id": run.id}) if output is OutputFormat.JSON else typer.echo(run.id)
        return
    if output is not OutputFormat.JSON:
        typer.echo(f"sweep {run.id} submitted; Ctrl-C stops following, not the sweep")
    try:
        run.wait_for_completion(show_output=output is not OutputFormat.JSON, raise_on_error=False)
    except KeyboardInterrupt:
        sys.stderr.write(
            f"\nstopped following; sweep {run.id} goes on. See it with 'atelier sweep show "
            f"{run.id} -w {ws.name}', stop it with 'atelier sweep cancel {run.id} -w {ws.name}'\n"
        )
        raise typer.Exit(INTERRUPTED) from None
    _report(run, output)


def _report(run: HyperDriveRun, output: OutputFormat) -> None:
    details = run.get_details()
    best = run.get_best_run_by_primary_metric()
    if output is OutputFormat.JSON:
        print_json(
            {
                "run_id": run.id,
                "status": details["status"],
                "best_run_id": best.id if best else None,
                "trials": _trial_rows(run),
                "error": details.get("error"),
            }
        )
    else:
        typer.echo(f"sweep {run.id} {details['status']}; best trial: {best.id if best else 'none'}")
    if details["status"] in ("Failed", "Canceled"):
        message = (details.get("error") or {}).get("message") or "it was canceled"
        raise RunFailedError(f"sweep {run.id} ended {details['status']}: {message}")


@app.command("list")
def list_(
    experiment: Annotated[
        str, typer.Option("--experiment", "-e", help="Experiment name.", show_default=False)
    ],
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """List the sweeps of an experiment, newest first."""
    ws = open_workspace(workspace)
    found = Experiment.list(ws, experiment_name=experiment, view_type="All")
    if not found:
        raise NotFoundError(
            f"experiment {experiment!r} not found in workspace {ws.name!r}; "
            f"list them with 'atelier experiment list -w {ws.name}'"
        )
    sweeps = [
        HyperDriveRun(found[0], r.id, _record=r._record)
        for r in Run.list(found[0], type=HYPERDRIVE_RUN_TYPE, include_children=True)
    ]
    rows: list[dict[str, Any]] = []
    for sweep in sweeps:
        trials = sweep.get_children()
        settings = sweep._settings
        rows.append(
            {
                "run_id": sweep.id,
                "status": sweep.status,
                "created": ms_to_iso(sweep._record.created_ms),
                "primary_metric": settings.get("primary_metric_name"),
                "goal": settings.get("primary_metric_goal"),
                "trials": len(trials),
                "max_total_runs": settings.get("max_total_runs"),
            }
        )
    if output is OutputFormat.JSON:
        print_json(rows)
        return
    print_table(
        f"Sweeps of {experiment}",
        ("run id", "status", "created", "metric", "goal", "trials"),
        (
            (
                r["run_id"],
                r["status"],
                short_time(r["created"]),
                r["primary_metric"],
                r["goal"],
                f"{r['trials']}/{r['max_total_runs']}",
            )
            for r in rows
        ),
        no_wrap=("run id",),
    )


@app.command("show")
def show(
    run_id: RunIdArgument,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Show a sweep: its settings and status, and its trials best first."""
    run = _sweep(open_workspace(workspace), run_id)
    details = run.get_details()
    rows = _trial_rows(run)
    best = run.get_best_run_by_primary_metric()
    if output is OutputFormat.JSON:
        print_json(
            {
                "run_id": run.id,
                "status": details["status"],
                "settings": run._settings,
                "best_run_id": best.id if best else None,
                "trials": rows,
                "error": details.get("error"),
            }
        )
        return
    settings = run._settings
    fields = {
        "status": details["status"],
        "experiment": details["experiment"],
        "sampling": settings.get("sampling", {}).get("name"),
        "policy": settings.get("policy", {}).get("name"),
        "primary metric": f"{settings.get('primary_metric_name')} "
        f"({settings.get('primary_metric_goal')})",
        "trials": f"{len(rows)} of at most {settings.get('max_total_runs')}, "
        f"{settings.get('max_concurrent_runs')} at a time",
        "best trial": best.id if best else "",
        "started": short_time(details["startTimeUtc"]),
        "ended": short_time(details["endTimeUtc"]),
    }
    if details.get("error"):
        fields["error"] = details["error"].get("message")
    print_fields(f"Sweep {run.id}", fields)
    _print_trials(run, rows)


@app.command("cancel")
def cancel(run_id: RunIdArgument, workspace: WorkspaceOption = None) -> None:
    """Cancel a sweep and every trial still running."""
    run = _sweep(open_workspace(workspace), run_id)
    run.cancel()
    typer.echo(f"sweep {run.id} is being canceled with its running trials")


@app.command("resume")
def resume(run_id: RunIdArgument, workspace: WorkspaceOption = None) -> None:
    """Start a controller for a sweep whose controller stopped (killed, machine restarted):
    it carries on from the stored study and trials, running no trial twice."""
    run = _sweep(open_workspace(workspace), run_id)
    started = run.resume()
    typer.echo(
        f"sweep {run.id} resumed"
        if started
        else f"sweep {run.id} is {run.status}; it already has a controller or has ended"
    )
