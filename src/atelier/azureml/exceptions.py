"""``azureml.exceptions``: azureml's exception names, as aliases of Atelier's error tree."""

from atelier.core.errors import (
    AtelierError,
    ComputeTargetException,
    NotFoundError,
    ValidationError,
)

#: azureml raised these; Atelier's errors are their subclasses or aliases.
AzureMLException = AtelierError
UserErrorException = ValidationError
WorkspaceException = AtelierError
ExperimentExecutionException = AtelierError
RunEnvironmentException = AtelierError
ProjectSystemException = NotFoundError
WebserviceException = AtelierError
ModelNotFoundException = NotFoundError

__all__ = [
    "AzureMLException",
    "ComputeTargetException",
    "ExperimentExecutionException",
    "ModelNotFoundException",
    "ProjectSystemException",
    "RunEnvironmentException",
    "UserErrorException",
    "WebserviceException",
    "WorkspaceException",
]
