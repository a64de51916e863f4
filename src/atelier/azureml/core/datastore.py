"""``azureml.core.datastore``: Datastore."""

from atelier.sdk.datastore import Datastore

__all__ = ["Datastore"]
