"""``atelier run``: submit scripts, follow and cancel runs, read their details and files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from atelier import Experiment, Run, Workspace
from atelier.cli._options import WorkspaceOption, open_workspace
from atelier.cli._output import (
    OutputFormat,
    OutputOption,
    Passthrough,
    print_fields,
    print_json,
    print_table,
    stdout_console,
)
from atelier.cli._run_table import HEADERS, SHORT_ID, cell, fit_columns, parse_columns
from atelier.cli._run_views import (
    MAX_METRIC_COLUMNS,
    detail_fields,
    metric_columns,
    metric_row,
    parse_statuses,
    parse_tags,
    run_summary,
)
from atelier.cli.run_submit import ENDED_BADLY, failure, stop_following, submit
from atelier.core.errors import AlreadyExistsError, NotFoundError
from atelier.sdk.tracking.search import list_runs

app = typer.Typer(
    help="Submit scripts, follow and cancel runs, read their details, metrics and files.",
    no_args_is_help=True,
)
app.command("submit")(submit)

RunIdArgument = Annotated[
    str, typer.Argument(help="Run id, as 'atelier run list' shows it.", show_default=False)
]


def _get_run(ws: Workspace, run_id: str) -> Run:
    """The run with that id, or with that short id (the last 8 characters a narrow
    ``run list`` shows)."""
    try:
        return Run.get(ws, run_id)
    except NotFoundError:
        if len(run_id) != SHORT_ID:
            raise
        found = [r for r in list_runs(ws, include_children=True) if r.id.endswith(run_id)]
        if len(found) != 1:
            raise
        return found[0]


def _find_experiment(ws: Workspace, name: str) -> Experiment:
    """The experiment, archived or not; unlike ``Experiment(ws, name)`` it never creates one."""
    found = Experiment.list(ws, experiment_name=name, view_type="All")
    if not found:
        raise NotFoundError(
            f"experiment {name!r} not found in workspace {ws.name!r}; "
            f"list them with 'atelier experiment list -w {ws.name} --view all'"
        )
    return found[0]


@app.command("list")
def list_(
    experiment: Annotated[
        str | None,
        typer.Option(
            "--experiment",
            "-e",
            help="Experiment name; without it, the runs of every experiment of the workspace.",
            show_default=False,
        ),
    ] = None,
    workspace: WorkspaceOption = None,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status", help="Only runs in this status: Running, Completed, Failed... (repeat)."
        ),
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", help="Only runs tagged KEY=VALUE, or carrying KEY (repeat)."),
    ] = None,
    order_by: Annotated[
        str | None,
        typer.Option("--order-by", help="Order by a metric's latest value: 'accuracy desc'."),
    ] = None,
    top: Annotated[int | None, typer.Option("--top", min=1, help="Show at most N runs.")] = None,
    include_children: Annotated[
        bool, typer.Option("--include-children", help="Also list child runs.")
    ] = False,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns",
            help="Comma-separated columns: id, number, experiment, name, status, started, "
            "ended, parent and metric names. Default: as many as fit the terminal.",
        ),
    ] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """List runs, newest first, with their latest metrics: one line per run at any width.

    With --order-by, runs that never logged the metric come last (or are left out with --top).
    In a narrow terminal run ids are cut to their last 8 characters; every run command
    accepts that short id.
    """
    ws = open_workspace(workspace)
    if experiment is not None:
        _find_experiment(ws, experiment)
    runs = list_runs(
        ws,
        experiment,
        tags=parse_tags(tag or []),
        status=parse_statuses(status) if status else None,
        include_children=include_children,
        order_by=order_by,
        top=top,
    )
    summaries = [run_summary(run) for run in runs]
    if output is OutputFormat.JSON:
        print_json(summaries)
        return
    order_metric = order_by.rsplit(" ", 1)[0] if order_by else None
    names = metric_columns(summaries, order_metric)
    delimited = output in (OutputFormat.CSV, OutputFormat.TSV)
    short_ids = False
    if columns is not None:
        shown = parse_columns(columns, names)
    elif delimited:
        shown = ["id", "number", "experiment", "name", "status", "started", "ended", "parent"]
        shown += names
    else:
        shown, short_ids = fit_columns(
            summaries,
            names[:MAX_METRIC_COLUMNS],
            stdout_console().width,
            with_experiment=experiment is None,
            with_parent=include_children,
        )
    hidden = [n for n in names if n not in shown]
    where = f"{experiment} in {ws.name}" if experiment else f"workspace {ws.name}"
    print_table(
        f"Runs of {where}",
        shown if delimited else [HEADERS.get(c, c) for c in shown],
        ([cell(s, c, short_ids) for c in shown] for s in summaries),
        caption=f"{len(hidden)} more metric(s): see --columns or -o json" if hidden else None,
        no_wrap=("run id", "parent", "status", "started", "ended", "name"),
    )


@app.command("show")
def show(
    run_id: RunIdArgument,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Show a run: status, times, tags, properties, error, latest metrics, children and files."""
    run = _get_run(open_workspace(workspace), run_id)
    details = run.get_details()
    details["latestMetrics"] = run.latest_metrics
    details["children"] = [child.id for child in run.get_children()]
    details["files"] = run.get_file_names()
    if output is OutputFormat.JSON:
        print_json(details)
        return
    print_fields(f"Run {run_id}", detail_fields(details))
    for title, section in (
        ("Tags", "tags"),
        ("Properties", "properties"),
        ("Latest metrics", "latestMetrics"),
    ):
        if details[section]:
            print_table(title, ("name", "value"), details[section].items(), no_wrap=("name",))


@app.command("metrics")
def metrics(
    run_id: RunIdArgument,
    workspace: WorkspaceOption = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Only this metric.")] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Show a run's metrics: a summary per metric in a table, every value with -o json."""
    ws = open_workspace(workspace)
    values = _get_run(ws, run_id).get_metrics(name)
    if name is not None and not values:
        raise NotFoundError(
            f"run {run_id!r} has no metric {name!r}; "
            f"list its metrics with 'atelier run metrics {run_id} -w {ws.name}'"
        )
    if output is OutputFormat.JSON:
        print_json(values)
        return
    print_table(
        f"Metrics of {run_id}",
        ("name", "kind", "count", "last", "min", "max"),
        (metric_row(metric, value) for metric, value in sorted(values.items())),
        no_wrap=("name",),
    )


@app.command("download")
def download(
    run_id: RunIdArgument,
    workspace: WorkspaceOption = None,
    prefix: Annotated[
        str | None, typer.Option("--prefix", help="Only files under this path, e.g. outputs.")
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir",
            "-o",
            "-d",
            file_okay=False,
            help="Where to write (default: the current folder).",
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace local files.")] = False,
) -> None:
    """Download a run's files, keeping their paths; print each written path.

    Exits with code 3 when no file matches, so a script never goes on with nothing, and
    with code 4 when a file is already there, unless --overwrite.
    """
    ws = open_workspace(workspace)
    root = output_dir if output_dir is not None else Path.cwd()
    run = _get_run(ws, run_id)
    if not overwrite:
        there = [
            root / name
            for name in run.get_file_names()
            if name.startswith(prefix or "") and (root / name).exists()
        ]
        if there:
            more = f" (and {len(there) - 1} more)" if len(there) > 1 else ""
            raise AlreadyExistsError(
                f"{there[0]} already exists{more}; pass --overwrite to replace local files"
            )
    written = run.download_files(prefix=prefix, output_directory=root)
    if not written:
        where = f" under {prefix!r}" if prefix else ""
        raise NotFoundError(
            f"run {run_id!r} has no files{where}; "
            f"list them with 'atelier run show {run_id} -w {ws.name}'"
        )
    for path in written:
        typer.echo(str(path))
    typer.echo(f"downloaded {len(written)} file(s) to {root}", err=True)


@app.command("snapshot")
def snapshot(
    run_id: RunIdArgument,
    workspace: WorkspaceOption = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir", "-o", "-d", file_okay=False, help="Where to restore the files."
        ),
    ] = None,
) -> None:
    """Restore the source snapshot a submitted run ran from; print the folder."""
    ws = open_workspace(workspace)
    typer.echo(str(_get_run(ws, run_id).restore_snapshot(path=output_dir)))


@app.command("logs")
def logs(
    run_id: RunIdArgument,
    workspace: WorkspaceOption = None,
    follow: Annotated[
        bool,
        typer.Option("--follow", help="Keep printing until the run ends; exit 7 if it failed."),
    ] = False,
) -> None:
    """Print a submitted run's output (what its script wrote to stdout and stderr) so far."""
    ws = open_workspace(workspace)
    run = _get_run(ws, run_id)
    sink = Passthrough(sys.stdout)
    try:
        record = run.stream_logs(sink.as_text_io(), follow=follow)
    except KeyboardInterrupt:
        sink.end_line()
        raise stop_following(run_id, ws.name) from None
    sink.end_line()
    if not sink.written and record.snapshot_id is None:  # only submitted runs have a snapshot
        raise NotFoundError(
            f"run {run_id!r} was not submitted, so it has no script output; "
            f"see its files with 'atelier run show {run_id} -w {ws.name}'"
        )
    if follow and record.status.value in ENDED_BADLY:
        raise failure(run_id, run.get_details())


@app.command("cancel")
def cancel(run_id: RunIdArgument, workspace: WorkspaceOption = None) -> None:
    """Cancel a run and its unfinished children (exit code 4 if it already ended).

    A running script is asked to stop; its supervisor ends the run Canceled.
    """
    run = _get_run(open_workspace(workspace), run_id)
    run.cancel()
    status = run.get_status()
    if status == "Canceled":
        typer.echo(f"canceled run {run_id}")
    else:
        typer.echo(f"cancel requested for run {run_id} ({status}); its script is being stopped")
