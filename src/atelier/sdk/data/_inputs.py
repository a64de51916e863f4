"""Datasets as run inputs and outputs: ``ds.as_named_input('iris').as_download()`` and
``OutputFileDatasetConfig``, placed in ``ScriptRunConfig(arguments=[...])``.

In the arguments each becomes a placeholder that the run's supervisor replaces with a
local path (file inputs and outputs) or the dataset's id (tabular inputs) before the
script starts; the script reads ``Run.get_context().input_datasets[name]``.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from atelier.core.data_names import check_dataset_name, check_input_name
from atelier.core.errors import ValidationError
from atelier.sdk.data._step_inputs import StepOutputInput, delimited_format
from atelier.sdk.data.data_reference import INPUT_PREFIX, DataReference
from atelier.sdk.data.datastore import DataPath, Datastore

if TYPE_CHECKING:
    from atelier.sdk.data._dataset_base import AbstractDataset

OUTPUT_PREFIX = "OutputFileDatasetConfig:"


class DatasetConsumptionConfig:
    """A dataset used by a run under ``name``. Tabular datasets are passed directly; file
    datasets are downloaded (default) or mounted read-only before the script starts."""

    def __init__(
        self,
        name: str,
        dataset: AbstractDataset,
        mode: str | None = None,
        path_on_compute: str | None = None,
    ) -> None:
        self.name = check_input_name(name)
        self.dataset = dataset
        default = "direct" if dataset._kind == "tabular" else "download"
        self.mode = mode or default
        if dataset._kind == "tabular" and self.mode != "direct":
            raise ValidationError(
                f"input {name!r}: a tabular dataset is passed directly; to get files, convert "
                "it with to_csv_files() or to_parquet_files() first"
            )
        self.path_on_compute = path_on_compute

    def as_download(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self.name, self.dataset, "download", path_on_compute)

    def as_mount(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self.name, self.dataset, "mount", path_on_compute)

    def as_direct(self) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self.name, self.dataset, "direct")

    def to_input(self) -> dict[str, Any]:
        """What the run's definition records, for the supervisor and for lineage."""
        return {
            "name": self.name,
            "mode": self.mode,
            "kind": self.dataset._kind,
            "dataset_id": self.dataset.id,
            "definition": self.dataset.definition,
            "path_on_compute": self.path_on_compute,
        }

    def __str__(self) -> str:
        return f"{INPUT_PREFIX}{self.name}"

    def __repr__(self) -> str:
        return f"DatasetConsumptionConfig(name={self.name!r}, mode={self.mode!r})"


class OutputFileDatasetConfig:
    """A folder the script writes, uploaded to ``destination`` (a ``(datastore, 'path')``
    tuple or ``DataPath``; default: the default datastore's ``outputs/<run id>/<name>``)
    when the run completes, and registered as a file dataset with
    ``register_on_complete``."""

    def __init__(
        self,
        name: str | None = None,
        destination: tuple[Any, str] | DataPath | None = None,
        source: str | None = None,
        partition_format: str | None = None,
    ) -> None:
        del partition_format
        self.name = check_input_name(name or "output")
        self.destination: tuple[str, str] | None = None
        if destination is not None:
            self.destination = _destination(destination)
        self.source = source
        self.overwrite = False
        self.registration: dict[str, Any] | None = None

    def as_upload(
        self, overwrite: bool = False, source_globs: builtins.list[str] | None = None
    ) -> OutputFileDatasetConfig:
        """Upload the folder when the run ends (the only mode here)."""
        del source_globs
        self.overwrite = overwrite
        return self

    def as_mount(self) -> OutputFileDatasetConfig:
        raise ValidationError("outputs are uploaded when the run ends; use as_upload()")

    def register_on_complete(
        self, name: str, description: str | None = None, tags: dict[str, Any] | None = None
    ) -> OutputFileDatasetConfig:
        """Register the uploaded files as the next version of the file dataset ``name``."""
        self.registration = {
            "name": check_dataset_name(name),
            "description": description or "",
            "tags": dict(tags or {}),
        }
        return self

    def as_input(self, name: str | None = None) -> StepOutputInput:
        """In a pipeline: this output's folder, mounted as an input of a later step."""
        return StepOutputInput(self, name or self.name, "mount")

    def read_delimited_files(
        self,
        include_path: bool = False,
        separator: str = ",",
        header: Any = True,
        partition_format: str | None = None,
        path_glob: str | None = None,
        set_column_types: dict[str, Any] | None = None,
    ) -> StepOutputInput:
        """In a pipeline: this output's CSV files as a tabular dataset input of a later
        step (``Run.get_context().input_datasets[name]``)."""
        del partition_format, path_glob
        fmt = delimited_format(include_path, separator, header, set_column_types)
        return StepOutputInput(self, self.name, "direct", tabular_format=fmt)

    def to_output(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "destination": self.destination,
            "source": self.source,
            "overwrite": self.overwrite,
            "register": self.registration,
        }

    def __str__(self) -> str:
        return f"{OUTPUT_PREFIX}{self.name}"

    def __repr__(self) -> str:
        return f"OutputFileDatasetConfig(name={self.name!r}, destination={self.destination!r})"


def _destination(value: Any) -> tuple[str, str]:
    if isinstance(value, DataPath):
        return value.datastore.name, value.path_on_datastore
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], Datastore):
        return value[0].name, str(value[1]).strip("/")
    raise ValidationError("destination must be a (datastore, 'path') tuple or a DataPath")


def collect(
    arguments: builtins.list[Any],
) -> tuple[builtins.list[dict[str, Any]], builtins.list[dict[str, Any]]]:
    """The inputs and outputs named in a run's arguments."""
    inputs = [
        a.to_input() for a in arguments if isinstance(a, DatasetConsumptionConfig | DataReference)
    ]
    outputs = [a.to_output() for a in arguments if isinstance(a, OutputFileDatasetConfig)]
    names = [i["name"] for i in inputs] + [o["name"] for o in outputs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValidationError(f"run inputs/outputs share the name(s) {duplicates}; rename them")
    return inputs, outputs
