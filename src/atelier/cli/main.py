"""The root ``atelier`` command: one sub-command per noun, errors mapped in one place."""

from __future__ import annotations

from typing import Annotated

import typer

from atelier.cli import (
    audit,
    automl,
    compute,
    doctor,
    endpoint,
    environment,
    experiment,
    login,
    member,
    model,
    run,
    server,
    studio,
    sweep,
    token,
    user,
    workspace,
)
from atelier.cli import drift as drift_cli
from atelier.cli import image as image_cli
from atelier.cli import pipeline as pipeline_cli
from atelier.cli import schedule as schedule_cli
from atelier.cli import secret as secret_cli
from atelier.cli._errors import AtelierGroup, exit_codes_help
from atelier.cli.dataset import app as dataset_app
from atelier.cli.datastore import app as datastore_app


def _version(value: bool) -> None:
    if value:
        # importlib.metadata (zipfile, email, csv) would cost every CLI call 0.05 s of CPU
        from importlib.metadata import version

        typer.echo(f"atelier {version('atelier-ml')}")
        raise typer.Exit


app = typer.Typer(
    name="atelier",
    cls=AtelierGroup,
    help="Atelier: a self-hosted machine-learning workspace.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)
app.add_typer(workspace.app, name="workspace")
app.add_typer(experiment.app, name="experiment")
app.add_typer(run.app, name="run")
app.add_typer(sweep.app, name="sweep")
app.add_typer(automl.app, name="automl")
app.add_typer(environment.app, name="environment")
app.add_typer(compute.app, name="compute")
app.add_typer(model.app, name="model")
app.add_typer(datastore_app, name="datastore")
app.add_typer(dataset_app, name="dataset")
app.add_typer(secret_cli.app, name="secret")
app.add_typer(pipeline_cli.app, name="pipeline")
app.add_typer(schedule_cli.app, name="schedule")
app.command("scheduler")(schedule_cli.scheduler)
app.add_typer(drift_cli.app, name="drift")
app.add_typer(image_cli.app, name="image")
app.add_typer(endpoint.app, name="endpoint")
app.add_typer(server.app, name="server")
app.add_typer(user.app, name="user")
app.add_typer(token.app, name="token")
app.add_typer(audit.app, name="audit")
workspace.app.add_typer(member.app, name="member")
app.command("doctor")(doctor.doctor)
app.command("login")(login.login)
app.command("logout")(login.logout)
app.command("studio")(studio.studio)


@app.callback(help=f"Atelier: a self-hosted machine-learning workspace.\n\n{exit_codes_help()}")
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Atelier's root command (its help, with the exit codes, is set above)."""


def main() -> None:
    """Run the CLI (the ``atelier`` console script)."""
    app()


if __name__ == "__main__":
    main()
