"""The workspace's image registry: Debian's ``docker-registry`` (the CNCF distribution
server) on loopback, and a small client for its HTTP API (``/v2/``).

``ATELIER_REGISTRY_URL`` (e.g. ``http://127.0.0.1:5000``) names the registry the SDK
pushes package images to and pulls them from; ``atelier server start --registry`` runs
one (or attaches to the one that variable names). Repositories are
``<workspace>/<image name>``, tags the package versions and labels.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.errors import ImageRegistryError, NotFoundError
from atelier.core.tls_context import ssl_context

if TYPE_CHECKING:
    import httpx

__all__ = [
    "REGISTRY_URL_VARIABLE",
    "Registry",
    "configured_registry",
    "run_or_attach",
    "start_registry",
]

REGISTRY_URL_VARIABLE = "ATELIER_REGISTRY_URL"
_MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.index.v1+json",
    )
)
_TIMEOUT = 30


class Registry:
    """A registry at ``url`` (``http://host:port``)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        if not self.url.startswith(("http://", "https://")):
            self.url = f"http://{self.url}"

    @property
    def address(self) -> str:
        """``host:port``, as image references name it."""
        return self.url.split("://", 1)[1]

    @property
    def tls_verify(self) -> bool:
        return self.url.startswith("https://")

    def reference(self, repository: str, tag: str) -> str:
        return f"{self.address}/{repository}:{tag}"

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        import httpx  # 0.08 s of CPU (ssl, email, rich): only when a registry is used

        try:
            return httpx.request(
                method, f"{self.url}/v2/{path}", timeout=_TIMEOUT, verify=ssl_context(), **kwargs
            )
        except httpx.HTTPError as exc:
            raise ImageRegistryError(
                f"the image registry at {self.url} cannot be reached ({exc}); start one with "
                f"'atelier server start --registry' or fix {REGISTRY_URL_VARIABLE}"
            ) from exc

    def check(self) -> None:
        """``ImageRegistryError`` unless the registry answers its API's root."""
        answer = self._request("GET", "")
        if answer.status_code != 200:
            raise ImageRegistryError(
                f"{self.url} does not answer as an image registry (HTTP {answer.status_code})"
            )

    def repositories(self) -> list[str]:
        answer = self._request("GET", "_catalog", params={"n": 1000})
        self._refused(answer, "list the repositories")
        return sorted(answer.json().get("repositories") or [])

    def tags(self, repository: str) -> list[str]:
        answer = self._request("GET", f"{repository}/tags/list")
        if answer.status_code == 404:
            return []
        self._refused(answer, f"list the tags of {repository}")
        return sorted(answer.json().get("tags") or [])

    def manifest(self, repository: str, tag: str) -> tuple[str, dict[str, Any]]:
        """The digest and the manifest of ``repository:tag``; ``NotFoundError`` if absent."""
        answer = self._request(
            "GET", f"{repository}/manifests/{tag}", headers={"Accept": _MANIFEST_TYPES}
        )
        if answer.status_code == 404:
            raise NotFoundError(f"image {repository}:{tag} is not in the registry {self.url}")
        self._refused(answer, f"read {repository}:{tag}")
        return answer.headers.get("Docker-Content-Digest", ""), answer.json()

    def delete(self, repository: str, tag: str) -> str:
        """Delete the manifest ``repository:tag`` points to (every tag of it); its digest."""
        digest, _ = self.manifest(repository, tag)
        answer = self._request("DELETE", f"{repository}/manifests/{digest}")
        self._refused(answer, f"delete {repository}:{tag}")
        return digest

    def _refused(self, answer: httpx.Response, what: str) -> None:
        if answer.status_code >= 400:
            raise ImageRegistryError(
                f"the image registry {self.url} refused to {what}: HTTP {answer.status_code} "
                f"{answer.text.strip()[:300]}"
            )


def configured_registry() -> Registry | None:
    """The registry ``ATELIER_REGISTRY_URL`` names, or None."""
    url = os.environ.get(REGISTRY_URL_VARIABLE, "").strip()
    return Registry(url) if url else None


def start_registry(
    root: Path, host: str = "127.0.0.1", port: int = 0, log: Path | None = None
) -> tuple[subprocess.Popen[bytes], Registry]:
    """Run ``docker-registry`` storing under ``root`` on ``host:port`` (0: a free port);
    return the process (the caller stops it) once it answers. ``ImageRegistryError`` when
    it is not installed or does not start (the end of its log in the message)."""
    binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
    if not Path(binary).is_file():
        raise ImageRegistryError(
            "docker-registry is not installed: 'apt-get install docker-registry' (Debian and "
            "Ubuntu), or run any OCI registry and set ATELIER_REGISTRY_URL to it"
        )
    if port == 0:
        with socket.socket() as probe:
            probe.bind((host, 0))
            port = int(probe.getsockname()[1])
    root.mkdir(parents=True, exist_ok=True)
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: {host}:{port}\n",
        encoding="utf-8",
    )
    log_path = log or root / "registry.log"
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [binary, "serve", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    registry = Registry(f"http://{host}:{port}")
    deadline = time.monotonic() + 30
    while not _answers(registry):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            tail = log_path.read_text(errors="replace")[-1500:]
            raise ImageRegistryError(
                f"docker-registry did not start on {host}:{port}; its log:\n{tail}"
            )
        time.sleep(0.1)
    return process, registry


def _answers(registry: Registry) -> bool:
    try:
        registry.check()
    except ImageRegistryError:
        return False
    return True


def run_or_attach(
    root: Path, run: bool, host: str = "127.0.0.1", port: int = 5000
) -> tuple[subprocess.Popen[bytes] | None, Registry | None]:
    """What ``atelier server start`` does about the registry: attach to the one
    ``ATELIER_REGISTRY_URL`` names (checked to answer), else run one under ``root`` when
    ``run`` (and name it in this process's ``ATELIER_REGISTRY_URL``), else nothing."""
    attached = configured_registry()
    if attached is not None:
        attached.check()
        return None, attached
    if not run:
        return None, None
    process, registry = start_registry(root, host, port)
    os.environ[REGISTRY_URL_VARIABLE] = registry.url
    return process, registry
