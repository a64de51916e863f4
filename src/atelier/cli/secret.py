"""``atelier secret``: set, list, show and delete the workspace's secrets.

A value is never taken from the command line (it would land in shell history and in
``ps``): ``set`` reads it from standard input when that is a pipe or file, else prompts
for it with hidden input. ``show`` prints a secret's name and times; only ``show --reveal``
prints its value, alone on stdout, for scripts.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from atelier.cli._confirm import YesOption, require_yes
from atelier.cli._options import WorkspaceOption, open_workspace
from atelier.cli._output import (
    OutputFormat,
    OutputOption,
    print_fields,
    print_json,
    print_table,
    short_time,
)
from atelier.core.errors import NotFoundError, ValidationError
from atelier.core.secrets import check_secret_name

app = typer.Typer(
    help="Set, list, show and delete the workspace's secrets (encrypted at rest).",
    no_args_is_help=True,
)

NameArgument = Annotated[str, typer.Argument(help="Secret name.", show_default=False)]


def _read_value(name: str) -> str:
    """The value from a pipe or file on stdin (one trailing newline dropped), else from a
    hidden prompt typed twice."""
    if sys.stdin is None:
        raise ValidationError(f"no standard input to read secret {name!r} from; pipe it in")
    if sys.stdin.isatty():
        value = str(typer.prompt(f"Value of {name}", hide_input=True, confirmation_prompt=True))
    else:
        value = sys.stdin.read()
        if value.endswith("\r\n"):
            value = value[:-2]
        elif value.endswith("\n"):
            value = value[:-1]
    if value == "":
        raise ValidationError(
            f"the value for secret {name!r} is empty; pipe it in, e.g. "
            f'printf %s "$VALUE" | atelier secret set {name}, or type it at the prompt'
        )
    return value


def _find(listing: list[dict[str, Any]], name: str, workspace: str) -> dict[str, Any]:
    for entry in listing:
        if entry["name"] == name:
            return entry
    raise NotFoundError(
        f"secret {name!r} not found in workspace {workspace!r}; set it with "
        f"'atelier secret set {name} -w {workspace}' (list them with 'atelier secret list')"
    )


@app.command("set")
def set_(
    name: NameArgument,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Create or replace a secret; the value comes from stdin or a hidden prompt."""
    check_secret_name(name)
    ws = open_workspace(workspace)
    vault = ws.get_default_keyvault()
    vault.set_secret(name, _read_value(name))
    entry = _find(vault.list_secrets(), name, ws.name)
    if output is OutputFormat.JSON:
        print_json(entry)
    else:
        typer.echo(f"Secret {name!r} set in workspace {ws.name!r}")


@app.command("list")
def list_(workspace: WorkspaceOption = None, output: OutputOption = OutputFormat.TABLE) -> None:
    """The workspace's secrets: names and times, never values."""
    ws = open_workspace(workspace)
    listing = ws.get_default_keyvault().list_secrets()
    if output is OutputFormat.JSON:
        print_json(listing)
        return
    print_table(
        f"Secrets in {ws.name}",
        ("name", "created", "updated"),
        (
            (entry["name"], short_time(entry["createdTime"]), short_time(entry["updatedTime"]))
            for entry in listing
        ),
        no_wrap=("name",),
    )


@app.command("show")
def show(
    name: NameArgument,
    workspace: WorkspaceOption = None,
    reveal: Annotated[
        bool,
        typer.Option("--reveal", help="Print the value itself, alone on stdout (for scripts)."),
    ] = False,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """A secret's name and times; its value only with --reveal."""
    ws = open_workspace(workspace)
    vault = ws.get_default_keyvault()
    if reveal:
        sys.stdout.write(vault.get_secret(name) + "\n")
        return
    entry = _find(vault.list_secrets(), name, ws.name)
    if output is OutputFormat.JSON:
        print_json(entry)
    else:
        print_fields(f"Secret {name}", entry)


@app.command("delete")
def delete(name: NameArgument, workspace: WorkspaceOption = None, yes: YesOption = False) -> None:
    """Remove a secret (pass --yes: nothing asks for confirmation)."""
    ws = open_workspace(workspace)
    require_yes(
        yes,
        f"deleting secret {name!r} cannot be undone",
        f"atelier secret delete -w {ws.name} -- {name}",
    )
    ws.get_default_keyvault().delete_secret(name)
    typer.echo(f"Secret {name!r} deleted from workspace {ws.name!r}")
