"""Starting a pipeline run from a graph: a ``Pipeline`` just built, or a published one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from atelier.core.errors import AtelierError
from atelier.core.pipelines import PIPELINE_RUN_TYPE, run_definition
from atelier.core.status import RunStatus
from atelier.execution import pipeline_runner as _runner
from atelier.sdk.tracking.experiment import Experiment
from atelier.sdk.tracking.run import Run

if TYPE_CHECKING:
    from atelier.sdk.pipelines.runs import PipelineRun


def submit_graph(
    experiment: Experiment,
    graph: dict[str, Any],
    *,
    pipeline_parameters: dict[str, Any] | None = None,
    regenerate_outputs: bool = False,
    continue_on_step_failure: bool = False,
    tags: dict[str, Any] | None = None,
    properties: dict[str, Any] | None = None,
) -> PipelineRun:
    """Create the pipeline run, take its first pass here (reused steps complete at once)
    and leave the rest to a detached runner."""
    definition = run_definition(
        graph,
        pipeline_parameters,
        regenerate_outputs=regenerate_outputs,
        continue_on_step_failure=continue_on_step_failure,
    )
    backend = experiment._backend
    workspace = experiment.workspace.name
    record = backend.runs.create(
        workspace,
        experiment.name,
        status=RunStatus.QUEUED,
        run_type=PIPELINE_RUN_TYPE,
        tags=tags,
        properties={"azureml.runsource": PIPELINE_RUN_TYPE, **(properties or {})},
        definition=definition,
    )
    try:
        done = _runner.advance(backend, workspace, record.run_id)
    except AtelierError as exc:
        _runner.fail(backend, workspace, record.run_id, exc.message)
        raise
    if not done:
        _runner.start_runner(backend, workspace, record.run_id)
    # opened by its run type (PipelineRun registers itself): the run classes sit above this
    # module, as PipelineRun.publish_pipeline publishes through it
    fresh = backend.runs.get(workspace, record.run_id)
    return cast("PipelineRun", Run._wrap_typed(experiment.workspace, fresh))
