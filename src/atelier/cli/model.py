"""``atelier model``: register, list, show, download, package (edge bundles) and delete
registered models."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer

from atelier import Model, Run
from atelier.cli._options import WorkspaceOption, open_workspace
from atelier.cli._output import (
    OutputFormat,
    OutputOption,
    print_fields,
    print_json,
    print_table,
    short_time,
)
from atelier.cli._run_views import parse_tags
from atelier.core.errors import ValidationError

app = typer.Typer(
    help="Register, list, show, download and delete registered models.", no_args_is_help=True
)

NameArgument = Annotated[str, typer.Argument(help="Model name.", show_default=False)]
VersionOption = Annotated[
    int | None,
    typer.Option("--version", "-v", min=1, help="Model version [default: the latest]."),
]


def parse_pairs(kind: str, values: Iterable[str]) -> dict[str, str]:
    """``["k=v", "k2="]`` -> ``{"k": "v", "k2": ""}``; a value is required (may be empty)."""
    pairs: dict[str, str] = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            raise ValidationError(
                f"{kind} {value!r} is not KEY=VALUE; use --{kind} key=value (key= for no value)"
            )
        pairs[key.strip()] = text
    return pairs


def _details(model: Model, with_files: bool = False) -> dict[str, Any]:
    details = model.serialize()
    if with_files:
        details["files"] = model.get_file_names()
    return details


@app.command("register")
def register(
    name: Annotated[
        str, typer.Option("--name", "-n", help="Model name; registering again adds a version.")
    ],
    path: Annotated[
        str,
        typer.Option(
            "--path",
            "-p",
            help="A local file or folder; with --run-id, a file or folder of the run "
            "(e.g. outputs/model.pkl).",
        ),
    ],
    workspace: WorkspaceOption = None,
    run_id: Annotated[
        str | None,
        typer.Option("--run-id", help="Register the run's file or folder (records lineage)."),
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Tag KEY=VALUE (repeat).")] = None,
    property_: Annotated[
        list[str] | None,
        typer.Option("--property", help="Immutable property KEY=VALUE (repeat)."),
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", help="What the model is.")
    ] = None,
    framework: Annotated[
        str | None, typer.Option("--framework", help="e.g. ScikitLearn, Pytorch, Onnx.")
    ] = None,
    framework_version: Annotated[
        str | None, typer.Option("--framework-version", help="e.g. 1.5.0.")
    ] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Register a local file or folder, or a run's file or folder, as the next version."""
    ws = open_workspace(workspace)
    tags = parse_pairs("tag", tag or [])
    properties = parse_pairs("property", property_ or [])
    if run_id is not None:
        model = Run.get(ws, run_id).register_model(
            name,
            path,
            tags=tags,
            properties=properties,
            model_framework=framework,
            model_framework_version=framework_version,
            description=description,
        )
    else:
        model = Model.register(
            ws,
            path,
            name,
            tags=tags,
            properties=properties,
            description=description,
            model_framework=framework,
            model_framework_version=framework_version,
        )
    if output is OutputFormat.JSON:
        print_json(_details(model, with_files=True))
    else:
        typer.echo(f"registered model {model.name!r} version {model.version} in {ws.name!r}")


@app.command("list")
def list_(
    workspace: WorkspaceOption = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Only this model.")] = None,
    latest: Annotated[
        bool, typer.Option("--latest", help="Only the newest matching version of each model.")
    ] = False,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", help="Only models tagged KEY=VALUE, or carrying KEY (repeat)."),
    ] = None,
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Only models registered from this run.")
    ] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """List registered models, by name and newest version first."""
    ws = open_workspace(workspace)
    found = Model.list(ws, name=name, tags=parse_tags(tag or []), run_id=run_id, latest=latest)
    details = [_details(model) for model in found]
    if output is OutputFormat.JSON:
        print_json(details)
        return
    print_table(
        f"Models in {ws.name}",
        ("name", "version", "created", "framework", "run id", "tags", "description"),
        (
            (
                d["name"],
                d["version"],
                short_time(d["createdTime"]),
                d["framework"],
                d["runId"],
                d["tags"],
                d["description"],
            )
            for d in details
        ),
        no_wrap=("name", "run id"),
    )


@app.command("show")
def show(
    name: NameArgument,
    workspace: WorkspaceOption = None,
    version: VersionOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Show a model version: lineage, tags, properties and files."""
    details = _details(Model(open_workspace(workspace), name, version=version), with_files=True)
    if output is OutputFormat.JSON:
        print_json(details)
        return
    fields = {k: v for k, v in details.items() if k not in ("tags", "properties", "files")}
    fields["files"] = "\n".join(details["files"])
    print_fields(f"Model {details['id']}", fields)
    for title, section in (("Tags", "tags"), ("Properties", "properties")):
        if details[section]:
            print_table(title, ("name", "value"), details[section].items(), no_wrap=("name",))


@app.command("download")
def download(
    name: NameArgument,
    workspace: WorkspaceOption = None,
    version: VersionOption = None,
    target_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir",
            "-o",
            "--target-dir",
            "-d",
            file_okay=False,
            help="Folder to write the model in [default: .]",
        ),
    ] = None,
    exist_ok: Annotated[
        bool,
        typer.Option(
            "--overwrite", "--exist-ok", help="Replace the model's file or folder if present."
        ),
    ] = False,
) -> None:
    """Download a model's file or folder into --target-dir and print its path.

    Exits with code 4 if it is already there, unless --overwrite.
    """
    model = Model(open_workspace(workspace), name, version=version)
    typer.echo(model.download(target_dir or Path.cwd(), exist_ok=exist_ok))


@app.command("package")
def package(
    edge: Annotated[
        str,
        typer.Option(
            "--edge",
            help="NAME:VERSION of the model to bundle for an edge device.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", dir_okay=False, help="The bundle (a tar file).")
    ],
    entry_script: Annotated[
        Path,
        typer.Option(
            "--entry-script",
            exists=True,
            dir_okay=False,
            help="The scoring script (init and run); its folder is the source directory.",
        ),
    ],
    workspace: WorkspaceOption = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the bundle.")] = False,
) -> None:
    """Package a model with its scoring script as an image and write an offline edge
    bundle: the OCI image archive, a manifest and run.sh (podman or docker, no network)."""
    # packaging and the container engine load only for this command
    from atelier.azureml.core.model import InferenceConfig
    from atelier.sdk.models.edge import write_edge_bundle

    name, sep, version = edge.partition(":")
    if not sep or not version.isdigit():
        raise ValidationError(f"--edge {edge!r}: give the model as NAME:VERSION, e.g. iris:3")
    ws = open_workspace(workspace)
    model = Model(ws, name, version=int(version))
    script = entry_script.resolve()
    config = InferenceConfig(entry_script=script.name, source_directory=script.parent)
    made = Model.package(ws, [model], config)
    typer.echo(write_edge_bundle(made, output, overwrite=overwrite))


@app.command("delete")
def delete(
    name: NameArgument,
    version: Annotated[
        int, typer.Option("--version", "-v", min=1, help="The version to delete (required).")
    ],
    workspace: WorkspaceOption = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Confirm the deletion (required).")
    ] = False,
) -> None:
    """Delete one model version; other versions of the name stay.

    Nothing asks for confirmation on stdin: pass --yes.
    """
    if not yes:
        raise ValidationError(
            f"deleting model {name!r} version {version} cannot be undone; pass --yes to "
            f"confirm: atelier model delete {name} --version {version} --yes"
        )

    ws = open_workspace(workspace)
    Model(ws, name, version=version).delete()
    typer.echo(f"deleted model {name!r} version {version} from {ws.name!r}")
