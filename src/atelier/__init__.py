"""Atelier: a self-hosted machine-learning workspace with azureml-core's names.

```python
from atelier import Workspace, Experiment, Run
ws = Workspace.create("demo", exist_ok=True)
with Experiment(ws, "iris").start_logging() as run:
    run.log("accuracy", 0.93)
```
"""

from typing import TYPE_CHECKING

from atelier.core.errors import (
    AlreadyExistsError,
    AtelierError,
    ComputeTargetException,
    ComputeTargetNotFoundError,
    ConflictError,
    HomeError,
    InvalidStateError,
    MissingExtraError,
    NotFoundError,
    PermissionDeniedError,
    RunFailedError,
    StorageError,
    StoreError,
    UnauthenticatedError,
    ValidationError,
)
from atelier.core.status import RunStatus
from atelier.sdk import Experiment, Run, Workspace
from atelier.sdk.compute.conda_dependencies import CondaDependencies
from atelier.sdk.compute.environment import Environment
from atelier.sdk.compute.targets import AmlCompute, ComputeTarget, RemoteCompute
from atelier.sdk.data.dataset import Dataset
from atelier.sdk.data.datastore import Datastore
from atelier.sdk.models.model import Model
from atelier.sdk.tracking.runconfig import RunConfiguration, ScriptRunConfig
from atelier.sdk.tracking.search import search_runs

if TYPE_CHECKING:
    __version__: str
else:

    def __getattr__(name: str) -> str:
        """``atelier.__version__``, read on first use: importlib.metadata (zipfile, email,
        csv...) costs 0.05 s of CPU that each run's script and CLI call would pay."""
        if name != "__version__":
            raise AttributeError(f"module 'atelier' has no attribute {name!r}")
        from importlib import metadata

        # the one place the version is written is pyproject.toml: read it from the metadata
        try:
            version = metadata.version("atelier-ml")
        except metadata.PackageNotFoundError:  # a source tree that was never installed
            version = "0+unknown"
        globals()["__version__"] = version
        return version


__all__ = [
    "AlreadyExistsError",
    "AmlCompute",
    "AtelierError",
    "ComputeTarget",
    "ComputeTargetException",
    "ComputeTargetNotFoundError",
    "CondaDependencies",
    "ConflictError",
    "Dataset",
    "Datastore",
    "Environment",
    "Experiment",
    "HomeError",
    "InvalidStateError",
    "MissingExtraError",
    "Model",
    "NotFoundError",
    "PermissionDeniedError",
    "RemoteCompute",
    "Run",
    "RunConfiguration",
    "RunFailedError",
    "RunStatus",
    "ScriptRunConfig",
    "StorageError",
    "StoreError",
    "UnauthenticatedError",
    "ValidationError",
    "Workspace",
    "__version__",
    "search_runs",
]
