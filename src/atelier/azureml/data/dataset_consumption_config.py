"""``azureml.data.dataset_consumption_config``: DatasetConsumptionConfig."""

from atelier.sdk.data._inputs import DatasetConsumptionConfig

__all__ = ["DatasetConsumptionConfig"]
