"""``azureml.exceptions``: azureml's exception names, as aliases of Atelier's error tree."""

from atelier.core.errors import (
    AtelierError,
    ComputeTargetException,
    NotFoundError,
    RunFailedError,
    UnauthenticatedError,
    ValidationError,
)

#: azureml raised these; Atelier's errors are their subclasses or aliases.
AzureMLException = AtelierError
UserErrorException = ValidationError
WorkspaceException = AtelierError
ExperimentExecutionException = AtelierError
RunEnvironmentException = AtelierError
ProjectSystemException = NotFoundError
WebserviceException = AtelierError  # azureml raises it for a missing service too
ModelNotFoundException = NotFoundError
ModelPathNotFoundException = NotFoundError
#: ``run.wait_for_completion()`` of a run that failed
ActivityFailedException = RunFailedError
AuthenticationException = UnauthenticatedError
SnapshotException = AtelierError
TrainingException = AtelierError
DiscoveryUrlNotFoundException = AtelierError

__all__ = [
    "ActivityFailedException",
    "AuthenticationException",
    "AzureMLException",
    "ComputeTargetException",
    "DiscoveryUrlNotFoundException",
    "ExperimentExecutionException",
    "ModelNotFoundException",
    "ModelPathNotFoundException",
    "ProjectSystemException",
    "RunEnvironmentException",
    "SnapshotException",
    "TrainingException",
    "UserErrorException",
    "WebserviceException",
    "WorkspaceException",
]
