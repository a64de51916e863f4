"""``atelier token``: create, list and revoke access tokens."""

from __future__ import annotations

from typing import Annotated

import typer

from atelier.cli._output import OutputFormat, OutputOption, print_json, print_table

app = typer.Typer(help="Create, list and revoke access tokens.", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "",
    expires_in_days: Annotated[
        float | None, typer.Option("--expires-in-days", help="Lifetime; default: no expiry.")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="Another user's token (server admins).")
    ] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Create a token and print it once: only its hash is kept on the server."""
    # httpx loads only for the commands that talk to a server
    from atelier.client.http_admin import AdminClient

    found = AdminClient.from_login().create_token(name, expires_in_days, user)
    if output is OutputFormat.JSON:
        print_json(found)
        return
    typer.echo(f"token {found['id']} for {found['user_name']!r} (shown only now):")
    typer.echo(found["token"])


@app.command("list")
def list_(
    user: Annotated[
        str | None, typer.Option("--user", help="Another user's tokens (server admins).")
    ] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """List tokens (never their secrets)."""
    # httpx loads only for the commands that talk to a server
    from atelier.client.http_admin import AdminClient

    found = AdminClient.from_login().list_tokens(user)
    if output is OutputFormat.JSON:
        print_json(found)
        return
    print_table(
        "Tokens",
        ("id", "name", "user", "expires_ms", "revoked"),
        ((t["id"], t["name"], t["user_name"], t["expires_ms"], t["revoked"]) for t in found),
        no_wrap=("id",),
    )


@app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(help="Token id (from 'atelier token list').")],
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Revoke a token: it stops working at once."""
    # httpx loads only for the commands that talk to a server
    from atelier.client.http_admin import AdminClient

    found = AdminClient.from_login().revoke_token(token_id)
    if output is OutputFormat.JSON:
        print_json(found)
    else:
        typer.echo(f"token {token_id} revoked")
