"""``atelier automl``: run an AutoML experiment from a YAML file, and show one's
leaderboard."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from atelier import Experiment, Run, Workspace
from atelier.cli._options import WorkspaceOption, open_workspace
from atelier.cli._output import OutputFormat, OutputOption, print_fields, print_json, print_table
from atelier.core.errors import NotFoundError, RunFailedError, ValidationError
from atelier.sdk.automl.run import AutoMLRun

app = typer.Typer(
    help="AutoML: run an experiment from a YAML file, show its leaderboard.",
    no_args_is_help=True,
)

RunIdArgument = Annotated[
    str, typer.Argument(help="The AutoML parent run's id.", show_default=False)
]


def _automl(ws: Workspace, run_id: str) -> AutoMLRun:
    run = Run.get(ws, run_id)
    try:
        return AutoMLRun(run.experiment, run.id, _record=run._record)
    except ValidationError:
        raise NotFoundError(
            f"run {run_id!r} is not an AutoML parent run; its parent is "
            f"{run._record.parent_run_id or 'none'}"
        ) from None


def _summary(run: AutoMLRun) -> dict[str, Any]:
    details = run.get_details()
    board = run.get_leaderboard()
    return {
        "run_id": run.id,
        "status": details["status"],
        "task": run.task,
        "primary_metric": run.primary_metric,
        "best_run_id": board[0]["run_id"] if board and board[0]["score"] is not None else None,
        "stop_reason": details["properties"].get("automl.stop_reason"),
        "guardrails": run.get_guardrails(),
        "leaderboard": board,
        "error": details.get("error"),
    }


def _print(summary: dict[str, Any]) -> None:
    print_fields(
        f"AutoML run {summary['run_id']}",
        {
            "status": summary["status"],
            "task": summary["task"],
            "primary metric": summary["primary_metric"],
            "best run": summary["best_run_id"] or "",
            "stopped": summary["stop_reason"] or "",
        },
    )
    print_table(
        "Data guardrails",
        ("type", "result", "description"),
        ((g["type"], g["result"], g["description"]) for g in summary["guardrails"]),
    )
    print_table(
        f"Leaderboard, best {summary['primary_metric']} first",
        ("iteration", "algorithm", summary["primary_metric"], "status", "run id"),
        (
            (r["iteration"], r["algorithm"], r["score"], r["status"], r["run_id"])
            for r in summary["leaderboard"]
        ),
        no_wrap=("run id",),
    )


@app.command("submit")
def submit(
    file: Annotated[
        Path,
        typer.Option("--file", "-f", help="The AutoML YAML file.", show_default=False),
    ],
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Run the AutoML experiment FILE describes, here, showing each iteration as it ends;
    then its leaderboard. Exits with code 7 if the run fails."""
    from atelier.sdk.automl.spec import load_automl

    ws = open_workspace(workspace)
    spec = load_automl(file, ws)
    table = output is not OutputFormat.JSON
    run = spec.config._submit_to(Experiment(ws, spec.experiment), None, show_output=table)
    summary = _summary(run)
    if table:
        _print(summary)
    else:
        print_json(summary)
    if summary["status"] in ("Failed", "Canceled"):
        message = (summary.get("error") or {}).get("message") or "it was canceled"
        raise RunFailedError(f"AutoML run {run.id} ended {summary['status']}: {message}")


@app.command("show")
def show(
    run_id: RunIdArgument,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Show an AutoML run: its status, data guardrails and leaderboard."""
    summary = _summary(_automl(open_workspace(workspace), run_id))
    if output is OutputFormat.JSON:
        print_json(summary)
    else:
        _print(summary)
