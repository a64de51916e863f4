"""What turns models and an entry script into a package, and a package into a running
server or an OCI image: the environment lock, the Atelier runtime, the Dockerfile, and
the command that serves an extracted package (``atelier.sdk.models.package_image``
builds the image with the engine of ``atelier.containers``).

The lock is the built environment's ``uv pip freeze`` (what scripts were really run
with), not a fresh resolution: a run and its package then use the same versions. The
image carries the Atelier runtime's source rather than installing Atelier from an index;
every package is installed offline from wheels resolved on the host, so a build needs no
network and no certificate inside the container.

The runtime's source travels as one archive, ``runtime.tar`` (the Dockerfile's ``ADD``
unpacks it into ``runtime/``), made the same byte for byte from the same source: every
package of one Atelier version then shares one stored blob, and creating a package
stores, uploads and lists one file for the runtime instead of its five hundred modules.
"""

from __future__ import annotations

import ast
import functools
import io
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import IO, Any

from atelier.core.errors import EnvironmentBuildError, ValidationError
from atelier.execution.environments import (
    ensure_environment,
    find_uv,
    host_python_version,
)

#: paths inside a package's build context
LOCK_FILE = "requirements.lock"
RUNTIME_REQUIREMENTS_FILE = "runtime-requirements.txt"
DOCKERFILE = "Dockerfile"
SOURCE_DIR = "source"
RUNTIME_DIR = "runtime"
#: the runtime's source as one archive in the build context, unpacked into RUNTIME_DIR
RUNTIME_ARCHIVE = "runtime.tar"
#: the Dockerfile line that puts the runtime into the image
RUNTIME_LINE = f"ADD {RUNTIME_ARCHIVE} {RUNTIME_DIR}/\n"
APP_ROOT = "/opt/atelier"
IMAGE_PORT = 5001
#: the build context's folder of wheels (runtime/ and env/), made on the host at build time
WHEELS_DIR = "wheels"
_PACKAGE = "atelier-ml"
_ATELIER_DIR = Path(__file__).resolve().parents[1]
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


# --- the entry script ---------------------------------------------------------------------
def check_entry_script(path: Path) -> None:
    """Refuse a script that does not parse or does not define ``init`` and ``run`` at its
    top level (read, not imported: importing could need the model's packages)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except FileNotFoundError:
        raise ValidationError(f"entry script {path} does not exist") from None
    except (SyntaxError, UnicodeDecodeError, ValueError) as exc:
        raise ValidationError(f"entry script {path} does not parse: {exc}") from None
    defined: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            defined.add(node.name)
        elif isinstance(node, ast.Assign):
            defined.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ImportFrom | ast.Import):
            defined.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    missing = [name for name in ("init", "run") if name not in defined]
    if missing:
        raise ValidationError(
            f"entry script {path} does not define {' and '.join(f'{m}()' for m in missing)}; "
            "a scoring script defines init() (load the model) and run(data) (score a request)"
        )


# --- the environment ----------------------------------------------------------------------
def lock_environment(spec: dict[str, Any] | None, cache_root: Path, log: IO[str]) -> list[str]:
    """The pinned requirements of the environment: its build's ``pip freeze``.

    No environment locks nothing (the runtime requirements still go into the image); a
    user-managed one freezes its interpreter. Editable and local-path installs cannot be
    reproduced elsewhere and are left out (and said so in ``log``).
    """
    if spec is None:
        log.write("[atelier] no environment: the package pins only Atelier's runtime\n")
        return []
    python = ensure_environment(spec, cache_root, log)
    uv = find_uv()
    command = (
        [uv, "pip", "freeze", "--python", str(python)]
        if uv is not None
        else [str(python), "-m", "pip", "freeze", "--disable-pip-version-check"]
    )
    log.write("[atelier] $ " + " ".join(command) + "\n")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EnvironmentBuildError(f"could not list the environment's packages: {exc}") from exc
    if done.returncode != 0:
        raise EnvironmentBuildError(
            f"listing the environment's packages failed: {done.stderr.strip()[-2000:]}"
        )
    options = [p for p in spec.get("pip") or [] if p.startswith("--") and "index-url" in p]
    pins: list[str] = []
    for raw in done.stdout.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-e") or " @ file:" in line or line.startswith("file:"):
            log.write(f"[atelier] left out of the lock (a local install): {line}\n")
            continue
        pins.append(line)
    return [*options, *sorted(pins, key=str.lower)]


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_names(lock: list[str]) -> set[str]:
    found = set()
    for line in lock:
        match = _NAME.match(line)
        if match and not line.startswith("-"):
            found.add(_normalized(match.group(0)))
    return found


def runtime_requirements(lock: list[str]) -> list[str]:
    """What the scoring server itself needs (Atelier's dependencies and its ``serve``
    extra), pinned at the versions installed here; the lock's own pins win."""
    # importlib.metadata (zipfile, email, csv) is 0.05 s of CPU: kept out of `import atelier`
    import importlib.metadata

    already = locked_names(lock)
    pins: list[str] = []
    for requirement in importlib.metadata.requires(_PACKAGE) or []:
        spec, _, marker = requirement.partition(";")
        if marker.strip() and marker.replace(" ", "") != 'extra=="serve"':
            continue
        match = _NAME.match(spec.strip())
        if match is None or _normalized(match.group(0)) in already:
            continue
        name = match.group(0)
        extras = re.search(r"\[[^\]]*\]", spec)
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pins.append(spec.strip())
            continue
        pins.append(f"{name}{extras.group(0) if extras else ''}=={version}")
    return sorted(pins, key=str.lower)


def _runtime_files() -> list[tuple[str, Path]]:
    """The Atelier runtime's source as (path under :data:`RUNTIME_DIR`, local file)."""
    found = []
    for path in sorted(_ATELIER_DIR.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        if path.suffix in (".py", ".typed", ".ini", ".mako"):
            found.append((path.relative_to(_ATELIER_DIR.parent).as_posix(), path))
    return found


def runtime_archive(folder: Path) -> tuple[str, Path]:
    """The runtime's source written as :data:`RUNTIME_ARCHIVE` into ``folder``: (path in
    the build context, local file)."""
    target = folder / RUNTIME_ARCHIVE
    target.write_bytes(_runtime_archive_bytes())
    return RUNTIME_ARCHIVE, target


@functools.cache
def _runtime_archive_bytes() -> bytes:
    """The archive, made once per process: files in name order, with no times, owners or
    modes of this machine in it, so the same source always gives the same bytes."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for relative, path in _runtime_files():
            data = path.read_bytes()
            member = tarfile.TarInfo(relative)
            member.size, member.mode, member.mtime = len(data), 0o644, 0
            archive.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def python_version_of(spec: dict[str, Any] | None) -> str:
    version = (spec or {}).get("python_version")
    if isinstance(version, str) and version:
        return ".".join(version.split(".")[:2])
    return host_python_version()


# --- the Dockerfile -----------------------------------------------------------------------
def serve_arguments(manifest: dict[str, Any], root: str, host: str, port: int) -> list[str]:
    """``python -m atelier.serving.server`` and its arguments for a package under ``root``."""
    return [
        "-m", "atelier.serving.server",
        "--entry-script", f"{root}/{SOURCE_DIR}/{manifest['entryScript']}",
        "--source-dir", f"{root}/{SOURCE_DIR}",
        "--model-dir", f"{root}/{manifest['modelDir']}",
        "--host", host,
        "--port", str(port),
    ]  # fmt: skip


def render_dockerfile(manifest: dict[str, Any]) -> str:
    """The Dockerfile of a package: the base image, Atelier's runtime packages and then the
    environment's (each installed offline from the build context's ``wheels/`` folder, which
    the image does not keep), the runtime's source, the models and the source, and the
    scoring server as the command. Rarely-changing layers come first, so a changed entry
    script rebuilds only the last layer."""
    command = ["python", *serve_arguments(manifest, APP_ROOT, "0.0.0.0", IMAGE_PORT)]
    quoted = ", ".join(f'"{part}"' for part in command)
    install = "python -m pip install --no-index --find-links /wheels --disable-pip-version-check"
    return (
        "# Generated by Atelier: the scoring server for this package's models.\n"
        f"# Build: put the wheels of {RUNTIME_REQUIREMENTS_FILE} in {WHEELS_DIR}/runtime and of\n"
        f"# {LOCK_FILE} in {WHEELS_DIR}/env (Atelier's build does), then 'podman build .'\n"
        f"# Run with keys:  podman run -p 5001:5001 "
        '-e ATELIER_SCORING_KEYS=\'["<primary>", "<secondary>"]\' IMAGE\n'
        f"FROM {manifest['baseImage']}\n"
        "ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 \\\n"
        f"    PYTHONPATH={APP_ROOT}/{RUNTIME_DIR}\n"
        f"WORKDIR {APP_ROOT}\n"
        f"COPY {RUNTIME_REQUIREMENTS_FILE} ./\n"
        f"RUN --mount=type=bind,source={WHEELS_DIR}/runtime,target=/wheels \\\n"
        f"    {install} -r {RUNTIME_REQUIREMENTS_FILE}\n"
        f"COPY {LOCK_FILE} ./\n"
        f"RUN --mount=type=bind,source={WHEELS_DIR}/env,target=/wheels \\\n"
        f"    if [ -s {LOCK_FILE} ]; then {install} -r {LOCK_FILE}; fi\n"
        f"{RUNTIME_LINE}"
        "COPY models/ models/\n"
        f"COPY {SOURCE_DIR}/ {SOURCE_DIR}/\n"
        f"EXPOSE {IMAGE_PORT}\n"
        f"CMD [{quoted}]\n"
    )


# --- serving an extracted package ---------------------------------------------------------
def serving_python(
    manifest: dict[str, Any], lock: list[str], cache_root: Path, log: IO[str]
) -> Path:
    """The Python to serve a package with: its locked environment (built once, cached),
    the user-managed interpreter it named, or this Python when it had no environment."""
    environment = manifest.get("environment")
    if not environment:
        return Path(sys.executable)
    spec = environment.get("spec") or {}
    if spec.get("user_managed") or spec.get("conda_packages"):
        return ensure_environment(spec, cache_root, log)  # conda builds are not pip-locked
    pins = [line for line in lock if line.strip()]
    locked = {"python_version": spec.get("python_version"), "pip": pins, "conda_packages": []}
    return ensure_environment(locked, cache_root, log)
