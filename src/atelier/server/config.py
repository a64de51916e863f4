"""Server settings: the core ``ATELIER_*`` settings plus who may call and from where."""

from __future__ import annotations

from typing import ClassVar

from atelier.core.settings import Field, Settings, json_list

#: the Host names accepted by default: a server reachable from elsewhere must name itself
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


#: threads a worker runs blocking work on (anyio's own default): requests and pooled
#: database connections alike
DEFAULT_SERVER_THREADS = 40


def _positive_int(value: object) -> int:
    number = int(str(value))
    if number < 1:
        raise ValueError(f"expected a whole number of at least 1, got {value!r}")
    return number


class ServerSettings(Settings):
    """``ATELIER_ALLOWED_HOSTS``: the Host names this server answers to (JSON list; the
    default accepts loopback names only). ``ATELIER_ALLOWED_ORIGINS``: browser origins
    allowed to send state-changing requests (none by default). ``ATELIER_MAX_UPLOAD_BYTES``
    bounds one upload; ``ATELIER_MAX_JSON_BYTES`` any other request body (read whole) and
    ``ATELIER_MAX_METRIC_BATCH_BYTES`` a metric batch's (see ``server/body_limits.py``)."""

    FIELDS: ClassVar[dict[str, Field]] = {
        **Settings.FIELDS,
        "allowed_hosts": Field(json_list, lambda: list(LOOPBACK_HOSTS)),
        "allowed_origins": Field(json_list, list),
        "max_upload_bytes": Field(int, lambda: 50 * 1024**3),
        "max_json_bytes": Field(int, lambda: 8 * 1024**2),
        "max_metric_batch_bytes": Field(int, lambda: 64 * 1024**2),
        #: ``ATELIER_MLFLOW_DEFAULT_WORKSPACE``: where MLflow clients log when neither their
        #: tracking URI (``/mlflow/<workspace>``) nor ``MLFLOW_WORKSPACE`` names a workspace.
        #: Unset by default: on a shared server such a client is told to name one, instead of
        #: everyone's runs landing in one workspace nobody chose. When set, the workspace is
        #: created on the first request a server admin makes to it; others need a role in it.
        "mlflow_default_workspace": Field(_optional_str, lambda: None),
        #: ``ATELIER_ALLOWED_STORAGE_HOSTS``: storage endpoints on internal addresses
        #: (loopback, link-local, private) a datastore may name, comma-separated ``host`` or
        #: ``host:port`` (e.g. an in-house MinIO); none by default
        #: (``storage/network_guard.py``).
        "allowed_storage_hosts": Field(str, lambda: ""),
        #: ``ATELIER_SERVER_THREADS``: threads each worker process serves blocking work on;
        #: its PostgreSQL pool keeps as many connections, opened as they are first needed
        #: and reused afterwards (workers x threads must stay below PostgreSQL's
        #: ``max_connections``, 100 by default).
        "server_threads": Field(_positive_int, lambda: DEFAULT_SERVER_THREADS),
    }

    allowed_hosts: list[str]
    allowed_origins: list[str]
    max_upload_bytes: int
    max_json_bytes: int
    max_metric_batch_bytes: int
    mlflow_default_workspace: str | None
    allowed_storage_hosts: str
    server_threads: int


def server_settings(settings: Settings) -> ServerSettings:
    """``settings`` as server settings (a plain ``Settings`` gets the server defaults)."""
    if isinstance(settings, ServerSettings):
        return settings
    return ServerSettings(**settings.model_dump())
