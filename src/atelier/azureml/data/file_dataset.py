"""``azureml.data.file_dataset``: FileDataset."""

from atelier.sdk.data.file_dataset import FileDataset

__all__ = ["FileDataset"]
