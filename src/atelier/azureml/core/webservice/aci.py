"""``azureml.core.webservice.aci``: AciWebservice and its deployment configuration."""

from atelier.sdk.models.container_service import AciWebservice
from atelier.sdk.models.container_service import (
    AciWebserviceDeploymentConfiguration as AciServiceDeploymentConfiguration,
)

__all__ = ["AciServiceDeploymentConfiguration", "AciWebservice"]
