"""The key vault over a server: values only in request and response bodies."""

from __future__ import annotations

import builtins

from atelier.client.api.secrets import SecretAPI
from atelier.client.http.transport import Transport, segment
from atelier.core.errors import ValidationError
from atelier.core.names import check_workspace_name
from atelier.core.secrets import SecretRecord, check_secret_name


def _base(workspace: str) -> str:
    return f"/workspaces/{segment(check_workspace_name(workspace))}/secrets"


class HttpSecrets:
    """``SecretAPI`` over a server (which holds the key)."""

    def __init__(self, transport: Transport) -> None:
        self.t = transport

    def set(self, workspace: str, values: dict[str, str]) -> builtins.list[SecretRecord]:
        if not isinstance(values, dict):
            raise ValidationError("pass the secrets as a dict of name -> value")
        for name in values:
            check_secret_name(name)  # JSON would turn a None or 3 key into a string
        found = self.t.json("PUT", _base(workspace), json={"values": values})
        return [SecretRecord(**item) for item in found]

    def get(self, workspace: str, names: builtins.list[str]) -> dict[str, str]:
        if isinstance(names, str):
            raise ValidationError("pass a list of secret names, not one string")
        for name in names:
            check_secret_name(name)
        found: dict[str, str] = self.t.json(
            "POST", f"{_base(workspace)}/values", json={"names": list(names)}
        )
        return found

    def list(self, workspace: str) -> builtins.list[SecretRecord]:
        return [SecretRecord(**item) for item in self.t.json("GET", _base(workspace))]

    def delete(self, workspace: str, name: str) -> None:
        self.t.request("DELETE", f"{_base(workspace)}/{segment(check_secret_name(name))}")


def _conforms(vault: HttpSecrets) -> SecretAPI:
    """mypy checks here that the class satisfies its protocol."""
    return vault
