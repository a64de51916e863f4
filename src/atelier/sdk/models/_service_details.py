"""azureml's descriptive members of a web service: ``tags``, ``properties``,
``description``, ``created_time``, ``error`` and ``get_token()``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from atelier.core.endpoints import EndpointRecord
from atelier.core.errors import WebserviceError


class ServiceDetailsMixin:
    """Needs ``_record`` and ``name`` from ``Webservice``."""

    _record: EndpointRecord
    name: str

    @property
    def tags(self) -> dict[str, str]:
        """The tags given to ``deploy_configuration(tags=...)``."""
        return dict(self._record.config.get("tags") or {})

    @property
    def properties(self) -> dict[str, str]:
        """What the service is: its kind, port and whether requests need a key."""
        return {
            "hasInferenceSchema": "False",
            "kind": self._record.kind,
            "port": str(self._record.port),
            "authEnabled": str(self._record.auth_enabled),
            **dict(self._record.config.get("properties") or {}),
        }

    @property
    def description(self) -> str | None:
        return self._record.config.get("description")

    @property
    def created_time(self) -> datetime:
        return datetime.fromtimestamp(self._record.created_ms / 1000, tz=UTC)

    @property
    def updated_time(self) -> datetime:
        return datetime.fromtimestamp(self._record.updated_ms / 1000, tz=UTC)

    @property
    def error(self) -> dict[str, Any] | None:
        """The error of a deployment that failed to start (None when none did)."""
        for deployment in self._record.deployments:
            if deployment.error:
                return {
                    "code": "DeploymentFailed",
                    "deployment": deployment.name,
                    "message": deployment.error,
                }
        return None

    @property
    def token_auth_enabled(self) -> bool:
        return False

    def get_token(self) -> tuple[str, float]:
        """azureml's token authentication: Atelier's services use keys instead, so this
        raises ``WebserviceException`` saying to use ``get_keys()``."""
        raise WebserviceError(
            f"service {self.name!r} does not use token authentication; its requests carry "
            "a key: use service.get_keys() and send 'Authorization: Bearer <key>'"
        )
