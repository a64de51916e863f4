"""``azureml.data``: the dataset classes and OutputFileDatasetConfig."""

from atelier.sdk.data._inputs import DatasetConsumptionConfig, OutputFileDatasetConfig
from atelier.sdk.data.dataset import DataType
from atelier.sdk.data.file_dataset import FileDataset
from atelier.sdk.data.tabular_dataset import TabularDataset

__all__ = [
    "DataType",
    "DatasetConsumptionConfig",
    "FileDataset",
    "OutputFileDatasetConfig",
    "TabularDataset",
]
