"""``azureml.data.data_reference``: DataReference."""

from atelier.sdk.pipelines import DataReference

__all__ = ["DataReference"]
