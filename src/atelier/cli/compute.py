"""``atelier compute``: the compute targets runs are submitted to."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from atelier import AmlCompute, ComputeTarget, RemoteCompute, Workspace
from atelier.cli._options import WorkspaceOption, open_workspace
from atelier.cli._output import (
    OutputFormat,
    OutputOption,
    print_fields,
    print_json,
    print_table,
)
from atelier.cli._progress import progress
from atelier.core.errors import ComputeTargetException, NotFoundError, ValidationError

app = typer.Typer(
    help="Manage compute targets: local, Ray clusters and SSH machines.", no_args_is_help=True
)

NameArgument = Annotated[str, typer.Argument(help="Compute target name.", show_default=False)]
#: settings never printed as they are
SECRET_KEYS = frozenset({"password"})
SECRET = "********"


IdleOption = Annotated[
    int | None,
    typer.Option(
        "--idle-seconds-before-scaledown",
        min=0,
        help="How long a Ray cluster's worker node stays idle before it is removed "
        "(a cluster started here: 120 s when not given).",
        show_default=False,
    ),
]


class ClusterType(StrEnum):
    RAY = "ray"


def _describe(target: ComputeTarget) -> dict[str, Any]:
    # the SDK keeps a failed provisioning's error on its record only
    return {
        "name": target.name,
        "type": target.type,
        "state": target.provisioning_state,
        "config": {k: SECRET if k in SECRET_KEYS and v else v for k, v in target.config.items()},
        "error": target._record.error,
    }


def _print(target: ComputeTarget, output: OutputFormat) -> None:
    described = _describe(target)
    if target._record.kind == "ray" and described["state"] == "Succeeded":
        status = target.get_status()  # read from the cluster
        described["nodes"] = {
            "current": status.current_node_count,
            "target": status.target_node_count,
        }
    if output is OutputFormat.JSON:
        print_json(described)
        return
    fields = {key: described[key] for key in ("name", "type", "state")}
    if "nodes" in described:
        fields["nodes alive"] = described["nodes"]["current"]
        fields["nodes target"] = described["nodes"]["target"]
    fields.update(sorted(described["config"].items()))
    if described["error"]:
        fields["error"] = described["error"].get("message", "")
    print_fields(f"Compute target {target.name}", fields)


def _failed_hint(ws: Workspace, name: str, exc: ComputeTargetException) -> ComputeTargetException:
    """The provisioning error, saying how to remove the target it left behind as Failed."""
    try:
        left = ComputeTarget(ws, name).provisioning_state == "Failed"
    except NotFoundError:
        left = False
    if not left:
        return exc
    return ComputeTargetException(
        f"{exc.message} (the target is recorded as Failed; remove it with "
        f"'atelier compute delete {name} -w {ws.name} --yes')"
    )


@app.command("list")
def list_(workspace: WorkspaceOption = None, output: OutputOption = OutputFormat.TABLE) -> None:
    """List the compute targets of a workspace ('local' is always there)."""
    ws = open_workspace(workspace)
    described = [_describe(target) for target in ComputeTarget.list(ws)]
    if output is OutputFormat.JSON:
        print_json(described)
        return
    print_table(
        f"Compute targets in {ws.name}",
        ("name", "type", "state", "max concurrent runs", "address"),
        (
            (
                d["name"],
                d["type"],
                d["state"],
                d["config"].get("max_concurrent_runs"),
                d["config"].get("address"),
            )
            for d in described
        ),
        no_wrap=("name",),
    )


@app.command("show")
def show(
    name: NameArgument, workspace: WorkspaceOption = None, output: OutputOption = OutputFormat.TABLE
) -> None:
    """Show a compute target: its type, state, settings and any provisioning error."""
    _print(ComputeTarget(open_workspace(workspace), name), output)


@app.command("update")
def update(
    name: NameArgument,
    max_concurrent_runs: Annotated[
        int | None,
        typer.Option(
            "--max-concurrent-runs",
            min=1,
            help="How many runs execute at once; the rest wait, in order.",
            show_default=False,
        ),
    ] = None,
    min_nodes: Annotated[
        int | None,
        typer.Option("--min-nodes", min=0, help="A Ray cluster's fewest worker nodes."),
    ] = None,
    max_nodes: Annotated[
        int | None,
        typer.Option("--max-nodes", min=1, help="A Ray cluster's most worker nodes."),
    ] = None,
    idle_seconds: IdleOption = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Change a compute target's settings: how many runs it executes at once, a Ray
    cluster's scale settings."""
    if (max_concurrent_runs, min_nodes, max_nodes, idle_seconds) == (None,) * 4:
        raise ValidationError(
            "give a setting to change: --max-concurrent-runs, --min-nodes, --max-nodes or "
            "--idle-seconds-before-scaledown"
        )
    target = ComputeTarget(open_workspace(workspace), name)
    target.update(
        max_concurrent_runs,
        min_nodes=min_nodes,
        max_nodes=max_nodes,
        idle_seconds_before_scaledown=idle_seconds,
    )
    _print(target, output)


@app.command("delete")
def delete(
    name: NameArgument,
    workspace: WorkspaceOption = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Confirm the deletion (required).")
    ] = False,
) -> None:
    """Remove a compute target from the workspace ('local' cannot be removed).

    Refused while runs on it are unfinished. Nothing asks for confirmation: pass --yes.
    """
    if not yes:
        raise ValidationError(
            f"pass --yes to confirm: atelier compute delete {name} --yes "
            "(runs already on it keep their records)"
        )

    ws = open_workspace(workspace)
    target = ComputeTarget(ws, name)
    with progress(f"compute {name}", done="deleted") as phase:
        phase("stopping what it started and removing it")
        target.delete()
    typer.echo(f"deleted compute target {name!r} from {ws.name!r}")


@app.command("create")
def create(
    name: NameArgument,
    cluster_type: Annotated[
        ClusterType, typer.Option("--type", help="What kind of cluster.", show_default=False)
    ],
    workspace: WorkspaceOption = None,
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            help="An existing Ray cluster: ray://HOST:10001 or http://HOST:8265 "
            "(default: start a Ray head on this machine).",
            show_default=False,
        ),
    ] = None,
    min_nodes: Annotated[int, typer.Option("--min-nodes", min=0, help="Fewest nodes.")] = 0,
    max_nodes: Annotated[int, typer.Option("--max-nodes", min=1, help="Most nodes.")] = 1,
    idle_seconds: IdleOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Create a cluster compute target and provision it (AmlCompute in the SDK)."""
    del cluster_type  # Ray is the one kind of cluster so far
    ws = open_workspace(workspace)
    configuration = AmlCompute.provisioning_configuration(
        min_nodes=min_nodes,
        max_nodes=max_nodes,
        idle_seconds_before_scaledown=idle_seconds,
        address=address,
    )
    try:
        with progress(f"compute {name}", done="ready") as phase:
            phase("starting a Ray head here" if address is None else f"connecting to {address}")
            target = ComputeTarget.create(ws, name, configuration)
    except ComputeTargetException as exc:
        raise _failed_hint(ws, name, exc) from None
    _print(target, output)


@app.command("attach")
def attach(
    name: NameArgument,
    address: Annotated[
        str, typer.Option("--address", help="The machine's host name or IP.", show_default=False)
    ],
    workspace: WorkspaceOption = None,
    ssh_port: Annotated[int, typer.Option("--ssh-port", min=1, max=65535, help="SSH port.")] = 22,
    username: Annotated[
        str, typer.Option("--username", help="SSH user (default: as ssh decides).")
    ] = "",
    private_key_file: Annotated[
        Path | None,
        typer.Option("--private-key-file", help="SSH private key.", show_default=False),
    ] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Attach a machine reached over SSH as a compute target (RemoteCompute in the SDK)."""
    ws = open_workspace(workspace)
    configuration = RemoteCompute.attach_configuration(
        address=address,
        ssh_port=ssh_port,
        username=username,
        private_key_file=str(private_key_file) if private_key_file is not None else None,
    )
    try:
        target = ComputeTarget.attach(ws, name, configuration)
    except ComputeTargetException as exc:
        raise _failed_hint(ws, name, exc) from None
    _print(target, output)
