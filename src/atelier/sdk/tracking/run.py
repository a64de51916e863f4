"""``Run``: one execution, with azureml-core's methods for logging, files and lifecycle."""

from __future__ import annotations

import builtins
import gc
import os
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

from atelier.client.backend import Backend
from atelier.client.registry import backend_for
from atelier.client.relay import relay_backend
from atelier.core.errors import ValidationError
from atelier.core.records import RunRecord, WorkspaceRecord
from atelier.core.status import TERMINAL_STATUSES, RunStatus
from atelier.core.timeutil import ms_to_iso
from atelier.sdk.data._run_inputs import input_datasets
from atelier.sdk.tracking import _frames, _query
from atelier.sdk.tracking._files import FilesMixin
from atelier.sdk.tracking._git import git_properties
from atelier.sdk.tracking._logging import LoggingMixin
from atelier.sdk.tracking._offline import OfflineRun
from atelier.sdk.tracking._run_extras import RunExtrasMixin
from atelier.sdk.tracking._waiting import WaitingMixin
from atelier.sdk.tracking._writer import MetricWriter

if TYPE_CHECKING:
    import pandas as pd

    from atelier.sdk.compute.targets import ComputeTarget
    from atelier.sdk.models.model import Model
    from atelier.sdk.tracking.experiment import Experiment
    from atelier.sdk.workspace import Workspace

#: variables a compute target sets for the script of a platform-started run
ENV_RUN_ID = "ATELIER_RUN_ID"
ENV_TRACKING_URI = "ATELIER_TRACKING_URI"
ENV_WORKSPACE = "ATELIER_WORKSPACE"

_context_run: Run | None = None

#: how ``Run.get_context`` builds the run's ``Workspace`` from the environment. The workspace
#: sits above every domain, so instead of importing it upward the workspace module registers
#: its constructor here when it is imported (``import atelier`` always imports it first).
_workspace_factory: Callable[[Backend, WorkspaceRecord], Workspace] | None = None


def set_workspace_factory(factory: Callable[[Backend, WorkspaceRecord], Workspace]) -> None:
    """Register how a platform-started run opens its workspace (called by ``workspace.py``)."""
    global _workspace_factory
    _workspace_factory = factory


#: the class that opens runs of each run type (``PipelineRun`` for pipeline runs, ...): a
#: subclass names its type in ``run_type_class`` and is registered when its module is imported,
#: as azureml's run types register themselves when their package is imported
_RUN_CLASSES: dict[str, type[Run]] = {}


class Run(LoggingMixin, FilesMixin, WaitingMixin, RunExtrasMixin):
    """A run of an experiment. ``Run(experiment, run_id)`` opens an existing run."""

    #: the run type this class opens in ``Run.get`` (None: any)
    run_type_class: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("run_type_class")
        if kind and kind not in _RUN_CLASSES:  # a subclass of a registered class keeps it
            _RUN_CLASSES[kind] = cls

    def __init__(
        self,
        experiment: Experiment,
        run_id: str,
        outputs: str | None = None,
        *,
        _record: RunRecord | None = None,
        **kwargs: Any,
    ) -> None:
        del outputs, kwargs
        self.experiment = experiment
        self._backend = experiment._backend
        self._workspace_name = experiment.workspace.name
        self._record = _record or self._backend.runs.get(self._workspace_name, run_id)
        self._ended = self._record.status in TERMINAL_STATUSES
        self._metric_writer: MetricWriter | None = None
        self._checked_names: set[str] = set()

    @property
    def _writer(self) -> MetricWriter:
        """Created on first use: runs that are only listed or read start no thread."""
        if self._metric_writer is None:
            self._metric_writer = MetricWriter(self._backend, self._workspace_name, self.id)
        return self._metric_writer

    # --- identity -----------------------------------------------------------------
    @property
    def id(self) -> str:
        return self._record.run_id

    @property
    def number(self) -> int:
        return self._record.number

    @property
    def display_name(self) -> str:
        return self._record.display_name

    @property
    def name(self) -> str:
        return self._record.display_name

    @property
    def type(self) -> str:
        return self._record.run_type

    @property
    def status(self) -> str:
        return self.get_status()

    @property
    def tags(self) -> dict[str, str]:
        return self.get_tags()

    @property
    def properties(self) -> dict[str, str]:
        return self.get_properties()

    @property
    def latest_metrics(self) -> dict[str, float]:
        """The last value of each scalar series (loaded with ``Run.list``, else fetched)."""
        if self._record.latest_metrics is None:
            self._writer.flush()
            self._record = self._backend.runs.get(
                self._workspace_name, self.id, with_latest_metrics=True
            )
        return dict(self._record.latest_metrics or {})

    def get_metrics_dataframe(self, name: str | None = None) -> pd.DataFrame:
        """Every point of the run's scalar series (or of ``name``) in long form: columns
        ``name``, ``step``, ``value`` and ``timestamp`` (UTC)."""
        self._writer.flush()
        if name is None:
            self._record = self._backend.runs.get(
                self._workspace_name, self.id, with_latest_metrics=True
            )
        names = [name] if name is not None else sorted(self._record.latest_metrics or {})
        return _frames.history_frame({n: self.get_metric_history(n) for n in names})

    @property
    def parent(self) -> Run | None:
        if self._record.parent_run_id is None:
            return None
        return Run(self.experiment, self._record.parent_run_id)

    def __repr__(self) -> str:
        return (
            f"Run(Experiment: {self.experiment.name}, Id: {self.id}, "
            f"Type: {self.type}, Status: {self._record.status.value})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    # --- construction -------------------------------------------------------------
    @classmethod
    def _start(
        cls,
        experiment: Experiment,
        *,
        display_name: str | None,
        tags: dict[str, Any] | None,
        source_directory: Path | None,
    ) -> Run:
        properties = git_properties(source_directory) if source_directory else {}
        record = experiment._backend.runs.create(
            experiment.workspace.name,
            experiment.name,
            display_name=display_name or "",
            tags=tags,
            properties=properties,
            status=RunStatus.RUNNING,
        )
        run = cls(experiment, record.run_id, _record=record)
        run._writer.keep_alive()  # a process that dies leaves it Failed, not Running
        return run

    @classmethod
    def _wrap(cls, workspace: Workspace, record: RunRecord) -> Run:
        # through the workspace: the experiment module imports this one
        return cls(workspace._experiment(record.experiment_name), record.run_id, _record=record)

    @classmethod
    def get(cls, workspace: Workspace, run_id: str) -> Run:
        """The run with that id in the workspace; ``NotFoundError`` if there is none.
        ``Run.get`` answers a pipeline run as a ``PipelineRun``, a sweep as a
        ``HyperDriveRun`` (once their packages are imported)."""
        record = workspace._backend.runs.get(workspace.name, run_id)
        return cls._wrap_typed(workspace, record) if cls is Run else cls._wrap(workspace, record)

    @classmethod
    def _wrap_typed(cls, workspace: Workspace, record: RunRecord) -> Run:
        """The run as the class registered for its run type (a plain Run if none is)."""
        return _RUN_CLASSES.get(record.run_type, Run)._wrap(workspace, record)

    @classmethod
    def get_context(cls, allow_offline: bool = True, **kwargs: Any) -> Run | OfflineRun:
        """The run this process was started for (through ``ATELIER_RUN_ID`` and
        ``ATELIER_TRACKING_URI``), or an offline run that prints what it would log."""
        global _context_run
        run_id = os.environ.get(ENV_RUN_ID)
        if not run_id:
            if not allow_offline:
                raise ValidationError(
                    "this process was not started by Atelier (ATELIER_RUN_ID is not set); "
                    "pass allow_offline=True to log to an offline run"
                )
            return OfflineRun()
        if _context_run is not None and _context_run.id == run_id:
            return _context_run
        if _workspace_factory is None:  # pragma: no cover - atelier/__init__ registers it
            raise RuntimeError("atelier.sdk.workspace was not imported; import atelier first")
        tracking_uri = os.environ.get(ENV_TRACKING_URI)
        # under a local supervisor: report through it, which has the store open already
        backend = relay_backend(tracking_uri or "") or backend_for(tracking_uri)
        # the store's modules (SQLAlchemy and its models) are now loaded for good: out of
        # the collector's sight they cost nothing at each collection nor at exit, where
        # collecting them took 0.3-0.6 s of every short run (a sweep's trial)
        gc.freeze()
        workspace_name = os.environ.get(ENV_WORKSPACE) or backend.runs.locate(run_id)
        workspace = _workspace_factory(backend, backend.workspaces.get(workspace_name))
        _context_run = cls.get(workspace, run_id)
        return _context_run

    @classmethod
    def list(
        cls,
        experiment: Experiment,
        type: str | None = None,
        tags: Any = None,
        properties: Any = None,
        status: str | builtins.list[str] | None = None,
        include_children: bool = False,
        _rehydrate_runs: bool = True,
        *,
        order_by: str | tuple[str, str] | None = None,
        top: int | None = None,
    ) -> builtins.list[Run]:
        """Runs of the experiment, newest first, or ordered by a metric's latest value
        (``order_by="accuracy desc"``; runs without it come last, or are left out with ``top``)."""
        query = _query.build(
            tags=tags,
            properties=properties,
            status=status,
            include_children=include_children,
            order_by=order_by,
            top=top,
            run_type=type,
            with_latest_metrics=True,
        )
        records = experiment._backend.runs.list(experiment.workspace.name, experiment.name, query)
        return [cls(experiment, r.run_id, _record=r) for r in records]

    @classmethod
    def list_by_compute(
        cls,
        compute: ComputeTarget,
        type: str | None = None,
        tags: Any = None,
        properties: Any = None,
        status: str | builtins.list[str] | None = None,
    ) -> Iterator[Run]:
        """Runs of every experiment of the compute target's workspace that ran on it."""
        for experiment in compute.workspace.experiments.values():
            for run in cls.list(experiment, type, tags, properties, status, include_children=True):
                if run._record.target == compute.name:
                    yield run

    # --- children -----------------------------------------------------------------
    def child_run(
        self, name: str | None = None, run_id: str | None = None, outputs: str | None = None
    ) -> Run:
        """A running child run; use it as a context manager to complete or fail it."""
        del outputs
        record = self._backend.runs.create(
            self._workspace_name,
            self.experiment.name,
            parent_run_id=self.id,
            display_name=name or "",
            run_id=run_id,
            status=RunStatus.RUNNING,
            run_type=self.type,
        )
        return Run(self.experiment, record.run_id, _record=record)

    def create_children(
        self,
        count: int | None = None,
        tag_key: str | None = None,
        tag_values: builtins.list[str] | None = None,
    ) -> builtins.list[Run]:
        """``count`` children in NotStarted (or one per tag value, tagged ``tag_key``)."""
        if tag_key is not None and tag_values is not None:
            plan: builtins.list[dict[str, Any] | None] = [{tag_key: v} for v in tag_values]
        elif isinstance(count, int) and count > 0:
            plan = [None] * count
        else:
            raise ValidationError("give count >= 1, or tag_key with tag_values")
        children = []
        for tags in plan:
            record = self._backend.runs.create(
                self._workspace_name,
                self.experiment.name,
                parent_run_id=self.id,
                tags=tags,
                status=RunStatus.NOT_STARTED,
                run_type=self.type,
            )
            children.append(Run(self.experiment, record.run_id, _record=record))
        return children

    def get_children(
        self,
        recursive: bool = False,
        tags: Any = None,
        properties: Any = None,
        type: str | None = None,
        status: str | builtins.list[str] | None = None,
        _rehydrate_runs: bool = True,
    ) -> builtins.list[Run]:
        """Child runs in creation order; with ``recursive``, all descendants."""
        wanted_tags = _query.key_filter("tags", tags)
        wanted_props = _query.key_filter("properties", properties)
        wanted_status = set(_query.statuses(status))
        found = []
        for record in self._backend.runs.children(self._workspace_name, self.id, recursive):
            if (
                _matches(record.tags, wanted_tags)
                and _matches(record.properties, wanted_props)
                and (not wanted_status or record.status in wanted_status)
                and (type is None or record.run_type == type)
            ):
                found.append(Run(self.experiment, record.run_id, _record=record))
        return found

    # --- datasets -------------------------------------------------------------------------
    @property
    def input_datasets(self) -> dict[str, Any]:
        """The run's named inputs: inside its script a tabular input is the dataset and a
        file input the local path it was downloaded or mounted to; elsewhere, datasets."""
        return input_datasets(self)

    # --- models -------------------------------------------------------------------------
    def register_model(
        self,
        model_name: str,
        model_path: str | None = None,
        tags: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
        model_framework: str | None = None,
        model_framework_version: str | None = None,
        description: str | None = None,
        datasets: builtins.list[Any] | None = None,
        **kwargs: Any,
    ) -> Model:
        """Register the run's file or folder ``model_path`` (default: ``model_name``), e.g.
        ``"outputs/model.pkl"``, as the next version of ``model_name``.

        The model shares the run's stored files (nothing is copied) and records this run as
        its lineage. Raises ``NotFoundError`` if the run has no such file or folder.
        """
        # through the workspace: models sit above runs (a model knows its run)
        return self.experiment.workspace._register_run_model(
            self,
            model_name,
            model_name if model_path is None else model_path,
            tags=tags,
            properties=properties,
            model_framework=model_framework,
            model_framework_version=model_framework_version,
            description=description,
            datasets=datasets,
            **kwargs,
        )

    # --- lifecycle ------------------------------------------------------------------
    def _refresh(self) -> RunRecord:
        self._record = self._backend.runs.get(self._workspace_name, self.id)
        self._ended = self._record.status in TERMINAL_STATUSES
        return self._record

    def get_status(self) -> str:
        return self._refresh().status.value

    def get_details(self) -> dict[str, Any]:
        """The run as azureml describes it: runId, status, times, properties, tags, error."""
        self._writer.flush()
        record = self._refresh()
        details: dict[str, Any] = {
            "runId": record.run_id,
            "displayName": record.display_name,
            "number": record.number,
            "experiment": record.experiment_name,
            "parentRunId": record.parent_run_id,
            "runType": record.run_type,
            "target": record.target,
            "status": record.status.value,
            "createdTimeUtc": ms_to_iso(record.created_ms),
            "startTimeUtc": ms_to_iso(record.started_ms),
            "endTimeUtc": ms_to_iso(record.ended_ms),
            "properties": dict(record.properties),
            "tags": dict(record.tags),
            "inputDatasets": [],
            "outputDatasets": [],
            "logFiles": {},
            "exitCode": record.exit_code,
            "snapshotId": record.snapshot_id,
            "runDefinition": record.definition or {},
        }
        if record.error is not None:
            details["error"] = record.error
        details["inputDatasets"] = [
            {"name": i["name"], "mode": i["mode"], "datasetId": i.get("dataset_id")}
            for i in (record.definition or {}).get("inputs") or []
        ]
        return details

    def start(self) -> None:
        """Mark a NotStarted run (from ``create_children``) as Running."""
        self._move(RunStatus.RUNNING)

    def complete(self, _set_status: bool = True) -> None:
        """Write buffered metrics and mark the run Completed."""
        self._writer.close()
        if self._refresh().status == RunStatus.NOT_STARTED:
            self._move(RunStatus.RUNNING)
        self._move(RunStatus.COMPLETED)

    def fail(
        self,
        error_details: BaseException | str | None = None,
        error_code: str | None = None,
        _set_status: bool = True,
    ) -> None:
        """Write buffered metrics and mark the run Failed with the error's code and message."""
        error: dict[str, Any] = {"code": error_code or "UserError", "message": "the run failed"}
        if isinstance(error_details, BaseException):
            error["message"] = f"{type(error_details).__name__}: {error_details}"
            error["details"] = "".join(traceback.format_exception(error_details))[-8000:]
        elif error_details:
            error["message"] = str(error_details)
        try:
            self._writer.close()
        finally:
            self._move(RunStatus.FAILED, error)

    def cancel(self) -> None:
        """Cancel the run (and its unfinished children)."""
        self._writer.close()
        self._record = self._backend.runs.cancel(self._workspace_name, self.id)
        self._ended = self._record.status in TERMINAL_STATUSES

    def _move(self, status: RunStatus, error: dict[str, Any] | None = None) -> None:
        self._record = self._backend.runs.transition(self._workspace_name, self.id, status, error)
        self._ended = self._record.status in TERMINAL_STATUSES

    def __enter__(self) -> Run:
        if self._record.status == RunStatus.NOT_STARTED:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: builtins.type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._refresh().status in TERMINAL_STATUSES:
            self._writer.close()
            return
        if exc is None:
            self.complete()
        else:
            self.fail(error_details=exc)


def _matches(values: dict[str, str], wanted: dict[str, str | None]) -> bool:
    return all(k in values and (v is None or values[k] == v) for k, v in wanted.items())
