"""The environment builder: from an ``Environment.to_spec()`` dict to a Python to run with.

Each built environment lives in ``cache_root/<build key[:16]>``, keyed by what affects
the build only, so two environments that differ in name or variables share one build.
A ready marker, written last, makes a lookup one ``stat``; builds of the same key are
serialized by an ``fcntl.flock`` so concurrent runs build once. uv does the work (falling
back to ``python -m venv`` and pip without it, and to conda for conda-only packages).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import site
import subprocess
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, cast

from atelier.core.errors import EnvironmentBuildError, ValidationError
from atelier.core.timeutil import now_ms

__all__ = [
    "BUILDER_VERSION",
    "HOST_PATHS_FILE",
    "READY_MARKER",
    "REQUIREMENTS_FILE",
    "build_key",
    "build_log_path",
    "build_state",
    "ensure_environment",
    "find_uv",
    "host_package_dirs",
    "host_python_version",
]

#: bump when the layout of a built environment changes, to rebuild every cached one
BUILDER_VERSION = 1
READY_MARKER = ".atelier-ready.json"
HOST_PATHS_FILE = "_atelier_host.pth"
REQUIREMENTS_FILE = "atelier-requirements.txt"
#: a build's log is kept beside its folder (``<key>.build.log``), for ``atelier studio``
BUILD_LOG_SUFFIX = ".build.log"
_TAIL_LINES = 20
_PYTHON_VERSION = re.compile(r"\d+\.\d+(?:\.\d+)?")
#: the package directory that holds ``atelier`` (``src/`` in a checkout, site-packages else)
_ATELIER_ROOT = Path(__file__).resolve().parents[2]


def host_python_version() -> str:
    """``"3.11"`` for the Python running this process."""
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def _build_inputs(spec: dict[str, Any]) -> dict[str, Any]:
    if spec.get("user_managed"):
        return {"user_managed": True, "interpreter_path": spec.get("interpreter_path")}
    return {
        "builder": BUILDER_VERSION,
        # no pinned version means "the host's": a host on another Python needs another build
        "python_version": spec.get("python_version") or f"host-{host_python_version()}",
        "pip": sorted(spec.get("pip") or []),
        "conda_packages": sorted(spec.get("conda_packages") or []),
    }


def build_key(spec: dict[str, Any]) -> str:
    """sha256 (hex) of what affects the build: Python version, packages, user-managed path.

    Variables, the base image and the environment's name do not change the key. With no
    ``python_version`` the host's major.minor counts, as the build uses the host's Python.
    """
    canonical = json.dumps(_build_inputs(spec), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def ensure_environment(spec: dict[str, Any], cache_root: Path, log: IO[str]) -> Path:
    """The Python executable to run scripts with, building the environment if needed.

    User-managed specs get ``interpreter_path`` (default: this process's Python) and no
    build. Otherwise a cached build is returned at once; a missing one is built under a
    file lock (a concurrent caller waits, then finds it ready), with every line the tools
    print written to ``log``. Raises ``ValidationError`` for a malformed spec and
    ``EnvironmentBuildError`` when the build fails (nothing half-built is left behind).
    """
    _check_spec(spec)
    if spec.get("user_managed"):
        return _user_interpreter(spec.get("interpreter_path"))
    key = build_key(spec)[:16]
    env_dir = cache_root / key
    python = env_dir / "bin" / "python"
    if _is_ready(env_dir, python):
        return python
    cache_root.mkdir(parents=True, exist_ok=True)
    with _exclusive(cache_root / f"{key}.lock", log):
        if not _is_ready(env_dir, python):
            with build_log_path(spec, cache_root).open("w", encoding="utf-8") as kept:
                _build(spec, env_dir, cast(IO[str], _Tee(log, kept)))
    return python


class _Tee(io.TextIOBase):
    """Writes to the caller's log and to the kept build log."""

    def __init__(self, *targets: IO[str]) -> None:
        super().__init__()
        self.targets = targets

    def write(self, text: str) -> int:
        for target in self.targets:
            target.write(text)
        return len(text)

    def flush(self) -> None:
        for target in self.targets:
            target.flush()


def build_log_path(spec: dict[str, Any], cache_root: Path) -> Path:
    """Where the last build of ``spec`` under ``cache_root`` wrote its log."""
    return cache_root / f"{build_key(spec)[:16]}{BUILD_LOG_SUFFIX}"


def build_state(spec: dict[str, Any], cache_root: Path) -> str:
    """``Succeeded`` (built and ready), ``Failed or running`` (a log but no ready build),
    ``Not built`` (never built under ``cache_root``), or ``User managed``."""
    if spec.get("user_managed"):
        return "User managed"
    env_dir = cache_root / build_key(spec)[:16]
    if _is_ready(env_dir, env_dir / "bin" / "python"):
        return "Succeeded"
    return "Failed or running" if build_log_path(spec, cache_root).is_file() else "Not built"


def _check_spec(spec: dict[str, Any]) -> None:
    if not isinstance(spec, dict):
        raise ValidationError(f"an environment spec must be a dict, not {type(spec).__name__}")
    version = spec.get("python_version")
    if version is not None and (
        not isinstance(version, str) or not _PYTHON_VERSION.fullmatch(version)
    ):
        raise ValidationError(f"invalid python_version {version!r}: give major.minor like '3.11'")
    for key in ("pip", "conda_packages"):
        value = spec.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValidationError(f"environment spec key {key!r} must be a list of strings")


def _user_interpreter(interpreter_path: str | None) -> Path:
    if not interpreter_path:
        return Path(sys.executable)
    if os.sep in interpreter_path or (os.altsep and os.altsep in interpreter_path):
        path = Path(interpreter_path).expanduser()
        if not path.is_file():
            raise EnvironmentBuildError(
                f"interpreter_path {interpreter_path!r} does not exist; point "
                "env.python.interpreter_path at a Python executable on this machine"
            )
        return path
    found = shutil.which(interpreter_path)
    if found is None:
        raise EnvironmentBuildError(
            f"interpreter {interpreter_path!r} is not on PATH; give env.python.interpreter_path "
            "as a full path"
        )
    return Path(found)


def _is_ready(env_dir: Path, python: Path) -> bool:
    return (env_dir / READY_MARKER).is_file() and python.exists()


@contextlib.contextmanager
def _exclusive(lock_path: Path, log: IO[str]) -> Iterator[None]:
    """Hold an exclusive flock on ``lock_path``; the file stays (unlinking it would race)."""
    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _say(log, f"waiting for another process building {lock_path.stem}")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build(spec: dict[str, Any], env_dir: Path, log: IO[str]) -> None:
    if env_dir.exists():  # what a crashed or killed build left behind
        shutil.rmtree(env_dir)
    _say(log, f"building environment {env_dir.name} in {env_dir}")
    try:
        python = _create_and_install(spec, env_dir, log)
        _link_host_packages(python, log)
        _write_marker(env_dir, spec, python)
    except BaseException:
        shutil.rmtree(env_dir, ignore_errors=True)
        raise
    _say(log, f"environment {env_dir.name} is ready")


def _create_and_install(spec: dict[str, Any], env_dir: Path, log: IO[str]) -> Path:
    version: str | None = spec.get("python_version")
    pip: list[str] = spec.get("pip") or []
    conda_packages: list[str] = spec.get("conda_packages") or []
    python = env_dir / "bin" / "python"
    uv = find_uv()
    if conda_packages:
        conda = shutil.which("conda")
        if conda is None:
            raise EnvironmentBuildError(
                f"conda-only packages {', '.join(conda_packages)} need conda on this machine; "
                "install conda (e.g. Miniforge) or move them to the pip list if on PyPI"
            )
        _run([conda, "create", "--yes", "--prefix", str(env_dir),
              f"python={version or host_python_version()}", *conda_packages], log)  # fmt: skip
    elif uv is not None:
        _run([uv, "venv", "--python", version or sys.executable, str(env_dir)], log)
    else:
        _run([_base_python(version), "-m", "venv", str(env_dir)], log)
    if pip:
        requirements = env_dir / REQUIREMENTS_FILE
        requirements.write_text("\n".join(pip) + "\n", encoding="utf-8")
        if uv is not None:
            _run([uv, "pip", "install", "--python", str(python), "-r", str(requirements)], log)
        else:
            _run([str(python), "-m", "pip", "install", "--disable-pip-version-check",
                  "-r", str(requirements)], log)  # fmt: skip
    return python


def find_uv() -> str | None:
    """The uv executable: the one the ``uv`` package ships, else ``uv`` on PATH, else None."""
    try:
        import uv

        return str(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def _base_python(version: str | None) -> str:
    if version is None or ".".join(version.split(".")[:2]) == host_python_version():
        return sys.executable
    minor = ".".join(version.split(".")[:2])
    found = shutil.which(f"python{minor}")
    if found is None:
        raise EnvironmentBuildError(
            f"Python {version} is not installed here and uv is not available to fetch it; "
            f"install python{minor} or uv ('pip install uv')"
        )
    return found


def _run(command: Sequence[str], log: IO[str]) -> None:
    """Run a build tool, copying its output to ``log``; ``EnvironmentBuildError`` on failure."""
    _say(log, "$ " + " ".join(command))
    env = {**os.environ, "NO_COLOR": "1", "UV_NO_PROGRESS": "1", "UV_NO_PROJECT": "1"}
    env.pop("VIRTUAL_ENV", None)
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    try:
        with subprocess.Popen(
            list(command),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            env=env,
        ) as process:
            for line in process.stdout or ():
                log.write(line)
                tail.append(line.rstrip())
            returncode = process.wait()
    except OSError as exc:
        raise EnvironmentBuildError(f"could not start {command[0]!r}: {exc}") from exc
    finally:
        with contextlib.suppress(Exception):
            log.flush()
    if returncode != 0:
        tool = " ".join(Path(part).name for part in command[:3])
        output = "\n".join(f"  {line}" for line in tail) or "  (no output)"
        raise EnvironmentBuildError(
            f"building the environment failed: '{tool}' exited with code {returncode}. "
            f"Its last output lines:\n{output}\n"
            "Fix the package list (names, versions, Python version) and run again."
        )


def _link_host_packages(python: Path, log: IO[str]) -> None:
    """Let scripts in the env ``import atelier`` when it runs the host's Python version.

    The .pth lines are appended to ``sys.path`` after the env's own site-packages, so
    the env's packages keep precedence over the host's.
    """
    probe = (
        "import sys, sysconfig; "
        "print(f'{sys.version_info[0]}.{sys.version_info[1]}'); "
        "print(sysconfig.get_paths()['purelib'])"
    )
    try:
        result = subprocess.run(
            [str(python), "-c", probe], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        raise EnvironmentBuildError(f"the built Python {python} does not start: {exc}") from exc
    version, purelib = result.stdout.split("\n")[:2]
    if version != host_python_version():
        _say(log, f"Python {version} differs from the host's; 'import atelier' needs installing")
        return
    Path(purelib).mkdir(parents=True, exist_ok=True)
    (Path(purelib) / HOST_PATHS_FILE).write_text(
        "".join(f"{path}\n" for path in host_package_dirs()), encoding="utf-8"
    )


def host_package_dirs() -> list[str]:
    """The directory holding ``atelier``, then this interpreter's site-packages directories."""
    dirs = [str(_ATELIER_ROOT), *site.getsitepackages()]
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    unique = dict.fromkeys(d for d in dirs if Path(d).is_dir())
    return list(unique)


def _write_marker(env_dir: Path, spec: dict[str, Any], python: Path) -> None:
    marker = env_dir / READY_MARKER
    partial = marker.with_suffix(".partial")
    content = {"build_key": build_key(spec), "python": str(python), "built_ms": now_ms()}
    partial.write_text(json.dumps({**content, "spec": spec}, indent=2), encoding="utf-8")
    partial.replace(marker)


def _say(log: IO[str], message: str) -> None:
    log.write(f"[atelier] {message}\n")
