"""Who may call a web service and how: key auth and TLS, set at deploy time
(``AciWebservice.deploy_configuration(auth_enabled=, ssl_enabled=, ssl_cert_pem_file=,
ssl_key_pem_file=, ssl_cname=)``) and changed on the live service (``update(...)``).

TLS is terminated by the endpoint's router with the given certificate and key, copied
into the endpoint's folder (``tls/``, readable by its owner only); the record keeps the
certificate's digest and ``ssl_cname``. ``service.run()`` checks the certificate against
the system's authorities and the service's own certificate (so a self-signed one works),
for ``ssl_cname`` when given, else for ``127.0.0.1``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.errors import WebserviceError
from atelier.sdk.models._service_rollout import ServiceRolloutMixin
from atelier.serving.tls import CERT_FILE, KEY_FILE, TLS_DIR

if TYPE_CHECKING:
    import ssl

__all__ = ["ServiceAccessMixin", "TlsFiles", "check_tls"]


@dataclass(frozen=True)
class TlsFiles:
    """A certificate (PEM, its chain after it) and its private key, as read and checked."""

    cert: bytes
    key: bytes
    cname: str | None = None

    @property
    def settings(self) -> dict[str, Any]:
        """What the endpoint's record keeps: the name and the certificate's digest."""
        return {"cname": self.cname, "cert_sha256": hashlib.sha256(self.cert).hexdigest()}


def _read(argument: str, path: object) -> bytes:
    if not isinstance(path, str | os.PathLike):
        raise WebserviceError(f"{argument} must be the path of a PEM file; got {path!r}")
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise WebserviceError(
            f"cannot read {argument} {str(path)!r} ({exc.strerror or exc}); give the path of "
            "a readable PEM file"
        ) from None


def check_tls(
    ssl_enabled: bool | None,
    ssl_cert_pem_file: str | os.PathLike[str] | None,
    ssl_key_pem_file: str | os.PathLike[str] | None,
    ssl_cname: str | None,
) -> TlsFiles | None:
    """The TLS files when ``ssl_enabled``, read and checked (a PEM certificate and its
    matching unencrypted key); None otherwise. Raises :class:`WebserviceError` (azureml's
    ``WebserviceException``) saying what to give."""
    if not ssl_enabled:
        return None
    if not ssl_cert_pem_file or not ssl_key_pem_file:
        raise WebserviceError(
            "ssl_enabled=True needs ssl_cert_pem_file and ssl_key_pem_file: the paths of the "
            "PEM certificate (its chain after it) and of its unencrypted private key"
        )
    if ssl_cname is not None and (not isinstance(ssl_cname, str) or not ssl_cname.strip()):
        raise WebserviceError(
            f"ssl_cname must be a host name such as 'svc.example.com'; got {ssl_cname!r}"
        )
    cert = _read("ssl_cert_pem_file", ssl_cert_pem_file)
    key = _read("ssl_key_pem_file", ssl_key_pem_file)
    import ssl  # here, not at the top: ``import atelier`` (and the CLI) stay without ssl

    from atelier.serving.tls import server_context

    try:
        server_context(Path(ssl_cert_pem_file), Path(ssl_key_pem_file))
    except (OSError, ssl.SSLError) as exc:
        raise WebserviceError(
            f"ssl_cert_pem_file {str(ssl_cert_pem_file)!r} and ssl_key_pem_file "
            f"{str(ssl_key_pem_file)!r} are not a PEM certificate and its matching unencrypted "
            f"private key ({exc}); check them with 'openssl x509 -in CERT -noout' and "
            "'openssl pkey -in KEY -noout'"
        ) from None
    return TlsFiles(cert=cert, key=key, cname=ssl_cname or None)


def install_tls(folder: Path, files: TlsFiles) -> dict[str, Any]:
    """Write the certificate and key into the endpoint's folder (owner-only), each
    replacing the old one at once; return the record's TLS settings."""
    directory = folder / TLS_DIR
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name, data in ((CERT_FILE, files.cert), (KEY_FILE, files.key)):
        partial = directory / f".{name}.new"
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        partial.replace(directory / name)
    return files.settings


class ServiceAccessMixin(ServiceRolloutMixin):
    """Key auth and TLS of a live service; needs what ``ServiceRolloutMixin`` needs."""

    @property
    def ssl_enabled(self) -> bool:
        """Whether the service answers HTTPS (``deploy_configuration(ssl_enabled=True)``)."""
        return bool(self._record.config.get("tls"))

    @property
    def ssl_cname(self) -> str | None:
        tls = self._record.config.get("tls") or {}
        return tls.get("cname")

    def _scheme(self) -> str:
        return "https" if self.ssl_enabled else "http"

    def _tls_files(self) -> TlsFiles | None:
        """The service's current certificate and key (None when TLS is off or they are
        not on this machine)."""
        directory = self._folder / TLS_DIR
        try:
            cert = (directory / CERT_FILE).read_bytes()
            key = (directory / KEY_FILE).read_bytes()
        except OSError:
            return None
        return TlsFiles(cert=cert, key=key, cname=self.ssl_cname) if self.ssl_enabled else None

    def _client_tls(self) -> tuple[ssl.SSLContext, dict[str, Any]]:
        """What ``run()`` gives httpx: ``verify`` and the request's extensions."""
        if not self.ssl_enabled:
            # the process's shared context: a new one would load the CA bundle each call
            from atelier.core.tls_context import ssl_context

            return ssl_context(), {}
        import ssl  # only a TLS service needs it (``import atelier`` stays without ssl)

        context = ssl.create_default_context()
        cert = self._folder / TLS_DIR / CERT_FILE
        if cert.is_file():
            context.load_verify_locations(cafile=str(cert))
            # the service's own (leaf or self-signed) certificate is a trust anchor
            context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        cname = self.ssl_cname
        return context, ({"sni_hostname": cname} if cname else {})

    def _access_changes(
        self,
        auth_enabled: bool | None,
        ssl_enabled: bool | None,
        ssl_cert_pem_file: str | os.PathLike[str] | None,
        ssl_key_pem_file: str | os.PathLike[str] | None,
        ssl_cname: str | None,
    ) -> tuple[dict[str, Any], TlsFiles | None]:
        """``update``'s auth and TLS arguments (None: as it is) as the changes to make and
        the TLS files to install; checked before anything changes."""
        changes: dict[str, Any] = {}
        if auth_enabled is not None and bool(auth_enabled) != self._record.auth_enabled:
            changes["auth_enabled"] = bool(auth_enabled)
        files_given = ssl_cert_pem_file is not None or ssl_key_pem_file is not None
        if ssl_enabled is None and not files_given and ssl_cname is None:
            return changes, None
        if ssl_enabled is None and not self.ssl_enabled:
            raise WebserviceError(
                f"service {self.name!r} does not use TLS; pass ssl_enabled=True with "
                "ssl_cert_pem_file and ssl_key_pem_file to turn it on"
            )
        if ssl_enabled is not None and not ssl_enabled:
            if self.ssl_enabled:
                changes["tls"] = None
            return changes, None
        cname = ssl_cname if ssl_cname is not None else self.ssl_cname
        current = None if files_given else self._tls_files()
        if current is not None:  # a new name for the certificate it has
            return changes, TlsFiles(cert=current.cert, key=current.key, cname=cname)
        return changes, check_tls(True, ssl_cert_pem_file, ssl_key_pem_file, cname)

    def _set_access(self, changes: dict[str, Any], tls: TlsFiles | None = None) -> None:
        """Apply key auth and/or TLS changes to the live service and return once its
        router has them (``tls`` files are written first when TLS is being set, and
        removed once it is off)."""
        if tls is not None:
            changes = {**changes, "tls": install_tls(self._folder, tls)}
        record = self._backend.endpoints.set_access(self.workspace.name, self.name, changes)
        self._record = self._wait_applied(record.revision)
        if "tls" in changes and changes["tls"] is None:  # off: no private key left behind
            shutil.rmtree(self._folder / TLS_DIR, ignore_errors=True)
