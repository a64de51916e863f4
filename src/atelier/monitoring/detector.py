"""azureml's ``DataDriftDetector``: a baseline dataset, a timestamped target dataset, and
drift measured per window of ``frequency``.

Where things live (no table of its own; the machinery is the schedules' and the runs'):

- the detector is a schedule of target kind ``"datadrift"`` named ``datadrift.<name>``,
  whose ``target_definition`` holds the datasets, features, threshold, latency and alert
  configuration; its recurrence is the detector's frequency and its status says whether
  the schedule is enabled (a new detector's is not). ``atelier server`` and
  ``atelier scheduler`` fire it once per window like any schedule
  (:func:`submit_for_schedule`).
- each measured window is a run of the experiment ``<name>-Monitor-Runs`` (a child of the
  backfill run for a backfill) with properties naming the detector and the window, the
  metrics ``drift_magnitude`` / ``datadrift_coefficient`` / ``target_rows``, and the whole
  window (per-feature metrics, data quality) as ``outputs/datadrift.json``. The tag
  ``datadrift.alerted`` records that the window's alert went out.

Windows are computed in the calling process (``compute_target`` is recorded, as azureml
takes it, and not used): the baseline is read and summarized once per call, the target
once, and every window is a slice of it.
"""

from __future__ import annotations

import builtins
import json
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.errors import NotFoundError, ValidationError
from atelier.core.schedules import ACTIVE, DISABLED, ScheduleRecord
from atelier.core.status import RunStatus
from atelier.monitoring import arguments, windows
from atelier.monitoring.alerts import AlertConfiguration
from atelier.monitoring.output import DetectorOutput
from atelier.monitoring.reading import read_tables, stored_dataset, stored_form
from atelier.monitoring.runner import RUN_TYPE, measure_windows
from atelier.sdk.data.tabular_dataset import TabularDataset
from atelier.sdk.tracking.experiment import Experiment
from atelier.sdk.tracking.run import Run

if TYPE_CHECKING:
    from atelier.sdk.workspace import Workspace

KIND = "datadrift"
_PREFIX = "datadrift."
_UNSET: Any = ...


def _schedule_name(name: str) -> str:
    return _PREFIX + name


class DataDriftDetector:
    """A data drift monitor of a workspace. Make one with :meth:`create_from_datasets`,
    find one with :meth:`get_by_name` or :meth:`list`."""

    def __init__(
        self,
        workspace: Workspace,
        name: str | None = None,
        baseline_dataset: TabularDataset | None = None,
        target_dataset: TabularDataset | None = None,
        compute_target: Any = None,
        frequency: str | None = None,
        feature_list: builtins.list[str] | None = None,
        alert_config: AlertConfiguration | None = None,
        drift_threshold: float | None = None,
        latency: int | None = None,
        *,
        _schedule: ScheduleRecord | None = None,
    ) -> None:
        """azureml's constructor: the existing detector ``name`` (the other arguments are
        azureml's and only accepted; ``NotFoundError`` when there is none)."""
        del baseline_dataset, target_dataset, compute_target, frequency, feature_list
        del alert_config, drift_threshold, latency
        if _schedule is None:
            if name is None:
                raise ValidationError(
                    "give the detector's name, or make one with "
                    "DataDriftDetector.create_from_datasets"
                )
            _schedule = DataDriftDetector.get_by_name(workspace, name).schedule_record
        self.workspace = workspace
        self._schedule: ScheduleRecord = _schedule

    @property
    def schedule_record(self) -> ScheduleRecord:
        """The schedule that holds this detector (its definition and state)."""
        return self._schedule

    # --- what it is ------------------------------------------------------------------------------
    @property
    def _definition(self) -> dict[str, Any]:
        return self._schedule.target_definition

    @property
    def name(self) -> str:
        return str(self._schedule.target_id)

    @property
    def baseline_dataset(self) -> TabularDataset:
        return stored_dataset(self.workspace, self._definition["baseline"])

    @property
    def target_dataset(self) -> TabularDataset:
        return stored_dataset(self.workspace, self._definition["target"])

    @property
    def compute_target(self) -> str | None:
        return self._definition.get("compute_target")

    @property
    def frequency(self) -> str:
        return str(self._definition["frequency"])

    @property
    def interval(self) -> int:
        return 1

    @property
    def feature_list(self) -> list[str] | None:
        return self._definition.get("feature_list")

    @property
    def drift_threshold(self) -> float:
        return float(self._definition["drift_threshold"])

    @property
    def latency(self) -> int:
        return int(self._definition.get("latency", 0))

    @property
    def alert_config(self) -> AlertConfiguration | None:
        return AlertConfiguration._from_dict(self._definition.get("alert_config"))

    @property
    def schedule_start(self) -> str | None:
        return self._definition.get("schedule_start")

    @property
    def state(self) -> str:
        """``Enabled`` while the schedule runs, else ``Disabled`` (azureml's states)."""
        return "Enabled" if self._schedule.status == ACTIVE else "Disabled"

    @property
    def enabled(self) -> bool:
        return self._schedule.status == ACTIVE

    @property
    def drift_type(self) -> str:
        return "DatasetBased"

    @property
    def experiment_name(self) -> str:
        return f"{self.name}-Monitor-Runs"

    def __repr__(self) -> str:
        return (
            f"DataDriftDetector(name={self.name!r}, frequency={self.frequency!r}, "
            f"drift_threshold={self.drift_threshold}, state={self.state!r})"
        )

    def _fields(self) -> dict[str, Any]:
        """What ``atelier drift show`` prints."""
        definition = self._definition
        return {
            "name": self.name,
            "state": self.state,
            "frequency": self.frequency,
            "drift_threshold": self.drift_threshold,
            "latency": self.latency,
            "feature_list": self.feature_list,
            "baseline": definition["baseline"].get("label"),
            "target": definition["target"].get("label"),
            "compute_target": self.compute_target,
            "alert_config": definition.get("alert_config"),
            "experiment": self.experiment_name,
        }

    # --- making and finding them -----------------------------------------------------------------
    @staticmethod
    def create_from_datasets(
        workspace: Workspace,
        name: str,
        baseline_dataset: TabularDataset,
        target_dataset: TabularDataset,
        compute_target: Any = None,
        frequency: str | None = None,
        feature_list: builtins.list[str] | None = None,
        alert_config: AlertConfiguration | None = None,
        drift_threshold: float | None = None,
        latency: int | None = None,
    ) -> DataDriftDetector:
        """A new detector of drift from ``baseline_dataset`` to ``target_dataset`` (which
        must have a timestamp column: ``with_timestamp_columns``), measured per
        ``frequency`` ("Day", "Week" or "Month"; default "Week"). The datasets' columns are
        checked now: ``DataDriftSchemaError`` lists every missing column and differing
        type; ``AlreadyExistsError`` when the name is taken. Its schedule starts disabled:
        :meth:`enable_schedule` starts it."""
        arguments.check_name(name)
        frequency = windows.check_frequency(frequency or "Week")
        for label, dataset in (("baseline", baseline_dataset), ("target", target_dataset)):
            if not isinstance(dataset, TabularDataset):
                raise ValidationError(f"{label}_dataset must be a TabularDataset")
        if not target_dataset.timestamp_columns[0] and not target_dataset.timestamp_columns[1]:
            raise ValidationError(
                "the target dataset has no timestamp column; call "
                "target.with_timestamp_columns(timestamp='column') first"
            )
        if alert_config is not None and not isinstance(alert_config, AlertConfiguration):
            raise ValidationError("alert_config must be an AlertConfiguration")
        features = arguments.features(feature_list)
        read_tables(baseline_dataset, target_dataset, features, sample_rows=1000)  # schema check
        definition = {
            "baseline": stored_form(baseline_dataset),
            "target": stored_form(target_dataset),
            "compute_target": arguments.compute_name(compute_target),
            "frequency": frequency,
            "feature_list": features,
            "alert_config": alert_config._to_dict() if alert_config else None,
            "drift_threshold": arguments.threshold(drift_threshold),
            "latency": arguments.latency(latency),
            "schedule_start": None,
        }
        backend = workspace._backend
        record = backend.schedules.create(
            workspace.name,
            {
                "name": _schedule_name(name),
                "description": f"data drift detector {name}",
                "target_kind": KIND,
                "target_id": name,
                "target_definition": definition,
                "experiment_name": f"{name}-Monitor-Runs",
                "recurrence": {"frequency": frequency, "interval": 1},
                "status": DISABLED,
            },
        )
        return DataDriftDetector(workspace, _schedule=record)

    @staticmethod
    def get_by_name(workspace: Workspace, name: str) -> DataDriftDetector:
        """The detector ``name``; ``NotFoundError`` when there is none."""
        arguments.check_name(name)
        try:
            record = workspace._backend.schedules.get(workspace.name, _schedule_name(name))
        except NotFoundError:
            record = None
        if record is None or record.target_kind != KIND:
            raise NotFoundError(
                f"data drift detector {name!r} not found in workspace {workspace.name!r}; list "
                f"them with DataDriftDetector.list(ws) or 'atelier drift list -w {workspace.name}'"
            )
        return DataDriftDetector(workspace, _schedule=record)

    @staticmethod
    def list(
        workspace: Workspace,
        baseline_dataset: TabularDataset | None = None,
        target_dataset: TabularDataset | None = None,
    ) -> builtins.list[DataDriftDetector]:
        """The workspace's detectors by name; only those on these datasets when given."""
        found = []
        wanted = {
            "baseline": None if baseline_dataset is None else stored_form(baseline_dataset),
            "target": None if target_dataset is None else stored_form(target_dataset),
        }
        for record in workspace._backend.schedules.list(workspace.name, active_only=False):
            if record.target_kind != KIND:
                continue
            definition = record.target_definition
            if all(
                form is None or definition[side].get("key") == form.get("key")
                for side, form in wanted.items()
            ):
                found.append(DataDriftDetector(workspace, _schedule=record))
        return found

    # --- changing them ---------------------------------------------------------------------------
    def update(
        self,
        compute_target: Any = _UNSET,
        feature_list: Any = _UNSET,
        schedule_start: Any = _UNSET,
        alert_config: Any = _UNSET,
        drift_threshold: Any = _UNSET,
        wait_for_completion: bool = True,
    ) -> DataDriftDetector:
        """Change the given settings (azureml's: an argument left out stays as it is;
        ``None`` clears ``feature_list`` and ``alert_config``)."""
        del wait_for_completion
        definition = dict(self._definition)
        if compute_target is not _UNSET:
            definition["compute_target"] = arguments.compute_name(compute_target)
        if feature_list is not _UNSET:
            definition["feature_list"] = arguments.features(feature_list)
            read_tables(
                self.baseline_dataset, self.target_dataset, definition["feature_list"], 1000
            )
        if schedule_start is not _UNSET:
            definition["schedule_start"] = (
                None
                if schedule_start is None
                else windows.as_utc(schedule_start, "schedule_start").isoformat()
            )
        if alert_config is not _UNSET:
            if alert_config is not None and not isinstance(alert_config, AlertConfiguration):
                raise ValidationError("alert_config must be an AlertConfiguration or None")
            definition["alert_config"] = alert_config._to_dict() if alert_config else None
        if drift_threshold is not _UNSET:
            definition["drift_threshold"] = arguments.threshold(drift_threshold)
        self._change({"target_definition": definition})
        return self

    def enable_schedule(
        self, create_compute_target: bool = False, wait_for_completion: bool = True
    ) -> None:
        """Start measuring each window once it is over (plus ``latency`` hours), in
        ``atelier server`` or ``atelier scheduler``."""
        del create_compute_target, wait_for_completion
        changes: dict[str, Any] = {"status": ACTIVE}
        start = self.schedule_start
        if start is not None:
            changes["recurrence"] = {
                "frequency": self.frequency,
                "interval": 1,
                "start_time": start,
            }
        self._change(changes)

    def disable_schedule(self, wait_for_completion: bool = True) -> None:
        del wait_for_completion
        self._change({"status": DISABLED})

    def _change(self, changes: dict[str, Any]) -> None:
        self._schedule = self.workspace._backend.schedules.update(
            self.workspace.name, self._schedule.id, changes
        )

    # --- measuring -------------------------------------------------------------------------------
    def run(
        self,
        target_date: Any,
        compute_target: Any = None,
        create_compute_target: bool = False,
        feature_list: builtins.list[str] | None = None,
        drift_threshold: float | None = None,
    ) -> Run:
        """Measure the window that holds ``target_date``; the completed run."""
        del compute_target, create_compute_target
        moment = windows.as_utc(target_date, "target_date")
        window = windows.window_of(moment, self.frequency)
        runs = self._measure(
            [window],
            None,
            arguments.features(feature_list),
            arguments.optional_threshold(drift_threshold),
        )
        return runs[0]

    def backfill(
        self,
        start_date: Any,
        end_date: Any,
        compute_target: Any = None,
        create_compute_target: bool = False,
    ) -> Run:
        """Measure every window from ``start_date`` to ``end_date``: a run with one child
        run per window (an empty window is recorded as empty, not as zero drift).
        ``ValidationError`` when the start is not before the end."""
        del compute_target, create_compute_target
        spans = windows.windows_between(start_date, end_date, self.frequency)
        experiment = Experiment(self.workspace, self.experiment_name)
        record = self.workspace._backend.runs.create(
            self.workspace.name,
            self.experiment_name,
            status=RunStatus.RUNNING,
            run_type=RUN_TYPE,
            display_name=f"backfill {spans[0][0].date()} - {spans[-1][1].date()}",
            properties={"datadrift.detector": self.name, "datadrift.backfill": "true"},
        )
        parent = Run(experiment, record.run_id, _record=record)
        try:
            self._measure(spans, parent, None, None)
        except BaseException as exc:
            parent.fail(exc)
            raise
        parent.complete()
        return parent

    def _measure(
        self,
        spans: builtins.list[tuple[datetime, datetime]],
        parent: Run | None,
        feature_list: builtins.list[str] | None,
        threshold: float | None,
    ) -> builtins.list[Run]:
        return measure_windows(
            self, spans, parent, feature_list or self.feature_list, threshold or None
        )

    # --- reading results -------------------------------------------------------------------------
    def get_output(
        self, start_time: Any = None, end_time: Any = None, run_id: str | None = None
    ) -> tuple[builtins.list[dict[str, Any]], builtins.list[dict[str, Any]]]:
        """(results, metrics) of the windows between the two times (all when None), in
        azureml's shapes: ``results`` is ``[{"drift_type": "DatasetBased", "result":
        [{"has_drift", "drift_threshold", "start_date", "end_date", "base_dataset_id",
        "target_dataset_id", "drift_coefficient", ...}]}]`` and ``metrics`` is
        ``[{"drift_type": "DatasetBased", "metrics": [{"start_date", "end_date",
        "dataset_metrics": [{"name", "value"}], "column_metrics": [{column: [{"name",
        "value"}]}]}]}]``. With ``run_id``, only that run's windows."""
        return self._output(start_time, end_time, run_id).azureml_shapes()

    def show(self, start_time: Any = None, end_time: Any = None) -> dict[str, Any]:
        """matplotlib figures of the windows between the two times: ``"drift_magnitude"``
        over time (with the threshold) and ``"feature_contribution"`` (the features that
        contributed most, averaged over the windows)."""
        return self._output(start_time, end_time, None).figures()

    def _output(self, start_time: Any, end_time: Any, run_id: str | None) -> DetectorOutput:
        start = None if start_time is None else windows.as_utc(start_time, "start_time")
        end = None if end_time is None else windows.as_utc(end_time, "end_time")
        if start is not None and end is not None and start > end:
            raise ValidationError(f"start_time {start} is after end_time {end}")
        return DetectorOutput.collect(self, start, end, run_id)

    def window_documents(self, run: Run) -> dict[str, Any]:
        """The whole measurement of one window run (``outputs/datadrift.json``)."""
        with tempfile.TemporaryDirectory(prefix="atelier-drift-") as folder:
            path = run.download_file("outputs/datadrift.json", Path(folder) / "datadrift.json")
            found: dict[str, Any] = json.loads(path.read_text())
        return found


def submit_for_schedule(
    workspace: Workspace, schedule: ScheduleRecord, parameters: Mapping[str, Any]
) -> str:
    """The scheduler's ``"datadrift"`` target: measure the latest window that ended
    ``latency`` hours before the slot being fired (the newest firing the scheduler
    claimed; now, when there is none); the id of its run."""
    del parameters
    detector = DataDriftDetector(workspace, _schedule=schedule)
    firings = workspace._backend.schedules.firings(workspace.name, schedule.id)
    if firings:
        moment = datetime.fromtimestamp(firings[0].slot_ms / 1000, UTC)
    else:
        moment = datetime.now(UTC)
    window = windows.last_complete(
        moment.replace(tzinfo=None), detector.frequency, detector.latency
    )
    runs = detector._measure([window], None, None, None)
    return runs[0].id
