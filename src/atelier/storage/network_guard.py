"""Which storage endpoints a server may connect to: no internal addresses (SSRF).

A datastore's URL and every URL-like option of its config (``endpoint_url``, ``endpoint``,
``account_url``, ``host`` ...) name a host the server will connect to on a client's
behalf. The host is resolved first, and every address it resolves to must be a public
one: loopback, link-local (169.254.0.0/16 with the cloud metadata service, fe80::/10),
private (10/8, 172.16/12, 192.168/16, fc00::/7 with fd00::/8) and the other reserved
ranges are refused unless the administrator lists the host (or one of its addresses),
optionally with a port, in ``ATELIER_ALLOWED_STORAGE_HOSTS``.

The check runs when a datastore is registered and each time its files are opened; for
the drivers that take a resolver (S3), :meth:`NetworkGuard.connector_args` also checks
every address at connect time and hands the driver only the addresses it checked, so a
name that resolves elsewhere later (DNS rebinding) cannot reach an internal address.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from atelier.core.errors import PermissionDeniedError, ValidationError

_DEFAULT_PORTS = {"http": 80, "https": 443}
#: config keys whose value names a host to connect to, besides any value holding '://'
_HOST_KEYS = ("host", "hostname", "endpoint", "endpoint_url", "account_url", "url", "proxy")
_REFUSED = (
    "{what} {host!r} is an internal address (loopback, link-local, private or metadata); "
    "a server connects only to public storage endpoints unless its administrator lists "
    "the host in ATELIER_ALLOWED_STORAGE_HOSTS"
)


def is_public(address: str) -> bool:
    """Whether an IP address is a public unicast one (not loopback, private, link-local,
    shared, multicast, reserved or unspecified; IPv4-mapped IPv6 counts as its IPv4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class NetworkGuard:
    """The rule for one server: ``allowed`` holds ``host`` or ``host:port`` entries."""

    allowed: frozenset[str] = frozenset()

    @classmethod
    def from_setting(cls, text: str | None) -> NetworkGuard:
        """From ``ATELIER_ALLOWED_STORAGE_HOSTS``: comma-separated ``host`` or ``host:port``
        (an IPv6 address in brackets: ``[fd00::1]:9000``)."""
        entries = (item.strip().lower() for item in (text or "").split(","))
        return cls(frozenset(entry for entry in entries if entry))

    def _listed(self, host: str, port: int) -> bool:
        name = host.lower().strip("[]")
        shown = f"[{name}]" if ":" in name else name
        return bool({name, shown, f"{shown}:{port}"} & self.allowed)

    def permits(self, host: str, address: str, port: int) -> bool:
        """Whether a connection to ``address`` (resolved from ``host``) may be made."""
        return is_public(address) or self._listed(host, port) or self._listed(address, port)

    def check_url(self, url: str, what: str) -> None:
        """Refuse a URL whose host is, or resolves to, an internal address."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise ValidationError(f"{what} {url!r} is not a valid URL") from None
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ValidationError(f"{what} {url!r} must be an http:// or https:// URL")
        self.check_host(parts.hostname, port or _DEFAULT_PORTS[parts.scheme], what)

    def check_host(self, host: str, port: int, what: str) -> list[str]:
        """The addresses ``host`` resolves to, each of them allowed; else refused (a host
        the administrator lists is trusted by name, wherever it resolves)."""
        if self._listed(host, port):
            return []
        addresses = _resolve(host, port, what)
        for address in addresses:
            if not self.permits(host, address, port):
                raise PermissionDeniedError(_REFUSED.format(what=what, host=host))
        return addresses

    def check_config(self, config: dict[str, Any]) -> None:
        """Check every URL-like option of a datastore's config."""
        for key, value in config.items():
            if not isinstance(value, str) or not value.strip():
                continue
            what = f"datastore option {key!r}"
            if "://" in value:
                self.check_url(value.strip(), what)
            elif key.lower() in _HOST_KEYS:
                host, port = _host_and_port(value.strip(), what)
                self.check_host(host, port, what)

    def connector_args(self) -> dict[str, Any]:
        """aiohttp connector options that re-check (and pin) each address at connect time."""
        return {"connector_args": {"resolver": _guarded_resolver(self)}}


def pinned(guard: NetworkGuard | None) -> dict[str, Any]:
    """aiobotocore config options that pin connections to addresses ``guard`` permits."""
    return guard.connector_args() if guard is not None else {}


def _host_and_port(text: str, what: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` (a bare IPv6 address has no port)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or "443"
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, "443"
    if not host or not port.isdigit():
        raise ValidationError(f"{what} {text!r} is not a host or host:port")
    return host, int(port)


def _resolve(host: str, port: int, what: str) -> list[str]:
    if _is_ip(host):
        return [host]
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise ValidationError(
            f"{what}: the host {host!r} cannot be resolved; check its spelling"
        ) from None
    return sorted({str(info[4][0]) for info in found})


def _guarded_resolver(guard: NetworkGuard) -> Any:
    """An aiohttp resolver that answers only addresses the guard permits (aiohttp is
    imported here: only the object-store drivers need it)."""
    from aiohttp.abc import AbstractResolver, ResolveResult
    from aiohttp.resolver import ThreadedResolver

    class GuardedResolver(AbstractResolver):
        async def resolve(
            self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
        ) -> list[ResolveResult]:
            found = await ThreadedResolver().resolve(host, port, family)
            kept = [item for item in found if guard.permits(host, item["host"], port)]
            if not kept:
                raise OSError(_REFUSED.format(what="storage host", host=host))
            return kept

        async def close(self) -> None:
            return None

    return GuardedResolver()
