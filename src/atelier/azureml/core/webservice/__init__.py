"""``azureml.core.webservice``: Webservice, LocalWebservice (services on this machine),
AciWebservice (a container run by Podman or Docker)."""

from atelier.sdk.models.container_service import AciWebservice
from atelier.sdk.models.local_service import LocalWebservice
from atelier.sdk.models.webservice import Webservice

__all__ = ["AciWebservice", "LocalWebservice", "Webservice"]
