"""``Experiment.submit``: snapshot the source directory, record the run, start its supervisor."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.errors import AtelierError, NotFoundError, ValidationError
from atelier.core.names import check_relative_path
from atelier.core.paths import safe_join
from atelier.core.status import RunStatus
from atelier.execution.supervisor_process import launch
from atelier.sdk.data import _inputs as _data_inputs
from atelier.sdk.tracking import _snapshot
from atelier.sdk.tracking._git import git_properties
from atelier.sdk.tracking.run import Run
from atelier.sdk.tracking.runconfig import RunConfiguration, ScriptRunConfig

if TYPE_CHECKING:
    from atelier.sdk.tracking.experiment import Experiment
SCRIPT_RUN_TYPE = "azureml.scriptrun"


def _definition(config: ScriptRunConfig, experiment: Experiment) -> dict[str, Any]:
    run_config: RunConfiguration = config.run_config
    source = Path(config.source_directory)
    if not source.is_dir():
        raise ValidationError(f"source_directory {source} does not exist or is not a folder")
    if not run_config.script and not run_config.command:
        raise ValidationError("give ScriptRunConfig a script= or a command=")
    if run_config.script:
        script = check_relative_path(run_config.script, what="script")
        if not safe_join(source, script).is_file():
            raise NotFoundError(f"script {script!r} not found in source_directory {source}")
    # an unregistered environment travels inline with the run, as in azureml
    definition = run_config.to_dict()
    inputs, outputs = _data_inputs.collect(run_config.arguments)
    if inputs or outputs:
        definition.update(inputs=inputs, outputs=outputs)
    experiment._backend.compute.get(experiment.workspace.name, definition["target"])
    return definition


def submit(
    experiment: Experiment,
    config: ScriptRunConfig,
    tags: dict[str, Any] | None,
    parent_run_id: str | None = None,
) -> Run:
    """Validate, snapshot, create the run Queued (a child of ``parent_run_id`` when given)
    and hand it to a supervisor."""
    if not isinstance(config, ScriptRunConfig):
        raise ValidationError("Experiment.submit takes a ScriptRunConfig")
    definition = _definition(config, experiment)
    backend = experiment._backend
    source = Path(config.source_directory)
    files = _snapshot.collect(source)
    snapshot = backend.snapshots.create(experiment.workspace.name, files)
    record = backend.runs.create(
        experiment.workspace.name,
        experiment.name,
        status=RunStatus.QUEUED,
        parent_run_id=parent_run_id,
        run_type=SCRIPT_RUN_TYPE,
        target=definition["target"],
        tags=tags,
        properties={**git_properties(source), "azureml.runsource": SCRIPT_RUN_TYPE},
        definition=definition,
        snapshot_id=snapshot.id,
    )
    if definition.get("inputs"):
        try:
            backend.datasets.record_run_inputs(
                experiment.workspace.name, record.run_id, definition["inputs"]
            )
        except AtelierError as exc:  # the run never starts: say why in its record too
            backend.runs.transition(
                experiment.workspace.name,
                record.run_id,
                RunStatus.FAILED,
                error={"code": "InputDatasetError", "message": exc.message},
            )
            raise
    launch(backend, experiment.workspace.name, record.run_id)
    return Run(experiment, record.run_id, _record=record)
