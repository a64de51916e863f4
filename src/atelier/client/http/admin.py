"""Users, tokens, members and the audit log of a server: what ``atelier user``,
``atelier token``, ``atelier audit`` and ``atelier workspace member`` call."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from atelier.client.http.transport import Transport, read_credentials, segment
from atelier.core.errors import ValidationError


class AdminClient:
    """The access-management routes of one server, with one token. Each call opens and
    closes its own connection: these are one-off commands, and an object a caller drops
    leaves no socket behind."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token

    @contextlib.contextmanager
    def _transport(self) -> Iterator[Transport]:
        transport = Transport(self.url, self.token)
        try:
            yield transport
        finally:
            transport.client.close()

    @classmethod
    def from_login(cls) -> AdminClient:
        """The server and token ``atelier login`` stored; ``ValidationError`` if none."""
        found = read_credentials()
        if found is None:
            raise ValidationError(
                "not logged in to a server; run 'atelier login --url URL' with a token first"
            )
        return cls(found["url"], found["token"])

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        with self._transport() as transport:
            return transport.json(method, path, **kwargs)

    def whoami(self) -> dict[str, Any]:
        found: dict[str, Any] = self._json("GET", "/whoami")
        return found

    def create_user(self, name: str, admin: bool) -> dict[str, Any]:
        found: dict[str, Any] = self._json("POST", "/users", json={"name": name, "admin": admin})
        return found

    def list_users(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._json("GET", "/users")
        return found

    def set_disabled(self, name: str, disabled: bool) -> dict[str, Any]:
        action = "disable" if disabled else "enable"
        found: dict[str, Any] = self._json("POST", f"/users/{segment(name)}/{action}")
        return found

    def create_token(
        self, name: str, expires_in_days: float | None, user: str | None
    ) -> dict[str, Any]:
        body = {"name": name, "expires_in_days": expires_in_days, "user": user}
        found: dict[str, Any] = self._json("POST", "/tokens", json=body)
        return found

    def list_tokens(self, user: str | None, kind: str | None = None) -> list[dict[str, Any]]:
        """Tokens without secrets; ``kind`` "user" or "run" picks one kind."""
        params = {key: value for key, value in (("user", user), ("kind", kind)) if value}
        found: list[dict[str, Any]] = self._json("GET", "/tokens", params=params or None)
        return found

    def revoke_token(self, token_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self._json("DELETE", f"/tokens/{segment(token_id)}")
        return found

    def audit(self, workspace: str | None, actor: str | None, limit: int) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit}
        if workspace:
            params["workspace"] = workspace
        if actor:
            params["actor"] = actor
        found: list[dict[str, Any]] = self._json("GET", "/audit", params=params)
        return found

    def list_members(self, workspace: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._json("GET", f"/workspaces/{segment(workspace)}/members")
        return found

    def set_member(self, workspace: str, user: str, role: str) -> dict[str, Any]:
        path = f"/workspaces/{segment(workspace)}/members/{segment(user)}"
        found: dict[str, Any] = self._json("PUT", path, json={"role": role})
        return found

    def remove_member(self, workspace: str, user: str) -> None:
        path = f"/workspaces/{segment(workspace)}/members/{segment(user)}"
        with self._transport() as transport:
            transport.request("DELETE", path)
