"""``DataReference``: a datastore folder as a run's input, azureml's older way to hand a
script data (``datastore.as_mount()``, ``datastore.path('images').as_download()``).

In ``ScriptRunConfig(arguments=[...])`` it becomes the local path of the files, mounted
(read-only) or downloaded before the script starts, like a file dataset's input: at
``path_on_compute`` when given (a relative path is below the run's working directory),
else in the run's ``inputs/<name>`` folder. The script also finds the path in the
variable ``AZUREML_DATAREFERENCE_<name>``, as in azureml.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

from atelier.core.data_names import check_input_name
from atelier.core.errors import ValidationError

if TYPE_CHECKING:
    from atelier.sdk.data.datastore import Datastore

INPUT_PREFIX = "DatasetConsumptionConfig:"
MODES = ("mount", "download")


def default_input_name(seed: str) -> str:
    """azureml's kind of generated input name: ``input_<8 hex>`` from what is read."""
    return "input_" + hashlib.sha256(seed.encode()).hexdigest()[:8]


class DataReference:
    """Files under ``path_on_datastore`` of a datastore, mounted or downloaded for a run."""

    def __init__(
        self,
        datastore: Datastore,
        data_reference_name: str | None = None,
        path_on_datastore: str | None = None,
        mode: str = "mount",
        path_on_compute: str | None = None,
        overwrite: bool = False,
    ) -> None:
        if mode not in MODES:
            raise ValidationError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if path_on_compute is not None and (
            not isinstance(path_on_compute, str) or not (path_on_compute.strip())
        ):
            raise ValidationError(
                f"path_on_compute must be a folder path (absolute, or relative to the run's "
                f"working directory); got {path_on_compute!r}"
            )
        self.datastore = datastore
        self.path_on_datastore = (path_on_datastore or "").strip("/")
        if data_reference_name is None:
            cleaned = re.sub(r"[^A-Za-z0-9_]", "_", datastore.name)
            data_reference_name = cleaned if cleaned[:1].isalpha() else "input_" + cleaned
            if self.path_on_datastore:
                data_reference_name = default_input_name(
                    f"{datastore.name}/{self.path_on_datastore}"
                )
        self.data_reference_name = check_input_name(data_reference_name)
        self.mode = mode
        self.path_on_compute = path_on_compute
        self.overwrite = overwrite

    def as_mount(self, path_on_compute: str | None = None) -> DataReference:
        """Mounted read-only, at ``path_on_compute`` (else where this one said)."""
        return self._with("mount", path_on_compute or self.path_on_compute)

    def as_download(
        self, path_on_compute: str | None = None, overwrite: bool = False
    ) -> DataReference:
        del overwrite
        return self._with("download", path_on_compute)

    def path(
        self, path: str | None = None, data_reference_name: str | None = None
    ) -> DataReference:
        """A folder below this one."""
        below = "/".join(p for p in (self.path_on_datastore, (path or "").strip("/")) if p)
        return DataReference(self.datastore, data_reference_name, below, self.mode)

    def _with(self, mode: str, path_on_compute: str | None) -> DataReference:
        return DataReference(
            self.datastore, self.data_reference_name, self.path_on_datastore, mode, path_on_compute
        )

    def to_input(self) -> dict[str, Any]:
        """What the run's definition records: a file input read from the datastore."""
        store = self.datastore.name
        return {
            "name": self.data_reference_name,
            "mode": self.mode,
            "kind": "file",
            "dataset_id": None,
            "definition": {
                "kind": "file",
                "sources": [{"datastore": store, "path": self.path_on_datastore or "**"}],
                "steps": [],
                "datastores": [store],
            },
            "path_on_compute": self.path_on_compute,
        }

    def __str__(self) -> str:
        return f"{INPUT_PREFIX}{self.data_reference_name}"

    def __repr__(self) -> str:
        return (
            f"DataReference(datastore={self.datastore.name!r}, "
            f"path={self.path_on_datastore!r}, mode={self.mode!r})"
        )
