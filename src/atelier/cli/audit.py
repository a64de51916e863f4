"""``atelier audit``: who did what on the server (server admins)."""

from __future__ import annotations

from typing import Annotated

import typer

from atelier.cli._output import OutputFormat, OutputOption, print_json, print_table
from atelier.core.timeutil import ms_to_iso

app = typer.Typer(help="Read the server's audit log (server admins).", no_args_is_help=True)


@app.command("list")
def list_(
    workspace: Annotated[str | None, typer.Option("--workspace", "-w")] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Only this user.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 100,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """The newest entries first: time, user, action, workspace, target and status."""
    # httpx loads only for the commands that talk to a server
    from atelier.client.http.admin import AdminClient

    entries = AdminClient.from_login().audit(workspace, actor, limit)
    if output is OutputFormat.JSON:
        print_json(entries)
        return
    print_table(
        "Audit log",
        ("time", "actor", "action", "workspace", "target", "status"),
        (
            (
                (ms_to_iso(e["at_ms"]) or "")[:19],
                e["actor"],
                e["action"],
                e["workspace_name"],
                e["target"],
                e["status"],
            )
            for e in entries
        ),
    )
