"""Compute backends registered by kind and loaded lazily, with an install hint."""

from __future__ import annotations

import collections
import importlib
from pathlib import Path
from typing import IO, Any, Protocol

from atelier.core.errors import ComputeTargetException

#: kind -> (provisioner "module:function", what to install for it)
PROVISIONERS: dict[str, tuple[str, str]] = {
    "ray": ("atelier.execution.ray_provision:provision", "pip install 'atelier-ml[ray]'"),
    "ssh": ("atelier.execution.ssh_provision:provision", "pip install 'atelier-ml[ssh]'"),
}


#: kind -> the class that prepares environments and starts scripts on that kind of target
EXECUTORS: dict[str, tuple[str, str]] = {
    "local": ("atelier.execution.local:LocalExecutor", "pip install atelier-ml"),
    "ray": ("atelier.execution.ray_compute:RayExecutor", "pip install 'atelier-ml[ray]'"),
    "ssh": ("atelier.execution.ssh_compute:SshExecutor", "pip install 'atelier-ml[ssh]'"),
}


class ScriptProcess(Protocol):
    """A started script, wherever it runs."""

    @property
    def local_pid(self) -> int | None:
        """The process on this host whose group holds the script (None when the script
        runs elsewhere with nothing of it here): what a reaper stops if the supervisor dies."""
        ...

    def wait(self, timeout: float) -> int | None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...


class Executor(Protocol):
    """Prepares a run's environment on a target and starts its script there."""

    def prepare(self, spec: dict[str, Any], log: IO[str]) -> Path: ...
    def start(
        self,
        command: list[str],
        workdir: Path,
        env: dict[str, str],
        out: IO[bytes],
        stderr_tail: collections.deque[str],
    ) -> ScriptProcess: ...


def _load(table: dict[str, tuple[str, str]], kind: str) -> Any:
    if kind not in table:
        raise ComputeTargetException(f"compute kind {kind!r} is not supported here")
    target, hint = table[kind]
    module_name, attribute = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ComputeTargetException(
            f"compute kind {kind!r} is not available here ({exc.name} is missing): {hint}"
        ) from exc
    return getattr(module, attribute)


def executor(kind: str, config: dict[str, Any], home: Path) -> Executor:
    """The executor for a target of ``kind`` configured with ``config``."""
    built: Executor = _load(EXECUTORS, kind)(config, home)
    return built


def provision(kind: str, settings: dict[str, Any], workspace: str, name: str) -> dict[str, Any]:
    """Bring up or check the target; return the settings to store (e.g. a resolved address)."""
    result: dict[str, Any] = _load(PROVISIONERS, kind)(settings, workspace, name)
    return result
