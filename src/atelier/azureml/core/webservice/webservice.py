"""``azureml.core.webservice.webservice``: Webservice."""

from atelier.sdk.models.webservice import Webservice

__all__ = ["Webservice"]
