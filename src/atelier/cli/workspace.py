"""``atelier workspace``: create, list, show and delete workspaces."""

from __future__ import annotations

from typing import Annotated

import typer

from atelier import Workspace
from atelier.cli import member
from atelier.cli._output import (
    OutputFormat,
    OutputOption,
    print_fields,
    print_json,
    print_table,
    short_time,
)
from atelier.core.errors import ValidationError

app = typer.Typer(help="Create, list, show and delete workspaces.", no_args_is_help=True)

NameArgument = Annotated[str, typer.Argument(help="Workspace name.", show_default=False)]


@app.command("create")
def create(
    name: NameArgument,
    exist_ok: Annotated[
        bool, typer.Option("--exist-ok", help="Succeed if the workspace already exists.")
    ] = False,
    description: Annotated[
        str, typer.Option("--description", help="What the workspace is for.")
    ] = "",
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Create a workspace (exit code 4 if it exists, unless --exist-ok)."""
    workspace = Workspace.create(name, description=description, exist_ok=exist_ok)
    details = workspace.get_details()
    if output is OutputFormat.JSON:
        print_json(details)
    else:
        typer.echo(f"workspace {workspace.name!r} ready at {details['trackingUri']}")


@app.command("list")
def list_(output: OutputOption = OutputFormat.TABLE) -> None:
    """List every workspace of this Atelier home or server."""
    details = [found[0].get_details() for found in Workspace.list().values()]
    if output is OutputFormat.JSON:
        print_json(details)
        return
    print_table(
        "Workspaces",
        ("name", "description", "location", "created", "tags"),
        (
            (d["name"], d["description"], d["location"], short_time(d["creationTime"]), d["tags"])
            for d in details
        ),
        no_wrap=("name",),
    )


@app.command("show")
def show(name: NameArgument, output: OutputOption = OutputFormat.TABLE) -> None:
    """Show one workspace: id, description, location, tags and where it lives."""
    details = Workspace.get(name).get_details()
    if output is OutputFormat.JSON:
        print_json(details)
    else:
        print_fields(f"Workspace {name}", details)


@app.command("delete")
def delete(
    name: NameArgument,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Confirm the deletion (required).")
    ] = False,
) -> None:
    """Delete a workspace with all its experiments, runs, metrics and files.

    Nothing asks for confirmation on stdin: pass --yes.
    """
    if not yes:
        raise ValidationError(
            f"deleting workspace {name!r} removes all its runs, metrics and files; "
            f"pass --yes to confirm: atelier workspace delete {name} --yes"
        )

    Workspace.get(name).delete()
    typer.echo(f"deleted workspace {name!r}")


app.add_typer(member.app, name="member")
