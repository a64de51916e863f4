"""``atelier studio``: the web interface over the local (embedded) home."""

from __future__ import annotations

from typing import Annotated

import typer

from atelier.core.settings import load_settings


def studio(
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="TCP port (0: any free one).")
    ] = 8643,
) -> None:
    """Serve the Studio for this machine's home (ATELIER_HOME) on 127.0.0.1 and print the
    link that opens it; the link signs you in, so keep it to yourself. Ctrl-C stops it.
    (A server serves its Studio at its own URL: 'atelier server start'.)"""
    # FastAPI, Jinja2 and SQLAlchemy load only for this command
    from atelier.studio.site import serve_local

    settings = load_settings()

    def announce(url: str) -> None:
        typer.echo(f"Atelier Studio for {settings.home}: open {url}")

    serve_local(settings, port, announce)
