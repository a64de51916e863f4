"""``atelier dataset``: register, list, show, download datasets and follow their lineage."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from atelier import Dataset, Datastore, Workspace
from atelier.cli._options import WorkspaceOption, open_workspace
from atelier.cli._output import (
    OutputFormat,
    OutputOption,
    print_fields,
    print_json,
    print_table,
    short_time,
)
from atelier.core.errors import AlreadyExistsError, ValidationError
from atelier.sdk.data.file_dataset import FileDataset
from atelier.sdk.data.tabular_dataset import TabularDataset

if TYPE_CHECKING:
    from atelier.sdk.data._dataset_base import AbstractDataset

app = typer.Typer(
    help="Register, list, show and download datasets; show their lineage.", no_args_is_help=True
)

NameArgument = Annotated[str, typer.Argument(help="Dataset name.", show_default=False)]
VersionOption = Annotated[
    int | None, typer.Option("--version", "-v", min=1, help="Version [default: the latest].")
]


class Kind(StrEnum):
    DELIMITED = "delimited"
    PARQUET = "parquet"
    JSON_LINES = "json-lines"
    FILES = "files"


def _get(ws: Workspace, name: str, version: int | None) -> AbstractDataset:
    return Dataset.get_by_name(ws, name, version="latest" if version is None else version)


@app.command("register")
def register(
    name: NameArgument,
    path: Annotated[
        str,
        typer.Option("--path", "-p", help="Path or glob on the datastore, e.g. 'iris/**/*.csv'."),
    ],
    datastore: Annotated[
        str | None,
        typer.Option("--datastore", "-d", help="Datastore [default: the workspace's default]."),
    ] = None,
    kind: Annotated[Kind, typer.Option("--kind", "-k", help="How to read the files.")] = (
        Kind.DELIMITED
    ),
    separator: Annotated[str, typer.Option("--separator", help="CSV separator.")] = ",",
    description: Annotated[str, typer.Option("--description", help="What it is.")] = "",
    new_version: Annotated[
        bool, typer.Option("--new-version", help="Add a version to an existing name.")
    ] = False,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Register files of a datastore as a tabular or file dataset (version 1, or the next
    with --new-version)."""
    ws = open_workspace(workspace)
    store = Datastore.get(ws, datastore) if datastore else ws.get_default_datastore()
    source = (store, path)
    if kind is Kind.FILES:
        dataset: AbstractDataset = Dataset.File.from_files(source)
    elif kind is Kind.PARQUET:
        dataset = Dataset.Tabular.from_parquet_files(source)
    elif kind is Kind.JSON_LINES:
        dataset = Dataset.Tabular.from_json_lines_files(source)
    else:
        dataset = Dataset.Tabular.from_delimited_files(source, separator=separator)
    registered = dataset.register(ws, name, description, create_new_version=new_version)
    if output is OutputFormat.JSON:
        print_json(registered.serialize())
    else:
        typer.echo(f"registered dataset {name!r} version {registered.version}")


@app.command("list")
def list_(workspace: WorkspaceOption = None, output: OutputOption = OutputFormat.TABLE) -> None:
    """The latest version of each dataset."""
    ws = open_workspace(workspace)
    found = [d.serialize() for d in ws.datasets.values()]
    if output is OutputFormat.JSON:
        print_json(found)
        return
    print_table(
        f"Datasets of {ws.name}",
        ("name", "version", "kind", "files", "bytes", "created", "description"),
        (
            (
                d["name"],
                d["version"],
                d["kind"],
                d["fileCount"],
                d["totalSize"],
                short_time(d["createdTime"]),
                d["description"],
            )
            for d in found
        ),
        no_wrap=("name",),
    )


@app.command("show")
def show(
    name: NameArgument,
    version: VersionOption = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """One dataset version, with the models and runs that used it."""
    dataset = _get(open_workspace(workspace), name, version)
    details: dict[str, Any] = dataset.serialize()
    details["models"] = [m.id for m in dataset.get_models()]
    details["runs"] = [r.id for r in dataset.get_runs()]
    if output is OutputFormat.JSON:
        print_json(details)
    else:
        print_fields(f"Dataset {name}", details)


@app.command("download")
def download(
    name: NameArgument,
    target: Annotated[
        Path,
        typer.Option(
            "--output-dir", "-o", "--target", "-t", help="Local folder to write into [default: .]"
        ),
    ] = Path(),
    version: VersionOption = None,
    workspace: WorkspaceOption = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace local files.")] = False,
) -> None:
    """Download a file dataset's files (a tabular dataset: as one CSV file)."""
    dataset = _get(open_workspace(workspace), name, version)
    if isinstance(dataset, TabularDataset):
        there = target / "part-00000.csv"  # the one file a tabular dataset is written as
        if there.exists() and not overwrite:
            raise AlreadyExistsError(f"{there} already exists; pass overwrite=True")
        target.mkdir(parents=True, exist_ok=True)
        written = dataset.to_csv_files(target=str(target)).to_path()
    elif isinstance(dataset, FileDataset):
        written = dataset.download(target, overwrite=overwrite)
    else:
        raise ValidationError(f"dataset {name!r} cannot be downloaded")
    typer.echo(f"downloaded {len(written)} file(s) to {target}")
