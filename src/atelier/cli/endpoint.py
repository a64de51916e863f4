"""``atelier endpoint``: create, list, show, logs, keys, update and delete endpoints.

``create`` takes flags or a YAML file with the same keys::

    name: iris-svc
    model: iris-clf:3          # name:version, or several as a list under models:
    entry_script: score.py     # omit for a scikit-learn or MLflow model (no-code)
    source_directory: serve
    environment: sk            # a registered environment (name or name:version)
    port: 8890
    replicas: 2
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from atelier import Environment, Model, Workspace
from atelier.cli._confirm import YesOption, require_yes
from atelier.cli._options import WorkspaceOption, open_workspace
from atelier.cli._output import OutputFormat, OutputOption, print_fields, print_json, print_table
from atelier.cli._progress import progress
from atelier.core.errors import ValidationError
from atelier.sdk.models.inference import InferenceConfig
from atelier.sdk.models.local_service import LocalWebservice
from atelier.sdk.models.webservice import Webservice

app = typer.Typer(
    help="Create, list, show, update and delete scoring endpoints.", no_args_is_help=True
)

NameArgument = Annotated[str, typer.Argument(help="Endpoint name.", show_default=False)]
ModelOption = Annotated[
    list[str] | None, typer.Option("--model", "-m", help="Model NAME:VERSION (repeat).")
]
EntryOption = Annotated[
    str | None, typer.Option("--entry-script", help="Scoring script, relative to --source-dir.")
]
SourceOption = Annotated[
    Path | None, typer.Option("--source-dir", help="Folder holding the entry script.")
]
EnvironmentOption = Annotated[
    str | None, typer.Option("--environment", help="Registered environment NAME[:VERSION].")
]
ReplicasOption = Annotated[
    int | None, typer.Option("--replicas", min=1, help="Number of replica processes.")
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", help="Seconds to wait until the endpoint is ready.")
]


def _load_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    import yaml  # 0.01 s of every CLI call's start otherwise: loaded for this option only

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ValidationError(f"cannot read {path}: {exc}; pass a YAML mapping") from None
    if not isinstance(data, dict):
        raise ValidationError(f"{path} must hold a YAML mapping (name:, model:, port: …)")
    return data


def _models(ws: Workspace, ids: list[str]) -> list[Model]:
    found = []
    for model_id in ids:
        name, sep, version = str(model_id).partition(":")
        if not sep or not version.isdigit():
            raise ValidationError(f"model {model_id!r} must be NAME:VERSION, e.g. iris-clf:3")
        found.append(Model(ws, name, version=int(version)))
    if not found:
        raise ValidationError("give the model to serve with --model NAME:VERSION")
    return found


def _inference(ws: Workspace, entry: str | None, source: Any, environment: str | None) -> Any:
    if entry is None:
        if environment is not None:
            raise ValidationError("--environment needs --entry-script (no-code runs here)")
        return None

    env = None
    if environment is not None:
        name, _, version = environment.partition(":")
        env = Environment.get(ws, name, version=version or None)
    return InferenceConfig(entry_script=entry, source_directory=source or ".", environment=env)


def _details(service: Any, keys: bool = False) -> dict[str, Any]:
    details: dict[str, Any] = service.serialize()
    if keys:
        details["keys"] = list(service.get_keys())
    return details


@app.command("create")
def create(
    name: Annotated[str | None, typer.Argument(help="Endpoint name (or name: in --file).")] = None,
    workspace: WorkspaceOption = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", exists=True, help="YAML with the settings.")
    ] = None,
    model: ModelOption = None,
    entry_script: EntryOption = None,
    source_dir: SourceOption = None,
    environment: EnvironmentOption = None,
    port: Annotated[int | None, typer.Option("--port", help="Port [default: a free one].")] = None,
    replicas: ReplicasOption = None,
    timeout: TimeoutOption = 120,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Deploy models behind a new endpoint and wait until it serves."""
    spec = _load_file(file)
    name = name or spec.get("name")
    if not name:
        raise ValidationError("give the endpoint's name (argument, or name: in --file)")
    ws = open_workspace(workspace)
    model_ids = model or spec.get("models") or ([spec["model"]] if spec.get("model") else [])
    source = source_dir or (
        Path(spec["source_directory"]) if spec.get("source_directory") else None
    )
    if file is not None and source is not None and not source.is_absolute() and not source_dir:
        source = file.parent / source
    config = LocalWebservice.deploy_configuration(
        port=port if port is not None else spec.get("port"),
        num_replicas=replicas or spec.get("replicas"),
    )
    inference = _inference(
        ws,
        entry_script or spec.get("entry_script"),
        source,
        environment or spec.get("environment"),
    )
    with progress(f"endpoint {name}") as phase:
        phase("starting its router")
        service = Model.deploy(ws, name, _models(ws, list(model_ids)), inference, config)
        try:
            phase("waiting for its replicas (init())")
            service.wait_for_deployment(timeout_sec=timeout)
        except BaseException:
            # a create that failed leaves nothing behind: no router, no Failed record that
            # would block the name for the next try
            service.delete()
            raise
    if output is OutputFormat.JSON:
        print_json(_details(service))
    else:
        typer.echo(f"endpoint {name!r} serves at {service.scoring_uri}")


@app.command("list")
def list_(workspace: WorkspaceOption = None, output: OutputOption = OutputFormat.TABLE) -> None:
    """List the workspace's endpoints."""
    details = [_details(service) for service in Webservice.list(open_workspace(workspace))]
    if output is OutputFormat.JSON:
        print_json(details)
        return
    print_table(
        "Endpoints",
        ("name", "state", "scoring uri", "models", "traffic"),
        ((d["name"], d["state"], d["scoringUri"], d["models"], d["traffic"]) for d in details),
        no_wrap=("name", "scoring uri"),
    )


@app.command("show")
def show(
    name: NameArgument, workspace: WorkspaceOption = None, output: OutputOption = OutputFormat.TABLE
) -> None:
    """Show an endpoint: state, URIs, deployments and their replicas."""
    details = _details(Webservice(open_workspace(workspace), name))
    if output is OutputFormat.JSON:
        print_json(details)
        return
    print_fields(f"Endpoint {name}", {k: v for k, v in details.items() if k != "deployments"})
    print_table(
        "Deployments",
        ("name", "state", "traffic", "models", "replicas", "error"),
        (
            (n, d["state"], d["traffic"], d["models"], len(d["replicas"]), d["error"] or "")
            for n, d in details["deployments"].items()
        ),
    )


@app.command("logs")
def logs(
    name: NameArgument,
    workspace: WorkspaceOption = None,
    lines: Annotated[int, typer.Option("--lines", "-n", min=1, help="How many lines.")] = 200,
) -> None:
    """Print the end of the endpoint's log (router and replicas)."""
    typer.echo(Webservice(open_workspace(workspace), name).get_logs(num_lines=lines))


@app.command("keys")
def keys(
    name: NameArgument,
    workspace: WorkspaceOption = None,
    regenerate: Annotated[
        str | None, typer.Option("--regenerate", help="Replace the Primary or Secondary key.")
    ] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Print the endpoint's keys (optionally after replacing one)."""
    service = Webservice(open_workspace(workspace), name)
    if regenerate is not None:
        service.regen_key(regenerate)
    primary, secondary = service.get_keys()
    if output is OutputFormat.JSON:
        print_json({"primaryKey": primary, "secondaryKey": secondary})
    else:
        typer.echo(f"primary:   {primary}\nsecondary: {secondary}")


@app.command("update")
def update(
    name: NameArgument,
    workspace: WorkspaceOption = None,
    model: ModelOption = None,
    entry_script: EntryOption = None,
    source_dir: SourceOption = None,
    environment: EnvironmentOption = None,
    replicas: ReplicasOption = None,
    deployment: Annotated[
        str | None, typer.Option("--deployment", help="Which deployment [default: the only one].")
    ] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Roll the endpoint to new models, script or replicas without failing a request."""
    ws = open_workspace(workspace)
    service = Webservice(ws, name)
    with progress(f"endpoint {name}") as phase:
        phase("rolling its replicas to the new version")
        service.update(
            models=_models(ws, model) if model else None,
            inference_config=_inference(ws, entry_script, source_dir, environment),
            deployment_config=LocalWebservice.deploy_configuration(num_replicas=replicas)
            if replicas
            else None,
            deployment_name=deployment,
        )
    if output is OutputFormat.JSON:
        print_json(_details(service))
    else:
        typer.echo(f"endpoint {name!r} updated; it serves {', '.join(service.models)}")


@app.command("delete")
def delete(name: NameArgument, workspace: WorkspaceOption = None, yes: YesOption = False) -> None:
    """Stop the endpoint and delete it (pass --yes: nothing asks for confirmation)."""
    ws = open_workspace(workspace)
    require_yes(
        yes,
        f"deleting endpoint {name!r} stops it and removes its deployments",
        f"atelier endpoint delete -w {ws.name} -- {name}",
    )
    Webservice(ws, name).delete()
    typer.echo(f"deleted endpoint {name!r}")
