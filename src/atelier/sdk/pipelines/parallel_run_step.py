"""``ParallelRunStep``: batch scoring as a pipeline step. The step runs the batch driver of
:mod:`atelier.sdk.parallel_run` over its dataset inputs (mini-batches spread over
``process_count_per_node`` processes, or over Ray nodes on a Ray target)."""

from __future__ import annotations

import builtins
from typing import Any

from atelier.core.errors import ValidationError
from atelier.sdk.parallel_run.config import ParallelRunConfig
from atelier.sdk.parallel_run.launch import prepare
from atelier.sdk.pipelines.steps import PipelineStep
from atelier.sdk.tracking.runconfig import RunConfiguration


class ParallelRunStep(PipelineStep):
    """Scores ``inputs`` (FileDatasets or TabularDatasets, or their ``as_named_input``)
    with ``parallel_run_config``'s entry script; results go to ``output`` (a
    ``PipelineData`` or ``OutputFileDatasetConfig``) as azureml's ``append_row`` file or a
    summary. ``side_inputs`` are read by the entry script but not split into
    mini-batches; ``arguments`` reach it in ``sys.argv`` (azureml's signature)."""

    kind = "ParallelRunStep"

    def __init__(
        self,
        name: str,
        parallel_run_config: ParallelRunConfig,
        inputs: builtins.list[Any],
        output: Any = None,
        side_inputs: builtins.list[Any] | None = None,
        arguments: builtins.list[Any] | None = None,
        allow_reuse: bool = True,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("ParallelRunStep needs a name")
        launch = prepare(parallel_run_config, inputs, output, arguments)
        runconfig = RunConfiguration()
        runconfig.environment = launch.environment
        runconfig.environment_variables.update(launch.environment_variables)
        self.parallel_run_config = parallel_run_config
        super().__init__(
            name,
            script_name=launch.script,
            arguments=launch.arguments,
            inputs=[*launch.inputs, *(side_inputs or [])],
            outputs=[output] if output is not None else [],
            compute_target=launch.compute_target,
            runconfig=runconfig,
            source_directory=launch.source_directory,
            allow_reuse=allow_reuse,
        )
