"""The workspace key vault."""

from __future__ import annotations

import builtins
from typing import Protocol

from atelier.core.secrets import SecretRecord


class SecretAPI(Protocol):
    """Values go in and out only through ``set`` and ``get``; listings carry names and
    times. See ``services/secrets.py`` for the rules."""

    def set(self, workspace: str, values: dict[str, str]) -> builtins.list[SecretRecord]: ...
    def get(self, workspace: str, names: builtins.list[str]) -> dict[str, str]: ...
    def list(self, workspace: str) -> builtins.list[SecretRecord]: ...
    def delete(self, workspace: str, name: str) -> None: ...
