"""``azureml.data``: the dataset classes and OutputFileDatasetConfig."""

from atelier.sdk._data_inputs import DatasetConsumptionConfig, OutputFileDatasetConfig
from atelier.sdk.dataset import DataType
from atelier.sdk.file_dataset import FileDataset
from atelier.sdk.tabular_dataset import TabularDataset

__all__ = [
    "DataType",
    "DatasetConsumptionConfig",
    "FileDataset",
    "OutputFileDatasetConfig",
    "TabularDataset",
]
