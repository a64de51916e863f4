"""``azureml.data.output_dataset_config``: OutputFileDatasetConfig."""

from atelier.sdk._data_inputs import OutputFileDatasetConfig

__all__ = ["OutputFileDatasetConfig"]
