"""``atelier pipeline``: published pipelines and pipeline runs.

``list`` shows the published pipelines and pipeline endpoints; ``show RUN`` a pipeline run
with its steps (and which earlier run each reused step reused); ``publish FILE`` publishes
the pipeline a Python file builds (its ``build(ws)`` function); ``run NAME`` starts a run of
a published pipeline or pipeline endpoint with ``--param k=v`` values.
"""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Annotated, Any

import typer

from atelier.cli._options import WorkspaceOption, open_workspace
from atelier.cli._output import (
    OutputFormat,
    OutputOption,
    print_fields,
    print_json,
    print_table,
    short_time,
)
from atelier.core.errors import NotFoundError, ValidationError
from atelier.sdk.pipelines import Pipeline, PipelineEndpoint, PipelineRun, PublishedPipeline
from atelier.sdk.tracking.run import Run
from atelier.sdk.workspace import Workspace

app = typer.Typer(
    help="Publish pipelines, run published ones, and look at pipeline runs.",
    no_args_is_help=True,
)


@app.command("list")
def list_(
    workspace: WorkspaceOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Include disabled pipelines.")] = False,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Published pipelines (newest first) and pipeline endpoints."""
    ws = open_workspace(workspace)
    published = PublishedPipeline.list(ws, active_only=not all_)
    endpoints = PipelineEndpoint.list(ws, active_only=not all_)
    if output is OutputFormat.JSON:
        print_json(
            {
                "published": [_published_fields(p) for p in published],
                "endpoints": [
                    {"name": e.name, "id": e.id, "default_version": e.default_version,
                     "versions": e.list_versions(), "endpoint": e.endpoint}
                    for e in endpoints
                ],
            }
        )  # fmt: skip
        return
    print_table(
        f"Published pipelines in {ws.name}",
        ("name", "version", "status", "steps", "parameters", "id"),
        ((p.name, p.version, p.status, p.total_run_steps, p.parameters, p.id) for p in published),
        no_wrap=("id",),
    )
    if endpoints:
        print_table(
            "Pipeline endpoints",
            ("name", "default version", "versions", "id"),
            ((e.name, e.default_version, len(e.list_versions()), e.id) for e in endpoints),
            no_wrap=("id",),
        )


def _published_fields(p: PublishedPipeline) -> dict[str, Any]:
    return {
        "name": p.name,
        "id": p.id,
        "version": p.version,
        "description": p.description,
        "status": p.status,
        "steps": p.total_run_steps,
        "parameters": p.parameters,
        "endpoint": p.endpoint,
    }


@app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(help="Pipeline run id.", show_default=False)],
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """A pipeline run: status and each step's run, status and reuse."""
    ws = open_workspace(workspace)
    found = Run.get(ws, run_id)
    run = PipelineRun(found.experiment, run_id)
    details = run.get_details()
    steps = run.get_steps()
    rows = [
        {
            "step": s.name,
            "status": s.status,
            "run_id": s.id,
            "reused": s.reused_run_id or "",
            "reuse_key": ((s._record.definition or {}).get("reuse") or {}).get("key", "")[:12],
        }
        for s in steps
    ]
    if output is OutputFormat.JSON:
        print_json({"run": details, "steps": rows})
        return
    print_fields(
        f"Pipeline run {run_id}",
        {
            "status": details["status"],
            "experiment": details["experiment"],
            "started": short_time(details["startTimeUtc"]),
            "ended": short_time(details["endTimeUtc"]),
            "parameters": (details["runDefinition"] or {}).get("parameters"),
            "error": (details.get("error") or {}).get("message", ""),
        },
    )
    print_table(
        "Steps",
        ("step", "status", "run_id", "reused", "reuse_key"),
        ([r["step"], r["status"], r["run_id"], r["reused"], r["reuse_key"]] for r in rows),
        no_wrap=("run_id", "reused"),
    )


def _build(path: Path, ws: Workspace, builder: str) -> Pipeline:
    if not path.is_file():
        raise NotFoundError(f"no Python file at {path}")
    namespace = runpy.run_path(str(path))
    build = namespace.get(builder)
    if not callable(build):
        raise ValidationError(f"{path} defines no function {builder}(ws) returning a Pipeline")
    pipeline = build(ws)
    if not isinstance(pipeline, Pipeline):
        raise ValidationError(
            f"{builder}(ws) in {path} returned {type(pipeline).__name__}, not a Pipeline"
        )
    return pipeline


@app.command("publish")
def publish(
    file: Annotated[Path, typer.Argument(help="Python file with build(ws) -> Pipeline.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Published pipeline name.")],
    workspace: WorkspaceOption = None,
    description: Annotated[str, typer.Option(help="Description.")] = "",
    version: Annotated[str, typer.Option(help="Version label.")] = "",
    builder: Annotated[str, typer.Option(help="Function in FILE that builds it.")] = "build",
    endpoint: Annotated[
        str | None,
        typer.Option(help="Also put it behind this pipeline endpoint (created or new default)."),
    ] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Publish the pipeline FILE's build(ws) returns."""
    ws = open_workspace(workspace)
    published = _build(file, ws, builder).publish(name, description, version)
    if endpoint:
        try:
            PipelineEndpoint.get(ws, name=endpoint).add_default(published)
        except NotFoundError:
            PipelineEndpoint.publish(ws, endpoint, description, published)
    if output is OutputFormat.JSON:
        print_json(_published_fields(published))
    else:
        print_fields(f"Published pipeline {name}", _published_fields(published))


def _parameters(values: list[str]) -> dict[str, str]:
    found = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValidationError(f"--param takes NAME=VALUE, not {item!r}")
        found[key] = value
    return found


@app.command("run")
def run_(
    name: Annotated[str, typer.Argument(help="Published pipeline name or id, or endpoint name.")],
    experiment: Annotated[str, typer.Option("--experiment", "-e", help="Experiment name.")],
    workspace: WorkspaceOption = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Pipeline parameter NAME=VALUE.")
    ] = None,
    wait: Annotated[bool, typer.Option(help="Wait and print the steps as they go.")] = False,
) -> None:
    """Start a run of a published pipeline (newest active one of that name) or endpoint."""
    ws = open_workspace(workspace)
    parameters = _parameters(param or [])
    matches = [p for p in PublishedPipeline.list(ws) if name in (p.name, p.id)]
    if matches:
        started = matches[0].submit(ws, experiment, pipeline_parameters=parameters)
    else:
        try:
            found = PipelineEndpoint.get(ws, name=name)
        except NotFoundError:
            raise NotFoundError(
                f"no active published pipeline or pipeline endpoint {name!r} in {ws.name!r}; "
                f"see 'atelier pipeline list -w {ws.name} --all'"
            ) from None
        started = found.submit(experiment, pipeline_parameters=parameters)
    typer.echo(f"Pipeline run {started.id} started in experiment {experiment!r}")
    if wait:
        started.wait_for_completion(show_output=True)
