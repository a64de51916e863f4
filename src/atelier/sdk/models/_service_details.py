"""azureml's descriptive members of a web service: ``tags``, ``properties``,
``description``, ``created_time``, ``created_by``, ``error`` and ``get_token()``, and the
methods that change the first three: ``add_tags``, ``remove_tags``, ``add_properties`` (and
``AciWebservice.update(tags=, properties=, description=)``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from atelier.core.endpoints import EndpointRecord
from atelier.core.errors import ValidationError, WebserviceError

if TYPE_CHECKING:
    from atelier.client.backend import Backend
    from atelier.sdk.workspace import Workspace


class ServiceDetailsMixin:
    """Needs ``_record``, ``name``, ``workspace`` and ``_backend`` from ``Webservice``."""

    _record: EndpointRecord
    name: str
    workspace: Workspace
    _backend: Backend

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
    def created_by(self) -> dict[str, str | None] | None:
        """Who deployed the service, in azureml's shape (``userName`` is the server's
        user, or this machine's for an embedded workspace; Azure's identity fields are
        None); None for a service deployed before Atelier recorded it."""
        name = self._record.config.get("created_by")
        if not name:
            return None
        return {
            "userObjectId": None,
            "userPuId": None,
            "userIdp": None,
            "userAltSecId": None,
            "userIss": None,
            "userTenantId": None,
            "userName": str(name),
        }

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
    def auth_enabled(self) -> bool:
        """Whether requests need a key (``deploy_configuration(auth_enabled=)``)."""
        return self._record.auth_enabled

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

    def add_tags(self, tags: dict[str, str]) -> None:
        """Add ``tags`` to the service's tags (a tag already there takes the new value)."""
        self._set_details(tags={**self.tags, **text_map("tags", tags)})

    def remove_tags(self, tags: Iterable[str] | str) -> None:
        """Remove the tags of these keys (keys that are not there are left alone)."""
        keys = {tags} if isinstance(tags, str) else set(tags)
        self._set_details(tags={k: v for k, v in self.tags.items() if k not in keys})

    def add_properties(self, properties: dict[str, str]) -> None:
        """Add properties; as in azureml, a property once set cannot change
        (``ValidationError`` naming it)."""
        self._set_details(properties=text_map("properties", properties))

    def _set_details(self, **details: Any) -> None:
        self._record = self._backend.endpoints.set_details(self.workspace.name, self.name, details)


def text_map(what: str, value: object) -> dict[str, str]:
    """azureml takes any values and keeps their text."""
    if not isinstance(value, dict):
        raise ValidationError(f"{what} must be a dict; got {type(value).__name__}")
    return {str(k): str(v) for k, v in value.items()}
