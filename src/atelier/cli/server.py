"""``atelier server``: initialize and run the workspace server."""

from __future__ import annotations

from typing import Annotated

import typer

from atelier.cli._output import OutputFormat, OutputOption, print_json
from atelier.core.extras import require_extra
from atelier.core.settings import load_settings

app = typer.Typer(help="Initialize and run the workspace server.", no_args_is_help=True)


@app.command("init")
def init(
    admin: Annotated[str, typer.Option("--admin", help="Name of the first admin user.")] = "admin",
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Create the schema (ATELIER_DATABASE_URL) and the first admin user, and print its
    token once: there is no default password; keep the token safe (exit code 4 if the
    server already has users)."""
    require_extra("server", "atelier server init")
    # FastAPI and SQLAlchemy load only for the server commands
    from atelier.server.bootstrap import initialize

    issued = initialize(load_settings(), admin)
    if output is OutputFormat.JSON:
        print_json({"user": admin, "token": issued.secret, "token_id": issued.record.id})
        return
    typer.echo(f"admin user {admin!r} created. Its token (shown only now, keep it safe):")
    typer.echo(issued.secret)
    typer.echo("log in with: atelier login --url http://HOST:PORT --token <the token>")


@app.command("start")
def start(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8642,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Worker processes.")] = 1,
    scheduler: Annotated[
        bool, typer.Option(help="Fire pipeline schedules from this process too.")
    ] = True,
    registry: Annotated[
        bool,
        typer.Option(
            help="Run the workspace's image registry (docker-registry) on loopback; "
            "ATELIER_REGISTRY_URL attaches to a running one instead."
        ),
    ] = False,
    registry_port: Annotated[
        int, typer.Option("--registry-port", min=0, max=65535, help="The registry's port.")
    ] = 5000,
) -> None:
    """Serve the REST API (and /docs, /healthz, /readyz, /metrics) and the Studio web
    interface at / with uvicorn.

    Metadata from ATELIER_DATABASE_URL (PostgreSQL; SQLite works for one user), blobs
    from ATELIER_BLOB_URL (any fsspec URL). Host names: ATELIER_ALLOWED_HOSTS.
    """
    require_extra("server", "atelier server start")
    # FastAPI and SQLAlchemy load only for the server commands
    from atelier.server.config import LOOPBACK_HOSTS, ServerSettings
    from atelier.server.serve import start as serve

    if host not in LOOPBACK_HOSTS and ServerSettings().allowed_hosts == list(LOOPBACK_HOSTS):
        typer.echo(
            "note: only loopback Host names are accepted; set ATELIER_ALLOWED_HOSTS='[\"name\"]' "
            "to the names clients use to reach this server",
            err=True,
        )
    _registry(registry, registry_port)
    if scheduler:
        from atelier.scheduler.engine import start_background

        start_background(ServerSettings())  # a daemon thread: it ends with the server
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = f"http://{shown}:{port}"
    typer.echo(
        f"serving on {base}\n  Studio   {base}/\n  API      {base}/api/v1\n"
        f"  docs     {base}/docs\n"
        f"  MLflow   {base}/mlflow/<workspace>  (MLFLOW_TRACKING_URI)\n"
        f"  health   {base}/healthz\nstop with Ctrl+C",
        err=True,
    )
    serve(host, port, workers, factory="atelier.studio.site:app_from_environment")


def _registry(run: bool, port: int) -> None:
    """Run or attach to the image registry; a registry it runs stops with the server."""
    import atexit

    from atelier.containers.registry import REGISTRY_URL_VARIABLE, run_or_attach
    from atelier.core.settings import load_settings

    root = load_settings().home.expanduser().resolve() / "registry"
    process, found = run_or_attach(root, run, port=port)
    if found is None:
        return
    if process is not None:
        atexit.register(process.terminate)
        typer.echo(
            f"image registry on {found.url} (clients: export {REGISTRY_URL_VARIABLE}={found.url})",
            err=True,
        )
    else:
        typer.echo(f"image registry: attached to {found.url}", err=True)
