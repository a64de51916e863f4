"""Options shared by commands that act inside a workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from atelier import Workspace
from atelier.core.errors import NotFoundError, ValidationError
from atelier.sdk.workspace import find_config

WORKSPACE_ENV = "ATELIER_WORKSPACE"

WorkspaceOption = Annotated[
    str | None,
    typer.Option(
        "--workspace",
        "-w",
        envvar=WORKSPACE_ENV,
        show_envvar=True,
        help="Workspace name; else $ATELIER_WORKSPACE, else the nearest .azureml/config.json.",
    ),
]


def open_workspace(name: str | None) -> Workspace:
    """The named workspace, else the one the nearest config file names.

    Raises ``NotFoundError`` for an unknown name and ``ValidationError`` when no
    workspace is given anywhere.
    """
    if name:
        return Workspace.get(name)
    try:
        config = find_config(Path.cwd())
    except NotFoundError:
        raise ValidationError(
            "no workspace given; pass -w/--workspace NAME, set ATELIER_WORKSPACE, or run "
            "where .azureml/config.json names one (write it with ws.write_config())"
        ) from None
    return Workspace.from_config(config)
