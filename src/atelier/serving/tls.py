"""TLS for an endpoint: its certificate and private key live in the endpoint's folder,
``tls/cert.pem`` and ``tls/key.pem`` (the SDK copies them there when TLS is turned on;
the record holds only the certificate's SHA-256 digest and the name it is for).

The router terminates TLS for every client connection while TLS is on, so it does not
hand connections to replicas then (a replica would get the encrypted bytes).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # ssl loads where a context is made: the SDK imports the names below
    import ssl

__all__ = ["CERT_FILE", "KEY_FILE", "TLS_DIR", "EndpointTls", "server_context"]

TLS_DIR = "tls"
CERT_FILE = "cert.pem"
KEY_FILE = "key.pem"


def _no_password() -> bytes:
    # an encrypted key fails to load instead of prompting on the terminal
    return b""


def server_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """A server-side TLS context for this certificate (with its chain) and key. Raises
    ``ssl.SSLError`` when they are not PEM, do not match, or the key is encrypted, and
    ``OSError`` when a file cannot be read."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert_file), str(key_file), password=_no_password)
    return context


class EndpointTls:
    """The router's TLS state, from the endpoint record's ``tls`` settings and the files
    in the endpoint's ``folder``: ``required`` while TLS is on; ``context`` is None then
    only when the files could not be loaded (the router closes connections rather than
    answer them in the clear)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.required = False
        self.context: ssl.SSLContext | None = None
        self._loaded: object = None

    def apply(self, settings: object, say: Callable[[str], None]) -> None:
        """Follow the record's settings (None: plain HTTP); reload the files when the
        certificate's digest changed."""
        if not settings:
            if self.required:
                say("TLS is off: the endpoint answers plain HTTP")
            self.required, self.context, self._loaded = False, None, None
            return
        self.required = True
        if settings == self._loaded and self.context is not None:
            return
        import ssl

        directory = self.folder / TLS_DIR
        try:
            self.context = server_context(directory / CERT_FILE, directory / KEY_FILE)
        except (OSError, ssl.SSLError) as exc:
            say(
                f"TLS is on but its files in {directory} do not load ({exc}); connections "
                "are closed; update the service with a valid certificate and key"
            )
            self.context = None
            return
        self._loaded = settings
        say("TLS is on: the router answers HTTPS")
