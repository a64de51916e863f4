"""``atelier datastore``: register, list, show, upload to, download from and unregister."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from atelier import Datastore
from atelier.cli._options import WorkspaceOption, open_workspace
from atelier.cli._output import (
    OutputFormat,
    OutputOption,
    print_fields,
    print_json,
    print_table,
    short_time,
)
from atelier.core.data_names import normalize_datastore_url
from atelier.core.errors import ValidationError

app = typer.Typer(
    help="Register datastores (local folders, S3, Azure Blob, GCS) and move files.",
    no_args_is_help=True,
)

NameArgument = Annotated[str, typer.Argument(help="Datastore name.", show_default=False)]
#: credentials come from the environment so they stay out of shell history and `ps`
CREDENTIAL_VARIABLES = {
    "s3": {
        "access_key_id": "AWS_ACCESS_KEY_ID",
        "secret_access_key": "AWS_SECRET_ACCESS_KEY",
        "session_token": "AWS_SESSION_TOKEN",
    },
    "azure_blob": {
        "account_key": "AZURE_STORAGE_KEY",
        "sas_token": "AZURE_STORAGE_SAS_TOKEN",
    },
    "gcs": {"service_account_json": "GOOGLE_APPLICATION_CREDENTIALS"},
    "local": {},
}


def _credentials(kind: str) -> dict[str, str]:
    found = {}
    for key, variable in CREDENTIAL_VARIABLES.get(kind, {}).items():
        value = os.environ.get(variable)
        if value:
            if key == "service_account_json" and Path(value).is_file():
                value = Path(value).read_text(encoding="utf-8")
            found[key] = value
    return found


@app.command("register")
def register(
    name: NameArgument,
    url: Annotated[
        str,
        typer.Option(
            "--url",
            help="A folder (embedded mode), s3://bucket/prefix, az://container/prefix or "
            "gs://bucket/prefix.",
        ),
    ],
    workspace: WorkspaceOption = None,
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint", help="S3 endpoint URL, or Azure blob endpoint (self-hosted, Azurite)."
        ),
    ] = None,
    account_name: Annotated[
        str | None, typer.Option("--account-name", help="Azure storage account.")
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="S3 region.")] = None,
    project: Annotated[str | None, typer.Option("--project", help="GCS project.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace one of that name.")] = (
        False
    ),
    no_validate: Annotated[
        bool, typer.Option("--no-validate", help="Do not check access now.")
    ] = False,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Register a datastore. Credentials are read from the environment, never from the
    command line: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AZURE_STORAGE_KEY or
    AZURE_STORAGE_SAS_TOKEN, GOOGLE_APPLICATION_CREDENTIALS (a key file)."""
    ws = open_workspace(workspace)
    kind, _ = normalize_datastore_url(url)
    config: dict[str, str | None] = {"region": region, "project": project}
    if kind == "azure_blob":
        if not account_name:
            raise ValidationError("Azure datastores need --account-name")
        config.update(account_name=account_name, endpoint=endpoint)
    else:
        config["endpoint_url"] = endpoint
    store = Datastore.register(
        ws,
        name,
        url,
        credentials=_credentials(kind),
        overwrite=overwrite,
        validate=not no_validate,
        **config,
    )
    if output is OutputFormat.JSON:
        print_json(store.serialize())
    else:
        typer.echo(f"registered datastore {store.name!r} ({store.datastore_type}) at {store.url}")


@app.command("list")
def list_(workspace: WorkspaceOption = None, output: OutputOption = OutputFormat.TABLE) -> None:
    """List the workspace's datastores (credentials are never shown)."""
    ws = open_workspace(workspace)
    stores = [s.serialize() for s in ws.datastores.values()]
    if output is OutputFormat.JSON:
        print_json(stores)
        return
    print_table(
        f"Datastores of {ws.name}",
        ("name", "type", "url", "default", "credentials", "created"),
        (
            (
                s["name"],
                s["datastoreType"],
                s["url"],
                "yes" if s["isDefault"] else "",
                "stored" if s["hasCredentials"] else "",
                short_time(s["createdTime"]),
            )
            for s in stores
        ),
        no_wrap=("name",),
    )


@app.command("show")
def show(
    name: NameArgument, workspace: WorkspaceOption = None, output: OutputOption = OutputFormat.TABLE
) -> None:
    """Show one datastore."""
    details = Datastore.get(open_workspace(workspace), name).serialize()
    if output is OutputFormat.JSON:
        print_json(details)
    else:
        print_fields(f"Datastore {name}", details)


@app.command("upload")
def upload(
    name: NameArgument,
    source: Annotated[Path, typer.Option("--source", "-s", help="A local folder or file.")],
    target: Annotated[
        str, typer.Option("--target", "-t", help="Folder on the datastore [default: its root].")
    ] = "",
    workspace: WorkspaceOption = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing files.")] = (
        False
    ),
) -> None:
    """Upload a folder (or one file); nothing is visible until every file is written."""
    store = Datastore.get(open_workspace(workspace), name)
    if source.is_file():
        store.upload_files([source], target_path=target, overwrite=overwrite)
    else:
        store.upload(source, target_path=target, overwrite=overwrite)
    typer.echo(f"uploaded {source} to {name}:{target or '/'}")


@app.command("download")
def download(
    name: NameArgument,
    target: Annotated[
        Path,
        typer.Option(
            "--output-dir", "-o", "--target", "-t", help="Local folder to write into [default: .]"
        ),
    ] = Path(),
    prefix: Annotated[
        str | None, typer.Option("--prefix", "-p", help="Only files below this path.")
    ] = None,
    workspace: WorkspaceOption = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace local files.")] = False,
) -> None:
    """Download files, keeping their paths."""
    store = Datastore.get(open_workspace(workspace), name)
    count = store.download(target, prefix=prefix, overwrite=overwrite)
    typer.echo(f"downloaded {count} file(s) to {target}")


@app.command("unregister")
def unregister(name: NameArgument, workspace: WorkspaceOption = None) -> None:
    """Forget a datastore (its files stay where they are)."""
    Datastore.get(open_workspace(workspace), name).unregister()
    typer.echo(f"unregistered datastore {name!r}")


@app.command("set-default")
def set_default(name: NameArgument, workspace: WorkspaceOption = None) -> None:
    """Make a datastore the workspace's default."""
    open_workspace(workspace).set_default_datastore(name)
    typer.echo(f"{name!r} is now the default datastore")
