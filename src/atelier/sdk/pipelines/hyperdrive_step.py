"""``HyperDriveStep``: a sweep as a pipeline step.

The step's run is the sweep's parent run (a child of the pipeline run); its trials are
children of the step run, run by the sweep controller exactly as for
``Experiment.submit(HyperDriveConfig)``. Every trial reads the step's inputs; each trial
writes its outputs to a folder of its own, and once the sweep completes the step's
outputs are the best trial's (by the primary metric), so the next step reads the best
model. ``metrics_output`` (a ``PipelineData``) receives ``metrics.json``: every trial's
metrics, by run id.
"""

from __future__ import annotations

import builtins
import copy
from typing import TYPE_CHECKING, Any

from atelier.core.errors import ValidationError
from atelier.sdk.pipelines._data import PipelineData
from atelier.sdk.pipelines.steps import PipelineStep
from atelier.sdk.sweeps.config import HyperDriveConfig, sweep_properties

if TYPE_CHECKING:
    from atelier.sdk.workspace import Workspace

__all__ = ["HyperDriveStep"]


class HyperDriveStep(PipelineStep):
    """Runs ``hyperdrive_config``'s sweep as a step (azureml's signature).
    ``estimator_entry_script_arguments`` replace the ScriptRunConfig's arguments when given
    (each trial's hyperparameters are added to them); ``inputs`` and ``outputs`` are the
    data every trial reads and writes; ``metrics_output`` is a ``PipelineData`` that gets
    the trials' metrics as JSON. Raises ``ValidationError`` for a wrong argument."""

    kind = "HyperDriveStep"

    def __init__(
        self,
        name: str,
        hyperdrive_config: HyperDriveConfig,
        estimator_entry_script_arguments: builtins.list[Any] | None = None,
        inputs: builtins.list[Any] | None = None,
        outputs: builtins.list[Any] | None = None,
        metrics_output: PipelineData | None = None,
        allow_reuse: bool = True,
        version: str | None = None,
    ) -> None:
        del version
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("HyperDriveStep needs a name")
        if not isinstance(hyperdrive_config, HyperDriveConfig):
            raise ValidationError("HyperDriveStep needs hyperdrive_config=HyperDriveConfig(...)")
        if metrics_output is not None and not isinstance(metrics_output, PipelineData):
            raise ValidationError("metrics_output must be a PipelineData")
        config = hyperdrive_config.run_config
        runconfig = copy.copy(config.run_config)
        arguments = (
            estimator_entry_script_arguments
            if estimator_entry_script_arguments is not None
            else config.run_config.arguments
        )
        self.hyperdrive_config = hyperdrive_config
        self.metrics_output = metrics_output
        declared = list(outputs or [])
        if metrics_output is not None and not any(o is metrics_output for o in declared):
            declared.append(metrics_output)
        super().__init__(
            name,
            script_name=config.run_config.script,
            command=config.run_config.command,
            arguments=list(arguments or []),
            inputs=inputs,
            outputs=declared,
            compute_target=config.run_config.target,
            runconfig=runconfig,
            source_directory=config.source_directory,
            allow_reuse=allow_reuse,
        )

    def graph_extra(self, workspace: Workspace, target: str) -> dict[str, Any]:
        """The sweep's settings (concurrency checked against the step's target) and which
        output gets the metrics."""
        settings = self.hyperdrive_config.settings_for(workspace._backend, workspace.name, target)
        return {
            "hyperdrive": settings,
            "properties": sweep_properties(settings),
            "metrics_output": self.metrics_output.name if self.metrics_output else None,
        }
