"""The one error tree of Atelier.

Every public entry point raises a subclass of :class:`AtelierError`; nothing from
SQLAlchemy, fsspec or the operating system leaks past the layer that met it::

    AtelierError                               exit 1: failed in a way no code below names
     ├── ValidationError (ValueError)          exit 2: the input is malformed
     │    ├── EntryScriptError                 an entry script cannot load or lacks init/run
     │    ├── InputError                       a scoring request does not fit run()
 │    └── DataDriftSchemaError             a drift baseline and target differ in columns
     ├── NotFoundError (LookupError)           exit 3: the named resource is absent
     ├── ConflictError                         exit 4: the request clashes with the state
     │    ├── AlreadyExistsError               a resource with that name exists
     │    └── InvalidStateError                e.g. logging to a completed run
     ├── PermissionDeniedError                 exit 5: the caller may not do this
     ├── UnauthenticatedError                  exit 5: no valid credentials came with it
     ├── SecretKeyError                        exit 5: the secret key is unusable
     ├── StoreError                            exit 6: the metadata database failed
     ├── StorageError                          exit 6: the blob store failed
     ├── RunFailedError                        exit 7: a waited-for run ended Failed
     ├── ImageBuildError                       exit 8: a missing base image, or the build failed
     │    └── ImageRegistryError               the image registry is unreachable or refused
     ├── WebserviceError                       exit 9: a web service failed to deploy or answer
     │    └── ContainerEngineError             no working podman or docker
     ├── EnvironmentBuildError                 building an environment failed
     └── ComputeTargetException                a compute target is missing or failed
          └── ComputeTargetNotFoundError (NotFoundError)

Each class carries a stable ``code`` (for the REST API; :data:`ERRORS_BY_CODE` maps it
back to the class) and an ``exit_code`` (for the CLI; :data:`EXIT_CODES` says what each
one means). Exit 5 and 6 each mean one thing with several causes: access refused, and a
backend that holds the workspace failed.
"""

from __future__ import annotations


class AtelierError(Exception):
    """Root of every error Atelier raises on purpose."""

    code = "atelier_error"
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(AtelierError, ValueError):
    """The input is malformed; the message names the rule it broke."""

    code = "validation_error"
    exit_code = 2


class NotFoundError(AtelierError, LookupError):
    """The named resource does not exist."""

    code = "not_found"
    exit_code = 3


class ConflictError(AtelierError):
    """The request clashes with the resource's current state."""

    code = "conflict"
    exit_code = 4


class AlreadyExistsError(ConflictError):
    """A resource with that name already exists."""

    code = "already_exists"


class InvalidStateError(ConflictError):
    """The resource's state does not allow the operation (e.g. logging to a completed run)."""

    code = "invalid_state"


class PermissionDeniedError(AtelierError):
    """The caller is not allowed to do this."""

    code = "permission_denied"
    exit_code = 5


class UnauthenticatedError(AtelierError):
    """The request carried no valid token (missing, wrong, expired or revoked)."""

    code = "unauthenticated"
    exit_code = 5


class StoreError(AtelierError):
    """The metadata database failed; nothing was half-written."""

    code = "store_error"
    exit_code = 6


class StorageError(AtelierError):
    """The blob store failed; nothing was half-written."""

    code = "storage_error"
    exit_code = 6


class RunFailedError(AtelierError):
    """A run ended Failed (or Canceled) while the caller waited for it."""

    code = "run_failed"
    exit_code = 7


class ComputeTargetException(AtelierError):  # noqa: N818 - azureml's public name
    """A compute target could not be created, reached or used (azureml's name)."""

    code = "compute_target_error"


class ComputeTargetNotFoundError(ComputeTargetException, NotFoundError):
    """No compute target of that name in the workspace."""

    code = "compute_target_not_found"


class SecretKeyError(AtelierError):
    """The secret key is unusable: malformed, in a file others can read, or not the key
    the secrets were encrypted with (a direct child of AtelierError)."""

    code = "secret_key_error"
    exit_code = 5


class ImageBuildError(AtelierError):
    """An image cannot be built: its base image is missing or the build failed."""

    code = "image_build_error"
    exit_code = 8


class ImageRegistryError(ImageBuildError):
    """The workspace's image registry cannot be reached, or refused a push, pull or delete."""

    code = "image_registry_error"


class WebserviceError(AtelierError):
    """A deployment failed to start, or the service answered a request with an error;
    ``request_id`` is the id the service logged that request under, when it said one."""

    code = "webservice_error"
    exit_code = 9

    def __init__(self, message: str, request_id: str | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


class ContainerEngineError(WebserviceError):
    """No working container engine (Podman or Docker) on this machine."""

    code = "container_engine_unavailable"


class EnvironmentBuildError(AtelierError):
    """Building an environment failed; the message ends with the tool's last output lines."""

    code = "environment_build_failed"


class EntryScriptError(ValidationError):
    """The entry script cannot be imported, or does not define ``init()`` and ``run(data)``."""

    code = "entry_script_error"


class InputError(ValidationError):
    """A scoring request's body does not fit what ``run`` takes."""

    code = "invalid_input"


class FilterSyntaxError(ValidationError):
    """A filter expression that does not parse; ``column`` is where (1-based)."""

    code = "filter_syntax"

    def __init__(self, message: str, column: int = 0, why: str = "") -> None:
        super().__init__(message)
        self.column = column
        self.why = why


class PipelineValidationError(ValidationError):
    """A pipeline cannot run as built; ``problems`` lists every one found."""

    code = "pipeline_invalid"

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [message])


class PipelineCycleError(PipelineValidationError):
    """Steps depend on each other in a circle."""

    code = "pipeline_cycle"


class MissingProducerError(PipelineValidationError):
    """A step consumes data that no step of the pipeline produces."""

    code = "pipeline_missing_producer"


class DuplicateOutputError(PipelineValidationError):
    """Two steps (or one step twice) write an output of the same name."""

    code = "pipeline_duplicate_output"


class MissingScriptError(PipelineValidationError):
    """A step's script is not in its source directory."""

    code = "pipeline_missing_script"


class UndeclaredParameterError(PipelineValidationError):
    """A pipeline parameter is assigned that the pipeline does not declare."""

    code = "pipeline_undeclared_parameter"


class DataDriftSchemaError(ValidationError):
    """A drift detector's baseline and target do not hold the same features: ``problems``
    lists every missing column and every type that differs."""

    code = "datadrift_schema"

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [message])


class MissingExtraError(AtelierError):
    """An optional part of Atelier is not installed; the message names the pip extra."""

    code = "missing_extra"


class HomeError(StoreError):
    """The Atelier home (ATELIER_HOME) cannot be used: unreadable, read-only, or its
    database is missing or empty while runs and files are still there."""

    code = "home_error"


#: every error class, each under its ``code``: how a code on the wire becomes a class again
ERRORS_BY_CODE: dict[str, type[AtelierError]] = {
    cls.code: cls
    for cls in (
        AtelierError,
        ValidationError,
        EntryScriptError,
        InputError,
        FilterSyntaxError,
        PipelineValidationError,
        PipelineCycleError,
        MissingProducerError,
        DuplicateOutputError,
        MissingScriptError,
        UndeclaredParameterError,
        DataDriftSchemaError,
        NotFoundError,
        ConflictError,
        AlreadyExistsError,
        InvalidStateError,
        PermissionDeniedError,
        UnauthenticatedError,
        SecretKeyError,
        StoreError,
        StorageError,
        RunFailedError,
        ImageBuildError,
        ImageRegistryError,
        WebserviceError,
        ContainerEngineError,
        EnvironmentBuildError,
        ComputeTargetException,
        ComputeTargetNotFoundError,
        MissingExtraError,
        HomeError,
    )
}

#: what each CLI exit code means, and the classes that set it (their subclasses inherit it)
EXIT_CODES: dict[int, tuple[str, tuple[type[AtelierError], ...]]] = {
    1: ("Atelier failed in a way no other code names", (AtelierError,)),
    2: ("the input is malformed", (ValidationError,)),
    3: ("the named resource does not exist", (NotFoundError,)),
    4: ("the request clashes with the resource's current state", (ConflictError,)),
    5: (
        "access refused: not allowed, no valid credentials, or an unusable secret key",
        (PermissionDeniedError, UnauthenticatedError, SecretKeyError),
    ),
    6: ("the metadata database or the blob store failed", (StoreError, StorageError)),
    7: ("a waited-for run ended Failed or Canceled", (RunFailedError,)),
    8: ("an image build or the image registry failed", (ImageBuildError,)),
    9: ("a web service failed to deploy or answered with an error", (WebserviceError,)),
}


__all__ = [
    "ERRORS_BY_CODE",
    "EXIT_CODES",
    "AlreadyExistsError",
    "AtelierError",
    "ComputeTargetException",
    "ComputeTargetNotFoundError",
    "ConflictError",
    "ContainerEngineError",
    "DataDriftSchemaError",
    "DuplicateOutputError",
    "EntryScriptError",
    "EnvironmentBuildError",
    "FilterSyntaxError",
    "HomeError",
    "ImageBuildError",
    "ImageRegistryError",
    "InputError",
    "InvalidStateError",
    "MissingExtraError",
    "MissingProducerError",
    "MissingScriptError",
    "NotFoundError",
    "PermissionDeniedError",
    "PipelineCycleError",
    "PipelineValidationError",
    "RunFailedError",
    "SecretKeyError",
    "StorageError",
    "StoreError",
    "UnauthenticatedError",
    "UndeclaredParameterError",
    "ValidationError",
    "WebserviceError",
]
