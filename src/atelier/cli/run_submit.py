"""``atelier run submit``: run a script on a compute target and follow its output."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer

from atelier import Environment, Experiment, Run, RunConfiguration, ScriptRunConfig, Workspace
from atelier.cli._options import WorkspaceOption, open_workspace
from atelier.cli._output import OutputFormat, OutputOption, Passthrough, print_json
from atelier.cli._progress import progress, progress_shown
from atelier.core.errors import RunFailedError, ValidationError

#: the final statuses that make ``run submit`` (and ``run logs --follow``) exit non-zero
ENDED_BADLY = ("Failed", "Canceled")
#: the exit code of a shell whose command was stopped with Ctrl-C
INTERRUPTED = 130

ExperimentOption = Annotated[
    str,
    typer.Option(
        "--experiment", "-e", help="Experiment name (created if new).", show_default=False
    ),
]
SourceDirOption = Annotated[
    Path,
    typer.Option(
        "--source-dir", help="Folder to snapshot and run the script in.", show_default=False
    ),
]
ArgumentsArgument = Annotated[
    list[str] | None,
    typer.Argument(
        help="Arguments for the script; put them after '--'.", metavar="ARGS", show_default=False
    ),
]
ScriptOption = Annotated[
    str | None,
    typer.Option("--script", help="Script to run, relative to --source-dir.", show_default=False),
]
RunConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--runconfig",
        "-f",
        help="A run configuration saved with RunConfiguration.save(); options override it.",
        show_default=False,
    ),
]
ComputeOption = Annotated[
    str | None,
    typer.Option("--compute", help="Compute target (default: the runconfig's, else local)."),
]
EnvironmentOption = Annotated[
    str | None,
    typer.Option(
        "--environment",
        help="Registered environment, NAME or NAME:VERSION (default: this Python, as is).",
    ),
]
MaxSecondsOption = Annotated[
    int | None,
    typer.Option("--max-seconds", min=1, help="Stop the run after this many seconds."),
]
TagOption = Annotated[
    list[str] | None, typer.Option("--tag", help="Tag the run KEY=VALUE (repeat).")
]
NoFollowOption = Annotated[
    bool, typer.Option("--no-follow", help="Print the run id and return at once.")
]


def parse_run_tags(values: Iterable[str]) -> dict[str, str]:
    """``["k=v", "k2="]`` -> ``{"k": "v", "k2": ""}``; a tag without '=' is an error."""
    tags: dict[str, str] = {}
    for value in values:
        key, sep, tag_value = value.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"tag {value!r} is not KEY=VALUE; use --tag key=value")
        tags[key.strip()] = tag_value
    return tags


def find_environment(ws: Workspace, value: str) -> Environment:
    """A registered environment from ``NAME`` (its latest version) or ``NAME:VERSION``."""
    name, sep, version = value.partition(":")
    if not name or (sep and not version):
        raise ValidationError(f"--environment {value!r} must be NAME or NAME:VERSION")
    return Environment.get(ws, name, version or None)


def _script_config(
    ws: Workspace,
    source_dir: Path,
    script: str | None,
    arguments: list[str],
    runconfig: Path | None,
    compute: str | None,
    environment: str | None,
    max_seconds: int | None,
) -> ScriptRunConfig:
    """The ``ScriptRunConfig`` the options describe; options override a ``-f`` file."""
    if script is None and runconfig is None:
        raise ValidationError(
            "give the script to run with --script train.py, "
            "or a saved run configuration with -f .atelier/NAME.runconfig"
        )
    return ScriptRunConfig(
        source_directory=source_dir,
        script=script,
        arguments=arguments or None,
        run_config=RunConfiguration.load(runconfig) if runconfig is not None else None,
        compute_target=compute,
        environment=find_environment(ws, environment) if environment else None,
        max_run_duration_seconds=max_seconds,
    )


def stop_following(run_id: str, workspace: str) -> typer.Exit:
    """What Ctrl-C while following does: say the run goes on and how to reach it."""
    sys.stderr.write(
        f"\nstopped following; run {run_id} goes on. Follow it again with "
        f"'atelier run logs {run_id} -w {workspace} --follow', or stop it with "
        f"'atelier run cancel {run_id} -w {workspace}'\n"
    )
    return typer.Exit(INTERRUPTED)


def failure(run_id: str, details: dict[str, Any]) -> RunFailedError:
    """The error for a run that ended Failed or Canceled, with the run's own message."""
    error = details.get("error") or {}
    default = "it was canceled" if details["status"] == "Canceled" else "no error recorded"
    return RunFailedError(
        f"run {run_id} ended {details['status']}: {error.get('message') or default}"
    )


def _follow(run: Run, workspace: str, output: OutputFormat) -> None:
    """Stream the script's output, then print the final status (or details with -o json);
    raise ``RunFailedError`` if the run did not complete."""
    json_output = output is OutputFormat.JSON
    sink = Passthrough(sys.stderr if json_output else sys.stdout)
    sink.write(
        f"run {run.id} submitted; its output follows (Ctrl-C stops following, not the run)\n"
    )
    try:
        _show_preparation(run)
        run.stream_logs(sink.as_text_io(), follow=True)
        details = run.wait_for_completion(raise_on_error=False)
    except KeyboardInterrupt:
        sink.end_line()
        raise stop_following(run.id, workspace) from None
    sink.end_line()
    if json_output:
        print_json(details)
    else:
        typer.echo(f"run {run.id} {details['status']}")
    if details["status"] in ENDED_BADLY:
        raise failure(run.id, details)


#: the statuses of a submitted run before its script starts (environment build included)
_BEFORE_SCRIPT = frozenset({"NotStarted", "Queued", "Preparing"})


def _show_preparation(run: Run) -> None:
    """On a terminal, a progress line with the run's phase (queued, getting its environment
    built ...) and the elapsed time until its script starts."""
    if not progress_shown():
        return
    with progress(f"run {run.id}", done="started") as phase:
        while True:
            activity = run.get_activity()
            if activity["status"] not in _BEFORE_SCRIPT:
                return
            phase(str(activity.get("message") or activity.get("phase") or activity["status"]))
            time.sleep(0.25)


def submit(
    experiment: ExperimentOption,
    source_dir: SourceDirOption,
    arguments: ArgumentsArgument = None,
    workspace: WorkspaceOption = None,
    script: ScriptOption = None,
    runconfig: RunConfigOption = None,
    compute: ComputeOption = None,
    environment: EnvironmentOption = None,
    max_seconds: MaxSecondsOption = None,
    tag: TagOption = None,
    no_follow: NoFollowOption = False,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Submit a script: snapshot --source-dir and run it on a compute target.

    Follows the run: prints the script's output as it comes, then the final status.

    Exits 0 if the run Completed, 7 if it Failed or was Canceled; Ctrl-C stops following,
    not the run.

    With -o json the script's output goes to stderr and the run's details to stdout.
    With --no-follow, prints the run id and returns at once.
    """
    ws = open_workspace(workspace)
    config = _script_config(
        ws, source_dir, script, arguments or [], runconfig, compute, environment, max_seconds
    )
    tags = parse_run_tags(tag or [])
    run = Experiment(ws, experiment).submit(config, tags=tags or None)
    if not no_follow:
        _follow(run, ws.name, output)
    elif output is OutputFormat.JSON:
        print_json(run.get_details())
    else:
        typer.echo(run.id)
        typer.echo(f"follow it with 'atelier run logs {run.id} -w {ws.name} --follow'", err=True)
