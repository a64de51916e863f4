"""The root ``atelier`` command: one sub-command per noun, errors mapped in one place."""

from __future__ import annotations

import functools
import importlib
import os
import sys
from typing import Annotated, Any

import typer

from atelier.cli._errors import AtelierGroup, exit_codes_help


def _version(value: bool) -> None:
    if value:
        # importlib.metadata (zipfile, email, csv) would cost every CLI call 0.05 s of CPU
        from importlib.metadata import version

        typer.echo(f"atelier {version('atelier-ml')}")
        raise typer.Exit


#: every command of the root: its name -> (module, attribute): a Typer app of sub-commands
#: or a command function; in the order ``atelier --help`` lists them
COMMANDS: dict[str, tuple[str, str]] = {
    "workspace": ("atelier.cli.workspace", "app"),
    "experiment": ("atelier.cli.experiment", "app"),
    "run": ("atelier.cli.run", "app"),
    "sweep": ("atelier.cli.sweep", "app"),
    "automl": ("atelier.cli.automl", "app"),
    "environment": ("atelier.cli.environment", "app"),
    "compute": ("atelier.cli.compute", "app"),
    "model": ("atelier.cli.model", "app"),
    "datastore": ("atelier.cli.datastore", "app"),
    "dataset": ("atelier.cli.dataset", "app"),
    "secret": ("atelier.cli.secret", "app"),
    "pipeline": ("atelier.cli.pipeline", "app"),
    "schedule": ("atelier.cli.schedule", "app"),
    "scheduler": ("atelier.cli.schedule", "scheduler"),
    "drift": ("atelier.cli.drift", "app"),
    "image": ("atelier.cli.image", "app"),
    "endpoint": ("atelier.cli.endpoint", "app"),
    "server": ("atelier.cli.server", "app"),
    "user": ("atelier.cli.user", "app"),
    "token": ("atelier.cli.token", "app"),
    "audit": ("atelier.cli.audit", "app"),
    "doctor": ("atelier.cli.doctor", "doctor"),
    "login": ("atelier.cli.login", "login"),
    "logout": ("atelier.cli.login", "logout"),
    "studio": ("atelier.cli.studio", "studio"),
}


def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Atelier's root command (its help, with the exit codes, is set by :func:`build`)."""


def build(only: str | None = None) -> typer.Typer:
    """The root app with every command, or with only the command ``only`` (and its
    sub-commands): what one call of the script needs."""
    root_app = typer.Typer(
        name="atelier",
        cls=AtelierGroup,
        help="Atelier: a self-hosted machine-learning workspace.",
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
    )
    for name, (module, attribute) in COMMANDS.items():
        if only is not None and name != only:
            continue
        target = getattr(importlib.import_module(module), attribute)
        if isinstance(target, typer.Typer):
            root_app.add_typer(target, name=name)
        else:
            root_app.command(name)(target)
    root_app.callback(
        help=f"Atelier: a self-hosted machine-learning workspace.\n\n{exit_codes_help()}"
    )(root)
    return root_app


@functools.cache
def full_app() -> typer.Typer:
    """The whole command tree (for ``typer.testing``, the documentation's generator)."""
    return build()


def __getattr__(name: str) -> Any:
    """``app``: :func:`full_app`, built on first use."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return full_app()


def main() -> None:
    """Run the CLI (the ``atelier`` console script). A call that names a command builds
    only that command's part of the tree: importing every command's module and turning
    the whole tree into Click commands (about 0.5 s of CPU) would cost every call, where
    help at the root and shell completion need all of it."""
    args = sys.argv[1:]
    named = args[0] if args and args[0] in COMMANDS else None
    completing = any(key.startswith("_") and key.endswith("_COMPLETE") for key in os.environ)
    build(None if completing else named)()


if __name__ == "__main__":
    main()
