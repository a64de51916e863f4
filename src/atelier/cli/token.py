"""``atelier token``: create, list and revoke access tokens."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

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
    from atelier.client.http.admin import AdminClient

    found = AdminClient.from_login().create_token(name, expires_in_days, user)
    if output is OutputFormat.JSON:
        print_json(found)
        return
    typer.echo(f"token {found['id']} for {found['user_name']!r} (shown only now):")
    typer.echo(found["token"])


class TokenKind(StrEnum):
    USER = "user"
    RUN = "run"


@app.command("list")
def list_(
    user: Annotated[
        str | None, typer.Option("--user", help="Another user's tokens (server admins).")
    ] = None,
    kind: Annotated[
        TokenKind | None,
        typer.Option("--kind", help="Only user tokens, or only the run tokens of your runs."),
    ] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """List tokens (never their secrets): yours and the run tokens minted for your runs,
    each with its run; revoke one with 'atelier token revoke ID'."""
    # httpx loads only for the commands that talk to a server
    from atelier.client.http.admin import AdminClient

    found = AdminClient.from_login().list_tokens(user, kind.value if kind else None)
    if output is OutputFormat.JSON:
        print_json(found)
        return
    print_table(
        "Tokens",
        ("id", "name", "kind", "run", "user", "expires_ms", "revoked"),
        (_row(token) for token in found),
        no_wrap=("id",),
    )


def _row(token: dict[str, Any]) -> tuple[Any, ...]:
    kind = token.get("kind", "user")
    run = token.get("run_id") or ""
    return (
        token["id"],
        token["name"],
        kind,
        run,
        token["user_name"],
        token["expires_ms"],
        token["revoked"],
    )


@app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(help="Token id (from 'atelier token list').")],
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Revoke a token (yours, or a run token of one of your runs): it stops working at once,
    and so do the run tokens it minted."""
    # httpx loads only for the commands that talk to a server
    from atelier.client.http.admin import AdminClient

    found = AdminClient.from_login().revoke_token(token_id)
    if output is OutputFormat.JSON:
        print_json(found)
    else:
        typer.echo(f"token {token_id} revoked")
