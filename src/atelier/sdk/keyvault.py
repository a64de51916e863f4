"""``Keyvault``: the workspace's secrets, with azureml-core's names and shapes."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from atelier.core.errors import ValidationError
from atelier.core.timeutil import ms_to_iso

if TYPE_CHECKING:
    from atelier.sdk.workspace import Workspace


class Keyvault:
    """The secrets of one workspace, encrypted at rest (``ws.get_default_keyvault()``).

    Values are never shown by listings, run details or logs; read one with
    ``get_secret(name)`` here or ``Run.get_context().get_secret(name)`` inside a run.
    Raises ``ValidationError`` for a bad name or value, ``NotFoundError`` for a missing
    secret, ``SecretKeyError`` when the key in use is not the one the secret was stored with.
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._backend = workspace._backend

    def __repr__(self) -> str:
        return f"Keyvault(workspace={self.workspace.name!r})"

    def set_secret(self, name: str, value: str, content_type: Any = None) -> None:
        """Create the secret ``name`` or replace its value."""
        del content_type  # azureml's content types are not kept
        self._backend.secrets.set(self.workspace.name, {name: value})

    def set_secrets(self, secrets_batch: dict[str, str]) -> None:
        """Set several secrets at once: all are stored, or none when one is invalid."""
        if not isinstance(secrets_batch, dict):
            raise ValidationError("set_secrets takes a dict of name -> value")
        self._backend.secrets.set(self.workspace.name, dict(secrets_batch))

    def get_secret(self, name: str) -> str:
        """The value of the secret ``name``."""
        return self._backend.secrets.get(self.workspace.name, [name])[name]

    def get_secrets(self, secrets: builtins.list[str]) -> dict[str, str]:
        """The values of several secrets, by name (``NotFoundError`` names any missing)."""
        if isinstance(secrets, str):
            raise ValidationError("get_secrets takes a list of names; use get_secret for one")
        return self._backend.secrets.get(self.workspace.name, list(secrets))

    def list_secrets(self) -> builtins.list[dict[str, Any]]:
        """``[{"name": ..., "createdTime": ..., "updatedTime": ...}]`` sorted by name;
        never the values."""
        return [
            {
                "name": record.name,
                "createdTime": ms_to_iso(record.created_ms),
                "updatedTime": ms_to_iso(record.updated_ms),
            }
            for record in self._backend.secrets.list(self.workspace.name)
        ]

    def delete_secret(self, name: str) -> None:
        """Remove the secret ``name`` (``NotFoundError`` if there is none)."""
        self._backend.secrets.delete(self.workspace.name, name)
