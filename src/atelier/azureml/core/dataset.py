"""``azureml.core.dataset``: Dataset."""

from atelier.sdk.dataset import Dataset

__all__ = ["Dataset"]
