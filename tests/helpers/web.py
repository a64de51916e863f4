"""httpx's calls as the tests make them, sharing one TLS context (``verify``) per process.

httpx makes a new TLS context for every client it is given none, loading the CA bundle
each time (about 20 ms of CPU); the suite's polls and clients did so thousands of times.
These wrappers take httpx's own arguments and pass the process's shared context
(:func:`atelier.core.tls_context.ssl_context`) unless the call gives ``verify``."""

from __future__ import annotations

from typing import Any

import httpx

from atelier.core.tls_context import ssl_context


def _verified(kwargs: dict[str, Any]) -> dict[str, Any]:
    kwargs.setdefault("verify", ssl_context())
    return kwargs


def get(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(url, **_verified(kwargs))


def post(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(url, **_verified(kwargs))


def put(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.put(url, **_verified(kwargs))


def Client(**kwargs: Any) -> httpx.Client:  # named as httpx.Client, which it stands for
    return httpx.Client(**_verified(kwargs))
