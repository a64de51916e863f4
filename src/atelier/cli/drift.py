"""``atelier drift``: create, list, show, backfill, enable and disable data drift detectors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from atelier.cli._options import WorkspaceOption, open_workspace
from atelier.cli._output import OutputFormat, OutputOption, print_fields, print_json, print_table
from atelier.core.errors import ValidationError

if TYPE_CHECKING:
    from atelier.monitoring.detector import DataDriftDetector
    from atelier.sdk.data.tabular_dataset import TabularDataset
    from atelier.sdk.workspace import Workspace

app = typer.Typer(
    help="Data drift detectors: a baseline dataset against newer data, per day/week/month.",
    no_args_is_help=True,
)
NameArgument = Annotated[str, typer.Argument(help="Detector name.", show_default=False)]
DATASET_HELP = "A registered tabular dataset: NAME or NAME:VERSION."


def _dataset(ws: Workspace, reference: str, what: str) -> TabularDataset:
    from atelier.sdk.data.dataset import Dataset
    from atelier.sdk.data.tabular_dataset import TabularDataset

    name, _, version = reference.partition(":")
    found = Dataset.get_by_name(ws, name, version or "latest")
    if not isinstance(found, TabularDataset):
        raise ValidationError(f"{what} dataset {reference!r} is a file dataset, not a tabular one")
    return found


def _detector(ws: Workspace, name: str) -> DataDriftDetector:
    from atelier.monitoring.detector import DataDriftDetector

    return DataDriftDetector.get_by_name(ws, name)


@app.command("create")
def create(
    name: NameArgument,
    baseline: Annotated[str, typer.Option("--baseline", help=DATASET_HELP)],
    target: Annotated[
        str | None, typer.Option("--target", help=DATASET_HELP + " Needs --timestamp.")
    ] = None,
    timestamp: Annotated[
        str | None, typer.Option("--timestamp", help="The target's timestamp column.")
    ] = None,
    endpoint: Annotated[
        str | None,
        typer.Option("--endpoint", help="Instead of --target: this endpoint's collected inputs."),
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option("--columns", help="Names of the endpoint's input columns, comma-separated."),
    ] = None,
    frequency: Annotated[str, typer.Option("--frequency", help="Day, Week or Month.")] = "Week",
    threshold: Annotated[
        float, typer.Option("--threshold", help="Drift magnitude that alerts, 0-1.")
    ] = 0.2,
    features: Annotated[
        list[str] | None, typer.Option("--feature", help="A feature to compare (repeat).")
    ] = None,
    emails: Annotated[
        list[str] | None, typer.Option("--email", help="Who gets the alerts (repeat).")
    ] = None,
    latency: Annotated[int, typer.Option("--latency", min=0, help="Hours to wait.")] = 0,
    enable: Annotated[bool, typer.Option("--enable", help="Start its schedule.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """A new detector of drift from --baseline to --target (or --endpoint's inputs)."""
    from atelier.monitoring import AlertConfiguration, DataDriftDetector, collected_data

    ws = open_workspace(workspace)
    if (target is None) == (endpoint is None):
        raise ValidationError("give either --target DATASET (with --timestamp) or --endpoint NAME")
    if endpoint is not None:
        names = [c.strip() for c in columns.split(",")] if columns else None
        target_dataset: TabularDataset = collected_data(ws, endpoint, columns=names)
    else:
        assert target is not None
        target_dataset = _dataset(ws, target, "target")
        if timestamp:
            target_dataset = target_dataset.with_timestamp_columns(timestamp=timestamp)
    detector = DataDriftDetector.create_from_datasets(
        ws,
        name,
        _dataset(ws, baseline, "baseline"),
        target_dataset,
        frequency=frequency,
        feature_list=features or None,
        alert_config=AlertConfiguration(emails) if emails else None,
        drift_threshold=threshold,
        latency=latency,
    )
    if enable:
        detector.enable_schedule()
    typer.echo(f"Detector {name!r} created in workspace {ws.name!r} ({detector.state})")


@app.command("list")
def list_(workspace: WorkspaceOption = None, output: OutputOption = OutputFormat.TABLE) -> None:
    """The workspace's detectors."""
    from atelier.monitoring.detector import DataDriftDetector

    ws = open_workspace(workspace)
    listing = [d._fields() for d in DataDriftDetector.list(ws)]
    if output is OutputFormat.JSON:
        print_json(listing)
        return
    print_table(
        f"Data drift detectors in {ws.name}",
        ("name", "state", "frequency", "drift_threshold", "baseline", "target"),
        (
            (
                e["name"],
                e["state"],
                e["frequency"],
                e["drift_threshold"],
                e["baseline"],
                e["target"],
            )
            for e in listing
        ),
        no_wrap=("name",),
    )


@app.command("show")
def show(
    name: NameArgument,
    start: Annotated[str | None, typer.Option("--start", help="From this date.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Until this date.")] = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """A detector and its measured windows (drift magnitude, drifted features)."""
    ws = open_workspace(workspace)
    detector = _detector(ws, name)
    results, _ = detector.get_output(start, end)
    windows: list[dict[str, Any]] = results[0]["result"] if results else []
    fields = detector._fields()
    if output is OutputFormat.JSON:
        print_json({**fields, "windows": windows})
        return
    print_fields(f"Detector {name}", fields)
    print_table(
        "Windows",
        ("start", "end", "magnitude", "drift", "drifted features"),
        (
            (
                w["start_date"],
                w["end_date"],
                "empty" if w["empty"] else f"{w['drift_magnitude']:.1f}",
                "" if w["has_drift"] is None else ("yes" if w["has_drift"] else "no"),
                ", ".join(w["drifted_features"]),
            )
            for w in windows
        ),
    )


@app.command("backfill")
def backfill(
    name: NameArgument,
    start: Annotated[str, typer.Option("--start", help="First date, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--end", help="End date (exclusive), YYYY-MM-DD.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Measure every window from --start to --end (one child run per window)."""
    ws = open_workspace(workspace)
    run = _detector(ws, name).backfill(start, end)
    typer.echo(f"Backfill run {run.id}: {len(run.get_children())} windows")


@app.command("enable")
def enable(name: NameArgument, workspace: WorkspaceOption = None) -> None:
    """Measure each window once it is over (atelier server / atelier scheduler)."""
    ws = open_workspace(workspace)
    _detector(ws, name).enable_schedule()
    typer.echo(f"Detector {name!r} enabled")


@app.command("disable")
def disable(name: NameArgument, workspace: WorkspaceOption = None) -> None:
    """Stop the detector's schedule."""
    ws = open_workspace(workspace)
    _detector(ws, name).disable_schedule()
    typer.echo(f"Detector {name!r} disabled")
