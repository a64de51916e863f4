"""Pipeline steps. A step is a command in a source directory, with inputs, outputs, a
compute target and an environment; it is reused when its reuse key (snapshot, arguments,
parameters, environment, compute kind, input fingerprints) matches an earlier run whose
outputs still exist.

:class:`PipelineStep` is the base every kind of step builds on: a subclass says what runs
(``script_name`` or ``command``) and passes the rest through; ParallelRunStep and
HyperDriveStep are built this way.
"""

from __future__ import annotations

import builtins
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.errors import ValidationError
from atelier.sdk.compute.environment import Environment
from atelier.sdk.data._inputs import DatasetConsumptionConfig, OutputFileDatasetConfig
from atelier.sdk.data._step_inputs import StepOutputInput
from atelier.sdk.data.data_reference import DataReference
from atelier.sdk.pipelines._data import PipelineData, PipelineParameter
from atelier.sdk.tracking.runconfig import RunConfiguration, _target_name

if TYPE_CHECKING:
    from atelier.sdk.compute.targets import ComputeTarget
    from atelier.sdk.workspace import Workspace

__all__ = ["PipelineStep", "PythonScriptStep"]

#: an output object -> the step that writes it (for ``Pipeline(resolve_closure=True)``)
_PRODUCERS: weakref.WeakKeyDictionary[Any, PipelineStep] = weakref.WeakKeyDictionary()

OUTPUT_TYPES = (PipelineData, OutputFileDatasetConfig)
INPUT_TYPES = (PipelineData, StepOutputInput, DataReference, DatasetConsumptionConfig)


def producer_of(output: Any) -> PipelineStep | None:
    return _PRODUCERS.get(output)


class PipelineStep:
    """A command (or a Python script) in ``source_directory`` with its data, compute and
    environment. ``inputs`` and ``outputs`` list the data it reads and writes (objects placed
    in ``arguments`` count too); ``params`` become environment variables
    ``AML_PARAMETER_<name>``; ``allow_reuse=False`` reruns it every time."""

    #: the step's kind as its run records it
    kind = "PipelineStep"

    def __init__(
        self,
        name: str | None,
        *,
        script_name: str | None = None,
        command: str | builtins.list[str] | None = None,
        arguments: builtins.list[Any] | None = None,
        inputs: builtins.list[Any] | None = None,
        outputs: builtins.list[Any] | None = None,
        compute_target: str | ComputeTarget | tuple[str, str] | None = None,
        runconfig: RunConfiguration | None = None,
        environment: Environment | None = None,
        source_directory: str | Path | None = None,
        allow_reuse: bool = True,
        params: dict[str, Any] | None = None,
    ) -> None:
        if not script_name and not command:
            raise ValidationError("a step needs a script_name or a command")
        self.name = name or script_name or "step"
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValidationError("a step's name must be a non-empty string")
        self.script_name = script_name
        self.command = command
        self.arguments = list(arguments or [])
        self.inputs = list(inputs or [])
        self.outputs = list(outputs or [])
        self.runconfig = runconfig or RunConfiguration()
        if environment is not None:
            if not isinstance(environment, Environment):
                raise ValidationError("environment must be an atelier Environment")
            self.runconfig.environment = environment
        if isinstance(compute_target, tuple):
            compute_target = compute_target[0]
        self.compute_target = _target_name(compute_target or self.runconfig.target)
        self.source_directory = str(source_directory) if source_directory is not None else None
        self.allow_reuse = bool(allow_reuse)
        self.params = dict(params or {})
        for item in self.inputs:
            if not isinstance(item, INPUT_TYPES):
                raise ValidationError(
                    f"step {self.name!r}: inputs take PipelineData, DataReference, a dataset's "
                    f"as_named_input(...) or an output's as_input(), not {type(item).__name__}"
                )
        for item in self.outputs:
            if not isinstance(item, OUTPUT_TYPES):
                raise ValidationError(
                    f"step {self.name!r}: outputs take PipelineData or OutputFileDatasetConfig, "
                    f"not {type(item).__name__}"
                )
        for item in self.all_outputs():
            _PRODUCERS.setdefault(item, self)

    # --- what the graph builder asks of a step ---------------------------------------
    def all_outputs(self) -> builtins.list[Any]:
        """Declared outputs, then output objects placed only in the arguments."""
        found = list(self.outputs)
        for item in self.arguments:
            if isinstance(item, OutputFileDatasetConfig) and not _contains(found, item):
                found.append(item)
        return found

    def all_inputs(self) -> builtins.list[Any]:
        """Declared inputs, then input objects placed only in the arguments."""
        outputs = self.all_outputs()
        found = list(self.inputs)
        for item in self.arguments:
            if (
                isinstance(item, INPUT_TYPES)
                and not _contains(found, item)
                and not _contains(outputs, item)
            ):
                found.append(item)
        return found

    def parameters(self) -> builtins.list[PipelineParameter]:
        values = [*self.arguments, *self.params.values()]
        return [v for v in values if isinstance(v, PipelineParameter)]

    def graph_extra(self, workspace: Workspace, target: str) -> dict[str, Any]:
        """What this kind of step adds to its entry in the pipeline's graph."""
        del workspace, target
        return {}

    def resolved_source_directory(self, default: str | None) -> Path:
        return Path(self.source_directory or default or ".")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _contains(items: builtins.list[Any], item: Any) -> bool:
    return any(existing is item for existing in items)


class PythonScriptStep(PipelineStep):
    """Runs ``script_name`` from ``source_directory`` with ``arguments`` on
    ``compute_target`` in ``runconfig``'s environment (azureml's signature)."""

    kind = "PythonScriptStep"

    def __init__(
        self,
        script_name: str,
        name: str | None = None,
        arguments: builtins.list[Any] | None = None,
        compute_target: str | ComputeTarget | tuple[str, str] | None = None,
        runconfig: RunConfiguration | None = None,
        runconfig_pipeline_params: dict[str, Any] | None = None,
        inputs: builtins.list[Any] | None = None,
        outputs: builtins.list[Any] | None = None,
        params: dict[str, Any] | None = None,
        source_directory: str | Path | None = None,
        allow_reuse: bool = True,
        version: str | None = None,
        hash_paths: builtins.list[str] | None = None,
        environment: Environment | None = None,
    ) -> None:
        del runconfig_pipeline_params, version, hash_paths
        if not isinstance(script_name, str) or not script_name:
            raise ValidationError("PythonScriptStep needs a script_name")
        super().__init__(
            name,
            script_name=script_name,
            arguments=arguments,
            inputs=inputs,
            outputs=outputs,
            compute_target=compute_target,
            runconfig=runconfig,
            environment=environment,
            source_directory=source_directory,
            allow_reuse=allow_reuse,
            params=params,
        )
