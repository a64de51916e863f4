"""A package's OCI image: the build context, the content-addressed build cache and the tags.

The image of a package is built from its build context with the engine of
:mod:`atelier.containers` (podman, else docker) on the offline Python base image, with the
runtime's and the environment's packages installed from wheels resolved on the host.
An image is first tagged by the digest of its context's files
(``localhost/atelier-cache/package:<key>``): an unchanged package finds that tag and
builds nothing, and a changed one reuses every unchanged layer. The version and the label
of the package then tag the same image (``localhost/atelier/<workspace>/<name>:<version>``).
A failed build keeps its whole log under ``<home>/images/<workspace>/<name>/`` and the
error shows its last lines.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path
from typing import IO

from atelier.containers import (
    BASE_IMAGE,
    Engine,
    ensure_base_image,
    find_engine,
    host_wheels,
)
from atelier.containers.registry import configured_registry
from atelier.core.errors import ContainerEngineError, ImageBuildError, ImageRegistryError
from atelier.execution import packaging

__all__ = [
    "CACHE_REPOSITORY",
    "build_context_image",
    "check_registry",
    "content_key",
    "copy_tree",
    "local_repository",
    "pull_from_registry",
    "push_to_registry",
    "registry_repository",
]

CACHE_REPOSITORY = "localhost/atelier-cache/package"
_SKIPPED = ("manifest.json",)
_LOG_TAIL_LINES = 25


def wheel_cache() -> Path:
    """The machine's cache of host-resolved wheels (shared by every Atelier home: wheels
    depend only on the requirements and this Python)."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "atelier" / "wheels"


def local_repository(workspace: str, image_name: str) -> str:
    """Where the engine keeps a package's image: ``localhost/atelier/<ws>/<name>``."""
    return f"localhost/atelier/{workspace.lower()}/{image_name}"


def registry_repository(workspace: str, image_name: str) -> str:
    """A package image's repository in the workspace's registry: ``<ws>/<name>``."""
    return f"{workspace.lower()}/{image_name}"


def check_registry() -> None:
    """``ImageRegistryError`` now, before a build, when the configured registry is down."""
    registry = configured_registry()
    if registry is not None:
        registry.check()


def push_to_registry(
    engine: Engine, workspace: str, name: str, version: int, label: str | None
) -> None:
    """Push the local image of a package version (and its label) to the workspace's
    registry, when ``ATELIER_REGISTRY_URL`` names one."""
    registry = configured_registry()
    if registry is None:
        return
    local = local_repository(workspace, name)
    remote = registry_repository(workspace, name)
    for tag in (str(version), *([label] if label else [])):
        try:
            engine.push(f"{local}:{version}", registry.reference(remote, tag),
                        tls_verify=registry.tls_verify)  # fmt: skip
        except ContainerEngineError as exc:
            raise ImageRegistryError(
                f"the registry {registry.url} refused the push of {remote}:{tag} (the package "
                f"is stored and its image is built here; package.pull() retries): {exc.message}"
            ) from None


def pull_from_registry(engine: Engine, workspace: str, name: str, version: int) -> bool:
    """Pull a package version's image from the workspace's registry into the local
    engine under its local name; False when no registry holds it."""
    registry = configured_registry()
    if registry is None:
        return False
    remote = registry_repository(workspace, name)
    if str(version) not in registry.tags(remote):
        return False
    reference = registry.reference(remote, str(version))
    engine.pull(reference, tls_verify=registry.tls_verify)
    engine.tag(reference, f"{local_repository(workspace, name)}:{version}")
    return True


def content_key(context: Path) -> str:
    """The digest of a build context: every file's path and content (not the manifest,
    whose version and time change with each package)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        relative = path.relative_to(context).as_posix()
        if relative in _SKIPPED or relative.startswith(f"{packaging.WHEELS_DIR}/"):
            continue
        digest.update(relative.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:32]


def build_context_image(
    context: Path, base_image: str, log: IO[str], failed_log_dir: Path, engine: Engine | None = None
) -> str:
    """Build the image of the package context ``context`` (a folder the caller owns: its
    ``wheels/`` folder is added here) and return its cache reference. Raises
    ``ContainerEngineError`` (no engine), ``ImageBuildError`` (a missing base image, a
    failed build: the error ends with the log's last lines and says where the whole log is)
    and ``EnvironmentBuildError`` (a requirement that cannot be resolved)."""
    engine = engine or find_engine()
    key = content_key(context)
    reference = f"{CACHE_REPOSITORY}:{key}"
    if engine.image_exists(reference):
        log.write(f"[atelier] unchanged: the image {reference} is already built\n")
        return reference
    if base_image == BASE_IMAGE:
        ensure_base_image(engine, log)
    elif not engine.image_exists(base_image):
        raise ImageBuildError(
            f"the base image {base_image!r} is not in {engine.name}'s storage; pull or build "
            f"it first ('{engine.name} pull {base_image}'), or leave the environment's "
            f"base image unset to use Atelier's {BASE_IMAGE}"
        )
    wheels_root = wheel_cache()
    for part, requirements_file in (
        ("runtime", packaging.RUNTIME_REQUIREMENTS_FILE),
        ("env", packaging.LOCK_FILE),
    ):
        lines = (context / requirements_file).read_text(encoding="utf-8").splitlines()
        _link_tree(host_wheels(lines, wheels_root, log), context / packaging.WHEELS_DIR / part)
    start = _position(log)
    try:
        engine.build(context, [reference], log)
    except ImageBuildError as exc:
        written = _written_since(log, start)
        kept = failed_log_dir / f"build-failed-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
        failed_log_dir.mkdir(parents=True, exist_ok=True)
        kept.write_text(written, encoding="utf-8")
        tail = "\n".join(written.strip().splitlines()[-_LOG_TAIL_LINES:])
        raise ImageBuildError(
            f"{exc.message}. The build log is kept at {kept}; its last lines:\n{tail}"
        ) from None
    log.write(f"[atelier] built {reference}\n")
    return reference


def copy_tree(source: Path, target: Path) -> None:
    """Every file under ``source`` at the same place under ``target`` (hard links where the
    file system allows, copies otherwise)."""
    for path in source.rglob("*"):
        if path.is_file():
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            _link(path, destination)


def _link(path: Path, destination: Path) -> None:
    try:
        os.link(path, destination)
    except OSError:
        shutil.copy2(path, destination)


def _link_tree(source: Path, target: Path) -> None:
    """``target`` as a copy of ``source``'s files: hard links where the file system allows."""
    target.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        if path.is_file() and not path.name.startswith("."):
            _link(path, target / path.name)


def _position(log: IO[str]) -> int | None:
    try:
        return log.tell()
    except (OSError, ValueError):
        return None


def _written_since(log: IO[str], start: int | None) -> str:
    """What was written to ``log`` from ``start`` (empty when it cannot be read back)."""
    if start is None or not log.readable():
        return ""
    log.flush()
    end = log.tell()
    log.seek(start)
    text = log.read()
    log.seek(end)
    return text
