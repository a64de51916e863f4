"""Server settings: the core ``ATELIER_*`` settings plus who may call and from where."""

from __future__ import annotations

from pydantic import Field

from atelier.core.settings import Settings

#: the Host names accepted by default: a server reachable from elsewhere must name itself
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


class ServerSettings(Settings):
    """``ATELIER_ALLOWED_HOSTS``: the Host names this server answers to (JSON list; the
    default accepts loopback names only). ``ATELIER_ALLOWED_ORIGINS``: browser origins
    allowed to send state-changing requests (none by default). ``ATELIER_MAX_UPLOAD_BYTES``
    bounds one upload."""

    allowed_hosts: list[str] = Field(default_factory=lambda: list(LOOPBACK_HOSTS))
    allowed_origins: list[str] = Field(default_factory=list)
    max_upload_bytes: int = 50 * 1024**3


def server_settings(settings: Settings) -> ServerSettings:
    """``settings`` as server settings (a plain ``Settings`` gets the server defaults)."""
    if isinstance(settings, ServerSettings):
        return settings
    return ServerSettings(**settings.model_dump())
