"""What flows between pipeline steps: ``PipelineData`` (a folder one step writes and
others read), ```PipelineParameter`` (a value chosen at submit) and ``DataReference`` (a fixed
path on a datastore). A step's ``OutputFileDatasetConfig`` is read by later steps through
its ``as_input()`` / ``read_delimited_files()``.

Each is an object placed in a step's ``arguments`` / ``inputs`` / ``outputs``; when the
pipeline is built it becomes a placeholder in the arguments that the run's supervisor
replaces with a local path (or the parameter's value), exactly as for a single run.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from atelier.core.errors import ValidationError
from atelier.core.pipelines import PARAMETER_PREFIX
from atelier.sdk.data._step_inputs import StepOutputInput
from atelier.sdk.data.datastore import Datastore

if TYPE_CHECKING:
    from atelier.sdk.pipelines.steps import PipelineStep

_NAME = re.compile(r"^[A-Za-z0-9_]{1,255}$")
_PARAMETER_TYPES = (str, int, float, bool)


def _check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValidationError(
            f"{what} name {name!r} may contain only letters, digits and underscores"
        )
    return name


class PipelineParameter:
    """A value chosen when the pipeline is submitted (``pipeline_parameters={name: value}``),
    ``default_value`` otherwise. Put it in a step's ``arguments``."""

    def __init__(self, name: str, default_value: Any) -> None:
        self.name = _check_name(name, "PipelineParameter")
        if default_value is not None and not isinstance(default_value, _PARAMETER_TYPES):
            raise ValidationError(
                f"PipelineParameter {name!r}: default_value must be a str, int, float or bool"
            )
        self.default_value = default_value

    def __str__(self) -> str:
        return f"{PARAMETER_PREFIX}{self.name}"

    def __repr__(self) -> str:
        return f"PipelineParameter(name={self.name!r}, default_value={self.default_value!r})"


class PipelineData:
    """Intermediate data: a folder that the step listing it in ``outputs`` writes and the
    steps listing it in ``inputs`` read. Stored on ``datastore`` (default: the workspace's
    default datastore) under a fresh path per producing run."""

    def __init__(
        self,
        name: str,
        datastore: Datastore | None = None,
        output_name: str | None = None,
        output_mode: str = "mount",
        output_path_on_compute: str | None = None,
        output_overwrite: bool | None = None,
        data_type: str | None = None,
        is_directory: bool | None = None,
        pipeline_output_name: str | None = None,
        training_output: Any = None,
    ) -> None:
        del output_path_on_compute, data_type, pipeline_output_name, training_output
        self.name = _check_name(name, "PipelineData")
        self.output_name = _check_name(output_name or name, "PipelineData output")
        if output_mode not in ("mount", "upload"):
            raise ValidationError("output_mode must be 'mount' or 'upload'")
        if datastore is not None and not isinstance(datastore, Datastore):
            raise ValidationError("datastore must be a Datastore (or None for the default)")
        self.datastore = datastore
        self.output_mode = output_mode
        self.overwrite = bool(output_overwrite)
        self.is_directory = is_directory
        self._producer: PipelineStep | None = None

    def as_download(
        self,
        input_name: str | None = None,
        path_on_compute: str | None = None,
        overwrite: Any = None,
    ) -> StepOutputInput:
        del overwrite
        return StepOutputInput(self, input_name or self.name, "download", path_on_compute)

    def as_mount(self, input_name: str | None = None) -> StepOutputInput:
        return StepOutputInput(self, input_name or self.name, "mount")

    def as_input(self, input_name: str | None = None) -> StepOutputInput:
        return StepOutputInput(self, input_name or self.name, "mount")

    def as_dataset(self) -> PipelineData:
        return self

    def __str__(self) -> str:
        return f"$AZUREML_DATAREFERENCE_{self.name}"

    def __repr__(self) -> str:
        return f"PipelineData(name={self.name!r})"
