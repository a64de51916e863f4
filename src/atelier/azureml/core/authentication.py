"""``azureml.core.authentication``: the authentication classes, mapped onto Atelier's API
tokens (embedded workspaces need none; a server takes the ``atelier login`` token or
``ATELIER_TOKEN``)."""

from atelier.sdk.authentication import (
    AbstractAuthentication,
    AzureCliAuthentication,
    InteractiveLoginAuthentication,
    MsiAuthentication,
    ServicePrincipalAuthentication,
    TokenAuthentication,
)

__all__ = [
    "AbstractAuthentication",
    "AzureCliAuthentication",
    "InteractiveLoginAuthentication",
    "MsiAuthentication",
    "ServicePrincipalAuthentication",
    "TokenAuthentication",
]
