"""The one error tree of Atelier.

Every public entry point raises a subclass of :class:`AtelierError`; nothing from
SQLAlchemy, fsspec or the operating system leaks past the layer that met it::

    AtelierError
     ├── ValidationError (ValueError)      the input is malformed: a name, a value, a path
     ├── NotFoundError (LookupError)       the named workspace, experiment, run or file is absent
     ├── ConflictError                     the request clashes with the current state
     │    ├── AlreadyExistsError           a resource with that name exists
     │    └── InvalidStateError            e.g. logging to a completed run
     ├── PermissionDeniedError             the caller may not do this
 ├── UnauthenticatedError              no valid credentials came with the request
     ├── StoreError                        the metadata database failed
     ├── StorageError                      the blob store failed
     ├── RunFailedError                    a waited-for run ended Failed or Canceled
     └── ComputeTargetException            a compute target is missing or failed
          └── ComputeTargetNotFoundError (NotFoundError)

Each class carries a stable ``code`` (for the REST API) and an ``exit_code`` (for the CLI).
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
    exit_code = 3


class SecretKeyError(AtelierError):
    """The secret key is unusable: malformed, in a file others can read, or not the key
    the secrets were encrypted with (a direct child of AtelierError)."""

    code = "secret_key_error"
    exit_code = 5


__all__ = [
    "AlreadyExistsError",
    "AtelierError",
    "ComputeTargetException",
    "ComputeTargetNotFoundError",
    "ConflictError",
    "InvalidStateError",
    "NotFoundError",
    "PermissionDeniedError",
    "RunFailedError",
    "SecretKeyError",
    "StorageError",
    "StoreError",
    "UnauthenticatedError",
    "ValidationError",
]
