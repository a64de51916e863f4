"""``atelier workspace member``: who may use a workspace, with which role."""

from __future__ import annotations

from typing import Annotated

import typer

from atelier.cli._output import OutputFormat, OutputOption, print_json, print_table

app = typer.Typer(
    help="Manage a workspace's members: Owner, Contributor or Reader.", no_args_is_help=True
)

WorkspaceArgument = Annotated[str, typer.Argument(help="Workspace name.", show_default=False)]
UserArgument = Annotated[str, typer.Argument(help="User name.", show_default=False)]


@app.command("add")
def add(
    workspace: WorkspaceArgument,
    user: UserArgument,
    role: Annotated[str, typer.Option("--role", help="Owner, Contributor or Reader.")] = "Reader",
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Add a member, or change a member's role (Owners only)."""
    # httpx loads only for the commands that talk to a server
    from atelier.client.http.admin import AdminClient

    found = AdminClient.from_login().set_member(workspace, user, role)
    if output is OutputFormat.JSON:
        print_json(found)
    else:
        typer.echo(f"{user!r} is now a {found['role']} of {workspace!r}")


@app.command("list")
def list_(workspace: WorkspaceArgument, output: OutputOption = OutputFormat.TABLE) -> None:
    """List the workspace's members and their roles."""
    # httpx loads only for the commands that talk to a server
    from atelier.client.http.admin import AdminClient

    found = AdminClient.from_login().list_members(workspace)
    if output is OutputFormat.JSON:
        print_json(found)
        return
    print_table(
        f"Members of {workspace}", ("user", "role"), ((m["user_name"], m["role"]) for m in found)
    )


@app.command("remove")
def remove(workspace: WorkspaceArgument, user: UserArgument) -> None:
    """Remove a member (a workspace always keeps at least one Owner)."""
    # httpx loads only for the commands that talk to a server
    from atelier.client.http.admin import AdminClient

    AdminClient.from_login().remove_member(workspace, user)
    typer.echo(f"{user!r} removed from {workspace!r}")
