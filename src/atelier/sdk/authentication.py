"""azureml's authentication classes, mapped onto Atelier's API tokens.

azureml code builds one of these and hands it to ``Workspace(..., auth=...)``. Atelier has
one kind of credential, an API token: an embedded workspace needs none, a workspace server
takes the token from the ``atelier login`` store or ``ATELIER_TOKEN``. Each class says
which token it stands for through ``_atelier_token()`` (None: the usual lookup).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from atelier.core.errors import ValidationError

#: the audience Atelier asks a ``TokenAuthentication`` callback for
ATELIER_AUDIENCE = "atelier"


class AbstractAuthentication:
    """The base of every authentication class (azureml's name)."""

    def _atelier_token(self) -> str | None:
        return None

    def get_authentication_header(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <token>"}``, or ``{}`` when no token is involved."""
        token = self._atelier_token() or os.environ.get("ATELIER_TOKEN")
        return {"Authorization": f"Bearer {token}"} if token else {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class InteractiveLoginAuthentication(AbstractAuthentication):
    """The token ``atelier login`` stored (or ``ATELIER_TOKEN``); embedded needs none."""

    def __init__(self, force: bool = False, tenant_id: str | None = None, cloud: Any = None):
        del force, tenant_id, cloud  # Azure AD's knobs: Atelier logs in with `atelier login`


class AzureCliAuthentication(AbstractAuthentication):
    """As ``InteractiveLoginAuthentication``: the login ``atelier login`` stored."""

    def __init__(self, cloud: Any = None) -> None:
        del cloud


class MsiAuthentication(AbstractAuthentication):
    """A machine's identity: the token in the ``ATELIER_TOKEN`` environment variable."""

    def __init__(self, cloud: Any = None, **kwargs: Any) -> None:
        del cloud, kwargs  # identity_config=... names an Azure identity; not used here

    def _atelier_token(self) -> str | None:
        return os.environ.get("ATELIER_TOKEN")


class ServicePrincipalAuthentication(AbstractAuthentication):
    """An automation identity: ``service_principal_password`` is an Atelier API token
    (``atelier token create``); the tenant and principal ids are kept for display only."""

    def __init__(
        self,
        tenant_id: str,
        service_principal_id: str,
        service_principal_password: str,
        cloud: str = "AzureCloud",
        _enable_caching: bool = True,
    ) -> None:
        del cloud, _enable_caching
        if not isinstance(service_principal_password, str) or not service_principal_password:
            raise ValidationError(
                "ServicePrincipalAuthentication needs service_principal_password: pass an "
                "Atelier API token (create one with 'atelier token create')"
            )
        self.tenant_id = tenant_id
        self.service_principal_id = service_principal_id
        self._token = service_principal_password

    def _atelier_token(self) -> str | None:
        return self._token

    def __repr__(self) -> str:
        return f"ServicePrincipalAuthentication(service_principal_id={self.service_principal_id!r})"


class TokenAuthentication(AbstractAuthentication):
    """A callback that returns a token: ``get_token_for_audience(audience)`` is called with
    ``"atelier"`` and may return the token or a ``(token, expiry)`` pair."""

    def __init__(self, get_token_for_audience: Callable[[str], Any]) -> None:
        if not callable(get_token_for_audience):
            raise ValidationError(
                "TokenAuthentication needs a function: get_token_for_audience(audience) -> token"
            )
        self._get_token = get_token_for_audience

    def _atelier_token(self) -> str | None:
        answer = self._get_token(ATELIER_AUDIENCE)
        token = answer[0] if isinstance(answer, tuple) else answer
        if not isinstance(token, str) or not token:
            raise ValidationError(
                "get_token_for_audience returned no token; it must return an Atelier API "
                "token (a string) or a (token, expiry) pair"
            )
        return token


def token_of(auth: object) -> str | None:
    """The token an ``auth=`` argument stands for (None: the usual lookup)."""
    if auth is None:
        return None
    if not isinstance(auth, AbstractAuthentication):
        raise ValidationError(
            f"auth must be one of the atelier.azureml.core.authentication classes, not "
            f"{type(auth).__name__}"
        )
    return auth._atelier_token()
