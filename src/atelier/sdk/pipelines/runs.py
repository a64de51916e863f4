"""``PipelineRun`` (a submitted pipeline) and ``StepRun`` (one of its steps), with the data
a step wrote: ``step_run.get_output_data(name).download(path)``."""

from __future__ import annotations

import builtins
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from atelier.client import data_files
from atelier.core.errors import NotFoundError, RunFailedError, ValidationError
from atelier.core.pipelines import (
    HYPERDRIVE_RUN_TYPE,
    PIPELINE_RUN_TYPE,
    REUSED_RUN,
    STEP_NAME,
    STEP_RUN_TYPE,
)
from atelier.core.records import RunRecord
from atelier.core.status import TERMINAL_STATUSES, RunStatus
from atelier.execution import pipeline_reuse as _reuse
from atelier.execution.reaper import reap
from atelier.sdk.pipelines.published import PublishedPipeline, publish_graph
from atelier.sdk.sweeps.run import HyperDriveRun
from atelier.sdk.tracking.run import Run

if TYPE_CHECKING:
    from atelier.sdk.tracking.experiment import Experiment

_POLL_SECONDS = 0.1


class PortDataReference:
    """An output a step run wrote: ``download(local_path)`` fetches its files."""

    def __init__(
        self, step_run: StepRun, name: str, datastore: str, path_on_datastore: str
    ) -> None:
        self.step_run = step_run
        self.name = name
        self.datastore_name = datastore
        self.path_on_datastore = path_on_datastore

    def download(
        self,
        local_path: str | Path,
        overwrite: bool | None = None,
        show_progress: bool | None = None,
    ) -> str:
        """Write the output's files under ``local_path/<path on datastore>``; returns that
        folder. ``NotFoundError`` if the output has no files (any more)."""
        del show_progress
        source = {"datastore": self.datastore_name, "path": f"{self.path_on_datastore}/**"}
        backend = self.step_run._backend
        files = data_files.resolve(backend, self.step_run._workspace_name, [source])
        target = Path(local_path) / self.path_on_datastore
        data_files.download(files, target, overwrite=bool(overwrite))
        return str(target)

    def __repr__(self) -> str:
        return (
            f"PortDataReference(name={self.name!r}, datastore={self.datastore_name!r}, "
            f"path_on_datastore={self.path_on_datastore!r})"
        )


class StepRun(Run):
    """The run of one pipeline step. A reused step's run says which run it reused
    (``get_details()['reuse']``) and points at that run's outputs."""

    run_type_class = STEP_RUN_TYPE

    @property
    def name(self) -> str:
        return self._record.properties.get(STEP_NAME) or self._record.display_name

    @property
    def reused_run_id(self) -> str | None:
        return self._record.properties.get(REUSED_RUN)

    def get_details(self) -> dict[str, Any]:
        """azureml's details, plus ``reuse``: the reuse key, what it is made of, and the
        run reused (or why none was)."""
        details = super().get_details()
        details["reuse"] = (self._record.definition or {}).get("reuse")
        return details

    def get_outputs(self) -> dict[str, PortDataReference]:
        record = self._refresh()
        sources = _reuse.output_sources(record.definition or {}, record.properties)
        return {
            name: PortDataReference(self, name, s["datastore"], s["path"].removesuffix("/**"))
            for name, s in sources.items()
        }

    def get_output_data(self, name: str) -> PortDataReference:
        """The output ``name`` of this step; ``NotFoundError`` naming the outputs it has."""
        outputs = self.get_outputs()
        if name not in outputs:
            raise NotFoundError(
                f"step {self.name!r} has no output {name!r}; its outputs: {sorted(outputs)}"
            )
        return outputs[name]

    def get_output(self, name: str) -> PortDataReference:
        return self.get_output_data(name)

    def get_job_log(self) -> str:
        chunks, offset = [], 0
        while True:
            chunk, ended = self._backend.runs.read_log(self._workspace_name, self.id, offset)
            chunks.append(chunk)
            offset += len(chunk)
            if not chunk or ended:
                break
        return b"".join(chunks).decode("utf-8", errors="replace")


class HyperDriveStepRun(HyperDriveRun, StepRun):
    """The run of a HyperDriveStep: a step run that is also the sweep's parent run
    (``get_best_run_by_primary_metric()``, ``get_children_sorted_by_primary_metric()``)."""


class PipelineRun(Run):
    """A submitted pipeline: its steps are child ``StepRun`` s."""

    run_type_class = PIPELINE_RUN_TYPE

    def __init__(
        self,
        experiment: Experiment,
        run_id: str,
        _service_endpoint: Any = None,
        *,
        _record: RunRecord | None = None,
        **kwargs: Any,
    ) -> None:
        del _service_endpoint
        super().__init__(experiment, run_id, _record=_record, **kwargs)

    def get_steps(self) -> builtins.list[StepRun]:
        """The step runs, in the order they started (reused steps included)."""
        records = self._backend.runs.children(self._workspace_name, self.id, False)
        return [
            (HyperDriveStepRun if r.run_type == HYPERDRIVE_RUN_TYPE else StepRun)(
                self.experiment, r.run_id, _record=r
            )
            for r in records
        ]

    def find_step_run(self, name: str) -> builtins.list[StepRun]:
        """The runs of the step called ``name`` (azureml answers a list)."""
        return [s for s in self.get_steps() if s.name == name]

    def publish_pipeline(
        self,
        name: str,
        description: str,
        version: str,
        continue_on_step_failure: bool | None = None,
        **kwargs: Any,
    ) -> PublishedPipeline:
        """Publish the pipeline this run ran (its steps' stored snapshots, arguments and
        parameters) as a ``PublishedPipeline``: no code of the original is needed."""
        del kwargs
        graph = self.get_graph()
        if not graph.get("steps"):
            raise ValidationError(f"run {self.id} records no pipeline graph to publish")
        workspace = self.experiment.workspace
        return publish_graph(workspace, name, graph, description, version, continue_on_step_failure)

    def get_step_statuses(self) -> dict[str, str]:
        return {s.name: s.status for s in self.get_steps()}

    def get_graph(self) -> dict[str, Any]:
        """The pipeline as run: steps with their definitions, upstream steps, parameters."""
        return dict((self._refresh().definition or {}).get("graph") or {})

    # azureml's PipelineRun takes timeout_seconds second, unlike Run
    def wait_for_completion(  # type: ignore[override]
        self,
        show_output: bool = True,
        timeout_seconds: float | None = None,
        raise_on_error: bool = True,
        wait_post_processing: bool = False,
    ) -> dict[str, Any]:
        """Block until the pipeline run ends. With ``show_output``, print each step's status
        changes and its output once it ends. Raises ``RunFailedError`` if it failed."""
        del wait_post_processing
        out: TextIO = sys.stdout
        deadline = time.monotonic() + timeout_seconds if timeout_seconds else None
        seen: dict[str, str] = {}
        last_reap = time.monotonic()
        if show_output:
            out.write(f"PipelineRunId: {self.id}\n")
        while True:
            record = self._refresh()
            if show_output:
                self._report(seen, out)
            if record.status in TERMINAL_STATUSES:
                break
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"pipeline run {self.id} still {record.status} after waiting")
            if time.monotonic() - last_reap > 2.0:
                reap(self._backend, self._workspace_name)
                last_reap = time.monotonic()
            time.sleep(_POLL_SECONDS)
        if show_output:
            out.write(f"PipelineRun Status: {record.status.value}\n")
            out.flush()
        if raise_on_error and record.status in (RunStatus.FAILED, RunStatus.CANCELED):
            message = (record.error or {}).get("message", "no error recorded")
            raise RunFailedError(f"pipeline run {self.id} ended {record.status.value}: {message}")
        return self.get_details()

    def _report(self, seen: dict[str, str], out: TextIO) -> None:
        for step in self.get_steps():
            status = step.status
            if seen.get(step.id) == status:
                continue
            seen[step.id] = status
            reused = f" (reused {step.reused_run_id})" if step.reused_run_id else ""
            out.write(f"StepRun({step.name}) {step.id} Status: {status}{reused}\n")
            if status in TERMINAL_STATUSES and not step.reused_run_id:
                log = step.get_job_log()
                if log:
                    out.write(log if log.endswith("\n") else log + "\n")
        out.flush()
