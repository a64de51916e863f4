"""``Schedule``, ``ScheduleRecurrence`` and ``TimeZone`` with azureml-pipeline-core's names:
a schedule submits a published pipeline, a pipeline endpoint or a script run on a
recurrence, or when files appear or change under a datastore path.

A scheduler fires schedules (``atelier scheduler`` for an embedded home; ``atelier server
start`` runs one inside the server); what a firing submits is looked up by the schedule's
target kind in ``atelier.scheduler.targets``.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.errors import ValidationError
from atelier.core.schedules import (
    ACTIVE,
    DISABLED,
    ScheduleRecord,
    TimeZone,
    check_recurrence,
)
from atelier.sdk.pipelines._views import RecordView
from atelier.sdk.pipelines.runs import PipelineRun
from atelier.sdk.tracking import _snapshot
from atelier.sdk.tracking._submit import _definition
from atelier.sdk.tracking.experiment import Experiment
from atelier.sdk.tracking.run import Run
from atelier.sdk.tracking.runconfig import ScriptRunConfig

if TYPE_CHECKING:
    from atelier.sdk.workspace import Workspace

__all__ = [
    "Schedule",
    "ScheduleRecurrence",
    "TimeZone",
]


class ScheduleRecurrence:
    """How often a schedule fires: every ``interval`` ``frequency`` units ("Minute",
    "Hour", "Day", "Week", "Month") from ``start_time`` (a naive datetime or
    'YYYY-MM-DDThh:mm:ss' in ``time_zone``), at ``hours``/``minutes`` or ``time_of_day``
    ("hh:mm") on Day and Week schedules and on ``week_days`` on Week ones.

    ``validate()`` (run by ``Schedule.create``) raises ``ValidationError`` (a
    ``ValueError``) for an impossible recurrence and says which rule it breaks."""

    def __init__(
        self,
        frequency: str,
        interval: int,
        start_time: datetime | str | None = None,
        time_zone: TimeZone | str | None = None,
        hours: builtins.list[int] | None = None,
        minutes: builtins.list[int] | None = None,
        week_days: builtins.list[str] | None = None,
        time_of_day: str | None = None,
    ) -> None:
        self.frequency = frequency
        self.interval = interval
        self.start_time = start_time
        self.time_zone = time_zone
        self.hours = hours
        self.minutes = minutes
        self.week_days = week_days
        self.time_of_day = time_of_day

    def validate(self) -> None:
        """Raise ``ValidationError`` unless the recurrence can fire."""
        check_recurrence(self._raw())

    def _raw(self) -> dict[str, Any]:
        return {
            "frequency": self.frequency,
            "interval": self.interval,
            "start_time": self.start_time,
            "time_zone": self.time_zone,
            "hours": self.hours,
            "minutes": self.minutes,
            "week_days": self.week_days,
            "time_of_day": self.time_of_day,
        }

    def _to_dict(self) -> dict[str, Any]:
        return check_recurrence(self._raw())

    @classmethod
    def _from_dict(cls, data: dict[str, Any]) -> ScheduleRecurrence:
        return cls(
            frequency=data["frequency"],
            interval=data["interval"],
            start_time=data.get("start_time"),
            time_zone=data.get("time_zone"),
            hours=data.get("hours"),
            minutes=data.get("minutes"),
            week_days=data.get("week_days"),
            time_of_day=data.get("time_of_day"),
        )

    def __repr__(self) -> str:
        shown = ", ".join(f"{key}={value!r}" for key, value in self._raw().items() if value)
        return f"ScheduleRecurrence({shown})"


def _datastore_name(datastore: Any) -> str | None:
    if datastore is None or isinstance(datastore, str):
        return datastore
    name = getattr(datastore, "name", None)
    if not isinstance(name, str):
        raise ValidationError("datastore= takes a Datastore or a datastore name")
    return name


def _recurrence(recurrence: ScheduleRecurrence | None) -> dict[str, Any] | None:
    if recurrence is None:
        return None
    if not isinstance(recurrence, ScheduleRecurrence):
        raise ValidationError("recurrence= takes a ScheduleRecurrence(frequency, interval, ...)")
    recurrence.validate()
    return recurrence._to_dict()


#: what every ``Schedule.create*`` passes on as it was given
_OPTIONS = (
    "recurrence",
    "description",
    "pipeline_parameters",
    "datastore",
    "polling_interval",
    "data_path_parameter_name",
    "continue_on_step_failure",
    "path_on_datastore",
)


def _options(arguments: dict[str, Any]) -> dict[str, Any]:
    """The trigger and run options among a ``create*`` method's arguments."""
    return {name: arguments.get(name) for name in _OPTIONS}


class Schedule(RecordView[ScheduleRecord]):
    """A schedule of a workspace (``Schedule.create``, ``Schedule.get``, ``Schedule.list``).

    ``status`` is "Active" or "Disabled"; ``recurrence`` is a ``ScheduleRecurrence`` for a
    time-based schedule; ``datastore_name`` / ``path_on_datastore`` / ``polling_interval``
    (minutes) describe a data trigger."""

    def __init__(self, workspace: Workspace, record: ScheduleRecord) -> None:
        self._workspace = workspace
        self._record = record

    # --- creation ---------------------------------------------------------------
    @staticmethod
    def create(
        workspace: Workspace,
        name: str,
        pipeline_id: str | None = None,
        experiment_name: str | None = None,
        recurrence: ScheduleRecurrence | None = None,
        description: str | None = None,
        pipeline_parameters: dict[str, Any] | None = None,
        wait_for_provisioning: bool = False,
        wait_timeout: int = 3600,
        datastore: Any = None,
        polling_interval: int = 5,
        data_path_parameter_name: str | None = None,
        continue_on_step_failure: bool | None = None,
        path_on_datastore: str | None = None,
        pipeline_endpoint_id: str | None = None,
        _workflow_provider: Any = None,
        _service_endpoint: Any = None,
    ) -> Schedule:
        """A schedule submitting the published pipeline ``pipeline_id`` (or the pipeline
        endpoint ``pipeline_endpoint_id``) to ``experiment_name`` on ``recurrence``, or
        when files under ``datastore`` / ``path_on_datastore`` appear or change (checked
        every ``polling_interval`` minutes). ``ValidationError`` for an impossible
        recurrence, neither or both triggers, or neither or both targets;
        ``AlreadyExistsError`` when the name is taken."""
        del wait_for_provisioning, wait_timeout, _workflow_provider, _service_endpoint
        if (pipeline_id is None) == (pipeline_endpoint_id is None):
            raise ValidationError("give Schedule.create a pipeline_id= or a pipeline_endpoint_id=")
        target = (
            {"target_kind": "pipeline", "target_id": pipeline_id}
            if pipeline_id is not None
            else {"target_kind": "pipeline_endpoint", "target_id": pipeline_endpoint_id}
        )
        return Schedule._create(workspace, name, experiment_name, target, _options(locals()))

    @staticmethod
    def create_for_pipeline_endpoint(
        workspace: Workspace,
        name: str,
        pipeline_endpoint_id: str,
        experiment_name: str,
        recurrence: ScheduleRecurrence | None = None,
        description: str | None = None,
        pipeline_parameters: dict[str, Any] | None = None,
        wait_for_provisioning: bool = False,
        wait_timeout: int = 3600,
        datastore: Any = None,
        polling_interval: int = 5,
        data_path_parameter_name: str | None = None,
        continue_on_step_failure: bool | None = None,
        path_on_datastore: str | None = None,
        _workflow_provider: Any = None,
        _service_endpoint: Any = None,
    ) -> Schedule:
        """As ``create``, for the default pipeline of a pipeline endpoint."""
        del wait_for_provisioning, wait_timeout, _workflow_provider, _service_endpoint
        target = {"target_kind": "pipeline_endpoint", "target_id": pipeline_endpoint_id}
        return Schedule._create(workspace, name, experiment_name, target, _options(locals()))

    @staticmethod
    def create_for_script_run(
        workspace: Workspace,
        name: str,
        config: ScriptRunConfig,
        experiment_name: str,
        recurrence: ScheduleRecurrence | None = None,
        description: str | None = None,
        pipeline_parameters: dict[str, Any] | None = None,
        datastore: Any = None,
        polling_interval: int = 5,
        data_path_parameter_name: str | None = None,
        path_on_datastore: str | None = None,
    ) -> Schedule:
        """Atelier's addition: a schedule that submits ``config`` (a ``ScriptRunConfig``)
        as it is now: its source directory is snapshotted once, here, and each firing runs
        that snapshot; parameters reach the script as ``AML_PARAMETER_<name>``."""
        if not isinstance(config, ScriptRunConfig):
            raise ValidationError("create_for_script_run takes a ScriptRunConfig")
        experiment = Experiment(workspace, experiment_name)
        definition = _definition(config, experiment)
        files = _snapshot.collect(Path(config.source_directory))
        snapshot = workspace._backend.snapshots.create(workspace.name, files)
        job = {"definition": definition, "snapshot_id": snapshot.id}
        target = {"target_kind": "script", "target_definition": job}
        return Schedule._create(workspace, name, experiment_name, target, _options(locals()))

    @staticmethod
    def _create(
        workspace: Workspace,
        name: str,
        experiment_name: str | None,
        target: dict[str, Any],
        options: dict[str, Any],
    ) -> Schedule:
        """Store a schedule of ``target`` with the trigger and run ``options`` every
        ``create*`` method takes (the names of ``_OPTIONS``)."""
        spec = {**target, **options, "name": name, "experiment_name": experiment_name}
        spec["recurrence"] = _recurrence(spec["recurrence"])
        spec["datastore_name"] = _datastore_name(spec.pop("datastore"))
        return Schedule(workspace, workspace._backend.schedules.create(workspace.name, spec))

    # --- lookup -----------------------------------------------------------------
    @staticmethod
    def get(workspace: Workspace, id: str, _workflow_provider: Any = None) -> Schedule:
        """The schedule with that id (or name); ``NotFoundError`` if there is none."""
        del _workflow_provider
        return Schedule(workspace, workspace._backend.schedules.get(workspace.name, id))

    @staticmethod
    def list(
        workspace: Workspace,
        active_only: bool = True,
        pipeline_id: str | None = None,
        pipeline_endpoint_id: str | None = None,
        _workflow_provider: Any = None,
    ) -> builtins.list[Schedule]:
        """The workspace's schedules (Active ones only unless ``active_only=False``),
        optionally only those of one pipeline or pipeline endpoint."""
        del _workflow_provider
        target = pipeline_id or pipeline_endpoint_id
        found = workspace._backend.schedules.list(
            workspace.name, active_only=active_only, target_id=target
        )
        return [Schedule(workspace, record) for record in found]

    @staticmethod
    def get_all(
        workspace: Workspace,
        active_only: bool = True,
        pipeline_id: str | None = None,
        pipeline_endpoint_id: str | None = None,
    ) -> builtins.list[Schedule]:
        """Deprecated in azureml in favour of ``list``; the same answer."""
        return Schedule.list(workspace, active_only, pipeline_id, pipeline_endpoint_id)

    @staticmethod
    def get_schedules_for_pipeline_id(
        workspace: Workspace, pipeline_id: str
    ) -> builtins.list[Schedule]:
        return Schedule.list(workspace, active_only=False, pipeline_id=pipeline_id)

    @staticmethod
    def get_schedules_for_pipeline_endpoint_id(
        workspace: Workspace, pipeline_endpoint_id: str
    ) -> builtins.list[Schedule]:
        return Schedule.list(
            workspace, active_only=False, pipeline_endpoint_id=pipeline_endpoint_id
        )

    # --- changes ----------------------------------------------------------------
    def enable(self, wait_for_provisioning: bool = False, wait_timeout: int = 3600) -> None:
        """Active again: the next slot after now fires (none of the disabled time's)."""
        self.update(status=ACTIVE)

    def disable(self, wait_for_provisioning: bool = False, wait_timeout: int = 3600) -> None:
        """No slot fires until the schedule is enabled again."""
        self.update(status=DISABLED)

    def update(
        self,
        name: str | None = None,
        description: str | None = None,
        recurrence: ScheduleRecurrence | None = None,
        pipeline_parameters: dict[str, Any] | None = None,
        status: str | None = None,
        wait_for_provisioning: bool = False,
        wait_timeout: int = 3600,
        datastore: Any = None,
        polling_interval: int | None = None,
        data_path_parameter_name: str | None = None,
        continue_on_step_failure: bool | None = None,
        path_on_datastore: str | None = None,
    ) -> None:
        """Change the given fields (None leaves one as it is)."""
        del wait_for_provisioning, wait_timeout
        changes = {
            "name": name,
            "description": description,
            "recurrence": _recurrence(recurrence),
            "pipeline_parameters": pipeline_parameters,
            "status": status,
            "datastore_name": _datastore_name(datastore),
            "polling_interval": polling_interval,
            "data_path_parameter_name": data_path_parameter_name,
            "continue_on_step_failure": continue_on_step_failure,
            "path_on_datastore": path_on_datastore,
        }
        changes = {key: value for key, value in changes.items() if value is not None}
        self._record = self._workspace._backend.schedules.update(
            self._workspace.name, self._record.id, changes
        )

    # --- runs -------------------------------------------------------------------
    def get_pipeline_runs(self) -> builtins.list[Run]:
        """The runs this schedule started, newest first."""
        firings = self._workspace._backend.schedules.firings(self._workspace.name, self.id)
        return [self._run(item.run_id) for item in firings if item.run_id]

    def get_last_pipeline_run(self) -> Run | None:
        """The run of the latest slot that started one, or None."""
        firings = self._workspace._backend.schedules.firings(self._workspace.name, self.id)
        for item in firings:
            if item.run_id:
                return self._run(item.run_id)
        return None

    def _run(self, run_id: str) -> Run:
        """A run this schedule started: a PipelineRun where it submits a pipeline."""
        if self._record.target_kind in ("pipeline", "pipeline_endpoint"):
            return PipelineRun(Experiment(self._workspace, self._record.experiment_name), run_id)
        return Run.get(self._workspace, run_id)

    # --- properties -------------------------------------------------------------
    @property
    def pipeline_id(self) -> str | None:
        return self._record.target_id if self._record.target_kind == "pipeline" else None

    @property
    def pipeline_endpoint_id(self) -> str | None:
        kind = self._record.target_kind
        return self._record.target_id if kind == "pipeline_endpoint" else None

    @property
    def recurrence(self) -> ScheduleRecurrence | None:
        data = self._record.recurrence
        return ScheduleRecurrence._from_dict(data) if data else None

    @property
    def datastore_name(self) -> str | None:
        return self._record.datastore_name

    @property
    def polling_interval(self) -> int:
        return self._record.polling_interval

    @property
    def data_path_parameter_name(self) -> str | None:
        return self._record.data_path_parameter_name

    @property
    def continue_on_step_failure(self) -> bool | None:
        return self._record.continue_on_step_failure

    @property
    def path_on_datastore(self) -> str | None:
        return self._record.path_on_datastore

    @property
    def next_run_time_ms(self) -> int | None:
        """Atelier's addition: when the next slot (or poll) is due, None when disabled."""
        return self._record.next_due_ms

    def __repr__(self) -> str:
        return f"Schedule(Name: {self.name}, Id: {self.id}, Status: {self.status})"
