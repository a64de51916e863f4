"""Backends registered by name and loaded lazily, so ``import atelier`` stays light."""

from __future__ import annotations

import importlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.errors import ValidationError
from atelier.core.settings import Settings, load_settings

if TYPE_CHECKING:
    from atelier.client.backend import Backend

#: name -> (import path, how to install what it needs)
KNOWN_BACKENDS: dict[str, tuple[str, str]] = {
    "embedded": ("atelier.client.embedded:EmbeddedBackend", "pip install atelier-ml"),
    "http": ("atelier.client.http:HttpBackend", "pip install 'atelier-ml[server]'"),
}

_cache: dict[tuple[str, ...], Backend] = {}
_lock = threading.Lock()


def _load(name: str) -> Any:
    target, hint = KNOWN_BACKENDS[name]
    module_name, attribute = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ValidationError(f"the {name} backend is not available here ({exc}); {hint}") from exc
    return getattr(module, attribute)


def embedded_backend(settings: Settings | None = None) -> Backend:
    """The in-process backend for these settings (one per database and blob location)."""
    settings = settings or load_settings()
    key = ("embedded", settings.resolved_database_url, settings.resolved_blob_url)
    with _lock:
        backend = _cache.get(key)
        if backend is None:
            backend = _load("embedded")(settings)
            _cache[key] = backend
    return backend


def backend_for(
    tracking_uri: str | None = None, home: str | Path | None = None, token: str | None = None
) -> Backend:
    """The backend a tracking URI names: ``file://<home>`` for embedded, ``http(s)://`` for
    a server (with ``token``, else ``ATELIER_TOKEN``, else the one ``atelier login``
    stored). None means the server ``atelier login`` stored, if any, else embedded."""
    if tracking_uri is None or tracking_uri == "":
        login = _login(home)
        if login is not None:
            return backend_for(login["url"], home, token or login["token"])
        return embedded_backend(load_settings(home))
    if tracking_uri.startswith("file://"):
        return embedded_backend(load_settings(tracking_uri.removeprefix("file://")))
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
    from atelier.client.http_transport import read_credentials

    return read_credentials(home)


def _stored_token(url: str, home: str | Path | None) -> str:
    login = _login(home)
    if login is not None and login["url"].rstrip("/") == url.rstrip("/"):
        return login["token"]
    return ""


_left_behind: list[Backend] = []


def forget_backends_after_fork() -> None:
    """In a forked child: drop (never close) the parent's backends, whose connections are
    shared with the parent, so the child opens its own."""
    with _lock:
        _left_behind.extend(_cache.values())
        _cache.clear()


def reset_backends() -> None:
    """Forget cached backends (tests, and after ``ATELIER_*`` variables change)."""
    with _lock:
        for backend in _cache.values():
            close = getattr(backend, "close", None)
            if close is not None:
                close()
        _cache.clear()
