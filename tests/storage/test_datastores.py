"""The storage side of datastores: error translation never shows a credential."""

from __future__ import annotations

from pathlib import Path

from atelier.core.errors import PermissionDeniedError, StorageError
from atelier.storage.datastores import DatastoreFiles, _Secrets


def test_credentials_are_scrubbed_as_whole_tokens() -> None:
    secrets = _Secrets(("b", "s3cr3t/Key+=="))
    text = "GET http://host/bucket?sig=s3cr3t/Key+== failed for key b"
    assert secrets.scrub(text) == "GET http://host/bucket?sig=*** failed for key ***"


class EndpointConnectionError(Exception):
    """Named as botocore's, whose name is what the classifier reads."""


def _store(tmp_path: Path) -> DatastoreFiles:
    return DatastoreFiles("gone", "local", str(tmp_path))


def test_an_unreachable_endpoint_whose_port_holds_401_is_not_an_auth_error(
    tmp_path: Path,
) -> None:
    exc = EndpointConnectionError('Could not connect to "http://127.0.0.1:33401/b"')
    error = _store(tmp_path)._classify("checking access", exc)
    assert type(error) is StorageError
    assert "cannot reach its storage service" in str(error)


def test_a_bare_403_status_is_an_auth_error(tmp_path: Path) -> None:
    error = _store(tmp_path)._classify("reading", OSError("An error occurred (403) when calling"))
    assert isinstance(error, PermissionDeniedError)
    assert "refused by the storage service" in str(error)
