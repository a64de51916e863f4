"""``azureml.core.dataset``: Dataset."""

from atelier.sdk.data.dataset import Dataset

__all__ = ["Dataset"]
