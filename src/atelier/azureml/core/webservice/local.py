"""``azureml.core.webservice.local``: LocalWebservice and its deployment configuration."""

from atelier.sdk.models._deployment_config import LocalWebserviceDeploymentConfiguration
from atelier.sdk.models.local_service import LocalWebservice

__all__ = ["LocalWebservice", "LocalWebserviceDeploymentConfiguration"]
