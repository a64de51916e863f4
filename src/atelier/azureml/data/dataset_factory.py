"""``azureml.data.dataset_factory``: DataType and the Tabular/File factories."""

from atelier.sdk.data.dataset import DataType, FileDatasetFactory, TabularDatasetFactory

__all__ = ["DataType", "FileDatasetFactory", "TabularDatasetFactory"]
