"""Backends registered by name and loaded lazily, so ``import atelier`` stays light.

One connection per database and blob location (embedded) or per server and token (HTTP),
made on first use and cached. Callers get the view they need of it: ``backend_for`` the
user-facing ``Backend``, ``supervision_for`` run supervision (run supervisors only),
``reporting_for`` endpoint reporting (serving processes only)."""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from atelier.core.errors import ValidationError
from atelier.core.settings import Settings, load_settings

if TYPE_CHECKING:
    from atelier.client.api import EndpointReportingAPI, SchedulingAPI, SupervisionAPI
    from atelier.client.backend import Backend, Connection

#: name -> (import path, how to install what it needs)
KNOWN_BACKENDS: dict[str, tuple[str, str]] = {
    "embedded": ("atelier.client.embedded.backend:EmbeddedBackend", "pip install atelier-ml"),
    "http": ("atelier.client.http.backend:HttpBackend", "pip install 'atelier-ml[server]'"),
}

_cache: dict[tuple[str, ...], Connection] = {}
_lock = threading.Lock()


def _load(name: str) -> Callable[..., Connection]:
    target, hint = KNOWN_BACKENDS[name]
    module_name, attribute = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ValidationError(f"the {name} backend is not available here ({exc}); {hint}") from exc
    factory: Callable[..., Connection] = getattr(module, attribute)
    return factory


def embedded_backend(settings: Settings | None = None) -> Backend:
    """The in-process backend for these settings (one per database and blob location)."""
    return _embedded(settings)


def _embedded(settings: Settings | None = None) -> Connection:
    settings = settings or load_settings()
    key = ("embedded", settings.resolved_database_url, settings.resolved_blob_url)
    with _lock:
        backend = _cache.get(key)
        if backend is None:
            backend = _load("embedded")(settings)
            _cache[key] = backend
    return backend


def scheduling_for(settings: Settings | None = None) -> SchedulingAPI:
    """What a scheduler needs of the embedded backend for these settings: a scheduler
    runs beside its database (``atelier scheduler``, or inside ``atelier server``)."""
    scheduling: SchedulingAPI = getattr(_embedded(settings), "scheduling")  # noqa: B009 - not part of Connection on purpose
    return scheduling


def backend_for(
    tracking_uri: str | None = None, home: str | Path | None = None, token: str | None = None
) -> Backend:
    """The backend a tracking URI names: ``file://<home>`` for embedded, ``http(s)://`` for
    a server (with ``token``, else ``ATELIER_TOKEN``, else the one ``atelier login``
    stored). None means the server ``atelier login`` stored, if any, else embedded."""
    return _connection(tracking_uri, home, token)


def supervision_for(
    tracking_uri: str | None = None, home: str | Path | None = None, token: str | None = None
) -> SupervisionAPI:
    """Run supervision on the backend ``backend_for`` would give for the same arguments."""
    return _connection(tracking_uri, home, token).supervision


def reporting_for(
    tracking_uri: str | None = None, home: str | Path | None = None, token: str | None = None
) -> EndpointReportingAPI:
    """Endpoint reporting on the backend ``backend_for`` would give for the same arguments."""
    return _connection(tracking_uri, home, token).reporting


def _connection(tracking_uri: str | None, home: str | Path | None, token: str | None) -> Connection:
    if tracking_uri is None or tracking_uri == "":
        login = _login(home)
        if login is not None:
            return _connection(login["url"], home, token or login["token"])
        return _embedded(load_settings(home))
    if tracking_uri.startswith("file://"):
        return _embedded(load_settings(tracking_uri.removeprefix("file://")))
    if tracking_uri.startswith(("http://", "https://")):
        if token is None:
            token = os.environ.get("ATELIER_TOKEN") or _stored_token(tracking_uri, home)
        key = ("http", tracking_uri, token)
        with _lock:
            backend = _cache.get(key)
            if backend is None:
                backend = _load("http")(tracking_uri, key[2])
                _cache[key] = backend
        return backend
    raise ValidationError(
        f"tracking URI {tracking_uri!r} is not understood; use file:///path/to/home "
        "or http(s)://server"
    )


def _login(home: str | Path | None) -> dict[str, str] | None:
    """The url and token ``atelier login`` stored in this home, if any."""
    from atelier.client.http.transport import read_credentials

    return read_credentials(home)


def _stored_token(url: str, home: str | Path | None) -> str:
    login = _login(home)
    if login is not None and login["url"].rstrip("/") == url.rstrip("/"):
        return login["token"]
    return ""


_left_behind: list[Connection] = []


def forget_backends_after_fork() -> None:
    """In a forked child: drop (never close) the parent's backends, whose connections are
    shared with the parent, so the child opens its own."""
    with _lock:
        _left_behind.extend(_cache.values())
        _cache.clear()


def release_connections() -> None:
    """Close the pooled database connections of the cached backends, keeping the backends
    themselves (their engines and compiled statements) for the next use."""
    with _lock:
        backends = list(_cache.values())
    for backend in backends:
        release = getattr(backend, "release_connections", None)
        if release is not None:
            release()


def reset_backends() -> None:
    """Forget cached backends (tests, and after ``ATELIER_*`` variables change)."""
    with _lock:
        for backend in _cache.values():
            backend.close()
        _cache.clear()
