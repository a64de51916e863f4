"""``azureml.core.webservice``: Webservice, LocalWebservice (services on this machine),
AciWebservice (a container run by Podman or Docker)."""

from atelier.sdk.container import AciWebservice
from atelier.sdk.webservice import LocalWebservice, Webservice

__all__ = ["AciWebservice", "LocalWebservice", "Webservice"]
