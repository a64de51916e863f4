"""``atelier experiment``: the experiments of a workspace."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from atelier import Experiment
from atelier.cli._confirm import YesOption, require_yes
from atelier.cli._options import WorkspaceOption, open_workspace
from atelier.cli._output import OutputFormat, OutputOption, print_json, print_table
from atelier.core.errors import NotFoundError

app = typer.Typer(help="List and delete the experiments of a workspace.", no_args_is_help=True)


class View(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"
    ALL = "all"


#: the CLI's view names -> the SDK's (azureml's) view_type
VIEW_TYPES = {View.ACTIVE: "ActiveOnly", View.ARCHIVED: "ArchivedOnly", View.ALL: "All"}


@app.command("list")
def list_(
    workspace: WorkspaceOption = None,
    view: Annotated[
        View, typer.Option("--view", help="Which experiments: active, archived or all.")
    ] = View.ACTIVE,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """List the experiments of a workspace (active ones unless --view says otherwise)."""
    ws = open_workspace(workspace)
    experiments = [
        {"name": e.name, "id": e.id, "archived": e.archived, "tags": e.tags}
        for e in Experiment.list(ws, view_type=VIEW_TYPES[view])
    ]
    if output is OutputFormat.JSON:
        print_json(experiments)
        return
    print_table(
        f"Experiments in {ws.name} ({view.value})",
        ("name", "state", "tags", "id"),
        (
            (e["name"], "archived" if e["archived"] else "active", e["tags"], e["id"])
            for e in experiments
        ),
        no_wrap=("name", "id"),
    )


@app.command("delete")
def delete(
    name: Annotated[str, typer.Argument(help="The experiment to delete.")],
    workspace: WorkspaceOption = None,
    yes: YesOption = False,
) -> None:
    """Delete an experiment with all its runs, metrics and files."""
    ws = open_workspace(workspace)
    experiment = Experiment.list(ws, experiment_name=name, view_type="All")
    if not experiment:
        raise NotFoundError(
            f"experiment {name!r} not found in workspace {ws.name!r}; "
            f"'atelier experiment list -w {ws.name} --view all' lists them"
        )
    require_yes(
        yes,
        f"this deletes experiment {name!r} and all its runs",
        f"atelier experiment delete {name} -w {ws.name}",
    )
    Experiment.delete(ws, experiment[0].id)
    typer.echo(f"Deleted experiment {name!r} from {ws.name}")
