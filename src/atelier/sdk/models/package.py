"""``ModelPackage``: models, entry script and locked environment as an immutable image.

``Model.package(ws, [model], inference_config, image_name="iris")`` stores a new version
of the image ``iris`` in the workspace's image registry: the model files, the entry
script's source directory, the environment's lock (``requirements.lock``, the built
environment's ``pip freeze``), the scoring runtime, a generated ``Dockerfile`` and a JSON
manifest (``manifest.json``) listing every file with its digest.

Unless ``generate_dockerfile=True``, ``Model.package`` also builds the package's OCI image
with podman (or docker) before it stores anything (see :mod:`atelier.sdk.models.package_image`):
``package.location`` names it, ``package.pull()`` makes sure this machine's engine holds it.
``package.save(folder)`` writes the build context; ``atelier image run`` (or
``package.serving_command()``) serves the package on this machine without any image.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.containers import BASE_IMAGE, Engine, find_engine
from atelier.containers.registry import configured_registry
from atelier.core.errors import AlreadyExistsError, NotFoundError, ValidationError
from atelier.core.names import check_key, check_text_value
from atelier.core.packages import (
    PackageRecord,
    check_image_label,
    check_image_name,
    default_image_name,
)
from atelier.core.settings import load_settings
from atelier.execution import packaging
from atelier.sdk.compute.environment import DEFAULT_BASE_IMAGE
from atelier.sdk.models.inference import InferenceConfig
from atelier.sdk.models.package_image import (
    build_context_image,
    check_registry,
    copy_tree,
    local_repository,
    pull_from_registry,
    push_to_registry,
    registry_repository,
    wheel_cache,
)
from atelier.sdk.tracking._snapshot import collect

if TYPE_CHECKING:
    from atelier.sdk.models.model import Model
    from atelier.sdk.workspace import Workspace

__all__ = ["ContainerRegistry", "ModelPackage", "create_package"]

SUCCEEDED = "Succeeded"
BUILD_LOG = "build.log"


def _home() -> Path:
    return load_settings().home.expanduser().resolve()


class ModelPackage:
    """One version of an image in a workspace's registry (immutable)."""

    def __init__(self, workspace: Workspace, record: PackageRecord) -> None:
        self.workspace = workspace
        self._backend = workspace._backend
        self._record = record

    # --- opening -----------------------------------------------------------------------
    @classmethod
    def get(cls, workspace: Workspace, image_name: str, version: int | None = None) -> ModelPackage:
        """The version of ``image_name`` (the latest when None); ``NotFoundError`` if absent."""
        return cls(workspace, workspace._backend.packages.get(workspace.name, image_name, version))

    @classmethod
    def list(
        cls, workspace: Workspace, image_name: str | None = None
    ) -> builtins.list[ModelPackage]:
        """The workspace's packages, by name, newest version first."""
        records = workspace._backend.packages.list(workspace.name, image_name)
        return [cls(workspace, record) for record in records]

    # --- what it is --------------------------------------------------------------------
    @property
    def image_name(self) -> str:
        return self._record.name

    @property
    def version(self) -> int:
        return self._record.version

    @property
    def image_label(self) -> str | None:
        return self._record.label

    @property
    def digest(self) -> str:
        """SHA-256 of the manifest: equal digests mean equal contents."""
        return self._record.digest

    @property
    def local_image(self) -> str:
        """The image in this machine's engine: ``localhost/atelier/<ws>/<name>:<version>``."""
        return f"{local_repository(self.workspace.name, self.image_name)}:{self.version}"

    @property
    def location(self) -> str:
        """Where the image is: ``<registry host:port>/<ws>/<name>:<version>`` in the
        workspace's registry (``ATELIER_REGISTRY_URL``), else :attr:`local_image`."""
        registry = configured_registry()
        if registry is None:
            return self.local_image
        return registry.reference(registry_repository(self.workspace.name, self.image_name),
                                  str(self.version))  # fmt: skip

    @property
    def generate_dockerfile(self) -> bool:
        """Whether the package was made as a build context only (no image was built)."""
        return bool(self._record.manifest.get("generateDockerfile"))

    @property
    def manifest(self) -> dict[str, Any]:
        copy: dict[str, Any] = json.loads(json.dumps(self._record.manifest))
        return copy

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._record.manifest.get("tags") or {})

    @property
    def state(self) -> str:
        """Always ``Succeeded``: a package exists only once it is complete."""
        return SUCCEEDED

    @property
    def created_time(self) -> datetime:
        return datetime.fromtimestamp(self._record.created_ms / 1000, tz=UTC)

    def serialize(self) -> dict[str, Any]:
        manifest = self._record.manifest
        return {
            "imageName": self.image_name,
            "version": self.version,
            "label": self.image_label,
            "location": self.location,
            "digest": self.digest,
            "state": self.state,
            "createdTime": manifest.get("createdTime"),
            "models": [m["id"] for m in manifest.get("models", [])],
            "entryScript": manifest.get("entryScript"),
            "environment": (manifest.get("environment") or {}).get("name"),
            "baseImage": manifest.get("baseImage"),
            "tags": self.tags,
            "files": len(manifest.get("files", [])),
            "size": sum(int(f["size"]) for f in manifest.get("files", [])),
        }

    def __repr__(self) -> str:
        return f"ModelPackage(location={self.location!r}, digest={self.digest[:12]!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ModelPackage) and other._record.id == self._record.id

    def __hash__(self) -> int:
        return hash(self._record.id)

    # --- azureml's waiting and logs -----------------------------------------------------
    def wait_for_creation(self, show_output: bool = False) -> None:
        """Returns at once: ``Model.package`` finishes before it returns. With
        ``show_output`` prints the creation log."""
        if show_output:
            print(self._record.log, end="" if self._record.log.endswith("\n") else "\n")
            print(f"Package {self.location} {self.state}", flush=True)

    @property
    def build_log_path(self) -> Path:
        """Where this machine's image builds of the package write their output."""
        return self._cache_dir() / BUILD_LOG

    def get_logs(self) -> str:
        """The creation log, then the output of image builds on this machine."""
        text = self._record.log
        build_log = self._cache_dir() / BUILD_LOG
        if build_log.is_file():
            text += build_log.read_text(encoding="utf-8", errors="replace")
        return text

    # --- using it -----------------------------------------------------------------------
    def save(self, output_dir: str | os.PathLike[str]) -> str:
        """Write the build context into the new (or empty) folder ``output_dir``:
        ``Dockerfile``, ``models/``, ``source/``, ``runtime.tar`` (the Atelier runtime,
        which the Dockerfile unpacks into ``runtime/``), ``requirements.lock``,
        ``runtime-requirements.txt`` and ``manifest.json``. It appears whole or not at all."""
        target = Path(output_dir)
        self._backend.packages.extract(self.workspace.name, self.image_name, self.version, target)
        return str(target)

    def build(self) -> str:
        """Make sure this machine's engine holds :attr:`local_image` (built from the stored
        build context when it does not: an unchanged context is found in the build cache at
        once); return it. ``ContainerEngineError`` when no engine works, ``ImageBuildError``
        when the build fails (the error shows the log's last lines)."""
        engine = find_engine()
        if engine.image_exists(self.local_image):
            return self.local_image
        folder = self._cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / BUILD_LOG).open("a+", encoding="utf-8") as log:
            log.write(f"[atelier] building {self.local_image}\n")
            with _build_folder() as context:
                copy_tree(self.extract(), context)
                reference = build_context_image(
                    context, self._record.manifest["baseImage"], log, folder.parent, engine
                )
        ws, name = self.workspace.name, self.image_name
        _tag(engine, reference, ws, name, self.version, self.image_label)
        return self.local_image

    def pull(self) -> str:
        """azureml's ``pull``: bring the image into this machine's engine, from the
        workspace's registry when it holds it, else built from the stored context; return
        :attr:`local_image`."""
        engine = find_engine()
        if not engine.image_exists(self.local_image):
            pull_from_registry(engine, self.workspace.name, self.image_name, self.version)
        return self.build()

    def get_container_registry(self) -> ContainerRegistry:
        """Where the image is stored: the workspace's registry, else this machine's engine
        storage (``localhost``)."""
        registry = configured_registry()
        return ContainerRegistry(address=registry.address if registry else "localhost")

    def extract(self) -> Path:
        """This package's build context in the local cache (extracted once; immutable)."""
        target = self._cache_dir() / "context"
        if (target / "manifest.json").is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._backend.packages.extract(
                self.workspace.name, self.image_name, self.version, target
            )
        except AlreadyExistsError:
            if not (target / "manifest.json").is_file():  # another process is extracting
                raise
        return target

    def serving_command(
        self, host: str = "127.0.0.1", port: int = 5001, workers: int = 1, log: Any = None
    ) -> builtins.list[str]:
        """The command that serves this package here, from its extracted build context and
        with its locked environment (built once and cached; no image is needed)."""
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port <= 65535:
            raise ValidationError(f"port must be 1-65535; got {port!r}")
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValidationError(f"workers must be a whole number >= 1; got {workers!r}")
        context = self.extract()
        lock = (context / packaging.LOCK_FILE).read_text(encoding="utf-8").splitlines()
        python = packaging.serving_python(
            self._record.manifest, lock, _home() / "envs", log or io.StringIO()
        )
        arguments = packaging.serve_arguments(self._record.manifest, str(context), host, port)
        return [str(python), *arguments, "--workers", str(workers)]

    def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 5001,
        workers: int = 1,
        keys: builtins.list[str] | None = None,
    ) -> int:
        """Serve this package here until interrupted (blocks); returns the server's exit
        code. ``keys`` (default: one random key, printed) protect ``/score``."""
        command = self.serving_command(host, port, workers, log=sys.stderr)
        chosen = builtins.list(keys or [secrets.token_urlsafe(32)])
        if not keys:
            print(f"scoring key: {chosen[0]}", flush=True)
        env = {**os.environ, "ATELIER_SCORING_KEYS": json.dumps(chosen)}
        with subprocess.Popen(command, env=env) as process:
            try:
                return process.wait()
            except KeyboardInterrupt:
                process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=10)
                return 130

    def _cache_dir(self) -> Path:
        return (
            _home() / "images" / self.workspace.name / self.image_name
            / f"{self.version}-{self.digest[:12]}"
        )  # fmt: skip


# --- creating ---------------------------------------------------------------------------
def _checked_models(workspace: Workspace, models: builtins.list[Model]) -> list[Model]:
    """``models`` (checked to be Model objects by ``Model.package``) all in ``workspace``."""
    if not models:
        raise ValidationError("give at least one model to package, e.g. [Model(ws, 'iris')]")
    if len({(m.name, m.version) for m in models}) != len(models):
        raise ValidationError("the same model version is listed twice")
    for model in models:
        if model.workspace.name != workspace.name:
            raise ValidationError(
                f"model {model.id} belongs to workspace {model.workspace.name!r}, "
                f"not {workspace.name!r}; register it in this workspace first"
            )
    return list(models)


def _checked_tags(tags: object) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise ValidationError(f"tags must be a dict, not {type(tags).__name__}")
    return {check_key("tag", k): check_text_value("tag", k, v) for k, v in tags.items()}


def _environment_part(config: InferenceConfig) -> tuple[dict[str, Any] | None, str]:
    """The manifest's environment entry and the image's base image."""
    env = config.environment
    if env is None:
        return None, BASE_IMAGE
    spec = env.to_spec()
    base = spec.get("base_image") or DEFAULT_BASE_IMAGE
    if base == DEFAULT_BASE_IMAGE:
        base = BASE_IMAGE  # Atelier's offline Python base (atelier.containers)
    return {"name": env.name, "version": env.version, "spec": spec}, base


def _sources(config: InferenceConfig) -> builtins.list[tuple[str, Path]]:
    """The source directory's files under ``source/``, checked to hold a usable entry script."""
    script = config.entry_script_path
    if not script.is_file():
        raise NotFoundError(
            f"entry script {config.entry_script!r} not found in "
            f"{str(config.source_directory)!r}; check the file name or the folder"
        )
    packaging.check_entry_script(script)
    sources = [
        (f"{packaging.SOURCE_DIR}/{relative}", local)
        for relative, local, _ in collect(config.source_directory)
    ]
    if f"{packaging.SOURCE_DIR}/{config.entry_script}" not in dict(sources):
        raise ValidationError(
            f"entry script {config.entry_script!r} is left out by the ignore file "
            f"(.amlignore or .gitignore) in {str(config.source_directory)!r}; "
            "remove the pattern that matches it"
        )
    return sources


def _generated_files(
    folder: Path, lock: builtins.list[str], manifest: dict[str, Any]
) -> builtins.list[tuple[str, Path]]:
    """Write the lock, the runtime requirements and the Dockerfile into ``folder``."""
    written = {
        packaging.LOCK_FILE: "".join(f"{line}\n" for line in lock),
        packaging.RUNTIME_REQUIREMENTS_FILE: "".join(
            f"{line}\n" for line in packaging.runtime_requirements(lock)
        ),
        packaging.DOCKERFILE: packaging.render_dockerfile(manifest),
    }
    for file_name, text in written.items():
        (folder / file_name).write_text(text, encoding="utf-8")
    return [(file_name, folder / file_name) for file_name in written]


def create_package(
    workspace: Workspace,
    models: builtins.list[Model],
    inference_config: InferenceConfig,
    image_name: str | None = None,
    image_label: str | None = None,
    tags: dict[str, Any] | None = None,
    generate_dockerfile: bool = False,
) -> ModelPackage:
    """``Model.package``: see the module docstring. Raises ``ValidationError`` (no models,
    a bad image name or label, an entry script without ``init``/``run``), ``NotFoundError``
    (an entry script or model version that no longer exists) and ``EnvironmentBuildError``."""
    chosen = _checked_models(workspace, models)
    if not isinstance(inference_config, InferenceConfig):
        raise ValidationError("inference_config must be an InferenceConfig")
    name = check_image_name(
        image_name if image_name is not None else default_image_name(chosen[0].name)
    )
    label = check_image_label(image_label)
    clean_tags = _checked_tags(tags)
    sources = _sources(inference_config)
    log = io.StringIO()
    log.write(f"[atelier] packaging {', '.join(m.id for m in chosen)} as image {name!r}\n")
    environment, base_image = _environment_part(inference_config)
    lock = packaging.lock_environment(
        environment["spec"] if environment else None, _home() / "envs", log
    )
    single = chosen[0]
    manifest: dict[str, Any] = {
        "entryScript": inference_config.entry_script,
        "modelDir": f"models/{single.name}/{single.version}" if len(chosen) == 1 else "models",
        "environment": environment,
        "baseImage": base_image,
        "lockFile": packaging.LOCK_FILE,
        "runtimeRequirementsFile": packaging.RUNTIME_REQUIREMENTS_FILE,
        "port": packaging.IMAGE_PORT,
        "tags": clean_tags,
    }
    log.write(
        f"[atelier] {len(sources)} source files, {len(lock)} locked requirements, "
        f"base image {base_image}\n"
    )
    manifest["generateDockerfile"] = bool(generate_dockerfile)
    with tempfile.TemporaryDirectory(prefix="atelier-package-") as scratch:
        generated = _generated_files(Path(scratch), lock, manifest)
        files = [*generated, *sources, packaging.runtime_archive(Path(scratch))]
        engine, reference = None, None
        if not generate_dockerfile:
            engine = find_engine()  # before any work: no engine, nothing made
            check_registry()
            with _build_folder() as context:
                for relative, local in files:
                    (context / relative).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(local, context / relative)
                for model in chosen:
                    model.download(context / "models" / model.name / str(model.version))
                reference = build_context_image(
                    context, base_image, log, _home() / "images" / workspace.name / name, engine
                )
        record = workspace._backend.packages.create(
            workspace.name,
            name,
            label,
            [(m.name, m.version) for m in chosen],
            files,
            manifest,
            log.getvalue(),
        )
    if engine is not None and reference is not None:
        _tag(engine, reference, workspace.name, name, record.version, label)
        push_to_registry(engine, workspace.name, name, record.version, label)
    return ModelPackage(workspace, record)


class ContainerRegistry:
    """azureml's ``ContainerRegistry``: where a package's image is (``address``), and the
    credentials to log in with (none for this machine's engine storage)."""

    def __init__(
        self, address: str | None = None, username: str | None = None, password: str | None = None
    ) -> None:
        self.address = address
        self.username = username
        self.password = password

    def __repr__(self) -> str:
        return f"ContainerRegistry(address={self.address!r})"


@contextlib.contextmanager
def _build_folder() -> Iterator[Path]:
    """A scratch build context beside the wheel cache (so wheels are hard-linked, not copied)."""
    root = wheel_cache().parent / "build"
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="context-", dir=root) as scratch:
        yield Path(scratch)


def _tag(
    engine: Engine, reference: str, workspace: str, name: str, version: int, label: str | None
) -> None:
    repository = local_repository(workspace, name)
    engine.tag(reference, f"{repository}:{version}", *([f"{repository}:{label}"] if label else []))
