"""``azureml.data.datapath``: DataPath."""

from atelier.sdk.datastore import DataPath

__all__ = ["DataPath"]
