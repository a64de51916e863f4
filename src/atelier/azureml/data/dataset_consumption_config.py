"""``azureml.data.dataset_consumption_config``: DatasetConsumptionConfig."""

from atelier.sdk._data_inputs import DatasetConsumptionConfig

__all__ = ["DatasetConsumptionConfig"]
