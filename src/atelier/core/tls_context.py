"""One TLS context per process for every HTTP client Atelier opens.

httpx builds a new context for each client (or each ``httpx.get``) it is given none,
loading the whole CA bundle every time: about 20 ms of CPU here, paid again by every
poll of a health check, a registry call or a Studio page that asks an endpoint for its
metrics. Clients pass :func:`ssl_context` as ``verify`` instead. ``httpx`` (and so
``ssl``) load only when a context is first made, not with ``import atelier``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """The process's TLS context, as httpx makes it by default (``SSL_CERT_FILE`` and
    ``SSL_CERT_DIR`` included). A warm launcher makes it before it forks, so its children
    have it at once."""
    import httpx

    return httpx.create_ssl_context()
