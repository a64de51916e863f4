"""``azureml.data.datapath``: DataPath."""

from atelier.sdk.data.datastore import DataPath

__all__ = ["DataPath"]
