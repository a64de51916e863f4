"""The storage side of datastores: error translation never shows a credential."""

from __future__ import annotations

from atelier.storage.datastores import _Secrets


def test_credentials_are_scrubbed_as_whole_tokens() -> None:
    secrets = _Secrets(("b", "s3cr3t/Key+=="))
    text = "GET http://host/bucket?sig=s3cr3t/Key+== failed for key b"
    assert secrets.scrub(text) == "GET http://host/bucket?sig=*** failed for key ***"
