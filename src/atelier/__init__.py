"""Atelier: a self-hosted machine-learning workspace with azureml-core's names.

from atelier import Workspace, Experiment, Run
ws = Workspace.create("demo", exist_ok=True)
with Experiment(ws, "iris").start_logging() as run:
    run.log("accuracy", 0.93)
"""

from atelier.core.errors import (
    AlreadyExistsError,
    AtelierError,
    ConflictError,
    InvalidStateError,
    NotFoundError,
    PermissionDeniedError,
    StorageError,
    StoreError,
    ValidationError,
)
from atelier.core.status import RunStatus
from atelier.sdk import Experiment, Run, Workspace

__version__ = "0.1.0"

__all__ = [
    "AlreadyExistsError",
    "AtelierError",
    "ConflictError",
    "Experiment",
    "InvalidStateError",
    "NotFoundError",
    "PermissionDeniedError",
    "Run",
    "RunStatus",
    "StorageError",
    "StoreError",
    "ValidationError",
    "Workspace",
    "__version__",
]
