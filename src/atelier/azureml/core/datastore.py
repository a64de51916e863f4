"""``azureml.core.datastore``: Datastore."""

from atelier.sdk.data.datastore import Datastore

__all__ = ["Datastore"]
