"""``atelier login`` and ``atelier logout``: remember a server and a token."""

from __future__ import annotations

from typing import Annotated

import typer

from atelier.cli._output import OutputFormat, OutputOption, print_json
from atelier.core.errors import ValidationError


def login(
    url: Annotated[str, typer.Option("--url", help="The server, e.g. http://host:8642.")],
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="ATELIER_TOKEN",
            help="Access token; asked for (hidden) when not given.",
        ),
    ] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Check the token against the server, then store url and token in
    $ATELIER_HOME/credentials.json (mode 0600); later commands and
    Workspace.get(name) use that server."""
    # httpx loads only for the commands that talk to a server
    from atelier.client.http.admin import AdminClient
    from atelier.client.http.transport import write_credentials

    if not url.startswith(("http://", "https://")):
        raise ValidationError(f"--url {url!r} must start with http:// or https://")
    secret = token or typer.prompt("token", hide_input=True)
    who = AdminClient(url, secret).whoami()
    path = write_credentials(url, secret)
    if output is OutputFormat.JSON:
        print_json({"url": url, "user": who["name"], "admin": who["admin"], "file": str(path)})
    else:
        typer.echo(f"logged in to {url} as {who['name']!r} (stored in {path})")


def logout() -> None:
    """Forget the stored server and token (commands go back to the embedded store)."""
    # httpx loads only for the commands that talk to a server
    from atelier.client.http.transport import forget_credentials

    typer.echo("logged out" if forget_credentials() else "was not logged in")
