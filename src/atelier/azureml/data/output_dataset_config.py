"""``azureml.data.output_dataset_config``: OutputFileDatasetConfig."""

from atelier.sdk.data._inputs import OutputFileDatasetConfig

__all__ = ["OutputFileDatasetConfig"]
