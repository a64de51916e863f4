"""``azureml.core.webservice``: Webservice, LocalWebservice (services on this machine)."""

from atelier.sdk.webservice import LocalWebservice, Webservice

__all__ = ["LocalWebservice", "Webservice"]
