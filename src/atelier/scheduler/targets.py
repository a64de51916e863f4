"""What a schedule's firing submits, by the schedule's target kind.

Each kind maps to a function ``(workspace, schedule, parameters) -> run id``, named by its
``"module:function"`` path in :data:`TARGET_KINDS` and imported when a schedule of that
kind first fires (so this module imports none of them). ``"script"`` is built in: a run
of the snapshot and run definition stored with the schedule. Published pipelines
(``"pipeline"``) and pipeline endpoints (``"pipeline_endpoint"``) register here, e.g.::

    TARGET_KINDS["pipeline"] = "atelier.sdk.pipelines.published:submit_for_schedule"

or, from code that already imported its function, ``register_target_kind(kind, fn)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from atelier.core.errors import ValidationError
from atelier.core.schedules import ScheduleRecord
from atelier.core.status import RunStatus
from atelier.execution.supervisor_process import launch
from atelier.sdk.pipelines.published import submit_by_id
from atelier.sdk.tracking._submit import SCRIPT_RUN_TYPE

if TYPE_CHECKING:
    from atelier.sdk.workspace import Workspace

#: what a firing calls: (workspace, schedule, parameters) -> the id of the run it started
TargetSubmit = Callable[["Workspace", ScheduleRecord, dict[str, Any]], str]
#: target kind -> "module:function", imported on first use
TARGET_KINDS: dict[str, str] = {
    "script": "atelier.scheduler.targets:submit_script",
    "pipeline": "atelier.scheduler.targets:submit_pipeline",
    "pipeline_endpoint": "atelier.scheduler.targets:submit_pipeline_endpoint",
    # a drift detector's window: computed in this process (see atelier.monitoring.detector)
    "datadrift": "atelier.monitoring.detector:submit_for_schedule",
}
_loaded: dict[str, TargetSubmit] = {}


def register_target_kind(kind: str, submit: TargetSubmit | str) -> None:
    """Make schedules of ``kind`` submit through ``submit`` (a function, or its
    ``"module:function"`` path imported when a schedule of that kind first fires)."""
    _loaded.pop(kind, None)
    if isinstance(submit, str):
        TARGET_KINDS[kind] = submit
    else:
        _loaded[kind] = submit


def _target(kind: str) -> TargetSubmit:
    found = _loaded.get(kind)
    if found is not None:
        return found
    path = TARGET_KINDS.get(kind)
    if path is None:
        raise ValidationError(
            f"this scheduler cannot submit {kind!r} schedules; it knows "
            f"{', '.join(sorted({*TARGET_KINDS, *_loaded}))}"
        )
    module_name, name = path.split(":")
    function: TargetSubmit = getattr(importlib.import_module(module_name), name)
    _loaded[kind] = function
    return function


def submit_scheduled(
    workspace: Workspace, schedule: ScheduleRecord, parameters: dict[str, Any]
) -> str:
    """Submit what ``schedule`` targets with ``parameters``; the run's id."""
    return _target(schedule.target_kind)(workspace, schedule, parameters)


def submit_script(
    workspace: Workspace, schedule: ScheduleRecord, parameters: dict[str, Any]
) -> str:
    """The ``"script"`` target: a run of the snapshot and run definition stored with the
    schedule. Parameters reach the script as ``AML_PARAMETER_<name>`` variables, as a
    pipeline step's do; the run is tagged with the schedule's id."""
    stored = schedule.target_definition
    definition = dict(stored["definition"])
    variables = dict(definition.get("environment_variables") or {})
    variables.update({f"AML_PARAMETER_{key}": str(value) for key, value in parameters.items()})
    definition["environment_variables"] = variables
    backend = workspace._backend
    record = backend.runs.create(
        workspace.name,
        schedule.experiment_name,
        status=RunStatus.QUEUED,
        run_type=SCRIPT_RUN_TYPE,
        target=definition["target"],
        tags={"azureml.pipelines.scheduleId": schedule.id},
        properties={"azureml.runsource": SCRIPT_RUN_TYPE, "azureml.scheduleName": schedule.name},
        definition=definition,
        snapshot_id=stored["snapshot_id"],
    )
    launch(backend, workspace.name, record.run_id)
    return record.run_id


def submit_pipeline(
    workspace: Workspace, schedule: ScheduleRecord, parameters: dict[str, Any]
) -> str:
    """The ``"pipeline"`` target: a run of the published pipeline the schedule names, in
    its experiment, tagged with the schedule's id."""
    return submit_by_id(
        workspace,
        schedule.experiment_name,
        pipeline_id=schedule.target_id,
        pipeline_parameters=parameters,
        tags={"azureml.pipelines.scheduleId": schedule.id},
    ).id


def submit_pipeline_endpoint(
    workspace: Workspace, schedule: ScheduleRecord, parameters: dict[str, Any]
) -> str:
    """The ``"pipeline_endpoint"`` target: a run of the endpoint's default version."""
    return submit_by_id(
        workspace,
        schedule.experiment_name,
        pipeline_endpoint_id=schedule.target_id,
        pipeline_parameters=parameters,
        tags={"azureml.pipelines.scheduleId": schedule.id},
    ).id
