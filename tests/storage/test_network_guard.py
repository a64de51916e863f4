"""The server's rule for storage endpoints: no internal addresses unless allowed (SSRF)."""

from __future__ import annotations

import asyncio

import pytest

from atelier import PermissionDeniedError, ValidationError
from atelier.storage.network_guard import NetworkGuard, is_public

INTERNAL = [
    "127.0.0.1",
    "127.0.0.2",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "::1",
    "fe80::1",
    "fd00:ec2::254",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "224.0.0.1",
]


@pytest.mark.parametrize("address", INTERNAL)
def test_internal_addresses_are_refused(address: str) -> None:
    assert not is_public(address)
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(PermissionDeniedError, match="ATELIER_ALLOWED_STORAGE_HOSTS"):
        NetworkGuard().check_url(f"http://{host}:9000/bucket", "endpoint_url")


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888", "52.216.1.1"])
def test_public_addresses_pass(address: str) -> None:
    assert is_public(address)
    NetworkGuard().check_host(address, 443, "endpoint_url")


def test_names_are_resolved_before_the_check() -> None:
    with pytest.raises(PermissionDeniedError):
        NetworkGuard().check_url("http://localhost:9000", "endpoint_url")
    with pytest.raises(ValidationError, match="cannot be resolved"):
        NetworkGuard().check_url("http://no-such-host.invalid", "endpoint_url")


def test_an_administrator_allows_hosts_and_ports() -> None:
    guard = NetworkGuard.from_setting(" 127.0.0.1 , minio.internal:9000,[fd00::1]:9000")
    guard.check_url("http://127.0.0.1:1234", "endpoint_url")  # any port of a listed host
    guard.check_host("minio.internal", 9000, "endpoint_url")  # listed: not even resolved
    guard.check_url("http://[fd00::1]:9000", "endpoint_url")
    with pytest.raises(PermissionDeniedError):
        guard.check_url("http://[fd00::1]:9001", "endpoint_url")
    with pytest.raises(PermissionDeniedError):
        guard.check_url("http://127.0.0.2:1234", "endpoint_url")


def test_every_url_like_option_is_checked() -> None:
    guard = NetworkGuard()
    guard.check_config({"region": "eu-west-1", "anonymous": True, "project": "p"})
    for config in (
        {"endpoint_url": "http://169.254.169.254/latest"},
        {"endpoint": "https://10.0.0.5/account"},
        {"account_url": "http://127.0.0.1:10000"},
        {"host": "127.0.0.1:9000"},
        {"host": "[::1]"},
        {"anything": "http://192.168.0.1/"},
    ):
        with pytest.raises(PermissionDeniedError):
            guard.check_config(config)
    with pytest.raises(ValidationError, match="http:// or https://"):
        guard.check_config({"endpoint_url": "file:///etc/passwd"})


def test_the_connect_time_resolver_answers_only_permitted_addresses() -> None:
    resolver = NetworkGuard().connector_args()["connector_args"]["resolver"]
    with pytest.raises(OSError, match="internal address"):
        asyncio.run(resolver.resolve("localhost", 80))
    allowed = NetworkGuard.from_setting("localhost").connector_args()
    found = asyncio.run(allowed["connector_args"]["resolver"].resolve("localhost", 80))
    assert found and all(item["host"] in ("127.0.0.1", "::1") for item in found)
