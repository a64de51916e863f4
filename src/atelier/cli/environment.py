"""``atelier environment``: register, list, show and build the Python environments of runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from atelier import Environment
from atelier.cli._options import WorkspaceOption, open_workspace
from atelier.cli._output import (
    OutputFormat,
    OutputOption,
    print_fields,
    print_json,
    print_table,
)
from atelier.cli._progress import progress
from atelier.core.errors import ValidationError
from atelier.core.settings import load_settings
from atelier.execution.environments import READY_MARKER, build_key, ensure_environment

app = typer.Typer(
    help="Register, list, show and build the Python environments runs use.",
    no_args_is_help=True,
)

NameArgument = Annotated[str, typer.Argument(help="Environment name.", show_default=False)]
VersionOption = Annotated[
    str | None,
    typer.Option("--version", help="A registered version, e.g. 2 (default: the latest)."),
]


def _cache_root() -> Path:
    """Where built environments live: ``<ATELIER_HOME>/envs``, as for local runs."""
    return load_settings().home.expanduser().resolve() / "envs"


def _build_state(spec: dict[str, Any]) -> dict[str, Any]:
    """``built``: whether the cached build is ready (None: user-managed, nothing to build);
    ``python``: the built environment's interpreter once it is ready."""
    if spec.get("user_managed"):
        return {"built": None, "python": None}
    folder = _cache_root() / build_key(spec)[:16]
    ready = (folder / READY_MARKER).is_file()
    return {"built": ready, "python": str(folder / "bin" / "python") if ready else None}


def _built_text(built: bool | None) -> str:
    return {None: "not needed", True: "yes", False: "no"}[built]


def _describe(env: Environment) -> dict[str, Any]:
    spec = env.to_spec()
    return {"name": env.name, "version": env.version, **spec, **_build_state(spec)}


@app.command("register")
def register(
    name: NameArgument,
    workspace: WorkspaceOption = None,
    pip_requirements: Annotated[
        Path | None,
        typer.Option("--pip-requirements", help="A pip requirements.txt.", show_default=False),
    ] = None,
    conda_file: Annotated[
        Path | None,
        typer.Option("--conda-file", help="A conda environment.yml.", show_default=False),
    ] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Register an environment from a requirements file or a conda environment file.

    An unchanged file keeps the latest version; a changed one becomes the next version.
    """
    if pip_requirements is not None and conda_file is None:
        env = Environment.from_pip_requirements(name, pip_requirements)
    elif conda_file is not None and pip_requirements is None:
        env = Environment.from_conda_specification(name, conda_file)
    else:
        raise ValidationError("give exactly one of --pip-requirements FILE or --conda-file FILE")
    ws = open_workspace(workspace)
    registered = env.register(ws)
    if output is OutputFormat.JSON:
        print_json(_describe(registered))
    else:
        typer.echo(f"environment {name!r} version {registered.version} registered in {ws.name!r}")


@app.command("list")
def list_(workspace: WorkspaceOption = None, output: OutputOption = OutputFormat.TABLE) -> None:
    """List the registered environments, each at its latest version."""
    ws = open_workspace(workspace)
    described = [_describe(env) for _, env in sorted(Environment.list(ws).items())]
    if output is OutputFormat.JSON:
        print_json(described)
        return
    print_table(
        f"Environments in {ws.name}",
        ("name", "version", "python version", "pip packages", "built"),
        (
            (
                d["name"],
                d["version"],
                "user-managed" if d["user_managed"] else d["python_version"] or "host",
                " ".join(d["pip"]),
                _built_text(d["built"]),
            )
            for d in described
        ),
        no_wrap=("name",),
    )


@app.command("show")
def show(
    name: NameArgument,
    workspace: WorkspaceOption = None,
    version: VersionOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Show a registered environment: Python, packages, variables and whether it is built."""
    described = _describe(Environment.get(open_workspace(workspace), name, version))
    if output is OutputFormat.JSON:
        print_json(described)
        return
    fields = dict(described)
    for key in ("pip", "conda_packages"):
        fields[key] = "\n".join(described[key])
    fields["built"] = _built_text(described["built"])
    if described["built"] is False:
        fields["built"] += f"; runs build it, or now: atelier environment build {name}"
    print_fields(f"Environment {name}:{described['version']}", fields)


@app.command("build")
def build(
    name: NameArgument, workspace: WorkspaceOption = None, version: VersionOption = None
) -> None:
    """Build a registered environment now, so runs start without waiting for it.

    The build log goes to stderr, the path of the environment's Python to stdout.

    A cached build is reused at once.
    """
    env = Environment.get(open_workspace(workspace), name, version)
    with progress(f"environment {name}") as phase:
        phase("building (or reusing) it")
        python = ensure_environment(env.to_spec(), _cache_root(), sys.stderr)
    typer.echo(str(python))
