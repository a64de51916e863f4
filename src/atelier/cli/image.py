"""``atelier image``: list, show, save, build and run model packages (images).

``run`` serves a package on this machine from its stored files and locked environment,
without building an image. Its keys come from ``ATELIER_SCORING_KEYS`` (a JSON list), so
they stay off the command line; without it one random key is made and printed.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from atelier import Workspace
from atelier.cli._confirm import YesOption, require_yes
from atelier.cli._options import WorkspaceOption, open_workspace
from atelier.cli._output import (
    OutputFormat,
    OutputOption,
    print_fields,
    print_json,
    print_table,
    short_time,
)
from atelier.cli._progress import progress
from atelier.core.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    # packaging (and pathspec) load only for the image commands
    from atelier.sdk.models.package import ModelPackage

app = typer.Typer(
    help="List, show, save, build and run model packages (images).", no_args_is_help=True
)

NameArgument = Annotated[
    str, typer.Argument(help="Image name, or NAME:VERSION.", show_default=False)
]
VersionOption = Annotated[
    int | None,
    typer.Option("--version", "-v", min=1, help="Package version [default: the latest]."),
]
KEYS_VARIABLE = "ATELIER_SCORING_KEYS"


def _open(ws: Workspace, name: str, version: int | None) -> ModelPackage:
    # packaging (and pathspec) load only for the image commands
    from atelier.sdk.models.package import ModelPackage

    image, sep, suffix = name.partition(":")
    if sep:
        if version is not None or not suffix.isdigit():
            raise ValidationError(
                f"{name!r}: give NAME:VERSION with a whole version number, or NAME --version N"
            )
        version = int(suffix)
    return ModelPackage.get(ws, image, version)


@app.command("list")
def list_(
    workspace: WorkspaceOption = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Only this image.")] = None,
    output: OutputOption = OutputFormat.TABLE,
    registry: Annotated[
        bool, typer.Option("--registry", help="What the image registry holds instead.")
    ] = False,
) -> None:
    """The workspace's packages, newest version first within each image (with
    ``--registry``: the repositories and tags of ATELIER_REGISTRY_URL's registry)."""
    # packaging (and pathspec) load only for the image commands
    from atelier.sdk.models.package import ModelPackage

    ws = open_workspace(workspace)
    if registry:
        _list_registry(ws, name, output)
        return
    found = [package.serialize() for package in ModelPackage.list(ws, name)]
    if output is OutputFormat.JSON:
        print_json(found)
        return
    print_table(
        f"Images in {ws.name}",
        ("image", "version", "label", "models", "created", "digest"),
        (
            (
                p["imageName"],
                p["version"],
                p["label"],
                ", ".join(p["models"]),
                short_time(p["createdTime"]),
                p["digest"][:12],
            )
            for p in found
        ),
        no_wrap=("image", "digest"),
    )


@app.command("show")
def show(
    name: NameArgument,
    workspace: WorkspaceOption = None,
    version: VersionOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """One package: what it holds, its digest and where it came from."""
    package = _open(open_workspace(workspace), name, version)
    if output is OutputFormat.JSON:
        print_json({**package.serialize(), "manifest": package.manifest})
        return
    print_fields(f"Image {package.image_name}:{package.version}", package.serialize())


@app.command("delete")
def delete(
    name: NameArgument,
    workspace: WorkspaceOption = None,
    version: VersionOption = None,
    yes: YesOption = False,
) -> None:
    """Delete the package's image from the image registry and this machine's engine (the
    stored package stays: 'atelier image build' makes the image again). Nothing asks for
    confirmation on stdin: pass --yes."""
    from atelier.containers import find_engine
    from atelier.containers.registry import configured_registry
    from atelier.sdk.models.package_image import registry_repository

    require_yes(yes, f"deleting the image of {name} cannot be undone",
                f"atelier image delete {name}")  # fmt: skip
    package = _open(open_workspace(workspace), name, version)
    removed = []
    registry = configured_registry()
    if registry is not None:
        repository = registry_repository(package.workspace.name, package.image_name)
        if str(package.version) in registry.tags(repository):
            registry.delete(repository, str(package.version))
            removed.append(package.location)
    if find_engine().remove_image(package.local_image):
        removed.append(package.local_image)
    if not removed:
        raise NotFoundError(f"no image of {package.image_name}:{package.version} to delete")
    for reference in removed:
        typer.echo(f"deleted {reference}")


@app.command("save")
def save(
    name: NameArgument,
    output_dir: Annotated[str, typer.Argument(help="A new or empty folder.")],
    workspace: WorkspaceOption = None,
    version: VersionOption = None,
) -> None:
    """Write the package's build context (Dockerfile, models, source, lock, manifest)."""
    package = _open(open_workspace(workspace), name, version)
    typer.echo(package.save(output_dir))


@app.command("build")
def build(
    name: NameArgument, workspace: WorkspaceOption = None, version: VersionOption = None
) -> None:
    """Make sure this machine's podman (or docker) holds the package's image (built from
    the stored build context when it does not); print its reference."""
    package = _open(open_workspace(workspace), name, version)
    with progress(f"image {name}", done="built") as phase:
        phase("building with the container engine (its log: the package's build.log)")
        reference = package.build()
    typer.echo(reference)


@app.command("run")
def run(
    name: NameArgument,
    workspace: WorkspaceOption = None,
    version: VersionOption = None,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535)] = 5001,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the package here, from its files and locked environment (no image build)."""
    package = _open(open_workspace(workspace), name, version)
    command = package.serving_command(host, port, workers, log=sys.stderr)
    env = dict(os.environ)
    if not env.get(KEYS_VARIABLE):
        key = secrets.token_urlsafe(32)
        env[KEYS_VARIABLE] = json.dumps([key])
        sys.stderr.write(f"scoring key (set {KEYS_VARIABLE} to choose your own): {key}\n")
    sys.stderr.write(
        f"serving {package.location} at http://{host}:{port}/score (digest {package.digest[:12]})\n"
    )
    sys.stderr.flush()
    sys.stdout.flush()
    # the server takes this process's place: signals reach it directly
    os.execve(command[0], command, env)


def _list_registry(ws: Workspace, name: str | None, output: OutputFormat) -> None:
    from atelier.containers.registry import REGISTRY_URL_VARIABLE, configured_registry

    registry = configured_registry()
    if registry is None:
        raise ValidationError(
            f"no image registry: set {REGISTRY_URL_VARIABLE} (atelier server start --registry "
            "runs one)"
        )
    prefix = f"{ws.name.lower()}/"
    found = [
        {"repository": repository, "tags": registry.tags(repository)}
        for repository in registry.repositories()
        if repository.startswith(prefix) and (name is None or repository == prefix + name)
    ]
    if output is OutputFormat.JSON:
        print_json(found)
        return
    print_table(
        f"Images of {ws.name} in {registry.url}",
        ("repository", "tags"),
        ((f"{registry.address}/{f['repository']}", ", ".join(f["tags"])) for f in found),
        no_wrap=("repository",),
    )
