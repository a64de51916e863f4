"""``Pipeline``: steps joined by the data they pass, validated, submitted with
``Experiment.submit(pipeline, pipeline_parameters=...)`` and publishable."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from atelier.core.errors import PipelineValidationError, ValidationError
from atelier.sdk.pipelines import _graph
from atelier.sdk.pipelines._submit import submit_graph
from atelier.sdk.pipelines.published import PublishedPipeline, publish_graph
from atelier.sdk.pipelines.runs import PipelineRun
from atelier.sdk.pipelines.steps import PipelineStep
from atelier.sdk.tracking.experiment import Experiment

if TYPE_CHECKING:
    from atelier.sdk.data.datastore import Datastore
    from atelier.sdk.workspace import Workspace


class Pipeline:
    """A DAG of steps. ``steps`` may list only the last ones: with ``resolve_closure`` the
    steps producing the data they read are brought in."""

    def __init__(
        self,
        workspace: Workspace,
        steps: builtins.list[PipelineStep],
        description: str | None = None,
        default_datastore: Datastore | None = None,
        default_source_directory: str | None = None,
        resolve_closure: bool = True,
        _workflow_provider: Any = None,
        _service_endpoint: Any = None,
        **kwargs: Any,
    ) -> None:
        del default_datastore, _workflow_provider, _service_endpoint, kwargs
        if isinstance(steps, PipelineStep):
            steps = [steps]
        if not isinstance(steps, list) or not steps:
            raise ValidationError("a pipeline needs a non-empty list of steps")
        self._workspace = workspace
        self.description = description
        self.default_source_directory = default_source_directory
        self._steps = _graph.closure(list(steps), resolve_closure)

    @property
    def workspace(self) -> Workspace:
        return self._workspace

    @property
    def steps(self) -> builtins.list[PipelineStep]:
        return list(self._steps)

    def validate(self) -> builtins.list[PipelineValidationError]:
        """Every problem found, each a typed error (``PipelineCycleError``,
        ``MissingProducerError``, ``DuplicateOutputError``, ``MissingScriptError`` ...);
        empty when the pipeline can run."""
        return _graph.problems(self._steps, self.default_source_directory)

    def _graph(self) -> dict[str, Any]:
        return _graph.build(
            self._workspace, self._steps, self.default_source_directory, self.description
        )

    def _submit_to(
        self,
        experiment: Experiment,
        tags: dict[str, Any] | None = None,
        pipeline_parameters: dict[str, Any] | None = None,
        regenerate_outputs: bool = False,
        continue_on_step_failure: bool | None = None,
        **kwargs: Any,
    ) -> PipelineRun:
        """``Experiment.submit(pipeline, ...)``: validate, store the steps' snapshots, run."""
        del kwargs
        if experiment.workspace.name != self._workspace.name:
            raise ValidationError("submit the pipeline to an experiment of its own workspace")
        return submit_graph(
            experiment,
            self._graph(),
            pipeline_parameters=pipeline_parameters,
            regenerate_outputs=regenerate_outputs,
            continue_on_step_failure=bool(continue_on_step_failure),
            tags=tags,
        )

    def submit(
        self,
        experiment_name: str,
        pipeline_parameters: dict[str, Any] | None = None,
        continue_on_step_failure: bool = False,
        regenerate_outputs: bool = False,
        parent_run_id: str | None = None,
        credential_passthrough: Any = None,
        **kwargs: Any,
    ) -> PipelineRun:
        """Submit to the experiment ``experiment_name`` (created if needed)."""
        del parent_run_id, credential_passthrough
        return self._submit_to(
            Experiment(self._workspace, experiment_name),
            kwargs.get("tags"),
            pipeline_parameters=pipeline_parameters,
            regenerate_outputs=regenerate_outputs,
            continue_on_step_failure=continue_on_step_failure,
        )

    def publish(
        self,
        name: str | None = None,
        description: str | None = None,
        version: str | None = None,
        continue_on_step_failure: bool | None = None,
    ) -> PublishedPipeline:
        """Freeze the pipeline (its steps' snapshots, arguments, parameters) as a
        ``PublishedPipeline`` with a REST endpoint; runs of it need none of this code."""
        return publish_graph(
            self._workspace,
            name,
            self._graph(),
            description or self.description,
            version,
            continue_on_step_failure,
        )

    def __repr__(self) -> str:
        return f"Pipeline(steps={[s.name for s in self._steps]})"
