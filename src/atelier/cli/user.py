"""``atelier user``: create, list, disable and enable users of a server (admins)."""

from __future__ import annotations

from typing import Annotated

import typer

from atelier.cli._output import OutputFormat, OutputOption, print_json, print_table

app = typer.Typer(help="Manage the users of a server (server admins).", no_args_is_help=True)

NameArgument = Annotated[str, typer.Argument(help="User name.", show_default=False)]


@app.command("create")
def create(
    name: NameArgument,
    admin: Annotated[bool, typer.Option("--admin", help="Make the user a server admin.")] = False,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Create a user; give it a token with 'atelier token create --user NAME'."""
    # httpx loads only for the commands that talk to a server
    from atelier.client.http.admin import AdminClient

    user = AdminClient.from_login().create_user(name, admin)
    if output is OutputFormat.JSON:
        print_json(user)
    else:
        typer.echo(f"user {name!r} created; give it a token: atelier token create --user {name}")


@app.command("list")
def list_(output: OutputOption = OutputFormat.TABLE) -> None:
    """List the server's users."""
    # httpx loads only for the commands that talk to a server
    from atelier.client.http.admin import AdminClient

    users = AdminClient.from_login().list_users()
    if output is OutputFormat.JSON:
        print_json(users)
        return
    print_table(
        "Users",
        ("name", "admin", "disabled"),
        ((u["name"], u["is_admin"], u["disabled"]) for u in users),
    )


@app.command("disable")
def disable(name: NameArgument, output: OutputOption = OutputFormat.TABLE) -> None:
    """Disable a user: every token of it stops working at once."""
    # httpx loads only for the commands that talk to a server
    from atelier.client.http.admin import AdminClient

    user = AdminClient.from_login().set_disabled(name, True)
    if output is OutputFormat.JSON:
        print_json(user)
    else:
        typer.echo(f"user {name!r} disabled")


@app.command("enable")
def enable(name: NameArgument, output: OutputOption = OutputFormat.TABLE) -> None:
    """Enable a disabled user again."""
    # httpx loads only for the commands that talk to a server
    from atelier.client.http.admin import AdminClient

    user = AdminClient.from_login().set_disabled(name, False)
    if output is OutputFormat.JSON:
        print_json(user)
    else:
        typer.echo(f"user {name!r} enabled")
