"""What every MLflow route shares: the workspace, authorization, errors, bodies and JSON.

Each route is ``async``: it asks ``authorize`` first, then runs its (blocking) service
call in the thread pool inside one database transaction. Every ``AtelierError`` becomes
MLflow's error document ``{"error_code", "message"}`` with the matching HTTP status; any
other exception becomes ``INTERNAL_ERROR`` with a request id, its traceback going to the
``atelier.server.mlflow`` logger only.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from atelier.core.errors import (
    AlreadyExistsError,
    AtelierError,
    ConflictError,
    InvalidStateError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from atelier.services import workspaces
from atelier.storage.blobstore import BlobStore
from atelier.store.database import Database

#: ``await authorize(request, workspace_name, "read" | "write")``; raises to refuse.
Authorize = Callable[[Request, str, str], Awaitable[None]]

logger = logging.getLogger("atelier.server.mlflow")
T = TypeVar("T")
AUTHORIZE_STATE = "mlflow_authorize"
DEFAULT_WORKSPACE_STATE = "mlflow_default_workspace"
_READY_STATE = "mlflow_default_workspace_ready"
#: what MLflow 3 clients send when ``MLFLOW_WORKSPACE`` or ``mlflow.set_workspace`` is set
WORKSPACE_HEADER = "X-MLflow-Workspace"

# (MLflow error code, HTTP status) per error class, most specific first; errors from the
# server's own auth layer that carry code "unauthenticated" map to 401 by their code.
_ERROR_TABLE: list[tuple[type[AtelierError], str, int]] = [
    (AlreadyExistsError, "RESOURCE_ALREADY_EXISTS", 409),
    (InvalidStateError, "INVALID_STATE", 400),
    (ConflictError, "INVALID_PARAMETER_VALUE", 400),
    (NotFoundError, "RESOURCE_DOES_NOT_EXIST", 404),
    (ValidationError, "INVALID_PARAMETER_VALUE", 400),
    (PermissionDeniedError, "PERMISSION_DENIED", 403),
]
_BY_CODE = {
    "unauthenticated": ("UNAUTHENTICATED", 401),
    "permission_denied": ("PERMISSION_DENIED", 403),
    "not_found": ("RESOURCE_DOES_NOT_EXIST", 404),
}


class MlflowError(Exception):
    """A refusal the protocol layer itself decides (an unknown endpoint, a bad body)."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message


def error_response(code: str, status: int, message: str) -> Response:
    body = json.dumps({"error_code": code, "message": message})
    return Response(body, status_code=status, media_type="application/json")


def _internal(context: str) -> Response:
    """A 500 whose details (a database URL, an SQL error) stay in the server's log."""
    request_id = uuid.uuid4().hex[:12]
    logger.exception("MLflow request %s failed [%s]", context, request_id)
    return error_response(
        "INTERNAL_ERROR", 500, f"the server failed; quote request id {request_id}"
    )


def translate(exc: AtelierError, context: str) -> Response:
    for kind, code, status in _ERROR_TABLE:
        if isinstance(exc, kind):
            return error_response(code, status, exc.message)
    if exc.code in _BY_CODE:
        code, status = _BY_CODE[exc.code]
        message = exc.message
        if code == "UNAUTHENTICATED":  # the mlflow client sends the token it is given there
            message += (
                "; the mlflow client sends a token from the MLFLOW_TRACKING_TOKEN environment "
                "variable (create one with 'atelier token create')"
            )
        return error_response(code, status, message)
    return _internal(context)


class MlflowRoute(APIRoute):
    """A route whose failures answer in MLflow's error shape, never with a traceback."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except MlflowError as exc:
                return error_response(exc.code, exc.status, exc.message)
            except HTTPException as exc:  # a body over its limit (server/body_limits.py)
                code = "REQUEST_LIMIT_EXCEEDED" if exc.status_code == 413 else "BAD_REQUEST"
                return error_response(code, exc.status_code, str(exc.detail))
            except AtelierError as exc:
                return translate(exc, f"{request.method} {request.url.path}")
            except Exception:
                return _internal(f"{request.method} {request.url.path}")

        return guarded


class Context:
    """One request's workspace, database and blob store, after authorization."""

    def __init__(self, request: Request, workspace: str) -> None:
        self.request = request
        self.workspace = workspace
        self.database: Database = request.app.state.database
        self.blobs: BlobStore = request.app.state.blobs

    async def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``function(session, workspace, *args)`` in one transaction, off the event loop."""

        def work() -> T:
            with self.database.session() as session:
                return function(session, self.workspace, *args, **kwargs)

        return await run_in_threadpool(work)


def _ensure_default(database: Database, name: str) -> None:
    with database.session() as session:
        workspaces.create(session, name, description="MLflow clients' default", exist_ok=True)


def _workspace_of(request: Request) -> tuple[str, bool]:
    """(workspace, is the default one): the path's, else the ``X-MLflow-Workspace``
    header's (``MLFLOW_WORKSPACE`` / ``mlflow.set_workspace`` on the client), else the
    app's default MLflow workspace."""
    from_path: str | None = request.path_params.get("workspace")
    from_header = request.headers.get(WORKSPACE_HEADER, "").strip() or None
    if from_path is not None and from_header is not None and from_header != from_path:
        raise MlflowError(
            "INVALID_PARAMETER_VALUE",
            400,
            f"the tracking URI names workspace {from_path!r} but MLFLOW_WORKSPACE says "
            f"{from_header!r}; unset one of them",
        )
    if from_path is not None or from_header is not None:
        return str(from_path or from_header), False
    default = getattr(request.app.state, DEFAULT_WORKSPACE_STATE, None)
    if not default or not isinstance(default, str):
        raise MlflowError(
            "RESOURCE_DOES_NOT_EXIST",
            404,
            "this server has no default MLflow workspace; use the tracking URI "
            "http://<host>:<port>/mlflow/<workspace> or set MLFLOW_WORKSPACE",
        )
    return default, True


async def begin(request: Request, access: str) -> Context:
    """Authorize ``access`` ("read" or "write") on the request's workspace.

    The workspace is the ``{workspace}`` of ``/mlflow/{workspace}/...``, or the one the
    client's ``X-MLflow-Workspace`` header names; without either, the app's
    ``mlflow_default_workspace``, created on first authorized use."""
    state = request.app.state
    workspace, default = _workspace_of(request)
    authorize: Authorize = getattr(state, AUTHORIZE_STATE)
    await authorize(request, workspace, access)
    context = Context(request, workspace)
    if default and not getattr(state, _READY_STATE, False):
        await run_in_threadpool(_ensure_default, context.database, workspace)
        setattr(state, _READY_STATE, True)
    return context


async def body(request: Request) -> dict[str, Any]:
    """The JSON object of a POST/PATCH body ({} when empty)."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise MlflowError("MALFORMED_REQUEST", 400, f"the request body is not JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise MlflowError("MALFORMED_REQUEST", 400, "the request body must be a JSON object")
    return parsed


def query(request: Request) -> dict[str, Any]:
    """A GET request's query parameters; a repeated one becomes a list."""
    found: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key in found:
            previous = found[key]
            found[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            found[key] = value
    return found


def text(params: dict[str, Any], name: str, *, required: bool = True, default: str = "") -> str:
    """A string field; a missing required one is MLflow's INVALID_PARAMETER_VALUE."""
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise ValidationError(f"missing value for required parameter {name!r}")
        return default
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValidationError(f"parameter {name!r} must be a string, not {type(value).__name__}")
    return str(value)


def integer(params: dict[str, Any], name: str, default: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value) if not isinstance(value, bool) else int("bool")
    except (TypeError, ValueError):
        raise ValidationError(f"parameter {name!r} must be a whole number, not {value!r}") from None


def number(params: dict[str, Any], name: str) -> float:
    value = params.get(name)
    if isinstance(value, bool) or value is None:
        raise ValidationError(f"parameter {name!r} must be a number, not {value!r}")
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"parameter {name!r} must be a number, not {value!r}") from None
    return result  # "NaN", "Infinity" and "-Infinity" included, as MLflow's client sends them


def key_values(items: Any, what: str) -> dict[str, str]:
    """MLflow's ``[{"key": k, "value": v}, ...]`` as a dict."""
    if items is None:
        return {}
    if not isinstance(items, list):
        raise ValidationError(f"{what} must be a list of {{key, value}} objects")
    found: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise ValidationError(f"each of {what} needs a string 'key', got {item!r}")
        value = item.get("value")
        found[item["key"]] = "" if value is None else str(value)
    return found


def pairs(mapping: dict[str, Any]) -> list[dict[str, str]]:
    return [{"key": key, "value": str(value)} for key, value in mapping.items()]


def _protobuf_json(value: Any) -> Any:
    """NaN and infinities as protobuf's JSON spells them: "NaN", "Infinity", "-Infinity"."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _protobuf_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_protobuf_json(v) for v in value]
    return value


def reply(payload: dict[str, Any]) -> Response:
    try:
        text = json.dumps(payload, allow_nan=False)
    except ValueError:  # a NaN or infinite metric
        text = json.dumps(_protobuf_json(payload), allow_nan=False)
    return Response(text, media_type="application/json")
